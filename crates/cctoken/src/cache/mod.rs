//! Token caches: the per-user on-disk cache ([`DiskCache`]), the optional Redis cache a fleet
//! shares (`redis::RedisCache`, feature `redis`), and the glue that puts them in front of a
//! [`Client`] ([`CachedClient`]).
//!
//! The cache makes 200 parallel `cctoken get` processes send one token request: a fresh
//! entry is served without locks or network; otherwise one process takes the per-key lock,
//! re-checks, fetches and writes while the others wait and then read its entry. Permanent
//! failures are remembered for a short while (negative cache) so a wrong secret does not
//! turn into 200 failing requests. With a Redis cache the same holds across machines: the
//! disk stays the fast path, and Redis adds a shared entry and a refresh lease (the
//! protocol is described in the `redis` module).

mod crypto;
pub mod dir;
pub mod disk;
mod entry;
#[cfg(feature = "redis")]
mod fleet;
pub mod key;
#[cfg(feature = "redis")]
pub mod redis;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use disk::{DiskCache, Lookup};
pub use key::CacheKey;

use crate::client::Client;
use crate::clock::SharedClock;
use crate::error::{Error, ErrorKind};
use crate::secret::{AccessToken, ClientSecret};
pub use crate::token::Origin;
use crate::token::{safety_margin, BoxFuture, Fetch, Held, Token, MAX_RETRY_AFTER};

/// Default time a permanent failure is remembered.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// Longest wait for another process's token request.
pub const LOCK_WAIT: Duration = Duration::from_secs(150);

/// Longest remembered rate limit a process waits out before giving up (exit 4).
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
/// How long a rate-limit answer without `Retry-After` is remembered.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// How long to remember the rate limit `e`: its `Retry-After`, else
/// [`DEFAULT_RATE_LIMIT_WAIT`], never more than [`MAX_RETRY_AFTER`] (a longer entry is
/// refused on read as planted).
pub(crate) fn rate_limit_wait(e: &Error) -> Duration {
    e.retry_after
        .unwrap_or(DEFAULT_RATE_LIMIT_WAIT)
        .min(MAX_RETRY_AFTER)
}

/// A [`Client`] with the on-disk cache (and optionally a fleet's Redis cache) in front of it.
#[derive(Debug, Clone)]
pub struct CachedClient {
    client: Client,
    cache: DiskCache,
    key: CacheKey,
    /// What seals this client's entries: the secret, or a key derived from the private
    /// key (SPEC §14), or the per-user federation key.
    seal: ClientSecret,
    clock: SharedClock,
    negative_ttl: Duration,
    #[cfg(feature = "redis")]
    shared: Option<redis::RedisCache>,
}

/// The sealing secret of `config`'s entries: the client secret when there is one, else a
/// key derived from the private key (or the TLS client key), else — a federated client,
/// with no local secret — the per-user random key of the cache directory.
pub fn sealing_secret(config: &crate::config::ClientConfig, cache: &DiskCache) -> ClientSecret {
    use sha2::{Digest, Sha256};
    if config.has_secret() {
        return config.client_secret.clone();
    }
    let keys = &config.keys;
    if let Some(k) = &keys.signing_key {
        return ClientSecret::new(hex::encode(k.sealing_material()));
    }
    if let Some(t) = &keys.tls {
        let mut h = Sha256::new();
        h.update(b"cctoken-tls-key-seal-v1");
        h.update(t.sealing_material().as_bytes());
        return ClientSecret::new(hex::encode(h.finalize()));
    }
    match cache.federation_key() {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!("cache: {e}; federated tokens are cached for this process only");
            ClientSecret::new(hex::encode(rand::random::<[u8; 32]>()))
        }
    }
}

/// A cache lookup judged against what the caller needs.
enum Found {
    /// Usable as it is.
    Fresh(Token),
    /// Nothing usable; the stale token, if any (its refresh token may serve the request).
    Stale(Option<Token>),
}

