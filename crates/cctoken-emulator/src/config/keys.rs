//! Key and certificate settings of registry clients (SPEC §14) and the rules that tie a
//! client's `auth_methods` to the material it holds.
//!
//! A client may hold secrets, a JWK Set (`jwks` inline or `jwks_file`), a certificate
//! subject DN, a certificate thumbprint and `federated` trust entries, in any combination;
//! one holding only keys or certificates needs no secret. When `auth_methods` is not given
//! it follows from the material: secrets → `client_secret_basic`, `client_secret_post`; a
//! JWK Set or federated trust → `private_key_jwt`; a subject DN → `tls_client_auth`; a
//! thumbprint or a JWK with `x5c` → `self_signed_tls_client_auth`. `client_secret_jwt` is
//! never implied: it must be listed, and then every secret must be at least 32 bytes (RFC
//! 7518 §3.2). A listed method without its material is a configuration error.
//! [`AssertionPolicy`] holds the server-wide clock tolerance and maximum assertion lifetime.

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use super::{AuthMethod, ClientEntry, ConfigError, EmulatorConfig};
use crate::keys::{Jwks, SubjectDn};

/// How a client assertion's `aud` is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudienceMode {
    /// RFC 10070 (draft-ietf-oauth-rfc7523bis): the issuer identifier is the sole audience;
    /// the token endpoint URL is refused.
    #[default]
    Strict,
    /// RFC 7523 / OIDC Core §9 as most servers apply them: the issuer or the URL of the
    /// endpoint that received the request (the token endpoint), as a string or as a member of
    /// an array.
    Legacy,
}

impl AudienceMode {
    /// The registry name.
    pub fn as_str(self) -> &'static str {
        match self {
            AudienceMode::Strict => "strict",
            AudienceMode::Legacy => "legacy",
        }
    }
}

/// Trust in an external issuer's JWTs as this client's assertions (workload identity
/// federation, e.g. GitHub Actions OIDC tokens), matched exactly and case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedTrust {
    /// The external token's `iss`.
    pub issuer: String,
    /// The external token's `sub`.
    pub subject: String,
    /// The `aud` the external token must carry.
    pub audience: String,
    /// The issuer's public keys.
    pub jwks: Jwks,
}

/// Server-wide limits on client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionPolicy {
    /// Allowed clock difference when checking `exp`, `nbf` and `iat`.
    pub clock_tolerance: Duration,
    /// Longest accepted `exp - iat` of a client-signed assertion (Auth0 allows 5 minutes).
    pub max_lifetime: Duration,
}

/// Default [`AssertionPolicy::clock_tolerance`]: 30 s, between oidc-provider's 15 s and the
/// minute some vendors allow.
pub const DEFAULT_CLOCK_TOLERANCE: Duration = Duration::from_secs(30);
/// Default [`AssertionPolicy::max_lifetime`]: 5 minutes, Auth0's limit.
pub const DEFAULT_MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// Shortest client secret usable as an HS256 key, in bytes (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

impl Default for AssertionPolicy {
    fn default() -> Self {
        AssertionPolicy {
            clock_tolerance: DEFAULT_CLOCK_TOLERANCE,
            max_lifetime: DEFAULT_MAX_ASSERTION_LIFETIME,
        }
    }
}

/// A certificate thumbprint as registered: base64url SHA-256 (43 characters, RFC 8705
/// `x5t#S256`) or 64 hex digits, colons allowed (`openssl x509 -fingerprint -sha256`).
/// Returns the base64url form.
pub fn parse_thumbprint(s: &str) -> Result<String, String> {
    let s = s.trim();
    let hex_digits: String = s.chars().filter(|c| *c != ':').collect();
    if hex_digits.len() == 64 {
        if let Ok(b) = hex::decode(&hex_digits) {
            return Ok(URL_SAFE_NO_PAD.encode(b));
        }
    }
    match URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')) {
        Ok(b) if b.len() == 32 => Ok(URL_SAFE_NO_PAD.encode(b)),
        _ => Err(format!(
            "`tls_client_certificate_thumbprint` {s:?} is not a SHA-256 thumbprint: give the \
             base64url x5t#S256 (43 characters) or 64 hex digits"
        )),
    }
}

