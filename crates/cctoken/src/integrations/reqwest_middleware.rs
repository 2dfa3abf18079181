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
//! The retry needs a second copy of the request, so it happens only when the body can be
//! cloned (no streams); otherwise the `401` is returned as is. With
//! [`BearerMiddleware::only_origin`] the token is attached only to requests for that
//! origin, so a client that also talks to other hosts does not hand them the token.

use http::Extensions;
use reqwest::header::AUTHORIZATION;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next, Result};
use url::Url;

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
