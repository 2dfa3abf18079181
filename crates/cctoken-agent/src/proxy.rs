//! Proxy mode: a loopback port that forwards every request to one profile's API base with
//! that profile's bearer token, for tools that cannot refresh tokens themselves.
//!
//! The tool is configured with `http://127.0.0.1:PORT` as its API URL and the agent key as
//! its (static) bearer token. The proxy checks `Host` and the key like every agent TCP
//! listener ([`crate::guard`]), replaces the `Authorization` header with the profile's
//! current token, and forwards the request to the API base — only there: the path is
//! appended to the base and the result must have the base's origin, and redirects are
//! passed back to the tool, not followed. On `401` from the API it refreshes the token once
//! (`invalidate_and_refresh`) and retries.
//!
//! Bodies are buffered (up to [`MAX_BODY`]) so the retry can resend them; the proxy is
//! meant for API calls, not for streaming uploads.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use axum::Router;
use cctoken::clock::SharedClock;
use url::Url;

use crate::guard::{self, AgentKey};
use crate::registry::Profile;
use crate::routes::error_response;
use crate::wire::ErrorResponse;

/// Largest request or response body the proxy buffers.
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Timeout of one upstream exchange.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those the
/// proxy sets itself.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "authorization",
    "content-length",
];

#[derive(Clone)]
struct Target {
    profile: Profile,
    clock: SharedClock,
    base: Url,
    http: reqwest::Client,
}

/// The proxy's router for `profile`, forwarding to `api_base`, behind the key and `Host`
/// checks.
pub fn app(
    profile: Profile,
    clock: SharedClock,
    api_base: Url,
    key: AgentKey,
) -> Result<Router, reqwest::Error> {
    let http = reqwest::Client::builder()
        .user_agent(concat!("cctoken-agent/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(UPSTREAM_TIMEOUT)
        .build()?;
    let target = Target {
        profile,
        clock,
        base: api_base,
        http,
    };
    let router = Router::new().fallback(forward).with_state(target);
    Ok(guard::tcp(router, key))
}

/// `base` joined with an origin-form request target (`/path?query`); `None` when the
/// target is not origin-form or would leave the base's origin.
pub fn upstream_url(base: &Url, path_and_query: &str) -> Option<Url> {
    if !path_and_query.starts_with('/') || path_and_query.starts_with("//") {
        return None;
    }
    let prefix = base.as_str().trim_end_matches('/');
    let url = Url::parse(&format!("{prefix}{path_and_query}")).ok()?;
    (url.origin() == base.origin()).then_some(url)
}

fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(incoming.len());
    for (k, v) in incoming {
        if !DROPPED.contains(&k.as_str()) {
            out.append(k.clone(), v.clone());
        }
    }
    out
}

fn bad_gateway(message: String) -> Response {
    error_response(
        StatusCode::BAD_GATEWAY,
        &ErrorResponse::new("bad_gateway", message),
    )
}

async fn forward(State(t): State<Target>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let Some(url) = upstream_url(&t.base, pq) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            &ErrorResponse::new(
                "bad_request",
                format!(
                    "the proxy forwards paths on {} only",
                    t.base.origin().ascii_serialization()
                ),
            ),
        );
    };
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &ErrorResponse::new("too_large", "request body too large or unreadable"),
            )
        }
    };
    let headers = forwarded_headers(&parts.headers);
    let mut token = match t.profile.token(&t.clock).await {
        Ok(tok) => tok,
        Err(e) => {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &ErrorResponse::from_error(&e),
            )
        }
    };
    let mut refreshed = false;
    loop {
        let sent = t
            .http
            .request(parts.method.clone(), url.clone())
            .headers(headers.clone())
            .bearer_auth(token.access_token.expose_secret())
            .body(body.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return bad_gateway(format!(
                    "{} {}: {}",
                    parts.method,
                    url.origin().ascii_serialization(),
                    cctoken::error::excerpt(&e.to_string(), 200)
                ))
            }
        };
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
            refreshed = true;
            tracing::info!(profile = %t.profile.name, "the API answered 401; refreshing the token once");
            match t
                .profile
                .source
                .invalidate_and_refresh(&token.access_token)
                .await
            {
                Ok(fresh) => {
                    token = fresh;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(profile = %t.profile.name, "refresh after 401 failed: {e}");
                }
            }
        }
        return relay(resp).await;
    }
}

async fn relay(resp: reqwest::Response) -> Response {
    let status = resp.status();
    let mut headers = HeaderMap::with_capacity(resp.headers().len());
    for (k, v) in resp.headers() {
        if !DROPPED.contains(&k.as_str()) {
            headers.append(HeaderName::from(k), v.clone());
        }
    }
    let bytes = match resp.bytes().await {
        Ok(b) if b.len() <= MAX_BODY => b,
        Ok(_) => return bad_gateway("the API's response is larger than the proxy buffers".into()),
        Err(e) => {
            return bad_gateway(format!(
                "reading the API's response: {}",
                cctoken::error::excerpt(&e.to_string(), 200)
            ))
        }
    };
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_stays_on_the_base_origin() {
        let base = Url::parse("https://api.example.com/").unwrap();
        assert_eq!(
            upstream_url(&base, "/api/v2/users?x=1").unwrap().as_str(),
            "https://api.example.com/api/v2/users?x=1"
        );
        let prefixed = Url::parse("https://api.example.com/inContactAPI/").unwrap();
        assert_eq!(
            upstream_url(&prefixed, "/services/v25.0/x")
                .unwrap()
                .as_str(),
            "https://api.example.com/inContactAPI/services/v25.0/x"
        );
        for bad in [
            "//evil.example/x",
            "http://evil.example/x",
            "x",
            "@evil.example/",
        ] {
            assert!(upstream_url(&base, bad).is_none(), "{bad}");
        }
    }
}
