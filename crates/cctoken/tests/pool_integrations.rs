//! The pooled integrations (SPEC §13) against the emulator over real sockets:
//! `PoolMiddleware` on a reqwest-middleware client and `PoolLayer` in front of a tower
//! service pace their requests to the pool's per-token limit with no upstream 429, refuse
//! the excess locally with the exact wait, and learn from an upstream 429. One warping
//! clock drives the emulator and the pool, so the emulator sees exactly the planned
//! instants.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken::client::Client;
use cctoken::clock::{Clock as _, ManualClock};
use cctoken::config::ClientConfig;
use cctoken::integrations::reqwest_middleware::PoolMiddleware;
use cctoken::integrations::tower::PoolLayer;
use cctoken::jitter::SeededJitter;
use cctoken::pool::{Pacing, PoolError, TokenPool};
use cctoken::provider::ProviderConfig;
use cctoken::secret::ClientSecret;
use cctoken::source::Fetch;
use cctoken_emulator::{spawn_with_state, AppState, EmulatorConfig, Flavor, RunningEmulator};
use tower::{Service as _, ServiceBuilder, ServiceExt as _};

struct Shared(ManualClock);

impl cctoken_emulator::Clock for Shared {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

async fn setup(api_limit: &str, k: usize, paced: &str) -> (RunningEmulator, TokenPool) {
    let clock = ManualClock::warping(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let mut config = EmulatorConfig::new(Flavor::Genesys).with_demo();
    config.api_rate_limit = Some(api_limit.parse().unwrap());
    let state = AppState::with_clock(config, Arc::new(Shared(clock.clone())));
    let emu = spawn_with_state(state).await.expect("emulator");
    let token_url = url::Url::parse(&format!("{}/oauth/token", emu.base_url())).unwrap();
    let cfg = ClientConfig::new(
        ProviderConfig::Genesys {
            region: None,
            token_url: Some(token_url),
            api_base: None,
        },
        "demo-client",
        ClientSecret::new("demo+s3cret/=%&"),
    );
    let client = Client::new(cfg).with_clock(Arc::new(clock.clone()));
    let fetchers: Vec<Arc<dyn Fetch>> = (0..k)
        .map(|_| Arc::new(client.clone()) as Arc<dyn Fetch>)
        .collect();
    let pool = TokenPool::new(
        fetchers,
        Pacing::new(Some(paced.parse().unwrap())),
        Arc::new(clock),
        Arc::new(SeededJitter::new(3)),
    )
    .unwrap();
    (emu, pool)
}

async fn filled(pool: &TokenPool) {
    pool.acquire().await.unwrap();
    for _ in 0..2_000 {
        if pool.stats().slots.iter().all(|s| s.has_token) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the pool did not fill");
}

async fn stat(emu: &RunningEmulator, k: &str) -> u64 {
    let r = reqwest::get(format!("{}/_emulator/stats", emu.base_url()))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    v[k].as_u64().unwrap()
}

fn refused_wait(e: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    match e.downcast_ref::<PoolError>()? {
        PoolError::Refused { retry_after } => Some(*retry_after),
        PoolError::Token(_) => None,
    }
}

#[tokio::test]
async fn the_pool_middleware_paces_refuses_and_moves_a_429_to_another_token() {
    let (emu, pool) = setup("10/10s", 2, "10/10s").await;
    filled(&pool).await;
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PoolMiddleware::new(pool.clone()))
        .build();
    let url = format!("{}/api/v2/tokens/me", emu.base_url());
    // The lease taken while filling counts (the pacer cannot know it was not sent): 17
    // more calls fill both budgets of 9.
    for i in 1..18 {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "call {i}");
    }
    assert_eq!(stat(&emu, "api_rate_limited_total").await, 0);
    let e = http.get(&url).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(e) = e else {
        panic!("{e:?}")
    };
    let wait = refused_wait(e.as_ref()).expect("a local refusal");
    assert!(
        wait > pool.max_wait() && wait <= Duration::from_secs(10),
        "{wait:?}"
    );
    assert_eq!(stat(&emu, "api_requests_total").await, 17, "never sent");
    emu.shutdown().await;

    // The API allows 3 per token per minute, the pool was told 100: a 429 is moved to the
    // other token once, then passed back.
    let (emu, pool) = setup("3/60s", 2, "100/60s").await;
    filled(&pool).await;
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PoolMiddleware::new(pool.clone()))
        .build();
    let url = format!("{}/api/v2/tokens/me", emu.base_url());
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..7 {
            v.push(http.get(&url).send().await.unwrap().status().as_u16());
        }
        v
    };
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429]);
    assert_eq!(
        stat(&emu, "api_rate_limited_total").await,
        2,
        "retried once elsewhere"
    );
    assert_eq!(pool.stats().throttled, 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_pool_layer_paces_refuses_and_cools_a_throttled_token() {
    let (emu, pool) = setup("10/10s", 2, "10/10s").await;
    filled(&pool).await;
    let http = reqwest::Client::new();
    // A tower service that sends the http::Request with reqwest.
    let send = tower::service_fn(move |req: http::Request<()>| {
        let http = http.clone();
        async move {
            let mut out = http.get(req.uri().to_string());
            if let Some(v) = req.headers().get(http::header::AUTHORIZATION) {
                out = out.header(http::header::AUTHORIZATION, v.clone());
            }
            let r = out.send().await?;
            let mut resp = http::Response::builder().status(r.status().as_u16());
            if let Some(v) = r.headers().get("retry-after") {
                resp = resp.header("retry-after", v.clone());
            }
            Ok::<_, reqwest::Error>(resp.body(()).unwrap())
        }
    });
    let mut svc = ServiceBuilder::new()
        .layer(PoolLayer::new(pool.clone()))
        .service(send.clone());
    let uri = format!("{}/api/v2/tokens/me", emu.base_url());
    let req = || http::Request::get(uri.as_str()).body(()).unwrap();
    for i in 1..18 {
        let r = svc.ready().await.unwrap().call(req()).await.unwrap();
        assert_eq!(r.status(), 200, "call {i}");
    }
    let e = svc.ready().await.unwrap().call(req()).await.unwrap_err();
    assert!(refused_wait(e.as_ref()).is_some(), "{e}");
    assert_eq!(stat(&emu, "api_rate_limited_total").await, 0);
    assert_eq!(stat(&emu, "api_requests_total").await, 17);
    emu.shutdown().await;

    // A 429 is not retried here (the body may be a stream): its token cools for the next.
    let (emu, pool) = setup("3/60s", 2, "100/60s").await;
    filled(&pool).await;
    let mut svc = ServiceBuilder::new()
        .layer(PoolLayer::new(pool.clone()))
        .service(send.clone());
    let uri = format!("{}/api/v2/tokens/me", emu.base_url());
    let req = || http::Request::get(uri.as_str()).body(()).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            svc.ready()
                .await
                .unwrap()
                .call(req())
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429]);
    let st = pool.stats();
    assert_eq!(st.throttled, 1);
    assert_eq!(
        st.slots
            .iter()
            .filter(|s| s.cooling_until.is_some())
            .count(),
        1
    );
    emu.shutdown().await;
}
