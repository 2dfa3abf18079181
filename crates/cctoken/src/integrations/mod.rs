//! Bearer tokens from a [`TokenSource`](crate::source::TokenSource) on the requests of
//! long-running services, for the HTTP stacks they already use.
//!
//! - [`tower`] (feature `tower`): [`tower::BearerLayer`] wraps any tower service over
//!   `http::Request` — a `tonic` channel, a hyper client — and sets
//!   `authorization: Bearer …` on every request.
//! - [`reqwest_middleware`] (feature `reqwest-middleware`):
//!   [`reqwest_middleware::BearerMiddleware`] does the same for a `reqwest-middleware`
//!   client and, when the request body can be cloned, refreshes the token once and retries
//!   after a `401`.
//!
//! Each also has a pooled form over a [`TokenPool`](crate::pool::TokenPool) (SPEC §13):
//! [`tower::PoolLayer`] and [`reqwest_middleware::PoolMiddleware`] pace every request to
//! the pool's per-token limit over its K tokens and refuse the excess locally.
//!
//! Both get their tokens from a shared `TokenSource`, so a whole service sends one token
//! request per lifetime however many requests it makes, refreshes ahead of expiry in the
//! background, and never blocks a request on a fresh token. Neither prints or logs a
//! token. They deliberately do not decide *where* a token may go beyond an optional origin
//! check: wrap only clients that talk to the API the token is for.

#[cfg(feature = "reqwest-middleware")]
pub mod reqwest_middleware;
#[cfg(feature = "tower")]
pub mod tower;

/// `Bearer <token>` as a sensitive header value (hidden from `Debug` by `http`).
#[cfg(any(feature = "tower", feature = "reqwest-middleware"))]
fn bearer_value(token: &crate::secret::AccessToken) -> Result<http::HeaderValue, crate::Error> {
    let mut v =
        http::HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).map_err(|_| {
            crate::Error::unexpected(
                None,
                "the access token has characters that cannot go in an HTTP header",
            )
        })?;
    v.set_sensitive(true);
    Ok(v)
}
