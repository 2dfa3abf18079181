//! The registry file format: what parses, and the errors (line, client, key) for what not.

use std::time::Duration;

use super::*;

const SAMPLE: &str = r#"
flavor = "genesys"
token_lifetime = "10m"
api_rate_limit = "100/10s"
token_rate_limit = "5/60s"

[[clients]]
id = "ci-bot"
secrets = ["s1", "s2"]
grants = ["client_credentials"]
scopes = ["read", "write"]
token_lifetime = "1h"
auth_methods = ["client_secret_basic", "client_secret_post"]
basic_encoding = "both"
token_rate_limit = "600/60s"
api_rate_limit = "50/5s"

[[clients]]
id = "cx"
secret = "x"
grants = ["password", "refresh_token"]
access_keys = [{ id = "K", secret = "S====" }]
tenant_id = "t-1"
area = "na1"

[[faults]]
kind = "status"
status = 503
count = 2
"#;

#[test]
fn parses_the_documented_format() {
    let cfg = EmulatorConfig::from_toml_str(SAMPLE).unwrap();
    assert_eq!(cfg.flavor, Flavor::Genesys);
    assert_eq!(cfg.token_lifetime, Some(Duration::from_secs(600)));
    assert_eq!(cfg.clients.len(), 2);
    let c = &cfg.clients[0];
    assert_eq!(c.secrets, vec!["s1", "s2"]);
    assert_eq!(c.token_lifetime, Some(Duration::from_secs(3600)));
    assert_eq!(c.basic_encoding, Some(BasicEncoding::Both));
    assert_eq!(c.token_rate_limit, Some("600/60s".parse().unwrap()));
    assert_eq!(c.api_rate_limit, Some("50/5s".parse().unwrap()));
    assert_eq!(cfg.api_rate_limit, Some("100/10s".parse().unwrap()));
    assert_eq!(cfg.token_rate_limit, Some("5/60s".parse().unwrap()));
    // A client's own limits win; the others take the global ones.
    let other = &cfg.clients[1];
    assert_eq!(cfg.api_rate_limit_for(c).unwrap().to_string(), "50/5s");
    assert_eq!(
        cfg.api_rate_limit_for(other).unwrap().to_string(),
        "100/10s"
    );
    assert_eq!(
        cfg.token_rate_limit_for(other).unwrap().to_string(),
        "5/60s"
    );
    assert_eq!(cfg.clients[1].access_keys[0].id, "K");
    assert_eq!(cfg.faults.len(), 1);
}

#[test]
fn rate_limits_in_the_older_per_minute_spelling_and_their_errors() {
    let cfg = EmulatorConfig::from_toml_str(
        "api_rate_limit_per_minute = 30\n[[clients]]\nid = \"a\"\nsecret = \"x\"\nrate_limit_per_minute = 2\n",
    )
    .unwrap();
    assert_eq!(cfg.api_rate_limit.unwrap().to_string(), "30/60s");
    assert_eq!(
        cfg.clients[0].token_rate_limit.unwrap().to_string(),
        "2/60s"
    );
    for (text, needles) in [
        (
            "[[clients]]\nid = \"a\"\nsecret = \"x\"\nrate_limit_per_minute = 0\n",
            &["line 2", "at least 1 request"][..],
        ),
        (
            "[[clients]]\nid = \"a\"\nsecret = \"x\"\ntoken_rate_limit = \"2/60s\"\nrate_limit_per_minute = 2\n",
            &["not both"][..],
        ),
        (
            "[[clients]]\nid = \"a\"\nsecret = \"x\"\napi_rate_limit = \"5/0s\"\n",
            &["line 4", "at least 1ms"][..],
        ),
        ("token_rate_limit = \"abc\"\n", &["line 1", "N/DUR"][..]),
        ("api_rate_limit = 300\n", &["line 1", "string"][..]),
    ] {
        let e = EmulatorConfig::from_toml_str(text).unwrap_err().to_string();
        assert!(needles.iter().all(|n| e.contains(n)), "{text}: {e}");
    }
}

