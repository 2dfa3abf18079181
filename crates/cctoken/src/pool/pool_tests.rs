//! The pool on an injected clock: fill, the mint gate, refreshes, 401s, 429s, refusals.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::error::ErrorKind;
use crate::jitter::{FixedJitter, SeededJitter};
use crate::secret::AccessToken;
use crate::token::{BoxFuture, Held};

const START: u64 = 1_700_000_000;
const LIFETIME: Duration = Duration::from_secs(3600);
const MINT_LATENCY: Duration = Duration::from_millis(40);

/// What every slot's fetcher shares: the clock, a log of mints and the in-flight count.
#[derive(Default)]
struct Server {
    clock: Mutex<Option<ManualClock>>,
    /// (slot, start, end) of every mint.
    mints: Mutex<Vec<(usize, SystemTime, SystemTime)>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Mints of these slots are answered with the token endpoint's rate limit.
    limited: Mutex<Vec<usize>>,
}

struct Minter {
    slot: usize,
    server: Arc<Server>,
}

impl Fetch for Minter {
    fn fetch<'a>(&'a self, _held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let clock = self.server.clock.lock().unwrap().clone().unwrap();
            let n = self.server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.server.most_in_flight.fetch_max(n, Ordering::SeqCst);
            let start = clock.now();
            // Let other mints start meanwhile, were they allowed to.
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            clock.sleep_until(start + MINT_LATENCY).await;
            self.server.in_flight.fetch_sub(1, Ordering::SeqCst);
            let end = clock.now();
            if self.server.limited.lock().unwrap().contains(&self.slot) {
                let mut e = Error::rate_limited(Some(400), "rate limit exceeded; slow down");
                e.retry_after = Some(Duration::from_secs(3));
                return Err(e);
            }
            let mut mints = self.server.mints.lock().unwrap();
            mints.push((self.slot, start, end));
            Ok(Token {
                access_token: AccessToken::new(format!("tok-{}-{}", self.slot, mints.len())),
                token_type: "Bearer",
                issued_at: end,
                expires_in: LIFETIME,
                expires_in_defaulted: false,
                scope: None,
                refresh_token: None,
                id_token: None,
            })
        })
    }
}

fn pool(k: usize, limit: Option<&str>) -> (TokenPool, Arc<Server>, ManualClock) {
    let clock = ManualClock::warping(UNIX_EPOCH + Duration::from_secs(START));
    let server = Arc::new(Server::default());
    *server.clock.lock().unwrap() = Some(clock.clone());
    let fetchers = (0..k)
        .map(|slot| {
            Arc::new(Minter {
                slot,
                server: server.clone(),
            }) as Arc<dyn Fetch>
        })
        .collect();
    let pacing = Pacing::new(limit.map(|l| l.parse().unwrap()));
    let p = TokenPool::new(
        fetchers,
        pacing,
        Arc::new(clock.clone()),
        Arc::new(SeededJitter::new(7)),
    )
    .unwrap();
    (p, server, clock)
}

