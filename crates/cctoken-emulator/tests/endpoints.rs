//! Discovery, JWKS and RFC 9068 JWTs, introspection, revocation, and the protected Genesys API.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken_emulator::{AppState, EmulatorConfig, Flavor, ManualClock, TokenFormat};
use common::{basic_raw, basic_rfc, form, Emu, DEMO_SECRET};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};

const CC: &str = "grant_type=client_credentials";

fn b64json(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// Verify an ES256 JWT against a JWKS document; returns (header, claims).
pub fn verify_jwt(jwt: &str, jwks: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let header = b64json(parts[0]);
    assert_eq!(header["alg"], "ES256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid in JWKS");
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    let mut sec1 = vec![4u8];
    sec1.extend(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap());
    sec1.extend(URL_SAFE_NO_PAD.decode(key["y"].as_str().unwrap()).unwrap());
    let vk = VerifyingKey::from_sec1_bytes(&sec1).expect("P-256 point");
    let sig_bytes = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(sig_bytes.len(), 64, "raw r||s");
    let sig = Signature::from_slice(&sig_bytes).unwrap();
    vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("signature verifies");
    (header, b64json(parts[1]))
}

#[tokio::test]
async fn discovery_documents_reflect_the_registry() {
    let emu = Emu::demo(Flavor::Generic);
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let m = emu.get(path, None).await.json();
        assert_eq!(m["issuer"], "http://emu.test");
        assert_eq!(m["token_endpoint"], "http://emu.test/oauth/token");
        assert_eq!(m["jwks_uri"], "http://emu.test/.well-known/jwks.json");
        assert_eq!(
            m["introspection_endpoint"],
            "http://emu.test/oauth/introspect"
        );
        assert_eq!(m["revocation_endpoint"], "http://emu.test/oauth/revoke");
        assert_eq!(
            m["grant_types_supported"],
            serde_json::json!(["client_credentials"])
        );
        assert_eq!(
            m["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post"])
        );
        assert!(m["response_types_supported"].is_array());
        assert_eq!(m["scopes_supported"], serde_json::json!(["read", "write"]));
    }
}

#[tokio::test]
async fn discovery_falls_back_to_the_host_header() {
    let state = AppState::new(EmulatorConfig::new(Flavor::Generic).with_demo());
    let router = cctoken_emulator::app(state);
    let req = http::Request::get("/.well-known/openid-configuration")
        .header("host", "localhost:4242")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(m["issuer"], "http://localhost:4242");
}

#[tokio::test]
async fn jwt_access_tokens_follow_rfc_9068_and_verify_against_the_jwks() {
    let mut cfg = EmulatorConfig::new(Flavor::Generic).with_demo();
    cfg.token_format = TokenFormat::Jwt;
    let emu = Emu::new(cfg);
    let a = emu
        .token(
            Some(basic_rfc("demo-client", DEMO_SECRET)),
            &format!("{CC}&scope=read"),
        )
        .await;
    assert_eq!(a.status, 200);
    let token = a.json()["access_token"].as_str().unwrap().to_owned();
    let jwks = emu.get("/.well-known/jwks.json", None).await.json();
    let (header, claims) = verify_jwt(&token, &jwks);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["iss"], "http://emu.test");
    assert_eq!(claims["sub"], "demo-client");
    assert_eq!(claims["client_id"], "demo-client");
    assert_eq!(claims["scope"], "read");
    assert!(claims["aud"].is_string() && claims["jti"].is_string());
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    // `iat` is rounded down and `exp` up (tests/expiry.rs pins both on an injected clock).
    assert!((3600..=3601).contains(&(exp - iat)), "iat {iat}, exp {exp}");
    // The JWT is also a live token for the protected API.
    assert_eq!(emu.get("/api/v2/tokens/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn introspection_and_revocation() {
    let emu = Emu::demo(Flavor::Generic);
    let token = emu.demo_token().await;
    let auth = || Some(basic_rfc("demo-client", DEMO_SECRET));
    let a = emu
        .post("/oauth/introspect", auth(), &form(&[("token", &token)]))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    let v = a.json();
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], "demo-client");
    assert_eq!(v["scope"], "read write");
    assert_eq!(v["iss"], "http://emu.test");
    assert!(v["exp"].as_u64().unwrap() > v["iat"].as_u64().unwrap());

    // Introspection needs client authentication.
    let a = emu
        .post(
            "/oauth/introspect",
            Some(basic_rfc("demo-client", "x")),
            &form(&[("token", &token)]),
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error().as_str()),
        (401, "invalid_client")
    );
    assert!(a.header("www-authenticate").is_some());

    let a = emu.post("/oauth/introspect", auth(), "token=unknown").await;
    assert_eq!(a.json(), serde_json::json!({"active": false}));

    // RFC 7009: 200 for unknown tokens, and a revoked token is inactive everywhere.
    assert_eq!(
        emu.post("/oauth/revoke", auth(), "token=unknown")
            .await
            .status,
        200
    );
    assert_eq!(
        emu.post("/oauth/revoke", auth(), "token_type_hint=access_token")
            .await
            .status,
        400
    );
    assert_eq!(
        emu.post("/oauth/revoke", auth(), &form(&[("token", &token)]))
            .await
            .status,
        200
    );
    assert_eq!(emu.last_entry().reason, "revoked");
    let v = emu
        .post("/oauth/introspect", auth(), &form(&[("token", &token)]))
        .await
        .json();
    assert_eq!(v["active"], false);
    let a = emu.get("/api/v2/tokens/me", Some(&token)).await;
    assert_eq!(a.status, 401);
    assert!(a
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    let stats = emu.state.stats();
    assert_eq!(
        (
            stats.introspection_requests_total,
            stats.revocation_requests_total
        ),
        (4, 3)
    );
}

