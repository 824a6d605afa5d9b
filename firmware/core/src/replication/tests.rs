//! The protocol in a simulated network: three replicators with in-memory
//! journals, messages delivered in random order with loss and duplication;
//! everyone ends with every record exactly once, in each origin's order.

use super::*;
use crate::chain::encode_record;
use crate::event::EventBody;
use crate::hlc::Hlc;
use crate::ids::{Dot, Sku};
use std::collections::BTreeMap;

struct Node {
    rep: Replicator,
    /// Records held per origin, in order.
    held: BTreeMap<TerminalId, Vec<Vec<u8>>>,
}

impl RecordSource for Node {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        let Some(list) = self.held.get(&origin) else { return Vec::new() };
        let mut out = Vec::new();
        let mut bytes = 0;
        for r in list.iter().skip(from_seq.saturating_sub(1) as usize) {
            if !out.is_empty() && bytes + r.len() > max_bytes {
                break;
            }
            bytes += r.len();
            out.push(r.clone());
        }
        out
    }
}

fn store() -> StoreId {
    StoreId("s".into())
}

fn node(me: u32, members: &[u32]) -> Node {
    Node {
        rep: Replicator::new(TerminalId(me), store(), BTreeMap::new(), members.iter().map(|m| TerminalId(*m)).collect()),
        held: BTreeMap::new(),
    }
}

