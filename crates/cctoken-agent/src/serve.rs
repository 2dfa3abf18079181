//! Listeners and files: the Unix socket (0600, in a 0700 directory), the key file (0600),
//! loopback-only TCP, and serving a router on them until a shutdown future resolves.
//!
//! The socket and key file are removed when their [`Cleanup`] guard is dropped, which the
//! caller does after the servers have drained. Nothing here reads configuration or flags;
//! the default paths are computed from the environment by [`default_socket_path`].

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{
    DirBuilderExt as _, FileTypeExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use axum::serve::ListenerExt as _;
use axum::Router;
use tokio::net::{TcpListener, UnixListener};

use crate::guard::AgentKey;

/// Environment variable of the runtime directory the default socket lives in.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// Directory under the runtime directory.
pub const SOCKET_DIR: &str = "cctoken";
/// File name of the default socket.
pub const SOCKET_NAME: &str = "agent.sock";
/// File name of the key file, beside the socket.
pub const KEY_NAME: &str = "agent.key";

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
    /// A TCP address that is not loopback.
    #[error("refusing to listen on {0}: the agent serves tokens on loopback addresses only (127.0.0.1, [::1])")]
    NotLoopback(SocketAddr),
    /// No place for the default socket.
    #[error("neither XDG_RUNTIME_DIR nor a usable temporary directory: give --socket PATH")]
    NoRuntimeDir,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SetupError + 'a {
    move |source| SetupError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// `$XDG_RUNTIME_DIR/cctoken/agent.sock`; without `XDG_RUNTIME_DIR`,
/// `$TMPDIR/cctoken-UID/agent.sock` (a directory only this user can enter).
pub fn default_socket_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = env(XDG_RUNTIME_DIR).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join(SOCKET_DIR).join(SOCKET_NAME));
    }
    let uid = nix::unistd::getuid();
    Some(
        std::env::temp_dir()
            .join(format!("{SOCKET_DIR}-{uid}"))
            .join(SOCKET_NAME),
    )
}

/// The key file beside `socket`.
pub fn key_path(socket: &Path) -> PathBuf {
    socket.with_file_name(KEY_NAME)
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

/// Create the socket's directory: 0700 when it is created here, or when it is the
/// agent's own `cctoken` directory.
fn prepare_dir(socket: &Path) -> Result<(), SetupError> {
    let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("creating the socket directory", dir))?;
    }
    let own = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == SOCKET_DIR || n.starts_with(&format!("{SOCKET_DIR}-")));
    if own {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("restricting the socket directory", dir))?;
    }
    Ok(())
}

/// Bind the Unix socket at `path` with mode 0600, replacing a stale socket but never a
/// live agent's. Must be called inside a Tokio runtime.
pub fn bind_unix(path: &Path) -> Result<(UnixListener, Cleanup), SetupError> {
    prepare_dir(path)?;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(SetupError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io("removing the stale socket", path))?;
        }
        Ok(_) => return Err(SetupError::NotASocket(path.to_path_buf())),
        Err(_) => {}
    }
    // Created 0600 from the start (no window where others could connect), then made sure.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.map_err(io("binding the socket", path))?;
    let mut cleanup = Cleanup::default();
    cleanup.push(path.to_path_buf());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io("restricting the socket", path))?;
    Ok((listener, cleanup))
}

/// Write `key` to `path` with mode 0600 (temporary file, then rename).
pub fn write_key(path: &Path, key: &AgentKey) -> Result<(), SetupError> {
    let tmp = path.with_file_name(format!(".{KEY_NAME}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("writing the key file", &tmp))?;
    f.write_all(key.expose_secret().as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(io("writing the key file", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("writing the key file", path))?;
    Ok(())
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
/// requests.
pub async fn serve_unix(
    listener: UnixListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serve `router` on a loopback TCP listener until `shutdown` resolves, then finish
/// in-flight requests. Refuses a listener bound to a non-loopback address.
pub async fn serve_tcp(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
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
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}
