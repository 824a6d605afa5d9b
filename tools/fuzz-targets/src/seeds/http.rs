//! HTTP request seeds: the requests keel-cloud's admin client writes (its
//! head format: request line, Host, Connection, Authorization, Content-Type
//! and Content-Length), requests to the terminal's health endpoint as a
//! load balancer, curl and the OTA health probe send them, each delivered
//! whole and in pieces (the selector byte).

use super::Seed;

/// A request head as keel-cloud's `http::request_bytes` writes it.
fn cloud_client(method: &str, target: &str, token: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    [head.as_bytes(), body].concat()
}

/// The HTTP seeds.
pub(super) fn seeds() -> Vec<Seed> {
    let token = "k3El-admin-token-0123456789abcdef";
    let publish =
        br#"{"kind":"price","items":[{"sku":"SKU-1","price_minor":1250}],"stores":["store-1"]}"#;
    let cloud = [
        ("health", 0, cloud_client("GET", "/health", None, b"")),
        (
            "report_in_pieces_of_7",
            7,
            cloud_client(
                "GET",
                "/report.csv?from=2026-11-01&to=2026-11-30",
                None,
                b"",
            ),
        ),
        (
            "customer_escaped",
            1,
            cloud_client(
                "GET",
                "/customer?store=st%C3%B6re+1&id=c-42",
                Some(token),
                b"",
            ),
        ),
        (
            "publish_in_pieces_of_64",
            64,
            cloud_client("POST", "/publish", Some(token), publish),
        ),
    ];
    let health = [
        ("get", 0, &b"GET /health HTTP/1.1\r\nHost: 192.168.1.21:8081\r\n\r\n"[..]),
        (
            "curl_in_pieces_of_5",
            5,
            b"GET /health?verbose=1 HTTP/1.1\r\nHost: t1.local:8081\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
        ),
        ("http10_bytewise", 1, b"GET /health HTTP/1.0\r\n\r\n"),
        ("post", 0, b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    ];
    let mut out = Vec::new();
    for (name, step, bytes) in cloud {
        out.push(Seed::new(
            "cloud_http_request",
            name,
            [&[step][..], &bytes].concat(),
        ));
    }
    for (name, step, bytes) in health {
        out.push(Seed::new(
            "health_request",
            name,
            [&[step][..], bytes].concat(),
        ));
    }
    out
}
