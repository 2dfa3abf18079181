//! `cctoken get` against the npm `oidc-provider` 9 with keys and certificates (SPEC §11,
//! §14): `private_key_jwt` with RS256, ES256 and EdDSA keys, `client_secret_jwt`, and —
//! behind a Node HTTPS server that requests client certificates — `tls_client_auth` and
//! `self_signed_tls_client_auth` with certificate-bound tokens.
//!
//! The server is `tests-peers/oidc-provider-keys.mjs`; keys and certificates are made here
//! at test time (rcgen, and `openssl genpkey` for RSA, which rcgen's ring backend cannot
//! generate). cctoken picks the method from discovery where the profile holds one credential,
//! and signs with `aud` = the issuer (RFC 10070), which oidc-provider accepts.

#[path = "common/peers.rs"]
mod peers;
#[path = "../../cctoken-emulator/tests/common/pki.rs"]
mod pki;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cctoken::auth::key::SigningKey;
use peers::{cctoken_cmd, describe, node_script, run, stdout_json, PeerProcess};
use pki::{self_signed_ec, Ca};
use rcgen::KeyPair;
use serde_json::{json, Value};

const HS_SECRET: &str = "oidc-hs-s3cret-of-at-least-32-bytes!!!!";

fn openssl_genpkey(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        other => {
            peers::missing_peer("openssl", &format!("`openssl genpkey` failed: {other:?}"));
            None
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn public_jwks(pem: &str, kid: &str) -> Value {
    // The registration JWK; oidc-provider verifies the signature on its own.
    json!({ "keys": [SigningKey::from_text(pem.as_bytes()).unwrap().public_jwk(Some(kid))] })
}

fn server(clients: &Value, dir: &Path, tls: Option<(&Path, &Path, &Path)>) -> Option<PeerProcess> {
    let mut cmd = node_script("oidc-provider-keys.mjs", "oidc-provider")?;
    let file = write(dir, "clients.json", &clients.to_string());
    cmd.env("OIDC_KEYS_CLIENTS", file);
    if let Some((cert, key, ca)) = tls {
        cmd.env("OIDC_TLS_CERT", cert)
            .env("OIDC_TLS_KEY", key)
            .env("OIDC_TLS_CA", ca);
    }
    Some(PeerProcess::start("oidc-provider (keys)", cmd))
}

fn get(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut all = vec!["get", "--no-cache", "--format", "json"];
    all.extend_from_slice(args);
    let mut cmd = cctoken_cmd(&all, home.path());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(cmd)
}

fn assert_token(out: &std::process::Output, what: &str) -> Value {
    assert!(out.status.success(), "{what}\n{}", describe(out));
    let v = stdout_json(out);
    assert!(
        v["access_token"].as_str().is_some_and(|t| t.len() >= 20),
        "{what}: {v}"
    );
    v
}

#[test]
fn private_key_jwt_rs256_es256_eddsa_and_client_secret_jwt() {
    if peers::require_peer("oidc-provider").is_none() {
        return;
    }
    let Some(rsa) = openssl_genpkey(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    else {
        return;
    };
    let Some(ed) = openssl_genpkey(&["-algorithm", "ed25519"]) else {
        return;
    };
    let ec = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clients = json!([
        {"client_id": "pk-rsa", "token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks(&rsa, "rsa1")},
        {"client_id": "pk-ec", "token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks(&ec, "ec1")},
        {"client_id": "pk-ed", "token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks(&ed, "ed1")},
        {"client_id": "cs-jwt", "token_endpoint_auth_method": "client_secret_jwt", "client_secret": HS_SECRET},
    ]);
    let Some(srv) = server(&clients, d, None) else {
        return;
    };
    for (id, pem, kid) in [
        ("pk-rsa", &rsa, "rsa1"),
        ("pk-ec", &ec, "ec1"),
        ("pk-ed", &ed, "ed1"),
    ] {
        let key = write(d, &format!("{id}.pem"), pem);
        // The key alone: discovery lists private_key_jwt, cctoken picks it.
        let out = get(
            &[
                "--issuer",
                srv.url(),
                "--client-id",
                id,
                "--key-id",
                kid,
                "--private-key-file",
                key.to_str().unwrap(),
            ],
            &[],
        );
        assert_token(&out, id);
    }
    // RS256 is the RSA default; PS256 works too.
    let rsa_key = d.join("pk-rsa.pem");
    let out = get(
        &[
            "--issuer",
            srv.url(),
            "--client-id",
            "pk-rsa",
            "--alg",
            "PS256",
            "--private-key-file",
            rsa_key.to_str().unwrap(),
        ],
        &[],
    );
    assert_token(
        &out,
        "pk-rsa PS256 (no kid: every key of the client is tried)",
    );
    let out = get(
        &[
            "--issuer",
            srv.url(),
            "--client-id",
            "cs-jwt",
            "--auth",
            "client-secret-jwt",
            "--client-secret-env",
            "HS",
        ],
        &[("HS", HS_SECRET)],
    );
    assert_token(&out, "client_secret_jwt");
    // A key the client did not register: oidc-provider says invalid_client, its log why.
    let out = get(
        &[
            "--issuer",
            srv.url(),
            "--client-id",
            "pk-ec",
            "--private-key-file",
            d.join("pk-ed.pem").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid_client"),
        "{}",
        describe(&out)
    );
}

#[test]
fn tls_client_auth_and_self_signed_behind_node_https() {
    if peers::require_peer("oidc-provider").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::new("cctoken interop CA");
    let srv = ca.server();
    let cli = ca.client("mtls-bot", "acme", 2099);
    let ss = self_signed_ec("self-bot");
    let ca_path = ca.write(d);
    let (srv_cert, srv_key_path) = srv.write(d, "srv");
    let (cli_cert, cli_key_path) = cli.write(d, "cli");
    let (ss_cert, ss_key_path) = ss.write(d, "ss");
    let mut ss_jwk = SigningKey::from_text(ss.key_pem.as_bytes())
        .unwrap()
        .public_jwk(Some("ss1"));
    ss_jwk["x5c"] = json!([STANDARD.encode(&ss.der)]);
    let clients = json!([
        {"client_id": "mtls-bot", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=mtls-bot,O=acme"},
        {"client_id": "self-bot", "token_endpoint_auth_method": "self_signed_tls_client_auth",
         "jwks": {"keys": [ss_jwk]}},
    ]);
    let Some(srv) = server(&clients, d, Some((&srv_cert, &srv_key_path, &ca_path))) else {
        return;
    };
    assert!(srv.url().starts_with("https://"), "{}", srv.url());
    let p = |x: &PathBuf| x.to_str().unwrap().to_owned();
    // The certificate alone picks tls_client_auth; the CA comes from --ca-cert.
    let out = get(
        &[
            "--issuer",
            srv.url(),
            "--client-id",
            "mtls-bot",
            "--client-cert",
            &p(&cli_cert),
            "--client-key",
            &p(&cli_key_path),
            "--ca-cert",
            &p(&ca_path),
        ],
        &[],
    );
    assert_token(&out, "tls_client_auth");
    assert!(
        srv.stderr_eventually_contains("token-request cert=yes"),
        "{}",
        srv.stderr()
    );
    // A self-signed certificate picks self_signed_tls_client_auth; the CA from SSL_CERT_FILE.
    let out = get(
        &[
            "--issuer",
            srv.url(),
            "--client-id",
            "self-bot",
            "--client-cert",
            &p(&ss_cert),
            "--client-key",
            &p(&ss_key_path),
        ],
        &[("SSL_CERT_FILE", &p(&ca_path))],
    );
    assert_token(&out, "self_signed_tls_client_auth");
    // The other client's certificate: refused.
    let out = get(
        &[
            "--issuer",
            srv.url(),
            "--client-id",
            "self-bot",
            "--auth",
            "self-signed-tls-client-auth",
            "--client-cert",
            &p(&cli_cert),
            "--client-key",
            &p(&cli_key_path),
            "--ca-cert",
            &p(&ca_path),
        ],
        &[],
    );
    assert!(!out.status.success(), "{}", describe(&out));
}
