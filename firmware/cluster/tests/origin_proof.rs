//! Origin proofs with real keys, through keel-core's replicator: a member of the
//! store (valid certificate from the store CA, naming terminal 2) cannot make
//! another terminal accept records of terminal 1 it made up, nor pass terminal 1's
//! genuine records on with its own signature; terminal 1's own signature is accepted,
//! also when terminal 2 relays it.

use std::collections::BTreeMap;

use keel_cluster::identity::StoreCa;
use keel_cluster::proof::{StoreVerifier, TerminalSigner};
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, Sku, StoreId, TerminalId};
use keel_core::replication::{
    proof_message, OriginProof, OriginSigner, RecordSource, ReplicationError, ReplicationMessage,
    Replicator,
};

/// A terminal holding nothing.
struct Empty;

impl RecordSource for Empty {
    fn records(&self, _: TerminalId, _: u64, _: usize) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn proof(&self, _: TerminalId, _: u64) -> Option<Vec<u8>> {
        None
    }
    fn proven_at_or_below(&self, _: TerminalId, _: u64) -> Option<u64> {
        None
    }
    fn certificate(&self, _: TerminalId) -> Option<Vec<u8>> {
        None
    }
}

fn chain(store: &StoreId, origin: TerminalId, n: u64, tag: &str) -> Vec<Vec<u8>> {
    let mut prev = genesis_hash(store, origin);
    (1..=n)
        .map(|seq| {
            let e = Event {
                dot: Dot {
                    terminal: origin,
                    seq,
                },
                hlc: Hlc {
                    wall_ms: seq,
                    counter: 0,
                    node: origin.0,
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

fn records_msg(
    store: &StoreId,
    origin: TerminalId,
    records: Vec<Vec<u8>>,
    signer: &TerminalSigner,
) -> ReplicationMessage {
    let seq = records.len() as u64;
    let hash = ChainHash::of(&records[records.len() - 1]);
    let signature = signer.sign(&proof_message(store, origin, seq, &hash));
    ReplicationMessage::Records {
        origin,
        first_seq: 1,
        records,
        proof: OriginProof { seq, signature },
        certificate: signer.certificate(),
    }
}

#[test]
fn another_terminals_certificate_cannot_sign_terminal_1s_records() {
    let store = StoreId("proofshop".into());
    let ca = StoreCa::generate(&store).unwrap();
    let t1 = TerminalSigner::new(&ca.issue_terminal(TerminalId(1)).unwrap()).unwrap();
    let t2 = TerminalSigner::new(&ca.issue_terminal(TerminalId(2)).unwrap()).unwrap();
    let t3 = TerminalSigner::new(&ca.issue_terminal(TerminalId(3)).unwrap()).unwrap();
    let verifier = StoreVerifier::new(&ca.cert_pem(), &store);
    let members = [1, 2, 3].into_iter().map(TerminalId).collect();
    let mut rep = Replicator::new(TerminalId(3), store.clone(), BTreeMap::new(), members);
    let mut receive = |msg| rep.receive(TerminalId(2), msg, &Empty, &t3, &verifier, 0);

    // Terminal 2 forges terminal 1's journal and signs it with its own key and certificate.
    let forged = chain(&store, TerminalId(1), 3, "FORGED");
    let r = receive(records_msg(&store, TerminalId(1), forged.clone(), &t2));
    assert!(
        matches!(
            &r,
            Err(ReplicationError::BadProof {
                origin: TerminalId(1),
                seq: 3,
                ..
            })
        ),
        "{r:?}"
    );
    // Same, presenting terminal 1's certificate.
    let mut msg = records_msg(&store, TerminalId(1), forged, &t2);
    if let ReplicationMessage::Records { certificate, .. } = &mut msg {
        *certificate = t1.certificate();
    }
    let r = receive(msg);
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
    // Terminal 1's genuine records re-signed by terminal 2 are refused too.
    let genuine = chain(&store, TerminalId(1), 3, "REAL");
    let r = receive(records_msg(&store, TerminalId(1), genuine.clone(), &t2));
    assert!(
        matches!(&r, Err(ReplicationError::BadProof { .. })),
        "{r:?}"
    );
    // Signed by terminal 1 (and relayed by terminal 2): accepted.
    let step = receive(records_msg(&store, TerminalId(1), genuine, &t1)).unwrap();
    assert_eq!(step.accepted.len(), 1);
    assert_eq!(step.accepted[0].records.len(), 3);
    assert_eq!(step.accepted[0].certificate, t1.certificate());
    assert_eq!(rep.head(TerminalId(1)).seq, 3);
}
