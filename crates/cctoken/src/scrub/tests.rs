use base64::Engine as _;

use super::shape::{looks_like_token, trace_json, withhold};
use super::*;

const SECRET: &str = "CANARY+s3cret/=%&'<";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn scrubber() -> Scrubber {
    Scrubber::for_client("my client", &ClientSecret::new(SECRET))
}

/// Every form of the secret a server could echo, as it would appear in its text.
fn echoes() -> Vec<String> {
    let form = form_urlencode(SECRET);
    let json = serde_json::to_string(SECRET).unwrap();
    vec![
        SECRET.to_owned(),
        form.clone(),
        form.to_ascii_lowercase().replace("canary", "CANARY"),
        form.replace('+', "%20"),
        json[1..json.len() - 1].replace('/', "\\/"),
        "CANARY+s3cret/=%&amp;&#39;&lt;".to_owned(),
        format!("Basic {}", B64.encode(format!("my client:{SECRET}"))),
        B64.encode(format!("my+client:{form}")),
        B64.encode(format!("my client:{SECRET}"))
            .trim_end_matches('=')
            .to_owned(),
        format!("my+client:{form}"),
    ]
}

#[test]
fn every_form_of_the_secret_is_taken_out() {
    let s = scrubber();
    for echo in echoes() {
        let text = format!("invalid_client: you sent {echo} (bad)");
        let out = s.scrub(&text);
        assert!(!out.contains("CANARY"), "{echo:?} survived: {out}");
        assert!(!out.contains(&echo), "{echo:?} survived: {out}");
        assert!(out.starts_with("invalid_client: you sent ["), "{out}");
        assert!(out.ends_with("] (bad)"), "{out}");
    }
}

#[test]
fn access_key_secrets_and_tokens_are_taken_out_too() {
    let s = Scrubber::new()
        .with_secret(
            &ClientSecret::new("demo/access+key===="),
            "[access-key-secret]",
        )
        .with_token(&AccessToken::new("tok-abc"));
    assert_eq!(
        s.scrub("password=demo%2Faccess%2Bkey%3D%3D%3D%3D refresh=tok-abc"),
        "password=[access-key-secret] refresh=[token]"
    );
}

#[test]
fn short_values_are_left_to_the_shapes() {
    let s = Scrubber::for_client("c", &ClientSecret::new("abc"));
    assert_eq!(s.scrub("abc is not a word here"), "abc is not a word here");
}

#[test]
fn errors_are_scrubbed_in_message_and_description() {
    let mut e = Error::rejected(
        crate::error::ErrorKind::InvalidClient,
        Some(401),
        format!("server said invalid_client — {SECRET}"),
    );
    e.description = Some(SECRET.into());
    let e = scrubber().error(e);
    assert_eq!(e.message, "server said invalid_client — [client-secret]");
    assert_eq!(e.description.as_deref(), Some("[client-secret]"));
}

const JWT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";
const OPAQUE: &str = "wpSqpWZ2TyUC3Ilxm9-ZTfBSNMiaw4fK-YRGIwbDNTwERQ27Ol6nbjb";

#[test]
fn token_shapes_are_recognised() {
    assert!(looks_like_token(JWT));
    assert!(looks_like_token(OPAQUE));
    assert!(looks_like_token(
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo=="
    ));
    for word in [
        "5a1c3a2e-1b2c-4d5e-8f90-123456789abc",
        "//login.mypurecloud.ie/oauth/token",
        "/api/v2/analytics/conversations/details/query",
        "client_credentials_grant_is_not_enabled_here",
        "invalid_client",
        "short1",
    ] {
        assert!(!looks_like_token(word), "{word}");
    }
}

#[test]
fn values_under_token_keys_are_withheld_in_any_notation() {
    for (text, kept) in [
        (r#"{"accessToken":"abcdefgh"}"#, r#"{"accessToken":""#),
        (r#"{"AccessToken": "abcdefgh"}"#, r#"{"AccessToken": ""#),
        (r#"{'jwt': 'abcdefgh'}"#, "{'jwt': '"),
        (
            r#"{"data":{"access_token":"abcdefgh"}}"#,
            r#"{"data":{"access_token":""#,
        ),
        ("access_token=abcdefgh&token_type=bearer", "access_token="),
        (
            "<title>refresh_token: abcdefgh</title>",
            "<title>refresh_token: ",
        ),
        (r#"{\"id_token\":\"abcdefgh\"}"#, r#"{\"id_token\":\""#),
        ("Authorization: Bearer abcdefgh12", "Authorization: Bearer "),
    ] {
        let out = withhold(text);
        assert!(!out.contains("abcdefgh"), "{text} -> {out}");
        assert!(out.starts_with(kept), "{text} -> {out}");
        assert!(out.contains("[withheld len="), "{text} -> {out}");
    }
    for text in [
        JWT.to_owned(),
        format!("text/plain {OPAQUE} end"),
        format!("<title>{JWT}</title>"),
    ] {
        let out = withhold(&text);
        assert!(
            !out.contains(&JWT[..20]) && !out.contains(&OPAQUE[..20]),
            "{out}"
        );
    }
}

#[test]
fn ordinary_error_text_is_kept() {
    for text in [
        "authentication failed",
        r#"{"error":"invalid_token","error_description":"the token expired"}"#,
        r#"{"token_type":"Bearer","expires_in":3600}"#,
        "rate limit exceeded; retry in 30 seconds",
        "client 5a1c3a2e-1b2c-4d5e-8f90-123456789abc not found at https://login.mypurecloud.ie/oauth/token",
        "Bearer token expired",
    ] {
        assert_eq!(withhold(text), text);
    }
}

#[test]
fn trace_json_shortens_token_keys_at_any_depth_and_hides_secrets() {
    let mut v = serde_json::json!({
        "access_token": "abcdefghijkl",
        "data": {"accessToken": "mnopqrstuvwx", "list": [{"jwt": "yzabcdefghij"}]},
        "client_secret": "hunter2hunter2",
        "note": format!("see {JWT}"),
        "expires_in": 3600,
    });
    trace_json(&mut v);
    let t = v.to_string();
    assert!(t.contains("abcdef…") && !t.contains("abcdefg"), "{t}");
    assert!(t.contains("mnopqr…") && !t.contains("mnopqrs"), "{t}");
    assert!(t.contains("yzabcd…") && !t.contains("yzabcde"), "{t}");
    assert!(!t.contains("hunter"), "{t}");
    assert!(!t.contains("eyJzdWIi"), "{t}");
    assert!(t.contains("3600"), "{t}");
}

#[test]
fn urns_are_names_not_tokens() {
    for echo in [
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        "client_assertion_type: urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    ] {
        let out = withhold(echo);
        assert_eq!(out, echo);
    }
    // The assertion next to it still goes.
    let out = withhold(&format!("client_assertion={JWT}"));
    assert!(!out.contains("eyJ"), "{out}");
}
