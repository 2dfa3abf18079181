//! Emulator configuration: flavor, token format, lifetimes and the client registry.
//!
//! [`EmulatorConfig`] is the validated, typed form of everything the server needs to start.
//! It comes from code (tests, `cctoken demo`), from a registry file (`--config clients.toml`,
//! parsed here with line-precise errors) and from CLI flags applied on top. This module does
//! not serve anything and keeps no runtime state; the `registry` module holds that.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::faults::FaultSpec;
use crate::fingerprint;

mod file;
mod rate_limit;
pub(crate) use file::DurationField;
pub use rate_limit::{RateLimit, MAX_RATE_LIMIT_REQUESTS};

/// Which real token server the emulator imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Strict RFC 6749 / RFC 8414 server.
    Generic,
    /// Genesys Cloud: `description` in error bodies, rate limit as 400, `/api/v2/tokens/me`.
    Genesys,
    /// NICE CXone: access-key password grant at `/auth/token`, JWTs with `tenantId`.
    Cxone,
}

impl Flavor {
    /// The lowercase name used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Generic => "generic",
            Flavor::Genesys => "genesys",
            Flavor::Cxone => "cxone",
        }
    }

    /// Token lifetime when neither the client nor `--token-lifetime` sets one.
    pub fn default_lifetime(self) -> Duration {
        match self {
            Flavor::Genesys => Duration::from_secs(86_400),
            Flavor::Generic | Flavor::Cxone => Duration::from_secs(3_600),
        }
    }

    /// The per-token limit on `/api/v2/*` unless configured: Genesys' 300 requests per
    /// rolling minute (SPEC §13); none for the other flavors.
    pub fn default_api_rate_limit(self) -> Option<RateLimit> {
        match self {
            Flavor::Genesys => Some(RateLimit::GENESYS_API),
            Flavor::Generic | Flavor::Cxone => None,
        }
    }

    /// How Basic credentials are decoded unless a client overrides it.
    pub fn default_basic_encoding(self) -> BasicEncoding {
        match self {
            Flavor::Generic => BasicEncoding::Rfc,
            Flavor::Genesys | Flavor::Cxone => BasicEncoding::Both,
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flavor {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "generic" => Ok(Flavor::Generic),
            "genesys" => Ok(Flavor::Genesys),
            "cxone" => Ok(Flavor::Cxone),
            other => Err(ConfigError::Invalid(format!(
                "unknown flavor {other:?}; expected generic, genesys or cxone"
            ))),
        }
    }
}

/// What issued access tokens look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFormat {
    /// 32 random bytes, base64url: fastest to issue.
    Opaque,
    /// RFC 9068 JWT signed with ES256 (the CXone flavor always uses this).
    Jwt,
}

impl FromStr for TokenFormat {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "opaque" => Ok(TokenFormat::Opaque),
            "jwt" => Ok(TokenFormat::Jwt),
            other => Err(ConfigError::Invalid(format!(
                "unknown token format {other:?}; expected opaque or jwt"
            ))),
        }
    }
}

/// A client authentication method of RFC 6749 §2.3.1 (names as in RFC 8414 metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic header.
    ClientSecretBasic,
    /// `client_id` and `client_secret` as form parameters.
    ClientSecretPost,
}

impl AuthMethod {
    /// The RFC 8414 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// How the id and secret inside a Basic header are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasicEncoding {
    /// RFC 6749 §2.3.1: form-urldecode id and secret after base64.
    Rfc,
    /// Take the bytes as they are (what the Genesys SDKs send).
    Raw,
    /// Accept either.
    Both,
}

/// A CXone API user's access key (used as username/password in the password grant).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    /// The access key id (the `username`).
    pub id: String,
    /// The access key secret (the `password`).
    pub secret: String,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &fingerprint(self.secret.as_bytes()))
            .finish()
    }
}

