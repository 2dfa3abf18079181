//! `cctoken.TokenSource` and `cctoken.AsyncTokenSource`: the library's token stack
//! ([`cctoken::stack`]) as Python sees it.
//!
//! Both classes hold a [`Shared`]: the [`Spec`] parsed from the constructor's keywords
//! and a [`Core`] built from it — a [`TokenSource`] over the on-disk cache (with a fleet's
//! Redis behind it), or over the agent named by `CCTOKEN_AGENT`. All the token logic
//! (single flight across threads and processes, refresh ahead, serving through faults,
//! invalidation after a 401) is the library's; this module only crosses the language
//! boundary:
//!
//! - the hot path (`token()` on a fresh token) is the library's lock-free read
//!   ([`TokenSource::token_now`]) plus one cached `Token` object per token
//!   ([`process`]);
//! - a blocking call releases the GIL (`py.detach`) while it waits on the runtime;
//! - an `await` is a task spawned on the runtime, so cancelling one awaiter drops only its
//!   wait: the request it shares with the others (and their cache write) carries on
//!   ([`aio`]);
//! - with `pool_size=` / `api_rate_limit=` every call is a paced lease of a pool
//!   ([`pool`]);
//! - after `os.fork()` the child builds a new [`Core`] from the [`Spec`] on first use
//!   (the parent's source may hold a lock a thread of the parent took).
//!
//! The Python classes themselves, and their constructors, are in [`classes`].

mod aio;
mod classes;
mod pool;
mod process;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use cctoken::secret::AccessToken;
use cctoken::source::TokenSource;
use cctoken::stack::CacheMode;
use cctoken::token::Token;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

pub use classes::{PyAsyncTokenSource, PyTokenSource};
use process::Core;

use crate::errors;
use crate::runtime;
use crate::settings::{self, Origin, Spec};
use crate::token::PyToken;

/// A source and what it was built from; see the module docs.
pub struct Shared {
    spec: Spec,
    core: ArcSwapOption<Core>,
    closed: AtomicBool,
    describe: String,
}

impl Shared {
    fn new(py: Python<'_>, parsed: settings::Parsed, class: &str) -> PyResult<Self> {
        let spec = py
            .detach(|| parsed.resolve())
            .map_err(|e| errors::to_py(py, &e))?;
        let describe = describe(class, &spec);
        let core = Core::build(&spec)?;
        Ok(Self {
            spec,
            core: ArcSwapOption::new(Some(Arc::new(core))),
            closed: AtomicBool::new(false),
            describe,
        })
    }

    fn core(&self) -> PyResult<Arc<Core>> {
        let current = self.core.load_full();
        if let Some(c) = &current {
            if c.fork == runtime::generation() {
                return Ok(c.clone());
            }
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(PyValueError::new_err("this token source is closed"));
        }
        // A forked child: the parent's core stays untouched (see the module docs), but a
        // token it holds keeps serving here (a read, no lock).
        let fresh = Arc::new(Core::build(&self.spec)?);
        if let Some(t) = current.as_ref().and_then(|c| c.source.peek()) {
            fresh.source.seed(t);
        }
        let prev = self.core.compare_and_swap(&current, Some(fresh.clone()));
        match (&*prev, &current) {
            (Some(p), Some(c)) if !Arc::ptr_eq(p, c) && p.fork == fresh.fork => Ok(p.clone()),
            (Some(p), None) if p.fork == fresh.fork => Ok(p.clone()),
            _ => {
                if let Some(old) = current {
                    // Never dropped in the child: it may hold runtime objects of the parent.
                    std::mem::forget(old);
                }
                Ok(fresh)
            }
        }
    }

