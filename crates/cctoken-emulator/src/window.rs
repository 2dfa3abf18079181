//! The rolling-window counter behind every emulator rate limit: one per token on
//! `/api/v2/*`, one per client on the token endpoint.
//!
//! A [`SlidingWindow`] is a log of the instants (Unix milliseconds) of the requests it
//! admitted within the last window. A request at `now` is admitted while fewer than N
//! admitted requests lie in `(now - DUR, now]`; otherwise it is refused and told how long
//! until the oldest of them leaves the window, which is exactly when one more would pass.
//! Refused requests are not logged, so a client that keeps knocking is not starved.
//!
//! Each window has its own small mutex, held for a few comparisons: requests with different
//! tokens never wait for each other, and there is no lock shared by every request. The log
//! holds at most N instants and drops the stale ones on every hit; a token's window goes away
//! with the token when the store sweeps it after expiry. Time is a parameter (the caller reads
//! the injected clock), so this module never looks at a clock itself.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::config::RateLimit;

/// What a window says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Admitted; `in_window` admitted requests (this one included) now lie in the window.
    /// `record` is set when no earlier window of this counter held as many.
    Admitted {
        /// Admitted requests in the window ending now.
        in_window: u32,
        /// This is the most this counter has ever held in one window.
        record: bool,
    },
    /// Refused: the limit is reached until the oldest admitted request leaves the window.
    Refused {
        /// Milliseconds until one more request would be admitted (at least 1).
        retry_after_ms: u64,
        /// Admitted requests in the window ending now (the limit's N).
        in_window: u32,
    },
}

/// `Retry-After` for a refusal: whole seconds, rounded up, so waiting that long is always
/// enough.
pub fn retry_after_secs(retry_after_ms: u64) -> u64 {
    retry_after_ms.div_ceil(1000).max(1)
}

#[derive(Debug, Default)]
struct Log {
    admitted: VecDeque<u64>,
    most: u32,
}

/// A rolling-window request counter (see the module docs).
#[derive(Debug, Default)]
pub struct SlidingWindow(Mutex<Log>);

impl SlidingWindow {
    /// Count a request at `now_ms` (Unix milliseconds) against `limit`.
    pub fn hit(&self, now_ms: u64, limit: RateLimit) -> Verdict {
        let window = limit.window_ms();
        let max = limit.max() as usize;
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // An instant leaves the window once `window` has passed since it: at t + window the
        // window is (t, t + window] and no longer holds t.
        while log
            .admitted
            .front()
            .is_some_and(|&t| t.saturating_add(window) <= now_ms)
        {
            log.admitted.pop_front();
        }
        if log.admitted.len() >= max {
            // max >= 1, so there is an oldest instant.
            let oldest = log.admitted.front().copied().unwrap_or(now_ms);
            return Verdict::Refused {
                retry_after_ms: oldest.saturating_add(window).saturating_sub(now_ms).max(1),
                in_window: limit.max(),
            };
        }
        // Keep the log sorted even if the system clock steps back: such a request counts as
        // made at the newest instant already logged, which only ever errs towards refusing.
        let at = log.admitted.back().map_or(now_ms, |&last| last.max(now_ms));
        log.admitted.push_back(at);
        // len <= max <= u32::MAX.
        let in_window = u32::try_from(log.admitted.len()).unwrap_or(u32::MAX);
        let record = in_window > log.most;
        if record {
            log.most = in_window;
        }
        Verdict::Admitted { in_window, record }
    }

