//! `cctoken get` with keys, certificates and CI tokens (SPEC §14) against the in-process
//! emulator, whose verification is its own (SPEC §1): every method, both audience modes,
//! the method chosen by discovery, `--dry-run` showing the assertion decoded, a
//! GitHub-style OIDC token source on loopback trusted through a `federated` entry, the
//! emulator's exact reasons for refused assertions, and a canary scan for key material.
//! Keys and certificates are made at test time (rcgen); none is committed.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken_emulator::{
    AudienceMode, AuthMethod, ClientEntry, EmulatorConfig, FederatedTrust, Flavor, Jwks, SubjectDn,
    TlsSettings,
};
use common::{cctoken, Emu};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SignatureAlgorithm,
};
use serde_json::{json, Value};

const CS_SECRET: &str = "client-secret-jwt-s3cret-of-40-bytes!!!!";
const CI_ISSUER: &str = "https://token.actions.example.test";
const CI_SUBJECT: &str = "repo:acme/app:ref:refs/heads/main";
const CI_AUDIENCE: &str = "api://cctoken-tests";

/// A generated key: its PEM file and its public JWK.
struct TestKey {
    pem_path: PathBuf,
    pem: String,
    jwk: Value,
}

fn key(dir: &Path, name: &str, alg: &'static SignatureAlgorithm, kid: &str) -> TestKey {
    let k = KeyPair::generate_for(alg).unwrap();
    let raw = k.public_key_raw().to_vec();
    let jwk = if raw.len() == 32 {
        json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&raw), "kid": kid})
    } else {
        let n = (raw.len() - 1) / 2;
        let crv = if n == 32 { "P-256" } else { "P-384" };
        json!({"kty": "EC", "crv": crv, "kid": kid,
               "x": URL_SAFE_NO_PAD.encode(&raw[1..1 + n]), "y": URL_SAFE_NO_PAD.encode(&raw[1 + n..])})
    };
    let pem = k.serialize_pem();
    let pem_path = dir.join(format!("{name}.pem"));
    std::fs::write(&pem_path, &pem).unwrap();
    TestKey { pem_path, pem, jwk }
}

fn jwks(keys: &[&Value]) -> Jwks {
    Jwks::from_value(&json!({ "keys": keys })).unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    ec: TestKey,
    p384: TestKey,
    ed: TestKey,
    ci: TestKey,
}

fn setup() -> (Setup, EmulatorConfig) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Setup {
        ec: key(d, "ec", &rcgen::PKCS_ECDSA_P256_SHA256, "k1"),
        p384: key(d, "p384", &rcgen::PKCS_ECDSA_P384_SHA384, "k1"),
        ed: key(d, "ed", &rcgen::PKCS_ED25519, "k1"),
        ci: key(d, "ci", &rcgen::PKCS_ECDSA_P256_SHA256, "gh1"),
        dir,
    };
    let keyed = |id: &str, k: &TestKey| ClientEntry::keyed(id).with_jwks(jwks(&[&k.jwk]));
    let mut legacy = keyed("pk-legacy", &s.ec);
    legacy.audience_mode = AudienceMode::Legacy;
    let config = EmulatorConfig::new(Flavor::Generic)
        .with_client(keyed("pk-ec", &s.ec))
        .with_client(legacy)
        .with_client(keyed("pk-384", &s.p384))
        .with_client(keyed("pk-ed", &s.ed))
        .with_client(
            ClientEntry::new("cs", CS_SECRET).with_auth_methods(&[AuthMethod::ClientSecretJwt]),
        )
        .with_client(ClientEntry::keyed("fed").with_federated(FederatedTrust {
            issuer: CI_ISSUER.into(),
            subject: CI_SUBJECT.into(),
            audience: CI_AUDIENCE.into(),
            jwks: jwks(&[&s.ci.jwk]),
        }));
    (s, config)
}

impl Emu {
    fn last_activity(&self) -> cctoken_emulator::ActivityEntry {
        self.activity().last().cloned().expect("an activity entry")
    }
}

