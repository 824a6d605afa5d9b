//! The two firmware slots of an A/B system.
//!
//! Owns only the slot names and their text form; which slot is active and
//! how the bootloader picks one live in the bootloader modules.

use std::fmt;
use std::str::FromStr;

/// One of the two root file system slots.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Slot {
    /// The first slot (partition label `rootfs-a`).
    A,
    /// The second slot (partition label `rootfs-b`).
    B,
}

impl Slot {
    /// The other slot: the one an update writes into while this one runs.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// The slot's one-letter name, as the bootloader environments spell it.
    pub fn letter(self) -> &'static str {
        match self {
            Slot::A => "A",
            Slot::B => "B",
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

/// A slot name that is neither `A` nor `B`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown slot {0:?}: expected A or B")]
pub struct UnknownSlot(pub String);

impl FromStr for Slot {
    type Err = UnknownSlot;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "A" | "a" => Ok(Slot::A),
            "B" | "b" => Ok(Slot::B),
            other => Err(UnknownSlot(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_slot_and_text_round_trip() {
        assert_eq!(Slot::A.other(), Slot::B);
        assert_eq!(Slot::B.other(), Slot::A);
        assert_eq!("b".parse::<Slot>(), Ok(Slot::B));
        assert_eq!(Slot::A.to_string().parse::<Slot>(), Ok(Slot::A));
        assert!("C".parse::<Slot>().is_err());
    }
}