#[test]
fn errors_name_line_and_field() {
    let e = EmulatorConfig::from_toml_str(
        "[[clients]]\nid = \"a\"\nsecrets = [\"x\"]\nsecret_typo = 1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 4") && e.contains("secret_typo"), "{e}");
    let e = EmulatorConfig::from_toml_str(
        "[[clients]]\nid = \"a\"\nsecrets = [\"x\"]\ntoken_lifetime = \"1x\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("line 4") && e.contains("invalid duration"),
        "{e}"
    );
    let e = EmulatorConfig::from_toml_str(
        "\n\n[[clients]]\nid = \"a\"\nsecrets = [\"x\", \"y\", \"z\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 4") && e.contains("one or two"), "{e}");
    let e = EmulatorConfig::from_toml_str(
        "[[clients]]\nid = \"a\"\nsecret = \"x\"\n[[clients]]\nid = \"a\"\nsecret = \"y\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("twice") && e.contains("line 5"), "{e}");
    let e = EmulatorConfig::from_toml_str(
        "[[clients]]\nid = \"a\"\nsecret = \"x\"\nauth_methods = [\"basic\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("line 4") && e.contains("client_secret_basic"),
        "{e}"
    );
    assert!(EmulatorConfig::from_toml_str("flavor = \"nice\"").is_err());
    assert!(EmulatorConfig::from_toml_str("[[faults]]\nkind = \"boom\"\n").is_err());
}

#[test]
fn garbage_never_panics() {
    for s in [
        "",
        "[[",
        "clients = 3",
        "\u{0}",
        "[[clients]]",
        "[[clients]]\nid = 1",
    ] {
        let _ = EmulatorConfig::from_toml_str(s);
    }
}

#[test]
fn debug_shows_fingerprints_only() {
    let d = format!("{:?}", demo_clients(Flavor::Cxone));
    assert!(
        !d.contains(CXONE_DEMO_APP_SECRET) && !d.contains(CXONE_DEMO_KEY_SECRET),
        "{d}"
    );
    assert!(d.contains("sha256:"));
}

const EC_X: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
const EC_Y: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";

fn jwks_json(kid: &str) -> String {
    format!(r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"{kid}","x":"{EC_X}","y":"{EC_Y}"}}]}}"#)
}

#[test]
fn key_and_certificate_clients_need_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ci.json"), jwks_json("gh1")).unwrap();
    let text = format!(
        r#"
clock_tolerance = "10s"
max_assertion_lifetime = "2m"

[[clients]]
id = "pk"
audience_mode = "legacy"
jwks = {{ keys = [ {{ kty = "EC", crv = "P-256", kid = "k1", x = "{EC_X}", y = "{EC_Y}" }} ] }}

[[clients]]
id = "fed"
federated = [{{ issuer = "https://ci.test", subject = "repo:o/r:ref:refs/heads/main", audience = "cctoken", jwks_file = "ci.json" }}]

[[clients]]
id = "tls"
tls_client_auth_subject_dn = "CN=cctoken-client,O=cctoken tests"

[[clients]]
id = "ss"
tls_client_certificate_thumbprint = "{}"

[[clients]]
id = "both"
secret = "{}"
auth_methods = ["client_secret_jwt", "client_secret_basic"]
"#,
        vec!["ab"; 32].join(":"),
        "s".repeat(32)
    );
    let mut cfg = EmulatorConfig::new(Flavor::Generic);
    let file = dir.path().join("clients.toml");
    std::fs::write(&file, &text).unwrap();
    cfg.merge_registry_file(&file).unwrap();
    assert_eq!(cfg.assertion.clock_tolerance, Duration::from_secs(10));
    assert_eq!(cfg.assertion.max_lifetime, Duration::from_secs(120));
    let by = |id: &str| cfg.clients.iter().find(|c| c.id == id).unwrap();
    let pk = by("pk");
    assert!(pk.secrets.is_empty());
    assert_eq!(pk.auth_methods, vec![AuthMethod::PrivateKeyJwt]);
    assert_eq!(pk.audience_mode, AudienceMode::Legacy);
    assert_eq!(pk.jwks.as_ref().unwrap().known(), "k1");
    let fed = by("fed");
    assert_eq!(fed.audience_mode, AudienceMode::Strict, "strict by default");
    assert_eq!(
        fed.federated[0].jwks.known(),
        "gh1",
        "jwks_file relative to the registry"
    );
    assert_eq!(fed.auth_methods, vec![AuthMethod::PrivateKeyJwt]);
    let tls = by("tls");
    assert_eq!(tls.auth_methods, vec![AuthMethod::TlsClientAuth]);
    assert_eq!(
        tls.tls_client_auth_subject_dn.as_ref().unwrap().as_str(),
        "CN=cctoken-client,O=cctoken tests"
    );
    let ss = by("ss");
    assert_eq!(ss.auth_methods, vec![AuthMethod::SelfSignedTlsClientAuth]);
    assert_eq!(
        ss.tls_client_certificate_thumbprint.as_deref(),
        Some("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s"),
        "hex thumbprints are stored as base64url x5t#S256"
    );
    assert_eq!(
        by("both").auth_methods,
        vec![AuthMethod::ClientSecretJwt, AuthMethod::ClientSecretBasic]
    );
    let e = cfg.check().unwrap_err().to_string();
    assert!(
        e.contains("client \"tls\": accepts tls_client_auth, but the emulator serves plain HTTP"),
        "{e}"
    );
}