    /// The most admitted requests this counter ever held in one window.
    #[cfg(test)]
    fn most(&self) -> u32 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).most
    }

    /// How many instants the log holds (for the memory bound's test).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admitted
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_123;

    fn limit(s: &str) -> RateLimit {
        s.parse().unwrap()
    }

    fn admitted(v: Verdict) -> u32 {
        match v {
            Verdict::Admitted { in_window, .. } => in_window,
            Verdict::Refused { .. } => panic!("refused: {v:?}"),
        }
    }

    fn refused(v: Verdict) -> u64 {
        match v {
            Verdict::Refused { retry_after_ms, .. } => retry_after_ms,
            Verdict::Admitted { .. } => panic!("admitted: {v:?}"),
        }
    }

    #[test]
    fn n_pass_the_next_is_refused_until_the_oldest_leaves() {
        let l = limit("3/10s");
        let w = SlidingWindow::default();
        // Three requests spread over the window pass.
        assert_eq!(admitted(w.hit(T0, l)), 1);
        assert_eq!(admitted(w.hit(T0 + 4_000, l)), 2);
        assert_eq!(admitted(w.hit(T0 + 9_000, l)), 3);
        // The fourth, still within 10 s of the first, is refused until the first leaves.
        assert_eq!(refused(w.hit(T0 + 9_500, l)), 500);
        assert_eq!(refused(w.hit(T0 + 9_999, l)), 1);
        // Exactly 10 s after the first, it has left: one more passes, and only one.
        assert_eq!(admitted(w.hit(T0 + 10_000, l)), 3);
        assert_eq!(refused(w.hit(T0 + 10_000, l)), 4_000);
        // Refused requests were not counted: the second leaves at T0 + 14 s as planned.
        assert_eq!(admitted(w.hit(T0 + 14_000, l)), 3);
        assert_eq!(w.most(), 3);
    }

    #[test]
    fn a_burst_at_one_instant_and_a_quiet_window_after_it() {
        let l = limit("300/60s");
        let w = SlidingWindow::default();
        for i in 1..=300 {
            assert_eq!(admitted(w.hit(T0, l)), i);
        }
        assert_eq!(refused(w.hit(T0, l)), 60_000);
        assert_eq!(retry_after_secs(60_000), 60);
        assert_eq!(refused(w.hit(T0 + 59_999, l)), 1);
        // After a full window everything has left at once.
        assert_eq!(admitted(w.hit(T0 + 60_000, l)), 1);
        assert_eq!(w.held(), 1);
        assert_eq!(w.most(), 300);
    }

    #[test]
    fn record_marks_only_new_highs() {
        let l = limit("2/1s");
        let w = SlidingWindow::default();
        assert_eq!(
            w.hit(T0, l),
            Verdict::Admitted {
                in_window: 1,
                record: true
            }
        );
        assert_eq!(
            w.hit(T0 + 1, l),
            Verdict::Admitted {
                in_window: 2,
                record: true
            }
        );
        assert_eq!(
            w.hit(T0 + 1_000, l),
            Verdict::Admitted {
                in_window: 2,
                record: false
            }
        );
        assert_eq!(
            w.hit(T0 + 5_000, l),
            Verdict::Admitted {
                in_window: 1,
                record: false
            }
        );
    }

    #[test]
    fn memory_is_bounded_by_n() {
        let l = limit("5/60s");
        let w = SlidingWindow::default();
        for i in 0..10_000 {
            let _ = w.hit(T0 + i, l);
        }
        assert_eq!(w.held(), 5);
    }

    #[test]
    fn a_clock_stepping_back_never_admits_more() {
        let l = limit("2/10s");
        let w = SlidingWindow::default();
        assert_eq!(admitted(w.hit(T0 + 5_000, l)), 1);
        assert_eq!(admitted(w.hit(T0, l)), 2);
        assert!(matches!(w.hit(T0 + 1, l), Verdict::Refused { .. }));
        // Both count from T0 + 5 s.
        assert_eq!(refused(w.hit(T0 + 14_000, l)), 1_000);
        assert_eq!(admitted(w.hit(T0 + 15_000, l)), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_000), 1);
        assert_eq!(retry_after_secs(1_001), 2);
        assert_eq!(retry_after_secs(59_999), 60);
    }
}
