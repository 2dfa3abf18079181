//! Workload identity federation (SPEC §14): a JWT made by the CI platform or the cluster,
//! sent as the `client_assertion`. No secret is stored anywhere.
//!
//! [`AssertionFrom`] is the setting as written (`github[:AUDIENCE]`, `env:VAR`,
//! `file:PATH`); [`AssertionSource`] is it resolved against the environment once, at the
//! edge. A fresh assertion is obtained for every request ([`AssertionSource::obtain`]):
//! GitHub's endpoint is asked each time (its tokens live minutes), a file is re-read (a
//! projected Kubernetes token is rotated in place). The request token GitHub gives the job
//! and the JWT itself are secrets; `--trace` shows the JWT decoded, signature elided.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use url::Url;

use super::assertion::Assertion;
use crate::client::http::{self, TraceSink};
use crate::config::env::{self, EnvLookup};
use crate::error::{excerpt, Error, ErrorKind};
use crate::secret::ClientSecret;

/// `client_assertion_from` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionFrom {
    /// GitHub Actions OIDC, with the `audience` to ask for.
    Github(Option<String>),
    /// An environment variable (GitLab `id_tokens`).
    Env(String),
    /// A file, re-read on every request (a Kubernetes projected service-account token).
    File(PathBuf),
}

impl fmt::Display for AssertionFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Github(None) => f.write_str("github"),
            Self::Github(Some(a)) => write!(f, "github:{a}"),
            Self::Env(v) => write!(f, "env:{v}"),
            Self::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl FromStr for AssertionFrom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, rest) = match s.split_once(':') {
            Some((k, r)) => (k, Some(r)),
            None => (s, None),
        };
        match (kind, rest) {
            ("github", None) => Ok(Self::Github(None)),
            ("github", Some(a)) if !a.is_empty() => Ok(Self::Github(Some(a.to_owned()))),
            ("env", Some(v)) if !v.is_empty() => Ok(Self::Env(v.to_owned())),
            ("file", Some(p)) if !p.is_empty() => Ok(Self::File(PathBuf::from(p))),
            _ => Err(format!(
                "client assertion source '{s}' is not github, github:AUDIENCE, env:VAR or \
                 file:PATH"
            )),
        }
    }
}

/// A resolved source of external client assertions.
#[derive(Clone)]
pub enum AssertionSource {
    /// GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the job's
    /// request token, answer `{"value": JWT}`.
    Github {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: Url,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (secret).
        request_token: ClientSecret,
        /// The `audience` to ask for; GitHub's default when `None`.
        audience: Option<String>,
    },
    /// The value of an environment variable, read at resolve time.
    Env {
        /// Its name.
        var: String,
        /// Its value (secret).
        value: ClientSecret,
    },
    /// A file, re-read on every request.
    File(PathBuf),
}

impl fmt::Debug for AssertionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Largest external assertion read from a file or variable.
const MAX_ASSERTION: u64 = 64 * 1024;

