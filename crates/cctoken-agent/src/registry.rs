//! The profiles an agent serves: one [`TokenSource`] per profile, the counters behind
//! `/metrics`, and the background task that keeps every token fresh ([`keep_fresh`]: a
//! timer per profile, set to the source's refresh-ahead instant).
//!
//! A profile's fetcher is wrapped in [`Counted`], which counts refreshes and failures and
//! remembers the last token obtained. That last token is what lets the agent keep
//! answering while the token server is down: as long as it has not expired, it is still a
//! valid token, even when it is inside the source's safety margin.
//!
//! A profile's API base (sent to consumers as `api_base`, and the proxy's upstream) is
//! either known from its configuration or — NICE CXone, whose tenant's API lives on a
//! cluster named by the token's `tenantId` — looked up once with the first token
//! ([`Profile::api_base`]).
//!
//! Profiles that could not be configured (a missing secret, say) are kept as
//! [`Registry::add_broken`] entries, so a consumer asking for them gets the configuration
//! error instead of a puzzling "unknown profile". The registry knows nothing about config
//! files or flags; the CLI builds it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use cctoken::client::Client;
use cctoken::clock::SharedClock;
use cctoken::error::Error;
use cctoken::jitter;
use cctoken::pool::{Pacing, TokenPool};
use cctoken::source::{BoxFuture, Fetch, Held, TokenSource};
use cctoken::token::Token;
use url::Url;

/// The longest the background task sleeps without looking at a profile's token, and its
/// first pause after a failure with no token. Refreshes do not wait for it: they are
/// timed to their instant. It is the backstop for clock steps and suspended machines.
pub const DEFAULT_TICK: Duration = Duration::from_secs(1);
/// How many profiles may wait for the token server at once.
pub const COLD_CONCURRENCY: usize = 16;
/// Longest pause between attempts for a profile that has no token.
pub const MAX_COLD_BACKOFF: Duration = Duration::from_secs(60);

/// Counters of one profile (what `/metrics` shows).
#[derive(Debug, Default)]
pub struct Counters {
    /// Tokens obtained (from the server or the shared cache).
    pub refreshes: AtomicU64,
    /// Failed attempts to obtain a token.
    pub failures: AtomicU64,
    /// Token requests answered by the agent for this profile.
    pub served: AtomicU64,
    last: ArcSwapOption<Token>,
    last_error: ArcSwapOption<Error>,
}

impl Counters {
    /// The last token obtained, whatever its age.
    pub fn last_token(&self) -> Option<Arc<Token>> {
        self.last.load_full()
    }

    /// The last failure, cleared by the next success.
    pub fn last_error(&self) -> Option<Arc<Error>> {
        self.last_error.load_full()
    }
}

/// A [`Fetch`] that counts and remembers what the wrapped fetcher returns.
pub struct Counted {
    inner: Arc<dyn Fetch>,
    counters: Arc<Counters>,
}

impl Fetch for Counted {
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            match self.inner.fetch(held).await {
                Ok(t) => {
                    self.counters.refreshes.fetch_add(1, Ordering::Relaxed);
                    self.counters.last.store(Some(Arc::new(t.clone())));
                    self.counters.last_error.store(None);
                    Ok(t)
                }
                Err(e) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    self.counters.last_error.store(Some(Arc::new(e.clone())));
                    Err(e)
                }
            }
        })
    }
}

/// One served profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile's name.
    pub name: Arc<str>,
    /// Its token source (over the on-disk cache in the CLI): slot 0 of its pool, the token
    /// `GET /v1/token/{profile}` serves.
    pub source: TokenSource,
    /// Its tokens for the proxy, paced (SPEC §13): one unless `pool_size` says more.
    pub pool: TokenPool,
    /// Its counters.
    pub counters: Arc<Counters>,
    /// The API base, when known without a token (sent to clients as `api_base`).
    pub api_base: Option<Url>,
    /// How to find the API base with a token when it is not known without one.
    lookup: Option<Arc<ApiBaseLookup>>,
}

/// A profile's API base found with a token (CXone's tenant configuration), once.
#[derive(Debug)]
struct ApiBaseLookup {
    client: Client,
    found: tokio::sync::OnceCell<Option<Url>>,
    /// A lookup failed: consumers no longer wait for one (the background refresher
    /// tries again with each new token).
    failed: std::sync::atomic::AtomicBool,
    /// The expiry of the token the last lookup was made with (one try per token).
    tried: std::sync::Mutex<Option<std::time::SystemTime>>,
}

