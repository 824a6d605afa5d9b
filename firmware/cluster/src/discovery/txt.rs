//! The `_keel._udp` TXT record: what a terminal publishes and how a peer's record
//! is checked.
//!
//! Owns: the key names, [`encode`] (our advertisement to key/value pairs) and
//! [`parse`] (a peer's key/value pairs to a [`PeerRecord`]), with the validation of
//! every field.
//!
//! Must not do: trust anything. Every field of a received record is untrusted
//! network input: missing, malformed, oversized or inconsistent fields give a
//! [`TxtError`], never a panic. No I/O here.

use super::Advertisement;
use keel_core::ids::{StoreId, TerminalId};

/// TXT key: record format version; this code writes and accepts [`TXT_VERSION`].
pub const KEY_VERSION: &str = "txtvers";
/// TXT key: the store id.
pub const KEY_STORE: &str = "store";
/// TXT key: the terminal id (decimal).
pub const KEY_TERMINAL: &str = "terminal";
/// TXT key: the QUIC port (decimal); must equal the service's SRV port.
pub const KEY_PORT: &str = "port";
/// TXT key: SHA-256 of the terminal's certificate (DER), 64 lowercase hex digits.
pub const KEY_FINGERPRINT: &str = "fp";
/// TXT key: the firmware version.
pub const KEY_FIRMWARE: &str = "fw";
/// Every key this module reads.
pub const KEYS: [&str; 6] = [
    KEY_VERSION,
    KEY_STORE,
    KEY_TERMINAL,
    KEY_PORT,
    KEY_FINGERPRINT,
    KEY_FIRMWARE,
];
/// The TXT format version written and accepted.
pub const TXT_VERSION: &str = "1";
/// Longest store id accepted, in bytes.
pub const MAX_STORE_LEN: usize = 64;
/// Longest firmware version accepted, in bytes.
pub const MAX_FIRMWARE_LEN: usize = 64;

/// Why a TXT record (ours or a peer's) is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    /// A required key is absent (or has no `=value`).
    #[error("TXT key `{0}` is missing")]
    Missing(&'static str),
    /// A key's value does not have the required form.
    #[error("TXT key `{key}` is invalid: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong with it (the value itself is not echoed).
        reason: &'static str,
    },
    /// The record declares a format version this code does not read.
    #[error("TXT version {0:?} is not supported (want {TXT_VERSION})")]
    UnsupportedVersion(String),
    /// The TXT port and the service's SRV port disagree.
    #[error("TXT port {txt} does not match the service port {srv}")]
    PortMismatch {
        /// Port from the TXT record.
        txt: u16,
        /// Port from the SRV record.
        srv: u16,
    },
}

/// A peer's TXT record after validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer's store.
    pub store: StoreId,
    /// The peer's terminal id (never 0).
    pub terminal: TerminalId,
    /// The peer's QUIC port (never 0; equals the SRV port).
    pub port: u16,
    /// SHA-256 of the peer's certificate, 64 lowercase hex digits.
    pub fingerprint: String,
    /// The peer's firmware version.
    pub firmware: String,
}

/// Our advertisement as TXT key/value pairs, after checking it with the same rules
/// [`parse`] applies to peers (so we never publish what peers would reject).
pub fn encode(adv: &Advertisement) -> Result<Vec<(&'static str, String)>, TxtError> {
    let pairs = vec![
        (KEY_VERSION, TXT_VERSION.to_string()),
        (KEY_STORE, adv.store.0.clone()),
        (KEY_TERMINAL, adv.terminal.0.to_string()),
        (KEY_PORT, adv.port.to_string()),
        (KEY_FINGERPRINT, adv.fingerprint.to_ascii_lowercase()),
        (KEY_FIRMWARE, adv.firmware.clone()),
    ];
    let lookup = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    parse(lookup, adv.port)?;
    Ok(pairs)
}

