//! Logging to stderr with `tracing`: `RUST_LOG` or `-v`.
//!
//! HTTP-stack crates are capped at `info` whatever the filter says: their debug and trace
//! output can include raw header bytes, and cctoken's own `--trace` already shows every
//! exchange with secrets replaced by fingerprints.
//!
//! Colour only on a terminal: a CI log or `2>err.txt` gets plain text, and `NO_COLOR` turns
//! colour off everywhere (every command logs here, the agent's log and the retry warnings
//! included).

use std::io::IsTerminal as _;

use cctoken::config::{env, EnvLookup, ProcessEnv};
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
        .with_ansi(colour(std::io::stderr().is_terminal(), &ProcessEnv))
        .with_target(false)
        .try_init();
}

/// Whether log lines may carry ANSI colour: only on a terminal, and not with `NO_COLOR`.
fn colour(stderr_is_terminal: bool, env: &dyn EnvLookup) -> bool {
    stderr_is_terminal && env.var_os(env::NO_COLOR).is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let none = vars(&[]);
        assert!(colour(true, &none));
        assert!(!colour(false, &none));
        let no_color = vars(&[(env::NO_COLOR, "1")]);
        assert!(!colour(true, &no_color));
        let empty = vars(&[(env::NO_COLOR, "")]);
        assert!(colour(true, &empty), "an empty NO_COLOR does not count");
    }
}
