//! The pool path of a source built with `pool_size=` / `api_rate_limit=`: every
//! `token()` is a paced lease of the library's [`TokenPool`] (one of its tokens, the
//! call counted against its slot's rate), blocking or awaited, and `invalidate` reaches
//! every slot.
//!
//! The pacing, the waiting up to the pool's `max_wait` and the local refusal are the
//! pool's; this module only turns a lease into a Python `Token` and the refusal into the
//! Python rate-limit exception. A pooled source has no cached fast read: each call is a
//! lease.

use cctoken::pool::{Lease, PoolError, TokenPool};
use cctoken::secret::AccessToken;
use cctoken::source::Origin;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors;
use crate::runtime::{self, ForkSafeRt};
use crate::token::PyToken;

/// One paced lease, and the origin of the slot that holds its token.
async fn lease(pool: TokenPool) -> Result<(Lease, Origin), PoolError> {
    let lease = pool.acquire().await?;
    let origin = pool.slot(lease.slot).origin();
    Ok((lease, origin))
}

/// The `Token` of a lease, or the pool's refusal as the Python exception.
fn to_py(py: Python<'_>, got: Result<(Lease, Origin), PoolError>) -> PyResult<Py<PyToken>> {
    match got {
        Ok((lease, origin)) => Py::new(py, PyToken::new(py, &lease.token, origin)),
        Err(e) => Err(errors::to_py(py, &e.into_error())),
    }
}

/// A paced lease of the pool: waits (with the GIL released) for a slot up to the pool's
/// `max_wait`, else raises the local refusal as a rate limit.
pub(super) fn leased(py: Python<'_>, pool: TokenPool) -> PyResult<Py<PyToken>> {
    let got = py.detach(|| runtime::block_on(lease(pool)))?;
    to_py(py, got)
}

/// Awaitable [`leased`]: the wait is a task on the runtime, so cancelling the awaiter
/// drops only its wait.
pub(super) fn leased_async<'py>(
    py: Python<'py>,
    handle: &tokio::runtime::Handle,
    pool: TokenPool,
) -> PyResult<Bound<'py, PyAny>> {
    let task = handle.spawn(lease(pool));
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeRt, _, _>(py, async move {
        let got = task.await.map_err(errors::internal)?;
        Python::attach(|py| to_py(py, got))
    })
}

/// A pool's tokens are leased per call: a per-call `min_ttl` has no single token to apply to.
pub(super) fn no_min_ttl(min_ttl: Option<std::time::Duration>) -> PyResult<()> {
    match min_ttl {
        Some(_) => Err(PyValueError::new_err(
            "min_ttl= is not supported with pool_size= / api_rate_limit= (each call leases one of the pool's tokens)",
        )),
        None => Ok(()),
    }
}

/// Drop `rejected` from whichever slots hold it; true when one did.
pub(super) fn invalidate(pool: &TokenPool, rejected: &AccessToken) -> bool {
    let mut dropped = false;
    for i in 0..pool.size() {
        dropped |= pool.slot(i).invalidate(rejected);
    }
    dropped
}
