//! The cloud's HTTP/1.1 endpoint, hand-written on `std::net`, and the small
//! client the admin commands use to reach it.
//!
//! Routes (every answer closes the connection):
//! - `GET /health`: JSON (status, database, last sync, pending, errors, disk,
//!   uptime); 200 when healthy, 503 otherwise;
//! - `GET /status` (text table) and `GET /status.json`: every store, with alerts;
//! - `GET /report?from=YYYY-MM-DD&to=YYYY-MM-DD` (text) and `GET /report.csv?...`;
//! - `GET /orders?store=S&limit=N`, `GET /flags?store=S`, `GET /stock?store=S` (text);
//! - `GET /flagged?store=S` (text), `GET /flagged.json?store=S`: sales flagged for risk review;
//! - `POST /publish` with `Authorization: Bearer <admin token>` and a JSON body
//!   (see `admin`): answers `{"seq": N, "kind": "...", "stores": [...]}`; an
//!   `erase-customer` item first deletes the customer's keys in the cloud and
//!   the answer adds `"keys_deleted": N`;
//! - `GET /customer?store=S&id=ID` with the admin token (it may show personal
//!   data): the customer's name and phone when readable, else erased or key
//!   missing (404 when unknown). Queries are never logged.
//! - `/release...` and `/releases...`: OTA releases (see `release_http`).
//!
//! This module owns the request bounds (reading and parsing are `http_request`'s:
//! 16 KiB of head, 64 KiB of
//! body, 10 s per read or write, 64 connections at once; anything else gets a
//! 4xx/5xx with the reason) and the mapping of routes to storage calls and
//! renderers. It must not render reports itself (`report`, `status`) nor decide
//! what a publication is (`admin`).

use crate::admin::PublishRequest;
use crate::store::StoreError;
use crate::{now_ms, report, status, Service};
use keel_core::ids::StoreId;
use keel_uplink::wire::PublishedItem;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

pub use crate::http_request::{
    parse_head, percent_decode, percent_encode, Request, RequestError, MAX_BODY, MAX_HEAD,
};

/// Reads one request from `stream`, within the size bounds (a release chunk's
/// body may be up to `release_http::MAX_CHUNK_BODY`, any other up to [`MAX_BODY`]).
pub fn read_request(stream: &mut impl Read) -> Result<Request, RequestError> {
    crate::http_request::read_request(stream, body_limit)
}

/// The largest body a request to `path` may carry.
pub fn body_limit(path: &str) -> usize {
    if path == crate::release_http::CHUNK_PATH {
        crate::release_http::MAX_CHUNK_BODY
    } else {
        MAX_BODY
    }
}

/// Connections served at once; more are answered 503.
pub const MAX_CONNECTIONS: usize = 64;
/// Time allowed for each read or write.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Default and largest `limit` of `/orders`.
pub const ORDERS_LIMIT: (usize, usize) = (100, 10_000);

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const CSV: &str = "text/csv; charset=utf-8";

impl Response {
    /// A plain-text answer.
    pub(crate) fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: TEXT,
            body: body.into().into_bytes(),
        }
    }

    /// A JSON answer.
    pub(crate) fn json(status: u16, v: &serde_json::Value) -> Response {
        let mut body = v.to_string().into_bytes();
        body.push(b'\n');
        Response {
            status,
            content_type: JSON,
            body,
        }
    }

    /// An error answer with its reason.
    pub(crate) fn error(status: u16, reason: impl std::fmt::Display) -> Response {
        Response::text(status, format!("{reason}\n"))
    }
}

impl RequestError {
    fn response(&self) -> Response {
        let status = match self {
            RequestError::Incomplete(_) => 408,
            RequestError::Malformed(_) => 400,
            RequestError::TooLarge(_) => 413,
            RequestError::Unsupported(_) => 501,
        };
        Response::error(status, self)
    }
}

