//! What every token-consuming command sets up: the resolved profile, the client, the
//! on-disk cache in front of it (with the `[cache]` settings: negative TTL, a fleet's Redis),
//! and a [`TokenSource`] over both — or, when `CCTOKEN_AGENT` points at a running agent, a
//! source that asks the agent ([`Tokens`]).

use cctoken::cache::redis::RedisCache;
use cctoken::cache::{CachedClient, DiskCache};
use cctoken::client::Client;
use cctoken::clock;
use cctoken::config::resolve::{infer_provider, lookup_region};
use cctoken::config::{CacheSettings, ConfigFile, ProcessEnv, ProfileSettings, ResolvedProfile};
use cctoken::error::Error;
use cctoken::provider::{ProviderConfig, ProviderKind};
use cctoken::source::TokenSource;
use cctoken::token::Token;
use cctoken_agent::client::{AgentClient, AgentFetch, CCTOKEN_AGENT};

use super::Globals;
use crate::opts::ProfileOpts;

/// A resolved profile ready to produce tokens.
pub struct Session {
    /// The profile as resolved (config, secret origin, notes).
    pub resolved: ResolvedProfile,
    /// The client (no cache).
    pub client: Client,
    /// The client behind the on-disk cache, unless disabled.
    pub cached: Option<CachedClient>,
}

impl Session {
    /// Resolve the profile options once, at the edge.
    pub fn open(opts: &ProfileOpts, no_cache: bool, globals: &Globals) -> anyhow::Result<Self> {
        // Read once: the profile (when one is named) and the [cache] table both come from it.
        let file = opts.config_file();
        let resolved = opts.resolve_in(&file)?;
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
        let mut client = Client::new(resolved.config.clone())?;
        if globals.trace {
            client = client.with_trace(super::trace_sink());
        }
        let cached = if no_cache {
            None
        } else {
            match default_cache() {
                Ok(disk) => {
                    let settings = cache_settings(&file);
                    let redis = redis_cache(&settings);
                    Some(cached_client(
                        client.clone(),
                        disk,
                        &settings,
                        redis.as_ref(),
                        clock::system(),
                    ))
                }
                Err(e) => {
                    tracing::warn!("token cache disabled: {e}");
                    None
                }
            }
        };
        Ok(Self {
            resolved,
            client,
            cached,
        })
    }

    /// A refresh-ahead token source over the cache (or the bare client).
    pub fn source(&self) -> TokenSource {
        match &self.cached {
            Some(c) => TokenSource::new(c.clone(), clock::system()),
            None => TokenSource::new(self.client.clone(), clock::system()),
        }
    }
}

/// The cache at its default location.
pub fn default_cache() -> Result<DiskCache, Error> {
    let dir = DiskCache::default_dir()
        .ok_or_else(|| Error::config("neither XDG_CACHE_HOME nor HOME is set"))?;
    DiskCache::open(dir)
}

/// The `[cache]` table of the profile file. When a profile is named, an unreadable file
/// has stopped the command already; without one, it only warns: a `get` given everything
/// by flags does not fail over an unrelated file.
pub fn cache_settings(file: &Result<ConfigFile, Error>) -> CacheSettings {
    match file {
        Ok(file) => file.cache.clone(),
        Err(e) => {
            tracing::warn!("ignoring the [cache] settings: {e}");
            CacheSettings::default()
        }
    }
}

/// The fleet's Redis cache of `[cache] url`, if any. Opening does no I/O; a URL the Redis
/// client refuses disables it with a warning (never a failed `get`).
pub fn redis_cache(settings: &CacheSettings) -> Option<RedisCache> {
    let url = settings.url.as_ref()?;
    match RedisCache::open(url) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!("shared cache disabled: {e}");
            None
        }
    }
}

/// `client` behind the disk cache with the `[cache]` settings applied: the negative TTL and
/// the shared Redis cache (one per process, shared by every profile).
pub fn cached_client(
    client: Client,
    disk: DiskCache,
    settings: &CacheSettings,
    redis: Option<&RedisCache>,
    clock: clock::SharedClock,
) -> CachedClient {
    let mut cached = CachedClient::new(client, disk, clock);
    if let Some(ttl) = settings.negative_ttl {
        cached = cached.with_negative_ttl(ttl);
    }
    if let Some(r) = redis {
        cached = cached.with_redis(r.clone());
    }
    cached
}

