//! Proxy mode over loopback TCP: requests with the agent key are forwarded to the
//! profile's API base with the profile's token in place of the key; a 401 from the API
//! (a revoked token at the emulator) makes the proxy refresh once and retry; requests
//! without the key, or for a foreign `Host`, are never forwarded; nothing ever goes to
//! another origin (absolute-form targets are refused, `//host` paths too, redirects are
//! relayed unfollowed).
//!
//! Two upstreams: the emulator's Genesys `/api/v2/tokens/me` (which really checks the
//! token), and a recording echo server that shows exactly what the proxy sent.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cctoken::clock;
use cctoken_agent::registry::{Profile, Registry};
use cctoken_agent::{proxy, AgentKey};
use cctoken_emulator::{Flavor, RunningEmulator};
use common::{client, emulator, fault, request, Resp, Server, SECRET};
use url::Url;

/// A proxy for profile `g` of `emu`, forwarding to `api_base`.
struct Proxy {
    server: Server,
    key: AgentKey,
    profile: Profile,
    emu: RunningEmulator,
}

impl Proxy {
    async fn start(emu: RunningEmulator, api_base: &str) -> Self {
        let clock = clock::system();
        let mut registry = Registry::new(clock.clone());
        registry.add("g", client(&emu, SECRET, clock.clone()), None);
        let profile = registry.get("g").expect("the profile").clone();
        let key = AgentKey::generate();
        let base = Url::parse(api_base).expect("an API base");
        let router = proxy::app(profile.clone(), clock, base, key.clone()).expect("the proxy");
        Self {
            server: Server::tcp(router).await,
            key,
            profile,
            emu,
        }
    }

