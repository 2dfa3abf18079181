//! Discovery documents (RFC 8414, OpenID Connect Discovery 1.0) and the JWKS.
//!
//! Both metadata URLs serve the same document: the issuer is the emulator's base URL, the
//! endpoints hang off it (`/auth/token` for CXone, `/oauth/token` otherwise), and the lists of
//! grants and auth methods reflect what the registry actually accepts, so clients that honour
//! `token_endpoint_auth_methods_supported` choose correctly. Every signing algorithm the
//! token endpoint verifies for client assertions is listed. When the server asks for TLS
//! client certificates, RFC 8705 §5's `mtls_endpoint_aliases.token_endpoint` names
//! `/mtls/…` (the same handler, on the same listener, so a client that uses the alias is
//! visible in the activity log) and `tls_client_certificate_bound_access_tokens` is true.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode};

use crate::config::Flavor;
use crate::keys::SIGNING_ALGS;
use crate::respond::json;
use crate::state::AppState;

/// The token endpoint path the flavor advertises.
pub fn token_path(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cxone => "/auth/token",
        Flavor::Generic | Flavor::Genesys => "/oauth/token",
    }
}

/// The path of the token endpoint's mTLS alias (RFC 8705 §5).
pub fn mtls_token_path(flavor: Flavor) -> String {
    format!("/mtls{}", token_path(flavor))
}

/// The metadata document for `base`.
pub fn metadata(st: &AppState, base: &str) -> serde_json::Value {
    let flavor = st.config().flavor;
    let reg = &st.inner.registry;
    let methods = reg.auth_methods();
    let mut doc = serde_json::json!({
        "issuer": base,
        "token_endpoint": format!("{base}{}", token_path(flavor)),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "grant_types_supported": reg.grants(flavor),
        "token_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"],
    });
    if st.inner.client_certs {
        doc["mtls_endpoint_aliases"] =
            serde_json::json!({ "token_endpoint": format!("{base}{}", mtls_token_path(flavor)) });
        doc["tls_client_certificate_bound_access_tokens"] = true.into();
    }
    let scopes = reg.scopes();
    if !scopes.is_empty() {
        doc["scopes_supported"] = scopes.into();
    }
    if flavor == Flavor::Cxone {
        doc["claims_supported"] = serde_json::json!([
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
            "tenantId"
        ]);
    }
    doc
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
pub async fn well_known(State(st): State<AppState>, headers: HeaderMap) -> Response<Body> {
    let base = st.base_for(&headers);
    json(StatusCode::OK, &metadata(&st, &base))
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(st): State<AppState>) -> Response<Body> {
    json(StatusCode::OK, &st.inner.signer.jwks())
}
