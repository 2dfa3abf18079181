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

use crate::config::tls::TlsSettings;
use crate::faults::FaultSpec;
use crate::fingerprint;
use crate::keys::{Jwks, SubjectDn};

mod demo;
mod file;
mod keys;
mod rate_limit;
pub(crate) mod read;
#[cfg(test)]
mod tests;
pub(crate) mod tls;
pub use demo::{
    demo_clients, CXONE_DEMO_APP, CXONE_DEMO_APP_SECRET, CXONE_DEMO_AREA, CXONE_DEMO_KEY_ID,
    CXONE_DEMO_KEY_SECRET, CXONE_DEMO_TENANT, DEMO_CLIENT_ID, DEMO_NOGRANT_ID, DEMO_SECRET,
};
pub use keys::{
    parse_thumbprint, AssertionPolicy, AudienceMode, FederatedTrust, DEFAULT_CLOCK_TOLERANCE,
    DEFAULT_MAX_ASSERTION_LIFETIME, MIN_HMAC_SECRET_LEN,
};
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

/// A client authentication method (names as in RFC 8414 metadata and the IANA registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic header (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` as form parameters.
    ClientSecretPost,
    /// A JWT assertion MACed with the client secret, HS256 (RFC 7523, OIDC Core §9).
    ClientSecretJwt,
    /// A JWT assertion signed with a key of the client's JWK Set, or an external JWT from
    /// a federated issuer (RFC 7523).
    PrivateKeyJwt,
    /// A TLS client certificate issued by the `--tls-client-ca`, matched by subject DN
    /// (RFC 8705 §2.1).
    TlsClientAuth,
    /// A self-signed TLS client certificate matched by thumbprint (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

impl AuthMethod {
    /// Every method, in the order discovery lists them.
    pub const ALL: [AuthMethod; 6] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::ClientSecretJwt,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::TlsClientAuth,
        AuthMethod::SelfSignedTlsClientAuth,
    ];

    /// The RFC 8414 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
            AuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }

    /// Whether the method authenticates with the client secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt
        )
    }

    /// Whether the method authenticates with a TLS client certificate.
    pub fn uses_certificate(self) -> bool {
        matches!(
            self,
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth
        )
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
    /// One or two valid secrets (two while a secret is being rotated); none for a client
    /// that authenticates only with keys or certificates.
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
    /// Public keys for `private_key_jwt` (and `x5c` certificates for
    /// `self_signed_tls_client_auth`).
    pub jwks: Option<Jwks>,
    /// The certificate subject `tls_client_auth` requires.
    pub tls_client_auth_subject_dn: Option<SubjectDn>,
    /// The certificate thumbprint (base64url `x5t#S256`) `self_signed_tls_client_auth`
    /// accepts.
    pub tls_client_certificate_thumbprint: Option<String>,
    /// External issuers whose tokens are accepted as this client's assertions.
    pub federated: Vec<FederatedTrust>,
    /// How assertion `aud` is checked.
    pub audience_mode: AudienceMode,
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
            .field("jwks", &self.jwks.as_ref().map(Jwks::known))
            .field(
                "tls_client_auth_subject_dn",
                &self.tls_client_auth_subject_dn,
            )
            .field(
                "tls_client_certificate_thumbprint",
                &self.tls_client_certificate_thumbprint,
            )
            .field("federated", &self.federated)
            .field("audience_mode", &self.audience_mode)
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
            jwks: None,
            tls_client_auth_subject_dn: None,
            tls_client_certificate_thumbprint: None,
            federated: Vec::new(),
            audience_mode: AudienceMode::Strict,
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
    /// Clock tolerance and maximum lifetime of client assertions.
    pub assertion: AssertionPolicy,
    /// Serve HTTPS (`--tls-cert`, `--tls-key`, `--tls-client-ca`); `None` = plain HTTP.
    pub tls: Option<TlsSettings>,
}

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
            assertion: AssertionPolicy::default(),
            tls: None,
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

    /// `https` with TLS settings, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Whether access tokens are JWTs (always for CXone).
    pub fn issues_jwt(&self) -> bool {
        self.flavor == Flavor::Cxone || self.token_format == TokenFormat::Jwt
    }
}
