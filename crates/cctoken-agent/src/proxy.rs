//! Proxy mode: a loopback port that forwards every request to one profile's API base with
//! that profile's bearer token, for tools that cannot refresh tokens themselves.
//!
//! The tool is configured with `http://127.0.0.1:PORT` as its API URL and the agent key as
//! its (static) bearer token. The proxy checks `Host` and the key like every agent TCP
//! listener ([`crate::guard`]), replaces the `Authorization` header with the profile's
//! current token, and forwards the request to the API base — only there: the path is
//! appended to the base and the result must have the base's origin, and redirects are
//! passed back to the tool, not followed.
//!
//! Calls go out through the profile's [`cctoken::pool::TokenPool`] (SPEC §13): paced to
//! its `api_rate_limit` over its `pool_size` tokens, refused locally with `429`,
//! `Retry-After` (the earliest free slot) and `{"error":"rate_limited","source":"cctoken"}`
//! when no token has room within 2 s. A `401` re-mints that token and retries once; an
//! upstream `429` cools its token and retries once on another, unless its `Retry-After` is
//! over 180 s (passed back to the tool).
//!
//! Request bodies are buffered (up to [`MAX_BODY`]) so the retry can resend them; the
//! proxy is meant for API calls, not for streaming uploads. Response bodies are streamed
//! through, never buffered, and bounded too: an upstream that announces more than
//! [`MAX_BODY`] in `Content-Length` gets the tool a 502 before any of it is read, and one
//! that sends more than that without announcing it has the response cut off at the cap.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::Router;
use cctoken::agent::wire::ErrorResponse;
use cctoken::clock::SharedClock;
use cctoken::pool::PoolError;
use cctoken::token::Token;
use hyper::body::{Frame, SizeHint};
use url::Url;

use crate::guard::{self, AgentKey};
use crate::registry::Profile;
use crate::routes::error_response;

/// Largest request body the proxy buffers, and largest response body it relays.
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
    max_body: usize,
}

/// The proxy's router for `profile`, forwarding to `api_base`, behind the key and `Host`
/// checks; bodies up to [`MAX_BODY`].
pub fn app(
    profile: Profile,
    clock: SharedClock,
    api_base: Url,
    key: AgentKey,
) -> Result<Router, reqwest::Error> {
    app_with(profile, clock, api_base, key, MAX_BODY)
}

/// [`app`] with another body limit, in bytes.
pub fn app_with(
    profile: Profile,
    clock: SharedClock,
    api_base: Url,
    key: AgentKey,
    max_body: usize,
) -> Result<Router, reqwest::Error> {
    let http = reqwest::Client::builder()
        .user_agent(concat!("cctoken-agent/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(UPSTREAM_TIMEOUT);
    // A loopback API base is reached directly, never through a proxy.
    let http = cctoken::client::http::with_proxies(http, &cctoken::config::ProcessEnv).build()?;
    let target = Target {
        profile,
        clock,
        base: api_base,
        http,
        max_body,
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
    let body = match to_bytes(body, t.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &ErrorResponse::new("too_large", "request body too large or unreadable"),
            )
        }
    };
    let headers = forwarded_headers(&parts.headers);
    let send = |token: &Token| {
        t.http
            .request(parts.method.clone(), url.clone())
            .headers(headers.clone())
            .bearer_auth(token.access_token.expose_secret())
            .body(body.clone())
            .send()
    };
    let sent = match t.profile.pool.send(send).await {
        Ok(sent) => sent,
        Err(refused @ PoolError::Refused { .. }) => return refusal(&refused),
        Err(PoolError::Token(e)) => {
            // No token of the pool: the last one obtained still serves while it lasts.
            match t.profile.token(&t.clock).await {
                Ok(token) => send(&token).await,
                Err(_) => {
                    return error_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &ErrorResponse::from_error(&e),
                    )
                }
            }
        }
    };
    match sent {
        Ok(resp) => relay(resp, &parts.method, t.max_body),
        Err(e) => bad_gateway(format!(
            "{} {}: {}",
            parts.method,
            url.origin().ascii_serialization(),
            cctoken::error::excerpt(&e.to_string(), 200)
        )),
    }
}

/// A call refused locally (SPEC §13): 429 with `Retry-After` set to the earliest free slot,
/// so the API never sees it.
fn refusal(refused: &PoolError) -> Response {
    let secs = refused.retry_after_secs().unwrap_or(1);
    let body = serde_json::json!({
        "error": "rate_limited",
        "source": "cctoken",
        "message": refused.to_string(),
        "retry_after": secs,
        "retry_after_ms": match refused {
            PoolError::Refused { retry_after } => retry_after.as_millis() as u64,
            PoolError::Token(_) => secs * 1000,
        },
    });
    let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The API's answer, its body streamed through [`Capped`]; a 502 at once when it
/// announces more than `max_body` bytes.
fn relay(resp: reqwest::Response, method: &Method, max_body: usize) -> Response {
    let announced = resp.content_length().filter(|_| method != Method::HEAD);
    if announced.is_some_and(|n| n > max_body as u64) {
        return bad_gateway(format!(
            "the API's response is larger than the proxy relays ({max_body} bytes)"
        ));
    }
    let status = resp.status();
    let mut headers = HeaderMap::with_capacity(resp.headers().len());
    for (k, v) in resp.headers() {
        if !DROPPED.contains(&k.as_str()) {
            headers.append(HeaderName::from(k), v.clone());
        }
    }
    let body = Capped {
        next: Some(next_chunk(resp)),
        left: max_body,
        announced,
    };
    let mut r = Response::new(Body::new(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

type Chunk = (reqwest::Response, reqwest::Result<Option<Bytes>>);

fn next_chunk(mut resp: reqwest::Response) -> Pin<Box<dyn Future<Output = Chunk> + Send>> {
    Box::pin(async move {
        let chunk = resp.chunk().await;
        (resp, chunk)
    })
}

/// An upstream response body passed on chunk by chunk, holding at most one chunk, and cut
/// off (the response to the tool aborted) before the chunk that would pass the cap.
struct Capped {
    next: Option<Pin<Box<dyn Future<Output = Chunk> + Send>>>,
    left: usize,
    /// What is left of the upstream's `Content-Length`, passed on.
    announced: Option<u64>,
}

/// Why a relayed response was cut off.
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("the API's response is larger than the proxy relays; cut off")]
    TooLarge,
    #[error("reading the API's response: {0}")]
    Upstream(String),
}

impl HttpBody for Capped {
    type Data = Bytes;
    type Error = RelayError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RelayError>>> {
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let (resp, chunk) = std::task::ready!(next.as_mut().poll(cx));
        self.next = None;
        let out = match chunk {
            Ok(None) => return Poll::Ready(None),
            Ok(Some(bytes)) if bytes.len() > self.left => Err(RelayError::TooLarge),
            Ok(Some(bytes)) => {
                self.left -= bytes.len();
                self.announced = self.announced.map(|n| n.saturating_sub(bytes.len() as u64));
                self.next = Some(next_chunk(resp));
                Ok(Frame::data(bytes))
            }
            Err(e) => Err(RelayError::Upstream(cctoken::error::excerpt(
                &e.to_string(),
                200,
            ))),
        };
        if let Err(e) = &out {
            tracing::warn!("proxy: {e}");
        }
        Poll::Ready(Some(out))
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.announced {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
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
