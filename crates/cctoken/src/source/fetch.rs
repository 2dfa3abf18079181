//! [`Fetch`]: how a [`super::TokenSource`] obtains a new token.

use std::future::Future;
use std::pin::Pin;

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::token::Token;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can obtain a new token, given the current one (which may carry a
/// refresh token).
pub trait Fetch: Send + Sync + 'static {
    /// Obtain a new token.
    fn fetch<'a>(&'a self, current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>>;
}

impl Fetch for Client {
    fn fetch<'a>(&'a self, current: Option<&'a Token>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            if let Some(rt) = current.and_then(|t| t.refresh_token.as_ref()) {
                match self.refresh(rt).await {
                    Ok(t) => return Ok(t),
                    Err(e) if e.kind == ErrorKind::InvalidGrant => {
                        tracing::debug!("refresh token refused; requesting a new grant");
                    }
                    Err(e) => return Err(e),
                }
            }
            self.fetch_token().await
        })
    }
}
