//! Mutual TLS between a store and its operator's cloud (QUIC, rustls with ring,
//! TLS 1.3 only, ALPN `keel-uplink/1`).
//!
//! This module owns:
//! - [`cloud_server_config`]: the cloud's quinn server configuration. It presents the
//!   cloud's server certificate and requires a client certificate chaining to the
//!   operator CA (the only root) through the client's store CA;
//! - [`verify_store_client`]: the check the cloud runs after every handshake, giving
//!   the store and terminal a client speaks for, and refusing a chain whose store CA
//!   names another store than the terminal certificate (a store CA may only vouch for
//!   its own store);
//! - [`cloud_client_config`]: the terminal's quinn client configuration. It presents the
//!   terminal's chain (leaf and store CA) and accepts only a server certificate issued
//!   directly by the operator CA for the name the terminal dials (so a store CA, which
//!   also chains to the operator CA, can never pass for the cloud).
//!
//! It must not open sockets, keep state across connections or log clients in or out:
//! the cloud service and the terminal's uplink runtime do that and log refusals.

use std::sync::Arc;
use std::time::Duration;

use keel_core::ids::{StoreId, TerminalId};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;

use crate::identity::{
    peer_identity_of, store_ca_identity_of, subject_and_issuer_raw, IdentityError, ServerIdentity,
    TerminalIdentity,
};
use crate::tls::{provider, readable_as, roots, StoreClientVerifier};

/// The ALPN protocol of the store uplink; both sides must offer it.
pub const CLOUD_ALPN: &[u8] = b"keel-uplink/1";

/// How refusals name the CA everything must chain to.
const OPERATOR_CA: &str = "the operator CA";

/// Idle timeout of an uplink connection (both sides keep it alive well within it).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Keep-alive interval of an uplink connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Errors building a cloud TLS configuration or checking a cloud client.
#[derive(Debug, thiserror::Error)]
pub enum CloudTlsError {
    /// The operator CA PEM holds no certificate or one rustls cannot use as a root.
    #[error("operator CA certificate unusable: {0}")]
    BadCa(String),
    /// Our own certificate, chain or key is unusable.
    #[error("identity unusable: {0}")]
    Identity(#[from] IdentityError),
    /// The terminal's certificate file holds only the leaf: its store CA was not issued
    /// by an operator, so the cloud cannot trust it.
    #[error("the terminal certificate has no store CA chain (provision the store with `keel provision --operator`)")]
    NoChain,
    /// rustls refused the configuration.
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// quinn refused the TLS configuration.
    #[error("QUIC crypto configuration: {0}")]
    Quic(String),
    /// The client presented no certificate.
    #[error("client presented no certificate")]
    NoCertificate,
    /// The leaf does not name a Keel terminal.
    #[error("client certificate does not name a Keel terminal: {0}")]
    NotTerminal(String),
    /// No certificate in the chain is the store CA that issued the leaf.
    #[error("client certificate for {store} terminal {terminal} was not issued by a store CA in its chain")]
    NoStoreCa {
        /// Store the leaf names.
        store: StoreId,
        /// Terminal the leaf names.
        terminal: TerminalId,
    },
    /// The store CA that issued the leaf names another store (or none).
    #[error("store mismatch: the certificate names store {store} (terminal {terminal}) but its store CA is for {ca}")]
    WrongStoreCa {
        /// Store the leaf names.
        store: StoreId,
        /// Terminal the leaf names.
        terminal: TerminalId,
        /// What the store CA names instead, or why it cannot be read.
        ca: String,
    },
}

fn transport_config() -> Result<quinn::TransportConfig, CloudTlsError> {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(KEEP_ALIVE));
    t.max_idle_timeout(Some(
        IDLE_TIMEOUT
            .try_into()
            .map_err(|_| CloudTlsError::Quic("idle timeout out of range".into()))?,
    ));
    // One request/response stream per connection; a second is refused by flow control.
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(1));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    Ok(t)
}

fn key_der(pem: &str, what: &'static str) -> Result<PrivateKeyDer<'static>, CloudTlsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
        CloudTlsError::Identity(IdentityError::Pem {
            what,
            detail: e.to_string(),
        })
    })
}

