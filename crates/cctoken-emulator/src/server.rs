//! Serving: our own accept loop over hyper, so a handler can reset its TCP connection.
//!
//! axum's `serve` cannot abort one connection from inside a handler, and the `reset` fault
//! needs exactly that: a real RST (SO_LINGER 0, then close) before any response byte. Each
//! accepted connection therefore gets a [`ConnAbort`] handle in its requests' extensions and a
//! duplicate of its socket kept aside; triggering the handle drops the connection and closes
//! the duplicate with linger 0. Shutdown is graceful: stop accepting, let in-flight requests
//! finish (bounded), then return. [`spawn`] runs all of this on `127.0.0.1:0` for tests and
//! `cctoken demo`. With [`crate::TlsSettings`] the same loop serves HTTPS: the handshake runs
//! in the connection's own task (bounded by [`HANDSHAKE_TIMEOUT`], so a silent client never
//! stalls the accept loop), and the client's certificate chain, if it sent one, rides in
//! every request's extensions as a [`crate::keys::PeerCertificate`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::activity::{ActivityEntry, StatsSnapshot};
use crate::config::EmulatorConfig;
use crate::keys::PeerCertificate;
use crate::state::AppState;
use crate::Error;

const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Lets a handler abort (reset) the connection its request arrived on.
#[derive(Clone, Debug, Default)]
pub struct ConnAbort(Arc<Notify>);

impl ConnAbort {
    /// Reset the connection: it is dropped with SO_LINGER 0, so the peer sees an RST.
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

/// Serve `state` on `listener` until `shutdown` completes, then drain in-flight requests.
///
/// Sets the state's base URL (`https://` when the configuration has TLS) from the listener's
/// address when none was set and the address is not a wildcard (`0.0.0.0` falls back to
/// each request's `Host`).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = match &state.config().tls {
        Some(t) => Some(TlsAcceptor::from(
            t.server_config(state.inner.client_certs)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        )),
        None => None,
    };
    if state.base_url().is_none() {
        let addr = listener.local_addr()?;
        if !addr.ip().is_unspecified() {
            state.set_base_url(&format!("{}://{addr}", state.config().scheme()));
        }
    }
    let router = crate::app(state);
    let graceful = GracefulShutdown::new();
    let builder = Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    if let Err(e) = serve_connection(stream, &router, &builder, &graceful, acceptor.as_ref()) {
                        tracing::debug!("emulator: dropping connection: {e}");
                    }
                }
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!("emulator: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("emulator: connections still open after {DRAIN_TIMEOUT:?}; closing");
        }
    }
    Ok(())
}

fn serve_connection(
    stream: TcpStream,
    router: &Router,
    builder: &Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    acceptor: Option<&TlsAcceptor>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    // Keep a duplicate descriptor: with linger 0 set on it, closing the last descriptor
    // sends an RST. No unsafe code needed.
    let std_stream = stream.into_std()?;
    let spare = std_stream.try_clone()?;
    let stream = TcpStream::from_std(std_stream)?;
    let conn = Conn {
        router: router.clone(),
        builder: builder.clone(),
        watcher: graceful.watcher(),
        spare,
    };
    match acceptor.cloned() {
        None => {
            tokio::spawn(conn.drive(stream, None));
        }
        Some(acceptor) => {
            tokio::spawn(async move {
                let tls =
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!("emulator: TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(
                                "emulator: TLS handshake timed out after {HANDSHAKE_TIMEOUT:?}"
                            );
                            return;
                        }
                    };
                let peer = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| PeerCertificate {
                        chain: c.to_vec().into(),
                    });
                conn.drive(tls, peer).await;
            });
        }
    }
    Ok(())
}

/// One accepted connection, ready to be served over plain TCP or TLS.
struct Conn {
    router: Router,
    builder: Builder<TokioExecutor>,
    watcher: Watcher,
    spare: std::net::TcpStream,
}

impl Conn {
    async fn drive<IO>(self, io: IO, peer: Option<PeerCertificate>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let abort = ConnAbort::default();
        let handle = abort.clone();
        let router = self.router;
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(handle.clone());
            if let Some(p) = &peer {
                req.extensions_mut().insert(p.clone());
            }
            tower::ServiceExt::oneshot(router.clone(), req)
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = self.watcher.watch(conn);
        tokio::select! {
            res = conn => {
                if let Err(e) = res {
                    tracing::trace!("emulator: connection ended: {e}");
                }
            }
            () = abort.0.notified() => {
                if let Err(e) = socket2::SockRef::from(&self.spare).set_linger(Some(Duration::ZERO)) {
                    tracing::debug!("emulator: SO_LINGER 0 failed: {e}");
                }
            }
        }
        drop(self.spare);
    }
}

/// An emulator running in the background on a loopback port.
#[derive(Debug)]
pub struct RunningEmulator {
    base_url: String,
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` or `https://…` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's state (faults, counters, activity).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats()
    }

    /// The activity log, oldest first.
    pub fn activity(&self) -> Vec<ActivityEntry> {
        self.state.activity()
    }

    /// Stop accepting, drain in-flight requests, and wait for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("emulator stopped with an error: {e}"),
                Err(e) => tracing::warn!("emulator task failed: {e}"),
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Start an emulator for `config` on `127.0.0.1:0`.
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, Error> {
    spawn_with_state(AppState::new(config)).await
}

/// Start an emulator with prepared state (e.g. an injected clock) on `127.0.0.1:0`, after
/// [`EmulatorConfig::check`].
pub async fn spawn_with_state(state: AppState) -> Result<RunningEmulator, Error> {
    state.config().check()?;
    if let Some(t) = &state.config().tls {
        t.server_config(state.inner.client_certs)?;
    }
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(Error::Bind)?;
    let addr = listener.local_addr().map_err(Error::Bind)?;
    let base_url = format!("{}://{addr}", state.config().scheme());
    state.set_base_url(&base_url);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(RunningEmulator {
        base_url,
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}