/// Validates a peer's TXT record. `get(key)` returns the value of `key` (`None`
/// when absent); `srv_port` is the port from the service's SRV record.
pub fn parse(get: impl Fn(&str) -> Option<String>, srv_port: u16) -> Result<PeerRecord, TxtError> {
    let version = get(KEY_VERSION).ok_or(TxtError::Missing(KEY_VERSION))?;
    if version != TXT_VERSION {
        return Err(TxtError::UnsupportedVersion(truncate(&version, 16)));
    }

    let store = get(KEY_STORE).ok_or(TxtError::Missing(KEY_STORE))?;
    if store.is_empty() {
        return Err(invalid(KEY_STORE, "empty"));
    }
    if store.len() > MAX_STORE_LEN {
        return Err(invalid(KEY_STORE, "longer than 64 bytes"));
    }
    if store
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        return Err(invalid(KEY_STORE, "contains control or invalid characters"));
    }

    let terminal = get(KEY_TERMINAL).ok_or(TxtError::Missing(KEY_TERMINAL))?;
    let terminal =
        parse_decimal(&terminal, 10).ok_or(invalid(KEY_TERMINAL, "not a decimal number"))?;
    let terminal = u32::try_from(terminal).map_err(|_| invalid(KEY_TERMINAL, "out of range"))?;
    if terminal == 0 {
        return Err(invalid(KEY_TERMINAL, "zero"));
    }

    let port = get(KEY_PORT).ok_or(TxtError::Missing(KEY_PORT))?;
    let port = parse_decimal(&port, 5).ok_or(invalid(KEY_PORT, "not a decimal number"))?;
    let port = u16::try_from(port).map_err(|_| invalid(KEY_PORT, "out of range"))?;
    if port == 0 {
        return Err(invalid(KEY_PORT, "zero"));
    }
    if port != srv_port {
        return Err(TxtError::PortMismatch {
            txt: port,
            srv: srv_port,
        });
    }

    let fingerprint = get(KEY_FINGERPRINT).ok_or(TxtError::Missing(KEY_FINGERPRINT))?;
    if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(KEY_FINGERPRINT, "not 64 hex digits"));
    }

    let firmware = get(KEY_FIRMWARE).ok_or(TxtError::Missing(KEY_FIRMWARE))?;
    if firmware.is_empty() {
        return Err(invalid(KEY_FIRMWARE, "empty"));
    }
    if firmware.len() > MAX_FIRMWARE_LEN {
        return Err(invalid(KEY_FIRMWARE, "longer than 64 bytes"));
    }
    if !firmware.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(KEY_FIRMWARE, "not printable ASCII without spaces"));
    }

    Ok(PeerRecord {
        store: StoreId(store),
        terminal: TerminalId(terminal),
        port,
        fingerprint: fingerprint.to_ascii_lowercase(),
        firmware,
    })
}

fn invalid(key: &'static str, reason: &'static str) -> TxtError {
    TxtError::Invalid { key, reason }
}