/// Serves HTTP on `listener` until the process ends (one thread per connection,
/// at most [`MAX_CONNECTIONS`] at once).
pub fn serve(listener: TcpListener, service: Arc<Service>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log::warn!("http: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = write_response(
                &mut stream,
                &Response::error(503, "busy: too many connections"),
            );
            continue;
        }
        let service = service.clone();
        let counter = active.clone();
        let spawned = std::thread::Builder::new()
            .name("keel-cloud-http-conn".into())
            .spawn(move || {
                handle(stream, &service);
                counter.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            log::warn!("http: cannot start a connection thread: {e}");
        }
    }
}

fn handle(mut stream: TcpStream, service: &Service) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let response = match read_request(&mut stream) {
        Ok(req) => {
            let r = route(service, &req);
            log::debug!("http: {peer} {} {} -> {}", req.method, req.path, r.status);
            r
        }
        Err(e) => {
            log::info!("http: {peer}: {e}");
            e.response()
        }
    };
    if let Err(e) = write_response(&mut stream, &response) {
        log::debug!("http: {peer}: writing the answer failed: {e}");
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(stream: &mut TcpStream, r: &Response) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        r.status,
        reason_phrase(r.status),
        r.content_type,
        r.body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&r.body)?;
    stream.flush()
}

/// Checks a `YYYY-MM-DD` day.
pub fn valid_day(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&d[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&d[8..10].parse::<u8>().unwrap_or(0))
}

fn day_param<'a>(req: &'a Request, name: &str) -> Result<Option<&'a str>, Response> {
    match req.param(name) {
        None | Some("") => Ok(None),
        Some(d) if valid_day(d) => Ok(Some(d)),
        Some(d) => Err(Response::error(
            400,
            format!("{name}={d:?}: expected a day like 2026-11-23"),
        )),
    }
}

fn store_param(req: &Request) -> Result<Option<StoreId>, Response> {
    match req.param("store") {
        None | Some("") => Ok(None),
        Some(s) => {
            let id = StoreId(s.to_string());
            keel_cluster::identity::validate_store_id(&id).map_err(|e| Response::error(400, e))?;
            Ok(Some(id))
        }
    }
}

fn storage_error(e: StoreError) -> Response {
    match e {
        StoreError::Invalid(r) => Response::error(400, r),
        other => {
            log::error!("http: storage failed: {other}");
            Response::error(500, format!("storage: {other}"))
        }
    }
}

/// Compares the bearer token in constant time.
pub(crate) fn authorized(service: &Service, req: &Request) -> bool {
    let Some(token) = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (token.trim().as_bytes(), service.admin_token.as_bytes());
    // Every byte is compared, whatever the first difference.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ROUTES: &[(&str, &str)] = &[
    ("/health", "GET"),
    ("/status", "GET"),
    ("/status.json", "GET"),
    ("/report", "GET"),
    ("/report.csv", "GET"),
    ("/orders", "GET"),
    ("/flags", "GET"),
    ("/flagged", "GET"),
    ("/flagged.json", "GET"),
    ("/stock", "GET"),
    ("/publish", "POST"),
    ("/customer", "GET"),
];

