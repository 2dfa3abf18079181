//! The emulator's own control surface under `/_emulator/`: faults, activity, stats, clients.
//!
//! Unauthenticated by design (the emulator is a loopback test server). Nothing here ever
//! shows a secret: clients are listed with secret fingerprints, the activity log holds only
//! the reasons written by the endpoints.

use std::collections::HashMap;

use axum::body::{to_bytes, Body};
use axum::extract::{Query, Request, State};
use axum::http::{Response, StatusCode};

use crate::faults::FaultSpec;
use crate::fingerprint;
use crate::respond::json;
use crate::state::AppState;

const MAX_FAULT_BODY: usize = 64 * 1024;

/// `POST /_emulator/faults`: queue one fault object or an array of them.
pub async fn post_faults(State(st): State<AppState>, req: Request) -> Response<Body> {
    let Ok(body) = to_bytes(req.into_body(), MAX_FAULT_BODY).await else {
        return json(
            StatusCode::PAYLOAD_TOO_LARGE,
            &serde_json::json!({"error": "fault body too large"}),
        );
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "fault body is not UTF-8"}),
        );
    };
    match FaultSpec::from_json(text) {
        Ok(specs) => {
            let n = specs.len();
            st.push_faults(specs);
            json(
                StatusCode::OK,
                &serde_json::json!({"queued": n, "faults": st.inner.faults.list()}),
            )
        }
        Err(e) => json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": e.to_string()}),
        ),
    }
}

/// `GET /_emulator/faults`.
pub async fn get_faults(State(st): State<AppState>) -> Response<Body> {
    json(
        StatusCode::OK,
        &serde_json::json!({"faults": st.inner.faults.list()}),
    )
}

/// `DELETE /_emulator/faults`.
pub async fn delete_faults(State(st): State<AppState>) -> Response<Body> {
    let n = st.inner.faults.clear();
    json(StatusCode::OK, &serde_json::json!({"cleared": n}))
}

/// `GET /_emulator/activity[?client_id=ID][&limit=N]`.
pub async fn get_activity(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response<Body> {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": "limit must be a non-negative integer"}),
            )
        }
        None => None,
    };
    let entries = st
        .inner
        .activity
        .entries(q.get("client_id").map(String::as_str), limit);
    json(StatusCode::OK, &serde_json::json!({ "entries": entries }))
}

/// `DELETE /_emulator/activity`.
pub async fn delete_activity(State(st): State<AppState>) -> Response<Body> {
    st.inner.activity.clear();
    json(StatusCode::OK, &serde_json::json!({"cleared": true}))
}

/// `GET /_emulator/stats`.
pub async fn get_stats(State(st): State<AppState>) -> Response<Body> {
    json(
        StatusCode::OK,
        &serde_json::to_value(st.stats()).unwrap_or_default(),
    )
}

/// `GET /_emulator/clients`: the registry with secrets as fingerprints, public keys by
/// `kid`, type and certificate thumbprint.
pub async fn get_clients(State(st): State<AppState>) -> Response<Body> {
    let cfg = st.config();
    let clients: Vec<serde_json::Value> = st
        .inner
        .registry
        .iter()
        .map(|c| {
            let e = &c.entry;
            serde_json::json!({
                "id": e.id,
                "secrets": e.secrets.iter().map(|s| fingerprint(s.as_bytes())).collect::<Vec<_>>(),
                "grants": e.grants,
                "scopes": e.scopes,
                "auth_methods": e.auth_methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "basic_encoding": format!("{:?}", c.basic_encoding).to_ascii_lowercase(),
                "token_lifetime_secs": crate::registry::lifetime(cfg, c).as_secs(),
                "token_rate_limit": c.token_limit.map(|l| l.to_string()),
                "api_rate_limit": c.api_limit.map(|l| l.to_string()),
                "access_keys": e.access_keys.iter().map(|k| serde_json::json!({"id": k.id, "secret": fingerprint(k.secret.as_bytes())})).collect::<Vec<_>>(),
                "tenant_id": e.tenant_id,
                "jwks": e.jwks.as_ref().map(|j| j.keys().iter().map(|k| serde_json::json!({
                    "kid": k.kid, "kty": k.key.kind(), "alg": k.alg, "x5t#S256": k.cert_thumbprint,
                })).collect::<Vec<_>>()),
                "tls_client_auth_subject_dn": e.tls_client_auth_subject_dn.as_ref().map(|d| d.as_str()),
                "tls_client_certificate_thumbprint": e.tls_client_certificate_thumbprint,
                "federated": e.federated.iter().map(|f| serde_json::json!({
                    "issuer": f.issuer, "subject": f.subject, "audience": f.audience, "kids": f.jwks.known(),
                })).collect::<Vec<_>>(),
                "audience_mode": e.audience_mode.as_str(),
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"flavor": cfg.flavor.as_str(), "token_format": if cfg.issues_jwt() { "jwt" } else { "opaque" }, "clients": clients}),
    )
}
