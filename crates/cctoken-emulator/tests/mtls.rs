//! HTTPS and TLS client certificates (RFC 8705) over real sockets: the emulator serves
//! HTTPS with a test CA's certificate, asks for client certificates, and authenticates
//! `tls_client_auth` (CA chain + subject DN) and `self_signed_tls_client_auth` (thumbprint
//! via `x5c` or `tls_client_certificate_thumbprint`); tokens are bound with `cnf`.
//! Certificates are made at test time (rcgen).

mod common;

use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken_emulator::{
    spawn, ClientEntry, EmulatorConfig, Flavor, Jwks, TlsSettings, TokenFormat,
};
use common::jws::{claims, header, Key};
use common::live::Live;
use common::pki::{self, Ca, Identity};
use common::{form, Answer};
use serde_json::json;

/// 2027-01-15: inside the client certificates' validity (2020 → 2030).
const T0: u64 = 1_800_000_000;
const DN: &str = "CN=cctoken-client,O=cctoken tests";

struct Pki {
    ca: Ca,
    client: Identity,
    ss: Identity,
    ss_other: Identity,
    ss_thumb: Identity,
}

fn tls(ca: &Ca) -> TlsSettings {
    let server = ca.server();
    let mut t =
        TlsSettings::from_pem(server.cert_pem.as_bytes(), server.key_pem.as_bytes()).unwrap();
    t.set_client_ca_pem(ca.cert_pem.as_bytes()).unwrap();
    t
}

async fn start() -> (Live, Pki) {
    let ca = Ca::new("cctoken test CA");
    let client = ca.client("cctoken-client", "cctoken tests", 2030);
    let (ss, ss_jwk) = pki::self_signed("ss-key");
    let (ss_other, _) = pki::self_signed("other");
    let (ss_thumb, _) = pki::self_signed("thumb");
    let mut config = EmulatorConfig::new(Flavor::Generic)
        .with_client(ClientEntry::keyed("tls-client").with_subject_dn(DN.parse().unwrap()))
        .with_client(
            ClientEntry::keyed("ss-client")
                .with_jwks(Jwks::from_value(&json!({ "keys": [ss_jwk] })).unwrap()),
        )
        .with_client(
            ClientEntry::keyed("ss-thumb").with_certificate_thumbprint(ss_thumb.thumbprint()),
        )
        .with_client(ClientEntry::new("secret-client", "s3cret"));
    config.token_format = TokenFormat::Jwt;
    config.tls = Some(tls(&ca));
    let http = pki::client(&ca.cert_pem, None);
    let live = Live::start_with(config, UNIX_EPOCH + Duration::from_secs(T0), http).await;
    (
        live,
        Pki {
            ca,
            client,
            ss,
            ss_other,
            ss_thumb,
        },
    )
}

impl Live {
    async fn mtls(&self, who: Option<&Identity>, ca: &Ca, path: &str, client_id: &str) -> Answer {
        let http = pki::client(&ca.cert_pem, who);
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
        ]);
        self.post_body(Some(&http), path, body).await
    }

    fn last_reason(&self) -> String {
        self.emu
            .activity()
            .last()
            .map(|e| e.reason.clone())
            .unwrap_or_default()
    }
}

fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn https_discovery_has_the_mtls_alias() {
    let (live, p) = start().await;
    let base = live.emu.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let m = live.get_json("/.well-known/openid-configuration").await;
    assert_eq!(m["issuer"], base.as_str());
    assert_eq!(m["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(
        m["mtls_endpoint_aliases"]["token_endpoint"],
        format!("{base}/mtls/oauth/token")
    );
    assert_eq!(m["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "tls_client_auth",
            "self_signed_tls_client_auth"
        ])
    );
    // A secret still works over HTTPS, with or without a certificate on the connection.
    let a = live
        .post_form(
            "/oauth/token",
            "secret-client",
            "s3cret",
            form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(a.status, 200);
    let with_cert = pki::client(&p.ca.cert_pem, Some(&p.client));
    let a = live
        .post_body(
            Some(&with_cert),
            "/oauth/token",
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "secret-client"),
                ("client_secret", "s3cret"),
            ]),
        )
        .await;
    assert_eq!(a.status, 200);
    let v = jwt_claims(a.json()["access_token"].as_str().unwrap());
    assert!(
        v.get("cnf").is_none(),
        "only certificate-authenticated tokens are bound"
    );
}

