use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::*;
use crate::clock::{Clock as _, ManualClock};
use crate::jitter::{FixedJitter, Jitter as _, SeededJitter};
use crate::scrub::Scrubber;
use crate::token::RawResponse;

fn client(provider: ProviderConfig) -> Client {
    Client::new(ClientConfig::new(
        provider,
        "id",
        ClientSecret::new("s3cret"),
    ))
}

fn genesys() -> Client {
    client(ProviderConfig::Genesys {
        region: crate::provider::genesys::Region::lookup("eu-west-1"),
        token_url: None,
        api_base: None,
    })
}

fn generic() -> Client {
    client(ProviderConfig::Generic {
        endpoint: Endpoint::TokenUrl(Url::parse("https://auth.example.com/t").unwrap()),
        api_base: None,
    })
}

/// What the token endpoint's answer turns into, before the client explains it.
fn refused(status: u16, body: &str) -> Error {
    let raw = RawResponse {
        status,
        content_type: Some("application/json".into()),
        retry_after: None,
        body: body.as_bytes().to_vec(),
    };
    parse_response(&raw, SystemTime::UNIX_EPOCH, None, &Scrubber::new()).unwrap_err()
}

#[test]
fn errors_get_the_providers_hint_and_the_presented_fingerprint() {
    let invalid_client = || refused(401, r#"{"error":"invalid_client"}"#);
    let e = genesys().explain(invalid_client());
    assert!(e.hint.as_deref().unwrap().contains("region"), "{e}");
    assert_eq!(
        e.presented_secret,
        Some(ClientSecret::new("s3cret").fingerprint())
    );
    let e = generic().explain(invalid_client());
    assert!(e.hint.as_deref().unwrap().contains("--auth post"), "{e}");

    let e = generic().explain(refused(400, r#"{"error":"unauthorized_client"}"#));
    assert_eq!(e.kind, ErrorKind::UnauthorizedClient);
    assert!(e.hint.is_some());
    assert_eq!(e.presented_secret, None, "only invalid_client shows it");

    // A hint set closer to the failure wins; configuration errors get none.
    let e = genesys().explain(Error::transport("x").with_hint("own"));
    assert_eq!(e.hint.as_deref(), Some("own"));
    assert_eq!(genesys().explain(Error::config("x")).hint, None);
}

const START: SystemTime = SystemTime::UNIX_EPOCH;

/// A generic client on a warping clock with `jitter` and `retry`.
fn warped(jitter: SharedJitter, retry: RetryPolicy) -> (Client, ManualClock) {
    let clock = ManualClock::warping(START);
    let c = generic()
        .with_clock(Arc::new(clock.clone()))
        .with_jitter(jitter)
        .with_retry(retry);
    (c, clock)
}

/// Run the client's retry loop, with a deadline `deadline` seconds after [`START`] if
/// given, over an operation that fails with `error` every time; the instants of the
/// attempts (seconds after [`START`]) and the final error.
async fn attempts(
    client: &Client,
    clock: &ManualClock,
    error: Error,
    deadline: Option<f64>,
) -> (Vec<f64>, Error) {
    let seen = Mutex::new(Vec::new());
    let deadline = deadline.map(|d| START + Duration::from_secs_f64(d));
    let e = client
        .with_retries(deadline, || {
            let t = clock.now().duration_since(START).unwrap().as_secs_f64();
            seen.lock().unwrap().push(t);
            let e = error.clone();
            async move { Err::<(), _>(e) }
        })
        .await
        .unwrap_err();
    (seen.into_inner().unwrap(), e)
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

#[tokio::test]
async fn backoff_follows_the_injected_jitter_on_the_injected_clock() {
    let (c, clock) = warped(Arc::new(SeededJitter::new(5)), RetryPolicy::default());
    let (seen, e) = attempts(&c, &clock, Error::server_error(Some(503), "down"), None).await;
    // Full jitter: retry n waits u_n × 300 ms × 2^(n-1), u_n replayed from the same seed.
    let replay = SeededJitter::new(5);
    let mut expected = vec![0.0];
    for n in 0..5 {
        let wait = 0.3 * f64::from(1u32 << n) * replay.unit();
        expected.push(expected.last().unwrap() + wait);
    }
    assert!(close(&seen, &expected), "{seen:?} vs {expected:?}");
    assert!(e.message.ends_with("(gave up after 6 attempts)"), "{e}");

    // Retry-After is waited out exactly (the spread is smaller).
    let (c, clock) = warped(Arc::new(FixedJitter(0.5)), RetryPolicy::default());
    let mut limited = Error::rate_limited(Some(429), "slow down");
    limited.retry_after = Some(Duration::from_secs(2));
    let (seen, _) = attempts(&c, &clock, limited, None).await;
    assert!(close(&seen, &[0.0, 2.0, 4.0, 6.0, 8.0, 10.0]), "{seen:?}");
}

#[tokio::test]
async fn the_retry_budget_is_measured_on_the_injected_clock() {
    let policy = RetryPolicy {
        base: Duration::from_secs(1),
        max_total: Duration::from_secs(1),
        ..RetryPolicy::default()
    };
    let (c, clock) = warped(Arc::new(FixedJitter(0.9)), policy);
    let (seen, e) = attempts(&c, &clock, Error::transport("reset"), None).await;
    // 0.9 s fits the 1 s budget; the next wait (1.8 s) does not.
    assert!(close(&seen, &[0.0, 0.9]), "{seen:?}");
    assert!(e.message.contains("gave up after 2 attempts"), "{e}");
}

#[tokio::test]
async fn with_a_deadline_every_retry_lands_before_it() {
    let (c, clock) = warped(Arc::new(FixedJitter(0.5)), RetryPolicy::default());
    let down = || Error::server_error(Some(503), "down");
    // Without one: 0.15 s, 0.3 s, 0.6 s, 1.2 s, 2.4 s apart.
    let (seen, _) = attempts(&c, &clock, down(), None).await;
    assert!(
        close(&seen, &[0.0, 0.15, 0.45, 1.05, 2.25, 4.65]),
        "{seen:?}"
    );
    // Before 1 s: the waits that would pass it are drawn again within what is left.
    let (c, clock) = warped(Arc::new(FixedJitter(0.5)), RetryPolicy::default());
    let (seen, e) = attempts(&c, &clock, down(), Some(1.0)).await;
    assert!(
        close(&seen, &[0.0, 0.15, 0.45, 0.725, 0.8625, 0.93125]),
        "{seen:?}"
    );
    assert!(e.message.ends_with("(gave up after 6 attempts)"), "{e}");
}

#[tokio::test]
async fn with_a_deadline_retry_after_is_still_waited_out() {
    let limited = |secs: f64| {
        let mut e = Error::rate_limited(Some(429), "slow down");
        e.retry_after = Some(Duration::from_secs_f64(secs));
        e
    };
    // 0.3 s apart, as the server said, until the next one would pass the deadline.
    let (c, clock) = warped(Arc::new(FixedJitter(0.5)), RetryPolicy::default());
    let (seen, _) = attempts(&c, &clock, limited(0.3), Some(1.0)).await;
    assert!(close(&seen, &[0.0, 0.3, 0.6, 0.9]), "{seen:?}");
    // A Retry-After past the deadline: no retry sooner; the error goes back with it.
    let (c, clock) = warped(Arc::new(FixedJitter(0.5)), RetryPolicy::default());
    let (seen, e) = attempts(&c, &clock, limited(2.0), Some(1.0)).await;
    assert!(close(&seen, &[0.0]), "{seen:?}");
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
}

/// A server that never finishes its answer (a slow drip) cannot stretch a run past the
/// retry budget: the attempt running when the budget ends is abandoned.
#[tokio::test]
async fn the_retry_budget_is_a_deadline_across_attempts() {
    let clock = ManualClock::new(START);
    let c = generic()
        .with_clock(Arc::new(clock.clone()))
        .with_jitter(Arc::new(FixedJitter(0.0)))
        .with_retry(RetryPolicy::default());
    let attempts = Arc::new(Mutex::new(0u32));
    let seen = attempts.clone();
    let run = tokio::spawn(async move {
        c.with_retries(None, || {
            let n = {
                let mut n = seen.lock().unwrap();
                *n += 1;
                *n
            };
            async move {
                if n == 1 {
                    // The first attempt fails fast; the second never ends.
                    Err::<(), _>(Error::server_error(Some(503), "down"))
                } else {
                    std::future::pending().await
                }
            }
        })
        .await
    });
    // Let the run reach its second (stalled) attempt, then move past the budget.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    clock.advance(RetryPolicy::default().max_total);
    // A bound on the test itself, not a timing assertion: before the fix it never ends.
    let e = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run ends once the budget has passed")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transport);
    assert!(e.is_transient());
    assert!(
        e.message.contains("retry budget of 1m 15s (2 attempts)"),
        "{e}"
    );
    assert_eq!(*attempts.lock().unwrap(), 2);
    // It was reached: not the "could not be reached" of a transport failure.
    let hint = generic().explain(e).hint.unwrap();
    assert!(hint.contains("was reached"), "{hint}");
}

#[test]
fn genesys_api_base_follows_the_login_host_or_the_overriding_origin() {
    let with_url = |region: Option<&str>, url: &str| {
        client(ProviderConfig::Genesys {
            region: region.and_then(crate::provider::genesys::Region::lookup),
            token_url: Some(Url::parse(url).unwrap()),
            api_base: None,
        })
        .resolve_offline()
        .and_then(|r| r.api_base)
        .map(|u| u.to_string())
    };
    let base = genesys().resolve_offline().and_then(|r| r.api_base);
    assert_eq!(base.unwrap().as_str(), "https://api.mypurecloud.ie/");
    // A login host names its region, also without --region.
    assert_eq!(
        with_url(None, "https://login.mypurecloud.de/oauth/token").as_deref(),
        Some("https://api.mypurecloud.de/")
    );
    // An emulator serves the API on its own origin, whatever the region.
    assert_eq!(
        with_url(Some("eu-west-1"), "http://127.0.0.1:9/oauth/token").as_deref(),
        Some("http://127.0.0.1:9/")
    );
}
