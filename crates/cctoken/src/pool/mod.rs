//! Token pools and pacing (SPEC §13): [`TokenPool`] holds K tokens of one profile and
//! decides which token each API call goes out on, and when, so that a high-throughput
//! consumer never sees a 429 it could have avoided.
//!
//! ```text
//!   TokenPool ─┬─ slot 0: TokenSource ─► Gated ─► fetcher (CachedClient: key slot 0 = the profile's)
//!              ├─ slot 1: TokenSource ─► Gated ─► fetcher (CachedClient: key slot 1)
//!              │   …                      │ one Gate: one mint at a time, token-endpoint backoff
//!              └─ Pacer: a sliding window per slot at 90 % of api_rate_limit, cooling after 429s
//! ```
//!
//! - Each slot is an ordinary [`TokenSource`] over the profile's fetcher with the slot's own
//!   cache key ([`crate::cache::CachedClient::for_slot`]), so each token is refreshed ahead
//!   on its own jittered instant and shared through the disk and Redis caches: another
//!   process (or CI run) with the same pool finds the same K tokens.
//! - Every slot's fetches pass one [`mint::Gate`]: never two token requests at once, and
//!   the token endpoint's own rate limit backs the whole pool off while the tokens already
//!   held keep serving. The first call mints slot 0; the others are filled in the
//!   background one after another, [`MINT_SPACING`] apart.
//! - [`TokenPool::acquire`] asks the [`pacer::Pacer`] for a slot: it waits for a reserved
//!   instant up to `max_wait` (2 s), else refuses locally ([`PoolError::Refused`], with the
//!   exact wait until the earliest free slot).
//! - [`TokenPool::send`] drives one API call: on a 401 it re-mints that one token and
//!   retries once; on a 429 it cools that token (a second token's 429 within one window
//!   cools the profile) and retries once on another, unless `Retry-After` is over
//!   [`PASS_THROUGH`], which is passed back untouched.
//!
//! Windows are counted per process: two processes sharing a pool's tokens through the
//! cache each pace only their own calls. Put one agent in front of them (its proxy) to
//! pace them together.

pub mod limit;
pub mod mint;
pub mod pacer;
mod send;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use limit::{ApiRateLimit, PoolSize};
pub use send::Reply;

use crate::clock::SharedClock;
use crate::error::Error;
use crate::jitter::SharedJitter;
use crate::source::TokenSource;
use crate::token::{Fetch, Token};
use mint::{Gate, Gated};
use pacer::{Pacer, Plan};

/// How long a call may wait for a free slot before it is refused locally.
pub const MAX_WAIT: Duration = Duration::from_secs(2);
/// A `Retry-After` longer than this is passed through, not retried (as the Genesys SDKs).
pub const PASS_THROUGH: Duration = Duration::from_secs(180);
/// The pause between two mints while the pool fills (drawn uniformly from this range).
pub const MINT_SPACING: (Duration, Duration) =
    (Duration::from_millis(250), Duration::from_millis(500));
/// The pause before filling again after a failed mint, unless the gate says longer.
pub const FILL_RETRY: Duration = Duration::from_secs(5);

/// How a pool paces: the per-token limit (none: only 429s cool tokens) and how long a call
/// may wait for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// `api_rate_limit`.
    pub limit: Option<ApiRateLimit>,
    /// Longest wait before a local refusal ([`MAX_WAIT`] by default).
    pub max_wait: Duration,
}

impl Pacing {
    /// Paced to `limit`, waiting up to [`MAX_WAIT`].
    pub fn new(limit: Option<ApiRateLimit>) -> Self {
        Self {
            limit,
            max_wait: MAX_WAIT,
        }
    }
}

/// Why a pool gave no token for a call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PoolError {
    /// No token has room within `max_wait`: the call was refused locally, so the API never
    /// saw it.
    #[error("rate limited locally: every token of the pool is at its limit; retry in {} s", .retry_after.as_secs_f64().ceil())]
    Refused {
        /// The exact wait until the earliest free slot.
        retry_after: Duration,
    },
    /// No token could be obtained.
    #[error(transparent)]
    Token(#[from] Error),
}

impl PoolError {
    /// The wait to announce in a `Retry-After` header: whole seconds, rounded up.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            PoolError::Refused { retry_after } => {
                Some(retry_after.as_millis().div_ceil(1000) as u64)
            }
            PoolError::Token(e) => e.retry_after.map(|d| d.as_millis().div_ceil(1000) as u64),
        }
    }

    /// As a library [`Error`] (a local refusal is a transient rate limit with its wait).
    pub fn into_error(self) -> Error {
        match self {
            PoolError::Token(e) => e,
            refused @ PoolError::Refused { retry_after } => {
                let mut e = Error::rate_limited(None, refused.to_string());
                e.retry_after = Some(retry_after);
                e
            }
        }
    }
}

