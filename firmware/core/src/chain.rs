//! The journal's record format and hash chain.
//!
//! A record is one version byte followed by the postcard encoding of an
//! [`Event`]. Its hash is SHA-256 over exactly those bytes. Record `n` carries the
//! hash of record `n-1` in `prev`; record 1 carries the genesis hash, derived from
//! the store and terminal ids, so a journal cannot be passed off as another
//! terminal's. The store keeps the newest record's hash as the chain head, which
//! catches an edit of the last record. Verification names the first bad record.

use crate::event::Event;
use crate::ids::{StoreId, TerminalId};
use core::fmt;
use ring::digest;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The record format version written by this firmware.
pub const RECORD_VERSION: u8 = 1;

/// Largest record accepted when decoding (a sale with hundreds of lines fits easily).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A SHA-256 digest in the chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct ChainHash(pub [u8; 32]);

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.hex())
    }
}

impl ChainHash {
    /// Lower-case hex.
    pub fn hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> ChainHash {
        let d = digest::digest(&digest::SHA256, bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        ChainHash(out)
    }
}

/// The `prev` of a journal's first record.
pub fn genesis_hash(store: &StoreId, terminal: TerminalId) -> ChainHash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"keel-journal-genesis-v1\0");
    ctx.update(store.0.as_bytes());
    ctx.update(b"\0");
    ctx.update(&terminal.0.to_be_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    ChainHash(out)
}

/// Errors reading a record's bytes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// No bytes at all.
    #[error("empty record")]
    Empty,
    /// Written by a newer firmware with a format this one does not know.
    #[error("record format version {0} is newer than this firmware's ({RECORD_VERSION})")]
    NewerVersion(u8),
    /// Version byte 0 or otherwise impossible.
    #[error("record format version {0} is not a Keel record version")]
    BadVersion(u8),
    /// Larger than any record Keel writes.
    #[error("record of {0} bytes exceeds the {MAX_RECORD_BYTES}-byte limit")]
    TooLarge(usize),
    /// The payload does not decode.
    #[error("record does not decode: {0}")]
    Malformed(String),
}

/// Encodes an event as a record.
pub fn encode_record(event: &Event) -> Vec<u8> {
    let out = vec![RECORD_VERSION];
    // Invariant: every Event field is serializable by postcard into a Vec; failure is impossible.
    match postcard::to_extend(event, out) {
        Ok(v) => v,
        Err(_) => vec![RECORD_VERSION],
    }
}

/// Decodes a record's bytes.
pub fn decode_record(bytes: &[u8]) -> Result<Event, RecordError> {
    let (&version, payload) = bytes.split_first().ok_or(RecordError::Empty)?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge(bytes.len()));
    }
    match version {
        RECORD_VERSION => {}
        0 => return Err(RecordError::BadVersion(0)),
        v if v > RECORD_VERSION => return Err(RecordError::NewerVersion(v)),
        v => return Err(RecordError::BadVersion(v)),
    }
    let (event, rest) = postcard::take_from_bytes::<Event>(payload)
        .map_err(|e| RecordError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(RecordError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    Ok(event)
}

/// A short code printed on receipts: the first 40 bits of the record hash in
/// Crockford base32 (8 characters), enough to look the record up and to spot a
/// forged receipt.
pub fn verification_code(hash: &ChainHash) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut v: u64 = 0;
    for b in &hash.0[..5] {
        v = (v << 8) | u64::from(*b);
    }
    (0..8)
        .rev()
        .map(|i| char::from(ALPHABET[((v >> (i * 5)) & 31) as usize]))
        .collect()
}

/// How a chain is broken, named by the record at fault.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// A record's bytes do not decode.
    #[error("record {seq}: unreadable ({reason})")]
    Unreadable {
        /// Position of the record.
        seq: u64,
        /// Decoder's reason.
        reason: String,
    },
    /// A sequence number is missing: the record was removed.
    #[error("record {seq}: missing (removed from the journal)")]
    Missing {
        /// The missing sequence number.
        seq: u64,
    },
    /// The record stored at a position claims another sequence number: records were moved.
    #[error("record {seq}: holds record {found} (records reordered or moved)")]
    Reordered {
        /// Position.
        seq: u64,
        /// Sequence number inside the record.
        found: u64,
    },
    /// The record belongs to another terminal.
    #[error("record {seq}: belongs to terminal {found}, not this journal's")]
    ForeignTerminal {
        /// Position.
        seq: u64,
        /// Terminal in the record.
        found: TerminalId,
    },
    /// The record's content changed after it was written: its successor's link (or the stored head) no longer matches.
    #[error("record {seq}: altered (its hash no longer matches the chain)")]
    Altered {
        /// Position.
        seq: u64,
    },
    /// The journal ends before the stored head: trailing records were removed.
    #[error("record {seq}: missing (journal truncated; the head says it ends at {head})")]
    Truncated {
        /// First missing record.
        seq: u64,
        /// Last sequence number according to the head.
        head: u64,
    },
}

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Records checked.
    pub records: u64,
    /// Hash of the last record (the genesis hash for an empty journal).
    pub head: ChainHash,
}

