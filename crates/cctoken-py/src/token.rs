//! `cctoken.Token`: an access token as Python sees it.
//!
//! The token text is an ordinary `str` (`access_token`, and `headers()` on the source):
//! those two are the only Python-visible strings that hold it. Everything else — `repr`,
//! errors, logs — shows its fingerprint. A `Token` is immutable and built once per token a
//! source holds, so the hot path of `TokenSource.token()` returns the same object again.

use std::time::{SystemTime, UNIX_EPOCH};

use cctoken::source::Origin;
use cctoken::token::Token;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The `Token.source` name of an origin (SPEC §12).
pub fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Server => "network",
        Origin::Cache => "cache",
        Origin::Agent => "agent",
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// An access token with its lifetime and where it came from.
#[pyclass(module = "cctoken", name = "Token", frozen)]
pub struct PyToken {
    access_token: Py<PyString>,
    authorization: Py<PyString>,
    token_type: &'static str,
    expires_at: f64,
    scope: Option<String>,
    source: &'static str,
    fingerprint: String,
}

impl PyToken {
    /// The Python view of `token`, which came from `origin`.
    pub fn new(py: Python<'_>, token: &Token, origin: Origin) -> Self {
        let text = token.access_token.expose_secret();
        Self {
            access_token: PyString::new(py, text).unbind(),
            authorization: PyString::new(py, &format!("{} {text}", token.token_type)).unbind(),
            token_type: token.token_type,
            expires_at: unix(token.expires_at()),
            scope: token.scope.as_deref().map(str::to_owned),
            source: origin_name(origin),
            fingerprint: token.access_token.fingerprint().to_string(),
        }
    }

    /// Whether this is the Python view of `token`.
    pub fn is(&self, py: Python<'_>, token: &Token) -> bool {
        self.access_token
            .bind(py)
            .to_str()
            .is_ok_and(|s| s == token.access_token.expose_secret())
    }

    /// `Bearer <token>`, the value of the `Authorization` header.
    pub fn authorization(&self, py: Python<'_>) -> Py<PyString> {
        self.authorization.clone_ref(py)
    }
}

#[pymethods]
impl PyToken {
    /// The access token itself. Send it only to the API it was issued for.
    #[getter]
    fn access_token(&self, py: Python<'_>) -> Py<PyString> {
        self.access_token.clone_ref(py)
    }

    /// Always ``"Bearer"``.
    #[getter]
    fn token_type(&self) -> &'static str {
        self.token_type
    }

    /// When the token expires, in POSIX seconds.
    #[getter]
    fn expires_at(&self) -> f64 {
        self.expires_at
    }

    /// Seconds left until the token expires (0.0 once it has).
    #[getter]
    fn expires_in(&self) -> f64 {
        (self.expires_at - unix(SystemTime::now())).max(0.0)
    }

    /// The granted scope, when the server said.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Where the token came from: ``"network"``, ``"cache"`` or ``"agent"``.
    #[getter]
    fn source(&self) -> &'static str {
        self.source
    }

    /// ``len=N sha256:XXXXXXXX`` of the access token: compare tokens without showing them.
    #[getter]
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn __repr__(&self) -> String {
        let scope = match &self.scope {
            Some(s) => format!("{s:?}"),
            None => "None".to_owned(),
        };
        format!(
            "<cctoken.Token {} expires_in={:.0}s scope={scope} source={:?} access_token=<{}>>",
            self.token_type,
            self.expires_in(),
            self.source,
            self.fingerprint
        )
    }
}
