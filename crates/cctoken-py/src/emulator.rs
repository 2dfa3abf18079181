//! `cctoken._native._Emulator`: the Rust emulator (SPEC §10) running in this process on a
//! loopback port, for `cctoken.testing.Emulator` and the `cctoken_emulator` fixture.
//!
//! It serves on the extension's runtime, so a test needs no binary and no subprocess.
//! Stats and activity cross as JSON (the shapes `/_emulator/stats` and
//! `/_emulator/activity` serve); faults are given as the JSON `/_emulator/faults` takes.
//! This module adds no behaviour to the emulator.

use std::sync::Mutex;

use cctoken_emulator::config::{
    CXONE_DEMO_APP, CXONE_DEMO_APP_SECRET, CXONE_DEMO_KEY_ID, CXONE_DEMO_KEY_SECRET,
    DEMO_CLIENT_ID, DEMO_SECRET,
};
use cctoken_emulator::{EmulatorConfig, FaultSpec, Flavor, RunningEmulator};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::runtime;

/// A running emulator; see the module docs.
#[pyclass(module = "cctoken._native", name = "_Emulator", frozen)]
pub struct PyEmulator {
    running: Mutex<Option<RunningEmulator>>,
    base_url: String,
    flavor: Flavor,
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

impl PyEmulator {
    fn with<T>(&self, f: impl FnOnce(&RunningEmulator) -> T) -> PyResult<T> {
        let guard = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(r) => Ok(f(r)),
            None => Err(PyValueError::new_err("this emulator is stopped")),
        }
    }
}

#[pymethods]
impl PyEmulator {
    #[new]
    #[pyo3(signature = (flavor, demo, token_lifetime_ms, config_toml))]
    fn new(
        py: Python<'_>,
        flavor: &str,
        demo: bool,
        token_lifetime_ms: Option<u64>,
        config_toml: Option<String>,
    ) -> PyResult<Self> {
        let mut config = match config_toml {
            Some(text) => EmulatorConfig::from_toml_str(&text).map_err(value_error)?,
            None => EmulatorConfig::new(flavor.parse::<Flavor>().map_err(value_error)?),
        };
        if demo {
            config = config.with_demo();
        }
        if let Some(ms) = token_lifetime_ms {
            config.token_lifetime = Some(std::time::Duration::from_millis(ms));
        }
        let flavor = config.flavor;
        let running = py.detach(|| runtime::block_on(cctoken_emulator::spawn(config)))?;
        let running = running.map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(Self {
            base_url: running.base_url(),
            running: Mutex::new(Some(running)),
            flavor,
        })
    }

    /// `http://127.0.0.1:PORT`.
    #[getter]
    fn url(&self) -> &str {
        &self.base_url
    }

    /// `generic`, `genesys` or `cxone`.
    #[getter]
    fn flavor(&self) -> &'static str {
        self.flavor.as_str()
    }

    /// The demo client's id (for CXone: the application's).
    #[getter]
    fn demo_client_id(&self) -> &'static str {
        match self.flavor {
            Flavor::Cxone => CXONE_DEMO_APP,
            _ => DEMO_CLIENT_ID,
        }
    }

    /// The demo client's secret. Never logged.
    #[getter]
    fn demo_client_secret(&self) -> &'static str {
        match self.flavor {
            Flavor::Cxone => CXONE_DEMO_APP_SECRET,
            _ => DEMO_SECRET,
        }
    }

    /// CXone's demo access key id (None for other flavors).
    #[getter]
    fn demo_access_key_id(&self) -> Option<&'static str> {
        (self.flavor == Flavor::Cxone).then_some(CXONE_DEMO_KEY_ID)
    }

    /// CXone's demo access key secret (None for other flavors). Never logged.
    #[getter]
    fn demo_access_key_secret(&self) -> Option<&'static str> {
        (self.flavor == Flavor::Cxone).then_some(CXONE_DEMO_KEY_SECRET)
    }

    /// The counters, as JSON.
    fn stats_json(&self) -> PyResult<String> {
        let stats = self.with(|r| r.stats())?;
        serde_json::to_string(&stats).map_err(value_error)
    }

    /// The activity log, oldest first, as JSON.
    fn activity_json(&self) -> PyResult<String> {
        let entries = self.with(|r| r.activity())?;
        serde_json::to_string(&entries).map_err(value_error)
    }

    /// Queue faults (JSON: one object or a list, as `/_emulator/faults` takes).
    fn fault_json(&self, json: &str) -> PyResult<()> {
        let specs = FaultSpec::from_json(json).map_err(value_error)?;
        self.with(|r| r.state().push_faults(specs))
    }

    /// Drop every queued fault; how many there were.
    fn clear_faults(&self) -> PyResult<usize> {
        self.with(|r| r.state().clear_faults())
    }

    /// Stop serving (idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(r) = running {
            if r_is_ours() {
                py.detach(|| runtime::block_on(r.shutdown()))?;
            } else {
                // A forked child: the server belongs to the parent's runtime.
                std::mem::forget(r);
            }
        }
        Ok(())
    }
}

/// Whether this process started the runtime the emulator runs on (not a forked child).
fn r_is_ours() -> bool {
    runtime::generation() == 0
}
