//! Token introspection (RFC 7662) and revocation (RFC 7009).
//!
//! Both endpoints take a form body with `token` (and an optional `token_type_hint`) and
//! require client authentication exactly like the token endpoint. Introspection answers
//! `{"active":false}` for anything unknown, expired or revoked; revocation answers 200 even
//! for unknown tokens (RFC 7009 §2.2). A token issued to another client is reported inactive
//! and not revoked — the emulator does not act as a cross-client oracle.

use std::sync::atomic::Ordering;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Response, StatusCode};
use axum::response::IntoResponse;

use crate::activity::Record;
use crate::auth::{authenticate, AuthOk, Presented};
use crate::config::AuthMethod;
use crate::form::Form;
use crate::keys::PeerCertificate;
use crate::respond::{json, oauth_error};
use crate::state::AppState;
use crate::tokens::TokenKind;

async fn read_form(st: &AppState, req: Request) -> Result<(Parts, Form), (Response<Body>, String)> {
    let flavor = st.config().flavor;
    let (parts, body) = req.into_parts();
    let bad = |status: StatusCode, text: String| {
        (
            oauth_error(flavor, status, "invalid_request", &text, false),
            text,
        )
    };
    let body = to_bytes(body, st.config().max_body_bytes)
        .await
        .map_err(|_| {
            bad(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large or unreadable".into(),
            )
        })?;
    let is_json = parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .to_ascii_lowercase()
            .contains("json")
    });
    if is_json {
        return Err(bad(StatusCode::BAD_REQUEST, "JSON body".into()));
    }
    let form = Form::parse(&body).map_err(|e| bad(StatusCode::BAD_REQUEST, e))?;
    Ok((parts, form))
}

fn auth(
    st: &AppState,
    endpoint: &'static str,
    parts: &Parts,
    form: &Form,
) -> Result<AuthOk, Response<Body>> {
    let presented = Presented {
        st,
        headers: &parts.headers,
        peer: parts.extensions.get::<PeerCertificate>(),
        path: parts.uri.path(),
    };
    authenticate(presented, form).map_err(|f| {
        st.record(Record {
            endpoint,
            client_id: f.client_id.clone(),
            outcome: f.error.to_owned(),
            reason: f.reason.clone(),
            status: f.status.as_u16(),
            auth_method: f.method.map(AuthMethod::as_str),
            ..Record::default()
        });
        let desc = if f.error == "invalid_client" {
            "client authentication failed"
        } else {
            f.reason.as_str()
        };
        oauth_error(st.config().flavor, f.status, f.error, desc, f.challenge)
    })
}

/// What both endpoints need from a request: an authenticated caller and a `token`.
struct TokenRequest {
    headers: HeaderMap,
    caller: String,
    method: Option<&'static str>,
    token: String,
}

/// Read the form, authenticate the client and require `token`, recording every refusal
/// in the activity log under `endpoint`.
async fn token_request(
    st: &AppState,
    endpoint: &'static str,
    req: Request,
) -> Result<TokenRequest, Response<Body>> {
    let (parts, form) = read_form(st, req).await.map_err(|(resp, reason)| {
        st.record(Record {
            endpoint,
            outcome: "invalid_request".into(),
            reason,
            status: resp.status().as_u16(),
            ..Record::default()
        });
        resp
    })?;
    let ok = auth(st, endpoint, &parts, &form)?;
    let headers = parts.headers;
    let caller = ok.client.entry.id.clone();
    let method = Some(ok.method.as_str());
    let Some(token) = form.get("token") else {
        st.record(Record {
            endpoint,
            client_id: Some(caller),
            outcome: "invalid_request".into(),
            reason: "missing token".into(),
            status: 400,
            auth_method: method,
            ..Record::default()
        });
        return Err(oauth_error(
            st.config().flavor,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing token",
            false,
        ));
    };
    let token = token.to_owned();
    Ok(TokenRequest {
        headers,
        caller,
        method,
        token,
    })
}

/// `POST /oauth/introspect`.
pub async fn introspect(State(st): State<AppState>, req: Request) -> Response<Body> {
    st.inner
        .stats
        .introspections
        .fetch_add(1, Ordering::Relaxed);
    let TokenRequest {
        headers,
        caller,
        method,
        token,
    } = match token_request(&st, "introspect", req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let token = token.as_str();
    let now = st.now_ms();
    let (body, reason) = match st.inner.tokens.get(token) {
        None => (
            serde_json::json!({"active": false}),
            "unknown token".to_owned(),
        ),
        Some(rec) if rec.client_id != caller => (
            serde_json::json!({"active": false}),
            "token of another client".to_owned(),
        ),
        Some(rec) => match rec.inactive_reason(now) {
            Some(why) => (serde_json::json!({"active": false}), why.to_owned()),
            None => {
                let mut v = serde_json::json!({
                    "active": true,
                    "client_id": rec.client_id,
                    "token_type": match rec.kind { TokenKind::Access => "Bearer", TokenKind::Refresh => "refresh_token" },
                    "exp": rec.exp_secs(),
                    "iat": rec.iat_secs(),
                    "sub": rec.sub,
                    "iss": st.base_for(&headers),
                });
                if let Some(s) = &rec.scope {
                    v["scope"] = s.clone().into();
                }
                if let Some(t) = &rec.tenant_id {
                    v["tenantId"] = t.clone().into();
                }
                if let Some(x5t) = &rec.cnf_x5t {
                    v["cnf"] = serde_json::json!({ "x5t#S256": x5t });
                }
                (v, "active".to_owned())
            }
        },
    };
    let outcome = if body["active"] == true {
        "active"
    } else {
        "inactive"
    };
    st.record(Record {
        endpoint: "introspect",
        client_id: Some(caller),
        outcome: outcome.into(),
        reason,
        status: 200,
        auth_method: method,
        ..Record::default()
    });
    json(StatusCode::OK, &body)
}

/// `POST /oauth/revoke`.
pub async fn revoke(State(st): State<AppState>, req: Request) -> Response<Body> {
    st.inner.stats.revocations.fetch_add(1, Ordering::Relaxed);
    let TokenRequest {
        caller,
        method,
        token,
        ..
    } = match token_request(&st, "revoke", req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let token = token.as_str();
    let reason = match st.inner.tokens.get(token) {
        None => "unknown token (200 as RFC 7009 §2.2 says)".to_owned(),
        Some(rec) if rec.client_id != caller => "token of another client: not revoked".to_owned(),
        Some(rec) => {
            rec.revoke();
            "revoked".to_owned()
        }
    };
    st.record(Record {
        endpoint: "revoke",
        client_id: Some(caller),
        outcome: "ok".into(),
        reason,
        status: 200,
        auth_method: method,
        ..Record::default()
    });
    StatusCode::OK.into_response()
}
