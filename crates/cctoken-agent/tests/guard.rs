//! The TCP listener's guard over real loopback TCP: the agent key (401 without it, with a
//! wrong one, a longer or shorter one, another scheme), the `Host` check against DNS
//! rebinding (403 for a foreign host even with the right key), and what a legitimate
//! local client gets. A seeded loop of bad requests checks that no token ever leaves the
//! agent without the key — and that the token source is not even asked.

mod common;

use std::time::SystemTime;

use axum::http::{Method, StatusCode};
use cctoken::clock;
use cctoken_agent::registry::Registry;
use common::{assert_no_store, request, Agent, Fake};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

const TOKEN_PREFIX: &str = "agent-guard-test-token";

async fn agent() -> (Agent, std::sync::Arc<Fake>) {
    let fake = Fake::new(TOKEN_PREFIX, clock::system());
    let mut registry = Registry::new(clock::system());
    registry.add("p", fake.fetcher(), None);
    (Agent::start(registry).await, fake)
}

fn assert_unauthorized(r: &common::Resp, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"cctoken-agent\""),
        "{what}"
    );
    assert_eq!(r.json()["error"], "unauthorized", "{what}");
    assert!(!r.mentions(TOKEN_PREFIX), "{what}: a token in {r:?}");
    assert_no_store(r);
}

#[tokio::test]
async fn no_key_is_401_with_a_challenge_and_no_token() {
    let (agent, fake) = agent().await;
    let host = agent.host();
    let r = agent.get_with("/v1/token/p", &[("host", &host)]).await;
    assert_unauthorized(&r, "no Authorization");
    let body = r.json();
    assert!(
        body["message"].as_str().unwrap().contains("Bearer"),
        "{body}"
    );
    assert!(
        body["hint"].as_str().unwrap().contains("agent.key"),
        "{body}"
    );
    assert_eq!(fake.calls(), 0, "the token source was not asked");

    // Even with a token in hand, a request without the key gets none of it.
    let t = agent.token("p").await;
    assert!(t["access_token"]
        .as_str()
        .unwrap()
        .starts_with(TOKEN_PREFIX));
    let r = agent.get_with("/v1/token/p", &[("host", &host)]).await;
    assert_unauthorized(&r, "no Authorization, token cached");
    agent.stop().await;
}

#[tokio::test]
async fn wrong_keys_and_schemes_are_401() {
    let (agent, fake) = agent().await;
    let host = agent.host();
    let key = agent.key.expose_secret().to_owned();
    let mut flipped = key.clone().into_bytes();
    flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let basic = format!("Basic {}", base64_of(&format!("agent:{key}")));
    let cases = [
        ("same length, one digit off", format!("Bearer {flipped}")),
        ("a prefix of the key", format!("Bearer {}", &key[..63])),
        ("the key and more", format!("Bearer {key}0")),
        ("the key twice", format!("Bearer {key}{key}")),
        ("empty bearer", "Bearer ".to_owned()),
        ("the scheme alone", "Bearer".to_owned()),
        ("Basic with the key", basic),
        ("Basic with the raw key", format!("Basic {key}")),
        ("no scheme", key.clone()),
        ("another scheme", format!("Token {key}")),
        ("two spaces", format!("Bearer  {key}")),
        ("no space", format!("Bearer{key}")),
        ("upper-case key", format!("Bearer {}", key.to_uppercase())),
    ];
    for (what, auth) in &cases {
        let r = agent
            .get_with("/v1/token/p", &[("host", &host), ("authorization", auth)])
            .await;
        assert_unauthorized(&r, what);
    }
    // The key in a second Authorization header does not help the first one.
    let r = agent
        .get_with(
            "/v1/token/p",
            &[
                ("host", &host),
                ("authorization", "Bearer nope"),
                ("authorization", &agent.bearer()),
            ],
        )
        .await;
    assert_unauthorized(&r, "a wrong first Authorization header");
    assert_eq!(fake.calls(), 0, "no rejected request reached the source");
    agent.stop().await;
}

