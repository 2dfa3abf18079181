//! What a client holds besides its secret — a signing key, a certificate, an external
//! assertion source, extra trust roots — and the rules that follow from it (SPEC §14):
//! which method to use ([`choose`], [`default_method`]), which algorithm ([`KeyAuth::alg`]),
//! and what identifies the credential in a cache key and seals the cache entry.
//!
//! It reads nothing (the config edge loaded everything) and sends nothing (the client
//! does); it only decides.

use std::sync::Arc;

use super::assertion::AssertionAud;
use super::external::AssertionSource;
use super::key::{Alg, SigningKey};
use super::tls::{ClientCertificate, TlsIdentity};
use super::AuthMethod;
use crate::Error;

/// Key and certificate material of one client; all empty for secret-only clients.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    /// `private_key_file`: signs `private_key_jwt` assertions.
    pub signing_key: Option<Arc<SigningKey>>,
    /// `key_id`: the header `kid` (else the JWK's own `kid`; a bare PEM sends none).
    pub key_id: Option<String>,
    /// `alg`: overrides the key's default algorithm.
    pub alg: Option<Alg>,
    /// `assertion_aud`.
    pub assertion_aud: AssertionAud,
    /// `assertion_typ`: send `typ: client-authentication+jwt` (default true).
    pub assertion_typ: bool,
    /// `client_cert`: adds `x5t#S256` to assertions; with `client_key`, the TLS identity.
    pub client_cert: Option<ClientCertificate>,
    /// `client_cert` + `client_key`: presented in TLS by the `tls-*` methods.
    pub tls: Option<TlsIdentity>,
    /// `client_assertion_from`: an external JWT instead of a signed one.
    pub assertion_from: Option<AssertionSource>,
    /// `ca_cert`, `SSL_CERT_FILE`, `SSL_CERT_DIR`: extra trust roots.
    pub trust_roots: Vec<reqwest::Certificate>,
}

impl Default for KeyAuth {
    fn default() -> Self {
        Self {
            signing_key: None,
            key_id: None,
            alg: None,
            assertion_aud: AssertionAud::default(),
            assertion_typ: true,
            client_cert: None,
            tls: None,
            assertion_from: None,
            trust_roots: Vec::new(),
        }
    }
}

impl KeyAuth {
    /// A key or an external assertion source: `private-key-jwt` is possible.
    pub fn has_key(&self) -> bool {
        self.signing_key.is_some() || self.assertion_from.is_some()
    }

    /// A certificate with its key: the `tls-*` methods are possible.
    pub fn has_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether the HTTP client must be built for this client alone (its own TLS identity
    /// or trust roots), instead of sharing one.
    pub fn needs_own_http(&self, method: AuthMethod) -> bool {
        (method.uses_tls() && self.tls.is_some()) || !self.trust_roots.is_empty()
    }

    /// The header `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.key_id
            .as_deref()
            .or_else(|| self.signing_key.as_ref().and_then(|k| k.jwk_kid()))
    }

    /// The header `x5t#S256`, from `client_cert`.
    pub fn x5t_s256(&self) -> Option<&str> {
        self.client_cert.as_ref().map(|c| c.thumbprint())
    }

    /// The algorithm for `method`, checked against the key and `advertised`
    /// (`token_endpoint_auth_signing_alg_values_supported`, when discovery gave it).
    pub fn alg(&self, method: AuthMethod, advertised: Option<&[String]>) -> Result<Alg, Error> {
        let alg = match (method, &self.signing_key) {
            (AuthMethod::ClientSecretJwt, _) => match self.alg {
                None | Some(Alg::Hs256) => Alg::Hs256,
                Some(a) => {
                    return Err(Error::config(format!(
                        "client-secret-jwt signs with HS256; --alg {a} needs private-key-jwt"
                    )))
                }
            },
            (_, Some(k)) => {
                let alg = self.alg.unwrap_or_else(|| k.default_alg());
                if !k.fits(alg) {
                    return Err(Error::config(format!(
                        "--alg {alg} does not fit the {} key (thumbprint {}); it signs {}",
                        k.kind(),
                        k.thumbprint(),
                        if k.kind() == "RSA" {
                            "RS256 or PS256".into()
                        } else {
                            k.default_alg().to_string()
                        }
                    )));
                }
                alg
            }
            (_, None) => return Err(Error::config(
                "private-key-jwt needs a private key: give --private-key-file (private_key_file) \
                     or --client-assertion-from",
            )),
        };
        if let Some(list) = advertised {
            if !list.is_empty() && !list.iter().any(|a| alg.is_named(a)) {
                return Err(Error::config(format!(
                    "the server accepts client assertions signed with {} only, not {alg}; pick \
                     another --alg or key",
                    list.join(", ")
                )));
            }
        }
        Ok(alg)
    }

