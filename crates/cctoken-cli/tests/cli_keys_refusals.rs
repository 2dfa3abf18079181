//! A refused assertion or certificate, end to end (SPEC §14): for each cause — wrong
//! `aud`, expired, unknown `kid`, wrong `alg`, replayed `jti`, the wrong certificate —
//! `cctoken get` fails with `invalid_client`, the emulator's activity names the exact
//! cause, and `cctoken doctor` given the same flags reports the code for it. The emulator
//! names itself in `Server`, so doctor reads that reason from `/_emulator/activity`,
//! where a real server says only `invalid_client`. Every output is scanned for the key.

mod common;

use std::ffi::OsString;
use std::path::Path;

use cctoken_emulator::{ClientEntry, EmulatorConfig, Flavor, SubjectDn, TlsSettings};
use common::keys::*;
use common::pki::{self_signed_ec, Ca, Identity};
use common::{cctoken, Emu};
use serde_json::{json, Value};

/// One way to be refused: the flags after `get`/`doctor`, the emulator's reason (a part
/// of it), and doctor's code.
struct Refusal<'a> {
    what: &'a str,
    args: Vec<OsString>,
    env: Vec<(&'a str, &'a str)>,
    reason: String,
    code: &'a str,
    /// How doctor names what was presented: a key or certificate by its thumbprint.
    presented: &'a str,
}

fn args(v: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    v.iter().map(|a| a.as_ref().to_owned()).collect()
}

/// `get` fails with invalid_client, the emulator says `reason`, doctor says `code`.
fn assert_refused(emu: &Emu, home: &Path, r: &Refusal<'_>, key_pem: &str) {
    let out = cctoken(home)
        .args(["get", "--no-cache"])
        .args(&r.args)
        .envs(r.env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}: get succeeded", r.what);
    assert!(stderr.contains("invalid_client"), "{}: {stderr}", r.what);
    assert!(
        stderr.contains(r.presented),
        "{}: get names what was presented ({}): {stderr}",
        r.what,
        r.presented
    );
    assert_no_key_material("get's error", &out.stderr, key_pem);
    let said = emu.last_activity().reason;
    assert!(
        said.contains(&r.reason),
        "{}: the emulator says {said:?}, expected {:?}",
        r.what,
        r.reason
    );
    let out = cctoken(home)
        .args(["doctor", "--json"])
        .args(&r.args)
        .envs(r.env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}: doctor found nothing", r.what);
    assert_no_key_material("doctor's report", &out.stdout, key_pem);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}{}",
            r.what,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = v["findings"].as_array().unwrap();
    // The code, with the emulator's reason as its message.
    let found = findings
        .iter()
        .find(|f| f["code"] == r.code && f["message"].as_str().unwrap().contains(&r.reason));
    let Some(f) = found else {
        panic!(
            "{}: no {} with the emulator's reason in {v:#}",
            r.what, r.code
        );
    };
    assert_eq!(f["severity"], "error", "{}: {f}", r.what);
    assert!(
        findings.iter().any(|f| f["code"] == "auth.invalid-client"
            && f["message"].as_str().unwrap().contains(r.presented)),
        "{}: what was presented is named ({}): {v:#}",
        r.what,
        r.presented
    );
    let fp_of_nothing = findings.iter().any(|f| {
        let m = f["message"].as_str().unwrap();
        m.contains("is empty") || m.contains("len=0")
    });
    assert!(
        !fp_of_nothing,
        "{}: no finding about an absent secret: {v:#}",
        r.what
    );
}

#[test]
fn each_refused_assertion_gets_the_emulators_reason_and_doctors_code() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let ec = &s.ec.pem_path;
    let issuer = emu.base.clone();
    let token_url = emu.token_url();
    // An assertion made elsewhere (as a CI job would hand one over), in a file.
    let file = s.dir.path().join("assertion.jwt");
    let from_file = OsString::from(format!("file:{}", file.display()));
    let signed = |exp_in: i64, jti: &str| {
        let now = now_secs() as i64;
        let claims = json!({"iss": "pk-ec", "sub": "pk-ec", "aud": issuer,
            "iat": now + exp_in - 60, "nbf": now + exp_in - 60, "exp": now + exp_in, "jti": jti});
        es256_jwt(
            &s.ec.pem,
            &json!({"alg": "ES256", "kid": "k1", "typ": "client-authentication+jwt"}),
            &claims,
        )
    };
    let cases = [
        Refusal {
            what: "wrong aud",
            args: args(&[
                &"--token-url",
                &token_url,
                &"--client-id",
                &"pk-ec",
                &"--private-key-file",
                ec,
            ]),
            env: vec![],
            reason: format!("assertion aud '{token_url}' is not the issuer '{issuer}'"),
            code: "assertion.aud",
            presented: "thumbprint",
        },
        Refusal {
            what: "unknown kid",
            args: args(&[
                &"--issuer",
                &issuer,
                &"--client-id",
                &"pk-ec",
                &"--key-id",
                &"k2",
                &"--private-key-file",
                ec,
            ]),
            env: vec![],
            reason: "kid 'k2' not in the client's JWKS (known: k1)".into(),
            code: "assertion.kid",
            presented: "thumbprint",
        },
        Refusal {
            what: "wrong alg",
            args: args(&[
                &"--issuer",
                &issuer,
                &"--client-id",
                &"pk-ec",
                &"--auth",
                &"client-secret-jwt",
                &"--client-secret-env",
                &"S",
            ]),
            env: vec![("S", CS_SECRET)],
            reason: "alg HS256 not allowed for private_key_jwt".into(),
            code: "assertion.alg",
            presented: "len=40 sha256:",
        },
        Refusal {
            what: "expired",
            args: args(&[
                &"--issuer",
                &issuer,
                &"--client-id",
                &"pk-ec",
                &"--client-assertion-from",
                &from_file,
            ]),
            env: vec![],
            reason: "assertion expired ".into(),
            code: "assertion.expired",
            presented: "an assertion from file",
        },
    ];
    for c in &cases[..3] {
        assert_refused(&emu, home.path(), c, &s.ec.pem);
    }
    std::fs::write(&file, signed(-600, "old-1")).unwrap();
    assert_refused(&emu, home.path(), &cases[3], &s.ec.pem);
    // Replayed jti: the same assertion file is good once, then refused.
    std::fs::write(&file, signed(60, "once-1")).unwrap();
    get_ok(
        cctoken(home.path())
            .args(["get", "--no-cache"])
            .args(&cases[3].args),
    );
    let replay = Refusal {
        what: "replayed jti",
        reason: "jti replayed: 'once-1'".into(),
        code: "assertion.jti",
        ..cases.into_iter().nth(3).unwrap()
    };
    assert_refused(&emu, home.path(), &replay, &s.ec.pem);
}

