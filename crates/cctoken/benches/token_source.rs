//! `TokenSource::token()` on a fresh token from 2 threads (SPEC §11: ≥ 20 M calls/s).
//!
//! Prints calls/s for the lock-free `TokenSource` and, as a baseline measured in the same
//! run, for the obvious alternative (a `Mutex<Option<Token>>` that every call locks), and
//! the ratio of the two. Run: `cargo bench -p cctoken --bench token_source`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cctoken::clock::SystemClock;
use cctoken::error::Error;
use cctoken::secret::AccessToken;
use cctoken::source::{BoxFuture, Fetch, Held, TokenSource};
use cctoken::token::Token;

const THREADS: usize = 2;
const CALLS_PER_THREAD: usize = 5_000_000;

fn token() -> Token {
    Token {
        access_token: AccessToken::new("x".repeat(900)),
        token_type: "Bearer",
        issued_at: SystemTime::now(),
        expires_in: Duration::from_secs(86_400),
        expires_in_defaulted: false,
        scope: None,
        refresh_token: None,
        id_token: None,
    }
}

struct Once;
impl Fetch for Once {
    fn fetch<'a>(&'a self, _held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async { Ok(token()) })
    }
}

fn run_threads(f: impl Fn() + Send + Sync + 'static) -> f64 {
    let f = Arc::new(f);
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || f())
        })
        .collect();
    for h in handles {
        h.join().expect("bench thread");
    }
    (THREADS * CALLS_PER_THREAD) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let src = TokenSource::new(Once, Arc::new(SystemClock));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    rt.block_on(src.token()).expect("first token");

    let s = src.clone();
    let lock_free = run_threads(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        rt.block_on(async {
            for _ in 0..CALLS_PER_THREAD {
                let t = s.token().await.expect("token");
                std::hint::black_box(&t);
            }
        });
    });

    let m = Arc::new(Mutex::new(Some(token())));
    let baseline = run_threads(move || {
        for _ in 0..CALLS_PER_THREAD {
            let t = m.lock().expect("lock").as_ref().map(Token::clone);
            std::hint::black_box(&t);
        }
    });

    println!(
        "TokenSource::token() fresh, {THREADS} threads: {:.1} M calls/s",
        lock_free / 1e6
    );
    println!(
        "baseline Mutex<Option<Token>> clone, {THREADS} threads: {:.1} M calls/s",
        baseline / 1e6
    );
    println!(
        "ratio TokenSource / mutex baseline: {:.2}x",
        lock_free / baseline
    );
    println!(
        "goal >= 20 M calls/s: {} ({:.2}x of goal)",
        if lock_free >= 20e6 { "met" } else { "NOT met" },
        lock_free / 20e6
    );
}
