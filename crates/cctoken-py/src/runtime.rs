//! The one Tokio runtime of the extension, replaced after `os.fork()`.
//!
//! Every blocking method runs its future with [`block_on`] (the GIL released by the
//! caller), every awaitable is a task [`spawn`]ed here, and background refreshes run on
//! its workers. After a fork only the forking thread survives in the child: the parent's
//! workers, timer and reactor are gone, and a lock one of them held stays locked. So the
//! child never touches the parent's runtime — `cctoken/__init__.py` registers
//! [`after_fork_in_child`] with `os.register_at_fork`, which bumps the fork generation
//! and *leaks* the old runtime (dropping it would join threads that do not exist and
//! deregister sockets from an epoll instance the parent still uses). The next call builds
//! a fresh runtime; objects that hold runtime-bound state (token sources, emulators)
//! compare [`generation`] and rebuild theirs.
//!
//! The slot is an `ArcSwapOption`, not a `Mutex`: a mutex held by a parent thread at fork
//! time would stay locked in the child. [`ForkSafeRt`] plugs this runtime into
//! `pyo3-async-runtimes` (whose own global runtime cannot be replaced after a fork).
//!
//! This module knows nothing about tokens.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;

/// Worker threads: the extension's work is I/O-bound and the runtime is shared by every
/// source and emulator of the process.
const WORKERS: usize = 2;

struct Slot {
    generation: u64,
    runtime: tokio::runtime::Runtime,
}

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
/// Set at interpreter exit ([`at_exit`]): no new runtime is built.
static EXITING: AtomicBool = AtomicBool::new(false);
/// How long [`at_exit`] lets running tasks finish.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
static SLOT: ArcSwapOption<Slot> = ArcSwapOption::const_empty();

/// The current fork generation: 0 in the process that imported the module, one more in
/// each forked child.
pub fn generation() -> u64 {
    FORK_GENERATION.load(Ordering::Acquire)
}

/// Called in the child after `os.fork()`: forget the parent's runtime.
#[pyfunction]
#[pyo3(name = "_after_fork_in_child")]
pub fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
    if let Some(old) = SLOT.swap(None) {
        // Never drop the parent's runtime in the child (see the module docs).
        std::mem::forget(old);
    }
    crate::logging::after_fork();
}

/// Registered with `atexit` by `cctoken/__init__.py`: before Python finalizes, stop the
/// logging thread and the runtime's workers, so none of them takes the GIL while the
/// interpreter is being torn down (which aborts the process). In-flight requests are
/// dropped; a blocking call still waiting in a daemon thread gets an error.
#[pyfunction]
#[pyo3(name = "_at_exit")]
pub fn at_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::Release);
    crate::logging::shutdown(py);
    if let Some(slot) = SLOT.swap(None) {
        match Arc::try_unwrap(slot) {
            Ok(slot) if slot.generation == generation() => {
                py.detach(|| slot.runtime.shutdown_timeout(EXIT_WAIT))
            }
            // Still in use by a blocking call, or the parent's (after a fork): leave it.
            Ok(slot) => std::mem::forget(slot),
            Err(shared) => std::mem::forget(shared),
        }
    }
}

fn slot() -> PyResult<Arc<Slot>> {
    if EXITING.load(Ordering::Acquire) {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "cctoken: the interpreter is exiting",
        ));
    }
    let generation = generation();
    let current = SLOT.load_full();
    if let Some(s) = &current {
        if s.generation == generation {
            return Ok(s.clone());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .thread_name("cctoken-rt")
        .enable_all()
        .build()
        .map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!(
                "cctoken: cannot start its async runtime: {e}"
            ))
        })?;
    let fresh = Arc::new(Slot {
        generation,
        runtime,
    });
    let prev = SLOT.compare_and_swap(&current, Some(fresh.clone()));
    match &*prev {
        // Lost a race with another thread: use its runtime. Ours has never run a task;
        // dropping it from a thread that is not a worker is fine.
        Some(winner) if !same(&current, &prev) && winner.generation == generation => {
            Ok(winner.clone())
        }
        _ => Ok(fresh),
    }
}

fn same(a: &Option<Arc<Slot>>, b: &Option<Arc<Slot>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// A handle on the runtime of this process (built on first use, rebuilt after a fork).
pub fn handle() -> PyResult<tokio::runtime::Handle> {
    Ok(slot()?.runtime.handle().clone())
}

/// Run `fut` to completion on the runtime. Call it with the GIL released.
pub fn block_on<F: Future>(fut: F) -> PyResult<F::Output> {
    let slot = slot()?;
    Ok(slot.runtime.block_on(fut))
}

tokio::task_local! {
    static LOCALS: std::cell::OnceCell<TaskLocals>;
}

/// This runtime for `pyo3_async_runtimes::generic`.
pub struct ForkSafeRt;

impl pyo3_async_runtimes::generic::Runtime for ForkSafeRt {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        spawn_on_current(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(h) => h.spawn_blocking(f),
            Err(_) => match handle() {
                Ok(h) => h.spawn_blocking(f),
                // No runtime can be built: run it here rather than lose a result.
                Err(_) => {
                    f();
                    tokio::task::spawn(async {})
                }
            },
        }
    }
}

/// Spawn on the runtime the caller runs on, else on this module's runtime.
fn spawn_on_current<F>(fut: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        return h.spawn(fut);
    }
    match handle() {
        Ok(h) => h.spawn(fut),
        Err(e) => {
            // pyo3-async-runtimes needs a handle back; without a runtime there is none.
            // Report it like a failed task would be.
            tracing::error!("cctoken: no async runtime: {e}");
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime without I/O drivers always builds"); // infallible: no I/O driver, no threads
            let h = rt.spawn(fut);
            std::mem::forget(rt);
            h
        }
    }
}

impl pyo3_async_runtimes::generic::ContextExt for ForkSafeRt {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        LOCALS.try_with(|c| c.get().cloned()).ok().flatten()
    }
}
