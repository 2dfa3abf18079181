//! The Redis cache against a real `redis-server` (started here on a free loopback port, no
//! persistence) and the in-process emulator: the lease primitives, then whole "machines" —
//! each its own disk cache and its own `RedisCache`, like separate processes — sharing one
//! server. A missing `redis-server` skips loudly (fails with `CCTOKEN_REQUIRE_PEERS=1`);
//! the fall-back test needs no server.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator};

use super::*;
use crate::cache::{CachedClient, DiskCache, Origin};
use crate::client::{Client, RetryPolicy};
use crate::clock::SystemClock;
use crate::config::ClientConfig;
use crate::error::{Class, Error};
use crate::provider::{Endpoint, ProviderConfig};
use crate::source::{Fetch as _, Held};

const SECRET: &str = "demo+s3cret/=%&";
/// How long redis-server may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A `redis-server` child, killed on drop.
struct Server {
    child: Child,
    url: Url,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Start `redis-server`, or report it missing: a loud skip, or a failure when peers are
/// required (CI).
fn start_redis() -> Option<Server> {
    let Some(bin) = which("redis-server") else {
        if std::env::var("CCTOKEN_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("redis-server is required (CCTOKEN_REQUIRE_PEERS=1); run scripts/install-peers");
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: peer redis-server not installed; run scripts/install-peers"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    // redis-server cannot report a port it picked itself: take a free one from the kernel.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let mut buf = [0u8; 16];
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok_and(|n| n > 0) {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("redis-server on port {port} exited: {status}");
        }
        assert!(
            start.elapsed() < START_TIMEOUT,
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = Url::parse(&format!("redis://127.0.0.1:{port}/0")).unwrap();
    Some(Server {
        child,
        url,
        port,
        _dir: dir,
    })
}

async fn emulator() -> RunningEmulator {
    cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .unwrap()
}

async fn requests(emu: &RunningEmulator) -> u64 {
    let url = format!("{}/_emulator/stats", emu.base_url().trim_end_matches('/'));
    let body = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    stats["token_requests_total"].as_u64().unwrap()
}

/// One machine: its own disk cache, its own connection to the shared Redis.
struct Machine {
    client: CachedClient,
    _disk: tempfile::TempDir,
}

fn machine(emu: &RunningEmulator, secret: &str, redis: &Url) -> Machine {
    let url = Url::parse(&format!(
        "{}/oauth/token",
        emu.base_url().trim_end_matches('/')
    ))
    .unwrap();
    let config = ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::TokenUrl(url),
            api_base: None,
        },
        "demo-client",
        ClientSecret::new(secret),
    );
    let client = Client::new(config).with_retry(RetryPolicy::none());
    let disk = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(disk.path().join("cctoken")).unwrap();
    let client = CachedClient::new(client, cache, Arc::new(SystemClock))
        .with_redis(RedisCache::open(redis).unwrap());
    Machine {
        client,
        _disk: disk,
    }
}

/// A raw `GET` over RESP, independent of the code under test.
fn raw_get(port: u16, key: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // `$<len>\r\n<bytes>\r\n`: read until the announced length has arrived.
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "redis closed the connection");
        out.extend_from_slice(&buf[..n]);
        if let Some(eol) = out.windows(2).position(|w| w == b"\r\n") {
            let len: i64 = std::str::from_utf8(&out[1..eol]).unwrap().parse().unwrap();
            if len < 0 {
                return Vec::new();
            }
            if out.len() >= eol + 2 + len as usize {
                return out[eol + 2..eol + 2 + len as usize].to_vec();
            }
        }
    }
}

