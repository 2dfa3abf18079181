//! Injected time: [`Clock`] and its two implementations.
//!
//! Everything in the library that asks "what time is it?" asks a `Clock`, so token expiry,
//! refresh-ahead and negative caching can be tested by moving a [`ManualClock`] instead of
//! sleeping. Wall-clock time is used (not `Instant`) because expiry instants are shared with
//! other processes through the on-disk cache.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The real system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock frozen at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    /// Set the clock to `to`.
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A shareable clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The default clock handle.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(SystemTime::UNIX_EPOCH);
        assert_eq!(c.now(), SystemTime::UNIX_EPOCH);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(5));
    }
}
