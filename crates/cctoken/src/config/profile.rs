//! The profile file (SPEC §7): `$XDG_CONFIG_HOME/cctoken/config.toml`, typed.
//!
//! [`ConfigFile::load`] reads it (a missing default file is an empty config; a missing file
//! named by `--config`/`CCTOKEN_CONFIG` is an error) and checks every field while parsing,
//! so mistakes are reported as `path:line:col: message (in [profiles.prod], key `region`)`
//! — unknown keys included (`deny_unknown_fields`). Broken TOML is an error, never a panic,
//! and error messages do not echo quoted values.
//!
//! [`ProfileSettings`] is both one `[profiles.NAME]` table and what the CLI's flags produce;
//! [`ProfileSettings::overlay`] puts flags over a profile. Turning settings into a
//! [`crate::config::ClientConfig`] (provider inference, env conventions, secrets) is
//! [`crate::config::resolve()`]'s job; this module does no resolution and reads no secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use crate::auth::AuthMethod;
use crate::config::env::{self, EnvLookup, ProcessEnv};
use crate::provider::ProviderKind;
use crate::Error;

/// One profile's settings — from a `[profiles.NAME]` table, from CLI flags, or both
/// overlaid. Every field is optional; [`crate::config::resolve()`] decides what is missing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// The profile's name (set by [`ConfigFile::profile`], not a TOML key).
    #[serde(skip)]
    pub name: Option<String>,
    /// `genesys`, `generic` or `cxone`; inferred when absent.
    #[serde(default, deserialize_with = "de_from_str")]
    pub provider: Option<ProviderKind>,
    /// Genesys region name (`eu-west-1`) or domain (`mypurecloud.ie`).
    #[serde(default, deserialize_with = "de_region")]
    pub region: Option<String>,
    /// The token endpoint (generic), or a host override for genesys/cxone (emulator).
    #[serde(default, deserialize_with = "de_url")]
    pub token_url: Option<String>,
    /// The issuer for discovery (generic, cxone), or a host override for genesys.
    #[serde(default, deserialize_with = "de_url")]
    pub issuer: Option<String>,
    /// API base for `api`, `exec` and the agent's proxy.
    #[serde(default, deserialize_with = "de_url")]
    pub api_base: Option<String>,
    /// The OAuth client id (not secret).
    pub client_id: Option<String>,
    /// Name of the environment variable that holds the client secret.
    pub client_secret_env: Option<String>,
    /// File that holds the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// Shell command (`sh -c`) whose stdout is the client secret.
    pub client_secret_cmd: Option<String>,
    /// Read the client secret from the OS keyring (`cctoken profiles set-secret NAME`).
    pub client_secret_keyring: Option<bool>,
    /// Read the client secret from stdin (`--client-secret-stdin`; not a TOML key).
    #[serde(skip)]
    pub client_secret_stdin: bool,
    /// Client authentication: `basic`, `basic-raw` or `post`.
    #[serde(default, deserialize_with = "de_from_str")]
    pub auth: Option<AuthMethod>,
    /// Scopes to request (sent space-separated).
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
    /// Read the access key secret from stdin (`--access-key-secret-stdin`; not a TOML key).
    #[serde(skip)]
    pub access_key_secret_stdin: bool,
    /// Lifetime assumed when the server sends no `expires_in` (e.g. `1h`).
    #[serde(default, deserialize_with = "de_duration")]
    pub default_lifetime: Option<Duration>,
    /// Take id, region and secret from this Genesys CLI profile (`~/.gc/config.toml`).
    pub gc_profile: Option<String>,
}

