//! Tokens from a real token server (the emulator) on an injected clock: refresh ahead of
//! expiry by the background task, the counters and gauges of `/metrics`, the last valid
//! token served while the server fails (runtime faults), recovery when it comes back, and
//! the error answers — 503 when there has never been a token, 404 for an unknown profile,
//! 503 with the configuration error for a broken one.
//!
//! Time is a [`ManualClock`] shared by the agent and its client: the tests move it across
//! a token's lifetime instead of waiting. The background task sleeps on that clock too
//! (until the refresh instant, [`TICK`] at most) and does real HTTP;
//! [`common::eventually`] waits for its effects, boundedly.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use cctoken::clock::{ManualClock, SharedClock};
use cctoken_agent::registry::Registry;
use cctoken_emulator::{Flavor, RunningEmulator};
use common::{assert_no_store, clear_faults, client, emulator, eventually, fault, Agent, SECRET};

const TICK: Duration = Duration::from_millis(10);
const LIFETIME: u64 = 3600;
const REFRESHES: &str = "cctoken_agent_refreshes_total";
const FAILURES: &str = "cctoken_agent_refresh_failures_total";
const CONSECUTIVE: &str = "cctoken_agent_consecutive_failures";
const EXPIRY: &str = "cctoken_agent_token_expiry_seconds";
const SERVED: &str = "cctoken_agent_token_requests_total";

