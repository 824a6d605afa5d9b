//! One uplink session from a store's leader to the cloud: a QUIC connection with
//! the terminal's certificate and one bidirectional stream carrying
//! request/response pairs of keel-uplink messages, each framed by its length.
//!
//! This module owns the socket side of the exchange (connect, frame, time out).
//! It must not decide what to send or what an answer means: the terminal's
//! uplink runtime (and the cloud benchmark's load generator) drive it with
//! keel-uplink's pure logic.

use keel_uplink::wire::{frame, frame_len, CloudMessage, StoreMessage, WireError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Errors of an uplink session.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The local UDP socket cannot be bound.
    #[error("uplink: cannot bind a local socket: {0}")]
    Bind(std::io::Error),
    /// Connecting or the TLS handshake failed.
    #[error("uplink: cannot connect to the cloud at {addr}: {reason}")]
    Connect {
        /// The cloud's address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// Nothing came back in time.
    #[error("uplink: no answer from the cloud within {0:?}")]
    Timeout(Duration),
    /// The stream or connection broke.
    #[error("uplink: connection lost: {0}")]
    Lost(String),
    /// The cloud sent bytes that are not a message.
    #[error("uplink: bad answer from the cloud: {0}")]
    Wire(#[from] WireError),
}

async fn within<T>(
    limit: Duration,
    f: impl Future<Output = Result<T, SessionError>>,
) -> Result<T, SessionError> {
    smol::future::or(f, async {
        smol::Timer::after(limit).await;
        Err(SessionError::Timeout(limit))
    })
    .await
}

/// An open session.
pub struct CloudSession {
    endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
}

impl CloudSession {
    /// Connects to the cloud at `addr` as `server_name` with `config` (see
    /// [`crate::cloud::cloud_client_config`]) and opens the session's stream.
    pub async fn connect(
        addr: SocketAddr,
        server_name: &str,
        config: quinn::ClientConfig,
        limit: Duration,
    ) -> Result<CloudSession, SessionError> {
        let bind: SocketAddr = if addr.is_ipv6() {
            "[::]:0"
                .parse()
                .map_err(|_| SessionError::Bind(std::io::ErrorKind::InvalidInput.into()))?
        } else {
            "0.0.0.0:0"
                .parse()
                .map_err(|_| SessionError::Bind(std::io::ErrorKind::InvalidInput.into()))?
        };
        let bind = if addr.ip().is_loopback() {
            SocketAddr::new(addr.ip(), 0)
        } else {
            bind
        };
        let socket = std::net::UdpSocket::bind(bind).map_err(SessionError::Bind)?;
        let mut endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            None,
            socket,
            Arc::new(quinn::SmolRuntime),
        )
        .map_err(SessionError::Bind)?;
        endpoint.set_default_client_config(config);
        let connect_err = |reason: String| SessionError::Connect { addr, reason };
        let connecting = endpoint
            .connect(addr, server_name)
            .map_err(|e| connect_err(e.to_string()))?;
        let conn = within(limit, async {
            connecting.await.map_err(|e| connect_err(e.to_string()))
        })
        .await?;
        let (send, recv) = within(limit, async {
            conn.open_bi().await.map_err(|e| connect_err(e.to_string()))
        })
        .await?;
        Ok(CloudSession {
            endpoint,
            conn,
            send,
            recv,
        })
    }

    /// Sends `msg` and waits up to `limit` for the answer.
    pub async fn request(
        &mut self,
        msg: &StoreMessage,
        limit: Duration,
    ) -> Result<CloudMessage, SessionError> {
        let bytes = frame(&msg.encode());
        let send = &mut self.send;
        let recv = &mut self.recv;
        within(limit, async move {
            send.write_all(&bytes)
                .await
                .map_err(|e| SessionError::Lost(e.to_string()))?;
            let mut prefix = [0u8; 4];
            recv.read_exact(&mut prefix)
                .await
                .map_err(|e| SessionError::Lost(e.to_string()))?;
            let n = frame_len(prefix)?;
            let mut body = vec![0u8; n];
            recv.read_exact(&mut body)
                .await
                .map_err(|e| SessionError::Lost(e.to_string()))?;
            Ok(CloudMessage::decode(&body)?)
        })
        .await
    }

    /// The round-trip time quinn currently estimates.
    pub fn rtt(&self) -> Duration {
        self.conn.rtt()
    }

    /// Closes the session (the cloud sees a clean close).
    pub async fn close(mut self) {
        let _ = self.send.finish();
        self.conn.close(0u32.into(), b"bye");
        self.endpoint.wait_idle().await;
    }
}
