//! One profile's settings, typed: a `[profiles.NAME]` table of the profile file (SPEC §7),
//! what the CLI's flags give, or both overlaid.
//!
//! [`ProfileKeys`] is the table key by key, as written — each value already parsed (a URL
//! is a [`Url`] that passed the https-or-loopback check, a region is a [`Region`] of the
//! table, a duration is a [`Duration`]) while the file is read, so a mistake is reported as
//! `path:line:col` — and it is what the CLI's flags fill in. It is converted once into
//! [`ProfileSettings`], which holds the keys that belong together as one value: the
//! client-secret source ([`SecretSetting`]), the access key secret's source, the endpoint
//! (token URL *or* issuer). Two sources for one secret, or a token URL and an issuer, are
//! refused there, with the same words for a file and for flags.
//!
//! [`ProfileSettings::overlay`] puts flags over a profile group by group. Turning settings
//! into a [`crate::config::ClientConfig`] (provider inference, env conventions, secrets) is
//! [`crate::config::resolve()`]'s job; this module does no resolution and reads no secrets.
//!
//! A new profile key is a field of [`ProfileKeys`], its place in [`ProfileSettings`] (a new
//! field, or inside a group), a line of the conversion and one of [`ProfileSettings::keys`]
//! (what `profiles show` prints) — all here — and the code that uses it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use crate::auth::assertion::AssertionAud;
use crate::auth::external::AssertionFrom;
use crate::auth::key::Alg;
use crate::auth::AuthMethod;
use crate::config::keys::{AssertionTyp, KeySettings};
use crate::pool::{ApiRateLimit, Pacing, PoolSize};
use crate::provider::genesys::{lookup_region, Region};
use crate::provider::{parse_url, Endpoint, ProviderKind};
use crate::secret::ClientSecret;
use crate::Error;

