//! Listeners and files: the Unix socket (0600 in a 0700 directory) and the key file
//! (0600), a token over the socket without any key, graceful shutdown (in-flight requests
//! finish, `serve_unix` returns, dropping [`Cleanup`] removes the socket and key file),
//! what binding does over a live agent, a stale socket, a regular file or a symlink, and
//! loopback-only TCP.
//!
//! `bind_unix` narrows the process umask while it binds, so every file this test binary
//! creates is created under [`common::fs`] (tests run on parallel threads of one process).

mod common;

use std::os::unix::fs::{DirBuilderExt as _, FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use cctoken::clock;
use cctoken_agent::registry::Registry;
use cctoken_agent::serve::{self, Cleanup, SetupError};
use cctoken_agent::{app, guard, AgentKey, AgentState};
use common::{bind, fs, over_tcp, over_unix, request, tempdir, Fake, Server, PATIENCE};
use tokio::net::UnixListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn state(fake: &std::sync::Arc<Fake>) -> AgentState {
    let mut registry = Registry::new(clock::system());
    registry.add("p", fake.fetcher(), None);
    AgentState::new(registry)
}

/// `serve_unix` on its own task until the returned sender fires.
fn serve_unix(
    listener: UnixListener,
    state: AgentState,
) -> (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve::serve_unix(listener, app(state), async move {
        let _ = rx.await;
    }));
    (tx, task)
}

async fn get_token(sock: &Path) -> common::Resp {
    over_unix(
        sock,
        request(Method::GET, "/v1/token/p", &[("host", "localhost")], b""),
    )
    .await
}

#[tokio::test]
async fn socket_key_and_directory_are_private() {
    let dir = tempdir();
    let sock = dir.path().join("cctoken").join("agent.sock");
    let (listener, cleanup) = bind(&sock).expect("bind");
    let meta = std::fs::symlink_metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(mode(&sock), 0o600, "socket");
    assert_eq!(mode(sock.parent().unwrap()), 0o700, "socket directory");

    let key = AgentKey::generate();
    let key_file = serve::key_path(&sock);
    assert_eq!(key_file, dir.path().join("cctoken").join("agent.key"));
    fs(|| serve::write_key(&key_file, &key)).expect("write the key");
    assert_eq!(mode(&key_file), 0o600, "key file");
    let written = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(written, format!("{}\n", key.expose_secret()));
    assert!(AgentKey::from_string(&written).matches(key.expose_secret().as_bytes()));

    // A new key replaces the old one in place, still 0600, with no temporary file left.
    let key2 = AgentKey::generate();
    fs(|| serve::write_key(&key_file, &key2)).expect("rewrite the key");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        key2.expose_secret()
    );
    let mut names: Vec<String> = std::fs::read_dir(sock.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["agent.key", "agent.sock"]);
    drop(listener);
    drop(cleanup);
}

#[tokio::test]
async fn the_agents_own_directory_is_tightened_and_others_are_left_alone() {
    let dir = tempdir();
    let own = dir.path().join("cctoken");
    let shared = dir.path().join("shared");
    for d in [&own, &shared] {
        fs(|| std::fs::DirBuilder::new().mode(0o755).create(d)).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (_l1, _c1) = bind(&own.join("agent.sock")).expect("bind in own dir");
    assert_eq!(
        mode(&own),
        0o700,
        "the agent's own directory is made private"
    );
    let (_l2, _c2) = bind(&shared.join("agent.sock")).expect("bind in a shared dir");
    assert_eq!(mode(&shared), 0o755, "a directory the agent does not own");
    assert_eq!(
        mode(&shared.join("agent.sock")),
        0o600,
        "the socket is private anyway"
    );
}

#[tokio::test]
async fn a_token_over_the_unix_socket_needs_no_key() {
    let dir = tempdir();
    let sock = dir.path().join("agent.sock");
    let (listener, _cleanup) = bind(&sock).expect("bind");
    let fake = Fake::new("unix-token", clock::system());
    let (stop, task) = serve_unix(listener, state(&fake));

    let r = get_token(&sock).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = r.json();
    assert_eq!(t["access_token"], "unix-token-0");
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["expires_in"].as_u64().unwrap() > 3500);
    let r = over_unix(&sock, request(Method::GET, "/healthz", &[], b"")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["ready"], 1);

    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("serve_unix returns")
        .unwrap()
        .expect("a clean shutdown");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_cleanup_removes_the_files() {
    let dir = tempdir();
    let sock = dir.path().join("cctoken").join("agent.sock");
    let (listener, mut cleanup) = bind(&sock).expect("bind");
    let key_file = serve::key_path(&sock);
    fs(|| serve::write_key(&key_file, &AgentKey::generate())).unwrap();
    cleanup.push(key_file.clone());

    let fake = Fake::held("draining", clock::system());
    let (stop, mut task) = serve_unix(listener, state(&fake));
    let in_flight = {
        let sock = sock.clone();
        tokio::spawn(async move { get_token(&sock).await })
    };
    tokio::time::timeout(PATIENCE, fake.entered.notified())
        .await
        .expect("the request reaches the token source");

    stop.send(()).unwrap();
    // The server waits for the request it is serving.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut task)
            .await
            .is_err(),
        "serve_unix returned with a request in flight"
    );
    fake.release();
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["access_token"], "draining-0");
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("serve_unix returns once drained")
        .unwrap()
        .expect("a clean shutdown");

    // Nobody listens any more, but the files stay until the guard goes.
    assert!(tokio::net::UnixStream::connect(&sock).await.is_err());
    assert!(sock.exists() && key_file.exists());
    drop(cleanup);
    assert!(!sock.exists(), "socket removed");
    assert!(!key_file.exists(), "key file removed");
    // Dropping a guard whose files are already gone is quiet.
    let mut again = Cleanup::default();
    again.push(sock.clone());
    drop(again);
}

