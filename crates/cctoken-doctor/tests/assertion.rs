//! Client assertions (SPEC §14, issue 15 item 3): a `client_assertion` in a pasted curl
//! command or given as text, decoded and checked offline against a fixed clock, the key file
//! and the request; online against the emulator's discovery document and `Date`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cctoken_doctor::assertion::{self, Context};
use cctoken_doctor::{diagnose_curl_at, online, Code, Plain, Report, Severity};
use cctoken_emulator::{EmulatorConfig, Flavor};
use serde_json::json;

/// 2026-12-01T12:00:00Z.
const NOW: u64 = 1_796_126_400;
const TOKEN: &str = "https://idp.example.com/oauth2/token";
const CANARY_SIG: [u8; 64] = [0x5a; 64];

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn jwt(header: serde_json::Value, claims: serde_json::Value) -> String {
    let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        e(header.to_string().as_bytes()),
        e(claims.to_string().as_bytes()),
        e(&CANARY_SIG)
    )
}

fn signature_text() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CANARY_SIG)
}

fn good_claims(aud: &str) -> serde_json::Value {
    let n = NOW as i64;
    json!({"iss":"my-app","sub":"my-app","aud":aud,"iat":n,"nbf":n,"exp":n+60,"jti":"3f2a9c"})
}

fn good_header() -> serde_json::Value {
    json!({"alg":"ES256","typ":"client-authentication+jwt","kid":"k1"})
}

fn curl(assertion: &str) -> String {
    format!(
        "curl -X POST {TOKEN} -d grant_type=client_credentials -d client_id=my-app \
         -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
         -d client_assertion={assertion}"
    )
}

fn codes(r: &Report) -> Vec<(&'static str, Severity)> {
    r.findings()
        .iter()
        .map(|f| (f.code.as_str(), f.severity))
        .collect()
}

fn no_signature_anywhere(r: &Report, assertion: &str) {
    let human = r.render_human(&Plain);
    let json = r.to_json(&Plain).to_string();
    for out in [&human, &json] {
        assert!(!out.contains(&signature_text()), "{out}");
        assert!(!out.contains(assertion), "{out}");
    }
}

#[test]
fn a_good_assertion_in_a_curl_command_has_no_errors_and_shows_its_claims() {
    let a = jwt(good_header(), good_claims("https://idp.example.com"));
    let r = diagnose_curl_at(&curl(&a), now());
    assert!(!r.has_errors(), "{}", r.render_human(&Plain));
    let decoded = r
        .finding(Code::AssertionDecoded)
        .expect("decoded")
        .message
        .to_string();
    assert!(
        decoded.contains(r#""kid":"k1""#) && decoded.contains(r#""jti":"3f2a9c""#),
        "{decoded}"
    );
    assert!(
        decoded.ends_with("signature <elided, 64 bytes>"),
        "{decoded}"
    );
    // No auth.missing: the assertion is the client authentication.
    assert!(!r.has(Code::AuthMissing));
    no_signature_anywhere(&r, &a);
}

#[test]
fn the_classic_assertion_mistakes_each_get_their_code() {
    let n = NOW as i64;
    // oauth2c's assertion: aud = token URL, 10-minute exp, no typ; plus: expired, no jti,
    // signed for another client.
    let a = jwt(
        json!({"alg":"RS256"}),
        json!({"iss":"other-app","sub":"other-app","aud":TOKEN,"iat":n-700,"exp":n-100}),
    );
    let r = diagnose_curl_at(&curl(&a), now());
    let c = codes(&r);
    for want in [
        ("assertion.aud", Severity::Warning),
        ("assertion.expired", Severity::Error),
        ("assertion.lifetime", Severity::Warning),
        ("assertion.jti", Severity::Error),
        ("assertion.claims", Severity::Error),
        ("assertion.typ", Severity::Info),
    ] {
        assert!(c.contains(&want), "{want:?} in {c:?}");
    }
    let j = r.to_json(&Plain);
    let expired = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "assertion.expired")
        .unwrap();
    assert_eq!(
        expired["message"],
        "the assertion expired 1m 40s ago (exp 2026-12-01T11:58:20Z, this machine's clock 2026-12-01T12:00:00Z)"
    );
    insta::assert_snapshot!("classic_mistakes_human", r.render_human(&Plain));
    no_signature_anywhere(&r, &a);
}

