//! Minimal HTTP/1.1 on loopback for CLI tests (the test crate has no HTTP client
//! dependency): GETs of the emulator's JSON, and raw requests whose headers a test writes
//! itself (a foreign `Host`, a wrong key). Bounded by [`HTTP_TIMEOUT`].

use std::io::{Read, Write};
use std::net::TcpStream;

use super::HTTP_TIMEOUT;

/// Send `request` (a complete HTTP/1.1 request, `Connection: close`) to a loopback
/// `authority` and read the answer: `(status, body)`, chunked bodies decoded.
pub fn http_raw(authority: &str, request: &str) -> (u16, String) {
    assert!(
        authority.starts_with("127.")
            || authority.starts_with("localhost")
            || authority.starts_with("[::1]"),
        "tests talk only to loopback, not {authority}"
    );
    let mut stream =
        TcpStream::connect(authority).unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .expect("set timeout");
    stream
        .set_write_timeout(Some(HTTP_TIMEOUT))
        .expect("set timeout");
    stream.write_all(request.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read response from {authority}: {e}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("malformed HTTP response from {authority}: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in response from {authority}: {head:?}"));
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        decode_chunked(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// A GET of an `http://` loopback URL: `(status, body)`.
pub fn http_get(url: &str) -> (u16, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("http_get supports only http:// URLs, not {url}"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    http_raw(
        authority,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn decode_chunked(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size_line, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

/// `GET url` that must answer 200 with JSON.
pub fn http_get_json(url: &str) -> serde_json::Value {
    let (status, body) = http_get(url);
    assert_eq!(status, 200, "GET {url} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"))
}