impl ClientEntry {
    /// A client with no secret and no methods yet: add keys or certificates with the
    /// `with_*` builders, which also enable the matching methods.
    pub fn keyed(id: impl Into<String>) -> Self {
        let mut c = ClientEntry::new(id, String::new());
        c.secrets.clear();
        c.auth_methods.clear();
        c
    }

    fn enable(&mut self, m: AuthMethod) {
        if !self.auth_methods.contains(&m) {
            self.auth_methods.push(m);
        }
    }

    /// Register a JWK Set; enables `private_key_jwt` (and `self_signed_tls_client_auth` when
    /// a key carries `x5c`).
    pub fn with_jwks(mut self, jwks: Jwks) -> Self {
        if jwks.has_certificates() {
            self.enable(AuthMethod::SelfSignedTlsClientAuth);
        }
        self.jwks = Some(jwks);
        self.enable(AuthMethod::PrivateKeyJwt);
        self
    }

    /// Register a certificate subject DN; enables `tls_client_auth`.
    pub fn with_subject_dn(mut self, dn: SubjectDn) -> Self {
        self.tls_client_auth_subject_dn = Some(dn);
        self.enable(AuthMethod::TlsClientAuth);
        self
    }

    /// Register a certificate thumbprint (base64url `x5t#S256`); enables
    /// `self_signed_tls_client_auth`.
    pub fn with_certificate_thumbprint(mut self, thumbprint: impl Into<String>) -> Self {
        self.tls_client_certificate_thumbprint = Some(thumbprint.into());
        self.enable(AuthMethod::SelfSignedTlsClientAuth);
        self
    }

    /// Trust an external issuer's tokens; enables `private_key_jwt`.
    pub fn with_federated(mut self, trust: FederatedTrust) -> Self {
        self.federated.push(trust);
        self.enable(AuthMethod::PrivateKeyJwt);
        self
    }

    /// Replace the accepted methods.
    pub fn with_auth_methods(mut self, methods: &[AuthMethod]) -> Self {
        self.auth_methods = methods.to_vec();
        self
    }

    /// The methods implied by the material, for entries that do not list `auth_methods`.
    pub fn implied_auth_methods(&self) -> Vec<AuthMethod> {
        let mut v = Vec::new();
        if !self.secrets.is_empty() {
            v.extend([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]);
        }
        if self.jwks.is_some() || !self.federated.is_empty() {
            v.push(AuthMethod::PrivateKeyJwt);
        }
        if self.tls_client_auth_subject_dn.is_some() {
            v.push(AuthMethod::TlsClientAuth);
        }
        if self.tls_client_certificate_thumbprint.is_some()
            || self.jwks.as_ref().is_some_and(Jwks::has_certificates)
        {
            v.push(AuthMethod::SelfSignedTlsClientAuth);
        }
        v
    }

