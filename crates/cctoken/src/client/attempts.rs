//! The retry loop of a [`Client`]: run one exchange (a token request, a discovery or
//! configuration lookup) again after a transient failure, as its
//! [`RetryPolicy`](super::RetryPolicy) says, within the policy's total budget and, when
//! the caller still holds a usable token, before that token runs out.
//!
//! The delays are the policy's, which failures are transient is the error's
//! ([`Error::is_transient`]); this module only sleeps, counts attempts, abandons an
//! attempt the budget overtakes, and says in the final error why it stopped. Time comes
//! from the client's injected clock, the backoff's spread from its injected jitter.

use std::time::{Duration, SystemTime};

use super::Client;
use crate::error::Error;

/// How often a running attempt looks at the clock for the end of the retry budget.
const BUDGET_TICK: Duration = Duration::from_millis(250);

/// The hint of an exchange the budget overtook: the server was reached (the generic
/// transport hint says it could not be), it did not finish answering.
pub(super) const STALLED_HINT: &str = "The server was reached but did not finish its answer \
     in time: it is overloaded, or something between (a proxy, a load balancer) holds the \
     connection open. Retry later; `--trace` shows how far the answer got.";

impl Client {
    /// Run `op` until it succeeds, fails for good, or the retry policy says stop; with a
    /// `deadline`, every retry is fitted before it
    /// ([`RetryPolicy::delay_within`](super::RetryPolicy::delay_within)). The policy's
    /// total ([`RetryPolicy::max_total`](super::RetryPolicy::max_total)) is a deadline
    /// across attempts: an attempt still running when it passes (a server that drips its
    /// answer) is abandoned, so no run outlasts it by a whole HTTP timeout. Time (the
    /// budget, the window and the sleeps) comes from the injected clock, the backoff's
    /// spread from the injected jitter.
    pub(super) async fn with_retries<T, F, Fut>(
        &self,
        deadline: Option<SystemTime>,
        mut op: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let start = self.clock.now();
        let budget_end = start + self.retry.max_total;
        let mut retry = 0;
        loop {
            let outcome = tokio::select! {
                biased;
                r = op() => r,
                () = self.budget_passed(budget_end) => {
                    return Err(Error::transport(format!(
                        "no complete answer within the retry budget of {} ({} attempts); \
                         the server stalls or sends its answer too slowly",
                        humantime::format_duration(self.retry.max_total),
                        retry + 1
                    ))
                    .with_hint(STALLED_HINT));
                }
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(mut e) if e.is_transient() => {
                    retry += 1;
                    let now = self.clock.now();
                    let elapsed = now.duration_since(start).unwrap_or_default();
                    let window = deadline.map(|d| d.duration_since(now).unwrap_or_default());
                    let delay = self.retry.delay_within(
                        retry,
                        elapsed,
                        e.retry_after,
                        window,
                        &*self.jitter,
                    );
                    let Some(delay) = delay else {
                        if let Some(ra) =
                            e.retry_after.filter(|ra| *ra > self.retry.max_retry_after)
                        {
                            e.message = format!(
                                "{} (the server asks to wait {} s, longer than cctoken waits)",
                                e.message,
                                ra.as_secs()
                            );
                        } else if retry > 1 {
                            e.message = format!("{} (gave up after {retry} attempts)", e.message);
                        }
                        return Err(e);
                    };
                    tracing::warn!(
                        kind = %e.kind,
                        attempt = retry,
                        delay_ms = delay.as_millis() as u64,
                        "transient failure, retrying: {}",
                        e.message
                    );
                    self.clock.sleep_until(now + delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Completes once the injected clock reads `end` or later. It looks at the clock at
    /// least every [`BUDGET_TICK`] instead of sleeping on it: a sleep on a warping test
    /// clock would move that clock to `end` while a real request is still on the wire, and
    /// a clock moved by a test is noticed within a tick.
    async fn budget_passed(&self, end: SystemTime) {
        loop {
            let left = end.duration_since(self.clock.now()).unwrap_or_default();
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(BUDGET_TICK)).await;
        }
    }
}
