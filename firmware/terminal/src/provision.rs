//! `keel provision`: makes a store's identities and ready-to-run terminal
//! configurations. Writes a store CA and, per terminal, a certificate and key
//! signed by it plus a `terminal.toml` naming every other terminal as a static
//! peer, so `keel console --config DIR/t<n>/terminal.toml` starts it.
//!
//! With `--operator CLOUD_DIR` (a directory written by `keel-cloud init`) the store
//! CA is issued by the operator CA found there instead of being self-signed, each
//! terminal's certificate file holds its chain (leaf, then the store CA) and each
//! config gets a `[cloud]` section (the cloud's address, its server name and the
//! operator CA) and a `[health]` section (the terminal's health endpoint, TCP
//! `host:base_port + 100 + n`).
//!
//! Layout written under `--out DIR`:
//! - `store-ca.pem`, `store-ca-key.pem` (keep the key off the terminals in production)
//! - `t<n>/terminal.toml`, `t<n>/terminal.pem`, `t<n>/terminal-key.pem`, `t<n>/store-ca.pem`
//! - with an operator: `operator-ca.pem`, `uplink.toml` (the cloud's address and server
//!   name, read again by `--add-terminal`) and `t<n>/operator-ca.pem`
//!
//! This module must not talk to the network or to the cloud service; it reads the
//! cloud's directory as files only.

use keel_cluster::identity::{IdentityError, OperatorCa, StoreCa};
use keel_core::ids::{StoreId, TerminalId};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File names in a cloud directory written by `keel-cloud init`.
pub mod cloud_dir {
    /// The operator CA certificate.
    pub const OPERATOR_CA: &str = "operator-ca.pem";
    /// The operator CA private key.
    pub const OPERATOR_CA_KEY: &str = "operator-ca-key.pem";
    /// The cloud's settings (server name and addresses).
    pub const CLOUD_TOML: &str = "cloud.toml";
}

/// The store directory's record of its cloud, read by `--add-terminal`.
const UPLINK_TOML: &str = "uplink.toml";

/// Offset of the health ports: terminal n serves health on TCP `base_port + 100 + n`.
pub const HEALTH_PORT_OFFSET: u16 = 100;

/// Where a store's uplink goes: the operator's cloud directory and, optionally, the
/// address to dial (default: the QUIC address in the cloud's `cloud.toml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorLink {
    /// The directory `keel-cloud init` wrote (operator CA and `cloud.toml`).
    pub cloud_dir: PathBuf,
    /// The cloud's QUIC address as terminals dial it.
    pub addr: Option<SocketAddr>,
}

/// A provisioning request: the plan, and the operator whose cloud the store syncs
/// with (`--operator`), if any. Dereferences to the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRequest {
    /// What to provision.
    pub plan: ProvisionPlan,
    /// The operator, if the store syncs with a cloud.
    pub operator: Option<OperatorLink>,
}

impl std::ops::Deref for ProvisionRequest {
    type Target = ProvisionPlan;

    fn deref(&self) -> &ProvisionPlan {
        &self.plan
    }
}

/// Something [`provision`] can provision: a plain plan (no cloud) or a request.
pub trait Provisioning {
    /// The plan.
    fn plan(&self) -> &ProvisionPlan;
    /// The operator, if any.
    fn operator(&self) -> Option<&OperatorLink>;
}

impl Provisioning for ProvisionPlan {
    fn plan(&self) -> &ProvisionPlan {
        self
    }

    fn operator(&self) -> Option<&OperatorLink> {
        None
    }
}

impl Provisioning for ProvisionRequest {
    fn plan(&self) -> &ProvisionPlan {
        &self.plan
    }

    fn operator(&self) -> Option<&OperatorLink> {
        self.operator.as_ref()
    }
}

/// What to provision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionPlan {
    /// Store id (lowercase letters, digits and '-').
    pub store: StoreId,
    /// Number of terminals (1..=64).
    pub terminals: u32,
    /// Output directory.
    pub out: PathBuf,
    /// Address the terminals listen on.
    pub host: IpAddr,
    /// UDP port of terminal 1; terminal n listens on `base_port + n - 1`.
    pub base_port: u16,
    /// Register and browse mDNS (`_keel._udp`).
    pub mdns: bool,
    /// Seed the demo catalog on terminal 1.
    pub demo_catalog: bool,
}

