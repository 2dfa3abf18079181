//! The asyncio bridge of `AsyncTokenSource`: `await src.token()` never blocks the event
//! loop.
//!
//! A fresh token is an already-completed asyncio future (no task, no thread). Anything
//! else is a task spawned on the runtime and awaited through `pyo3-async-runtimes`, so
//! cancelling one awaiter drops only its `JoinHandle`: the request it shares with the
//! other awaiters (single flight is the library's) and that request's cache write carry
//! on. There is no thread per call and no second event loop.

use pyo3::prelude::*;

use super::{fetch, min_ttl_arg, pool, Shared};
use crate::errors;
use crate::runtime::ForkSafeRt;

impl Shared {
    /// Awaitable `token()`: see the module docs.
    pub(super) fn token_async<'py>(
        &self,
        py: Python<'py>,
        min_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core()?;
        let min_ttl = min_ttl_arg(min_ttl)?;
        if let Some(p) = core.pool.clone() {
            pool::no_min_ttl(min_ttl)?;
            return pool::leased_async(py, &core.handle, p);
        }
        if min_ttl.is_none() {
            if let Some(t) = core.fresh(py)? {
                return ready(py, t);
            }
        }
        // The request runs in its own task: an awaiter that is cancelled drops only the
        // JoinHandle below, never the shared request nor its cache write.
        let task = core.handle.spawn(fetch(core.source.clone(), min_ttl));
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeRt, _, _>(py, async move {
            let got = task.await.map_err(errors::internal)?;
            Python::attach(|py| match got {
                Ok(t) => core.wrap(py, &t),
                Err(e) => Err(errors::to_py(py, &e)),
            })
        })
    }
}

/// An asyncio future of the running loop that already holds `value`: an awaitable for
/// an answer known without waiting.
pub(super) fn ready<'py>(
    py: Python<'py>,
    value: impl IntoPyObject<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
    let fut = event_loop.call_method0("create_future")?;
    fut.call_method1("set_result", (value,))?;
    Ok(fut)
}
