//! The consumer's side: ask a running agent for a profile's token (`CCTOKEN_AGENT`).
//!
//! [`AgentClient`] speaks just enough HTTP/1.1 over a blocking Unix or TCP stream to send
//! one `GET /v1/token/{profile}` and read the answer — no async runtime, no thread pool,
//! so `cctoken get` through the agent stays as cheap as a cached `get`. [`AgentFetch`]
//! wraps it as a [`Fetch`] for a [`crate::source::TokenSource`] (`exec`, `api`).
//!
//! `CCTOKEN_AGENT` is `unix:PATH` or `http://127.0.0.1:PORT`. Over TCP the agent key is
//! read from `CCTOKEN_AGENT_KEY_FILE`, else from `agent.key` beside the default socket;
//! only loopback addresses are accepted, so the key never leaves the machine.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use url::Url;

use super::wire::{ErrorResponse, TokenResponse};
use super::AgentKey;
use crate::config::env::{self, EnvLookup};
pub use crate::config::env::{CCTOKEN_AGENT, CCTOKEN_AGENT_KEY_FILE};
use crate::error::Error;
use crate::source::{BoxFuture, Fetch, Held, Origin};
use crate::token::Token;

/// How long one exchange with the agent may take (it waits for the token server only
/// when it has no valid token).
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read.
const MAX_RESPONSE: u64 = 1024 * 1024;

/// Where the agent listens.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `http://ADDR` with the key.
    Tcp {
        /// `host:port`, a loopback address.
        authority: String,
        /// The agent key.
        key: AgentKey,
    },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Tcp { authority, .. } => write!(f, "http://{authority}"),
        }
    }
}

/// A blocking client of one agent.
#[derive(Debug, Clone)]
pub struct AgentClient {
    endpoint: Endpoint,
    timeout: Duration,
}

/// What the agent answered for a profile.
#[derive(Debug, Clone)]
pub struct AgentToken {
    /// The token (lifetime counted from now).
    pub token: Token,
    /// The profile's API base, when the agent knows it.
    pub api_base: Option<Url>,
}

impl AgentClient {
    /// The agent `CCTOKEN_AGENT` names in `env`, if it is set (and not blank).
    pub fn from_env(env: &dyn EnvLookup) -> Result<Option<Self>, Error> {
        match env.var(CCTOKEN_AGENT).filter(|v| !v.trim().is_empty()) {
            Some(value) => Self::from_env_value(&value, env).map(Some),
            None => Ok(None),
        }
    }