/// Errors provisioning.
#[derive(Debug, Error)]
pub enum ProvisionError {
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
    /// Certificate generation failed.
    #[error("certificates: {0}")]
    Identity(#[from] IdentityError),
    /// Writing a file failed.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    /// The operator's cloud directory is missing a file or holds a bad one.
    #[error("operator directory {dir}: {detail}")]
    Operator {
        /// The cloud directory.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The output directory already holds a store.
    #[error(
        "{0} already holds a provisioned store (store-ca.pem); choose another --out or remove it"
    )]
    Exists(PathBuf),
}

fn write(path: &Path, text: &str) -> Result<(), ProvisionError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ProvisionError::Write(parent.to_path_buf(), e))?;
    }
    std::fs::write(path, text).map_err(|e| ProvisionError::Write(path.to_path_buf(), e))?;
    #[cfg(unix)]
    if path.extension().is_some_and(|e| e == "pem") && path.to_string_lossy().contains("key") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| ProvisionError::Write(path.to_path_buf(), e))?;
    }
    Ok(())
}

/// The address terminal `n` listens on.
pub fn listen_addr(plan: &ProvisionPlan, n: u32) -> SocketAddr {
    SocketAddr::new(plan.host, plan.base_port + (n - 1) as u16)
}

/// The address terminal `n` serves its health endpoint on (TCP).
pub fn health_addr(plan: &ProvisionPlan, n: u32) -> SocketAddr {
    SocketAddr::new(plan.host, plan.base_port + HEALTH_PORT_OFFSET + n as u16)
}

/// The cloud a store syncs with, as its terminals' configs name it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
struct Uplink {
    /// The cloud's QUIC address.
    addr: SocketAddr,
    /// The name in the cloud's certificate.
    server_name: String,
}

/// The part of a cloud directory's `cloud.toml` provisioning needs.
#[derive(Deserialize)]
struct CloudToml {
    server_name: String,
    listen: SocketAddr,
}

/// Reads the operator CA and the cloud's address and name from `link.cloud_dir`.
fn load_operator(link: &OperatorLink) -> Result<(OperatorCa, Uplink), ProvisionError> {
    let dir = &link.cloud_dir;
    let bad = |detail: String| ProvisionError::Operator {
        dir: dir.clone(),
        detail,
    };
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| {
            bad(format!(
                "cannot read {name}: {e} (is it a directory written by `keel-cloud init`?)"
            ))
        })
    };
    let ca = OperatorCa::from_pem(
        &read(cloud_dir::OPERATOR_CA)?,
        &read(cloud_dir::OPERATOR_CA_KEY)?,
    )
    .map_err(|e| bad(e.to_string()))?;
    let cloud: CloudToml = toml::from_str(&read(cloud_dir::CLOUD_TOML)?)
        .map_err(|e| bad(format!("{}: {e}", cloud_dir::CLOUD_TOML)))?;
    // A cloud listening on every interface is dialed on loopback by default.
    let mut addr = link.addr.unwrap_or(cloud.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    Ok((
        ca,
        Uplink {
            addr,
            server_name: cloud.server_name,
        },
    ))
}

fn render_uplink(uplink: &Uplink) -> String {
    format!(
        "# The cloud this store syncs with, written by `keel provision --operator`.\naddr = \"{}\"\nserver_name = \"{}\"\n",
        uplink.addr, uplink.server_name
    )
}

/// The `[cloud]` and `[health]` sections of terminal `n`'s config.
fn render_cloud(plan: &ProvisionPlan, n: u32, uplink: &Uplink) -> String {
    format!(
        "\n[cloud]\naddr = \"{}\"\nserver_name = \"{}\"\nca_cert = \"operator-ca.pem\"\n\n[health]\nlisten = \"{}\"\n",
        uplink.addr,
        uplink.server_name,
        health_addr(plan, n)
    )
}

