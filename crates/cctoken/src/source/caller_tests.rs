use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::ManualClock;
use crate::error::{Class, Error, ErrorKind};
use crate::secret::AccessToken;
use crate::source::{BoxFuture, Fetch, Held, Origin, TokenSource};
use crate::token::Token;

/// Issues `tok-N` tokens of a set lifetime from `origin`, and remembers which token each
/// call said it held.
struct Issuer {
    calls: AtomicUsize,
    lifetime: Duration,
    origin: Origin,
    clock: ManualClock,
    held: Mutex<Vec<Option<String>>>,
}

impl Fetch for Arc<Issuer> {
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move { self.fetch_traced(held).await.map(|(t, _)| t) })
    }

    fn fetch_traced<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<(Token, Origin), Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let was = held
                .token
                .map(|t| t.access_token.expose_secret().to_owned());
            self.held.lock().unwrap().push(was);
            tokio::task::yield_now().await;
            let token = Token {
                access_token: AccessToken::new(format!("tok-{n}")),
                token_type: "Bearer",
                issued_at: crate::clock::Clock::now(&self.clock),
                expires_in: self.lifetime,
                expires_in_defaulted: false,
                scope: None,
                refresh_token: None,
                id_token: None,
            };
            Ok((token, self.origin))
        })
    }
}

fn setup(lifetime: u64, origin: Origin) -> (TokenSource, Arc<Issuer>, ManualClock) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let issuer = Arc::new(Issuer {
        calls: AtomicUsize::new(0),
        lifetime: Duration::from_secs(lifetime),
        origin,
        clock: clock.clone(),
        held: Mutex::new(Vec::new()),
    });
    let src = TokenSource::new(issuer.clone(), Arc::new(clock.clone()));
    (src, issuer, clock)
}

#[tokio::test]
async fn token_now_reads_what_token_fetched_and_generation_tells_changes() {
    let (src, issuer, clock) = setup(3600, Origin::Cache);
    assert!(src.token_now().is_none(), "nothing before the first fetch");
    let g0 = src.generation();
    let t = src.token().await.unwrap();
    assert_eq!(src.origin(), Origin::Cache);
    let g1 = src.generation();
    assert_ne!(g0, g1);
    let now = src.token_now().expect("the fetched token");
    assert_eq!(now.access_token, t.access_token);
    assert_eq!(src.generation(), g1, "reading does not move it");
    // Past the margin the synchronous read has nothing; the async one fetches.
    clock.advance(Duration::from_secs(3560));
    assert!(src.token_now().is_none());
    src.token().await.unwrap();
    assert_ne!(src.generation(), g1);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_now_starts_the_refresh_ahead_when_it_is_due() {
    let (src, issuer, clock) = setup(3600, Origin::Server);
    src.token().await.unwrap();
    clock.advance(Duration::from_secs(3000)); // 83 %: past every jittered refresh point
    let t = src.token_now().expect("still within the margin");
    assert_eq!(t.access_token.expose_secret(), "tok-0");
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        issuer.calls.load(Ordering::SeqCst),
        2,
        "one background refresh"
    );
    assert_eq!(
        src.token_now().unwrap().access_token.expose_secret(),
        "tok-1"
    );
    assert_eq!(src.origin(), Origin::Server);
}

#[tokio::test]
async fn invalidate_drops_only_the_current_token_and_the_next_fetch_is_shared() {
    let (src, issuer, _clock) = setup(3600, Origin::Server);
    let t = src.token().await.unwrap();
    assert!(!src.invalidate(&AccessToken::new("someone else's")));
    assert!(src.token_now().is_some());
    let g = src.generation();
    assert!(src.invalidate(&t.access_token));
    assert!(!src.invalidate(&t.access_token), "dropped once");
    assert_ne!(src.generation(), g);
    assert!(
        src.token_now().is_none(),
        "the rejected token is never served"
    );
    assert_eq!(
        issuer.calls.load(Ordering::SeqCst),
        1,
        "dropping fetches nothing"
    );
    let tokens = futures_join(&src, 20).await;
    assert!(tokens.iter().all(|t| t == "tok-1"));
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 2);
    // The fetcher was told which token was rejected, so a cache can skip it.
    let held = issuer.held.lock().unwrap().clone();
    assert_eq!(held, vec![None, Some("tok-0".to_owned())]);
}

async fn futures_join(src: &TokenSource, n: usize) -> Vec<String> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let s = src.clone();
        handles.push(tokio::spawn(async move { s.token().await.unwrap() }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().access_token.expose_secret().to_owned());
    }
    out
}

#[tokio::test]
async fn token_for_fetches_when_the_current_token_is_too_short_and_says_when_none_can_be() {
    let (src, issuer, clock) = setup(3600, Origin::Server);
    src.token().await.unwrap();
    // 3600 s left: enough for 1800 s.
    let t = src.token_for(Duration::from_secs(1800)).await.unwrap();
    assert_eq!(t.access_token.expose_secret(), "tok-0");
    clock.advance(Duration::from_secs(2000));
    let t = src.token_for(Duration::from_secs(1800)).await.unwrap();
    assert_eq!(t.access_token.expose_secret(), "tok-1");
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 2);
    // Tokens live an hour: two hours cannot be had.
    let e = src.token_for(Duration::from_secs(7200)).await.unwrap_err();
    assert_eq!((e.kind, e.class), (ErrorKind::Config, Class::Permanent));
    assert!(e.message.contains("7200"), "{}", e.message);
    assert!(e.hint.is_some());
    let _ = SystemTime::now();
}

#[tokio::test]
async fn served_until_is_the_earlier_of_the_refresh_ahead_and_the_margin() {
    let (src, _issuer, clock) = setup(3600, Origin::Server);
    assert!(src.served_until().is_none(), "no token yet");
    let t = src.token().await.unwrap();
    let until = src.served_until().expect("a token");
    // Refresh ahead at 75 % ± 5 % of the lifetime comes before the 60 s margin.
    let issued = t.issued_at;
    assert!(until >= issued + Duration::from_secs(2520), "{until:?}");
    assert!(until <= issued + Duration::from_secs(2880), "{until:?}");
    // A short-lived token: the margin (a tenth of 100 s) can come first only when the
    // refresh point is past it, which it never is; the bound still holds.
    let (short, _i, _c) = setup(100, Origin::Server);
    let st = short.token().await.unwrap();
    let su = short.served_until().unwrap();
    assert!(su <= st.expires_at() - Duration::from_secs(10));
    // Dropped by invalidate: nothing is served as is any more.
    clock.advance(Duration::from_secs(1));
    assert!(src.invalidate(&t.access_token));
    let after = src.served_until().unwrap();
    assert!(
        after <= clock_now(&clock),
        "an invalidated token is never served as is"
    );
}

fn clock_now(clock: &ManualClock) -> SystemTime {
    crate::clock::Clock::now(clock)
}
