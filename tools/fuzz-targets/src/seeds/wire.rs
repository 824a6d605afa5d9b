//! Wire message seeds, each encoded by the production encoder: raft messages
//! and proposals, raft-rs conf changes, replication messages (carrying real
//! journal records), control-channel messages, uplink marks, a TXT record and
//! the store/cloud uplink messages; and streams of them framed as the
//! transport and the uplink session frame them.

use super::{Seed, SeedError};
use crate::cluster::txt_data;
use keel_cluster::discovery::{txt, Advertisement};
use keel_cluster::raft::codec::{
    decode_conf_change_v1, encode_conf_state, encode_entry, encode_hard_state, encode_message,
    encode_snapshot,
};
use keel_cluster::raft::{CommandEnvelope, ProposalId, StoreCommand};
use keel_cluster::transport_frame::encode_frame;
use keel_core::chain::ChainHash;
use keel_core::ids::{StoreId, TerminalId};
use keel_core::replication::{self, OriginProof, ReplicationMessage, VersionVector};
use keel_terminal::cluster_runtime::decode_control_reencoded;
use keel_uplink::wire::{
    frame, Batch, BatchEntry, CloudMessage, EntryBody, StoreHealth, StoreMessage,
};
use keel_uplink::{OriginMark, UplinkMarks};
use raft::eraftpb::{ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot};

fn raft_messages(proposal: &[u8]) -> Vec<(&'static str, Message)> {
    let mut append = Message::default();
    append.set_msg_type(MessageType::MsgAppend);
    append.to = 2;
    append.from = 1;
    append.term = 3;
    append.log_term = 3;
    append.index = 17;
    append.commit = 16;
    let mut e = Entry::default();
    e.set_entry_type(EntryType::EntryNormal);
    e.term = 3;
    e.index = 18;
    e.data = proposal.to_vec().into();
    append.set_entries(vec![e].into());

    let mut vote = Message::default();
    vote.set_msg_type(MessageType::MsgRequestVote);
    vote.to = 3;
    vote.from = 2;
    vote.term = 4;
    vote.log_term = 3;
    vote.index = 18;

    let mut heartbeat = Message::default();
    heartbeat.set_msg_type(MessageType::MsgHeartbeat);
    heartbeat.to = 2;
    heartbeat.from = 1;
    heartbeat.term = 3;
    heartbeat.commit = 18;

    let mut reject = Message::default();
    reject.set_msg_type(MessageType::MsgAppendResponse);
    reject.to = 1;
    reject.from = 2;
    reject.term = 3;
    reject.index = 16;
    reject.reject = true;
    reject.reject_hint = 12;
    vec![
        ("append", append),
        ("request_vote", vote),
        ("heartbeat", heartbeat),
        ("append_reject", reject),
    ]
}

fn proposals() -> Vec<(&'static str, CommandEnvelope)> {
    let id = |seq| ProposalId {
        origin: 1,
        session: 7,
        seq,
    };
    vec![
        (
            "set_price",
            CommandEnvelope {
                id: id(1),
                command: StoreCommand::SetPrice {
                    sku: "COFFEE".into(),
                    price_minor: 240,
                    currency: "EUR".into(),
                    origin: 1,
                    hlc: 1_760_000_000_000 << 16,
                },
            },
        ),
        (
            "day_close",
            CommandEnvelope {
                id: id(2),
                command: StoreCommand::DayClose {
                    day: "2026-11-23".into(),
                    by: 2,
                },
            },
        ),
        (
            "opaque",
            CommandEnvelope {
                id: id(3),
                command: StoreCommand::Opaque {
                    kind: "uplink.owner".into(),
                    payload: vec![1, 0, 0, 0],
                },
            },
        ),
    ]
}

/// Control-channel messages as the runtime writes them: the version byte,
/// then postcard of `Done` (Ok and Err), `OtaFetch` and `OtaChunk`. Each is
/// checked against the runtime's own decoder and encoder.
fn control_messages() -> Result<Vec<(&'static str, Vec<u8>)>, SeedError> {
    let sha = [0xab_u8; 32];
    let mut fetch = vec![1, 5];
    fetch.extend_from_slice(&sha);
    fetch.extend_from_slice(&[0x80, 0x80, 0x04, 0x80, 0x80, 0x04]); // offset 65536, len 65536
    let mut chunk = vec![1, 6];
    chunk.extend_from_slice(&sha);
    chunk.extend_from_slice(&[0, 8, b'K', b'E', b'E', b'L', 1, 2, 3, 4]);
    let mut done_err = vec![1, 1, 8, 1, 9];
    done_err.extend_from_slice(b"no quorum");
    let messages = vec![
        ("done_ok", vec![1, 1, 7, 0, 42]),
        ("done_err", done_err),
        ("ota_fetch", fetch),
        ("ota_chunk", chunk),
    ];
    for (name, bytes) in &messages {
        match decode_control_reencoded(bytes) {
            Ok(again) if again == *bytes => {}
            other => {
                return Err(SeedError::produce(
                    "a control message seed",
                    format!("{name} is not what the runtime writes: {other:?}"),
                ))
            }
        }
    }
    Ok(messages)
}