    /// A request as a tool configured with the proxy would send it.
    async fn send(
        &self,
        method: Method,
        target: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let host = self.server.host();
        let auth = format!("Bearer {}", self.key.expose_secret());
        let mut headers = vec![("host", host.as_str()), ("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        self.send_raw(method, target, &headers, body).await
    }

    async fn send_raw(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        common::over_tcp(self.server.addr, request(method, target, headers, body)).await
    }

    /// The profile's current token.
    fn current_token(&self) -> String {
        self.profile
            .source
            .peek()
            .expect("a current token")
            .access_token
            .expose_secret()
            .to_owned()
    }

    async fn stop(self) {
        self.server.stop().await.expect("the proxy stops cleanly");
        self.emu.shutdown().await;
    }
}

// ---- an upstream that records what it receives ------------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Default)]
struct Upstream {
    seen: Mutex<Vec<Seen>>,
    redirect_to: Mutex<String>,
}

impl Upstream {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
    let path = parts.uri.path().to_owned();
    up.seen.lock().unwrap().push(Seen {
        method: parts.method,
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    });
    if path.ends_with("/always401") {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            "no",
        )
            .into_response()
    } else if path.ends_with("/redirect") {
        let to = up.redirect_to.lock().unwrap().clone();
        (StatusCode::FOUND, [(header::LOCATION, to)], Body::empty()).into_response()
    } else {
        (StatusCode::OK, [("x-upstream", "echo")], "echoed").into_response()
    }
}

/// The recording upstream on `127.0.0.1:0`.
async fn upstream() -> (Server, Arc<Upstream>) {
    let up = Arc::new(Upstream::default());
    let router = Router::new().fallback(record).with_state(up.clone());
    (Server::tcp(router).await, up)
}

/// Another origin that must never be contacted: counts connections.
struct Trap {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Trap {
    async fn start() -> Self {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((_conn, _)) = l.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self { addr, hits, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn bearer_of(s: &Seen) -> &str {
    s.headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("a bearer token upstream")
}

// ---- against the emulator's Genesys API ---------------------------------------------------

#[tokio::test]
async fn forwards_to_the_api_with_the_profiles_token() {
    let emu = emulator(Flavor::Genesys).await;
    let base = emu.base_url();
    let p = Proxy::start(emu, &base).await;

    let r = p.send(Method::GET, "/api/v2/tokens/me", &[], b"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let me = r.json();
    assert_eq!(me["OAuthClient"]["id"], common::CLIENT_ID, "{me}");
    assert_eq!(me["organization"]["name"], "cctoken emulator");
    assert!(!r.mentions(p.key.expose_secret()));

    let r = p.send(Method::HEAD, "/api/v2/tokens/me", &[], b"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_empty());

    let stats = p.emu.stats();
    assert_eq!(stats.api_requests_total, 2);
    assert_eq!(stats.tokens_issued_total, 1, "one token for both requests");
    p.stop().await;
}

#[tokio::test]
async fn a_revoked_token_is_refreshed_once_and_the_request_succeeds() {
    let emu = emulator(Flavor::Genesys).await;
    let base = emu.base_url();
    let p = Proxy::start(emu, &base).await;

    let r = p.send(Method::GET, "/api/v2/tokens/me", &[], b"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t0 = p.current_token();

    // Revoke it behind the agent's back: DELETE /api/v2/tokens/me with the token itself.
    let revoked = reqwest::Client::new()
        .delete(format!("{base}/api/v2/tokens/me"))
        .bearer_auth(&t0)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), reqwest::StatusCode::NO_CONTENT);
    assert!(
        p.profile.source.peek().is_some(),
        "the agent still thinks it is good"
    );

    let r = p.send(Method::GET, "/api/v2/tokens/me", &[], b"").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "refreshed and retried: {}",
        r.body
    );
    assert_eq!(r.json()["OAuthClient"]["id"], common::CLIENT_ID);
    let t1 = p.current_token();
    assert_ne!(t1, t0, "the rejected token was replaced");
    let stats = p.emu.stats();
    assert_eq!(stats.tokens_issued_total, 2);
    // first call, the DELETE, the call with the revoked token, the retry
    assert_eq!(stats.api_requests_total, 4);

    // The new token is used from now on, without another refresh.
    let r = p.send(Method::GET, "/api/v2/tokens/me", &[], b"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(p.emu.stats().tokens_issued_total, 2);
    assert_eq!(p.current_token(), t1);
    p.stop().await;
}

#[tokio::test]
async fn without_the_key_or_for_a_foreign_host_nothing_is_forwarded() {
    let emu = emulator(Flavor::Genesys).await;
    let base = emu.base_url();
    let p = Proxy::start(emu, &base).await;
    let host = p.server.host();
    let key = format!("Bearer {}", p.key.expose_secret());

    type Headers<'a> = Vec<(&'a str, &'a str)>;
    let cases: [(&str, Headers, StatusCode); 5] = [
        ("no key", vec![("host", &host)], StatusCode::UNAUTHORIZED),
        (
            "a wrong key",
            vec![("host", &host), ("authorization", "Bearer not-the-key")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            // A tool that sends its own API token instead of the agent key.
            "an API token",
            vec![("host", &host), ("authorization", "Bearer some-api-token")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a foreign Host",
            vec![("host", "evil.example"), ("authorization", &key)],
            StatusCode::FORBIDDEN,
        ),
        (
            "a foreign Host with the port",
            vec![("host", "api.evil.example:443"), ("authorization", &key)],
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, headers, status) in &cases {
        for method in [Method::GET, Method::DELETE, Method::POST] {
            let r = p
                .send_raw(method.clone(), "/api/v2/tokens/me", headers, b"{}")
                .await;
            assert_eq!(r.status, *status, "{what} {method}: {}", r.body);
            assert!(!r.body.contains("OAuthClient"), "{what}");
        }
    }
    let stats = p.emu.stats();
    assert_eq!(stats.api_requests_total, 0, "nothing reached the API");
    assert_eq!(stats.token_requests_total, 0, "no token was even fetched");
    p.stop().await;
}

// ---- against the recording upstream ------------------------------------------------------

#[tokio::test]
async fn the_profile_token_replaces_the_agent_key_upstream() {
    let (up_server, up) = upstream().await;
    let emu = emulator(Flavor::Generic).await;
    let p = Proxy::start(emu, &format!("http://{}/base/", up_server.addr)).await;

    let r = p
        .send(
            Method::POST,
            "/echo?x=1&y=two",
            &[
                ("x-custom", "kept"),
                ("content-type", "application/json"),
                ("proxy-authorization", "Basic cHJveHk6c2VjcmV0"),
                ("te", "trailers"),
            ],
            b"{\"hello\":1}",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, "echoed");
    assert_eq!(
        r.header("x-upstream"),
        Some("echo"),
        "response headers relayed"
    );

    let seen = up.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, Method::POST);
    assert_eq!(s.path, "/base/echo", "the path is appended to the base");
    assert_eq!(s.query.as_deref(), Some("x=1&y=two"));
    assert_eq!(s.body, b"{\"hello\":1}");
    assert_eq!(bearer_of(s), p.current_token(), "the profile's token");
    assert_eq!(s.headers["x-custom"], "kept");
    assert_eq!(s.headers["content-type"], "application/json");
    assert!(s.headers.get("proxy-authorization").is_none());
    assert!(s.headers.get("te").is_none());
    assert_eq!(
        s.headers[header::HOST],
        up_server.host().as_str(),
        "Host is the API's"
    );
    let key = p.key.expose_secret();
    for (name, value) in &s.headers {
        assert!(
            !String::from_utf8_lossy(value.as_bytes()).contains(key),
            "the agent key went upstream in {name}"
        );
    }
    p.stop().await;
    up_server.stop().await.unwrap();
}

#[tokio::test]
async fn a_second_401_is_relayed_after_exactly_one_refresh() {
    let (up_server, up) = upstream().await;
    let emu = emulator(Flavor::Generic).await;
    let p = Proxy::start(emu, &format!("http://{}/", up_server.addr)).await;

    let r = p.send(Method::PUT, "/always401", &[], b"resend me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "the API's own answer"
    );
    let seen = up.seen();
    assert_eq!(seen.len(), 2, "the original and one retry");
    assert_ne!(
        bearer_of(&seen[0]),
        bearer_of(&seen[1]),
        "a new token for the retry"
    );
    for s in &seen {
        assert_eq!(s.method, Method::PUT);
        assert_eq!(s.body, b"resend me", "the body is sent again");
    }
    assert_eq!(p.emu.stats().tokens_issued_total, 2);
    p.stop().await;
    up_server.stop().await.unwrap();
}

#[tokio::test]
async fn nothing_goes_to_another_origin() {
    let (up_server, up) = upstream().await;
    let trap = Trap::start().await;
    *up.redirect_to.lock().unwrap() = format!("http://{}/stolen", trap.addr);
    let emu = emulator(Flavor::Generic).await;
    let p = Proxy::start(emu, &format!("http://{}/base", up_server.addr)).await;

    // An absolute-form target naming another origin is refused (tests/hostile.rs has more).
    let r = p
        .send(
            Method::GET,
            &format!("http://{}/steal?a=b", trap.addr),
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.json()["error"], "bad_request");
    assert!(up.seen().is_empty(), "nothing forwarded");

    // A path that would read as a network-path reference is refused.
    let before = up.seen().len();
    let r = p
        .send(Method::GET, &format!("//{}/steal", trap.addr), &[], b"")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.json()["error"], "bad_request");
    assert_eq!(up.seen().len(), before);

    // Redirects go back to the tool, unfollowed.
    let r = p.send(Method::GET, "/redirect", &[], b"").await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.header("location"),
        Some(format!("http://{}/stolen", trap.addr).as_str())
    );

    assert_eq!(trap.hits(), 0, "the other origin was contacted");
    p.stop().await;
    up_server.stop().await.unwrap();
}

#[tokio::test]
async fn no_token_means_503_and_nothing_forwarded() {
    let (up_server, up) = upstream().await;
    let emu = emulator(Flavor::Generic).await;
    fault(&emu, r#"{"kind":"status","status":503,"probability":1.0}"#).await;
    let p = Proxy::start(emu, &format!("http://{}/", up_server.addr)).await;

    let r = p.send(Method::GET, "/echo", &[], b"").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let e = r.json();
    assert_eq!(e["class"], "transient", "{e}");
    assert!(!r.mentions(SECRET));
    assert!(
        up.seen().is_empty(),
        "nothing was forwarded without a token"
    );
    p.stop().await;
    up_server.stop().await.unwrap();
}
