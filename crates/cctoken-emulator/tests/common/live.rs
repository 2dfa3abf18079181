//! An emulator on a loopback port-0 listener with an injected clock, and a real HTTP client
//! (reqwest) talking to it: for checks that must hold over real sockets.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken_emulator::RunningEmulator;
use cctoken_emulator::{spawn_with_state, AppState, EmulatorConfig, Flavor, ManualClock};

use super::{basic_rfc, form, Answer, DEMO_SECRET};

/// The CXone demo app, access key and its secret.
pub const CXONE_APP: (&str, &str) = ("demo-app", "demo-app-secret");
const CXONE_KEY: (&str, &str) = ("DEMOACCESSKEY", "demo/access+key====");

/// A running emulator, its clock and a client.
pub struct Live {
    pub emu: RunningEmulator,
    pub clock: ManualClock,
    http: reqwest::Client,
}

impl Live {
    /// Serve `config` with a clock standing at `start`.
    pub async fn start(config: EmulatorConfig, start: SystemTime) -> Live {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self::start_with(config, start, http).await
    }

    /// [`Self::start`] with the client to talk to it (e.g. one trusting a test CA).
    pub async fn start_with(
        config: EmulatorConfig,
        start: SystemTime,
        http: reqwest::Client,
    ) -> Live {
        let clock = ManualClock::new(start);
        let emu = spawn_with_state(AppState::with_clock(config, Arc::new(clock.clone())))
            .await
            .expect("emulator starts");
        Live { emu, clock, http }
    }

    /// POST a form body without an Authorization header, over `client` (or the default).
    pub async fn post_body(
        &self,
        client: Option<&reqwest::Client>,
        path: &str,
        body: String,
    ) -> Answer {
        Self::answer(
            client
                .unwrap_or(&self.http)
                .post(self.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// GET a JSON document over `client`.
    pub async fn get_json_with(&self, client: &reqwest::Client, path: &str) -> serde_json::Value {
        Self::answer(client.get(self.url(path))).await.json()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    async fn answer(r: reqwest::RequestBuilder) -> Answer {
        let r = r.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("body").to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// POST a form body with RFC 6749 Basic credentials (every flavor accepts them).
    pub async fn post_form(&self, path: &str, id: &str, secret: &str, body: String) -> Answer {
        Self::answer(
            self.http
                .post(self.url(path))
                .header("authorization", basic_rfc(id, secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// A token request of `id` with the flavor's grant (client credentials; CXone: the
    /// demo access key's password grant at `/auth/token`).
    pub async fn token_request(&self, flavor: Flavor, id: &str, secret: &str) -> Answer {
        match flavor {
            Flavor::Cxone => {
                let body = form(&[
                    ("grant_type", "password"),
                    ("username", CXONE_KEY.0),
                    ("password", CXONE_KEY.1),
                ]);
                self.post_form("/auth/token", id, secret, body).await
            }
            Flavor::Generic | Flavor::Genesys => {
                let body = form(&[("grant_type", "client_credentials")]);
                self.post_form("/oauth/token", id, secret, body).await
            }
        }
    }

    /// A token of the flavor's demo client: `(access_token, expires_in)`.
    pub async fn token(&self, flavor: Flavor) -> (String, u64) {
        let (id, secret) = demo_client(flavor);
        let a = self.token_request(flavor, id, secret).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let v = a.json();
        (
            v["access_token"].as_str().expect("access_token").to_owned(),
            v["expires_in"].as_u64().expect("expires_in"),
        )
    }

    /// Introspect `token` as the flavor's demo client.
    pub async fn introspect(&self, flavor: Flavor, token: &str) -> serde_json::Value {
        let (id, secret) = demo_client(flavor);
        let a = self
            .post_form("/oauth/introspect", id, secret, form(&[("token", token)]))
            .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a.json()
    }

    /// `METHOD path` with `Authorization: Bearer token`.
    pub async fn bearer(&self, method: &str, path: &str, token: &str) -> Answer {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        Self::answer(self.http.request(m, self.url(path)).bearer_auth(token)).await
    }

    /// GET a JSON document (the control surface).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        Self::answer(self.http.get(self.url(path))).await.json()
    }
}

/// The flavor's demo client id and secret.
pub fn demo_client(flavor: Flavor) -> (&'static str, &'static str) {
    match flavor {
        Flavor::Cxone => CXONE_APP,
        Flavor::Generic | Flavor::Genesys => ("demo-client", DEMO_SECRET),
    }
}