fn certs_der(pem: &str, what: &'static str) -> Result<Vec<CertificateDer<'static>>, CloudTlsError> {
    let mut out = Vec::new();
    for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        out.push(c.map_err(|e| {
            CloudTlsError::Identity(IdentityError::Pem {
                what,
                detail: e.to_string(),
            })
        })?);
    }
    Ok(out)
}

fn operator_roots(operator_ca_pem: &str) -> Result<Arc<RootCertStore>, CloudTlsError> {
    roots(operator_ca_pem).map_err(|e| CloudTlsError::BadCa(e.to_string()))
}

/// The cloud's QUIC server configuration: presents `server` (issued by the operator
/// CA), requires a client certificate chaining to the operator CA in
/// `operator_ca_pem`, TLS 1.3, ALPN [`CLOUD_ALPN`], one bidirectional stream per
/// connection. Run [`verify_store_client`] on every accepted connection.
pub fn cloud_server_config(
    operator_ca_pem: &str,
    server: &ServerIdentity,
) -> Result<quinn::ServerConfig, CloudTlsError> {
    let provider = provider();
    let roots = operator_roots(operator_ca_pem)?;
    let chain = certs_der(&server.cert_pem, "server certificate")?;
    if chain.is_empty() {
        return Err(CloudTlsError::Identity(IdentityError::Pem {
            what: "server certificate",
            detail: "no certificate in PEM".into(),
        }));
    }
    let key = key_der(&server.key_pem, "server private key")?;
    let inner =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(StoreClientVerifier {
            inner,
            ca: OPERATOR_CA,
        }))
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![CLOUD_ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| CloudTlsError::Quic(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()?));
    Ok(config)
}

