//! The `keel-bundle` commands: keygen, sign, inspect.
//!
//! Each returns the text to print and whether the command succeeded; the
//! binary prints and picks the exit status. Owns only the glue between the
//! command line and `keel_ota`; it must not re-implement any check.

use crate::cli::{Payloads, SignArgs};
use crate::model_dir::{list_files, ModelDirError};
use keel_ota::bundle::{write_bundle_file, BundleSpec, PayloadData, PayloadInput, WriteError};
use keel_ota::install::verify_payloads;
use keel_ota::keys::{encode_hex, generate, KeyError, PublicKey, SigningKey};
use keel_ota::manifest::BundleManifest;
use keel_ota::verify::{read_raw_header, BundleError, RawHeader};
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A command that could not do its job (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A key could not be made, read or written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The model directory could not be listed.
    #[error(transparent)]
    ModelDir(#[from] ModelDirError),
    /// The bundle could not be written.
    #[error("{path}: {source}")]
    Write {
        /// The bundle file.
        path: PathBuf,
        /// The cause.
        source: WriteError,
    },
    /// The bundle could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The bundle file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bundle's header is unreadable.
    #[error("{path}: {source}")]
    Header {
        /// The bundle file.
        path: PathBuf,
        /// The cause.
        source: BundleError,
    },
}

/// What a command prints, and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text for standard output.
    pub text: String,
    /// False when the command ran but found a problem (bad signature or
    /// payload): exit status 1.
    pub ok: bool,
}

impl Outcome {
    fn ok(text: String) -> Outcome {
        Outcome { text, ok: true }
    }
}

/// `keygen --out BASE`: writes `BASE.pk8` and `BASE.pub`.
pub fn keygen(base: &Path) -> Result<Outcome, CommandError> {
    let key = generate(&ring::rand::SystemRandom::new())?;
    let (private, public) = key.save(base)?;
    Ok(Outcome::ok(format!(
        "wrote {} (private, mode 0600: keep it offline) and {} (public); key id {}",
        private.display(),
        public.display(),
        key.public_key().key_id()
    )))
}

/// `sign`: makes a bundle; `now_unix_ms` is used unless the arguments fix
/// the creation time.
pub fn sign(args: &SignArgs, now_unix_ms: u64) -> Result<Outcome, CommandError> {
    let key = SigningKey::load(&args.key)?;
    let named: Vec<(String, PathBuf)> = match &args.payloads {
        Payloads::Files(files) => files.clone(),
        Payloads::ModelDir(dir) => list_files(dir)?,
    };
    let payloads: Vec<PayloadInput> = named
        .into_iter()
        .map(|(name, path)| PayloadInput {
            name,
            data: PayloadData::File(path),
        })
        .collect();
    let spec = BundleSpec {
        kind: args.kind,
        version: args.version,
        min_version: args.min_version,
        boards: args.boards.clone(),
        created_unix_ms: args.created_unix_ms.unwrap_or(now_unix_ms),
    };
    let manifest = write_bundle_file(&args.out, &key, &spec, &payloads).map_err(|source| {
        CommandError::Write {
            path: args.out.clone(),
            source,
        }
    })?;
    Ok(Outcome::ok(format!(
        "signed {} bundle {} for {}: {} payload(s), {} bytes, key id {} -> {}",
        manifest.kind,
        manifest.version,
        manifest.boards.join(", "),
        manifest.payloads.len(),
        manifest.total_size().unwrap_or(0),
        manifest.key_id,
        args.out.display()
    )))
}

/// What `inspect` found.
struct Inspection {
    raw: RawHeader,
    payloads: Result<(), BundleError>,
    signature: Option<(PublicKey, bool)>,
}

/// `inspect FILE [--pubkey P] [--json]`.
pub fn inspect(file: &Path, pubkey: Option<&Path>, json: bool) -> Result<Outcome, CommandError> {
    let key = pubkey.map(PublicKey::load).transpose()?;
    let open = |source| CommandError::Open {
        path: file.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(file).map_err(open)?);
    let raw = read_raw_header(&mut reader).map_err(|source| CommandError::Header {
        path: file.to_path_buf(),
        source,
    })?;
    reader.seek(SeekFrom::Start(raw.len())).map_err(open)?;
    let payloads = verify_payloads(&mut reader, &raw.manifest, raw.len());
    let signature = key.map(|k| (k, raw.signed_by(&k)));
    let found = Inspection {
        raw,
        payloads,
        signature,
    };
    let ok = found.payloads.is_ok() && found.signature.is_none_or(|(_, good)| good);
    let text = if json {
        inspection_json(&found)
    } else {
        inspection_text(&found)
    };
    Ok(Outcome { text, ok })
}

fn signature_line(signature: &Option<(PublicKey, bool)>, manifest: &BundleManifest) -> String {
    match signature {
        None => "not checked (give --pubkey)".into(),
        Some((key, true)) => format!("valid (key {})", key.key_id()),
        Some((key, false)) if key.key_id() != manifest.key_id => format!(
            "INVALID: signed by key {}, not by the given key {}",
            manifest.key_id,
            key.key_id()
        ),
        Some((key, false)) => format!("INVALID: not signed by key {} (tampered)", key.key_id()),
    }
}

fn inspection_text(found: &Inspection) -> String {
    let m = &found.raw.manifest;
    let mut lines = vec![
        format!("kind:        {}", m.kind),
        format!("version:     {}", m.version),
        format!(
            "min_version: {}",
            m.min_version.map_or("(none)".into(), |v| v.to_string())
        ),
        format!("boards:      {}", m.boards.join(", ")),
        format!("created:     {} (unix ms)", m.created_unix_ms),
        format!("key_id:      {}", m.key_id),
        format!(
            "payloads:    {} ({} bytes)",
            m.payloads.len(),
            m.total_size().unwrap_or(0)
        ),
    ];
    for p in &m.payloads {
        lines.push(format!(
            "  {:>12}  {}  {}",
            p.size,
            encode_hex(&p.sha256),
            p.name
        ));
    }
    lines.push(format!(
        "contents:    {}",
        match &found.payloads {
            Ok(()) => "ok (sizes and SHA-256 match, nothing trailing)".into(),
            Err(e) => format!("BAD: {e}"),
        }
    ));
    lines.push(format!(
        "signature:   {}",
        signature_line(&found.signature, m)
    ));
    lines.join("\n")
}

fn inspection_json(found: &Inspection) -> String {
    let m = &found.raw.manifest;
    let payloads: Vec<serde_json::Value> = m
        .payloads
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "size": p.size,
                "sha256": encode_hex(&p.sha256),
            })
        })
        .collect();
    let value = serde_json::json!({
        "format": keel_ota::manifest::FORMAT,
        "kind": m.kind.as_str(),
        "version": m.version.to_string(),
        "min_version": m.min_version.map(|v| v.to_string()),
        "boards": m.boards,
        "created_unix_ms": m.created_unix_ms,
        "key_id": m.key_id.to_string(),
        "payloads": payloads,
        "total_size": m.total_size(),
        "contents_ok": found.payloads.is_ok(),
        "contents_error": found.payloads.as_ref().err().map(|e| e.to_string()),
        "signature": match found.signature {
            None => "not checked",
            Some((_, true)) => "valid",
            Some((_, false)) => "invalid",
        },
        "signature_detail": signature_line(&found.signature, m),
    });
    serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
