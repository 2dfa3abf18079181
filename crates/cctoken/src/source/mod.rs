//! [`TokenSource`]: a fresh token for every caller, for as long as the program runs.
//!
//! This is what replaces the "long-lived token" people ask for. A `TokenSource` is cheap
//! to clone and share; [`TokenSource::token`] returns a token that stays valid for at least
//! the safety margin (and `min_ttl` when asked):
//!
//! - reads of a fresh token take no lock (an `arc-swap` load and a clock read);
//! - when a new token is needed, concurrent callers share one request (single flight);
//! - after 75 % (±5 % jitter) of the lifetime one background refresh starts; if it fails
//!   while the current token is still good, callers keep getting the current token and the
//!   refresh is retried with backoff;
//! - time comes from an injected [`Clock`](crate::clock::Clock) and the jitter from an
//!   injected [`Jitter`](crate::jitter::Jitter), so all of this is tested without sleeping
//!   and with known refresh instants.
//!
//! Callers that cannot await on their hot path (the Python package's `token()`) use
//! [`TokenSource::token_now`], the same lock-free read with the same refresh-ahead trigger,
//! and [`TokenSource::generation`] to tell when the token changed. After an API answered
//! 401, [`TokenSource::invalidate`] drops the rejected token without fetching; the next
//! caller fetches (once), and the caches behind it do not answer with the rejected token.
//!
//! It does not persist tokens; a [`Fetch`] implementation that consults a cache does.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;

// Re-exported: they live in `token`, below both the fetchers and the source.
pub use crate::token::{safety_margin, BoxFuture, Fetch, Held, Origin};

use crate::clock::SharedClock;
use crate::error::Error;
use crate::jitter::{self, SharedJitter};
use crate::secret::AccessToken;
use crate::token::Token;

/// Fraction of the lifetime after which a background refresh starts.
pub const REFRESH_AHEAD: f64 = 0.75;
/// Jitter around [`REFRESH_AHEAD`], as a fraction of the lifetime.
pub const REFRESH_JITTER: f64 = 0.05;

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One thread's copy of one source's current token.
struct LocalCopy {
    owner: Weak<Inner>,
    generation: u64,
    token: Token,
}

thread_local! {
    static LOCAL: RefCell<Vec<LocalCopy>> = const { RefCell::new(Vec::new()) };
}

struct Inner {
    fetcher: Arc<dyn Fetch>,
    clock: SharedClock,
    jitter: SharedJitter,
    min_ttl: Duration,
    current: ArcSwapOption<Token>,
    /// Unix ms after which a background refresh should start.
    refresh_at_ms: AtomicU64,
    refreshing: AtomicBool,
    failures: AtomicU32,
    /// Bumped whenever `current` changes; per-thread copies compare against it.
    generation: AtomicU64,
    /// Where `current` came from ([`origin_code`]), set before `current` is.
    origin: AtomicU8,
    flight: tokio::sync::Mutex<()>,
    /// Bumped when the token or the next refresh instant changes ([`TokenSource::watch`]).
    changes: tokio::sync::watch::Sender<()>,
}

/// A cached, single-flight, refresh-ahead source of access tokens. `Clone` shares it.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("min_ttl", &self.inner.min_ttl)
            .field("has_token", &self.inner.current.load().is_some())
            .finish()
    }
}

impl TokenSource {
    /// A source over `fetcher` (usually a [`crate::client::Client`]).
    pub fn new(fetcher: impl Fetch, clock: SharedClock) -> Self {
        Self::from_arc(Arc::new(fetcher), clock)
    }