/// The terminal's QUIC client configuration for the cloud: presents `identity`'s
/// chain (leaf and store CA, as `keel provision --operator` writes it), trusts only a
/// server certificate issued directly by the operator CA in `operator_ca_pem` for the
/// server name dialed (e.g. `cloud.keel`), TLS 1.3, ALPN [`CLOUD_ALPN`].
pub fn cloud_client_config(
    operator_ca_pem: &str,
    identity: &TerminalIdentity,
) -> Result<quinn::ClientConfig, CloudTlsError> {
    let provider = provider();
    let roots = operator_roots(operator_ca_pem)?;
    identity.check_key()?;
    identity.names()?;
    let chain: Vec<CertificateDer<'static>> = identity
        .chain_der()?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    if chain.len() < 2 {
        return Err(CloudTlsError::NoChain);
    }
    let key = key_der(&identity.key_pem, "terminal private key")?;
    let verifier = Arc::new(CloudServerVerifier {
        roots,
        provider: provider.clone(),
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)?;
    tls.alpn_protocols = vec![CLOUD_ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| CloudTlsError::Quic(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()?));
    Ok(config)
}

/// The post-handshake check on the cloud, run on the chain-validated certificates a
/// client presented (leaf first): the leaf must name a Keel terminal, and the store CA
/// that issued it (in the chain) must name the same store. Returns the store and
/// terminal the client speaks for.
pub fn verify_store_client(chain_der: &[Vec<u8>]) -> Result<(StoreId, TerminalId), CloudTlsError> {
    let leaf = chain_der.first().ok_or(CloudTlsError::NoCertificate)?;
    let (store, terminal) =
        peer_identity_of(leaf).map_err(|e| CloudTlsError::NotTerminal(e.to_string()))?;
    let (_, leaf_issuer) =
        subject_and_issuer_raw(leaf).map_err(|e| CloudTlsError::NotTerminal(e.to_string()))?;
    // Every certificate in the chain that could have issued the leaf (same subject as
    // the leaf's issuer) must be a CA of the leaf's store; the handshake proved one of
    // them did issue it.
    let mut issuers = 0;
    for der in &chain_der[1..] {
        let Ok((subject, _)) = subject_and_issuer_raw(der) else {
            continue;
        };
        if subject != leaf_issuer {
            continue;
        }
        issuers += 1;
        match store_ca_identity_of(der) {
            Ok(ca) if ca == store => {}
            Ok(ca) => {
                return Err(CloudTlsError::WrongStoreCa {
                    store,
                    terminal,
                    ca: format!("store {ca}"),
                })
            }
            Err(e) => {
                return Err(CloudTlsError::WrongStoreCa {
                    store,
                    terminal,
                    ca: format!("no store ({e})"),
                })
            }
        }
    }
    if issuers == 0 {
        return Err(CloudTlsError::NoStoreCa { store, terminal });
    }
    Ok((store, terminal))
}

/// The certificates a connection's peer presented, DER, leaf first (empty when none).
pub fn peer_chain(conn: &quinn::Connection) -> Vec<Vec<u8>> {
    conn.peer_identity()
        .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
        .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
        .unwrap_or_default()
}

/// Client-side verifier: the server's certificate must be issued directly by the
/// operator CA (intermediates are ignored) and name the server name dialed.
#[derive(Debug)]
struct CloudServerVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CloudServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)
            .map_err(|e| readable_as(e, OPERATOR_CA))?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            &[],
            now,
            self.provider.signature_verification_algorithms.all,
        )
        .map_err(|e| readable_as(e, OPERATOR_CA))?;
        rustls::client::verify_server_name(&cert, server_name)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{OperatorCa, StoreCa};

    fn store(s: &str) -> StoreId {
        StoreId(s.to_string())
    }

    #[test]
    fn operator_chain_names_store_and_terminal() {
        let op = OperatorCa::generate().unwrap();
        let ca = op.issue_store_ca(&store("s1")).unwrap();
        assert!(ca.operator_issued());
        let t = ca.issue_terminal(TerminalId(2)).unwrap();
        let chain = t.chain_der().unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(
            verify_store_client(&chain).unwrap(),
            (store("s1"), TerminalId(2))
        );
        // Reloaded from PEM it still issues chained certificates.
        let again = StoreCa::from_pem(&ca.cert_pem(), &ca.key_pem()).unwrap();
        assert!(again.operator_issued());
        let t3 = again.issue_terminal(TerminalId(3)).unwrap();
        assert_eq!(
            verify_store_client(&t3.chain_der().unwrap()).unwrap(),
            (store("s1"), TerminalId(3))
        );
        // Both configs build.
        let server = op.issue_server("cloud.keel", &[]).unwrap();
        cloud_server_config(&op.cert_pem(), &server).unwrap();
        cloud_client_config(&op.cert_pem(), &t).unwrap();
        let op2 = OperatorCa::from_pem(&op.cert_pem(), &op.key_pem()).unwrap();
        op2.issue_store_ca(&store("s2")).unwrap();
    }

    #[test]
    fn a_store_ca_cannot_vouch_for_another_store() {
        let op = OperatorCa::generate().unwrap();
        let ca_a = op.issue_store_ca(&store("a")).unwrap();
        let forged = ca_a.issue_terminal_in(&store("b"), TerminalId(1)).unwrap();
        let err = verify_store_client(&forged.chain_der().unwrap()).unwrap_err();
        assert!(matches!(err, CloudTlsError::WrongStoreCa { .. }), "{err}");
        assert!(err.to_string().contains("store a"), "{err}");
        // A leaf alone (no store CA in the chain) is refused too.
        let t = ca_a.issue_terminal(TerminalId(1)).unwrap();
        let leaf = vec![t.cert_der().unwrap()];
        assert!(matches!(
            verify_store_client(&leaf),
            Err(CloudTlsError::NoStoreCa { .. })
        ));
        assert!(matches!(
            verify_store_client(&[]),
            Err(CloudTlsError::NoCertificate)
        ));
        // A self-signed store's terminal has no chain to present.
        let own = StoreCa::generate(&store("c")).unwrap();
        let t = own.issue_terminal(TerminalId(1)).unwrap();
        assert!(matches!(
            cloud_client_config(&op.cert_pem(), &t),
            Err(CloudTlsError::NoChain)
        ));
    }

    #[test]
    fn bad_server_names_are_refused() {
        let op = OperatorCa::generate().unwrap();
        for bad in ["", "a..b", "-a.keel", "a b"] {
            assert!(op.issue_server(bad, &[]).is_err(), "{bad:?}");
        }
        op.issue_server("cloud.keel", &["127.0.0.1".parse().unwrap()])
            .unwrap();
    }

    fn endpoint(server: Option<quinn::ServerConfig>) -> quinn::Endpoint {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            server,
            socket,
            Arc::new(quinn::SmolRuntime),
        )
        .unwrap()
    }

    /// The server side's view of a handshake: the client chain check, if it got there.
    type Served = Option<Result<(StoreId, TerminalId), String>>;

    /// Dials `server` with `client`: the client's outcome and the server's.
    fn handshake(
        server: quinn::ServerConfig,
        client: quinn::ClientConfig,
        name: &str,
    ) -> (Result<(), String>, Served) {
        smol::block_on(async {
            let srv = endpoint(Some(server));
            let addr = srv.local_addr().unwrap();
            let accept = smol::spawn(async move {
                let incoming = srv.accept().await?;
                let conn = incoming.await.ok()?;
                let r = verify_store_client(&peer_chain(&conn)).map_err(|e| e.to_string());
                conn.close(0u32.into(), b"done");
                Some(r)
            });
            let cli = endpoint(None);
            // In TLS 1.3 the client finishes before the server checks its certificate:
            // a refused client learns it from the connection's close.
            let dialed = match cli.connect_with(client, addr, name) {
                Ok(connecting) => match connecting.await {
                    Ok(conn) => match conn.closed().await {
                        quinn::ConnectionError::ApplicationClosed(_) => Ok(()),
                        e => Err(e.to_string()),
                    },
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            let served = smol::future::or(accept, async {
                smol::Timer::after(Duration::from_secs(3)).await;
                None
            })
            .await;
            (dialed, served)
        })
    }

    #[test]
    fn real_handshakes_accept_the_operators_stores_only() {
        let op = OperatorCa::generate().unwrap();
        let server = op.issue_server("cloud.keel", &[]).unwrap();
        let ca = op.issue_store_ca(&store("s1")).unwrap();
        let t2 = ca.issue_terminal(TerminalId(2)).unwrap();
        let config = || cloud_server_config(&op.cert_pem(), &server).unwrap();

        let client = cloud_client_config(&op.cert_pem(), &t2).unwrap();
        let (dialed, served) = handshake(config(), client, "cloud.keel");
        dialed.unwrap();
        assert_eq!(served.unwrap().unwrap(), (store("s1"), TerminalId(2)));

        // The wrong server name is refused by the terminal.
        let client = cloud_client_config(&op.cert_pem(), &t2).unwrap();
        let (dialed, _) = handshake(config(), client, "other.keel");
        assert!(dialed.is_err());

        // A self-signed store CA presented as intermediate does not chain to the operator.
        let own = StoreCa::generate(&store("s1")).unwrap();
        let mut rogue = own.issue_terminal(TerminalId(1)).unwrap();
        rogue.cert_pem.push_str(&own.cert_pem());
        let client = cloud_client_config(&op.cert_pem(), &rogue).unwrap();
        let (dialed, served) = handshake(config(), client, "cloud.keel");
        let refusal = dialed.unwrap_err();
        assert!(refusal.contains("not from the operator CA"), "{refusal}");
        assert!(served.is_none());

        // Another operator's store: refused too.
        let other = OperatorCa::generate().unwrap();
        let t = other
            .issue_store_ca(&store("s1"))
            .unwrap()
            .issue_terminal(TerminalId(1))
            .unwrap();
        let client = cloud_client_config(&other.cert_pem(), &t).unwrap();
        let (dialed, served) = handshake(config(), client, "cloud.keel");
        assert!(
            dialed.is_err(),
            "the terminal does not trust another operator's cloud"
        );
        assert!(!matches!(served, Some(Ok(_))));
        // Even when it trusts our operator CA, its own chain does not lead there.
        let client = cloud_client_config(&op.cert_pem(), &t).unwrap();
        let (dialed, served) = handshake(config(), client, "cloud.keel");
        assert!(dialed.is_err());
        assert!(served.is_none());

        // Terminals of an operator-issued store CA still talk to each other.
        let t1 = ca.issue_terminal(TerminalId(1)).unwrap();
        let srv = crate::tls::server_config(&ca.cert_pem(), &t1, &store("s1")).unwrap();
        let cli = crate::tls::client_config(&ca.cert_pem(), &t2, &store("s1")).unwrap();
        let srv =
            quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(srv).unwrap()));
        let cli = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(cli).unwrap()));
        let (dialed, _) = handshake(srv, cli, "t1.s1.keel");
        dialed.unwrap();
    }
}