/// Let the background fill run (bounded: it stops once every slot has a token).
async fn filled(p: &TokenPool) {
    for _ in 0..10_000 {
        if p.stats().slots.iter().all(|s| s.has_token) && !lock(&p.inner.fill).running {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the pool did not fill: {:?}", p.stats());
}

/// An API answer for [`TokenPool::send`].
#[derive(Debug)]
struct Answer(u16, Option<&'static str>);

impl Reply for Answer {
    fn status(&self) -> u16 {
        self.0
    }
    fn retry_after(&self) -> Option<&str> {
        self.1
    }
}

#[tokio::test]
async fn the_first_call_mints_slot_zero_and_the_rest_fill_one_at_a_time_spaced() {
    let (p, server, _clock) = pool(4, Some("300/60s"));
    let lease = p.acquire().await.unwrap();
    assert_eq!(lease.slot, 0);
    filled(&p).await;
    let mints = server.mints.lock().unwrap().clone();
    let slots: Vec<usize> = mints.iter().map(|m| m.0).collect();
    assert_eq!(slots, [0, 1, 2, 3], "each slot minted once, in order");
    assert_eq!(server.most_in_flight.load(Ordering::SeqCst), 1);
    for w in mints.windows(2) {
        let gap = w[1].1.duration_since(w[0].2).unwrap();
        assert!(gap >= MINT_SPACING.0 && gap <= MINT_SPACING.1, "{gap:?}");
    }
    // Four distinct tokens, and calls spread over them.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        seen.insert(
            p.acquire()
                .await
                .unwrap()
                .token
                .access_token
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(seen.len(), 4);
}

#[tokio::test]
async fn the_token_endpoints_limit_backs_the_pool_off_while_held_tokens_serve() {
    let (p, server, clock) = pool(3, Some("300/60s"));
    server.limited.lock().unwrap().extend([1, 2]);
    p.acquire().await.unwrap();
    filled_or_failed(&p).await;
    let closed = p.inner.gate.closed_until().expect("the gate backs off");
    assert!(
        closed >= clock.now() + Duration::from_secs(2),
        "at least Retry-After"
    );
    assert_eq!(p.stats().mint_rate_limited, 1);
    // Calls keep being served by slot 0, and nothing asks the token endpoint meanwhile.
    let mints = server.mints.lock().unwrap().len();
    for _ in 0..20 {
        assert_eq!(p.acquire().await.unwrap().slot, 0);
    }
    assert_eq!(server.mints.lock().unwrap().len(), mints);
    assert_eq!(
        p.stats().mint_rate_limited,
        1,
        "no mint tried while backing off"
    );
    // Once the endpoint lets mints through again, the next call refills the pool.
    server.limited.lock().unwrap().clear();
    clock.set(closed.max(clock.now() + FILL_RETRY));
    p.acquire().await.unwrap();
    filled(&p).await;
}

async fn filled_or_failed(p: &TokenPool) {
    for _ in 0..10_000 {
        if !lock(&p.inner.fill).running && lock(&p.inner.fill).retry_at.is_some() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the fill did not stop");
}

#[tokio::test]
async fn each_token_refreshes_on_its_own_instant_and_never_two_at_once() {
    let (p, server, clock) = pool(4, None);
    p.acquire().await.unwrap();
    filled(&p).await;
    let due: Vec<SystemTime> = (0..4).map(|i| p.slot(i).refresh_due().unwrap()).collect();
    let distinct: std::collections::HashSet<_> = due.iter().collect();
    assert_eq!(distinct.len(), 4, "{due:?}");
    // Even when all are due at once, the refreshes go one after another.
    clock.set(*due.iter().max().unwrap());
    let before = server.mints.lock().unwrap().len();
    let all = (0..4).map(|i| {
        let s = p.slot(i).clone();
        async move { s.background_refresh().await }
    });
    futures_join(all).await;
    assert_eq!(server.mints.lock().unwrap().len(), before + 4);
    assert_eq!(server.most_in_flight.load(Ordering::SeqCst), 1);
}

async fn futures_join<F: std::future::Future<Output = ()> + Send + 'static>(
    fs: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::test]
async fn a_401_re_mints_that_one_token_and_retries_once() {
    let (p, server, _clock) = pool(2, None);
    p.acquire().await.unwrap();
    filled(&p).await;
    let before: Vec<AccessToken> = (0..2)
        .map(|i| p.slot(i).peek().unwrap().access_token)
        .collect();
    let sent = Mutex::new(Vec::new());
    let answer = p
        .send(|t| {
            let mut s = sent.lock().unwrap();
            s.push(t.access_token.expose_secret().to_owned());
            let status = if s.len() == 1 { 401 } else { 200 };
            async move { Answer(status, None) }
        })
        .await
        .unwrap();
    assert_eq!(answer.0, 200);
    let sent = sent.into_inner().unwrap();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0], sent[1], "the retry carries a new token");
    assert_eq!(server.mints.lock().unwrap().len(), 3, "one re-mint");
    let after: Vec<AccessToken> = (0..2)
        .map(|i| p.slot(i).peek().unwrap().access_token)
        .collect();
    let changed: Vec<usize> = (0..2).filter(|&i| before[i] != after[i]).collect();
    assert_eq!(changed.len(), 1, "only the rejected token is replaced");
    assert_eq!(after[changed[0]].expose_secret(), sent[1]);
    // A second 401 is the API's answer: passed back, not retried again.
    let calls = AtomicUsize::new(0);
    let answer = p
        .send(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Answer(401, None) }
        })
        .await
        .unwrap();
    assert_eq!((answer.0, calls.load(Ordering::SeqCst)), (401, 2));
}

