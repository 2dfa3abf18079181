//! The token endpoint (RFC 6749 §4.4, §5.1, §5.2): `POST /oauth/token`, CXone `/auth/token`.
//!
//! One request goes: count it → read the body (bounded) → apply a queued fault, if any →
//! reject JSON and foreign content types → parse the form (duplicates are errors) →
//! authenticate the client → check grant, client's grants, rate limit → hand over to the
//! grant (client credentials in `grant`, password/refresh in `cxone`) → answer in the
//! flavor's shape, count it and log the exact reason. Scripted faults are rendered here too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::activity::{Outcome, Record};
use crate::auth::{authenticate, claimed_client_id, Presented};
use crate::config::{AuthMethod, Flavor};
use crate::faults::FaultKind;
use crate::form::{printable, Form};
use crate::grant::{client_credentials, Issued, Rejection};
use crate::keys::PeerCertificate;
use crate::registry::{implemented_grants, RegisteredClient};
use crate::respond::{html_page, json, json_bytes, oauth_error, with_retry_after};
use crate::server::ConnAbort;
use crate::state::AppState;
use crate::tokens::opaque_token;
use crate::window::{retry_after_secs, Verdict};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Response, StatusCode};
use axum::response::IntoResponse;

/// Parameters RFC 6749 (and RFC 8707 `resource`, the common `audience`) define per grant.
const COMMON: &[&str] = &[
    "grant_type",
    "scope",
    "client_id",
    "client_secret",
    "audience",
    "resource",
    "client_assertion",
    "client_assertion_type",
];

/// Who is asking, filled in as the request is understood.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub client_id: Option<String>,
    pub client: Option<Arc<RegisteredClient>>,
    pub method: Option<AuthMethod>,
    pub grant: Option<String>,
    pub notes: Vec<String>,
}

/// `POST /oauth/token` (and `/auth/token`).
pub async fn token(State(st): State<AppState>, req: Request) -> Response<Body> {
    st.inner
        .stats
        .token_requests
        .fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let mut ctx = Ctx::default();
    let body = match to_bytes(body, st.config().max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            let lim = st.config().max_body_bytes;
            let mut rej = Rejection::bad_request(
                "invalid_request",
                format!("body larger than {lim} bytes (or unreadable)"),
            );
            rej.status = StatusCode::PAYLOAD_TOO_LARGE;
            return finish(&st, ctx, Err(rej));
        }
    };
    let form = Form::parse(&body);
    ctx.client_id = claimed_client_id(&parts.headers, form.as_ref().unwrap_or(&Form::default()));

    if let Some(kind) = st.inner.faults.take(ctx.client_id.as_deref(), st.now()) {
        st.inner
            .stats
            .faults_applied
            .fetch_add(1, Ordering::Relaxed);
        match kind {
            FaultKind::Delay { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ctx.notes
                    .push(format!("delayed {ms} ms by a scripted fault"));
            }
            other => {
                let abort = parts.extensions.get::<ConnAbort>().cloned();
                return fault_reply(&st, ctx, other, abort).await;
            }
        }
    }
    let presented = Presented {
        st: &st,
        headers: &parts.headers,
        peer: parts.extensions.get::<PeerCertificate>(),
        path: parts.uri.path(),
    };
    let result = process(presented, &body, form, &mut ctx);
    finish(&st, ctx, result)
}

fn process(
    presented: Presented<'_>,
    body: &[u8],
    form: Result<Form, String>,
    ctx: &mut Ctx,
) -> Result<Issued, Rejection> {
    let (st, headers) = (presented.st, presented.headers);
    let flavor = st.config().flavor;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
    let looks_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{' || b == b'[');
    match ct.as_deref() {
        Some(c) if c.contains("json") => return Err(json_body()),
        None if looks_json => return Err(json_body()),
        Some(c) if !c.starts_with("application/x-www-form-urlencoded") => {
            return Err(Rejection::bad_request(
                "invalid_request",
                format!(
                    "Content-Type {} (expected application/x-www-form-urlencoded)",
                    printable(c)
                ),
            ))
        }
        _ => {}
    }
    let form = form.map_err(|e| Rejection::bad_request("invalid_request", e))?;
    let auth = authenticate(presented, &form).map_err(|f| {
        ctx.client_id = f.client_id.clone().or(ctx.client_id.take());
        ctx.method = f.method;
        let desc = match f.error {
            "invalid_client" => "client authentication failed".to_owned(),
            _ => f.reason.clone(),
        };
        let mut r = Rejection::new(f.status, f.error, desc, f.reason);
        r.challenge = f.challenge;
        r
    });
    let grant = form.get("grant_type").map(printable);
    ctx.grant = grant.clone();
    let known: Vec<&str> = COMMON
        .iter()
        .copied()
        .chain(
            match grant.as_deref() {
                Some("password") => &["username", "password"][..],
                Some("refresh_token") => &["refresh_token"][..],
                _ => &[][..],
            }
            .iter()
            .copied(),
        )
        .collect();
    let unknown = form.unknown(&known);
    if !unknown.is_empty() {
        ctx.notes
            .push(format!("unknown parameters: {}", unknown.join(", ")));
    }
    let auth = auth?;
    ctx.client_id = Some(auth.client.entry.id.clone());
    ctx.client = Some(Arc::clone(&auth.client));
    ctx.method = Some(auth.method);
    if let Some(n) = auth.note {
        ctx.notes.insert(0, n);
    }
    let cnf = auth.cnf;
    let client = auth.client;

    let grant =
        grant.ok_or_else(|| Rejection::bad_request("invalid_request", "missing grant_type"))?;
    if !implemented_grants(flavor).contains(&grant.as_str()) {
        let mut reason = format!("unsupported grant_type {grant}");
        if flavor == Flavor::Cxone && grant == "client_credentials" {
            reason.push_str(" (CXone back-end apps use the password grant with an access key)");
        }
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("unsupported grant_type {grant}"),
            reason,
        ));
    }
    if !client.has_grant(&grant) {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!("the client is not authorized to use grant {grant}"),
            format!("client lacks grant {grant}"),
        ));
    }
    if let Some(limit) = client.token_limit {
        if let Verdict::Refused { retry_after_ms, .. } = client.token_window.hit(st.now_ms(), limit)
        {
            return Err(Rejection::rate_limited(
                flavor,
                retry_after_secs(retry_after_ms),
                format!(
                    "per-client token rate limit {limit} exceeded: {} token requests in the last {}; the oldest leaves the window in {retry_after_ms} ms",
                    limit.max(),
                    humantime::format_duration(limit.window()),
                ),
            ));
        }
    }
    let base = st.base_for(headers);
    match grant.as_str() {
        "client_credentials" => client_credentials(st, &base, &client, &form, cnf),
        "password" => crate::cxone::password_grant(st, &base, &client, &form),
        _ => crate::cxone::refresh_grant(st, &base, &client, &form),
    }
}

