//! The CXone flavor: access-key password grant, refresh grant, tenant lookup, a protected API.
//!
//! CXone back-end apps authenticate as the registered app (Basic or post) and present an API
//! user's access key as `username`/`password` (SPEC §2). Answers carry a JWT access token, an
//! opaque refresh token (rotated on use) and an id_token, both JWTs with `tenantId`.
//! `/.well-known/cxone-configuration?tenantId=` tells where the tenant's API lives — here, the
//! emulator itself. Client authentication and the request pipeline are in
//! [`crate::token_endpoint`]; this module only implements the grants and the two GETs.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Response, StatusCode};

use crate::activity::Record;
use crate::fingerprint;
use crate::form::{printable, Form};
use crate::grant::{granted_scope, issue_access, token_type, Grant, Issued, Rejection};
use crate::registry::{lifetime, RegisteredClient};
use crate::respond::{bearer_challenge, json};
use crate::state::AppState;
use crate::tokens::{check_bearer, opaque_token, random_id, TokenKind, TokenRecord};

const REFRESH_LIFETIME_FACTOR: u64 = 24;

fn invalid_grant(description: &str, reason: impl Into<String>) -> Rejection {
    Rejection::new(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        description,
        reason,
    )
}

/// `grant_type=password&username=<access key id>&password=<access key secret>`.
pub(crate) fn password_grant(
    st: &AppState,
    base: &str,
    client: &RegisteredClient,
    form: &Form,
) -> Result<Issued, Rejection> {
    let key_id = form.get("username").ok_or_else(|| {
        Rejection::bad_request("invalid_request", "missing username (the access key id)")
    })?;
    let secret = form.get("password").ok_or_else(|| {
        Rejection::bad_request(
            "invalid_request",
            "missing password (the access key secret)",
        )
    })?;
    let Some(key) = st.inner.registry.key(key_id) else {
        return Err(invalid_grant(
            "invalid username or password",
            format!("unknown access key {}", printable(key_id)),
        ));
    };
    if key.secret != secret {
        let mut reason = format!(
            "access key secret mismatch: presented fingerprint {}, expected {}",
            fingerprint(secret.as_bytes()),
            fingerprint(key.secret.as_bytes())
        );
        if secret.contains(' ') && key.secret.contains('+') {
            reason.push_str("; a '+' sent unencoded in a form body decodes as a space");
        }
        return Err(invalid_grant("invalid username or password", reason));
    }
    let tenant = key
        .tenant_id
        .clone()
        .or_else(|| client.entry.tenant_id.clone());
    let scope = cxone_scope(client, form.get("scope"))?;
    Ok(issue(
        st,
        base,
        client,
        &format!("user:{key_id}"),
        tenant,
        Some(key_id.to_owned()),
        scope,
    ))
}

/// `grant_type=refresh_token&refresh_token=...`; the old refresh token is revoked (rotation).
pub(crate) fn refresh_grant(
    st: &AppState,
    base: &str,
    client: &RegisteredClient,
    form: &Form,
) -> Result<Issued, Rejection> {
    let rt = form
        .get("refresh_token")
        .ok_or_else(|| Rejection::bad_request("invalid_request", "missing refresh_token"))?;
    let rec = st
        .inner
        .tokens
        .get(rt)
        .filter(|r| r.kind == TokenKind::Refresh)
        .ok_or_else(|| invalid_grant("invalid refresh token", "unknown refresh token"))?;
    if rec.client_id != client.entry.id {
        return Err(invalid_grant(
            "invalid refresh token",
            "refresh token was issued to another client",
        ));
    }
    if let Some(why) = rec.inactive_reason(st.now_ms()) {
        return Err(invalid_grant(
            "invalid refresh token",
            format!("refresh {why}"),
        ));
    }
    rec.revoke();
    let scope = match form.get("scope") {
        Some(s) => cxone_scope(client, Some(s))?,
        None => rec.scope.clone(),
    };
    Ok(issue(
        st,
        base,
        client,
        &rec.sub,
        rec.tenant_id.clone(),
        rec.access_key_id.clone(),
        scope,
    ))
}

