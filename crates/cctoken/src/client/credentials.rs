//! The per-attempt client credential of the key-based methods (SPEC §14): an assertion
//! signed afresh for every attempt (new `jti`, `iat` from the injected clock, `aud` from the
//! issuer discovery gave), or one obtained from the external source. The HTTP exchange and
//! the retries are the parent module's.

use super::{Client, Resolved};
use crate::auth::assertion::{self, Assertion, AssertionSpec, Signer};
use crate::auth::AuthMethod;
use crate::provider::{Endpoint, ProviderConfig};
use crate::Error;

impl Client {
    /// The issuer an assertion's `aud` names: discovery's, else the configured one.
    pub(super) fn issuer(&self, resolved: &Resolved) -> Option<String> {
        if let Some(i) = resolved.metadata.as_ref().and_then(|m| m.issuer.clone()) {
            return Some(i);
        }
        match &self.config.provider {
            ProviderConfig::Generic {
                endpoint: Endpoint::Issuer(i),
                ..
            } => Some(issuer_identifier(i)),
            _ => None,
        }
    }

    /// A freshly signed assertion (new `jti`, `iat` from the injected clock) when the
    /// method signs one; `None` for the other methods.
    pub(super) fn sign_assertion(&self, resolved: &Resolved) -> Result<Option<Assertion>, Error> {
        let keys = &self.config.keys;
        let signer = match resolved.auth {
            AuthMethod::ClientSecretJwt => {
                if !self.config.has_secret() {
                    return Err(Error::config(
                        "client-secret-jwt signs with the client secret, and none was given",
                    ));
                }
                Signer::Secret(&self.config.client_secret)
            }
            AuthMethod::PrivateKeyJwt => match &keys.signing_key {
                Some(k) => Signer::Key(k),
                None => {
                    return Err(Error::config(
                        "private-key-jwt needs --private-key-file (private_key_file) or \
                         --client-assertion-from",
                    ))
                }
            },
            _ => return Ok(None),
        };
        let advertised = resolved
            .metadata
            .as_ref()
            .and_then(|m| m.signing_algs.as_deref());
        let alg = keys.alg(resolved.auth, advertised)?;
        let issuer = self.issuer(resolved);
        let spec = AssertionSpec {
            signer,
            alg,
            client_id: &self.config.client_id,
            aud: keys
                .assertion_aud
                .value(issuer.as_deref(), resolved.token_url.as_str()),
            kid: keys
                .kid()
                .filter(|_| resolved.auth == AuthMethod::PrivateKeyJwt),
            x5t_s256: keys
                .x5t_s256()
                .filter(|_| resolved.auth == AuthMethod::PrivateKeyJwt),
            typ: keys.assertion_typ,
        };
        assertion::sign(&spec, self.clock.now(), assertion::new_jti()).map(Some)
    }

    /// The assertion for one attempt: signed afresh, or obtained from the external source.
    pub(super) async fn attempt_assertion(
        &self,
        resolved: &Resolved,
    ) -> Result<Option<Assertion>, Error> {
        match &self.config.keys.assertion_from {
            Some(src) if resolved.auth == AuthMethod::PrivateKeyJwt => {
                src.obtain(self.http()?, self.trace()).await.map(Some)
            }
            _ => self.sign_assertion(resolved),
        }
    }
}

/// The issuer as an identifier when discovery did not name it (`--dry-run`, no network):
/// a bare origin without the `/` that URL parsing adds (`https://as.example`, as issuers
/// are written and as discovery documents name them, RFC 8414 §2), anything else as given.
fn issuer_identifier(issuer: &url::Url) -> String {
    let s = issuer.as_str();
    match (issuer.path(), issuer.query(), issuer.fragment()) {
        ("/", None, None) => s.trim_end_matches('/').to_owned(),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod issuer_tests {
    use super::issuer_identifier;

    #[test]
    fn a_bare_origin_issuer_has_no_trailing_slash() {
        let id = |s: &str| issuer_identifier(&url::Url::parse(s).unwrap());
        assert_eq!(id("http://127.0.0.1:41043"), "http://127.0.0.1:41043");
        assert_eq!(id("https://as.example/"), "https://as.example");
        assert_eq!(
            id("https://kc.example/realms/ci"),
            "https://kc.example/realms/ci"
        );
        assert_eq!(
            id("https://kc.example/realms/ci/"),
            "https://kc.example/realms/ci/"
        );
    }
}
