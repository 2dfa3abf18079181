//! Scaffolding shared by the agent's integration tests: a bare HTTP/1 client that sends
//! exactly the headers a test chooses (over TCP or a Unix socket), an agent on
//! `127.0.0.1:0` behind the key and `Host` guard, the emulator and its fault control API,
//! a scripted fetcher, and a reader for the Prometheus text.
//!
//! Everything here is bounded: requests and shutdowns time out, [`eventually`] gives up
//! after [`PATIENCE`]. Nothing binds anything but loopback port 0.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use cctoken::client::{Client, RetryPolicy};
use cctoken::clock::SharedClock;
use cctoken::config::ClientConfig;
use cctoken::error::Error;
use cctoken::provider::{Endpoint, ProviderConfig};
use cctoken::secret::{AccessToken, ClientSecret};
use cctoken::source::{BoxFuture, Fetch, Held};
use cctoken::token::Token;
use cctoken_agent::registry::{keep_fresh, Registry, COLD_CONCURRENCY};
use cctoken_agent::{guard, serve, AgentKey, AgentState};
use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{oneshot, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

/// The emulator's demo client and secret (SPEC §10).
pub const CLIENT_ID: &str = "demo-client";
pub const SECRET: &str = "demo+s3cret/=%&";

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A response, body read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// True when `needle` appears in the body or in any header value.
    pub fn mentions(&self, needle: &str) -> bool {
        self.body.contains(needle)
            || self
                .headers
                .values()
                .any(|v| String::from_utf8_lossy(v.as_bytes()).contains(needle))
    }
}

/// A request with exactly these headers (no `Host` unless given).
pub fn request(
    method: Method,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(method).uri(target);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::copy_from_slice(body)))
        .expect("a well-formed test request")
}

