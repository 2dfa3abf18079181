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
//!   ([`TokenSource::token_now`]) plus one cached `Token` object per token;
//! - a blocking call releases the GIL (`py.detach`) while it waits on the runtime;
//! - an `await` is a task spawned on the runtime, so cancelling one awaiter drops only its
//!   wait: the request it shares with the others (and their cache write) carries on;
//! - after `os.fork()` the child builds a new [`Core`] from the [`Spec`] on first use
//!   (the parent's source may hold a lock a thread of the parent took).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use cctoken::agent::client::AgentFetch;
use cctoken::client::Client;
use cctoken::clock;
use cctoken::config::ProcessEnv;
use cctoken::pool::{Pacing, TokenPool};
use cctoken::secret::AccessToken;
use cctoken::source::TokenSource;
use cctoken::stack::{CacheMode, Stack};
use cctoken::token::Token;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::errors;
use crate::runtime::{self, ForkSafeRt};
use crate::settings::{self, Ctor, Origin, Spec};
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
    fork: u64,
    source: TokenSource,
    handle: tokio::runtime::Handle,
    client: Option<Client>,
    agent: Option<AgentFetch>,
    /// `pool_size=` / `api_rate_limit=`: every `token()` is a paced lease of the pool
    /// (slot 0 is `source`), not the cached fast read.
    pool: Option<TokenPool>,
    current: ArcSwapOption<Current>,
}

impl Core {
    fn build(spec: &Spec) -> PyResult<Self> {
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
    fn cached(&self, py: Python<'_>) -> Option<Py<PyToken>> {
        let guard = self.current.load();
        let c = guard.as_deref()?;
        (c.generation == self.source.generation() && self.source.clock().now() < c.until)
            .then(|| c.token.clone_ref(py))
    }

    /// The current token's `Token` if it is fresh: no waiting and no I/O, and the same
    /// object again while the token stays the same. Starts the refresh ahead when due.
    fn fresh(&self, py: Python<'_>) -> PyResult<Option<Py<PyToken>>> {
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
    fn wrap(&self, py: Python<'_>, token: &Token) -> PyResult<Py<PyToken>> {
        let generation = self.source.generation();
        match self.source.peek() {
            Some(cur) if cur.access_token == token.access_token => {
                self.remember(py, generation, token)
            }
            _ => Py::new(py, PyToken::new(py, token, self.source.origin())),
        }
    }
}

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
        let min_ttl = min_ttl
            .filter(|v| !v.is_none())
            .map(|v| settings::duration("min_ttl", v))
            .transpose()?;
        if let Some(pool) = &core.pool {
            no_min_ttl_with_pool(min_ttl)?;
            return leased(py, pool.clone());
        }
        if min_ttl.is_none() {
            if let Some(t) = core.fresh(py)? {
                return Ok(t);
            }
        }
        let source = core.source.clone();
        let got = py.detach(|| {
            runtime::block_on(async move {
                match min_ttl {
                    Some(m) => source.token_for(m).await,
                    None => source.token().await,
                }
            })
        })?;
        match got {
            Ok(t) => core.wrap(py, &t),
            Err(e) => Err(errors::to_py(py, &e)),
        }
    }