/// One `[profiles.NAME]` table key by key (and what the CLI's flags give), typed but not
/// yet grouped; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileKeys {
    /// `genesys`, `generic` or `cxone`; inferred when absent.
    #[serde(default, deserialize_with = "de_from_str")]
    pub provider: Option<ProviderKind>,
    /// Genesys region name (`eu-west-1`) or domain (`mypurecloud.ie`).
    #[serde(default, deserialize_with = "de_region")]
    pub region: Option<&'static Region>,
    /// The token endpoint (generic), or a host override for genesys/cxone (emulator).
    #[serde(default, deserialize_with = "de_url")]
    pub token_url: Option<Url>,
    /// The issuer for discovery (generic, cxone), or a host override for genesys.
    #[serde(default, deserialize_with = "de_url")]
    pub issuer: Option<Url>,
    /// API base for `api`, `exec` and the agent's proxy.
    #[serde(default, deserialize_with = "de_url")]
    pub api_base: Option<Url>,
    /// The OAuth client id (not secret).
    pub client_id: Option<String>,
    /// Name of the environment variable that holds the client secret.
    pub client_secret_env: Option<String>,
    /// File that holds the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// Shell command (`sh -c`) whose stdout is the client secret.
    pub client_secret_cmd: Option<String>,
    /// How long `client_secret_cmd` may run (default 10 s).
    #[serde(default, deserialize_with = "de_duration")]
    pub client_secret_cmd_timeout: Option<Duration>,
    /// Read the client secret from the OS keyring (`cctoken profiles set-secret NAME`).
    pub client_secret_keyring: Option<bool>,
    /// Read the client secret from stdin (`--client-secret-stdin`; not a TOML key).
    #[serde(skip)]
    pub client_secret_stdin: bool,
    /// Client authentication: `basic`, `basic-raw`, `post`, `private-key-jwt`,
    /// `client-secret-jwt`, `tls-client-auth` or `self-signed-tls-client-auth` (the RFC
    /// names are aliases).
    #[serde(default, deserialize_with = "de_from_str")]
    pub auth: Option<AuthMethod>,
    /// The private key that signs `private_key_jwt` assertions (PEM or JWK).
    pub private_key_file: Option<PathBuf>,
    /// The assertion header's `kid`.
    pub key_id: Option<String>,
    /// The assertion's signing algorithm (default: from the key).
    #[serde(default, deserialize_with = "de_from_str")]
    pub alg: Option<Alg>,
    /// The assertion's `aud`: `issuer`, `token-endpoint` or a URL.
    #[serde(default, deserialize_with = "de_from_str")]
    pub assertion_aud: Option<AssertionAud>,
    /// The assertion header's `typ`: `client-authentication+jwt` or `none`.
    #[serde(default, deserialize_with = "de_from_str")]
    pub assertion_typ: Option<AssertionTyp>,
    /// The client certificate (PEM): TLS client authentication, or `x5t#S256` for
    /// `private_key_jwt`.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub client_key: Option<PathBuf>,
    /// An external JWT as the assertion: `github[:AUDIENCE]`, `env:VAR` or `file:PATH`.
    #[serde(default, deserialize_with = "de_from_str")]
    pub client_assertion_from: Option<AssertionFrom>,
    /// Extra trust roots (a PEM bundle), e.g. a test or corporate CA.
    pub ca_cert: Option<PathBuf>,
    /// Scopes to request (sent space-separated). The key is `scopes` or `scope` (the flag's
    /// spelling); the value a list or one space-separated string.
    #[serde(default, alias = "scope", deserialize_with = "de_scopes")]
    pub scopes: Option<Vec<String>>,
    /// `audience` parameter.
    pub audience: Option<String>,
    /// Extra form parameters.
    pub params: Option<BTreeMap<String, String>>,
    /// CXone access key id.
    pub access_key_id: Option<String>,
    /// Environment variable that holds the CXone access key secret.
    pub access_key_secret_env: Option<String>,
    /// File that holds the CXone access key secret.
    pub access_key_secret_file: Option<PathBuf>,
    /// Shell command whose stdout is the CXone access key secret.
    pub access_key_secret_cmd: Option<String>,
    /// How long `access_key_secret_cmd` may run (default 10 s).
    #[serde(default, deserialize_with = "de_duration")]
    pub access_key_secret_cmd_timeout: Option<Duration>,
    /// Read the access key secret from stdin (`--access-key-secret-stdin`; not a TOML key).
    #[serde(skip)]
    pub access_key_secret_stdin: bool,
    /// Lifetime assumed when the server sends no `expires_in` (e.g. `1h`).
    #[serde(default, deserialize_with = "de_duration")]
    pub default_lifetime: Option<Duration>,
    /// Take id, region and secret from this Genesys CLI profile (`~/.gc/config.toml`).
    pub gc_profile: Option<String>,
    /// Tokens in the pool of `api` and the agent's proxy (1–20, default 1; SPEC §13).
    #[serde(default)]
    pub pool_size: Option<PoolSize>,
    /// Calls per token per rolling window the API allows, `N/DUR` (genesys: `300/60s`).
    #[serde(default)]
    pub api_rate_limit: Option<ApiRateLimit>,
}

/// `pool_size` and `api_rate_limit`: how many tokens `api` and the agent's proxy hold for
/// a profile, and the per-token limit they pace calls to (SPEC §13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolSettings {
    /// `pool_size`.
    pub size: Option<PoolSize>,
    /// `api_rate_limit`.
    pub api_rate_limit: Option<ApiRateLimit>,
}

impl PoolSettings {
    /// `self` with every setting of `higher` on top.
    pub fn overlay(self, higher: PoolSettings) -> PoolSettings {
        PoolSettings {
            size: higher.size.or(self.size),
            api_rate_limit: higher.api_rate_limit.or(self.api_rate_limit),
        }
    }

    /// The pool of a `kind` profile: one token unless told, paced to the limit given, else
    /// to Genesys Cloud's 300 calls per token per minute for genesys (no limit otherwise).
    pub fn resolve(&self, kind: ProviderKind) -> (PoolSize, Pacing) {
        let limit = self.api_rate_limit.or(match kind {
            ProviderKind::Genesys => Some(ApiRateLimit::GENESYS),
            _ => None,
        });
        (self.size.unwrap_or_default(), Pacing::new(limit))
    }
}

