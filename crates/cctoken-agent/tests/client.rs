//! The consumer's side against a live agent: [`AgentClient`] (what `CCTOKEN_AGENT` makes
//! `get`/`exec`/`api` use) over the Unix socket and over keyed TCP with the key file, the
//! errors it turns the agent's answers into, and [`AgentClient::fetcher`] under a
//! `TokenSource`. Both sides share `wire`, so this is where a field-name drift would show.
//!
//! The client is blocking; it runs on `spawn_blocking`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use std::collections::HashMap;

use cctoken::agent::client::{AgentClient, AgentToken, CCTOKEN_AGENT_KEY_FILE};
use cctoken::clock;
use cctoken::config::EnvLookup;
use cctoken::error::{Class, Error, ErrorKind};
use cctoken::source::TokenSource;
use cctoken_agent::registry::Registry;
use cctoken_agent::{app, guard, serve, AgentKey, AgentState};
use common::{bind, fs, tempdir, Fake, Server, PATIENCE};
use tokio::sync::oneshot;

async fn ask(client: &AgentClient, profile: &str) -> Result<AgentToken, Error> {
    let (client, profile) = (client.clone(), profile.to_owned());
    tokio::time::timeout(
        PATIENCE,
        tokio::task::spawn_blocking(move || client.token(&profile)),
    )
    .await
    .expect("the client answers in time")
    .expect("the client does not panic")
}

fn with_key_file(key_file: &Path) -> HashMap<String, String> {
    let key_file = key_file.to_string_lossy().into_owned();
    HashMap::from([(CCTOKEN_AGENT_KEY_FILE.to_owned(), key_file)])
}

/// An environment without any variable.
const NO_ENV: [(&str, &str); 0] = [];

/// An agent on a socket and a keyed TCP port, as `cctoken agent --listen` runs it.
struct Live {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    key_file: PathBuf,
    tcp: Server,
    unix_stop: oneshot::Sender<()>,
    unix_task: tokio::task::JoinHandle<std::io::Result<()>>,
    _cleanup: serve::Cleanup,
}

async fn live(registry: Registry) -> Live {
    let dir = tempdir();
    let sock = dir.path().join("cctoken").join(serve::SOCKET_NAME);
    let (listener, mut cleanup) = bind(&sock).expect("bind");
    let key = AgentKey::generate();
    let key_file = serve::key_path(&sock);
    fs(|| serve::write_key(&key_file, &key)).expect("key file");
    cleanup.push(key_file.clone());
    let state = AgentState::new(registry);
    let tcp = Server::tcp(guard::tcp(app(state.clone()), key)).await;
    let (unix_stop, rx) = oneshot::channel();
    let unix_task = tokio::spawn(serve::serve_unix(listener, app(state), async move {
        let _ = rx.await;
    }));
    Live {
        _dir: dir,
        sock,
        key_file,
        tcp,
        unix_stop,
        unix_task,
        _cleanup: cleanup,
    }
}

impl Live {
    fn unix(&self) -> AgentClient {
        AgentClient::from_env_value(&format!("unix:{}", self.sock.display()), &NO_ENV)
            .expect("a unix: value")
    }

    fn tcp(&self) -> AgentClient {
        AgentClient::from_env_value(
            &format!("http://{}", self.tcp.addr),
            &with_key_file(&self.key_file),
        )
        .expect("an http:// value")
    }

