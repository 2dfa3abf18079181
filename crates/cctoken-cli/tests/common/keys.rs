//! Keys, clients and helpers shared by the `cli_keys*` tests (SPEC §14): keys generated
//! at test time (rcgen) with their public JWKs, an emulator registry with a client per
//! method, JWTs signed by hand (ring, nothing from the client library), and the canary scan
//! for private key material.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken_emulator::{
    AudienceMode, AuthMethod, ClientEntry, EmulatorConfig, FederatedTrust, Flavor, Jwks,
};
use rcgen::{KeyPair, SignatureAlgorithm};
use serde_json::{json, Value};

use super::Emu;

pub const CS_SECRET: &str = "client-secret-jwt-s3cret-of-40-bytes!!!!";
pub const CI_ISSUER: &str = "https://token.actions.example.test";
pub const CI_SUBJECT: &str = "repo:acme/app:ref:refs/heads/main";
pub const CI_AUDIENCE: &str = "api://cctoken-tests";

/// A generated key: its PEM file and its public JWK.
pub struct TestKey {
    pub pem_path: PathBuf,
    pub pem: String,
    pub jwk: Value,
}

pub fn key(dir: &Path, name: &str, alg: &'static SignatureAlgorithm, kid: &str) -> TestKey {
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

pub fn jwks(keys: &[&Value]) -> Jwks {
    Jwks::from_value(&json!({ "keys": keys })).unwrap()
}

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub ec: TestKey,
    pub p384: TestKey,
    pub ed: TestKey,
    pub ci: TestKey,
}

/// Keys and a registry: `pk-ec` (strict), `pk-legacy` (the same key, legacy audience),
/// `pk-384`, `pk-ed`, `cs` (client_secret_jwt, strict), `cs-legacy` (legacy) and `fed`
/// (a federated entry trusting the CI key).
pub fn setup() -> (Setup, EmulatorConfig) {
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
    let cs = |id: &str| {
        ClientEntry::new(id, CS_SECRET).with_auth_methods(&[AuthMethod::ClientSecretJwt])
    };
    let mut cs_legacy = cs("cs-legacy");
    cs_legacy.audience_mode = AudienceMode::Legacy;
    let config = EmulatorConfig::new(Flavor::Generic)
        .with_client(keyed("pk-ec", &s.ec))
        .with_client(legacy)
        .with_client(keyed("pk-384", &s.p384))
        .with_client(keyed("pk-ed", &s.ed))
        .with_client(cs("cs"))
        .with_client(cs_legacy)
        .with_client(ClientEntry::keyed("fed").with_federated(FederatedTrust {
            issuer: CI_ISSUER.into(),
            subject: CI_SUBJECT.into(),
            audience: CI_AUDIENCE.into(),
            jwks: jwks(&[&s.ci.jwk]),
        }));
    (s, config)
}

impl Emu {
    pub fn last_activity(&self) -> cctoken_emulator::ActivityEntry {
        self.activity().last().cloned().expect("an activity entry")
    }
}

/// `cctoken get --no-cache FLAGS…` (more arguments may follow).
pub fn get_cmd(home: &Path, flags: &[&str]) -> assert_cmd::Command {
    let mut c = super::cctoken(home);
    c.args(["get", "--no-cache"]).args(flags);
    c
}

#[track_caller]
pub fn get_ok(cmd: &mut assert_cmd::Command) -> String {
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
pub fn get_err(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The PEM body lines of a private key: what must never appear anywhere.
pub fn key_canaries(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(|l| l[..16].to_owned())
        .collect()
}

pub fn assert_no_key_material(what: &str, text: &[u8], pem: &str) {
    let text = String::from_utf8_lossy(text);
    for c in key_canaries(pem) {
        assert!(!text.contains(&c), "{what} holds private key material");
    }
}

/// Every file below `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
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

/// A compact ES256 JWS of `header` and `claims`, signed by hand with the P-256 key in
/// `key_pem` (ring directly: rcgen does not sign arbitrary data).
pub fn es256_jwt(key_pem: &str, header: &Value, claims: &Value) -> String {
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let der = KeyPair::from_pem(key_pem).unwrap().serialize_der();
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng).unwrap();
    let sig = pair.sign(&rng, input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
