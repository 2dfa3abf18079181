//! Retry policy for transient failures: exponential backoff with full jitter,
//! `Retry-After` honoured but capped, bounded attempts and total time.
//!
//! Permanent failures are never retried; that decision belongs to [`crate::error::Class`].
//! This module only computes delays — the caller sleeps.

use std::time::Duration;

use rand::Rng;

/// How hard to try before giving up on a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first one included.
    pub max_attempts: u32,
    /// Backoff base: the first retry waits up to this long.
    pub base: Duration,
    /// Upper bound of one backoff delay.
    pub cap: Duration,
    /// Upper bound of a server-requested wait (`Retry-After`).
    pub max_retry_after: Duration,
    /// Give up when the next wait would pass this much total time.
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

    /// The wait before retry number `retry` (1-based), given an optional server hint.
    /// `None` when the policy says stop (attempts or total time exhausted).
    pub fn delay(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
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
        let jitter = Duration::from_secs_f64(rng.gen_range(0.0..=exp.as_secs_f64()));
        let wait = match retry_after {
            Some(ra) => ra
                .min(self.max_retry_after)
                .max(jitter.min(Duration::from_millis(250))),
            None => jitter,
        };
        (elapsed + wait <= self.max_total).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delays_are_bounded_and_stop() {
        let p = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut total = Duration::ZERO;
        let mut n = 0;
        while let Some(d) = p.delay(n + 1, total, None, &mut rng) {
            assert!(d <= p.cap);
            total += d;
            n += 1;
        }
        assert_eq!(n, p.max_attempts - 1);
        assert!(total <= p.max_total);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(
            p.delay(1, Duration::ZERO, Some(Duration::from_secs(2)), &mut rng),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay(1, Duration::ZERO, Some(Duration::from_secs(999)), &mut rng),
            Some(p.max_retry_after)
        );
        assert_eq!(
            p.delay(
                1,
                Duration::from_secs(74),
                Some(Duration::from_secs(5)),
                &mut rng
            ),
            None
        );
        assert_eq!(
            RetryPolicy::none().delay(1, Duration::ZERO, None, &mut rng),
            None
        );
    }
}
