//! The protocol in a simulated network: three replicators with in-memory
//! journals, messages delivered in random order with loss and duplication;
//! everyone ends with every record exactly once, in each origin's order.
//!
//! Signatures are faked deterministically: terminal `t`'s "key" is `key_of(t)`, a
//! "signature" is SHA-256(key || message), and a "certificate" is `cert:<t>`. The
//! fake verifier, like the real one, checks that the certificate names exactly the
//! origin and that the signature is that terminal's over the message.

use super::*;
use crate::chain::{encode_record, genesis_hash};
use crate::event::EventBody;
use crate::hlc::Hlc;
use crate::ids::{Dot, Sku};
use std::collections::BTreeMap;

#[derive(Clone)]
struct Node {
    rep: Replicator,
    /// Records held per origin, in order.
    held: BTreeMap<TerminalId, Vec<Vec<u8>>>,
    /// Proofs held of other origins' records.
    proofs: BTreeMap<(TerminalId, u64), Vec<u8>>,
    /// Certificates held of other origins.
    certs: BTreeMap<TerminalId, Vec<u8>>,
}

fn key_of(t: TerminalId) -> Vec<u8> {
    format!("secret-key-of-{}", t.0).into_bytes()
}

fn fake_sign(t: TerminalId, msg: &[u8]) -> Vec<u8> {
    let mut input = key_of(t);
    input.extend_from_slice(msg);
    ring::digest::digest(&ring::digest::SHA256, &input)
        .as_ref()
        .to_vec()
}

fn fake_cert(t: TerminalId) -> Vec<u8> {
    format!("cert:{}", t.0).into_bytes()
}

/// Signs as terminal `.0`.
struct FakeSigner(TerminalId);

impl OriginSigner for FakeSigner {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        fake_sign(self.0, message)
    }
    fn certificate(&self) -> Vec<u8> {
        fake_cert(self.0)
    }
}

struct FakeVerifier;

impl OriginVerifier for FakeVerifier {
    fn verify(
        &self,
        origin: TerminalId,
        certificate_der: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let named = std::str::from_utf8(certificate_der)
            .ok()
            .and_then(|c| c.strip_prefix("cert:"))
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or("unreadable certificate")?;
        if named != origin.0 {
            return Err(format!("certificate names terminal {named}, not {origin}"));
        }
        if fake_sign(origin, message) != signature {
            return Err("signature does not verify".into());
        }
        Ok(())
    }
}

impl RecordSource for Node {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        let Some(list) = self.held.get(&origin) else {
            return Vec::new();
        };
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
    fn proof(&self, origin: TerminalId, seq: u64) -> Option<Vec<u8>> {
        self.proofs.get(&(origin, seq)).cloned()
    }
    fn proven_at_or_below(&self, origin: TerminalId, max_seq: u64) -> Option<u64> {
        self.proofs
            .range((origin, 0)..=(origin, max_seq))
            .next_back()
            .map(|((_, s), _)| *s)
    }
    fn certificate(&self, origin: TerminalId) -> Option<Vec<u8>> {
        self.certs.get(&origin).cloned()
    }
}

fn store() -> StoreId {
    StoreId("s".into())
}

fn node(me: u32, members: &[u32]) -> Node {
    Node {
        rep: Replicator::new(
            TerminalId(me),
            store(),
            BTreeMap::new(),
            members.iter().map(|m| TerminalId(*m)).collect(),
        ),
        held: BTreeMap::new(),
        proofs: BTreeMap::new(),
        certs: BTreeMap::new(),
    }
}

/// Receives `msg` at `n` from `from` (with `n`'s own state as the record source).
fn recv(n: &mut Node, from: u32, msg: ReplicationMessage) -> Result<Step, ReplicationError> {
    let src = n.clone();
    let me = n.rep.me;
    n.rep.receive(
        TerminalId(from),
        msg,
        &src,
        &FakeSigner(me),
        &FakeVerifier,
        0,
    )
}

/// Stores what `step` accepted at `n`, as the terminal would.
fn apply(n: &mut Node, step: &Step) {
    for acc in &step.accepted {
        for (e, b, _) in &acc.records {
            let list = n.held.entry(acc.origin).or_default();
            assert_eq!(
                list.len() as u64 + 1,
                e.dot.seq,
                "applied exactly once, in order"
            );
            list.push(b.clone());
        }
        n.proofs
            .insert((acc.origin, acc.proof.seq), acc.proof.signature.clone());
        n.certs.insert(acc.origin, acc.certificate.clone());
    }
}

