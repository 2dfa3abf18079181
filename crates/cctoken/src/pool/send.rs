//! [`TokenPool::send`]: one API call through a pool, whatever the HTTP library — the
//! caller builds and sends the request with the token it is given, and says what came
//! back through [`Reply`].

use std::future::Future;

use super::{PoolError, TokenPool, PASS_THROUGH};
use crate::token::{retry_after, Token};

/// What the pool needs to know of an API's answer.
pub trait Reply {
    /// The HTTP status; 0 when no answer arrived (a transport error).
    fn status(&self) -> u16;
    /// The `Retry-After` header, if any.
    fn retry_after(&self) -> Option<&str>;
}

impl Reply for reqwest::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }

    fn retry_after(&self) -> Option<&str> {
        self.headers().get("retry-after")?.to_str().ok()
    }
}

/// A call that failed before an answer arrived has status 0: it is passed back as it is.
impl<T: Reply, E> Reply for Result<T, E> {
    fn status(&self) -> u16 {
        self.as_ref().map_or(0, Reply::status)
    }

    fn retry_after(&self) -> Option<&str> {
        self.as_ref().ok()?.retry_after()
    }
}

impl TokenPool {
    /// Make one API call with a paced token: `call` sends the request with the token it is
    /// given and returns the answer. On a 401 that token is re-minted and the call made
    /// once more; on a 429 the token cools until `Retry-After` and the call is made once
    /// more on another token — unless `Retry-After` is over [`PASS_THROUGH`], when the 429
    /// is returned as it is. So `call` runs at most three times (401, then 429), and a
    /// request body must be one that can be sent again.
    ///
    /// A call that finds no room within `max_wait`, first or on its retry, is refused
    /// locally ([`PoolError::Refused`]), and `call` does not run for it.
    pub async fn send<R, F, Fut>(&self, mut call: F) -> Result<R, PoolError>
    where
        R: Reply,
        F: FnMut(&Token) -> Fut,
        Fut: Future<Output = R>,
    {
        let mut lease = self.acquire().await?;
        let mut reminted = false;
        let mut moved = false;
        loop {
            let reply = call(&lease.token).await;
            match reply.status() {
                401 if !reminted => {
                    reminted = true;
                    tracing::info!(
                        slot = lease.slot,
                        "the API answered 401; re-minting that token once"
                    );
                    match self.rejected(&lease).await {
                        Ok(token) => lease.token = token,
                        Err(e) => {
                            tracing::warn!(slot = lease.slot, "re-minting after 401 failed: {e}");
                            return Ok(reply);
                        }
                    }
                }
                429 => {
                    let wait = reply
                        .retry_after()
                        .and_then(|v| retry_after(v, self.clock().now()));
                    self.throttled(&lease, wait);
                    if moved || wait.is_some_and(|w| w > PASS_THROUGH) {
                        return Ok(reply);
                    }
                    moved = true;
                    drop(reply);
                    lease = self.acquire().await?;
                }
                _ => return Ok(reply),
            }
        }
    }
}
