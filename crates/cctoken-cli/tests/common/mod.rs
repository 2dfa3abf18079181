//! Shared helpers for CLI tests: an in-process emulator and the real `cctoken` binary.
#![allow(dead_code)]

#[path = "../../../cctoken/tests/support/hostile.rs"]
pub mod hostile;
pub mod keys;
pub mod peers;
#[path = "../../../cctoken-emulator/tests/common/pki.rs"]
pub mod pki;

use assert_cmd::Command;
use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator};

/// The demo secret of the emulator's fixed contract (§10).
pub const DEMO_SECRET: &str = "demo+s3cret/=%&";

/// An emulator running in its own runtime for the duration of a test.
pub struct Emu {
    pub base: String,
    rt: tokio::runtime::Runtime,
    emu: Option<RunningEmulator>,
}

impl Emu {
    pub fn start(config: EmulatorConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let emu = rt
            .block_on(cctoken_emulator::spawn(config))
            .expect("emulator starts");
        let base = emu.base_url().trim_end_matches('/').to_owned();
        Self {
            base,
            rt,
            emu: Some(emu),
        }
    }

    pub fn demo(flavor: Flavor) -> Self {
        Self::start(EmulatorConfig::new(flavor).with_demo())
    }

    /// GET a JSON document from the emulator.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let resp = reqwest::get(&url).await.expect("GET");
            let bytes = resp.bytes().await.expect("body");
            serde_json::from_slice(&bytes).expect("JSON")
        })
    }

    /// Send a request with a JSON body to the emulator (faults).
    pub fn send_json(&self, method: &str, path: &str, body: &str) {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let body = body.to_owned();
        self.rt.block_on(async {
            let r = reqwest::Client::new()
                .request(method, &url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request");
            assert!(r.status().is_success(), "{url}: {}", r.status());
        })
    }

    /// Queue a fault (`POST /_emulator/faults`).
    pub fn fault(&self, json: &str) {
        self.send_json("POST", "/_emulator/faults", json);
    }

    /// The emulator's activity log.
    pub fn activity(&self) -> Vec<cctoken_emulator::ActivityEntry> {
        self.emu.as_ref().expect("running").activity()
    }

    /// Clear all faults.
    pub fn clear_faults(&self) {
        self.send_json("DELETE", "/_emulator/faults", "");
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(e) = self.emu.take() {
            self.rt.block_on(e.shutdown());
        }
    }
}

/// `cctoken get --token-url URL --client-id ID --client-secret-env S` with `S=secret`.
pub fn get(home: &std::path::Path, token_url: &str, id: &str, secret: &str) -> Command {
    let mut c = cctoken(home);
    c.args(["get", "--token-url", token_url])
        .args(["--client-id", id, "--client-secret-env", "S"])
        .env("S", secret);
    c
}

impl Emu {
    /// The emulator's token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base)
    }
}

/// The real binary with a clean environment: no config, no cache, no inherited secrets.
pub fn cctoken(home: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("cctoken").expect("binary");
    for (k, _) in std::env::vars() {
        if k.starts_with("CCTOKEN_") || k.starts_with("GENESYSCLOUD_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("CCTOKEN_GC_CONFIG", home.join("gc-config.toml"))
        .timeout(std::time::Duration::from_secs(120));
    c
}

/// A remembered failure as anyone who can write a cache can plant it — the unsealed negative
/// entry of earlier versions, with `message` and a lifetime of years: (document, its
/// `until_ms`).
pub fn planted_negative(message: &str) -> (String, String) {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
        + 98_203_846_201_000;
    let negative = format!(
        r#"{{"kind":"negative","v":1,"until_ms":{until},"error_kind":"invalid_client","status":401,"message":"{message}","hint":null}}"#
    );
    (negative, until.to_string())
}

/// The claims of a compact JWT (not verified: the tests read what the server issued).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).expect("a compact JWT");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url claims");
    serde_json::from_slice(&raw).expect("JSON claims")
}
