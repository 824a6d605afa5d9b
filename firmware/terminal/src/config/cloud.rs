//! The `[cloud]` and `[health]` sections of the terminal's config: where the
//! store's uplink reaches the operator's cloud, and where the terminal serves
//! its health endpoint. This module owns only their parsing and checking; it
//! must not connect anywhere.

use super::{ConfigError, Locator};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Default upper bound on the records of one uplink batch (bytes).
pub const DEFAULT_BATCH_BYTES: usize = keel_uplink::wire::DEFAULT_BATCH_BYTES;

/// Smallest and largest accepted `batch_bytes`.
pub const BATCH_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=(4 << 20);

/// Default cap on the uplink's retry delay.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(30);

/// The `[cloud]` section: the operator's cloud the store leader uploads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfig {
    /// The cloud's QUIC address.
    pub addr: SocketAddr,
    /// The name in the cloud's server certificate.
    pub server_name: String,
    /// The operator CA certificate (PEM) the cloud's certificate chains to.
    pub ca_cert: PathBuf,
    /// Upper bound on the encoded records of one batch.
    pub batch_bytes: usize,
    /// Cap on the delay between retries after a failed sync.
    pub retry_max: Duration,
}

/// The `[health]` section: the terminal's HTTP health endpoint on the store LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthConfig {
    /// TCP address the endpoint listens on.
    pub listen: SocketAddr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCloud {
    addr: Spanned<String>,
    server_name: Spanned<String>,
    ca_cert: PathBuf,
    batch_bytes: Option<Spanned<i64>>,
    retry_max_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    listen: Spanned<String>,
}