/// `CCTOKEN_AGENT` for a command: the agent and the profile to ask it for, when it applies.
///
/// It applies when the variable is set and a profile is named without other profile flags
/// (only `--api-base` and `--config`): the agent serves profiles as it configured them, so
/// flags that would change the request make the command ask the token server itself.
pub fn agent(opts: &ProfileOpts) -> anyhow::Result<Option<(AgentClient, String)>> {
    let Some(value) = std::env::var(CCTOKEN_AGENT)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    opts.reject_secret_on_argv()?;
    let Some(name) = &opts.profile else {
        tracing::debug!(
            "{CCTOKEN_AGENT} is set but no --profile is named: asking the token server"
        );
        return Ok(None);
    };
    let mut settings = opts.to_settings();
    settings.api_base = None;
    if settings != ProfileSettings::default() || opts.keep_secret_bytes {
        tracing::warn!(
            "{CCTOKEN_AGENT} ignored: flags given with --profile {name} change the profile, and \
             the agent serves it as configured; asking the token server"
        );
        return Ok(None);
    }
    let client = AgentClient::from_env_value(&value, |k| std::env::var(k).ok())?;
    tracing::debug!(
        "asking the agent at {} for profile {name}",
        client.endpoint()
    );
    Ok(Some((client, name.clone())))
}

/// What a profile is, read from the config file without touching its secrets (a consumer
/// of the agent may not have them): the provider and, for Genesys, the region name.
pub fn describe_without_secrets(
    opts: &ProfileOpts,
    name: &str,
) -> (ProviderKind, Option<&'static str>) {
    let settings = ConfigFile::load(opts.config.as_deref()).and_then(|f| f.profile(name));
    let Ok(settings) = settings else {
        return (ProviderKind::Generic, None);
    };
    let kind = infer_provider(&settings, &ProcessEnv)
        .map(|(k, _)| k)
        .unwrap_or(ProviderKind::Generic);
    let region = settings
        .region
        .as_deref()
        .and_then(|r| lookup_region(r, "region").ok())
        .map(|r| r.name);
    (kind, region)
}

/// Where a token-consuming command (`exec`, `api`) gets its tokens: the token server (with
/// the cache), or a running agent (`CCTOKEN_AGENT`).
pub enum Tokens {
    /// The profile resolved here; tokens from the cache or the token server.
    Direct(Box<Session>),
    /// Tokens from the agent.
    Agent {
        /// A source over the agent.
        source: TokenSource,
        /// The fetcher inside `source` (to report a rejected token).
        fetch: AgentFetch,
        /// `--api-base`, else the agent's.
        api_base: Option<url::Url>,
        /// The provider family.
        kind: ProviderKind,
        /// The Genesys region name.
        region: Option<&'static str>,
    },
}

impl Tokens {
    /// Ask the agent when `CCTOKEN_AGENT` applies, else resolve the profile here.
    pub fn open(opts: &ProfileOpts, no_cache: bool, globals: &Globals) -> anyhow::Result<Self> {
        let Some((agent, name)) = agent(opts)? else {
            return Ok(Self::Direct(Box::new(Session::open(
                opts, no_cache, globals,
            )?)));
        };
        let first = agent.clone().token(&name)?;
        let api_base = match &opts.api_base {
            Some(b) => Some(
                url::Url::parse(b).map_err(|e| Error::config(format!("--api-base '{b}': {e}")))?,
            ),
            None => first.api_base,
        };
        let (kind, region) = describe_without_secrets(opts, &name);
        let fetch = agent.fetcher(&name);
        Ok(Self::Agent {
            source: TokenSource::new(fetch.clone(), clock::system()),
            fetch,
            api_base,
            kind,
            region,
        })
    }

    /// A refresh-ahead token source.
    pub fn source(&self) -> TokenSource {
        match self {
            Self::Direct(s) => s.source(),
            Self::Agent { source, .. } => source.clone(),
        }
    }

    /// What to tell the token's origin when an API rejected `token` (401) before
    /// `invalidate_and_refresh`: the agent replaces its token too; a direct source needs
    /// nothing (its fetcher gets the rejected token).
    pub fn rejection_reporter(&self) -> Option<AgentFetch> {
        match self {
            Self::Direct(_) => None,
            Self::Agent { fetch, .. } => Some(fetch.clone()),
        }
    }

    /// The API base (CXone: found with `token`).
    pub async fn api_base(&self, token: &Token) -> Result<Option<url::Url>, Error> {
        match self {
            Self::Direct(s) => s.client.api_base(token).await,
            Self::Agent { api_base, .. } => Ok(api_base.clone()),
        }
    }

    /// The provider family.
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::Direct(s) => s.resolved.config.kind(),
            Self::Agent { kind, .. } => *kind,
        }
    }

    /// The Genesys region name, when known.
    pub fn region(&self) -> Option<&'static str> {
        match self {
            Self::Direct(s) => match &s.resolved.config.provider {
                ProviderConfig::Genesys {
                    region: Some(r), ..
                } => Some(r.name),
                _ => None,
            },
            Self::Agent { region, .. } => *region,
        }
    }
}