#[tokio::test]
async fn tls_client_auth_binds_the_token_to_the_certificate() {
    let (live, p) = start().await;
    let a = live
        .mtls(Some(&p.client), &p.ca, "/mtls/oauth/token", "tls-client")
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let token = a.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwt_claims(&token)["cnf"],
        json!({"x5t#S256": p.client.thumbprint()})
    );
    let e = live.emu.activity().last().cloned().unwrap();
    assert_eq!(e.auth_method, Some("tls_client_auth"));
    assert!(
        e.reason
            .contains(&format!("certificate x5t#S256 {}", p.client.thumbprint())),
        "{}",
        e.reason
    );
    // Introspection shows the binding too (authenticated with the same certificate).
    let http = pki::client(&p.ca.cert_pem, Some(&p.client));
    let i = live
        .post_body(
            Some(&http),
            "/oauth/introspect",
            form(&[("token", &token), ("client_id", "tls-client")]),
        )
        .await;
    assert_eq!(i.status, 200, "{}", String::from_utf8_lossy(&i.body));
    assert_eq!(i.json()["active"], true);
    assert_eq!(i.json()["cnf"]["x5t#S256"], p.client.thumbprint().as_str());
    // The plain token endpoint takes certificates as well; the alias is where clients go.
    let a = live
        .mtls(Some(&p.client), &p.ca, "/oauth/token", "tls-client")
        .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn tls_client_auth_refusals_name_the_cause() {
    let (live, p) = start().await;
    let refused = |a: &Answer| {
        assert_eq!(
            (a.status.as_u16(), a.error().as_str()),
            (401, "invalid_client"),
            "{}",
            String::from_utf8_lossy(&a.body)
        );
    };
    let a = live
        .mtls(None, &p.ca, "/mtls/oauth/token", "tls-client")
        .await;
    refused(&a);
    assert_eq!(live.last_reason(), "no client certificate presented (the TLS client sent none); client tls-client uses tls_client_auth");
    // Same subject, another CA.
    let rogue = Ca::new("rogue CA");
    let fake = rogue.client("cctoken-client", "cctoken tests", 2030);
    let a = live
        .mtls(Some(&fake), &p.ca, "/mtls/oauth/token", "tls-client")
        .await;
    refused(&a);
    assert!(live.last_reason().starts_with("certificate does not verify against the --tls-client-ca: invalid peer certificate: UnknownIssuer"), "{}", live.last_reason());
    // The right CA, another subject.
    let other = p.ca.client("someone-else", "cctoken tests", 2030);
    let a = live
        .mtls(Some(&other), &p.ca, "/mtls/oauth/token", "tls-client")
        .await;
    refused(&a);
    assert_eq!(
        live.last_reason(),
        "certificate subject 'CN=someone-else,O=cctoken tests' does not match the registered 'CN=cctoken-client,O=cctoken tests'"
    );
    // Expired at the emulator's clock.
    let old = p.ca.client("cctoken-client", "cctoken tests", 2026);
    let a = live
        .mtls(Some(&old), &p.ca, "/mtls/oauth/token", "tls-client")
        .await;
    refused(&a);
    assert!(live.last_reason().starts_with("certificate does not verify against the --tls-client-ca: invalid peer certificate: certificate expired"), "{}", live.last_reason());
    // A self-signed certificate is no CA-issued one.
    let a = live
        .mtls(Some(&p.ss), &p.ca, "/mtls/oauth/token", "tls-client")
        .await;
    refused(&a);
    assert!(live
        .last_reason()
        .starts_with("certificate does not verify against the --tls-client-ca"));
}

