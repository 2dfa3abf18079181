//! The constructors' keyword arguments, parsed once into a [`Spec`]: what a token source
//! is built from (and rebuilt from in a forked child).
//!
//! The keywords are named like the profile keys of SPEC §7 and go through the same
//! typed edge as the CLI's flags: they fill a [`ProfileKeys`], which becomes
//! [`ProfileSettings`] and is resolved by [`cctoken::config::resolve()`] — the same
//! provider inference, environment conventions and §4 secret normalisation. The only
//! Python-specific inputs are `client_secret=` / `access_key_secret=` (a `str`, or a
//! zero-argument callable returning one), handed to the library as
//! [`SecretSetting::Value`], and `cache=`. Nothing here talks to a server.

use std::path::PathBuf;
use std::time::Duration;

use cctoken::agent::client::AgentClient;
use cctoken::config::{
    resolve, CacheSettings, ClientConfig, ConfigFile, ProcessEnv, ProfileKeys, ProfileSettings,
    ResolveOptions, SecretSetting,
};
use cctoken::pool::{ApiRateLimit, PoolSize};
use cctoken::provider::genesys::lookup_region;
use cctoken::provider::{parse_url, ProviderKind};
use cctoken::secret::ClientSecret;
use cctoken::stack::{CacheMode, Stack};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use url::Url;

use crate::errors;

/// Which constructor was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctor {
    /// `from_profile`.
    Profile,
    /// `genesys`.
    Genesys,
    /// `generic`.
    Generic,
    /// `cxone`.
    Cxone,
}

impl Ctor {
    fn name(self) -> &'static str {
        match self {
            Ctor::Profile => "from_profile",
            Ctor::Genesys => "genesys",
            Ctor::Generic => "generic",
            Ctor::Cxone => "cxone",
        }
    }

    /// Keywords each constructor accepts (beyond the common ones).
    fn extra(self) -> &'static [&'static str] {
        match self {
            Ctor::Profile => &[],
            Ctor::Genesys => &["region", "token_url", "issuer"],
            Ctor::Generic => &["token_url", "issuer"],
            Ctor::Cxone => &[
                "issuer",
                "token_url",
                "access_key_id",
                "access_key_secret",
                "access_key_secret_env",
                "access_key_secret_file",
                "access_key_secret_cmd",
                "access_key_secret_cmd_timeout",
            ],
        }
    }
}

/// Keywords every constructor but `from_profile` accepts.
const COMMON: &[&str] = &[
    "client_id",
    "client_secret",
    "client_secret_env",
    "client_secret_file",
    "client_secret_cmd",
    "client_secret_cmd_timeout",
    "scopes",
    "auth",
    "audience",
    "params",
    "api_base",
    "default_lifetime",
    "min_ttl",
    "cache",
    "pool_size",
    "api_rate_limit",
    // SPEC §14: keys, certificates and external assertions.
    "private_key_file",
    "key_id",
    "alg",
    "assertion_aud",
    "assertion_typ",
    "client_cert",
    "client_key",
    "client_assertion_from",
    "ca_cert",
];

/// Keywords `from_profile` accepts besides the name and `config`.
const PROFILE: &[&str] = &["min_ttl", "cache", "pool_size", "api_rate_limit"];

/// Where the source's token comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The token server (through the caches): the resolved profile.
    Direct(Box<ClientConfig>),
    /// A running agent (`CCTOKEN_AGENT`), asked for this profile.
    Agent(AgentClient, String),
}

/// Everything a source is built from; see the module docs.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The profile, or the agent.
    pub origin: Origin,
    /// `cache=`.
    pub cache: CacheMode,
    /// The `[cache]` table of the profile file.
    pub cache_settings: CacheSettings,
    /// `min_ttl=`: every token has at least this long left.
    pub min_ttl: Option<Duration>,
    /// `api_base=`, or the profile's.
    pub api_base: Option<Url>,
    /// `pool_size=` and `api_rate_limit=`: the source hands out the tokens of a paced
    /// [`cctoken::pool::TokenPool`] (SPEC §13). Ignored when an agent serves the tokens
    /// (its proxy paces).
    pub pool: Option<Pool>,
}

