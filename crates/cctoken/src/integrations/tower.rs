//! [`BearerLayer`]: a `tower::Layer` that attaches `authorization: Bearer …` from a
//! [`TokenSource`] to every `http::Request`.
//!
//! It works with any tower service over `http::Request<B>`; the main customer is a `tonic`
//! client, whose `Channel` is exactly such a service:
//!
//! ```no_run
//! # async fn demo(source: cctoken::source::TokenSource) -> Result<(), Box<dyn std::error::Error>> {
//! # use tower::ServiceBuilder;
//! # mod tonic { pub mod transport { pub struct Channel; impl Channel { pub fn from_static(_: &str) -> Self { Channel } pub async fn connect(self) -> Result<Self, std::io::Error> { Ok(Channel) } } } }
//! use cctoken::integrations::tower::BearerLayer;
//! let channel = tonic::transport::Channel::from_static("http://[::1]:50051").connect().await?;
//! let authed = ServiceBuilder::new().layer(BearerLayer::new(source)).service(channel);
//! // then: MyServiceClient::new(authed), or tonic::client::Grpc::new(authed)
//! # Ok(()) }
//! ```
//!
//! The token is fetched before the inner service is called: on the hot path that is a
//! lock-free read of the source's current token; only a cold start or an expired token
//! waits for a token request (shared with every other caller). A token failure becomes the
//! service's error ([`BoxError`]), which tonic reports as a `Status`.
//!
//! [`PoolLayer`] does the same over a [`TokenPool`]: each request is paced to the pool's
//! per-token limit and goes out on the least-used token (SPEC §13).
//!
//! It does not retry on `401`/`UNAUTHENTICATED`: a streamed request body cannot be replayed.
//! A service that sees one can call [`TokenSource::invalidate_and_refresh`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::AUTHORIZATION;
use tower::{Layer, Service};

use crate::pool::TokenPool;
use crate::secret::AccessToken;
use crate::source::TokenSource;

/// The error type of [`BearerService`]: the inner service's error or the token error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A layer (`$layer`, holding `$field`) and the service it wraps around an inner one
/// (`$service`): the same shape for both ways of authorizing a request below.
macro_rules! layer_and_service {
    ($(#[$doc:meta])* $layer:ident => $service:ident { $field:ident: $ty:ty }, $new_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $layer {
            $field: $ty,
        }

        impl $layer {
            #[doc = $new_doc]
            pub fn new($field: $ty) -> Self {
                Self { $field }
            }
        }

        impl<S> Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service {
                    inner,
                    $field: self.$field.clone(),
                }
            }
        }

        #[doc = concat!("The service produced by [`", stringify!($layer), "`].")]
        #[derive(Debug, Clone)]
        pub struct $service<S> {
            inner: S,
            $field: $ty,
        }
    };
}

/// The inner service that `poll_ready` prepared, leaving a fresh clone in its place
/// (tower's documented pattern for services that call their inner one later).
fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// Set `authorization: Bearer <token>` on `req`.
fn authorize<B>(req: &mut http::Request<B>, token: &AccessToken) -> Result<(), crate::Error> {
    let value = super::bearer_value(token)?;
    req.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

layer_and_service! {
    /// A layer that sets `authorization: Bearer <token>` from `source` on every request.
    BearerLayer => BearerService { source: TokenSource },
    "A layer over a shared token source."
}

impl<S> BearerService<S> {
    /// Wrap `inner` directly (same as `BearerLayer::new(source).layer(inner)`).
    pub fn new(inner: S, source: TokenSource) -> Self {
        Self { inner, source }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B> Service<http::Request<B>> for BearerService<S>
where
    S: Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let source = self.source.clone();
        Box::pin(async move {
            authorize(&mut req, &source.access_token().await?)?;
            inner.call(req).await.map_err(Into::into)
        })
    }
}

layer_and_service! {
    /// A layer that sends every request through a [`TokenPool`] (SPEC §13): each request waits
    /// for room in a token's window (up to the pool's `max_wait`, else it fails with
    /// [`crate::pool::PoolError::Refused`], carrying the exact wait, and is never sent) and goes
    /// out with that token. A streamed body cannot be replayed, so nothing is retried here: a
    /// `429` cools its token (a second token's within one window cools the profile) and a `401`
    /// re-mints it, for the requests that follow.
    PoolLayer => PoolService { pool: TokenPool },
    "A layer over a shared pool."
}

impl<S, B, RB> Service<http::Request<B>> for PoolService<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let pool = self.pool.clone();
        Box::pin(async move {
            let lease = pool.acquire().await?;
            authorize(&mut req, &lease.token.access_token)?;
            let resp = inner.call(req).await.map_err(Into::into)?;
            match resp.status() {
                http::StatusCode::TOO_MANY_REQUESTS => {
                    let wait = resp
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| crate::token::retry_after(v, pool.clock().now()));
                    pool.throttled(&lease, wait);
                }
                http::StatusCode::UNAUTHORIZED => {
                    if let Err(e) = pool.rejected(&lease).await {
                        tracing::warn!("re-minting after 401 failed: {e}");
                    }
                }
                _ => {}
            }
            Ok(resp)
        })
    }
}
