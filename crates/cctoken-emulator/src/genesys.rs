//! The protected `/api/v2/*` surface: `tokens/me` (GET, HEAD, DELETE) with Genesys' rules.
//!
//! `GET /api/v2/tokens/me` answers the Genesys Cloud `TokenInfo` model in its wire form
//! (`organization`, `homeOrganization`, `authorizedScope`, `OAuthClient` as an
//! `OrgOAuthClient`), so the official SDKs deserialise it. `HEAD` verifies the token, `DELETE`
//! revokes the calling token. Every `/api/v2/*` request counts against its token's rolling
//! window when its client has an API rate limit (Genesys default `300/60s`, SPEC §13),
//! answered over the limit with Genesys' normalised 429 body and `Retry-After` in every
//! flavor. The other flavors answer authentication failures with RFC 6750 error bodies. No
//! other Genesys API exists here: other paths are authenticated, counted, then 404.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use axum::response::IntoResponse;

use crate::activity::Record;
use crate::config::Flavor;
use crate::fingerprint;
use crate::respond::{bearer_challenge, json, with_retry_after};
use crate::state::AppState;
use crate::tokens::{bearer_of, check_bearer, random_id, BearerError, TokenRecord};
use crate::window::{retry_after_secs, Verdict};

/// The emulated organization.
pub const ORG_ID: &str = "6d0c2d1e-3f1a-4c5b-9e8d-cc70ce0e0001";
/// Its name.
pub const ORG_NAME: &str = "cctoken emulator";
const CLIENT_CREATED: &str = "2024-01-01T00:00:00.000Z";

fn record(st: &AppState, client_id: Option<String>, outcome: &str, reason: String, status: u16) {
    st.record(Record {
        endpoint: "api",
        client_id,
        outcome: outcome.to_owned(),
        reason,
        status,
        ..Record::default()
    });
}

fn unauthorized(st: &AppState, e: BearerError) -> Response<Body> {
    record(st, None, "unauthorized", e.reason().to_owned(), 401);
    let r = match st.config().flavor {
        Flavor::Genesys => {
            let (message, code) = match e {
                BearerError::Missing => (
                    "No authentication bearer token specified in authorization header.",
                    "authentication.required",
                ),
                _ => ("Invalid login credentials.", "bad.credentials"),
            };
            json(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({ "message": message, "code": code, "status": 401 }),
            )
        }
        Flavor::Generic | Flavor::Cxone => json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({ "error": "invalid_token", "error_description": e.reason() }),
        ),
    };
    let error = (e != BearerError::Missing).then_some("invalid_token");
    bearer_challenge(r, error)
}

/// Authenticate and rate-limit an `/api/v2` request.
fn guard(st: &AppState, headers: &HeaderMap) -> Result<Arc<TokenRecord>, Response<Body>> {
    st.inner.stats.api.request();
    let now_ms = st.now_ms();
    let rec = check_bearer(&st.inner.tokens, headers, now_ms).map_err(|e| unauthorized(st, e))?;
    // Tokens are only issued to registered clients, and the registry never changes.
    let Some(client) = st.inner.registry.get(&rec.client_id) else {
        return Ok(rec);
    };
    client.api.request();
    let Some(limit) = client.api_limit else {
        return Ok(rec);
    };
    match rec.api_window.hit(now_ms, limit) {
        Verdict::Admitted { in_window, record } => {
            if record {
                st.inner.stats.api.window_record(in_window);
                client.api.window_record(in_window);
            }
            Ok(rec)
        }
        Verdict::Refused {
            retry_after_ms,
            in_window,
        } => {
            st.inner.stats.api.rate_limited();
            client.api.rate_limited();
            let token = bearer_of(headers).map(|t| fingerprint(t.as_bytes()));
            record(
                st,
                Some(rec.client_id.clone()),
                "rate_limited",
                format!(
                    "per-token API rate limit {limit} exceeded: {in_window} requests in the last {} with token {}; the oldest leaves the window in {retry_after_ms} ms",
                    humantime::format_duration(limit.window()),
                    token.unwrap_or_default(),
                ),
                429,
            );
            Err(too_many_requests(retry_after_secs(retry_after_ms)))
        }
    }
}