#[track_caller]
fn get_ok(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[track_caller]
fn get_err(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The PEM body lines of a private key: what must never appear anywhere.
fn key_canaries(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(|l| l[..16].to_owned())
        .collect()
}

fn assert_no_key_material(what: &str, text: &[u8], pem: &str) {
    let text = String::from_utf8_lossy(text);
    for c in key_canaries(pem) {
        assert!(!text.contains(&c), "{what} holds private key material");
    }
}

#[test]
fn private_key_jwt_every_algorithm_and_both_audience_modes() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    // Discovery gives the issuer; the key alone selects private_key_jwt; aud = issuer.
    for (id, k, alg) in [
        ("pk-ec", &s.ec, "ES256"),
        ("pk-384", &s.p384, "ES384"),
        ("pk-ed", &s.ed, "EdDSA"),
    ] {
        let token = get_ok(
            cctoken(home.path())
                .args([
                    "get",
                    "--no-cache",
                    "--issuer",
                    &emu.base,
                    "--client-id",
                    id,
                ])
                .arg("--private-key-file")
                .arg(&k.pem_path),
        );
        assert!(token.trim().len() > 20, "{id}: {token}");
        let e = emu.last_activity();
        assert_eq!(
            (e.outcome.as_str(), e.auth_method),
            ("issued", Some("private_key_jwt")),
            "{id} {alg}: {}",
            e.reason
        );
    }
    // Only a token URL: aud = the token endpoint, which a legacy client accepts...
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--token-url",
                &emu.token_url(),
                "--client-id",
                "pk-legacy",
            ])
            .arg("--private-key-file")
            .arg(&s.ec.pem_path),
    );
    assert_eq!(emu.last_activity().outcome, "issued");
    // ...and a strict one refuses, with the exact reason in the activity log.
    let err = get_err(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--token-url",
                &emu.token_url(),
                "--client-id",
                "pk-ec",
            ])
            .arg("--private-key-file")
            .arg(&s.ec.pem_path),
    );
    assert!(err.contains("invalid_client"), "{err}");
    let e = emu.last_activity();
    let says = format!(
        "assertion aud '{}' is not the issuer '{}'",
        emu.token_url(),
        emu.base
    );
    assert!(e.reason.starts_with(&says), "{e:?}");
    // --assertion-aud issuer with a token URL only has no issuer to name: the token URL;
    // an explicit URL fixes it.
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--token-url",
                &emu.token_url(),
                "--client-id",
                "pk-ec",
            ])
            .args(["--assertion-aud", &emu.base])
            .arg("--private-key-file")
            .arg(&s.ec.pem_path),
    );
    // Legacy mode accepts the issuer too.
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "pk-legacy",
            ])
            .arg("--private-key-file")
            .arg(&s.ec.pem_path),
    );
}

#[test]
fn refused_assertions_name_the_cause() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let base = || {
        let mut c = cctoken(home.path());
        c.args(["get", "--no-cache", "--issuer", &emu.base]);
        c
    };
    // Unknown kid.
    get_err(
        base()
            .args(["--client-id", "pk-ec", "--key-id", "k2"])
            .arg("--private-key-file")
            .arg(&s.ec.pem_path),
    );
    assert_eq!(
        emu.last_activity().reason,
        "kid 'k2' not in the client's JWKS (known: k1)"
    );
    // The wrong key for the client.
    get_err(
        base()
            .args(["--client-id", "pk-ec", "--key-id", "k1"])
            .arg("--private-key-file")
            .arg(&s.ed.pem_path),
    );
    let r = emu.last_activity().reason;
    assert!(r.contains("EdDSA") || r.contains("signature"), "{r}");
    // A key client cannot use HS256.
    get_err(
        base()
            .args([
                "--client-id",
                "pk-ec",
                "--auth",
                "client-secret-jwt",
                "--client-secret-env",
                "S",
            ])
            .env("S", CS_SECRET),
    );
    assert_eq!(
        emu.last_activity().reason,
        "alg HS256 not allowed for private_key_jwt"
    );
}

#[test]
fn client_secret_jwt_and_the_method_from_discovery() {
    let (_s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    // The emulator lists every method; with only a secret, Basic is chosen and this client
    // refuses it. --auth client-secret-jwt signs HS256 with the secret.
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "cs",
            ])
            .args(["--auth", "client-secret-jwt", "--client-secret-env", "S"])
            .env("S", CS_SECRET),
    );
    let e = emu.last_activity();
    assert_eq!(
        (e.outcome.as_str(), e.auth_method),
        ("issued", Some("client_secret_jwt"))
    );
    // The RFC name is an alias.
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--token-url",
                &emu.token_url(),
                "--client-id",
                "cs",
            ])
            .args(["--auth", "client_secret_jwt", "--client-secret-env", "S"])
            .args(["--assertion-aud", &emu.base])
            .env("S", CS_SECRET),
    );
}

