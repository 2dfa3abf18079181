//! The CXone flavor: discovery at /auth/token, access-key password grant, refresh, tenant lookup.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken_emulator::Flavor;
use common::{basic_rfc, form, Emu};

const APP: &str = "demo-app";
const APP_SECRET: &str = "demo-app-secret";
const KEY: &str = "DEMOACCESSKEY";
const KEY_SECRET: &str = "demo/access+key====";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";

fn claims(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).expect("JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn password(emu: &Emu, key_secret: &str) -> common::Answer {
    let body = form(&[
        ("grant_type", "password"),
        ("username", KEY),
        ("password", key_secret),
    ]);
    emu.post("/auth/token", Some(basic_rfc(APP, APP_SECRET)), &body)
        .await
}

#[tokio::test]
async fn discovery_points_at_auth_token() {
    let emu = Emu::demo(Flavor::Cxone);
    let m = emu
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    assert_eq!(m["token_endpoint"], "http://emu.test/auth/token");
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!(["password", "refresh_token"])
    );
    assert!(m["jwks_uri"].is_string());
}

#[tokio::test]
async fn password_then_refresh_then_api() {
    let emu = Emu::demo(Flavor::Cxone);
    let a = password(&emu, KEY_SECRET).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    let v = a.json();
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    let access = v["access_token"].as_str().unwrap().to_owned();
    let id_token = v["id_token"].as_str().unwrap();
    let refresh = v["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["tenantId"], TENANT);
    assert_eq!(claims(id_token)["tenantId"], TENANT);
    assert_eq!(claims(id_token)["aud"], APP);

    let t = emu
        .get("/inContactAPI/services/v25.0/server-time", Some(&access))
        .await;
    assert_eq!(t.status, 200);
    assert!(t.json()["ServerTime"].as_str().unwrap().ends_with('Z'));
    let t = emu
        .get("/inContactAPI/services/v25.0/server-time", None)
        .await;
    assert_eq!(t.status, 401);
    assert!(t.header("www-authenticate").unwrap().starts_with("Bearer"));

    // Refresh rotates: the new refresh token works, the old one is spent.
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    let r = emu
        .post("/auth/token", Some(basic_rfc(APP, APP_SECRET)), &body)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let v = r.json();
    assert_ne!(v["access_token"].as_str().unwrap(), access);
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["tenantId"],
        TENANT
    );
    let again = emu
        .post("/auth/token", Some(basic_rfc(APP, APP_SECRET)), &body)
        .await;
    assert_eq!(
        (again.status.as_u16(), again.error().as_str()),
        (400, "invalid_grant")
    );
    assert_eq!(emu.last_reason(), "refresh token revoked");

    // Client authentication by post works too; /oauth/token is accepted as well.
    let body = form(&[
        ("grant_type", "password"),
        ("username", KEY),
        ("password", KEY_SECRET),
        ("client_id", APP),
        ("client_secret", APP_SECRET),
    ]);
    assert_eq!(emu.post("/oauth/token", None, &body).await.status, 200);
}

#[tokio::test]
async fn cxone_rejections() {
    let emu = Emu::demo(Flavor::Cxone);
    let a = password(&emu, "demo/access key====").await;
    assert_eq!(
        (a.status.as_u16(), a.error().as_str()),
        (400, "invalid_grant")
    );
    let r = emu.last_reason();
    assert!(
        r.starts_with("access key secret mismatch: presented fingerprint len=19 sha256:"),
        "{r}"
    );
    assert!(r.contains("decodes as a space"), "{r}");

    let body = form(&[
        ("grant_type", "password"),
        ("username", KEY),
        ("password", KEY_SECRET),
    ]);
    let a = emu
        .post("/auth/token", Some(basic_rfc(APP, "wrong")), &body)
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error().as_str()),
        (401, "invalid_client")
    );

    let a = emu
        .post(
            "/auth/token",
            Some(basic_rfc(APP, APP_SECRET)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error().as_str()),
        (400, "unsupported_grant_type")
    );
    assert!(
        emu.last_reason().contains("password grant"),
        "{}",
        emu.last_reason()
    );

    let body = form(&[
        ("grant_type", "password"),
        ("username", "NOKEY"),
        ("password", "x"),
    ]);
    let a = emu
        .post("/auth/token", Some(basic_rfc(APP, APP_SECRET)), &body)
        .await;
    assert_eq!(a.error(), "invalid_grant");
    assert_eq!(emu.last_reason(), "unknown access key NOKEY");
}

#[tokio::test]
async fn cxone_configuration_names_the_emulator_as_api_endpoint() {
    let emu = Emu::demo(Flavor::Cxone);
    let c = emu
        .get(
            &format!("/.well-known/cxone-configuration?tenantId={TENANT}"),
            None,
        )
        .await;
    assert_eq!(c.status, 200);
    let v = c.json();
    assert_eq!(v["api_endpoint"], "http://emu.test");
    assert_eq!(v["area"], "na1");
    assert!(v["auth_endpoint"].is_string() && v["ui_endpoint"].is_string());
    assert_eq!(
        emu.get("/.well-known/cxone-configuration?tenantId=nope", None)
            .await
            .status,
        404
    );
    assert_eq!(
        emu.get("/.well-known/cxone-configuration", None)
            .await
            .status,
        400
    );
}
