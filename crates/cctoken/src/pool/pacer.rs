//! The pacer: which token a call goes out on, and when — or that it does not go out at
//! all (SPEC §13).
//!
//! Every token has a sliding-window log: the instants (Unix milliseconds) of the calls it
//! was given in the last window, at most the limit's [`budget`](ApiRateLimit::budget) (90 %
//! of it). A call is planned on the token that can take it soonest — among those that can
//! take it now, the least used in its window — and gets that token's next free instant.
//! An instant in the future is a reservation: the call waits for it, and the next caller
//! sees the slot taken, so waiting calls never double-book. A token cooling down after an
//! upstream 429 cannot take calls before its `Retry-After`; once two tokens have answered 429
//! within one window, the limit is taken to be shared and the whole profile cools. When no
//! token can take the call within `max_wait`, it is refused, and told the earliest instant
//! one could.
//!
//! Instants are kept in non-decreasing order per token: a call is never planned before the
//! last one reserved on its token. That can only err towards waiting, and it makes the
//! window check one comparison (the call is allowed when the instant `budget` calls back
//! has left the window). The pacer is plain data driven by the caller's clock readings; it
//! sleeps, mints and sends nothing.

use std::collections::VecDeque;
use std::time::Duration;

use super::limit::ApiRateLimit;

/// How long a token cools after a 429 without `Retry-After` when no limit is known.
pub const DEFAULT_COOL: Duration = Duration::from_secs(5);
/// Longest cooling after a 429 without `Retry-After` when a limit is known (its window,
/// up to this).
pub const MAX_DEFAULT_COOL: Duration = Duration::from_secs(60);

/// What the pacer decided for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Send on token `slot` at `at` (now, or a reserved instant to wait for).
    Go {
        /// The token's index in the pool.
        slot: usize,
        /// Unix milliseconds at which to send.
        at: u64,
    },
    /// No token can take the call within `max_wait`; the earliest could at `at`.
    Refuse {
        /// Unix milliseconds of the earliest free slot.
        at: u64,
    },
    /// No token is ready (none minted yet, or all expired).
    NoToken,
}

/// One token's counters.
#[derive(Debug, Default, Clone)]
struct Slot {
    log: VecDeque<u64>,
    cool_until: u64,
    last_429: Option<u64>,
    last_use: u64,
    calls: u64,
    throttled: u64,
}

/// What one token's counters say at an instant (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotUse {
    /// Calls in the window ending now, reservations included (0 without a limit).
    pub in_window: u32,
    /// Calls planned on this token so far.
    pub calls: u64,
    /// Upstream 429s this token received.
    pub throttled: u64,
    /// Cooling down until this instant (Unix ms), if it is in the future.
    pub cooling_until: Option<u64>,
}

/// Outcome of an upstream 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooling {
    /// The token cools until this instant (Unix ms).
    pub until: u64,
    /// Another token answered 429 within the window: the whole profile cools.
    pub shared: bool,
}

