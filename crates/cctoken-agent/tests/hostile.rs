//! Hostile clients on loopback: idle connections beyond a listener's cap (the Unix socket
//! keeps answering, the TCP port serves again once a slot frees), connections that send no
//! head or half a head (closed after the head timeout), keep-alive connections left idle
//! (closed after the idle timeout), and request forms a proxy could read differently —
//! absolute-form targets, `*`, `CONNECT`, two `Host` headers — refused with 400 on the
//! Unix socket, the TCP listener and a proxy.
//!
//! The limits are small here, set through [`ServeOptions`]; every wait is bounded by
//! [`PATIENCE`]. The one negative check ("not answered while the cap is full") cannot
//! fail on a slow machine: with the cap full the answer cannot come at all.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::Router;
use cctoken::clock;
use cctoken_agent::registry::Registry;
use cctoken_agent::serve::{self, ServeOptions};
use cctoken_agent::{app, guard, proxy, AgentKey, AgentState};
use common::{bind, over_unix, raw_exchange, request, tempdir, Fake, Server, PATIENCE};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::oneshot;
use url::Url;

const TOKEN_PREFIX: &str = "hostile-test-token";

fn state(fake: &Arc<Fake>) -> AgentState {
    let mut registry = Registry::new(clock::system());
    registry.add("p", fake.fetcher(), None);
    AgentState::new(registry)
}

/// One agent state served on a Unix socket (default limits) and on TCP within `opts`.
struct Agent {
    sock: std::path::PathBuf,
    tcp: Server,
    key: AgentKey,
    fake: Arc<Fake>,
    _unix: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Agent {
    async fn start(opts: ServeOptions) -> Self {
        let dir = tempdir();
        let sock = dir.path().join("agent.sock");
        let fake = Fake::new(TOKEN_PREFIX, clock::system());
        let st = state(&fake);
        let unix = serve_unix(&sock, app(st.clone()));
        let key = AgentKey::generate();
        let tcp = Server::tcp_with(guard::tcp(app(st), key.clone()), opts).await;
        Self {
            sock,
            tcp,
            key,
            fake,
            _unix: unix,
            _dir: dir,
        }
    }
}

/// The Unix socket serving `router` until the sender is dropped.
fn serve_unix(path: &Path, router: Router) -> oneshot::Sender<()> {
    let (listener, cleanup) = bind(path).expect("bind the socket");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _cleanup = cleanup;
        let _ = serve::serve_unix(listener, router, async move {
            let _ = rx.await;
        })
        .await;
    });
    tx
}

fn opts(max_connections: usize, head: Duration, idle: Duration) -> ServeOptions {
    ServeOptions {
        max_connections,
        head_timeout: head,
        idle_timeout: idle,
    }
}

