//! The supervisor with a stalled writer: the loop keeps handing over tokens and forwarding
//! signals while the token file's write hangs (issue 16 item 2).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, UNIX_EPOCH};

use cctoken::clock::{Clock as _, ManualClock};
use cctoken::error::Error;
use cctoken::jitter::FixedJitter;
use cctoken::source::{BoxFuture, Fetch, Held};
use cctoken::token::Token;

use super::*;

/// Tokens `tok-0`, `tok-1`, … living 4 s from the clock's now.
struct Counting {
    n: AtomicUsize,
    clock: ManualClock,
}

impl Fetch for Counting {
    fn fetch<'a>(&'a self, _held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let n = self.n.fetch_add(1, Ordering::SeqCst);
            Ok(Token {
                access_token: AccessToken::new(format!("tok-{n}")),
                token_type: "Bearer",
                issued_at: self.clock.now(),
                expires_in: Duration::from_secs(4),
                expires_in_defaulted: false,
                scope: None,
                refresh_token: None,
                id_token: None,
            })
        })
    }
}

/// A writer whose every write blocks until the test lets it finish; it reports each token
/// it starts writing.
struct Stalled {
    started: mpsc::Sender<String>,
    release: mpsc::Receiver<()>,
}

impl TokenSink for Stalled {
    fn store(&mut self, token: &AccessToken) -> anyhow::Result<()> {
        let _ = self.started.send(token.expose_secret().to_owned());
        self.release
            .recv_timeout(Duration::from_secs(60))
            .map_err(|e| anyhow::anyhow!("never released: {e}"))
    }
}

/// Poll `cond` on the runtime (real time) at most `tries` × 10 ms.
async fn eventually(tries: u32, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_writer_holds_up_neither_tokens_nor_signals() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let fetch = Counting {
        n: AtomicUsize::new(0),
        clock: clock.clone(),
    };
    let source = TokenSource::new(fetch, std::sync::Arc::new(clock.clone()))
        .with_jitter(std::sync::Arc::new(FixedJitter(0.5)));
    let first = source.token().await.unwrap();
    assert_eq!(first.access_token.expose_secret(), "tok-0");

    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let handoff = std::sync::Arc::new(
        Handoff::start(Stalled {
            started: started_tx,
            release: release_rx,
        })
        .unwrap(),
    );

    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap 'exit 42' USR1; touch '{}'; while :; do sleep 0.02; done",
            ready.display()
        ))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (sig_tx, mut sig_rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn({
        let handoff = handoff.clone();
        async move {
            supervise(
                &mut child,
                &source,
                first.access_token,
                &handoff,
                &mut sig_rx,
            )
            .await
            .unwrap()
        }
    });
    assert!(
        eventually(3000, || ready.exists()).await,
        "the command started"
    );

    // Past the refresh-ahead instant (75 % of 4 s): tok-1 is handed over, and its write
    // hangs.
    clock.advance(Duration::from_millis(3100));
    let (first_write, started) = tokio::task::spawn_blocking(move || {
        let first = started.recv_timeout(Duration::from_secs(30));
        (first, started)
    })
    .await
    .unwrap();
    assert_eq!(first_write.unwrap(), "tok-1");

    // While it hangs, the next refresh still reaches the loop and is handed over…
    clock.advance(Duration::from_millis(3100));
    assert!(
        eventually(3000, || handoff.handed() == 2).await,
        "tok-2 handed over while tok-1's write hangs: {}",
        handoff.handed()
    );
    // …and a signal is forwarded: the command exits 42 with the writer still stalled.
    sig_tx.send(Signal::SIGUSR1).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the loop answered the signal while the write hung")
        .unwrap();
    assert_eq!(status.code(), Some(42));
    assert!(started.try_recv().is_err(), "the writer is still on tok-1");

    // Released, the writer goes on with the newest token, not a queue of old ones.
    release.send(()).unwrap();
    let next = tokio::task::spawn_blocking(move || started.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(next.unwrap(), "tok-2");
    release.send(()).unwrap();
}
