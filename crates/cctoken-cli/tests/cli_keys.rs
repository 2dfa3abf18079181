//! `cctoken get` with private_key_jwt and client_secret_jwt (SPEC §14) against the
//! in-process emulator, whose verification is its own (SPEC §1): every algorithm, both
//! audience modes, the method chosen by discovery, `--dry-run` showing the assertion
//! decoded, `profiles show` naming the key by thumbprint, and a canary scan for key
//! material. Keys are made at test time (rcgen); none is committed. Certificates:
//! `cli_keys_mtls.rs`; CI tokens: `cli_keys_federated.rs`; refusals with doctor's codes:
//! `cli_keys_refusals.rs`.

mod common;

use common::keys::*;
use common::{cctoken, Emu};
use serde_json::{json, Value};

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
            get_cmd(home.path(), &["--issuer", &emu.base, "--client-id", id])
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
        get_cmd(
            home.path(),
            &["--token-url", &emu.token_url(), "--client-id", "pk-legacy"],
        )
        .arg("--private-key-file")
        .arg(&s.ec.pem_path),
    );
    assert_eq!(emu.last_activity().outcome, "issued");
    // ...and a strict one refuses, with the exact reason in the activity log.
    let err = get_err(
        get_cmd(
            home.path(),
            &["--token-url", &emu.token_url(), "--client-id", "pk-ec"],
        )
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
        get_cmd(
            home.path(),
            &["--token-url", &emu.token_url(), "--client-id", "pk-ec"],
        )
        .args(["--assertion-aud", &emu.base])
        .arg("--private-key-file")
        .arg(&s.ec.pem_path),
    );
    // Legacy mode accepts the issuer too.
    get_ok(
        get_cmd(
            home.path(),
            &["--issuer", &emu.base, "--client-id", "pk-legacy"],
        )
        .arg("--private-key-file")
        .arg(&s.ec.pem_path),
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
        get_cmd(home.path(), &["--issuer", &emu.base, "--client-id", "cs"])
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
        get_cmd(
            home.path(),
            &["--token-url", &emu.token_url(), "--client-id", "cs"],
        )
        .args(["--auth", "client_secret_jwt", "--client-secret-env", "S"])
        .args(["--assertion-aud", &emu.base])
        .env("S", CS_SECRET),
    );
    // Both audience modes: with only a token URL, aud is the token endpoint, which a
    // legacy client accepts and a strict one refuses.
    let with_token_url = |id: &str| {
        let mut c = cctoken(home.path());
        c.args(["get", "--no-cache", "--token-url", &emu.token_url()])
            .args(["--client-id", id, "--auth", "client-secret-jwt"])
            .args(["--client-secret-env", "S"])
            .env("S", CS_SECRET);
        c
    };
    get_ok(&mut with_token_url("cs-legacy"));
    let e = emu.last_activity();
    assert_eq!(
        (e.outcome.as_str(), e.auth_method),
        ("issued", Some("client_secret_jwt")),
        "{}",
        e.reason
    );
    get_err(&mut with_token_url("cs"));
    let r = emu.last_activity().reason;
    assert!(
        r.starts_with(&format!(
            "assertion aud '{}' is not the issuer '{}'",
            emu.token_url(),
            emu.base
        )),
        "{r}"
    );
}

#[test]
fn dry_run_shows_the_assertion_decoded_and_no_key() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    // `get --dry-run --json` for pk-ec with its key, at `endpoint`, with `extra` flags.
    let dry_run = |endpoint: [&str; 2], extra: &[&str]| {
        cctoken(home.path())
            .args(["get", "--dry-run", "--json", "--client-id", "pk-ec"])
            .args(endpoint)
            .args(extra)
            .arg("--private-key-file")
            .arg(&s.ec.pem_path)
            .output()
            .unwrap()
    };
    let token_url = emu.token_url();
    let out = dry_run(
        ["--token-url", &token_url],
        &["--key-id", "k1", "--assertion-aud", "issuer"],
    );
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
    // The public JWK to register, which is the client's (the emulator holds the same).
    let mut registered = s.ec.jwk.clone();
    registered["kid"] = "k1".into();
    assert_eq!(a["public_jwk"], registered, "{a}");
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
    let out = dry_run(["--token-url", &token_url], &["--assertion-typ", "none"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["assertion"]["header"], json!({"alg": "ES256"}));
    // With --issuer and no network, aud is the issuer as the real request names it (a
    // bare origin without the `/` URL parsing adds), not a guess that differs from it.
    let dry = dry_run(["--issuer", &emu.base], &[]);
    let v: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(v["assertion"]["claims"]["aud"], emu.base.as_str(), "{v}");
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
    let out = get_cmd(
        home.path(),
        &["--issuer", &emu.base, "--client-id", "pk-ed"],
    )
    .arg("--private-key-file")
    .arg(&s.ec.pem_path)
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert_no_key_material("error", &out.stderr, &s.ec.pem);
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
