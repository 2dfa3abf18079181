//! A faithful local OAuth2 token server for tests, demos and `cctoken doctor` practice.
//!
//! The emulator speaks RFC 6749 §4.4/§5 (client credentials), RFC 8414 and OIDC discovery,
//! RFC 7662 introspection, RFC 7009 revocation and RFC 9068 JWT access tokens, in three
//! flavors ([`Flavor`]): a strict generic server, Genesys Cloud's observed behaviour and NICE
//! CXone's access-key password grant. A client registry ([`EmulatorConfig`], TOML),
//! scripted faults ([`faults`]) and an activity log that names the exact reason for every
//! rejection make it a test double and a teaching tool at once.
//!
//! It is an independent implementation: it never uses the `cctoken` client library's
//! request building, encoding or parsing (SPEC §1), so a bug on one side is caught by the
//! other.
//!
//! # Keys and certificates (SPEC §14)
//!
//! Besides secrets, a client authenticates with a JWT assertion (`private_key_jwt`,
//! `client_secret_jwt`, or a federated issuer's token) or a TLS client certificate
//! (`tls_client_auth`, `self_signed_tls_client_auth`). The registry:
//!
//! ```toml
//! clock_tolerance = "30s"          # exp / nbf / iat slack (default 30 s)
//! max_assertion_lifetime = "5m"    # longest exp - iat of a client-signed assertion (default)
//! tls_cert = "srv.pem"             # = --tls-cert / --tls-key: serve HTTPS
//! tls_key = "srv-key.pem"
//! tls_client_ca = "ca.pem"         # = --tls-client-ca: CA for tls_client_auth
//!
//! [[clients]]
//! id = "ci-bot"                    # no secret needed: keys only
//! jwks_file = "ci-bot.jwks.json"   # or jwks = { keys = [ { kty = "EC", … } ] }
//! audience_mode = "strict"         # or "legacy"
//! federated = [{ issuer = "https://token.actions.githubusercontent.com",
//!   subject = "repo:acme/app:ref:refs/heads/main", audience = "cctoken",
//!   jwks_file = "github.jwks.json" }]
//!
//! [[clients]]
//! id = "mtls-bot"
//! tls_client_auth_subject_dn = "CN=mtls-bot,O=acme"    # RFC 4514
//!
//! [[clients]]
//! id = "self-signed-bot"
//! tls_client_certificate_thumbprint = "…"  # x5t#S256 (base64url) or hex; or a JWK with x5c
//!
//! [[clients]]
//! id = "hs-bot"
//! secret = "at-least-32-bytes-of-shared-secret!!"
//! auth_methods = ["client_secret_jwt"]
//! ```
//!
//! Paths are relative to the registry file. Without `auth_methods`, a client accepts what
//! its material allows: secrets → `client_secret_basic`, `client_secret_post`; a JWK Set or
//! `federated` → `private_key_jwt`; a subject DN → `tls_client_auth`; a thumbprint or a JWK
//! with `x5c` → `self_signed_tls_client_auth`. `client_secret_jwt` is only ever listed
//! explicitly and needs secrets of 32 bytes or more (RFC 7518 §3.2). A method without its
//! material, a private or symmetric key in a JWK Set, a certificate method without HTTPS, or
//! `tls_client_auth` without a client CA is a configuration error naming file, line, client
//! and key.
//!
//! An assertion is accepted when all of these hold, checked in this order; the activity log
//! names the first that fails (e.g. "kid 'k2' not in the client's JWKS (known: k1)"):
//! - `client_assertion_type` is `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
//!   sent together with `client_assertion`, and neither an `Authorization` header nor a
//!   `client_secret` comes with them (those are `invalid_request`, 400);
//! - the assertion is a compact JWS without `crit`; `alg` is one of RS256, PS256, ES256,
//!   ES384, EdDSA (`Ed25519` is read as EdDSA) or HS256, never `none`; HS256 means
//!   `client_secret_jwt` and any other `alg` `private_key_jwt` ("alg HS256 not allowed for
//!   private_key_jwt");
//! - the client is the body's `client_id`, else `sub`; a body `client_id` equals `sub`, and
//!   `iss` = `sub` = the client id — unless `iss` is one of the client's federated issuers
//!   (see below);
//! - `typ` is absent, `JWT` or `client-authentication+jwt` (RFC 10070 asks servers not to
//!   reject untyped assertions, in either mode);
//! - the signature verifies with the key named by `kid`, else by `x5t#S256` (the thumbprint
//!   of a JWK's `x5c[0]`), else with any key of the client's JWK Set that fits `alg` (a JWK
//!   with `alg` fits that one only); HS256 verifies with either client secret;
//! - `aud`: in `strict` mode (the default, RFC 10070) the issuer — the base URL, exactly — as
//!   a string or the only member of an array; `legacy` also accepts the token endpoint URL
//!   (or the URL the request came to), as a string or any member of an array;
//! - `exp` is present and not past, `nbf` and `iat` not in the future, each with the clock
//!   tolerance, at the server's (injected) clock; `exp - iat` (`exp - now` without `iat`) is
//!   at most `max_assertion_lifetime` ("assertion lifetime 600 s exceeds 300 s");
//! - `jti` is present and not used before by this client while unexpired ("jti replayed");
//!   it is remembered only once everything else passed.
//!
//! A **federated** assertion — `iss` is a `federated` issuer of the client named by the
//! body's `client_id` — must have that entry's `subject` as `sub` and its `audience` in
//! `aud` (exact, case-sensitive, as Entra ID compares), be signed by a key of the entry's JWK
//! Set (never HS256), and pass the time checks; it may live longer than
//! `max_assertion_lifetime`, needs no `jti`, may be reused until it expires, and may carry
//! any `typ` — CI and Kubernetes tokens are like that.
//!
//! With `--tls-cert`/`--tls-key` the emulator serves HTTPS (rustls, ring) and prints an
//! `https://` base URL. It asks for client certificates when `--tls-client-ca` is given or
//! a client uses a certificate method — optionally, accepting any certificate whose key
//! signs the handshake. A request with `client_id` and no other credentials authenticates
//! a certificate client: `tls_client_auth` needs a chain to the client CA (checked at the
//! emulator's clock) and the registered subject DN; `self_signed_tls_client_auth` needs the
//! certificate's `x5t#S256` to equal `tls_client_certificate_thumbprint` or a JWK's
//! `x5c[0]` thumbprint. Tokens issued this way carry `cnf: {"x5t#S256": …}` (JWT claim and
//! introspection). Discovery then publishes `mtls_endpoint_aliases.token_endpoint`
//! (`{base}/mtls/oauth/token`, the same handler) and
//! `tls_client_certificate_bound_access_tokens: true`; it always lists the union of the
//! clients' methods and every signing algorithm above in
//! `token_endpoint_auth_signing_alg_values_supported`.
//!
//! Refusals answer RFC 6749 `invalid_client` (401) in the flavor's shape, without a Basic
//! challenge; only a full replay cache answers 503 `temporarily_unavailable`.
//!
//! A guided tour of the modules:
//! - [`config`]: flavors, the client registry and its TOML format, the demo clients, and
//!   `config::tls`, the HTTPS listener's rustls configuration.
//! - `keys`: key material as data — JWK Sets, JWS verification (ring), the `jti` replay
//!   cache, what a TLS client presented.
//! - `registry`, `auth`, `form`: who the clients are and how they authenticate; with keys
//!   and certificates in `auth::clientauth` (the order of checks, assertion claims, TLS
//!   client certificates).
//! - `token_endpoint`, `grant`, `cxone`: the request pipeline, the grants and the answers.
//! - `tokens`, `jwt`: issued tokens, their store, ES256 signing and the JWKS.
//! - `window`: the rolling-window counter behind the API and token-endpoint rate limits.
//! - `discovery`, `introspect`, `genesys`: the other endpoints.
//! - [`faults`], `activity`, `control`: what can go wrong, what happened, `/_emulator/*`.
//! - `server`: the accept loop (connection resets), [`spawn`] and graceful shutdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cctoken_emulator::Error> {
//! use cctoken_emulator::{spawn, EmulatorConfig, Flavor};
//! let emu = spawn(EmulatorConfig::new(Flavor::Genesys).with_demo()).await?;
//! println!("token URL: {}/oauth/token", emu.base_url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod activity;
mod auth;
pub mod config;
mod control;
mod cxone;
mod discovery;
mod duration;
pub mod faults;
mod form;
mod genesys;
mod grant;
mod introspect;
mod jwt;
mod keys;
mod registry;
mod respond;
mod server;
mod state;
mod token_endpoint;
mod tokens;
mod window;

