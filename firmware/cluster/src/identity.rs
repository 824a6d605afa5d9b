//! Store and terminal identity: the store CA and the certificate each terminal
//! presents to its peers.
//!
//! This module owns:
//! - generating a store CA (ECDSA P-256, rcgen with ring) and reading it back from PEM;
//! - issuing a terminal's leaf certificate, which names the terminal twice: SAN DNS
//!   `t<n>.<store>.keel` and SAN URI `keel:store/<store>/terminal/<n>`;
//! - reading a peer's store and terminal back out of a DER leaf (x509-parser), and the
//!   leaf's SHA-256 fingerprint (published by discovery).
//!
//! It must not do I/O beyond [`TerminalIdentity::from_files`], nor decide whom to
//! trust: chain validation is rustls' job (see `tls`), and the store/terminal check
//! after the handshake is the transport's.
//!
//! Validity: certificates are valid from 2000-01-01 (a terminal whose real-time clock
//! lost power boots with a clock in the past, and must still accept its peers) until
//! ten years after issuing. rcgen's defaults are not used.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keel_core::ids::{StoreId, TerminalId};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// How long issued certificates stay valid after issuing.
pub const VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Prefix of the CA's common name; the store id follows.
const CA_CN_PREFIX: &str = "Keel store CA ";

/// Errors from creating, loading or reading identities.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The store id cannot be used in a DNS name or URI.
    #[error("invalid store id {0:?}: use 1-63 characters of lowercase a-z, 0-9 and '-', not starting or ending with '-'")]
    InvalidStoreId(String),
    /// rcgen refused to create a key or certificate.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM text did not hold the expected certificate or key.
    #[error("bad PEM for {what}: {detail}")]
    Pem {
        /// Which object was being read (e.g. "CA certificate").
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A certificate could not be parsed as X.509.
    #[error("certificate cannot be parsed: {0}")]
    Parse(String),
    /// The CA certificate is not one of ours (its common name is not `Keel store CA <store>`).
    #[error("not a Keel store CA certificate: {0}")]
    NotStoreCa(String),
    /// The private key does not belong to the certificate it came with.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// A certificate has no `keel:store/<store>/terminal/<n>` SAN URI (or a malformed one).
    #[error("certificate does not name a Keel terminal: {0}")]
    NoTerminalUri(String),
    /// Reading a certificate or key file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Checks that a store id is DNS-label-safe: 1-63 characters of lowercase a-z, 0-9
/// and '-', neither first nor last being '-'.
pub fn validate_store_id(store: &StoreId) -> Result<(), IdentityError> {
    let s = store.0.as_str();
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(IdentityError::InvalidStoreId(s.to_string()))
    }
}

/// The DNS name in a terminal's certificate: `t<n>.<store>.keel` (also the TLS server name used when dialing it).
pub fn terminal_dns_name(store: &StoreId, terminal: TerminalId) -> String {
    format!("t{}.{}.keel", terminal.0, store.0)
}

/// The URI in a terminal's certificate: `keel:store/<store>/terminal/<n>`.
pub fn terminal_uri(store: &StoreId, terminal: TerminalId) -> String {
    format!("keel:store/{}/terminal/{}", store.0, terminal.0)
}

/// Parses `keel:store/<store>/terminal/<n>`; `None` if it is not of that shape.
pub fn parse_terminal_uri(uri: &str) -> Option<(StoreId, TerminalId)> {
    let rest = uri.strip_prefix("keel:store/")?;
    let (store, n) = rest.split_once("/terminal/")?;
    let store = StoreId(store.to_string());
    validate_store_id(&store).ok()?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = n.parse().ok()?;
    Some((store, TerminalId(n)))
}

/// Sets not_before = 2000-01-01 and not_after = now + [`VALIDITY`].
fn set_validity(params: &mut CertificateParams) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = epoch + (now + VALIDITY);
}

fn ca_params(store: &StoreId) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("{CA_CN_PREFIX}{}", store.0));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn pem_to_der(pem: &str, what: &'static str) -> Result<Vec<u8>, IdentityError> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.as_ref().to_vec())
        .map_err(|e| IdentityError::Pem {
            what,
            detail: e.to_string(),
        })
}

fn key_from_pem(pem: &str, what: &'static str) -> Result<KeyPair, IdentityError> {
    KeyPair::from_pem(pem).map_err(|e| IdentityError::Pem {
        what,
        detail: e.to_string(),
    })
}

/// The raw subject public key bits of a DER certificate.
fn cert_public_key(der: &[u8]) -> Result<Vec<u8>, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// A store's certificate authority: signs every terminal certificate of one store.
pub struct StoreCa {
    store: StoreId,
    cert_pem: String,
    key: KeyPair,
    issuer_params: CertificateParams,
}

