//! The cloud's directory: what `keel-cloud init` writes and how the service and
//! the admin commands read it back.
//!
//! Layout of `DIR`:
//! - `operator-ca.pem`, `operator-ca-key.pem`: the operator CA (keep the key with the
//!   operator; `keel provision --operator DIR` uses it to issue store CAs);
//! - `cloud.pem`, `cloud-key.pem`: the cloud's server certificate (DNS name
//!   `server_name`, plus 127.0.0.1 and the listen IP) and key;
//! - `admin-token`: the bearer token of the admin HTTP endpoints (mode 0600);
//! - `cloud.toml`: `server_name`, `listen` (QUIC), `http`, optionally `database_url`;
//! - `data/`: the embedded store (`data/cloud.redb`) when no database URL is given.
//!
//! This module owns those files. It must not open sockets or the database.

use keel_cluster::identity::{IdentityError, OperatorCa, ServerIdentity};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The operator CA certificate.
pub const OPERATOR_CA: &str = "operator-ca.pem";
/// The operator CA private key.
pub const OPERATOR_CA_KEY: &str = "operator-ca-key.pem";
/// The cloud's server certificate.
pub const SERVER_CERT: &str = "cloud.pem";
/// The cloud's server key.
pub const SERVER_KEY: &str = "cloud-key.pem";
/// The admin bearer token.
pub const ADMIN_TOKEN: &str = "admin-token";
/// The settings file.
pub const CLOUD_TOML: &str = "cloud.toml";
/// The embedded store's directory.
pub const DATA_DIR: &str = "data";

/// Default server name (the DNS name in the cloud's certificate).
pub const DEFAULT_SERVER_NAME: &str = "cloud.keel";
/// Default QUIC address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7400";
/// Default HTTP address.
pub const DEFAULT_HTTP: &str = "127.0.0.1:7480";

/// What `keel-cloud init` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitPlan {
    /// The directory to create.
    pub dir: PathBuf,
    /// DNS name in the server certificate.
    pub server_name: String,
    /// QUIC (UDP) address.
    pub listen: SocketAddr,
    /// HTTP (TCP) address.
    pub http: SocketAddr,
}

/// Errors of `init` and of reading the directory back.
#[derive(Debug, Error)]
pub enum DirError {
    /// The directory already exists and is not empty.
    #[error(
        "{0} already exists and is not empty; `keel-cloud init` never overwrites a cloud directory"
    )]
    Exists(PathBuf),
    /// Certificates could not be made or read.
    #[error("certificates: {0}")]
    Identity(#[from] IdentityError),
    /// A file cannot be written.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    /// A file cannot be read.
    #[error("cannot read {0}: {1} (is it a directory written by `keel-cloud init`?)")]
    Read(PathBuf, std::io::Error),
    /// `cloud.toml` is malformed.
    #[error("{0}: {1}")]
    Settings(PathBuf, String),
    /// No randomness for the admin token.
    #[error("no system randomness for the admin token")]
    Random,
}

/// The settings in `cloud.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// DNS name in the server certificate (what terminals dial).
    pub server_name: String,
    /// QUIC address.
    pub listen: SocketAddr,
    /// HTTP address.
    pub http: SocketAddr,
    /// PostgreSQL URL; none: the embedded store.
    pub database_url: Option<String>,
}

/// A cloud directory read back.
#[derive(Clone, Debug)]
pub struct CloudDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: Settings,
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), DirError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts
        .open(path)
        .map_err(|e| DirError::Write(path.to_path_buf(), e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| DirError::Write(path.to_path_buf(), e))
}

/// A fresh admin token: 32 random bytes, hex.
fn new_token() -> Result<String, DirError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| DirError::Random)?;
    Ok(keel_core::hex::encode(&bytes))
}

/// The `cloud.toml` text for a plan.
pub fn render_settings(plan: &InitPlan) -> String {
    format!(
        "# keel-cloud settings, written by `keel-cloud init`.\n\
         # server_name: the DNS name in cloud.pem, which terminals dial.\n\
         server_name = \"{}\"\n\
         # QUIC (UDP) address the stores' leaders connect to.\n\
         listen = \"{}\"\n\
         # HTTP address of /health, /status, /report and the admin endpoints.\n\
         http = \"{}\"\n\
         # PostgreSQL instead of the embedded store (or --database-url, or KEEL_CLOUD_DATABASE_URL):\n\
         # database_url = \"postgresql://keel@127.0.0.1:5432/keel\"\n",
        plan.server_name, plan.listen, plan.http
    )
}

