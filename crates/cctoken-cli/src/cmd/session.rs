//! What every token-consuming command sets up: the resolved profile and the library's
//! token stack ([`cctoken::stack`]) over it — the on-disk cache with the `[cache]` settings
//! (negative TTL, a fleet's Redis) and a [`TokenSource`] — or, when `CCTOKEN_AGENT` points
//! at a running agent, a source that asks the agent ([`Tokens`]).

use cctoken::agent::client::{AgentClient, AgentFetch, CCTOKEN_AGENT};
use cctoken::clock;
use cctoken::config::resolve::infer_provider;
use std::sync::Arc;

use cctoken::config::{EnvLookup, PoolSettings, ProcessEnv, ProfileSettings, ResolvedProfile};
use cctoken::error::Error;
use cctoken::jitter;
use cctoken::pool::TokenPool;
use cctoken::provider::genesys::Region;
use cctoken::provider::{ProviderConfig, ProviderKind};
use cctoken::source::{Fetch, TokenSource};
use cctoken::stack::{CacheMode, Direct, Stack, StackBuilder};
use cctoken::token::Token;

use super::Globals;
use crate::opts::ProfileOpts;

/// A resolved profile ready to produce tokens.
pub struct Session {
    /// The profile as resolved (config, secret origin, notes).
    pub resolved: ResolvedProfile,
    /// The client and the caches in front of it.
    pub direct: Direct,
    /// The profile's `pool_size` and `api_rate_limit`.
    pub pool: PoolSettings,
}

impl Session {
    /// Resolve the profile options once, at the edge.
    pub fn open(opts: &ProfileOpts, no_cache: bool, globals: &Globals) -> anyhow::Result<Self> {
        // Read once: the profile (when one is named) and the [cache] table both come from it.
        let (settings, cache) = opts.load()?;
        let resolved = opts.resolve(&settings)?;
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
        let direct = stack(no_cache, globals)
            .cache_settings(cache)
            .build()
            .direct(resolved.config.clone());
        Ok(Self {
            resolved,
            direct,
            pool: settings.pool,
        })
    }
}

/// The token stack of a command: the disk cache unless `--no-cache`, `--trace` applied.
pub fn stack(no_cache: bool, globals: &Globals) -> StackBuilder<'static> {
    let mut b = Stack::builder(&ProcessEnv);
    if no_cache {
        b = b.cache(CacheMode::Memory);
    }
    if globals.trace {
        b = b.trace(super::trace_sink());
    }
    b
}

/// `CCTOKEN_AGENT` for a command: the agent and the profile to ask it for, when it applies.
///
/// It applies when the variable is set and a profile is named without other profile flags
/// (only `--api-base` and `--config`): the agent serves profiles as it configured them, so
/// flags that would change the request make the command ask the token server itself.
pub fn agent(opts: &ProfileOpts) -> anyhow::Result<Option<(AgentClient, String)>> {
    if ProcessEnv
        .var(CCTOKEN_AGENT)
        .is_none_or(|v| v.trim().is_empty())
    {
        return Ok(None);
    }
    opts.reject_secret_on_argv()?;
    let Some(name) = &opts.profile else {
        tracing::debug!(
            "{CCTOKEN_AGENT} is set but no --profile is named: asking the token server"
        );
        return Ok(None);
    };
    let mut settings = opts.to_settings()?;
    settings.api_base = None;
    if settings != ProfileSettings::default() || opts.keep_secret_bytes {
        tracing::warn!(
            "{CCTOKEN_AGENT} ignored: flags given with --profile {name} change the profile, and \
             the agent serves it as configured; asking the token server"
        );
        return Ok(None);
    }
    let Some(client) = Stack::builder(&ProcessEnv).build().agent()? else {
        return Ok(None);
    };
    tracing::debug!(
        "asking the agent at {} for profile {name}",
        client.endpoint()
    );
    Ok(Some((client, name.clone())))
}

/// What a profile is, read from the config file (once) without touching its secrets (a
/// consumer of the agent may not have them, nor the file): the provider and, for Genesys,
/// the region.
pub fn describe_without_secrets(
    opts: &ProfileOpts,
    name: &str,
) -> (ProviderKind, Option<&'static Region>) {
    let Ok(settings) = opts.config_file().and_then(|f| f.profile(name)) else {
        return (ProviderKind::Generic, None);
    };
    let kind = infer_provider(&settings, &ProcessEnv)
        .map(|(k, _)| k)
        .unwrap_or(ProviderKind::Generic);
    (kind, settings.region)
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
        /// The Genesys region.
        region: Option<&'static Region>,
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
        let api_base = opts.api_base.clone().or(first.api_base);
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
            Self::Direct(s) => s.direct.source(),
            Self::Agent { source, .. } => source.clone(),
        }
    }

    /// The paced pool of `api` (SPEC §13): the profile's `pool_size` and `api_rate_limit`
    /// with `flags` on top. From an agent, one token (the agent's), paced to the limit.
    pub fn pool(&self, flags: PoolSettings) -> TokenPool {
        match self {
            Self::Direct(s) => {
                let (size, pacing) = s.pool.overlay(flags).resolve(s.resolved.config.kind());
                s.direct.pool(size, pacing)
            }
            Self::Agent { fetch, kind, .. } => {
                let (size, pacing) = flags.resolve(*kind);
                if size.get() > 1 {
                    tracing::warn!(
                        "--pool-size ignored: the agent serves one token per profile (give                          its proxy a pool instead)"
                    );
                }
                let fetchers: Vec<Arc<dyn Fetch>> = vec![Arc::new(fetch.clone())];
                TokenPool::new(fetchers, pacing, clock::system(), jitter::system())
                    .expect("one slot is a valid pool")
            }
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
            Self::Direct(s) => s.direct.client.api_base(token).await,
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

    /// The environment variables secrets were read from (none when the agent has them).
    pub fn secret_vars(&self) -> &[String] {
        match self {
            Self::Direct(s) => &s.resolved.secret_vars,
            Self::Agent { .. } => &[],
        }
    }

    /// The Genesys region, when known.
    pub fn region(&self) -> Option<&'static Region> {
        match self {
            Self::Direct(s) => match &s.resolved.config.provider {
                ProviderConfig::Genesys { region, .. } => *region,
                _ => None,
            },
            Self::Agent { region, .. } => *region,
        }
    }
}
