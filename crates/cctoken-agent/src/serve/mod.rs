//! Listeners and files: the Unix socket (0600, in a directory only the agent's user
//! controls), the key file (0600), loopback-only TCP, and serving a router on them until a
//! shutdown future resolves.
//!
//! The runtime directory is a [`PrivateDir`](cctoken::cache::dir::PrivateDir), opened once
//! and checked on its handle: a symbolic link, a directory of another user, or one that
//! group or others can access is refused, one the agent creates is 0700 from its `mkdir`,
//! and none is ever chmodded. The key file is created through that handle
//! under a random temporary name, without following links, then renamed into place; a
//! stale socket is replaced only when it is ours and nobody answers on it.
//!
//! Each listener has its own budget of connections ([`ServeOptions`]), and a connection
//! must send its request head in time and may idle only so long: thousands of idle TCP
//! connections neither exhaust the agent's descriptors nor keep local consumers on the
//! Unix socket waiting. Every request must be origin-form with at most one `Host`.
//!
//! The socket and key file are removed when their [`Cleanup`] guard is dropped, which the
//! caller does after the servers have drained. Nothing here reads configuration or flags;
//! the default paths are the library's ([`default_socket_path`], [`key_path`]), which
//! consumers use to find the agent.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::serve::ListenerExt as _;
use axum::Router;
use tokio::net::{TcpListener, UnixListener};

use crate::guard::AgentKey;
use dir::RuntimeDir;

mod conn;
mod dir;

pub use cctoken::config::env::{
    agent_key_path as key_path, default_socket_path, AGENT_KEY_NAME as KEY_NAME,
    AGENT_SOCKET_NAME as SOCKET_NAME, APP_DIR as SOCKET_DIR,
};

/// Connections the Unix socket serves at once; more wait in the kernel's backlog.
pub const MAX_UNIX_CONNECTIONS: usize = 256;
/// Connections each TCP listener (`--listen`, every `--proxy`) serves at once. Small
/// enough that the Unix socket keeps descriptors to spare under the usual soft limit of
/// 1024 open files with a few proxies flooded.
pub const MAX_TCP_CONNECTIONS: usize = 128;
/// Time a connection has to send a complete request head, from connecting or from the
/// first byte after an idle pause.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a connection may stay idle between requests.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Resource limits of one listener (see [`serve_unix_with`], [`serve_tcp_with`]).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// Time for a complete request head.
    pub head_timeout: Duration,
    /// Time a connection may stay idle between requests.
    pub idle_timeout: Duration,
}

impl ServeOptions {
    /// The Unix socket's limits.
    pub fn unix() -> Self {
        Self {
            max_connections: MAX_UNIX_CONNECTIONS,
            head_timeout: HEAD_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
        }
    }

    /// A TCP listener's limits.
    pub fn tcp() -> Self {
        Self {
            max_connections: MAX_TCP_CONNECTIONS,
            ..Self::unix()
        }
    }
}

/// Errors setting up listeners and files; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An I/O error on a named path.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another agent already listens on the socket.
    #[error("another agent is already listening on {}; stop it, or give --socket PATH", .0.display())]
    InUse(PathBuf),
    /// The socket path exists and is not a socket.
    #[error("{} exists and is not a socket; remove it or give another --socket PATH", .0.display())]
    NotASocket(PathBuf),
    /// The socket directory is refused: a symbolic link, not a directory, another
    /// user's, or open to others (the message says which and what to do).
    #[error("{0}")]
    Directory(cctoken::error::Error),
    /// A socket of another user where the agent's socket goes.
    #[error("{} is a socket of uid {owner}, not yours; the agent replaces only its own user's stale socket: remove it, or give --socket PATH", path.display())]
    ForeignSocket {
        /// The socket.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// The socket directory was replaced while the socket was being bound.
    #[error("{} changed while the agent was binding its socket; someone may be tampering with it: check it, or give --socket PATH", .0.display())]
    Moved(PathBuf),
    /// A TCP address that is not loopback.
    #[error("refusing to listen on {0}: the agent serves tokens on loopback addresses only (127.0.0.1, [::1])")]
    NotLoopback(SocketAddr),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SetupError + 'a {
    move |source| SetupError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Removes files when dropped (the socket, the key file).
#[derive(Debug, Default)]
pub struct Cleanup(Vec<PathBuf>);

impl Cleanup {
    /// Also remove `path`.
    pub fn push(&mut self, path: PathBuf) {
        self.0.push(path);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            if let Err(e) = std::fs::remove_file(p) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("could not remove {}: {e}", p.display());
                }
            }
        }
    }
}

/// `path` split into its directory and file name.
fn split(path: &Path) -> Result<(&Path, &str), SetupError> {
    let name = path
        .file_name()
        .ok_or_else(|| SetupError::NotASocket(path.to_path_buf()))?;
    let name = name.to_str().ok_or_else(|| {
        io("using", path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the file name is not UTF-8",
        ))
    })?;
    Ok((path.parent().unwrap_or(Path::new("")), name))
}

/// Bind the Unix socket at `path` with mode 0600, in a directory only this user controls
/// (see the module documentation for what is refused), replacing a stale socket of ours but never a
/// live agent's. Must be called inside a Tokio runtime.
pub fn bind_unix(path: &Path) -> Result<(UnixListener, Cleanup), SetupError> {
    let (dir, name) = split(path)?;
    let listener = RuntimeDir::open(dir)?.bind(name)?;
    let mut cleanup = Cleanup::default();
    cleanup.push(path.to_path_buf());
    Ok((listener, cleanup))
}

/// Write `key` to `path` with mode 0600: a random temporary name in the checked
/// directory, created without following links, then renamed into place.
pub fn write_key(path: &Path, key: &AgentKey) -> Result<(), SetupError> {
    let (dir, name) = split(path)?;
    RuntimeDir::open(dir)?.write_key(name, key)
}

/// Bind a loopback TCP address; any other address is refused.
pub async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, SetupError> {
    if !addr.ip().is_loopback() {
        return Err(SetupError::NotLoopback(addr));
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| SetupError::Io {
            what: "listening on",
            path: PathBuf::from(addr.to_string()),
            source,
        })
}

/// Serve `router` on a Unix socket until `shutdown` resolves, then finish in-flight
/// requests; within [`ServeOptions::unix`].
pub async fn serve_unix(
    listener: UnixListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_unix_with(listener, router, shutdown, ServeOptions::unix()).await
}

/// [`serve_unix`] within `opts`.
pub async fn serve_unix_with(
    listener: UnixListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: ServeOptions,
) -> std::io::Result<()> {
    conn::run(listener, router, shutdown, opts).await
}

/// Serve `router` on a loopback TCP listener until `shutdown` resolves, then finish
/// in-flight requests; within [`ServeOptions::tcp`]. Refuses a listener bound to a
/// non-loopback address.
pub async fn serve_tcp(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tcp_with(listener, router, shutdown, ServeOptions::tcp()).await
}

/// [`serve_tcp`] within `opts`.
pub async fn serve_tcp_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: ServeOptions,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            SetupError::NotLoopback(addr).to_string(),
        ));
    }
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::trace!("TCP_NODELAY: {e}");
        }
    });
    conn::run(listener, router, shutdown, opts).await
}
