//! The HTTP exchange: send a [`PreparedRequest`], read the answer into a [`RawResponse`],
//! map transport failures to [`Error`]s, and render the redacted `--trace` view.
//!
//! Transport failures are transient, except those every attempt would repeat — a TLS
//! handshake that gets plain HTTP, a refused certificate, an answer that is not HTTP —
//! which are permanent, with a hint naming the mismatch. Redirects are not followed (a
//! redirected POST could carry credentials to another host): the error says where
//! `Location` pointed. Bodies are size-limited, and nothing here interprets OAuth semantics. The trace
//! of a response is scrubbed ([`Scrubber`]) of everything the request carried and of
//! everything token-shaped before it reaches the sink.

use std::time::Duration;

use url::Url;

use crate::auth::tls::TlsIdentity;
use crate::auth::PreparedRequest;
use crate::config::env::{self, EnvLookup, ProcessEnv};
use crate::error::{excerpt, Error, ErrorKind};
use crate::scrub::{shape, Scrubber};
use crate::token::RawResponse;

/// Largest response body read from a token or discovery endpoint.
pub const MAX_BODY: usize = 1 << 20;

/// A sink for `--trace` lines (already redacted).
pub type TraceSink = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Hosts that never go through a proxy, whatever `NO_PROXY` says. Plain `http://` is
/// allowed only to loopback, because it never leaves the machine; through a proxy it
/// would carry the Basic header or a bearer token across a network in clear.
pub const NO_PROXY_ALWAYS: &str = "localhost,127.0.0.0/8,::1";

/// Build the HTTP client used for token requests, with the proxies of the process
/// environment ([`with_proxies`]).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    http_client_with_env(timeout, &ProcessEnv)
}

/// [`http_client`] with the proxies of `env`.
pub fn http_client_with_env(
    timeout: Duration,
    env: &dyn EnvLookup,
) -> Result<reqwest::Client, Error> {
    http_client_full(timeout, env, &[], None)
}

/// [`http_client`] trusting `roots` besides the built-in ones, and presenting `identity`
/// in the TLS handshake when given (RFC 8705); proxies from the process environment.
pub fn http_client_with(
    timeout: Duration,
    roots: &[reqwest::Certificate],
    identity: Option<&TlsIdentity>,
) -> Result<reqwest::Client, Error> {
    http_client_full(timeout, &ProcessEnv, roots, identity)
}

/// [`http_client_with`] with the proxies of `env`.
pub fn http_client_full(
    timeout: Duration,
    env: &dyn EnvLookup,
    roots: &[reqwest::Certificate],
    identity: Option<&TlsIdentity>,
) -> Result<reqwest::Client, Error> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("cctoken/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout);
    for r in roots {
        b = b.add_root_certificate(r.clone());
    }
    if let Some(id) = identity {
        b = b.identity(id.reqwest_identity().map_err(Error::config)?);
    }
    with_proxies(b, env)
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

/// `builder` with the proxies that `env` names (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, as curl reads them) instead of reqwest's own reading of them, so that
/// loopback targets ([`NO_PROXY_ALWAYS`]) are always reached directly. Every HTTP client
/// of cctoken (token requests, `api`, the agent's proxy) is built through this. A value
/// that is not a proxy URL is skipped with a warning that does not repeat it (it may hold
/// a password).
pub fn with_proxies(
    builder: reqwest::ClientBuilder,
    env: &dyn EnvLookup,
) -> reqwest::ClientBuilder {
    let first = |names: [&str; 2]| names.iter().find_map(|n| env.non_empty(n));
    let no_proxy = match first(env::NO_PROXY) {
        Some(more) => format!("{NO_PROXY_ALWAYS},{more}"),
        None => NO_PROXY_ALWAYS.to_owned(),
    };
    let cgi = env.var_os(env::REQUEST_METHOD).is_some();
    let mut builder = builder.no_proxy();
    type Make = fn(&str) -> reqwest::Result<reqwest::Proxy>;
    let kinds: [([&str; 2], Make); 3] = [
        (env::HTTP_PROXY, |u| reqwest::Proxy::http(u)),
        (env::HTTPS_PROXY, |u| reqwest::Proxy::https(u)),
        (env::ALL_PROXY, |u| reqwest::Proxy::all(u)),
    ];
    for (names, make) in kinds {
        if cgi && names == env::HTTP_PROXY {
            continue;
        }
        let Some(url) = first(names) else { continue };
        match make(&url) {
            Ok(p) => builder = builder.proxy(p.no_proxy(reqwest::NoProxy::from_string(&no_proxy))),
            Err(_) => tracing::warn!("{} is not a proxy URL; ignoring it", names[0]),
        }
    }
    builder
}

/// The hint for a server that accepted the connection but did not answer in time.
pub const SLOW_ANSWER_HINT: &str = "The server accepted the connection but did not answer in \
     time: it may be overloaded or stalled, or a proxy holds the request. Retry later, and \
     check the server's status and the proxy variables (HTTPS_PROXY, NO_PROXY).";

/// Describe a transport failure without secrets (URLs carry none) and with its causes.
pub fn transport_error(e: &reqwest::Error, url: &Url) -> Error {
    let mut causes = Vec::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        src = s.source();
    }
    if let Some(end) = dead_end(e) {
        return end.error(url, &causes);
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body was cut off"
    } else {
        "request failed"
    };
    let host = url.host_str().unwrap_or("?");
    let port = url.port_or_known_default().unwrap_or(0);
    let mut msg = format!("{what} ({host}:{port})");
    if !causes.is_empty() {
        msg.push_str(": ");
        msg.push_str(&excerpt(&causes.join(": "), 200));
    }
    if e.is_body() || e.is_decode() {
        Error::unexpected(None, msg)
    } else if e.is_timeout() && !e.is_connect() {
        // Connected, then no answer in time: reached, so not "could not be reached".
        let mut err = Error::transport(msg);
        err.hint = Some(SLOW_ANSWER_HINT.to_owned());
        err
    } else {
        Error::transport(msg)
    }
}

