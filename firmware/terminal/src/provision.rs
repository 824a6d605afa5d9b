//! `keel provision`: makes a store's identities and ready-to-run terminal
//! configurations. Writes a store CA and, per terminal, a certificate and key
//! signed by it plus a `terminal.toml` naming every other terminal as a static
//! peer, so `keel console --config DIR/t<n>/terminal.toml` starts it.
//!
//! Layout written under `--out DIR`:
//! - `store-ca.pem`, `store-ca-key.pem` (keep the key off the terminals in production)
//! - `t<n>/terminal.toml`, `t<n>/terminal.pem`, `t<n>/terminal-key.pem`, `t<n>/store-ca.pem`

use keel_cluster::identity::{IdentityError, StoreCa};
use keel_core::ids::{StoreId, TerminalId};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use thiserror::Error;

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

/// Writes the store. Returns the config paths, terminal 1 first.
pub fn provision(plan: &ProvisionPlan) -> Result<Vec<PathBuf>, ProvisionError> {
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
    if plan.out.join("store-ca.pem").exists() {
        return Err(ProvisionError::Exists(plan.out.clone()));
    }
    let ca = StoreCa::generate(&plan.store)?;
    let users = users_block()?;
    write(&plan.out.join("store-ca.pem"), &ca.cert_pem())?;
    write(&plan.out.join("store-ca-key.pem"), &ca.key_pem())?;
    let mut configs = Vec::new();
    for n in 1..=plan.terminals {
        let dir = plan.out.join(format!("t{n}"));
        let id = ca.issue_terminal(TerminalId(n))?;
        write(&dir.join("terminal.pem"), &id.cert_pem)?;
        write(&dir.join("terminal-key.pem"), &id.key_pem)?;
        write(&dir.join("store-ca.pem"), &ca.cert_pem())?;
        let path = dir.join("terminal.toml");
        write(&path, &render_config(plan, n, &users))?;
        configs.push(path);
    }
    Ok(configs)
}

/// Adds terminal `n` to a store provisioned in `out`: issues its certificate with
/// the store CA found there and writes `t<n>/terminal.toml` with `join = true`
/// (it waits for `cluster add <n>` on any terminal) and terminals 1..n-1 as
/// static peers. Returns the config path.
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
    let id = ca.issue_terminal(TerminalId(n))?;
    write(&dir.join("terminal.pem"), &id.cert_pem)?;
    write(&dir.join("terminal-key.pem"), &id.key_pem)?;
    write(&dir.join("store-ca.pem"), &ca.cert_pem())?;
    let mut text = render_config(&plan, n, &users_block()?);
    text = text.replace("[cluster]\n", "[cluster]\njoin = true\n");
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
}
