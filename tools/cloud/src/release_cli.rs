//! `keel-cloud release ...`: the command line of OTA releases and the admin
//! client that runs it against the service.
//!
//! `release publish` reads the bundle's header locally (format, kind,
//! version, boards, size: no private key needed), hashes the file, then
//! uploads it to the running service in 1 MiB chunks (`release_http`); the
//! service checks it all again before publishing. Owns argument parsing and
//! the upload loop; must not decide release rules.

use crate::admin::{Action, AdminError};
use crate::cli::{CliError, Command, USAGE};
use crate::http;
use crate::init::CloudDir;
use crate::release::bundle_facts;
use crate::release_http::{BeginRequest, CHUNK_PATH};
use crate::store::release::CHUNK_BYTES;
use keel_uplink::release::{hex, Channel};
use ring::digest::{Context, SHA256};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Usage lines of the release commands.
pub const RELEASE_USAGE: &str = "  keel-cloud release publish --dir DIR --file BUNDLE --channel stable|beta --rollout PERCENT [--notes TEXT]
  keel-cloud release list --dir DIR [--json]
  keel-cloud release rollout --dir DIR ID PERCENT
  keel-cloud release withdraw --dir DIR ID
  keel-cloud release status --dir DIR ID [--json]";

/// A release command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseAction {
    /// Upload and publish a signed bundle.
    Publish {
        /// The bundle file.
        file: PathBuf,
        /// Its channel.
        channel: Channel,
        /// Rollout percentage.
        rollout: u8,
        /// Notes.
        notes: String,
    },
    /// List releases.
    List {
        /// JSON instead of the table.
        json: bool,
    },
    /// Change a rollout percentage.
    Rollout {
        /// Release.
        id: u64,
        /// New percentage.
        percent: u8,
    },
    /// Withdraw a release.
    Withdraw {
        /// Release.
        id: u64,
    },
    /// The terminals in a release's rollout with their state.
    Status {
        /// Release.
        id: u64,
        /// JSON instead of text.
        json: bool,
    },
}

fn err<T>(m: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(format!("{}\n{RELEASE_USAGE}", m.into())))
}

fn percent(v: &str) -> Result<u8, CliError> {
    match v.trim_end_matches('%').parse::<u8>() {
        Ok(p) if p <= 100 => Ok(p),
        _ => err(format!("a rollout is 0 to 100 (percent), got {v:?}")),
    }
}

fn id(v: &str) -> Result<u64, CliError> {
    v.parse()
        .or_else(|_| err(format!("a release id is a number, got {v:?}")))
}

/// Parses `release ...` (the arguments after `release`).
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    let valued = [
        "--dir",
        "--http",
        "--file",
        "--channel",
        "--rollout",
        "--notes",
    ];
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut flags: Vec<String> = Vec::new();
    let mut pos: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if valued.contains(&a.as_str()) {
            let Some(v) = it.next() else {
                return err(format!("{a} needs a value"));
            };
            if opts.iter().any(|(k, _)| k == a) {
                return err(format!("{a} given twice"));
            }
            opts.push((a.clone(), v.clone()));
        } else if a == "--json" {
            flags.push(a.clone());
        } else if a.starts_with("--") {
            return err(format!("unknown option {a:?}"));
        } else {
            pos.push(a.clone());
        }
    }
    if pos.is_empty() {
        return err("release needs a subcommand");
    }
    let sub = pos.remove(0);
    let get = |k: &str| opts.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let json = flags.iter().any(|f| f == "--json");
    let positionals = |n: usize| -> Result<&[String], CliError> {
        if pos.len() == n {
            Ok(&pos)
        } else {
            err(format!(
                "release {sub} takes {n} argument(s), got {:?}",
                pos
            ))
        }
    };
    let action = match sub.as_str() {
        "publish" => {
            positionals(0)?;
            let Some(file) = get("--file") else {
                return err("release publish needs --file BUNDLE");
            };
            let Some(channel) = get("--channel") else {
                return err("release publish needs --channel stable|beta");
            };
            let Some(rollout) = get("--rollout") else {
                return err("release publish needs --rollout PERCENT");
            };
            ReleaseAction::Publish {
                file: PathBuf::from(file),
                channel: channel.parse().or_else(|e| err(format!("{e}")))?,
                rollout: percent(rollout)?,
                notes: get("--notes").unwrap_or_default().to_string(),
            }
        }
        "list" => {
            positionals(0)?;
            ReleaseAction::List { json }
        }
        "rollout" => {
            let p = positionals(2)?;
            ReleaseAction::Rollout {
                id: id(&p[0])?,
                percent: percent(&p[1])?,
            }
        }
        "withdraw" => ReleaseAction::Withdraw {
            id: id(&positionals(1)?[0])?,
        },
        "status" => ReleaseAction::Status {
            id: id(&positionals(1)?[0])?,
            json,
        },
        other => return err(format!("unknown release subcommand {other:?}")),
    };
    if sub != "publish"
        && ["--file", "--channel", "--rollout", "--notes"]
            .iter()
            .any(|k| get(k).is_some())
    {
        return err(format!(
            "release {sub} takes no --file, --channel, --rollout or --notes"
        ));
    }
    if !json
        || matches!(
            action,
            ReleaseAction::List { .. } | ReleaseAction::Status { .. }
        )
    {
        let Some(dir) = get("--dir") else {
            return Err(CliError(format!(
                "--dir DIR is required (the directory `keel-cloud init` wrote)\n{USAGE}"
            )));
        };
        let http = match get("--http") {
            None => None,
            Some(v) => Some(v.parse::<SocketAddr>().or_else(|_| {
                err(format!(
                    "--http must be an address like 127.0.0.1:7480, got {v:?}"
                ))
            })?),
        };
        return Ok(Command::Admin {
            dir: PathBuf::from(dir),
            http,
            action: Action::Release(action),
        });
    }
    err(format!("release {sub} takes no --json"))
}