/// Send one request on a fresh HTTP/1 connection over `io`.
pub async fn send_on<IO>(io: IO, req: Request<Full<Bytes>>) -> Resp
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = async move {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .expect("HTTP/1 handshake");
        let conn = tokio::spawn(conn);
        let resp = sender.send_request(req).await.expect("a response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("the body").to_bytes();
        drop(sender);
        let _ = conn.await;
        Resp {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("the exchange finishes in time")
}

/// Send one request over loopback TCP.
pub async fn over_tcp(addr: SocketAddr, req: Request<Full<Bytes>>) -> Resp {
    let s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    send_on(s, req).await
}

/// Send one request over a Unix socket.
pub async fn over_unix(path: &Path, req: Request<Full<Bytes>>) -> Resp {
    let s = tokio::net::UnixStream::connect(path)
        .await
        .expect("connect to the socket");
    send_on(s, req).await
}

/// Write `raw` bytes on `io` and read the answer until the server closes the connection:
/// the status code and the whole text.
pub async fn raw_exchange<IO>(mut io: IO, raw: &str) -> (u16, String)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let exchange = async move {
        io.write_all(raw.as_bytes())
            .await
            .expect("send the request");
        let mut out = Vec::new();
        io.read_to_end(&mut out).await.expect("read the answer");
        String::from_utf8_lossy(&out).into_owned()
    };
    let text = tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("the server answers and closes the connection in time");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    (status, text)
}

/// Poll `check` until it holds; fail the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A router served on `127.0.0.1:0` by [`serve::serve_tcp`] until [`Server::stop`].
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Serve `router` as given (apply [`guard::tcp`] first for an agent listener).
    pub async fn tcp(router: Router) -> Self {
        Self::tcp_with(router, serve::ServeOptions::tcp()).await
    }

    /// [`Server::tcp`] within `opts`.
    pub async fn tcp_with(router: Router, opts: serve::ServeOptions) -> Self {
        let listener = serve::bind_tcp("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve::serve_tcp_with(
            listener,
            router,
            async move {
                let _ = rx.await;
            },
            opts,
        ));
        Self {
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// `127.0.0.1:PORT`, the `Host` a local client sends.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    /// Resolve the shutdown future and wait for the server to return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().expect("running");
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the server returns after shutdown")
            .expect("the server task does not panic")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// An agent on loopback TCP behind its key, optionally with the background refreshers.
pub struct Agent {
    pub server: Server,
    pub key: AgentKey,
    pub state: AgentState,
    stop_fresh: watch::Sender<bool>,
    fresh: Vec<JoinHandle<()>>,
}

impl Agent {
    /// Serve `registry` the way `cctoken agent --listen` does: `guard::tcp(app(state), key)`.
    pub async fn start(registry: Registry) -> Self {
        let state = AgentState::new(registry);
        let key = AgentKey::generate();
        let router = guard::tcp(cctoken_agent::app(state.clone()), key.clone());
        Self {
            server: Server::tcp(router).await,
            key,
            state,
            stop_fresh: watch::channel(false).0,
            fresh: Vec::new(),
        }
    }

    /// Run [`keep_fresh`] for every profile with this tick.
    pub fn keep_fresh(&mut self, tick: Duration) {
        let cold = Arc::new(Semaphore::new(COLD_CONCURRENCY));
        for p in self.state.registry().profiles() {
            self.fresh.push(tokio::spawn(keep_fresh(
                p.clone(),
                tick,
                cold.clone(),
                self.stop_fresh.subscribe(),
            )));
        }
    }

    pub fn host(&self) -> String {
        self.server.host()
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.key.expose_secret())
    }

    /// `GET path` with exactly `headers`.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        over_tcp(self.server.addr, request(Method::GET, path, headers, b"")).await
    }

    /// `GET path` as a legitimate local client: loopback `Host` and the key.
    pub async fn get(&self, path: &str) -> Resp {
        let (host, auth) = (self.host(), self.bearer());
        self.get_with(path, &[("host", &host), ("authorization", &auth)])
            .await
    }

    /// A token answer for `profile`; fails the test on anything but 200.
    pub async fn token(&self, profile: &str) -> serde_json::Value {
        let r = self.get(&format!("/v1/token/{profile}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }

    pub async fn metrics(&self) -> String {
        let r = self.get("/metrics").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    /// A per-profile sample of `/metrics`.
    pub async fn metric(&self, name: &str, profile: &str) -> Option<f64> {
        metric(&self.metrics().await, name, Some(profile))
    }

    /// Stop the refreshers and the listener; both must end on their own.
    pub async fn stop(self) {
        self.stop_fresh.send_replace(true);
        for t in self.fresh {
            tokio::time::timeout(PATIENCE, t)
                .await
                .expect("keep_fresh ends when told to stop")
                .expect("keep_fresh does not panic");
        }
        self.server.stop().await.expect("the agent stops cleanly");
    }
}

/// The value of a sample in Prometheus text: `name{profile="p"} v`, or `name v`.
pub fn metric(text: &str, name: &str, profile: Option<&str>) -> Option<f64> {
    let prefix = match profile {
        Some(p) => format!("{name}{{profile=\"{p}\"}} "),
        None => format!("{name} "),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().expect("a number"))
}

// ---- the emulator --------------------------------------------------------------------

/// An emulator of `flavor` with the demo clients on `127.0.0.1:0`.
pub async fn emulator(flavor: Flavor) -> RunningEmulator {
    cctoken_emulator::spawn(EmulatorConfig::new(flavor).with_demo())
        .await
        .expect("emulator")
}

/// A client of the emulator's demo client on `clock`, without retries (a failure is
/// reported at once, which is what the agent's own fallback is about).
pub fn client(emu: &RunningEmulator, secret: &str, clock: SharedClock) -> Client {
    let token_url =
        url::Url::parse(&format!("{}/oauth/token", emu.base_url())).expect("a token URL");
    let provider = match emu.state().config().flavor {
        Flavor::Genesys => ProviderConfig::Genesys {
            region: None,
            token_url: Some(token_url),
            api_base: None,
        },
        _ => ProviderConfig::Generic {
            endpoint: Endpoint::TokenUrl(token_url),
            api_base: None,
        },
    };
    let cfg = ClientConfig::new(provider, CLIENT_ID, ClientSecret::new(secret));
    Client::new(cfg)
        .with_clock(clock)
        .with_retry(RetryPolicy::none())
}

/// Queue faults through the emulator's runtime control API (`POST /_emulator/faults`).
pub async fn fault(emu: &RunningEmulator, json: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/_emulator/faults", emu.base_url()))
        .header("content-type", "application/json")
        .body(json.to_owned())
        .send()
        .await
        .expect("the emulator's control API");
    assert!(r.status().is_success(), "{json}: {}", r.status());
}

/// Clear every queued fault (`DELETE /_emulator/faults`).
pub async fn clear_faults(emu: &RunningEmulator) {
    let r = reqwest::Client::new()
        .delete(format!("{}/_emulator/faults", emu.base_url()))
        .send()
        .await
        .expect("the emulator's control API");
    assert!(r.status().is_success(), "{}", r.status());
}

// ---- a scripted fetcher ----------------------------------------------------------------

/// A token source double: hands out `{prefix}-{n}` tokens on `clock`, counts calls, can
/// be made to fail, and can be made to hold every fetch until released.
pub struct Fake {
    pub prefix: String,
    pub lifetime: Duration,
    pub calls: AtomicUsize,
    /// While set, every fetch fails like an unreachable token server.
    pub fail: std::sync::atomic::AtomicBool,
    clock: SharedClock,
    /// Signalled when a fetch starts.
    pub entered: Notify,
    gate: Semaphore,
}

impl Fake {
    pub fn new(prefix: &str, clock: SharedClock) -> Arc<Self> {
        Self::lasting(prefix, clock, Duration::from_secs(3600))
    }

    /// Like [`Fake::new`], with tokens that live `lifetime`.
    pub fn lasting(prefix: &str, clock: SharedClock, lifetime: Duration) -> Arc<Self> {
        Arc::new(Self {
            prefix: prefix.to_owned(),
            lifetime,
            calls: AtomicUsize::new(0),
            fail: std::sync::atomic::AtomicBool::new(false),
            clock,
            entered: Notify::new(),
            gate: Semaphore::new(Semaphore::MAX_PERMITS),
        })
    }

    /// Like [`Fake::new`], but every fetch waits for [`Fake::release`].
    pub fn held(prefix: &str, clock: SharedClock) -> Arc<Self> {
        let f = Self::new(prefix, clock);
        f.gate.forget_permits(Semaphore::MAX_PERMITS);
        f
    }

    pub fn release(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The fetcher to hand to a registry.
    pub fn fetcher(self: &Arc<Self>) -> FakeFetch {
        FakeFetch(self.clone())
    }
}

/// [`Fake`] as a [`Fetch`].
pub struct FakeFetch(Arc<Fake>);

impl Fetch for FakeFetch {
    fn fetch<'a>(&'a self, _held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let f = &self.0;
            let n = f.calls.fetch_add(1, Ordering::SeqCst);
            f.entered.notify_one();
            let _pass = f.gate.acquire().await.expect("the gate stays open");
            if f.fail.load(Ordering::SeqCst) {
                return Err(Error::transport("connection refused (scripted)"));
            }
            Ok(Token {
                access_token: AccessToken::new(format!("{}-{n}", f.prefix)),
                token_type: "Bearer",
                issued_at: f.clock.now(),
                expires_in: f.lifetime,
                expires_in_defaulted: false,
                scope: None,
                refresh_token: None,
                id_token: None,
            })
        })
    }
}

/// Seconds between now and an RFC 3339 `expires_at`.
pub fn seconds_until(expires_at: &str, now: SystemTime) -> i64 {
    let at = humantime::parse_rfc3339(expires_at).expect("RFC 3339 expires_at");
    match at.duration_since(now) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

// ---- files ---------------------------------------------------------------------------

/// Serialises file creation in a test binary against `bind_unix`, which narrows the
/// process-wide umask while it binds (a directory created meanwhile would lose its `x` bit).
static FS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run `f`, which creates files, while no `bind_unix` runs.
pub fn fs<T>(f: impl FnOnce() -> T) -> T {
    let _g = FS.lock().unwrap_or_else(|p| p.into_inner());
    f()
}

/// A temporary directory only this user can use (0700), as the agent requires of the
/// directory its socket and key live in.
pub fn tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = fs(|| tempfile::tempdir().expect("a temporary directory"));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .expect("a private temporary directory");
    dir
}

/// [`serve::bind_unix`] under [`fs`].
pub fn bind(path: &Path) -> Result<(tokio::net::UnixListener, serve::Cleanup), serve::SetupError> {
    fs(|| serve::bind_unix(path))
}

/// The `cache-control` of token and error answers.
pub fn assert_no_store(r: &Resp) {
    assert_eq!(
        r.header(header::CACHE_CONTROL.as_str()),
        Some("no-store"),
        "{r:?}"
    );
}
