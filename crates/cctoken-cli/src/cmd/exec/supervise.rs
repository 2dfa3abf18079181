//! `exec`'s supervisor: while the command runs, keep its token file fresh, forward the
//! signals cctoken receives, and wait for the command's exit.
//!
//! Three parts, so that none can hold up another:
//!
//! - the **loop** ([`supervise`]) on the runtime thread: it waits for the command, forwards
//!   signals, and hands each new token to the writer the moment the
//!   [`TokenSource`] announces it ([`TokenSource::watch`]) — no polling, so the new token
//!   is in the file as soon as the refresh-ahead (at about 75 % of the lifetime) has it;
//! - the **refresher** ([`keep_fresh`]), a task that wakes at the source's next refresh
//!   instant and lets the source refresh (it is the one that waits when the token server is
//!   slow or down);
//! - the **writer** ([`Handoff`]), a thread that writes the token file. File I/O can stall
//!   (a busy disk, a hung network file system); the loop never waits for it. It always
//!   writes the latest token it was handed, so a stalled write is followed by the newest
//!   token, not by a queue of old ones.
//!
//! The token cache's own writes happen inside the source's fetch, on Tokio's blocking pool
//! ([`cctoken::cache::CachedClient`]). What this module does not do: start the command or
//! build its environment ([`super::child`]).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use cctoken::secret::AccessToken;
use cctoken::source::TokenSource;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Where the writer thread puts each token (the token file; tests inject a stalling one).
pub trait TokenSink: Send + 'static {
    /// Store `token`; may block for as long as the storage takes.
    fn store(&mut self, token: &AccessToken) -> anyhow::Result<()>;
}

#[derive(Default)]
struct Slot {
    /// The latest token handed over and not yet taken by the writer.
    pending: Option<AccessToken>,
    /// How many tokens were handed over.
    handed: u64,
    closed: bool,
}

/// The loop's side of the writer thread: [`Handoff::hand`] never blocks on the write.
/// Dropping it stops the writer after the write in progress, if any.
pub struct Handoff {
    slot: Arc<(Mutex<Slot>, Condvar)>,
}

impl Handoff {
    /// Start the writer thread over `sink`.
    pub fn start(mut sink: impl TokenSink) -> std::io::Result<Self> {
        let slot = Arc::new((Mutex::new(Slot::default()), Condvar::new()));
        let theirs = slot.clone();
        std::thread::Builder::new()
            .name("cctoken-exec-writer".into())
            .spawn(move || {
                let (lock, wake) = &*theirs;
                loop {
                    let token = {
                        let Ok(mut s) = lock.lock() else { return };
                        while s.pending.is_none() && !s.closed {
                            s = match wake.wait(s) {
                                Ok(s) => s,
                                Err(_) => return,
                            };
                        }
                        if s.closed {
                            return;
                        }
                        s.pending.take()
                    };
                    if let Some(token) = token {
                        match sink.store(&token) {
                            Ok(()) => tracing::info!("token file refreshed"),
                            Err(e) => tracing::warn!(
                                "could not refresh the token file (the command keeps reading \
                                 the previous token): {e:#}"
                            ),
                        }
                    }
                }
            })?;
        Ok(Self { slot })
    }

    /// Give the writer `token`, replacing one it has not started writing yet.
    pub fn hand(&self, token: AccessToken) {
        let (lock, wake) = &*self.slot;
        if let Ok(mut s) = lock.lock() {
            s.pending = Some(token);
            s.handed += 1;
        }
        wake.notify_one();
    }

    /// How many tokens were handed over so far.
    pub fn handed(&self) -> u64 {
        self.slot.0.lock().map(|s| s.handed).unwrap_or(0)
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        let (lock, wake) = &*self.slot;
        if let Ok(mut s) = lock.lock() {
            s.closed = true;
        }
        wake.notify_one();
    }
}

/// Run the loop (see the module docs) until `child` exits; its exit status. `current` is
/// the token already in the file; `signals` are the ones to forward to the child.
pub async fn supervise(
    child: &mut tokio::process::Child,
    source: &TokenSource,
    mut current: AccessToken,
    handoff: &Handoff,
    signals: &mut tokio::sync::mpsc::UnboundedReceiver<Signal>,
) -> std::io::Result<std::process::ExitStatus> {
    let pid = child.id().map(|p| Pid::from_raw(p as i32));
    let mut changes = source.watch();
    let refresher = tokio::spawn(keep_fresh(source.clone()));
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            Some(sig) = signals.recv() => {
                if let Some(pid) = pid {
                    let _ = kill(pid, sig);
                }
            }
            Ok(()) = changes.changed() => {
                if let Some(t) = source.peek() {
                    if t.access_token != current {
                        current = t.access_token.clone();
                        handoff.hand(t.access_token);
                    }
                }
            }
        }
    };
    refresher.abort();
    status
}

/// Longest the refresher sleeps on the source's clock: bounds the effect of a clock step
/// or a suspended machine.
const BACKSTOP: Duration = Duration::from_secs(15);
/// First and longest pause between attempts while there is no usable token at all.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Keep `source` fresh: wake at its next refresh instant (refresh-ahead, or the retry of a
/// failed refresh) and let it refresh; re-arm whenever it changes. Runs until aborted.
pub async fn keep_fresh(source: TokenSource) {
    let clock = source.clock().clone();
    let mut changes = source.watch();
    let mut backoff = MIN_BACKOFF;
    loop {
        changes.borrow_and_update();
        let result = source.token().await;
        let now = clock.now();
        let wake = match result {
            Ok(_) => {
                backoff = MIN_BACKOFF;
                // A due instant not in the future means the refresh it started is running:
                // its outcome comes through `changes`.
                match source.refresh_due() {
                    Some(due) if due > now => due.min(now + BACKSTOP),
                    _ => now + BACKSTOP,
                }
            }
            Err(e) => {
                tracing::warn!(
                    "token refresh failed (the command keeps the current token file): {e}"
                );
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                now + pause
            }
        };
        tokio::select! {
            () = clock.sleep_until(wake) => {}
            Ok(()) = changes.changed() => {}
        }
    }
}

#[cfg(test)]
#[path = "supervise_tests.rs"]
mod tests;
