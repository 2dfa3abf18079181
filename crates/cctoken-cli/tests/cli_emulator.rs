//! `cctoken emulator` as a process: the rate-limit flags of SPEC §13 — help that teaches
//! with example values, clear refusals of values that are not a limit, and limits that the
//! running server enforces over the wire (the exact windows are tested in the emulator
//! crate with an injected clock; here the windows are an hour, so no timing matters).

mod common;

use common::peers::{cctoken_cmd, describe, http_get_json, http_raw, run, start_emulator};

/// The demo client with `client_secret_post`; the secret `demo+s3cret/=%&` form-encoded.
const TOKEN_BODY: &str =
    "grant_type=client_credentials&client_id=demo-client&client_secret=demo%2Bs3cret%2F%3D%25%26";

fn token_request(authority: &str) -> String {
    format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{TOKEN_BODY}",
        TOKEN_BODY.len()
    )
}

fn api_request(authority: &str, token: &str) -> String {
    format!(
        "GET /api/v2/tokens/me HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

#[test]
fn help_teaches_the_rate_limit_flags() {
    let home = tempfile::tempdir().unwrap();
    let out = run(cctoken_cmd(["emulator", "--help"], home.path()));
    assert!(out.status.success(), "{}", describe(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--api-rate-limit <N/DUR>",
        "--token-rate-limit <N/DUR>",
        "[default: 300/60s for genesys, none for the other",
        "e.g. 10/60s",
        "--api-rate-limit 50/5s --token-rate-limit 10/60s",
        "at most N requests in any rolling DUR",
        "Retry-After",
        "invalid_request \"rate limit exceeded; ...\"",
    ] {
        assert!(help.contains(needle), "{needle:?} not in:\n{help}");
    }
}

#[test]
fn values_that_are_not_a_limit_are_refused_clearly() {
    let home = tempfile::tempdir().unwrap();
    for (flag, value, why) in [
        (
            "--api-rate-limit",
            "0/60s",
            "allows at least 1 request per window",
        ),
        (
            "--token-rate-limit",
            "0/60s",
            "allows at least 1 request per window",
        ),
        ("--api-rate-limit", "abc", "\"abc\" is not N/DUR"),
        ("--token-rate-limit", "abc", "\"abc\" is not N/DUR"),
        ("--api-rate-limit", "5/0s", "window must be at least 1ms"),
        ("--token-rate-limit", "5/0s", "window must be at least 1ms"),
        ("--api-rate-limit", "5/later", "\"later\" is not a duration"),
    ] {
        let out = run(cctoken_cmd(["emulator", flag, value], home.path()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {value}: {}",
            describe(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{flag} {value} started: {}",
            describe(&out)
        );
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} <N/DUR>'"))
                && stderr.contains(why)
                && stderr.contains("e.g. 300/60s"),
            "{flag} {value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_flags_limit_the_running_emulator() {
    let home = tempfile::tempdir().unwrap();
    let emu = start_emulator(
        &[
            "--flavor",
            "genesys",
            "--demo",
            "--api-rate-limit",
            "3/1h",
            "--token-rate-limit",
            "2/1h",
        ],
        home.path(),
    );
    let base = emu.url().to_owned();
    let authority = base.strip_prefix("http://").expect("http URL");
    assert!(
        emu.stderr_eventually_contains(
            "rate limits: 3/3600s per token on /api/v2/*; 2/3600s token requests per client"
        ),
        "{}",
        emu.stderr()
    );

    // Token endpoint: 2 per client, then Genesys' 400 invalid_request.
    let (status, body) = http_raw(authority, &token_request(authority));
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    assert_eq!(http_raw(authority, &token_request(authority)).0, 200);
    let (status, body) = http_raw(authority, &token_request(authority));
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["error"], "invalid_request");
    assert!(
        v["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("rate limit exceeded; ")),
        "{v}"
    );

    // API: 3 per token, then Genesys' normalised 429.
    for i in 0..3 {
        let (status, body) = http_raw(authority, &api_request(authority, &token));
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, body) = http_raw(authority, &api_request(authority, &token));
    assert_eq!(status, 429, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["code"], "too.many.requests.retry.after");
    // Seconds until the first of the 3 leaves its hour-long window.
    let retry = v["message"]
        .as_str()
        .and_then(|m| m.strip_prefix("Rate limit exceeded the maximum. Retry the request in ["))
        .and_then(|m| m.strip_suffix("] seconds"))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(retry.is_some_and(|n| (1..=3600).contains(&n)), "{v}");

    let stats = http_get_json(&format!("{base}/_emulator/stats"));
    let demo = &stats["clients"]["demo-client"];
    for v in [&stats, demo] {
        assert_eq!(v["api_requests_total"], 4, "{v}");
        assert_eq!(v["api_rate_limited_total"], 1, "{v}");
        assert_eq!(v["api_max_per_window"], 3, "{v}");
    }
    assert_eq!(demo["rate_limited"], 1, "{demo}");
    let clients = http_get_json(&format!("{base}/_emulator/clients"));
    assert_eq!(clients["clients"][0]["api_rate_limit"], "3/3600s");
    assert_eq!(clients["clients"][0]["token_rate_limit"], "2/3600s");
}
