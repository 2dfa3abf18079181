//! Injected randomness: [`Jitter`] and its two implementations.
//!
//! Refresh-ahead (±5 % of a token's lifetime) and retry backoff (full jitter) spread their
//! timing with random numbers, so that many processes holding the same kind of token do not
//! act in lock step. Everything that jitters asks a `Jitter` instead of
//! `rand::thread_rng()`, so tests pin the numbers ([`SeededJitter`], [`FixedJitter`]) and assert the exact
//! schedule, the way a [`ManualClock`](crate::clock::ManualClock) pins time.
//!
//! Randomness that must be unpredictable — nonces, lease ids, temporary file names — does
//! not come from here.

use std::fmt;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A source of uniformly distributed numbers for spreading timings.
pub trait Jitter: Send + Sync + fmt::Debug {
    /// A number drawn uniformly from `[0, 1)`.
    fn unit(&self) -> f64;

    /// A number drawn uniformly from `[low, high)`.
    fn between(&self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// Numbers from the thread-local generator: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadJitter;

impl Jitter for ThreadJitter {
    fn unit(&self) -> f64 {
        rand::thread_rng().gen()
    }
}

/// The same sequence for the same seed; for tests.
#[derive(Debug)]
pub struct SeededJitter(Mutex<StdRng>);

impl SeededJitter {
    /// A generator seeded with `seed`. Two generators with one seed give one sequence, so
    /// a test can replay the numbers a component drew.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Jitter for SeededJitter {
    fn unit(&self) -> f64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).gen()
    }
}

/// Always the same number (clamped into `[0, 1)`); for tests that need one known point of
/// a range, such as its ends.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn unit(&self) -> f64 {
        self.0.clamp(0.0, 1.0 - f64::EPSILON)
    }
}

/// A shareable jitter handle.
pub type SharedJitter = Arc<dyn Jitter>;

/// The default jitter handle.
pub fn system() -> SharedJitter {
    Arc::new(ThreadJitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sequences_repeat_and_stay_in_range() {
        let (a, b) = (SeededJitter::new(3), SeededJitter::new(3));
        for _ in 0..100 {
            let u = a.unit();
            assert_eq!(u, b.unit());
            assert!((0.0..1.0).contains(&u));
            let v = ThreadJitter.between(-0.05, 0.05);
            assert!((-0.05..0.05).contains(&v));
        }
        assert_ne!(SeededJitter::new(3).unit(), SeededJitter::new(4).unit());
    }
}
