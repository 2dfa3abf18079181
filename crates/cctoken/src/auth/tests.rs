use super::*;

fn url() -> Url {
    Url::parse("https://login.mypurecloud.ie/oauth/token").unwrap()
}

fn build(auth: AuthMethod, secret: &str) -> PreparedRequest {
    let s = ClientSecret::new(secret);
    let u = url();
    build_request(&RequestParts {
        token_url: &u,
        client_id: "my id",
        client_secret: &s,
        auth,
        grant: &Grant::ClientCredentials,
        scopes: &["read".into(), "write".into()],
        audience: Some("https://api"),
        extra: &[],
        assertion: None,
    })
    .unwrap()
}

fn basic_payload(r: &PreparedRequest) -> String {
    let v = r
        .headers
        .iter()
        .find(|(k, _)| k == "Authorization")
        .unwrap()
        .1
        .wire()
        .to_owned();
    let b = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ").unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

#[test]
fn basic_encodes_per_rfc_6749() {
    let r = build(AuthMethod::Basic, "demo+s3cret/=%&");
    assert_eq!(basic_payload(&r), "my+id:demo%2Bs3cret%2F%3D%25%26");
    assert_eq!(
        r.body().expose_secret(),
        "grant_type=client_credentials&scope=read+write&audience=https%3A%2F%2Fapi"
    );
}

#[test]
fn basic_raw_does_not_encode() {
    let r = build(AuthMethod::BasicRaw, "demo+s3cret/=%&");
    assert_eq!(basic_payload(&r), "my id:demo+s3cret/=%&");
}

#[test]
fn post_puts_credentials_in_body_only() {
    let r = build(AuthMethod::Post, "a+b&c=d");
    assert!(r.headers.iter().all(|(k, _)| k != "Authorization"));
    let body = r.body();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body.expose_secret()).unwrap();
    assert!(pairs.contains(&("client_secret".into(), "a+b&c=d".into())));
    assert!(pairs.contains(&("client_id".into(), "my id".into())));
}

#[test]
fn redacted_views_never_contain_the_secret() {
    for m in [AuthMethod::Basic, AuthMethod::BasicRaw, AuthMethod::Post] {
        let r = build(m, "canary-XYZZY-secret");
        let shown = r.redacted();
        assert!(!shown.contains("canary"), "{shown}");
        assert!(!shown.contains("Y2FuYXJ5"), "base64 leaked: {shown}");
        assert!(shown.contains("len=19 sha256:"), "{shown}");
        assert!(!format!("{r:?}").contains("canary"));
    }
}

#[test]
fn password_grant_hides_password() {
    let s = ClientSecret::new("app-secret");
    let pw = ClientSecret::new("demo/access+key====");
    let u = url();
    let g = Grant::Password {
        username: "KEYID".into(),
        password: pw,
    };
    let r = build_request(&RequestParts {
        token_url: &u,
        client_id: "app",
        client_secret: &s,
        auth: AuthMethod::Basic,
        grant: &g,
        scopes: &[],
        audience: None,
        extra: &[],
        assertion: None,
    })
    .unwrap();
    assert_eq!(
        r.body().expose_secret(),
        "grant_type=password&username=KEYID&password=demo%2Faccess%2Bkey%3D%3D%3D%3D"
    );
    assert!(!r.redacted().contains("access+key"));
}
