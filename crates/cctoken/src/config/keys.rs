//! The key and certificate settings of a profile (SPEC §14), and loading them into the
//! client's [`KeyAuth`].
//!
//! [`KeySettings`] is the group of profile keys (and flags) `private_key_file`, `key_id`,
//! `alg`, `assertion_aud`, `assertion_typ`, `client_cert`, `client_key`,
//! `client_assertion_from` and `ca_cert`, already typed. [`KeySettings::load`] reads the
//! files — a private key is a secret under SPEC §4's rules: size-limited, never echoed,
//! described by its path and, once read, its public key's thumbprint — and resolves an
//! assertion source against the environment. Trust roots also come from `SSL_CERT_FILE`
//! and `SSL_CERT_DIR`, as OpenSSL-based tools read them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::assertion::AssertionAud;
use crate::auth::external::{AssertionFrom, AssertionSource};
use crate::auth::key::{Alg, SigningKey};
use crate::auth::material::KeyAuth;
use crate::auth::tls::{roots_from_pem, ClientCertificate, TlsIdentity};
use crate::config::env::{self, EnvLookup};
use crate::secret::ClientSecret;
use crate::Error;

/// Largest key, certificate or CA bundle file read.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// `assertion_typ`: `client-authentication+jwt` (the default) or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionTyp(pub bool);

impl std::str::FromStr for AssertionTyp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self(false)),
            "client-authentication+jwt" => Ok(Self(true)),
            _ => Err(format!(
                "assertion typ '{s}' is neither client-authentication+jwt nor none"
            )),
        }
    }
}

/// The key and certificate settings of one profile (or of the flags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeySettings {
    /// `private_key_file`: PEM (PKCS#8, SEC1, PKCS#1) or JWK.
    pub private_key_file: Option<PathBuf>,
    /// `key_id`: the header `kid`.
    pub key_id: Option<String>,
    /// `alg`: the signing algorithm.
    pub alg: Option<Alg>,
    /// `assertion_aud`: `issuer`, `token-endpoint` or a URL.
    pub assertion_aud: Option<AssertionAud>,
    /// `assertion_typ`.
    pub assertion_typ: Option<AssertionTyp>,
    /// `client_cert`: PEM certificate (chain).
    pub client_cert: Option<PathBuf>,
    /// `client_key`: the certificate's PEM private key.
    pub client_key: Option<PathBuf>,
    /// `client_assertion_from`: `github[:AUD]`, `env:VAR` or `file:PATH`.
    pub client_assertion_from: Option<AssertionFrom>,
    /// `ca_cert`: extra trust roots (PEM bundle).
    pub ca_cert: Option<PathBuf>,
}

impl KeySettings {
    /// `self` with every setting of `hi` on top.
    pub fn overlay(self, hi: KeySettings) -> KeySettings {
        KeySettings {
            private_key_file: hi.private_key_file.or(self.private_key_file),
            key_id: hi.key_id.or(self.key_id),
            alg: hi.alg.or(self.alg),
            assertion_aud: hi.assertion_aud.or(self.assertion_aud),
            assertion_typ: hi.assertion_typ.or(self.assertion_typ),
            client_cert: hi.client_cert.or(self.client_cert),
            client_key: hi.client_key.or(self.client_key),
            client_assertion_from: hi.client_assertion_from.or(self.client_assertion_from),
            ca_cert: hi.ca_cert.or(self.ca_cert),
        }
    }

