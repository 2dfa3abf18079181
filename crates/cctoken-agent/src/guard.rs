//! Access control for the agent's TCP listeners: the agent key and the `Host` check.
//!
//! A loopback port is reachable by every local user and, through DNS rebinding, by web
//! pages in a local browser. So every TCP request must
//! - name a loopback host in `Host` (`localhost`, `127.x.y.z`, `[::1]`, with any port):
//!   a rebinding page's requests carry its own host name and are refused with 403;
//! - carry `Authorization: Bearer <agent key>`; the key is random, lives 0600 in
//!   `agent.key` beside the socket, and is compared in constant time. Without it: 401,
//!   and never a token.
//!
//! The Unix socket needs neither: its 0600 mode already limits it to the agent's user.
//!
//! [`well_formed`] is checked on every listener, the Unix socket included, before any
//! routing (see [`crate::serve`]): origin-form targets only, at most one `Host`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;

use cctoken::agent::wire::ErrorResponse;
pub use cctoken::agent::AgentKey;

use crate::routes::error_response;

/// True when a `Host` header value names a loopback host.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, port)) if port.is_empty() || valid_port(port) => h,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if valid_port(&format!(":{port}")) => h,
            Some(_) => return false,
            None => host,
        }
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn valid_port(p: &str) -> bool {
    p.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Why a TCP request is refused, if it is.
pub fn check(headers: &HeaderMap, key: &AgentKey) -> Result<(), Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_loopback_host(host) {
        return Err(error_response(
            StatusCode::FORBIDDEN,
            &ErrorResponse::new(
                "forbidden_host",
                "the agent answers only requests addressed to a loopback host (Host: localhost, 127.0.0.1 or [::1])",
            ),
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .and_then(|v| {
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case(b"bearer "))
                .map(|_| &v[7..])
        });
    match presented {
        Some(k) if key.matches(k) => Ok(()),
        _ => {
            let mut e = ErrorResponse::new(
                "unauthorized",
                "the agent's TCP listener requires Authorization: Bearer <agent key>",
            );
            e.hint = Some(
                "the key is in agent.key beside the agent's socket (readable by the agent's user only)"
                    .into(),
            );
            let mut r = error_response(StatusCode::UNAUTHORIZED, &e);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cctoken-agent\""),
            );
            Err(r)
        }
    }
}

/// Why a request is refused before any routing, on every listener: an HTTP/1 target that
/// is not origin-form (`GET http://evil/v1/token/x`, `CONNECT host:port`, `OPTIONS *`),
/// or more than one `Host` header — requests a proxy in front of the agent, or the
/// agent's own `Host` check, could read differently from the router. Answered 400, and
/// the connection is closed.
pub fn well_formed<B>(req: &Request<B>) -> Result<(), Response> {
    let uri = req.uri();
    let http1 = req.version() <= Version::HTTP_11;
    let message = if http1 && (uri.scheme().is_some() || !uri.path().starts_with('/')) {
        "the agent accepts only origin-form request targets: send the path alone (GET /path HTTP/1.1) and the address in Host"
    } else if req.headers().get_all(header::HOST).iter().nth(1).is_some() {
        "more than one Host header"
    } else {
        return Ok(());
    };
    let mut r = error_response(
        StatusCode::BAD_REQUEST,
        &ErrorResponse::new("bad_request", message),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Err(r)
}

async fn guard(State(key): State<AgentKey>, req: Request, next: Next) -> Response {
    match check(req.headers(), &key) {
        Ok(()) => next.run(req).await,
        Err(r) => r,
    }
}

/// `router` behind the `Host` and key checks: what a TCP listener serves.
pub fn tcp(router: Router, key: AgentKey) -> Router {
    router.layer(from_fn_with_state(key, guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:9",
            "127.1.2.3:65535",
            "[::1]",
            "[::1]:80",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:80",
            "localhost.evil.example",
            "10.0.0.1",
            "0.0.0.0",
            "[::1]x",
            "127.0.0.1:",
            "127.0.0.1:80:80",
            "[fe80::1]",
            "localhost:abc",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