pub(super) fn seeds() -> Result<Vec<Seed>, SeedError> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().map_err(|e| SeedError::produce("a temporary directory", e))?;
    let (_journal, records) = super::journal::write_journal(dir.path())?;
    let some: Vec<Vec<u8>> = records.iter().take(3).cloned().collect();

    let proposals = proposals();
    for (name, p) in &proposals {
        out.push(Seed::new("raft_command", *name, p.encode()));
    }
    for (name, m) in raft_messages(&proposals[0].1.encode()) {
        if name == "append" {
            for (i, e) in m.entries.iter().enumerate() {
                let mut value = vec![0];
                value.extend(encode_entry(e));
                out.push(Seed::new("raft_log_record", format!("entry_{i}"), value));
            }
        }
        out.push(Seed::new("raft_message", name, encode_message(&m)));
    }
    let mut hard = HardState::default();
    hard.term = 3;
    hard.vote = 1;
    hard.commit = 18;
    out.push(Seed::new(
        "raft_log_record",
        "hard_state",
        [&[1][..], &encode_hard_state(&hard)].concat(),
    ));
    let mut conf = ConfState::default();
    conf.voters = vec![1, 2, 3];
    out.push(Seed::new(
        "raft_log_record",
        "conf_state",
        [&[2][..], &encode_conf_state(&conf, 5)].concat(),
    ));
    let mut snapshot = Snapshot::default();
    snapshot.data = b"state machine bytes".to_vec().into();
    snapshot.mut_metadata().index = 18;
    snapshot.mut_metadata().term = 3;
    snapshot.mut_metadata().set_conf_state(conf);
    out.push(Seed::new(
        "raft_log_record",
        "snapshot",
        [&[3][..], &encode_snapshot(&snapshot)].concat(),
    ));
    // raft-rs's ConfChange protobuf: AddNode 2, RemoveNode 3 with a context.
    for (name, bytes) in [
        ("add_node", vec![0x10, 0x00, 0x18, 0x02]),
        (
            "remove_node",
            vec![0x08, 0x05, 0x10, 0x01, 0x18, 0x03, 0x22, 0x02, 0x01, 0x07],
        ),
    ] {
        decode_conf_change_v1(&bytes).map_err(|e| SeedError::produce("a conf change seed", e))?;
        out.push(Seed::new("raft_conf_change", name, bytes));
    }

    let mut vv = VersionVector::default();
    vv.raise(TerminalId(1), 12);
    vv.raise(TerminalId(2), 4);
    out.push(Seed::new(
        "replication_message",
        "summary",
        replication::encode(&ReplicationMessage::Summary { vv }),
    ));
    out.push(Seed::new(
        "replication_message",
        "records",
        replication::encode(&ReplicationMessage::Records {
            origin: TerminalId(1),
            first_seq: 1,
            records: some.clone(),
            proof: OriginProof {
                seq: some.len() as u64,
                signature: vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
            },
            certificate: vec![0x30, 0x03, 0x02, 0x01, 0x00],
        }),
    ));
    for (name, bytes) in control_messages()? {
        out.push(Seed::new("cluster_control", name, bytes));
    }

    let mut marks = UplinkMarks {
        downlink: 5,
        acked_at_ms: 1_760_000_000_000,
        ..UplinkMarks::default()
    };
    marks.origins.insert(
        TerminalId(1),
        OriginMark {
            bodies: 10,
            chain: 12,
        },
    );
    marks.origins.insert(
        TerminalId(2),
        OriginMark {
            bodies: 4,
            chain: 4,
        },
    );
    out.push(Seed::new("uplink_marks", "two_origins", marks.encode()));

    let adv = Advertisement {
        store: StoreId("fuzz-store".into()),
        terminal: TerminalId(2),
        port: 7102,
        fingerprint: "3f".repeat(32),
        firmware: "0.1.0".into(),
    };
    let pairs = txt::encode(&adv).map_err(|e| SeedError::produce("a TXT record", e))?;
    let mut record = adv.port.to_be_bytes().to_vec();
    record.extend(txt_data(&pairs));
    out.push(Seed::new("mdns_txt", "terminal_2", record));

    let health = StoreHealth {
        pending: 3,
        failed_syncs: 1,
        last_error: Some("connection refused".into()),
        disk_free_pct: 71,
        terminals_up: 2,
        terminals: 3,
        now_ms: 1_760_000_000_000,
    };
    let store_messages = [
        (
            "hello",
            StoreMessage::Hello {
                store: StoreId("fuzz-store".into()),
                terminal: TerminalId(1),
                firmware: "0.1.0".into(),
                marks: marks.clone(),
                health: health.clone(),
            },
        ),
        (
            "batch",
            StoreMessage::Batch(Batch {
                id: 9,
                entries: some
                    .iter()
                    .enumerate()
                    .map(|(i, r)| BatchEntry {
                        origin: TerminalId(1),
                        seq: i as u64 + 1,
                        body: if i == 0 {
                            EntryBody::Stub {
                                hash: ChainHash::of(r),
                                prev: ChainHash([0; 32]),
                            }
                        } else {
                            EntryBody::Full(r.clone())
                        },
                    })
                    .collect(),
            }),
        ),
        (
            "health",
            StoreMessage::Health {
                health,
                downlink: 2,
            },
        ),
        (
            "fetch_release",
            StoreMessage::FetchRelease {
                id: 4,
                offset: 1 << 20,
                len: 65536,
            },
        ),
    ];
    for (name, m) in store_messages {
        out.push(Seed::new("store_message", name, m.encode()));
    }
    let cloud_messages = [
        (
            "ack",
            CloudMessage::Ack {
                batch: 9,
                marks,
                accepted: 2,
                duplicates: 1,
            },
        ),
        (
            "refused",
            CloudMessage::Refused {
                batch: 10,
                reason: "chain break at 1/4".into(),
            },
        ),
        (
            "release_chunk",
            CloudMessage::ReleaseChunk {
                id: 4,
                offset: 0,
                bytes: b"KEELBNDL".to_vec(),
            },
        ),
    ];
    for (name, m) in cloud_messages {
        out.push(Seed::new("cloud_message", name, m.encode()));
    }
    out.extend(stream_seeds(&out)?);
    Ok(out)
}

