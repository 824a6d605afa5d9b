//! Operator, store and terminal identity: the operator CA of a cloud, the store CA
//! and the certificate each terminal presents to its peers and to the cloud.
//!
//! This module owns:
//! - generating an operator CA (the root of an operator's cloud and stores) and
//!   reading it back from PEM; it issues store CAs and the cloud's server certificate;
//! - generating a store CA (ECDSA P-256, rcgen with ring), self-signed for a store
//!   without an operator or issued by the operator CA, and reading it back from PEM.
//!   A store CA names its store in SAN URI `keel:store/<store>`;
//! - issuing a terminal's leaf certificate, which names the terminal twice: SAN DNS
//!   `t<n>.<store>.keel` and SAN URI `keel:store/<store>/terminal/<n>`. When the store
//!   CA was issued by an operator, the terminal's certificate PEM holds the chain
//!   (leaf, then the store CA) so it can present the chain to the cloud; peers in the
//!   store read only the leaf;
//! - reading a peer's store and terminal back out of a DER leaf (x509-parser), and the
//!   leaf's SHA-256 fingerprint (published by discovery).
//!
//! It must not do I/O beyond [`TerminalIdentity::from_files`] and
//! [`ServerIdentity::from_files`], nor decide whom to
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

/// Prefix of an operator CA's common name; a fingerprint of its key follows, so two
/// operators' CAs never share a subject name.
const OPERATOR_CN_PREFIX: &str = "Keel operator CA ";

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
    /// The certificate is not an operator CA written by Keel.
    #[error("not a Keel operator CA certificate: {0}")]
    NotOperatorCa(String),
    /// A name for the cloud's server certificate is unusable.
    #[error("invalid server name {0:?}")]
    InvalidServerName(String),
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

/// The URI in a store CA's certificate: `keel:store/<store>`.
pub fn store_uri(store: &StoreId) -> String {
    format!("keel:store/{}", store.0)
}

/// Parses `keel:store/<store>`; `None` if it is not of that shape.
pub fn parse_store_uri(uri: &str) -> Option<StoreId> {
    let store = StoreId(uri.strip_prefix("keel:store/")?.to_string());
    validate_store_id(&store).ok()?;
    Some(store)
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

fn ca_params(store: &StoreId) -> Result<CertificateParams, IdentityError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("{CA_CN_PREFIX}{}", store.0));
    params.distinguished_name = dn;
    params.subject_alt_names = vec![SanType::URI(store_uri(store).try_into()?)];
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn operator_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    // One level below: store CAs (which sign only leaves) and leaves.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// The subject common name and the raw subject and issuer names of a DER certificate.
fn names_of(der: &[u8]) -> Result<(String, Vec<u8>, Vec<u8>), IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok((
        cn,
        cert.subject().as_raw().to_vec(),
        cert.issuer().as_raw().to_vec(),
    ))
}

