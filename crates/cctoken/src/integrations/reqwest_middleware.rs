//! [`BearerMiddleware`]: `reqwest-middleware` middleware that attaches
//! `authorization: Bearer …` from a [`TokenSource`] and, once, refreshes the token and
//! retries a request the server answered with `401`.
//!
//! ```no_run
//! # fn demo(source: cctoken::source::TokenSource) {
//! use cctoken::integrations::reqwest_middleware::BearerMiddleware;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(BearerMiddleware::new(source))
//!     .build();
//! // client.get("https://api.example.com/v1/things").send().await
//! # }
//! ```
//!
//! [`PoolMiddleware`] does the same over a [`TokenPool`]: paced calls spread over K
//! tokens, refused locally over the limit, a `429` moved once to another token.
//!
//! The retry needs a second copy of the request, so it happens only when the body can be
//! cloned (no streams); otherwise the `401` is returned as is. With
//! [`BearerMiddleware::only_origin`] the token is attached only to requests for that
//! origin, so a client that also talks to other hosts does not hand them the token.

use http::Extensions;
use reqwest::header::AUTHORIZATION;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next, Result};
use url::Url;

use crate::pool::TokenPool;
use crate::source::TokenSource;

/// Middleware that authenticates requests with tokens from a [`TokenSource`].
#[derive(Debug, Clone)]
pub struct BearerMiddleware {
    source: TokenSource,
    origin: Option<url::Origin>,
}

impl BearerMiddleware {
    /// Attach tokens from `source` to every request.
    pub fn new(source: TokenSource) -> Self {
        Self {
            source,
            origin: None,
        }
    }

    /// Attach the token only to requests whose origin (scheme, host, port) is `base`'s;
    /// others pass through untouched.
    pub fn only_origin(mut self, base: &Url) -> Self {
        self.origin = Some(base.origin());
        self
    }

    fn applies_to(&self, url: &Url) -> bool {
        self.origin.as_ref().is_none_or(|o| *o == url.origin())
    }
}

fn authorize(req: &mut Request, token: &crate::secret::AccessToken) -> Result<()> {
    let value = super::bearer_value(token).map_err(reqwest_middleware::Error::middleware)?;
    req.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

#[async_trait::async_trait]
impl Middleware for BearerMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        if !self.applies_to(req.url()) {
            return next.run(req, extensions).await;
        }
        let token = self
            .source
            .access_token()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        authorize(&mut req, &token)?;
        let retry = req.try_clone();
        let resp = next.clone().run(req, extensions).await?;
        let Some(mut retry) = retry else {
            return Ok(resp);
        };
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        tracing::debug!("the API answered 401; refreshing the token once and retrying");
        let fresh = self
            .source
            .invalidate_and_refresh(&token)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        authorize(&mut retry, &fresh.access_token)?;
        next.run(retry, extensions).await
    }
}

/// Middleware that sends every request through a [`TokenPool`] (SPEC §13): paced to the
/// pool's per-token limit, refused locally when no token has room within `max_wait` (the
/// error is a [`crate::pool::PoolError::Refused`] carrying the exact wait), a `401` re-minting that one
/// token and a `429` moving the request once to another token — when the body can be
/// cloned; a request with a streamed body is paced and sent once, and a `429` or `401` to
/// it only cools or re-mints its token for the next request.
///
/// ```no_run
/// # fn demo(pool: cctoken::pool::TokenPool) {
/// use cctoken::integrations::reqwest_middleware::PoolMiddleware;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(PoolMiddleware::new(pool))
///     .build();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PoolMiddleware {
    pool: TokenPool,
    origin: Option<url::Origin>,
}

impl PoolMiddleware {
    /// Send every request through `pool`.
    pub fn new(pool: TokenPool) -> Self {
        Self { pool, origin: None }
    }

    /// Attach tokens only to requests for `base`'s origin; others pass through untouched.
    pub fn only_origin(mut self, base: &Url) -> Self {
        self.origin = Some(base.origin());
        self
    }
}

#[async_trait::async_trait]
impl Middleware for PoolMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        if !self
            .origin
            .as_ref()
            .is_none_or(|o| *o == req.url().origin())
        {
            return next.run(req, extensions).await;
        }
        let Some(template) = req.try_clone() else {
            return self.once(req, extensions, next).await;
        };
        let mut first = Some(req);
        let ext = extensions.clone();
        let sent = self
            .pool
            .send(|token| {
                let req = first.take().or_else(|| template.try_clone());
                let next = next.clone();
                let mut ext = ext.clone();
                let token = token.access_token.clone();
                async move {
                    // Cloned once already: a clone of the template cannot fail.
                    let mut req = req.ok_or_else(|| {
                        reqwest_middleware::Error::middleware(crate::Error::transport(
                            "the request could not be copied for its retry",
                        ))
                    })?;
                    authorize(&mut req, &token)?;
                    next.run(req, &mut ext).await
                }
            })
            .await;
        sent.map_err(reqwest_middleware::Error::middleware)?
    }
}

impl PoolMiddleware {
    /// A request that cannot be sent twice: one paced attempt; its 401 or 429 only informs
    /// the pool.
    async fn once(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let lease = self
            .pool
            .acquire()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        authorize(&mut req, &lease.token.access_token)?;
        let resp = next.run(req, extensions).await?;
        match resp.status() {
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| crate::token::retry_after(v, self.pool.clock().now()));
                self.pool.throttled(&lease, wait);
            }
            StatusCode::UNAUTHORIZED => {
                if let Err(e) = self.pool.rejected(&lease).await {
                    tracing::warn!("re-minting after 401 failed: {e}");
                }
            }
            _ => {}
        }
        Ok(resp)
    }
}
