//! From [`cctoken::Error`] to the exception classes of `cctoken._errors`.
//!
//! The classes are ordinary Python classes (typed `__init__`, attributes, pickling), which
//! a native module cannot define under abi3 before 3.12; this module only picks one by the
//! error's class and kind and fills in its attributes. The texts come from the library's
//! error, which never holds a secret, a token or a raw response body.

use cctoken::error::{Class, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

const CLASSES: [&str; 8] = [
    "ConfigError",
    "Rejected",
    "InvalidClient",
    "UnauthorizedClient",
    "InvalidScope",
    "Unavailable",
    "RateLimited",
    "TokenError",
];

static TYPES: [PyOnceLock<Py<PyType>>; 8] = [const { PyOnceLock::new() }; 8];

/// The exception class for `e` (an index into [`CLASSES`]) and its exit code (SPEC §5).
fn class_of(e: &cctoken::Error) -> (usize, u8) {
    match e.class {
        Class::Config => (0, 2),
        Class::Permanent => match e.kind {
            ErrorKind::InvalidClient => (2, 3),
            ErrorKind::UnauthorizedClient => (3, 3),
            ErrorKind::InvalidScope => (4, 3),
            _ => (1, 3),
        },
        Class::Transient => match e.kind {
            ErrorKind::RateLimited => (6, 4),
            _ => (5, 4),
        },
    }
}

fn class(py: Python<'_>, i: usize) -> PyResult<&Bound<'_, PyType>> {
    TYPES[i].import(py, "cctoken._errors", CLASSES[i])
}

/// The Python exception for `e`.
pub fn to_py(py: Python<'_>, e: &cctoken::Error) -> PyErr {
    let (i, exit_code) = class_of(e);
    let build = || -> PyResult<PyErr> {
        let cls = class(py, i)?;
        let text = pythonic(&e.to_string());
        let kw = PyDict::new(py);
        kw.set_item("kind", e.kind.as_str())?;
        kw.set_item("hint", e.hint.as_deref().map(pythonic))?;
        kw.set_item("status", e.status)?;
        kw.set_item(
            "fingerprint",
            e.presented_secret.as_ref().map(|f| f.to_string()),
        )?;
        kw.set_item("exit_code", exit_code)?;
        kw.set_item("message", text.lines().next().unwrap_or_default())?;
        if i == 6 {
            kw.set_item("retry_after", e.retry_after.map(|d| d.as_secs_f64()))?;
        }
        Ok(PyErr::from_value(cls.call((text,), Some(&kw))?))
    };
    build().unwrap_or_else(|err| err)
}

/// The library's messages name the CLI's flags; in Python the same settings are keywords
/// named like the profile keys: `--auth post` → `auth="post"`, `--client-id` →
/// `client_id=`, `--no-cache` → `cache="memory"`. A flag Python has no keyword for goes.
pub fn pythonic(text: &str) -> String {
    let text = text
        .replace(
            ", or pass --keep-secret-bytes if the server really expects it",
            "",
        )
        .replace("--no-cache", "cache=\"memory\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("--") {
        let (before, flag) = rest.split_at(at);
        out.push_str(before);
        let name_len = flag[2..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
            .unwrap_or(flag.len() - 2);
        let name = &flag[2..2 + name_len];
        if name.is_empty() || !before.is_empty() && !before.ends_with([' ', '(', '`', '\'']) {
            out.push_str("--");
            rest = &flag[2..];
            continue;
        }
        let key = name.replace('-', "_");
        rest = &flag[2 + name_len..];
        // `--auth post`: the value follows, quoted as a Python string.
        let value_len = rest
            .strip_prefix(' ')
            .map(|r| r.find([' ', ';', ')', ',', '`']).unwrap_or(r.len()))
            .unwrap_or(0);
        if key == "auth" && value_len > 0 {
            out.push_str(&format!("auth=\"{}\"", &rest[1..=value_len]));
            rest = &rest[1 + value_len..];
        } else {
            out.push_str(&key);
            out.push('=');
        }
    }
    out.push_str(rest);
    out
}

/// A failure of the binding's own machinery (a panicked task), never of a token request.
pub fn internal(message: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("cctoken internal error: {message}"))
}