fn json_body() -> Rejection {
    Rejection::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the token endpoint takes an application/x-www-form-urlencoded body, not JSON",
        "JSON body",
    )
}

fn finish(st: &AppState, ctx: Ctx, result: Result<Issued, Rejection>) -> Response<Body> {
    let flavor = st.config().flavor;
    let stats = &st.inner.stats;
    let (response, outcome, mut reason, status) = match result {
        Ok(issued) => {
            stats.tokens_issued.fetch_add(1, Ordering::Relaxed);
            let mut reason = format!(
                "issued {} token, expires_in {}",
                if st.config().issues_jwt() {
                    "JWT"
                } else {
                    "opaque"
                },
                issued.expires_in
            );
            if let Some(s) = &issued.scope {
                reason.push_str(&format!(", scope {s:?}"));
            }
            let body = serde_json::to_vec(&issued).unwrap_or_default();
            (
                json_bytes(StatusCode::OK, body),
                Outcome::Issued,
                reason,
                200,
            )
        }
        Err(rej) => (
            rej.render(flavor),
            rej.outcome,
            rej.reason,
            rej.status.as_u16(),
        ),
    };
    for n in &ctx.notes {
        reason.push_str("; ");
        reason.push_str(n);
    }
    count(st, &ctx, outcome);
    st.record(Record {
        endpoint: "token",
        client_id: ctx.client_id,
        outcome: outcome.as_str().to_owned(),
        reason,
        status,
        grant_type: ctx.grant,
        auth_method: ctx.method.map(AuthMethod::as_str),
    });
    response
}

fn count(st: &AppState, ctx: &Ctx, outcome: Outcome) {
    st.inner.stats.outcomes.add(outcome);
    let client = ctx.client.clone().or_else(|| {
        ctx.client_id
            .as_deref()
            .and_then(|id| st.inner.registry.get(id).cloned())
    });
    match client {
        Some(c) => c.counters.add(outcome),
        None => st.inner.stats.unknown_client.add(outcome),
    }
}

async fn fault_reply(
    st: &AppState,
    ctx: Ctx,
    kind: FaultKind,
    abort: Option<ConnAbort>,
) -> Response<Body> {
    let flavor = st.config().flavor;
    let (response, status) = match kind {
        FaultKind::Status { status } => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let code = if s == StatusCode::SERVICE_UNAVAILABLE {
                "temporarily_unavailable"
            } else {
                "server_error"
            };
            (
                oauth_error(
                    flavor,
                    s,
                    code,
                    &format!("scripted fault: HTTP {status}"),
                    false,
                ),
                status,
            )
        }
        FaultKind::RateLimit { retry_after } => {
            let body = serde_json::json!({ "error": "rate_limited", "error_description": "too many requests", "message": "Rate limit exceeded", "status": 429 });
            (
                with_retry_after(json(StatusCode::TOO_MANY_REQUESTS, &body), retry_after),
                429,
            )
        }
        FaultKind::Html { status } => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (html_page(s), status)
        }
        FaultKind::Truncate => {
            let body = format!(
                r#"{{"access_token":"{}","token_type":"Bearer","expires_in":36"#,
                &opaque_token()[..20]
            );
            (json_bytes(StatusCode::OK, body.into_bytes()), 200)
        }
        FaultKind::TokenRateLimit { retry_after } => {
            let rej = Rejection::rate_limited(flavor, retry_after, "");
            (rej.render(flavor), rej.status.as_u16())
        }
        FaultKind::Reset => match &abort {
            Some(_) => (StatusCode::OK.into_response(), 0),
            None => (
                oauth_error(
                    flavor,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "reset fault needs the emulator's own listener",
                    false,
                ),
                500,
            ),
        },
        FaultKind::Delay { .. } => (StatusCode::OK.into_response(), 200), // handled by the caller
    };
    count(st, &ctx, Outcome::Fault);
    st.record(Record {
        endpoint: "token",
        client_id: ctx.client_id,
        outcome: Outcome::Fault.as_str().to_owned(),
        reason: format!("scripted fault: {}", kind.name()),
        status,
        grant_type: None,
        auth_method: None,
    });
    if let (FaultKind::Reset, Some(a)) = (kind, abort) {
        a.trigger();
        // The connection task drops this future together with the connection.
        std::future::pending::<()>().await;
    }
    response
}
