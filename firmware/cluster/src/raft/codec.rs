//! Byte encodings of raft-rs's protocol types: the wire form of a raft
//! [`Message`] sent between terminals, and the stored forms of log entries,
//! hard state, conf state and snapshot metadata in `raft.redb`.
//!
//! This module owns those encodings and their version tags. It must not decide
//! anything about raft (that is raft-rs's job) and does no I/O.
//!
//! Why postcard mirrors rather than raft-rs's own protobuf encoding: DESIGN.md
//! asks for postcard with a version tag for every message and stored record,
//! and raft-rs 0.7 does not re-export the `protobuf` crate whose `Message`
//! trait carries `write_to_bytes`/`parse_from_bytes` (it is not a direct
//! dependency of keel-cluster). The mirrors copy every field raft-rs 0.7 uses;
//! the deprecated `Entry::sync_log` and `Message::deprecated_priority` are
//! dropped. Upgrading raft-rs means re-checking the field lists below.
//!
//! The one place protobuf bytes are unavoidable is a conf-change entry's
//! `data`: raft-rs itself encodes the `ConfChange` there when it is proposed
//! and decodes it when it is stepped. [`decode_conf_change_v1`] reads that
//! small message by hand (four scalar fields) so applying it needs no protobuf
//! crate either.

use raft::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Message, MessageType,
    Snapshot,
};
use serde::{Deserialize, Serialize};

/// Version tag of the wire form of a raft [`Message`] (first byte of every frame).
pub const MESSAGE_VERSION: u8 = 1;

/// Upper bound on an encoded message accepted by [`decode_message`]; larger input
/// is refused before parsing. The driver keeps messages far below this
/// (`max_size_per_msg`), the transport has its own frame bound.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Why bytes from a peer are not a raft message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeMessageError {
    /// The input was empty.
    #[error("empty raft message")]
    Empty,
    /// The input exceeds [`MAX_MESSAGE_BYTES`].
    #[error("raft message of {len} bytes exceeds the {max}-byte bound")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The version tag is not one this firmware reads.
    #[error(
        "raft message version {found} is not supported (this firmware reads version {supported})"
    )]
    UnsupportedVersion {
        /// Tag found in the input.
        found: u8,
        /// The version this firmware writes and reads.
        supported: u8,
    },
    /// The body is not a valid postcard encoding of a message.
    #[error("malformed raft message: {0}")]
    Malformed(String),
    /// Bytes follow a complete message.
    #[error("{0} trailing bytes after a raft message")]
    TrailingBytes(usize),
    /// A numeric enum field holds a value raft-rs 0.7 does not define.
    #[error("unknown {field} value {value}")]
    UnknownEnum {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u8,
    },
}

/// Why a stored raft record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DecodeRecordError {
    /// The record is not a valid postcard encoding of the expected type.
    #[error("malformed stored raft {what}: {reason}")]
    Malformed {
        /// Which record kind.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// An enum field holds a value raft-rs 0.7 does not define.
    #[error("stored raft {what} has unknown entry type {value}")]
    UnknownEntryType {
        /// Which record kind.
        what: &'static str,
        /// The value found.
        value: u8,
    },
}

#[derive(Serialize, Deserialize)]
struct WireConfState {
    voters: Vec<u64>,
    learners: Vec<u64>,
    voters_outgoing: Vec<u64>,
    learners_next: Vec<u64>,
    auto_leave: bool,
}

