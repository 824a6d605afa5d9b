//! The health endpoint's request reader: the request head read from a client
//! (bounded) and parsed into what it asks for. Sans-IO apart from the `Read` it
//! is given; every malformed or unanswerable request is a [`RequestError`] with
//! the HTTP status it is answered with.
//!
//! Owns: the request format the endpoint accepts. Must not answer, gather
//! figures or touch the socket's options (`health` does).

use std::io::Read;
use thiserror::Error;

/// Largest request head accepted (request line and headers).
pub const MAX_REQUEST: usize = 8 * 1024;

/// What a well-formed request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthRequest {
    /// `GET /health` (any query).
    Health,
}

/// Why a request gets an error answer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The head is not UTF-8.
    #[error("request is not text")]
    NotText,
    /// The request line is not three words.
    #[error("malformed request line")]
    RequestLine,
    /// The version is not HTTP/1.0 or HTTP/1.1.
    #[error("only HTTP/1.0 and HTTP/1.1 are spoken here")]
    Version,
    /// A header line has no `:`.
    #[error("malformed header")]
    Header,
    /// The method is not upper-case letters.
    #[error("malformed method")]
    Method,
    /// A `GET` of another path.
    #[error("no such resource {0}; try /health")]
    NotFound(String),
    /// Another method than `GET`.
    #[error("method {0} not allowed; use GET")]
    MethodNotAllowed(String),
    /// No blank line within [`MAX_REQUEST`] bytes.
    #[error("request head exceeds {MAX_REQUEST} bytes")]
    TooLarge,
    /// The client closed before the blank line.
    #[error("incomplete request")]
    Incomplete,
    /// Reading failed (a timeout, a reset).
    #[error("reading: {0}")]
    Read(String),
}

impl RequestError {
    /// The status code and reason phrase it is answered with.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            RequestError::NotFound(_) => (404, "Not Found"),
            RequestError::MethodNotAllowed(_) => (405, "Method Not Allowed"),
            _ => (400, "Bad Request"),
        }
    }
}

/// Parses a request head (everything before the blank line).
pub fn parse(head: &[u8]) -> Result<HealthRequest, RequestError> {
    let text = std::str::from_utf8(head).map_err(|_| RequestError::NotText)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or("");
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(RequestError::RequestLine);
    };
    if !matches!(*version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(RequestError::Version);
    }
    if lines.any(|h| !h.is_empty() && !h.contains(':')) {
        return Err(RequestError::Header);
    }
    let path = target.split('?').next().unwrap_or("");
    match (*method, path) {
        ("GET", "/health") => Ok(HealthRequest::Health),
        ("GET", _) => Err(RequestError::NotFound(path.to_string())),
        (m, _) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => {
            Err(RequestError::MethodNotAllowed(m.to_string()))
        }
        _ => Err(RequestError::Method),
    }
}

/// Reads the request head (without the blank line), up to [`MAX_REQUEST`] bytes.
pub fn read_head(stream: &mut impl Read) -> Result<Vec<u8>, RequestError> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if end > MAX_REQUEST {
                return Err(RequestError::TooLarge);
            }
            buf.truncate(end);
            return Ok(buf);
        }
        // A head of MAX_REQUEST bytes and its blank line fit in MAX_REQUEST + 4
        // bytes, whatever pieces the stream delivers them in.
        if buf.len() >= MAX_REQUEST + 4 {
            return Err(RequestError::TooLarge);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(RequestError::Incomplete),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(RequestError::Read(e.to_string())),
        }
    }
}

/// Reads and parses one request from `stream`.
pub fn read_request(stream: &mut impl Read) -> Result<HealthRequest, RequestError> {
    parse(&read_head(stream)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_refuses_bad_ones() {
        assert_eq!(
            parse(b"GET /health HTTP/1.1\r\nHost: x"),
            Ok(HealthRequest::Health)
        );
        assert_eq!(
            parse(b"GET /health?x=1 HTTP/1.0"),
            Ok(HealthRequest::Health)
        );
        for (raw, code) in [
            (&b"GET /nope HTTP/1.1"[..], 404),
            (b"POST /health HTTP/1.1", 405),
            (b"GET /health", 400),
            (b"GET /health HTTP/2", 400),
            (b"\xff\xfe", 400),
            (b"GET /health HTTP/1.1\r\nno colon here", 400),
            (b"get /health HTTP/1.1", 400),
        ] {
            match parse(raw) {
                Err(e) => assert_eq!(e.status().0, code, "{raw:?}"),
                r => panic!("{raw:?} parsed as {r:?}"),
            }
        }
    }

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
    fn reads_a_head_in_pieces_within_the_bound() {
        let raw = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nignored";
        assert_eq!(read_request(&mut &raw[..]), Ok(HealthRequest::Health));
        assert_eq!(
            read_head(&mut &b"GET /health HTTP/1.1\r\n"[..]),
            Err(RequestError::Incomplete)
        );
        let huge = vec![b'a'; MAX_REQUEST + 2000];
        assert_eq!(read_head(&mut &huge[..]), Err(RequestError::TooLarge));
        for head_len in [MAX_REQUEST, MAX_REQUEST + 1] {
            let mut raw = b"GET /health HTTP/1.1\r\nx: ".to_vec();
            raw.resize(head_len, b'a');
            raw.extend_from_slice(b"\r\n\r\n");
            for step in [1, 1000, raw.len()] {
                let got = read_head(&mut Pieces(&raw, step)).map(|h| h.len());
                if head_len <= MAX_REQUEST {
                    assert_eq!(got, Ok(head_len), "step {step}");
                } else {
                    assert_eq!(got, Err(RequestError::TooLarge), "step {step}");
                }
            }
        }
    }
}
