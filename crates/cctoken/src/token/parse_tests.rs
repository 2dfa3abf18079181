use super::*;
use crate::secret::{AccessToken, ClientSecret};

fn raw(status: u16, body: &str) -> RawResponse {
    RawResponse {
        status,
        content_type: Some("application/json".into()),
        retry_after: None,
        body: body.as_bytes().to_vec(),
    }
}

fn parse(status: u16, body: &str) -> Result<Token, Error> {
    parse_response(
        &raw(status, body),
        SystemTime::UNIX_EPOCH,
        None,
        &Scrubber::new(),
    )
}

#[test]
fn good_token_with_string_expires_and_mixed_case_type() {
    let t = parse(
        200,
        r#"{"access_token":"abc","token_type":"BEARER","expires_in":"3599","scope":"a b"}"#,
    )
    .unwrap();
    assert_eq!(t.access_token.expose_secret(), "abc");
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, Duration::from_secs(3599));
    assert!(!t.expires_in_defaulted);
    assert_eq!(t.scope.as_deref(), Some("a b"));
}

#[test]
fn missing_expires_in_uses_default_and_says_so() {
    let t = parse(200, r#"{"access_token":"abc","token_type":"bearer"}"#).unwrap();
    assert!(t.expires_in_defaulted);
    assert_eq!(t.expires_in, DEFAULT_LIFETIME);
}

#[test]
fn garbage_is_classified_never_panics() {
    let cases = [
        (200, "<html><title>Login</title></html>", "HTML"),
        (200, r#"{"access_token":"abc","tok"#, "truncated"),
        (200, r#"{"access_token":123}"#, "number where a string"),
        (
            200,
            r#"{"access_token":"a","expires_in":"soon"}"#,
            "expires_in",
        ),
        (200, r#"{"access_token":"a","expires_in":-5}"#, "expires_in"),
        (
            200,
            r#"{"access_token":"a","token_type":"mac"}"#,
            "not supported",
        ),
        (200, r#"[1,2]"#, "array"),
        (200, "", "empty"),
        (200, "\u{0}\u{1}garbage", "not JSON"),
        (200, r#"{"token_type":"bearer"}"#, "without 'access_token'"),
    ];
    for (status, body, needle) in cases {
        let e = parse(status, body).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnexpectedResponse, "{body}");
        assert!(e.message.contains(needle), "{body}: {}", e.message);
        assert!(!e.message.contains("abc"), "token leaked: {}", e.message);
    }
}

#[test]
fn rfc_errors_are_permanent_without_a_hint_yet() {
    let e = parse(
        401,
        r#"{"error":"invalid_client","error_description":"bad"}"#,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidClient);
    assert_eq!(e.class, Class::Permanent);
    assert_eq!(e.hint, None, "the client attaches the provider's hint");
    let e = parse(400, r#"{"error":"unauthorized_client"}"#).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnauthorizedClient);
}

#[test]
fn genesys_error_shape_and_rate_limit() {
    let e = parse_response(
        &raw(
            400,
            r#"{"error":"invalid_request","description":"rate limit exceeded; try again","error_description":"rate limit exceeded; try again"}"#,
        ),
        SystemTime::UNIX_EPOCH,
        None,
        &Scrubber::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.class, Class::Transient);
    assert_eq!(e.retry_after, None, "no wait given, none invented");
    let e = parse_response(
        &raw(
            400,
            r#"{"error":"invalid_request","description":"rate limit exceeded; retry after 20 seconds","error_description":"rate limit exceeded; retry after 20 seconds"}"#,
        ),
        SystemTime::UNIX_EPOCH,
        None,
        &Scrubber::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(20)), "{e:?}");
    let mut r = raw(
        400,
        r#"{"error":"invalid_request","error_description":"rate limit exceeded; retry after 20 seconds"}"#,
    );
    r.retry_after = Some("3".into());
    let e = parse_response(&r, SystemTime::UNIX_EPOCH, None, &Scrubber::new()).unwrap_err();
    assert_eq!(
        e.retry_after,
        Some(Duration::from_secs(3)),
        "the header wins"
    );
    let e = parse_response(
        &raw(
            400,
            r#"{"error":"invalid_request","error_description":"missing grant_type, retry after 20 seconds"}"#,
        ),
        SystemTime::UNIX_EPOCH,
        None,
        &Scrubber::new(),
    )
    .unwrap_err();
    assert_eq!(
        e.retry_after, None,
        "only a rate limit's text is read for a wait"
    );
    let e = parse_response(
        &raw(
            401,
            r#"{"error":"invalid_client","description":"authentication failed"}"#,
        ),
        SystemTime::UNIX_EPOCH,
        None,
        &Scrubber::new(),
    )
    .unwrap_err();
    assert_eq!(e.description.as_deref(), Some("authentication failed"));
    assert_eq!(e.kind, ErrorKind::InvalidClient);
}

#[test]
fn status_only_errors() {
    let mut r = raw(429, "slow down");
    r.retry_after = Some("7".into());
    let e = parse_response(&r, SystemTime::UNIX_EPOCH, None, &Scrubber::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    r.retry_after = Some("100000".into());
    let e = parse_response(&r, SystemTime::UNIX_EPOCH, None, &Scrubber::new()).unwrap_err();
    assert_eq!(e.retry_after, Some(MAX_RETRY_AFTER));
    let e = parse(502, "<html><title>Bad Gateway</title></html>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::ServerError);
    assert!(e.is_transient());
    let e = parse(404, "Not Found").unwrap_err();
    assert_eq!(e.class, Class::Permanent);
    let e = parse(401, "").unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidClient);
}

#[test]
fn arbitrary_bytes_never_panic() {
    const ALPHABET: &[u8] = b"{}[]\":,0123456789.e-truefalsnul \\u<>access_token expires_in\xff";
    let mut seed = 0x1234_5678_u64;
    for len in 0..400 {
        let body: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ALPHABET[(seed % ALPHABET.len() as u64) as usize]
            })
            .collect();
        for status in [200, 400, 401, 429, 500] {
            let r = RawResponse {
                status,
                content_type: None,
                retry_after: Some(String::from_utf8_lossy(&body[..len.min(5)]).into()),
                body: body.clone(),
            };
            let _ = parse_response(&r, SystemTime::UNIX_EPOCH, None, &Scrubber::new());
        }
    }
}

/// A server that echoes the request: nothing cctoken sent survives into the error, in
/// whatever shape of body the echo comes.
#[test]
fn echoed_secrets_and_tokens_never_reach_the_error() {
    let secret = ClientSecret::new("CANARY/s3cret+x");
    let scrub = Scrubber::for_client("c", &secret).with_token(&AccessToken::new("KNOWNTOKEN-zz"));
    let form = crate::auth::form_urlencode(secret.expose_secret());
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode("c:CANARY/s3cret+x")
    };
    let bodies = [
        (
            400,
            format!(
                r#"{{"error":"invalid_request","error_description":"got client_secret={form}&refresh_token=KNOWNTOKEN-zz"}}"#
            ),
        ),
        (
            401,
            format!(
                r#"{{"error":"invalid_client","error_description":"Authorization: Basic {basic}"}}"#
            ),
        ),
        (
            401,
            format!(
                "<html><head><title>denied {}</title></head></html>",
                secret.expose_secret()
            ),
        ),
        (
            400,
            format!("grant_type=client_credentials&client_secret={form}"),
        ),
        (
            200,
            format!(
                r#"{{"error":"invalid_client","error_description":"{}"}}"#,
                secret.expose_secret()
            ),
        ),
        (
            200,
            format!(
                r#"{{"access_token":"x","token_type":"{}"}}"#,
                secret.expose_secret()
            ),
        ),
        (500, format!("{}{}", "x".repeat(55), secret.expose_secret())),
    ];
    for (status, body) in bodies {
        let mut r = raw(status, &body);
        r.content_type = Some("text/plain".into());
        let e = parse_response(&r, SystemTime::UNIX_EPOCH, None, &scrub).unwrap_err();
        let shown = format!("{e} {:?}", e.description);
        for leak in ["CANARY", "KNOWNTOKEN", &basic[..12], "s3cret"] {
            assert!(!shown.contains(leak), "{leak} in {shown} (from {body})");
        }
    }
}

/// Tokens cctoken has never seen are withheld by shape, under any key and in any
/// notation of body.
#[test]
fn unknown_tokens_are_withheld_by_shape() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlc2ln";
    let opaque = "Q2FuYXJ5VG9rZW4xMjM0NTY3ODkwYWJjZGVmZ2hpams";
    for (status, body) in [
        (
            400,
            format!(r#"{{"error":"invalid_grant","error_description":"accessToken={opaque}"}}"#),
        ),
        (
            400,
            format!(r#"{{"error":"invalid_grant","error_description":"{jwt}"}}"#),
        ),
        (200, format!(r#"{{"data":{{"access_token":"{opaque}"}}}}"#)),
        (200, format!(r#"{{"AccessToken":"{opaque}"}}"#)),
        (200, format!(r#"{{"jwt":"{jwt}"}}"#)),
        (200, format!("access_token={opaque}&token_type=bearer")),
        (
            200,
            format!("{{'access_token': '{opaque}', 'expires_in': 3600}}"),
        ),
        (200, format!("{{'accessToken': '{opaque}'}}")),
        (502, format!("<html><title>{jwt}</title></html>")),
        (500, format!("token: {opaque}")),
    ] {
        let e = parse_response(
            &raw(status, &body),
            SystemTime::UNIX_EPOCH,
            None,
            &Scrubber::new(),
        )
        .unwrap_err();
        let shown = format!("{e} {:?}", e.description);
        assert!(
            !shown.contains(&opaque[..16]) && !shown.contains(&jwt[..16]),
            "{shown} (from {body})"
        );
    }
}

#[test]
fn waits_written_in_text() {
    use super::wait_in_text;
    let s = Duration::from_secs;
    for (text, want) in [
        ("rate limit exceeded; retry after 20 seconds", Some(s(20))),
        ("Retry the request in [42] seconds", Some(s(42))),
        ("try again in 5s", Some(s(5))),
        ("limit 50 per minute; retry in 2 minutes", Some(s(120))),
        (
            "rate limit exceeded; retry after 99999 seconds",
            Some(MAX_RETRY_AFTER),
        ),
        (
            "rate limit exceeded; retry after 99999999999999999999999 seconds",
            Some(MAX_RETRY_AFTER),
        ),
        ("rate limit exceeded; try again", None),
        ("rate limit exceeded; 50 requests allowed", None),
        ("", None),
    ] {
        assert_eq!(wait_in_text(text), want, "{text}");
    }
}