/// Answers a request.
pub fn route(service: &Service, req: &Request) -> Response {
    if req.path.starts_with("/release") {
        return crate::release_http::route(service, req);
    }
    let Some((_, method)) = ROUTES.iter().find(|(p, _)| *p == req.path) else {
        return Response::error(404, format!("no such path {:?}", req.path));
    };
    if req.method != *method {
        return Response::error(405, format!("{} takes {method} only", req.path));
    }
    let result = match req.path.as_str() {
        "/health" => {
            let (v, ok) = status::health(service, now_ms());
            Ok(Response::json(if ok { 200 } else { 503 }, &v))
        }
        "/status" | "/status.json" => match service.store.status().and_then(|rows| {
            Ok((
                rows,
                crate::release_view::stores_ota(service.store.as_ref(), now_ms())?,
            ))
        }) {
            Ok((rows, ota)) if req.path == "/status" => Ok(Response::text(
                200,
                status::status_text(&rows, now_ms()) + &crate::release_view::ota_text(&ota),
            )),
            Ok((rows, ota)) => {
                let mut v = status::status_json(&rows, now_ms());
                v["ota"] = crate::release_view::ota_json(&ota);
                Ok(Response::json(200, &v))
            }
            Err(e) => Err(storage_error(e)),
        },
        "/report" | "/report.csv" => report(service, req),
        "/orders" => orders(service, req),
        "/flags" => store_param(req).and_then(|store| {
            service
                .store
                .flags(store.as_ref())
                .map(|f| Response::text(200, report::flags_text(&f, now_ms())))
                .map_err(storage_error)
        }),
        "/flagged" | "/flagged.json" => store_param(req).and_then(|store| {
            let rows = service
                .store
                .flagged_sales(store.as_ref())
                .map_err(storage_error)?;
            Ok(if req.path == "/flagged" {
                Response::text(200, crate::flagged::flagged_text(&rows, now_ms()))
            } else {
                Response::json(200, &crate::flagged::flagged_json(&rows))
            })
        }),
        "/stock" => match store_param(req) {
            Ok(Some(store)) => service
                .store
                .stock(&store)
                .map(|s| Response::text(200, report::stock_text(&store.0, &s)))
                .map_err(storage_error),
            Ok(None) => Err(Response::error(400, "/stock needs ?store=S")),
            Err(r) => Err(r),
        },
        "/publish" => publish(service, req),
        "/customer" => customer(service, req),
        _ => Err(Response::error(404, "no such path")),
    };
    result.unwrap_or_else(|r| r)
}

fn report(service: &Service, req: &Request) -> Result<Response, Response> {
    let from = day_param(req, "from")?;
    let to = day_param(req, "to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Response::error(400, format!("from {f} is after to {t}")));
        }
    }
    let rows = service
        .store
        .sales_report(from, to)
        .map_err(storage_error)?;
    if req.path == "/report.csv" {
        Ok(Response {
            status: 200,
            content_type: CSV,
            body: report::report_csv(&rows).into_bytes(),
        })
    } else {
        Ok(Response::text(200, report::report_text(&rows, from, to)))
    }
}

fn orders(service: &Service, req: &Request) -> Result<Response, Response> {
    let store = store_param(req)?;
    let limit = match req.param("limit") {
        None | Some("") => ORDERS_LIMIT.0,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=ORDERS_LIMIT.1).contains(&n) => n,
            _ => {
                return Err(Response::error(
                    400,
                    format!("limit={v:?}: expected 1 to {}", ORDERS_LIMIT.1),
                ))
            }
        },
    };
    let rows = service
        .store
        .orders(store.as_ref(), limit)
        .map_err(storage_error)?;
    Ok(Response::text(200, report::orders_text(&rows, now_ms())))
}

fn publish(service: &Service, req: &Request) -> Result<Response, Response> {
    if !authorized(service, req) {
        return Err(Response::error(
            401,
            "publishing needs Authorization: Bearer <the admin token in the cloud directory>",
        ));
    }
    let request = PublishRequest::from_json(&req.body).map_err(|e| Response::error(400, e))?;
    let (stores, item) = request.validate().map_err(|e| Response::error(400, e))?;
    let names: Vec<String> = stores.iter().map(|s| s.0.clone()).collect();
    if let PublishedItem::EraseCustomer { customer } = &item {
        let done = crate::customer::erase(service.store.as_ref(), &stores, customer, now_ms())
            .map_err(storage_error)?;
        return Ok(Response::json(
            200,
            &serde_json::json!({
                "seq": done.publication,
                "kind": item.kind(),
                "stores": names,
                "keys_deleted": done.keys_deleted,
            }),
        ));
    }
    let seq = service
        .store
        .publish(&stores, &item, now_ms())
        .map_err(storage_error)?;
    log::info!(
        "publish: #{seq} {} to {}",
        item.kind(),
        if names.is_empty() {
            "every store".to_string()
        } else {
            names.join(", ")
        }
    );
    Ok(Response::json(
        200,
        &serde_json::json!({
            "seq": seq,
            "kind": item.kind(),
            "stores": names,
        }),
    ))
}

