//! Replicated records of other terminals: written only when they continue the
//! origin's chain, readable per origin, verified, and replayed by a rebuild.

mod common;

use common::{hlc, identity, open};
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::derived::{DerivedTable, DerivedWrite};
use keel_core::event::{Event, EventBody};
use keel_core::ids::{Dot, Sku, TerminalId};
use keel_core::replication::OriginProof;
use keel_store::CommitError;

/// `n` records of origin terminal 2, chained from its genesis.
fn origin_records(n: u64) -> Vec<(Event, Vec<u8>, ChainHash)> {
    let store = identity().store;
    let mut prev = genesis_hash(&store, TerminalId(2));
    (1..=n)
        .map(|seq| {
            let e = Event {
                dot: Dot {
                    terminal: TerminalId(2),
                    seq,
                },
                hlc: hlc(1_000 + seq),
                prev,
                body: EventBody::StockAdjusted {
                    sku: Sku(format!("S{seq}")),
                    delta: seq as i64,
                    reason: "r".into(),
                },
            };
            let b = encode_record(&e);
            let h = ChainHash::of(&b);
            prev = h;
            (e, b, h)
        })
        .collect()
}

const CERT: &[u8] = b"certificate of terminal 2";

/// A stand-in proof for the last of `recs` (the store keeps it; it does not verify it).
fn proof(recs: &[(Event, Vec<u8>, ChainHash)]) -> OriginProof {
    let seq = recs.last().map(|r| r.0.dot.seq).unwrap_or(0);
    OriginProof {
        seq,
        signature: format!("sig{seq}").into_bytes(),
    }
}

fn mark(seq: u64) -> Vec<DerivedWrite> {
    vec![DerivedWrite {
        table: DerivedTable::Stock,
        key: format!("S{seq}"),
        value: Some(vec![seq as u8]),
    }]
}

#[test]
fn replicated_records_continue_the_origin_chain_or_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let recs = origin_records(6);
    // A batch that does not start at 1 is refused: nothing written.
    let e = j
        .commit_remote(
            TerminalId(2),
            &recs[1..3],
            &proof(&recs[1..3]),
            CERT,
            &mark(2),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            CommitError::ReplicaGap {
                seq: 2,
                expected: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(j.origin_heads().unwrap().is_empty());
    assert_eq!(j.derived_get(DerivedTable::Stock, "S2").unwrap(), None);
    // In order: accepted, with its derived writes, in the same transaction.
    j.commit_remote(
        TerminalId(2),
        &recs[..3],
        &proof(&recs[..3]),
        CERT,
        &mark(3),
    )
    .unwrap();
    j.commit_remote(
        TerminalId(2),
        &recs[3..],
        &proof(&recs[3..]),
        CERT,
        &mark(6),
    )
    .unwrap();
    assert_eq!(j.origin_heads().unwrap()[&TerminalId(2)], (6, recs[5].2));
    assert_eq!(
        j.derived_get(DerivedTable::Stock, "S6").unwrap(),
        Some(vec![6])
    );
    // Again: a replay of held records is refused by the chain check (the caller skips them).
    assert!(j
        .commit_remote(TerminalId(2), &recs[..2], &proof(&recs[..2]), CERT, &[])
        .is_err());
    // A forged record (bytes not matching the hash) is refused.
    let mut more = origin_records(7);
    let mut forged = more.pop().unwrap();
    forged.1[5] ^= 1;
    let forged = [forged];
    assert!(j
        .commit_remote(TerminalId(2), &forged, &proof(&forged), CERT, &[])
        .is_err());
    // Own records cannot be written as replicas.
    assert!(matches!(
        j.commit_remote(TerminalId(1), &recs[..1], &proof(&recs[..1]), CERT, &[]),
        Err(CommitError::NotReplica { .. })
    ));
    // Reads per origin, bounded by bytes but at least one record.
    let all = j.read_origin(TerminalId(2), 1, usize::MAX).unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[3], recs[3].1);
    assert_eq!(j.read_origin(TerminalId(2), 5, 1).unwrap().len(), 1);
    assert!(j
        .read_origin(TerminalId(3), 1, usize::MAX)
        .unwrap()
        .is_empty());
    let own = j.read_origin(TerminalId(1), 1, usize::MAX).unwrap();
    assert_eq!(own.len() as u64, j.last_seq());
    assert_eq!(j.verify_origin(TerminalId(2)).unwrap().records, 6);
    // A rebuild replays own and replicated records.
    let mut seen = Vec::new();
    let n = j
        .rebuild_derived(&mut |e: &Event| {
            seen.push(e.dot);
            Vec::new()
        })
        .unwrap();
    assert_eq!(n, j.last_seq() + 6);
    assert!(seen.contains(&Dot {
        terminal: TerminalId(2),
        seq: 6
    }));
    // Survives reopening.
    drop(j);
    let j = open(&dir.path().join("j.redb"));
    assert_eq!(j.origin_heads().unwrap()[&TerminalId(2)].0, 6);
}