    fn token_async<'py>(
        &self,
        py: Python<'py>,
        min_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core()?;
        let min_ttl = min_ttl
            .filter(|v| !v.is_none())
            .map(|v| settings::duration("min_ttl", v))
            .transpose()?;
        if let Some(pool) = core.pool.clone() {
            no_min_ttl_with_pool(min_ttl)?;
            let task = core.handle.spawn(async move {
                let lease = pool.acquire().await?;
                let origin = pool.slot(lease.slot).origin();
                Ok::<_, cctoken::pool::PoolError>((lease, origin))
            });
            return pyo3_async_runtimes::generic::future_into_py::<ForkSafeRt, _, _>(
                py,
                async move {
                    let got = task.await.map_err(errors::internal)?;
                    Python::attach(|py| match got {
                        Ok((lease, origin)) => Py::new(py, PyToken::new(py, &lease.token, origin)),
                        Err(e) => Err(errors::to_py(py, &e.into_error())),
                    })
                },
            );
        }
        if min_ttl.is_none() {
            if let Some(t) = core.fresh(py)? {
                let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
                let fut = event_loop.call_method0("create_future")?;
                fut.call_method1("set_result", (t,))?;
                return Ok(fut);
            }
        }
        let source = core.source.clone();
        // The request runs in its own task: an awaiter that is cancelled drops only the
        // JoinHandle below, never the shared request nor its cache write.
        let task = core.handle.spawn(async move {
            match min_ttl {
                Some(m) => source.token_for(m).await,
                None => source.token().await,
            }
        });
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeRt, _, _>(py, async move {
            let got = task.await.map_err(errors::internal)?;
            Python::attach(|py| match got {
                Ok(t) => core.wrap(py, &t),
                Err(e) => Err(errors::to_py(py, &e)),
            })
        })
    }

    fn invalidate(&self, access_token: &str) -> PyResult<bool> {
        let core = self.core()?;
        let rejected = AccessToken::new(access_token);
        if let Some(agent) = &core.agent {
            agent.reject(&rejected);
        }
        if let Some(pool) = &core.pool {
            let mut dropped = false;
            for i in 0..pool.size() {
                dropped |= pool.slot(i).invalidate(&rejected);
            }
            return Ok(dropped);
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

/// A paced lease of the pool (`pool_size=` / `api_rate_limit=`): waits for a slot up
/// to the pool's `max_wait`, else raises the local refusal as a rate limit.
fn leased(py: Python<'_>, pool: TokenPool) -> PyResult<Py<PyToken>> {
    let got = py.detach(|| {
        runtime::block_on(async move {
            let lease = pool.acquire().await?;
            let origin = pool.slot(lease.slot).origin();
            Ok::<_, cctoken::pool::PoolError>((lease, origin))
        })
    })?;
    match got {
        Ok((lease, origin)) => Py::new(py, PyToken::new(py, &lease.token, origin)),
        Err(e) => Err(errors::to_py(py, &e.into_error())),
    }
}

/// A pool's tokens are leased per call: a per-call `min_ttl` has no single token to apply to.
fn no_min_ttl_with_pool(min_ttl: Option<std::time::Duration>) -> PyResult<()> {
    match min_ttl {
        Some(_) => Err(PyValueError::new_err(
            "min_ttl= is not supported with pool_size= / api_rate_limit= (each call leases one of the pool's tokens)",
        )),
        None => Ok(()),
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

/// `{"Authorization": "Bearer …"}` for `token`.
fn headers<'py>(py: Python<'py>, token: &Py<PyToken>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(
        pyo3::intern!(py, "Authorization"),
        token.get().authorization(py),
    )?;
    Ok(d)
}

/// Merge the explicit arguments of a constructor into its `**kw`.
fn merged<'py>(
    py: Python<'py>,
    kw: Option<&Bound<'py, PyDict>>,
    explicit: &[(&str, Option<Bound<'py, PyAny>>)],
) -> PyResult<Bound<'py, PyDict>> {
    let d = match kw {
        Some(kw) => kw.copy()?,
        None => PyDict::new(py),
    };
    for (k, v) in explicit {
        if let Some(v) = v {
            d.set_item(*k, v)?;
        }
    }
    Ok(d)
}

macro_rules! constructors {
    ($ty:ident, $class:literal, { $($own:tt)* }) => {
        #[pymethods]
        impl $ty {
            $($own)*

            /// A source for profile `name` of the CLI's profile file (`config=`, else
            /// `$CCTOKEN_CONFIG`, else the default path), with its `[cache]` table; with
            /// `CCTOKEN_AGENT` set, tokens come from that agent. Without a name, the
            /// environment (`CCTOKEN_*`, `GENESYSCLOUD_*`) describes the client.
            #[classmethod]
            #[pyo3(signature = (name=None, *, config=None, **kw))]
            fn from_profile(
                _cls: &Bound<'_, PyType>,
                py: Python<'_>,
                name: Option<String>,
                config: Option<std::path::PathBuf>,
                kw: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<Self> {
                let kw = merged(py, kw, &[])?;
                let parsed = settings::parse(Ctor::Profile, name, config, &kw)?;
                Ok(Self(Shared::new(py, parsed, $class)?))
            }

            /// A Genesys Cloud client of `region` (e.g. ``"eu-west-1"`` or
            /// ``"mypurecloud.ie"``).
            #[classmethod]
            #[pyo3(signature = (*, region, client_id, client_secret=None, **kw))]
            fn genesys<'py>(
                _cls: &Bound<'py, PyType>,
                py: Python<'py>,
                region: Bound<'py, PyAny>,
                client_id: Bound<'py, PyAny>,
                client_secret: Option<Bound<'py, PyAny>>,
                kw: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Self> {
                let kw = merged(
                    py,
                    kw,
                    &[
                        ("region", Some(region)),
                        ("client_id", Some(client_id)),
                        ("client_secret", client_secret),
                    ],
                )?;
                let parsed = settings::parse(Ctor::Genesys, None, None, &kw)?;
                Ok(Self(Shared::new(py, parsed, $class)?))
            }

            /// Any OAuth2 server: its `token_url`, or an `issuer` to discover it from.
            #[classmethod]
            #[pyo3(signature = (*, token_url=None, issuer=None, client_id, client_secret=None, **kw))]
            fn generic<'py>(
                _cls: &Bound<'py, PyType>,
                py: Python<'py>,
                token_url: Option<Bound<'py, PyAny>>,
                issuer: Option<Bound<'py, PyAny>>,
                client_id: Bound<'py, PyAny>,
                client_secret: Option<Bound<'py, PyAny>>,
                kw: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Self> {
                let kw = merged(
                    py,
                    kw,
                    &[
                        ("token_url", token_url),
                        ("issuer", issuer),
                        ("client_id", Some(client_id)),
                        ("client_secret", client_secret),
                    ],
                )?;
                let parsed = settings::parse(Ctor::Generic, None, None, &kw)?;
                Ok(Self(Shared::new(py, parsed, $class)?))
            }

            /// A NICE CXone application with an access key.
            #[classmethod]
            #[pyo3(signature = (*, client_id, client_secret=None, access_key_id, access_key_secret=None, issuer=None, **kw))]
            #[allow(clippy::too_many_arguments)]
            fn cxone<'py>(
                _cls: &Bound<'py, PyType>,
                py: Python<'py>,
                client_id: Bound<'py, PyAny>,
                client_secret: Option<Bound<'py, PyAny>>,
                access_key_id: Bound<'py, PyAny>,
                access_key_secret: Option<Bound<'py, PyAny>>,
                issuer: Option<Bound<'py, PyAny>>,
                kw: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Self> {
                let kw = merged(
                    py,
                    kw,
                    &[
                        ("client_id", Some(client_id)),
                        ("client_secret", client_secret),
                        ("access_key_id", Some(access_key_id)),
                        ("access_key_secret", access_key_secret),
                        ("issuer", issuer),
                    ],
                )?;
                let parsed = settings::parse(Ctor::Cxone, None, None, &kw)?;
                Ok(Self(Shared::new(py, parsed, $class)?))
            }

            /// After an API answered 401 to `access_token`: drop it if it is still the
            /// current token, so the next `token()` fetches a new one — once, for every
            /// thread and process sharing the cache. True when it was dropped here.
            fn invalidate(&self, access_token: &str) -> PyResult<bool> {
                self.0.invalidate(access_token)
            }

            /// The API base URL (from the profile, the Genesys region, or CXone's
            /// discovery), or None.
            #[getter]
            fn api_base(&self, py: Python<'_>) -> PyResult<Option<String>> {
                self.0.api_base(py)
            }

            /// The number of tokens the source hands out (``pool_size=``; 1 without a pool,
            /// or when an agent serves the tokens).
            #[getter]
            fn pool_size(&self) -> usize {
                self.0.pool_size()
            }

            /// Stop using the source; later calls raise ValueError.
            fn close(&self) {
                self.0.close()
            }

            fn __repr__(&self) -> String {
                self.0.describe.clone()
            }
        }
    };
}

/// A thread-safe, fork-safe source of access tokens. Blocking calls release the GIL.
///
/// >>> src = TokenSource.generic(token_url=emu.token_url, client_id=emu.demo_client_id,
/// ...                           client_secret=emu.demo_client_secret)
/// >>> src.token().token_type
/// 'Bearer'
#[pyclass(module = "cctoken", name = "TokenSource", frozen)]
pub struct PyTokenSource(Shared);

constructors!(PyTokenSource, "TokenSource", {
    /// A token with at least the safety margin (and `min_ttl` seconds, if given) left.
    #[pyo3(signature = (min_ttl=None))]
    fn token(&self, py: Python<'_>, min_ttl: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyToken>> {
        self.0.token(py, min_ttl)
    }

    /// ``{"Authorization": "Bearer …"}`` for a fresh token.
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = self.0.token(py, None)?;
        headers(py, &t)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.0.close();
        false
    }
});

/// The asyncio twin of :class:`TokenSource`: ``await src.token()`` never blocks the
/// event loop, concurrent awaiters share one request, and cancelling one of them leaves
/// that request running for the others (and for the cache).
#[pyclass(module = "cctoken", name = "AsyncTokenSource", frozen)]
pub struct PyAsyncTokenSource(Shared);

constructors!(PyAsyncTokenSource, "AsyncTokenSource", {
    /// Awaitable: a token with at least the safety margin (and `min_ttl`) left.
    #[pyo3(signature = (min_ttl=None))]
    fn token<'py>(
        &self,
        py: Python<'py>,
        min_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.0.token_async(py, min_ttl)
    }

    /// Awaitable: ``{"Authorization": "Bearer …"}`` for a fresh token.
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.0.token_async(py, None)?;
        let helper = py.import("cctoken._aio")?;
        helper.call_method1("headers_of", (fut,))
    }

    /// Awaitable: close the source.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0.close();
        let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
        let fut = event_loop.call_method0("create_future")?;
        fut.call_method1("set_result", (py.None(),))?;
        Ok(fut)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
        let fut = event_loop.call_method0("create_future")?;
        fut.call_method1("set_result", (slf,))?;
        Ok(fut)
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.0.close();
        let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
        let fut = event_loop.call_method0("create_future")?;
        fut.call_method1("set_result", (false,))?;
        Ok(fut)
    }
});
