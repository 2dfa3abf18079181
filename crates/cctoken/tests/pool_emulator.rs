//! The token pool against the emulator over real sockets (SPEC §13): pacing keeps every
//! token under the emulator's per-token limit with no upstream 429, the excess is refused
//! locally with the exact wait, a second process shares the pool's tokens through the disk
//! cache, and an upstream 429 moves the call to another token.
//!
//! The emulator and the pool run on one warping clock: a call that waits for its slot moves
//! the clock there, so the emulator sees exactly the instants the pacer planned and nothing
//! depends on how fast this machine is.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken::clock::{Clock as _, ManualClock};
use cctoken::config::ClientConfig;
use cctoken::jitter::SeededJitter;
use cctoken::pool::{Pacing, PoolError, PoolSize, TokenPool};
use cctoken::provider::ProviderConfig;
use cctoken::secret::ClientSecret;
use cctoken::stack::{CacheMode, Stack};
use cctoken_emulator::{spawn_with_state, AppState, EmulatorConfig, Flavor, RunningEmulator};

/// The emulator reads the tests' clock.
struct Shared(ManualClock);

impl cctoken_emulator::Clock for Shared {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

struct Setup {
    emu: RunningEmulator,
    clock: ManualClock,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    cache: std::path::PathBuf,
}

async fn setup(api_limit: &str) -> Setup {
    let clock = ManualClock::warping(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let mut config = EmulatorConfig::new(Flavor::Genesys).with_demo();
    config.api_rate_limit = Some(api_limit.parse().unwrap());
    let state = AppState::with_clock(config, Arc::new(Shared(clock.clone())));
    let emu = spawn_with_state(state).await.expect("emulator");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    Setup {
        emu,
        clock,
        http: reqwest::Client::new(),
        _dir: dir,
        cache,
    }
}

impl Setup {
    fn base(&self) -> String {
        self.emu.base_url().trim_end_matches('/').to_owned()
    }

    /// A pool of `k` over the disk cache, as a fresh process would build it.
    fn pool(&self, k: u64, limit: &str) -> TokenPool {
        let env: [(&str, &str); 0] = [];
        let stack = Stack::builder(&env)
            .cache(CacheMode::DiskAt(self.cache.clone()))
            .clock(Arc::new(self.clock.clone()))
            .build();
        let token_url = url::Url::parse(&format!("{}/oauth/token", self.base())).unwrap();
        let cfg = ClientConfig::new(
            ProviderConfig::Genesys {
                region: None,
                token_url: Some(token_url),
                api_base: None,
            },
            "demo-client",
            ClientSecret::new("demo+s3cret/=%&"),
        );
        stack.direct(cfg).pool_with(
            PoolSize::new(k).unwrap(),
            Pacing::new(Some(limit.parse().unwrap())),
            Arc::new(SeededJitter::new(k)),
        )
    }

    /// One GET of tokens/me through `pool`: the status.
    async fn call(&self, pool: &TokenPool) -> Result<u16, PoolError> {
        let url = format!("{}/api/v2/tokens/me", self.base());
        let r = pool
            .send(|t| {
                self.http
                    .get(&url)
                    .bearer_auth(t.access_token.expose_secret())
                    .send()
            })
            .await?;
        Ok(r.expect("the emulator answers").status().as_u16())
    }

    async fn stats(&self) -> serde_json::Value {
        let r = self
            .http
            .get(format!("{}/_emulator/stats", self.base()))
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    /// Let the pool's background fill finish (bounded).
    async fn filled(&self, pool: &TokenPool) {
        for _ in 0..2_000 {
            if pool.stats().slots.iter().all(|s| s.has_token) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the pool did not fill: {:?}", pool.stats());
    }
}

fn counter(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[tokio::test]
async fn a_pool_of_three_takes_ninety_percent_of_each_budget_without_a_429_then_refuses_exactly() {
    let s = setup("10/10s").await;
    let pool = s.pool(3, "10/10s");
    assert_eq!(s.call(&pool).await.unwrap(), 200);
    s.filled(&pool).await;
    let start = s.clock.now();
    // 9 per token (90 % of 10), 27 in all, all within the first window.
    for i in 1..27 {
        assert_eq!(s.call(&pool).await.unwrap(), 200, "call {i}");
    }
    let st = s.stats().await;
    assert_eq!(
        counter(&st, "tokens_issued_total"),
        3,
        "three tokens, minted once"
    );
    assert_eq!(counter(&st, "api_requests_total"), 27);
    assert_eq!(counter(&st, "api_rate_limited_total"), 0, "no upstream 429");
    assert_eq!(counter(&st, "api_max_per_window"), 9);
    // The 28th: every token is full until the first call leaves its window, more than
    // max_wait away. Refused here, and the API never sees it.
    let refused = s.call(&pool).await.unwrap_err();
    let PoolError::Refused { retry_after } = refused else {
        panic!("{refused:?}")
    };
    let free = s.clock.now() + retry_after;
    assert!(retry_after > pool.max_wait(), "{retry_after:?}");
    assert!(
        free <= start + Duration::from_secs(10),
        "the first window ends by then"
    );
    assert_eq!(counter(&s.stats().await, "api_requests_total"), 27);
    // The Retry-After is exact: at that instant the call goes out, and passes.
    s.clock.set(free);
    assert_eq!(s.call(&pool).await.unwrap(), 200);
    let st = s.stats().await;
    assert_eq!(counter(&st, "api_rate_limited_total"), 0);
    assert_eq!(pool.stats().refused, 1);

    // Another process with the same pool: its three tokens come from the disk cache.
    let other = s.pool(3, "10/10s");
    assert_eq!(s.call(&other).await.unwrap(), 200);
    s.filled(&other).await;
    assert_eq!(
        counter(&s.stats().await, "tokens_issued_total"),
        3,
        "no new mint"
    );
    let mine: std::collections::HashSet<String> = (0..3)
        .map(|i| {
            pool.slot(i)
                .peek()
                .unwrap()
                .access_token
                .expose_secret()
                .to_owned()
        })
        .collect();
    let theirs: std::collections::HashSet<String> = (0..3)
        .map(|i| {
            other
                .slot(i)
                .peek()
                .unwrap()
                .access_token
                .expose_secret()
                .to_owned()
        })
        .collect();
    assert_eq!(mine, theirs);
    s.emu.shutdown().await;
}

#[tokio::test]
async fn an_upstream_429_cools_that_token_and_the_call_passes_on_another() {
    // The API allows 3 per token per minute, but the pool was told 100: it learns from 429s.
    let s = setup("3/60s").await;
    let pool = s.pool(2, "100/60s");
    assert_eq!(s.call(&pool).await.unwrap(), 200);
    s.filled(&pool).await;
    // Calls alternate; the 7th finds its token at the API's limit: 429, then the other
    // token… which is at the limit too: the second 429 is passed back.
    let mut statuses = Vec::new();
    for _ in 1..7 {
        statuses.push(s.call(&pool).await.unwrap());
    }
    assert_eq!(
        statuses,
        [200; 5].iter().copied().chain([429]).collect::<Vec<_>>()
    );
    let st = s.stats().await;
    assert_eq!(
        counter(&st, "api_rate_limited_total"),
        2,
        "one retry, on the other token"
    );
    let ps = pool.stats();
    assert_eq!(ps.throttled, 2);
    assert!(ps.slots.iter().all(|s| s.cooling_until.is_some()), "{ps:?}");
    // Both cooling (the limit looks shared): the next call is refused here, until the
    // emulator's Retry-After.
    let refused = s.call(&pool).await.unwrap_err();
    assert!(matches!(refused, PoolError::Refused { .. }), "{refused:?}");
    assert_eq!(counter(&s.stats().await, "api_requests_total"), 8);
    s.emu.shutdown().await;
}