#[test]
fn bad_key_entries_name_line_client_and_key() {
    let client = |extra: &str| format!("\n[[clients]]\nid = \"c\"\n{extra}\n");
    for (text, needles) in [
        (
            client(&format!(
                "jwks = {{ keys = [ {{ kty = \"EC\", crv = \"P-256\", kid = \"k1\", x = \"{EC_X}\", y = \"{EC_Y}\", d = \"AA\" }} ] }}"
            )),
            &["line 3", "client \"c\"", "`jwks`: key 'k1': holds the private member `d`"][..],
        ),
        (
            client("jwks_file = \"/nonexistent/jwks.json\""),
            &["line 3", "client \"c\"", "`jwks_file` /nonexistent/jwks.json"][..],
        ),
        (
            client("jwks = { keys = [] }\njwks_file = \"x.json\""),
            &["give `jwks` or `jwks_file`, not both"][..],
        ),
        (
            client("secret = \"s\"\nauth_methods = [\"tls_client_auth\"]"),
            &["line 3", "`auth_methods` has tls_client_auth, which needs `tls_client_auth_subject_dn`"][..],
        ),
        (
            client("secret = \"short\"\nauth_methods = [\"client_secret_jwt\"]"),
            &["client_secret_jwt needs secrets of at least 32 bytes", "secret #1 has 5"][..],
        ),
        (
            client("tls_client_certificate_thumbprint = \"abc\""),
            &["not a SHA-256 thumbprint"][..],
        ),
        (
            client("tls_client_auth_subject_dn = \"cctoken-client\""),
            &["not an RFC 4514 DN"][..],
        ),
        (client(""), &["line 3", "no credentials"][..]),
        (
            client("federated = [{ issuer = \"https://ci.test\", subject = \"s\", audience = \"a\" }]"),
            &["federated entry #1: needs `jwks_file`"][..],
        ),
        (
            client("audience_mode = \"lax\""),
            &["line 4", "strict", "legacy"][..],
        ),
        ("tls_cert = \"a.pem\"\n".to_owned(), &["give both `tls_cert` and `tls_key`"][..]),
        ("tls_client_ca = \"ca.pem\"\n".to_owned(), &["`tls_client_ca` needs HTTPS"][..]),
        (
            "tls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n".to_owned(),
            &["TLS certificate /nonexistent/c.pem"][..],
        ),
        ("max_assertion_lifetime = \"0s\"\n".to_owned(), &["at least 1s"][..]),
    ] {
        let e = EmulatorConfig::from_toml_str(&text).unwrap_err().to_string();
        assert!(needles.iter().all(|n| e.contains(n)), "{text}\n→ {e}");
    }
}