/// Writes the store. Returns the config paths, terminal 1 first.
///
/// Takes a [`ProvisionPlan`] (a store without a cloud) or a [`ProvisionRequest`].
pub fn provision(request: &impl Provisioning) -> Result<Vec<PathBuf>, ProvisionError> {
    let plan = request.plan();
    if !(1..=64).contains(&plan.terminals) {
        return Err(ProvisionError::Invalid(format!(
            "--terminals must be 1 to 64, got {}",
            plan.terminals
        )));
    }
    if u32::from(plan.base_port) + plan.terminals > 65_535 || plan.base_port == 0 {
        return Err(ProvisionError::Invalid(
            "--base-port leaves no room for every terminal".into(),
        ));
    }
    let operator = request.operator().map(load_operator).transpose()?;
    if operator.is_some()
        && u32::from(plan.base_port) + u32::from(HEALTH_PORT_OFFSET) + plan.terminals > 65_535
    {
        return Err(ProvisionError::Invalid(
            "--base-port leaves no room for the health ports (base + 100 + n)".into(),
        ));
    }
    if plan.out.join("store-ca.pem").exists() {
        return Err(ProvisionError::Exists(plan.out.clone()));
    }
    let ca = match &operator {
        Some((op, _)) => op.issue_store_ca(&plan.store)?,
        None => StoreCa::generate(&plan.store)?,
    };
    let users = users_block()?;
    write(&plan.out.join("store-ca.pem"), &ca.cert_pem())?;
    write(&plan.out.join("store-ca-key.pem"), &ca.key_pem())?;
    if let Some((op, uplink)) = &operator {
        write(&plan.out.join(cloud_dir::OPERATOR_CA), &op.cert_pem())?;
        write(&plan.out.join(UPLINK_TOML), &render_uplink(uplink))?;
    }
    let mut configs = Vec::new();
    for n in 1..=plan.terminals {
        let dir = plan.out.join(format!("t{n}"));
        let id = ca.issue_terminal(TerminalId(n))?;
        write(&dir.join("terminal.pem"), &id.cert_pem)?;
        write(&dir.join("terminal-key.pem"), &id.key_pem)?;
        write(&dir.join("store-ca.pem"), &ca.cert_pem())?;
        let mut text = render_config(plan, n, &users);
        if let Some((op, uplink)) = &operator {
            write(&dir.join(cloud_dir::OPERATOR_CA), &op.cert_pem())?;
            text.push_str(&render_cloud(plan, n, uplink));
        }
        let path = dir.join("terminal.toml");
        write(&path, &text)?;
        configs.push(path);
    }
    Ok(configs)
}

/// Adds terminal `n` to a store provisioned in `out`: issues its certificate with
/// the store CA found there and writes `t<n>/terminal.toml` with `join = true`
/// (it waits for `cluster add <n>` on any terminal) and terminals 1..n-1 as
/// static peers. A store provisioned with an operator (`uplink.toml` in `out`) gets
/// the chained certificate and the `[cloud]` and `[health]` sections too. Returns the
/// config path.
pub fn provision_add(
    out: &Path,
    n: u32,
    host: IpAddr,
    base_port: u16,
    mdns: bool,
) -> Result<PathBuf, ProvisionError> {
    let read = |name: &str| {
        std::fs::read_to_string(out.join(name))
            .map_err(|e| ProvisionError::Write(out.join(name), e))
    };
    let ca = StoreCa::from_pem(&read("store-ca.pem")?, &read("store-ca-key.pem")?)?;
    if !(2..=64).contains(&n) {
        return Err(ProvisionError::Invalid(format!(
            "--add-terminal must be 2 to 64, got {n}"
        )));
    }
    let dir = out.join(format!("t{n}"));
    if dir.join("terminal.toml").exists() {
        return Err(ProvisionError::Invalid(format!(
            "{} already exists",
            dir.join("terminal.toml").display()
        )));
    }
    let plan = ProvisionPlan {
        store: ca.store().clone(),
        terminals: n,
        out: out.to_path_buf(),
        host,
        base_port,
        mdns,
        demo_catalog: false,
    };
    let uplink = if out.join(UPLINK_TOML).exists() {
        let text = read(UPLINK_TOML)?;
        let uplink: Uplink = toml::from_str(&text).map_err(|e| ProvisionError::Operator {
            dir: out.to_path_buf(),
            detail: format!("{UPLINK_TOML}: {e}"),
        })?;
        if !ca.operator_issued() {
            return Err(ProvisionError::Operator {
                dir: out.to_path_buf(),
                detail: format!(
                    "{UPLINK_TOML} is present but store-ca.pem is not issued by an operator CA"
                ),
            });
        }
        Some((read(cloud_dir::OPERATOR_CA)?, uplink))
    } else {
        None
    };
    if uplink.is_some() && u32::from(base_port) + u32::from(HEALTH_PORT_OFFSET) + n > 65_535 {
        return Err(ProvisionError::Invalid(
            "--base-port leaves no room for the health port (base + 100 + n)".into(),
        ));
    }
    let id = ca.issue_terminal(TerminalId(n))?;
    write(&dir.join("terminal.pem"), &id.cert_pem)?;
    write(&dir.join("terminal-key.pem"), &id.key_pem)?;
    write(&dir.join("store-ca.pem"), &ca.cert_pem())?;
    let mut text = render_config(&plan, n, &users_block()?);
    text = text.replace("[cluster]\n", "[cluster]\njoin = true\n");
    if let Some((operator_pem, uplink)) = &uplink {
        write(&dir.join(cloud_dir::OPERATOR_CA), operator_pem)?;
        text.push_str(&render_cloud(&plan, n, uplink));
    }
    let path = dir.join("terminal.toml");
    write(&path, &text)?;
    Ok(path)
}

