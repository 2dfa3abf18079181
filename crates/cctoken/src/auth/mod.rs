//! Client authentication (RFC 6749 §2.3.1) and the token request as it goes on the wire.
//!
//! [`build_request`] produces a [`PreparedRequest`]: method, URL, headers and form pairs,
//! each value tagged with whether it is secret. The same value is sent by the HTTP layer and
//! rendered by [`PreparedRequest::redacted`] for `--dry-run` and `--trace`, so what users
//! see is exactly what is sent, minus the secrets. Bodies are always
//! `application/x-www-form-urlencoded`, produced by `serde_urlencoded` (no hand-built
//! strings); credentials go either in the header or in the body, never both.
//!
//! The key and certificate methods of SPEC §14 live in submodules: [`key`] (signing keys),
//! [`assertion`] (client assertions), [`tls`] (client certificates), [`external`] (CI
//! tokens as assertions) and [`material`] (what a client holds, and which method it uses).

pub mod assertion;
pub mod external;
pub mod key;
pub mod material;
pub mod tls;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use url::Url;

use crate::secret::{ClientSecret, Fingerprint};

/// How the client proves its identity to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
    Basic,
    /// Basic without the form-urlencoding step (what the Genesys SDKs and most
    /// hand-written code send).
    BasicRaw,
    /// `client_id` and `client_secret` as form parameters (`client_secret_post`).
    Post,
    /// A JWT signed with the client's private key (RFC 7523), or an external JWT
    /// (`client_assertion_from`).
    PrivateKeyJwt,
    /// A JWT signed with the client secret (HS256).
    ClientSecretJwt,
    /// A CA-issued TLS client certificate (RFC 8705 §2.1).
    TlsClientAuth,
    /// A self-signed TLS client certificate registered as a JWK (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