/// A failure that will be the same on every attempt: the other end does not speak the
/// protocol the URL says (TLS on an `https://` port, HTTP at all), or its certificate is
/// not accepted. Retrying cannot heal these, so they are permanent, with a hint that says
/// what it is instead of "could not be reached" — the server was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeadEnd {
    /// A TLS handshake that got something else back (`https://` to a plain-HTTP port).
    NotTls,
    /// The server's certificate was refused (unknown issuer, wrong name, expired).
    Certificate,
    /// Any other TLS failure: no common version or cipher, an alert from the server.
    Tls,
    /// The answer does not parse as HTTP.
    NotHttp,
}

/// The [`DeadEnd`] in `e`'s causes, if any.
fn dead_end(e: &reqwest::Error) -> Option<DeadEnd> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(tls) = rustls_in(s) {
            return Some(match tls {
                rustls::Error::InvalidMessage(_)
                | rustls::Error::InappropriateMessage { .. }
                | rustls::Error::InappropriateHandshakeMessage { .. } => DeadEnd::NotTls,
                rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::UnsupportedNameType => DeadEnd::Certificate,
                _ => DeadEnd::Tls,
            });
        }
        if s.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
        {
            return Some(DeadEnd::NotHttp);
        }
        src = s.source();
    }
    None
}

/// The rustls error in `e`, looking through the io::Errors that wrap it (reqwest's
/// connector wraps tokio-rustls's, which wraps rustls's): an io::Error's `source` skips
/// the error it holds, so the chain alone never reaches it.
fn rustls_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut e = e;
    for _ in 0..8 {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        e = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
    None
}

