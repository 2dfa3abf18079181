//! The error taxonomy of SPEC §5: what went wrong, whether retrying can help, and a hint
//! in plain words naming the likely causes for the provider at hand.
//!
//! An [`Error`] never holds a secret, a token or a raw response body: server messages are
//! kept only as a short, sanitised excerpt ([`excerpt`]), and secrets appear as
//! fingerprints. The binary maps [`Class`] to exit codes; this module does not print.
//! The hints themselves are the providers' ([`crate::provider::ProviderKind::hint`]);
//! [`crate::client::Client`] attaches them, so this module knows no provider.

use std::fmt;
use std::time::Duration;

use crate::secret::Fingerprint;

/// What kind of failure this is (RFC 6749 §5.2 codes plus transport-level kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// HTTP 429 or a provider's own rate-limit answer.
    RateLimited,
    /// HTTP 5xx or `server_error` / `temporarily_unavailable`.
    ServerError,
    /// HTML, non-JSON, truncated JSON, wrong types, a 2xx without a token.
    UnexpectedResponse,
    /// DNS, TLS, connect, reset, timeout.
    Transport,
    /// Bad configuration or input, detected before anything was sent.
    Config,
}

impl ErrorKind {
    /// Every kind, for mapping names back ([`ErrorKind::from_name`]).
    pub const ALL: [ErrorKind; 11] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::InvalidScope,
        Self::RateLimited,
        Self::ServerError,
        Self::UnexpectedResponse,
        Self::Transport,
        Self::Config,
    ];

    /// The kind whose [`ErrorKind::as_str`] is `name` (the inverse, e.g. for errors that
    /// crossed a process boundary as JSON).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The stable snake_case name (`invalid_client`, `transport`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::UnexpectedResponse => "unexpected_response",
            Self::Transport => "transport",
            Self::Config => "config",
        }
    }

    /// Map an RFC 6749 `error` code; unknown codes are `None`.
    pub fn from_oauth_code(code: &str) -> Option<Self> {
        Some(match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "server_error" | "temporarily_unavailable" => Self::ServerError,
            "slow_down" | "rate_limited" | "too_many_requests" => Self::RateLimited,
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether retrying can help. Drives retries, negative caching and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Bad configuration or usage: fix the input (exit 2).
    Config,
    /// The server rejected the credentials or request: retrying will not help (exit 3).
    Permanent,
    /// Try again later (exit 4).
    Transient,
}

/// A failed token request or configuration, with everything a human needs to fix it.
#[derive(Debug, Clone)]
pub struct Error {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// Permanent or transient, with provider exceptions applied.
    pub class: Class,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The server's `error_description` (or `description`), sanitised and shortened.
    pub description: Option<String>,
    /// What happened, in one line.
    pub message: String,
    /// The likely causes and what to do, for this provider.
    pub hint: Option<String>,
    /// The server asked to wait this long (`Retry-After` or a provider's rate-limit answer).
    pub retry_after: Option<Duration>,
    /// Fingerprint of the secret that was presented, for `invalid_client`.
    pub presented_secret: Option<Fingerprint>,
    /// The key, certificate or external assertion that was presented instead of a secret,
    /// for `invalid_client`: by its thumbprint (and `kid`) or its source, never its bytes.
    pub presented_key: Option<String>,
    /// Not the server's answer now, but a recent one remembered in the token cache (a
    /// negative entry or a rate limit), so nothing was sent. How to ask anyway depends on
    /// the caller (the CLI has `--no-cache`), so the message does not say.
    pub remembered: bool,
}

impl Error {
    /// An error of `kind` and `class` with a one-line message and nothing else; the named
    /// constructors below cover the common pairs.
    pub fn new(kind: ErrorKind, class: Class, message: impl Into<String>) -> Self {
        Self {
            kind,
            class,
            status: None,
            description: None,
            message: message.into(),
            hint: None,
            retry_after: None,
            presented_secret: None,
            presented_key: None,
            remembered: false,
        }
    }

    /// A configuration error (exit 2) with a message that says how to fix it.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, Class::Config, message)
    }

    /// A transport failure (transient).
    pub fn transport(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transport, Class::Transient, message)
    }

    /// A response that is not a usable token response (transient: a proxy or an
    /// overloaded server often sends these).
    pub fn unexpected(status: Option<u16>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnexpectedResponse, Class::Transient, message).with_status(status)
    }

    /// The server refused for good (`kind` says how): retrying will not help.
    pub fn rejected(kind: ErrorKind, status: Option<u16>, message: impl Into<String>) -> Self {
        Self::new(kind, Class::Permanent, message).with_status(status)
    }

    /// The server is rate limiting (transient).
    pub fn rate_limited(status: Option<u16>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited, Class::Transient, message).with_status(status)
    }

    /// The server failed (5xx; transient).
    pub fn server_error(status: Option<u16>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServerError, Class::Transient, message).with_status(status)
    }

    /// The same error with the HTTP status of the answer.
    pub fn with_status(mut self, status: Option<u16>) -> Self {
        self.status = status;
        self
    }

    /// The same error with `hint` as the likely causes and what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// True when retrying can help.
    pub fn is_transient(&self) -> bool {
        self.class == Class::Transient
    }

    /// True for a permanent failure worth remembering for a while (the negative cache,
    /// SPEC §5): the token server judged these credentials or this request and will judge
    /// them the same way again. A permanent answer that is not the token server's verdict
    /// — a 404 or an HTML page from a wrong URL or path — is not remembered: the fix is
    /// elsewhere (the URL, the server being started), and repeating the request costs the
    /// token server nothing.
    /// Nor is a permanent transport failure (a TLS or protocol mismatch): the fix is the
    /// URL or the trust store, not the credentials.
    pub fn worth_remembering(&self) -> bool {
        self.class == Class::Permanent
            && !matches!(
                self.kind,
                ErrorKind::UnexpectedResponse | ErrorKind::Transport
            )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "{} (HTTP {status}): {}", self.kind, self.message)?;
        } else if self.kind == ErrorKind::Config {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.kind, self.message)?;
        }
        if let Some(fp) = &self.presented_secret {
            write!(f, "\n  presented secret: {fp}")?;
        }
        if let Some(k) = &self.presented_key {
            write!(f, "\n  presented: {k}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// A short, printable excerpt of an untrusted server message: control characters removed,
/// everything token-shaped withheld ([`crate::scrub::shape::withhold`]) before it is cut
/// to at most `max` characters, so no cut can leave a token's prefix behind. Values
/// cctoken sent are taken out earlier, by [`crate::scrub::Scrubber`].
pub fn excerpt(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    excerpt_unshaped(&crate::scrub::shape::withhold(&clean), max)
}

/// [`excerpt`] without withholding token-shaped words: for text already scrubbed by rules
/// of its own (doctor's reading of the emulator's reasons keeps thumbprints).
pub fn excerpt_unshaped(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = clean.chars().take(max).collect();
    out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_withholds_tokens_and_strips_controls() {
        let e = excerpt(
            r#"{"access_token":"abcdefgh","accessToken":"ijklmnop"}"#,
            80,
        );
        assert!(
            e.contains("withheld") && !e.contains("abcdefgh") && !e.contains("ijklm"),
            "{e}"
        );
        // Withheld before the cut: no prefix of a long token is left at the end.
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        assert!(!excerpt(&format!("token {jwt}"), 12).contains("eyJ"));
        assert_eq!(excerpt("a\u{1b}[31mb\n c", 80), "a [31mb c");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }

    #[test]
    fn oauth_codes_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(ErrorKind::from_name("nope"), None);
        for k in [
            ErrorKind::InvalidRequest,
            ErrorKind::InvalidClient,
            ErrorKind::InvalidGrant,
            ErrorKind::UnauthorizedClient,
            ErrorKind::UnsupportedGrantType,
            ErrorKind::InvalidScope,
        ] {
            assert_eq!(ErrorKind::from_oauth_code(k.as_str()), Some(k));
        }
        assert_eq!(ErrorKind::from_oauth_code("nope"), None);
    }

    #[test]
    fn only_the_token_servers_verdicts_are_remembered() {
        let wrong_path = Error::rejected(ErrorKind::UnexpectedResponse, Some(404), "no endpoint");
        assert!(!wrong_path.worth_remembering());
        assert!(Error::rejected(ErrorKind::InvalidClient, Some(401), "no").worth_remembering());
        assert!(Error::rejected(ErrorKind::InvalidGrant, Some(400), "no").worth_remembering());
        assert!(!Error::rate_limited(Some(429), "slow").worth_remembering());
        assert!(!Error::transport("reset").worth_remembering());
        assert!(!Error::config("bad").worth_remembering());
    }
}