#[test]
fn a_token_url_with_a_port_is_the_token_endpoint_aud() {
    // The port is part of the endpoint: aud = the URL curl posts to is the token endpoint.
    for url in [
        "http://127.0.0.1:41043/oauth/token",
        "http://[::1]:8443/oauth/token",
    ] {
        let a = jwt(good_header(), good_claims(url));
        let cmd = curl(&a).replace(TOKEN, url);
        let r = diagnose_curl_at(&cmd, now());
        let f = r.finding(Code::AssertionAud).expect("an aud finding");
        assert_eq!(f.severity, Severity::Warning, "{url}: {}", f.message);
        assert!(
            f.message
                .to_string()
                .starts_with(&format!("aud is the token endpoint {url};")),
            "{url}: {}",
            f.message
        );
    }
}

#[test]
fn the_assertion_type_and_mixed_credentials_are_checked() {
    let a = jwt(good_header(), good_claims("https://idp.example.com"));
    let r = diagnose_curl_at(
        &format!("curl -X POST {TOKEN} -u \"$ID:$SECRET\" -d grant_type=client_credentials -d client_assertion={a}"),
        now(),
    );
    assert!(
        r.has(Code::ParamAssertionType),
        "{}",
        r.render_human(&Plain)
    );
    assert!(r.has(Code::AuthBothMethods));
    let wrong = diagnose_curl_at(
        &format!("curl -X POST {TOKEN} -d grant_type=client_credentials -d client_assertion_type=urn:ietf:params:oauth:grant-type:jwt-bearer -d client_assertion={a}"),
        now(),
    );
    let f = wrong
        .finding(Code::ParamAssertionType)
        .expect("param.assertion-type")
        .message
        .to_string();
    assert!(
        f.contains("the grant-type URN is for the jwt-bearer grant"),
        "{f}"
    );
    let unseen = diagnose_curl_at(
        &format!("curl -X POST {TOKEN} -d client_assertion_type={} -d \"client_assertion=$JWT\" -d grant_type=client_credentials", assertion::JWT_BEARER),
        now(),
    );
    assert!(!unseen.has_errors(), "{}", unseen.render_human(&Plain));
    assert!(unseen.has(Code::AssertionDecoded));
    let bad = diagnose_curl_at(&curl("not-a-jwt"), now());
    assert!(
        bad.has(Code::AssertionMalformed),
        "{}",
        bad.render_human(&Plain)
    );
}

fn ctx() -> Context<'static> {
    Context {
        client_id: Some("my-app".into()),
        token_url: Some(TOKEN.into()),
        issuer: Some("https://idp.example.com".into()),
        issuer_exact: true,
        ..Context::at(now())
    }
}

#[test]
fn aud_is_held_against_the_issuer_exactly() {
    let check = |aud: serde_json::Value| {
        let mut claims = good_claims("x");
        claims["aud"] = aud;
        let mut r = Report::default();
        assertion::check_text(&jwt(good_header(), claims), &ctx(), &mut r);
        r.findings()
            .into_iter()
            .filter(|f| f.code == Code::AssertionAud)
            .map(|f| (f.severity, f.message.to_string()))
            .collect::<Vec<_>>()
    };
    assert!(check(json!("https://idp.example.com")).is_empty());
    let slash = check(json!("https://idp.example.com/"));
    assert_eq!(slash.len(), 1);
    assert_eq!(slash[0].0, Severity::Error);
    assert!(
        slash[0]
            .1
            .contains("differs from the issuer 'https://idp.example.com' in a trailing slash"),
        "{slash:?}"
    );
    // An issuer as typed (not from discovery) is not exact: a slash more is only a note.
    let mut typed = ctx();
    typed.issuer_exact = false;
    let mut r = Report::default();
    let mut claims = good_claims("https://idp.example.com/");
    claims["jti"] = json!("j");
    assertion::check_text(&jwt(good_header(), claims), &typed, &mut r);
    let f = r.finding(Code::AssertionAud).unwrap().clone();
    assert_eq!(f.severity, Severity::Info, "{}", f.message);
    let token = check(json!(TOKEN));
    assert_eq!(token[0].0, Severity::Warning, "{token:?}");
    assert!(token[0].1.contains("RFC 10070 forbids it"));
    let other = check(json!("https://evil.example.net"));
    assert_eq!(other[0].0, Severity::Error);
    let many = check(json!(["https://idp.example.com", TOKEN]));
    assert_eq!(many[0].0, Severity::Warning, "{many:?}");
    assert!(many[0].1.contains("2 values"));
}