/// One registered OAuth client.
#[derive(Clone, PartialEq)]
pub struct ClientEntry {
    /// The client id.
    pub id: String,
    /// Display name (Genesys `OAuthClient.name`); defaults to the id.
    pub name: Option<String>,
    /// One or two valid secrets (two while a secret is being rotated).
    pub secrets: Vec<String>,
    /// Grant types this client may use, e.g. `client_credentials`.
    pub grants: Vec<String>,
    /// Scopes this client may request; granted in full when it asks for none.
    pub scopes: Vec<String>,
    /// Lifetime of tokens issued to this client (unless `--token-lifetime` overrides).
    pub token_lifetime: Option<Duration>,
    /// Accepted client authentication methods.
    pub auth_methods: Vec<AuthMethod>,
    /// Basic decoding override; `None` follows the flavor.
    pub basic_encoding: Option<BasicEncoding>,
    /// This client's token requests per rolling window before the flavor's rate-limit
    /// answer; `None` follows [`EmulatorConfig::token_rate_limit`].
    pub token_rate_limit: Option<RateLimit>,
    /// Requests per rolling window of each of this client's tokens on `/api/v2/*`; `None`
    /// follows [`EmulatorConfig::api_rate_limit`].
    pub api_rate_limit: Option<RateLimit>,
    /// CXone: access keys of API users in this client's tenant.
    pub access_keys: Vec<AccessKey>,
    /// CXone: the tenant id carried in `tenantId` claims.
    pub tenant_id: Option<String>,
    /// CXone: the tenant's area, e.g. `na1`.
    pub area: Option<String>,
}

impl fmt::Debug for ClientEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fps: Vec<String> = self
            .secrets
            .iter()
            .map(|s| fingerprint(s.as_bytes()))
            .collect();
        f.debug_struct("ClientEntry")
            .field("id", &self.id)
            .field("secrets", &fps)
            .field("grants", &self.grants)
            .field("scopes", &self.scopes)
            .field("token_lifetime", &self.token_lifetime)
            .field("auth_methods", &self.auth_methods)
            .field("basic_encoding", &self.basic_encoding)
            .field("token_rate_limit", &self.token_rate_limit)
            .field("api_rate_limit", &self.api_rate_limit)
            .field("access_keys", &self.access_keys)
            .field("tenant_id", &self.tenant_id)
            .finish()
    }
}

impl ClientEntry {
    /// A client-credentials client accepting both Basic and post authentication.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientEntry {
            id: id.into(),
            name: None,
            secrets: vec![secret.into()],
            grants: vec!["client_credentials".into()],
            scopes: Vec::new(),
            token_lifetime: None,
            auth_methods: vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
            basic_encoding: None,
            token_rate_limit: None,
            api_rate_limit: None,
            access_keys: Vec::new(),
            tenant_id: None,
            area: None,
        }
    }

    /// Replace the allowed grants.
    pub fn with_grants(mut self, grants: &[&str]) -> Self {
        self.grants = grants.iter().map(|g| (*g).to_owned()).collect();
        self
    }

    /// Replace the allowed scopes.
    pub fn with_scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

/// Errors in configuration: bad flag values or a registry file that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML itself is malformed or a field has the wrong type (message names line and field).
    #[error("{0}")]
    Toml(String),
    /// A value is well-formed TOML but not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// Everything the emulator needs to start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Which server to imitate.
    pub flavor: Flavor,
    /// Opaque or JWT access tokens (CXone always issues JWTs).
    pub token_format: TokenFormat,
    /// `--token-lifetime`: lifetime of every issued token, overriding client and flavor.
    pub token_lifetime: Option<Duration>,
    /// Register the fixed demo clients of the flavor (SPEC §10).
    pub demo: bool,
    /// The client registry.
    pub clients: Vec<ClientEntry>,
    /// Faults queued at start.
    pub faults: Vec<FaultSpec>,
    /// `--api-rate-limit`: requests per rolling window of each token on `/api/v2/*`, for
    /// clients without their own; `None` = the flavor's default
    /// ([`Flavor::default_api_rate_limit`]: `300/60s` for Genesys, none otherwise).
    pub api_rate_limit: Option<RateLimit>,
    /// `--token-rate-limit`: token requests per rolling window of each client, for clients
    /// without their own; `None` = unlimited.
    pub token_rate_limit: Option<RateLimit>,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// How many activity entries are kept (a ring buffer).
    pub activity_capacity: usize,
}