#[tokio::test]
async fn a_429_cools_its_token_and_the_call_is_retried_once_on_another() {
    let (p, _server, clock) = pool(2, Some("300/60s"));
    p.acquire().await.unwrap();
    filled(&p).await;
    let sent = Mutex::new(Vec::new());
    let answer = p
        .send(|t| {
            let mut s = sent.lock().unwrap();
            s.push(t.access_token.expose_secret().to_owned());
            let a = if s.len() == 1 {
                Answer(429, Some("5"))
            } else {
                Answer(200, None)
            };
            async move { a }
        })
        .await
        .unwrap();
    assert_eq!(answer.0, 200);
    let sent = sent.into_inner().unwrap();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0], sent[1], "retried on the other token");
    let stats = p.stats();
    assert_eq!(stats.throttled, 1);
    let cooling: Vec<u64> = stats
        .slots
        .iter()
        .filter_map(|s| s.cooling_until)
        .map(unix_ms)
        .collect();
    assert_eq!(cooling, [unix_ms(clock.now()) + 5_000]);
    // Both tokens answering 429: the second is passed back (one retry only).
    let calls = AtomicUsize::new(0);
    let answer = p
        .send(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Answer(429, Some("1")) }
        })
        .await
        .unwrap();
    assert_eq!((answer.0, calls.load(Ordering::SeqCst)), (429, 2));
}

#[tokio::test]
async fn a_retry_after_over_180_s_is_passed_through_not_retried() {
    let (p, _server, _clock) = pool(2, Some("300/60s"));
    p.acquire().await.unwrap();
    filled(&p).await;
    let calls = AtomicUsize::new(0);
    let answer = p
        .send(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Answer(429, Some("600")) }
        })
        .await
        .unwrap();
    assert_eq!((answer.0, calls.load(Ordering::SeqCst)), (429, 1));
    assert_eq!(p.stats().throttled, 1);
}

#[tokio::test]
async fn over_the_limit_calls_are_refused_locally_with_the_exact_wait() {
    // 10/10s: a budget of 9 calls per 10 s on one token; max_wait 2 s.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
    let server = Arc::new(Server::default());
    *server.clock.lock().unwrap() = Some(ManualClock::warping(clock.now()));
    let fetchers: Vec<Arc<dyn Fetch>> = vec![Arc::new(Minter {
        slot: 0,
        server: server.clone(),
    })];
    let p = TokenPool::new(
        fetchers,
        Pacing::new(Some("10/10s".parse().unwrap())),
        Arc::new(clock.clone()),
        Arc::new(FixedJitter(0.5)),
    )
    .unwrap();
    for _ in 0..9 {
        p.acquire().await.unwrap();
    }
    let calls = AtomicUsize::new(0);
    let refused = p
        .send(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Answer(200, None) }
        })
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the API never sees it");
    match &refused {
        PoolError::Refused { retry_after } => assert_eq!(*retry_after, Duration::from_secs(10)),
        other => panic!("{other:?}"),
    }
    assert_eq!(refused.retry_after_secs(), Some(10));
    let e = refused.into_error();
    assert_eq!(
        (e.kind, e.retry_after),
        (ErrorKind::RateLimited, Some(Duration::from_secs(10)))
    );
    // 8.5 s later the first slot frees in 1.5 s: within max_wait, so the call waits.
    clock.advance(Duration::from_millis(8_500));
    let waiting = tokio::spawn({
        let p = p.clone();
        async move { p.acquire().await.map(|l| l.slot) }
    });
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(!waiting.is_finished(), "it waits for the free slot");
    clock.advance(Duration::from_millis(1_500));
    assert_eq!(waiting.await.unwrap().unwrap(), 0);
    assert_eq!((p.stats().refused, p.stats().waited), (1, 1));
}