    /// The credential `method` presents, for humans: a key or certificate by its
    /// thumbprint, an external assertion by its source; `None` for the secret methods.
    pub fn presented(&self, method: AuthMethod) -> Option<String> {
        match method {
            AuthMethod::PrivateKeyJwt => match (&self.signing_key, &self.assertion_from) {
                (_, Some(src)) => Some(format!("an assertion from {}", src.describe())),
                (Some(k), None) => Some(format!(
                    "an assertion signed with the {} key thumbprint {}{}",
                    k.kind(),
                    k.thumbprint(),
                    self.kid()
                        .map(|k| format!(" (kid {k})"))
                        .unwrap_or_default()
                )),
                (None, None) => None,
            },
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => {
                self.tls.as_ref().map(|t| {
                    format!(
                        "the certificate {} (x5t#S256 {})",
                        t.cert.subject(),
                        t.cert.thumbprint()
                    )
                })
            }
            _ => None,
        }
    }

    /// What identifies the credential in a cache key instead of the secret's fingerprint:
    /// the public key's or certificate's thumbprint, or the external source.
    pub fn cache_identity(&self, method: AuthMethod) -> Option<String> {
        match method {
            AuthMethod::PrivateKeyJwt => match (&self.signing_key, &self.assertion_from) {
                (_, Some(src)) => Some(format!("assertion-from:{}", src.describe())),
                (Some(k), None) => Some(format!("jwk:{}", k.thumbprint())),
                (None, None) => None,
            },
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => self
                .tls
                .as_ref()
                .map(|t| format!("x5t:{}", t.cert.thumbprint())),
            _ => None,
        }
    }
}

/// The method when neither `--auth` nor discovery says: a key (or assertion source) →
/// `private-key-jwt`; a certificate and no secret → the `tls-*` method its issuer implies;
/// otherwise the provider's secret default.
pub fn default_method(keys: &KeyAuth, has_secret: bool, secret_default: AuthMethod) -> AuthMethod {
    if keys.has_key() {
        AuthMethod::PrivateKeyJwt
    } else if let (Some(t), false) = (&keys.tls, has_secret) {
        tls_method(&t.cert)
    } else {
        secret_default
    }
}

fn tls_method(cert: &ClientCertificate) -> AuthMethod {
    if cert.is_self_signed() {
        AuthMethod::SelfSignedTlsClientAuth
    } else {
        AuthMethod::TlsClientAuth
    }
}