    /// The settings as profile keys and text values (`profiles show`); no secrets here.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        [
            ("private_key_file", path(&self.private_key_file)),
            ("key_id", self.key_id.clone()),
            ("alg", self.alg.map(|a| a.to_string())),
            (
                "assertion_aud",
                self.assertion_aud.as_ref().map(|a| a.to_string()),
            ),
            (
                "assertion_typ",
                self.assertion_typ.map(|t| {
                    if t.0 {
                        "client-authentication+jwt"
                    } else {
                        "none"
                    }
                    .to_owned()
                }),
            ),
            ("client_cert", path(&self.client_cert)),
            ("client_key", path(&self.client_key)),
            (
                "client_assertion_from",
                self.client_assertion_from.as_ref().map(|a| a.to_string()),
            ),
            ("ca_cert", path(&self.ca_cert)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// Whether a key, a certificate or an assertion source is set.
    pub fn has_credential(&self) -> bool {
        self.private_key_file.is_some()
            || self.client_cert.is_some()
            || self.client_assertion_from.is_some()
    }

    /// Read the files and resolve the assertion source.
    pub fn load(&self, env: &dyn EnvLookup) -> Result<KeyAuth, Error> {
        if self.private_key_file.is_some() && self.client_assertion_from.is_some() {
            return Err(Error::config(
                "private_key_file and client_assertion_from both make the client assertion; \
                 keep one",
            ));
        }
        if self.client_key.is_some() && self.client_cert.is_none() {
            return Err(Error::config(
                "client_key (--client-key) is set without client_cert (--client-cert)",
            ));
        }
        let signing_key = match &self.private_key_file {
            Some(p) => {
                let text = read_limited(p, "private key")?;
                let key = SigningKey::from_text(&text).map_err(|e| {
                    Error::config(format!("the private key file {}: {e}", p.display()))
                })?;
                Some(Arc::new(key))
            }
            None => None,
        };
        let client_cert = match &self.client_cert {
            Some(p) => {
                let text = read_limited(p, "client certificate")?;
                Some(ClientCertificate::from_pem(&text).map_err(|e| {
                    Error::config(format!("the client certificate {}: {e}", p.display()))
                })?)
            }
            None => None,
        };
        let tls = match (&client_cert, &self.client_key) {
            (Some(cert), Some(p)) => {
                let text = read_limited(p, "client key")?;
                let pem = std::str::from_utf8(&text).map_err(|_| {
                    Error::config(format!("the client key {} is not PEM text", p.display()))
                })?;
                Some(
                    TlsIdentity::new(cert.clone(), ClientSecret::new(pem)).map_err(|e| {
                        Error::config(format!("the client key {}: {e}", p.display()))
                    })?,
                )
            }
            _ => None,
        };
        let assertion_from = match &self.client_assertion_from {
            Some(from) => Some(AssertionSource::resolve(from, env)?),
            None => None,
        };
        Ok(KeyAuth {
            signing_key,
            key_id: self.key_id.clone(),
            alg: self.alg,
            assertion_aud: self.assertion_aud.clone().unwrap_or_default(),
            assertion_typ: self.assertion_typ.is_none_or(|t| t.0),
            client_cert,
            tls,
            assertion_from,
            trust_roots: trust_roots(self.ca_cert.as_deref(), env)?,
        })
    }
}

fn read_limited(p: &Path, what: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    super::small_file::read_small(p, MAX_PEM_BYTES)
        .map(|f| f.bytes)
        .map_err(|e| Error::config(e.message(what, p, MAX_PEM_BYTES)))
}

/// `ca_cert`, then `SSL_CERT_FILE`, then every PEM file of `SSL_CERT_DIR`.
fn trust_roots(
    ca_cert: Option<&Path>,
    env: &dyn EnvLookup,
) -> Result<Vec<reqwest::Certificate>, Error> {
    let mut out = Vec::new();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if let Some(p) = ca_cert {
        files.push((p.to_owned(), format!("ca_cert {}", p.display())));
    }
    if let Some(f) = env.non_empty(env::SSL_CERT_FILE) {
        files.push((PathBuf::from(&f), format!("{} {f}", env::SSL_CERT_FILE)));
    }
    for (p, origin) in files {
        out.extend(roots_from_pem(
            &read_limited(&p, "CA certificate")?,
            &origin,
        )?);
    }
    if let Some(d) = env.non_empty(env::SSL_CERT_DIR) {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| Error::config(format!("{} {d}: {e}", env::SSL_CERT_DIR)))?;
        for entry in entries.flatten().take(10_000) {
            let p = entry.path();
            if !p.is_file() {
                continue;
            }
            // A directory of hashed links (c_rehash) holds other files too: skip what is not PEM.
            if let Ok(text) = read_limited(&p, "CA certificate") {
                if let Ok(certs) = roots_from_pem(&text, &p.display().to_string()) {
                    out.extend(certs);
                }
            }
        }
    }
    Ok(out)
}
