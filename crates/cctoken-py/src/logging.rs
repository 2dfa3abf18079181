//! The Rust core's `tracing` events as records of Python's `logging` logger `cctoken`.
//!
//! A [`tracing_subscriber::Layer`] formats each event of the `cctoken*` crates (target
//! `cctoken::source` → logger `cctoken.source`, `cctoken_emulator::server` →
//! `cctoken.emulator.server`) and puts it on a bounded queue; one `cctoken-log` thread takes
//! the GIL and hands the records to `logging`. An event never touches Python on the thread
//! that emits it: a runtime worker holding a lock would otherwise wait for the GIL while a
//! Python thread holding the GIL waits for that lock, and a handler that asks a
//! `TokenSource` for a token would start a runtime inside a runtime. When the queue is full
//! records are dropped (and counted); the thread stops when the interpreter finalizes and
//! is started again in a forked child.
//!
//! At interpreter exit ([`shutdown`], from an `atexit` handler) the thread stops handing
//! records over for good: a thread that takes the GIL while Python finalizes aborts the
//! process.
//!
//! Events carry no secrets by construction (the library logs fingerprints); this module
//! adds nothing but names, levels and locations. [`flush`] waits until every record queued
//! so far has been handled (tests, `close()`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Records waiting for the logging thread before new ones are dropped.
const QUEUE: usize = 4096;
/// Longest [`flush`] wait.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// One event, formatted.
struct Record {
    logger: String,
    level: u8,
    message: String,
    file: Option<&'static str>,
    line: u32,
}

struct Pipe {
    generation: u64,
    tx: SyncSender<Record>,
}

static PIPE: ArcSwapOption<Pipe> = ArcSwapOption::const_empty();
/// Set at interpreter exit: no record reaches Python any more.
static SHUTDOWN: AtomicBool = AtomicBool::new(false);
/// True while the logging thread is (about to be) attached to Python. An atomic, not a
/// mutex: a mutex held at `fork()` would stay locked in the child.
static ATTACHED: AtomicBool = AtomicBool::new(false);
static QUEUED: AtomicU64 = AtomicU64::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Install the layer as the extension's global subscriber (once, at module import).
pub fn install() {
    let subscriber = tracing_subscriber::registry().with(PyLogLayer);
    // Only fails if a subscriber is set already, which is then the one to keep.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// In a forked child: the logging thread is gone, so the next event starts a new one.
pub fn after_fork() {
    if let Some(old) = PIPE.swap(None) {
        // The receiver's thread does not exist in the child; forget the sender with it.
        std::mem::forget(old);
    }
    QUEUED.store(0, Ordering::Release);
    HANDLED.store(0, Ordering::Release);
    ATTACHED.store(false, Ordering::SeqCst);
}

/// Wait (with the GIL released) until every record queued so far reached `logging`.
#[pyfunction]
#[pyo3(name = "_flush_logs")]
pub fn flush(py: Python<'_>) {
    py.detach(|| {
        let target = QUEUED.load(Ordering::Acquire);
        let deadline = Instant::now() + FLUSH_WAIT;
        while HANDLED.load(Ordering::Acquire) < target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Records dropped because the queue was full (tests, diagnostics).
#[pyfunction]
#[pyo3(name = "_dropped_log_records")]
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn pipe() -> Option<Arc<Pipe>> {
    let generation = crate::runtime::generation();
    let current = PIPE.load_full();
    if let Some(p) = &current {
        if p.generation == generation {
            return Some(p.clone());
        }
    }
    let (tx, rx) = sync_channel(QUEUE);
    let fresh = Arc::new(Pipe { generation, tx });
    let prev = PIPE.compare_and_swap(&current, Some(fresh.clone()));
    let won = match (&current, &*prev) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    if !won {
        return prev.clone();
    }
    let spawned = std::thread::Builder::new()
        .name("cctoken-log".into())
        .spawn(move || deliver(rx));
    spawned.ok().map(|_| fresh)
}

/// At interpreter exit (GIL held): stop delivering, and wait (GIL released) until the
/// logging thread is no longer attached.
pub fn shutdown(py: Python<'_>) {
    SHUTDOWN.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + FLUSH_WAIT;
        while ATTACHED.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// The logging thread: hand each record to Python until the interpreter goes away.
fn deliver(rx: Receiver<Record>) {
    while let Ok(rec) = rx.recv() {
        // Announce, then check: `shutdown` sets its flag, then waits for this one.
        ATTACHED.store(true, Ordering::SeqCst);
        let alive = if SHUTDOWN.load(Ordering::SeqCst) {
            None
        } else {
            Python::try_attach(|py| {
                if let Err(e) = emit(py, &rec) {
                    // A broken handler must not stop the thread; Python shows it as
                    // logging does.
                    e.print(py);
                }
            })
        };
        ATTACHED.store(false, Ordering::SeqCst);
        HANDLED.fetch_add(1, Ordering::AcqRel);
        if alive.is_none() {
            return;
        }
    }
}

fn emit(py: Python<'_>, rec: &Record) -> PyResult<()> {
    let logging = py.import("logging")?;
    let logger = logging.getattr("getLogger")?.call1((&rec.logger,))?;
    if !logger
        .call_method1("isEnabledFor", (rec.level,))?
        .is_truthy()?
    {
        return Ok(());
    }
    let none = py.None();
    let record = logger.call_method1(
        "makeRecord",
        (
            &rec.logger,
            rec.level,
            rec.file.unwrap_or("<rust>"),
            rec.line,
            &rec.message,
            PyTuple::empty(py),
            &none,
            &none,
            &none,
        ),
    )?;
    logger.call_method1("handle", (record,))?;
    Ok(())
}

/// `cctoken::a::b` → `cctoken.a.b`; `cctoken_emulator::x` → `cctoken.emulator.x`.
fn logger_name(target: &str) -> String {
    let (head, rest) = target.split_once("::").unwrap_or((target, ""));
    let mut name = match head {
        "cctoken_py" | "cctoken" => "cctoken".to_owned(),
        other => match other.strip_prefix("cctoken_") {
            Some(sub) => format!("cctoken.{sub}"),
            None => format!("cctoken.{other}"),
        },
    };
    for part in rest.split("::").filter(|p| !p.is_empty()) {
        name.push('.');
        name.push_str(part);
    }
    name
}

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

fn ours(meta: &Metadata<'_>) -> bool {
    meta.target() == "cctoken" || meta.target().starts_with("cctoken")
}

/// Formats `message` first, then the other fields as ` key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

struct PyLogLayer;

impl<S: Subscriber> Layer<S> for PyLogLayer {
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        ours(meta) && *meta.level() <= Level::DEBUG
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !ours(meta) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let rec = Record {
            logger: logger_name(meta.target()),
            level: python_level(meta.level()),
            message: fields.message + &fields.rest,
            file: meta.file(),
            line: meta.line().unwrap_or(0),
        };
        let Some(pipe) = pipe() else { return };
        match pipe.tx.try_send(rec) {
            Ok(()) => {
                QUEUED.fetch_add(1, Ordering::AcqRel);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
