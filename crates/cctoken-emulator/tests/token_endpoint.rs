//! RFC 6749 §4.4/§5 at the token endpoint, every §5.2 case, per flavor; in-process.

mod common;

use std::time::Duration;

use cctoken_emulator::{BasicEncoding, ClientEntry, EmulatorConfig, Flavor};
use common::{basic_raw, basic_rfc, form, Emu, DEMO_SECRET};

const CC: &str = "grant_type=client_credentials";

fn assert_no_store(a: &common::Answer) {
    assert_eq!(a.header("cache-control"), Some("no-store"), "{a:?}");
    assert_eq!(a.header("pragma"), Some("no-cache"), "{a:?}");
}

#[tokio::test]
async fn success_is_rfc_6749_5_1() {
    let emu = Emu::demo(Flavor::Generic);
    let a = emu
        .token(Some(basic_rfc("demo-client", DEMO_SECRET)), CC)
        .await;
    assert_eq!(a.status, 200);
    assert_no_store(&a);
    assert!(a
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let v = a.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "read write");
    assert!(v["access_token"].as_str().unwrap().len() >= 43);
    let e = emu.last_entry();
    assert_eq!(
        (e.outcome.as_str(), e.client_id.as_deref(), e.status),
        ("issued", Some("demo-client"), 200)
    );
    assert_eq!(e.auth_method, Some("client_secret_basic"));

    // Requested scope subset, and client_secret_post.
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("scope", "read"),
        ("client_id", "demo-client"),
        ("client_secret", DEMO_SECRET),
    ]);
    let a = emu.token(None, &body).await;
    assert_eq!(a.status, 200, "{:?}", a.json());
    assert_eq!(a.json()["scope"], "read");
    assert_eq!(emu.last_entry().auth_method, Some("client_secret_post"));
}

/// (auth header, body, status, error, challenge, reason fragment)
type Case = (
    Option<String>,
    String,
    u16,
    &'static str,
    bool,
    &'static str,
);

#[tokio::test]
async fn every_5_2_error_with_status_code_challenge_and_reason() {
    let emu = Emu::demo(Flavor::Generic);
    let good = || Some(basic_rfc("demo-client", DEMO_SECRET));
    let post_wrong = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "demo-client"),
        ("client_secret", "nope"),
    ]);
    let both = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "demo-client"),
        ("client_secret", DEMO_SECRET),
    ]);
    let cases: Vec<Case> = vec![
        (
            Some(basic_rfc("demo-client", "demo+s3cret/=%&x")),
            CC.into(),
            401,
            "invalid_client",
            true,
            "secret mismatch: presented fingerprint len=16 sha256:",
        ),
        (
            None,
            post_wrong,
            401,
            "invalid_client",
            false,
            "secret mismatch: presented fingerprint len=4 sha256:",
        ),
        (
            Some(basic_rfc("nobody", "x")),
            CC.into(),
            401,
            "invalid_client",
            true,
            "unknown client",
        ),
        (
            None,
            CC.into(),
            401,
            "invalid_client",
            true,
            "no client authentication",
        ),
        (
            Some(basic_rfc("demo-client", DEMO_SECRET)),
            both,
            400,
            "invalid_request",
            false,
            "credentials in header and body",
        ),
        (
            good(),
            "scope=read".into(),
            400,
            "invalid_request",
            false,
            "missing grant_type",
        ),
        (
            good(),
            "grant_type=password&username=a&password=b".into(),
            400,
            "unsupported_grant_type",
            false,
            "unsupported grant_type password",
        ),
        (
            Some(basic_rfc("demo-nogrant", DEMO_SECRET)),
            CC.into(),
            400,
            "unauthorized_client",
            false,
            "client lacks grant client_credentials",
        ),
        (
            good(),
            format!("{CC}&scope=read+admin"),
            400,
            "invalid_scope",
            false,
            "scope not allowed: admin",
        ),
        (
            good(),
            format!("{CC}&scope=read,write"),
            400,
            "invalid_scope",
            false,
            "not commas",
        ),
        (
            Some("Basic %%%notbase64".into()),
            CC.into(),
            401,
            "invalid_client",
            true,
            "malformed Basic credentials: not base64",
        ),
        (
            Some(format!("Basic {}", base64_std("no-colon-here"))),
            CC.into(),
            401,
            "invalid_client",
            true,
            "no ':'",
        ),
        (
            Some("Bearer abc".into()),
            CC.into(),
            401,
            "invalid_client",
            true,
            "is not Basic",
        ),
        (
            good(),
            format!("{CC}&scope=read&scope=write"),
            400,
            "invalid_request",
            false,
            "duplicate parameter scope",
        ),
        (
            None,
            "client_secret=x&grant_type=client_credentials".into(),
            400,
            "invalid_request",
            false,
            "client_secret in body without client_id",
        ),
        (
            None,
            "client_id=demo-client&grant_type=client_credentials".into(),
            401,
            "invalid_client",
            true,
            "no client secret",
        ),
    ];
    for (auth, body, status, error, challenge, reason) in cases {
        let a = emu.token(auth.clone(), &body).await;
        let ctx = format!(
            "auth={auth:?} body={body}: {a:?} {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.status.as_u16(), status, "{ctx}");
        assert_eq!(a.error(), error, "{ctx}");
        assert!(a.json()["error_description"].is_string(), "{ctx}");
        assert_no_store(&a);
        let www = a.header("www-authenticate");
        assert_eq!(
            www.is_some_and(|w| w.starts_with("Basic realm=")),
            challenge,
            "{ctx}"
        );
        let r = emu.last_reason();
        assert!(r.contains(reason), "{ctx}\nreason: {r}");
        assert_eq!(emu.last_entry().outcome, error, "{ctx}");
    }
    let stats = emu.state.stats();
    assert_eq!(stats.tokens_issued_total, 0);
    assert_eq!(stats.token_requests_total, 16);
    assert_eq!(stats.clients["demo-nogrant"]["unauthorized_client"], 1);
    assert!(
        stats.clients["(unknown)"]["invalid_client"] >= 2,
        "{stats:?}"
    );
}

