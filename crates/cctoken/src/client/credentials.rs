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
            } => Some(i.as_str().to_owned()),
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