    fn token(&self, py: Python<'_>, min_ttl: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyToken>> {
        if min_ttl.is_none() {
            // The hot path: no reference count touched but the Token's.
            if let Some(c) = &*self.core.load() {
                if c.fork == runtime::generation() {
                    if let Some(t) = c.cached(py) {
                        return Ok(t);
                    }
                }
            }
        }
        let core = self.core()?;
        let min_ttl = min_ttl_arg(min_ttl)?;
        if let Some(p) = &core.pool {
            pool::no_min_ttl(min_ttl)?;
            return pool::leased(py, p.clone());
        }
        if min_ttl.is_none() {
            if let Some(t) = core.fresh(py)? {
                return Ok(t);
            }
        }
        let source = core.source.clone();
        let got = py.detach(|| runtime::block_on(fetch(source, min_ttl)))?;
        match got {
            Ok(t) => core.wrap(py, &t),
            Err(e) => Err(errors::to_py(py, &e)),
        }
    }

    fn invalidate(&self, access_token: &str) -> PyResult<bool> {
        let core = self.core()?;
        let rejected = AccessToken::new(access_token);
        if let Some(agent) = &core.agent {
            agent.reject(&rejected);
        }
        if let Some(p) = &core.pool {
            return Ok(pool::invalidate(p, &rejected));
        }
        Ok(core.source.invalidate(&rejected))
    }

    fn pool_size(&self) -> usize {
        match (&self.spec.origin, self.spec.pool) {
            (Origin::Direct(_), Some(p)) => p.size.get(),
            _ => 1,
        }
    }

    fn api_base(&self, py: Python<'_>) -> PyResult<Option<String>> {
        if let Some(u) = &self.spec.api_base {
            return Ok(Some(without_slash(u)));
        }
        let core = self.core()?;
        let source = core.source.clone();
        let client = core.client.clone();
        let agent = match &self.spec.origin {
            Origin::Agent(client, profile) => Some((client.clone(), profile.clone())),
            Origin::Direct(_) => None,
        };
        let got = py.detach(|| {
            runtime::block_on(async move {
                if let Some((agent, profile)) = agent {
                    return tokio::task::spawn_blocking(move || agent.token(&profile))
                        .await
                        .map_err(|e| cctoken::Error::transport(format!("asking the agent: {e}")))?
                        .map(|t| t.api_base);
                }
                let Some(client) = client else {
                    return Ok(None);
                };
                let token = source.token().await?;
                client.api_base(&token).await
            })
        })?;
        got.map(|u| u.as_ref().map(without_slash))
            .map_err(|e| errors::to_py(py, &e))
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(core) = self.core.swap(None) {
            if core.fork != runtime::generation() {
                std::mem::forget(core);
            }
        }
    }
}

/// The `min_ttl=` argument of a call: None (or absent) is the source's own.
fn min_ttl_arg(v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    v.filter(|v| !v.is_none())
        .map(|v| settings::duration("min_ttl", v))
        .transpose()
}

/// A token from `source` with at least `min_ttl` left (else the source's own margin).
async fn fetch(source: TokenSource, min_ttl: Option<Duration>) -> Result<Token, cctoken::Error> {
    match min_ttl {
        Some(m) => source.token_for(m).await,
        None => source.token().await,
    }
}

/// `https://api.example.com`, not `https://api.example.com/`: callers append `/api/v2/…`.
fn without_slash(u: &url::Url) -> String {
    let s = u.as_str();
    s.strip_suffix('/').unwrap_or(s).to_owned()
}

fn describe(class: &str, spec: &Spec) -> String {
    let cache = match &spec.cache {
        CacheMode::Disk if spec.cache_settings.url.is_some() => "disk+redis",
        CacheMode::Disk | CacheMode::DiskAt(_) => "disk",
        CacheMode::Memory => "memory",
    };
    match &spec.origin {
        Origin::Direct(c) => format!(
            "<cctoken.{class} {} client_id={:?} cache={cache}>",
            c.kind(),
            c.client_id
        ),
        Origin::Agent(a, profile) => format!(
            "<cctoken.{class} agent={} profile={profile:?}>",
            a.endpoint()
        ),
    }
}
