//! Target for the certificates and keys read as PEM at start: a terminal's
//! `terminal.pem`/`terminal-key.pem`, the cloud's `cloud.pem`/`cloud-key.pem`,
//! a store CA and an operator CA with their keys (what `keel provision` reads
//! back), and a CA file read as trust roots (`store-ca.pem`, `operator-ca.pem`).
//!
//! Input: a selector byte (which reader, modulo 5), then the certificate
//! file's text, a NUL byte, the key file's text (none for the trust roots).

use keel_cluster::identity::{OperatorCa, ServerIdentity, StoreCa, TerminalIdentity};

/// The certificate and key texts of an input (after its selector byte).
fn split(data: &[u8]) -> (String, String) {
    let (cert, key) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    (
        crate::text(cert).into_owned(),
        crate::text(key).into_owned(),
    )
}

/// `data` as a selector byte and a certificate and key PEM pair, read by
/// `TerminalIdentity::from_pem` (what `from_files` calls), `ServerIdentity::from_pem`,
/// `StoreCa::from_pem` or `OperatorCa::from_pem`; or the certificate text as
/// trust roots (`keel_cluster::tls::roots`).
pub fn identity_pem(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (cert, key) = split(rest);
    match selector % 5 {
        0 => terminal(&cert, &key),
        1 => {
            let _ = ServerIdentity::from_pem(&cert, &key);
        }
        2 => {
            if let Ok(ca) = StoreCa::from_pem(&cert, &key) {
                let again = StoreCa::from_pem(&ca.cert_pem(), &ca.key_pem())
                    .expect("a store CA read back is refused");
                assert_eq!(again.store(), ca.store(), "store CA names another store");
            }
        }
        3 => {
            if let Ok(ca) = OperatorCa::from_pem(&cert, &key) {
                OperatorCa::from_pem(&ca.cert_pem(), &ca.key_pem())
                    .expect("an operator CA read back is refused");
            }
        }
        _ => {
            if let Ok(roots) = keel_cluster::tls::roots(&cert) {
                assert!(!roots.is_empty(), "accepted CA file trusts no root");
            }
        }
    }
}

/// A terminal's identity as the cluster and uplink start read it: an accepted
/// pair has a chain whose first certificate is the leaf, and a 64-hex-digit
/// fingerprint.
fn terminal(cert: &str, key: &str) {
    let Ok(id) = TerminalIdentity::from_pem(cert, key) else {
        return;
    };
    let leaf = id.cert_der().expect("accepted identity has no leaf");
    let chain = id.chain_der();
    if let Ok(chain) = &chain {
        assert_eq!(
            chain.first(),
            Some(&leaf),
            "chain does not start at the leaf"
        );
    }
    let fp = id
        .fingerprint()
        .expect("accepted identity has no fingerprint");
    assert!(
        fp.len() == 64
            && fp
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "fingerprint {fp:?} is not 64 lowercase hex digits"
    );
    let _ = id.names();
}