fn base64_std(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn secret_mismatch_reason_has_both_fingerprints() {
    let emu = Emu::demo(Flavor::Generic);
    // 41 vs 40 bytes, as in the spec's example.
    let emu2 = Emu::new(
        EmulatorConfig::new(Flavor::Generic).with_client(ClientEntry::new("c", "a".repeat(40))),
    );
    let a = emu2.token(Some(basic_rfc("c", &"a".repeat(41))), CC).await;
    assert_eq!(a.status, 401);
    let fp = |s: &str| cctoken_emulator::fingerprint(s.as_bytes());
    assert_eq!(
        emu2.last_reason(),
        format!(
            "secret mismatch: presented fingerprint {}, expected {}",
            fp(&"a".repeat(41)),
            fp(&"a".repeat(40))
        )
    );
    assert!(fp("x").starts_with("len=1 sha256:") && fp("x").len() == "len=1 sha256:".len() + 8);
    drop(emu);
}

#[tokio::test]
async fn json_body_is_rejected_per_flavor() {
    for flavor in [Flavor::Generic, Flavor::Genesys] {
        let emu = Emu::demo(flavor);
        let req = http::Request::post("/oauth/token")
            .header("content-type", "application/json")
            .header("authorization", basic_rfc("demo-client", DEMO_SECRET))
            .body(axum::body::Body::from(
                r#"{"grant_type":"client_credentials"}"#,
            ))
            .unwrap();
        let a = emu.send(req).await;
        assert_eq!(
            (a.status.as_u16(), a.error().as_str()),
            (400, "invalid_request")
        );
        assert_no_store(&a);
        assert_eq!(emu.last_reason(), "JSON body");
        assert_eq!(emu.last_entry().client_id.as_deref(), Some("demo-client"));
        assert_eq!(
            a.json()["description"].is_string(),
            flavor == Flavor::Genesys,
            "{flavor}"
        );
    }
}

#[tokio::test]
async fn genesys_error_shape_and_lifetime() {
    let emu = Emu::demo(Flavor::Genesys);
    let a = emu.token(Some(basic_raw("demo-client", "wrong")), CC).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.json(),
        serde_json::json!({"error":"invalid_client","description":"authentication failed","error_description":"authentication failed"})
    );
    assert!(a.header("www-authenticate").is_some());
    let a = emu
        .token(Some(basic_raw("demo-client", DEMO_SECRET)), CC)
        .await;
    let v = a.json();
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("bearer"), Some(86_400))
    );
    assert!(
        v.get("scope").is_none(),
        "Genesys answers no scope unless asked: {v}"
    );
}