#[test]
fn proofs_and_certificates_are_stored_with_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let recs = origin_records(6);
    // Nothing held yet.
    assert_eq!(j.origin_proof(TerminalId(2), 3).unwrap(), None);
    assert_eq!(j.proven_at_or_below(TerminalId(2), 6).unwrap(), None);
    assert_eq!(j.origin_certificate(TerminalId(2)).unwrap(), None);
    // A proof that is not for the batch's last record: nothing written.
    let wrong = OriginProof {
        seq: 2,
        signature: b"sig2".to_vec(),
    };
    let e = j
        .commit_remote(TerminalId(2), &recs[..3], &wrong, CERT, &[])
        .unwrap_err();
    assert!(
        matches!(
            e,
            CommitError::ProofMismatch {
                proof: 2,
                last: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(j.origin_heads().unwrap().is_empty());
    assert_eq!(j.origin_certificate(TerminalId(2)).unwrap(), None);
    // Two batches: proofs at 3 and 6, the newer certificate kept.
    j.commit_remote(
        TerminalId(2),
        &recs[..3],
        &proof(&recs[..3]),
        b"old cert",
        &[],
    )
    .unwrap();
    j.commit_remote(TerminalId(2), &recs[3..], &proof(&recs[3..]), CERT, &[])
        .unwrap();
    drop(j);
    let j = open(&dir.path().join("j.redb"));
    assert_eq!(
        j.origin_proof(TerminalId(2), 3).unwrap(),
        Some(b"sig3".to_vec())
    );
    assert_eq!(
        j.origin_proof(TerminalId(2), 6).unwrap(),
        Some(b"sig6".to_vec())
    );
    assert_eq!(j.origin_proof(TerminalId(2), 4).unwrap(), None);
    assert_eq!(j.proven_at_or_below(TerminalId(2), 2).unwrap(), None);
    assert_eq!(j.proven_at_or_below(TerminalId(2), 5).unwrap(), Some(3));
    assert_eq!(j.proven_at_or_below(TerminalId(2), 6).unwrap(), Some(6));
    assert_eq!(
        j.proven_at_or_below(TerminalId(2), u64::MAX).unwrap(),
        Some(6)
    );
    assert_eq!(j.proven_at_or_below(TerminalId(3), u64::MAX).unwrap(), None);
    assert_eq!(
        j.origin_certificate(TerminalId(2)).unwrap(),
        Some(CERT.to_vec())
    );
    assert_eq!(j.origin_certificate(TerminalId(3)).unwrap(), None);
    // The certificate's tag does not disturb the heads or derived state.
    assert_eq!(j.origin_heads().unwrap().len(), 1);
    assert_eq!(j.verify_origin(TerminalId(2)).unwrap().records, 6);
}