/// An agent serving profile `p` from a generic emulator (3600 s tokens), on a manual clock.
async fn setup(secret: &str) -> (Agent, RunningEmulator, ManualClock) {
    let emu = emulator(Flavor::Generic).await;
    let clock = ManualClock::new(SystemTime::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let mut registry = Registry::new(shared.clone());
    registry.add("p", client(&emu, secret, shared), None);
    (Agent::start(registry).await, emu, clock)
}

async fn wait_metric(agent: &Agent, name: &str, what: &str, ok: impl Fn(f64) -> bool) {
    eventually(what, || async {
        agent.metric(name, "p").await.is_some_and(&ok)
    })
    .await;
}

fn access_token(t: &serde_json::Value) -> String {
    t["access_token"].as_str().expect("access_token").to_owned()
}

#[tokio::test]
async fn the_background_task_refreshes_after_three_quarters_of_the_lifetime() {
    let (mut agent, emu, clock) = setup(SECRET).await;
    let m = agent.metrics().await;
    assert_eq!(common::metric(&m, REFRESHES, Some("p")), Some(0.0));
    assert_eq!(
        common::metric(&m, EXPIRY, Some("p")),
        None,
        "no expiry gauge before the first token"
    );

    agent.keep_fresh(TICK);
    wait_metric(&agent, REFRESHES, "the first token", |v| v == 1.0).await;
    let t0 = agent.token("p").await;
    assert_eq!(t0["expires_in"], LIFETIME);
    assert_eq!(agent.metric(EXPIRY, "p").await, Some(3600.0));
    let h = agent.get("/healthz").await.json();
    assert_eq!(h["profiles"], 1);
    assert_eq!(h["ready"], 1);

    // 55 % of the lifetime: before the earliest refresh point (70 %).
    clock.advance(Duration::from_secs(2000));
    let t = agent.token("p").await;
    assert_eq!(access_token(&t), access_token(&t0));
    assert_eq!(t["expires_in"], 1600);
    assert_eq!(agent.metric(EXPIRY, "p").await, Some(1600.0));
    // Let the background task look a few times: still nothing to do.
    tokio::time::sleep(TICK * 5).await;
    assert_eq!(emu.stats().tokens_issued_total, 1);
    assert_eq!(agent.metric(REFRESHES, "p").await, Some(1.0));

    // 80.5 %: after the latest refresh point. The background task refreshes on its own,
    // without any consumer asking.
    clock.advance(Duration::from_secs(900));
    wait_metric(&agent, REFRESHES, "the refresh ahead", |v| v == 2.0).await;
    assert_eq!(emu.stats().tokens_issued_total, 2);
    let t1 = agent.token("p").await;
    assert_ne!(access_token(&t1), access_token(&t0));
    assert_eq!(t1["expires_in"], LIFETIME);
    let m = agent.metrics().await;
    assert_eq!(common::metric(&m, EXPIRY, Some("p")), Some(3600.0));
    assert_eq!(common::metric(&m, FAILURES, Some("p")), Some(0.0));
    assert_eq!(common::metric(&m, CONSECUTIVE, Some("p")), Some(0.0));
    assert_eq!(common::metric(&m, SERVED, Some("p")), Some(3.0));
    assert!(m.contains("# TYPE cctoken_agent_token_expiry_seconds gauge"));
    assert!(m.contains("# TYPE cctoken_agent_refreshes_total counter"));
    agent.stop().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failing_refresh_ahead_keeps_the_token_and_retries_until_the_server_is_back() {
    let (mut agent, emu, clock) = setup(SECRET).await;
    agent.keep_fresh(TICK);
    wait_metric(&agent, REFRESHES, "the first token", |v| v == 1.0).await;
    let t0 = access_token(&agent.token("p").await);

    fault(&emu, r#"{"kind":"status","status":503,"probability":1.0}"#).await;
    clock.advance(Duration::from_secs(2900));
    wait_metric(&agent, FAILURES, "a failed refresh ahead", |v| v >= 1.0).await;
    let t = agent.token("p").await;
    assert_eq!(access_token(&t), t0, "still the current token");
    assert_eq!(t["expires_in"], 700);
    assert!(agent.metric(CONSECUTIVE, "p").await.unwrap() >= 1.0);

    // Retried with backoff (at most 2 s after the first failure), still failing.
    clock.advance(Duration::from_secs(3));
    wait_metric(&agent, FAILURES, "a retried refresh", |v| v >= 2.0).await;
    assert_eq!(access_token(&agent.token("p").await), t0);
    assert!(emu.stats().faults_applied_total >= 2);

    // The server is back: the next retry succeeds, without any consumer asking.
    clear_faults(&emu).await;
    clock.advance(Duration::from_secs(5));
    wait_metric(&agent, REFRESHES, "the recovery", |v| v == 2.0).await;
    let t1 = agent.token("p").await;
    assert_ne!(access_token(&t1), t0);
    assert_eq!(t1["expires_in"], LIFETIME);
    assert_eq!(agent.metric(CONSECUTIVE, "p").await, Some(0.0));
    agent.stop().await;
    emu.shutdown().await;
}

/// The server fails (`fault_json`) once the token is inside its safety margin: the agent
/// answers the last token until it expires, then 503 without it; after the fault is
/// cleared the next request gets a new token.
async fn last_valid_token_until_expiry(fault_json: &str, kinds: &[&str]) {
    let (mut agent, emu, clock) = setup(SECRET).await;
    agent.keep_fresh(TICK);
    wait_metric(&agent, REFRESHES, "the first token", |v| v == 1.0).await;
    let t0 = access_token(&agent.token("p").await);

    fault(&emu, fault_json).await;
    clock.advance(Duration::from_secs(LIFETIME - 30)); // 30 s left, margin is 60 s
    let mut failures = agent.metric(FAILURES, "p").await.unwrap();
    for _ in 0..5 {
        let t = agent.token("p").await;
        assert_eq!(access_token(&t), t0, "the last valid token");
        assert_eq!(t["expires_in"], 30);
        let now = agent.metric(FAILURES, "p").await.unwrap();
        assert!(now > failures, "each request tried the server first");
        failures = now;
    }
    let h = agent.get("/healthz").await.json();
    assert_eq!(h["ready"], 0, "no token with the margin left: {h}");
    assert_eq!(agent.metric(EXPIRY, "p").await, Some(30.0));

    // Expired: nothing valid to give.
    clock.advance(Duration::from_secs(30));
    let r = agent.get("/v1/token/p").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_no_store(&r);
    assert!(!r.mentions(&t0), "an expired token in {r:?}");
    assert!(!r.mentions(SECRET));
    let e = r.json();
    assert_eq!(e["class"], "transient", "{e}");
    assert!(
        kinds.contains(&e["error"].as_str().unwrap()),
        "{e} not one of {kinds:?}"
    );
    assert!(!e["message"].as_str().unwrap().is_empty());

    clear_faults(&emu).await;
    let t1 = agent.token("p").await;
    assert_ne!(access_token(&t1), t0);
    assert_eq!(t1["expires_in"], LIFETIME);
    assert!(agent.metric(REFRESHES, "p").await.unwrap() >= 2.0);
    agent.stop().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn last_valid_token_through_503s() {
    last_valid_token_until_expiry(
        r#"{"kind":"status","status":503,"probability":1.0}"#,
        &["server_error"],
    )
    .await;
}

#[tokio::test]
async fn last_valid_token_through_connection_resets() {
    last_valid_token_until_expiry(r#"{"kind":"reset","probability":1.0}"#, &["transport"]).await;
}

#[tokio::test]
async fn last_valid_token_through_html_error_pages() {
    last_valid_token_until_expiry(
        r#"{"kind":"html","status":502,"probability":1.0}"#,
        &["server_error", "unexpected_response"],
    )
    .await;
}

#[tokio::test]
async fn never_a_token_and_the_server_down_is_a_503_without_secrets() {
    let (agent, emu, _clock) = setup(SECRET).await;
    fault(&emu, r#"{"kind":"status","status":503,"probability":1.0}"#).await;
    let r = agent.get("/v1/token/p").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_no_store(&r);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let e = r.json();
    assert_eq!(e["error"], "server_error", "{e}");
    assert_eq!(e["class"], "transient");
    assert_eq!(e["upstream_status"], 503);
    assert!(!e["message"].as_str().unwrap().is_empty());
    assert!(e.get("access_token").is_none());
    assert!(!r.mentions(SECRET));
    assert_eq!(agent.metric(FAILURES, "p").await, Some(1.0));
    assert_eq!(agent.metric(EXPIRY, "p").await, None);

    // A rate limit: the wait the server asked for is passed on.
    clear_faults(&emu).await;
    fault(
        &emu,
        r#"{"kind":"rate_limit","retry_after":7,"probability":1.0}"#,
    )
    .await;
    let r = agent.get("/v1/token/p").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("7"));
    let e = r.json();
    assert_eq!(e["error"], "rate_limited", "{e}");
    assert_eq!(e["retry_after"], 7);

    // Back: the first token.
    clear_faults(&emu).await;
    let t = agent.token("p").await;
    assert_eq!(t["expires_in"], LIFETIME);
    agent.stop().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_rejected_secret_is_a_permanent_error_that_does_not_echo_it() {
    let wrong = "wrong-secret-do-not-echo";
    let (agent, emu, _clock) = setup(wrong).await;
    let r = agent.get("/v1/token/p").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let e = r.json();
    assert_eq!(e["error"], "invalid_client", "{e}");
    assert_eq!(e["class"], "permanent");
    assert_eq!(e["upstream_status"], 401);
    assert!(!r.mentions(wrong), "the presented secret in {r:?}");
    assert!(!r.mentions(SECRET), "the real secret in {r:?}");
    assert!(r.header("retry-after").is_none());
    agent.stop().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_and_broken_profiles() {
    let clock: SharedClock = cctoken::clock::system();
    let mut registry = Registry::new(clock.clone());
    for name in ["beta", "alpha"] {
        registry.add(name, common::Fake::new(name, clock.clone()).fetcher(), None);
    }
    let config_error = cctoken::Error::config(
        "profile 'gamma': client_secret_env CCTOKEN_GAMMA_SECRET is not set",
    );
    registry.add_broken("gamma", config_error.clone());
    let agent = Agent::start(registry).await;

    let r = agent.get("/v1/token/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_no_store(&r);
    let e = r.json();
    assert_eq!(e["error"], "unknown_profile");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("'nope'"), "{msg}");
    assert!(msg.contains("it serves: alpha, beta"), "{msg}");
    assert!(e["hint"].as_str().unwrap().contains("--profile"), "{e}");

    let r = agent.get("/v1/token/gamma").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_no_store(&r);
    let e = r.json();
    assert_eq!(e["error"], "config");
    assert_eq!(e["class"], "config");
    assert_eq!(e["message"], config_error.message.as_str());

    let r = agent.get("/v2/token/alpha").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"], "not_found");

    assert_eq!(agent.token("alpha").await["access_token"], "alpha-0");
    let m = agent.metrics().await;
    assert_eq!(
        common::metric(&m, "cctoken_agent_profiles", None),
        Some(2.0)
    );
    assert_eq!(
        common::metric(&m, "cctoken_agent_broken_profiles", None),
        Some(1.0)
    );
    assert_eq!(common::metric(&m, SERVED, Some("alpha")), Some(1.0));
    assert_eq!(common::metric(&m, SERVED, Some("beta")), Some(0.0));
    assert!(!m.contains("gamma"), "broken profiles have no samples");
    let r = agent.get("/healthz").await;
    // A configured profile that cannot serve counts, and makes the agent unhealthy.
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let h = r.json();
    assert_eq!(h["profiles"], 3, "every configured profile: {h}");
    assert_eq!(h["broken"], 1);
    assert_eq!(h["ready"], 1);
    assert_eq!(
        h["by_profile"]["gamma"]["error"]["message"],
        config_error.message.as_str()
    );
    agent.stop().await;
}