/// A PBKDF2 hash of `pin` with a fresh random salt (what `keel hash-pin` prints).
pub fn hash_pin(pin: &str) -> Result<String, ProvisionError> {
    use ring::rand::SecureRandom;
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| ProvisionError::Invalid("no system randomness for a PIN salt".into()))?;
    Ok(keel_core::auth::hash_pin(
        pin,
        &salt,
        keel_core::auth::PIN_HASH_ITERATIONS,
    ))
}

/// The `[[users]]` of a provisioned store: the demo PINs, stored hashed.
fn users_block() -> Result<String, ProvisionError> {
    let mut out = String::new();
    for (id, name, role, pin) in [
        ("cashier", "Cashier", "cashier", "1111"),
        ("manager", "Manager", "manager", "9999"),
        ("technician", "Technician", "technician", "0000"),
    ] {
        out.push_str(&format!("[[users]]\nid = \"{id}\"\nname = \"{name}\"\nrole = \"{role}\"\npin_hash = \"{}\"  # demo PIN {pin}\n\n", hash_pin(pin)?));
    }
    Ok(out)
}

/// The `terminal.toml` of terminal `n`: the demo store's profile (EUR, German VAT,
/// demo PINs, hashed in `users`) with this store's id, the cluster section and every
/// other terminal as a static peer.
pub fn render_config(plan: &ProvisionPlan, n: u32, users: &str) -> String {
    let members: Vec<String> = (1..=plan.terminals).map(|m| m.to_string()).collect();
    let mut peers = String::new();
    for m in (1..=plan.terminals).filter(|m| *m != n) {
        peers.push_str(&format!(
            "\n[[cluster.peers]]\nid = {m}\naddr = \"{}\"\n",
            listen_addr(plan, m)
        ));
    }
    format!(
        r#"# Terminal {n} of store {store}, written by `keel provision`.
# Start it with: keel console --config {this}

[store]
id = "{store}"
name = "Keel Store {store}"
address = ["1 Harbour Road", "20457 Hamburg"]
currency = "EUR"
footer = "Thank you for shopping with Keel"
demo_catalog = {demo}

[terminal]
id = {n}
data_dir = "data"

[tax]
mode = "inclusive"
rounding = "half-up"
scope = "per-receipt"
rates = [
  {{ class = "standard", percent = "19", label = "A" }},
  {{ class = "reduced", percent = "7", label = "B" }},
  {{ class = "zero", percent = "0", label = "C" }},
]

[cards]
offline_per_transaction = "250.00"
offline_total = "2000.00"

{users}[cluster]
listen = "{listen}"
ca_cert = "store-ca.pem"
cert = "terminal.pem"
key = "terminal-key.pem"
mdns = {mdns}
members = [{members}]
{peers}"#,
        store = plan.store.0,
        this = plan
            .out
            .join(format!("t{n}"))
            .join("terminal.toml")
            .display(),
        demo = plan.demo_catalog && n == 1,
        listen = listen_addr(plan, n),
        mdns = plan.mdns,
        members = members.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisions_a_store_whose_configs_load() {
        let dir = tempfile::tempdir().unwrap();
        let plan = ProvisionPlan {
            store: StoreId("corner-shop".into()),
            terminals: 3,
            out: dir.path().join("store"),
            host: "127.0.0.1".parse().unwrap(),
            base_port: 17101,
            mdns: false,
            demo_catalog: true,
        };
        let configs = provision(&plan).unwrap();
        assert_eq!(configs.len(), 3);
        for (i, path) in configs.iter().enumerate() {
            let c = crate::config::load(path).unwrap();
            let cl = c.cluster.unwrap();
            assert_eq!(c.profile.terminal, TerminalId(i as u32 + 1));
            assert_eq!(cl.members.len(), 3);
            assert_eq!(cl.peers.len(), 2);
            assert_eq!(cl.listen.port(), 17101 + i as u16);
            assert_eq!(c.demo_catalog, i == 0);
            let id =
                keel_cluster::identity::TerminalIdentity::from_files(&cl.cert, &cl.key).unwrap();
            assert_eq!(
                id.names().unwrap(),
                (StoreId("corner-shop".into()), TerminalId(i as u32 + 1))
            );
        }
        assert!(matches!(provision(&plan), Err(ProvisionError::Exists(_))));
        let bad = ProvisionPlan {
            store: StoreId("Corner Shop".into()),
            out: dir.path().join("x"),
            ..plan
        };
        assert!(provision(&bad).is_err());
    }

    fn cloud_dir(root: &Path) -> (PathBuf, OperatorCa) {
        let dir = root.join("cloud");
        std::fs::create_dir_all(&dir).unwrap();
        let op = OperatorCa::generate().unwrap();
        std::fs::write(dir.join(cloud_dir::OPERATOR_CA), op.cert_pem()).unwrap();
        std::fs::write(dir.join(cloud_dir::OPERATOR_CA_KEY), op.key_pem()).unwrap();
        std::fs::write(
            dir.join(cloud_dir::CLOUD_TOML),
            "server_name = \"cloud.keel\"\nlisten = \"0.0.0.0:7400\"\nhttp = \"127.0.0.1:7480\"\n",
        )
        .unwrap();
        (dir, op)
    }

    #[test]
    fn provisions_a_store_of_an_operator() {
        let root = tempfile::tempdir().unwrap();
        let (cloud, _op) = cloud_dir(root.path());
        let req = ProvisionRequest {
            plan: ProvisionPlan {
                store: StoreId("s1".into()),
                terminals: 2,
                out: root.path().join("store"),
                host: "127.0.0.1".parse().unwrap(),
                base_port: 17201,
                mdns: false,
                demo_catalog: false,
            },
            operator: Some(OperatorLink {
                cloud_dir: cloud.clone(),
                addr: None,
            }),
        };
        let configs = provision(&req).unwrap();
        let text = std::fs::read_to_string(&configs[1]).unwrap();
        assert!(text.contains("\n[cloud]\naddr = \"127.0.0.1:7400\"\nserver_name = \"cloud.keel\"\nca_cert = \"operator-ca.pem\"\n"), "{text}");
        assert!(
            text.contains("\n[health]\nlisten = \"127.0.0.1:17303\"\n"),
            "{text}"
        );
        for (i, path) in configs.iter().enumerate() {
            let c = crate::config::load(path).unwrap();
            let cl = c.cluster.unwrap();
            let id =
                keel_cluster::identity::TerminalIdentity::from_files(&cl.cert, &cl.key).unwrap();
            assert_eq!(
                keel_cluster::cloud::verify_store_client(&id.chain_der().unwrap()).unwrap(),
                (StoreId("s1".into()), TerminalId(i as u32 + 1))
            );
            assert!(path.parent().unwrap().join("operator-ca.pem").exists());
        }
        // An added terminal keeps the operator and the cloud.
        let added = provision_add(
            &root.path().join("store"),
            3,
            "127.0.0.1".parse().unwrap(),
            17201,
            false,
        )
        .unwrap();
        let text = std::fs::read_to_string(&added).unwrap();
        assert!(
            text.contains("[cloud]") && text.contains("127.0.0.1:17304"),
            "{text}"
        );
        let id = keel_cluster::identity::TerminalIdentity::from_files(
            &added.parent().unwrap().join("terminal.pem"),
            &added.parent().unwrap().join("terminal-key.pem"),
        )
        .unwrap();
        keel_cluster::cloud::verify_store_client(&id.chain_der().unwrap()).unwrap();
        // --cloud overrides the address; a directory without an operator is refused.
        let req2 = ProvisionRequest {
            plan: ProvisionPlan {
                out: root.path().join("store2"),
                ..req.plan.clone()
            },
            operator: Some(OperatorLink {
                cloud_dir: cloud,
                addr: Some("127.0.0.1:9999".parse().unwrap()),
            }),
        };
        let configs = provision(&req2).unwrap();
        assert!(std::fs::read_to_string(&configs[0])
            .unwrap()
            .contains("addr = \"127.0.0.1:9999\""));
        let req3 = ProvisionRequest {
            plan: ProvisionPlan {
                out: root.path().join("store3"),
                ..req.plan
            },
            operator: Some(OperatorLink {
                cloud_dir: root.path().join("nothing"),
                addr: None,
            }),
        };
        let err = provision(&req3).unwrap_err();
        assert!(err.to_string().contains("keel-cloud init"), "{err}");
        assert!(!root.path().join("store3").exists());
    }
}