    /// A client for `value` (`unix:PATH` or `http://ADDR`); `env` looks up
    /// `CCTOKEN_AGENT_KEY_FILE` and `XDG_RUNTIME_DIR` for the key file.
    pub fn from_env_value(value: &str, env: &dyn EnvLookup) -> Result<Self, Error> {
        let value = value.trim();
        let endpoint = if let Some(path) = value.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad_value(value));
            }
            Endpoint::Unix(PathBuf::from(path))
        } else if value.starts_with("http://") {
            let url = Url::parse(value).map_err(|_| bad_value(value))?;
            let host = url.host_str().unwrap_or("");
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(Error::config(format!(
                    "{CCTOKEN_AGENT}={value}: the agent is reached on loopback addresses only \
                     (127.0.0.1, [::1], localhost), so its key never leaves this machine"
                )));
            }
            let port = url.port().ok_or_else(|| bad_value(value))?;
            let key_file = match env.non_empty(CCTOKEN_AGENT_KEY_FILE) {
                Some(p) => PathBuf::from(p),
                None => env::agent_key_path(&env::default_socket_path(env)),
            };
            Endpoint::Tcp {
                authority: format!("{host}:{port}"),
                key: read_key(&key_file)?,
            }
        } else {
            return Err(bad_value(value));
        };
        Ok(Self {
            endpoint,
            timeout: TIMEOUT,
        })
    }

    /// A client of `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            timeout: TIMEOUT,
        }
    }

    /// Where it connects.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Ask the agent for `profile`'s token (blocking).
    pub fn token(&self, profile: &str) -> Result<AgentToken, Error> {
        self.token_replacing(profile, None)
    }

    /// Ask for `profile`'s token, telling the agent that an API rejected `rejected` (401):
    /// if that is still the agent's current token, it replaces it first. Only the token's
    /// fingerprint is sent.
    pub fn token_replacing(
        &self,
        profile: &str,
        rejected: Option<&crate::secret::AccessToken>,
    ) -> Result<AgentToken, Error> {
        let mut path = format!("/v1/token/{}", encode_segment(profile));
        if let Some(r) = rejected {
            path.push_str("?rejected=");
            path.push_str(r.fingerprint().sha256_prefix());
        }
        let (status, body) = self.get(&path).map_err(|e| self.unreachable(&e))?;
        if status != 200 {
            return Err(match serde_json::from_slice::<ErrorResponse>(&body) {
                Ok(er) => er.to_error(),
                Err(_) => Error::unexpected(
                    Some(status),
                    format!("the agent at {} answered HTTP {status}", self.endpoint),
                ),
            });
        }
        let wire: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            Error::unexpected(
                Some(status),
                format!(
                    "the agent at {} sent an unreadable token answer: {e}",
                    self.endpoint
                ),
            )
        })?;
        if !wire.token_type.eq_ignore_ascii_case(crate::token::BEARER) {
            return Err(Error::unexpected(
                Some(status),
                format!(
                    "the agent sent a token of type '{}', not Bearer",
                    wire.token_type
                ),
            ));
        }
        let api_base = wire.api_base.as_deref().and_then(|u| Url::parse(u).ok());
        let token = Token {
            access_token: crate::secret::AccessToken::new(wire.access_token.into_owned()),
            token_type: crate::token::BEARER,
            issued_at: SystemTime::now(),
            expires_in: Duration::from_secs(wire.expires_in),
            expires_in_defaulted: false,
            scope: None,
            refresh_token: None,
            id_token: None,
        };
        Ok(AgentToken { token, api_base })
    }

    fn unreachable(&self, e: &std::io::Error) -> Error {
        Error::transport(format!("cannot reach the agent at {}: {e}", self.endpoint)).with_hint(
            format!(
                "is `cctoken agent` running? Start it, or unset {CCTOKEN_AGENT} to ask the token \
                 server directly"
            ),
        )
    }

    /// One `GET` with `Connection: close`; the status and the body.
    fn get(&self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let (host, auth) = match &self.endpoint {
            Endpoint::Unix(_) => ("localhost".to_owned(), String::new()),
            Endpoint::Tcp { authority, key } => (
                authority.clone(),
                format!("Authorization: Bearer {}\r\n", key.expose_secret()),
            ),
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Accept: application/json\r\nConnection: close\r\n\r\n"
        );
        let mut raw = Vec::with_capacity(1024);
        match &self.endpoint {
            Endpoint::Unix(p) => {
                let mut s = std::os::unix::net::UnixStream::connect(p)?;
                s.set_read_timeout(Some(self.timeout))?;
                s.set_write_timeout(Some(self.timeout))?;
                s.write_all(request.as_bytes())?;
                s.take(MAX_RESPONSE).read_to_end(&mut raw)?;
            }
            Endpoint::Tcp { authority, .. } => {
                let mut s = std::net::TcpStream::connect(authority.as_str())?;
                s.set_read_timeout(Some(self.timeout))?;
                s.set_write_timeout(Some(self.timeout))?;
                s.set_nodelay(true)?;
                s.write_all(request.as_bytes())?;
                s.take(MAX_RESPONSE).read_to_end(&mut raw)?;
            }
        }
        parse_response(&raw)
            .ok_or_else(|| std::io::Error::other("the agent's answer is not an HTTP response"))
    }

    /// A [`Fetch`] that asks the agent for `profile`.
    pub fn fetcher(self, profile: &str) -> AgentFetch {
        AgentFetch {
            client: self,
            profile: profile.to_owned(),
            rejected: Default::default(),
        }
    }
}

fn bad_value(value: &str) -> Error {
    Error::config(format!(
        "{CCTOKEN_AGENT}='{value}' is not an agent address: use unix:PATH (the socket, e.g. \
         unix:$XDG_RUNTIME_DIR/cctoken/agent.sock) or http://127.0.0.1:PORT"
    ))
}

/// An agent key is 64 hex characters; anything much longer is not one.
const MAX_KEY_FILE: u64 = 4096;

