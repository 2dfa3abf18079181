//! `cctoken api` against the Genesys-flavored emulator: the token is attached, a revoked
//! token is refreshed once, HTTP errors exit 1 with the body, and the token never leaves
//! the API base's origin.

mod common;

use cctoken_emulator::Flavor;
use common::{cctoken, Emu, DEMO_SECRET};

fn api(home: &std::path::Path, emu: &Emu) -> assert_cmd::Command {
    let mut c = cctoken(home);
    c.args([
        "api",
        "--provider",
        "genesys",
        "--token-url",
        &emu.token_url(),
    ])
    .args(["--client-id", "demo-client", "--client-secret-env", "S"])
    .env("S", DEMO_SECRET);
    c
}

#[test]
fn calls_the_api_with_the_token() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let out = api(home.path(), &emu)
        .arg("/api/v2/tokens/me")
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON body");
    assert_eq!(v["OAuthClient"]["id"], "demo-client", "{v}");
}

#[test]
fn http_errors_exit_1_with_the_body() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let out = api(home.path(), &emu)
        .arg("/api/v2/no/such/thing")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(!out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
}

#[test]
fn a_revoked_token_is_refreshed_once() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    // Put a token in the cache, then revoke it behind cctoken's back.
    api(home.path(), &emu)
        .arg("/api/v2/tokens/me")
        .assert()
        .success();
    api(home.path(), &emu)
        .args(["-X", "DELETE", "/api/v2/tokens/me"])
        .assert()
        .success();
    let issued = emu.get_json("/_emulator/stats")["tokens_issued_total"]
        .as_u64()
        .unwrap();
    api(home.path(), &emu)
        .arg("/api/v2/tokens/me")
        .assert()
        .success();
    let after = emu.get_json("/_emulator/stats")["tokens_issued_total"]
        .as_u64()
        .unwrap();
    assert_eq!(after, issued + 1, "one new token after the 401");
}

#[test]
fn the_token_never_goes_to_another_origin() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let out = api(home.path(), &emu)
        .arg("https://evil.example/api/v2/users/me")
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to send the token"));
}

#[test]
fn headers_and_body_are_checked() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    api(home.path(), &emu)
        .args(["-H", "Authorization: Bearer x", "/api/v2/tokens/me"])
        .assert()
        .code(2);
    api(home.path(), &emu)
        .args(["-H", "no-colon", "/api/v2/tokens/me"])
        .assert()
        .code(2);
    api(home.path(), &emu)
        .args(["--data", "@/nonexistent/body.json", "/api/v2/tokens/me"])
        .assert()
        .failure();
}

/// `--data` reads at most 32 MiB, from a file or stdin (`-`, `@-`): more is exit 2 with
/// a clear message before anything is sent, not the machine's memory. The runs are under
/// `ulimit -v` so that a regression fails instead of eating the shared machine.
#[test]
fn a_body_larger_than_32_mib_is_refused() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let capped = |data: &str| {
        let mut c = assert_cmd::Command::new("sh");
        c.arg("-c")
            .arg("ulimit -v 2097152 && exec \"$0\" \"$@\" <\"${STDIN:-/dev/null}\"")
            .arg(common::peers::cctoken_bin())
            .args([
                "api",
                "--provider",
                "genesys",
                "--token-url",
                &emu.token_url(),
            ])
            .args(["--client-id", "demo-client", "--client-secret-env", "S"])
            .args(["-X", "POST", "--data", data, "/api/v2/tokens/me"])
            .env("S", DEMO_SECRET)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("XDG_RUNTIME_DIR", home.path().join("run"))
            .env("CCTOKEN_GC_CONFIG", home.path().join("gc-config.toml"))
            .env_remove("CCTOKEN_CONFIG")
            .timeout(std::time::Duration::from_secs(120));
        c
    };
    for (data, what) in [("@/dev/zero", "/dev/zero"), ("-", "stdin"), ("@-", "stdin")] {
        let mut c = capped(data);
        if what == "stdin" {
            // The device itself as stdin (pipe_stdin would read it into this process).
            c.env("STDIN", "/dev/zero");
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{data}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "the --data body from {what} is larger than 32 MiB"
            )),
            "{data}: {stderr}"
        );
    }
    // Refused before anything was sent, the token request included.
    assert!(emu.activity().is_empty(), "{:?}", emu.activity());
    // `@-` is stdin, like `-`: a small body is read and sent (tokens/me answers a POST
    // with 405; that it was answered is the point).
    let out = api(home.path(), &emu)
        .args(["-X", "POST", "--data", "@-", "/api/v2/tokens/me"])
        .write_stdin("{}")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the API answered HTTP 405"), "{stderr}");
}

/// The emulator allows each token one API call per minute; the first run uses slot 0's
/// token (cached), so a second run's call on it is answered 429 by the emulator.
fn limited() -> (Emu, tempfile::TempDir) {
    let mut config = cctoken_emulator::EmulatorConfig::new(Flavor::Genesys).with_demo();
    config.api_rate_limit = Some("1/60s".parse().unwrap());
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    api(home.path(), &emu)
        .arg("/api/v2/tokens/me")
        .assert()
        .success();
    (emu, home)
}

