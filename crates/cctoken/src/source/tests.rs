use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::jitter::{FixedJitter, Jitter as _, SeededJitter};

/// A fetcher that counts calls, remembers the deadlines it was given, and can be told to
/// fail (with a `Retry-After` when one is set).
#[derive(Default)]
struct Fake {
    calls: AtomicUsize,
    fail: AtomicBool,
    retry_after: Mutex<Option<Duration>>,
    deadlines: Mutex<Vec<Option<SystemTime>>>,
    lifetime: Mutex<Duration>,
    clock: Mutex<Option<ManualClock>>,
}

impl Fetch for Arc<Fake> {
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            self.deadlines.lock().unwrap().push(held.usable_until);
            // Let concurrent callers pile up on the single flight.
            tokio::task::yield_now().await;
            if self.fail.load(Ordering::SeqCst) {
                let mut e = Error::transport("down");
                e.retry_after = *self.retry_after.lock().unwrap();
                return Err(e);
            }
            let now = self.clock.lock().unwrap().as_ref().unwrap().now();
            Ok(Token {
                access_token: AccessToken::new(format!("tok-{n}")),
                token_type: "Bearer",
                issued_at: now,
                expires_in: *self.lifetime.lock().unwrap(),
                expires_in_defaulted: false,
                scope: None,
                refresh_token: None,
                id_token: None,
            })
        })
    }
}

/// Seconds after the epoch at which the tests' clocks start.
const START: u64 = 1_000_000;

fn setup(lifetime: u64) -> (TokenSource, Arc<Fake>, ManualClock) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(START));
    let fake = Arc::new(Fake::default());
    *fake.lifetime.lock().unwrap() = Duration::from_secs(lifetime);
    *fake.clock.lock().unwrap() = Some(clock.clone());
    let src = TokenSource::new(fake.clone(), Arc::new(clock.clone()));
    (src, fake, clock)
}

/// [`setup`] with a jitter that always draws `u`.
fn setup_fixed(lifetime: u64, u: f64) -> (TokenSource, Arc<Fake>, ManualClock) {
    let (_, fake, clock) = setup(lifetime);
    let src = TokenSource::new(fake.clone(), Arc::new(clock.clone()))
        .with_jitter(Arc::new(FixedJitter(u)));
    (src, fake, clock)
}

/// `secs` after the clocks' start.
fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START) + Duration::from_secs_f64(secs)
}

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[test]
fn margin_rules() {
    let s = Duration::from_secs;
    // Long-lived tokens keep 5 minutes; a 24 h one is never handed out with 61 s left.
    assert_eq!(safety_margin(s(86_400)), s(300));
    assert_eq!(safety_margin(s(3600)), s(300));
    assert_eq!(safety_margin(s(3000)), s(300));
    // In between, a tenth, so never less than the old 60 s from 10 minutes on.
    assert_eq!(safety_margin(s(1200)), s(120));
    assert_eq!(safety_margin(s(600)), s(60));
    assert_eq!(
        safety_margin(Duration::from_secs(300)),
        Duration::from_secs(30)
    );
    assert_eq!(
        safety_margin(Duration::from_secs(6)),
        Duration::from_millis(600)
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let (src, fake, _clock) = setup(3600);
    let mut handles = vec![];
    for _ in 0..100 {
        let s = src.clone();
        handles.push(tokio::spawn(async move { s.token().await.unwrap() }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().access_token.expose_secret(), "tok-0");
    }
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fresh_token_is_reused_until_refresh_ahead() {
    let (src, fake, clock) = setup(3600);
    src.token().await.unwrap();
    clock.advance(Duration::from_secs(2000)); // 55 %: before the earliest refresh (70 %)
    src.token().await.unwrap();
    settle().await;
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(900)); // 80 %: after the latest refresh point
    let t = src.token().await.unwrap();
    assert_eq!(
        t.access_token.expose_secret(),
        "tok-0",
        "served while refreshing"
    );
    settle().await;
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        src.token().await.unwrap().access_token.expose_secret(),
        "tok-1"
    );
}

#[tokio::test]
async fn failing_refresh_keeps_serving_current_token_then_recovers() {
    let (src, fake, clock) = setup(3600);
    src.token().await.unwrap();
    fake.fail.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(2900));
    for _ in 0..5 {
        let t = src.token().await.unwrap();
        assert_eq!(t.access_token.expose_secret(), "tok-0");
        settle().await;
        clock.advance(Duration::from_secs(60));
    }
    assert!(src.consecutive_failures() >= 1);
    // Upstream back: the next due refresh succeeds.
    fake.fail.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(60));
    src.token().await.unwrap();
    settle().await;
    let t = src.token().await.unwrap();
    assert_ne!(t.access_token.expose_secret(), "tok-0");
    assert_eq!(src.consecutive_failures(), 0);
}