/// `pool_size=` (1 when only `api_rate_limit=` is given) and `api_rate_limit=`.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// The number of tokens.
    pub size: PoolSize,
    /// The per-token limit paced to.
    pub limit: Option<ApiRateLimit>,
}

fn cfg(e: cctoken::Error) -> PyErr {
    Python::attach(|py| errors::to_py(py, &e))
}

fn bad(message: impl Into<String>) -> PyErr {
    cfg(cctoken::Error::config(message))
}

fn text(key: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    v.cast::<PyString>()
        .map(|s| s.to_string())
        .map_err(|_| PyTypeError::new_err(format!("{key}= must be a str")))
}

/// A path: `str` or `os.PathLike`.
fn path(key: &str, v: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    v.extract::<PathBuf>()
        .map_err(|_| PyTypeError::new_err(format!("{key}= must be a str or os.PathLike")))
}

/// A value the profile file spells as text (`alg`, `assertion_aud`, …), parsed as there.
fn parsed<T>(key: &str, v: &Bound<'_, PyAny>) -> PyResult<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text(key, v)?
        .parse()
        .map_err(|e: T::Err| bad(format!("{key}=: {e}")))
}

fn url(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Url> {
    parse_url(key, &text(key, v)?).map_err(cfg)
}

/// A duration keyword: seconds (int or float) or a duration string (`"90s"`, `"5m"`).
pub fn duration(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_string();
        return cctoken::duration::parse(&s)
            .map_err(|e| bad(format!("{key}=: {e}, or a number of seconds such as 90")));
    }
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{key}= must be seconds or a duration string"
        )));
    }
    let secs: f64 = v.extract().map_err(|_| {
        PyTypeError::new_err(format!("{key}= must be seconds or a duration string"))
    })?;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(bad(format!("{key}={secs} is out of range")));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn strings(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s
            .to_string()
            .split_whitespace()
            .map(str::to_owned)
            .collect());
    }
    let err = || PyTypeError::new_err(format!("{key}= must be a str or a list of str"));
    if !(v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()) {
        return Err(err());
    }
    v.try_iter()?
        .map(|item| item.and_then(|i| text(key, &i)))
        .collect::<PyResult<Vec<_>>>()
}

/// `client_secret=`: a str, or a zero-argument callable returning one, called now.
fn secret(ctor: Ctor, key: &str, v: &Bound<'_, PyAny>) -> PyResult<SecretSetting> {
    let value = if v.is_callable() && !v.is_instance_of::<PyString>() {
        v.call0()?
    } else {
        v.clone()
    };
    let s = value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{key}= must be a str or a zero-argument callable that returns one"
        ))
    })?;
    Ok(SecretSetting::Value {
        origin: format!("{key}= of TokenSource.{}", ctor.name()),
        value: ClientSecret::new(s.to_str()?),
    })
}

