//! [`Fetch`]: how a token is obtained, for whoever keeps one.
//!
//! The trait sits here, below everything that implements or uses it: the
//! [`Client`](crate::client::Client) asks the server, a
//! [`CachedClient`](crate::cache::CachedClient) asks the caches first, and a
//! [`TokenSource`](crate::source::TokenSource) calls either when it needs a new token,
//! saying what it holds ([`Held`]). [`Fetch::fetch_traced`] also says where the token came
//! from ([`Origin`]: what the Python package shows as `Token.source`).

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use super::Token;
use crate::error::Error;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the caller of a [`Fetch`] holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held<'a> {
    /// The token held now: it may carry a refresh token, and a cache must not answer with
    /// it (it is being replaced).
    pub token: Option<&'a Token>,
    /// Set while `token` is still usable (a refresh ahead of its expiry): the instant it
    /// stops being so. A fetcher that retries fits its retries before it, so one lands
    /// while the held token still serves (SPEC §6), and gives up on it rather than retry
    /// sooner than a server's `Retry-After`. `None`: retry by the usual policy.
    pub usable_until: Option<SystemTime>,
}

impl<'a> Held<'a> {
    /// Nothing usable: no token, or one that is expired or was rejected.
    pub fn stale(token: Option<&'a Token>) -> Self {
        Self {
            token,
            usable_until: None,
        }
    }

    /// A token that serves until `until`.
    pub fn usable(token: &'a Token, until: SystemTime) -> Self {
        Self {
            token: Some(token),
            usable_until: Some(until),
        }
    }
}

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from a cache (the disk, or a fleet's Redis).
    Cache,
    /// Requested from the token server by this process.
    Server,
    /// Answered by a running agent (`CCTOKEN_AGENT`).
    Agent,
}

/// Something that can obtain a new token, given what the caller holds.
pub trait Fetch: Send + Sync + 'static {
    /// Obtain a new token.
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>>;

    /// [`Fetch::fetch`], and where the token came from. The default is
    /// [`Origin::Server`]; fetchers that answer from a cache or an agent say so.
    fn fetch_traced<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<(Token, Origin), Error>> {
        Box::pin(async move { self.fetch(held).await.map(|t| (t, Origin::Server)) })
    }
}