#[tokio::test]
async fn raw_versus_rfc_basic_per_flavor_and_override() {
    let enc: String = url::form_urlencoded::byte_serialize(DEMO_SECRET.as_bytes()).collect();
    assert_eq!(enc, "demo%2Bs3cret%2F%3D%25%26");
    let raw = basic_raw("demo-client", DEMO_SECRET);
    let rfc = basic_rfc("demo-client", DEMO_SECRET);

    let generic = Emu::demo(Flavor::Generic);
    assert_eq!(generic.token(Some(rfc.clone()), CC).await.status, 200);
    let a = generic.token(Some(raw.clone()), CC).await;
    assert_eq!(
        (a.status.as_u16(), a.error().as_str()),
        (401, "invalid_client")
    );
    let r = generic.last_reason();
    assert!(
        r.starts_with("secret mismatch: presented fingerprint len=15 sha256:"),
        "{r}"
    );
    assert!(r.contains("basic-raw") && r.contains("RFC 6749"), "{r}");

    let genesys = Emu::demo(Flavor::Genesys);
    assert_eq!(genesys.token(Some(rfc.clone()), CC).await.status, 200);
    assert_eq!(genesys.token(Some(raw.clone()), CC).await.status, 200);

    let mut c = ClientEntry::new("raw-only", DEMO_SECRET);
    c.basic_encoding = Some(BasicEncoding::Raw);
    let emu = Emu::new(EmulatorConfig::new(Flavor::Generic).with_client(c));
    assert_eq!(
        emu.token(Some(basic_raw("raw-only", DEMO_SECRET)), CC)
            .await
            .status,
        200
    );
    assert_eq!(
        emu.token(Some(basic_rfc("raw-only", DEMO_SECRET)), CC)
            .await
            .status,
        401
    );
    assert!(
        emu.last_reason().contains("form-decoded value matches"),
        "{}",
        emu.last_reason()
    );
}

#[tokio::test]
async fn secret_rotation_accepts_both_secrets() {
    let mut c = ClientEntry::new("rot", "old-secret");
    c.secrets.push("new-secret".into());
    let emu = Emu::new(EmulatorConfig::new(Flavor::Generic).with_client(c));
    for s in ["old-secret", "new-secret"] {
        assert_eq!(
            emu.token(Some(basic_rfc("rot", s)), CC).await.status,
            200,
            "{s}"
        );
    }
    assert_eq!(
        emu.token(Some(basic_rfc("rot", "other")), CC).await.status,
        401
    );
    let r = emu.last_reason();
    assert_eq!(
        r.matches("len=10 sha256:").count(),
        2,
        "both expected fingerprints: {r}"
    );
    assert!(r.contains(" or "), "{r}");
}

#[tokio::test]
async fn unknown_parameters_are_ignored_but_logged() {
    let emu = Emu::demo(Flavor::Genesys);
    let a = emu
        .token(
            Some(basic_raw("demo-client", DEMO_SECRET)),
            &format!("{CC}&duration=86400"),
        )
        .await;
    assert_eq!(a.status, 200);
    assert!(
        emu.last_reason().contains("unknown parameters: duration"),
        "{}",
        emu.last_reason()
    );
}

#[tokio::test]
async fn auth_methods_are_enforced() {
    let mut c = ClientEntry::new("basic-only", "s");
    c.auth_methods = vec![cctoken_emulator::AuthMethod::ClientSecretBasic];
    let emu = Emu::new(EmulatorConfig::new(Flavor::Generic).with_client(c));
    let a = emu
        .token(
            None,
            "grant_type=client_credentials&client_id=basic-only&client_secret=s",
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error().as_str()),
        (401, "invalid_client")
    );
    assert!(emu.last_reason().contains("client_secret_post not allowed"));
    let meta = emu
        .get("/.well-known/oauth-authorization-server", None)
        .await
        .json();
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic"])
    );
}