#[test]
fn dry_run_shows_the_assertion_decoded_and_no_key() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args([
            "get",
            "--dry-run",
            "--json",
            "--token-url",
            &emu.token_url(),
            "--client-id",
            "pk-ec",
        ])
        .args(["--key-id", "k1", "--assertion-aud", "issuer"])
        .arg("--private-key-file")
        .arg(&s.ec.pem_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["auth"], "private-key-jwt");
    let a = &v["assertion"];
    assert_eq!(
        a["header"],
        json!({"alg": "ES256", "typ": "client-authentication+jwt", "kid": "k1"})
    );
    let c = &a["claims"];
    assert_eq!(
        (c["iss"].as_str(), c["sub"].as_str()),
        (Some("pk-ec"), Some("pk-ec"))
    );
    assert_eq!(c["aud"], emu.token_url());
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 60);
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(a["signature"], "elided");
    assert!(a["origin"].as_str().unwrap().contains("thumbprint"), "{a}");
    assert!(
        v["body"].as_str().unwrap().contains("client_assertion="),
        "{v}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("eyJ"),
        "no compact JWS shown"
    );
    assert_no_key_material("dry-run stdout", &out.stdout, &s.ec.pem);
    // --assertion-typ none drops typ.
    let out = cctoken(home.path())
        .args([
            "get",
            "--dry-run",
            "--json",
            "--token-url",
            &emu.token_url(),
            "--client-id",
            "pk-ec",
        ])
        .args(["--assertion-typ", "none"])
        .arg("--private-key-file")
        .arg(&s.ec.pem_path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["assertion"]["header"], json!({"alg": "ES256"}));
}

#[test]
fn canary_key_never_leaves_its_file() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for args in [
        &["get"][..],
        &["get", "--trace"],
        &["get", "--format", "json"],
        &["get", "--dry-run"],
    ] {
        let out = cctoken(home.path())
            .args(args)
            .args(["--issuer", &emu.base, "--client-id", "pk-ec"])
            .arg("--private-key-file")
            .arg(&s.ec.pem_path)
            .env("RUST_LOG", "cctoken=trace")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(out);
    }
    // The second `get` came from the cache, sealed with a key derived from the private key.
    for o in &outputs {
        assert_no_key_material("output", &o.stdout, &s.ec.pem);
        assert_no_key_material("stderr", &o.stderr, &s.ec.pem);
    }
    let trace = String::from_utf8_lossy(&outputs[1].stderr);
    assert!(
        trace.contains("<signature elided>") || !trace.contains("client_assertion"),
        "{trace}"
    );
    let mut files = 0;
    for entry in walk(&home.path().join("cache")) {
        files += 1;
        assert_no_key_material("a cache file", &std::fs::read(&entry).unwrap(), &s.ec.pem);
    }
    assert!(files > 0, "the token was cached");
    // A refused key's error does not show it either.
    let out = cctoken(home.path())
        .args([
            "get",
            "--no-cache",
            "--issuer",
            &emu.base,
            "--client-id",
            "pk-ed",
        ])
        .arg("--private-key-file")
        .arg(&s.ec.pem_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_no_key_material("error", &out.stderr, &s.ec.pem);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A GitHub-Actions-style OIDC token endpoint on loopback: answers `count` requests that
/// carry `Authorization: bearer REQ-TOKEN` with `{"value": JWT}` for the asked audience,
/// signed with the CI key (by hand, with rcgen's signer: nothing from the client library).
fn github_oidc(ci_key_pem: String, count: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/token?api-version=2.0",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let key = KeyPair::from_pem(&ci_key_pem).unwrap();
        let mut seen = Vec::new();
        for _ in 0..count {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut auth = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
                if h.to_ascii_lowercase().starts_with("authorization:") {
                    auth = h.trim_end().to_owned();
                }
            }
            seen.push(format!("{} {auth}", line.trim_end()));
            let audience = line
                .split_whitespace()
                .nth(1)
                .and_then(|t| url::Url::parse(&format!("http://x{t}")).ok())
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "audience")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_else(|| "https://github.com/acme".into());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = json!({"alg": "ES256", "kid": "gh1", "typ": "JWT"});
            let claims = json!({"iss": CI_ISSUER, "sub": CI_SUBJECT, "aud": audience,
                                "iat": now, "nbf": now, "exp": now + 300,
                                "jti": format!("gh-{now}-{}", seen.len())});
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = es256_fixed(&key, input.as_bytes());
            let body =
                json!({ "value": format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)) }).to_string();
            let ok = auth == "authorization: bearer REQ-TOKEN-canary"
                || auth == "Authorization: bearer REQ-TOKEN-canary";
            let status = if ok { "200 OK" } else { "401 Unauthorized" };
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        seen
    });
    (url, handle)
}