/// Where one secret is read from, as a profile or flags name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSetting {
    /// An environment variable (`client_secret_env`, `--client-secret-env`).
    Env(String),
    /// A file (`client_secret_file`, `--client-secret-file`).
    File(PathBuf),
    /// A shell command (`client_secret_cmd`), stopped after `timeout` (default 10 s).
    Command {
        /// The command line, run with `sh -c`.
        command: String,
        /// `client_secret_cmd_timeout`.
        timeout: Option<Duration>,
    },
    /// The OS keyring entry of the profile (`client_secret_keyring = true`).
    Keyring,
    /// Standard input (`--client-secret-stdin`).
    Stdin,
    /// A value handed over by a program that embeds the library (the Python package's
    /// `client_secret=`), normalised like every other source; never a profile key.
    Value {
        /// Where it came from, for messages (`client_secret= of TokenSource.generic`).
        origin: String,
        /// The raw value.
        value: ClientSecret,
    },
}

/// One profile's settings — from a `[profiles.NAME]` table, from CLI flags, or both
/// overlaid. Every group is optional; [`crate::config::resolve()`] decides what is missing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(try_from = "ProfileKeys")]
pub struct ProfileSettings {
    /// The profile's name (set by [`crate::config::ConfigFile::profile`], not a TOML key).
    pub name: Option<String>,
    /// `genesys`, `generic` or `cxone`; inferred when absent.
    pub provider: Option<ProviderKind>,
    /// The Genesys region.
    pub region: Option<&'static Region>,
    /// `token_url` or `issuer`: the token endpoint (generic), or a host override for
    /// genesys/cxone.
    pub endpoint: Option<Endpoint>,
    /// API base for `api`, `exec` and the agent's proxy.
    pub api_base: Option<Url>,
    /// The OAuth client id (not secret).
    pub client_id: Option<String>,
    /// Where the client secret comes from, when named.
    pub client_secret: Option<SecretSetting>,
    /// Client authentication.
    pub auth: Option<AuthMethod>,
    /// Keys, certificates, assertion sources and trust roots (SPEC §14).
    pub keys: KeySettings,
    /// Scopes to request (sent space-separated).
    pub scopes: Option<Vec<String>>,
    /// `audience` parameter.
    pub audience: Option<String>,
    /// Extra form parameters.
    pub params: Option<BTreeMap<String, String>>,
    /// CXone access key id.
    pub access_key_id: Option<String>,
    /// Where the CXone access key secret comes from, when named.
    pub access_key_secret: Option<SecretSetting>,
    /// Lifetime assumed when the server sends no `expires_in`.
    pub default_lifetime: Option<Duration>,
    /// Take id, region and secret from this Genesys CLI profile (`~/.gc/config.toml`).
    pub gc_profile: Option<String>,
    /// `pool_size` and `api_rate_limit`.
    pub pool: PoolSettings,
}

impl TryFrom<ProfileKeys> for ProfileSettings {
    type Error = Error;

    fn try_from(k: ProfileKeys) -> Result<Self, Error> {
        let endpoint = match (k.token_url, k.issuer) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "both token_url and issuer are set; give one: token_url is used as is, \
                     issuer is discovered (or, for genesys, used as the host)",
                ))
            }
            (Some(u), None) => Some(Endpoint::TokenUrl(u)),
            (None, Some(i)) => Some(Endpoint::Issuer(i)),
            (None, None) => None,
        };
        let client_secret = single(
            "client secret",
            [
                k.client_secret_stdin
                    .then_some(("client secret from stdin", SecretSetting::Stdin)),
                k.client_secret_file
                    .map(|p| ("client_secret_file", SecretSetting::File(p))),
                k.client_secret_env
                    .map(|v| ("client_secret_env", SecretSetting::Env(v))),
                command(
                    "client_secret_cmd",
                    k.client_secret_cmd,
                    k.client_secret_cmd_timeout,
                )?,
                (k.client_secret_keyring == Some(true))
                    .then_some(("client_secret_keyring", SecretSetting::Keyring)),
            ],
        )?;
        let access_key_secret = single(
            "access key secret",
            [
                k.access_key_secret_stdin
                    .then_some(("access key secret from stdin", SecretSetting::Stdin)),
                k.access_key_secret_file
                    .map(|p| ("access_key_secret_file", SecretSetting::File(p))),
                k.access_key_secret_env
                    .map(|v| ("access_key_secret_env", SecretSetting::Env(v))),
                command(
                    "access_key_secret_cmd",
                    k.access_key_secret_cmd,
                    k.access_key_secret_cmd_timeout,
                )?,
            ],
        )?;
        Ok(ProfileSettings {
            name: None,
            provider: k.provider,
            region: k.region,
            endpoint,
            api_base: k.api_base,
            client_id: k.client_id,
            client_secret,
            auth: k.auth,
            keys: KeySettings {
                private_key_file: k.private_key_file,
                key_id: k.key_id,
                alg: k.alg,
                assertion_aud: k.assertion_aud,
                assertion_typ: k.assertion_typ,
                client_cert: k.client_cert,
                client_key: k.client_key,
                client_assertion_from: k.client_assertion_from,
                ca_cert: k.ca_cert,
            },
            scopes: k.scopes,
            audience: k.audience,
            params: k.params,
            access_key_id: k.access_key_id,
            access_key_secret,
            default_lifetime: k.default_lifetime,
            gc_profile: k.gc_profile,
            pool: PoolSettings {
                size: k.pool_size,
                api_rate_limit: k.api_rate_limit,
            },
        })
    }
}