/// The demo client of the fixed contract (SPEC §10).
pub const DEMO_CLIENT_ID: &str = "demo-client";
/// The demo client's secret: `+ / = % &` are where `basic` and `basic-raw` differ.
pub const DEMO_SECRET: &str = "demo+s3cret/=%&";
/// The demo client without the client-credentials grant.
pub const DEMO_NOGRANT_ID: &str = "demo-nogrant";
/// CXone demo app id.
pub const CXONE_DEMO_APP: &str = "demo-app";
/// CXone demo app secret.
pub const CXONE_DEMO_APP_SECRET: &str = "demo-app-secret";
/// CXone demo access key id.
pub const CXONE_DEMO_KEY_ID: &str = "DEMOACCESSKEY";
/// CXone demo access key secret.
pub const CXONE_DEMO_KEY_SECRET: &str = "demo/access+key====";
/// CXone demo tenant.
pub const CXONE_DEMO_TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// CXone demo area.
pub const CXONE_DEMO_AREA: &str = "na1";

const DEFAULT_MAX_BODY: usize = 64 * 1024;
const DEFAULT_ACTIVITY: usize = 10_000;

impl EmulatorConfig {
    /// An empty registry for `flavor` with its defaults.
    pub fn new(flavor: Flavor) -> Self {
        EmulatorConfig {
            flavor,
            token_format: TokenFormat::Opaque,
            token_lifetime: None,
            demo: false,
            clients: Vec::new(),
            faults: Vec::new(),
            api_rate_limit: None,
            token_rate_limit: None,
            max_body_bytes: DEFAULT_MAX_BODY,
            activity_capacity: DEFAULT_ACTIVITY,
        }
    }

    /// Also register the flavor's demo clients when the server starts.
    pub fn with_demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// Add a client.
    pub fn with_client(mut self, client: ClientEntry) -> Self {
        self.clients.push(client);
        self
    }

    /// Parse a whole configuration (flavor and registry) from TOML; flavor defaults to generic.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let mut cfg = EmulatorConfig::new(Flavor::Generic);
        cfg.merge_registry_toml(text)?;
        Ok(cfg)
    }

    /// The clients registered at start: the configured ones plus, with `demo`, the flavor's
    /// demo clients (a configured client with the same id wins).
    pub fn effective_clients(&self) -> Vec<ClientEntry> {
        let mut out = self.clients.clone();
        if self.demo {
            for d in demo_clients(self.flavor) {
                if !out.iter().any(|c| c.id == d.id) {
                    out.push(d);
                }
            }
        }
        out
    }

    /// The limit on each of `client`'s tokens on `/api/v2/*`: the client's own, else the
    /// global one, else the flavor's default.
    pub fn api_rate_limit_for(&self, client: &ClientEntry) -> Option<RateLimit> {
        client
            .api_rate_limit
            .or(self.api_rate_limit)
            .or_else(|| self.flavor.default_api_rate_limit())
    }

    /// The limit on `client`'s token requests: the client's own, else the global one.
    pub fn token_rate_limit_for(&self, client: &ClientEntry) -> Option<RateLimit> {
        client.token_rate_limit.or(self.token_rate_limit)
    }

    /// Whether access tokens are JWTs (always for CXone).
    pub fn issues_jwt(&self) -> bool {
        self.flavor == Flavor::Cxone || self.token_format == TokenFormat::Jwt
    }
}

/// The fixed demo clients of SPEC §10 for `flavor`.
pub fn demo_clients(flavor: Flavor) -> Vec<ClientEntry> {
    match flavor {
        Flavor::Generic | Flavor::Genesys => vec![
            ClientEntry::new(DEMO_CLIENT_ID, DEMO_SECRET).with_scopes(&["read", "write"]),
            ClientEntry::new(DEMO_NOGRANT_ID, DEMO_SECRET)
                .with_grants(&["authorization_code"])
                .with_scopes(&["read", "write"]),
        ],
        Flavor::Cxone => {
            let mut app = ClientEntry::new(CXONE_DEMO_APP, CXONE_DEMO_APP_SECRET)
                .with_grants(&["password", "refresh_token"]);
            app.access_keys = vec![AccessKey {
                id: CXONE_DEMO_KEY_ID.into(),
                secret: CXONE_DEMO_KEY_SECRET.into(),
            }];
            app.tenant_id = Some(CXONE_DEMO_TENANT.into());
            app.area = Some(CXONE_DEMO_AREA.into());
            vec![app]
        }
    }
}