fn customer(service: &Service, req: &Request) -> Result<Response, Response> {
    if !authorized(service, req) {
        return Err(Response::error(
            401,
            "/customer may show personal data: it needs Authorization: Bearer <the admin token>",
        ));
    }
    let Some(store) = store_param(req)? else {
        return Err(Response::error(400, "/customer needs ?store=S&id=ID"));
    };
    let id = req.param("id").unwrap_or_default();
    crate::customer::check_id(id).map_err(|e| Response::error(400, e))?;
    let view = service.store.customer(&store, id).map_err(storage_error)?;
    let (status, text) = crate::customer::view_text(&store, id, view.as_ref(), now_ms());
    Ok(Response::text(status, text))
}

/// Why the admin client could not get an answer.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing listens at the address (the service is not running there).
    #[error("cannot reach keel-cloud at {addr} ({source}); is `keel-cloud serve` running?")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The exchange failed midway.
    #[error("talking to keel-cloud at {addr}: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The answer is not HTTP.
    #[error("keel-cloud at {0} answered something that is not HTTP")]
    Malformed(SocketAddr),
}

/// Largest answer the client reads.
const MAX_ANSWER: u64 = 256 << 20;

/// Sends one request to the service at `addr` and returns the status and body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String), ClientError> {
    let body = body.unwrap_or_default();
    request_bytes(
        addr,
        method,
        target,
        token,
        "application/json",
        body.as_bytes(),
    )
}

/// Sends one request with a body of any type (`content_type`) to the service
/// at `addr` and returns the status and body.
pub fn request_bytes(
    addr: SocketAddr,
    method: &str,
    target: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, String), ClientError> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|source| ClientError::Connect { addr, source })?;
    let io = |source| ClientError::Io { addr, source };
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(io)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body).map_err(io)?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(io)?;
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(ClientError::Malformed(addr))?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| head.starts_with("HTTP/1."))
        .ok_or(ClientError::Malformed(addr))?;
    Ok((
        status,
        String::from_utf8_lossy(&answer[end + 4..]).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_within_bounds() {
        let raw =
            b"GET /report?from=2026-11-01&to=2026-11-30&x=a%20b+c HTTP/1.1\r\nHost: x\r\n\r\n";
        let req = read_request(&mut &raw[..]).unwrap();
        assert_eq!(req.path, "/report");
        assert_eq!(req.param("from"), Some("2026-11-01"));
        assert_eq!(req.param("x"), Some("a b c"));
        assert_eq!(req.header("host"), Some("x"));
        let raw = b"POST /publish HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(read_request(&mut &raw[..]).unwrap().body, b"hello");
        for (bad, status) in [
            (&b"GARBAGE\r\n\r\n"[..], 400),
            (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n", 408),
            (b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 413),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                501,
            ),
            (b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 408),
            (b"GET /%zz HTTP/1.1\r\n\r\n", 400),
        ] {
            let e = read_request(&mut &bad[..]).unwrap_err();
            assert_eq!(e.response().status, status, "{e}");
        }
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert_eq!(
            read_request(&mut &huge[..]).unwrap_err().response().status,
            413
        );
        assert!(valid_day("2026-11-23"));
        for d in ["2026-13-01", "2026-1-01", "20261101xx", "2026-11-00"] {
            assert!(!valid_day(d), "{d}");
        }
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(percent_decode(&percent_encode("a b/é")).unwrap(), "a b/é");
    }
}
