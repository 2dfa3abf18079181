//! The npm `oauth4webapi` 3 (panva's standards-strict OAuth client) against
//! `cctoken emulator --demo`, generic flavor (SPEC §10, §11).
//!
//! The client is `tests-peers/oauth4webapi-client.mjs`: discovery (OIDC or RFC 8414), then the
//! client-credentials grant, through the library's public API. oauth4webapi checks the
//! metadata's `issuer`, the token response's shape and `token_type`, and form-urlencodes Basic
//! credentials as RFC 6749 §2.3.1 says — which the generic flavor requires.

#[path = "common/peers.rs"]
mod peers;

use peers::{describe, http_get_json, node_script, run, start_emulator, stdout_json, PeerProcess};

/// The `--demo` client of the emulator's fixed contract (SPEC §10).
const DEMO_CLIENT: &str = "demo-client";
const DEMO_SECRET: &str = "demo+s3cret/=%&";

/// Runs the oauth4webapi client; `None` when the peer is missing (skipped or failed already).
fn oauth4webapi(
    issuer: &str,
    client_id: &str,
    secret: &str,
    extra: &[&str],
) -> Option<std::process::Output> {
    let mut cmd = node_script("oauth4webapi-client.mjs", "oauth4webapi")?;
    cmd.arg(issuer)
        .arg(client_id)
        .args(extra)
        .env("CLIENT_SECRET", secret);
    Some(run(cmd))
}

fn emulator(home: &std::path::Path) -> PeerProcess {
    start_emulator(&["--demo", "--flavor", "generic"], home)
}

fn stat(stats: &serde_json::Value, key: &str) -> u64 {
    stats[key]
        .as_u64()
        .unwrap_or_else(|| panic!("/_emulator/stats has no number {key}: {stats}"))
}

fn assert_token(output: &std::process::Output, issuer: &str) {
    assert!(
        output.status.success(),
        "oauth4webapi client failed\n{}",
        describe(output)
    );
    let json = stdout_json(output);
    assert_eq!(
        json["token_type"], "bearer",
        "oauth4webapi lower-cases token_type: {json}"
    );
    assert!(
        json["expires_in"].as_u64().is_some_and(|s| s > 0),
        "expires_in: {json}"
    );
    assert!(
        json["access_token_length"]
            .as_u64()
            .is_some_and(|n| n >= 16),
        "token: {json}"
    );
    assert_eq!(
        json["token_endpoint"]
            .as_str()
            .map(|u| u.starts_with(issuer)),
        Some(true),
        "{json}"
    );
}

#[test]
fn discovery_and_client_credentials_with_basic() {
    // Checked before the emulator starts, so a missing peer skips without building anything.
    if peers::require_peer("oauth4webapi").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let emu = emulator(home.path());
    let Some(output) = oauth4webapi(emu.url(), DEMO_CLIENT, DEMO_SECRET, &["--auth", "basic"])
    else {
        return;
    };
    assert_token(&output, emu.url());

    let stats = http_get_json(&format!("{}/_emulator/stats", emu.url()));
    assert!(
        stat(&stats, "tokens_issued_total") >= 1,
        "no token issued: {stats}"
    );
    assert!(stat(&stats, "token_requests_total") >= 1, "{stats}");
}

#[test]
fn rfc8414_discovery_and_client_secret_post() {
    if peers::require_peer("oauth4webapi").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let emu = emulator(home.path());
    let Some(output) = oauth4webapi(
        emu.url(),
        DEMO_CLIENT,
        DEMO_SECRET,
        &["--auth", "post", "--discovery", "oauth2", "--scope", "read"],
    ) else {
        return;
    };
    assert_token(&output, emu.url());
    let json = stdout_json(&output);
    if let Some(scope) = json["scope"].as_str() {
        assert_eq!(scope, "read", "{json}");
    }
    let stats = http_get_json(&format!("{}/_emulator/stats", emu.url()));
    assert!(
        stat(&stats, "tokens_issued_total") >= 1,
        "no token issued: {stats}"
    );
}