/// Commits a new local record on `n`; returns the push messages.
fn commit_local(n: &mut Node, k: u64) -> Vec<Outgoing> {
    let me = n.rep.me;
    let head = n.rep.head(me);
    let event = Event {
        dot: Dot { terminal: me, seq: head.seq + 1 },
        hlc: Hlc { wall_ms: k, counter: 0, node: me.0 },
        prev: head.hash,
        body: EventBody::StockAdjusted { sku: Sku(format!("S{k}")), delta: 1, reason: "r".into() },
    };
    let bytes = encode_record(&event);
    let hash = ChainHash::of(&bytes);
    n.held.entry(me).or_default().push(bytes.clone());
    n.rep.local_committed(&[(event.dot.seq, bytes, hash)])
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn deliver(nodes: &mut [Node], from: TerminalId, out: Outgoing, now: u64, queue: &mut Vec<(TerminalId, Outgoing)>) {
    let idx = (out.to.0 - 1) as usize;
    let bytes = encode(&out.msg);
    let msg = decode(&bytes).unwrap();
    let n = &mut nodes[idx];
    let src = Node { rep: n.rep.clone(), held: n.held.clone() };
    let step = n.rep.receive(from, msg, &src, now).unwrap();
    for acc in step.accepted {
        for (e, b, _) in acc.records {
            let list = n.held.entry(acc.origin).or_default();
            assert_eq!(list.len() as u64 + 1, e.dot.seq, "applied exactly once, in order");
            list.push(b);
        }
    }
    for o in step.outgoing {
        queue.push((out.to, o));
    }
}

#[test]
fn lossy_reordering_network_converges() {
    for seed in 1..40u64 {
        let members = [1, 2, 3];
        let mut nodes: Vec<Node> = members.iter().map(|m| node(*m, &members)).collect();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut queue: Vec<(TerminalId, Outgoing)> = Vec::new();
        for a in 0..3 {
            for b in 0..3 {
                if a != b {
                    let o = nodes[a].rep.peer_up(TerminalId(b as u32 + 1), 0);
                    queue.extend(o.into_iter().map(|o| (TerminalId(a as u32 + 1), o)));
                }
            }
        }
        let mut now = 0;
        for step in 0..600u64 {
            now += 10;
            match rng.next() % 10 {
                0..=2 if step < 400 => {
                    let i = (rng.next() % 3) as usize;
                    let out = commit_local(&mut nodes[i], step);
                    queue.extend(out.into_iter().map(|o| (TerminalId(i as u32 + 1), o)));
                }
                3 => {
                    for i in 0..3 {
                        let out = nodes[i].rep.tick(now);
                        queue.extend(out.into_iter().map(|o| (TerminalId(i as u32 + 1), o)));
                    }
                }
                _ => {
                    if queue.is_empty() {
                        continue;
                    }
                    let k = (rng.next() % queue.len() as u64) as usize;
                    let (from, out) = queue.swap_remove(k);
                    match rng.next() % 10 {
                        0 => {} // lost
                        1 => {
                            queue.push((from, out.clone())); // duplicated
                            deliver(&mut nodes, from, out, now, &mut queue);
                        }
                        _ => deliver(&mut nodes, from, out, now, &mut queue),
                    }
                }
            }
        }
        // Heal: no more loss; ticks and deliveries until quiet.
        for _ in 0..200 {
            now += SUMMARY_INTERVAL_MS;
            for i in 0..3 {
                let out = nodes[i].rep.tick(now);
                queue.extend(out.into_iter().map(|o| (TerminalId(i as u32 + 1), o)));
            }
            while let Some((from, out)) = queue.pop() {
                deliver(&mut nodes, from, out, now, &mut queue);
            }
        }
        let reference = &nodes[0].held;
        assert_eq!(reference.len(), 3, "seed {seed}: every origin wrote");
        assert!(reference.values().all(|l| l.len() > 10), "seed {seed}: a real workload");
        for n in &nodes[1..] {
            assert_eq!(&n.held, reference, "seed {seed}: all hold the same records");
        }
        let vv = nodes[0].rep.version_vector();
        assert!(nodes.iter().all(|n| n.rep.version_vector() == vv));
    }
}

#[test]
fn forged_reordered_and_foreign_records_are_refused() {
    let mut a = node(1, &[1, 2]);
    let mut b = node(2, &[1, 2]);
    let _ = a.rep.peer_up(TerminalId(2), 0);
    let pushes: Vec<Outgoing> = (0..3).flat_map(|k| commit_local(&mut a, k)).collect();
    assert_eq!(pushes.len(), 3);
    let src = Node { rep: b.rep.clone(), held: b.held.clone() };
    // Record 2 altered in flight: the chain check refuses it.
    let mut records = a.held[&TerminalId(1)].clone();
    let n = records[1].len();
    records[1][n - 3] ^= 0x10;
    let r = b.rep.receive(TerminalId(1), ReplicationMessage::Records { origin: TerminalId(1), first_seq: 1, records }, &src, 0);
    assert!(matches!(r, Err(ReplicationError::BrokenChain { .. }) | Err(ReplicationError::Undecodable { .. })), "{r:?}");
    // Swapped: wrong dot.
    let mut records = a.held[&TerminalId(1)].clone();
    records.swap(0, 1);
    let r = b.rep.receive(TerminalId(1), ReplicationMessage::Records { origin: TerminalId(1), first_seq: 1, records }, &src, 0);
    assert!(matches!(r, Err(ReplicationError::WrongDot { .. })), "{r:?}");
    // Not a member.
    let r = b.rep.receive(TerminalId(1), ReplicationMessage::Records { origin: TerminalId(9), first_seq: 1, records: vec![] }, &src, 0);
    assert_eq!(r, Err(ReplicationError::UnknownOrigin(TerminalId(9))));
    // A gap asks for a summary instead of applying.
    let later = a.held[&TerminalId(1)][2..].to_vec();
    let step = b.rep.receive(TerminalId(1), ReplicationMessage::Records { origin: TerminalId(1), first_seq: 3, records: later }, &src, 0).unwrap();
    assert!(step.accepted.is_empty());
    assert!(matches!(step.outgoing[0].msg, ReplicationMessage::Summary { .. }));
    // The intact batch is accepted once; sending it again is a no-op.
    let good = a.held[&TerminalId(1)].clone();
    let step = b.rep.receive(TerminalId(1), ReplicationMessage::Records { origin: TerminalId(1), first_seq: 1, records: good.clone() }, &src, 0).unwrap();
    assert_eq!(step.accepted[0].records.len(), 3);
    let step = b.rep.receive(TerminalId(1), ReplicationMessage::Records { origin: TerminalId(1), first_seq: 1, records: good }, &src, 0).unwrap();
    assert!(step.accepted.is_empty());
    assert_eq!(b.rep.head(TerminalId(1)).seq, 3);
}

#[test]
fn wire_decoder_never_panics() {
    assert_eq!(decode(&[]), Err(WireError::Empty));
    assert!(matches!(decode(&[7, 0]), Err(WireError::Version(7))));
    for len in 0..200usize {
        let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ 0x5a).collect();
        let mut b = vec![WIRE_VERSION];
        b.extend(bytes);
        let _ = decode(&b);
    }
    let big = vec![WIRE_VERSION; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(decode(&big), Err(WireError::TooLarge(_))));
}
