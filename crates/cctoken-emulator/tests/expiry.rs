//! Exact expiry over real sockets (issue 16.1): a token is accepted until the instant its
//! `expires_in` announces, to the millisecond, on every endpoint that checks tokens.
//!
//! The emulator runs on a loopback port-0 listener with an injected [`ManualClock`] standing
//! at a fractional second, and a real HTTP client (reqwest) talks to it. The clock is moved
//! to 1 ms before the announced expiry, then onto it; nothing here depends on wall time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cctoken_emulator::{spawn_with_state, AppState, EmulatorConfig, Flavor, ManualClock};
use cctoken_emulator::{RunningEmulator, TokenFormat};

const DEMO_SECRET: &str = "demo+s3cret/=%&";
const WHOLE: u64 = 1_700_000_000;
/// The issue instant: 400 ms into a second, where the old `floor(now) + lifetime` expired
/// tokens 400 ms before their announced expiry.
const FRACTION_MS: u64 = 400;
const LIFETIME: u64 = 5;

struct Live {
    emu: RunningEmulator,
    clock: ManualClock,
    http: reqwest::Client,
}

async fn start(flavor: Flavor, format: TokenFormat) -> Live {
    let clock = ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(WHOLE) + Duration::from_millis(FRACTION_MS),
    );
    let mut cfg = EmulatorConfig::new(flavor).with_demo();
    cfg.token_format = format;
    cfg.token_lifetime = Some(Duration::from_secs(LIFETIME));
    let emu = spawn_with_state(AppState::with_clock(cfg, Arc::new(clock.clone())))
        .await
        .expect("emulator starts");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    Live { emu, clock, http }
}

impl Live {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    async fn post_form(&self, path: &str, id: &str, secret: &str, body: String) -> Answer {
        let r = self
            .http
            .post(self.url(path))
            .header("authorization", basic_rfc(id, secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        Answer::read(r).await
    }

    /// A token from the flavor's own grant: `(access_token, expires_in)`.
    async fn token(&self, flavor: Flavor) -> (String, u64) {
        let (id, secret) = client_of(flavor);
        let a = match flavor {
            Flavor::Cxone => {
                let body = form(&[
                    ("grant_type", "password"),
                    ("username", "DEMOACCESSKEY"),
                    ("password", "demo/access+key===="),
                ]);
                self.post_form("/auth/token", id, secret, body).await
            }
            Flavor::Generic | Flavor::Genesys => {
                let body = form(&[("grant_type", "client_credentials")]);
                self.post_form("/oauth/token", id, secret, body).await
            }
        };
        assert_eq!(a.status, 200, "{}", a.text());
        let v = a.json();
        (
            v["access_token"].as_str().expect("access_token").to_owned(),
            v["expires_in"].as_u64().expect("expires_in"),
        )
    }

    async fn introspect(&self, flavor: Flavor, token: &str) -> serde_json::Value {
        let (id, secret) = client_of(flavor);
        let body = form(&[("token", token)]);
        let a = self.post_form("/oauth/introspect", id, secret, body).await;
        assert_eq!(a.status, 200, "{}", a.text());
        a.json()
    }

    /// Status of every protected request the flavor serves, with the token.
    async fn protected(&self, flavor: Flavor, token: &str) -> Vec<(String, u16)> {
        let requests: &[(&str, &str)] = match flavor {
            Flavor::Cxone => &[("GET", "/inContactAPI/services/v25.0/server-time")],
            Flavor::Generic | Flavor::Genesys => &[
                ("GET", "/api/v2/tokens/me"),
                ("HEAD", "/api/v2/tokens/me"),
                ("GET", "/api/v2/users/me"),
            ],
        };
        let mut out = Vec::new();
        for (method, path) in requests {
            let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let r = self
                .http
                .request(m, self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            out.push((format!("{method} {path}"), r.status().as_u16()));
        }
        out
    }
}

/// The demo client of the flavor.
fn client_of(flavor: Flavor) -> (&'static str, &'static str) {
    match flavor {
        Flavor::Cxone => ("demo-app", "demo-app-secret"),
        Flavor::Generic | Flavor::Genesys => ("demo-client", DEMO_SECRET),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// RFC 6749 §2.3.1 Basic (form-urlencoded id and secret), which every flavor accepts.
fn basic_rfc(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    async fn read(r: reqwest::Response) -> Answer {
        let status = r.status().as_u16();
        let body = r.bytes().await.expect("body").to_vec();
        Answer { status, body }
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

fn jwt_claims(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// The accepted statuses of each protected request while the token lives.
fn alive(flavor: Flavor) -> Vec<u16> {
    match flavor {
        Flavor::Cxone => vec![200],
        // tokens/me GET, HEAD; any other /api/v2 path is authenticated, then 404.
        Flavor::Generic | Flavor::Genesys => vec![200, 200, 404],
    }
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
        let statuses: Vec<u16> = live
            .protected(flavor, &token)
            .await
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(statuses, alive(flavor), "{flavor} just before expiry");
        let v = live.introspect(flavor, &token).await;
        assert_eq!(v["active"], true, "{flavor}: {v}");
        assert_eq!(v["exp"], exp_claim, "{flavor}: {v}");
        assert_eq!(v["iat"], WHOLE, "{flavor}: {v}");

        // At the announced expiry: refused everywhere, for that reason.
        live.clock.advance(Duration::from_millis(1));
        for (what, status) in live.protected(flavor, &token).await {
            assert_eq!(status, 401, "{flavor}: {what} at expiry");
        }
        let reasons: Vec<String> = live
            .emu
            .activity()
            .iter()
            .filter(|e| e.endpoint == "api" && e.status == 401)
            .map(|e| e.reason.clone())
            .collect();
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| r == "token expired"),
            "{flavor}: {reasons:?}"
        );
        let v = live.introspect(flavor, &token).await;
        assert_eq!(v, serde_json::json!({"active": false}), "{flavor}");
        live.emu.shutdown().await;
    }
}
