//! Origin proofs with real keys: signing this terminal's records with its terminal
//! key, and verifying other origins' signatures against their certificates.
//!
//! This module owns [`TerminalSigner`] and [`StoreVerifier`], the implementations of
//! keel-core's `OriginSigner` and `OriginVerifier` (ECDSA P-256 SHA-256, ASN.1
//! signatures, ring). A certificate is accepted for an origin only if it chains to
//! the store CA and names exactly that origin of this store
//! ([`crate::tls::verify_terminal_certificate`]); verified certificates are cached
//! per origin by the SHA-256 of their DER.
//!
//! It must not decide which records to accept: the replicator asks, this answers.

use std::collections::HashMap;
use std::sync::Mutex;

use keel_core::ids::{StoreId, TerminalId};
use keel_core::replication::{OriginSigner, OriginVerifier};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;

use crate::identity::{IdentityError, TerminalIdentity};
use crate::tls::verify_terminal_certificate;

/// Signs this terminal's records with its terminal key.
pub struct TerminalSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    certificate: Vec<u8>,
}

impl std::fmt::Debug for TerminalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalSigner")
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl TerminalSigner {
    /// A signer from the terminal's identity (PKCS#8 PEM key, PEM certificate).
    pub fn new(identity: &TerminalIdentity) -> Result<TerminalSigner, IdentityError> {
        identity.check_key()?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(|e| {
            IdentityError::Pem {
                what: "terminal private key",
                detail: e.to_string(),
            }
        })?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|e| IdentityError::Pem {
            what: "terminal private key (ECDSA P-256 PKCS#8)",
            detail: e.to_string(),
        })?;
        Ok(TerminalSigner {
            key,
            rng,
            certificate: identity.cert_der()?,
        })
    }
}

impl OriginSigner for TerminalSigner {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self.key.sign(&self.rng, message) {
            Ok(s) => s.as_ref().to_vec(),
            Err(e) => {
                // Peers refuse an empty signature; the records are sent again signed later.
                log::error!("replication: signing a record proof failed: {e}");
                Vec::new()
            }
        }
    }

    fn certificate(&self) -> Vec<u8> {
        self.certificate.clone()
    }
}

/// A verified certificate: the SHA-256 of its DER and its public key.
type VerifiedCertificate = ([u8; 32], Vec<u8>);

/// Verifies other origins' proofs against certificates from the store CA.
#[derive(Debug)]
pub struct StoreVerifier {
    ca_pem: String,
    store: StoreId,
    /// Per origin: the SHA-256 of the verified certificate's DER and its public key.
    cache: Mutex<HashMap<TerminalId, VerifiedCertificate>>,
}

impl StoreVerifier {
    /// A verifier for `store` trusting only the CA in `ca_pem`.
    pub fn new(ca_pem: &str, store: &StoreId) -> StoreVerifier {
        StoreVerifier {
            ca_pem: ca_pem.to_string(),
            store: store.clone(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The public key of `der` once it is verified to be `origin`'s certificate of this store.
    fn public_key(&self, origin: TerminalId, der: &[u8]) -> Result<Vec<u8>, String> {
        let mut digest = [0u8; 32];
        digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, der).as_ref());
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if let Some((d, key)) = cache.get(&origin) {
            if *d == digest {
                return Ok(key.clone());
            }
        }
        verify_terminal_certificate(&self.ca_pem, &self.store, origin, der)
            .map_err(|e| e.to_string())?;
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("certificate does not parse: {e}"))?;
        let key = cert.public_key().subject_public_key.data.to_vec();
        cache.insert(origin, (digest, key.clone()));
        Ok(key)
    }
}