#[tokio::test]
async fn the_lease_is_exclusive_and_only_its_holder_renews_or_releases_it() {
    let Some(server) = start_redis() else { return };
    let a = RedisCache::open(&server.url).unwrap();
    let b = RedisCache::open(&server.url).unwrap();
    let key = CacheKey::for_config(&ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::TokenUrl(Url::parse("https://x.example/t").unwrap()),
            api_base: None,
        },
        "id",
        ClientSecret::new("s"),
    ));
    let held = a.try_lease(&key).await.unwrap().expect("free lease");
    assert!(b.try_lease(&key).await.unwrap().is_none(), "exclusive");
    assert!(a.renew(&held).await.unwrap());
    let forged = Lease {
        key: held.key.clone(),
        id: "not-the-holder".into(),
    };
    assert!(!b.renew(&forged).await.unwrap());
    assert!(
        !b.release(forged).await.unwrap(),
        "only the holder releases"
    );
    assert!(b.try_lease(&key).await.unwrap().is_none());
    assert!(a.release(held).await.unwrap());
    let again = b.try_lease(&key).await.unwrap().expect("released");
    assert!(b.release(again).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_send_one_request_and_redis_holds_only_ciphertext() {
    let Some(server) = start_redis() else { return };
    let emu = emulator().await;
    let machines = [
        machine(&emu, SECRET, &server.url),
        machine(&emu, SECRET, &server.url),
    ];
    let before = requests(&emu).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = machines[i % 2].client.clone();
        tasks.push(tokio::spawn(async move {
            c.token(Duration::ZERO).await.unwrap()
        }));
    }
    let mut tokens = std::collections::BTreeSet::new();
    let mut from_server = 0;
    for t in tasks {
        let (token, origin) = t.await.unwrap();
        from_server += usize::from(origin == Origin::Server);
        tokens.insert(token.access_token.expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1, "one token for the fleet");
    assert_eq!(from_server, 1);
    assert_eq!(requests(&emu).await - before, 1);
    // Both disks were written: the next lookups need neither Redis nor a runtime.
    for m in &machines {
        assert!(m.client.cached(Duration::ZERO).unwrap().is_some());
    }
    let token = tokens.into_iter().next().unwrap();
    let value = raw_get(server.port, &entry_key(machines[0].client.key()));
    assert!(!value.is_empty(), "the entry is in Redis");
    let text = String::from_utf8_lossy(&value);
    assert!(!text.contains(&token), "{text}");
    assert!(!text.contains(&token[..16]), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_across_the_fleet_replaces_the_token_once() {
    let Some(server) = start_redis() else { return };
    let emu = emulator().await;
    let a = machine(&emu, SECRET, &server.url);
    let b = machine(&emu, SECRET, &server.url);
    let (first, _) = a.client.token(Duration::ZERO).await.unwrap();
    let before = requests(&emu).await;
    // Both machines' sources refresh ahead from the same token.
    let new_a = a.client.fetch(Held::stale(Some(&first))).await.unwrap();
    let new_b = b.client.fetch(Held::stale(Some(&first))).await.unwrap();
    assert_ne!(new_a.access_token, first.access_token);
    assert_eq!(
        new_a.access_token, new_b.access_token,
        "b took a's new token"
    );
    assert_eq!(requests(&emu).await - before, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_lease_held_elsewhere_is_waited_for_then_taken_over() {
    let Some(server) = start_redis() else { return };
    let emu = emulator().await;
    let m = machine(&emu, SECRET, &server.url);
    // A holder that died: its lease simply expires.
    let stranger = RedisCache::open(&server.url).unwrap();
    stranger
        .query::<()>(
            "SET",
            redis::cmd("SET")
                .arg(format!("{}:lease", entry_key(m.client.key())))
                .arg("dead-holder")
                .arg("PX")
                .arg(300),
        )
        .await
        .unwrap();
    let before = requests(&emu).await;
    let (_, origin) = m.client.token(Duration::ZERO).await.unwrap();
    assert_eq!(origin, Origin::Server);
    assert_eq!(requests(&emu).await - before, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_permanent_failure_is_shared_with_the_fleet() {
    let Some(server) = start_redis() else { return };
    let emu = emulator().await;
    let a = machine(&emu, "wrong-secret", &server.url);
    let b = machine(&emu, "wrong-secret", &server.url);
    let before = requests(&emu).await;
    let e = a.client.token(Duration::ZERO).await.unwrap_err();
    assert_eq!(e.class, Class::Permanent);
    let e = b.client.token(Duration::ZERO).await.unwrap_err();
    assert_eq!(e.class, Class::Permanent);
    assert!(e.message.contains("remembered"), "{}", e.message);
    assert_eq!(requests(&emu).await - before, 1);
    emu.shutdown().await;
}

/// `SET key value PX ttl_ms` through a connection of its own, as anyone with access to the
/// Redis server can.
async fn plant(server: &Server, key: &str, value: &[u8], ttl_ms: u64) {
    let stranger = RedisCache::open(&server.url).unwrap();
    stranger
        .query::<()>(
            "SET",
            redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ttl_ms),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn failures_planted_in_redis_are_ignored_and_the_server_asked() {
    let Some(server) = start_redis() else { return };
    let emu = emulator().await;
    let m = machine(&emu, SECRET, &server.url);
    let k = m.client.key().clone();
    let year = Duration::from_secs(365 * 86_400);
    let until = SystemTime::now() + year;
    // The unsealed documents of earlier versions, with the attacker's text and lifetime.
    let negative = entry::planted_negative(until, "ATTACKER text");
    plant(&server, &entry_key(&k), negative.as_bytes(), millis(year)).await;
    let until = entry::ms(until).to_string();
    plant(&server, &rate_limit_key(&k), until.as_bytes(), millis(year)).await;
    let before = requests(&emu).await;
    let (_, origin) = m.client.token(Duration::ZERO).await.unwrap();
    assert_eq!(origin, Origin::Server);
    assert_eq!(requests(&emu).await - before, 1);
    let value = raw_get(server.port, &entry_key(&k));
    assert!(
        String::from_utf8_lossy(&value).contains(r#""kind":"token""#),
        "the planted entry was overwritten"
    );

    // Sealed with the client's own secret but over-long (a year): refused as well.
    let fresh = machine(&emu, SECRET, &server.url);
    let secret = ClientSecret::new(SECRET);
    let err = Error::config("remembered long ago");
    let long = SystemTime::now() + year;
    let sealed = entry::encode_negative(&k, &secret, &err, long).unwrap();
    plant(&server, &entry_key(&k), &sealed, millis(year)).await;
    let sealed = entry::encode_rate_limit(&k, &secret, long).unwrap();
    plant(&server, &rate_limit_key(&k), &sealed, millis(year)).await;
    let before = requests(&emu).await;
    let (_, origin) = fresh.client.token(Duration::ZERO).await.unwrap();
    assert_eq!(origin, Origin::Server, "neither honoured nor waited for");
    assert_eq!(requests(&emu).await - before, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn remembered_failures_in_redis_are_sealed() {
    let Some(server) = start_redis() else { return };
    let emu = emulator().await;
    let m = machine(&emu, "wrong-secret-CANARY", &server.url);
    m.client.token(Duration::ZERO).await.unwrap_err();
    let value = raw_get(server.port, &entry_key(m.client.key()));
    let doc: serde_json::Value = serde_json::from_slice(&value).unwrap();
    assert_eq!(doc["kind"], "negative");
    assert!(doc["ct"].is_string() && doc["nonce"].is_string(), "{doc}");
    assert!(doc.get("message").is_none(), "no message in clear: {doc}");
    let text = String::from_utf8_lossy(&value);
    assert!(
        !text.contains("invalid_client") && !text.contains("CANARY"),
        "{text}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn redis_down_falls_back_to_the_local_cache() {
    // A port nothing listens on (taken from the kernel, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let url = Url::parse(&format!("redis://:hunter2-pw@127.0.0.1:{port}/0")).unwrap();
    let emu = emulator().await;
    let m = machine(&emu, SECRET, &url);
    let (_, origin) = m.client.token(Duration::ZERO).await.unwrap();
    assert_eq!(origin, Origin::Server);
    let shared = m.client.shared.as_ref().unwrap();
    assert!(!shared.available(), "left alone after the failure");
    assert!(!format!("{shared:?}").contains("hunter2"));
    assert!(!shared.location().contains("hunter2"));
    assert!(m.client.cached(Duration::ZERO).unwrap().is_some());
    emu.shutdown().await;
}

#[test]
fn locations_and_messages_never_show_the_password() {
    let url = Url::parse("rediss://user:s3cr3t-pw@cache.internal:6380/2?x=1").unwrap();
    assert_eq!(location(&url), "rediss://cache.internal:6380/2");
    assert_eq!(
        scrub("auth failed for s3cr3t-pw", Some("s3cr3t-pw")),
        "auth failed for ***"
    );
    let unix = Url::parse("unix:///run/redis.sock").unwrap();
    assert_eq!(location(&unix), "unix:///run/redis.sock");
    RedisCache::open(&url).expect("rediss is supported");
}
