//! Mutual TLS between a store's terminals (rustls 0.23 with ring, TLS 1.3 only, ALPN `keel/1`).
//!
//! This module owns:
//! - the rustls server and client configurations, each trusting the store CA as its only
//!   root and presenting this terminal's certificate;
//! - chain validation during the handshake: a peer whose certificate does not chain to
//!   the store CA fails the handshake, with a reason that says so;
//! - [`check_peer`], the check the transport runs after every handshake (both
//!   directions): the leaf's SAN URI must name OUR store and, when dialing, the terminal
//!   we meant to reach.
//!
//! - [`verify_terminal_certificate`]: the same chain check outside a handshake, for
//!   the certificate that comes with an origin's signed records (replication).
//!
//! The chain-validation helpers (roots, readable refusals, the client verifier) are
//! shared with `cloud`, which configures TLS between a store and its operator's cloud.
//!
//! It must not open sockets, log peers in or out, or keep state across connections; the
//! transport decides what to do with a refusal (and logs it).
//!
//! Server names: the client dials with SNI `t<n>.<store>.keel`, but the handshake only
//! validates the chain; names are checked by [`check_peer`] on the SAN URI so that a
//! certificate from our CA for another store is refused with a reason naming the store
//! mismatch rather than a generic "name mismatch".

use std::sync::Arc;

use keel_core::ids::{StoreId, TerminalId};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;

use crate::identity::{peer_identity_of, IdentityError, TerminalIdentity};

/// The ALPN protocol both sides must offer.
pub const ALPN: &[u8] = b"keel/1";

/// Errors building a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA PEM holds no certificate or one rustls cannot use as a root.
    #[error("store CA certificate unusable: {0}")]
    BadCa(String),
    /// The terminal's own certificate or key is unusable.
    #[error("terminal identity unusable: {0}")]
    Identity(#[from] IdentityError),
    /// Our own certificate names another store than the one configured.
    #[error(
        "our certificate names store {cert} but this terminal is configured for store {configured}"
    )]
    OwnStoreMismatch {
        /// Store in the certificate.
        cert: StoreId,
        /// Store in the configuration.
        configured: StoreId,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Why a peer that completed the handshake is refused (see [`check_peer`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerRefusal {
    /// The peer presented no certificate (cannot happen with our configs; kept for safety).
    #[error("peer presented no certificate")]
    NoCertificate,
    /// The leaf does not carry a usable `keel:` SAN URI.
    #[error("peer certificate does not name a Keel terminal: {0}")]
    Unreadable(String),
    /// The leaf is from our CA but names another store (a CA reused across stores).
    #[error("store mismatch: peer certificate names store {theirs} (terminal {terminal}), we are store {ours}")]
    WrongStore {
        /// Our store.
        ours: StoreId,
        /// The store in the peer's certificate.
        theirs: StoreId,
        /// The terminal in the peer's certificate.
        terminal: TerminalId,
    },
    /// We dialed one terminal and another answered.
    #[error("terminal mismatch: dialed {expected} but the certificate names {got}")]
    WrongTerminal {
        /// The terminal we meant to reach.
        expected: TerminalId,
        /// The terminal that answered.
        got: TerminalId,
    },
    /// The peer claims to be this terminal (a duplicated identity, or we dialed ourselves).
    #[error("peer certificate names our own terminal id {0}")]
    OwnId(TerminalId),
}

/// The crypto provider used everywhere: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the text of a CA PEM file (the store CA, or the operator CA the uplink
/// trusts) into the trust roots: every certificate in it, at least one. No I/O.
pub fn roots(ca_pem: &str) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    let mut n = 0;
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| TlsError::BadCa(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TlsError::BadCa(e.to_string()))?;
        n += 1;
    }
    if n == 0 {
        return Err(TlsError::BadCa("no certificate in PEM".into()));
    }
    Ok(Arc::new(roots))
}

fn own_chain(
    identity: &TerminalIdentity,
    store: &StoreId,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    identity.check_key()?;
    let (cert_store, _) = identity.names()?;
    if &cert_store != store {
        return Err(TlsError::OwnStoreMismatch {
            cert: cert_store,
            configured: store.clone(),
        });
    }
    let cert = CertificateDer::from(identity.cert_der()?);
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(|e| {
        IdentityError::Pem {
            what: "terminal private key",
            detail: e.to_string(),
        }
    })?;
    Ok((vec![cert], key))
}

/// How refusals name the CA a peer's certificate must chain to, between terminals.
pub(crate) const STORE_CA: &str = "this store's CA";

/// A readable reason for a certificate that failed chain validation against `ca`.
pub(crate) fn describe_cert_error(e: &CertificateError, ca: &str) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            format!("certificate is not from {ca} (unknown issuer)")
        }
        CertificateError::BadSignature => {
            format!("certificate is not from {ca} (signature does not verify)")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("certificate expired (check this terminal's clock): {e}")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("certificate not valid yet (check this terminal's clock): {e}")
        }
        other => format!("certificate refused: {other}"),
    }
}

/// Carries a readable refusal through rustls as `CertificateError::Other`.
#[derive(Debug)]
struct ChainRefusal(String);

impl std::fmt::Display for ChainRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChainRefusal {}

fn readable(e: rustls::Error) -> rustls::Error {
    readable_as(e, STORE_CA)
}