fn service_error(status: u16, body: String) -> AdminError {
    AdminError::Service {
        status,
        body: body.trim_end().to_string(),
    }
}

fn post(
    addr: SocketAddr,
    token: &str,
    target: &str,
    content_type: &str,
    body: &[u8],
) -> Result<String, AdminError> {
    let (status, answer) =
        http::request_bytes(addr, "POST", target, Some(token), content_type, body)?;
    if status == 200 {
        Ok(answer)
    } else {
        Err(service_error(status, answer))
    }
}

fn get(addr: SocketAddr, target: &str) -> Result<String, AdminError> {
    let (status, body) = http::request(addr, "GET", target, None, None)?;
    if status == 200 {
        Ok(body)
    } else {
        Err(service_error(status, body))
    }
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> AdminError {
    AdminError::Release(format!("{}: {e}", path.display()))
}

/// Reads up to `CHUNK_BYTES` from `f` (less only at the end of the file).
fn read_chunk(f: &mut std::fs::File, path: &Path) -> Result<Vec<u8>, AdminError> {
    let mut buf = Vec::with_capacity(CHUNK_BYTES);
    f.by_ref()
        .take(CHUNK_BYTES as u64)
        .read_to_end(&mut buf)
        .map_err(|e| file_error(path, e))?;
    Ok(buf)
}

fn publish(
    addr: SocketAddr,
    token: &str,
    file: &Path,
    channel: Channel,
    rollout: u8,
    notes: &str,
) -> Result<String, AdminError> {
    let open = || std::fs::File::open(file).map_err(|e| file_error(file, e));
    let mut f = open()?;
    let first = read_chunk(&mut f, file)?;
    let facts = bundle_facts(&first).map_err(|e| file_error(file, e))?;
    let size = f.metadata().map_err(|e| file_error(file, e))?.len();
    if size != facts.size {
        return Err(file_error(
            file,
            format!(
                "the file is {size} bytes but its header says {}",
                facts.size
            ),
        ));
    }
    let mut hash = Context::new(&SHA256);
    hash.update(&first);
    loop {
        let c = read_chunk(&mut f, file)?;
        if c.is_empty() {
            break;
        }
        hash.update(&c);
    }
    let mut sha = [0u8; 32];
    sha.copy_from_slice(hash.finish().as_ref());
    let begin = BeginRequest {
        kind: facts.kind.clone(),
        version: facts.version.clone(),
        boards: facts.boards.clone(),
        size,
        sha256: hex(&sha),
        channel: channel.as_str().into(),
        rollout,
        notes: notes.into(),
    };
    let body = serde_json::to_vec(&begin).map_err(|e| AdminError::Release(e.to_string()))?;
    let answer = post(addr, token, "/release/begin", "application/json", &body)?;
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    let Some(id) = v["id"].as_u64() else {
        return Err(service_error(200, format!("no release id in {answer:?}")));
    };
    let mut f = open()?;
    let mut index = 0u64;
    loop {
        let c = read_chunk(&mut f, file)?;
        if c.is_empty() {
            break;
        }
        let target = format!("{CHUNK_PATH}?id={id}&index={index}");
        post(addr, token, &target, "application/octet-stream", &c)?;
        index += 1;
    }
    post(
        addr,
        token,
        &format!("/release/finish?id={id}"),
        "application/json",
        b"",
    )?;
    Ok(format!(
        "published release {id}: {} {} for {} on {} at {rollout}% ({size} bytes, sha256 {})\n",
        facts.kind,
        facts.version,
        facts.boards.join(","),
        channel,
        hex(&sha)
    ))
}

/// Runs a release command against the service at `addr` of `cloud`.
pub fn run(
    cloud: &CloudDir,
    addr: SocketAddr,
    action: &ReleaseAction,
) -> Result<String, AdminError> {
    match action {
        ReleaseAction::Publish {
            file,
            channel,
            rollout,
            notes,
        } => publish(addr, &cloud.admin_token()?, file, *channel, *rollout, notes),
        ReleaseAction::List { json } => {
            get(addr, if *json { "/releases.json" } else { "/releases" })
        }
        ReleaseAction::Rollout { id, percent } => {
            post(
                addr,
                &cloud.admin_token()?,
                &format!("/release/rollout?id={id}&percent={percent}"),
                "application/json",
                b"",
            )?;
            Ok(format!("release {id}: rollout now {percent}%\n"))
        }
        ReleaseAction::Withdraw { id } => {
            post(
                addr,
                &cloud.admin_token()?,
                &format!("/release/withdraw?id={id}"),
                "application/json",
                b"",
            )?;
            Ok(format!("release {id} withdrawn: no longer offered\n"))
        }
        ReleaseAction::Status { id, json } => get(
            addr,
            &format!(
                "{}?id={id}",
                if *json {
                    "/release/status.json"
                } else {
                    "/release/status"
                }
            ),
        ),
    }
}
