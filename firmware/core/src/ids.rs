//! Identifiers shared by every layer: terminals, stores, dots, SKUs, receipts,
//! users, kitchen tickets and client command ids. Plain data, no behaviour beyond
//! parsing and display.

use core::fmt;
use serde::{Deserialize, Serialize};

/// A terminal within a store (1, 2, ...). Displayed as `T01`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TerminalId(pub u32);

impl fmt::Display for TerminalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{:02}", self.0)
    }
}

/// A store, as named by the operator at provisioning (e.g. `demo-store`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StoreId(pub String);

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of one event: its origin terminal and that terminal's gapless sequence number (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    /// The terminal whose journal holds the event.
    pub terminal: TerminalId,
    /// Position in that journal, starting at 1, without gaps.
    pub seq: u64,
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.terminal, self.seq)
    }
}

/// A stock-keeping unit code, e.g. `MILK-1L`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Sku(pub String);

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A receipt number, gapless per terminal, starting at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReceiptNo(pub u64);

impl fmt::Display for ReceiptNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A staff member's id as configured (e.g. `alice`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(pub String);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A kitchen ticket: the dot of the sale that created it plus the station index,
/// displayed as a short number unique per terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TicketId {
    /// Terminal that sold the order.
    pub terminal: TerminalId,
    /// Ticket number, gapless per terminal.
    pub number: u64,
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.terminal.0, self.number)
    }
}

/// A client-chosen command id (a UUID's 16 bytes) that makes a command idempotent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CommandId(pub [u8; 16]);

impl CommandId {
    /// Parses the canonical hyphenated or plain 32-hex-digit UUID form.
    pub fn parse(text: &str) -> Option<CommandId> {
        let digits: String = text.chars().filter(|c| *c != '-').collect();
        if text.len() > 36 {
            return None;
        }
        let bytes: [u8; 16] = crate::hex::decode(&digits)?.try_into().ok()?;
        Some(CommandId(bytes))
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_id_roundtrips() {
        let text = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let id = CommandId::parse(text).unwrap();
        assert_eq!(id.to_string(), text);
        assert!(CommandId::parse("nope").is_none());
        assert!(CommandId::parse("0f8fad5b-d9cb-469f-a165-70867728950").is_none());
    }
}
