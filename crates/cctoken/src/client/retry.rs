//! Retry policy for transient failures: exponential backoff with full jitter,
//! `Retry-After` honoured when it fits the budget (a longer one fails fast), bounded
//! attempts and total time — and, while the
//! caller still holds a usable token, every retry fitted before that token runs out.
//!
//! Permanent failures are never retried; that decision belongs to [`crate::error::Class`].
//! This module only computes delays, with the caller's [`Jitter`] — the caller sleeps.

use std::time::Duration;

use crate::jitter::Jitter;

/// How hard to try before giving up on a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first one included.
    pub max_attempts: u32,
    /// Backoff base: the first retry waits up to this long.
    pub base: Duration,
    /// Upper bound of one backoff delay.
    pub cap: Duration,
    /// The longest server-requested wait (`Retry-After`, or a rate-limit answer's own
    /// wait) that is waited out; a longer one ends the retries at once.
    pub max_retry_after: Duration,
    /// The total time of a run, a deadline across attempts: give up when the next wait
    /// would pass it, and abandon an attempt still running when it passes.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base: Duration::from_millis(300),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
            max_total: Duration::from_secs(75),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1-based), `elapsed` after the first attempt
    /// started, given an optional server hint. `None` when the policy says stop (attempts
    /// or total time exhausted).
    pub fn delay(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        jitter: &dyn Jitter,
    ) -> Option<Duration> {
        self.delay_within(retry, elapsed, retry_after, None, jitter)
    }

    /// [`RetryPolicy::delay`] for a caller that must retry within `window` (the held
    /// token's usable life left, SPEC §6 refresh-ahead): a backoff that would end past it
    /// is drawn again within it, so the retry still lands in time. The server's
    /// `Retry-After` stays the floor; when it does not fit the window either, `None` — the
    /// caller then gives up on this token and retries by its own schedule.
    pub fn delay_within(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        window: Option<Duration>,
        jitter: &dyn Jitter,
    ) -> Option<Duration> {
        if retry >= self.max_attempts {
            return None;
        }
        let exp = self
            .base
            .saturating_mul(
                1u32.checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.cap);
        let u = jitter.unit();
        let spread = exp.mul_f64(u);
        if retry_after.is_some_and(|ra| ra > self.max_retry_after) {
            // Longer than this policy waits: fail now, with the wait in the error, rather
            // than retry before the server allows it.
            return None;
        }
        let floor = retry_after;
        let mut wait = match floor {
            Some(ra) => ra.max(spread.min(Duration::from_millis(250))),
            None => spread,
        };
        if let Some(left) = window {
            let floor = floor.unwrap_or_default();
            if floor >= left {
                return None;
            }
            if wait >= left {
                wait = floor + (left - floor).mul_f64(u);
            }
        }
        (elapsed + wait <= self.max_total).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jitter::{FixedJitter, SeededJitter};

    #[test]
    fn full_jitter_draws_each_delay_below_the_doubling_bound() {
        let p = RetryPolicy::default();
        let (drawn, replay) = (SeededJitter::new(9), SeededJitter::new(9));
        for (retry, bound_ms) in [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 4800)] {
            let d = p.delay(retry, Duration::ZERO, None, &drawn).unwrap();
            assert_eq!(d, Duration::from_millis(bound_ms).mul_f64(replay.unit()));
        }
        let p = RetryPolicy {
            max_attempts: 10,
            ..p
        };
        let top = FixedJitter(0.999_999);
        assert!(p.delay(6, Duration::ZERO, None, &top).unwrap() < p.cap);
        assert!(p.delay(9, Duration::ZERO, None, &top).unwrap() > p.cap.mul_f64(0.99));
        assert_eq!(
            p.delay(9, Duration::ZERO, None, &FixedJitter(0.0)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn delays_are_bounded_and_stop() {
        let p = RetryPolicy::default();
        let rng = SeededJitter::new(7);
        let mut total = Duration::ZERO;
        let mut n = 0;
        while let Some(d) = p.delay(n + 1, total, None, &rng) {
            assert!(d <= p.cap);
            total += d;
            n += 1;
        }
        assert_eq!(n, p.max_attempts - 1);
        assert!(total <= p.max_total);
    }

    #[test]
    fn retry_after_is_honoured_within_the_budget_and_fails_fast_beyond_it() {
        let p = RetryPolicy::default();
        let rng = SeededJitter::new(1);
        assert_eq!(
            p.delay(1, Duration::ZERO, Some(Duration::from_secs(2)), &rng),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay(1, Duration::ZERO, Some(p.max_retry_after), &rng),
            Some(p.max_retry_after)
        );
        assert_eq!(
            p.delay(1, Duration::ZERO, Some(Duration::from_secs(999)), &rng),
            None
        );
        assert_eq!(
            p.delay(
                1,
                Duration::ZERO,
                Some(p.max_retry_after + Duration::from_millis(1)),
                &rng
            ),
            None
        );
        assert_eq!(
            p.delay(
                1,
                Duration::from_secs(74),
                Some(Duration::from_secs(5)),
                &rng
            ),
            None
        );
        assert_eq!(
            RetryPolicy::none().delay(1, Duration::ZERO, None, &rng),
            None
        );
    }

    #[test]
    fn a_window_pulls_long_waits_inside_it_but_never_before_retry_after() {
        let p = RetryPolicy::default();
        let j = FixedJitter(0.5);
        let ms = Duration::from_millis;
        // Fits: unchanged.
        assert_eq!(
            p.delay_within(2, ms(0), None, Some(ms(400)), &j),
            Some(ms(300))
        );
        // Would end past the window: drawn again inside it.
        assert_eq!(
            p.delay_within(3, ms(0), None, Some(ms(400)), &j),
            Some(ms(200))
        );
        // Retry-After is the floor of the redrawn wait...
        assert_eq!(
            p.delay_within(3, ms(0), Some(ms(100)), Some(ms(200)), &j),
            Some(ms(150))
        );
        // ...and when it does not fit, the caller gives up on the window.
        assert_eq!(
            p.delay_within(1, ms(0), Some(ms(400)), Some(ms(400)), &j),
            None
        );
        assert_eq!(
            p.delay_within(1, ms(0), None, Some(Duration::ZERO), &j),
            None
        );
        // Attempts and the total budget still stop it.
        assert_eq!(p.delay_within(6, ms(0), None, Some(ms(400)), &j), None);
        assert_eq!(
            p.delay_within(1, p.max_total, None, Some(ms(400)), &j),
            None
        );
    }
}