impl AuthMethod {
    /// `basic`, `basic-raw` or `post`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::BasicRaw => "basic-raw",
            Self::Post => "post",
            Self::PrivateKeyJwt => "private-key-jwt",
            Self::ClientSecretJwt => "client-secret-jwt",
            Self::TlsClientAuth => "tls-client-auth",
            Self::SelfSignedTlsClientAuth => "self-signed-tls-client-auth",
        }
    }

    /// The RFC 8414 / OIDC name (`client_secret_basic`, `private_key_jwt`, …).
    pub fn metadata_name(self) -> &'static str {
        match self {
            Self::Basic | Self::BasicRaw => "client_secret_basic",
            Self::Post => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::TlsClientAuth => "tls_client_auth",
            Self::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }

    /// Every method, in `--auth`'s order.
    pub const ALL: [AuthMethod; 7] = [
        Self::Basic,
        Self::BasicRaw,
        Self::Post,
        Self::PrivateKeyJwt,
        Self::ClientSecretJwt,
        Self::TlsClientAuth,
        Self::SelfSignedTlsClientAuth,
    ];

    /// The names `--auth` and the profile key `auth` accept.
    pub const NAMES: [&'static str; 7] = [
        "basic",
        "basic-raw",
        "post",
        "private-key-jwt",
        "client-secret-jwt",
        "tls-client-auth",
        "self-signed-tls-client-auth",
    ];

    /// Whether the method needs the client secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            Self::Basic | Self::BasicRaw | Self::Post | Self::ClientSecretJwt
        )
    }

    /// Whether the method sends a `client_assertion`.
    pub fn uses_assertion(self) -> bool {
        matches!(self, Self::PrivateKeyJwt | Self::ClientSecretJwt)
    }

    /// Whether the method presents a TLS client certificate.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::TlsClientAuth | Self::SelfSignedTlsClientAuth)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "basic" | "client_secret_basic" => Ok(Self::Basic),
            "basic-raw" | "basic_raw" => Ok(Self::BasicRaw),
            "post" | "client_secret_post" => Ok(Self::Post),
            "private-key-jwt" | "private_key_jwt" => Ok(Self::PrivateKeyJwt),
            "client-secret-jwt" | "client_secret_jwt" => Ok(Self::ClientSecretJwt),
            "tls-client-auth" | "tls_client_auth" => Ok(Self::TlsClientAuth),
            "self-signed-tls-client-auth" | "self_signed_tls_client_auth" => {
                Ok(Self::SelfSignedTlsClientAuth)
            }
            _ => Err(format!(
                "unknown client authentication '{s}': expected {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// A header or form value, remembering whether it must be hidden.
#[derive(Clone)]
pub enum Value {
    /// Safe to show.
    Plain(String),
    /// Hidden behind a fingerprint of `shown_fingerprint_of` when displayed.
    Secret {
        /// What goes on the wire.
        wire: ClientSecret,
        /// What the fingerprint is computed from (the secret itself, not its encoding).
        fingerprint: Fingerprint,
        /// How to describe it, e.g. "Basic <client_id:secret>".
        label: &'static str,
    },
    /// A client assertion: shown decoded, signature elided.
    Assertion(assertion::Assertion),
}

impl Value {
    /// The value that goes on the wire.
    pub fn wire(&self) -> &str {
        match self {
            Self::Plain(s) => s,
            Self::Secret { wire, .. } => wire.expose_secret(),
            Self::Assertion(a) => a.jwt().expose_secret(),
        }
    }

    /// The value as shown to humans.
    pub fn shown(&self) -> String {
        match self {
            Self::Plain(s) => s.clone(),
            Self::Secret {
                fingerprint, label, ..
            } => format!("{label}[secret {fingerprint}]"),
            Self::Assertion(a) => a.shown(),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// The grant being requested.
#[derive(Debug, Clone)]
pub enum Grant {
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §4.3, CXone's access-key flow.
    Password {
        /// Access key id.
        username: String,
        /// Access key secret.
        password: ClientSecret,
    },
    /// RFC 6749 §6.
    RefreshToken(ClientSecret),
}

impl Grant {
    /// The `grant_type` value.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Password { .. } => "password",
            Self::RefreshToken(_) => "refresh_token",
        }
    }
}

/// Everything needed to build one token request.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    /// The token endpoint.
    pub token_url: &'a Url,
    /// Client id.
    pub client_id: &'a str,
    /// Client secret.
    pub client_secret: &'a ClientSecret,
    /// Client authentication method.
    pub auth: AuthMethod,
    /// The grant.
    pub grant: &'a Grant,
    /// Scopes (joined with single spaces).
    pub scopes: &'a [String],
    /// `audience`, when the profile sets one.
    pub audience: Option<&'a str>,
    /// Extra form parameters from the profile.
    pub extra: &'a [(String, String)],
    /// The client assertion, for `private-key-jwt` and `client-secret-jwt` (signed for
    /// this attempt).
    pub assertion: Option<&'a assertion::Assertion>,
}

/// A token request exactly as it will be sent.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Always `POST`.
    pub method: &'static str,
    /// The token endpoint.
    pub url: Url,
    /// Headers in order.
    pub headers: Vec<(String, Value)>,
    /// Form pairs in order (before encoding).
    pub form: Vec<(String, Value)>,
}

/// `application/x-www-form-urlencoded` encoding of one component (RFC 6749 Appendix B).
pub fn form_urlencode(s: &str) -> String {
    // serde_urlencoded encodes a single pair as "k=v"; encode ("", s) and drop the "=".
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The Basic credentials payload, before base64: `id:secret`, encoded or raw.
fn basic_value(id: &str, secret: &ClientSecret, rfc: bool) -> ClientSecret {
    let joined = if rfc {
        zeroize::Zeroizing::new(format!(
            "{}:{}",
            form_urlencode(id),
            form_urlencode(secret.expose_secret())
        ))
    } else {
        zeroize::Zeroizing::new(format!("{id}:{}", secret.expose_secret()))
    };
    ClientSecret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(joined.as_bytes())
    ))
}