fn cxone_scope(
    client: &RegisteredClient,
    requested: Option<&str>,
) -> Result<Option<String>, Rejection> {
    if client.entry.scopes.is_empty() {
        // Apps without a configured scope list take what they ask for (e.g. `openid`).
        return Ok(requested
            .map(|s| s.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty()));
    }
    granted_scope(client, requested)
}

fn issue(
    st: &AppState,
    base: &str,
    client: &RegisteredClient,
    sub: &str,
    tenant_id: Option<String>,
    access_key_id: Option<String>,
    scope: Option<String>,
) -> Issued {
    let g = Grant {
        client,
        scope: scope.clone(),
        sub: sub.to_owned(),
        tenant_id: tenant_id.clone(),
        access_key_id: access_key_id.clone(),
        audience: None,
        cnf: None,
    };
    let (access_token, expires_in) = issue_access(st, base, &g);
    let now = st.now_ms();
    let refresh_token = opaque_token();
    let refresh_ttl = lifetime(st.config(), client).as_secs().max(1) * REFRESH_LIFETIME_FACTOR;
    let mut rec = TokenRecord::new(
        TokenKind::Refresh,
        &client.entry.id,
        sub,
        now,
        now.saturating_add(refresh_ttl.saturating_mul(1000)),
    );
    rec.scope = scope.clone();
    rec.tenant_id = tenant_id.clone();
    rec.access_key_id = access_key_id;
    st.inner.tokens.insert(&refresh_token, rec, now);
    let mut claims = serde_json::json!({
        "iss": base,
        "sub": sub,
        "aud": client.entry.id,
        // Whole seconds: `iat` rounded down, `exp` rounded up (as for the access token).
        "exp": (now + expires_in * 1000).div_ceil(1000),
        "iat": now / 1000,
        "jti": random_id(),
    });
    if let Some(t) = &tenant_id {
        claims["tenantId"] = t.clone().into();
    }
    let id_token = st.inner.signer.sign("JWT", &claims);
    Issued {
        access_token,
        token_type: token_type(st.config().flavor),
        expires_in,
        scope,
        refresh_token: Some(refresh_token),
        id_token: Some(id_token),
    }
}

/// `GET /.well-known/cxone-configuration?tenantId=...`
pub async fn cxone_configuration(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response<Body> {
    let base = st.base_for(&headers);
    let Some(tenant) = q.get("tenantId").filter(|t| !t.is_empty()) else {
        return json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "invalid_request", "error_description": "missing tenantId"}),
        );
    };
    let Some(area) = st.inner.registry.tenant_area(tenant) else {
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "not_found", "error_description": "unknown tenantId"}),
        );
    };
    json(
        StatusCode::OK,
        &serde_json::json!({
            "tenantId": tenant,
            "area": area,
            "api_endpoint": base,
            "auth_endpoint": base,
            "ui_endpoint": base,
            "cluster": area.to_ascii_uppercase(),
        }),
    )
}

/// `GET /inContactAPI/services/{version}/server-time` (Bearer).
pub async fn server_time(State(st): State<AppState>, headers: HeaderMap) -> Response<Body> {
    st.inner.stats.api.request();
    match check_bearer(&st.inner.tokens, &headers, st.now_ms()) {
        Ok(rec) => {
            if let Some(c) = st.inner.registry.get(&rec.client_id) {
                c.api.request();
            }
            st.record(Record {
                endpoint: "api",
                client_id: Some(rec.client_id.clone()),
                outcome: "ok".into(),
                reason: "server-time".into(),
                status: 200,
                ..Record::default()
            });
            let now = humantime::format_rfc3339_millis(st.now()).to_string();
            json(StatusCode::OK, &serde_json::json!({ "ServerTime": now }))
        }
        Err(e) => {
            st.record(Record {
                endpoint: "api",
                outcome: "unauthorized".into(),
                reason: e.reason().into(),
                status: 401,
                ..Record::default()
            });
            let body =
                serde_json::json!({"error": "invalid_token", "error_description": e.reason()});
            bearer_challenge(json(StatusCode::UNAUTHORIZED, &body), Some("invalid_token"))
        }
    }
}