/// The sliding-window counters of a pool's tokens (see the module docs).
#[derive(Debug)]
pub struct Pacer {
    limit: Option<ApiRateLimit>,
    max_wait_ms: u64,
    slots: Vec<Slot>,
    profile_cool: u64,
    refused: u64,
    waited: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Pacer {
    /// Counters for `tokens` tokens paced to `limit` (none: only cooling applies), refusing
    /// calls that would wait longer than `max_wait`.
    pub fn new(tokens: usize, limit: Option<ApiRateLimit>, max_wait: Duration) -> Self {
        Self {
            limit,
            max_wait_ms: ms(max_wait),
            slots: vec![Slot::default(); tokens],
            profile_cool: 0,
            refused: 0,
            waited: 0,
        }
    }

    /// The limit paced to.
    pub fn limit(&self) -> Option<ApiRateLimit> {
        self.limit
    }

    /// Drop the instants that have left every window ending at `now` or later.
    fn prune(&mut self, now: u64) {
        if let Some(l) = self.limit {
            let w = ms(l.window());
            for s in &mut self.slots {
                while s.log.front().is_some_and(|&t| t.saturating_add(w) <= now) {
                    s.log.pop_front();
                }
            }
        }
    }

    /// The earliest instant token `i` can take one more call.
    fn start(&self, i: usize, now: u64) -> u64 {
        let s = &self.slots[i];
        let mut at = now.max(s.cool_until).max(self.profile_cool);
        if let Some(l) = self.limit {
            let budget = l.budget() as usize;
            if let Some(&last) = s.log.back() {
                at = at.max(last);
            }
            if s.log.len() >= budget {
                // The call `budget` back must have left the window first.
                at = at.max(s.log[s.log.len() - budget].saturating_add(ms(l.window())));
            }
        }
        at
    }

    /// The earliest instant one of the tokens for which `ready` holds could take a call
    /// planned at `now` (nothing is booked); `None` when none is ready.
    pub fn earliest(&mut self, now: u64, ready: impl Fn(usize) -> bool) -> Option<u64> {
        self.prune(now);
        (0..self.slots.len())
            .filter(|&i| ready(i))
            .map(|i| self.start(i, now))
            .min()
    }

    /// Plan a call at `now` among the tokens for which `ready` holds.
    pub fn plan(&mut self, now: u64, ready: impl Fn(usize) -> bool) -> Plan {
        self.prune(now);
        let best = (0..self.slots.len())
            .filter(|&i| ready(i))
            .min_by_key(|&i| {
                let s = &self.slots[i];
                (self.start(i, now), s.log.len(), s.last_use, i)
            });
        let Some(slot) = best else {
            return Plan::NoToken;
        };
        let at = self.start(slot, now);
        if at.saturating_sub(now) > self.max_wait_ms {
            self.refused += 1;
            return Plan::Refuse { at };
        }
        if at > now {
            self.waited += 1;
        }
        let s = &mut self.slots[slot];
        if self.limit.is_some() {
            s.log.push_back(at);
        }
        s.last_use = at;
        s.calls += 1;
        Plan::Go { slot, at }
    }

    /// Token `slot` was answered 429 at `now`, with `retry_after` if the server said: it
    /// cools until then (or for the window, or [`DEFAULT_COOL`]); a second token's 429
    /// within one window cools the profile.
    pub fn throttled(&mut self, slot: usize, now: u64, retry_after: Option<Duration>) -> Cooling {
        let window = self.limit.map(|l| l.window());
        let wait = retry_after
            .or(window.map(|w| w.min(MAX_DEFAULT_COOL)))
            .unwrap_or(DEFAULT_COOL);
        let until = now.saturating_add(ms(wait));
        let span = ms(window.unwrap_or(wait));
        let shared =
            self.slots.iter().enumerate().any(|(j, s)| {
                j != slot && s.last_429.is_some_and(|t| now.saturating_sub(t) < span)
            });
        let s = &mut self.slots[slot];
        s.cool_until = s.cool_until.max(until);
        s.last_429 = Some(now);
        s.throttled += 1;
        if shared {
            self.profile_cool = self.profile_cool.max(until);
        }
        Cooling { until, shared }
    }

    /// Token `slot`'s counters at `now`.
    pub fn slot_use(&self, slot: usize, now: u64) -> SlotUse {
        let s = &self.slots[slot];
        let window = self.limit.map(|l| ms(l.window())).unwrap_or(0);
        let in_window = s
            .log
            .iter()
            .filter(|&&t| t.saturating_add(window) > now)
            .count();
        let cool = s.cool_until.max(self.profile_cool);
        SlotUse {
            in_window: u32::try_from(in_window).unwrap_or(u32::MAX),
            calls: s.calls,
            throttled: s.throttled,
            cooling_until: (cool > now).then_some(cool),
        }
    }

    /// Calls refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Calls that had to wait for a reserved instant so far.
    pub fn waited(&self) -> u64 {
        self.waited
    }

    /// Upstream 429s so far, all tokens.
    pub fn throttled_total(&self) -> u64 {
        self.slots.iter().map(|s| s.throttled).sum()
    }
}

#[cfg(test)]
#[path = "pacer_tests.rs"]
mod tests;