#[test]
fn wrong_secret_is_invalid_client() {
    if peers::require_peer("oauth4webapi").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let emu = emulator(home.path());
    let Some(output) = oauth4webapi(emu.url(), DEMO_CLIENT, "wrong-secret", &["--auth", "basic"])
    else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(r#""error":"invalid_client""#),
        "{}",
        describe(&output)
    );
    assert!(stderr.contains(r#""status":401"#), "{}", describe(&output));
    // RFC 6749 §5.2: Basic was used, so the 401 carries a Basic challenge.
    assert!(
        stderr.contains(r#""challenges":["basic"]"#),
        "{}",
        describe(&output)
    );
    let stats = http_get_json(&format!("{}/_emulator/stats", emu.url()));
    assert_eq!(stat(&stats, "tokens_issued_total"), 0, "{stats}");
}

#[test]
fn client_without_the_grant_is_unauthorized_client() {
    if peers::require_peer("oauth4webapi").is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let emu = emulator(home.path());
    let Some(output) = oauth4webapi(emu.url(), "demo-nogrant", DEMO_SECRET, &["--auth", "basic"])
    else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(r#""error":"unauthorized_client""#),
        "{}",
        describe(&output)
    );
}

/// A key-only `private_key_jwt` client (ES256 and EdDSA keys, strict and legacy audience)
/// and a `client_secret_jwt` client in an emulator registry; the keys are made at test time.
struct KeyClients {
    dir: tempfile::TempDir,
}

const HS_SECRET: &str = "hs-s3cret-of-at-least-32-bytes!!!!!!";

/// An Ed25519 PKCS#8 v1 PEM from `openssl genpkey` (ring writes v2, which the OpenSSL 3.0
/// under Node cannot read); `None`, loudly, without openssl.
fn openssl_ed25519() -> Option<String> {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519"])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        other => {
            peers::missing_peer("openssl", &format!("`openssl genpkey` failed: {other:?}"));
            None
        }
    }
}

fn key_clients() -> Option<KeyClients> {
    use cctoken::auth::key::SigningKey;
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem();
    let ed = openssl_ed25519()?;
    w("ec.pem", &ec);
    w("ed.pem", &ed);
    // The public JWKs the emulator registers (the emulator verifies on its own).
    let jwks = |pem: &str, kid: &str| {
        let k = SigningKey::from_text(pem.as_bytes()).unwrap();
        serde_json::json!({ "keys": [k.public_jwk(Some(kid))] }).to_string()
    };
    w("ec.jwks.json", &jwks(&ec, "ec1"));
    w("ed.jwks.json", &jwks(&ed, "ed1"));
    w(
        "keys.toml",
        &format!(
            "[[clients]]\nid = \"o4w-ec\"\njwks_file = \"ec.jwks.json\"\n\n\
             [[clients]]\nid = \"o4w-ec-legacy\"\njwks_file = \"ec.jwks.json\"\naudience_mode = \"legacy\"\n\n\
             [[clients]]\nid = \"o4w-ed\"\njwks_file = \"ed.jwks.json\"\n\n\
             [[clients]]\nid = \"o4w-hs\"\nsecret = \"{HS_SECRET}\"\nauth_methods = [\"client_secret_jwt\"]\n"
        ),
    );
    Some(KeyClients { dir })
}

#[test]
fn private_key_jwt_and_client_secret_jwt_from_oauth4webapi() {
    if peers::require_peer("oauth4webapi").is_none() {
        return;
    }
    let Some(k) = key_clients() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let config = k.dir.path().join("keys.toml");
    let emu = start_emulator(
        &["--config", config.to_str().unwrap(), "--flavor", "generic"],
        home.path(),
    );
    let key = |n: &str| k.dir.path().join(n).display().to_string();
    for (client, file, alg, kid) in [
        ("o4w-ec", "ec.pem", "ES256", "ec1"),
        ("o4w-ec-legacy", "ec.pem", "ES256", "ec1"),
        ("o4w-ed", "ed.pem", "EdDSA", "ed1"),
    ] {
        let Some(output) = oauth4webapi(
            emu.url(),
            client,
            "",
            &[
                "--auth",
                "private-key-jwt",
                "--key-file",
                &key(file),
                "--key-alg",
                alg,
                "--kid",
                kid,
            ],
        ) else {
            return;
        };
        assert_token(&output, emu.url());
        let activity = http_get_json(&format!(
            "{}/_emulator/activity?client_id={client}",
            emu.url()
        ));
        let last = activity["entries"]
            .as_array()
            .and_then(|a| a.last())
            .cloned()
            .unwrap_or_else(|| panic!("no activity for {client}: {activity}"));
        assert_eq!(last["outcome"], "issued", "{client}: {last}");
        assert_eq!(last["auth_method"], "private_key_jwt", "{client}: {last}");
    }
    let Some(output) = oauth4webapi(
        emu.url(),
        "o4w-hs",
        HS_SECRET,
        &["--auth", "client-secret-jwt"],
    ) else {
        return;
    };
    assert_token(&output, emu.url());
    // The wrong key for the client: refused, and the activity log says why.
    let Some(output) = oauth4webapi(
        emu.url(),
        "o4w-ec",
        "",
        &[
            "--auth",
            "private-key-jwt",
            "--key-file",
            &key("ed.pem"),
            "--key-alg",
            "EdDSA",
            "--kid",
            "ec1",
        ],
    ) else {
        return;
    };
    assert!(!output.status.success(), "{}", describe(&output));
    let activity = http_get_json(&format!(
        "{}/_emulator/activity?client_id=o4w-ec",
        emu.url()
    ));
    let last = activity["entries"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap();
    assert_eq!(last["outcome"], "invalid_client", "{last}");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Ed25519") || r.contains("EdDSA")),
        "{last}"
    );
}
