//! One module per subcommand. Each is an adapter: options in, library call, output out.

pub mod agent;
pub mod api;
pub mod demo;
pub mod doctor;
mod doctor_assertion;
pub mod emulator;
pub mod exec;
pub mod get;
pub mod profiles;
pub mod session;

/// Options that apply to every command.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    /// `--trace`: print HTTP exchanges (redacted) to stderr.
    pub trace: bool,
}

/// A single-threaded runtime for client commands: one request at a time needs no pool.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A multi-threaded runtime for servers.
pub fn runtime_multi() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The `--trace` sink: redacted lines to stderr.
pub fn trace_sink() -> cctoken::client::TraceSink {
    std::sync::Arc::new(|line: &str| errln!("{line}"))
}