/// Streams of frames made by the framing encoders from the message seeds:
/// transport channel streams (raft, replication, control; whole and in
/// pieces, one under a small bound) and uplink session streams both ways.
fn stream_seeds(messages: &[Seed]) -> Result<Vec<Seed>, SeedError> {
    let stream = |target: &str, frame: &dyn Fn(&[u8]) -> Option<Vec<u8>>| {
        messages
            .iter()
            .filter(|m| m.target == target)
            .map(|m| frame(&m.bytes))
            .collect::<Option<Vec<Vec<u8>>>>()
            .map(|frames| frames.concat())
            .ok_or_else(|| SeedError::produce("a frame", "a message too long for a frame"))
    };
    let transport = |payload: &[u8]| encode_frame(payload);
    let uplink = |payload: &[u8]| Some(frame(payload));
    let mut out = Vec::new();
    for (name, selector, target) in [
        ("raft_whole", 0x0f, "raft_message"),
        ("replication_pieces_of_3", 0x02, "replication_message"),
        ("control_pieces_of_16", 0x0f, "cluster_control"),
    ] {
        let bytes = [vec![selector], stream(target, &transport)?].concat();
        out.push(Seed::new("transport_frames", name, bytes));
    }
    // Bound 16 (selector bits 4-6 = 3): a short frame, an empty one, then one above it.
    let small = [
        encode_frame(b"abc"),
        encode_frame(b""),
        encode_frame(&[7; 17]),
    ]
    .into_iter()
    .collect::<Option<Vec<Vec<u8>>>>()
    .ok_or_else(|| SeedError::produce("a frame", "too long"))?
    .concat();
    out.push(Seed::new(
        "transport_frames",
        "bound_16_then_too_large",
        [vec![0x30], small].concat(),
    ));
    out.push(Seed::new(
        "transport_frames",
        "uplink_from_cloud",
        [vec![0x80], stream("cloud_message", &uplink)?].concat(),
    ));
    out.push(Seed::new(
        "transport_frames",
        "uplink_from_store",
        [vec![0x90], stream("store_message", &uplink)?].concat(),
    ));
    Ok(out)
}
