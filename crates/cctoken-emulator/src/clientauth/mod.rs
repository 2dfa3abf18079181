//! Client authentication with keys and certificates (SPEC §14): the emulator's own JWT and
//! certificate verification, independent of the `cctoken` client (SPEC §1).
//!
//! What the emulator accepts, and why:
//!
//! - **`private_key_jwt`** (RFC 7523, OIDC Core §9): `client_assertion_type` =
//!   `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a JWS signed with a key of
//!   the client's JWK Set — RS256, PS256, ES256, ES384 or EdDSA (header `alg` `Ed25519` is
//!   accepted as EdDSA: oauth4webapi sends it). The key is the one named by `kid`; without
//!   `kid`, the one whose `x5c` certificate has the header's `x5t#S256` (Entra ID style);
//!   without either, every key that fits `alg`. A key registered with `alg` only verifies
//!   that algorithm.
//! - **`client_secret_jwt`**: HS256 with a client secret (either one while rotating). HS* is
//!   never accepted for `private_key_jwt`, nor a signature algorithm for
//!   `client_secret_jwt`, and `alg: none` never at all.
//! - **Claims:** `iss` = `sub` = the client id; a body `client_id`, if sent, equals `sub`.
//!   `aud` per the client's `audience_mode`: `strict` (default, RFC 10070) wants the issuer
//!   as the sole value — a string or a one-member array; `legacy` also takes the token
//!   endpoint URL, and either may be one member of an array. `exp` is required; `exp`,
//!   `nbf` and `iat` are checked with a clock tolerance of 30 s by default
//!   (`clock_tolerance`); `exp - iat` (`exp - now` without `iat`) may be at most 300 s
//!   (`max_assertion_lifetime`, Auth0's limit). `jti` is required and single-use per client
//!   (the replay cache, `replay`), which is why a retry must re-sign.
//! - **`typ`:** absent or `JWT` (the generic type most JWT libraries add) is accepted in both
//!   modes — RFC 10070 says a server should not reject untyped assertions — and so is
//!   `client-authentication+jwt`; any other explicit type (`at+jwt`, …) marks another kind of
//!   token and is refused.
//! - **Federated** (workload identity federation): when `iss` is one of the client's
//!   `federated` issuers (the client is named by the body's `client_id`), the token is
//!   checked against that entry: exact `sub`, `aud` containing the entry's audience, a
//!   signature by the entry's JWK Set, and the time checks — but no lifetime cap, no `jti`
//!   requirement and no replay check, since CI and Kubernetes tokens are reused until they
//!   expire and their lifetime is the issuer's choice; any `typ` is accepted.
//! - **`tls_client_auth`** and **`self_signed_tls_client_auth`** (RFC 8705): `client_id` in
//!   the body and a TLS client certificate; see `cert`. Tokens issued this way are bound
//!   to the certificate: `cnf: {"x5t#S256": …}` in JWT access tokens and introspection.
//!
//! Every refusal is RFC 6749 `invalid_client` (401, no Basic challenge) with the exact cause
//! in the activity log; malformed requests (both parameters not sent together, an assertion
//! next to a secret) are `invalid_request` (400). Assertions are never logged, only their
//! claims' verdicts.

mod assertion;
mod cert;
mod claims;
mod jwk;
mod jws;
mod replay;

pub(crate) use assertion::{authenticate as authenticate_assertion, Audience};
pub(crate) use cert::authenticate as authenticate_certificate;
pub use cert::{PeerCertificate, SubjectDn};
pub use jwk::{thumbprint, Jwk, Jwks};
pub use jws::SUPPORTED as SIGNING_ALGS;
pub(crate) use replay::ReplayCache;

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
