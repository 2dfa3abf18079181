//! [`Fetch`]: how a token is obtained, for whoever keeps one.
//!
//! The trait sits here, below everything that implements or uses it: the
//! [`Client`](crate::client::Client) asks the server, a
//! [`CachedClient`](crate::cache::CachedClient) asks the caches first, and a
//! [`TokenSource`](crate::source::TokenSource) calls either when it needs a new token.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use super::Token;
use crate::error::Error;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can obtain a new token, given the current one.
pub trait Fetch: Send + Sync + 'static {
    /// Obtain a new token.
    ///
    /// `current` is the token held now: it may carry a refresh token, and a cache must not
    /// answer with it. `deadline` is set while `current` is still usable (a refresh ahead
    /// of its expiry): the instant it stops being so. An implementation that retries fits
    /// its retries before it, so one lands while the held token still serves (SPEC §6),
    /// and gives up on the deadline rather than retry sooner than a server's
    /// `Retry-After`. `None`: nothing usable is held; retry by the usual policy.
    fn fetch<'a>(
        &'a self,
        current: Option<&'a Token>,
        deadline: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Token, Error>>;
}
