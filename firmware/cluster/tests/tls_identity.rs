//! Identity and TLS configuration: CA generation and reload, terminal certificates
//! and what they name, readable refusals.

use keel_cluster::identity::{
    peer_identity_of, terminal_dns_name, IdentityError, StoreCa, TerminalIdentity,
};
use keel_cluster::tls::{self, PeerRefusal};
use keel_core::ids::{StoreId, TerminalId};
use rustls::pki_types::CertificateDer;

fn store(s: &str) -> StoreId {
    StoreId(s.to_string())
}

#[test]
fn terminal_certificate_names_store_and_terminal() {
    let ca = StoreCa::generate(&store("demo-store")).unwrap();
    let id = ca.issue_terminal(TerminalId(3)).unwrap();
    let der = id.cert_der().unwrap();
    assert_eq!(
        peer_identity_of(&der).unwrap(),
        (store("demo-store"), TerminalId(3))
    );
    assert_eq!(
        terminal_dns_name(&store("demo-store"), TerminalId(3)),
        "t3.demo-store.keel"
    );
    let fp = id.fingerprint().unwrap();
    assert_eq!(fp.len(), 64);
    assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()));
    id.check_key().unwrap();
    // The DNS SAN is present too.
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("t3.demo-store.keel")),
        "{names:?}"
    );
    // Valid from 2000 (terminals with a reset clock still accept peers) for ten years from now.
    let v = cert.validity();
    assert_eq!(v.not_before.to_datetime().year(), 2000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = v.not_after.timestamp() - now;
    assert!(
        left > 9 * 365 * 86400 && left <= 10 * 365 * 86400 + 60,
        "{left}"
    );
}

#[test]
fn invalid_store_ids_are_refused() {
    for bad in ["", "Demo", "a_b", "-x", "x-", "dé", &"a".repeat(64)] {
        match StoreCa::generate(&store(bad)) {
            Err(IdentityError::InvalidStoreId(s)) => assert_eq!(s, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    StoreCa::generate(&store(&"a".repeat(63))).unwrap();
}

#[test]
fn ca_round_trips_through_pem_and_keeps_issuing() {
    let ca = StoreCa::generate(&store("s1")).unwrap();
    let again = StoreCa::from_pem(&ca.cert_pem(), &ca.key_pem()).unwrap();
    assert_eq!(again.store(), &store("s1"));
    let id = again.issue_terminal(TerminalId(1)).unwrap();
    // Leaves from the reloaded CA still build configs trusting the original PEM.
    tls::server_config(&ca.cert_pem(), &id, &store("s1")).unwrap();
    tls::client_config(&ca.cert_pem(), &id, &store("s1")).unwrap();
    // Wrong key for the certificate.
    let other = StoreCa::generate(&store("s1")).unwrap();
    assert!(matches!(
        StoreCa::from_pem(&ca.cert_pem(), &other.key_pem()),
        Err(IdentityError::KeyMismatch)
    ));
}

#[test]
fn identity_from_files_checks_the_pair() {
    let ca = StoreCa::generate(&store("s1")).unwrap();
    let a = ca.issue_terminal(TerminalId(1)).unwrap();
    let b = ca.issue_terminal(TerminalId(2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (c, k, k2) = (
        dir.path().join("c.pem"),
        dir.path().join("k.pem"),
        dir.path().join("k2.pem"),
    );
    std::fs::write(&c, &a.cert_pem).unwrap();
    std::fs::write(&k, &a.key_pem).unwrap();
    std::fs::write(&k2, &b.key_pem).unwrap();
    let loaded = TerminalIdentity::from_files(&c, &k).unwrap();
    assert_eq!(loaded.fingerprint().unwrap(), a.fingerprint().unwrap());
    assert!(matches!(
        TerminalIdentity::from_files(&c, &k2),
        Err(IdentityError::KeyMismatch)
    ));
}

#[test]
fn own_certificate_must_name_the_configured_store() {
    let ca = StoreCa::generate(&store("s1")).unwrap();
    let id = ca.issue_terminal(TerminalId(1)).unwrap();
    assert!(matches!(
        tls::server_config(&ca.cert_pem(), &id, &store("s2")),
        Err(tls::TlsError::OwnStoreMismatch { .. })
    ));
}

#[test]
fn check_peer_names_the_mismatch() {
    let ca = StoreCa::generate(&store("alpha")).unwrap();
    let beta = ca.issue_terminal_in(&store("beta"), TerminalId(2)).unwrap();
    let der = CertificateDer::from(beta.cert_der().unwrap());
    let e = tls::check_peer(
        std::slice::from_ref(&der),
        &store("alpha"),
        TerminalId(1),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, PeerRefusal::WrongStore { .. }));
    assert!(e.to_string().contains("store mismatch"), "{e}");
    let two = CertificateDer::from(
        ca.issue_terminal(TerminalId(2))
            .unwrap()
            .cert_der()
            .unwrap(),
    );
    assert_eq!(
        tls::check_peer(
            std::slice::from_ref(&two),
            &store("alpha"),
            TerminalId(1),
            None
        ),
        Ok(TerminalId(2))
    );
    assert_eq!(
        tls::check_peer(
            std::slice::from_ref(&two),
            &store("alpha"),
            TerminalId(1),
            Some(TerminalId(3))
        ),
        Err(PeerRefusal::WrongTerminal {
            expected: TerminalId(3),
            got: TerminalId(2)
        })
    );
    assert_eq!(
        tls::check_peer(&[two], &store("alpha"), TerminalId(2), None),
        Err(PeerRefusal::OwnId(TerminalId(2)))
    );
}