/// Plain ASCII digits only (no sign, no spaces, no `0x`), at most `max_digits`.
fn parse_decimal(s: &str, max_digits: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// At most `max` bytes of `s`, cut at a char boundary (for error messages).
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const FP: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn good() -> HashMap<String, String> {
        [
            (KEY_VERSION, "1"),
            (KEY_STORE, "demo-store"),
            (KEY_TERMINAL, "3"),
            (KEY_PORT, "7003"),
            (KEY_FINGERPRINT, FP),
            (KEY_FIRMWARE, "0.1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn parse_map(map: &HashMap<String, String>, srv: u16) -> Result<PeerRecord, TxtError> {
        parse(|k| map.get(k).cloned(), srv)
    }

    #[test]
    fn a_good_record_parses() {
        let rec = parse_map(&good(), 7003).expect("good record");
        assert_eq!(rec.store, StoreId("demo-store".into()));
        assert_eq!(rec.terminal, TerminalId(3));
        assert_eq!(rec.port, 7003);
        assert_eq!(rec.fingerprint, FP);
        assert_eq!(rec.firmware, "0.1.0");
        let mut upper = good();
        upper.insert(KEY_FINGERPRINT.into(), FP.to_ascii_uppercase());
        assert_eq!(
            parse_map(&upper, 7003).map(|r| r.fingerprint),
            Ok(FP.to_string())
        );
    }

    #[test]
    fn encode_roundtrips_and_rejects_what_peers_would_reject() {
        let adv = Advertisement {
            store: StoreId("s".into()),
            terminal: TerminalId(1),
            port: 9000,
            fingerprint: FP.into(),
            firmware: "1.2.3".into(),
        };
        let pairs = encode(&adv).expect("valid advertisement");
        let rec = parse(
            |k| pairs.iter().find(|(p, _)| *p == k).map(|(_, v)| v.clone()),
            9000,
        )
        .expect("our own record parses");
        assert_eq!(rec.terminal, TerminalId(1));
        let bad = Advertisement {
            fingerprint: "nope".into(),
            ..adv
        };
        assert!(encode(&bad).is_err());
    }

    #[test]
    fn each_bad_field_is_rejected() {
        let cases: &[(&str, Option<&str>, u16)] = &[
            (KEY_VERSION, None, 7003),
            (KEY_VERSION, Some("2"), 7003),
            (KEY_VERSION, Some(""), 7003),
            (KEY_STORE, None, 7003),
            (KEY_STORE, Some(""), 7003),
            (KEY_STORE, Some("a\u{0}b"), 7003),
            (KEY_STORE, Some("line\nbreak"), 7003),
            (KEY_STORE, Some("\u{fffd}\u{fffd}"), 7003),
            (KEY_TERMINAL, None, 7003),
            (KEY_TERMINAL, Some(""), 7003),
            (KEY_TERMINAL, Some("0"), 7003),
            (KEY_TERMINAL, Some("-1"), 7003),
            (KEY_TERMINAL, Some("+1"), 7003),
            (KEY_TERMINAL, Some(" 1"), 7003),
            (KEY_TERMINAL, Some("0x10"), 7003),
            (KEY_TERMINAL, Some("4294967296"), 7003),
            (KEY_TERMINAL, Some("99999999999999999999999"), 7003),
            (KEY_TERMINAL, Some("١"), 7003),
            (KEY_PORT, None, 7003),
            (KEY_PORT, Some("0"), 0),
            (KEY_PORT, Some("65536"), 7003),
            (KEY_PORT, Some("7004"), 7003),
            (KEY_PORT, Some("7003 "), 7003),
            (KEY_FINGERPRINT, None, 7003),
            (KEY_FINGERPRINT, Some(""), 7003),
            (KEY_FINGERPRINT, Some(&FP[1..]), 7003),
            (
                KEY_FINGERPRINT,
                Some("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
                7003,
            ),
            (KEY_FIRMWARE, None, 7003),
            (KEY_FIRMWARE, Some(""), 7003),
            (KEY_FIRMWARE, Some("1.0 beta"), 7003),
            (KEY_FIRMWARE, Some("1.0\u{7f}"), 7003),
            (KEY_FIRMWARE, Some("vé"), 7003),
        ];
        for (key, value, srv) in cases {
            let mut map = good();
            match value {
                Some(v) => map.insert(key.to_string(), v.to_string()),
                None => map.remove(*key),
            };
            let srv = if *key == KEY_PORT { *srv } else { 7003 };
            assert!(
                parse_map(&map, srv).is_err(),
                "{key}={value:?} (srv {srv}) was accepted"
            );
        }
        let mut long = good();
        long.insert(KEY_STORE.into(), "x".repeat(65));
        assert!(parse_map(&long, 7003).is_err());
        long = good();
        long.insert(KEY_FIRMWARE.into(), "x".repeat(65));
        assert!(parse_map(&long, 7003).is_err());
        assert!(
            parse_map(&good(), 7004).is_err(),
            "SRV/TXT port mismatch accepted"
        );
        assert!(parse_map(&HashMap::new(), 7003).is_err());
    }

    /// Random garbage (deterministic xorshift) in every field never panics and is
    /// accepted only when it happens to be valid.
    #[test]
    fn garbage_never_panics() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "0123456789abcdefABCDEF-+. =\u{0}\n\u{fffd}é١\u{7f}xyz"
            .chars()
            .collect();
        for _ in 0..20_000 {
            let mut map = good();
            for key in KEYS {
                match next() % 4 {
                    0 => {
                        map.remove(key);
                    }
                    1 => {
                        let len = (next() % 80) as usize;
                        let value: String = (0..len)
                            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                            .collect();
                        map.insert(key.to_string(), value);
                    }
                    2 => {
                        let bytes: Vec<u8> = (0..(next() % 70)).map(|_| next() as u8).collect();
                        map.insert(
                            key.to_string(),
                            String::from_utf8_lossy(&bytes).into_owned(),
                        );
                    }
                    _ => {}
                }
            }
            let srv = (next() % 3) as u16 + 7002;
            if let Ok(rec) = parse_map(&map, srv) {
                assert_eq!(rec.port, srv);
                assert!(rec.terminal.0 > 0);
                assert_eq!(rec.fingerprint.len(), 64);
            }
        }
    }
}
