//! Token caches: the per-user on-disk cache ([`DiskCache`]) and the glue that puts it in
//! front of a [`Client`] ([`CachedClient`]).
//!
//! The cache makes 200 parallel `cctoken get` processes send one token request: a fresh
//! entry is served without locks or network; otherwise one process takes the per-key lock,
//! re-checks, fetches and writes while the others wait and then read its entry. Permanent
//! failures are remembered for a short while (negative cache) so a wrong secret does not
//! turn into 200 failing requests.

mod crypto;
pub mod disk;
pub mod key;

use std::sync::Arc;
use std::time::Duration;

pub use disk::{DiskCache, Lookup};
pub use key::CacheKey;

use crate::client::Client;
use crate::clock::SharedClock;
use crate::error::{Class, Error, ErrorKind};
use crate::source::{safety_margin, BoxFuture, Fetch};
use crate::token::Token;

/// Default time a permanent failure is remembered.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// Longest wait for another process's token request.
pub const LOCK_WAIT: Duration = Duration::from_secs(150);

/// Longest remembered rate limit a process waits out before giving up (exit 4).
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
/// How long a rate-limit answer without `Retry-After` is remembered.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the cache.
    Cache,
    /// Requested from the server by this process.
    Server,
}

/// A [`Client`] with the on-disk cache in front of it.
#[derive(Debug, Clone)]
pub struct CachedClient {
    client: Client,
    cache: DiskCache,
    key: CacheKey,
    clock: SharedClock,
    negative_ttl: Duration,
}

impl CachedClient {
    /// Put `cache` in front of `client`.
    pub fn new(client: Client, cache: DiskCache, clock: SharedClock) -> Self {
        let key = CacheKey::for_config(client.config());
        Self {
            client,
            cache,
            key,
            clock,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
        }
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

    /// The cache key.
    pub fn key(&self) -> &CacheKey {
        &self.key
    }

    fn fresh(&self, token: &Token, min_ttl: Duration) -> bool {
        token.remaining(self.clock.now()) > safety_margin(token.expires_in).max(min_ttl)
    }

    /// The cached token if it has the margin (and `min_ttl`) left; a remembered permanent
    /// failure as an error; `None` otherwise. Synchronous, no network: the `get` fast path.
    pub fn cached(&self, min_ttl: Duration) -> Result<Option<Token>, Error> {
        match self.cache.load(
            &self.key,
            &self.client.config().client_secret,
            self.clock.now(),
        ) {
            Lookup::Token(t) if self.fresh(&t, min_ttl) => Ok(Some(t)),
            Lookup::Negative(e) => Err(e),
            _ => Ok(None),
        }
    }

    /// A fresh token: from the cache, or fetched under the cross-process lock (waiters
    /// re-check after acquiring it, so only one process asks the server).
    pub async fn token(&self, min_ttl: Duration) -> Result<(Token, Origin), Error> {
        if let Some(t) = self.cached(min_ttl)? {
            return Ok((t, Origin::Cache));
        }
        let cache = self.cache.clone();
        let key = self.key.clone();
        let _lock = tokio::task::spawn_blocking(move || cache.lock(&key, LOCK_WAIT))
            .await
            .map_err(|e| Error::transport(format!("cache lock task failed: {e}")))??;
        let previous = match self.cache.load(
            &self.key,
            &self.client.config().client_secret,
            self.clock.now(),
        ) {
            Lookup::Token(t) if self.fresh(&t, min_ttl) => return Ok((t, Origin::Cache)),
            Lookup::Negative(e) => return Err(e),
            Lookup::Token(t) => Some(t),
            Lookup::Miss => None,
        };
        let secret = &self.client.config().client_secret;
        if let Some(until) = self.cache.rate_limited_until(&self.key, self.clock.now()) {
            let wait = until.duration_since(self.clock.now()).unwrap_or_default();
            if wait > MAX_RATE_LIMIT_WAIT {
                return Err(Error {
                    kind: ErrorKind::RateLimited,
                    ..Error::transport(format!(
                        "the server rate-limited this client; retry in {} s",
                        wait.as_secs() + 1
                    ))
                });
            }
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "waiting out a remembered rate limit"
            );
            tokio::time::sleep(wait).await;
        }
        match self.client.fetch(previous.as_ref()).await {
            Ok(t) => {
                if let Err(e) = self.cache.store_token(&self.key, secret, &t) {
                    tracing::warn!("could not write the token cache: {e}");
                }
                Ok((t, Origin::Server))
            }
            Err(e) => {
                if e.kind == ErrorKind::RateLimited {
                    let until = self.clock.now() + e.retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
                    if let Err(w) = self.cache.store_rate_limit(&self.key, until) {
                        tracing::warn!("could not remember the rate limit: {w}");
                    }
                }
                if e.class == Class::Permanent && !self.negative_ttl.is_zero() {
                    let until = self.clock.now() + self.negative_ttl;
                    if let Err(w) = self.cache.store_negative(&self.key, &e, until) {
                        tracing::warn!("could not write the negative cache entry: {w}");
                    }
                }
                Err(e)
            }
        }
    }

    /// Drop the cached entry (the API rejected its token).
    pub fn invalidate(&self) {
        self.cache.remove(&self.key);
    }
}

impl Fetch for CachedClient {
    fn fetch<'a>(&'a self, current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            // A token the source already holds is not an answer, even if the cache has it.
            if let Some(cur) = current {
                if let Ok(Some(t)) = self.cached(Duration::ZERO) {
                    if t.access_token != cur.access_token {
                        return Ok(t);
                    }
                }
                self.invalidate();
            }
            self.token(Duration::ZERO).await.map(|(t, _)| t)
        })
    }
}

/// Shared form of [`CachedClient`] for several sources.
pub type SharedCachedClient = Arc<CachedClient>;
