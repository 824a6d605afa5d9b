//! The dev image's OTA signing key: made once with `keel-bundle keygen`
//! under `target/image/keys/`, reused by later builds, its public half
//! installed in the image's `/etc/keel/ota-keys/` so bundles the boot test
//! signs are accepted.
//!
//! A development key only: it lives unencrypted in the build tree. A
//! production image gets the operator's public keys; this module must not
//! be used for one, and it must never put the private key into the image.

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The key pair's base name under `target/image/keys/`.
pub const KEY_NAME: &str = "keel-dev";

/// The dev key pair's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevKey {
    /// `keel-dev.pk8`: the private key (mode 0600, never on the image).
    pub private: PathBuf,
    /// `keel-dev.pub`: 64 hex characters, for `/etc/keel/ota-keys/`.
    pub public: PathBuf,
}

/// The dev key's files in `keys_dir`.
pub fn paths(keys_dir: &Path) -> DevKey {
    DevKey {
        private: keys_dir.join(format!("{KEY_NAME}.pk8")),
        public: keys_dir.join(format!("{KEY_NAME}.pub")),
    }
}

/// Builds keel-bundle (a no-op when it is up to date) and returns its path.
pub fn keel_bundle() -> Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo
        .args(["build", "--locked", "-p", "keel-bundle"])
        .stdin(Stdio::null());
    cmd::run(&mut cargo).context("building keel-bundle")?;
    Ok(cmd::repo_root().join("target/debug/keel-bundle"))
}

/// Returns the dev key in `keys_dir`, making it with `keel-bundle keygen`
/// when either half is missing.
pub fn ensure(keel_bundle: &Path, keys_dir: &Path) -> Result<DevKey> {
    let key = paths(keys_dir);
    if key.private.is_file() && key.public.is_file() {
        return Ok(key);
    }
    std::fs::create_dir_all(keys_dir)
        .with_context(|| format!("creating {}", keys_dir.display()))?;
    cmd::run(
        std::process::Command::new(keel_bundle)
            .arg("keygen")
            .arg("--out")
            .arg(keys_dir.join(KEY_NAME))
            .stdin(Stdio::null()),
    )
    .context("making the dev OTA signing key")?;
    if !(key.private.is_file() && key.public.is_file()) {
        return Err(Error::msg(format!(
            "keel-bundle keygen did not write {} and {}",
            key.private.display(),
            key.public.display()
        )));
    }
    Ok(key)
}

/// A public key the image's terminal trusts: its file name in
/// `/etc/keel/ota-keys/` and the file it is copied from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// The file name in `/etc/keel/ota-keys/` (ends in `.pub`).
    pub name: String,
    /// The `.pub` file on the build machine.
    pub path: PathBuf,
}

/// Checks an operator's public key file (`--ota-key`): a `.pub` file holding
/// the 64 hex characters `keel-bundle keygen` writes, and never a private key.
pub fn operator_key(path: &Path) -> Result<TrustedKey> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".pub") && n.len() > ".pub".len())
        .ok_or_else(|| {
            Error::usage(format!(
                "--ota-key {}: not a .pub file (give the public half `keel-bundle keygen` wrote)",
                path.display()
            ))
        })?
        .to_string();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the OTA public key {}", path.display()))?;
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::usage(format!(
            "--ota-key {}: not a public key (expected 64 hex characters, as `keel-bundle keygen` writes)",
            path.display()
        )));
    }
    Ok(TrustedKey {
        name,
        path: path.to_path_buf(),
    })
}

/// Refuses two trusted keys with the same file name: the second would
/// silently replace the first in `/etc/keel/ota-keys/`.
pub fn check_names_unique(keys: &[TrustedKey]) -> Result<()> {
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].iter().any(|k| k.name == key.name) {
            return Err(Error::usage(format!(
                "two OTA keys named {}: rename one (the image keeps keys by file name)",
                key.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_keys_must_be_public_keys_in_pub_files() {
        let dir = scratch("operator");
        let good = dir.join("keel-release.pub");
        std::fs::write(&good, format!("{}\n", "ab".repeat(32))).unwrap();
        let key = operator_key(&good).unwrap();
        assert_eq!(key.name, "keel-release.pub");
        let private = dir.join("keel-release.pk8");
        std::fs::write(&private, [0x30u8, 0x51, 0x02, 0x01]).unwrap();
        assert_eq!(operator_key(&private).unwrap_err().exit_code, 2);
        let short = dir.join("short.pub");
        std::fs::write(&short, "abcd").unwrap();
        assert_eq!(operator_key(&short).unwrap_err().exit_code, 2);
        assert!(operator_key(&dir.join("missing.pub")).is_err());
        assert!(check_names_unique(&[key.clone()]).is_ok());
        assert_eq!(
            check_names_unique(&[key.clone(), key])
                .unwrap_err()
                .exit_code,
            2
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_files_are_named_after_the_key() {
        let k = paths(Path::new("/x/keys"));
        assert_eq!(k.private, PathBuf::from("/x/keys/keel-dev.pk8"));
        assert_eq!(k.public, PathBuf::from("/x/keys/keel-dev.pub"));
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("keel-ota-key-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_existing_key_is_reused_without_running_keygen() {
        let dir = scratch("reuse");
        let k = paths(&dir);
        std::fs::write(&k.private, b"private").unwrap();
        std::fs::write(&k.public, b"public").unwrap();
        // A keygen that does not exist: reaching it would fail.
        let got = ensure(Path::new("/nonexistent/keel-bundle"), &dir).unwrap();
        assert_eq!(got, k);
        assert_eq!(std::fs::read(&k.public).unwrap(), b"public");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_half_runs_keygen() {
        let dir = scratch("half");
        std::fs::write(paths(&dir).public, b"public").unwrap();
        assert!(ensure(Path::new("/nonexistent/keel-bundle"), &dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