impl ProfileSettings {
    /// `self` with every setting of `higher` on top (flags override the profile).
    ///
    /// Groups are replaced as a whole, so a flag never mixes with a conflicting profile
    /// key: any client-secret source in `higher` replaces all of `self`'s, likewise for the
    /// access key secret, and `token_url`/`issuer` replace each other. `params` merge key by
    /// key; `scopes` are replaced.
    pub fn overlay(self, higher: ProfileSettings) -> ProfileSettings {
        let lo = self;
        let hi = higher;
        let hi_secret = hi.client_secret_stdin
            || hi.client_secret_env.is_some()
            || hi.client_secret_file.is_some()
            || hi.client_secret_cmd.is_some()
            || hi.client_secret_keyring.is_some();
        let hi_access = hi.access_key_secret_stdin
            || hi.access_key_secret_env.is_some()
            || hi.access_key_secret_file.is_some()
            || hi.access_key_secret_cmd.is_some();
        let hi_endpoint = hi.token_url.is_some() || hi.issuer.is_some();
        let secret = if hi_secret { &hi } else { &lo };
        let access = if hi_access { &hi } else { &lo };
        let endpoint = if hi_endpoint { &hi } else { &lo };
        let params = match (lo.params.clone(), hi.params.clone()) {
            (Some(mut l), Some(h)) => {
                l.extend(h);
                Some(l)
            }
            (l, h) => h.or(l),
        };
        ProfileSettings {
            name: hi.name.clone().or(lo.name.clone()),
            provider: hi.provider.or(lo.provider),
            region: hi.region.clone().or(lo.region.clone()),
            token_url: endpoint.token_url.clone(),
            issuer: endpoint.issuer.clone(),
            api_base: hi.api_base.clone().or(lo.api_base.clone()),
            client_id: hi.client_id.clone().or(lo.client_id.clone()),
            client_secret_env: secret.client_secret_env.clone(),
            client_secret_file: secret.client_secret_file.clone(),
            client_secret_cmd: secret.client_secret_cmd.clone(),
            client_secret_keyring: secret.client_secret_keyring,
            client_secret_stdin: secret.client_secret_stdin,
            auth: hi.auth.or(lo.auth),
            scopes: hi.scopes.clone().or(lo.scopes.clone()),
            audience: hi.audience.clone().or(lo.audience.clone()),
            params,
            access_key_id: hi.access_key_id.clone().or(lo.access_key_id.clone()),
            access_key_secret_env: access.access_key_secret_env.clone(),
            access_key_secret_file: access.access_key_secret_file.clone(),
            access_key_secret_cmd: access.access_key_secret_cmd.clone(),
            access_key_secret_stdin: access.access_key_secret_stdin,
            default_lifetime: hi.default_lifetime.or(lo.default_lifetime),
            gc_profile: hi.gc_profile.clone().or(lo.gc_profile.clone()),
        }
    }
}

/// The `[cache]` table (SPEC §6): the negative-cache TTL and the Redis cache a fleet shares
/// (used by `cctoken::cache::redis::RedisCache`, feature `redis`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `redis://`, `rediss://` (TLS), `redis+unix://` or `unix://` URL of a shared cache.
    #[serde(default, deserialize_with = "de_redis_url")]
    pub url: Option<Url>,
    /// How long a permanent failure is remembered (default 30 s).
    #[serde(default, deserialize_with = "de_duration")]
    pub negative_ttl: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileSettings>,
    #[serde(default)]
    cache: CacheSettings,
}

/// The loaded profile file.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// Where it was looked for (`None` when neither `XDG_CONFIG_HOME` nor `HOME` is set).
    pub path: Option<PathBuf>,
    /// False when the default file does not exist (an empty config).
    pub found: bool,
    /// Profiles by name.
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// The `[cache]` table.
    pub cache: CacheSettings,
}

/// What [`ConfigFile::load`] returns: the file, its path and whether it existed.
pub type Loaded = ConfigFile;

impl ConfigFile {
    /// Load the profile file from `explicit` (`--config`), else `$CCTOKEN_CONFIG`, else
    /// the default path. Only a missing *default* file is an empty config.
    pub fn load(explicit: Option<&Path>) -> Result<Loaded, Error> {
        Self::load_with(explicit, &ProcessEnv)
    }

