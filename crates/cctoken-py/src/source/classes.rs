//! The Python classes `cctoken.TokenSource` and `cctoken.AsyncTokenSource`: their
//! constructors (`from_profile`, `genesys`, `generic`, `cxone`, one macro for both
//! classes, so the two cannot drift apart), the methods they share, and the few that
//! differ — blocking calls on one, awaitables on the other.
//!
//! Each method is one call into [`Shared`]; the keywords are parsed by
//! [`crate::settings`], nothing is decided here.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use super::{aio, Shared};
use crate::settings::{self, Ctor};
use crate::token::PyToken;

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
        aio::ready(py, py.None())
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        aio::ready(slf.py(), slf)
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.0.close();
        aio::ready(py, false)
    }
});
