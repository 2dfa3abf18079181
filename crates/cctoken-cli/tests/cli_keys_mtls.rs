//! `cctoken get` with `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705, SPEC
//! §14) against the in-process emulator over HTTPS with client certificates: the method
//! picked from the certificate, discovery's `mtls_endpoint_aliases`, the token's
//! `cnf.x5t#S256`, trust from `--ca-cert` and `SSL_CERT_FILE`, and the emulator's reason
//! for the wrong certificate. Certificates are made at test time (rcgen).

mod common;

use cctoken_emulator::{ClientEntry, EmulatorConfig, Flavor, SubjectDn, TlsSettings};
use common::keys::{get_cmd, get_err, get_ok};
use common::pki::{self_signed_ec, Ca};
use common::Emu;
use serde_json::Value;

#[test]
fn tls_client_auth_and_self_signed_over_https_with_the_alias_and_cnf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::new("cctoken test CA");
    let srv = ca.server();
    let cli = ca.client("mtls-bot", "acme", 2099);
    let ss = self_signed_ec("self-bot");
    let ca_path = ca.write(d);
    let (cli_cert, cli_key_path) = cli.write(d, "cli");
    let (ss_cert, ss_key_path) = ss.write(d, "ss");
    let mut tls = TlsSettings::from_pem(srv.cert_pem.as_bytes(), srv.key_pem.as_bytes()).unwrap();
    tls.set_client_ca_pem(ca.cert_pem.as_bytes()).unwrap();
    let ss_thumb = cctoken_emulator::thumbprint(&ss.der);
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
        get_cmd(
            home.path(),
            &[
                "--format",
                "json",
                "--issuer",
                &emu.base,
                "--client-id",
                "mtls-bot",
            ],
        )
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
    let claims = common::jwt_claims(jwt);
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        cctoken_emulator::thumbprint(&cli.der)
    );
    // self_signed_tls_client_auth, trusting the CA through SSL_CERT_FILE.
    get_ok(
        get_cmd(
            home.path(),
            &["--issuer", &emu.base, "--client-id", "self-bot"],
        )
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
        get_cmd(
            home.path(),
            &["--issuer", &emu.base, "--client-id", "self-bot"],
        )
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
fn a_key_that_is_not_the_certificates_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("cctoken test CA");
    let (cert, _) = ca.client("mtls-bot", "acme", 2099).write(dir.path(), "cli");
    let other = self_signed_ec("other");
    let (_, wrong_key) = other.write(dir.path(), "other");
    let home = tempfile::tempdir().unwrap();
    let out = get_cmd(
        home.path(),
        &["--token-url", "https://127.0.0.1:9/oauth/token"],
    )
    .args(["--client-id", "mtls-bot", "--auth", "tls-client-auth"])
    .arg("--client-cert")
    .arg(&cert)
    .arg("--client-key")
    .arg(&wrong_key)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("CN=mtls-bot,O=acme")
            && stderr.contains("the key does not belong to the certificate"),
        "{stderr}"
    );
    common::keys::assert_no_key_material("the error", &out.stderr, &other.key_pem);
}