    /// A source over a shared fetcher.
    pub fn from_arc(fetcher: Arc<dyn Fetch>, clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                fetcher,
                clock,
                jitter: jitter::system(),
                min_ttl: Duration::ZERO,
                current: ArcSwapOption::empty(),
                refresh_at_ms: AtomicU64::new(u64::MAX),
                refreshing: AtomicBool::new(false),
                failures: AtomicU32::new(0),
                generation: AtomicU64::new(0),
                origin: AtomicU8::new(origin_code(Origin::Server)),
                flight: tokio::sync::Mutex::new(()),
                changes: tokio::sync::watch::Sender::new(()),
            }),
        }
    }

    /// Require every returned token to stay valid at least this long (beyond the margin
    /// still applies). Must be called before the source is shared.
    pub fn with_min_ttl(mut self, min_ttl: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.min_ttl = min_ttl;
        }
        self
    }

    /// Spread refresh-ahead and its retries with `jitter` instead of the thread-local
    /// generator (tests). Must be called before the source is shared.
    pub fn with_jitter(mut self, jitter: SharedJitter) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.jitter = jitter;
        }
        self
    }

    /// The clock the source runs on.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Changes whenever the token or [`TokenSource::refresh_due`] changes: a new token
    /// (refreshed, fetched for a caller, seeded, replacing a rejected one) or a failed
    /// background refresh rescheduled. A task that times refreshes itself (the agent) waits
    /// on it to re-arm its timer.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<()> {
        self.inner.changes.subscribe()
    }

    /// Seed the source with a token obtained elsewhere (e.g. from a cache).
    pub fn seed(&self, token: Token) {
        self.store(token, Origin::Cache);
    }

    fn required(&self, token: &Token) -> Duration {
        safety_margin(token.expires_in).max(self.inner.min_ttl)
    }

    fn usable(&self, token: &Token, now: SystemTime) -> bool {
        token.remaining(now) > self.required(token)
    }

    /// The instant `token` stops being usable (the margin, or `min_ttl`, before expiry).
    fn usable_until(&self, token: &Token) -> SystemTime {
        token
            .expires_at()
            .checked_sub(self.required(token))
            .unwrap_or(UNIX_EPOCH)
    }

    /// The current token if it is usable now, without any waiting or I/O.
    pub fn peek(&self) -> Option<Token> {
        let guard = self.inner.current.load();
        let token = guard.as_deref()?;
        self.usable(token, self.inner.clock.now())
            .then(|| token.clone())
    }

    /// A token with at least the safety margin (and `min_ttl`) left.
    pub async fn token(&self) -> Result<Token, Error> {
        let now = self.inner.clock.now();
        if let Some(token) = self.fast(now) {
            if to_ms(now) >= self.inner.refresh_at_ms.load(Ordering::Relaxed) {
                self.spawn_refresh();
            }
            return Ok(token);
        }
        self.refresh_blocking().await
    }

    /// The lock-free read: this thread's own copy of the current token, re-copied when
    /// the generation moves. Clones then touch only thread-private reference counts, so
    /// threads do not contend on a shared cache line.
    fn fast(&self, now: SystemTime) -> Option<Token> {
        let generation = self.inner.generation.load(Ordering::Acquire);
        let me = Arc::as_ptr(&self.inner);
        LOCAL
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                if let Some(c) = local.iter().find(|c| c.owner.as_ptr() == me) {
                    if c.generation == generation {
                        return self.usable(&c.token, now).then(|| c.token.clone());
                    }
                }
                let guard = self.inner.current.load();
                let token = guard.as_deref()?;
                if !self.usable(token, now) {
                    return None;
                }
                local.retain(|c| c.owner.strong_count() > 0 && c.owner.as_ptr() != me);
                let copy = token.deep_clone();
                local.push(LocalCopy {
                    owner: Arc::downgrade(&self.inner),
                    generation,
                    token: copy.clone(),
                });
                Some(copy)
            })
            .ok()
            .flatten()
    }

    /// Only the access token (the common case for attaching a header).
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        Ok(self.token().await?.access_token)
    }

    /// Force a new token now (e.g. after the API answered 401 to the current one); shares
    /// a request that is already in flight. The rejected token is handed to the fetcher, so
    /// a cache behind it drops that token instead of serving it again.
    pub async fn invalidate_and_refresh(&self, rejected: &AccessToken) -> Result<Token, Error> {
        let _g = self.inner.flight.lock().await;
        let cur = self.inner.current.load_full();
        if let Some(t) = cur.as_deref() {
            if &t.access_token != rejected && self.usable(t, self.inner.clock.now()) {
                return Ok(t.clone()); // already replaced by a concurrent caller
            }
        }
        self.fetch_and_store(cur.as_deref()).await
    }

    /// A new token from the fetcher (handed the token it replaces) made current. Call it
    /// holding the flight lock.
    async fn fetch_and_store(&self, replaced: Option<&Token>) -> Result<Token, Error> {
        let (token, origin) = self
            .inner
            .fetcher
            .fetch_traced(Held::stale(replaced))
            .await?;
        self.store(token.clone(), origin);
        Ok(token)
    }

    async fn refresh_blocking(&self) -> Result<Token, Error> {
        let _g = self.inner.flight.lock().await;
        // Someone else may have refreshed while we waited.
        let prev = self.inner.current.load_full();
        if let Some(t) = prev.as_deref() {
            if self.usable(t, self.inner.clock.now()) {
                return Ok(t.clone());
            }
        }
        let (token, origin) = self
            .inner
            .fetcher
            .fetch_traced(Held::stale(prev.as_deref()))
            .await?;
        if !self.usable(&token, self.inner.clock.now()) {
            tracing::warn!(
                lifetime_s = token.expires_in.as_secs(),
                "the new token's lifetime is shorter than the safety margin or min_ttl"
            );
        }
        self.store(token.clone(), origin);
        Ok(token)
    }

    fn store(&self, token: Token, origin: Origin) {
        let lifetime = token.expires_in.as_secs_f64();
        let jitter = self.inner.jitter.between(-REFRESH_JITTER, REFRESH_JITTER);
        let ahead = Duration::from_secs_f64((lifetime * (REFRESH_AHEAD + jitter)).max(0.0));
        self.inner
            .refresh_at_ms
            .store(to_ms(token.issued_at + ahead), Ordering::Relaxed);
        self.inner.failures.store(0, Ordering::Relaxed);
        self.inner
            .origin
            .store(origin_code(origin), Ordering::Release);
        self.inner.current.store(Some(Arc::new(token)));
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.changes.send_replace(());
    }

    /// Start one background refresh unless one is running. Without a Tokio runtime the
    /// refresh happens on the next call that needs it.
    fn spawn_refresh(&self) {
        if self.inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.inner.refreshing.store(false, Ordering::Release);
            return;
        };
        let this = self.clone();
        handle.spawn(async move {
            this.background_refresh().await;
            this.inner.refreshing.store(false, Ordering::Release);
            // Again once the next refresh can start: a watcher woken by the outcome may
            // have found this one still running.
            this.inner.changes.send_replace(());
        });
    }

    /// One refresh-ahead attempt; on failure, schedule the next with backoff.
    ///
    /// Both the fetcher's retries and the next attempt are fitted before the current token
    /// stops being usable, so one still lands while it serves; a server's `Retry-After` is
    /// never cut short, though.
    pub async fn background_refresh(&self) {
        let _g = self.inner.flight.lock().await;
        let prev = self.inner.current.load_full();
        let now = self.inner.clock.now();
        if to_ms(now) < self.inner.refresh_at_ms.load(Ordering::Relaxed) {
            return; // refreshed by someone else meanwhile
        }
        let held = match prev.as_deref() {
            Some(t) if self.usable_until(t) > now => Held::usable(t, self.usable_until(t)),
            t => Held::stale(t),
        };
        let deadline = held.usable_until;
        match self.inner.fetcher.fetch_traced(held).await {
            Ok((token, origin)) => self.store(token, origin),
            Err(e) => {
                let n = self.inner.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let now = self.inner.clock.now();
                let remaining = prev
                    .as_deref()
                    .map(|t| t.remaining(now))
                    .unwrap_or_default();
                let backoff = Duration::from_secs(1u64 << n.min(8)).min(remaining / 4);
                let backoff = backoff.max(Duration::from_millis(500));
                let mut wait = backoff.mul_f64(self.inner.jitter.between(0.5, 1.0));
                let left = deadline
                    .and_then(|d| d.duration_since(now).ok())
                    .unwrap_or_default();
                if wait >= left {
                    wait = left.mul_f64(self.inner.jitter.between(0.5, 1.0));
                }
                if let Some(ra) = e.retry_after {
                    wait = wait.max(ra);
                }
                self.inner
                    .refresh_at_ms
                    .store(to_ms(now + wait), Ordering::Relaxed);
                self.inner.changes.send_replace(());
                tracing::warn!(
                    attempt = n,
                    retry_in_ms = wait.as_millis() as u64,
                    "background token refresh failed; still serving the current token: {}",
                    e.message
                );
            }
        }
    }

    /// When the next background refresh is due (refresh-ahead, or the retry after a failed
    /// one); `None` before the first token.
    pub fn refresh_due(&self) -> Option<SystemTime> {
        match self.inner.refresh_at_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }

    /// Consecutive failed background refreshes (for metrics).
    pub fn consecutive_failures(&self) -> u32 {
        self.inner.failures.load(Ordering::Relaxed)
    }
}

/// [`Origin`] as stored in an atomic.
fn origin_code(origin: Origin) -> u8 {
    match origin {
        Origin::Server => 0,
        Origin::Cache => 1,
        Origin::Agent => 2,
    }
}

mod caller;

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
