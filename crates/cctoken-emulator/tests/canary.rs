//! A canary secret must never appear in activity, stats, responses or tracing output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use cctoken_emulator::{AccessKey, ClientEntry, EmulatorConfig, Flavor};
use common::{basic_raw, basic_rfc, form, Emu};

const CANARY: &str = "CANARY-7f3a9b2c-SECRET";
const KEY_CANARY: &str = "KEYCANARY-51d0e+==";

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn canary_secret_never_leaks() {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut c = ClientEntry::new("canary", CANARY);
    c.access_keys = vec![AccessKey {
        id: "K".into(),
        secret: KEY_CANARY.into(),
    }];
    c.grants = vec![
        "client_credentials".into(),
        "password".into(),
        "refresh_token".into(),
    ];
    let mut texts = Vec::new();
    for flavor in [Flavor::Generic, Flavor::Genesys, Flavor::Cxone] {
        let emu = Emu::new(EmulatorConfig::new(flavor).with_client(c.clone()));
        let token_path = if flavor == Flavor::Cxone {
            "/auth/token"
        } else {
            "/oauth/token"
        };
        let wrong = format!("{CANARY}x");
        let bodies = [
            (
                Some(basic_rfc("canary", CANARY)),
                "grant_type=client_credentials".to_owned(),
            ),
            (
                Some(basic_raw("canary", CANARY)),
                "grant_type=client_credentials&duration=1".to_owned(),
            ),
            (
                Some(basic_rfc("canary", &wrong)),
                "grant_type=client_credentials".to_owned(),
            ),
            (
                None,
                form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "canary"),
                    ("client_secret", &wrong),
                ]),
            ),
            (
                Some(basic_rfc("canary", CANARY)),
                form(&[("client_secret", CANARY), ("grant_type", "x")]),
            ),
            (
                Some(basic_rfc("canary", CANARY)),
                form(&[
                    ("grant_type", "password"),
                    ("username", "K"),
                    ("password", KEY_CANARY),
                ]),
            ),
            (
                Some(basic_rfc("canary", CANARY)),
                form(&[
                    ("grant_type", "password"),
                    ("username", "K"),
                    ("password", "nope"),
                ]),
            ),
            (
                Some(basic_rfc("canary", CANARY)),
                form(&[("grant_type", "client_credentials"), (CANARY, CANARY)]),
            ),
        ];
        for (auth, body) in bodies {
            let a = emu.post(token_path, auth.clone(), &body).await;
            texts.push(String::from_utf8_lossy(&a.body).into_owned());
            let intro = emu
                .post("/oauth/introspect", auth, &form(&[("token", CANARY)]))
                .await;
            texts.push(String::from_utf8_lossy(&intro.body).into_owned());
        }
        texts.push(
            emu.get("/_emulator/activity", None)
                .await
                .json()
                .to_string(),
        );
        texts.push(emu.get("/_emulator/stats", None).await.json().to_string());
        texts.push(emu.get("/_emulator/clients", None).await.json().to_string());
        texts.push(format!("{:?} {:?}", emu.state, emu.state.config()));
    }
    texts.push(String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned());
    assert!(
        texts.last().unwrap().contains("emulator request"),
        "tracing was captured"
    );
    for t in &texts {
        for needle in [CANARY, KEY_CANARY, "Q0FOQVJZ"] {
            assert!(!t.contains(needle), "{needle} leaked in: {t}");
        }
    }
}