impl CachedClient {
    /// Put `cache` in front of `client`.
    pub fn new(client: Client, cache: DiskCache, clock: SharedClock) -> Self {
        let key = CacheKey::for_config(client.config());
        let seal = sealing_secret(client.config(), &cache);
        Self {
            client,
            cache,
            key,
            seal,
            clock,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// The same client and caches for token `slot` of a pool (its own cache entry, lock and
    /// Redis lease: [`CacheKey::slot`]).
    pub fn for_slot(mut self, slot: usize) -> Self {
        self.key = CacheKey::for_config(self.client.config()).slot(slot);
        self
    }

    /// Share tokens with other machines through `shared` (SPEC §6). The disk cache stays in
    /// front: [`CachedClient::cached`] never touches Redis.
    #[cfg(feature = "redis")]
    pub fn with_redis(mut self, shared: redis::RedisCache) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The Redis cache, unless there is none or it failed a moment ago.
    #[cfg(feature = "redis")]
    fn fleet(&self) -> Option<&redis::RedisCache> {
        self.shared.as_ref().filter(|s| s.available())
    }

    /// Remember permanent failures this long (zero disables the negative cache).
    pub fn with_negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The disk cache in front.
    pub fn cache(&self) -> &DiskCache {
        &self.cache
    }

    /// How long a permanent failure is remembered.
    pub fn negative_ttl(&self) -> Duration {
        self.negative_ttl
    }

    /// The cache key.
    pub fn key(&self) -> &CacheKey {
        &self.key
    }

    fn fresh(&self, token: &Token, min_ttl: Duration) -> bool {
        token.remaining(self.clock.now()) > safety_margin(token.expires_in).max(min_ttl)
    }

    /// Judge a lookup: fresh enough for `min_ttl` and not the `exclude`d token (the one a
    /// refreshing source already holds), a remembered failure, or nothing usable.
    fn judge(
        &self,
        lookup: Lookup,
        min_ttl: Duration,
        exclude: Option<&AccessToken>,
    ) -> Result<Found, Error> {
        match lookup {
            Lookup::Token(t)
                if self.fresh(&t, min_ttl) && exclude.is_none_or(|x| *x != t.access_token) =>
            {
                Ok(Found::Fresh(t))
            }
            Lookup::Token(t) => Ok(Found::Stale(Some(t))),
            Lookup::Negative(e) => Err(e),
            Lookup::Miss => Ok(Found::Stale(None)),
        }
    }

    fn load_disk(&self) -> Lookup {
        self.cache
            .load(&self.key, &self.seal, self.clock.now(), self.negative_ttl)
    }

    /// The cached token if it has the margin (and `min_ttl`) left; a remembered permanent
    /// failure as an error; `None` otherwise. Synchronous, no network: the `get` fast path
    /// (the disk cache only, also when a Redis cache is configured).
    pub fn cached(&self, min_ttl: Duration) -> Result<Option<Token>, Error> {
        match self.judge(self.load_disk(), min_ttl, None)? {
            Found::Fresh(t) => Ok(Some(t)),
            Found::Stale(_) => Ok(None),
        }
    }

    /// A fresh token: from the cache, or fetched under the cross-process lock (waiters
    /// re-check after acquiring it, so only one process asks the server). With a Redis
    /// cache, one process in the whole fleet asks (see the `redis` module).
    pub async fn token(&self, min_ttl: Duration) -> Result<(Token, Origin), Error> {
        self.obtain(min_ttl, None, None).await
    }

    /// A token for `min_ttl` that is not `exclude`; the client's retries fit before
    /// `deadline` (see [`Held::usable_until`]).
    async fn obtain(
        &self,
        min_ttl: Duration,
        exclude: Option<&AccessToken>,
        deadline: Option<SystemTime>,
    ) -> Result<(Token, Origin), Error> {
        if let Found::Fresh(t) = self.judge(self.load_disk(), min_ttl, exclude)? {
            return Ok((t, Origin::Cache));
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = self.fleet() {
            if let Some(found) = self.fleet_entry(shared, min_ttl, exclude).await {
                return found;
            }
        }
        let cache = self.cache.clone();
        let key = self.key.clone();
        let _lock = tokio::task::spawn_blocking(move || cache.lock(&key, LOCK_WAIT))
            .await
            .map_err(|e| Error::transport(format!("cache lock task failed: {e}")))??;
        let previous = match self.judge(self.load_disk(), min_ttl, exclude)? {
            Found::Fresh(t) => return Ok((t, Origin::Cache)),
            Found::Stale(t) => t,
        };
        #[cfg(feature = "redis")]
        if let Some(shared) = self.fleet() {
            if let Some(done) = self
                .under_lease(shared, min_ttl, exclude, previous.as_ref(), deadline)
                .await
            {
                return done;
            }
        }
        self.fetch_and_store(previous.as_ref(), None, deadline)
            .await
            .map(|t| (t, Origin::Server))
    }

    /// Ask the server (after waiting out a rate limit remembered on disk or in `also_until`)
    /// and remember the outcome on disk: the token, a permanent failure, a rate limit.
    async fn fetch_and_store(
        &self,
        previous: Option<&Token>,
        also_until: Option<SystemTime>,
        deadline: Option<SystemTime>,
    ) -> Result<Token, Error> {
        let secret = &self.seal;
        let now = self.clock.now();
        let limited = self
            .cache
            .rate_limited_until(&self.key, secret, now)
            .max(also_until.filter(|u| *u > now));
        if let Some(until) = limited {
            let wait = until.duration_since(now).unwrap_or_default();
            if wait > MAX_RATE_LIMIT_WAIT {
                let mut e = Error::rate_limited(
                    None,
                    format!(
                        "the server rate-limited this client a moment ago (remembered in \
                         the token cache); retry in {}",
                        crate::duration::Human(Duration::from_secs(wait.as_secs() + 1))
                    ),
                );
                e.retry_after = Some(Duration::from_secs(wait.as_secs() + 1));
                e.remembered = true;
                e.hint = self
                    .client
                    .config()
                    .kind()
                    .hint(ErrorKind::RateLimited)
                    .map(str::to_owned);
                return Err(e);
            }
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "waiting out a remembered rate limit"
            );
            tokio::time::sleep(wait).await;
        }
        let held = Held {
            token: previous,
            usable_until: deadline,
        };
        match self.client.fetch(held).await {
            Ok(t) => {
                self.store_token(&t).await;
                Ok(t)
            }
            Err(e) => {
                if e.kind == ErrorKind::RateLimited {
                    let until = self.clock.now() + rate_limit_wait(&e);
                    if let Err(w) = self.cache.store_rate_limit(&self.key, secret, until) {
                        tracing::warn!("could not remember the rate limit: {w}");
                    }
                }
                if e.worth_remembering() && !self.negative_ttl.is_zero() {
                    let until = self.clock.now() + self.negative_ttl;
                    if let Err(w) = self.cache.store_negative(&self.key, secret, &e, until) {
                        tracing::warn!("could not write the negative cache entry: {w}");
                    }
                }
                Err(e)
            }
        }
    }

    /// Write `token`'s entry on Tokio's blocking pool, and wait for it (the cross-process
    /// lock is held until the entry is there). The write ends with an fsync, which can take
    /// long under disk load, and the runtime thread that awaits this may be the only one
    /// of a process with other work: `exec` hands tokens over and forwards signals on it.
    async fn store_token(&self, token: &Token) {
        let cache = self.cache.clone();
        let key = self.key.clone();
        let secret = self.client.config().client_secret.clone();
        let token = token.clone();
        let written =
            tokio::task::spawn_blocking(move || cache.store_token(&key, &secret, &token)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("could not write the token cache: {e}"),
            Err(e) => tracing::warn!("could not write the token cache: {e}"),
        }
    }

    /// Drop the cached entry (the API rejected its token).
    pub fn invalidate(&self) {
        self.cache.remove(&self.key);
    }
}

impl Fetch for CachedClient {
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move { self.fetch_traced(held).await.map(|(t, _)| t) })
    }

    fn fetch_traced<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<(Token, Origin), Error>> {
        Box::pin(async move {
            let current = held.token;
            // A token the source already holds is not an answer, even if the cache has it.
            if let Some(cur) = current {
                if let Ok(Some(t)) = self.cached(Duration::ZERO) {
                    if t.access_token != cur.access_token {
                        return Ok((t, Origin::Cache));
                    }
                }
                self.invalidate();
            }
            let exclude = current.map(|c| &c.access_token);
            self.obtain(Duration::ZERO, exclude, held.usable_until)
                .await
        })
    }
}

/// Shared form of [`CachedClient`] for several sources.
pub type SharedCachedClient = Arc<CachedClient>;
