//! Client authentication with keys and certificates (SPEC §14): the emulator's own JWT and
//! certificate verification, independent of the `cctoken` client (SPEC §1).
//!
//! The rules — methods, key selection, claims, audience modes, federated trust, what
//! binds a token to a certificate — are the crate documentation's "Keys and certificates"
//! section; this module implements them on the key material of [`crate::keys`]:
//! `assertion` (the order of checks), `claims` (`aud`, times, `typ`, `jti`) and `cert` (TLS client certificates). Assertions themselves are never
//! logged, only the verdicts on their claims.

mod assertion;
mod cert;
mod claims;

pub(crate) use assertion::{authenticate as authenticate_assertion, Audience};
pub(crate) use cert::authenticate as authenticate_certificate;

use axum::http::StatusCode;

use crate::auth::AuthFail;
use crate::registry::RegisteredClient;

/// The failure type of this module: the token endpoint's [`AuthFail`].
pub(crate) type Failure = AuthFail;

/// `invalid_client` (401) with `reason`, no challenge.
pub(crate) fn fail(reason: String) -> AuthFail {
    AuthFail {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        reason,
        challenge: false,
        client_id: None,
        method: None,
    }
}

/// The methods a client accepts, comma-separated, for reasons.
pub(crate) fn accepted(client: &RegisteredClient) -> String {
    let m: Vec<&str> = client
        .entry
        .auth_methods
        .iter()
        .map(|m| m.as_str())
        .collect();
    m.join(", ")
}