impl DeadEnd {
    fn error(self, url: &Url, causes: &[String]) -> Error {
        let host = url.host_str().unwrap_or("?");
        let port = url.port_or_known_default().unwrap_or(0);
        let cause = excerpt(&causes.join(": "), 200);
        let (kind, what, hint) = match self {
            Self::NotTls => (
                ErrorKind::Transport,
                "TLS handshake failed",
                format!(
                    "The server does not speak TLS on this port — http:// vs https://? \
                     {host}:{port} answered the TLS handshake with something else, most \
                     likely plain HTTP."
                ),
            ),
            Self::Certificate => (
                ErrorKind::Transport,
                "the server's certificate was not accepted",
                format!(
                    "The certificate of {host}:{port} is not trusted for this name: a private \
                     CA (point {} at its PEM bundle), a TLS-inspecting proxy, a name that \
                     does not match the certificate, or an expired certificate.",
                    env::SSL_CERT_FILE
                ),
            ),
            Self::Tls => (
                ErrorKind::Transport,
                "TLS handshake failed",
                format!(
                    "{host}:{port} and cctoken could not agree on TLS (versions 1.2 and 1.3, \
                     modern ciphers): a very old server, or one that refused the handshake; \
                     retrying will not change it."
                ),
            ),
            Self::NotHttp => (
                ErrorKind::UnexpectedResponse,
                "the answer is not HTTP",
                format!(
                    "The answer is not HTTP: {host}:{port} speaks another protocol, or it \
                     expects TLS and this URL says http:// (try https://)."
                ),
            ),
        };
        let msg = if cause.is_empty() {
            format!("{what} ({host}:{port})")
        } else {
            format!("{what} ({host}:{port}): {cause}")
        };
        Error::rejected(kind, None, msg).with_hint(hint)
    }
}

/// Read a response fully (bounded by [`MAX_BODY`]).
pub async fn read_response(resp: reqwest::Response, url: &Url) -> Result<RawResponse, Error> {
    let status = resp.status().as_u16();
    let header = |name: reqwest::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let mut resp = resp;
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(Error::unexpected(
                        Some(status),
                        format!("response body larger than {MAX_BODY} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_error(&e, url)),
        }
    }
    Ok(RawResponse {
        status,
        content_type,
        retry_after,
        body,
    })
}

/// Send a prepared token request; `scrub` knows what it carries (for the trace).
pub async fn send(
    http: &reqwest::Client,
    req: &PreparedRequest,
    trace: Option<&TraceSink>,
    scrub: &Scrubber,
) -> Result<RawResponse, Error> {
    if let Some(t) = trace {
        t(&format!(
            "> {}",
            req.redacted().trim_end().replace('\n', "\n> ")
        ));
    }
    let mut builder = http.post(req.url.clone());
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.wire());
    }
    let body = req.body();
    builder = builder.body(body.expose_secret().to_owned());
    let resp = builder
        .send()
        .await
        .map_err(|e| transport_error(&e, &req.url))?;
    if let Some(e) = redirected(&resp, &req.url, "--token-url", trace, scrub) {
        return Err(e);
    }
    let raw = read_response(resp, &req.url).await?;
    if let Some(t) = trace {
        t(&trace_response(&raw, scrub));
    }
    Ok(raw)
}

/// GET a JSON document (discovery, cxone-configuration); `scrub` knows the values to
/// take out of its trace.
pub async fn get(
    http: &reqwest::Client,
    url: &Url,
    trace: Option<&TraceSink>,
    scrub: &Scrubber,
) -> Result<RawResponse, Error> {
    if let Some(t) = trace {
        t(&format!("> GET {url}"));
    }
    let resp = http
        .get(url.clone())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| transport_error(&e, url))?;
    if let Some(e) = redirected(&resp, url, "the URL configured", trace, scrub) {
        return Err(e);
    }
    let raw = read_response(resp, url).await?;
    if let Some(t) = trace {
        t(&trace_response(&raw, scrub));
    }
    Ok(raw)
}

/// A redirect, explained: cctoken does not follow it (a client's credentials or a token
/// request must never go where a server sends them), so the error says where `Location`
/// pointed — resolved against `url`, without userinfo, scrubbed of what was sent — and
/// that `instead` may take that URL if it is trusted. `None` for any other status.
fn redirected(
    resp: &reqwest::Response,
    url: &Url,
    instead: &str,
    trace: Option<&TraceSink>,
    scrub: &Scrubber,
) -> Option<Error> {
    let status = resp.status();
    if !status.is_redirection() {
        return None;
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url.join(l.trim()).ok())
        .map(|mut to| {
            let _ = to.set_username("");
            let _ = to.set_password(None);
            excerpt(&scrub.scrub(to.as_str()), 300)
        });
    let status = status.as_u16();
    if let Some(t) = trace {
        let to = location.as_deref().unwrap_or("no usable Location");
        t(&format!("< HTTP {status} (redirect to {to}, not followed)"));
    }
    let (message, hint) = match location {
        Some(to) => (
            format!(
                "redirected to {to}; cctoken does not follow redirects (credentials must not \
                 follow a redirect)"
            ),
            format!(
                "The server sends this request elsewhere. If {to} is trusted, use it as \
                 {instead}."
            ),
        ),
        None => (
            "a redirect without a usable Location; cctoken does not follow redirects".to_owned(),
            "Check the URL: the server answers it with a redirect.".to_owned(),
        ),
    };
    Some(Error::rejected(ErrorKind::UnexpectedResponse, Some(status), message).with_hint(hint))
}