#[tokio::test]
async fn per_client_rate_limit_in_flavor_style() {
    for flavor in [Flavor::Generic, Flavor::Genesys] {
        let mut c = ClientEntry::new("busy", "s");
        c.token_rate_limit = Some("2/60s".parse().unwrap());
        let emu = Emu::new(EmulatorConfig::new(flavor).with_client(c));
        for _ in 0..2 {
            assert_eq!(
                emu.token(Some(basic_rfc("busy", "s")), CC).await.status,
                200
            );
        }
        let a = emu.token(Some(basic_rfc("busy", "s")), CC).await;
        assert_no_store(&a);
        assert_eq!(emu.last_entry().outcome, "rate_limited");
        match flavor {
            Flavor::Genesys => {
                assert_eq!(
                    (a.status.as_u16(), a.error().as_str()),
                    (400, "invalid_request")
                );
                let v = a.json();
                assert!(
                    v["error_description"]
                        .as_str()
                        .unwrap()
                        .starts_with("rate limit exceeded;"),
                    "{v}"
                );
                assert!(
                    v["description"]
                        .as_str()
                        .unwrap()
                        .starts_with("rate limit exceeded;"),
                    "{v}"
                );
            }
            _ => {
                assert_eq!(a.status, 429);
                assert!(a.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
            }
        }
    }
}

#[tokio::test]
async fn lifetime_override_and_per_client_lifetime() {
    let mut c = ClientEntry::new("short", "s");
    c.token_lifetime = Some(Duration::from_secs(600));
    let emu = Emu::new(EmulatorConfig::new(Flavor::Generic).with_client(c.clone()));
    assert_eq!(
        emu.token(Some(basic_rfc("short", "s")), CC).await.json()["expires_in"],
        600
    );
    let mut cfg = EmulatorConfig::new(Flavor::Genesys).with_client(c);
    cfg.token_lifetime = Some(Duration::from_secs(5));
    let emu = Emu::new(cfg);
    assert_eq!(
        emu.token(Some(basic_rfc("short", "s")), CC).await.json()["expires_in"],
        5
    );
}

#[tokio::test]
async fn bad_input_never_panics() {
    let emu = Emu::demo(Flavor::Generic);
    let big = "a=".to_owned() + &"x".repeat(100 * 1024);
    let a = emu
        .token(Some(basic_rfc("demo-client", DEMO_SECRET)), &big)
        .await;
    assert_eq!(a.status, 413);
    assert_no_store(&a);
    let bodies: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00garbage".to_vec(),
        b"grant_type=%ff%fe".to_vec(),
        b"=&=&&&%".to_vec(),
        b"{not json".to_vec(),
        vec![0u8; 1000],
        b"grant_type=client_credentials&scope=\x01\x02".to_vec(),
    ];
    for body in bodies {
        for ct in [
            Some("application/x-www-form-urlencoded"),
            None,
            Some("text/plain"),
            Some("\u{7f}"),
        ] {
            let mut b = http::Request::post("/oauth/token");
            if let Some(ct) = ct {
                if let Ok(v) = http::HeaderValue::from_str(ct) {
                    b = b.header("content-type", v);
                }
            }
            b = b.header(
                "authorization",
                http::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
            );
            let a = emu
                .send(b.body(axum::body::Body::from(body.clone())).unwrap())
                .await;
            assert!(a.status.is_client_error(), "{a:?}");
            let _ = a.json();
        }
    }
    // Wrong method: still an answer with no-store.
    let a = emu.get("/oauth/token", None).await;
    assert_eq!(a.status, 405);
    assert_no_store(&a);
}

#[tokio::test]
async fn stats_count_every_request_and_issue() {
    let emu = Emu::demo(Flavor::Generic);
    emu.demo_token().await;
    emu.token(Some(basic_rfc("demo-client", "bad")), CC).await;
    emu.state.push_faults(
        cctoken_emulator::FaultSpec::from_json(r#"{"kind":"status","status":503}"#).unwrap(),
    );
    emu.token(Some(basic_rfc("demo-client", DEMO_SECRET)), CC)
        .await;
    let v = serde_json::to_value(emu.state.stats()).unwrap();
    assert_eq!(v["token_requests_total"], 3);
    assert_eq!(v["tokens_issued_total"], 1);
    assert_eq!(v["faults_applied_total"], 1);
    assert_eq!(v["clients"]["demo-client"]["issued"], 1);
    assert_eq!(v["clients"]["demo-client"]["invalid_client"], 1);
    assert_eq!(v["clients"]["demo-client"]["fault"], 1);
    assert_eq!(v["outcomes"]["requests"], 3);
    let http_stats = emu.get("/_emulator/stats", None).await.json();
    assert_eq!(http_stats["token_requests_total"], 3);
}
