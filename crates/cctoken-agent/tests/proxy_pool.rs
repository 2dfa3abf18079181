//! The proxy with a token pool over real sockets (SPEC §13): calls are spread over the
//! pool's tokens under the emulator's per-token limit with no upstream 429, the excess is
//! refused by the proxy itself — 429, `Retry-After` at the earliest free slot,
//! `{"error":"rate_limited","source":"cctoken"}` — and `/metrics` shows each token's window
//! use, the local refusals and the upstream 429s.
//!
//! The emulator, the registry and the pool share one warping clock, so the emulator sees
//! exactly the instants the pacer planned.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::http::{Method, StatusCode};
use cctoken::clock::{Clock as _, ManualClock, SharedClock};
use cctoken::pool::Pacing;
use cctoken::source::Fetch;
use cctoken_agent::registry::Registry;
use cctoken_agent::routes::render_metrics;
use cctoken_agent::{proxy, AgentKey};
use cctoken_emulator::{spawn_with_state, AppState, EmulatorConfig, Flavor, RunningEmulator};
use common::{client, request, Resp, Server, SECRET};
use url::Url;

struct Shared(ManualClock);

impl cctoken_emulator::Clock for Shared {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

async fn get(server: &Server, key: &AgentKey) -> Resp {
    let host = server.host();
    let auth = format!("Bearer {}", key.expose_secret());
    let headers = [("host", host.as_str()), ("authorization", auth.as_str())];
    let req = request(Method::GET, "/api/v2/tokens/me", &headers, b"");
    common::over_tcp(server.addr, req).await
}

async fn stats(emu: &RunningEmulator) -> serde_json::Value {
    let r = reqwest::get(format!("{}/_emulator/stats", emu.base_url()))
        .await
        .unwrap();
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_proxy_paces_a_pool_and_refuses_the_excess_itself() {
    let manual = ManualClock::warping(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let clock: SharedClock = Arc::new(manual.clone());
    let mut config = EmulatorConfig::new(Flavor::Genesys).with_demo();
    config.api_rate_limit = Some("10/10s".parse().unwrap());
    let emu = spawn_with_state(AppState::with_clock(
        config,
        Arc::new(Shared(manual.clone())),
    ))
    .await
    .expect("emulator");
    let mut registry = Registry::new(clock.clone());
    let fetchers: Vec<Arc<dyn Fetch>> = (0..2)
        .map(|_| Arc::new(client(&emu, SECRET, clock.clone())) as Arc<dyn Fetch>)
        .collect();
    let pacing = Pacing::new(Some("10/10s".parse().unwrap()));
    let profile = registry
        .add_pool("g", fetchers, pacing, None)
        .expect("a pool of two")
        .clone();
    let key = AgentKey::generate();
    let base = Url::parse(&emu.base_url()).unwrap();
    let router = proxy::app(profile.clone(), clock.clone(), base, key.clone()).unwrap();
    let server = Server::tcp(router).await;

    // Two tokens, 9 calls each (90 % of 10) in the first window: all pass.
    assert_eq!(get(&server, &key).await.status, StatusCode::OK);
    for _ in 0..200 {
        if profile.pool.stats().slots.iter().all(|s| s.has_token) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for i in 1..18 {
        let r = get(&server, &key).await;
        assert_eq!(r.status, StatusCode::OK, "call {i}: {}", r.body);
    }
    let st = stats(&emu).await;
    assert_eq!(st["api_requests_total"], 18);
    assert_eq!(st["api_rate_limited_total"], 0, "no upstream 429");
    assert_eq!(st["tokens_issued_total"], 2);

    // The 19th is refused by the proxy; the API never sees it.
    let r = get(&server, &key).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (v["error"].as_str(), v["source"].as_str()),
        (Some("rate_limited"), Some("cctoken"))
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(v["retry_after"], retry);
    let exact = v["retry_after_ms"].as_u64().unwrap();
    assert!(
        exact <= retry * 1000 && exact + 1000 > retry * 1000,
        "{exact} ms, header {retry} s"
    );
    assert!((3..=10).contains(&retry), "{retry}");
    assert_eq!(stats(&emu).await["api_requests_total"], 18);
    let m = render_metrics(&registry, Instant::now());
    for line in [
        "cctoken_agent_pool_tokens{profile=\"g\"} 2",
        "cctoken_agent_pool_window_budget{profile=\"g\"} 9",
        "cctoken_agent_pool_local_refusals_total{profile=\"g\"} 1",
        "cctoken_agent_pool_upstream_429_total{profile=\"g\"} 0",
    ] {
        assert!(m.lines().any(|l| l == line), "{line} in\n{m}");
    }
    let used: Vec<u32> = (0..2)
        .map(|i| {
            let prefix = format!("cctoken_agent_pool_window_calls{{profile=\"g\",slot=\"{i}\"}} ");
            let line = m
                .lines()
                .find(|l| l.starts_with(&prefix))
                .expect("a slot line");
            line[prefix.len()..].parse().unwrap()
        })
        .collect();
    assert_eq!(used, [9, 9], "each token at its budget");
    // After Retry-After, the call passes (no upstream 429).
    manual.advance(Duration::from_secs(retry));
    assert_eq!(get(&server, &key).await.status, StatusCode::OK);
    assert_eq!(stats(&emu).await["api_rate_limited_total"], 0);

    emu.shutdown().await;
}
