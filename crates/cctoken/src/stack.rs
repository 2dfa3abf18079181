//! The token stack, assembled in one place: the on-disk cache, the fleet's Redis cache
//! behind it, the agent named by `CCTOKEN_AGENT`, and a [`TokenSource`] on top.
//!
//! Every consumer — `cctoken get`, `exec`, `api`, the agent serving many profiles, next the
//! Python package — builds its tokens here, so they share entries and behave alike:
//!
//! ```text
//!   Stack::builder(env)            the [cache] table, CacheMode, clock, HTTP client
//!     .build()  ─┬─ agent()    ─►  AgentClient        (CCTOKEN_AGENT: ask a running agent)
//!                └─ direct(cfg) ►  Direct { Client, CachedClient: disk ─► Redis ─► server }
//!                                    ├─ source() ─► TokenSource (refresh ahead, single flight)
//!                                    └─ pool(K)  ─► TokenPool   (K sources, one per cache slot; paced)
//! ```
//!
//! Building is cheap and cannot fail: nothing is opened until the first [`Stack::direct`],
//! so a process that asks the agent never creates a cache directory, and a cache that
//! cannot be opened is reported once (a warning) and skipped — a `get` never fails because
//! its cache is unusable. One [`Stack`] serves any number of profiles with one disk
//! cache, one Redis connection and (when given) one HTTP client.
//!
//! The stack does not choose *whether* to ask the agent: a command that changes the
//! profile with flags must ask the token server, and only the caller knows its flags.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::agent::client::AgentClient;
use crate::cache::{CachedClient, DiskCache};
use crate::client::{Client, TraceSink};
use crate::clock::{self, SharedClock};
use crate::config::{env, CacheSettings, ClientConfig, EnvLookup};
use crate::error::Error;
use crate::jitter::{self, SharedJitter};
use crate::pool::{Pacing, PoolSize, TokenPool};
use crate::source::{Fetch, TokenSource};

/// Where tokens are shared between processes. A fleet's Redis (`[cache] url`, or the
/// Python package's `cache="redis://…"`) is [`CacheMode::Disk`] with
/// [`CacheSettings::url`] set: the disk stays in front of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// The per-user disk cache at its default place (`$XDG_CACHE_HOME/cctoken`), which the
    /// CLI, the agent and library users share; the `[cache]` table's Redis behind it.
    #[default]
    Disk,
    /// The disk cache in this directory (tests, sandboxes); Redis as for [`CacheMode::Disk`].
    DiskAt(PathBuf),
    /// Nothing shared: tokens live only in this process's [`TokenSource`].
    Memory,
}

/// Configures a [`Stack`]; see the module docs.
pub struct StackBuilder<'e> {
    env: &'e dyn EnvLookup,
    mode: CacheMode,
    settings: CacheSettings,
    clock: SharedClock,
    http: Option<reqwest::Client>,
    trace: Option<TraceSink>,
}

impl std::fmt::Debug for StackBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackBuilder")
            .field("mode", &self.mode)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'e> StackBuilder<'e> {
    /// The `[cache]` table: the negative-cache TTL and the fleet's Redis URL.
    pub fn cache_settings(mut self, settings: CacheSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Where tokens are shared ([`CacheMode::Disk`] unless told).
    pub fn cache(mut self, mode: CacheMode) -> Self {
        self.mode = mode;
        self
    }

    /// The clock of the clients, caches and sources (tests inject a manual one).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// One HTTP client for every profile (one connection pool and TLS configuration);
    /// without it each client builds its own on first use.
    pub fn http(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// A redacted transcript of every exchange with a token server (`--trace`).
    pub fn trace(mut self, sink: TraceSink) -> Self {
        self.trace = Some(sink);
        self
    }

    /// The stack. Nothing is opened yet.
    pub fn build(self) -> Stack<'e> {
        Stack {
            builder: self,
            layers: OnceLock::new(),
        }
    }
}

/// The shared layers, opened on first use.
#[derive(Debug, Clone, Default)]
struct Layers {
    disk: Option<DiskCache>,
    #[cfg(feature = "redis")]
    redis: Option<crate::cache::redis::RedisCache>,
}

/// The layers every profile of a process shares; see the module docs.
#[derive(Debug)]
pub struct Stack<'e> {
    builder: StackBuilder<'e>,
    layers: OnceLock<Layers>,
}

