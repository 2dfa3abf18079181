//! Serving a router on one listener with bounded resources, so that idle or slow clients
//! cannot starve the agent.
//!
//! - A listener holds at most [`ServeOptions::max_connections`] connections. The accept
//!   loop takes a slot before it accepts, so excess connections wait in the kernel's
//!   backlog (costing the agent no file descriptor) until a slot frees. Each listener has
//!   its own slots: a flooded TCP port does not take the Unix socket's.
//! - A connection must deliver a complete request head within
//!   [`ServeOptions::head_timeout`] of connecting, or of its first byte after an idle
//!   pause; between requests it may stay idle for [`ServeOptions::idle_timeout`]. Then it
//!   is closed. While a request is being answered neither clock runs (the handlers bound
//!   their own work).
//! - Every request passes [`crate::guard::well_formed`] first (origin-form target, at
//!   most one `Host`), whatever the router.
//!
//! Shutdown stops accepting, lets in-flight requests finish and closes idle connections.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use axum::serve::Listener;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::ServeOptions;

/// Serve `router` on `listener` within `opts` until `shutdown` resolves, then drain.
pub(super) async fn run<L: Listener>(
    mut listener: L,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: ServeOptions,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            s = slots.clone().acquire_owned() => s,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let io = tokio::select! {
            biased;
            () = &mut shutdown => break,
            (io, _addr) = listener.accept() => io,
        };
        conns.spawn(connection(
            io,
            router.clone(),
            opts.clone(),
            stop_rx.clone(),
            slot,
        ));
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    stop_tx.send_replace(true);
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// One connection: HTTP/1 or HTTP/2, closed when a deadline of [`Activity`] passes.
async fn connection<Io>(
    io: Io,
    router: Router,
    opts: ServeOptions,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(&opts);
    let mut deadline = activity.deadline.subscribe();
    let io = TokioIo::new(Watched {
        io,
        activity: activity.clone(),
    });
    let service = ConnService { router, activity };
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let until = *deadline.borrow_and_update();
        let expired = async move {
            match until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            // Dropping the connection closes it.
            () = expired => {
                tracing::debug!("closing a connection that sent no request in time");
                return;
            }
            _ = deadline.changed() => {}
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Answering `n` requests.
    Busy(usize),
    /// Between requests.
    Idle,
}

/// What a connection is doing, and when it must be closed if nothing changes.
struct Activity {
    opts: ServeOptions,
    phase: Mutex<Phase>,
    deadline: watch::Sender<Option<Instant>>,
}

impl Activity {
    fn new(opts: &ServeOptions) -> Arc<Self> {
        Arc::new(Self {
            opts: opts.clone(),
            phase: Mutex::new(Phase::Head),
            deadline: watch::Sender::new(Some(Instant::now() + opts.head_timeout)),
        })
    }

    fn transition(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        let next = f(*phase);
        if next == *phase {
            return;
        }
        *phase = next;
        self.deadline.send_replace(match next {
            Phase::Head => Some(Instant::now() + self.opts.head_timeout),
            Phase::Busy(_) => None,
            Phase::Idle => Some(Instant::now() + self.opts.idle_timeout),
        });
    }

    /// Bytes arrived: after an idle pause, a new request head has begun.
    fn read(&self) {
        self.transition(|p| if p == Phase::Idle { Phase::Head } else { p });
    }

    /// A request head was read; the guard ends the request when dropped.
    fn begin(self: &Arc<Self>) -> Busy {
        self.transition(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        Busy(self.clone())
    }
}

/// One request being answered; dropped with its response body.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.transition(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle,
        });
    }
}

/// The connection's stream, reporting reads to its [`Activity`].
struct Watched<Io> {
    io: Io,
    activity: Arc<Activity>,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Watched<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Watched<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The router as a hyper service that marks each request busy until its body is sent.
#[derive(Clone)]
struct ConnService {
    router: Router,
    activity: Arc<Activity>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let busy = self.activity.begin();
        let router = self.router.clone();
        Box::pin(async move {
            let resp = match crate::guard::well_formed(&req) {
                Ok(()) => match router.oneshot(req.map(Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                },
                Err(refused) => refused,
            };
            Ok(resp.map(|body| Tracked { body, _busy: busy }))
        })
    }
}

/// A response body that keeps its request busy until hyper is done with it.
pub(super) struct Tracked {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
