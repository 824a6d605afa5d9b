//! The `keel-bundle` command line, parsed. Pure: arguments in, a [`Command`]
//! or a one-line [`UsageError`] out.

use keel_ota::manifest::BundleKind;
use keel_ota::version::Version;
use std::path::PathBuf;

/// Usage text.
pub const USAGE: &str = "usage:
  keel-bundle keygen --out PATH/NAME
  keel-bundle sign --key K.pk8 --kind firmware|model --version V --board B [--board B2]...
                   [--min-version V] [--created-unix-ms MS]
                   (--payload NAME=PATH [--payload NAME=PATH]... | --model-dir DIR) --out FILE
  keel-bundle inspect FILE [--pubkey P.pub] [--json]
  keel-bundle --version | help

  keygen   write NAME.pk8 (Ed25519 private key, PKCS#8, mode 0600; keep it offline)
           and NAME.pub (64 hex characters: install it in /etc/keel/ota-keys/)
  sign     make a signed bundle; a firmware bundle has one payload, rootfs=IMAGE.ext4;
           --model-dir DIR puts every regular file under DIR in a model bundle
           (relative names, sorted; --kind defaults to model)
  inspect  print the manifest and check the payloads' sizes and hashes; with --pubkey,
           whether the signature verifies with that key
  exit status: 0 success, 1 failure (including a bad signature or payload), 2 bad command line";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// Print the tool's version.
    Version,
    /// Make a key pair.
    Keygen {
        /// `PATH/NAME`: writes `NAME.pk8` and `NAME.pub`.
        out: PathBuf,
    },
    /// Make a signed bundle.
    Sign(SignArgs),
    /// Show and check a bundle.
    Inspect {
        /// The bundle.
        file: PathBuf,
        /// A public key to check the signature with.
        pubkey: Option<PathBuf>,
        /// Print JSON instead of text.
        json: bool,
    },
}

/// Where a bundle's payloads come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payloads {
    /// `--payload NAME=PATH`, in order.
    Files(Vec<(String, PathBuf)>),
    /// `--model-dir DIR`.
    ModelDir(PathBuf),
}

/// The arguments of `sign`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignArgs {
    /// The private key file.
    pub key: PathBuf,
    /// What the bundle installs.
    pub kind: BundleKind,
    /// Its version.
    pub version: Version,
    /// The boards it runs on.
    pub boards: Vec<String>,
    /// The oldest running version allowed to install it.
    pub min_version: Option<Version>,
    /// Creation time override (ms since the epoch); now when absent.
    pub created_unix_ms: Option<u64>,
    /// The payloads.
    pub payloads: Payloads,
    /// The bundle file to write.
    pub out: PathBuf,
}

/// A bad command line (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} (keel-bundle help for usage)")]
pub struct UsageError(pub String);

fn usage<T>(message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(message.into()))
}

/// Options and positionals of one command.
struct Args {
    opts: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Args {
    /// Splits `args`: `valued` options take the next argument, `flags` none.
    fn split(args: &[String], valued: &[&str], flags: &[&str]) -> Result<Args, UsageError> {
        let mut out = Args {
            opts: Vec::new(),
            positional: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if valued.contains(&a.as_str()) {
                let value = it
                    .next()
                    .ok_or_else(|| UsageError(format!("{a} needs a value")))?;
                out.opts.push((a.clone(), Some(value.clone())));
            } else if flags.contains(&a.as_str()) {
                out.opts.push((a.clone(), None));
            } else if a.starts_with("--") {
                return usage(format!("unknown option {a}"));
            } else {
                out.positional.push(a.clone());
            }
        }
        Ok(out)
    }

    fn one(&self, name: &str) -> Result<Option<&str>, UsageError> {
        let mut found = self
            .opts
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref());
        let first = found.next();
        if found.next().is_some() {
            return usage(format!("{name} given twice"));
        }
        Ok(first)
    }