/// Build the token request. Credentials go in exactly one place. A method that needs an
/// assertion and has none is a programming error of the caller, reported as a config error.
pub fn build_request(p: &RequestParts<'_>) -> Result<PreparedRequest, crate::Error> {
    let secret_fp = p.client_secret.fingerprint();
    let mut headers = vec![
        (
            "Content-Type".to_owned(),
            Value::Plain("application/x-www-form-urlencoded".into()),
        ),
        ("Accept".to_owned(), Value::Plain("application/json".into())),
    ];
    let mut form = vec![(
        "grant_type".to_owned(),
        Value::Plain(p.grant.grant_type().into()),
    )];
    match p.grant {
        Grant::ClientCredentials => {}
        Grant::Password { username, password } => {
            form.push(("username".into(), Value::Plain(username.clone())));
            form.push((
                "password".into(),
                Value::Secret {
                    wire: password.clone(),
                    fingerprint: password.fingerprint(),
                    label: "",
                },
            ));
        }
        Grant::RefreshToken(rt) => form.push((
            "refresh_token".into(),
            Value::Secret {
                wire: rt.clone(),
                fingerprint: rt.fingerprint(),
                label: "",
            },
        )),
    }
    if !p.scopes.is_empty() {
        form.push(("scope".into(), Value::Plain(p.scopes.join(" "))));
    }
    if let Some(aud) = p.audience {
        form.push(("audience".into(), Value::Plain(aud.to_owned())));
    }
    for (k, v) in p.extra {
        form.push((k.clone(), Value::Plain(v.clone())));
    }
    match p.auth {
        AuthMethod::Basic | AuthMethod::BasicRaw => headers.insert(
            0,
            (
                "Authorization".to_owned(),
                Value::Secret {
                    wire: basic_value(p.client_id, p.client_secret, p.auth == AuthMethod::Basic),
                    fingerprint: secret_fp,
                    label: if p.auth == AuthMethod::Basic {
                        "Basic base64(urlencode(id):urlencode(secret)) "
                    } else {
                        "Basic base64(id:secret) "
                    },
                },
            ),
        ),
        AuthMethod::Post => {
            form.push(("client_id".into(), Value::Plain(p.client_id.to_owned())));
            form.push((
                "client_secret".into(),
                Value::Secret {
                    wire: p.client_secret.clone(),
                    fingerprint: secret_fp,
                    label: "",
                },
            ));
        }
        AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt => {
            let Some(a) = p.assertion else {
                return Err(crate::Error::config(format!(
                    "{} needs a client assertion, and none was made",
                    p.auth
                )));
            };
            form.push(("client_id".into(), Value::Plain(p.client_id.to_owned())));
            form.push((
                "client_assertion_type".into(),
                Value::Plain(assertion::JWT_BEARER.into()),
            ));
            form.push(("client_assertion".into(), Value::Assertion(a.clone())));
        }
        AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => {
            form.push(("client_id".into(), Value::Plain(p.client_id.to_owned())));
        }
    }
    Ok(PreparedRequest {
        method: "POST",
        url: p.token_url.clone(),
        headers,
        form,
    })
}

impl PreparedRequest {
    /// The encoded form body that goes on the wire. Holds secrets: do not log it.
    pub fn body(&self) -> ClientSecret {
        let pairs: Vec<(&str, &str)> = self
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.wire()))
            .collect();
        // Infallible: serde_urlencoded cannot fail on a sequence of string pairs.
        ClientSecret::new(serde_urlencoded::to_string(pairs).unwrap_or_default())
    }

    /// The form body with secrets replaced by fingerprints (not valid on the wire).
    pub fn redacted_body(&self) -> String {
        self.form
            .iter()
            .map(|(k, v)| match v {
                Value::Plain(s) => format!("{}={}", form_urlencode(k), form_urlencode(s)),
                Value::Secret { .. } | Value::Assertion(_) => {
                    format!("{}={}", form_urlencode(k), v.shown())
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The whole request as text, secrets replaced by fingerprints (for `--dry-run`).
    pub fn redacted(&self) -> String {
        let mut out = format!("{} {}\n", self.method, self.url);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {}\n", v.shown()));
        }
        out.push('\n');
        out.push_str(&self.redacted_body());
        out.push('\n');
        out
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

/// The hint for `invalid_client` after `method` presented an assertion or a certificate:
/// the provider hints speak of secrets sent as such. `None` for the plain secret methods.
pub fn key_refused_hint(method: AuthMethod) -> Option<&'static str> {
    match method {
        AuthMethod::ClientSecretJwt => Some(
            "The server did not accept the assertion signed with the client secret (HS256): the \
             secret is not the one the server holds for the client id (compare the presented \
             fingerprint) or shorter than HS256 requires (32 bytes), the assertion's aud or \
             times are not what the server expects, or the client is registered for another \
             authentication method. Run `cctoken doctor` with the same flags.",
        ),
        AuthMethod::PrivateKeyJwt => Some(
            "The server did not accept the client assertion: the key is not one registered \
             for the client id, or the assertion's aud, kid, alg or times are not what the \
             server expects, or the client is registered for another authentication method. \
             Run `cctoken doctor` with the same flags: it names the key by its thumbprint and \
             checks the assertion against discovery and the server's clock.",
        ),
        AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => Some(
            "The server did not accept the client certificate: it is not the one registered \
             for the client id (compare the subject DN and the SHA-256 thumbprint), it has \
             expired, or the server did not receive it (a TLS-terminating proxy in between, \
             or the endpoint is not the mTLS alias). Run `cctoken doctor` with the same flags.",
        ),
        _ => None,
    }
}
