//! Rate limits over real sockets (SPEC §13 "Emulator", issue 14.1): the per-token limit on
//! `/api/v2/*` with Genesys' normalised 429, the per-client limit on the token endpoint in
//! each flavor's style, their counters in `/_emulator/stats` and their activity reasons.
//!
//! The windows are exact: N requests within DUR pass, the N+1st is refused with the seconds
//! until the oldest leaves, and once it has left one more passes. Time is the emulator's
//! injected clock; a real HTTP client talks to a loopback port-0 listener.

mod common;

use std::time::{Duration, SystemTime};

use cctoken_emulator::{ClientEntry, EmulatorConfig, Flavor, RateLimit};
use common::live::{demo_client, Live};
use common::Answer;

/// A quarter of a second into a whole second, so no boundary lines up by luck.
fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_250)
}

fn limit(s: &str) -> Option<RateLimit> {
    Some(s.parse().expect("a rate limit"))
}

/// `n` GETs of tokens/me with `token`, each expected to pass.
async fn pass(live: &Live, token: &str, n: usize, what: &str) {
    for i in 0..n {
        let a = live.bearer("GET", "/api/v2/tokens/me", token).await;
        assert_eq!(a.status, 200, "{what}: request {i}: {a:?}");
    }
}

/// `api_requests_total`, `api_rate_limited_total` and `api_max_per_window` of a stats
/// object (the whole emulator's or one client's).
fn api_counters(v: &serde_json::Value) -> [u64; 3] {
    [
        "api_requests_total",
        "api_rate_limited_total",
        "api_max_per_window",
    ]
    .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")))
}