    fn required(&self, name: &str, what: &str) -> Result<&str, UsageError> {
        self.one(name)?
            .ok_or_else(|| UsageError(format!("{name} {what} is required")))
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(k, _)| k == name)
    }

    fn no_positional(&self) -> Result<(), UsageError> {
        match self.positional.first() {
            Some(p) => usage(format!("unexpected argument {p:?}")),
            None => Ok(()),
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some((command, rest)) = args.split_first() else {
        return usage("no command given");
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "version" => Ok(Command::Version),
        "keygen" => {
            let a = Args::split(rest, &["--out"], &[])?;
            a.no_positional()?;
            Ok(Command::Keygen {
                out: PathBuf::from(a.required("--out", "PATH/NAME")?),
            })
        }
        "sign" => parse_sign(rest).map(Command::Sign),
        "inspect" => {
            let a = Args::split(rest, &["--pubkey"], &["--json"])?;
            let file = match a.positional.as_slice() {
                [file] => PathBuf::from(file),
                [] => return usage("inspect needs the bundle FILE"),
                [_, extra, ..] => return usage(format!("unexpected argument {extra:?}")),
            };
            Ok(Command::Inspect {
                file,
                pubkey: a.one("--pubkey")?.map(PathBuf::from),
                json: a.flag("--json"),
            })
        }
        other => usage(format!("unknown command {other:?}")),
    }
}

fn parse_sign(rest: &[String]) -> Result<SignArgs, UsageError> {
    let a = Args::split(
        rest,
        &[
            "--key",
            "--kind",
            "--version",
            "--board",
            "--min-version",
            "--created-unix-ms",
            "--payload",
            "--model-dir",
            "--out",
        ],
        &[],
    )?;
    a.no_positional()?;
    let version = |name: &str, text: &str| {
        Version::parse(text).map_err(|e| UsageError(format!("{name}: {e}")))
    };
    let files = a.all("--payload");
    let model_dir = a.one("--model-dir")?;
    let payloads = match (files.is_empty(), model_dir) {
        (true, None) => return usage("give --payload NAME=PATH or --model-dir DIR"),
        (false, Some(_)) => return usage("give --payload or --model-dir, not both"),
        (true, Some(dir)) => Payloads::ModelDir(PathBuf::from(dir)),
        (false, None) => Payloads::Files(
            files
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((name, path)) if !name.is_empty() && !path.is_empty() => {
                        Ok((name.to_string(), PathBuf::from(path)))
                    }
                    _ => usage(format!("--payload {p:?}: expected NAME=PATH")),
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let kind = match (a.one("--kind")?, &payloads) {
        (Some("firmware"), Payloads::ModelDir(_)) => {
            return usage("--model-dir makes a model bundle, not a firmware one")
        }
        (Some(k), _) => k
            .parse::<BundleKind>()
            .map_err(|_| UsageError(format!("--kind {k:?}: expected firmware or model")))?,
        (None, Payloads::ModelDir(_)) => BundleKind::Model,
        (None, Payloads::Files(_)) => return usage("--kind firmware|model is required"),
    };
    let boards: Vec<String> = a.all("--board").iter().map(|b| b.to_string()).collect();
    if boards.is_empty() {
        return usage("at least one --board is required");
    }
    let created_unix_ms = a
        .one("--created-unix-ms")?
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| UsageError(format!("--created-unix-ms {t:?}: not a number")))
        })
        .transpose()?;
    Ok(SignArgs {
        key: PathBuf::from(a.required("--key", "K.pk8")?),
        kind,
        version: version("--version", a.required("--version", "V")?)?,
        boards,
        min_version: a
            .one("--min-version")?
            .map(|t| version("--min-version", t))
            .transpose()?,
        created_unix_ms,
        payloads,
        out: PathBuf::from(a.required("--out", "FILE")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn sign_parses_every_option() {
        let cmd = parse(&args(
            "sign --key k.pk8 --kind firmware --version 1.2.0 --board qemu-x86_64 \
             --board generic-x86_64 --min-version 1.0.0 --payload rootfs=a.ext4 --out fw.bundle",
        ))
        .unwrap();
        let Command::Sign(s) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(s.kind, BundleKind::Firmware);
        assert_eq!(s.boards, ["qemu-x86_64", "generic-x86_64"]);
        assert_eq!(s.min_version, Some(Version::new(1, 0, 0)));
        assert_eq!(
            s.payloads,
            Payloads::Files(vec![("rootfs".into(), "a.ext4".into())])
        );
    }

    #[test]
    fn bad_lines_are_one_line_errors() {
        for (line, says) in [
            ("", "no command"),
            ("frobnicate", "unknown command"),
            ("keygen", "--out"),
            (
                "sign --key k --version 1.0.0 --board b --out o",
                "--payload",
            ),
            (
                "sign --key k --kind firmware --version 1.0 --board b --payload r=x --out o",
                "--version",
            ),
            (
                "sign --key k --kind firmware --version 1.0.0 --payload r=x --out o",
                "--board",
            ),
            (
                "sign --key k --kind firmware --version 1.0.0 --board b --payload rx --out o",
                "NAME=PATH",
            ),
            (
                "sign --key k --kind firmware --version 1.0.0 --board b --model-dir d --out o",
                "model",
            ),
            ("inspect", "FILE"),
            ("inspect a --frob", "unknown option"),
        ] {
            let e = parse(&args(line)).unwrap_err().to_string();
            assert!(e.contains(says), "{line:?}: {e}");
            assert!(!e.contains('\n'), "{line:?}: {e}");
        }
    }
}