/// Checks that `params` with `key` encode exactly the subject name `subject_raw`
/// (leaves issued from rebuilt parameters chain only if they do).
fn check_rebuilt_subject(
    params: &CertificateParams,
    key: &KeyPair,
    subject_raw: &[u8],
    not_ours: fn(String) -> IdentityError,
) -> Result<(), IdentityError> {
    let probe = params.self_signed(key)?;
    let (_, probe) = x509_parser::parse_x509_certificate(probe.der())
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    if probe.subject().as_raw() != subject_raw {
        return Err(not_ours(
            "subject name encoded differently than Keel writes it".into(),
        ));
    }
    Ok(())
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
    /// Issued by an operator CA (not self-signed): terminal PEMs carry the chain.
    operator_issued: bool,
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
        let mut params = ca_params(store)?;
        set_validity(&mut params);
        let cert = params.self_signed(&key)?;
        Ok(StoreCa {
            store: store.clone(),
            cert_pem: cert.pem(),
            key,
            issuer_params: params,
            operator_issued: false,
        })
    }

    /// Loads a CA written by [`StoreCa::cert_pem`] and [`StoreCa::key_pem`] (self-signed
    /// or issued by an operator CA); the store id is read from the certificate's common
    /// name, and the key must match the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<StoreCa, IdentityError> {
        let der = pem_to_der(cert_pem, "CA certificate")?;
        let key = key_from_pem(key_pem, "CA private key")?;
        let (cn, subject_raw, issuer_raw) = names_of(&der)?;
        let store = cn
            .strip_prefix(CA_CN_PREFIX)
            .map(|s| StoreId(s.to_string()))
            .ok_or_else(|| IdentityError::NotStoreCa(format!("common name {cn:?}")))?;
        validate_store_id(&store)?;
        if cert_public_key(&der)? != key.public_key_raw() {
            return Err(IdentityError::KeyMismatch);
        }
        // We rebuild the issuer name from the store id; leaves chain only if it encodes
        // exactly like the certificate's subject. Check that once here.
        let params = ca_params(&store)?;
        check_rebuilt_subject(&params, &key, &subject_raw, IdentityError::NotStoreCa)?;
        Ok(StoreCa {
            store,
            cert_pem: cert_pem.to_string(),
            key,
            issuer_params: params,
            operator_issued: issuer_raw != subject_raw,
        })
    }

    /// Whether an operator CA issued this store CA (it is not self-signed).
    pub fn operator_issued(&self) -> bool {
        self.operator_issued
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
        let mut cert_pem = cert.pem();
        if self.operator_issued {
            cert_pem.push_str(&self.cert_pem);
        }
        Ok(TerminalIdentity {
            cert_pem,
            key_pem: key.serialize_pem(),
        })
    }
}

/// An operator's root certificate authority: issues the store CAs of every store of
/// the operator and the cloud's server certificate, so the cloud and the stores trust
/// each other through this one certificate.
pub struct OperatorCa {
    cert_pem: String,
    key: KeyPair,
    issuer_params: CertificateParams,
}

impl fmt::Debug for OperatorCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorCa").finish_non_exhaustive()
    }
}

