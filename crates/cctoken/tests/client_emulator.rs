//! The library's `Client` against the in-process emulator: every provider, every client
//! authentication method, discovery, the CXone access-key flow and refresh, and the
//! runtime faults of SPEC §10, and the cache in front of it retrying a refresh ahead.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken::auth::AuthMethod;
use cctoken::cache::{CachedClient, DiskCache};
use cctoken::client::{Client, RetryPolicy};
use cctoken::clock::{Clock as _, ManualClock, SystemClock};
use cctoken::config::ClientConfig;
use cctoken::error::{Class, ErrorKind};
use cctoken::jitter::FixedJitter;
use cctoken::provider::{AccessKey, Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use cctoken::source::{Fetch as _, Held, TokenSource};
use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator};

const SECRET: &str = "demo+s3cret/=%&";

async fn emulator(flavor: Flavor) -> RunningEmulator {
    cctoken_emulator::spawn(EmulatorConfig::new(flavor).with_demo())
        .await
        .expect("emulator")
}

fn base(emu: &RunningEmulator) -> String {
    emu.base_url().trim_end_matches('/').to_owned()
}

fn generic(emu: &RunningEmulator, id: &str, secret: &str, auth: Option<AuthMethod>) -> Client {
    let url = url::Url::parse(&format!("{}/oauth/token", base(emu))).unwrap();
    let mut cfg = ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::TokenUrl(url),
            api_base: None,
        },
        id,
        ClientSecret::new(secret),
    );
    cfg.auth = auth;
    Client::new(cfg).with_retry(fast_retry())
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(2),
        max_total: Duration::from_secs(20),
    }
}

async fn fault(emu: &RunningEmulator, json: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/_emulator/faults", base(emu)))
        .header("Content-Type", "application/json")
        .body(json.to_owned())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{json}: {}", r.status());
}

async fn stats(emu: &RunningEmulator) -> serde_json::Value {
    let b = reqwest::get(format!("{}/_emulator/stats", base(emu)))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&b).unwrap()
}

