//! HTTP request readers: the cloud's endpoint (`http_request::read_request` of
//! keel-cloud, its very source file included by path: keel-cloud itself pulls
//! the PostgreSQL client, too heavy for the fuzz build) and the terminal's LAN
//! health endpoint (`keel_terminal::health::request::read_request`).
//!
//! The first byte picks the size of the pieces the client's bytes arrive in
//! (0: all at once); the rest is what the client sent.
//!
//! Properties: the answer does not depend on the pieces; a request the cloud
//! accepts has an upper-case method, a path, its head parses to the same
//! request and its body is exactly `Content-Length` bytes; a health request
//! accepted is a `GET /health`, a refused one is answered 400, 404 or 405.

use std::io::Read;

/// keel-cloud's `tools/cloud/src/http_request.rs` (std and thiserror only).
#[path = "../../cloud/src/http_request.rs"]
pub mod cloud_request;

/// A client sending its bytes `step` at a time.
struct Pieces<'a> {
    rest: &'a [u8],
    step: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

/// The selector byte as a piece size, and the client's bytes.
fn split(data: &[u8]) -> Option<(usize, &[u8])> {
    let (&selector, sent) = data.split_first()?;
    let step = if selector == 0 {
        usize::MAX
    } else {
        usize::from(selector)
    };
    Some((step, sent))
}

/// `data` as a request to the cloud's HTTP endpoint.
pub fn cloud_http_request(data: &[u8]) {
    use cloud_request::{parse_head, read_request, MAX_BODY};
    let Some((step, sent)) = split(data) else {
        return;
    };
    let whole = read_request(&mut &sent[..], |_| MAX_BODY);
    let pieces = read_request(&mut Pieces { rest: sent, step }, |_| MAX_BODY);
    assert_eq!(whole, pieces, "the answer depends on the pieces");
    let Ok(req) = whole else {
        return;
    };
    assert!(
        !req.method.is_empty() && req.method.bytes().all(|b| b.is_ascii_uppercase()),
        "method {:?}",
        req.method
    );
    assert!(req.path.starts_with('/'), "path {:?}", req.path);
    let len = req
        .header("content-length")
        .map_or(0, |v| v.parse::<usize>().unwrap_or(usize::MAX));
    assert_eq!(req.body.len(), len, "body length");
    let Some(end) = sent.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!("accepted without a blank line");
    };
    let head = std::str::from_utf8(&sent[..end]).expect("an accepted head is UTF-8");
    let again = parse_head(head).expect("an accepted head parses");
    assert_eq!(
        again,
        cloud_request::Request {
            body: Vec::new(),
            ..req
        },
        "the head parses to another request"
    );
}

/// `data` as a request to the terminal's health endpoint.
pub fn health_request(data: &[u8]) {
    use keel_terminal::health::request::{read_request, HealthRequest};
    let Some((step, sent)) = split(data) else {
        return;
    };
    let whole = read_request(&mut &sent[..]);
    let pieces = read_request(&mut Pieces { rest: sent, step });
    assert_eq!(whole, pieces, "the answer depends on the pieces");
    match whole {
        Ok(HealthRequest::Health) => assert!(
            sent.starts_with(b"GET /health ") || sent.starts_with(b"GET /health?"),
            "accepted {:?}",
            String::from_utf8_lossy(&sent[..sent.len().min(40)])
        ),
        Err(e) => assert!(
            matches!(e.status().0, 400 | 404 | 405),
            "answered {:?}",
            e.status()
        ),
    }
}