/// An ES256 signature (r || s) by the CI key, made with ring directly (rcgen does not sign
/// arbitrary data).
fn es256_fixed(key: &KeyPair, msg: &[u8]) -> Vec<u8> {
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der(), &rng)
            .unwrap();
    pair.sign(&rng, msg).unwrap().as_ref().to_vec()
}

#[test]
fn github_oidc_token_through_a_federated_entry() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let (url, server) = github_oidc(s.ci.pem.clone(), 2);
    for _ in 0..2 {
        let out = cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--trace",
                "--issuer",
                &emu.base,
                "--client-id",
                "fed",
            ])
            .args(["--client-assertion-from", &format!("github:{CI_AUDIENCE}")])
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "REQ-TOKEN-canary")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            !stderr.contains("REQ-TOKEN-canary"),
            "the request token is secret: {stderr}"
        );
        assert!(
            stderr.contains(CI_SUBJECT),
            "the trace shows the CI token's claims: {stderr}"
        );
        let e = emu.last_activity();
        assert_eq!(
            (e.outcome.as_str(), e.client_id.as_deref()),
            ("issued", Some("fed")),
            "{}",
            e.reason
        );
    }
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2, "a fresh CI token for every request");
    assert!(
        seen[0].contains("audience=api%3A%2F%2Fcctoken-tests"),
        "{seen:?}"
    );
    // The wrong audience is refused with the emulator's reason.
    let (url, server) = github_oidc(s.ci.pem.clone(), 1);
    get_err(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "fed",
            ])
            .args(["--client-assertion-from", "github:api://elsewhere"])
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "REQ-TOKEN-canary"),
    );
    server.join().unwrap();
    let r = emu.last_activity().reason;
    assert!(
        r.contains("api://elsewhere") && r.contains(CI_AUDIENCE),
        "{r}"
    );
    // env:VAR and file:PATH carry a token made elsewhere (GitLab, Kubernetes).
    let (url, server) = github_oidc(s.ci.pem.clone(), 2);
    let jwts: Vec<String> = (0..2)
        .map(|_| {
            let raw = plain_get(&url);
            serde_json::from_str::<Value>(&raw).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    server.join().unwrap();
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "fed",
            ])
            .args(["--client-assertion-from", "env:CI_JWT"])
            .env("CI_JWT", &jwts[0]),
    );
    assert_eq!(emu.last_activity().outcome, "issued");
    let file = s.dir.path().join("projected-token");
    std::fs::write(&file, format!("{}\n", jwts[1])).unwrap();
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "fed",
            ])
            .arg("--client-assertion-from")
            .arg(format!("file:{}", file.display())),
    );
    assert_eq!(emu.last_activity().outcome, "issued");
    // The file is re-read on every request (a projected token is rotated in place).
    std::fs::write(&file, "not-a-jwt\n").unwrap();
    let err = get_err(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "fed",
            ])
            .arg("--client-assertion-from")
            .arg(format!("file:{}", file.display())),
    );
    assert!(err.contains("is not a compact JWS"), "{err}");
    assert!(
        !err.contains("not-a-jwt"),
        "the assertion is not echoed: {err}"
    );
}