#[test]
fn the_key_file_decides_alg_and_kid() {
    let rsa = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","kid":"k1"}"#;
    let a = jwt(good_header(), good_claims("https://idp.example.com"));
    let mut r = Report::default();
    assertion::diagnose(&a, Some(rsa), &ctx(), &mut r);
    let alg = r
        .finding(Code::AssertionAlg)
        .expect("assertion.alg")
        .clone();
    assert_eq!(alg.severity, Severity::Error);
    assert_eq!(
        alg.message.to_string(),
        "alg ES256 does not fit the key (JWK, thumbprint NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs), which is an RSA key: it signs with RS256, RS384, RS512, PS256, PS384, PS512"
    );
    // The registered set knows k1 only; the assertion names k2.
    let set = format!(r#"{{"keys":[{rsa}]}}"#);
    let mut header = good_header();
    header["alg"] = json!("RS256");
    header["kid"] = json!("k2");
    let mut r = Report::default();
    assertion::diagnose(
        &jwt(header, good_claims("https://idp.example.com")),
        Some(&set),
        &ctx(),
        &mut r,
    );
    let kid = r
        .finding(Code::AssertionKid)
        .expect("assertion.kid")
        .message
        .to_string();
    assert_eq!(kid, "kid 'k2' is not in the key file's JWK Set (known: k1)");
    assert!(!r.has(Code::AssertionAlg), "{}", r.render_human(&Plain));
    // The key is described, never shown.
    let text = r.render_human(&Plain);
    assert!(
        text.contains("an RSA key (public), kid k1, thumbprint NzbLsXh8"),
        "{text}"
    );
    assert!(!text.contains("0vx7agoe"), "{text}");
    // A certificate is not a key.
    let mut r = Report::default();
    assertion::diagnose(
        &a,
        Some("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"),
        &ctx(),
        &mut r,
    );
    assert!(r.has(Code::AssertionKey) && r.has_errors());
}

#[test]
fn a_federated_token_is_read_as_one() {
    let n = NOW as i64;
    let gh = jwt(
        json!({"alg":"RS256","kid":"gh1","typ":"JWT"}),
        json!({"iss":"https://token.actions.githubusercontent.com","sub":"repo:acme/app:ref:refs/heads/main","aud":"api://AzureADTokenExchange","iat":n,"nbf":n,"exp":n+300,"jti":"j"}),
    );
    let mut r = Report::default();
    assertion::check_text(&gh, &ctx(), &mut r);
    assert!(!r.has_errors(), "{}", r.render_human(&Plain));
    let f = r.finding(Code::AssertionClaims).expect("claims").clone();
    assert_eq!(f.severity, Severity::Info);
    assert!(f.message.to_string().contains("federated"));
}

#[tokio::test]
async fn online_the_servers_discovery_and_clock_judge_the_assertion() {
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .expect("emulator");
    let base = emu.base_url().trim_end_matches('/').to_owned();
    let issuer: url::Url = base.parse().unwrap();
    // This machine's clock is 10 minutes behind the server's (the emulator answers with
    // the real time in Date).
    let local = SystemTime::now() - Duration::from_secs(600);
    let mut ctx = Context {
        client_id: Some("demo-client".into()),
        issuer: Some(issuer.to_string()),
        ..Context::at(local)
    };
    let mut r = Report::default();
    online::assertion::server_view(
        Some(&issuer),
        None,
        Duration::from_secs(5),
        &mut ctx,
        &mut r,
    )
    .await;
    let text = r.render_human(&Plain);
    assert!(r.has(Code::Discovery) && !r.has_errors(), "{text}");
    assert!(ctx.server_now.is_some(), "{text}");
    let token_url = ctx.token_url.clone().expect("discovered token endpoint");
    assert_eq!(token_url, format!("{base}/oauth/token"));
    // Signed for 60 s by this machine's clock, aud = the token endpoint.
    let t = local.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let a = jwt(
        good_header(),
        json!({"iss":"demo-client","sub":"demo-client","aud":token_url,"iat":t,"nbf":t,"exp":t+60,"jti":"x"}),
    );
    assertion::check_text(&a, &ctx, &mut r);
    let text = r.render_human(&Plain);
    let expired = r
        .finding(Code::AssertionExpired)
        .unwrap_or_else(|| panic!("{text}"))
        .message
        .to_string();
    assert!(
        expired.starts_with("by the server's clock (Date "),
        "{expired}"
    );
    assert!(expired.contains("though it is valid here"), "{expired}");
    let aud = r
        .finding(Code::AssertionAud)
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    assert_eq!(aud.severity, Severity::Warning);
    assert!(
        aud.fix
            .to_string()
            .contains(&format!("set aud to the issuer '{base}'")),
        "{}",
        aud.fix
    );
    // The emulator lists only secret methods: a private_key_jwt assertion is not among them.
    let m = r
        .finding(Code::AuthMethodUnsupported)
        .unwrap_or_else(|| panic!("{text}"))
        .message
        .to_string();
    assert!(
        m.contains("private_key_jwt, which the server does not list"),
        "{m}"
    );
    emu.shutdown().await;
}

#[test]
fn a_vendors_lifetime_limit_is_an_error() {
    let n = NOW as i64;
    let a = jwt(
        good_header(),
        json!({"iss":"my-app","sub":"my-app","aud":"https://acme.eu.auth0.com/","iat":n,"exp":n+600,"jti":"j"}),
    );
    let r = diagnose_curl_at(
        &format!(
            "curl -X POST https://acme.eu.auth0.com/oauth/token -d grant_type=client_credentials \
             -d client_assertion_type={} -d client_assertion={a}",
            assertion::JWT_BEARER
        ),
        now(),
    );
    let f = r
        .finding(Code::AssertionLifetime)
        .expect("assertion.lifetime")
        .clone();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message.to_string(),
        "the assertion lives 10m; Auth0 accepts at most 5m"
    );
}