/// A token handed out for one call.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The slot it belongs to.
    pub slot: usize,
    /// The token.
    pub token: Token,
}

/// One slot at an instant (for `/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStats {
    /// It holds a usable token.
    pub has_token: bool,
    /// Calls in its window ending now, reservations included.
    pub in_window: u32,
    /// Calls it was given.
    pub calls: u64,
    /// Upstream 429s it received.
    pub throttled: u64,
    /// Cooling down until then.
    pub cooling_until: Option<SystemTime>,
}

/// A pool at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// The per-token limit paced to.
    pub limit: Option<ApiRateLimit>,
    /// Calls per token and window the pacer allows (90 % of the limit).
    pub budget: Option<u32>,
    /// Each slot.
    pub slots: Vec<SlotStats>,
    /// Calls refused locally.
    pub refused: u64,
    /// Calls that waited for a reserved instant.
    pub waited: u64,
    /// Upstream 429s, all tokens.
    pub throttled: u64,
    /// Times the token endpoint rate-limited the pool's mints.
    pub mint_rate_limited: u64,
}

#[derive(Debug, Default)]
struct Fill {
    running: bool,
    retry_at: Option<SystemTime>,
}

struct Inner {
    slots: Vec<TokenSource>,
    pacer: Mutex<Pacer>,
    gate: Arc<Gate>,
    clock: SharedClock,
    jitter: SharedJitter,
    max_wait: Duration,
    fill: Mutex<Fill>,
}