/// A signed `Records` message of `origin` from `first_seq`, signed by `signer` with `cert`.
fn signed(
    origin: u32,
    first_seq: u64,
    records: Vec<Vec<u8>>,
    signer: TerminalId,
    cert: Vec<u8>,
) -> ReplicationMessage {
    let last = first_seq + records.len() as u64 - 1;
    let hash = ChainHash::of(records.last().unwrap());
    let signature = fake_sign(
        signer,
        &proof_message(&store(), TerminalId(origin), last, &hash),
    );
    ReplicationMessage::Records {
        origin: TerminalId(origin),
        first_seq,
        records,
        proof: OriginProof {
            seq: last,
            signature,
        },
        certificate: cert,
    }
}

/// Properly signed by the origin itself.
fn by_origin(origin: u32, first_seq: u64, records: Vec<Vec<u8>>) -> ReplicationMessage {
    signed(
        origin,
        first_seq,
        records,
        TerminalId(origin),
        fake_cert(TerminalId(origin)),
    )
}

/// Commits a new local record on `n`; returns the push messages.
fn commit_local(n: &mut Node, k: u64) -> Vec<Outgoing> {
    let me = n.rep.me;
    let head = n.rep.head(me);
    let event = Event {
        dot: Dot {
            terminal: me,
            seq: head.seq + 1,
        },
        hlc: Hlc {
            wall_ms: k,
            counter: 0,
            node: me.0,
        },
        prev: head.hash,
        body: EventBody::StockAdjusted {
            sku: Sku(format!("S{k}")),
            delta: 1,
            reason: "r".into(),
        },
    };
    let bytes = encode_record(&event);
    let hash = ChainHash::of(&bytes);
    n.held.entry(me).or_default().push(bytes.clone());
    n.rep
        .local_committed(&[(event.dot.seq, bytes, hash)], &FakeSigner(me))
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

fn deliver(
    nodes: &mut [Node],
    from: TerminalId,
    out: Outgoing,
    now: u64,
    queue: &mut Vec<(TerminalId, Outgoing)>,
) {
    let idx = (out.to.0 - 1) as usize;
    let bytes = encode(&out.msg);
    let msg = decode(&bytes).unwrap();
    let n = &mut nodes[idx];
    let src = n.clone();
    let me = n.rep.me;
    let step = n
        .rep
        .receive(from, msg, &src, &FakeSigner(me), &FakeVerifier, now)
        .unwrap();
    apply(n, &step);
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
        assert!(
            reference.values().all(|l| l.len() > 10),
            "seed {seed}: a real workload"
        );
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
    // Record 2 altered in flight: the chain check refuses it.
    let mut records = a.held[&TerminalId(1)].clone();
    let n = records[1].len();
    records[1][n - 3] ^= 0x10;
    let r = recv(&mut b, 1, by_origin(1, 1, records));
    assert!(
        matches!(
            r,
            Err(ReplicationError::BrokenChain { .. }) | Err(ReplicationError::Undecodable { .. })
        ),
        "{r:?}"
    );
    // Swapped: wrong dot.
    let mut records = a.held[&TerminalId(1)].clone();
    records.swap(0, 1);
    let r = recv(&mut b, 1, by_origin(1, 1, records));
    assert!(matches!(r, Err(ReplicationError::WrongDot { .. })), "{r:?}");
    // Not a member.
    let r = recv(&mut b, 1, by_origin(9, 1, a.held[&TerminalId(1)].clone()));
    assert_eq!(r, Err(ReplicationError::UnknownOrigin(TerminalId(9))));
    // A gap asks for a summary instead of applying.
    let later = a.held[&TerminalId(1)][2..].to_vec();
    let step = recv(&mut b, 1, by_origin(1, 3, later)).unwrap();
    assert!(step.accepted.is_empty());
    assert!(matches!(
        step.outgoing[0].msg,
        ReplicationMessage::Summary { .. }
    ));
    // The intact batch is accepted once; sending it again is a no-op.
    let good = a.held[&TerminalId(1)].clone();
    let step = recv(&mut b, 1, by_origin(1, 1, good.clone())).unwrap();
    assert_eq!(step.accepted[0].records.len(), 3);
    assert_eq!(step.accepted[0].proof.seq, 3);
    assert_eq!(step.accepted[0].certificate, fake_cert(TerminalId(1)));
    let step = recv(&mut b, 1, by_origin(1, 1, good)).unwrap();
    assert!(step.accepted.is_empty());
    assert_eq!(b.rep.head(TerminalId(1)).seq, 3);
}

/// `n` records of `origin` chained from its genesis (anyone can compute such a chain).
fn chain_of(origin: u32, n: u64, tag: &str) -> Vec<Vec<u8>> {
    let t = TerminalId(origin);
    let mut prev = genesis_hash(&store(), t);
    (1..=n)
        .map(|seq| {
            let e = Event {
                dot: Dot { terminal: t, seq },
                hlc: Hlc {
                    wall_ms: seq,
                    counter: 0,
                    node: origin,
                },
                prev,
                body: EventBody::StockAdjusted {
                    sku: Sku(format!("{tag}{seq}")),
                    delta: 1,
                    reason: "r".into(),
                },
            };
            let b = encode_record(&e);
            prev = ChainHash::of(&b);
            b
        })
        .collect()
}

#[test]
fn a_member_cannot_forge_another_origins_records() {
    let mut c = node(3, &[1, 2, 3]);
    // Terminal 2 (compromised, but a member with a valid TLS identity) relays a journal
    // of terminal 1 it made up: the chain is well formed, so only the proof stops it.
    let forged = chain_of(1, 4, "FORGED");
    // Signed with its own key and its own certificate.
    let r = recv(
        &mut c,
        2,
        signed(
            1,
            1,
            forged.clone(),
            TerminalId(2),
            fake_cert(TerminalId(2)),
        ),
    );
    assert!(
        matches!(&r, Err(ReplicationError::BadProof { origin: TerminalId(1), seq: 4, reason }) if reason.contains("names terminal 2")),
        "{r:?}"
    );
    // Signed with its own key, presenting terminal 1's (public) certificate.
    let r = recv(
        &mut c,
        2,
        signed(
            1,
            1,
            forged.clone(),
            TerminalId(2),
            fake_cert(TerminalId(1)),
        ),
    );
    assert!(
        matches!(
            &r,
            Err(ReplicationError::BadProof {
                origin: TerminalId(1),
                ..
            })
        ),
        "{r:?}"
    );
    // Replaying a genuine signature of terminal 1 over other records does not help.
    let genuine = chain_of(1, 4, "REAL");
    let ReplicationMessage::Records { proof, .. } = by_origin(1, 1, genuine.clone()) else {
        unreachable!()
    };
    let r = recv(
        &mut c,
        2,
        ReplicationMessage::Records {
            origin: TerminalId(1),
            first_seq: 1,
            records: forged,
            proof,
            certificate: fake_cert(TerminalId(1)),
        },
    );
    assert!(
        matches!(&r, Err(ReplicationError::BadProof { .. })),
        "{r:?}"
    );
    assert_eq!(c.rep.head(TerminalId(1)).seq, 0, "nothing applied");
    // The genuine journal, relayed by terminal 2 with terminal 1's proof, is accepted.
    let step = recv(&mut c, 2, by_origin(1, 1, genuine)).unwrap();
    assert_eq!(step.accepted[0].records.len(), 4);
}

#[test]
fn a_proof_for_the_wrong_seq_or_hash_is_refused() {
    let mut c = node(3, &[1, 3]);
    let records = chain_of(1, 3, "S");
    // The proof names seq 2, but the message ends at 3.
    let ReplicationMessage::Records { proof, .. } = by_origin(1, 1, records[..2].to_vec()) else {
        unreachable!()
    };
    assert_eq!(proof.seq, 2);
    let r = recv(
        &mut c,
        1,
        ReplicationMessage::Records {
            origin: TerminalId(1),
            first_seq: 1,
            records: records.clone(),
            proof,
            certificate: fake_cert(TerminalId(1)),
        },
    );
    assert!(
        matches!(&r, Err(ReplicationError::BadProof { seq: 2, .. })),
        "{r:?}"
    );
    // The proof names seq 3 but signs record 2's hash.
    let hash2 = ChainHash::of(&records[1]);
    let signature = fake_sign(
        TerminalId(1),
        &proof_message(&store(), TerminalId(1), 3, &hash2),
    );
    let r = recv(
        &mut c,
        1,
        ReplicationMessage::Records {
            origin: TerminalId(1),
            first_seq: 1,
            records: records.clone(),
            proof: OriginProof { seq: 3, signature },
            certificate: fake_cert(TerminalId(1)),
        },
    );
    assert!(
        matches!(&r, Err(ReplicationError::BadProof { seq: 3, .. })),
        "{r:?}"
    );
    // Signed for another store.
    let hash3 = ChainHash::of(&records[2]);
    let signature = fake_sign(
        TerminalId(1),
        &proof_message(&StoreId("other".into()), TerminalId(1), 3, &hash3),
    );
    let r = recv(
        &mut c,
        1,
        ReplicationMessage::Records {
            origin: TerminalId(1),
            first_seq: 1,
            records: records.clone(),
            proof: OriginProof { seq: 3, signature },
            certificate: fake_cert(TerminalId(1)),
        },
    );
    assert!(
        matches!(&r, Err(ReplicationError::BadProof { .. })),
        "{r:?}"
    );
    assert_eq!(c.rep.head(TerminalId(1)).seq, 0, "nothing applied");
    assert!(recv(&mut c, 1, by_origin(1, 1, records)).is_ok());
    assert_eq!(c.rep.head(TerminalId(1)).seq, 3);
}

#[test]
fn relays_end_only_at_proven_records() {
    let records = chain_of(1, 5, "S");
    let mut b = node(2, &[1, 2, 3]);
    // Terminal 2 received 1..=3 and 4..=5 from terminal 1, each batch signed at its end.
    for (first, part) in [(1, &records[..3]), (4, &records[3..])] {
        let step = recv(&mut b, 1, by_origin(1, first, part.to_vec())).unwrap();
        apply(&mut b, &step);
    }
    assert_eq!(b.proofs.keys().map(|(_, s)| *s).collect::<Vec<_>>(), [3, 5]);
    let relay = |b: &mut Node| {
        let step = recv(
            b,
            3,
            ReplicationMessage::Summary {
                vv: VersionVector::default(),
            },
        )
        .unwrap();
        step.outgoing
            .into_iter()
            .filter_map(|o| match o.msg {
                ReplicationMessage::Records {
                    origin: TerminalId(1),
                    first_seq,
                    records,
                    proof,
                    ..
                } => Some((first_seq, records.len(), proof.seq)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(relay(&mut b), [(1, 5, 5)]);
    // Without the proof at 5, the relay stops at 3 (the rest waits for another sender).
    b.proofs.remove(&(TerminalId(1), 5));
    assert_eq!(relay(&mut b), [(1, 3, 3)]);
    // Without any proof, nothing of terminal 1 is relayed.
    b.proofs.clear();
    assert_eq!(relay(&mut b), []);
    // What is relayed is accepted by the third terminal.
    let mut b2 = node(2, &[1, 2, 3]);
    let step = recv(&mut b2, 1, by_origin(1, 1, records.clone())).unwrap();
    apply(&mut b2, &step);
    let mut c = node(3, &[1, 2, 3]);
    let step = recv(
        &mut b2,
        3,
        ReplicationMessage::Summary {
            vv: VersionVector::default(),
        },
    )
    .unwrap();
    for o in step.outgoing {
        let s = recv(&mut c, 2, o.msg).unwrap();
        apply(&mut c, &s);
    }
    assert_eq!(c.held[&TerminalId(1)], records);
}

#[test]
fn wire_decoder_never_panics() {
    assert_eq!(decode(&[]), Err(WireError::Empty));
    assert!(matches!(decode(&[7, 0]), Err(WireError::Version(7))));
    for len in 0..200usize {
        let bytes: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ 0x5a)
            .collect();
        let mut b = vec![WIRE_VERSION];
        b.extend(bytes);
        let _ = decode(&b);
    }
    let big = vec![WIRE_VERSION; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(decode(&big), Err(WireError::TooLarge(_))));
}
