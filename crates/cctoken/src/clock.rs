//! Injected time: [`Clock`] and its two implementations.
//!
//! Everything in the library that asks "what time is it?" or "wake me at …" asks a `Clock`,
//! so token expiry, refresh-ahead, retry budgets and negative caching can be tested by
//! moving a [`ManualClock`] instead of sleeping. Wall-clock time is used (not `Instant`)
//! because expiry instants are shared with other processes through the on-disk cache.
//! Randomness is injected the same way ([`crate::jitter`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

/// A future that completes when a clock reaches a deadline.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Complete once the clock has reached `deadline` (at once if it has). The default
    /// sleeps on Tokio's timer for the time left, which is right for clocks that follow
    /// real time; a clock that moves by other means wakes its sleepers itself
    /// ([`ManualClock`]). A clock set back meanwhile may wake a sleeper early: callers
    /// look at [`Clock::now`] again when they wake.
    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        let left = deadline.duration_since(self.now()).unwrap_or_default();
        Box::pin(tokio::time::sleep(left))
    }
}

/// The real system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; for tests. Its sleepers wake when it is moved
/// past their deadline — or, for a [`ManualClock::warping`] clock, move it there.
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<watch::Sender<SystemTime>>,
    warp: bool,
}

impl ManualClock {
    /// A clock frozen at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            time: Arc::new(watch::Sender::new(start)),
            warp: false,
        }
    }

    /// A clock at `start` whose sleeps end at once, moving it to their deadline: a retry
    /// loop on it runs through its whole schedule in one go, on exact instants.
    pub fn warping(start: SystemTime) -> Self {
        Self {
            warp: true,
            ..Self::new(start)
        }
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        self.time.send_modify(|t| *t += by);
    }

    /// Set the clock to `to`.
    pub fn set(&self, to: SystemTime) {
        self.time.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.time.borrow()
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        if self.warp {
            self.time.send_if_modified(|now| {
                let later = deadline > *now;
                if later {
                    *now = deadline;
                }
                later
            });
        }
        let mut time = self.time.subscribe();
        Box::pin(async move {
            // An error means every handle of the clock is gone: nothing can move it any
            // more, so there is nothing left to wait for.
            let _ = time.wait_for(|now| *now >= deadline).await;
        })
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

    #[tokio::test]
    async fn manual_sleepers_wake_when_the_clock_passes_their_deadline() {
        let c = ManualClock::new(SystemTime::UNIX_EPOCH);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let sleep = tokio::spawn(c.sleep_until(at));
        c.advance(Duration::from_secs(9));
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(!sleep.is_finished(), "woke before its deadline");
        c.advance(Duration::from_secs(1));
        sleep.await.unwrap();
        // Past deadlines complete at once.
        c.sleep_until(SystemTime::UNIX_EPOCH).await;
    }

    #[tokio::test]
    async fn warping_sleeps_move_the_clock_to_their_deadline() {
        let c = ManualClock::warping(SystemTime::UNIX_EPOCH);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        c.sleep_until(at).await;
        assert_eq!(c.now(), at);
        c.sleep_until(SystemTime::UNIX_EPOCH).await;
        assert_eq!(c.now(), at, "never backwards");
    }
}