/// K tokens of one profile, paced; see the module docs. `Clone` shares it.
#[derive(Clone)]
pub struct TokenPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPool")
            .field("size", &self.inner.slots.len())
            .field("limit", &self.lock_pacer().limit())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl TokenPool {
    /// A pool with one slot per fetcher (slot `i`'s tokens come from `fetchers[i]`, which
    /// should keep them under the slot's own cache key), paced by `pacing`. Refresh-ahead,
    /// backoff and fill spacing are spread with `jitter`. At least one fetcher, at most
    /// [`PoolSize::MAX`].
    pub fn new(
        fetchers: Vec<Arc<dyn Fetch>>,
        pacing: Pacing,
        clock: SharedClock,
        jitter: SharedJitter,
    ) -> Result<Self, Error> {
        PoolSize::new(fetchers.len() as u64)?;
        let gate = Arc::new(Gate::new(clock.clone(), jitter.clone()));
        let slots: Vec<TokenSource> = fetchers
            .into_iter()
            .map(|f| {
                TokenSource::new(Gated::new(f, gate.clone()), clock.clone())
                    .with_jitter(jitter.clone())
            })
            .collect();
        let pacer = Pacer::new(slots.len(), pacing.limit, pacing.max_wait);
        Ok(Self {
            inner: Arc::new(Inner {
                slots,
                pacer: Mutex::new(pacer),
                gate,
                clock,
                jitter,
                max_wait: pacing.max_wait,
                fill: Mutex::new(Fill::default()),
            }),
        })
    }

    fn lock_pacer(&self) -> MutexGuard<'_, Pacer> {
        lock(&self.inner.pacer)
    }

    /// The number of slots.
    pub fn size(&self) -> usize {
        self.inner.slots.len()
    }

    /// Slot `i`'s token source (slot 0 is the profile's own token).
    pub fn slot(&self, i: usize) -> &TokenSource {
        &self.inner.slots[i]
    }

    /// The clock the pool runs on.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// How long a call may wait for a slot.
    pub fn max_wait(&self) -> Duration {
        self.inner.max_wait
    }

    /// A token for one call, paced: at once, after waiting for a reserved instant (at most
    /// `max_wait`), or refused locally. The first call mints slot 0 and starts filling the
    /// others in the background.
    pub async fn acquire(&self) -> Result<Lease, PoolError> {
        let now = self.inner.clock.now();
        let mut ready: Vec<bool> = self
            .inner
            .slots
            .iter()
            .map(|s| s.peek().is_some())
            .collect();
        if !ready.iter().any(|r| *r) {
            // Nothing held: the caller waits for the first token (slot 0, the profile's).
            self.inner.slots[0].token().await?;
            ready[0] = true;
        }
        let mut now_ms = unix_ms(now.max(self.inner.clock.now()));
        // No room on the tokens held, but a slot still empty (the pool is filling, or
        // backing off was over): mint it now rather than refuse the call.
        let max_wait = u64::try_from(self.inner.max_wait.as_millis()).unwrap_or(u64::MAX);
        let earliest = self.lock_pacer().earliest(now_ms, |i| ready[i]);
        if earliest.is_none_or(|at| at.saturating_sub(now_ms) > max_wait)
            && self.inner.gate.closed_until().is_none()
        {
            if let Some(i) = ready.iter().position(|r| !r) {
                if self.inner.slots[i].token().await.is_ok() {
                    ready[i] = true;
                    now_ms = unix_ms(self.inner.clock.now()).max(now_ms);
                }
            }
        }
        let plan = self.lock_pacer().plan(now_ms, |i| ready[i]);
        self.ensure_filling();
        match plan {
            Plan::Go { slot, at } => {
                if at > now_ms {
                    let until = UNIX_EPOCH + Duration::from_millis(at);
                    self.inner.clock.sleep_until(until).await;
                }
                let token = self.inner.slots[slot].token().await?;
                Ok(Lease { slot, token })
            }
            Plan::Refuse { at } => Err(PoolError::Refused {
                retry_after: Duration::from_millis(at - now_ms),
            }),
            Plan::NoToken => Err(PoolError::Token(Error::transport(
                "the pool's first token is not usable (its lifetime is shorter than the safety margin)",
            ))),
        }
    }

    /// The API answered 429 to `lease`'s token, asking to wait `retry_after`: that token
    /// cools until then; a second token's 429 within one window cools the whole profile.
    /// True when the limit looks shared.
    pub fn throttled(&self, lease: &Lease, retry_after: Option<Duration>) -> bool {
        let now = unix_ms(self.inner.clock.now());
        let cooling = self.lock_pacer().throttled(lease.slot, now, retry_after);
        if cooling.shared {
            tracing::warn!(
                "two tokens of the pool were rate-limited within one window: the limit is \
                 shared, the whole profile cools down"
            );
        }
        cooling.shared
    }

    /// The API answered 401 to `lease`'s token: re-mint that one token.
    pub async fn rejected(&self, lease: &Lease) -> Result<Token, Error> {
        self.inner.slots[lease.slot]
            .invalidate_and_refresh(&lease.token.access_token)
            .await
    }

    /// The pool's counters now.
    pub fn stats(&self) -> PoolStats {
        let now = self.inner.clock.now();
        let now_ms = unix_ms(now);
        let p = self.lock_pacer();
        let slots = (0..self.size())
            .map(|i| {
                let u = p.slot_use(i, now_ms);
                SlotStats {
                    has_token: self.inner.slots[i].peek().is_some(),
                    in_window: u.in_window,
                    calls: u.calls,
                    throttled: u.throttled,
                    cooling_until: u
                        .cooling_until
                        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
                }
            })
            .collect();
        PoolStats {
            limit: p.limit(),
            budget: p.limit().map(|l| l.budget()),
            slots,
            refused: p.refused(),
            waited: p.waited(),
            throttled: p.throttled_total(),
            mint_rate_limited: self.inner.gate.rate_limited(),
        }
    }

    /// Fill the slots without a token, one at a time, in the background — unless a fill
    /// runs, every slot holds a token, or the last fill failed a moment ago. Without a
    /// Tokio runtime nothing is filled (slot 0 still serves).
    fn ensure_filling(&self) {
        if self.inner.slots.iter().all(|s| s.peek().is_some()) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        {
            let mut f = lock(&self.inner.fill);
            let now = self.inner.clock.now();
            if f.running || f.retry_at.is_some_and(|t| t > now) {
                return;
            }
            f.running = true;
        }
        let this = self.clone();
        handle.spawn(async move {
            let retry_at = this.fill().await;
            let mut f = lock(&this.inner.fill);
            f.running = false;
            f.retry_at = retry_at;
        });
    }

    /// Mint every slot that has no usable token, one after another, each [`MINT_SPACING`]
    /// after the one before (the first after the mint that started the fill); on a
    /// failure stop, and say when to try again.
    async fn fill(&self) -> Option<SystemTime> {
        let (lo, hi) = MINT_SPACING;
        for (i, slot) in self.inner.slots.iter().enumerate() {
            if slot.peek().is_some() {
                continue;
            }
            if let Some(until) = self.inner.gate.closed_until() {
                return Some(until);
            }
            let pause = self
                .inner
                .jitter
                .between(lo.as_secs_f64(), hi.as_secs_f64());
            let until = self.inner.clock.now() + Duration::from_secs_f64(pause);
            self.inner.clock.sleep_until(until).await;
            if let Err(e) = slot.token().await {
                let now = self.inner.clock.now();
                let retry = (now + FILL_RETRY).max(self.inner.gate.closed_until().unwrap_or(now));
                tracing::warn!(slot = i, "could not fill the token pool: {e}");
                return Some(retry);
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
