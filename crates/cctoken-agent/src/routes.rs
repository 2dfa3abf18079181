//! The agent's HTTP API: `GET /v1/token/{profile}`, `/healthz[?profile=NAME]`, `/metrics`.
//!
//! [`app`] has no access control: it is what the Unix socket serves, where the socket's
//! 0600 mode is the control. [`crate::guard`] puts the key and `Host` checks in front of it
//! for TCP. Token answers carry `Cache-Control: no-store`; errors are JSON
//! ([`ErrorResponse`]) and never contain a token or a secret.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use cctoken::agent::wire::{ErrorResponse, TokenResponse};
use cctoken::pool::PoolStats;

use crate::health;
use crate::registry::Registry;

/// Shared state of the routes: the registry and when the agent started.
#[derive(Debug, Clone)]
pub struct AgentState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    started: Instant,
}

impl AgentState {
    /// State over a filled registry.
    pub fn new(registry: Registry) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                started: Instant::now(),
            }),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }
}

/// The agent's routes, without access control (see [`crate::guard::tcp`] for TCP).
pub fn app(state: AgentState) -> Router {
    Router::new()
        .route("/v1/token/{profile}", get(token))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

/// A JSON error answer.
pub fn error_response(status: StatusCode, body: &ErrorResponse) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `?rejected=SHA8`: the consumer's API answered 401 to the token whose SHA-256 starts
/// with these 8 hex digits (its fingerprint, never the token).
#[derive(serde::Deserialize)]
struct TokenQuery {
    rejected: Option<String>,
}

async fn token(
    State(st): State<AgentState>,
    Path(name): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let reg = st.registry();
    let Some(profile) = reg.get(&name) else {
        if let Some(b) = reg.broken(&name) {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &ErrorResponse::from_error(&b.error),
            );
        }
        return error_response(StatusCode::NOT_FOUND, &unknown_profile(reg, &name));
    };
    profile.counters.served.fetch_add(1, Ordering::Relaxed);
    let clock = reg.clock();
    if let Some(rejected) = q.rejected.as_deref() {
        replace_rejected(profile, rejected).await;
    }
    match profile.token(clock).await {
        Ok(t) => {
            let api_base = profile.api_base(&t).await;
            let body = TokenResponse {
                access_token: t.access_token.expose_secret().into(),
                token_type: t.token_type.into(),
                expires_in: t.remaining(clock.now()).as_secs(),
                expires_at: humantime::format_rfc3339_seconds(t.expires_at()).to_string(),
                // Without a trailing `/`, as `get` and `exec` write it.
                api_base: api_base
                    .as_ref()
                    .map(|u| u.as_str().trim_end_matches('/').into()),
            };
            // Serialising a struct of strings and integers cannot fail.
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let mut r = Response::new(axum::body::Body::from(bytes));
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let mut r = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &ErrorResponse::from_error(&e),
            );
            if let Some(ra) = e.retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(ra.as_secs().max(1)));
            }
            r
        }
    }
}

/// Replace the profile's current token when it is the one a consumer's API rejected (a
/// revoked token): once, shared by every consumer reporting it. A report about another
/// token — one already replaced — changes nothing.
async fn replace_rejected(profile: &crate::registry::Profile, rejected: &str) {
    let Some(current) = profile.source.peek() else {
        return;
    };
    if !current
        .access_token
        .fingerprint()
        .sha256_prefix()
        .eq_ignore_ascii_case(rejected)
    {
        return;
    }
    tracing::info!(profile = %profile.name, "a consumer's API rejected the current token; replacing it");
    if let Err(e) = profile
        .source
        .invalidate_and_refresh(&current.access_token)
        .await
    {
        tracing::warn!(profile = %profile.name, "replacing the rejected token failed: {e}");
    }
}

fn unknown_profile(reg: &Registry, name: &str) -> ErrorResponse {
    let names: Vec<&str> = reg.profiles().iter().map(|p| &*p.name).take(20).collect();
    let more = reg.len().saturating_sub(names.len());
    let have = match (names.is_empty(), more) {
        (true, _) => "it serves no profiles".to_owned(),
        (false, 0) => format!("it serves: {}", names.join(", ")),
        (false, n) => format!("it serves: {} and {n} more", names.join(", ")),
    };
    let mut e = ErrorResponse::new(
        "unknown_profile",
        format!("this agent does not serve profile '{name}'; {have}"),
    );
    e.hint =
        Some("start the agent with --profile NAME, or add the profile to its config file".into());
    e
}

/// `/healthz?profile=NAME`: one profile only.
#[derive(serde::Deserialize)]
struct HealthQuery {
    profile: Option<String>,
}

/// Every configured profile's state (see [`crate::health`]); 503 when one cannot serve.
async fn healthz(State(st): State<AgentState>, Query(q): Query<HealthQuery>) -> Response {
    let reg = st.registry();
    if let Some(name) = q.profile {
        let Some(h) = health::one(reg, &name) else {
            return error_response(StatusCode::NOT_FOUND, &unknown_profile(reg, &name));
        };
        let (status, code) = health::overall([&h.state]);
        let body = serde_json::json!({ "status": status, "profile": name, "health": h });
        return with_no_store((code, axum::Json(body)).into_response());
    }
    let all = health::all(reg);
    let (status, code) = health::overall(all.iter().map(|(_, h)| &h.state));
    let count = |s: health::State| all.iter().filter(|(_, h)| h.state == s).count();
    let by_profile: serde_json::Map<String, serde_json::Value> = all
        .iter()
        .map(|(n, h)| (n.clone(), serde_json::to_value(h).unwrap_or_default()))
        .collect();
    let body = serde_json::json!({
        "status": status,
        "profiles": all.len(),
        "ok": count(health::State::Ok),
        "stale": count(health::State::Stale),
        "failing": count(health::State::Failing),
        "pending": count(health::State::Pending),
        "broken": count(health::State::Broken),
        "ready": count(health::State::Ok),
        "by_profile": by_profile,
        "uptime_seconds": st.inner.started.elapsed().as_secs(),
    });
    with_no_store((code, axum::Json(body)).into_response())
}

