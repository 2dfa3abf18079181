//! `doctor --assertion FILE [--assertion-key FILE]` (issue 15 item 3) and doctor on a
//! Genesys profile whose client id is not a UUID but works (issue 12 item 7).

use base64::Engine as _;
use cctoken_emulator::Flavor;

use super::{codes, doctor, json};
use crate::common::Emu;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// iat 2026-12-01T12:00:00Z, exp 2100: nothing depends on the clock but the lifetime.
fn assertion(alg: &str, kid: &str, aud: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"client-authentication+jwt"}}"#).as_bytes()),
        b64(format!(r#"{{"iss":"my-app","sub":"my-app","aud":"{aud}","iat":1796126400,"exp":4102444800,"jti":"a1"}}"#).as_bytes()),
        b64(&[0x42; 64])
    )
}

const JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","kid":"k1"}"#;

#[test]
fn an_assertion_file_is_checked_against_the_key_and_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = dir.path().join("jwt.txt");
    let key = dir.path().join("client.jwk");
    std::fs::write(
        &jwt,
        assertion("ES256", "k2", "https://idp.example.com/oauth2/token"),
    )
    .unwrap();
    std::fs::write(&key, JWK).unwrap();
    let args = [
        "--assertion",
        jwt.to_str().unwrap(),
        "--assertion-key",
        key.to_str().unwrap(),
        "--client-id",
        "my-app",
        "--issuer",
        "https://idp.example.com",
        "--offline",
    ];
    let (code, out, err) = doctor(&args, &[], None);
    assert_eq!(code, 1, "{err}");
    // The private key's d and the signature never appear.
    assert!(
        !out.contains("nWGxne") && !out.contains(&b64(&[0x42; 64])),
        "{out}"
    );
    insta::assert_snapshot!("assertion_file_human", out);
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let (jcode, jout, _) = doctor(&with_json, &[], None);
    assert_eq!(jcode, 1);
    let f = json(&jout);
    let c = codes(&f);
    for want in [
        "assertion.aud",
        "assertion.kid",
        "assertion.alg",
        "assertion.lifetime",
        "assertion.key",
        "assertion.decoded",
    ] {
        assert!(c.contains(&want.to_owned()), "{want} in {c:?}");
    }
    let aud = f.iter().find(|x| x["code"] == "assertion.aud").unwrap();
    assert_eq!(aud["severity"], "error");
    assert_eq!(
        aud["fix"],
        "set aud to the issuer 'https://idp.example.com/'"
    );
}

#[test]
fn an_assertion_from_stdin_and_usage_errors() {
    let (code, out, _) = doctor(
        &[
            "--assertion",
            "-",
            "--client-id",
            "my-app",
            "--token-url",
            "https://idp.example.com/token",
            "--offline",
            "--json",
        ],
        &[],
        Some(&assertion("EdDSA", "k1", "https://idp.example.com")),
    );
    assert_eq!(code, 0, "{out}");
    let f = json(&out);
    assert!(!codes(&f).contains(&"assertion.alg".to_owned()), "{f:?}");
    let (code, _, err) = doctor(&["--assertion", "/nonexistent/jwt", "--offline"], &[], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot open the assertion file"), "{err}");
    let (code, _, err) = doctor(&["--assertion-key", "k.pem", "--offline"], &[], None);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_working_genesys_client_with_a_non_uuid_id_exits_0_with_a_warning() {
    let emu = Emu::demo(Flavor::Genesys);
    let (code, out, err) = doctor(
        &[
            "--provider",
            "genesys",
            "--token-url",
            &format!("{}/oauth/token", emu.base),
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--json",
        ],
        &[("S", crate::common::DEMO_SECRET)],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    let f = json(&out);
    let id = f
        .iter()
        .find(|x| x["code"] == "client-id.format")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(id["severity"], "warning");
    assert!(codes(&f).contains(&"token.ok".to_owned()), "{out}");
    assert!(!out.contains("needs the network"), "{out}");
}

#[test]
fn online_an_assertion_is_held_against_the_servers_discovery() {
    let emu = Emu::demo(Flavor::Generic);
    let dir = tempfile::tempdir().unwrap();
    let jwt = dir.path().join("jwt.txt");
    let token = format!("{}/oauth/token", emu.base);
    std::fs::write(&jwt, assertion("EdDSA", "k1", &token)).unwrap();
    let (code, out, err) = doctor(
        &[
            "--assertion",
            jwt.to_str().unwrap(),
            "--client-id",
            "my-app",
            "--issuer",
            &emu.base,
            "--json",
        ],
        &[],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    let f = json(&out);
    let find = |c: &str| {
        f.iter()
            .find(|x| x["code"] == c)
            .unwrap_or_else(|| panic!("{c}: {out}"))
    };
    assert!(find("discovery")["message"]
        .as_str()
        .unwrap()
        .contains(&format!("token endpoint {token}")));
    let aud = find("assertion.aud");
    assert_eq!(aud["severity"], "warning");
    assert_eq!(
        aud["fix"],
        format!(
            "set aud to the issuer '{}' (a string)",
            emu.base.trim_end_matches('/')
        )
    );
    let m = find("auth.method-unsupported");
    assert_eq!(m["severity"], "error");
}
