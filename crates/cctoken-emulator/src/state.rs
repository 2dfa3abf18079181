//! Shared server state and the injected clock.
//!
//! [`AppState`] is a cheap `Clone` handle (one `Arc`) holding the immutable registry and
//! configuration plus the concurrent parts: token store, fault queue, activity log and
//! counters. Time comes from a [`Clock`] so tests can expire tokens and move through fault
//! windows without sleeping. The base URL used in discovery documents and `iss` claims is
//! set once the listener is bound; until then it is taken from the request's `Host` header.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use axum::http::{header, HeaderMap};

use crate::activity::{load, ActivityEntry, ActivityLog, Record, Stats, StatsSnapshot};
use crate::config::EmulatorConfig;
use crate::faults::{FaultEngine, FaultSpec};
use crate::jwt::Signer;
use crate::keys::ReplayCache;
use crate::registry::Registry;
use crate::tokens::TokenStore;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Move forward.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `t` in Unix milliseconds (0 before the epoch, saturating far in the future).
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The emulator's state; clone freely.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("flavor", &self.inner.config.flavor)
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub config: EmulatorConfig,
    pub registry: Registry,
    pub tokens: TokenStore,
    pub signer: Signer,
    pub faults: FaultEngine,
    pub activity: ActivityLog,
    pub stats: Stats,
    pub replay: ReplayCache,
    /// Whether the TLS listener asks for client certificates (fixed at start).
    pub client_certs: bool,
    pub clock: Arc<dyn Clock>,
    base_url: ArcSwapOption<String>,
}

impl AppState {
    /// State for `config` on the system clock.
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// State for `config` on an injected clock.
    pub fn with_clock(config: EmulatorConfig, clock: Arc<dyn Clock>) -> Self {
        let registry = Registry::new(&config);
        let faults = FaultEngine::default();
        faults.push(config.faults.clone(), clock.now());
        AppState {
            inner: Arc::new(Inner {
                registry,
                tokens: TokenStore::default(),
                signer: Signer::generate(),
                faults,
                activity: ActivityLog::new(config.activity_capacity),
                stats: Stats::default(),
                replay: ReplayCache::default(),
                client_certs: config.requests_client_certificates(),
                clock,
                base_url: ArcSwapOption::empty(),
                config,
            }),
        }
    }

    /// The absolute base URL for discovery and `iss`, e.g. `http://127.0.0.1:8089`.
    pub fn set_base_url(&self, url: &str) {
        let url = url.trim_end_matches('/').to_owned();
        self.inner.base_url.store(Some(Arc::new(url)));
    }

    /// The base URL, once set.
    pub fn base_url(&self) -> Option<String> {
        self.inner.base_url.load_full().map(|u| (*u).clone())
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        let i = &self.inner;
        let s = &i.stats;
        let mut clients = std::collections::BTreeMap::new();
        for c in i.registry.iter() {
            let mut m = c.counters.snapshot();
            c.api.snapshot_into(&mut m);
            clients.insert(c.entry.id.clone(), m);
        }
        let unknown = s.unknown_client.snapshot();
        if unknown.get("requests").copied().unwrap_or(0) > 0 {
            clients.insert("(unknown)".into(), unknown);
        }
        StatsSnapshot {
            token_requests_total: load(&s.token_requests),
            tokens_issued_total: load(&s.tokens_issued),
            outcomes: s.outcomes.snapshot(),
            clients,
            faults_applied_total: load(&s.faults_applied),
            introspection_requests_total: load(&s.introspections),
            revocation_requests_total: load(&s.revocations),
            api_requests_total: load(&s.api.requests),
            api_rate_limited_total: load(&s.api.rate_limited),
            api_max_per_window: load(&s.api.max_per_window),
            tokens_held: i.tokens.held(),
        }
    }

    /// The activity log, oldest first.
    pub fn activity(&self) -> Vec<ActivityEntry> {
        self.inner.activity.entries(None, None)
    }

    /// Queue faults for the next token requests.
    pub fn push_faults(&self, faults: Vec<FaultSpec>) {
        self.inner.faults.push(faults, self.now());
    }

    /// Drop every queued fault (as `DELETE /_emulator/faults`); how many there were.
    pub fn clear_faults(&self) -> usize {
        self.inner.faults.clear()
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Now in Unix milliseconds: the precision of token expiry and rate-limit windows.
    pub(crate) fn now_ms(&self) -> u64 {
        unix_ms(self.now())
    }

    /// The base URL, or `http://{Host}` (`https://` with TLS) of this request when none was set.
    pub(crate) fn base_for(&self, headers: &HeaderMap) -> String {
        if let Some(u) = self.inner.base_url.load().as_ref() {
            return (**u).clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or("localhost");
        format!("{}://{host}", self.inner.config.scheme())
    }

    pub(crate) fn record(&self, r: Record) {
        self.inner.activity.push(r, self.now());
    }
}
