//! The `--trace` view of API calls made with a bearer token (`cctoken api`, its pages).
//!
//! The token request's own exchange is traced by [`super::http`]; this module renders the
//! calls that *use* the token with the same redaction: the bearer token as its fingerprint
//! (`Bearer [token len=… sha256:…]`, so two traces show whether the same token was sent),
//! headers whose names say they carry credentials as fingerprints,
//! and bodies with every token-like JSON value shortened to its first 6 characters. It does
//! not send anything and keeps no state.

use url::Url;

use crate::error::excerpt;
use crate::secret::{AccessToken, Fingerprint};

/// Longest body (in characters) a trace line shows; the rest is cut with `…`.
pub const MAX_TRACE_BODY: usize = 4000;

/// A request sent with `token` as its bearer credential, as `--trace` shows it.
///
/// `headers` are the caller's extra headers (the `Authorization` header is rendered from
/// `token`, never from them).
pub fn api_request(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    token: &AccessToken,
    body: Option<&[u8]>,
) -> String {
    let mut out = format!("> {method} {url}");
    out.push_str(&format!(
        "\n> Authorization: Bearer [token {}]",
        token.fingerprint()
    ));
    for (k, v) in headers {
        out.push_str(&format!("\n> {k}: {}", header_value(k, v, token)));
    }
    if let Some(b) = body {
        out.push_str("\n>\n> ");
        out.push_str(&redact_body(b, token));
    }
    out
}

/// A response to a bearer-token request, as `--trace` shows it: status, the headers of
/// interest (`Content-Type`, `Retry-After`, `WWW-Authenticate`) and the redacted body.
pub fn api_response(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    token: &AccessToken,
) -> String {
    let mut out = format!("< HTTP {status}");
    for (k, v) in headers {
        out.push_str(&format!("\n< {k}: {}", excerpt(&scrub(v, token), 200)));
    }
    if !body.is_empty() {
        out.push_str("\n< ");
        out.push_str(&redact_body(body, token));
    }
    out
}

/// True for a header name that carries a credential (its value is shown as a fingerprint).
fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "password",
        "session",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn header_value(name: &str, value: &str, token: &AccessToken) -> String {
    if sensitive_header(name) {
        format!("[secret {}]", Fingerprint::of(value.as_bytes()))
    } else {
        excerpt(&scrub(value, token), 200)
    }
}

/// Replace every occurrence of the bearer token with its shortened form.
fn scrub(text: &str, token: &AccessToken) -> String {
    let raw = token.expose_secret();
    if raw.is_empty() {
        return text.to_owned();
    }
    text.replace(raw, &token.shortened(6))
}

/// A body as `--trace` shows it: JSON with token-like values shortened, anything else as
/// a withheld-if-token-like excerpt; at most [`MAX_TRACE_BODY`] characters.
pub fn redact_body(body: &[u8], token: &AccessToken) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            redact_json(&mut v, token, false);
            let text = v.to_string();
            if text.chars().count() > MAX_TRACE_BODY {
                let cut: String = text.chars().take(MAX_TRACE_BODY).collect();
                format!("{cut}… ({} bytes)", body.len())
            } else {
                text
            }
        }
        Err(_) => excerpt(
            &scrub(&String::from_utf8_lossy(body), token),
            MAX_TRACE_BODY,
        ),
    }
}

/// Shorten, in place, every string that is a token: values of keys that name a token,
/// secret or password, JWT-looking strings, and the bearer token wherever it appears.
pub fn redact_json(v: &mut serde_json::Value, token: &AccessToken, key_is_secret: bool) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, inner) in m.iter_mut() {
                redact_json(inner, token, secret_key(k));
            }
        }
        serde_json::Value::Array(items) => {
            for inner in items {
                redact_json(inner, token, key_is_secret);
            }
        }
        serde_json::Value::String(s) => {
            if key_is_secret || s.starts_with("eyJ") {
                let short: String = s.chars().take(6).collect();
                *s = format!("{short}…");
            } else {
                *s = scrub(s, token);
            }
        }
        _ => {}
    }
}

fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("token") || k.contains("secret") || k.contains("password") || k == "assertion"
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "tok-CANARY-4711-abcdefghijklmnop";

    #[test]
    fn the_bearer_token_is_a_fingerprint_and_never_shown() {
        let t = AccessToken::new(CANARY);
        let url = Url::parse("https://api.example.com/v1/users?page=2").unwrap();
        let headers = vec![
            ("X-Api-Key".to_owned(), "k-CANARY".to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        let body = format!(r#"{{"note":"x {CANARY} y","password":"pw-CANARY","n":[1]}}"#);
        let req = api_request("GET", &url, &headers, &t, Some(body.as_bytes()));
        assert!(
            req.starts_with("> GET https://api.example.com/v1/users?page=2\n"),
            "{req}"
        );
        assert!(
            req.contains(&format!(
                "> Authorization: Bearer [token {}]",
                t.fingerprint()
            )),
            "{req}"
        );
        assert!(req.contains("> Accept: application/json"), "{req}");
        assert!(req.contains("> X-Api-Key: [secret len=8 sha256:"), "{req}");
        assert!(!req.contains("CANARY"), "{req}");
        assert!(req.contains(r#""note":"x tok-CA… y""#), "{req}");
    }

    #[test]
    fn responses_shorten_tokens_at_any_depth() {
        let t = AccessToken::new(CANARY);
        let body = format!(
            r#"{{"entities":[{{"id":"1","refresh_token":"rt-CANARY-xx","jwt":"eyJhbGciOi.CANARY"}}],"echo":"{CANARY}"}}"#
        );
        let resp = api_response(
            200,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
            &t,
        );
        assert!(
            resp.starts_with("< HTTP 200\n< Content-Type: application/json\n< {"),
            "{resp}"
        );
        assert!(!resp.contains("CANARY"), "{resp}");
        assert!(resp.contains(r#""id":"1""#), "{resp}");
        let text = api_response(401, &[], format!("bad token {CANARY}").as_bytes(), &t);
        assert_eq!(text, "< HTTP 401\n< bad token tok-CA…");
    }

    #[test]
    fn long_bodies_are_cut() {
        let t = AccessToken::new(CANARY);
        let body = format!(r#"{{"a":"{}"}}"#, "x".repeat(10_000));
        let shown = redact_body(body.as_bytes(), &t);
        assert!(
            shown.chars().count() < MAX_TRACE_BODY + 40,
            "{}",
            shown.len()
        );
        assert!(shown.ends_with("… (10008 bytes)"), "{shown}");
    }
}
