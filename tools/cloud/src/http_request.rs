//! The cloud's HTTP/1.1 request reader: the request head (request line, query,
//! headers, percent-decoding) and a `Content-Length` body, with hard bounds.
//! Sans-IO apart from the `Read` it is given; every malformed input is a
//! [`RequestError`] value.
//!
//! This module owns request parsing. It must not route, answer or know the
//! service: it depends on std and thiserror only, so the fuzz targets
//! (`tools/fuzz-targets`) include this very file by path without pulling
//! keel-cloud's PostgreSQL client into the fuzz build. `http` re-exports it.

use std::io::Read;
use thiserror::Error;

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers (names lowercased).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first query parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be read (each maps to a status code).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    /// The connection closed or timed out before a whole request arrived.
    #[error("incomplete request: {0}")]
    Incomplete(String),
    /// Not an HTTP/1.x request.
    #[error("bad request: {0}")]
    Malformed(String),
    /// The head or body is larger than allowed.
    #[error("request too large: {0}")]
    TooLarge(String),
    /// A feature this server does not implement (chunked bodies).
    #[error("not implemented: {0}")]
    Unsupported(String),
}

/// Percent-decodes a query component (`+` is a space).
pub fn percent_decode(s: &str) -> Result<String, RequestError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| RequestError::Malformed(format!("bad escape in {s:?}")))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| RequestError::Malformed(format!("{s:?} is not UTF-8")))
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses a request head (without the blank line) into a request without body.
pub fn parse_head(head: &str) -> Result<Request, RequestError> {
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed(format!(
            "request line {first:?} is not METHOD TARGET HTTP/1.x"
        )));
    };
    if !version.starts_with("HTTP/1.")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err(RequestError::Malformed(format!(
            "request line {first:?} is not METHOD TARGET HTTP/1.x"
        )));
    }
    if !target.starts_with('/') {
        return Err(RequestError::Malformed(format!(
            "target {target:?} is not a path"
        )));
    }
    let (path, query_text) = target.split_once('?').unwrap_or((target, ""));
    let mut query = Vec::new();
    for pair in query_text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query.push((percent_decode(k)?, percent_decode(v)?));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(RequestError::Malformed(format!(
                "header line {line:?} has no ':'"
            )));
        };
        let name = name.trim();
        if name.is_empty() || name.contains(' ') {
            return Err(RequestError::Malformed(format!("bad header name {name:?}")));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        path: percent_decode(path)?,
        query,
        headers,
        body: Vec::new(),
    })
}

/// Reads one request from `stream`: a head of at most [`MAX_HEAD`] bytes and a
/// `Content-Length` body of at most `body_limit(path)` bytes.
pub fn read_request(
    stream: &mut impl Read,
    body_limit: impl Fn(&str) -> usize,
) -> Result<Request, RequestError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        // A head of MAX_HEAD bytes and its blank line fit in MAX_HEAD + 4 bytes,
        // whatever pieces the stream delivers them in.
        if buf.len() >= MAX_HEAD + 4 {
            return Err(RequestError::TooLarge(format!(
                "the head exceeds {MAX_HEAD} bytes"
            )));
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| RequestError::Incomplete(e.to_string()))?;
        if n == 0 {
            return Err(RequestError::Incomplete(
                "connection closed before the end of the head".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(RequestError::TooLarge(format!(
            "the head exceeds {MAX_HEAD} bytes"
        )));
    }
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| RequestError::Malformed("the head is not UTF-8".into()))?;
    let mut req = parse_head(head)?;
    if req.header("transfer-encoding").is_some() {
        return Err(RequestError::Unsupported(
            "Transfer-Encoding; send a Content-Length body".into(),
        ));
    }
    let len = match req.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| RequestError::Malformed(format!("Content-Length {v:?}")))?,
    };
    let limit = body_limit(&req.path);
    if len > limit {
        return Err(RequestError::TooLarge(format!(
            "a body of {len} bytes exceeds {limit}"
        )));
    }
    let mut body = buf[head_end + 4..].to_vec();
    if body.len() > len {
        body.truncate(len);
    }
    while body.len() < len {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| RequestError::Incomplete(e.to_string()))?;
        if n == 0 {
            return Err(RequestError::Incomplete(format!(
                "connection closed after {} of {len} body bytes",
                body.len()
            )));
        }
        let take = n.min(len - body.len());
        body.extend_from_slice(&chunk[..take]);
    }
    req.body = body;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader delivering `step` bytes at a time.
    struct Pieces<'a>(&'a [u8], usize);

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_head_bound_does_not_depend_on_how_the_bytes_arrive() {
        for head_len in [MAX_HEAD - 1, MAX_HEAD, MAX_HEAD + 1] {
            let mut raw = b"GET /health HTTP/1.1\r\nx: ".to_vec();
            raw.resize(head_len, b'a');
            raw.extend_from_slice(b"\r\n\r\n");
            let answers: Vec<bool> = [1, 7, 4096, raw.len()]
                .into_iter()
                .map(|step| read_request(&mut Pieces(&raw, step), |_| MAX_BODY).is_ok())
                .collect();
            assert_eq!(
                answers,
                vec![head_len <= MAX_HEAD; 4],
                "a head of {head_len} bytes"
            );
        }
    }
}