#[test]
fn a_pool_has_one_to_twenty_slots() {
    let clock: SharedClock = Arc::new(ManualClock::new(UNIX_EPOCH));
    let j: SharedJitter = Arc::new(FixedJitter(0.5));
    let e = TokenPool::new(Vec::new(), Pacing::new(None), clock, j).unwrap_err();
    assert!(e.message.contains("1 to 20"), "{}", e.message);
}

#[tokio::test]
async fn while_backing_off_a_refresh_ahead_waits_and_a_caller_with_nothing_is_let_through() {
    let clock = ManualClock::warping(UNIX_EPOCH + Duration::from_secs(START));
    let server = Arc::new(Server::default());
    *server.clock.lock().unwrap() = Some(clock.clone());
    server.limited.lock().unwrap().push(0);
    let gate = Arc::new(Gate::new(
        Arc::new(clock.clone()),
        Arc::new(FixedJitter(0.0)),
    ));
    let gated = Gated::new(
        Arc::new(Minter {
            slot: 0,
            server: server.clone(),
        }),
        gate.clone(),
    );
    let e = gated.fetch(Held::stale(None)).await.unwrap_err();
    assert_eq!(e.status, Some(400), "the server's answer");
    let until = gate.closed_until().expect("closed");
    assert_eq!(
        until,
        clock.now() + Duration::from_secs(3),
        "Retry-After beats the jitter"
    );
    server.limited.lock().unwrap().clear();
    let held = Minter {
        slot: 9,
        server: server.clone(),
    }
    .fetch(Held::stale(None))
    .await
    .unwrap();
    let minted = server.mints.lock().unwrap().len();
    let e = gated
        .fetch(Held::usable(&held, clock.now() + LIFETIME))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.status),
        (ErrorKind::RateLimited, None),
        "refused here"
    );
    assert!(e.retry_after.unwrap() <= Duration::from_secs(3));
    assert_eq!(
        server.mints.lock().unwrap().len(),
        minted,
        "the server was not asked"
    );
    assert!(gated.fetch(Held::stale(Some(&held))).await.is_ok());
    assert_eq!(gate.closed_until(), None, "a success opens the gate");
}

#[tokio::test]
async fn a_call_with_no_room_on_the_held_tokens_mints_an_empty_slot_instead_of_being_refused() {
    // 2/10s: a budget of 1 per token. Slot 0 takes the first call; the second finds it
    // full for 10 s, so slot 1 is minted for it at once instead of a refusal.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
    let server = Arc::new(Server::default());
    *server.clock.lock().unwrap() = Some(ManualClock::warping(clock.now()));
    let fetchers: Vec<Arc<dyn Fetch>> = (0..2)
        .map(|slot| {
            Arc::new(Minter {
                slot,
                server: server.clone(),
            }) as Arc<dyn Fetch>
        })
        .collect();
    let p = TokenPool::new(
        fetchers,
        Pacing::new(Some("2/10s".parse().unwrap())),
        Arc::new(clock.clone()),
        Arc::new(FixedJitter(0.5)),
    )
    .unwrap();
    assert_eq!(p.acquire().await.unwrap().slot, 0);
    // The background fill is still pausing (the clock does not move): slot 1 is empty.
    assert!(p.slot(1).peek().is_none());
    assert_eq!(p.acquire().await.unwrap().slot, 1);
    assert_eq!(p.stats().refused, 0);
    // Both full now: refused, with the exact wait.
    match p.acquire().await.unwrap_err() {
        PoolError::Refused { retry_after } => assert_eq!(retry_after, Duration::from_secs(10)),
        other => panic!("{other:?}"),
    }
}