/// Verifies a journal given as `(position, record bytes)` in position order,
/// starting at 1. `head`, when known, is the stored (last seq, last hash).
pub fn verify_chain<I>(
    terminal: TerminalId,
    genesis: ChainHash,
    records: I,
    head: Option<(u64, ChainHash)>,
) -> Result<ChainSummary, ChainBreak>
where
    I: IntoIterator<Item = (u64, Vec<u8>)>,
{
    let mut expected_seq = 1u64;
    let mut prev_hash = genesis;
    let mut records = records.into_iter().peekable();
    while let Some((position, bytes)) = records.next() {
        if position != expected_seq {
            return Err(ChainBreak::Missing { seq: expected_seq });
        }
        let event = decode_record(&bytes).map_err(|e| ChainBreak::Unreadable {
            seq: position,
            reason: e.to_string(),
        })?;
        if event.dot.terminal != terminal {
            return Err(ChainBreak::ForeignTerminal {
                seq: position,
                found: event.dot.terminal,
            });
        }
        if event.dot.seq != position {
            return Err(ChainBreak::Reordered {
                seq: position,
                found: event.dot.seq,
            });
        }
        let own_hash = ChainHash::of(&bytes);
        if event.prev != prev_hash {
            // Either the predecessor changed, or this record's own link did. If the
            // successor still links to this record, this one is intact.
            let successor_links = match records.peek() {
                Some((_, next)) => decode_record(next)
                    .map(|n| n.prev == own_hash)
                    .unwrap_or(false),
                None => head
                    .map(|(s, h)| s == position && h == own_hash)
                    .unwrap_or(false),
            };
            let seq = if position == 1 || !successor_links {
                position
            } else {
                position - 1
            };
            return Err(ChainBreak::Altered { seq });
        }
        prev_hash = own_hash;
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    if let Some((head_seq, head_hash)) = head {
        if head_seq > last {
            return Err(ChainBreak::Truncated {
                seq: last + 1,
                head: head_seq,
            });
        }
        if head_seq == last && head_hash != prev_hash && last > 0 {
            return Err(ChainBreak::Altered { seq: last });
        }
    }
    Ok(ChainSummary {
        records: last,
        head: prev_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventBody;
    use crate::hlc::Hlc;
    use crate::ids::{Dot, Sku};

    fn journal(n: u64) -> (ChainHash, Vec<(u64, Vec<u8>)>, (u64, ChainHash)) {
        let genesis = genesis_hash(&StoreId("s".into()), TerminalId(1));
        let mut prev = genesis;
        let mut out = Vec::new();
        for seq in 1..=n {
            let e = Event {
                dot: Dot {
                    terminal: TerminalId(1),
                    seq,
                },
                hlc: Hlc {
                    wall_ms: seq,
                    counter: 0,
                    node: 1,
                },
                prev,
                body: EventBody::StockAdjusted {
                    sku: Sku(format!("SKU{seq}")),
                    delta: seq as i64,
                    reason: "r".into(),
                },
            };
            let bytes = encode_record(&e);
            prev = ChainHash::of(&bytes);
            out.push((seq, bytes));
        }
        (genesis, out, (n, prev))
    }

    fn verify(
        g: ChainHash,
        recs: Vec<(u64, Vec<u8>)>,
        head: (u64, ChainHash),
    ) -> Result<ChainSummary, ChainBreak> {
        verify_chain(TerminalId(1), g, recs, Some(head))
    }

    #[test]
    fn intact_chain_verifies() {
        let (g, recs, head) = journal(5);
        assert_eq!(verify(g, recs, head).unwrap().records, 5);
    }

    #[test]
    fn each_tampering_is_named() {
        let (g, recs, head) = journal(6);
        let mut flipped = recs.clone();
        let at = flipped[2].1.windows(4).position(|w| w == b"SKU3").unwrap() + 1;
        flipped[2].1[at] ^= 0x01;
        assert_eq!(
            verify(g, flipped, head),
            Err(ChainBreak::Altered { seq: 3 })
        );

        let mut removed = recs.clone();
        removed.remove(3);
        assert_eq!(
            verify(g, removed, head),
            Err(ChainBreak::Missing { seq: 4 })
        );

        let mut swapped = recs.clone();
        let (a, b) = (swapped[1].1.clone(), swapped[2].1.clone());
        swapped[1].1 = b;
        swapped[2].1 = a;
        assert_eq!(
            verify(g, swapped, head),
            Err(ChainBreak::Reordered { seq: 2, found: 3 })
        );

        let mut last_edit = recs.clone();
        let at = last_edit[5]
            .1
            .windows(4)
            .position(|w| w == b"SKU6")
            .unwrap()
            + 1;
        last_edit[5].1[at] ^= 0x01;
        assert_eq!(
            verify(g, last_edit, head),
            Err(ChainBreak::Altered { seq: 6 })
        );

        let mut truncated = recs.clone();
        truncated.pop();
        assert_eq!(
            verify(g, truncated, head),
            Err(ChainBreak::Truncated { seq: 6, head: 6 })
        );

        let mut garbage = recs;
        garbage[0].1 = vec![1, 0xff, 0xff];
        assert!(matches!(
            verify(g, garbage, head),
            Err(ChainBreak::Unreadable { seq: 1, .. })
        ));
    }

    #[test]
    fn decoder_refuses_bad_versions_and_never_panics() {
        assert_eq!(decode_record(&[]), Err(RecordError::Empty));
        assert_eq!(decode_record(&[9, 1, 2]), Err(RecordError::NewerVersion(9)));
        assert_eq!(decode_record(&[0]), Err(RecordError::BadVersion(0)));
        for len in 0..64u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 1).collect();
            let _ = decode_record(&bytes);
        }
    }

    #[test]
    fn verification_code_is_eight_crockford_chars() {
        let code = verification_code(&ChainHash::of(b"x"));
        assert_eq!(code.len(), 8);
        assert!(code
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }
}