impl<'e> Stack<'e> {
    /// A stack over `env` (the process environment: [`crate::config::ProcessEnv`]) with
    /// the disk cache, no `[cache]` settings and the system clock.
    pub fn builder(env: &'e dyn EnvLookup) -> StackBuilder<'e> {
        StackBuilder {
            env,
            mode: CacheMode::Disk,
            settings: CacheSettings::default(),
            clock: clock::system(),
            http: None,
            trace: None,
        }
    }

    /// The clock everything in the stack uses.
    pub fn clock(&self) -> &SharedClock {
        &self.builder.clock
    }

    /// The agent `CCTOKEN_AGENT` points at, if it is set; an unusable value is an error.
    /// Asking it needs no secret and no async runtime ([`AgentClient::token`]).
    pub fn agent(&self) -> Result<Option<AgentClient>, Error> {
        AgentClient::from_env(self.builder.env)
    }

    /// `config`'s client behind the shared caches.
    pub fn direct(&self, config: ClientConfig) -> Direct {
        let b = &self.builder;
        let mut client = Client::new(config).with_clock(b.clock.clone());
        if let Some(http) = &b.http {
            client = client.with_http(http.clone());
        }
        if let Some(sink) = &b.trace {
            client = client.with_trace(sink.clone());
        }
        let layers = self.layers.get_or_init(|| self.open());
        let cached = layers.disk.as_ref().map(|disk| {
            let mut cached = CachedClient::new(client.clone(), disk.clone(), b.clock.clone());
            if let Some(ttl) = b.settings.negative_ttl {
                cached = cached.with_negative_ttl(ttl);
            }
            #[cfg(feature = "redis")]
            if let Some(r) = &layers.redis {
                cached = cached.with_redis(r.clone());
            }
            cached
        });
        Direct {
            client,
            cached,
            clock: b.clock.clone(),
        }
    }

    /// Open the disk cache and, behind it, the fleet's Redis; what cannot be opened is
    /// skipped with a warning.
    fn open(&self) -> Layers {
        let b = &self.builder;
        let dir = match &b.mode {
            CacheMode::Memory => return Layers::default(),
            CacheMode::DiskAt(dir) => Some(dir.clone()),
            CacheMode::Disk => env::default_cache_dir(b.env),
        };
        let disk = dir
            .ok_or_else(|| Error::config("neither XDG_CACHE_HOME nor HOME is set"))
            .and_then(DiskCache::open);
        let disk = match disk {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("token cache disabled: {e}");
                return Layers::default();
            }
        };
        Layers {
            disk: Some(disk),
            #[cfg(feature = "redis")]
            redis: redis(&b.settings),
        }
    }
}

/// The fleet's Redis cache of `[cache] url`, if any. Opening does no I/O; a URL the Redis
/// client refuses disables it with a warning (never a failed `get`).
#[cfg(feature = "redis")]
fn redis(settings: &CacheSettings) -> Option<crate::cache::redis::RedisCache> {
    let url = settings.url.as_ref()?;
    match crate::cache::redis::RedisCache::open(url) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!("shared cache disabled: {e}");
            None
        }
    }
}

/// One profile's tokens from this process: the client and the caches in front of it.
#[derive(Debug, Clone)]
pub struct Direct {
    /// The client (no cache): dry runs, endpoint resolution, the API base.
    pub client: Client,
    /// The client behind the shared caches, unless there are none ([`CacheMode::Memory`],
    /// or the cache could not be opened).
    pub cached: Option<CachedClient>,
    clock: SharedClock,
}

impl Direct {
    /// What a [`TokenSource`] (or the agent's registry) fetches through: the caches when
    /// there are any, else the client.
    pub fn fetcher(&self) -> Arc<dyn Fetch> {
        match &self.cached {
            Some(c) => Arc::new(c.clone()),
            None => Arc::new(self.client.clone()),
        }
    }