/// Check Genesys' normalised 429 (research/genesys-facts.md §5, SPEC §13) and return its
/// `Retry-After`.
fn genesys_429(a: &Answer) -> u64 {
    assert_eq!(a.status, 429, "{a:?}");
    let retry: u64 = a
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    let v = a.json();
    let obj = v.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "code",
            "contextId",
            "details",
            "errors",
            "message",
            "status"
        ]
    );
    assert_eq!(
        v["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry}] seconds")
    );
    assert_eq!(v["code"], "too.many.requests.retry.after");
    assert_eq!(v["status"], 429);
    assert_eq!(v["details"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
    let context = v["contextId"].as_str().expect("contextId");
    let groups: Vec<usize> = context.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{context}");
    assert_eq!(a.header("inin-correlation-id"), Some(context));
    // Genesys removed its budget headers in 2021; the client must count for itself.
    assert!(
        a.headers
            .keys()
            .all(|k| !k.as_str().starts_with("inin-ratelimit")),
        "{:?}",
        a.headers
    );
    retry
}

#[tokio::test]
async fn genesys_default_is_300_per_rolling_minute_per_token() {
    let live = Live::start(EmulatorConfig::new(Flavor::Genesys).with_demo(), t0()).await;
    let (token, _) = live.token(Flavor::Genesys).await;
    let (other, _) = live.token(Flavor::Genesys).await;

    // 300 within one rolling minute pass, spread over it; the 301st is refused until the
    // first 150 leave, 30 s later.
    pass(&live, &token, 150, "first half").await;
    live.clock.advance(Duration::from_secs(30));
    pass(&live, &token, 150, "second half").await;
    let a = live.bearer("GET", "/api/v2/tokens/me", &token).await;
    assert_eq!(genesys_429(&a), 30);
    // HEAD is limited too, without a body.
    let a = live.bearer("HEAD", "/api/v2/tokens/me", &token).await;
    assert_eq!((a.status.as_u16(), a.body.len()), (429, 0));
    // Per token: another token of the same client has its own budget.
    pass(&live, &other, 1, "another token").await;

    // 1 ms before the oldest leave: still refused, Retry-After rounded up to 1 s.
    live.clock.advance(Duration::from_millis(29_999));
    let a = live.bearer("GET", "/api/v2/users/me", &token).await;
    assert_eq!(genesys_429(&a), 1);
    // They leave: exactly 150 more pass, then the next waits for the second half.
    live.clock.advance(Duration::from_millis(1));
    pass(&live, &token, 150, "after the first half left").await;
    let a = live.bearer("GET", "/api/v2/tokens/me", &token).await;
    assert_eq!(genesys_429(&a), 30);

    let stats = live.get_json("/_emulator/stats").await;
    let demo = &stats["clients"]["demo-client"];
    for v in [&stats, demo] {
        assert_eq!(api_counters(v), [455, 4, 300], "{v}");
    }
    let entry = live
        .emu
        .activity()
        .into_iter()
        .rev()
        .find(|e| e.outcome == "rate_limited")
        .expect("a rate_limited entry");
    assert_eq!((entry.endpoint, entry.status), ("api", 429));
    assert_eq!(entry.client_id.as_deref(), Some("demo-client"));
    assert!(
        entry
            .reason
            .starts_with("per-token API rate limit 300/60s exceeded: 300 requests in the last 1m"),
        "{}",
        entry.reason
    );
    assert!(
        entry.reason.contains("len=43 sha256:") && !entry.reason.contains(&token),
        "token only as a fingerprint: {}",
        entry.reason
    );
    let clients = live.get_json("/_emulator/clients").await;
    assert_eq!(clients["clients"][0]["api_rate_limit"], "300/60s");
    assert_eq!(
        clients["clients"][0]["token_rate_limit"],
        serde_json::Value::Null
    );
    live.emu.shutdown().await;
}

#[tokio::test]
async fn api_rate_limit_globally_and_per_client() {
    // The global limit, a client with its own, and a flavor with no default of its own.
    let mut vip = ClientEntry::new("vip", "vip-secret");
    vip.api_rate_limit = limit("4/5s");
    let mut cfg = EmulatorConfig::new(Flavor::Generic)
        .with_demo()
        .with_client(vip);
    cfg.api_rate_limit = limit("2/5s");
    let live = Live::start(cfg, t0()).await;
    let (token, _) = live.token(Flavor::Generic).await;
    let a = live
        .token_request(Flavor::Generic, "vip", "vip-secret")
        .await;
    let vip_token = a.json()["access_token"].as_str().unwrap().to_owned();

    pass(&live, &token, 2, "demo-client within 2/5s").await;
    let a = live.bearer("GET", "/api/v2/tokens/me", &token).await;
    // Genesys' body on /api/v2 in every flavor: it is Genesys' API surface.
    assert_eq!(genesys_429(&a), 5);
    pass(&live, &vip_token, 4, "vip within its own 4/5s").await;
    let a = live.bearer("GET", "/api/v2/tokens/me", &vip_token).await;
    assert_eq!(genesys_429(&a), 5);
    live.clock.advance(Duration::from_secs(5));
    pass(&live, &token, 2, "demo-client in the next window").await;

    let stats = live.get_json("/_emulator/stats").await;
    assert_eq!(api_counters(&stats), [10, 2, 4]);
    let (demo, vip) = (&stats["clients"]["demo-client"], &stats["clients"]["vip"]);
    assert_eq!(api_counters(demo), [5, 1, 2], "{demo}");
    assert_eq!(api_counters(vip), [5, 1, 4], "{vip}");
    live.emu.shutdown().await;

    // Generic without a limit: nothing is refused, and no window counts.
    let live = Live::start(EmulatorConfig::new(Flavor::Generic).with_demo(), t0()).await;
    let (token, _) = live.token(Flavor::Generic).await;
    pass(&live, &token, 50, "no limit").await;
    let stats = live.get_json("/_emulator/stats").await;
    assert_eq!(api_counters(&stats), [50, 0, 0], "{stats}");
    live.emu.shutdown().await;
}

/// The flavor's answer to a `token_rate_limit` fault, for comparison.
async fn fault_answer(flavor: Flavor) -> Answer {
    let mut cfg = EmulatorConfig::new(flavor).with_demo();
    cfg.faults = cctoken_emulator::FaultSpec::from_json(
        r#"{"kind":"token_rate_limit","retry_after":10,"count":1}"#,
    )
    .unwrap();
    let live = Live::start(cfg, t0()).await;
    let (id, secret) = demo_client(flavor);
    let a = live.token_request(flavor, id, secret).await;
    live.emu.shutdown().await;
    a
}

#[tokio::test]
async fn token_rate_limit_per_client_in_the_flavors_style() {
    for flavor in [Flavor::Generic, Flavor::Genesys, Flavor::Cxone] {
        let (id, secret) = demo_client(flavor);
        let other_grants: &[&str] = match flavor {
            Flavor::Cxone => &["password"],
            Flavor::Generic | Flavor::Genesys => &["client_credentials"],
        };
        let other = ClientEntry::new("other", "other-secret").with_grants(other_grants);
        let mut cfg = EmulatorConfig::new(flavor).with_demo().with_client(other);
        cfg.token_rate_limit = limit("2/10s");
        let live = Live::start(cfg, t0()).await;

        assert_eq!(live.token_request(flavor, id, secret).await.status, 200);
        live.clock.advance(Duration::from_secs(4));
        assert_eq!(live.token_request(flavor, id, secret).await.status, 200);
        let refused = live.token_request(flavor, id, secret).await;
        // The same answer as the `token_rate_limit` fault, Retry-After aside.
        let fault = fault_answer(flavor).await;
        assert_eq!(refused.status, fault.status, "{flavor}");
        assert_eq!(refused.error(), fault.error(), "{flavor}");
        assert_eq!(
            refused.header("cache-control"),
            Some("no-store"),
            "{flavor}"
        );
        let v = refused.json();
        match flavor {
            Flavor::Genesys => {
                assert_eq!(
                    (refused.status.as_u16(), v["error"].as_str()),
                    (400, Some("invalid_request"))
                );
                for k in ["error_description", "description"] {
                    assert_eq!(
                        v[k], "rate limit exceeded; retry after 6 seconds",
                        "{flavor}: {v}"
                    );
                }
                assert_eq!(refused.header("retry-after"), None);
            }
            Flavor::Generic | Flavor::Cxone => {
                assert_eq!(refused.status, 429, "{flavor}: {v}");
                // The oldest of the two leaves 10 s after it came, 6 s from now.
                assert_eq!(refused.header("retry-after"), Some("6"), "{flavor}");
                assert!(
                    v["error_description"]
                        .as_str()
                        .unwrap()
                        .starts_with("rate limit exceeded; "),
                    "{flavor}: {v}"
                );
            }
        }
        // Per client: another client is not limited by this one's requests.
        assert_eq!(
            live.token_request(flavor, "other", "other-secret")
                .await
                .status,
            200,
            "{flavor}"
        );
        let entry = live
            .emu
            .activity()
            .into_iter()
            .find(|e| e.outcome == "rate_limited")
            .expect("a rate_limited entry");
        assert_eq!(entry.endpoint, "token");
        assert_eq!(entry.client_id.as_deref(), Some(id));
        assert!(
            entry.reason.starts_with(
                "per-client token rate limit 2/10s exceeded: 2 token requests in the last 10s"
            ),
            "{flavor}: {}",
            entry.reason
        );
        // 1 ms before the oldest leaves: still refused; at that instant one more passes,
        // and only one.
        live.clock.advance(Duration::from_millis(5_999));
        assert_ne!(live.token_request(flavor, id, secret).await.status, 200);
        live.clock.advance(Duration::from_millis(1));
        assert_eq!(live.token_request(flavor, id, secret).await.status, 200);
        assert_ne!(live.token_request(flavor, id, secret).await.status, 200);
        let stats = live.get_json("/_emulator/stats").await;
        assert_eq!(stats["clients"][id]["rate_limited"], 3, "{flavor}: {stats}");
        assert_eq!(stats["clients"][id]["issued"], 3, "{flavor}: {stats}");
        live.emu.shutdown().await;
    }
}