impl OperatorCa {
    /// Generates a new self-signed operator CA (ECDSA P-256), common name
    /// `Keel operator CA <fingerprint of its key>`.
    pub fn generate() -> Result<OperatorCa, IdentityError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
        let cn = format!(
            "{OPERATOR_CN_PREFIX}{}",
            keel_core::hex::encode(&digest.as_ref()[..8])
        );
        let mut params = operator_params(&cn);
        set_validity(&mut params);
        let cert = params.self_signed(&key)?;
        Ok(OperatorCa {
            cert_pem: cert.pem(),
            key,
            issuer_params: params,
        })
    }

    /// Loads an operator CA written by [`OperatorCa::cert_pem`] and
    /// [`OperatorCa::key_pem`]; the key must match the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<OperatorCa, IdentityError> {
        let der = pem_to_der(cert_pem, "operator CA certificate")?;
        let key = key_from_pem(key_pem, "operator CA private key")?;
        let (cn, subject_raw, _) = names_of(&der)?;
        if !cn.starts_with(OPERATOR_CN_PREFIX) {
            return Err(IdentityError::NotOperatorCa(format!("common name {cn:?}")));
        }
        if cert_public_key(&der)? != key.public_key_raw() {
            return Err(IdentityError::KeyMismatch);
        }
        let params = operator_params(&cn);
        check_rebuilt_subject(&params, &key, &subject_raw, IdentityError::NotOperatorCa)?;
        Ok(OperatorCa {
            cert_pem: cert_pem.to_string(),
            key,
            issuer_params: params,
        })
    }

    /// The operator CA certificate, PEM (what stores and the cloud trust).
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The operator CA private key, PKCS#8 PEM. Keep it with the operator only.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issues the CA of `store` (fresh P-256 key), signed by this operator CA. Its
    /// terminals' certificates carry it as intermediate (see [`StoreCa::issue_terminal`]).
    pub fn issue_store_ca(&self, store: &StoreId) -> Result<StoreCa, IdentityError> {
        validate_store_id(store)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = ca_params(store)?;
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params);
        let issuer = Issuer::from_params(&self.issuer_params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        // Leaves are issued from parameters without the issuer-specific extension.
        let issuer_params = ca_params(store)?;
        Ok(StoreCa {
            store: store.clone(),
            cert_pem: cert.pem(),
            key,
            issuer_params,
            operator_issued: true,
        })
    }

    /// Issues the cloud's server certificate (fresh P-256 key) for the DNS name
    /// `server_name` (e.g. `cloud.keel`, the name terminals dial) and the given IPs.
    pub fn issue_server(
        &self,
        server_name: &str,
        ips: &[std::net::IpAddr],
    ) -> Result<ServerIdentity, IdentityError> {
        let dns_ok = !server_name.is_empty()
            && server_name.len() <= 253
            && server_name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !dns_ok {
            return Err(IdentityError::InvalidServerName(server_name.to_string()));
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("Keel cloud {server_name}"));
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::DnsName(server_name.try_into()?)];
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params);
        let issuer = Issuer::from_params(&self.issuer_params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(ServerIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The cloud's server certificate (issued by the operator CA) and its key, both PEM.
#[derive(Clone)]
pub struct ServerIdentity {
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// Reads a certificate and key from PEM files and checks they belong together.
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerIdentity, IdentityError> {
        ServerIdentity::from_pem(&read_text(cert)?, &read_text(key)?)
    }

    /// Takes a certificate and key from the texts of their PEM files and checks
    /// they belong together (what [`ServerIdentity::from_files`] does after
    /// reading). No I/O.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ServerIdentity, IdentityError> {
        let id = ServerIdentity {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
        };
        let key = key_from_pem(&id.key_pem, "server private key")?;
        if cert_public_key(&pem_to_der(&id.cert_pem, "server certificate")?)?
            != key.public_key_raw()
        {
            return Err(IdentityError::KeyMismatch);
        }
        Ok(id)
    }
}

fn read_text(p: &Path) -> Result<String, IdentityError> {
    std::fs::read_to_string(p).map_err(|source| IdentityError::Io {
        path: p.display().to_string(),
        source,
    })
}

/// A terminal's certificate and private key, both PEM.
#[derive(Clone)]
pub struct TerminalIdentity {
    /// The leaf certificate (PEM), signed by the store CA; followed by the store CA
    /// certificate when an operator issued that CA.
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
        TerminalIdentity::from_pem(&read_text(cert)?, &read_text(key)?)
    }

    /// Takes a certificate and key from the texts of their PEM files and checks
    /// they belong together (what [`TerminalIdentity::from_files`] does after
    /// reading). No I/O.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<TerminalIdentity, IdentityError> {
        let id = TerminalIdentity {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
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

    /// Every certificate of the PEM, DER, leaf first (the leaf alone for a
    /// self-signed store CA; leaf and store CA when an operator issued the CA).
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, IdentityError> {
        use rustls_pki_types::pem::PemObject;
        let mut out = Vec::new();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(self.cert_pem.as_bytes()) {
            let cert = cert.map_err(|e| IdentityError::Pem {
                what: "terminal certificate chain",
                detail: e.to_string(),
            })?;
            out.push(cert.as_ref().to_vec());
        }
        if out.is_empty() {
            return Err(IdentityError::Pem {
                what: "terminal certificate chain",
                detail: "no certificate in PEM".into(),
            });
        }
        Ok(out)
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

/// Reads the store a store CA certificate (DER) names in its `keel:store/<store>` SAN
/// URI. Does not check the signature: only use on chain-validated certificates.
pub fn store_ca_identity_of(der: &[u8]) -> Result<StoreId, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Parse(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Parse(e.to_string()))?
        .ok_or_else(|| IdentityError::NotStoreCa("no subjectAltName".into()))?;
    let mut found = None;
    for name in &san.value.general_names {
        if let x509_parser::extensions::GeneralName::URI(uri) = name {
            if uri.starts_with("keel:") {
                if found.is_some() {
                    return Err(IdentityError::NotStoreCa("more than one keel: URI".into()));
                }
                found = Some(parse_store_uri(uri).ok_or_else(|| {
                    IdentityError::NotStoreCa(format!("malformed store URI {uri:?}"))
                })?);
            }
        }
    }
    found.ok_or_else(|| IdentityError::NotStoreCa("no keel:store URI in subjectAltName".into()))
}

/// The raw subject and issuer names of a DER certificate (for matching a leaf to the
/// certificate that issued it).
pub fn subject_and_issuer_raw(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), IdentityError> {
    let (_, subject, issuer) = names_of(der)?;
    Ok((subject, issuer))
}