    /// Check that the entry is usable: secrets, material for every method, federated
    /// entries. The message does not name the client; callers prefix it.
    pub fn check(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("client `id` is empty".into());
        }
        if self.secrets.len() > 2 {
            return Err(format!(
                "`secrets` must hold one or two secrets (two while rotating), found {}",
                self.secrets.len()
            ));
        }
        if self.secrets.iter().any(String::is_empty) {
            return Err("a secret in `secrets` is empty".into());
        }
        let has_keys = self.jwks.is_some() || !self.federated.is_empty();
        let has_certs = self.tls_client_auth_subject_dn.is_some()
            || self.tls_client_certificate_thumbprint.is_some();
        if self.secrets.is_empty() && !has_keys && !has_certs {
            return Err(
                "no credentials: give `secret` or `secrets`, `jwks` or `jwks_file`, \
                 `federated`, `tls_client_auth_subject_dn` or `tls_client_certificate_thumbprint`"
                    .into(),
            );
        }
        if self.auth_methods.is_empty() {
            return Err("`auth_methods` is empty".into());
        }
        for m in &self.auth_methods {
            self.check_material(*m)?;
        }
        for (i, f) in self.federated.iter().enumerate() {
            let n = i + 1;
            if f.issuer.is_empty() || f.subject.is_empty() || f.audience.is_empty() {
                return Err(format!(
                    "federated entry #{n} needs a non-empty `issuer`, `subject` and `audience`"
                ));
            }
            if f.issuer == self.id {
                return Err(format!(
                    "federated entry #{n}: the issuer cannot be the client id itself (that is \
                     an ordinary private_key_jwt assertion; use `jwks`)"
                ));
            }
            if self.federated[..i]
                .iter()
                .any(|o| o.issuer == f.issuer && o.subject == f.subject)
            {
                return Err(format!(
                    "federated entry #{n} repeats issuer {:?} with subject {:?}",
                    f.issuer, f.subject
                ));
            }
        }
        Ok(())
    }

    fn check_material(&self, m: AuthMethod) -> Result<(), String> {
        let name = m.as_str();
        let missing = |what: &str| Err(format!("`auth_methods` has {name}, which needs {what}"));
        match m {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                if self.secrets.is_empty() =>
            {
                missing("`secret` or `secrets`")
            }
            AuthMethod::ClientSecretJwt => {
                if self.secrets.is_empty() {
                    return missing("`secret` or `secrets`");
                }
                match self
                    .secrets
                    .iter()
                    .position(|s| s.len() < MIN_HMAC_SECRET_LEN)
                {
                    Some(i) => Err(format!(
                        "client_secret_jwt needs secrets of at least {MIN_HMAC_SECRET_LEN} bytes \
                         (RFC 7518 §3.2: an HS256 key has at least 256 bits); secret #{} has {}",
                        i + 1,
                        self.secrets[i].len()
                    )),
                    None => Ok(()),
                }
            }
            AuthMethod::PrivateKeyJwt if self.jwks.is_none() && self.federated.is_empty() => {
                missing("`jwks`, `jwks_file` or `federated`")
            }
            AuthMethod::TlsClientAuth if self.tls_client_auth_subject_dn.is_none() => {
                missing("`tls_client_auth_subject_dn`")
            }
            AuthMethod::SelfSignedTlsClientAuth
                if self.tls_client_certificate_thumbprint.is_none()
                    && !self.jwks.as_ref().is_some_and(Jwks::has_certificates) =>
            {
                missing("`tls_client_certificate_thumbprint` or a `jwks` key with `x5c`")
            }
            _ => Ok(()),
        }
    }
}

