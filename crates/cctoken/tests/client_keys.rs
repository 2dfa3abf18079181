//! The library's `Client` with a signing key against the in-process emulator: a retry signs a
//! new assertion (fresh `jti`, SPEC §14), and the method follows the credential the
//! configuration holds (key > certificate > secret) among what discovery lists.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use cctoken::auth::key::SigningKey;
use cctoken::auth::AuthMethod;
use cctoken::client::{Client, RetryPolicy};
use cctoken::config::ClientConfig;
use cctoken::provider::{Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use cctoken_emulator::{ClientEntry, EmulatorConfig, Flavor, Jwks};
use ring::signature::EcdsaKeyPair;

fn pem(der: &[u8]) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn p256_key() -> SigningKey {
    let rng = ring::rand::SystemRandom::new();
    let der = EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .unwrap();
    SigningKey::from_text(pem(der.as_ref()).as_bytes()).unwrap()
}

#[tokio::test]
async fn a_retry_signs_a_new_assertion_and_discovery_picks_private_key_jwt() {
    let key = p256_key();
    let jwks =
        Jwks::from_value(&serde_json::json!({"keys": [key.public_jwk(Some("k1"))]})).unwrap();
    let emu = cctoken_emulator::spawn(
        EmulatorConfig::new(Flavor::Generic).with_client(ClientEntry::keyed("bot").with_jwks(jwks)),
    )
    .await
    .unwrap();
    let base = emu.base_url().trim_end_matches('/').to_owned();
    let mut cfg = ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::Issuer(url::Url::parse(&base).unwrap()),
            api_base: None,
        },
        "bot",
        ClientSecret::new(""),
    );
    cfg.keys.signing_key = Some(Arc::new(key));
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let client = Client::new(cfg)
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(1),
            max_total: Duration::from_secs(20),
        })
        .with_trace(Arc::new(move |l: &str| {
            sink.lock().unwrap().push(l.to_owned())
        }));
    reqwest::Client::new()
        .post(format!("{base}/_emulator/faults"))
        .header("Content-Type", "application/json")
        .body(r#"{"kind":"status","status":503,"count":1}"#)
        .send()
        .await
        .unwrap();
    let token = client.fetch_token().await.expect("a token after one retry");
    assert!(!token.access_token.expose_secret().is_empty());
    assert_eq!(
        client.resolve().await.unwrap().auth,
        AuthMethod::PrivateKeyJwt
    );
    let jtis: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("> POST"))
        .map(|l| {
            // HEADER.CLAIMS.<signature elided>, both parts JSON objects.
            let a = l.split("client_assertion=").nth(1).expect("an assertion");
            let start = a.find("}.{").expect("header.claims") + 2;
            let end = a.find("}.<signature elided>").expect("signature elided") + 1;
            let claims = &a[start..end];
            let v: serde_json::Value = serde_json::from_str(claims).unwrap();
            assert_eq!(v["aud"], base, "aud = the discovered issuer");
            v["jti"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 2, "{jtis:?}");
    assert_ne!(jtis[0], jtis[1], "a retry signs a fresh jti");
    let all = lines.lock().unwrap().join("\n");
    assert!(all.contains("<signature elided>"), "{all}");
    assert!(!all.contains("eyJ"), "no compact JWS in the trace: {all}");
    emu.shutdown().await;
}
