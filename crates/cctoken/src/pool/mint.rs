//! The mint gate: a pool's tokens are obtained one at a time, and the token endpoint's own
//! rate limit is backed off (SPEC §13).
//!
//! Every slot's fetcher is wrapped in [`Gated`], and all of a pool's [`Gated`] share one
//! [`Gate`]. The gate lets one fetch through at a time — the first mint, the fill of the
//! other slots, every refresh ahead and every re-mint after a 401 — so no two of a pool's
//! tokens are ever requested together, whatever their refresh instants. When the token
//! endpoint answers with its rate limit (Genesys: 400 `invalid_request` "rate limit
//! exceeded"; elsewhere a 429), the gate closes for a full-jitter backoff (1 s doubling to
//! 30 s, at least the server's `Retry-After`). In that time a refresh ahead fails at once
//! with a transient rate-limit error and is retried later by its source while the token it
//! replaces still serves, and the pool does not fill its empty slots: it keeps serving from
//! the tokens it holds. Only a caller with no usable token at all is let through.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::SharedClock;
use crate::error::{Error, ErrorKind};
use crate::jitter::SharedJitter;
use crate::token::{BoxFuture, Fetch, Held, Token};

/// First backoff after the token endpoint's rate limit.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest backoff after the token endpoint's rate limit.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct State {
    closed_until: Option<SystemTime>,
    failures: u32,
}

/// One pool's mint gate; see the module docs.
#[derive(Debug)]
pub struct Gate {
    flight: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    clock: SharedClock,
    jitter: SharedJitter,
    rate_limited: AtomicU64,
}

impl Gate {
    /// An open gate on `clock`, spreading its backoff with `jitter`.
    pub fn new(clock: SharedClock, jitter: SharedJitter) -> Self {
        Self {
            flight: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            clock,
            jitter,
            rate_limited: AtomicU64::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Until when the gate is closed after the token endpoint's rate limit, if it is now.
    pub fn closed_until(&self) -> Option<SystemTime> {
        let now = self.clock.now();
        self.state().closed_until.filter(|u| *u > now)
    }

    /// Times the token endpoint answered with its rate limit.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    fn outcome(&self, result: &Result<Token, Error>) {
        let mut s = self.state();
        match result {
            Ok(_) => *s = State::default(),
            Err(e) if e.kind == ErrorKind::RateLimited => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                s.failures = s.failures.saturating_add(1);
                let cap = FIRST_BACKOFF
                    .saturating_mul(1 << (s.failures - 1).min(5))
                    .min(MAX_BACKOFF);
                let wait = cap
                    .mul_f64(self.jitter.unit())
                    .max(e.retry_after.unwrap_or_default())
                    .max(Duration::from_millis(100));
                s.closed_until = Some(self.clock.now() + wait);
                tracing::warn!(
                    wait_ms = wait.as_millis() as u64,
                    "the token endpoint rate-limited the pool; backing off while its tokens serve"
                );
            }
            Err(_) => {}
        }
    }
}

/// A slot's fetcher behind its pool's [`Gate`].
pub struct Gated {
    inner: Arc<dyn Fetch>,
    gate: Arc<Gate>,
}

impl Gated {
    /// `inner` behind `gate`.
    pub fn new(inner: Arc<dyn Fetch>, gate: Arc<Gate>) -> Self {
        Self { inner, gate }
    }
}

impl Fetch for Gated {
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let _one = self.gate.flight.lock().await;
            // A refresh ahead waits the backoff out: the token it replaces still serves.
            // A caller with nothing usable is let through (the cache in front of the
            // server remembers the rate limit for it); the pool's fill checks the gate.
            let closed = held.usable_until.and(self.gate.closed_until());
            if let Some(until) = closed {
                let wait = until
                    .duration_since(self.gate.clock.now())
                    .unwrap_or_default();
                let mut e = Error::rate_limited(
                    None,
                    format!(
                        "the token endpoint rate-limited this client; the pool waits {} ms \
                         before asking again",
                        wait.as_millis()
                    ),
                );
                e.retry_after = Some(wait);
                return Err(e);
            }
            let result = self.inner.fetch(held).await;
            self.gate.outcome(&result);
            result
        })
    }
}