/// A profile that is configured but unusable, with the reason.
#[derive(Debug, Clone)]
pub struct Broken {
    /// Why it cannot produce tokens (a configuration error; no secret inside).
    pub error: Arc<Error>,
}

/// Profiles by name.
#[derive(Debug)]
pub struct Registry {
    clock: SharedClock,
    profiles: HashMap<Arc<str>, Profile>,
    broken: HashMap<String, Broken>,
}

impl Registry {
    /// An empty registry whose sources use `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            profiles: HashMap::new(),
            broken: HashMap::new(),
        }
    }

    /// The clock of the sources.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Serve `name` with tokens from `fetcher` (a `CachedClient` or `Client`).
    pub fn add(&mut self, name: &str, fetcher: impl Fetch, api_base: Option<Url>) -> &Profile {
        self.add_arc(name, Arc::new(fetcher), api_base)
    }

    /// [`Registry::add`] with a shared fetcher.
    pub fn add_arc(
        &mut self,
        name: &str,
        fetcher: Arc<dyn Fetch>,
        api_base: Option<Url>,
    ) -> &Profile {
        self.insert_pool(name, vec![fetcher], Pacing::new(None), api_base, None)
            .expect("one slot is a valid pool")
    }

    /// Serve `name` with a pool of one slot per fetcher (slot `i` fetching through
    /// `fetchers[i]`, under its own cache key), its proxy paced by `pacing`. 1 to
    /// [`cctoken::pool::PoolSize::MAX`] fetchers.
    pub fn add_pool(
        &mut self,
        name: &str,
        fetchers: Vec<Arc<dyn Fetch>>,
        pacing: Pacing,
        api_base: Option<Url>,
    ) -> Result<&Profile, Error> {
        self.insert_pool(name, fetchers, pacing, api_base, None)
    }

    /// Serve `name` with tokens from `fetcher`; its API base is `client`'s, found with the
    /// first token that needs it ([`Client::api_base`]: configured, derived from the
    /// region, or CXone's tenant configuration).
    pub fn add_with_lookup(
        &mut self,
        name: &str,
        fetcher: Arc<dyn Fetch>,
        client: Client,
    ) -> &Profile {
        self.add_pool_with_lookup(name, vec![fetcher], Pacing::new(None), client)
            .expect("one slot is a valid pool")
    }

    /// [`Registry::add_pool`] whose API base is `client`'s, found as in
    /// [`Registry::add_with_lookup`].
    pub fn add_pool_with_lookup(
        &mut self,
        name: &str,
        fetchers: Vec<Arc<dyn Fetch>>,
        pacing: Pacing,
        client: Client,
    ) -> Result<&Profile, Error> {
        let known = client.resolve_offline().and_then(|r| r.api_base);
        let lookup = known.is_none().then(|| {
            Arc::new(ApiBaseLookup {
                client,
                found: tokio::sync::OnceCell::new(),
                failed: Default::default(),
                tried: Default::default(),
            })
        });
        self.insert_pool(name, fetchers, pacing, known, lookup)
    }

    fn insert_pool(
        &mut self,
        name: &str,
        fetchers: Vec<Arc<dyn Fetch>>,
        pacing: Pacing,
        api_base: Option<Url>,
        lookup: Option<Arc<ApiBaseLookup>>,
    ) -> Result<&Profile, Error> {
        let counters = Arc::new(Counters::default());
        let counted = fetchers
            .into_iter()
            .map(|inner| {
                Arc::new(Counted {
                    inner,
                    counters: counters.clone(),
                }) as Arc<dyn Fetch>
            })
            .collect();
        let pool = TokenPool::new(counted, pacing, self.clock.clone(), jitter::system())?;
        let name: Arc<str> = Arc::from(name);
        self.broken.remove(&*name);
        let profile = Profile {
            name: name.clone(),
            source: pool.slot(0).clone(),
            pool,
            counters,
            api_base,
            lookup,
        };
        self.profiles.insert(name.clone(), profile);
        Ok(&self.profiles[&name])
    }

    /// Record a profile that could not be configured; requests for it get `error`.
    pub fn add_broken(&mut self, name: &str, error: Error) {
        self.broken.insert(
            name.to_owned(),
            Broken {
                error: Arc::new(error),
            },
        );
    }

    /// A served profile.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// A broken profile.
    pub fn broken(&self, name: &str) -> Option<&Broken> {
        self.broken.get(name)
    }

    /// Served profiles, sorted by name.
    pub fn profiles(&self) -> Vec<&Profile> {
        let mut v: Vec<&Profile> = self.profiles.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Names of the broken profiles, sorted.
    pub fn broken_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.broken.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Number of served profiles.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// True when no profile is served.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

impl Profile {
    /// The profile's API base: configured, or found once with `token` (CXone's tenant
    /// configuration). It never fails the token answer it rides on: after a failed lookup
    /// consumers get none without waiting, until the background refresher's next try
    /// ([`keep_fresh`]) succeeds.
    pub async fn api_base(&self, token: &Token) -> Option<Url> {
        self.find_api_base(token, false).await
    }

    async fn find_api_base(&self, token: &Token, retry: bool) -> Option<Url> {
        if let Some(b) = &self.api_base {
            return Some(b.clone());
        }
        let lookup = self.lookup.as_ref()?;
        if let Some(found) = lookup.found.get() {
            return found.clone();
        }
        if lookup.failed.load(Ordering::Relaxed) {
            let mut tried = lookup.tried.lock().unwrap_or_else(|e| e.into_inner());
            if !retry || *tried == Some(token.expires_at()) {
                return None;
            }
            *tried = Some(token.expires_at());
        }
        let found = lookup
            .found
            .get_or_try_init(|| lookup.client.api_base(token))
            .await;
        match found {
            Ok(b) => b.clone(),
            Err(e) => {
                *lookup.tried.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.expires_at());
                lookup.failed.store(true, Ordering::Relaxed);
                tracing::warn!(profile = %self.name, "could not find the API base: {e}");
                None
            }
        }
    }

    /// A token for a consumer: the source's (fresh, refreshed ahead), or — while the
    /// server fails — the last token obtained if it has not expired yet.
    pub async fn token(&self, clock: &SharedClock) -> Result<Token, Error> {
        match self.source.token().await {
            Ok(t) => Ok(t),
            Err(e) => match self.counters.last_token() {
                Some(t) if t.remaining(clock.now()) >= Duration::from_secs(1) => {
                    tracing::debug!(profile = %self.name, "serving the last token while the server fails");
                    Ok((*t).clone())
                }
                _ => Err(e),
            },
        }
    }
}

