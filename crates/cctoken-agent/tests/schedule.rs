//! When the background task refreshes (issue 16.3): at the source's refresh-ahead instant,
//! by a timer on the injected clock, not at the next look of a periodic tick — and with
//! the timer re-armed after every change: a new token, a failed refresh rescheduled, a
//! token replaced because an API rejected it.
//!
//! The clock is a [`ManualClock`] and the tick is an hour of it, so only the timer can
//! explain a refresh. No consumer asks for a token unless a test says so.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken::clock::{ManualClock, SharedClock};
use cctoken::source::TokenSource;
use cctoken::token::Token;
use cctoken_agent::registry::Registry;
use common::{eventually, Agent, Fake};

/// Longer than any test moves the clock: the backstop never fires.
const TICK: Duration = Duration::from_secs(3600);

/// An agent with one profile `p` of `lifetime` tokens from a scripted fetcher, its
/// background task running on a manual clock.
async fn setup(lifetime: Duration) -> (Agent, Arc<Fake>, ManualClock) {
    let clock = ManualClock::new(SystemTime::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let fake = Fake::lasting("p", shared.clone(), lifetime);
    let mut registry = Registry::new(shared);
    registry.add("p", fake.fetcher(), None);
    let mut agent = Agent::start(registry).await;
    agent.keep_fresh(TICK);
    eventually("the first token", || async { fake.calls() == 1 }).await;
    (agent, fake, clock)
}

fn source(agent: &Agent) -> TokenSource {
    agent
        .state
        .registry()
        .get("p")
        .expect("profile p")
        .source
        .clone()
}

fn held(source: &TokenSource) -> Token {
    source.peek().expect("a usable token")
}

/// Give the background task the chance to do what it should not.
async fn idle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_4s_token_is_refreshed_at_its_refresh_ahead_instant_without_traffic() {
    let (agent, fake, clock) = setup(Duration::from_secs(4)).await;
    let src = source(&agent);
    for n in 1..=3 {
        let issued = held(&src).issued_at;
        let due = src.refresh_due().expect("a refresh instant");
        let ahead = due.duration_since(issued).unwrap();
        assert!(
            ahead >= Duration::from_millis(2800) && ahead <= Duration::from_millis(3200),
            "75 % ± 5 % of 4 s: {ahead:?}"
        );
        clock.set(due - Duration::from_millis(1));
        idle().await;
        assert_eq!(fake.calls(), n, "not before its instant");
        clock.set(due);
        eventually("the refresh ahead", || async { fake.calls() == n + 1 }).await;
        let t = held(&src);
        assert_eq!(t.access_token.expose_secret(), format!("p-{n}"));
        assert_eq!(t.issued_at, due, "fetched at the instant itself");
    }
    agent.stop().await;
}

#[tokio::test]
async fn a_failed_refresh_re_arms_the_timer_for_its_retry() {
    let (agent, fake, clock) = setup(Duration::from_secs(4)).await;
    let src = source(&agent);
    fake.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let first_due = src.refresh_due().unwrap();
    clock.set(first_due);
    eventually("the failed refresh", || async {
        src.consecutive_failures() == 1
    })
    .await;
    let retry = src.refresh_due().unwrap();
    assert!(retry > first_due, "rescheduled");
    assert!(
        retry < held(&src).expires_at(),
        "while the token is still good"
    );
    fake.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.set(retry);
    eventually("the retry", || async { src.consecutive_failures() == 0 }).await;
    assert_eq!(fake.calls(), 3);
    assert_eq!(held(&src).issued_at, retry);
    agent.stop().await;
}

#[tokio::test]
async fn a_replaced_token_re_arms_the_timer_for_the_new_one() {
    let (agent, fake, clock) = setup(Duration::from_secs(4)).await;
    let src = source(&agent);
    let old_due = src.refresh_due().unwrap();
    // An API rejected the token a second in: a consumer has it replaced.
    clock.advance(Duration::from_secs(1));
    let rejected = held(&src).access_token;
    let new = src.invalidate_and_refresh(&rejected).await.unwrap();
    assert_eq!(fake.calls(), 2);
    let new_due = src.refresh_due().unwrap();
    assert!(new_due > old_due);
    // The old instant passes without a refresh; the new one brings it.
    clock.set(old_due);
    idle().await;
    assert_eq!(fake.calls(), 2, "the old timer is gone");
    assert_eq!(held(&src).access_token, new.access_token);
    clock.set(new_due);
    eventually("the refresh of the new token", || async {
        fake.calls() == 3
    })
    .await;
    agent.stop().await;
}