/// Turns a chain-validation error into one whose text says why, naming the CA `ca`.
pub(crate) fn readable_as(e: rustls::Error, ca: &str) -> rustls::Error {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(o)) => {
            rustls::Error::InvalidCertificate(CertificateError::Other(o))
        }
        rustls::Error::InvalidCertificate(c) => {
            let reason = describe_cert_error(&c, ca);
            log::debug!("TLS: peer certificate refused during handshake: {reason}");
            rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(ChainRefusal(reason)),
            )))
        }
        other => other,
    }
}

/// Client-side verifier: the server's chain must lead to the store CA; names are left
/// to [`check_peer`].
#[derive(Debug)]
struct StoreServerVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for StoreServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity).map_err(readable)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )
        .map_err(readable)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Server-side verifier: rustls' WebPkiClientVerifier with readable refusals naming `ca`.
#[derive(Debug)]
pub(crate) struct StoreClientVerifier {
    /// The WebPKI verifier (roots: the CA clients must chain to).
    pub(crate) inner: Arc<dyn ClientCertVerifier>,
    /// How refusals name that CA.
    pub(crate) ca: &'static str,
}

impl ClientCertVerifier for StoreClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
            .map_err(|e| readable_as(e, self.ca))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The server side: requires a client certificate chaining to the store CA (the only
/// root), presents our certificate, TLS 1.3, ALPN `keel/1`.
pub fn server_config(
    ca_pem: &str,
    identity: &TerminalIdentity,
    store: &StoreId,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let roots = roots(ca_pem)?;
    let (chain, key) = own_chain(identity, store)?;
    let inner =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(StoreClientVerifier {
            inner,
            ca: STORE_CA,
        }))
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The client side: the server's certificate must chain to the store CA; presents our
/// certificate; TLS 1.3, ALPN `keel/1`. Store and terminal are checked afterwards by
/// [`check_peer`].
pub fn client_config(
    ca_pem: &str,
    identity: &TerminalIdentity,
    store: &StoreId,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let roots = roots(ca_pem)?;
    let (chain, key) = own_chain(identity, store)?;
    let verifier = Arc::new(StoreServerVerifier {
        roots,
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The post-handshake check, run on the chain-validated certificates the peer presented:
/// the leaf must name our store, must not be us, and (when `expected` is given, i.e. we
/// dialed) must be the terminal we meant to reach. Returns the peer's terminal id.
pub fn check_peer(
    certs: &[CertificateDer<'_>],
    ours: &StoreId,
    me: TerminalId,
    expected: Option<TerminalId>,
) -> Result<TerminalId, PeerRefusal> {
    let leaf = certs.first().ok_or(PeerRefusal::NoCertificate)?;
    let (theirs, terminal) =
        peer_identity_of(leaf).map_err(|e| PeerRefusal::Unreadable(e.to_string()))?;
    if &theirs != ours {
        return Err(PeerRefusal::WrongStore {
            ours: ours.clone(),
            theirs,
            terminal,
        });
    }
    if terminal == me {
        return Err(PeerRefusal::OwnId(terminal));
    }
    if let Some(expected) = expected {
        if expected != terminal {
            return Err(PeerRefusal::WrongTerminal {
                expected,
                got: terminal,
            });
        }
    }
    Ok(terminal)
}

/// Why an origin's certificate is refused (see [`verify_terminal_certificate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRefusal {
    /// The store CA PEM is unusable.
    #[error("store CA unusable: {0}")]
    BadCa(String),
    /// The certificate does not parse or does not chain to the store CA.
    #[error("{0}")]
    Chain(String),
    /// The certificate is from the store CA but does not name this store and terminal.
    #[error("certificate does not name terminal {terminal} of store {store}: {reason}")]
    WrongName {
        /// Store expected.
        store: StoreId,
        /// Terminal expected.
        terminal: TerminalId,
        /// What it names instead, or why it cannot be read.
        reason: String,
    },
}

/// Checks a terminal's leaf certificate (DER) outside a handshake: it must chain to the
/// store CA in `ca_pem` (valid now), and its SANs must name exactly `terminal` of `store`
/// (DNS `t<n>.<store>.keel` and URI `keel:store/<store>/terminal/<n>`).
pub fn verify_terminal_certificate(
    ca_pem: &str,
    store: &StoreId,
    terminal: TerminalId,
    der: &[u8],
) -> Result<(), CertificateRefusal> {
    let roots = roots(ca_pem).map_err(|e| CertificateRefusal::BadCa(e.to_string()))?;
    let provider = provider();
    let leaf = CertificateDer::from(der);
    let cert = rustls::server::ParsedCertificate::try_from(&leaf)
        .map_err(|e| CertificateRefusal::Chain(format!("certificate does not parse: {e}")))?;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &cert,
        &roots,
        &[],
        UnixTime::now(),
        provider.signature_verification_algorithms.all,
    )
    .map_err(|e| match e {
        rustls::Error::InvalidCertificate(c) => {
            CertificateRefusal::Chain(describe_cert_error(&c, STORE_CA))
        }
        other => CertificateRefusal::Chain(other.to_string()),
    })?;
    let wrong = |reason: String| CertificateRefusal::WrongName {
        store: store.clone(),
        terminal,
        reason,
    };
    let name = ServerName::try_from(crate::identity::terminal_dns_name(store, terminal))
        .map_err(|e| wrong(format!("invalid name: {e}")))?;
    rustls::client::verify_server_name(&cert, &name)
        .map_err(|e| wrong(format!("DNS name: {e}")))?;
    match peer_identity_of(der) {
        Ok((s, t)) if &s == store && t == terminal => Ok(()),
        Ok((s, t)) => Err(wrong(format!("it names terminal {t} of store {s}"))),
        Err(e) => Err(wrong(e.to_string())),
    }
}
