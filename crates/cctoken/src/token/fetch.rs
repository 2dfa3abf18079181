//! [`Fetch`]: how a token is obtained, for whoever keeps one.
//!
//! The trait sits here, below everything that implements or uses it: the
//! [`Client`](crate::client::Client) asks the server, a
//! [`CachedClient`](crate::cache::CachedClient) asks the caches first, and a
//! [`TokenSource`](crate::source::TokenSource) calls either when it needs a new token.

use std::future::Future;
use std::pin::Pin;

use super::Token;
use crate::error::Error;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can obtain a new token, given the current one (which may carry a
/// refresh token).
pub trait Fetch: Send + Sync + 'static {
    /// Obtain a new token.
    fn fetch<'a>(&'a self, current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>>;
}