#[test]
fn an_upstream_429_on_the_only_token_cools_it_and_exits_4_without_a_second_try() {
    let (emu, home) = limited();
    let out = api(home.path(), &emu)
        .arg("/api/v2/tokens/me")
        .assert()
        .code(4)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rate limited locally"), "{err}");
    let stats = emu.get_json("/_emulator/stats");
    assert_eq!(
        stats["api_requests_total"], 2,
        "the cooling token was not tried again"
    );
    assert_eq!(stats["api_rate_limited_total"], 1);
}

#[test]
fn with_a_pool_of_two_the_429_is_retried_on_the_other_token() {
    let (emu, home) = limited();
    let out = api(home.path(), &emu)
        .args(["--pool-size", "2", "/api/v2/tokens/me"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON body");
    assert_eq!(v["OAuthClient"]["id"], "demo-client", "{v}");
    let stats = emu.get_json("/_emulator/stats");
    assert_eq!(
        stats["api_rate_limited_total"], 1,
        "one 429, then the other token"
    );
    assert_eq!(
        stats["tokens_issued_total"], 2,
        "slot 0 from the cache, slot 1 minted"
    );
}

#[test]
fn pool_flags_are_checked() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    for (flag, value, needle) in [
        ("--pool-size", "0", "1 to 20"),
        ("--pool-size", "21", "1 to 20"),
        ("--api-rate-limit", "300", "e.g. 300/60s"),
    ] {
        let out = api(home.path(), &emu)
            .args([flag, value, "/api/v2/tokens/me"])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
}

/// A paged API on loopback: `/pages?pageNumber=N` answers page N of 2 (Genesys-style
/// `pageNumber`/`pageCount`), each on its own connection (`Connection: close`); it serves
/// `requests` requests and stops. Returns its origin.
fn paged_api(requests: usize) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..requests {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let timeout = Some(std::time::Duration::from_secs(30));
            stream.set_read_timeout(timeout).unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let page = if request_line.contains("pageNumber=2") {
                2
            } else {
                1
            };
            let body = format!(
                r#"{{"entities":[{{"id":"user-{page}"}}],"pageNumber":{page},"pageCount":2}}"#
            );
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    origin
}

/// The variable parts of a trace (ports, fingerprints) as fixed text, for a snapshot.
fn normalise_trace(text: &str, replacements: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in replacements {
        out = out.replace(from, to);
    }
    let mut fixed = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("len=") {
        fixed.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after.find(']').unwrap_or(after.len());
        fixed.push_str("len=N sha256:XXXXXXXX");
        rest = &after[end..];
    }
    fixed.push_str(rest);
    fixed
}

#[test]
fn trace_shows_every_api_exchange_redacted() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let token = common::get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
        .args(["--provider", "genesys"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let token = String::from_utf8(token).unwrap().trim().to_owned();
    assert!(token.len() > 20, "{token}");
    let out = api(home.path(), &emu)
        .args(["--trace", "/api/v2/tokens/me"])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(&token), "the token leaked: {err}");
    assert!(!err.contains(DEMO_SECRET), "{err}");
    assert!(
        err.contains(&format!("> GET {}/api/v2/tokens/me\n", emu.base)),
        "{err}"
    );
    assert!(err.contains("> Authorization: Bearer [token len="), "{err}");
    assert!(
        err.contains("< HTTP 200\n< Content-Type: application/json"),
        "{err}"
    );
    assert!(
        err.contains("demo-client"),
        "the response body is shown: {err}"
    );

    // A body is shown with the headers that went with it.
    let out = api(home.path(), &emu)
        .args(["--trace", "-X", "POST", "--data", r#"{"name":"x"}"#])
        .args(["-H", "X-Api-Key: CANARY-key", "/api/v2/no/such/thing"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(&token) && !err.contains("CANARY"), "{err}");
    assert!(err.contains("> X-Api-Key: [secret len=10 sha256:"), "{err}");
    assert!(
        err.contains("> Content-Type: application/json\n>\n> {\"name\":\"x\"}\n< HTTP 404"),
        "{err}"
    );
}

#[test]
fn trace_shows_every_page_of_paginate() {
    let emu = Emu::demo(Flavor::Genesys);
    let pages = paged_api(2);
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args([
            "api",
            "--trace",
            "--paginate",
            "--token-url",
            &emu.token_url(),
        ])
        .args(["--client-id", "demo-client", "--client-secret-env", "S"])
        .args(["--api-base", &pages, "/pages?pageSize=1"])
        .env("S", DEMO_SECRET)
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v, serde_json::json!([{"id": "user-1"}, {"id": "user-2"}]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(DEMO_SECRET), "{err}");
    // The token request comes first (traced by the client); the API calls follow it.
    assert!(
        err.contains("> POST "),
        "the token request is traced too: {err}"
    );
    let first_call = err
        .find(&format!("> GET {pages}/pages"))
        .unwrap_or_else(|| panic!("no API call traced: {err}"));
    insta::assert_snapshot!(
        "trace_paginate",
        normalise_trace(&err[first_call..], &[(&pages, "http://API")])
    );
}
