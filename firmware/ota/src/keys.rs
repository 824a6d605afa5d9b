//! Ed25519 signing keys for bundles, their files and their key ids.
//!
//! Owns key generation (randomness handed in), the key file formats
//! (`NAME.pk8`: ring's PKCS#8 v2 document; `NAME.pub`: 64 lowercase hex
//! characters and a newline) and the key id (hex of the first 8 bytes of
//! SHA-256 of the public key). It must not decide whether a key is trusted:
//! the caller hands the verifier its trusted keys.

use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Length of an Ed25519 public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// What went wrong making, reading or writing a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The random source failed while generating a key.
    #[error("generating an Ed25519 key failed (random source)")]
    Generate,
    /// The private key file is not an Ed25519 PKCS#8 v2 document.
    #[error("{path}: not an Ed25519 PKCS#8 v2 private key ({reason})")]
    BadPrivateKey {
        /// The file (or `<memory>`).
        path: String,
        /// ring's reason.
        reason: String,
    },
    /// The public key text is not 64 hex characters.
    #[error("{path}: not an Ed25519 public key (expected 64 hex characters): {reason}")]
    BadPublicKey {
        /// The file (or `<memory>`).
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key file already exists; keys are never overwritten.
    #[error("{0}: already exists, refusing to overwrite a key")]
    Exists(PathBuf),
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// An Ed25519 public key that verifies bundle signatures.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

/// Which key signed a bundle: the first 8 bytes of SHA-256 of its public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// Parses the 16 lowercase (or uppercase) hex characters of a key id.
    pub fn from_hex(text: &str) -> Option<KeyId> {
        let mut id = [0u8; 8];
        decode_hex(text, &mut id).then_some(KeyId(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_hex(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl PublicKey {
    /// A public key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; PUBLIC_KEY_LEN]) -> PublicKey {
        PublicKey(bytes)
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// The key's id (what a manifest's `key_id` names).
    pub fn key_id(&self) -> KeyId {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest.as_ref()[..8]);
        KeyId(id)
    }

    /// Parses the text of a `.pub` file: 64 hex characters, surrounding
    /// whitespace ignored.
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        Self::parse_text(text, "<memory>")
    }

    /// The key as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        encode_hex(&self.0)
    }

    /// Reads a `.pub` file.
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_text(&text, &path.display().to_string())
    }

    /// Reads every `*.pub` file of a directory (sorted by name): the keys a
    /// terminal trusts (`/etc/keel/ota-keys` in the image).
    pub fn load_dir(dir: &Path) -> Result<Vec<PublicKey>, KeyError> {
        let io = |source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "pub") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        paths.iter().map(|p| PublicKey::load(p)).collect()
    }

    /// Whether `signature` is this key's Ed25519 signature over `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    fn parse_text(text: &str, path: &str) -> Result<PublicKey, KeyError> {
        let text = text.trim();
        let bad = |reason| KeyError::BadPublicKey {
            path: path.to_string(),
            reason,
        };
        if text.len() != 2 * PUBLIC_KEY_LEN {
            return Err(bad("wrong length"));
        }
        let mut key = [0u8; PUBLIC_KEY_LEN];
        if !decode_hex(text, &mut key) {
            return Err(bad("not hex"));
        }
        Ok(PublicKey(key))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

/// An Ed25519 private key that signs bundles.
pub struct SigningKey {
    pkcs8: Vec<u8>,
    pair: Ed25519KeyPair,
}

/// Makes a new signing key from `rng` (ring's `SystemRandom` in the tool).
pub fn generate(rng: &dyn SecureRandom) -> Result<SigningKey, KeyError> {
    let document = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| KeyError::Generate)?;
    SigningKey::from_pkcs8(document.as_ref())
}

impl SigningKey {
    /// A key from ring's PKCS#8 v2 document (the content of a `.pk8` file).
    pub fn from_pkcs8(document: &[u8]) -> Result<SigningKey, KeyError> {
        Self::parse(document, "<memory>")
    }

    fn parse(document: &[u8], path: &str) -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(document).map_err(|e| KeyError::BadPrivateKey {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        Ok(SigningKey {
            pkcs8: document.to_vec(),
            pair,
        })
    }

    /// Reads a `.pk8` file.
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let document = fs::read(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&document, &path.display().to_string())
    }

    /// Writes `BASE.pk8` (mode 0600) and `BASE.pub`; refuses to overwrite
    /// either. Returns the two paths.
    pub fn save(&self, base: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
        let private = with_suffix(base, "pk8");
        let public = with_suffix(base, "pub");
        for path in [&private, &public] {
            if path.exists() {
                return Err(KeyError::Exists(path.clone()));
            }
        }
        write_new(&private, &self.pkcs8, 0o600)?;
        write_new(
            &public,
            format!("{}\n", self.public_key().to_hex()).as_bytes(),
            0o644,
        )?;
        Ok((private, public))
    }

    /// The PKCS#8 document (what `save` writes into `.pk8`).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; PUBLIC_KEY_LEN];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(self.pair.sign(message).as_ref());
        signature
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key().to_hex())
    }
}

/// `base` with `.suffix` appended to its file name (`keys/release` ->
/// `keys/release.pk8`).
fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates `path` (never overwriting) with `mode`, writes and fsyncs it.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Lowercase hex of `bytes`.
pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    text
}

/// Decodes hex `text` into exactly `out.len()` bytes; false when the length
/// or a character is wrong.
pub fn decode_hex(text: &str, out: &mut [u8]) -> bool {
    let text = text.as_bytes();
    if text.len() != out.len() * 2 {
        return false;
    }
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        match (hex_value(pair[0]), hex_value(pair[1])) {
            (Some(hi), Some(lo)) => *byte = hi << 4 | lo,
            _ => return false,
        }
    }
    true
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn sign_verify_and_files_round_trip() {
        let key = generate(&SystemRandom::new()).unwrap();
        let signature = key.sign(b"bundle");
        assert!(key.public_key().verifies(b"bundle", &signature));
        assert!(!key.public_key().verifies(b"bundle!", &signature));

        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("release");
        let (private, public) = key.save(&base).unwrap();
        assert!(private.ends_with("release.pk8") && public.ends_with("release.pub"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = fs::read_to_string(&public).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        let loaded = SigningKey::load(&private).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert_eq!(PublicKey::load(&public).unwrap(), key.public_key());
        assert_eq!(
            PublicKey::load_dir(dir.path()).unwrap(),
            vec![key.public_key()]
        );
        assert!(matches!(key.save(&base), Err(KeyError::Exists(_))));
    }

    #[test]
    fn key_id_is_sha256_prefix_and_hex_round_trips() {
        let key = PublicKey::from_bytes([7; 32]);
        let digest = ring::digest::digest(&ring::digest::SHA256, &[7; 32]);
        assert_eq!(key.key_id().to_string(), encode_hex(&digest.as_ref()[..8]));
        assert_eq!(
            KeyId::from_hex(&key.key_id().to_string()),
            Some(key.key_id())
        );
        assert_eq!(PublicKey::from_hex(&key.to_hex()).unwrap(), key);
        assert!(PublicKey::from_hex("00").is_err());
        assert!(PublicKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
    }
}