/// Read from `conn` until the server closes it; fails the test after [`PATIENCE`].
async fn closed_by_the_server(conn: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(PATIENCE, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    assert!(read.await.is_ok(), "{what}: the server kept it open");
}

fn raw_get(target: &str, host: &str, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n")
}

#[tokio::test]
async fn a_flooded_tcp_listener_leaves_the_unix_socket_serving() {
    const CAP: usize = 3;
    let long = Duration::from_secs(600);
    let Agent {
        sock,
        tcp,
        key,
        _unix,
        _dir,
        ..
    } = Agent::start(opts(CAP, long, long)).await;

    // Idle connections that need no key: more than the TCP listener serves at once.
    let mut idle = Vec::new();
    for _ in 0..CAP * 4 {
        idle.push(TcpStream::connect(tcp.addr).await.expect("connect"));
    }
    // A local consumer on the Unix socket is served anyway.
    for _ in 0..3 {
        let r = over_unix(
            &sock,
            request(Method::GET, "/v1/token/p", &[("host", "localhost")], b""),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.json()["access_token"]
            .as_str()
            .unwrap()
            .starts_with(TOKEN_PREFIX));
    }

    // A legitimate TCP client waits while every slot is taken...
    let auth = format!("Bearer {}", key.expose_secret());
    let waiting = {
        let (addr, host, auth) = (tcp.addr, tcp.host(), auth.clone());
        tokio::spawn(async move {
            let s = TcpStream::connect(addr).await.expect("connect");
            let req = format!(
                "GET /healthz HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
            );
            raw_exchange(s, &req).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond the cap");
    // ...and is served once the idle connections go.
    idle.clear();
    let (status, text) = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("served once slots free")
        .unwrap();
    assert_eq!(status, 200, "{text}");
    tcp.stop().await.expect("the TCP listener stops cleanly");
}

#[tokio::test]
async fn connections_that_send_no_complete_head_are_closed() {
    const CAP: usize = 2;
    let fake = Fake::new(TOKEN_PREFIX, clock::system());
    let key = AgentKey::generate();
    let head = Duration::from_millis(200);
    let tcp = Server::tcp_with(
        guard::tcp(app(state(&fake)), key.clone()),
        opts(CAP, head, Duration::from_secs(600)),
    )
    .await;

    let mut silent = TcpStream::connect(tcp.addr).await.unwrap();
    let mut slow = TcpStream::connect(tcp.addr).await.unwrap();
    // Slowloris: a head that never ends.
    slow.write_all(format!("GET /v1/token/p HTTP/1.1\r\nHost: {}\r\n", tcp.host()).as_bytes())
        .await
        .unwrap();
    // Beyond the cap: accepted once one of the first two is closed, then closed in turn.
    let mut third = TcpStream::connect(tcp.addr).await.unwrap();
    closed_by_the_server(&mut silent, "a silent connection").await;
    closed_by_the_server(&mut slow, "half a head").await;
    closed_by_the_server(&mut third, "a silent connection beyond the cap").await;

    // The listener serves again. (With a head timeout this short, a stall of the test
    // between connecting and writing could get an attempt closed too: a few tries.)
    let auth = format!("Bearer {}", key.expose_secret());
    let req = format!(
        "GET /v1/token/p HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        tcp.host()
    );
    let mut answered = None;
    for _ in 0..5 {
        let mut s = TcpStream::connect(tcp.addr).await.unwrap();
        let mut text = Vec::new();
        let exchange = async {
            s.write_all(req.as_bytes()).await?;
            s.read_to_end(&mut text).await
        };
        let _ = tokio::time::timeout(PATIENCE, exchange).await;
        if !text.is_empty() {
            answered = Some(String::from_utf8_lossy(&text).into_owned());
            break;
        }
    }
    let text = answered.expect("an answer");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(fake.calls(), 1);
    tcp.stop().await.unwrap();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let fake = Fake::new(TOKEN_PREFIX, clock::system());
    let key = AgentKey::generate();
    let tcp = Server::tcp_with(
        guard::tcp(app(state(&fake)), key.clone()),
        opts(4, Duration::from_secs(600), Duration::from_millis(200)),
    )
    .await;
    let mut s = TcpStream::connect(tcp.addr).await.unwrap();
    let auth = format!("Bearer {}", key.expose_secret());
    s.write_all(raw_get("/healthz", &tcp.host(), Some(&auth)).as_bytes())
        .await
        .unwrap();
    // The answer comes, then the connection stays open for another request...
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    // ...until it has been idle too long.
    closed_by_the_server(&mut s, "an idle keep-alive connection").await;
    tcp.stop().await.unwrap();
}

/// Request forms that mean something else to a proxy than to the agent's router.
fn malformed(host: &str, auth: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "absolute-form, same host",
            raw_get(&format!("http://{host}/v1/token/p"), host, Some(auth)),
        ),
        (
            "absolute-form, another host",
            raw_get("http://evil.example/v1/token/p", host, Some(auth)),
        ),
        (
            "https absolute-form",
            raw_get("https://evil.example:443/v1/token/p", host, Some(auth)),
        ),
        (
            "two Host headers",
            format!(
                "GET /v1/token/p HTTP/1.1\r\nHost: {host}\r\nHost: evil.example\r\nAuthorization: {auth}\r\n\r\n"
            ),
        ),
        (
            "two Host headers, the foreign one first",
            format!(
                "GET /v1/token/p HTTP/1.1\r\nHost: evil.example\r\nHost: {host}\r\nAuthorization: {auth}\r\n\r\n"
            ),
        ),
        (
            "two equal Host headers",
            format!(
                "GET /v1/token/p HTTP/1.1\r\nHost: {host}\r\nHost: {host}\r\nAuthorization: {auth}\r\n\r\n"
            ),
        ),
        (
            "asterisk-form",
            format!("OPTIONS * HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n\r\n"),
        ),
        (
            "authority-form",
            format!(
                "CONNECT evil.example:443 HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n\r\n"
            ),
        ),
    ]
}

fn assert_refused(status: u16, text: &str, what: &str) {
    assert_eq!(status, 400, "{what}: {text}");
    assert!(text.contains("\"error\":\"bad_request\""), "{what}: {text}");
    assert!(!text.contains(TOKEN_PREFIX), "{what}: a token in {text}");
}

#[tokio::test]
async fn absolute_form_and_duplicate_host_are_refused_on_the_unix_socket_and_tcp() {
    let Agent {
        sock,
        tcp,
        key,
        fake,
        _unix,
        _dir,
        ..
    } = Agent::start(ServeOptions::tcp()).await;
    let auth = format!("Bearer {}", key.expose_secret());

    for (what, raw) in malformed(&tcp.host(), &auth) {
        let (status, text) = raw_exchange(TcpStream::connect(tcp.addr).await.unwrap(), &raw).await;
        assert_refused(status, &text, &format!("TCP, {what}"));
        let (status, text) = raw_exchange(UnixStream::connect(&sock).await.unwrap(), &raw).await;
        assert_refused(status, &text, &format!("Unix socket, {what}"));
    }
    assert_eq!(fake.calls(), 0, "the token source was not asked");

    // The same request in origin-form is answered.
    let ok = raw_get("/v1/token/p", &tcp.host(), Some(&auth))
        .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    let (status, text) = raw_exchange(TcpStream::connect(tcp.addr).await.unwrap(), &ok).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = raw_exchange(UnixStream::connect(&sock).await.unwrap(), &ok).await;
    assert_eq!(status, 200, "{text}");
    tcp.stop().await.unwrap();
}

#[tokio::test]
async fn absolute_form_and_duplicate_host_are_refused_by_a_proxy() {
    // An upstream that counts what reaches it.
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let upstream = Server::tcp(Router::new().fallback(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "upstream" }
    }))
    .await;
    let fake = Fake::new(TOKEN_PREFIX, clock::system());
    let mut registry = Registry::new(clock::system());
    registry.add("p", fake.fetcher(), None);
    let profile = registry.get("p").unwrap().clone();
    let key = AgentKey::generate();
    let base = Url::parse(&format!("http://{}/", upstream.addr)).unwrap();
    let router = proxy::app(profile, clock::system(), base, key.clone()).unwrap();
    let p = Server::tcp(router).await;
    let auth = format!("Bearer {}", key.expose_secret());

    for (what, raw) in malformed(&p.host(), &auth) {
        let (status, text) = raw_exchange(TcpStream::connect(p.addr).await.unwrap(), &raw).await;
        assert_refused(status, &text, &format!("proxy, {what}"));
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing forwarded"
    );
    assert_eq!(fake.calls(), 0, "no token fetched");

    let ok =
        raw_get("/x", &p.host(), Some(&auth)).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    let (status, text) = raw_exchange(TcpStream::connect(p.addr).await.unwrap(), &ok).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("upstream"), "{text}");
    p.stop().await.unwrap();
    upstream.stop().await.unwrap();
}
