//! The QUIC transport settings of the leader's uplink connection. Owns only
//! those numbers; must not open sockets.
//!
//! keel-cluster's client configuration keeps a connection for 30 s of
//! silence. The leader lowers that (the smaller idle timeout of the two sides
//! wins) and sends keep-alives every second, so a cloud that died mid-batch,
//! or a network that went away, ends the session within a few seconds instead
//! of holding the upload until an answer times out. Stream limits are those of
//! keel-cluster's configuration: one request/response stream, nothing opened by
//! the cloud.

use std::sync::Arc;
use std::time::Duration;

/// Keep-alive interval on the uplink connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// Silence after which the uplink connection counts as lost.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// The transport configuration for the uplink connection.
pub fn config() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(KEEP_ALIVE));
    // 4 s always fits QUIC's idle timeout range (below 2^62 ms).
    t.max_idle_timeout(quinn::IdleTimeout::try_from(IDLE_TIMEOUT).ok());
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(1));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    Arc::new(t)
}
