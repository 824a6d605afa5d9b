//! HTTP routes of OTA releases (all but the listings need the admin token):
//! - `POST /release/begin` JSON `{kind, version, boards, size, sha256, channel,
//!   rollout, notes}` -> `{"id": N}` (a duplicate version is refused here);
//! - `POST /release/chunk?id=N&index=I` with the chunk's bytes
//!   (`application/octet-stream`, [`CHUNK_BYTES`] each but the last);
//! - `POST /release/finish?id=N` -> the published release (JSON), after the
//!   header, size, SHA-256 and duplicate checks;
//! - `POST /release/rollout?id=N&percent=P`, `POST /release/withdraw?id=N`;
//! - `GET /releases`, `GET /releases.json`;
//! - `GET /release/status?id=N` (text) and `GET /release/status.json?id=N`.
//!
//! Owns the mapping of these routes to `release` and `release_view`; must not
//! decide release rules.

use crate::http::{authorized, Request, Response};
use crate::release::{self, BundleFacts, Draft, ReleaseError};
use crate::store::release::CHUNK_BYTES;
use crate::store::StoreError;
use crate::{now_ms, release_view, Service};
use keel_uplink::release::Channel;
use serde::{Deserialize, Serialize};

/// The chunk upload path (its body may be a whole chunk).
pub const CHUNK_PATH: &str = "/release/chunk";

/// Largest body of a chunk upload.
pub const MAX_CHUNK_BODY: usize = CHUNK_BYTES;

/// The JSON body of `POST /release/begin`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeginRequest {
    /// `firmware` or `model` (from the bundle's header).
    pub kind: String,
    /// Version (from the header).
    pub version: String,
    /// Boards (from the header).
    pub boards: Vec<String>,
    /// Size of the bundle file.
    pub size: u64,
    /// Hex SHA-256 of the bundle file.
    pub sha256: String,
    /// `stable` or `beta`.
    pub channel: String,
    /// Rollout percentage.
    pub rollout: u8,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// Parses 64 hex characters.
pub fn parse_sha256(s: &str) -> Result<[u8; 32], String> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("sha256 {s:?} is not 64 hex characters"));
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

impl BeginRequest {
    fn draft(&self) -> Result<Draft, String> {
        let channel: Channel = self.channel.parse().map_err(|e| format!("{e}"))?;
        if self.notes.len() > 1000 {
            return Err("notes longer than 1000 bytes".into());
        }
        Ok(Draft {
            facts: BundleFacts {
                kind: self.kind.clone(),
                version: self.version.clone(),
                boards: self.boards.clone(),
                size: self.size,
            },
            sha256: parse_sha256(&self.sha256)?,
            channel,
            rollout: self.rollout,
            notes: self.notes.clone(),
        })
    }
}

fn release_error(e: ReleaseError) -> Response {
    match e {
        ReleaseError::Unknown(_) => Response::error(404, e),
        ReleaseError::Store(StoreError::Invalid(r)) => Response::error(400, r),
        ReleaseError::Store(other) => {
            log::error!("http: storage failed: {other}");
            Response::error(500, format!("storage: {other}"))
        }
        ReleaseError::Duplicate { .. } | ReleaseError::WrongState { .. } => Response::error(409, e),
        other => Response::error(400, other),
    }
}

fn num<T: std::str::FromStr>(req: &Request, name: &str) -> Result<T, Response> {
    req.param(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Response::error(400, format!("{} needs ?{name}=N", req.path)))
}

const ROUTES: &[(&str, &str, bool)] = &[
    ("/release/begin", "POST", true),
    (CHUNK_PATH, "POST", true),
    ("/release/finish", "POST", true),
    ("/release/rollout", "POST", true),
    ("/release/withdraw", "POST", true),
    ("/releases", "GET", false),
    ("/releases.json", "GET", false),
    ("/release/status", "GET", false),
    ("/release/status.json", "GET", false),
];

/// Answers a request whose path starts with `/release`.
pub fn route(service: &Service, req: &Request) -> Response {
    let Some((_, method, admin)) = ROUTES.iter().find(|(p, _, _)| *p == req.path) else {
        return Response::error(404, format!("no such path {:?}", req.path));
    };
    if req.method != *method {
        return Response::error(405, format!("{} takes {method} only", req.path));
    }
    if *admin && !authorized(service, req) {
        return Response::error(
            401,
            "releases need Authorization: Bearer <the admin token in the cloud directory>",
        );
    }
    answer(service, req).unwrap_or_else(|r| r)
}

fn answer(service: &Service, req: &Request) -> Result<Response, Response> {
    let store = service.store.as_ref();
    let now = now_ms();
    match req.path.as_str() {
        "/release/begin" => {
            let body: BeginRequest =
                serde_json::from_slice(&req.body).map_err(|e| Response::error(400, e))?;
            let draft = body.draft().map_err(|e| Response::error(400, e))?;
            let id = release::begin(store, &draft, now).map_err(release_error)?;
            Ok(Response::json(200, &serde_json::json!({ "id": id })))
        }
        CHUNK_PATH => {
            let (id, index) = (num(req, "id")?, num(req, "index")?);
            release::put_chunk(store, id, index, &req.body).map_err(release_error)?;
            Ok(Response::json(
                200,
                &serde_json::json!({ "id": id, "index": index }),
            ))
        }
        "/release/finish" => {
            let r = release::finish(store, num(req, "id")?, now).map_err(release_error)?;
            Ok(Response::json(200, &release_view::release_json(&r)))
        }
        "/release/rollout" => {
            let r = release::set_rollout(store, num(req, "id")?, num(req, "percent")?)
                .map_err(release_error)?;
            Ok(Response::json(200, &release_view::release_json(&r)))
        }
        "/release/withdraw" => {
            let r = release::withdraw(store, num(req, "id")?, now).map_err(release_error)?;
            Ok(Response::json(200, &release_view::release_json(&r)))
        }
        "/releases" | "/releases.json" => {
            let all = store
                .releases()
                .map_err(|e| release_error(ReleaseError::Store(e)))?;
            Ok(if req.path == "/releases" {
                Response::text(200, release_view::list_text(&all, now))
            } else {
                let v: Vec<_> = all.iter().map(release_view::release_json).collect();
                Response::json(200, &serde_json::json!(v))
            })
        }
        _ => {
            let id: u64 = num(req, "id")?;
            let all = store
                .releases()
                .map_err(|e| release_error(ReleaseError::Store(e)))?;
            let r = all
                .iter()
                .find(|r| r.id == id)
                .ok_or_else(|| release_error(ReleaseError::Unknown(id)))?;
            let (j, text) = release_view::release_status(store, r, now)
                .map_err(|e| release_error(ReleaseError::Store(e)))?;
            Ok(if req.path == "/release/status" {
                Response::text(200, text)
            } else {
                Response::json(200, &j)
            })
        }
    }
}
