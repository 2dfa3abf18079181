//! Listeners and files: the Unix socket (0600 in a 0700 directory) and the key file
//! (0600); a runtime directory that is a symlink, another user's, or writable by others
//! is refused and never chmodded, and a link planted at the key path is not followed; a
//! token over the socket without any key, graceful shutdown (in-flight requests
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
    assert_eq!(
        names_in(sock.parent().unwrap()),
        ["agent.key", "agent.sock"]
    );
    drop(listener);
    drop(cleanup);
}

#[tokio::test]
async fn a_directory_the_agent_did_not_create_is_never_chmodded() {
    let dir = tempdir();
    let own = dir.path().join("cctoken");
    fs(|| std::fs::DirBuilder::new().mode(0o700).create(&own)).unwrap();
    let (_l, _c) = bind(&own.join("agent.sock")).expect("bind in an existing private dir");
    assert_eq!(mode(&own), 0o700);
    assert_eq!(mode(&own.join("agent.sock")), 0o600);

    // One that group or others can enter, list or write is refused, and left as it is.
    for open in [0o750, 0o755, 0o775, 0o777, 0o1777] {
        let shared = dir.path().join(format!("shared-{open:o}"));
        fs(|| std::fs::create_dir(&shared)).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(open)).unwrap();
        let e = assert_refused(&shared.join("agent.sock"), &shared, &["chmod 700"]);
        assert!(matches!(e, SetupError::Directory(_)), "{open:o}: {e:?}");
        let meta = std::fs::symlink_metadata(&shared).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, open, "not chmodded");
        assert_eq!(
            std::fs::read_dir(&shared).unwrap().count(),
            0,
            "nothing created"
        );
    }
}

/// Both `bind_unix` and `write_key` refuse the directory of `sock` (the same error), and
/// the message names `dir`, `--socket` and each of `words`.
fn assert_refused(sock: &Path, dir: &Path, words: &[&str]) -> SetupError {
    let Err(e) = bind(sock) else {
        panic!("{} was accepted", sock.display());
    };
    let msg = e.to_string();
    let dir = dir.display().to_string();
    for w in [dir.as_str(), "--socket"].iter().chain(words) {
        assert!(msg.contains(w), "{w:?} not in: {msg}");
    }
    let k = fs(|| serve::write_key(&serve::key_path(sock), &AgentKey::generate()))
        .expect_err("write_key accepted it");
    assert_eq!(
        std::mem::discriminant(&k),
        std::mem::discriminant(&e),
        "{k:?}"
    );
    e
}

/// The files a directory holds, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_symlinked_runtime_directory_is_refused() {
    let dir = tempdir();
    // Another user's directory, and `cctoken` pointing at it in a shared runtime dir.
    let victim = dir.path().join("victim");
    fs(|| std::fs::create_dir(&victim)).unwrap();
    fs(|| std::fs::write(victim.join("agent.key"), "victim's file")).unwrap();
    let link = dir.path().join("cctoken");
    fs(|| std::os::unix::fs::symlink(&victim, &link)).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o700)).unwrap();

    let e = assert_refused(&link.join("agent.sock"), &link, &["symbolic link"]);
    assert!(matches!(e, SetupError::Directory(_)), "{e:?}");
    assert_eq!(
        names_in(&victim),
        ["agent.key"],
        "nothing created in the target"
    );
    assert_eq!(
        std::fs::read_to_string(victim.join("agent.key")).unwrap(),
        "victim's file"
    );
    assert_eq!(mode(&victim), 0o700, "the target is not chmodded");

    // A regular file where the directory should be.
    let file = dir.path().join("file");
    fs(|| std::fs::write(&file, "x")).unwrap();
    assert!(matches!(
        bind(&file.join("agent.sock")),
        Err(SetupError::Directory(e)) if e.to_string().contains("not a directory")
    ));
}

/// Give `path` to another user, as an attacker's directory would be; `false` (and a loud
/// message) when this test does not run as root.
fn give_away(path: &Path) -> bool {
    let other = nix::unistd::Uid::from_raw(1001);
    match nix::unistd::chown(path, Some(other), None) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("SKIPPED: chown to uid 1001 needs root ({e})");
            false
        }
    }
}

#[tokio::test]
async fn a_directory_or_socket_of_another_user_is_refused() {
    let dir = tempdir();
    // An attacker created `$XDG_RUNTIME_DIR/cctoken` (or `/tmp/cctoken-UID`) first.
    let planted = dir.path().join("cctoken");
    fs(|| std::fs::DirBuilder::new().mode(0o700).create(&planted)).unwrap();
    if !give_away(&planted) {
        return;
    }
    let e = assert_refused(&planted.join("agent.sock"), &planted, &["uid 1001"]);
    assert!(matches!(e, SetupError::Directory(_)), "{e:?}");
    assert!(names_in(&planted).is_empty(), "nothing created in it");
    assert_eq!(mode(&planted), 0o700);

    // A socket of another user in our directory is not "stale": it stays.
    let own = dir.path().join("own");
    fs(|| std::fs::DirBuilder::new().mode(0o700).create(&own)).unwrap();
    let theirs = own.join("agent.sock");
    drop(fs(|| std::os::unix::net::UnixListener::bind(&theirs)).unwrap());
    assert!(give_away(&theirs));
    assert!(matches!(
        bind(&theirs),
        Err(SetupError::ForeignSocket { owner: 1001, .. })
    ));
    assert!(std::fs::symlink_metadata(&theirs)
        .unwrap()
        .file_type()
        .is_socket());
}

#[tokio::test]
async fn a_symlink_planted_at_the_key_path_is_replaced_not_followed() {
    let dir = tempdir();
    let run = dir.path().join("cctoken");
    let (_listener, _cleanup) = bind(&run.join("agent.sock")).expect("bind");
    let victim = dir.path().join("victim.txt");
    fs(|| std::fs::write(&victim, "precious")).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let key_file = run.join("agent.key");
    fs(|| std::os::unix::fs::symlink(&victim, &key_file)).unwrap();
    // And at the temporary name older versions used.
    let old_tmp = run.join(format!(".agent.key.{}.tmp", std::process::id()));
    fs(|| std::os::unix::fs::symlink(&victim, &old_tmp)).unwrap();

    let key = AgentKey::generate();
    fs(|| serve::write_key(&key_file, &key)).expect("write the key");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(mode(&victim), 0o644);
    let meta = std::fs::symlink_metadata(&key_file).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by a file"
    );
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        key.expose_secret()
    );
    assert!(std::fs::symlink_metadata(&old_tmp)
        .unwrap()
        .file_type()
        .is_symlink());
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