impl AssertionSource {
    /// Resolve `from` against the environment.
    pub fn resolve(from: &AssertionFrom, env: &dyn EnvLookup) -> Result<AssertionSource, Error> {
        match from {
            AssertionFrom::Github(audience) => {
                let (Some(url), Some(token)) = (
                    env.non_empty(env::ACTIONS_ID_TOKEN_REQUEST_URL),
                    env.non_empty(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
                ) else {
                    return Err(Error::config(format!(
                        "client_assertion_from = github needs {} and {}: run in GitHub Actions \
                         with `permissions: id-token: write`",
                        env::ACTIONS_ID_TOKEN_REQUEST_URL,
                        env::ACTIONS_ID_TOKEN_REQUEST_TOKEN
                    )));
                };
                let request_url =
                    crate::provider::parse_url(env::ACTIONS_ID_TOKEN_REQUEST_URL, &url)?;
                Ok(AssertionSource::Github {
                    request_url,
                    request_token: ClientSecret::new(token),
                    audience: audience.clone(),
                })
            }
            AssertionFrom::Env(var) => {
                let value = env.non_empty(var).ok_or_else(|| {
                    Error::config(format!(
                        "client_assertion_from = env:{var}, but {var} is not set (GitLab: \
                         declare it under id_tokens)"
                    ))
                })?;
                Ok(AssertionSource::Env {
                    var: var.clone(),
                    value: ClientSecret::new(value.trim().to_owned()),
                })
            }
            AssertionFrom::File(p) => Ok(AssertionSource::File(p.clone())),
        }
    }

    /// Where the assertion comes from, for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::Github { audience, .. } => match audience {
                Some(a) => format!("GitHub Actions OIDC (audience {a})"),
                None => "GitHub Actions OIDC".to_owned(),
            },
            Self::Env { var, .. } => format!("env {var}"),
            Self::File(p) => format!("file {}", p.display()),
        }
    }

    /// The assertion without the network, or `None` for GitHub (`--dry-run`).
    pub fn read_local(&self) -> Option<Result<Assertion, Error>> {
        match self {
            Self::Github { .. } => None,
            Self::Env { value, .. } => Some(Assertion::external(value.clone(), self.describe())),
            Self::File(p) => {
                Some(read_file(p).and_then(|jwt| Assertion::external(jwt, self.describe())))
            }
        }
    }

    /// A fresh assertion.
    pub async fn obtain(
        &self,
        http: &reqwest::Client,
        trace: Option<&TraceSink>,
    ) -> Result<Assertion, Error> {
        if let Some(local) = self.read_local() {
            return local;
        }
        let Self::Github {
            request_url,
            request_token,
            audience,
        } = self
        else {
            unreachable!("read_local answers every other source")
        };
        let mut url = request_url.clone();
        if let Some(a) = audience {
            url.query_pairs_mut().append_pair("audience", a);
        }
        if let Some(t) = trace {
            t(&format!(
                "> GET {url}\n> Authorization: bearer [secret {}]",
                request_token.fingerprint()
            ));
        }
        let resp = http
            .get(url.clone())
            .header(
                "Authorization",
                format!("bearer {}", request_token.expose_secret()),
            )
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| http::transport_error(&e, &url))?;
        let raw = http::read_response(resp, &url).await?;
        let value = serde_json::from_slice::<serde_json::Value>(&raw.body)
            .ok()
            .and_then(|v| v.get("value").and_then(|v| v.as_str()).map(str::to_owned));
        let jwt = match (raw.status, value) {
            (200..=299, Some(v)) => ClientSecret::new(v),
            (status, _) => {
                if let Some(t) = trace {
                    t(&format!("< HTTP {status}"));
                }
                return Err(Error::rejected(
                    ErrorKind::UnexpectedResponse,
                    Some(status),
                    format!(
                        "GitHub Actions did not issue an OIDC token (HTTP {status}): {}",
                        excerpt(
                            &String::from_utf8_lossy(&raw.body)
                                .replace(request_token.expose_secret(), "[secret]"),
                            120
                        )
                    ),
                )
                .with_hint("the job needs `permissions: id-token: write`"));
            }
        };
        let a = Assertion::external(jwt, self.describe())?;
        if let Some(t) = trace {
            t(&format!("< HTTP {} (OIDC token {})", raw.status, a.shown()));
        }
        Ok(a)
    }
}

fn read_file(p: &std::path::Path) -> Result<ClientSecret, Error> {
    let buf = crate::config::small_file::read_small(p, MAX_ASSERTION)
        .map_err(|e| Error::config(e.message("client assertion", p, MAX_ASSERTION)))?
        .bytes;
    let text = std::str::from_utf8(&buf)
        .map_err(|_| Error::config(format!("{} is not UTF-8 text", p.display())))?;
    Ok(ClientSecret::new(text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_show() {
        for s in [
            "github",
            "github:api://AzureADTokenExchange",
            "env:CI_JWT",
            "file:/var/run/t",
        ] {
            assert_eq!(s.parse::<AssertionFrom>().unwrap().to_string(), s);
        }
        for bad in ["gitlab", "env:", "file:", "github:"] {
            assert!(bad.parse::<AssertionFrom>().is_err(), "{bad}");
        }
    }
}