#[tokio::test]
async fn binding_over_a_live_agent_fails_and_leaves_it_serving() {
    let dir = tempdir();
    let sock = dir.path().join("agent.sock");
    let (listener, _cleanup) = bind(&sock).expect("bind");
    let fake = Fake::new("live", clock::system());
    let (stop, task) = serve_unix(listener, state(&fake));

    match bind(&sock) {
        Err(SetupError::InUse(p)) => {
            assert_eq!(p, sock);
            let msg = SetupError::InUse(p).to_string();
            assert!(msg.contains("another agent"), "{msg}");
            assert!(msg.contains("--socket"), "{msg}");
        }
        other => panic!("expected InUse, got {:?}", other.map(|_| ())),
    }
    assert!(sock.exists());
    let r = get_token(&sock).await;
    assert_eq!(r.status, StatusCode::OK, "the first agent still answers");

    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_stale_socket_is_replaced() {
    let dir = tempdir();
    let sock = dir.path().join("agent.sock");
    // A socket nobody listens on any more: what a killed agent leaves behind.
    drop(fs(|| std::os::unix::net::UnixListener::bind(&sock)).unwrap());
    assert!(std::fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_socket());

    let (listener, _cleanup) = bind(&sock).expect("a stale socket is replaced");
    assert_eq!(mode(&sock), 0o600);
    let fake = Fake::new("fresh", clock::system());
    let (stop, task) = serve_unix(listener, state(&fake));
    let r = get_token(&sock).await;
    assert_eq!(r.json()["access_token"], "fresh-0");
    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_regular_file_or_a_symlink_is_never_replaced() {
    let dir = tempdir();
    let file = dir.path().join("agent.sock");
    fs(|| std::fs::write(&file, "precious")).unwrap();
    match bind(&file) {
        Err(SetupError::NotASocket(p)) => {
            assert_eq!(p, file);
            let msg = SetupError::NotASocket(p).to_string();
            assert!(msg.contains("is not a socket"), "{msg}");
        }
        other => panic!("expected NotASocket, got {:?}", other.map(|_| ())),
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");

    // A symlink, even to a live socket, is not followed.
    let real = dir.path().join("real.sock");
    let (_listener, _cleanup) = bind(&real).expect("bind");
    let link = dir.path().join("link.sock");
    fs(|| std::os::unix::fs::symlink(&real, &link)).unwrap();
    assert!(matches!(bind(&link), Err(SetupError::NotASocket(_))));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[tokio::test]
async fn tcp_is_loopback_only() {
    for addr in ["0.0.0.0:0", "192.0.2.1:0", "[::]:0"] {
        let addr = addr.parse().unwrap();
        match serve::bind_tcp(addr).await {
            Err(e @ SetupError::NotLoopback(_)) => {
                assert!(e.to_string().contains("loopback"), "{e}");
            }
            other => panic!("{addr}: expected NotLoopback, got {:?}", other.map(|_| ())),
        }
    }
    let l = serve::bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .expect("loopback is fine");
    assert!(l.local_addr().unwrap().ip().is_loopback());
}

#[tokio::test]
async fn the_key_file_opens_the_tcp_listener_until_shutdown() {
    let dir = tempdir();
    let key = AgentKey::generate();
    let key_file = dir.path().join(serve::KEY_NAME);
    fs(|| serve::write_key(&key_file, &key)).unwrap();
    // A client reads the key the way `CCTOKEN_AGENT=http://...` does.
    let client_key = AgentKey::from_string(&std::fs::read_to_string(&key_file).unwrap());

    let fake = Fake::new("tcp", clock::system());
    let server = Server::tcp(guard::tcp(app(state(&fake)), key)).await;
    let addr = server.addr;
    let host = server.host();
    let auth = format!("Bearer {}", client_key.expose_secret());
    let r = over_tcp(
        addr,
        request(
            Method::GET,
            "/v1/token/p",
            &[("host", &host), ("authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["access_token"], "tcp-0");

    server.stop().await.expect("serve_tcp returns cleanly");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed after shutdown"
    );
}

#[test]
fn default_socket_path_follows_xdg_runtime_dir() {
    let p = serve::default_socket_path(|k| {
        (k == serve::XDG_RUNTIME_DIR).then(|| "/run/user/1000".to_owned())
    })
    .unwrap();
    assert_eq!(p, Path::new("/run/user/1000/cctoken/agent.sock"));
    assert_eq!(
        serve::key_path(&p),
        Path::new("/run/user/1000/cctoken/agent.key")
    );
    for env in [None, Some(String::new())] {
        let p = serve::default_socket_path(|_| env.clone()).unwrap();
        let dir = p.parent().unwrap().file_name().unwrap().to_string_lossy();
        assert!(dir.starts_with("cctoken-"), "{}", p.display());
        assert!(p.starts_with(std::env::temp_dir()), "{}", p.display());
        assert_eq!(p.file_name().unwrap(), "agent.sock");
    }
}