/// GET `url` with the CI request token over a plain socket (no HTTP client crate needed).
fn plain_get(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    let mut s = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    write!(
        s,
        "GET {}?{}&audience=api%3A%2F%2Fcctoken-tests HTTP/1.1\r\nHost: x\r\nAuthorization: bearer REQ-TOKEN-canary\r\nConnection: close\r\n\r\n",
        u.path(),
        u.query().unwrap_or("")
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
    d.push(DnType::CommonName, cn);
    d
}

#[test]
fn tls_client_auth_and_self_signed_over_https_with_the_alias_and_cnf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name = dn("cctoken test CA", None);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let srv_key = KeyPair::generate().unwrap();
    let mut srv = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    srv.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let srv = srv.signed_by(&srv_key, &issuer).unwrap();
    let cli_key = KeyPair::generate().unwrap();
    let mut cli = CertificateParams::new(Vec::<String>::new()).unwrap();
    cli.distinguished_name = dn("mtls-bot", Some("acme"));
    cli.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cli = cli.signed_by(&cli_key, &issuer).unwrap();
    let ss_key = KeyPair::generate().unwrap();
    let mut ss = CertificateParams::new(Vec::<String>::new()).unwrap();
    ss.distinguished_name = dn("self-bot", None);
    let ss = ss.self_signed(&ss_key).unwrap();
    let w = |name: &str, text: &str| {
        std::fs::write(d.join(name), text).unwrap();
        d.join(name)
    };
    let ca_path = w("ca.pem", &ca_pem);
    let cli_cert = w("cli.pem", &cli.pem());
    let cli_key_path = w("cli-key.pem", &cli_key.serialize_pem());
    let ss_cert = w("ss.pem", &ss.pem());
    let ss_key_path = w("ss-key.pem", &ss_key.serialize_pem());
    let mut tls =
        TlsSettings::from_pem(srv.pem().as_bytes(), srv_key.serialize_pem().as_bytes()).unwrap();
    tls.set_client_ca_pem(ca_pem.as_bytes()).unwrap();
    let ss_thumb = cctoken_emulator::thumbprint(ss.der());
    let mut config = EmulatorConfig::new(Flavor::Generic)
        .with_client(
            ClientEntry::keyed("mtls-bot")
                .with_subject_dn("CN=mtls-bot,O=acme".parse::<SubjectDn>().unwrap()),
        )
        .with_client(ClientEntry::keyed("self-bot").with_certificate_thumbprint(ss_thumb.clone()));
    config.tls = Some(tls);
    config.token_format = cctoken_emulator::TokenFormat::Jwt;
    let emu = Emu::start(config);
    assert!(emu.base.starts_with("https://"), "{}", emu.base);
    let home = tempfile::tempdir().unwrap();
    // tls_client_auth: the certificate alone picks the method; discovery's alias is used.
    let out = get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--format",
                "json",
                "--issuer",
                &emu.base,
                "--client-id",
                "mtls-bot",
            ])
            .arg("--client-cert")
            .arg(&cli_cert)
            .arg("--client-key")
            .arg(&cli_key_path)
            .arg("--ca-cert")
            .arg(&ca_path),
    );
    let e = emu.last_activity();
    assert_eq!(
        (e.outcome.as_str(), e.auth_method),
        ("issued", Some("tls_client_auth")),
        "{}",
        e.reason
    );
    let token: Value = serde_json::from_str(&out).unwrap();
    let jwt = token["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        cctoken_emulator::thumbprint(cli.der())
    );
    // self_signed_tls_client_auth, trusting the CA through SSL_CERT_FILE.
    get_ok(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "self-bot",
            ])
            .args(["--auth", "self-signed-tls-client-auth"])
            .arg("--client-cert")
            .arg(&ss_cert)
            .arg("--client-key")
            .arg(&ss_key_path)
            .env("SSL_CERT_FILE", &ca_path),
    );
    let e = emu.last_activity();
    assert_eq!(
        e.auth_method,
        Some("self_signed_tls_client_auth"),
        "{}",
        e.reason
    );
    // The wrong certificate for the client: the emulator says why.
    get_err(
        cctoken(home.path())
            .args([
                "get",
                "--no-cache",
                "--issuer",
                &emu.base,
                "--client-id",
                "self-bot",
            ])
            .args(["--auth", "self-signed-tls-client-auth"])
            .arg("--client-cert")
            .arg(&cli_cert)
            .arg("--client-key")
            .arg(&cli_key_path)
            .env("SSL_CERT_FILE", &ca_path),
    );
    let r = emu.last_activity().reason;
    assert!(r.contains("thumbprint") && r.contains(&ss_thumb), "{r}");
}

#[test]
fn profiles_show_names_the_key_by_its_thumbprint_only() {
    let (s, _config) = setup();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("config").join("cctoken");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[profiles.keyed]\nissuer = \"https://auth.example.com\"\nclient_id = \"ci-bot\"\n\
             auth = \"private_key_jwt\"\nprivate_key_file = \"{}\"\nkey_id = \"k1\"\n\
             assertion_aud = \"token-endpoint\"\n",
            s.ec.pem_path.display()
        ),
    )
    .unwrap();
    let out = cctoken(home.path())
        .args(["profiles", "show", "keyed"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("private-key-jwt"), "{text}");
    assert!(text.contains("EC P-256 thumbprint "), "{text}");
    assert!(
        text.contains("none (key or certificate authentication)"),
        "{text}"
    );
    assert!(text.contains("token-endpoint"), "{text}");
    assert_no_key_material("profiles show", &out.stdout, &s.ec.pem);
}
