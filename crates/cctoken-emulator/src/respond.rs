//! Response shapes: RFC 6749 §5.2 error bodies in each flavor's style, and JSON helpers.
//!
//! Generic and CXone answer `{"error","error_description"}`; Genesys adds `description`
//! with the same text, and says only "authentication failed" for `invalid_client`. Every
//! token-endpoint answer carries `Cache-Control: no-store` and `Pragma: no-cache`
//! (RFC 6749 §5.1) — the router adds those, see [`no_store`].

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::response::IntoResponse;

use crate::config::Flavor;

/// `realm` of the Basic challenge.
pub const REALM: &str = "cctoken-emulator";

/// A JSON response.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
}

/// A JSON response from serialised bytes.
pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

/// An OAuth error in the flavor's shape. `challenge` adds `WWW-Authenticate: Basic`.
pub fn oauth_error(
    flavor: Flavor,
    status: StatusCode,
    error: &str,
    description: &str,
    challenge: bool,
) -> Response<Body> {
    let body = match flavor {
        Flavor::Genesys => {
            let d = if error == "invalid_client" {
                "authentication failed"
            } else {
                description
            };
            serde_json::json!({ "error": error, "description": d, "error_description": d })
        }
        Flavor::Generic | Flavor::Cxone => {
            serde_json::json!({ "error": error, "error_description": description })
        }
    };
    let mut r = json(status, &body);
    if challenge {
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""))
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

/// Add `Retry-After`.
pub fn with_retry_after(mut r: Response<Body>, secs: u64) -> Response<Body> {
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// Middleware body: `Cache-Control: no-store` and `Pragma: no-cache` on every answer.
pub async fn no_store(mut r: Response<Body>) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The emulator names itself in `Server` on every answer, so that `cctoken doctor` knows
/// it may ask `/_emulator/activity` for the exact reason of a refusal (SPEC §14).
pub const SERVER_NAME: &str = concat!("cctoken-emulator/", env!("CARGO_PKG_VERSION"));

/// Add [`SERVER_NAME`] as `Server`.
pub async fn server_name(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static(SERVER_NAME));
    r
}

/// A `401` for a protected resource (RFC 6750 §3).
pub fn bearer_challenge(mut r: Response<Body>, error: Option<&str>) -> Response<Body> {
    let v = match error {
        Some(e) => format!("Bearer realm=\"{REALM}\", error=\"{e}\""),
        None => format!("Bearer realm=\"{REALM}\""),
    };
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// An HTML error page as a proxy would send it.
pub fn html_page(status: StatusCode) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = (status, page).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}
