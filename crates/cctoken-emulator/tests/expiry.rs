//! Exact expiry over real sockets (issue 16.1): a token is accepted until the instant its
//! `expires_in` announces, to the millisecond, on every endpoint that checks tokens.
//!
//! The emulator runs on a loopback port-0 listener with an injected clock standing at a
//! fractional second, and a real HTTP client talks to it. The clock is moved to 1 ms before
//! the announced expiry, then onto it; nothing here depends on wall time.

mod common;

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken_emulator::{EmulatorConfig, Flavor, TokenFormat};
use common::live::Live;

const WHOLE: u64 = 1_700_000_000;
/// The issue instant: 400 ms into a second, where the old `floor(now) + lifetime` expired
/// tokens 400 ms before their announced expiry.
const FRACTION_MS: u64 = 400;
const LIFETIME: u64 = 5;

async fn start(flavor: Flavor, format: TokenFormat) -> Live {
    let mut cfg = EmulatorConfig::new(flavor).with_demo();
    cfg.token_format = format;
    cfg.token_lifetime = Some(Duration::from_secs(LIFETIME));
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(WHOLE * 1000 + FRACTION_MS);
    Live::start(cfg, at).await
}

/// Every protected request the flavor serves, and its status while the token lives.
fn protected(flavor: Flavor) -> &'static [(&'static str, &'static str, u16)] {
    match flavor {
        Flavor::Cxone => &[("GET", "/inContactAPI/services/v25.0/server-time", 200)],
        // Any other /api/v2 path is authenticated, then 404.
        Flavor::Generic | Flavor::Genesys => &[
            ("GET", "/api/v2/tokens/me", 200),
            ("HEAD", "/api/v2/tokens/me", 200),
            ("GET", "/api/v2/users/me", 404),
        ],
    }
}

fn jwt_claims(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

#[tokio::test]
async fn tokens_live_exactly_as_long_as_expires_in_announces() {
    for (flavor, format) in [
        (Flavor::Generic, TokenFormat::Opaque),
        (Flavor::Genesys, TokenFormat::Jwt),
        (Flavor::Cxone, TokenFormat::Jwt),
    ] {
        let live = start(flavor, format).await;
        let (token, expires_in) = live.token(flavor).await;
        assert_eq!(expires_in, LIFETIME, "{flavor}");
        // Whole seconds in claims: `iat` rounded down, `exp` rounded up past the instant.
        let exp_claim = WHOLE + LIFETIME + 1;
        if format == TokenFormat::Jwt {
            let c = jwt_claims(&token);
            assert_eq!(c["iat"], WHOLE, "{flavor}: {c}");
            assert_eq!(c["exp"], exp_claim, "{flavor}: {c}");
        }

        // 1 ms before the announced expiry (issue instant + expires_in): alive everywhere.
        live.clock
            .advance(Duration::from_millis(expires_in * 1000 - 1));
        for &(method, path, alive) in protected(flavor) {
            let a = live.bearer(method, path, &token).await;
            assert_eq!(
                a.status, alive,
                "{flavor}: {method} {path} just before expiry"
            );
        }
        let v = live.introspect(flavor, &token).await;
        assert_eq!(v["active"], true, "{flavor}: {v}");
        assert_eq!(v["exp"], exp_claim, "{flavor}: {v}");
        assert_eq!(v["iat"], WHOLE, "{flavor}: {v}");

        // At the announced expiry: refused everywhere, for that reason.
        live.clock.advance(Duration::from_millis(1));
        for &(method, path, _) in protected(flavor) {
            let a = live.bearer(method, path, &token).await;
            assert_eq!(a.status, 401, "{flavor}: {method} {path} at expiry");
        }
        let reasons: Vec<String> = live
            .emu
            .activity()
            .iter()
            .filter(|e| e.endpoint == "api" && e.status == 401)
            .map(|e| e.reason.clone())
            .collect();
        assert_eq!(
            reasons,
            vec!["token expired"; protected(flavor).len()],
            "{flavor}"
        );
        let v = live.introspect(flavor, &token).await;
        assert_eq!(v, serde_json::json!({"active": false}), "{flavor}");
        live.emu.shutdown().await;
    }
}