/// An HTTPS emulator asking for client certificates (CA `ca`) with `client` registered,
/// and the `get` flags presenting the certificate `cert` as `client_id`.
struct Mtls {
    emu: Emu,
    _dir: tempfile::TempDir,
    args: Vec<OsString>,
}

fn mtls(ca: &Ca, client: ClientEntry, cert: &Identity) -> Mtls {
    let dir = tempfile::tempdir().unwrap();
    let srv = ca.server();
    let ca_path = ca.write(dir.path());
    let (cert, key) = cert.write(dir.path(), "client");
    let mut tls = TlsSettings::from_pem(srv.cert_pem.as_bytes(), srv.key_pem.as_bytes()).unwrap();
    tls.set_client_ca_pem(ca.cert_pem.as_bytes()).unwrap();
    let id = client.id.clone();
    let mut config = EmulatorConfig::new(Flavor::Generic).with_client(client);
    config.tls = Some(tls);
    let emu = Emu::start(config);
    let args = args(&[
        &"--issuer",
        &emu.base,
        &"--client-id",
        &id,
        &"--client-cert",
        &cert,
        &"--client-key",
        &key,
        &"--ca-cert",
        &ca_path,
    ]);
    Mtls {
        emu,
        _dir: dir,
        args,
    }
}

#[test]
fn the_wrong_certificate_gets_the_emulators_reason_and_doctors_code() {
    let registered = self_signed_ec("self-bot");
    let other = self_signed_ec("self-bot");
    let thumb = cctoken_emulator::thumbprint(&registered.der);
    let client = ClientEntry::keyed("self-bot").with_certificate_thumbprint(thumb.clone());
    let m = mtls(&Ca::new("cctoken test CA"), client, &other);
    let home = tempfile::tempdir().unwrap();
    let refusal = Refusal {
        what: "wrong certificate",
        args: m.args.clone(),
        env: vec![],
        reason: format!(
            "certificate thumbprint {} does not match the registered {thumb}",
            cctoken_emulator::thumbprint(&other.der)
        ),
        code: "cert.mismatch",
        presented: "x5t#S256",
    };
    assert_refused(&m.emu, home.path(), &refusal, &other.key_pem);
}

#[test]
fn an_expired_certificate_gets_cert_expired_offline_and_from_the_emulator() {
    let ca = Ca::new("cctoken test CA");
    let old = ca.client("mtls-bot", "acme", 2021);
    let client = ClientEntry::keyed("mtls-bot")
        .with_subject_dn("CN=mtls-bot,O=acme".parse::<SubjectDn>().unwrap());
    let m = mtls(&ca, client, &old);
    let home = tempfile::tempdir().unwrap();
    let refusal = Refusal {
        what: "expired certificate",
        args: m.args.clone(),
        env: vec![],
        reason: "certificate does not verify against the --tls-client-ca: invalid peer certificate: certificate expired".into(),
        code: "cert.expired",
        presented: "x5t#S256",
    };
    assert_refused(&m.emu, home.path(), &refusal, &old.key_pem);
    // Offline, from the certificate itself.
    let out = cctoken(home.path())
        .args(["doctor", "--offline", "--json"])
        .args(&refusal.args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "cert.expired")
        .unwrap_or_else(|| panic!("{v:#}"))
        .clone();
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("CN=mtls-bot") && m.contains("notAfter 2021-01-01T00:00:00Z"),
        "{m}"
    );
    assert_eq!(out.status.code(), Some(1), "{v:#}");
}

#[test]
fn a_remembered_refusal_names_the_key_not_a_secret() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let get = || {
        cctoken(home.path())
            .args(["get", "--issuer", &emu.base, "--client-id", "pk-ec"])
            .args(["--key-id", "k2", "--private-key-file"])
            .arg(&s.ec.pem_path)
            .output()
            .unwrap()
    };
    let first = get();
    let second = get();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!first.status.success() && !second.status.success());
    assert!(stderr.contains("remembered"), "{stderr}");
    assert!(
        stderr.contains("presented: an assertion signed with the EC P-256 key thumbprint"),
        "{stderr}"
    );
    assert!(!stderr.contains("presented secret"), "{stderr}");
    assert_eq!(
        emu.get_json("/_emulator/stats")["token_requests_total"],
        1,
        "the second get sent nothing"
    );
}