/// Parse `kw` for constructor `ctor`. `name`/`config` are `from_profile`'s.
pub fn parse(
    ctor: Ctor,
    name: Option<String>,
    config: Option<PathBuf>,
    kw: &Bound<'_, PyDict>,
) -> PyResult<Parsed> {
    let allowed = |k: &str| {
        if ctor == Ctor::Profile {
            PROFILE.contains(&k)
        } else {
            COMMON.contains(&k) || ctor.extra().contains(&k)
        }
    };
    let mut keys = ProfileKeys::default();
    let mut secret_value = None;
    let mut access_value = None;
    let mut cache = CacheMode::Disk;
    let mut cache_url = None;
    let mut min_ttl = None;
    let mut pool_size = None;
    let mut api_rate_limit = None;
    for (k, v) in kw.iter() {
        let k: String = k.extract()?;
        if !allowed(&k) {
            return Err(PyTypeError::new_err(format!(
                "TokenSource.{}() got an unexpected keyword argument '{k}'",
                ctor.name()
            )));
        }
        if v.is_none() {
            continue;
        }
        match k.as_str() {
            "client_id" => keys.client_id = Some(text(&k, &v)?),
            "client_secret" => secret_value = Some(secret(ctor, &k, &v)?),
            "access_key_secret" => access_value = Some(secret(ctor, &k, &v)?),
            "client_secret_env" => keys.client_secret_env = Some(text(&k, &v)?),
            "client_secret_file" => keys.client_secret_file = Some(text(&k, &v)?.into()),
            "client_secret_cmd" => keys.client_secret_cmd = Some(text(&k, &v)?),
            "client_secret_cmd_timeout" => keys.client_secret_cmd_timeout = Some(duration(&k, &v)?),
            "access_key_id" => keys.access_key_id = Some(text(&k, &v)?),
            "access_key_secret_env" => keys.access_key_secret_env = Some(text(&k, &v)?),
            "access_key_secret_file" => keys.access_key_secret_file = Some(text(&k, &v)?.into()),
            "access_key_secret_cmd" => keys.access_key_secret_cmd = Some(text(&k, &v)?),
            "access_key_secret_cmd_timeout" => {
                keys.access_key_secret_cmd_timeout = Some(duration(&k, &v)?)
            }
            "region" => keys.region = Some(lookup_region(&text(&k, &v)?, "region=").map_err(cfg)?),
            "token_url" => keys.token_url = Some(url(&k, &v)?),
            "issuer" => keys.issuer = Some(url(&k, &v)?),
            "api_base" => keys.api_base = Some(url(&k, &v)?),
            "scopes" => keys.scopes = Some(strings(&k, &v)?),
            "auth" => {
                keys.auth = Some(
                    text(&k, &v)?
                        .parse()
                        .map_err(|e: String| bad(format!("auth=: {e}")))?,
                )
            }
            "audience" => keys.audience = Some(text(&k, &v)?),
            "private_key_file" => keys.private_key_file = Some(path(&k, &v)?),
            "key_id" => keys.key_id = Some(text(&k, &v)?),
            "alg" => keys.alg = Some(parsed(&k, &v)?),
            "assertion_aud" => keys.assertion_aud = Some(parsed(&k, &v)?),
            "assertion_typ" => keys.assertion_typ = Some(parsed(&k, &v)?),
            "client_cert" => keys.client_cert = Some(path(&k, &v)?),
            "client_key" => keys.client_key = Some(path(&k, &v)?),
            "client_assertion_from" => keys.client_assertion_from = Some(parsed(&k, &v)?),
            "ca_cert" => keys.ca_cert = Some(path(&k, &v)?),
            "params" => {
                let d = v
                    .cast::<PyDict>()
                    .map_err(|_| PyTypeError::new_err("params= must be a dict of str to str"))?;
                let mut m = std::collections::BTreeMap::new();
                for (pk, pv) in d.iter() {
                    m.insert(text("params", &pk)?, text("params", &pv)?);
                }
                keys.params = Some(m);
            }
            "default_lifetime" => keys.default_lifetime = Some(duration(&k, &v)?),
            "min_ttl" => min_ttl = Some(duration(&k, &v)?),
            "pool_size" => {
                if v.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(PyTypeError::new_err("pool_size= must be an int"));
                }
                let n: u64 = v
                    .extract()
                    .map_err(|_| PyTypeError::new_err("pool_size= must be an int of 1 or more"))?;
                pool_size = Some(PoolSize::new(n).map_err(cfg)?);
            }
            "api_rate_limit" => {
                api_rate_limit = Some(text(&k, &v)?.parse::<ApiRateLimit>().map_err(cfg)?)
            }
            "cache" => {
                let c = text(&k, &v)?;
                match c.as_str() {
                    "disk" => cache = CacheMode::Disk,
                    "memory" => cache = CacheMode::Memory,
                    u if u.starts_with("redis://")
                        || u.starts_with("rediss://")
                        || u.starts_with("redis+unix://")
                        || u.starts_with("unix://") =>
                    {
                        cache_url =
                            Some(Url::parse(u).map_err(|e| {
                                bad(format!("cache= is not a valid Redis URL ({e})"))
                            })?);
                    }
                    _ => {
                        return Err(bad(
                            "cache= must be \"disk\", \"memory\" or a redis:// URL (the \
                             secret-free part of a URL is shown here, never a password)",
                        ))
                    }
                }
            }
            _ => unreachable!("filtered by `allowed`"), // every allowed key has an arm
        }
    }
    keys.provider = match ctor {
        Ctor::Profile => None,
        Ctor::Genesys => Some(ProviderKind::Genesys),
        Ctor::Generic => Some(ProviderKind::Generic),
        Ctor::Cxone => Some(ProviderKind::Cxone),
    };
    Ok(Parsed {
        ctor,
        name,
        config,
        keys,
        secret_value,
        access_value,
        cache,
        cache_url,
        min_ttl,
        pool: (pool_size.is_some() || api_rate_limit.is_some()).then(|| Pool {
            size: pool_size.unwrap_or_else(|| PoolSize::new(1).expect("1 is a pool size")),
            limit: api_rate_limit,
        }),
    })
}

