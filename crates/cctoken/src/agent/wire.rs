//! What goes over the wire: the JSON bodies of `GET /v1/token/{profile}` and of errors.
//!
//! Shared by the server (the `cctoken-agent` crate) and by clients ([`super::client`]), so
//! both sides agree on field names. Only [`TokenResponse::access_token`] is secret; errors
//! never carry one. The server borrows its strings; clients read owned ones.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// `GET /v1/token/{profile}` → 200.
#[derive(Serialize, Deserialize)]
pub struct TokenResponse<'a> {
    /// The access token.
    pub access_token: Cow<'a, str>,
    /// `Bearer`.
    pub token_type: Cow<'a, str>,
    /// Whole seconds the token stays valid from now.
    pub expires_in: u64,
    /// When it expires, RFC 3339 (UTC, seconds), as `cctoken get --json` prints it.
    pub expires_at: String,
    /// The profile's API base, when the agent knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<Cow<'a, str>>,
}

impl std::fmt::Debug for TokenResponse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// Any error answer: 400, 401, 403, 404, 502, 503.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error kind: the library's kinds (`invalid_client`, `server_error`, ...) or the
    /// agent's own (`unknown_profile`, `unauthorized`, `forbidden_host`, `bad_gateway`).
    pub error: String,
    /// `config`, `permanent` or `transient` for token errors: how a client should react.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// What happened, in one line.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// HTTP status the token server answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// Seconds to wait before retrying, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorResponse {
    /// An agent error without a library error behind it.
    pub fn new(error: &str, message: impl Into<String>) -> Self {
        Self {
            error: error.to_owned(),
            class: None,
            message: message.into(),
            hint: None,
            upstream_status: None,
            retry_after: None,
        }
    }

    /// The wire form of a library error (which holds no secrets by construction).
    pub fn from_error(e: &crate::Error) -> Self {
        use crate::error::Class;
        Self {
            error: e.kind.as_str().to_owned(),
            class: Some(
                match e.class {
                    Class::Config => "config",
                    Class::Permanent => "permanent",
                    Class::Transient => "transient",
                }
                .to_owned(),
            ),
            message: e.message.clone(),
            hint: e.hint.clone(),
            upstream_status: e.status,
            retry_after: e.retry_after.map(|d| d.as_secs().max(1)),
        }
    }

    /// Back to a library error (for clients), so exit codes follow SPEC §5.
    pub fn to_error(&self) -> crate::Error {
        use crate::error::{Class, ErrorKind};
        let kind = ErrorKind::from_name(&self.error).unwrap_or(ErrorKind::Config);
        let class = match self.class.as_deref() {
            Some("permanent") => Class::Permanent,
            Some("transient") => Class::Transient,
            _ => Class::Config,
        };
        crate::Error {
            kind,
            class,
            status: self.upstream_status,
            hint: self.hint.clone(),
            retry_after: self.retry_after.map(std::time::Duration::from_secs),
            ..crate::Error::config(format!("from the agent: {}", self.message))
        }
    }
}