/// A response as `--trace` shows it: status, headers of interest, and the body — with
/// every value `scrub` knows taken out, every token shortened to its first 6 characters
/// under a token-ish key at any depth ([`shape::trace_json`]), and everything else
/// token-shaped withheld.
pub fn trace_response(raw: &RawResponse, scrub: &Scrubber) -> String {
    let mut out = format!("< HTTP {}", raw.status);
    if let Some(ct) = &raw.content_type {
        out.push_str(&format!(
            "\n< Content-Type: {}",
            excerpt(&scrub.scrub(ct), 80)
        ));
    }
    if let Some(ra) = &raw.retry_after {
        out.push_str(&format!(
            "\n< Retry-After: {}",
            excerpt(&scrub.scrub(ra), 40)
        ));
    }
    let text = scrub.scrub_known(&String::from_utf8_lossy(&raw.body));
    let body = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            shape::trace_json(&mut v);
            // Decoding may have revealed an echo its escapes hid.
            scrub.scrub_known(&v.to_string())
        }
        Ok(_) | Err(_) => excerpt(&text, 200),
    };
    out.push_str(&format!("\n< {body}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_that_accepts_and_never_answers_was_reached() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/t", listener.local_addr().unwrap())).unwrap();
        // Accept and hold the connection (bounded: the thread ends with the test process).
        std::thread::spawn(move || {
            let held = listener.accept();
            std::thread::sleep(Duration::from_secs(5));
            drop(held);
        });
        let http = http_client(Duration::from_millis(300)).unwrap();
        let e = http.get(url.clone()).send().await.unwrap_err();
        let err = transport_error(&e, &url);
        assert!(err.message.starts_with("timed out"), "{}", err.message);
        assert_eq!(err.hint.as_deref(), Some(SLOW_ANSWER_HINT));
    }

    #[test]
    fn trace_shortens_tokens() {
        let raw = RawResponse {
            status: 200,
            content_type: Some("application/json".into()),
            retry_after: None,
            body: br#"{"access_token":"abcdefghijklmnop","refresh_token":"zyxwvutsrq","expires_in":3600}"#.to_vec(),
        };
        let t = trace_response(&raw, &Scrubber::new());
        assert!(t.contains("abcdef…"), "{t}");
        assert!(!t.contains("abcdefg"), "{t}");
        assert!(!t.contains("zyxwvutsrq"), "{t}");
    }

    /// A server echoing the request in any shape of body: the trace shows none of it.
    #[test]
    fn trace_scrubs_echoes_and_token_shapes() {
        let secret = crate::secret::ClientSecret::new("CANARY/x\"y");
        let scrub = Scrubber::for_client("c", &secret);
        let escaped = r#"CANARY\/x\"y"#;
        let opaque = "Q2FuYXJ5VG9rZW4xMjM0NTY3ODkwYWJjZGVmZ2hpams";
        for (ct, body) in [
            (
                "application/json",
                format!(r#"{{"error":"invalid_client","error_description":"sent {escaped}"}}"#),
            ),
            (
                "application/json",
                format!(r#"{{"data":{{"accessToken":"{opaque}"}},"note":"\u0043ANARY/x\"y"}}"#),
            ),
            ("text/plain", "client_secret=CANARY%2Fx%22y".to_owned()),
            ("text/html", "<title>CANARY/x&quot;y</title>".to_owned()),
            ("text/plain", format!("{{'AccessToken': '{opaque}'}}")),
        ] {
            let raw = RawResponse {
                status: 400,
                content_type: Some(ct.into()),
                retry_after: None,
                body: body.clone().into_bytes(),
            };
            let t = trace_response(&raw, &scrub);
            assert!(
                !t.contains("CANARY") && !t.contains(&opaque[..10]),
                "{t} (from {body})"
            );
        }
    }
}