    async fn stop(self) {
        self.unix_stop.send(()).unwrap();
        tokio::time::timeout(PATIENCE, self.unix_task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        self.tcp.stop().await.unwrap();
    }
}

#[tokio::test]
async fn tokens_over_the_socket_and_keyed_tcp() {
    let clock = clock::system();
    let fake = Fake::new("consumer", clock.clone());
    let mut registry = Registry::new(clock.clone());
    let api = url::Url::parse("https://api.example.test/").unwrap();
    registry.add("p", fake.fetcher(), Some(api.clone()));
    registry.add("team a/b", Fake::new("spaced", clock).fetcher(), None);
    let agent = live(registry).await;

    for client in [agent.unix(), agent.tcp()] {
        let t = ask(&client, "p").await.expect("a token");
        assert_eq!(t.token.access_token.expose_secret(), "consumer-0");
        assert_eq!(t.token.token_type, "Bearer");
        assert!(t.token.expires_in.as_secs() >= 3590, "{:?}", t.token);
        assert_eq!(t.api_base.as_ref(), Some(&api));
        // A profile name that needs percent-encoding in the path.
        let t = ask(&client, "team a/b").await.expect("an encoded profile");
        assert_eq!(t.token.access_token.expose_secret(), "spaced-0");
    }
    assert_eq!(fake.calls(), 1, "both listeners share the agent's token");

    // A TokenSource in a consumer process, fed by the agent.
    let source = TokenSource::new(agent.unix().fetcher("p"), clock::system());
    let t = tokio::time::timeout(PATIENCE, source.token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.access_token.expose_secret(), "consumer-0");
    agent.stop().await;
}

#[tokio::test]
async fn the_agents_errors_become_library_errors() {
    let clock = clock::system();
    let flaky = Fake::new("flaky", clock.clone());
    flaky.fail.store(true, Ordering::SeqCst);
    let mut registry = Registry::new(clock.clone());
    registry.add("p", Fake::new("p", clock).fetcher(), None);
    registry.add("flaky", flaky.fetcher(), None);
    registry.add_broken(
        "broken",
        Error::config("profile 'broken': no client secret configured"),
    );
    let agent = live(registry).await;
    let client = agent.tcp();

    let e = ask(&client, "nope").await.unwrap_err();
    assert_eq!((e.kind, e.class), (ErrorKind::Config, Class::Config));
    assert!(e.message.contains("it serves: flaky, p"), "{}", e.message);

    let e = ask(&client, "broken").await.unwrap_err();
    assert_eq!((e.kind, e.class), (ErrorKind::Config, Class::Config));
    assert!(
        e.message.contains("no client secret configured"),
        "{}",
        e.message
    );

    let e = ask(&client, "flaky").await.unwrap_err();
    assert_eq!((e.kind, e.class), (ErrorKind::Transport, Class::Transient));
    assert!(e.message.contains("scripted"), "{}", e.message);

    // The wrong key: refused, and the refusal says where the key lives.
    let wrong = tempdir();
    let wrong_key = wrong.path().join(serve::KEY_NAME);
    fs(|| serve::write_key(&wrong_key, &AgentKey::generate())).unwrap();
    let intruder = AgentClient::from_env_value(
        &format!("http://{}", agent.tcp.addr),
        &with_key_file(&wrong_key),
    )
    .unwrap();
    let e = ask(&intruder, "p").await.unwrap_err();
    assert!(e.message.contains("Authorization"), "{}", e.message);
    assert!(
        e.hint.as_deref().unwrap_or("").contains("agent.key"),
        "{e:?}"
    );

    let sock = agent.sock.clone();
    agent.stop().await;
    let gone = AgentClient::from_env_value(&format!("unix:{}", sock.display()), &NO_ENV).unwrap();
    let e = ask(&gone, "p").await.unwrap_err();
    assert_eq!((e.kind, e.class), (ErrorKind::Transport, Class::Transient));
    assert!(
        e.hint.as_deref().unwrap_or("").contains("cctoken agent"),
        "{e:?}"
    );
}

/// An environment that must not be consulted.
struct NeverRead;

impl EnvLookup for NeverRead {
    fn var_os(&self, _: &str) -> Option<std::ffi::OsString> {
        panic!("no key file may be read")
    }
}

#[test]
fn only_loopback_agents_are_trusted_with_the_key() {
    for value in [
        "http://10.0.0.1:8080",
        "http://agent.example:8080",
        "http://0.0.0.0:8080",
    ] {
        let e = AgentClient::from_env_value(value, &NeverRead).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("loopback"), "{value}: {}", e.message);
    }
    for value in ["", "unix:", "tcp://127.0.0.1:1", "127.0.0.1:8080"] {
        let e = AgentClient::from_env_value(value, &NO_ENV).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config, "{value}");
    }
    let missing = AgentClient::from_env_value(
        "http://127.0.0.1:9",
        &[(CCTOKEN_AGENT_KEY_FILE, "/nonexistent/agent.key")],
    )
    .unwrap_err();
    assert!(missing.message.contains("agent key"), "{}", missing.message);
}

/// A consumer whose API answered 401 reports the token (by fingerprint); the agent replaces
/// it once, however many consumers report it, and ignores reports about older tokens.
#[tokio::test]
async fn a_rejected_token_is_replaced_once() {
    let clock = clock::system();
    let fake = Fake::new("r", clock.clone());
    let mut registry = Registry::new(clock.clone());
    registry.add("p", fake.fetcher(), None);
    let agent = live(registry).await;
    let client = agent.unix();
    let first = ask(&client, "p").await.unwrap().token.access_token;
    assert_eq!(first.expose_secret(), "r-0");

    let report = |rejected: cctoken::secret::AccessToken| {
        let client = client.clone();
        async move {
            tokio::time::timeout(
                PATIENCE,
                tokio::task::spawn_blocking(move || client.token_replacing("p", Some(&rejected))),
            )
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .token
            .access_token
        }
    };
    // Three consumers report r-0: one refresh.
    let (a, b, c) = tokio::join!(
        report(first.clone()),
        report(first.clone()),
        report(first.clone())
    );
    for t in [&a, &b, &c] {
        assert_eq!(t.expose_secret(), "r-1");
    }
    assert_eq!(fake.calls(), 2);
    // A late report about r-0 changes nothing; a plain request neither.
    assert_eq!(report(first.clone()).await.expose_secret(), "r-1");
    assert_eq!(
        ask(&client, "p")
            .await
            .unwrap()
            .token
            .access_token
            .expose_secret(),
        "r-1"
    );
    assert_eq!(fake.calls(), 2);

    // Through a consumer's TokenSource: reject, then invalidate_and_refresh.
    let fetch = client.clone().fetcher("p");
    let source = TokenSource::new(fetch.clone(), clock::system());
    let held = source.token().await.unwrap().access_token;
    assert_eq!(held.expose_secret(), "r-1");
    fetch.reject(&held);
    let fresh = source.invalidate_and_refresh(&held).await.unwrap();
    assert_eq!(fresh.access_token.expose_secret(), "r-2");
    assert_eq!(fake.calls(), 3);
    agent.stop().await;
}