    /// A refresh-ahead token source over [`Direct::fetcher`].
    pub fn source(&self) -> TokenSource {
        TokenSource::from_arc(self.fetcher(), self.clock.clone())
    }

    /// What token `slot` of a pool fetches through: the caches under the slot's own key
    /// ([`CachedClient::for_slot`]; slot 0 is [`Direct::fetcher`]), else the client.
    pub fn slot_fetcher(&self, slot: usize) -> Arc<dyn Fetch> {
        match &self.cached {
            Some(c) => Arc::new(c.clone().for_slot(slot)),
            None => Arc::new(self.client.clone()),
        }
    }

    /// A pool of `size` tokens over [`Direct::slot_fetcher`], paced by `pacing` (SPEC §13).
    pub fn pool(&self, size: PoolSize, pacing: Pacing) -> TokenPool {
        self.pool_with(size, pacing, jitter::system())
    }

    /// [`Direct::pool`] with injected jitter (tests).
    pub fn pool_with(&self, size: PoolSize, pacing: Pacing, jitter: SharedJitter) -> TokenPool {
        let fetchers = (0..size.get()).map(|i| self.slot_fetcher(i)).collect();
        TokenPool::new(fetchers, pacing, self.clock.clone(), jitter)
            .expect("a PoolSize is 1 to PoolSize::MAX slots")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::provider::{Endpoint, ProviderConfig};
    use crate::secret::ClientSecret;

    fn config() -> ClientConfig {
        let url = "http://127.0.0.1:9/oauth/token".parse().unwrap();
        ClientConfig::new(
            ProviderConfig::Generic {
                endpoint: Endpoint::TokenUrl(url),
                api_base: None,
            },
            "id",
            ClientSecret::new("s"),
        )
    }

    #[test]
    fn disk_cache_at_the_default_place_is_opened_on_first_use() {
        let home = tempfile::tempdir().unwrap();
        let cache = home.path().join("xdg-cache");
        let cache_text = cache.to_str().unwrap().to_owned();
        let env = [("XDG_CACHE_HOME", cache_text.as_str())];
        let stack = Stack::builder(&env).build();
        assert!(!cache.exists(), "building opens nothing");
        let d = stack.direct(config());
        let c = d.cached.as_ref().expect("a disk cache");
        assert_eq!(c.cache().dir(), cache.join("cctoken"));
        assert!(cache.join("cctoken").is_dir());
    }

    #[test]
    fn memory_mode_and_an_unusable_place_have_no_shared_cache() {
        let env: [(&str, &str); 0] = [];
        let memory = Stack::builder(&env).cache(CacheMode::Memory).build();
        assert!(memory.direct(config()).cached.is_none());
        // Neither XDG_CACHE_HOME nor HOME: a warning, and the client alone.
        let nowhere = Stack::builder(&env).build();
        assert!(nowhere.direct(config()).cached.is_none());
    }

    #[test]
    fn cache_settings_apply_to_every_profile() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("cache");
        let env: [(&str, &str); 0] = [];
        let settings = CacheSettings {
            url: None,
            negative_ttl: Some(Duration::from_secs(7)),
        };
        let stack = Stack::builder(&env)
            .cache(CacheMode::DiskAt(dir.clone()))
            .cache_settings(settings)
            .build();
        for _ in 0..2 {
            let d = stack.direct(config());
            let c = d.cached.expect("a disk cache");
            assert_eq!(c.negative_ttl(), Duration::from_secs(7));
            assert_eq!(c.cache().dir(), dir);
        }
    }

    #[test]
    fn the_agent_comes_from_the_environment() {
        let env: [(&str, &str); 0] = [];
        assert!(Stack::builder(&env).build().agent().unwrap().is_none());
        let env = [("CCTOKEN_AGENT", "unix:/run/a.sock")];
        let agent = Stack::builder(&env).build().agent().unwrap().unwrap();
        assert_eq!(agent.endpoint().to_string(), "unix:/run/a.sock");
        let env = [("CCTOKEN_AGENT", "nonsense")];
        assert!(Stack::builder(&env).build().agent().is_err());
    }
}