#[derive(Serialize, Deserialize)]
struct WireEntry {
    entry_type: u8,
    term: u64,
    index: u64,
    data: Vec<u8>,
    context: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireSnapshot {
    data: Vec<u8>,
    index: u64,
    term: u64,
    conf_state: WireConfState,
}

#[derive(Serialize, Deserialize)]
struct WireMessage {
    msg_type: u8,
    to: u64,
    from: u64,
    term: u64,
    log_term: u64,
    index: u64,
    entries: Vec<WireEntry>,
    commit: u64,
    commit_term: u64,
    snapshot: Option<WireSnapshot>,
    request_snapshot: u64,
    reject: bool,
    reject_hint: u64,
    context: Vec<u8>,
    priority: i64,
}

fn conf_to_wire(c: &ConfState) -> WireConfState {
    WireConfState {
        voters: c.voters.clone(),
        learners: c.learners.clone(),
        voters_outgoing: c.voters_outgoing.clone(),
        learners_next: c.learners_next.clone(),
        auto_leave: c.auto_leave,
    }
}

fn conf_from_wire(w: WireConfState) -> ConfState {
    let mut c = ConfState::default();
    c.voters = w.voters;
    c.learners = w.learners;
    c.voters_outgoing = w.voters_outgoing;
    c.learners_next = w.learners_next;
    c.auto_leave = w.auto_leave;
    c
}

fn entry_to_wire(e: &Entry) -> WireEntry {
    WireEntry {
        entry_type: e.get_entry_type() as u8,
        term: e.term,
        index: e.index,
        data: e.data.to_vec(),
        context: e.context.to_vec(),
    }
}

fn entry_type_from(v: u8) -> Option<EntryType> {
    match v {
        0 => Some(EntryType::EntryNormal),
        1 => Some(EntryType::EntryConfChange),
        2 => Some(EntryType::EntryConfChangeV2),
        _ => None,
    }
}

fn entry_from_wire(w: WireEntry) -> Option<Entry> {
    let mut e = Entry::default();
    e.set_entry_type(entry_type_from(w.entry_type)?);
    e.term = w.term;
    e.index = w.index;
    e.data = w.data.into();
    e.context = w.context.into();
    Some(e)
}

fn snapshot_to_wire(s: &Snapshot) -> WireSnapshot {
    let m = s.get_metadata();
    WireSnapshot {
        data: s.data.to_vec(),
        index: m.index,
        term: m.term,
        conf_state: conf_to_wire(m.get_conf_state()),
    }
}

fn snapshot_from_wire(w: WireSnapshot) -> Snapshot {
    let mut s = Snapshot::default();
    s.data = w.data.into();
    let m = s.mut_metadata();
    m.index = w.index;
    m.term = w.term;
    m.set_conf_state(conf_from_wire(w.conf_state));
    s
}

fn message_type_from(v: u8) -> Option<MessageType> {
    use MessageType::*;
    Some(match v {
        0 => MsgHup,
        1 => MsgBeat,
        2 => MsgPropose,
        3 => MsgAppend,
        4 => MsgAppendResponse,
        5 => MsgRequestVote,
        6 => MsgRequestVoteResponse,
        7 => MsgSnapshot,
        8 => MsgHeartbeat,
        9 => MsgHeartbeatResponse,
        10 => MsgUnreachable,
        11 => MsgSnapStatus,
        12 => MsgCheckQuorum,
        13 => MsgTransferLeader,
        14 => MsgTimeoutNow,
        15 => MsgReadIndex,
        16 => MsgReadIndexResp,
        17 => MsgRequestPreVote,
        18 => MsgRequestPreVoteResponse,
        _ => return None,
    })
}

/// Encodes a raft message for the wire: [`MESSAGE_VERSION`] then the postcard body.
pub fn encode_message(m: &Message) -> Vec<u8> {
    let snapshot = if m.has_snapshot() {
        Some(snapshot_to_wire(m.get_snapshot()))
    } else {
        None
    };
    let wire = WireMessage {
        msg_type: m.get_msg_type() as u8,
        to: m.to,
        from: m.from,
        term: m.term,
        log_term: m.log_term,
        index: m.index,
        entries: m.get_entries().iter().map(entry_to_wire).collect(),
        commit: m.commit,
        commit_term: m.commit_term,
        snapshot,
        request_snapshot: m.request_snapshot,
        reject: m.reject,
        reject_hint: m.reject_hint,
        context: m.context.to_vec(),
        priority: m.priority,
    };
    let mut out = vec![MESSAGE_VERSION];
    // Invariant: postcard serialisation into a Vec of plain integers, byte
    // vectors and options cannot fail (no maps, no non-string keys, no I/O).
    match postcard::to_extend(&wire, out) {
        Ok(v) => out = v,
        Err(e) => unreachable!("postcard encoding of a raft message failed: {e}"),
    }
    out
}

/// Decodes bytes from a peer into a raft message. Any malformation is an error;
/// this never panics on any input.
pub fn decode_message(bytes: &[u8]) -> Result<Message, DecodeMessageError> {
    let (&version, body) = bytes.split_first().ok_or(DecodeMessageError::Empty)?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeMessageError::TooLarge {
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    if version != MESSAGE_VERSION {
        return Err(DecodeMessageError::UnsupportedVersion {
            found: version,
            supported: MESSAGE_VERSION,
        });
    }
    let (w, rest): (WireMessage, &[u8]) = postcard::take_from_bytes(body)
        .map_err(|e| DecodeMessageError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeMessageError::TrailingBytes(rest.len()));
    }
    let mut m = Message::default();
    m.set_msg_type(
        message_type_from(w.msg_type).ok_or(DecodeMessageError::UnknownEnum {
            field: "message type",
            value: w.msg_type,
        })?,
    );
    m.to = w.to;
    m.from = w.from;
    m.term = w.term;
    m.log_term = w.log_term;
    m.index = w.index;
    let mut entries = Vec::with_capacity(w.entries.len());
    for e in w.entries {
        let t = e.entry_type;
        entries.push(entry_from_wire(e).ok_or(DecodeMessageError::UnknownEnum {
            field: "entry type",
            value: t,
        })?);
    }
    m.set_entries(entries.into());
    m.commit = w.commit;
    m.commit_term = w.commit_term;
    if let Some(s) = w.snapshot {
        m.set_snapshot(snapshot_from_wire(s));
    }
    m.request_snapshot = w.request_snapshot;
    m.reject = w.reject;
    m.reject_hint = w.reject_hint;
    m.context = w.context.into();
    m.priority = w.priority;
    Ok(m)
}

// ---------------------------------------------------------------------------
// Stored records (raft.redb). Each value is postcard; the file's schema version
// key (see storage.rs) versions them all together.

fn postcard_vec<T: Serialize>(v: &T) -> Vec<u8> {
    // Invariant: as in `encode_message`, these plain structs always serialise.
    match postcard::to_stdvec(v) {
        Ok(b) => b,
        Err(e) => unreachable!("postcard encoding of a raft record failed: {e}"),
    }
}

fn postcard_read<'a, T: Deserialize<'a>>(
    what: &'static str,
    b: &'a [u8],
) -> Result<T, DecodeRecordError> {
    postcard::from_bytes(b).map_err(|e| DecodeRecordError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// Encodes a log entry for the `entries` table.
pub fn encode_entry(e: &Entry) -> Vec<u8> {
    postcard_vec(&entry_to_wire(e))
}

/// Decodes a log entry from the `entries` table.
pub fn decode_entry(b: &[u8]) -> Result<Entry, DecodeRecordError> {
    let w: WireEntry = postcard_read("entry", b)?;
    let t = w.entry_type;
    entry_from_wire(w).ok_or(DecodeRecordError::UnknownEntryType {
        what: "entry",
        value: t,
    })
}

/// Reads only the term of a stored entry (the first fields of its encoding).
pub fn decode_entry_term(b: &[u8]) -> Result<u64, DecodeRecordError> {
    #[derive(Deserialize)]
    struct Head {
        _entry_type: u8,
        term: u64,
    }
    let (h, _): (Head, _) =
        postcard::take_from_bytes(b).map_err(|e| DecodeRecordError::Malformed {
            what: "entry",
            reason: e.to_string(),
        })?;
    Ok(h.term)
}

#[derive(Serialize, Deserialize)]
struct StoredHardState {
    term: u64,
    vote: u64,
    commit: u64,
}

/// Encodes the hard state.
pub fn encode_hard_state(h: &HardState) -> Vec<u8> {
    postcard_vec(&StoredHardState {
        term: h.term,
        vote: h.vote,
        commit: h.commit,
    })
}

/// Decodes the hard state.
pub fn decode_hard_state(b: &[u8]) -> Result<HardState, DecodeRecordError> {
    let s: StoredHardState = postcard_read("hard state", b)?;
    let mut h = HardState::default();
    h.term = s.term;
    h.vote = s.vote;
    h.commit = s.commit;
    Ok(h)
}

#[derive(Serialize, Deserialize)]
struct StoredConfState {
    conf: WireConfState,
    /// Log index of the last conf change this state reflects (0: bootstrap).
    index: u64,
}

/// Encodes a conf state with the index of the conf change it reflects.
pub fn encode_conf_state(c: &ConfState, index: u64) -> Vec<u8> {
    postcard_vec(&StoredConfState {
        conf: conf_to_wire(c),
        index,
    })
}

/// Decodes a conf state and the index of the conf change it reflects.
pub fn decode_conf_state(b: &[u8]) -> Result<(ConfState, u64), DecodeRecordError> {
    let s: StoredConfState = postcard_read("conf state", b)?;
    Ok((conf_from_wire(s.conf), s.index))
}

/// Encodes a whole snapshot (metadata and data).
pub fn encode_snapshot(s: &Snapshot) -> Vec<u8> {
    postcard_vec(&snapshot_to_wire(s))
}

/// Decodes a whole snapshot.
pub fn decode_snapshot(b: &[u8]) -> Result<Snapshot, DecodeRecordError> {
    let w: WireSnapshot = postcard_read("snapshot", b)?;
    Ok(snapshot_from_wire(w))
}

// ---------------------------------------------------------------------------
// ConfChange (v1) protobuf, read by hand.

/// Why a conf-change entry's protobuf data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeConfChangeError {
    /// The protobuf bytes end inside a field.
    #[error("conf change truncated")]
    Truncated,
    /// A varint is longer than 10 bytes.
    #[error("conf change has an overlong varint")]
    Overlong,
    /// A wire type raft's ConfChange never uses.
    #[error("conf change field {field} has unsupported wire type {wire_type}")]
    WireType {
        /// Field number.
        field: u64,
        /// Protobuf wire type.
        wire_type: u64,
    },
    /// The change type is not one raft-rs 0.7 defines.
    #[error("unknown conf change type {0}")]
    UnknownType(u64),
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes `eraftpb.ConfChange { change_type: AddNode, node_id }` as protobuf,
/// byte-identical to what raft-rs writes (AddNode is 0, the default, so only
/// field 3 is present). Used for the bootstrap entries.
pub(crate) fn encode_add_node_v1(node_id: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(11);
    if node_id != 0 {
        out.push(0x18);
        write_varint(&mut out, node_id);
    }
    out
}

fn read_varint(b: &[u8], pos: &mut usize) -> Result<u64, DecodeConfChangeError> {
    let mut v: u64 = 0;
    for shift in 0..10 {
        let byte = *b.get(*pos).ok_or(DecodeConfChangeError::Truncated)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * shift);
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(DecodeConfChangeError::Overlong)
}

/// Decodes the protobuf `eraftpb.ConfChange` raft-rs writes into a conf-change
/// entry's data (fields: 1 id, 2 change_type, 3 node_id, 4 context).
pub fn decode_conf_change_v1(b: &[u8]) -> Result<ConfChange, DecodeConfChangeError> {
    let mut cc = ConfChange::default();
    let mut pos = 0;
    while pos < b.len() {
        let key = read_varint(b, &mut pos)?;
        let (field, wire_type) = (key >> 3, key & 7);
        match wire_type {
            0 => {
                let v = read_varint(b, &mut pos)?;
                match field {
                    1 => cc.id = v,
                    2 => {
                        let t = match v {
                            0 => ConfChangeType::AddNode,
                            1 => ConfChangeType::RemoveNode,
                            2 => ConfChangeType::AddLearnerNode,
                            other => return Err(DecodeConfChangeError::UnknownType(other)),
                        };
                        cc.set_change_type(t);
                    }
                    3 => cc.node_id = v,
                    _ => {}
                }
            }
            2 => {
                let len = read_varint(b, &mut pos)?;
                let len = usize::try_from(len).map_err(|_| DecodeConfChangeError::Truncated)?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= b.len())
                    .ok_or(DecodeConfChangeError::Truncated)?;
                if field == 4 {
                    cc.context = b[pos..end].to_vec().into();
                }
                pos = end;
            }
            1 => {
                pos = pos
                    .checked_add(8)
                    .filter(|e| *e <= b.len())
                    .ok_or(DecodeConfChangeError::Truncated)?
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .filter(|e| *e <= b.len())
                    .ok_or(DecodeConfChangeError::Truncated)?
            }
            wt => {
                return Err(DecodeConfChangeError::WireType {
                    field,
                    wire_type: wt,
                })
            }
        }
    }
    Ok(cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trip_keeps_every_field() {
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgAppend);
        m.to = 2;
        m.from = 1;
        m.term = 7;
        m.log_term = 6;
        m.index = 41;
        let mut e = Entry::default();
        e.set_entry_type(EntryType::EntryConfChange);
        e.term = 7;
        e.index = 42;
        e.data = vec![1, 2, 3].into();
        e.context = vec![9].into();
        m.set_entries(vec![e.clone()].into());
        m.commit = 40;
        m.commit_term = 6;
        let mut s = Snapshot::default();
        s.data = vec![5; 10].into();
        s.mut_metadata().index = 30;
        s.mut_metadata().term = 5;
        s.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
        m.set_snapshot(s.clone());
        m.reject = true;
        m.reject_hint = 12;
        m.context = vec![4, 4].into();
        m.priority = -3;
        m.request_snapshot = 8;
        let back = decode_message(&encode_message(&m)).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(
            decode_message(&[]),
            Err(DecodeMessageError::Empty)
        ));
        assert!(matches!(
            decode_message(&[9, 1, 2]),
            Err(DecodeMessageError::UnsupportedVersion { .. })
        ));
        assert!(decode_message(&[1, 0xff, 0xff, 0xff]).is_err());
        let mut ok = encode_message(&Message::default());
        ok.push(0);
        assert!(matches!(
            decode_message(&ok),
            Err(DecodeMessageError::TrailingBytes(1))
        ));
        // Every prefix of a valid message is refused without panicking.
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgHeartbeat);
        m.to = 3;
        m.set_entries(vec![Entry::default()].into());
        let b = encode_message(&m);
        for n in 0..b.len() {
            assert!(decode_message(&b[..n]).is_err());
        }
    }

    #[test]
    fn conf_change_protobuf_by_hand() {
        // id=0 omitted; change_type=RemoveNode (field 2 = 1), node_id=300 (field 3), context "ab".
        let bytes = [0x10, 0x01, 0x18, 0xac, 0x02, 0x22, 0x02, b'a', b'b'];
        let cc = decode_conf_change_v1(&bytes).unwrap();
        assert_eq!(cc.get_change_type(), ConfChangeType::RemoveNode);
        assert_eq!(cc.node_id, 300);
        assert_eq!(&cc.context[..], b"ab");
        assert!(decode_conf_change_v1(&[0x18]).is_err());
        let add = decode_conf_change_v1(&encode_add_node_v1(300)).unwrap();
        assert_eq!(
            (add.get_change_type(), add.node_id),
            (ConfChangeType::AddNode, 300)
        );
        assert!(decode_conf_change_v1(&[0x22, 0x05, 1]).is_err());
    }
}