/// `key` (a `*_secret_cmd`) with its timeout; a timeout without its command is a mistake.
fn command(
    key: &'static str,
    command: Option<String>,
    timeout: Option<Duration>,
) -> Result<Option<(&'static str, SecretSetting)>, Error> {
    match (command, timeout) {
        (Some(command), timeout) => Ok(Some((key, SecretSetting::Command { command, timeout }))),
        (None, Some(_)) => Err(Error::config(format!(
            "{key}_timeout is set but {key} is not; the timeout applies to that command"
        ))),
        (None, None) => Ok(None),
    }
}

/// The one source among `candidates`, or an error naming them when there are several.
fn single<const N: usize>(
    what: &str,
    candidates: [Option<(&'static str, SecretSetting)>; N],
) -> Result<Option<SecretSetting>, Error> {
    let mut given: Vec<(&str, SecretSetting)> = candidates.into_iter().flatten().collect();
    if given.len() > 1 {
        let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
        return Err(Error::config(format!(
            "the {what} is given by more than one source ({}); keep exactly one",
            names.join(", ")
        )));
    }
    Ok(given.pop().map(|(_, s)| s))
}

impl ProfileSettings {
    /// `self` with every setting of `higher` on top (flags override the profile).
    ///
    /// Groups are replaced as a whole, so a flag never mixes with a conflicting profile
    /// key: a client-secret source in `higher` replaces `self`'s (with its timeout), likewise
    /// the access key secret's, and a token URL replaces an issuer and the reverse.
    /// `params` merge key by key; `scopes` are replaced.
    pub fn overlay(self, higher: ProfileSettings) -> ProfileSettings {
        let (lo, hi) = (self, higher);
        let params = match (lo.params, hi.params) {
            (Some(mut l), Some(h)) => {
                l.extend(h);
                Some(l)
            }
            (l, h) => h.or(l),
        };
        ProfileSettings {
            name: hi.name.or(lo.name),
            provider: hi.provider.or(lo.provider),
            region: hi.region.or(lo.region),
            endpoint: hi.endpoint.or(lo.endpoint),
            api_base: hi.api_base.or(lo.api_base),
            client_id: hi.client_id.or(lo.client_id),
            client_secret: hi.client_secret.or(lo.client_secret),
            auth: hi.auth.or(lo.auth),
            keys: lo.keys.overlay(hi.keys),
            scopes: hi.scopes.or(lo.scopes),
            audience: hi.audience.or(lo.audience),
            params,
            access_key_id: hi.access_key_id.or(lo.access_key_id),
            access_key_secret: hi.access_key_secret.or(lo.access_key_secret),
            default_lifetime: hi.default_lifetime.or(lo.default_lifetime),
            gc_profile: hi.gc_profile.or(lo.gc_profile),
            pool: lo.pool.overlay(hi.pool),
        }
    }

    /// The settings as the profile keys that say them, in the file's order, with their
    /// values as text — for display (`cctoken profiles show`). Settings hold no secrets.
    pub fn keys(&self) -> Vec<(&'static str, String)> {
        let mut rows = Vec::new();
        let mut push = |k: &'static str, v: Option<String>| rows.extend(v.map(|v| (k, v)));
        let duration = |d: Duration| crate::duration::Human(d).to_string();
        push("provider", self.provider.map(|p| p.to_string()));
        push("region", self.region.map(|r| r.name.to_owned()));
        push("token_url", self.token_url().map(Url::to_string));
        push("issuer", self.issuer().map(Url::to_string));
        push(
            "api_base",
            self.api_base
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
        );
        push("client_id", self.client_id.clone());
        let client = [
            "client_secret_env",
            "client_secret_file",
            "client_secret_cmd",
            "client_secret_cmd_timeout",
        ];
        for (k, v) in secret_keys(client, self.client_secret.as_ref()) {
            push(k, Some(v));
        }
        push("auth", self.auth.map(|a| a.to_string()));
        for (k, v) in self.keys.rows() {
            push(k, Some(v));
        }
        push("scopes", self.scopes.as_ref().map(|v| v.join(" ")));
        push("audience", self.audience.clone());
        let params = self.params.as_ref().map(|m| {
            let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.join(" ")
        });
        push("params", params);
        push("access_key_id", self.access_key_id.clone());
        let access = [
            "access_key_secret_env",
            "access_key_secret_file",
            "access_key_secret_cmd",
            "access_key_secret_cmd_timeout",
        ];
        for (k, v) in secret_keys(access, self.access_key_secret.as_ref()) {
            push(k, Some(v));
        }
        push("default_lifetime", self.default_lifetime.map(duration));
        push("gc_profile", self.gc_profile.clone());
        push("pool_size", self.pool.size.map(|n| n.to_string()));
        push(
            "api_rate_limit",
            self.pool.api_rate_limit.map(|l| l.to_string()),
        );
        rows
    }

    /// True when a secret is to be read from stdin (`--client-secret-stdin`,
    /// `--access-key-secret-stdin`).
    pub fn reads_stdin(&self) -> bool {
        [&self.client_secret, &self.access_key_secret]
            .iter()
            .any(|s| **s == Some(SecretSetting::Stdin))
    }

    /// The token URL, when the endpoint is one.
    pub fn token_url(&self) -> Option<&Url> {
        match &self.endpoint {
            Some(Endpoint::TokenUrl(u)) => Some(u),
            _ => None,
        }
    }

    /// The issuer, when the endpoint is one.
    pub fn issuer(&self) -> Option<&Url> {
        match &self.endpoint {
            Some(Endpoint::Issuer(u)) => Some(u),
            _ => None,
        }
    }
}

/// A secret's source as the keys `[env, file, cmd, cmd_timeout]` say it; stdin is a flag,
/// not a key.
fn secret_keys(
    [env, file, cmd, timeout_key]: [&'static str; 4],
    setting: Option<&SecretSetting>,
) -> Vec<(&'static str, String)> {
    match setting {
        Some(SecretSetting::Env(v)) => vec![(env, v.clone())],
        Some(SecretSetting::File(p)) => vec![(file, p.display().to_string())],
        Some(SecretSetting::Command { command, timeout }) => {
            let mut v = vec![(cmd, command.clone())];
            if let Some(t) = timeout {
                v.push((timeout_key, crate::duration::Human(*t).to_string()));
            }
            v
        }
        Some(SecretSetting::Keyring) => vec![("client_secret_keyring", "true".to_owned())],
        Some(SecretSetting::Stdin | SecretSetting::Value { .. }) | None => Vec::new(),
    }
}

fn de_from_str<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

fn de_region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'static Region>, D::Error> {
    let s = String::deserialize(d)?;
    lookup_region(&s, "the profile")
        .map(Some)
        .map_err(|e| serde::de::Error::custom(e.message))
}

fn de_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let s = String::deserialize(d)?;
    parse_url("the URL", &s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(e.message))
}

/// A duration written like `30s` or `1h`.
/// `scopes = ["a", "b"]` or `scopes = "a b"`.
fn de_scopes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(Some(vec![s])),
        Ok(OneOrMany::Many(v)) => Ok(Some(v)),
        Err(_) => Err(serde::de::Error::custom(
            "scopes must be a string (\"a b\") or a list of strings ([\"a\", \"b\"])",
        )),
    }
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    crate::duration::parse(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