/// The method from `token_endpoint_auth_methods_supported` (SPEC §14): an explicit
/// choice wins; otherwise key > certificate > secret among what the client holds and the
/// server lists. A server listing only `none` (test servers) gets Basic when there is a
/// secret; a server listing nothing the client can do is an error naming both sides.
pub fn choose(
    explicit: Option<AuthMethod>,
    advertised: Option<&[String]>,
    keys: &KeyAuth,
    has_secret: bool,
    secret_default: AuthMethod,
) -> Result<AuthMethod, Error> {
    if let Some(m) = explicit {
        return Ok(m);
    }
    let Some(methods) = advertised else {
        return Ok(default_method(keys, has_secret, secret_default));
    };
    let listed = |m: AuthMethod| methods.iter().any(|x| x == m.metadata_name());
    if keys.has_key() && listed(AuthMethod::PrivateKeyJwt) {
        return Ok(AuthMethod::PrivateKeyJwt);
    }
    if let Some(t) = &keys.tls {
        let first = tls_method(&t.cert);
        for m in [
            first,
            AuthMethod::TlsClientAuth,
            AuthMethod::SelfSignedTlsClientAuth,
        ] {
            if listed(m) {
                return Ok(m);
            }
        }
    }
    if has_secret {
        for m in [
            AuthMethod::Basic,
            AuthMethod::Post,
            AuthMethod::ClientSecretJwt,
        ] {
            if listed(m) {
                return Ok(m);
            }
        }
        if methods.is_empty() || methods.iter().any(|m| m == "none") {
            // Test servers (oauth2-mock-server) advertise only `none` and ignore credentials;
            // sending Basic is harmless there and right everywhere a secret exists.
            tracing::warn!(
                advertised = %methods.join(","),
                "the server advertises no secret-based client authentication; sending client_secret_basic"
            );
            return Ok(AuthMethod::Basic);
        }
    }
    let mut held = Vec::new();
    if keys.has_key() {
        held.push("a private key or assertion source (private_key_jwt)");
    }
    if keys.has_tls() {
        held.push("a client certificate (tls_client_auth)");
    }
    if has_secret {
        held.push("a client secret (client_secret_basic/post/jwt)");
    }
    if held.is_empty() {
        held.push("no credential");
    }
    Err(Error::config(format!(
        "the server supports only {} for client authentication, and the profile holds {}; \
         add the matching credential or set --auth",
        methods.join(", "),
        held.join(" and ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secret_only_keeps_the_old_rules() {
        let k = KeyAuth::default();
        let c = |m: &[&str]| choose(None, Some(&list(m)), &k, true, AuthMethod::Basic);
        assert_eq!(c(&["client_secret_post"]).unwrap(), AuthMethod::Post);
        assert_eq!(c(&["none"]).unwrap(), AuthMethod::Basic);
        assert_eq!(
            c(&["client_secret_jwt"]).unwrap(),
            AuthMethod::ClientSecretJwt
        );
        let e = c(&["private_key_jwt"]).unwrap_err();
        assert!(e.message.contains("holds a client secret"), "{e}");
        assert_eq!(
            choose(
                Some(AuthMethod::BasicRaw),
                Some(&list(&["private_key_jwt"])),
                &k,
                true,
                AuthMethod::Basic
            )
            .unwrap(),
            AuthMethod::BasicRaw
        );
        assert_eq!(
            choose(None, None, &k, true, AuthMethod::BasicRaw).unwrap(),
            AuthMethod::BasicRaw
        );
    }

    fn with_key() -> KeyAuth {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        KeyAuth {
            signing_key: Some(Arc::new(SigningKey::from_text(pem.as_bytes()).unwrap())),
            ..KeyAuth::default()
        }
    }

    #[test]
    fn a_key_wins_over_a_secret_among_what_the_server_lists() {
        let k = with_key();
        let c = |m: Option<&[&str]>, secret: bool| {
            let l = m.map(list);
            choose(None, l.as_deref(), &k, secret, AuthMethod::Basic)
        };
        let both = ["client_secret_basic", "private_key_jwt"];
        assert_eq!(c(Some(&both), true).unwrap(), AuthMethod::PrivateKeyJwt);
        assert_eq!(
            c(Some(&["client_secret_basic"]), true).unwrap(),
            AuthMethod::Basic
        );
        assert_eq!(c(None, true).unwrap(), AuthMethod::PrivateKeyJwt);
        let e = c(Some(&["client_secret_basic"]), false).unwrap_err();
        assert!(e.message.contains("holds a private key"), "{e}");
        // The algorithm comes from the key and is checked against what is advertised.
        assert_eq!(k.alg(AuthMethod::PrivateKeyJwt, None).unwrap(), Alg::Es256);
        let only_rs = list(&["RS256", "PS256"]);
        let e = k
            .alg(AuthMethod::PrivateKeyJwt, Some(&only_rs))
            .unwrap_err();
        assert!(e.message.contains("RS256, PS256 only, not ES256"), "{e}");
        let wrong = KeyAuth {
            alg: Some(Alg::Rs256),
            ..k.clone()
        };
        assert!(wrong.alg(AuthMethod::PrivateKeyJwt, None).is_err());
        assert_eq!(
            k.alg(AuthMethod::ClientSecretJwt, None).unwrap(),
            Alg::Hs256
        );
        assert!(k
            .cache_identity(AuthMethod::PrivateKeyJwt)
            .unwrap()
            .starts_with("jwk:"));
    }
}