impl fmt::Debug for StoreCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreCa")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl StoreCa {
    /// Generates a new self-signed CA (ECDSA P-256) with CN `Keel store CA <store>`.
    pub fn generate(store: &StoreId) -> Result<StoreCa, IdentityError> {
        validate_store_id(store)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = ca_params(store);
        set_validity(&mut params);
        let cert = params.self_signed(&key)?;
        Ok(StoreCa {
            store: store.clone(),
            cert_pem: cert.pem(),
            key,
            issuer_params: params,
        })
    }

    /// Loads a CA written by [`StoreCa::cert_pem`] and [`StoreCa::key_pem`]; the store id is
    /// read from the certificate's common name, and the key must match the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<StoreCa, IdentityError> {
        let der = pem_to_der(cert_pem, "CA certificate")?;
        let key = key_from_pem(key_pem, "CA private key")?;
        let (store, subject_raw) = {
            let (_, cert) = x509_parser::parse_x509_certificate(&der)
                .map_err(|e| IdentityError::Parse(e.to_string()))?;
            let cn = cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .unwrap_or_default()
                .to_string();
            let store = cn
                .strip_prefix(CA_CN_PREFIX)
                .ok_or_else(|| IdentityError::NotStoreCa(format!("common name {cn:?}")))?;
            (StoreId(store.to_string()), cert.subject().as_raw().to_vec())
        };
        validate_store_id(&store)?;
        if cert_public_key(&der)? != key.public_key_raw() {
            return Err(IdentityError::KeyMismatch);
        }
        let params = ca_params(&store);
        // We rebuild the issuer name from the store id; leaves chain only if it encodes
        // exactly like the certificate's subject. Check that once here.
        let probe = params.self_signed(&key)?;
        let (_, probe) = x509_parser::parse_x509_certificate(probe.der())
            .map_err(|e| IdentityError::Parse(e.to_string()))?;
        if probe.subject().as_raw() != subject_raw.as_slice() {
            return Err(IdentityError::NotStoreCa(
                "subject name encoded differently than Keel writes it".into(),
            ));
        }
        Ok(StoreCa {
            store,
            cert_pem: cert_pem.to_string(),
            key,
            issuer_params: params,
        })
    }

    /// The store this CA signs for.
    pub fn store(&self) -> &StoreId {
        &self.store
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA private key, PKCS#8 PEM. Keep it off the terminals.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issues a terminal certificate (fresh P-256 key) signed by this CA for its store,
    /// usable as both TLS client and server certificate.
    pub fn issue_terminal(&self, terminal: TerminalId) -> Result<TerminalIdentity, IdentityError> {
        self.issue_terminal_in(&self.store.clone(), terminal)
    }

    /// Issues a terminal certificate naming another store than the CA's own. Only for an
    /// operator who shares one CA between stores (discouraged; peers still refuse a store
    /// mismatch after the handshake) and for tests of that refusal.
    pub fn issue_terminal_in(
        &self,
        store: &StoreId,
        terminal: TerminalId,
    ) -> Result<TerminalIdentity, IdentityError> {
        validate_store_id(store)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            format!("Keel terminal {} of {}", terminal.0, store.0),
        );
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            SanType::DnsName(terminal_dns_name(store, terminal).try_into()?),
            SanType::URI(terminal_uri(store, terminal).try_into()?),
        ];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params);
        let issuer = Issuer::from_params(&self.issuer_params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(TerminalIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A terminal's certificate and private key, both PEM.
#[derive(Clone)]
pub struct TerminalIdentity {
    /// The leaf certificate (PEM), signed by the store CA.
    pub cert_pem: String,
    /// The leaf's private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl fmt::Debug for TerminalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalIdentity")
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl TerminalIdentity {
    /// Reads a certificate and key from PEM files and checks they belong together.
    pub fn from_files(cert: &Path, key: &Path) -> Result<TerminalIdentity, IdentityError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| IdentityError::Io {
                path: p.display().to_string(),
                source,
            })
        };
        let id = TerminalIdentity {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        };
        id.check_key()?;
        Ok(id)
    }

    /// Checks that the key belongs to the certificate.
    pub fn check_key(&self) -> Result<(), IdentityError> {
        let key = key_from_pem(&self.key_pem, "terminal private key")?;
        if cert_public_key(&self.cert_der()?)? != key.public_key_raw() {
            return Err(IdentityError::KeyMismatch);
        }
        Ok(())
    }

    /// The leaf certificate, DER.
    pub fn cert_der(&self) -> Result<Vec<u8>, IdentityError> {
        pem_to_der(&self.cert_pem, "terminal certificate")
    }

    /// SHA-256 of the DER leaf, lowercase hex (64 characters).
    pub fn fingerprint(&self) -> Result<String, IdentityError> {
        Ok(fingerprint_der(&self.cert_der()?))
    }

    /// The store and terminal this certificate names.
    pub fn names(&self) -> Result<(StoreId, TerminalId), IdentityError> {
        peer_identity_of(&self.cert_der()?)
    }
}

/// SHA-256 of a DER certificate, lowercase hex.
pub fn fingerprint_der(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    keel_core::hex::encode(digest.as_ref())
}

/// Reads the store and terminal a DER leaf names in its `keel:store/<store>/terminal/<n>`
/// SAN URI. Does not check the signature: only use on chain-validated certificates.
pub fn peer_identity_of(der: &[u8]) -> Result<(StoreId, TerminalId), IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Parse(e.to_string()))?
        .ok_or_else(|| IdentityError::NoTerminalUri("no subjectAltName".into()))?;
    let mut found = None;
    for name in &san.value.general_names {
        if let x509_parser::extensions::GeneralName::URI(uri) = name {
            if uri.starts_with("keel:") {
                if found.is_some() {
                    return Err(IdentityError::NoTerminalUri(
                        "more than one keel: URI".into(),
                    ));
                }
                found = Some(parse_terminal_uri(uri).ok_or_else(|| {
                    IdentityError::NoTerminalUri(format!("malformed URI {uri:?}"))
                })?);
            }
        }
    }
    found.ok_or_else(|| IdentityError::NoTerminalUri("no keel: URI in subjectAltName".into()))
}