impl OriginVerifier for StoreVerifier {
    fn verify(
        &self,
        origin: TerminalId,
        certificate_der: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let key = self.public_key(origin, certificate_der)?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &key)
            .verify(message, signature)
            .map_err(|_| format!("the signature does not verify with {origin}'s certificate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::StoreCa;
    use keel_core::chain::ChainHash;
    use keel_core::replication::proof_message;

    fn msg(store: &StoreId, origin: u32) -> Vec<u8> {
        proof_message(store, TerminalId(origin), 7, &ChainHash([7; 32]))
    }

    #[test]
    fn only_the_origins_own_certificate_and_key_sign_its_records() {
        let store = StoreId("shop".into());
        let ca = StoreCa::generate(&store).unwrap();
        let t1 = ca.issue_terminal(TerminalId(1)).unwrap();
        let t2 = ca.issue_terminal(TerminalId(2)).unwrap();
        let s1 = TerminalSigner::new(&t1).unwrap();
        let s2 = TerminalSigner::new(&t2).unwrap();
        let v = StoreVerifier::new(&ca.cert_pem(), &store);
        let m1 = msg(&store, 1);
        // Terminal 1 signs its own records: accepted (twice: the second from the cache).
        v.verify(TerminalId(1), &s1.certificate(), &m1, &s1.sign(&m1))
            .unwrap();
        v.verify(TerminalId(1), &s1.certificate(), &m1, &s1.sign(&m1))
            .unwrap();
        // Terminal 2's certificate (right CA, SAN naming terminal 2) cannot vouch for terminal 1's records.
        let e = v
            .verify(TerminalId(1), &s2.certificate(), &m1, &s2.sign(&m1))
            .unwrap_err();
        assert!(
            e.contains("terminal 2") || e.contains("T02") || e.contains("name"),
            "{e}"
        );
        // Nor can terminal 2's key behind terminal 1's certificate.
        let e = v
            .verify(TerminalId(1), &s1.certificate(), &m1, &s2.sign(&m1))
            .unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // A signature over another message (another seq, hash or store) does not verify.
        let other = proof_message(&store, TerminalId(1), 8, &ChainHash([7; 32]));
        assert!(v
            .verify(TerminalId(1), &s1.certificate(), &other, &s1.sign(&m1))
            .is_err());
        // Garbage certificate and signature.
        assert!(v
            .verify(TerminalId(1), b"not a certificate", &m1, &s1.sign(&m1))
            .is_err());
        assert!(v
            .verify(TerminalId(1), &s1.certificate(), &m1, b"")
            .is_err());
        // Terminal 2 verifies as itself.
        v.verify(
            TerminalId(2),
            &s2.certificate(),
            &msg(&store, 2),
            &s2.sign(&msg(&store, 2)),
        )
        .unwrap();
    }

    #[test]
    fn certificates_of_another_ca_or_store_are_refused() {
        let store = StoreId("shop".into());
        let ca = StoreCa::generate(&store).unwrap();
        let v = StoreVerifier::new(&ca.cert_pem(), &store);
        let m1 = msg(&store, 1);
        // Another CA, same names.
        let rogue = StoreCa::generate(&store)
            .unwrap()
            .issue_terminal(TerminalId(1))
            .unwrap();
        let s = TerminalSigner::new(&rogue).unwrap();
        let e = v
            .verify(TerminalId(1), &s.certificate(), &m1, &s.sign(&m1))
            .unwrap_err();
        assert!(e.contains("CA"), "{e}");
        // Our CA, another store.
        let other = ca
            .issue_terminal_in(&StoreId("elsewhere".into()), TerminalId(1))
            .unwrap();
        let s = TerminalSigner::new(&other).unwrap();
        let e = v
            .verify(TerminalId(1), &s.certificate(), &m1, &s.sign(&m1))
            .unwrap_err();
        assert!(e.contains("does not name terminal"), "{e}");
        // The direct check.
        let t1 = ca.issue_terminal(TerminalId(1)).unwrap();
        verify_terminal_certificate(
            &ca.cert_pem(),
            &store,
            TerminalId(1),
            &t1.cert_der().unwrap(),
        )
        .unwrap();
        assert!(verify_terminal_certificate(
            &ca.cert_pem(),
            &store,
            TerminalId(2),
            &t1.cert_der().unwrap()
        )
        .is_err());
    }
}
