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
//! A guided tour of the modules:
//! - [`config`]: flavors, the client registry and its TOML format, the demo clients.
//! - `registry`, `auth`, `form`: who the clients are and how they authenticate.
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
mod clientauth;
pub mod config;
mod control;
mod cxone;
mod discovery;
pub mod faults;
mod form;
mod genesys;
mod grant;
mod introspect;
mod jwt;
mod registry;
mod respond;
mod server;
mod state;
mod tls;
mod token_endpoint;
mod tokens;
mod window;

use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::routing::{any, get, post};
use axum::Router;
use sha2::{Digest, Sha256};

pub use activity::{ActivityEntry, StatsSnapshot};
pub use clientauth::{thumbprint, Jwk, Jwks, SubjectDn, SIGNING_ALGS};
pub use config::{
    AccessKey, AssertionPolicy, AudienceMode, AuthMethod, BasicEncoding, ClientEntry, ConfigError,
    EmulatorConfig, FederatedTrust, Flavor, RateLimit, TokenFormat,
};
pub use faults::{FaultKind, FaultSpec};
pub use server::{serve, spawn, spawn_with_state, RunningEmulator};
pub use state::{AppState, Clock, ManualClock, SystemClock};
pub use tls::TlsSettings;

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
