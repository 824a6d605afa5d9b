//! Wire messages between terminals: raft messages
//! (`keel_cluster::raft::codec::decode_message`), the proposals raft entries
//! carry (`CommandEnvelope::decode`) and raft-rs conf changes
//! (`decode_conf_change_v1`), the raft log's stored records read back from
//! `raft.redb` (`decode_entry`, `decode_hard_state`, `decode_conf_state`,
//! `decode_snapshot`), journal replication messages
//! (`keel_core::replication::decode`), the terminal runtime's control
//! channel (`keel_terminal::cluster_runtime::decode_control_reencoded`), the
//! replicated uplink marks (`UplinkMarks::decode`) and a peer's mDNS TXT
//! record (`keel_cluster::discovery::txt::parse`).
//! The framing under them: the transport's channel streams
//! (`keel_cluster::transport_frame::FrameDecoder`) and the uplink session's
//! frames (`keel_uplink::wire::frame_len`, then the uplink message decoders).
//!
//! Property for each message: what decodes re-encodes to bytes that decode to
//! the same message.

use keel_cluster::discovery::txt;
use keel_cluster::raft::codec::{
    decode_conf_change_v1, decode_conf_state, decode_entry, decode_entry_term, decode_hard_state,
    decode_message, decode_snapshot, encode_conf_state, encode_entry, encode_hard_state,
    encode_message, encode_snapshot,
};
use keel_cluster::raft::CommandEnvelope;
use keel_core::replication;
use keel_uplink::UplinkMarks;

/// `data` as a frame's payload on the raft channel.
pub fn raft_message(data: &[u8]) {
    if let Ok(m) = decode_message(data) {
        let again = decode_message(&encode_message(&m));
        assert_eq!(
            again.as_ref().ok(),
            Some(&m),
            "raft message does not round-trip"
        );
    }
}

/// `data` as a value of `raft.redb` read back from disk: the first byte picks
/// the table (log entry, hard state, conf state, snapshot), the rest is the value.
pub fn raft_log_record(data: &[u8]) {
    let Some((&table, b)) = data.split_first() else {
        return;
    };
    match table % 4 {
        0 => {
            if let Ok(e) = decode_entry(b) {
                assert_eq!(
                    decode_entry_term(b).ok(),
                    Some(e.term),
                    "entry term read differs"
                );
                let again = decode_entry(&encode_entry(&e));
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&e),
                    "log entry does not round-trip"
                );
            }
        }
        1 => {
            if let Ok(h) = decode_hard_state(b) {
                let again = decode_hard_state(&encode_hard_state(&h));
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&h),
                    "hard state does not round-trip"
                );
            }
        }
        2 => {
            if let Ok((c, index)) = decode_conf_state(b) {
                let again = decode_conf_state(&encode_conf_state(&c, index));
                assert_eq!(
                    again.ok(),
                    Some((c, index)),
                    "conf state does not round-trip"
                );
            }
        }
        _ => {
            if let Ok(s) = decode_snapshot(b) {
                let again = decode_snapshot(&encode_snapshot(&s));
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&s),
                    "snapshot does not round-trip"
                );
            }
        }
    }
}

/// `data` as a normal raft entry's data (a proposal).
pub fn raft_command(data: &[u8]) {
    if let Ok(c) = CommandEnvelope::decode(data) {
        let again = CommandEnvelope::decode(&c.encode());
        assert_eq!(
            again.as_ref().ok(),
            Some(&c),
            "proposal does not round-trip"
        );
    }
}

/// `data` as a conf-change entry's data (raft-rs's protobuf `ConfChange`).
pub fn raft_conf_change(data: &[u8]) {
    let _ = decode_conf_change_v1(data);
}

/// `data` as a frame's payload on the replication channel.
pub fn replication_message(data: &[u8]) {
    if let Ok(m) = replication::decode(data) {
        let again = replication::decode(&replication::encode(&m));
        assert_eq!(
            again.as_ref().ok(),
            Some(&m),
            "replication message does not round-trip"
        );
    }
}

/// `data` as a frame's payload on the control channel.
pub fn cluster_control(data: &[u8]) {
    use keel_terminal::cluster_runtime::decode_control_reencoded;
    if let Ok(encoded) = decode_control_reencoded(data) {
        let again = decode_control_reencoded(&encoded);
        assert_eq!(
            again.as_ref().ok(),
            Some(&encoded),
            "control message does not round-trip"
        );
    }
}

/// `data` as replicated uplink marks (a control message's payload).
pub fn uplink_marks(data: &[u8]) {
    if let Ok(m) = UplinkMarks::decode(data) {
        let again = UplinkMarks::decode(&m.encode());
        assert_eq!(
            again.as_ref().ok(),
            Some(&m),
            "uplink marks do not round-trip"
        );
    }
}

