//! What `/healthz` reports: every configured profile's state, and whether the agent can
//! serve all of them.
//!
//! A profile is in one of five [`State`]s, judged from what a consumer asking now would
//! get: `ok` (a token with the safety margin left), `stale` (no fresh token, but the last
//! one has not expired and is being served while the token server fails), `failing`
//! (nothing valid to give: the last attempt failed), `pending` (no attempt has finished
//! yet; a consumer asking now waits for the first one) and `broken` (not configured, e.g. a
//! missing secret). `failing` and `broken` profiles cannot serve: the answer is then HTTP
//! 503, so a readiness probe or a monitor sees it. Errors appear as their kind, class and
//! one-line message — the library's errors never hold a secret or a token — and never with
//! the token itself. This module only judges; [`crate::routes`] answers.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use cctoken::error::{Class, Error};
use serde::Serialize;

use crate::registry::{Profile, Registry};

/// The state of one profile (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A token with the safety margin left.
    Ok,
    /// Serving the last token, still valid but inside the margin, while refreshes fail.
    Stale,
    /// Nothing valid to serve; the last attempt failed.
    Failing,
    /// No attempt has finished yet.
    Pending,
    /// Not configured (a configuration error).
    Broken,
}

impl State {
    /// True when a consumer asking now gets a token.
    pub fn can_serve(self) -> bool {
        !matches!(self, Self::Failing | Self::Broken)
    }
}

/// An error as `/healthz` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorSummary {
    /// The error kind (`invalid_client`, `server_error`, `config`, ...).
    pub kind: &'static str,
    /// `config`, `permanent` or `transient`.
    pub class: &'static str,
    /// What happened, in one line (no secret: library errors hold none).
    pub message: String,
    /// HTTP status of the token server's answer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// Seconds the server asked to wait, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorSummary {
    fn of(e: &Error) -> Self {
        Self {
            kind: e.kind.as_str(),
            class: match e.class {
                Class::Config => "config",
                Class::Permanent => "permanent",
                Class::Transient => "transient",
            },
            message: e.message.clone(),
            upstream_status: e.status,
            retry_after: e.retry_after.map(|d| d.as_secs().max(1)),
        }
    }
}

/// One profile's health.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileHealth {
    /// The state.
    pub state: State,
    /// Whole seconds the token served now stays valid, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// The last failure (cleared by the next success): why a profile is `failing`,
    /// `stale` or `broken`, or a failed refresh-ahead of an `ok` one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSummary>,
}

/// Judge one served profile at `now`.
pub fn of_profile(p: &Profile, now: SystemTime) -> ProfileHealth {
    let error = p.counters.last_error().map(|e| ErrorSummary::of(&e));
    if let Some(t) = p.source.peek() {
        return ProfileHealth {
            state: State::Ok,
            expires_in: Some(t.remaining(now).as_secs()),
            error,
        };
    }
    // What `Profile::token` falls back to while the server fails.
    let last = p
        .counters
        .last_token()
        .filter(|t| t.remaining(now) >= Duration::from_secs(1));
    let state = match (&last, &error) {
        (Some(_), _) => State::Stale,
        (None, Some(_)) => State::Failing,
        (None, None) => State::Pending,
    };
    ProfileHealth {
        state,
        expires_in: last.map(|t| t.remaining(now).as_secs()),
        error,
    }
}

/// A profile that could not be configured.
pub fn of_broken(e: &Error) -> ProfileHealth {
    ProfileHealth {
        state: State::Broken,
        expires_in: None,
        error: Some(ErrorSummary::of(e)),
    }
}

/// Every configured profile's health, by name (served and broken, sorted).
pub fn all(reg: &Registry) -> Vec<(String, ProfileHealth)> {
    let now = reg.clock().now();
    let mut out: Vec<(String, ProfileHealth)> = reg
        .profiles()
        .into_iter()
        .map(|p| (p.name.to_string(), of_profile(p, now)))
        .collect();
    for name in reg.broken_names() {
        if let Some(b) = reg.broken(name) {
            out.push((name.to_owned(), of_broken(&b.error)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// One profile's health, `None` when the agent does not know it.
pub fn one(reg: &Registry, name: &str) -> Option<ProfileHealth> {
    if let Some(p) = reg.get(name) {
        return Some(of_profile(p, reg.clock().now()));
    }
    reg.broken(name).map(|b| of_broken(&b.error))
}

/// The overall word and HTTP status for a set of states: `failing` (503) when a profile's
/// token requests fail, else `broken` (503) when one is not configured — the word says
/// which of the two to look at —, else `degraded` when one serves a stale token,
/// `starting` while one has no answer yet, `ok` otherwise.
pub fn overall<'a>(states: impl IntoIterator<Item = &'a State>) -> (&'static str, StatusCode) {
    let (mut stale, mut pending, mut broken) = (false, false, false);
    for s in states {
        match s {
            State::Failing => return ("failing", StatusCode::SERVICE_UNAVAILABLE),
            State::Broken => broken = true,
            State::Stale => stale = true,
            State::Pending => pending = true,
            State::Ok => {}
        }
    }
    if broken {
        return ("broken", StatusCode::SERVICE_UNAVAILABLE);
    }
    match (stale, pending) {
        (true, _) => ("degraded", StatusCode::OK),
        (false, true) => ("starting", StatusCode::OK),
        (false, false) => ("ok", StatusCode::OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_profile_that_cannot_serve_makes_it_503() {
        use State::*;
        assert_eq!(overall(&[Ok, Ok]), ("ok", StatusCode::OK));
        assert_eq!(overall(&[] as &[State]), ("ok", StatusCode::OK));
        assert_eq!(overall(&[Ok, Pending]), ("starting", StatusCode::OK));
        assert_eq!(overall(&[Pending, Stale]), ("degraded", StatusCode::OK));
        for (bad, word) in [(Failing, "failing"), (Broken, "broken")] {
            assert_eq!(
                overall(&[Ok, Stale, bad]),
                (word, StatusCode::SERVICE_UNAVAILABLE)
            );
        }
        // A failing profile is the one to look at first.
        assert_eq!(
            overall(&[Broken, Failing]),
            ("failing", StatusCode::SERVICE_UNAVAILABLE)
        );
    }
}