/// A DNS name as certificates carry it: dot-separated labels of letters,
/// digits and hyphens.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Checks `[cloud]`; `has_cluster` says whether the config has a `[cluster]`
/// (the uplink runs on the raft leader and uses the cluster certificate).
pub(super) fn cloud(
    loc: &Locator<'_>,
    raw: &RawCloud,
    has_cluster: bool,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<CloudConfig, ConfigError> {
    if !has_cluster {
        return Err(loc.bad(
            "cloud.addr",
            &raw.addr,
            "[cloud] needs a [cluster] section: the uplink runs on the store's raft leader and uses this terminal's cluster certificate",
        ));
    }
    let addr: SocketAddr = raw.addr.get_ref().parse().map_err(|e| {
        loc.bad(
            "cloud.addr",
            &raw.addr,
            format!("not an address like 127.0.0.1:7400: {e}"),
        )
    })?;
    let server_name = raw.server_name.get_ref().trim().to_ascii_lowercase();
    if !is_dns_name(&server_name) {
        return Err(loc.bad(
            "cloud.server_name",
            &raw.server_name,
            "expected the DNS name in the cloud's certificate, like cloud.keel",
        ));
    }
    let batch_bytes = match &raw.batch_bytes {
        None => DEFAULT_BATCH_BYTES,
        Some(b) => {
            let v = *b.get_ref();
            match usize::try_from(v) {
                Ok(n) if BATCH_BYTES_RANGE.contains(&n) => n,
                _ => {
                    return Err(loc.bad(
                        "cloud.batch_bytes",
                        b,
                        format!(
                            "must be {} to {} bytes, got {v}",
                            BATCH_BYTES_RANGE.start(),
                            BATCH_BYTES_RANGE.end()
                        ),
                    ))
                }
            }
        }
    };
    let retry_max = match &raw.retry_max_ms {
        None => DEFAULT_RETRY_MAX,
        Some(r) => {
            let v = *r.get_ref();
            if !(100..=3_600_000).contains(&v) {
                return Err(loc.bad(
                    "cloud.retry_max_ms",
                    r,
                    format!("must be 100 to 3600000 milliseconds, got {v}"),
                ));
            }
            Duration::from_millis(v as u64)
        }
    };
    Ok(CloudConfig {
        addr,
        server_name,
        ca_cert: resolve(&raw.ca_cert),
        batch_bytes,
        retry_max,
    })
}

/// Checks `[health]`.
pub(super) fn health(loc: &Locator<'_>, raw: &RawHealth) -> Result<HealthConfig, ConfigError> {
    let listen: SocketAddr = raw.listen.get_ref().parse().map_err(|e| {
        loc.bad(
            "health.listen",
            &raw.listen,
            format!("not an address like 127.0.0.1:8501: {e}"),
        )
    })?;
    Ok(HealthConfig { listen })
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use std::path::Path;

    const BASE: &str = r#"
[store]
id = "toko-1"
name = "Toko Satu"
currency = "EUR"

[terminal]
id = 1
data_dir = "data"

[tax]
mode = "inclusive"
rounding = "half-even"
scope = "per-line"
rates = [ { class = "standard", percent = "19", label = "A" } ]

[cards]
offline_per_transaction = "100.00"
offline_total = "500.00"

[[users]]
id = "ani"
name = "Ani"
role = "cashier"
pin = "1234"
"#;

    const CLUSTER: &str = r#"
[cluster]
listen = "127.0.0.1:7101"
ca_cert = "store-ca.pem"
cert = "t1/terminal.pem"
key = "t1/terminal-key.pem"
members = [1, 2]
"#;

    const CLOUD: &str = r#"
[cloud]
addr = "127.0.0.1:7400"
server_name = "cloud.keel"
ca_cert = "operator-ca.pem"
"#;

    fn parse_text(text: &str) -> Result<super::super::Config, ConfigError> {
        parse("t.toml", text, Path::new("/etc/keel"))
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    }

    #[test]
    fn cloud_and_health_sections_parse_with_defaults() {
        let text = format!("{BASE}{CLUSTER}{CLOUD}\n[health]\nlisten = \"127.0.0.1:8501\"\n");
        let c = parse_text(&text).unwrap();
        let cloud = c.cloud.unwrap();
        assert_eq!(cloud.addr, "127.0.0.1:7400".parse().unwrap());
        assert_eq!(cloud.server_name, "cloud.keel");
        assert_eq!(cloud.ca_cert, PathBuf::from("/etc/keel/operator-ca.pem"));
        assert_eq!(cloud.batch_bytes, DEFAULT_BATCH_BYTES);
        assert_eq!(cloud.retry_max, DEFAULT_RETRY_MAX);
        assert_eq!(c.health.unwrap().listen, "127.0.0.1:8501".parse().unwrap());
        let text = format!("{BASE}{CLUSTER}{CLOUD}batch_bytes = 4096\nretry_max_ms = 2000\n",);
        let cloud = parse_text(&text).unwrap().cloud.unwrap();
        assert_eq!(cloud.batch_bytes, 4096);
        assert_eq!(cloud.retry_max, Duration::from_secs(2));
        // Both sections are optional; [health] works without a cluster.
        let c = parse_text(BASE).unwrap();
        assert!(c.cloud.is_none() && c.health.is_none());
        let c = parse_text(&format!("{BASE}\n[health]\nlisten = \"127.0.0.1:0\"\n")).unwrap();
        assert!(c.health.is_some());
    }

    #[test]
    fn cloud_errors_name_file_line_and_key() {
        let text = format!("{BASE}{CLOUD}");
        let e = parse_text(&text).unwrap_err().to_string();
        let line = line_of(&text, "addr =");
        assert!(
            e.starts_with(&format!("t.toml:{line}: key `cloud.addr`")) && e.contains("[cluster]"),
            "{e}"
        );
        let bad = format!(
            "{BASE}{CLUSTER}{}",
            CLOUD.replace("127.0.0.1:7400", "cloud")
        );
        let e = parse_text(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "t.toml:{}: key `cloud.addr`",
                line_of(&bad, "addr =")
            )),
            "{e}"
        );
        let bad = format!(
            "{BASE}{CLUSTER}{}",
            CLOUD.replace("cloud.keel", "not a name")
        );
        let e = parse_text(&bad).unwrap_err().to_string();
        assert!(e.contains("key `cloud.server_name`"), "{e}");
        for v in ["0", "100", "99999999", "-1"] {
            let bad = format!("{BASE}{CLUSTER}{CLOUD}batch_bytes = {v}\n");
            let e = parse_text(&bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "t.toml:{}: key `cloud.batch_bytes`",
                    line_of(&bad, "batch_bytes")
                )),
                "{e}"
            );
        }
        let bad = format!("{BASE}{CLUSTER}{CLOUD}retry_max_ms = 5\n");
        assert!(parse_text(&bad)
            .unwrap_err()
            .to_string()
            .contains("key `cloud.retry_max_ms`"));
        let bad = format!("{BASE}{CLUSTER}{CLOUD}colour = 1\n");
        let e = parse_text(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("t.toml:{}:", line_of(&bad, "colour"))) && e.contains("colour"),
            "{e}"
        );
        let bad = format!("{BASE}{CLUSTER}[cloud]\naddr = \"127.0.0.1:7400\"\n");
        let e = parse_text(&bad).unwrap_err().to_string();
        assert!(e.contains("server_name"), "{e}");
        let bad = format!("{BASE}\n[health]\nlisten = \"everywhere\"\n");
        let e = parse_text(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "t.toml:{}: key `health.listen`",
                line_of(&bad, "listen =")
            )),
            "{e}"
        );
    }
}