#[tokio::test]
async fn foreign_hosts_are_403_even_with_the_key() {
    let (agent, fake) = agent().await;
    let port = agent.server.addr.port();
    let auth = agent.bearer();
    let hosts = [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("10.0.0.1:{port}"),
        format!("0.0.0.0:{port}"),
        format!("[fe80::1]:{port}"),
        format!("127.0.0.1:{port}:{port}"),
        format!("127.0.0.1:{port}x"),
    ];
    for host in &hosts {
        let r = agent
            .get_with("/v1/token/p", &[("host", host), ("authorization", &auth)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{host}: {}", r.body);
        assert_eq!(r.json()["error"], "forbidden_host", "{host}");
        assert!(!r.mentions(TOKEN_PREFIX), "{host}");
        assert_no_store(&r);
    }
    // No Host at all is not a loopback Host either.
    let r = agent
        .get_with("/v1/token/p", &[("authorization", &auth)])
        .await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::BAD_REQUEST,
        "{r:?}"
    );
    assert!(!r.mentions(TOKEN_PREFIX));
    assert_eq!(fake.calls(), 0, "no rejected request reached the source");
    agent.stop().await;
}

#[tokio::test]
async fn loopback_hosts_with_the_key_get_a_token() {
    let (agent, fake) = agent().await;
    let port = agent.server.addr.port();
    let lower = format!("bearer {}", agent.key.expose_secret());
    for host in [
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        format!("LocalHost:{port}"),
        format!("[::1]:{port}"),
        format!("127.0.0.2:{port}"),
    ] {
        for auth in [agent.bearer(), lower.clone()] {
            let r = agent
                .get_with("/v1/token/p", &[("host", &host), ("authorization", &auth)])
                .await;
            assert_eq!(r.status, StatusCode::OK, "{host}: {}", r.body);
            assert_no_store(&r);
            assert_eq!(r.header("content-type"), Some("application/json"));
            let t = r.json();
            assert_eq!(t["access_token"], format!("{TOKEN_PREFIX}-0"));
            assert_eq!(t["token_type"], "Bearer");
            let expires_in = t["expires_in"].as_u64().unwrap();
            assert!((3590..=3600).contains(&expires_in), "{t}");
            let until = common::seconds_until(t["expires_at"].as_str().unwrap(), SystemTime::now());
            assert!((3580..=3601).contains(&until), "{t}");
            assert!(t.get("api_base").is_none(), "no API base configured: {t}");
        }
    }
    assert_eq!(fake.calls(), 1, "one token, shared by every request");
    agent.stop().await;
}

#[tokio::test]
async fn metrics_healthz_and_unknown_paths_are_behind_the_guard() {
    let (agent, _fake) = agent().await;
    let host = agent.host();
    let auth = agent.bearer();
    for path in ["/metrics", "/healthz", "/v1/token/nope", "/nope"] {
        let r = agent.get_with(path, &[("host", &host)]).await;
        assert_unauthorized(&r, path);
        assert!(!r.body.contains("cctoken_agent_"), "{path}: {}", r.body);
        let r = agent
            .get_with(path, &[("host", "evil.example"), ("authorization", &auth)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let m = agent.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert_eq!(
        common::metric(&m.body, "cctoken_agent_profiles", None),
        Some(1.0)
    );
    let h = agent.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    // No token asked for yet: starting, which is not a failure.
    assert_eq!(h.json()["status"], "starting");
    // The profile list of a 404 is for key holders only.
    let r = agent.get("/v1/token/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("it serves: p"), "{}", r.body);
    agent.stop().await;
}

/// Seeded random bad requests: every combination of method, path, `Host` and
/// `Authorization` where the host is foreign or the key is not exactly right. Each must be
/// 401 or 403 and carry neither the token nor the key; until a good request has been made,
/// the token source must not even have been asked.
#[tokio::test]
async fn no_bad_request_ever_gets_a_token() {
    let (agent, fake) = agent().await;
    let port = agent.server.addr.port();
    let key = agent.key.expose_secret().to_owned();
    let good_hosts = [
        format!("127.0.0.1:{port}"),
        "localhost".to_owned(),
        format!("[::1]:{port}"),
    ];
    let bad_hosts = [
        String::new(),
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        format!("192.168.1.10:{port}"),
        format!("0.0.0.0:{port}"),
        format!("[::]:{port}"),
        format!("[::ffff:127.0.0.1]x:{port}"),
    ];
    let bad_auths = [
        None,
        Some(String::new()),
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some(format!("Bearer {}", &key[..32])),
        Some(format!("Bearer {}", &key[1..])),
        Some(format!("Bearer {key}x")),
        Some(format!("Bearer {}", key.to_uppercase())),
        Some(format!("Basic {key}")),
        Some(format!("Basic {}", base64_of(&format!(":{key}")))),
        Some(format!("Bearer\t{key}")),
        Some(key.clone()),
        Some(format!("Bearer {}", "0".repeat(64))),
    ];
    let paths = [
        "/v1/token/p",
        "/v1/token/p?x=1",
        "/v1/token/P",
        "/v1/token/nope",
        "/v1/token/",
        "/v1//token/p",
        "/metrics",
        "/healthz",
        "/",
    ];
    let methods = [Method::GET, Method::POST, Method::HEAD, Method::PUT];
    let mut rng = StdRng::seed_from_u64(0x5eed_a9e7);
    let mut round = |n: usize| {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let foreign = rng.gen_bool(0.5);
            let host = if foreign {
                bad_hosts[rng.gen_range(0..bad_hosts.len())].clone()
            } else {
                good_hosts[rng.gen_range(0..good_hosts.len())].clone()
            };
            // A foreign host is refused whatever the key; a loopback one needs a bad key.
            let auth = if foreign && rng.gen_bool(0.5) {
                Some(format!("Bearer {key}"))
            } else {
                bad_auths[rng.gen_range(0..bad_auths.len())].clone()
            };
            let path = paths[rng.gen_range(0..paths.len())];
            let method = methods[rng.gen_range(0..methods.len())].clone();
            out.push((method, path, host, auth, foreign));
        }
        out
    };
    let check = |r: &common::Resp, what: &str, foreign: bool| {
        let expected = if foreign {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(r.status, expected, "{what}: {r:?}");
        assert!(!r.mentions(TOKEN_PREFIX), "{what}: a token in {r:?}");
        assert!(!r.mentions(&key), "{what}: the key in {r:?}");
    };

    let first = round(150);
    let second = round(150);
    for (phase, batch) in [("cold", first), ("warm", second)] {
        if phase == "warm" {
            // Now there is a token to leak.
            agent.token("p").await;
        }
        for (method, path, host, auth, foreign) in batch {
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if !host.is_empty() {
                headers.push(("host", &host));
            }
            if let Some(a) = &auth {
                headers.push(("authorization", a));
            }
            let what = format!("{phase} {method} {path} host={host:?} auth={auth:?}");
            let r = common::over_tcp(agent.server.addr, request(method, path, &headers, b"")).await;
            check(&r, &what, foreign);
        }
        if phase == "cold" {
            assert_eq!(fake.calls(), 0, "a rejected request reached the source");
        }
    }
    assert_eq!(fake.calls(), 1);
    agent.stop().await;
}

/// Standard base64, enough for a Basic header in a test.
fn base64_of(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