/// The keywords, typed; [`Parsed::resolve`] reads the files and secrets they name.
pub struct Parsed {
    ctor: Ctor,
    name: Option<String>,
    config: Option<PathBuf>,
    keys: ProfileKeys,
    secret_value: Option<SecretSetting>,
    access_value: Option<SecretSetting>,
    cache: CacheMode,
    cache_url: Option<Url>,
    min_ttl: Option<Duration>,
    pool: Option<Pool>,
}

impl Parsed {
    /// Read the profile file and the secrets (files, commands: call it with the GIL
    /// released), and resolve the profile as the CLI does.
    pub fn resolve(self) -> Result<Spec, cctoken::Error> {
        let Parsed {
            ctor,
            name,
            config,
            keys,
            secret_value,
            access_value,
            cache,
            cache_url,
            min_ttl,
            pool,
        } = self;
        let env = &ProcessEnv;
        // The profile file is read for `from_profile`, and for everyone's `[cache]` table.
        let file = match (&ctor, ConfigFile::load(config.as_deref())) {
            (_, Ok(f)) => f,
            (Ctor::Profile, Err(e)) => return Err(e),
            (_, Err(e)) => {
                tracing::warn!("ignoring the [cache] settings: {e}");
                ConfigFile::default()
            }
        };
        if pool.is_some() && min_ttl.is_some() {
            return Err(cctoken::Error::config(
                "min_ttl= cannot be combined with pool_size= / api_rate_limit= (the pool's \
                 tokens are refreshed ahead with the safety margin)",
            ));
        }
        let mut cache_settings = file.cache.clone();
        if let Some(u) = cache_url {
            cache_settings.url = Some(u);
        }
        if ctor == Ctor::Profile {
            if let Some(name) = &name {
                if let Some(agent) = Stack::builder(env).build().agent()? {
                    tracing::debug!(
                        "asking the agent at {} for profile {name}",
                        agent.endpoint()
                    );
                    let api_base = file.profile(name).ok().and_then(|p| p.api_base);
                    return Ok(Spec {
                        origin: Origin::Agent(agent, name.clone()),
                        cache,
                        cache_settings,
                        min_ttl,
                        api_base,
                        pool,
                    });
                }
            }
        }
        let mut settings: ProfileSettings = match (&ctor, &name) {
            (Ctor::Profile, Some(n)) => file.profile(n)?,
            _ => ProfileSettings::try_from(keys)?,
        };
        if let Some(s) = secret_value {
            if settings.client_secret.is_some() {
                return Err(cctoken::Error::config(
                    "the client secret is given twice (client_secret= and a client_secret_* \
                 keyword); keep one",
                ));
            }
            settings.client_secret = Some(s);
        }
        if let Some(s) = access_value {
            if settings.access_key_secret.is_some() {
                return Err(cctoken::Error::config(
                    "the access key secret is given twice (access_key_secret= and an \
                 access_key_secret_* keyword); keep one",
                ));
            }
            settings.access_key_secret = Some(s);
        }
        let resolved = resolve(&settings, env, ResolveOptions::default())?;
        for note in &resolved.notes {
            match note.strip_prefix("warning: ") {
                Some(w) => tracing::warn!("{w}"),
                None => tracing::debug!("{note}"),
            }
        }
        tracing::debug!(
            secret = %resolved.config.client_secret.fingerprint(),
            source = %resolved.secret_origin,
            "client secret loaded"
        );
        Ok(Spec {
            api_base: settings.api_base.clone(),
            origin: Origin::Direct(Box::new(resolved.config)),
            cache,
            cache_settings,
            min_ttl,
            pool,
        })
    }
}
