//! Logging to stderr with `tracing`: `RUST_LOG` or `-v`.
//!
//! HTTP-stack crates are capped at `info` whatever the filter says: their debug and trace
//! output can include raw header bytes, and cctoken's own `--trace` already shows every
//! exchange with secrets replaced by fingerprints.

use cctoken::config::{env, EnvLookup as _, ProcessEnv};
use tracing_subscriber::EnvFilter;

/// Install the stderr subscriber.
pub fn init(verbose: u8) {
    let base = match ProcessEnv.var(env::RUST_LOG) {
        Some(v) if !v.trim().is_empty() => v,
        _ => match verbose {
            0 => "warn".to_owned(),
            1 => "info".to_owned(),
            2 => "debug".to_owned(),
            _ => "trace".to_owned(),
        },
    };
    let filter =
        format!("{base},hyper=info,hyper_util=info,h2=info,reqwest=info,rustls=info,tower=info");
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