#[tokio::test]
async fn genesys_tokens_me_get_head_delete() {
    let emu = Emu::demo(Flavor::Genesys);
    let token = {
        let a = emu
            .token(Some(basic_raw("demo-client", DEMO_SECRET)), CC)
            .await;
        a.json()["access_token"].as_str().unwrap().to_owned()
    };
    let a = emu.get("/api/v2/tokens/me", Some(&token)).await;
    assert_eq!(a.status, 200);
    let info = a.json();
    assert_eq!(info["OAuthClient"]["id"], "demo-client");
    assert_eq!(
        info["OAuthClient"]["authorizedGrantType"],
        "CLIENT_CREDENTIALS"
    );
    assert!(info["OAuthClient"]["organization"]["id"].is_string());
    assert!(info["organization"]["name"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    assert_eq!(info["homeOrganization"], info["organization"]);
    assert_eq!(
        info["authorizedScope"],
        serde_json::json!(["read", "write"])
    );

    assert_eq!(
        emu.request("HEAD", "/api/v2/tokens/me", Some(&token))
            .await
            .status,
        200
    );
    assert_eq!(
        emu.request("HEAD", "/api/v2/tokens/me", Some("nope"))
            .await
            .status,
        401
    );

    let a = emu.get("/api/v2/tokens/me", None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["code"], "authentication.required");
    let a = emu.get("/api/v2/users/me", Some("bogus")).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["code"].as_str()),
        (401, Some("bad.credentials"))
    );
    assert_eq!(emu.get("/api/v2/users/me", Some(&token)).await.status, 404);

    assert_eq!(
        emu.request("DELETE", "/api/v2/tokens/me", Some(&token))
            .await
            .status,
        204
    );
    assert_eq!(emu.get("/api/v2/tokens/me", Some(&token)).await.status, 401);
}

#[tokio::test]
async fn expired_tokens_are_refused_without_sleeping() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut cfg = EmulatorConfig::new(Flavor::Generic).with_demo();
    cfg.token_lifetime = Some(Duration::from_secs(5));
    let emu = Emu::from_state(AppState::with_clock(cfg, Arc::new(clock.clone())));
    let token = emu.demo_token().await;
    assert_eq!(emu.get("/api/v2/tokens/me", Some(&token)).await.status, 200);
    clock.advance(Duration::from_secs(5));
    let a = emu.get("/api/v2/tokens/me", Some(&token)).await;
    assert_eq!(a.status, 401);
    assert_eq!(emu.last_reason(), "token expired");
    let v = emu
        .post(
            "/oauth/introspect",
            Some(basic_rfc("demo-client", DEMO_SECRET)),
            &form(&[("token", &token)]),
        )
        .await
        .json();
    assert_eq!(v["active"], false);
}

#[tokio::test]
async fn control_endpoints() {
    let emu = Emu::demo(Flavor::Generic);
    emu.demo_token().await;
    emu.token(Some(basic_rfc("demo-nogrant", DEMO_SECRET)), CC)
        .await;
    let all = emu.get("/_emulator/activity", None).await.json();
    assert_eq!(all["entries"].as_array().unwrap().len(), 2);
    let e = &all["entries"][1];
    for k in ["client_id", "outcome", "reason", "time", "status"] {
        assert!(!e[k].is_null(), "{k}: {e}");
    }
    let only = emu
        .get("/_emulator/activity?client_id=demo-nogrant", None)
        .await
        .json();
    assert_eq!(only["entries"].as_array().unwrap().len(), 1);
    assert_eq!(
        only["entries"][0]["reason"],
        "client lacks grant client_credentials"
    );
    let last = emu.get("/_emulator/activity?limit=1", None).await.json();
    assert_eq!(last["entries"][0]["client_id"], "demo-nogrant");
    let clients = emu.get("/_emulator/clients", None).await.json();
    assert!(clients["clients"][0]["secrets"][0]
        .as_str()
        .unwrap()
        .starts_with("len=15 sha256:"));
    assert!(!clients.to_string().contains(DEMO_SECRET));
    assert_eq!(
        emu.request("DELETE", "/_emulator/activity", None)
            .await
            .status,
        200
    );
    assert!(emu.state.activity().is_empty());
    assert_eq!(emu.get("/nope", None).await.status, 404);
}