#[tokio::test]
async fn online_with_only_a_token_url_the_servers_date_still_judges_the_times() {
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .expect("emulator");
    let token: url::Url = format!("{}/oauth/token", emu.base_url().trim_end_matches('/'))
        .parse()
        .unwrap();
    // This machine's clock is 10 minutes ahead: the assertion is from the server's future.
    let local = SystemTime::now() + Duration::from_secs(600);
    let mut ctx = Context {
        client_id: Some("demo-client".into()),
        token_url: Some(token.to_string()),
        ..Context::at(local)
    };
    let mut r = Report::default();
    online::assertion::server_view(None, Some(&token), Duration::from_secs(5), &mut ctx, &mut r)
        .await;
    assert!(
        ctx.server_now.is_some() && !r.has_errors(),
        "{}",
        r.render_human(&Plain)
    );
    let t = local.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let a = jwt(
        good_header(),
        json!({"iss":"demo-client","sub":"demo-client","aud":"x","iat":t,"nbf":t,"exp":t+60,"jti":"x"}),
    );
    assertion::check_text(&a, &ctx, &mut r);
    let future = r
        .findings()
        .into_iter()
        .filter(|f| f.code == Code::AssertionExpired)
        .map(|f| f.message.to_string())
        .collect::<Vec<_>>();
    assert!(
        future.iter().any(|m| m.contains("from ")
            && m.contains("in the future")
            && m.contains("this machine's clock is")),
        "{future:?}"
    );
    emu.shutdown().await;
}