    /// [`ConfigFile::load`] with an injected environment.
    pub fn load_with(explicit: Option<&Path>, env: &dyn EnvLookup) -> Result<Loaded, Error> {
        let (path, must_exist) = match explicit {
            Some(p) => (Some(p.to_path_buf()), true),
            None => match env.non_empty(env::CCTOKEN_CONFIG) {
                Some(p) => (Some(PathBuf::from(p)), true),
                None => (env::default_config_path(env), false),
            },
        };
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(ConfigFile {
                path: Some(path),
                ..Default::default()
            }),
            Err(e) => Err(Error::config(format!(
                "cannot read the config file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Parse profile-file text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, Error> {
        let model: FileModel = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        Ok(ConfigFile {
            path: Some(path.to_path_buf()),
            found: true,
            profiles: model.profiles,
            cache: model.cache,
        })
    }

    /// Profile names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.profiles.keys().map(String::as_str).collect()
    }

    /// The settings of profile `name`, or an error listing the profiles there are.
    pub fn profile(&self, name: &str) -> Result<ProfileSettings, Error> {
        if let Some(p) = self.profiles.get(name) {
            return Ok(ProfileSettings {
                name: Some(name.to_owned()),
                ..p.clone()
            });
        }
        let where_ = match (&self.path, self.found) {
            (Some(p), true) => format!("in {}", p.display()),
            (Some(p), false) => format!("because {} does not exist", p.display()),
            (None, _) => "because no config file was found (HOME is not set)".to_owned(),
        };
        let have = if self.profiles.is_empty() {
            "there are no profiles".to_owned()
        } else {
            format!("available: {}", self.names().join(", "))
        };
        Err(Error::config(format!(
            "no profile '{name}' {where_}; {have} (choose the file with --config or CCTOKEN_CONFIG)"
        )))
    }
}

/// A TOML error as `path:line:col: message (in [table], key `k`)`, with quoted values in
/// the message removed (they could be secrets).
pub fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let mut msg = redact_quoted(e.message().trim());
    let mut location = path.display().to_string();
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line_no = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        location = format!("{location}:{line_no}:{col}");
        let lines: Vec<&str> = text.lines().collect();
        let table = lines
            .iter()
            .take(line_no)
            .rev()
            .map(|l| l.trim())
            .find(|l| l.starts_with('['))
            // A garbled header line may hold a value (a secret): show only header-like lines.
            .filter(|l| {
                l.ends_with(']') && !l.contains('=') && !l.contains('"') && !l.contains('\'')
            });
        let key = lines
            .get(line_no - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.starts_with('['))
            .filter(|k| {
                k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            });
        let mut ctx = Vec::new();
        if let Some(t) = table {
            ctx.push(format!("in {t}"));
        }
        if let Some(k) = key {
            ctx.push(format!("key `{k}`"));
        }
        if !ctx.is_empty() {
            msg = format!("{msg} ({})", ctx.join(", "));
        }
    }
    if msg.contains("unknown field `client_secret`")
        || msg.contains("unknown field `access_key_secret`")
        || msg.contains("unknown field `secret`")
    {
        msg.push_str(
            "; secrets do not belong in the config file: use client_secret_env, \
             client_secret_file or client_secret_cmd (access_key_secret_env|file|cmd for CXone)",
        );
    }
    Error::config(format!("{location}: {msg}"))
}

/// Replace the content of every `"..."` and `'...'` in a message by `…`.
fn redact_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut inside: Option<char> = None;
    for c in s.chars() {
        match inside {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                inside = None;
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                out.push(c);
                inside = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

fn de_from_str<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

fn de_region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    crate::config::resolve::lookup_region(&s, "the profile")
        .map(|_| Some(s))
        .map_err(|e| serde::de::Error::custom(e.message))
}

fn de_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    crate::provider::parse_url("the URL", &s)
        .map(|_| Some(s))
        .map_err(|e| serde::de::Error::custom(e.message))
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map(Some).map_err(|e| {
        serde::de::Error::custom(format!("'{s}' is not a duration ({e}); write e.g. 30s, 1h"))
    })
}

fn de_redis_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let s = String::deserialize(d)?;
    let url = Url::parse(&s).map_err(|e| {
        serde::de::Error::custom(format!("not a URL ({e}); write e.g. redis://host:6379/0"))
    })?;
    match url.scheme() {
        "redis" | "rediss" | "redis+unix" | "unix" => Ok(Some(url)),
        other => Err(serde::de::Error::custom(format!(
            "scheme '{other}' is not a Redis URL; write redis://host:6379/0 or rediss:// for TLS"
        ))),
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