/// Writes a new cloud directory. Everything is written into a sibling temporary
/// directory first and renamed into place, so a failure leaves nothing behind.
pub fn init(plan: &InitPlan) -> Result<(), DirError> {
    let dir = &plan.dir;
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(DirError::Exists(dir.clone()));
        }
    }
    let operator = OperatorCa::generate()?;
    let mut ips: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into()];
    if !plan.listen.ip().is_unspecified() && !ips.contains(&plan.listen.ip()) {
        ips.push(plan.listen.ip());
    }
    let server = operator.issue_server(&plan.server_name, &ips)?;
    let token = new_token()?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "cloud".into());
    let tmp = dir.with_file_name(format!(".{name}.init-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| DirError::Write(tmp.clone(), e))?;
    let result = (|| {
        write(&tmp.join(OPERATOR_CA), &operator.cert_pem(), false)?;
        write(&tmp.join(OPERATOR_CA_KEY), &operator.key_pem(), true)?;
        write(&tmp.join(SERVER_CERT), &server.cert_pem, false)?;
        write(&tmp.join(SERVER_KEY), &server.key_pem, true)?;
        write(&tmp.join(ADMIN_TOKEN), &format!("{token}\n"), true)?;
        write(&tmp.join(CLOUD_TOML), &render_settings(plan), false)?;
        std::fs::create_dir(tmp.join(DATA_DIR))
            .map_err(|e| DirError::Write(tmp.join(DATA_DIR), e))?;
        // An empty directory at `dir` is replaced; a non-empty one was refused above.
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(|e| DirError::Write(dir.clone(), e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| DirError::Write(dir.clone(), e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

impl CloudDir {
    /// Reads `dir/cloud.toml`.
    pub fn open(dir: &Path) -> Result<CloudDir, DirError> {
        let path = dir.join(CLOUD_TOML);
        let text = std::fs::read_to_string(&path).map_err(|e| DirError::Read(path.clone(), e))?;
        let settings: Settings =
            toml::from_str(&text).map_err(|e| DirError::Settings(path.clone(), e.to_string()))?;
        Ok(CloudDir {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    fn read(&self, name: &str) -> Result<String, DirError> {
        let path = self.dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| DirError::Read(path, e))
    }

    /// The operator CA certificate, PEM.
    pub fn operator_ca_pem(&self) -> Result<String, DirError> {
        self.read(OPERATOR_CA)
    }

    /// The cloud's server certificate and key.
    pub fn server_identity(&self) -> Result<ServerIdentity, DirError> {
        Ok(ServerIdentity::from_files(
            &self.dir.join(SERVER_CERT),
            &self.dir.join(SERVER_KEY),
        )?)
    }

    /// The admin token (surrounding whitespace removed).
    pub fn admin_token(&self) -> Result<String, DirError> {
        let token = self.read(ADMIN_TOKEN)?.trim().to_string();
        if token.len() < 16 {
            return Err(DirError::Settings(
                self.dir.join(ADMIN_TOKEN),
                "the admin token is missing or too short".into(),
            ));
        }
        Ok(token)
    }

    /// Where the embedded store lives.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(DATA_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_directory_that_reads_back_and_never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let plan = InitPlan {
            dir: root.path().join("cloud"),
            server_name: "cloud.keel".into(),
            listen: "127.0.0.1:7400".parse().unwrap(),
            http: "127.0.0.1:7480".parse().unwrap(),
        };
        init(&plan).unwrap();
        let d = CloudDir::open(&plan.dir).unwrap();
        assert_eq!(d.settings.listen, plan.listen);
        assert_eq!(d.settings.database_url, None);
        assert_eq!(d.admin_token().unwrap().len(), 64);
        d.server_identity().unwrap();
        OperatorCa::from_pem(
            &d.operator_ca_pem().unwrap(),
            &std::fs::read_to_string(plan.dir.join(OPERATOR_CA_KEY)).unwrap(),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [ADMIN_TOKEN, OPERATOR_CA_KEY, SERVER_KEY] {
                let mode = std::fs::metadata(plan.dir.join(f))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
        assert!(matches!(init(&plan), Err(DirError::Exists(_))));
        // Nothing left behind next to it.
        let names: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert!(CloudDir::open(&root.path().join("missing")).is_err());
    }
}