#[tokio::test]
async fn expired_token_fails_when_upstream_is_down() {
    let (src, fake, clock) = setup(3600);
    src.token().await.unwrap();
    fake.fail.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(3560)); // inside the 60 s margin
    assert!(src.token().await.is_err());
}

#[tokio::test]
async fn short_lived_tokens_use_a_tenth_as_margin() {
    let (src, fake, clock) = setup(6);
    src.token().await.unwrap();
    clock.advance(Duration::from_millis(5300)); // 0.7 s left > 0.6 s margin
    assert_eq!(
        src.token().await.unwrap().access_token.expose_secret(),
        "tok-0"
    );
    settle().await;
    clock.advance(Duration::from_millis(200)); // 0.5 s left < margin: must not be served
    let t = src.token().await.unwrap();
    assert_ne!(t.access_token.expose_secret(), "tok-0");
    assert!(fake.calls.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn min_ttl_forces_a_new_token() {
    let (_unused, fake, clock) = setup(3600);
    let src = TokenSource::from_arc(Arc::new(fake.clone()), Arc::new(clock.clone()))
        .with_min_ttl(Duration::from_secs(1800));
    src.token().await.unwrap();
    clock.advance(Duration::from_secs(1900));
    src.token().await.unwrap();
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn invalidate_replaces_a_rejected_token_once() {
    let (src, fake, _clock) = setup(3600);
    let t = src.token().await.unwrap();
    let (a, b) = tokio::join!(
        src.invalidate_and_refresh(&t.access_token),
        src.invalidate_and_refresh(&t.access_token)
    );
    assert_eq!(
        a.unwrap().access_token.expose_secret(),
        b.unwrap().access_token.expose_secret()
    );
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refresh_ahead_is_due_where_the_jitter_puts_it() {
    // The jitter's ends: 70 % and (just under) 80 % of the lifetime.
    let (src, fake, clock) = setup_fixed(3600, 0.0);
    src.token().await.unwrap();
    assert_eq!(src.refresh_due(), Some(at(2520.0)));
    clock.set(at(2519.999));
    src.token().await.unwrap();
    settle().await;
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1, "not due yet");
    clock.set(at(2520.0));
    src.token().await.unwrap();
    settle().await;
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2, "due at 70 %");

    let (src, _, _) = setup_fixed(3600, 0.999_999);
    src.token().await.unwrap();
    let due = src.refresh_due().unwrap().duration_since(at(0.0)).unwrap();
    assert!(
        due > Duration::from_secs(2879) && due < Duration::from_secs(2880),
        "{due:?}"
    );

    // A seeded jitter: the instant the source drew, replayed.
    let (_, fake, clock) = setup(3600);
    let src = TokenSource::new(fake, Arc::new(clock)).with_jitter(Arc::new(SeededJitter::new(42)));
    src.token().await.unwrap();
    let j = SeededJitter::new(42).between(-REFRESH_JITTER, REFRESH_JITTER);
    let expected = to_ms(at(3600.0 * (REFRESH_AHEAD + j)));
    assert_eq!(src.refresh_due().map(to_ms), Some(expected));
}

/// At `due`, a refresh ahead that fails (the fetcher is failing): the held token is still
/// served, the failure counted as the `n`th in a row. The next refresh instant.
async fn fails_at(src: &TokenSource, clock: &ManualClock, due: SystemTime, n: u32) -> SystemTime {
    clock.set(due);
    let served = src.token().await.unwrap();
    assert_eq!(served.access_token.expose_secret(), "tok-0");
    settle().await;
    assert_eq!(src.consecutive_failures(), n);
    src.refresh_due().unwrap()
}

#[tokio::test]
async fn failed_refreshes_back_off_by_the_injected_jitter() {
    // u = 0: refresh at 70 %, each retry after half the doubling backoff (1 s, 2 s, 4 s).
    let (src, fake, clock) = setup_fixed(3600, 0.0);
    src.token().await.unwrap();
    fake.fail.store(true, Ordering::SeqCst);
    let mut due = at(2520.0);
    for (n, wait) in [(1, 1.0), (2, 2.0), (3, 4.0)] {
        let next = fails_at(&src, &clock, due, n).await;
        assert_eq!(next, due + Duration::from_secs_f64(wait), "retry {n}");
        due = next;
    }
    assert_eq!(fake.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn refresh_ahead_retries_land_before_the_held_token_runs_out() {
    // 4 s tokens: refresh ahead at 3 s (u = 0.5), usable until 3.6 s (margin 0.4 s).
    let (src, fake, clock) = setup_fixed(4, 0.5);
    src.token().await.unwrap();
    fake.fail.store(true, Ordering::SeqCst);
    let usable_until = at(3.6);
    let mut due = at(3.0);
    for n in 1..=4 {
        let next = fails_at(&src, &clock, due, n).await;
        assert_eq!(
            fake.deadlines.lock().unwrap().last(),
            Some(&Some(usable_until)),
            "the fetcher is told when the held token stops serving"
        );
        assert!(next > due && next < usable_until, "retry {n} at {next:?}");
        due = next;
    }
    // The first retry keeps its backoff (0.375 s fits); the second would have passed the
    // deadline (3.75 s) and was drawn again within it.
    assert_eq!(fake.calls.load(Ordering::SeqCst), 5);
    fake.fail.store(false, Ordering::SeqCst);
    clock.set(due);
    src.token().await.unwrap();
    settle().await;
    let t = src.token().await.unwrap();
    assert_eq!(t.access_token.expose_secret(), "tok-5", "renewed in time");
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_is_honoured() {
    let (src, fake, clock) = setup_fixed(4, 0.5);
    src.token().await.unwrap();
    fake.fail.store(true, Ordering::SeqCst);
    *fake.retry_after.lock().unwrap() = Some(Duration::from_secs(5));
    clock.set(at(3.0));
    src.token().await.unwrap();
    settle().await;
    assert_eq!(
        src.refresh_due(),
        Some(at(8.0)),
        "not sooner than the server said"
    );
    // Once the held token no longer serves, callers wait for a token without a deadline.
    clock.set(at(3.7));
    assert!(src.token().await.is_err());
    assert_eq!(fake.deadlines.lock().unwrap().last(), Some(&None));
}

#[tokio::test]
async fn watchers_hear_of_new_tokens_and_rescheduled_refreshes() {
    let (src, fake, clock) = setup_fixed(3600, 0.0);
    let mut changes = src.watch();
    src.token().await.unwrap();
    assert!(changes.has_changed().unwrap(), "the first token");
    changes.borrow_and_update();
    src.token().await.unwrap();
    assert!(!changes.has_changed().unwrap(), "a read changes nothing");
    fake.fail.store(true, Ordering::SeqCst);
    clock.set(at(2520.0));
    src.token().await.unwrap();
    settle().await;
    assert!(
        changes.has_changed().unwrap(),
        "the failed refresh was rescheduled"
    );
    assert_eq!(src.refresh_due(), Some(at(2521.0)));
}