impl EmulatorConfig {
    /// Check what the registry and the server settings need from each other: every client
    /// is usable ([`ClientEntry::check`]), certificate methods have HTTPS, `tls_client_auth`
    /// has a `--tls-client-ca`. [`crate::spawn`] and `cctoken emulator` call this.
    pub fn check(&self) -> Result<(), ConfigError> {
        for c in self.effective_clients() {
            let err = |m: String| ConfigError::Invalid(format!("client {:?}: {m}", c.id));
            c.check().map_err(err)?;
            for m in c.auth_methods.iter().filter(|m| m.uses_certificate()) {
                match &self.tls {
                    None => {
                        return Err(err(format!(
                            "accepts {}, but the emulator serves plain HTTP: give --tls-cert and \
                             --tls-key (tls_cert, tls_key in the file)",
                            m.as_str()
                        )))
                    }
                    Some(t) if *m == AuthMethod::TlsClientAuth && !t.has_client_ca() => {
                        return Err(err(
                            "accepts tls_client_auth, which needs --tls-client-ca (tls_client_ca \
                             in the file): the CA its certificate must chain to"
                                .into(),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Whether the TLS listener asks for client certificates: HTTPS is on and a client CA
    /// is configured or some client authenticates with a certificate.
    pub fn requests_client_certificates(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| {
            t.has_client_ca()
                || self
                    .effective_clients()
                    .iter()
                    .any(|c| c.auth_methods.iter().any(|m| m.uses_certificate()))
        })
    }
}

/// A `federated` entry as written in the registry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFederated {
    issuer: String,
    subject: String,
    audience: String,
    jwks: Option<toml::Value>,
    jwks_file: Option<String>,
}

impl RawFederated {
    pub(super) fn into_trust(self, base: Option<&Path>) -> Result<FederatedTrust, String> {
        let jwks = load_jwks(self.jwks, self.jwks_file, base)?
            .ok_or("needs `jwks_file` (or `jwks`) with the issuer's public keys")?;
        Ok(FederatedTrust {
            issuer: self.issuer,
            subject: self.subject,
            audience: self.audience,
            jwks,
        })
    }
}

/// A JWK Set from `jwks` (TOML table) or `jwks_file` (JSON, relative to `base`), not both.
pub(super) fn load_jwks(
    inline: Option<toml::Value>,
    file: Option<String>,
    base: Option<&Path>,
) -> Result<Option<Jwks>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err("give `jwks` or `jwks_file`, not both".into()),
        (Some(v), None) => {
            let json = serde_json::to_value(v).map_err(|e| format!("`jwks`: {e}"))?;
            Jwks::from_value(&json)
                .map(Some)
                .map_err(|e| format!("`jwks`: {e}"))
        }
        (None, Some(f)) => {
            let path = match base {
                Some(b) if Path::new(&f).is_relative() => b.join(&f),
                _ => Path::new(&f).to_path_buf(),
            };
            let text = super::read::read_bounded_text(&path, "`jwks_file`")?;
            Jwks::from_json_str(&text)
                .map(Some)
                .map_err(|e| format!("`jwks_file` {}: {e}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_in_both_spellings() {
        let b = URL_SAFE_NO_PAD.encode([0xabu8; 32]);
        assert_eq!(parse_thumbprint(&b).unwrap(), b);
        let hex_colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_thumbprint(&hex_colons).unwrap(), b);
        assert!(parse_thumbprint("abc")
            .unwrap_err()
            .contains("not a SHA-256 thumbprint"));
    }

    #[test]
    fn methods_need_their_material() {
        let c = ClientEntry::keyed("k");
        assert!(c.check().unwrap_err().contains("no credentials"));
        let c = ClientEntry::keyed("k")
            .with_certificate_thumbprint(URL_SAFE_NO_PAD.encode([1u8; 32]))
            .with_auth_methods(&[AuthMethod::PrivateKeyJwt]);
        assert_eq!(
            c.check().unwrap_err(),
            "`auth_methods` has private_key_jwt, which needs `jwks`, `jwks_file` or `federated`"
        );
        let c = ClientEntry::new("s", "short").with_auth_methods(&[AuthMethod::ClientSecretJwt]);
        assert!(c
            .check()
            .unwrap_err()
            .contains("at least 32 bytes (RFC 7518 §3.2"));
        let c =
            ClientEntry::new("s", "x".repeat(32)).with_auth_methods(&[AuthMethod::ClientSecretJwt]);
        c.check().unwrap();
        let c = ClientEntry::keyed("t")
            .with_certificate_thumbprint(URL_SAFE_NO_PAD.encode([1u8; 32]))
            .with_auth_methods(&[AuthMethod::TlsClientAuth]);
        assert!(c
            .check()
            .unwrap_err()
            .contains("needs `tls_client_auth_subject_dn`"));
        let dn: SubjectDn = "CN=a".parse().unwrap();
        let c = ClientEntry::keyed("t").with_subject_dn(dn);
        assert_eq!(c.auth_methods, vec![AuthMethod::TlsClientAuth]);
        assert_eq!(c.implied_auth_methods(), vec![AuthMethod::TlsClientAuth]);
        c.check().unwrap();
    }
}
