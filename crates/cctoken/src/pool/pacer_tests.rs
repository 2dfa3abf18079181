use super::*;
use crate::jitter::{Jitter as _, SeededJitter};

const T0: u64 = 1_700_000_000_000;
const MAX_WAIT: Duration = Duration::from_secs(2);

fn limit(s: &str) -> Option<ApiRateLimit> {
    Some(s.parse().unwrap())
}

fn all(_: usize) -> bool {
    true
}

fn go(p: Plan) -> (usize, u64) {
    match p {
        Plan::Go { slot, at } => (slot, at),
        other => panic!("not sent: {other:?}"),
    }
}

fn refused_at(p: Plan) -> u64 {
    match p {
        Plan::Refuse { at } => at,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn one_token_takes_ninety_percent_then_waits_then_is_refused_with_the_free_instant() {
    // 10 per 10 s: a budget of 9. One token, as with pool_size = 1.
    let mut p = Pacer::new(1, limit("10/10s"), MAX_WAIT);
    for i in 0..9 {
        assert_eq!(go(p.plan(T0 + i * 1000, all)), (0, T0 + i * 1000));
    }
    // The 10th at 9 s: the first call leaves the window at 10 s, within max_wait: it waits
    // for that instant (a reservation).
    assert_eq!(go(p.plan(T0 + 9_000, all)), (0, T0 + 10_000));
    assert_eq!(p.waited(), 1);
    // The next one also at 9 s: the second call leaves at 11 s, exactly max_wait away.
    assert_eq!(go(p.plan(T0 + 9_000, all)), (0, T0 + 11_000));
    // One more would wait until 12 s: refused, told the exact instant.
    assert_eq!(refused_at(p.plan(T0 + 9_000, all)), T0 + 12_000);
    assert_eq!(p.refused(), 1);
    // A refused call took nothing: at 10.5 s the free slot is still 12 s.
    assert_eq!(go(p.plan(T0 + 10_500, all)), (0, T0 + 12_000));
    // Nine sent, three reserved, the first one gone.
    assert_eq!(p.slot_use(0, T0 + 10_500).in_window, 9 + 3 - 1);
}

#[test]
fn calls_go_to_the_least_used_token_and_spread_evenly() {
    let mut p = Pacer::new(3, limit("100/60s"), MAX_WAIT);
    let mut per = [0u32; 3];
    for i in 0..30 {
        let (slot, at) = go(p.plan(T0 + i, all));
        assert_eq!(at, T0 + i, "no waiting while there is room");
        per[slot] += 1;
    }
    assert_eq!(per, [10, 10, 10]);
    // Uneven use (a token minted late): the new one gets the calls until it catches up.
    let mut p = Pacer::new(2, limit("100/60s"), MAX_WAIT);
    for i in 0..5 {
        assert_eq!(go(p.plan(T0 + i, |s| s == 0)).0, 0);
    }
    let next: Vec<usize> = (0..7).map(|i| go(p.plan(T0 + 10 + i, all)).0).collect();
    assert_eq!(next, [1, 1, 1, 1, 1, 0, 1]);
}

#[test]
fn a_full_token_is_skipped_while_another_has_room() {
    let mut p = Pacer::new(2, limit("2/10s"), MAX_WAIT);
    // Budget 1 per token (90 % of 2, rounded down).
    assert_eq!(go(p.plan(T0, all)), (0, T0));
    assert_eq!(go(p.plan(T0, all)), (1, T0));
    assert_eq!(refused_at(p.plan(T0 + 5_000, all)), T0 + 10_000);
    assert_eq!(go(p.plan(T0 + 8_000, all)), (0, T0 + 10_000));
    assert_eq!(go(p.plan(T0 + 8_500, all)), (1, T0 + 10_000));
    // Both reserved at 10 s: the next frees at 20 s.
    assert_eq!(refused_at(p.plan(T0 + 9_000, all)), T0 + 20_000);
}

#[test]
fn no_token_ready_is_not_a_refusal() {
    let mut p = Pacer::new(2, limit("10/1s"), MAX_WAIT);
    assert_eq!(p.plan(T0, |_| false), Plan::NoToken);
    assert_eq!(p.refused(), 0);
}

#[test]
fn a_429_cools_its_token_and_the_next_call_goes_elsewhere() {
    let mut p = Pacer::new(2, limit("100/60s"), MAX_WAIT);
    assert_eq!(go(p.plan(T0, all)).0, 0);
    let c = p.throttled(0, T0 + 10, Some(Duration::from_secs(5)));
    assert_eq!(
        c,
        Cooling {
            until: T0 + 5_010,
            shared: false
        }
    );
    for i in 0..5 {
        assert_eq!(go(p.plan(T0 + 20 + i, all)).0, 1, "token 0 cools");
    }
    let u = p.slot_use(0, T0 + 100);
    assert_eq!((u.throttled, u.cooling_until), (1, Some(T0 + 5_010)));
    // Once it has cooled down it is the least used again.
    assert_eq!(go(p.plan(T0 + 5_010, all)), (0, T0 + 5_010));
    assert_eq!(p.throttled_total(), 1);
}

#[test]
fn with_one_token_a_short_retry_after_is_waited_and_a_long_one_refused() {
    let mut p = Pacer::new(1, limit("300/60s"), MAX_WAIT);
    go(p.plan(T0, all));
    p.throttled(0, T0, Some(Duration::from_secs(1)));
    assert_eq!(go(p.plan(T0, all)), (0, T0 + 1_000));
    p.throttled(0, T0 + 1_000, Some(Duration::from_secs(30)));
    assert_eq!(refused_at(p.plan(T0 + 1_000, all)), T0 + 31_000);
}

#[test]
fn two_tokens_throttled_within_one_window_cool_the_whole_profile() {
    let mut p = Pacer::new(3, limit("100/10s"), MAX_WAIT);
    let first = p.throttled(0, T0, Some(Duration::from_secs(3)));
    assert!(!first.shared);
    assert_eq!(go(p.plan(T0 + 1, all)).0, 1);
    let second = p.throttled(1, T0 + 9_000, Some(Duration::from_secs(4)));
    assert!(second.shared, "within the 10 s window of the first");
    // Token 2 never answered 429, but the profile cools: refused until 13 s.
    assert_eq!(refused_at(p.plan(T0 + 9_001, all)), T0 + 13_000);
    assert_eq!(p.slot_use(2, T0 + 9_001).cooling_until, Some(T0 + 13_000));
    // Then the least used of the tokens whose own cooling is over: 0 and 2 took no call.
    assert_eq!(go(p.plan(T0 + 12_000, all)), (0, T0 + 13_000));
    assert_eq!(go(p.plan(T0 + 12_000, all)), (2, T0 + 13_000));
    // A third 429 a whole window after the last is a token's own again.
    let later = p.throttled(2, T0 + 30_000, Some(Duration::from_secs(1)));
    assert!(!later.shared);
}

#[test]
fn a_429_without_retry_after_cools_for_the_window_or_the_default() {
    let mut p = Pacer::new(1, limit("50/5s"), MAX_WAIT);
    assert_eq!(p.throttled(0, T0, None).until, T0 + 5_000);
    let mut p = Pacer::new(1, limit("50/10m"), MAX_WAIT);
    assert_eq!(p.throttled(0, T0, None).until, T0 + ms(MAX_DEFAULT_COOL));
    let mut p = Pacer::new(1, None, MAX_WAIT);
    assert_eq!(p.throttled(0, T0, None).until, T0 + ms(DEFAULT_COOL));
}

#[test]
fn without_a_limit_calls_rotate_and_never_wait() {
    let mut p = Pacer::new(3, None, MAX_WAIT);
    let slots: Vec<usize> = (0..6).map(|i| go(p.plan(T0 + i, all)).0).collect();
    assert_eq!(slots, [0, 1, 2, 0, 1, 2]);
    for i in 0..10_000 {
        assert_eq!(go(p.plan(T0 + 10, all)).1, T0 + 10, "call {i}");
    }
    assert_eq!(p.slot_use(0, T0 + 10).in_window, 0);
}

/// Whatever the arrivals, no token is ever planned more than its budget in any window, and
/// every refusal names an instant at which a call would indeed have been planned.
#[test]
fn random_arrivals_never_overfill_a_window() {
    let l: ApiRateLimit = "20/2s".parse().unwrap();
    let rng = SeededJitter::new(42);
    for tokens in [1usize, 3] {
        let mut p = Pacer::new(tokens, Some(l), MAX_WAIT);
        let mut sent: Vec<Vec<u64>> = vec![Vec::new(); tokens];
        let mut now = T0;
        for _ in 0..5_000 {
            now += (rng.unit() * 60.0) as u64;
            match p.plan(now, all) {
                Plan::Go { slot, at } => {
                    assert!(at >= now && at - now <= 2_000);
                    sent[slot].push(at);
                }
                Plan::Refuse { at } => {
                    assert!(at > now + 2_000);
                    // Nothing earlier: every token is full (or reserved) until `at`.
                    for (i, log) in sent.iter().enumerate() {
                        let busy = log.iter().filter(|&&t| t + 2_000 > at - 1).count();
                        assert!(
                            busy >= l.budget() as usize,
                            "token {i} had room before {at}"
                        );
                    }
                }
                Plan::NoToken => unreachable!(),
            }
        }
        for log in &sent {
            assert!(log.windows(2).all(|w| w[0] <= w[1]));
            for (k, &t) in log.iter().enumerate() {
                let in_window = log[k..].iter().take_while(|&&u| u < t + 2_000).count();
                assert!(in_window <= l.budget() as usize);
            }
        }
        assert!(
            p.refused() > 0 && p.waited() > 0,
            "the load was over capacity"
        );
    }
}
