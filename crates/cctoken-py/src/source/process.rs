//! [`Core`]: what a [`Spec`] becomes in one process (one fork generation) — the library's
//! [`TokenSource`] (or the pool whose slot 0 it is), the client or agent behind it, and
//! the cached `Token` object of the current token that makes the hot path two atomic
//! loads and a clock read.
//!
//! It decides nothing about tokens: when to fetch, refresh or stop serving one is the
//! source's ([`TokenSource::token_now`], [`TokenSource::served_until`]); this module only
//! keeps the Python object of the token the source serves.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use cctoken::agent::client::AgentFetch;
use cctoken::client::Client;
use cctoken::clock;
use cctoken::config::ProcessEnv;
use cctoken::pool::{Pacing, TokenPool};
use cctoken::source::TokenSource;
use cctoken::stack::Stack;
use cctoken::token::Token;
use pyo3::prelude::*;

use crate::runtime;
use crate::settings::{Origin, Spec};
use crate::token::PyToken;

/// The `Token` object of the source's current token, and until when the source serves
/// that token as it is ([`TokenSource::served_until`]).
struct Current {
    generation: u64,
    until: SystemTime,
    token: Py<PyToken>,
}

/// What a [`Spec`] becomes in one process (one fork generation).
pub struct Core {
    pub(super) fork: u64,
    pub(super) source: TokenSource,
    pub(super) handle: tokio::runtime::Handle,
    pub(super) client: Option<Client>,
    pub(super) agent: Option<AgentFetch>,
    /// `pool_size=` / `api_rate_limit=`: every `token()` is a paced lease of the pool
    /// (slot 0 is `source`), not the cached fast read.
    pub(super) pool: Option<TokenPool>,
    current: ArcSwapOption<Current>,
}

impl Core {
    pub(super) fn build(spec: &Spec) -> PyResult<Self> {
        let handle = runtime::handle()?;
        let _in_runtime = handle.enter();
        let mut pool = None;
        let (source, client, agent) = match &spec.origin {
            Origin::Direct(config) => {
                let direct = Stack::builder(&ProcessEnv)
                    .cache(spec.cache.clone())
                    .cache_settings(spec.cache_settings.clone())
                    .build()
                    .direct((**config).clone());
                if let Some(p) = spec.pool {
                    let made = direct.pool(p.size, Pacing::new(p.limit));
                    let source = made.slot(0).clone();
                    pool = Some(made);
                    (source, Some(direct.client), None)
                } else {
                    (direct.source(), Some(direct.client), None)
                }
            }
            Origin::Agent(client, profile) => {
                let fetch = client.clone().fetcher(profile);
                (
                    TokenSource::new(fetch.clone(), clock::system()),
                    None,
                    Some(fetch),
                )
            }
        };
        let source = match (spec.min_ttl, &pool) {
            (Some(m), None) => source.with_min_ttl(m),
            _ => source,
        };
        Ok(Self {
            fork: runtime::generation(),
            source,
            handle,
            client,
            agent,
            pool,
            current: ArcSwapOption::const_empty(),
        })
    }

    /// The cached `Token` while the source serves its token as it is: two atomic loads
    /// and a clock read, no call into the source.
    pub(super) fn cached(&self, py: Python<'_>) -> Option<Py<PyToken>> {
        let guard = self.current.load();
        let c = guard.as_deref()?;
        (c.generation == self.source.generation() && self.source.clock().now() < c.until)
            .then(|| c.token.clone_ref(py))
    }

    /// The current token's `Token` if it is fresh: no waiting and no I/O, and the same
    /// object again while the token stays the same. Starts the refresh ahead when due.
    pub(super) fn fresh(&self, py: Python<'_>) -> PyResult<Option<Py<PyToken>>> {
        if let Some(t) = self.cached(py) {
            return Ok(Some(t));
        }
        let generation = self.source.generation();
        let token = {
            let _in_runtime = self.handle.enter();
            match self.source.token_now() {
                Some(t) => t,
                None => return Ok(None),
            }
        };
        if let Some(c) = &*self.current.load() {
            if c.generation == generation && c.token.get().is(py, &token) {
                return Ok(Some(c.token.clone_ref(py)));
            }
        }
        self.remember(py, generation, &token).map(Some)
    }

    /// The `Token` for `token`, kept for the next fast read.
    fn remember(&self, py: Python<'_>, generation: u64, token: &Token) -> PyResult<Py<PyToken>> {
        let made = Py::new(py, PyToken::new(py, token, self.source.origin()))?;
        // Past the refresh point (a refresh is running) the token is still served, but
        // through `token_now`, which decides when it stops.
        let until = self.source.served_until().unwrap_or(UNIX_EPOCH);
        self.current.store(Some(Arc::new(Current {
            generation,
            until,
            token: made.clone_ref(py),
        })));
        Ok(made)
    }

    /// The `Token` for `token`, which a slow path returned.
    pub(super) fn wrap(&self, py: Python<'_>, token: &Token) -> PyResult<Py<PyToken>> {
        let generation = self.source.generation();
        match self.source.peek() {
            Some(cur) if cur.access_token == token.access_token => {
                self.remember(py, generation, token)
            }
            _ => Py::new(py, PyToken::new(py, token, self.source.origin())),
        }
    }
}