#[tokio::test]
async fn generic_is_strict_rfc_basic() {
    let emu = emulator(Flavor::Generic).await;
    let t = generic(&emu, "demo-client", SECRET, None)
        .fetch_token()
        .await
        .unwrap();
    assert_eq!(t.token_type, "Bearer");
    assert!(t.expires_in > Duration::from_secs(3000));
    let e = generic(&emu, "demo-client", SECRET, Some(AuthMethod::BasicRaw))
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::InvalidClient,
        "raw Basic of + / = % & is not RFC"
    );
    assert!(e.presented_secret.is_some());
    let t = generic(&emu, "demo-client", SECRET, Some(AuthMethod::Post))
        .fetch_token()
        .await;
    assert!(t.is_ok(), "{t:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn genesys_accepts_raw_and_rfc_basic_and_knows_the_api_base() {
    let emu = emulator(Flavor::Genesys).await;
    for auth in [AuthMethod::Basic, AuthMethod::BasicRaw] {
        let mut cfg = ClientConfig::new(
            ProviderConfig::Genesys {
                region: None,
                token_url: Some(url::Url::parse(&format!("{}/oauth/token", base(&emu))).unwrap()),
                api_base: None,
            },
            "demo-client",
            ClientSecret::new(SECRET),
        );
        cfg.auth = Some(auth);
        let client = Client::new(cfg);
        let t = client.fetch_token().await.unwrap();
        assert_eq!(t.expires_in, Duration::from_secs(86_400));
        let api = client.api_base(&t).await.unwrap().unwrap();
        assert_eq!(api.as_str().trim_end_matches('/'), base(&emu));
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn discovery_picks_the_token_endpoint_and_method() {
    let emu = emulator(Flavor::Generic).await;
    let issuer = url::Url::parse(&base(&emu)).unwrap();
    let cfg = ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::Issuer(issuer),
            api_base: None,
        },
        "demo-client",
        ClientSecret::new(SECRET),
    );
    let client = Client::new(cfg);
    let r = client.resolve().await.unwrap();
    assert!(r.token_url.as_str().ends_with("/oauth/token"));
    assert!(r.metadata.is_some());
    client.fetch_token().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn grant_and_scope_errors_are_permanent() {
    let emu = emulator(Flavor::Generic).await;
    let e = generic(&emu, "demo-nogrant", SECRET, None)
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnauthorizedClient);
    assert_eq!(e.class, Class::Permanent);
    let mut c = generic(&emu, "demo-client", SECRET, None).config().clone();
    c.scopes = vec!["admin".into()];
    let e = Client::new(c).fetch_token().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidScope);
    assert_eq!(stats(&emu).await["tokens_issued_total"], 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn transient_faults_are_retried() {
    let emu = emulator(Flavor::Genesys).await;
    let client = generic(&emu, "demo-client", SECRET, None);
    for f in [
        r#"{"kind":"status","status":503,"count":2}"#,
        r#"{"kind":"rate_limit","retry_after":1,"count":1}"#,
        r#"{"kind":"html","status":502,"count":1}"#,
        r#"{"kind":"truncate","count":1}"#,
        r#"{"kind":"reset","count":1}"#,
        r#"{"kind":"token_rate_limit","count":1}"#,
    ] {
        fault(&emu, f).await;
        let t = client.fetch_token().await;
        assert!(t.is_ok(), "{f}: {t:?}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn persistent_failure_gives_up_transient() {
    let emu = emulator(Flavor::Generic).await;
    fault(&emu, r#"{"kind":"status","status":503,"count":100}"#).await;
    let before = stats(&emu).await["token_requests_total"].as_u64().unwrap();
    let e = generic(&emu, "demo-client", SECRET, None)
        .fetch_token()
        .await
        .unwrap_err();
    assert!(e.is_transient());
    let sent = stats(&emu).await["token_requests_total"].as_u64().unwrap() - before;
    assert_eq!(sent, u64::from(fast_retry().max_attempts));
    emu.shutdown().await;
}

#[tokio::test]
async fn cxone_access_key_flow_refresh_and_tenant_api_base() {
    let emu = emulator(Flavor::Cxone).await;
    let cfg = ClientConfig::new(
        ProviderConfig::Cxone {
            issuer: url::Url::parse(&base(&emu)).unwrap(),
            token_url: None,
            access_key: AccessKey {
                id: "DEMOACCESSKEY".into(),
                secret: ClientSecret::new("demo/access+key===="),
            },
            api_base: None,
        },
        "demo-app",
        ClientSecret::new("demo-app-secret"),
    );
    let client = Client::new(cfg);
    let t = client.fetch_token().await.unwrap();
    assert!(t.refresh_token.is_some() && t.id_token.is_some());
    let api = client.api_base(&t).await.unwrap().unwrap();
    assert_eq!(api.as_str().trim_end_matches('/'), base(&emu));
    // The refresh token is used when held.
    let t2 = client
        .refresh(t.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    assert_ne!(t2.access_token, t.access_token);
    // A protected CXone API accepts the token.
    let r = reqwest::Client::new()
        .get(format!(
            "{}/inContactAPI/services/v25.0/server-time",
            base(&emu)
        ))
        .bearer_auth(t2.access_token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn token_source_over_the_emulator_shares_one_request() {
    let emu = emulator(Flavor::Generic).await;
    let src = TokenSource::new(
        generic(&emu, "demo-client", SECRET, None),
        Arc::new(SystemClock),
    );
    let mut handles = vec![];
    for _ in 0..50 {
        let s = src.clone();
        handles.push(tokio::spawn(async move { s.token().await.unwrap() }));
    }
    let mut tokens = std::collections::HashSet::new();
    for h in handles {
        tokens.insert(h.await.unwrap().access_token.expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(stats(&emu).await["token_requests_total"], 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_refresh_ahead_through_the_cache_retries_only_before_the_held_token_runs_out() {
    let emu = emulator(Flavor::Generic).await;
    // The default policy would spread its six attempts over 4.65 s (u = 0.5); the held
    // token stops serving 1 s from now.
    let start = SystemTime::now();
    let clock = ManualClock::warping(start);
    let client = generic(&emu, "demo-client", SECRET, None)
        .with_retry(RetryPolicy::default())
        .with_clock(Arc::new(clock.clone()))
        .with_jitter(Arc::new(FixedJitter(0.5)));
    let dir = tempfile::tempdir().unwrap();
    let cached = CachedClient::new(
        client,
        DiskCache::open(dir.path().join("cache")).unwrap(),
        Arc::new(clock.clone()),
    );
    let (held, _) = cached.token(Duration::ZERO).await.unwrap();
    fault(&emu, r#"{"kind":"status","status":503,"count":100}"#).await;
    let before = stats(&emu).await["token_requests_total"].as_u64().unwrap();
    let deadline = start + Duration::from_secs(1);
    let e = cached
        .fetch(Held::usable(&held, deadline))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    let sent = stats(&emu).await["token_requests_total"].as_u64().unwrap() - before;
    assert_eq!(sent, u64::from(RetryPolicy::default().max_attempts));
    assert!(clock.now() < deadline, "the last retry landed in time");
    emu.shutdown().await;
}