fn with_no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Prometheus label value escaping (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition of the registry's counters.
pub fn render_metrics(reg: &Registry, started: Instant) -> String {
    let now = reg.clock().now();
    let profiles = reg.profiles();
    let mut out = String::with_capacity(256 + profiles.len() * 300);
    let mut family =
        |name: &str,
         kind: &str,
         help: &str,
         value: &dyn Fn(&crate::registry::Profile) -> Option<String>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for p in &profiles {
                if let Some(v) = value(p) {
                    let _ = writeln!(out, "{name}{{profile=\"{}\"}} {v}", label(&p.name));
                }
            }
        };
    family(
        "cctoken_agent_refreshes_total",
        "counter",
        "Tokens obtained for the profile (from the token server or the shared cache).",
        &|p| Some(p.counters.refreshes.load(Ordering::Relaxed).to_string()),
    );
    family(
        "cctoken_agent_refresh_failures_total",
        "counter",
        "Failed attempts to obtain a token for the profile.",
        &|p| Some(p.counters.failures.load(Ordering::Relaxed).to_string()),
    );
    family(
        "cctoken_agent_consecutive_failures",
        "gauge",
        "Background refreshes that failed in a row (0 when the last one succeeded).",
        &|p| Some(p.source.consecutive_failures().to_string()),
    );
    family(
        "cctoken_agent_token_requests_total",
        "counter",
        "Token requests answered by the agent for the profile.",
        &|p| Some(p.counters.served.load(Ordering::Relaxed).to_string()),
    );
    family(
        "cctoken_agent_token_expiry_seconds",
        "gauge",
        "Seconds until the profile's current token expires (absent before the first token).",
        &|p| {
            p.counters.last_token().map(|t| {
                let left = t
                    .expires_at()
                    .duration_since(now)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or_else(|e| -e.duration().as_secs_f64());
                format!("{left:.3}")
            })
        },
    );
    pool_metrics(&mut out, &profiles);
    let _ = writeln!(
        out,
        "# HELP cctoken_agent_profiles Profiles the agent serves.\n# TYPE cctoken_agent_profiles gauge\ncctoken_agent_profiles {}",
        reg.len()
    );
    let _ = writeln!(
        out,
        "# HELP cctoken_agent_broken_profiles Configured profiles that cannot produce tokens.\n# TYPE cctoken_agent_broken_profiles gauge\ncctoken_agent_broken_profiles {}",
        reg.broken_names().len()
    );
    let _ = writeln!(
        out,
        "# HELP cctoken_agent_uptime_seconds Seconds since the agent started.\n# TYPE cctoken_agent_uptime_seconds gauge\ncctoken_agent_uptime_seconds {}",
        started.elapsed().as_secs()
    );
    out
}

/// Values of one family for one pool, each for a slot or for the whole pool.
type SlotRows = Vec<(Option<usize>, String)>;

/// The pools' families (SPEC §13): per-token window use, local refusals, upstream 429s.
fn pool_metrics(out: &mut String, profiles: &[&crate::registry::Profile]) {
    let stats: Vec<(String, PoolStats)> = profiles
        .iter()
        .map(|p| (label(&p.name), p.pool.stats()))
        .collect();
    let mut family = |name: &str, kind: &str, help: &str, rows: &dyn Fn(&PoolStats) -> SlotRows| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (p, st) in &stats {
            for (slot, v) in rows(st) {
                let _ = match slot {
                    Some(i) => writeln!(out, "{name}{{profile=\"{p}\",slot=\"{i}\"}} {v}"),
                    None => writeln!(out, "{name}{{profile=\"{p}\"}} {v}"),
                };
            }
        }
    };
    family(
        "cctoken_agent_pool_tokens",
        "gauge",
        "Tokens of the profile's pool that hold a usable token.",
        &|st| {
            vec![(
                None,
                st.slots.iter().filter(|s| s.has_token).count().to_string(),
            )]
        },
    );
    family(
        "cctoken_agent_pool_window_budget",
        "gauge",
        "Calls per token and window the pacer allows (90 % of api_rate_limit; absent without a limit).",
        &|st| st.budget.map(|b| (None, b.to_string())).into_iter().collect(),
    );
    family(
        "cctoken_agent_pool_window_calls",
        "gauge",
        "Calls in the current window of each token of the pool, reservations included.",
        &|st| {
            st.slots
                .iter()
                .enumerate()
                .map(|(i, s)| (Some(i), s.in_window.to_string()))
                .collect()
        },
    );
    family(
        "cctoken_agent_pool_local_refusals_total",
        "counter",
        "Proxied calls refused locally (429 from cctoken): no token had room within 2 s.",
        &|st| vec![(None, st.refused.to_string())],
    );
    family(
        "cctoken_agent_pool_upstream_429_total",
        "counter",
        "429 answers from the API to the pool's tokens.",
        &|st| vec![(None, st.throttled.to_string())],
    );
    family(
        "cctoken_agent_pool_waited_total",
        "counter",
        "Proxied calls that waited for a free slot before going out.",
        &|st| vec![(None, st.waited.to_string())],
    );
}

async fn metrics(State(st): State<AgentState>) -> Response {
    let text = render_metrics(st.registry(), st.inner.started);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        &ErrorResponse::new(
            "not_found",
            "no such endpoint; try GET /v1/token/{profile}, /healthz or /metrics",
        ),
    )
}
