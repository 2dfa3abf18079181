//! The native half of the Python package `cctoken` (module `cctoken._native`, SPEC §12).
//!
//! A thin layer over the library: `source` exposes the token stack as `TokenSource`
//! and `AsyncTokenSource` (keywords parsed in `settings`), `token` the `Token`,
//! `errors` maps library errors onto the Python exception classes of
//! `cctoken/_errors.py`, `emulator` runs the Rust emulator in-process, `logging`
//! forwards `tracing` events to Python's `logging`, and `runtime` owns the one Tokio
//! runtime and replaces it after `os.fork()`. The adapters (`requests`, `httpx`, the
//! Genesys SDK) and the pytest fixture are pure Python beside it (`python/cctoken`).
//!
//! No token logic lives here: every decision about when to fetch, what to cache and how
//! to retry is the library's.

mod emulator;
mod errors;
mod logging;
mod runtime;
mod settings;
mod source;
mod token;

use pyo3::prelude::*;

#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    m.add_class::<token::PyToken>()?;
    m.add_class::<source::PyTokenSource>()?;
    m.add_class::<source::PyAsyncTokenSource>()?;
    m.add_class::<emulator::PyEmulator>()?;
    m.add_function(wrap_pyfunction!(runtime::after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(logging::flush, m)?)?;
    m.add_function(wrap_pyfunction!(logging::dropped, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