use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::routing::{any, get, post};
use axum::Router;
use sha2::{Digest, Sha256};

pub use activity::{ActivityEntry, StatsSnapshot};
pub use config::tls::TlsSettings;
pub use config::{
    AccessKey, AssertionPolicy, AudienceMode, AuthMethod, BasicEncoding, ClientEntry, ConfigError,
    EmulatorConfig, FederatedTrust, Flavor, RateLimit, TokenFormat,
};
pub use faults::{FaultKind, FaultSpec};
pub use keys::{thumbprint, Jwk, Jwks, SubjectDn, SIGNING_ALGS};
pub use server::{serve, spawn, spawn_with_state, RunningEmulator};
pub use state::{AppState, Clock, ManualClock, SystemClock};

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot bind the emulator's listening socket: {0}")]
    Bind(#[source] std::io::Error),
    /// The configuration is invalid.
    #[error("invalid emulator configuration: {0}")]
    Config(#[from] ConfigError),
}

/// A secret's fingerprint: `len=N sha256:` and the first 8 hex digits of its SHA-256.
///
/// Two parties can compare secrets by fingerprint without revealing them (SPEC §4).
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    format!("len={} sha256:{}", secret.len(), hex::encode(&digest[..4]))
}

/// The emulator's routes, for in-process tests (`tower::ServiceExt::oneshot`) or any server.
pub fn app(state: AppState) -> Router {
    let flavor = state.config().flavor;
    let mut oauth = Router::new()
        .route("/oauth/token", post(token_endpoint::token))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/revoke", post(introspect::revoke));
    if flavor == Flavor::Cxone {
        oauth = oauth.route(discovery::token_path(flavor), post(token_endpoint::token));
    }
    if state.inner.client_certs {
        oauth = oauth.route(
            &discovery::mtls_token_path(flavor),
            post(token_endpoint::token),
        );
    }
    let oauth = oauth.layer(map_response(respond::no_store));
    Router::new()
        .merge(oauth)
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::well_known),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::well_known),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/.well-known/cxone-configuration",
            get(cxone::cxone_configuration),
        )
        .route(
            "/inContactAPI/services/{version}/server-time",
            get(cxone::server_time),
        )
        .route("/api/v2/tokens/me", any(genesys::tokens_me))
        .route("/api/v2/{*rest}", any(genesys::api_other))
        .route(
            "/_emulator/faults",
            get(control::get_faults)
                .post(control::post_faults)
                .delete(control::delete_faults),
        )
        .route(
            "/_emulator/activity",
            get(control::get_activity).delete(control::delete_activity),
        )
        .route("/_emulator/stats", get(control::get_stats))
        .route("/_emulator/clients", get(control::get_clients))
        .fallback(not_found)
        .layer(map_response(respond::server_name))
        .with_state(state)
}

async fn not_found() -> axum::response::Response {
    let mut r = respond::json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"error": "not_found", "error_description": "no such endpoint in the emulator"}),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