/// Splits DNS TXT record data (each string: a length byte, then `key=value`)
/// into pairs; a key given twice keeps its first value (RFC 6763 6.4).
pub fn txt_pairs(data: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let take = (len as usize).min(tail.len());
        let entry = String::from_utf8_lossy(&tail[..take]);
        let (k, v) = entry.split_once('=').unwrap_or((&entry, ""));
        if !pairs.iter().any(|(have, _)| have.eq_ignore_ascii_case(k)) {
            pairs.push((k.to_string(), v.to_string()));
        }
        rest = &tail[take..];
    }
    pairs
}

/// Encodes pairs as DNS TXT record data (what [`txt_pairs`] reads).
pub fn txt_data(pairs: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        let entry = format!("{k}={v}");
        let bytes = &entry.as_bytes()[..entry.len().min(255)];
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out
}

/// `data` as an SRV port (2 bytes, big-endian) and a peer's TXT record data.
pub fn mdns_txt(data: &[u8]) {
    let (port, record) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (0, data),
    };
    let pairs = txt_pairs(record);
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let first = txt::parse(get, port);
    if let Ok(peer) = &first {
        assert_ne!(peer.terminal.0, 0, "terminal 0 accepted");
        assert!(
            peer.port != 0 && peer.port == port,
            "port {} accepted",
            peer.port
        );
        assert!(
            peer.fingerprint.len() == 64 && peer.fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
            "fingerprint {:?} accepted",
            peer.fingerprint
        );
    }
}

/// Bounds the transport stream mode picks from (bits 4-6 of the selector).
const FRAME_BOUNDS: [usize; 8] = [
    keel_cluster::transport::DEFAULT_MAX_FRAME,
    0,
    1,
    16,
    255,
    4096,
    65536,
    1 << 20,
];

/// `data` as a stream of frames: a selector byte, then the stream. Selector
/// bit 7 clear: a transport channel stream after its tag, with the bound
/// picked by bits 4-6, arriving in pieces of bits 0-3 + 1 bytes. Bit 7 set:
/// the uplink session's stream, each body decoded as a cloud message (bit 4
/// clear) or a store message.
///
/// Properties (transport): the frames and the error do not depend on the
/// pieces; frames are within the bound and re-encode to the stream; a refused
/// length is above the bound. (Uplink): a length `frame_len` accepts is
/// 1..=MAX_MESSAGE_BYTES and `frame` rebuilds the prefix; decoded messages
/// round-trip.
pub fn transport_frames(data: &[u8]) {
    use keel_cluster::transport_frame::{decode_stream, encode_frame, FrameDecoder, FrameError};
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    if selector & 0x80 != 0 {
        return uplink_frames(selector & 0x10 == 0, stream);
    }
    let max = FRAME_BOUNDS[usize::from(selector >> 4) & 7];
    let step = usize::from(selector & 0x0f) + 1;
    let whole = decode_stream(stream, max);
    let mut decoder = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let pieces = (|| {
        for piece in stream.chunks(step) {
            let mut rest = piece;
            while !rest.is_empty() {
                let (used, frame) = decoder.push(rest)?;
                assert!(used > 0, "the decoder used nothing of {} bytes", rest.len());
                rest = &rest[used..];
                frames.extend(frame);
            }
        }
        decoder.finish()
    })()
    .map(|()| frames);
    assert_eq!(whole, pieces, "the frames depend on the pieces");
    match whole {
        Ok(frames) => {
            assert!(frames.iter().all(|f| f.len() <= max), "a frame above {max}");
            let again: Vec<u8> = frames
                .iter()
                .flat_map(|f| encode_frame(f).expect("a bounded frame has a u32 length"))
                .collect();
            assert_eq!(again, stream, "the frames do not re-encode to the stream");
        }
        Err(FrameError::TooLarge { len, max: m }) => assert!(len > m && m == max),
        Err(_) => {}
    }
}

/// The uplink session's reading loop over `stream` (see [`transport_frames`]).
fn uplink_frames(from_cloud: bool, stream: &[u8]) {
    use keel_uplink::wire::{frame, frame_len, CloudMessage, StoreMessage, MAX_MESSAGE_BYTES};
    let mut rest = stream;
    while let Some(prefix) = rest.first_chunk::<4>() {
        let Ok(n) = frame_len(*prefix) else {
            return;
        };
        assert!(
            (1..=MAX_MESSAGE_BYTES).contains(&n),
            "frame_len accepted {n}"
        );
        let Some(body) = rest.get(4..4 + n) else {
            return;
        };
        assert_eq!(
            frame(body),
            rest[..4 + n],
            "frame does not rebuild the prefix"
        );
        if from_cloud {
            if let Ok(m) = CloudMessage::decode(body) {
                assert_eq!(CloudMessage::decode(&m.encode()).ok(), Some(m));
            }
        } else if let Ok(m) = StoreMessage::decode(body) {
            assert_eq!(StoreMessage::decode(&m.encode()).ok(), Some(m));
        }
        rest = &rest[4 + n..];
    }
}
