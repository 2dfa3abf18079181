//! `cctoken emulator` with keys and certificates (SPEC §14) as a process: HTTPS from
//! `--tls-cert`/`--tls-key` (or the file's `tls_cert`/`tls_key`), client certificates with
//! `--tls-client-ca`, key-only clients from the registry with paths relative to it, and the
//! clear refusals of settings that cannot work. Certificates are made at test time (rcgen).

mod common;

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::peers::{cctoken_cmd, describe, run, start_emulator};
use common::pki::Ca;
use rcgen::KeyPair;

struct Files {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_pem: String,
    client_der: Vec<u8>,
}

/// A CA, the server certificate (127.0.0.1), a client certificate and a registry with a
/// tls_client_auth client and a key-only client whose JWKS file sits next to it.
fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("cctoken test CA");
    let srv = ca.server();
    let cli = ca.client("cctoken-client", "cctoken tests", 2099);
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    ca.write(dir.path());
    srv.write(dir.path(), "srv");
    let point = KeyPair::generate().unwrap().public_key_raw().to_vec();
    w(
        "pk.jwks.json",
        &serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}]})
        .to_string(),
    );
    w(
        "keys.toml",
        "tls_cert = \"srv.pem\"\ntls_key = \"srv-key.pem\"\n\n[[clients]]\nid = \"tls-client\"\n\
         tls_client_auth_subject_dn = \"CN=cctoken-client,O=cctoken tests\"\n\n[[clients]]\n\
         id = \"pk\"\njwks_file = \"pk.jwks.json\"\naudience_mode = \"legacy\"\n",
    );
    Files {
        client_pem: cli.identity_pem(),
        client_der: cli.der,
        ca_pem: ca.cert_pem,
        dir,
    }
}

fn path(f: &Files, name: &str) -> String {
    f.dir.path().join(name).display().to_string()
}

fn https(f: &Files, with_cert: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .add_root_certificate(reqwest::Certificate::from_pem(f.ca_pem.as_bytes()).unwrap());
    if with_cert {
        b = b.identity(reqwest::Identity::from_pem(f.client_pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn https_with_client_certificates_from_the_registry_and_flags() {
    let f = files();
    let home = tempfile::tempdir().unwrap();
    let config = path(&f, "keys.toml");
    let ca = path(&f, "ca.pem");
    let emu = start_emulator(
        &[
            "--config",
            &config,
            "--tls-client-ca",
            &ca,
            "--token-format",
            "jwt",
        ],
        home.path(),
    );
    let base = emu.url().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    assert!(
        emu.stderr_eventually_contains(&format!(
            "HTTPS, asking for client certificates (1 CA certificate(s) for tls_client_auth) · mTLS alias {base}/mtls/oauth/token"
        )),
        "{}",
        emu.stderr()
    );
    let meta: serde_json::Value = get_json(
        &https(&f, false),
        format!("{base}/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(meta["issuer"], base.as_str());
    let alias = meta["mtls_endpoint_aliases"]["token_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(alias, format!("{base}/mtls/oauth/token"));
    let token = |with_cert| {
        let client = https(&f, with_cert);
        let alias = alias.clone();
        async move {
            let r = client
                .post(alias)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&client_id=tls-client")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, json(r).await)
        }
    };
    let (status, v) = token(true).await;
    assert_eq!(status, 200, "{v}");
    let jwt = v["access_token"].as_str().unwrap();
    let claims = common::jwt_claims(jwt);
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        cctoken_emulator::thumbprint(&f.client_der).as_str()
    );
    let (status, v) = token(false).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("invalid_client")),
        "{v}"
    );
    let activity: serde_json::Value =
        get_json(&https(&f, false), format!("{base}/_emulator/activity")).await;
    let last = activity["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["reason"],
        "no client certificate presented (the TLS client sent none); client tls-client uses tls_client_auth"
    );
    let clients: serde_json::Value =
        get_json(&https(&f, false), format!("{base}/_emulator/clients")).await;
    let pk = &clients["clients"][1];
    assert_eq!(pk["id"], "pk");
    assert_eq!(
        pk["secrets"],
        serde_json::json!([]),
        "a key-only client has no secret"
    );
    assert_eq!(pk["auth_methods"], serde_json::json!(["private_key_jwt"]));
    assert_eq!(
        pk["jwks"][0]["kid"], "k1",
        "jwks_file read relative to the registry"
    );
    assert_eq!(pk["audience_mode"], "legacy");
    assert_eq!(
        clients["clients"][0]["tls_client_auth_subject_dn"],
        "CN=cctoken-client,O=cctoken tests"
    );
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    let body = r.bytes().await.unwrap();
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)))
}

async fn get_json(client: &reqwest::Client, url: String) -> serde_json::Value {
    json(client.get(url).send().await.unwrap()).await
}

fn refused(home: &Path, args: &[&str], needles: &[&str]) {
    let out = run(cctoken_cmd(
        [&["emulator", "--listen", "127.0.0.1:0"][..], args].concat(),
        home,
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
    assert!(
        out.stdout.is_empty(),
        "{args:?} started: {}",
        describe(&out)
    );
    assert!(
        needles.iter().all(|n| stderr.contains(n)),
        "{args:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn settings_that_cannot_work_are_refused_clearly() {
    let f = files();
    let home = tempfile::tempdir().unwrap();
    let config = path(&f, "keys.toml");
    let (ca, cert, key) = (
        path(&f, "ca.pem"),
        path(&f, "srv.pem"),
        path(&f, "srv-key.pem"),
    );
    refused(
        home.path(),
        &["--config", &config],
        &["client \"tls-client\": accepts tls_client_auth, which needs --tls-client-ca"],
    );
    refused(
        home.path(),
        &["--tls-client-ca", &ca],
        &["--tls-client-ca needs HTTPS"],
    );
    refused(
        home.path(),
        &["--tls-cert", &cert, "--tls-key", &cert],
        &["TLS key: no PEM private key found"],
    );
    refused(
        home.path(),
        &["--tls-cert", &key, "--tls-key", &key],
        &["TLS certificate: no `BEGIN CERTIFICATE` block found", &key],
    );
    std::fs::write(
        f.dir.path().join("bad.toml"),
        "[[clients]]\nid = \"pk\"\njwks = { keys = [ { kty = \"EC\", crv = \"P-256\", x = \"AA\", y = \"AA\", d = \"AA\" } ] }\n",
    )
    .unwrap();
    let bad = path(&f, "bad.toml");
    refused(
        home.path(),
        &["--config", &bad],
        &[
            &bad,
            "line 2",
            "client \"pk\"",
            "key #1: holds the private member `d`",
        ],
    );
    // clap: the certificate needs its key.
    let out = run(cctoken_cmd(["emulator", "--tls-cert", &cert], home.path()));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tls-key <FILE>"),
        "{}",
        describe(&out)
    );
}