#[tokio::test]
async fn self_signed_certificates_match_by_thumbprint() {
    let (live, p) = start().await;
    let a = live
        .mtls(Some(&p.ss), &p.ca, "/mtls/oauth/token", "ss-client")
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        live.emu.activity().last().unwrap().auth_method,
        Some("self_signed_tls_client_auth")
    );
    assert_eq!(
        jwt_claims(a.json()["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        p.ss.thumbprint().as_str()
    );
    let a = live
        .mtls(Some(&p.ss_thumb), &p.ca, "/mtls/oauth/token", "ss-thumb")
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let a = live
        .mtls(Some(&p.ss_other), &p.ca, "/mtls/oauth/token", "ss-client")
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        live.last_reason(),
        format!(
            "certificate thumbprint {} does not match the registered {}",
            p.ss_other.thumbprint(),
            p.ss.thumbprint()
        )
    );
    // A CA-issued certificate is just another certificate here: no PKI check, no match.
    let a = live
        .mtls(Some(&p.client), &p.ca, "/mtls/oauth/token", "ss-thumb")
        .await;
    assert_eq!(a.status, 401);
    assert!(live.last_reason().starts_with(&format!(
        "certificate thumbprint {} does not match the registered {}",
        p.client.thumbprint(),
        p.ss_thumb.thumbprint()
    )));
}

#[tokio::test]
async fn https_without_client_certificates() {
    let ca = Ca::new("cctoken test CA");
    let server = ca.server();
    let key = Key::p256();
    let mut config = EmulatorConfig::new(Flavor::Generic).with_client(
        ClientEntry::keyed("pk").with_jwks(Jwks::from_value(&key.jwks("k1")).unwrap()),
    );
    config.tls =
        Some(TlsSettings::from_pem(server.cert_pem.as_bytes(), server.key_pem.as_bytes()).unwrap());
    let live = Live::start_with(
        config,
        UNIX_EPOCH + Duration::from_secs(T0),
        pki::client(&ca.cert_pem, None),
    )
    .await;
    // Plain HTTP at the HTTPS port fails its handshake and leaves the server serving.
    let plain = common::raw_http(
        live.emu.addr(),
        "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap_or_default();
    assert!(!plain.starts_with("HTTP/1.1 200"), "{plain}");
    let m = live
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert!(m.get("mtls_endpoint_aliases").is_none(), "{m}");
    // private_key_jwt over HTTPS: the issuer (and so the aud) is the https:// base URL.
    let iss = live.emu.base_url();
    let jwt = key.sign(&header("ES256", "k1"), &claims("pk", &iss, T0));
    let body = form(&[
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", &jwt),
    ]);
    let a = live.post_body(None, "/oauth/token", body).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
}

#[tokio::test]
async fn certificate_clients_need_https_and_a_client_ca() {
    let dn = || ClientEntry::keyed("tls-client").with_subject_dn(DN.parse().unwrap());
    let e = spawn(EmulatorConfig::new(Flavor::Generic).with_client(dn()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("client \"tls-client\": accepts tls_client_auth, but the emulator serves plain HTTP: give --tls-cert and --tls-key"), "{e}");
    let ca = Ca::new("cctoken test CA");
    let server = ca.server();
    let mut config = EmulatorConfig::new(Flavor::Generic).with_client(dn());
    config.tls =
        Some(TlsSettings::from_pem(server.cert_pem.as_bytes(), server.key_pem.as_bytes()).unwrap());
    let e = spawn(config).await.unwrap_err().to_string();
    assert!(
        e.contains("accepts tls_client_auth, which needs --tls-client-ca"),
        "{e}"
    );
    // Key and certificate that do not belong together, and PEM that is not PEM.
    let other = ca.server();
    let e = TlsSettings::from_pem(server.cert_pem.as_bytes(), other.key_pem.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TLS certificate and key do not fit together"),
        "{e}"
    );
    let e = TlsSettings::from_pem(b"junk", server.key_pem.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no `BEGIN CERTIFICATE` block"), "{e}");
    let e = TlsSettings::from_pem(
        server.cert_pem.as_bytes(),
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("encrypted keys are not supported"), "{e}");
}