fn read_key(path: &Path) -> Result<AgentKey, Error> {
    let file = crate::config::small_file::read_small(path, MAX_KEY_FILE).map_err(|e| {
        Error::config(format!(
            "{}; it is written beside the agent's socket — set {CCTOKEN_AGENT_KEY_FILE} if the \
             agent uses --socket elsewhere",
            e.message("agent key", path, MAX_KEY_FILE)
        ))
    })?;
    let text = std::str::from_utf8(&file.bytes).map_err(|_| {
        Error::config(format!(
            "the agent key file {} is not text (an agent key is 64 hex characters)",
            path.display()
        ))
    })?;
    let key = AgentKey::from_string(text);
    if key.expose_secret().is_empty() {
        return Err(Error::config(format!(
            "the agent key file {} is empty",
            path.display()
        )));
    }
    Ok(key)
}

/// Percent-encode a path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Status and body of a complete HTTP/1.1 response (`Content-Length`, chunked, or up to
/// the end of the stream).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (k, v) = line.split_once(':')?;
        let v = v.trim();
        if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if k.eq_ignore_ascii_case("content-length") {
            length = Some(v.parse::<usize>().ok()?);
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        body.get(..n)?.to_vec()
    } else {
        body.to_vec()
    };
    Some((status, body))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A [`Fetch`] over the agent: a `TokenSource` in a consumer asks the agent instead of the
/// token server.
///
/// Clones share the pending rejection: call [`AgentFetch::reject`] on one, then
/// `TokenSource::invalidate_and_refresh` on the source built over another, and the agent
/// is told which token the API refused.
#[derive(Debug, Clone)]
pub struct AgentFetch {
    client: AgentClient,
    profile: String,
    rejected: std::sync::Arc<std::sync::Mutex<Option<crate::secret::AccessToken>>>,
}

impl AgentFetch {
    /// Report `token` as rejected by an API with the next request to the agent.
    pub fn reject(&self, token: &crate::secret::AccessToken) {
        let mut slot = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(token.clone());
    }
}

impl Fetch for AgentFetch {
    /// One request to the agent, which does its own retrying: the deadline is not needed.
    fn fetch<'a>(&'a self, _held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let rejected = self
                .rejected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            let this = self.clone();
            tokio::task::spawn_blocking(move || {
                this.client
                    .token_replacing(&this.profile, rejected.as_ref())
            })
            .await
            .map_err(|e| Error::transport(format!("asking the agent: {e}")))?
            .map(|t| t.token)
        })
    }

    fn fetch_traced<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<(Token, Origin), Error>> {
        Box::pin(async move { self.fetch(held).await.map(|t| (t, Origin::Agent)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_read_bounded() {
        let e = read_key(Path::new("/dev/zero")).unwrap_err();
        assert!(
            e.message.contains("larger than 4096 bytes"),
            "{}",
            e.message
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("agent.key");
        std::fs::write(&p, "ab12\n").unwrap();
        assert_eq!(read_key(&p).unwrap().expose_secret(), "ab12");
        std::fs::write(&p, "\n").unwrap();
        assert!(read_key(&p).unwrap_err().message.contains("is empty"));
    }

    #[test]
    fn addresses() {
        let none: [(&str, &str); 0] = [];
        let none = &none;
        assert!(matches!(
            AgentClient::from_env_value("unix:/run/a.sock", none)
                .unwrap()
                .endpoint,
            Endpoint::Unix(_)
        ));
        for bad in [
            "",
            "unix:",
            "/run/a.sock",
            "https://127.0.0.1:1",
            "http://127.0.0.1",
        ] {
            assert!(AgentClient::from_env_value(bad, none).is_err(), "{bad}");
        }
        let e = AgentClient::from_env_value("http://evil.example:80", none).unwrap_err();
        assert!(e.message.contains("loopback"), "{e}");
        let dir = std::env::temp_dir().join(format!("cctoken-agent-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("k");
        std::fs::write(&key, "abc\n").unwrap();
        let k = key.to_str().unwrap().to_owned();
        let c = AgentClient::from_env_value(
            "http://127.0.0.1:9",
            &[(CCTOKEN_AGENT_KEY_FILE, k.as_str())],
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("abc"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn responses() {
        let r = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}extra";
        assert_eq!(parse_response(r), Some((200, b"{}".to_vec())));
        let r =
            b"HTTP/1.1 503 x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n";
        assert_eq!(parse_response(r), Some((503, b"abc".to_vec())));
        for bad in [
            &b""[..],
            b"garbage",
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/1.1 200\r\ncontent-length: 9\r\n\r\nab",
            b"HTTP/1.1 200\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert_eq!(parse_response(bad), None);
        }
        assert_eq!(encode_segment("a b/ü"), "a%20b%2F%C3%BC");
    }
}
