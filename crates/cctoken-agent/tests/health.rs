//! `/v1/token/{profile}` carries every provider's API base (CXone's found from the tenant
//! configuration with the token), and `/healthz` reports each configured profile's state —
//! against the emulator in-process, on a manual clock.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use cctoken::client::{Client, RetryPolicy};
use cctoken::clock::{ManualClock, SharedClock};
use cctoken::config::ClientConfig;
use cctoken::provider::{AccessKey, Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use cctoken_agent::registry::Registry;
use cctoken_emulator::Flavor;
use common::{client, emulator, eventually, fault, Agent, SECRET};

const TICK: Duration = Duration::from_millis(10);

fn cxone(base: &str, app_secret: &str, clock: SharedClock) -> Client {
    let cfg = ClientConfig::new(
        ProviderConfig::Cxone {
            issuer: url::Url::parse(base).unwrap(),
            token_url: None,
            access_key: AccessKey {
                id: "DEMOACCESSKEY".into(),
                secret: ClientSecret::new("demo/access+key===="),
            },
            api_base: None,
        },
        "demo-app",
        ClientSecret::new(app_secret),
    );
    Client::new(cfg)
        .with_clock(clock)
        .with_retry(RetryPolicy::none())
}

#[tokio::test]
async fn token_answers_carry_the_api_base_of_every_provider() {
    let cx = emulator(Flavor::Cxone).await;
    let gen = emulator(Flavor::Generic).await;
    let clock: SharedClock = Arc::new(ManualClock::new(SystemTime::now()));
    let mut registry = Registry::new(clock.clone());
    let c = cxone(&cx.base_url(), "demo-app-secret", clock.clone());
    registry.add_with_lookup("cx", Arc::new(c.clone()), c);
    // An issuer with a configured API base: known only after discovery, so also looked up.
    let issuer = ProviderConfig::Generic {
        endpoint: Endpoint::Issuer(url::Url::parse(&gen.base_url()).unwrap()),
        api_base: Some(url::Url::parse("https://api.example.com/v1/").unwrap()),
    };
    let g = Client::new(ClientConfig::new(
        issuer,
        "demo-client",
        ClientSecret::new(SECRET),
    ))
    .with_clock(clock.clone());
    registry.add_with_lookup("issuer", Arc::new(g.clone()), g);
    // No API base anywhere: none sent.
    let plain = client(&gen, SECRET, clock.clone());
    registry.add_with_lookup("plain", Arc::new(plain.clone()), plain);
    let agent = Agent::start(registry).await;

    let t = agent.token("cx").await;
    assert_eq!(
        t["api_base"].as_str().map(|b| b.trim_end_matches('/')),
        Some(cx.base_url().trim_end_matches('/')),
        "{t}"
    );
    let t = agent.token("issuer").await;
    assert_eq!(t["api_base"], "https://api.example.com/v1", "{t}");
    let t = agent.token("plain").await;
    assert!(t.get("api_base").is_none(), "{t}");

    // The next answer (the same token, no request upstream) carries it too.
    let before = cx.stats().token_requests_total;
    let t = agent.token("cx").await;
    assert!(t["api_base"].is_string(), "{t}");
    assert_eq!(cx.stats().token_requests_total, before);
    agent.stop().await;
    cx.shutdown().await;
    gen.shutdown().await;
}

#[tokio::test]
async fn healthz_counts_every_profile_and_answers_503_when_one_cannot_serve() {
    let emu = emulator(Flavor::Generic).await;
    let manual = ManualClock::new(SystemTime::now());
    let clock: SharedClock = Arc::new(manual.clone());
    let mut registry = Registry::new(clock.clone());
    registry.add("good", client(&emu, SECRET, clock.clone()), None);
    registry.add("wrong", client(&emu, "not-the-secret", clock.clone()), None);
    registry.add("later", client(&emu, SECRET, clock.clone()), None);
    registry.add_broken(
        "unset",
        cctoken::Error::config("client_secret_env CCTOKEN_UNSET is not set"),
    );
    let mut agent = Agent::start(registry).await;

    // Before any attempt: nothing failed yet, but the broken profile cannot serve.
    let r = agent.get("/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let h = r.json();
    assert_eq!(h["profiles"], 4, "every configured profile: {h}");
    assert_eq!(h["pending"], 3);
    assert_eq!(h["by_profile"]["unset"]["state"], "broken");
    assert_eq!(h["by_profile"]["unset"]["error"]["kind"], "config");

    agent.keep_fresh(TICK);
    eventually("the background attempts", || async {
        let h = agent.get("/healthz").await.json();
        h["ok"] == 2 && h["failing"] == 1
    })
    .await;
    let r = agent.get("/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let h = r.json();
    assert_eq!(h["status"], "failing");
    assert_eq!(h["ready"], 2);
    assert_eq!(h["by_profile"]["good"]["state"], "ok");
    assert_eq!(h["by_profile"]["good"]["expires_in"], 3600);
    let wrong = &h["by_profile"]["wrong"];
    assert_eq!(wrong["state"], "failing", "{h}");
    assert_eq!(wrong["error"]["kind"], "invalid_client");
    assert_eq!(wrong["error"]["class"], "permanent");
    assert_eq!(wrong["error"]["upstream_status"], 401);
    assert!(
        !r.mentions(SECRET) && !r.mentions("not-the-secret"),
        "{}",
        r.body
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // One profile at a time.
    let r = agent.get("/healthz?profile=good").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["health"]["state"], "ok");
    let r = agent.get("/healthz?profile=wrong").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.json()["status"], "failing");
    let r = agent.get("/healthz?profile=unset").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.json()["status"], "broken", "{}", r.body);
    let r = agent.get("/healthz?profile=nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.json()["error"], "unknown_profile");

    // The token server fails while "good" holds a token inside its margin: stale, still
    // serving, so that profile alone answers 200 "degraded".
    fault(&emu, r#"{"kind":"status","status":503,"count":100000}"#).await;
    manual.advance(Duration::from_secs(3600 - 30));
    eventually("a failed refresh", || async {
        agent.get("/healthz?profile=good").await.json()["health"]["state"] == "stale"
    })
    .await;
    let r = agent.get("/healthz?profile=good").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let one = r.json();
    assert_eq!(one["status"], "degraded");
    assert_eq!(one["health"]["expires_in"], 30);
    assert_eq!(one["health"]["error"]["kind"], "server_error");

    // Expired: nothing valid to give.
    manual.advance(Duration::from_secs(30));
    eventually("the expiry", || async {
        agent.get("/healthz?profile=good").await.json()["health"]["state"] == "failing"
    })
    .await;
    agent.stop().await;
    emu.shutdown().await;
}
