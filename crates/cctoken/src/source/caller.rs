//! The caller-facing extras of [`TokenSource`]: the synchronous read for hot paths that
//! cannot await ([`TokenSource::token_now`], [`TokenSource::generation`],
//! [`TokenSource::origin`]), a per-call `min_ttl` ([`TokenSource::token_for`]) and the
//! drop-only reaction to an API's 401 ([`TokenSource::invalidate`]). They use the same
//! single flight and refresh-ahead as the rest of the source; nothing here keeps state of
//! its own.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{to_ms, Origin, TokenSource};
use crate::error::{Class, Error, ErrorKind};
use crate::secret::AccessToken;
use crate::token::Token;

impl TokenSource {
    /// The current token if it is usable now, without waiting or I/O — the lock-free read
    /// of [`TokenSource::token`], which also starts the background refresh when it is due
    /// (on the Tokio runtime the caller is in: enter one first, or the refresh waits for
    /// the next async call). `None`: call [`TokenSource::token`].
    pub fn token_now(&self) -> Option<Token> {
        let now = self.inner.clock.now();
        let token = self.fast(now)?;
        if to_ms(now) >= self.inner.refresh_at_ms.load(Ordering::Relaxed) {
            self.spawn_refresh();
        }
        Some(token)
    }

    /// Until when the current token is served as it is: before both the instant it stops
    /// being usable (the margin, or `min_ttl`, before expiry) and the refresh-ahead
    /// instant. Until then, and while [`TokenSource::generation`] stays the same, a caller
    /// that keeps its own view of the token (the Python package's `Token` object) may
    /// answer without asking the source; after it, [`TokenSource::token_now`] decides.
    pub fn served_until(&self) -> Option<SystemTime> {
        let guard = self.inner.current.load();
        let token = guard.as_deref()?;
        let refresh_at =
            UNIX_EPOCH + Duration::from_millis(self.inner.refresh_at_ms.load(Ordering::Relaxed));
        Some(self.usable_until(token).min(refresh_at))
    }

    /// Changes whenever the current token does (a new token, or one dropped by
    /// [`TokenSource::invalidate`]): a caller that keeps a derived copy (the Python
    /// package's `Token` object) rebuilds it when this moved.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Where the current token came from (the fetcher's [`Fetch::fetch_traced`](crate::token::Fetch::fetch_traced); a seeded
    /// token counts as [`Origin::Cache`]).
    pub fn origin(&self) -> Origin {
        match self.inner.origin.load(Ordering::Acquire) {
            1 => Origin::Cache,
            2 => Origin::Agent,
            _ => Origin::Server,
        }
    }

    /// A token that stays valid for at least `min_ttl` (beyond the margin): the current one
    /// when it does, else a new one, shared with concurrent callers. A server whose tokens
    /// live shorter than that gives an error (permanent: waiting will not help).
    pub async fn token_for(&self, min_ttl: Duration) -> Result<Token, Error> {
        let enough =
            |t: &Token| t.remaining(self.inner.clock.now()) > self.required(t).max(min_ttl);
        if min_ttl <= self.inner.min_ttl {
            return self.token().await;
        }
        if let Some(t) = self.token_now().filter(|t| enough(t)) {
            return Ok(t);
        }
        let token = {
            let _g = self.inner.flight.lock().await;
            let cur = self.inner.current.load_full();
            match cur.as_deref() {
                Some(t) if enough(t) => t.clone(),
                _ => self.fetch_and_store(cur.as_deref()).await?,
            }
        };
        if enough(&token) {
            return Ok(token);
        }
        Err(Error::new(
            ErrorKind::Config,
            Class::Permanent,
            format!(
                "a token that stays valid {} s was asked for, but the server's tokens live {} s",
                min_ttl.as_secs(),
                token.expires_in.as_secs()
            ),
        )
        .with_hint(
            "a token cannot outlive the lifetime the server gives it; ask for a token when \
             it is needed instead (a TokenSource keeps one fresh), or run the job under \
             `cctoken exec`",
        ))
    }

    /// The API rejected `rejected` (401): if it is still the current token, drop it, so the
    /// next [`TokenSource::token`] fetches a new one — once, shared by every caller — and
    /// the fetcher, told what was held, does not answer with it again (a cache drops it;
    /// another process's newer token in the cache is taken instead). Nothing is fetched
    /// here. False when `rejected` is not the current token (already replaced).
    pub fn invalidate(&self, rejected: &AccessToken) -> bool {
        let cur = self.inner.current.load_full();
        let Some(t) = cur.as_deref() else {
            return false;
        };
        if &t.access_token != rejected || t.expires_in.is_zero() {
            return false;
        }
        // Kept, with no lifetime left: never served, but handed to the fetcher as held.
        let dropped = Token {
            expires_in: Duration::ZERO,
            ..t.clone()
        };
        let swapped = self
            .inner
            .current
            .compare_and_swap(&cur, Some(Arc::new(dropped)));
        let won = match (&cur, &*swapped) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if won {
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
            self.inner.changes.send_replace(());
        }
        won
    }
}

#[cfg(test)]
#[path = "caller_tests.rs"]
mod tests;