/// Genesys Cloud's normalised 429 (developer forum, "Normalized platform API 429
/// responses", 2021): `Retry-After`, a correlation id, and no `inin-ratelimit-*` headers,
/// which Genesys removed that year.
fn too_many_requests(retry_after: u64) -> Response<Body> {
    let context_id = context_id();
    let body = serde_json::json!({
        "message": format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"),
        "code": "too.many.requests.retry.after",
        "status": 429,
        "contextId": context_id,
        "details": [],
        "errors": [],
    });
    let mut r = with_retry_after(json(StatusCode::TOO_MANY_REQUESTS, &body), retry_after);
    if let Ok(v) = HeaderValue::from_str(&context_id) {
        r.headers_mut().insert("inin-correlation-id", v);
    }
    r
}

/// A random UUID (version 4 layout), as Genesys writes `contextId`.
fn context_id() -> String {
    let h = random_id();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn token_info(st: &AppState, rec: &TokenRecord) -> serde_json::Value {
    let client = st.inner.registry.get(&rec.client_id);
    let name = client
        .and_then(|c| c.entry.name.clone())
        .unwrap_or_else(|| rec.client_id.clone());
    let scopes: Vec<String> = match &rec.scope {
        Some(s) => s.split(' ').map(str::to_owned).collect(),
        None => client.map(|c| c.entry.scopes.clone()).unwrap_or_default(),
    };
    let org = serde_json::json!({ "id": ORG_ID, "name": ORG_NAME, "selfUri": format!("/api/v2/organizations/{ORG_ID}") });
    serde_json::json!({
        "organization": org,
        "homeOrganization": org,
        "authorizedScope": scopes,
        "OAuthClient": {
            "id": rec.client_id,
            "name": name,
            "dateCreated": CLIENT_CREATED,
            "authorizedGrantType": "CLIENT_CREDENTIALS",
            "state": "active",
            "organization": { "id": ORG_ID, "name": ORG_NAME },
            "selfUri": format!("/api/v2/oauth/clients/{}", rec.client_id),
        },
    })
}

/// `GET|HEAD|DELETE /api/v2/tokens/me`.
pub async fn tokens_me(
    State(st): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response<Body> {
    let rec = match guard(&st, &headers) {
        Ok(r) => r,
        Err(resp) => {
            return if method == Method::HEAD {
                strip_body(resp)
            } else {
                resp
            };
        }
    };
    let cid = Some(rec.client_id.clone());
    match method {
        Method::GET => {
            record(&st, cid, "ok", "tokens/me".into(), 200);
            json(StatusCode::OK, &token_info(&st, &rec))
        }
        Method::HEAD => {
            record(&st, cid, "ok", "tokens/me verified".into(), 200);
            StatusCode::OK.into_response()
        }
        Method::DELETE => {
            rec.revoke();
            record(
                &st,
                cid,
                "revoked",
                "tokens/me: calling token revoked".into(),
                204,
            );
            StatusCode::NO_CONTENT.into_response()
        }
        _ => json(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"message": "method not allowed", "code": "method.not.allowed", "status": 405}),
        ),
    }
}

/// Any other `/api/v2/*` path: authenticated and counted, then 404 in Genesys' shape.
pub async fn api_other(State(st): State<AppState>, headers: HeaderMap) -> Response<Body> {
    let rec = match guard(&st, &headers) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    record(
        &st,
        Some(rec.client_id.clone()),
        "not_found",
        "no such API in the emulator".into(),
        404,
    );
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"message": "The requested resource was not found.", "code": "not.found", "status": 404}),
    )
}

fn strip_body(r: Response<Body>) -> Response<Body> {
    let (parts, _) = r.into_parts();
    Response::from_parts(parts, Body::empty())
}