/// Keep `profile` fresh until `stop` resolves: wake at the source's next refresh instant
/// (refresh-ahead, or the retry after a failed refresh) and let it refresh, re-arming the
/// timer whenever the source changes (a new token, a rescheduled retry, a token replaced
/// after an API rejected it). While there is no usable token at all it asks with backoff,
/// starting at `tick`. It never sleeps longer than `tick` on the source's clock, which
/// bounds the damage of a clock step or a suspended machine.
///
/// Requests that have to wait for the server (no usable token) take a permit of `cold`
/// first, so an agent starting with 1,000 profiles does not open 1,000 connections at once.
pub async fn keep_fresh(
    profile: Profile,
    tick: Duration,
    cold: Arc<tokio::sync::Semaphore>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let clock = profile.source.clock().clone();
    let mut changes = profile.source.watch();
    let mut cold_backoff = tick;
    loop {
        changes.borrow_and_update();
        let permit = match profile.source.peek() {
            Some(_) => None,
            None => cold.clone().acquire_owned().await.ok(),
        };
        let result = profile.source.token().await;
        drop(permit);
        if let Ok(t) = &result {
            // Found before the first consumer asks, so its answer carries it.
            let _ = profile.find_api_base(t, true).await;
        }
        let now = clock.now();
        let wake = match result {
            Ok(_) => {
                cold_backoff = tick;
                let backstop = now + tick;
                // A due instant not in the future means the refresh it started is running:
                // its outcome comes through `changes`.
                match profile.source.refresh_due() {
                    Some(due) if due > now => due.min(backstop),
                    _ => backstop,
                }
            }
            Err(e) => {
                tracing::warn!(profile = %profile.name, "no token: {e}");
                let pause = cold_backoff;
                cold_backoff = (cold_backoff * 2).min(MAX_COLD_BACKOFF);
                now + pause
            }
        };
        tokio::select! {
            () = clock.sleep_until(wake) => {}
            _ = changes.changed() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
