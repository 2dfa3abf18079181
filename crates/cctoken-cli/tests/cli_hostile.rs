//! The real binary against hostile loopback servers (issue 11): a token server that
//! echoes the request in every shape of error body must get none of what cctoken sent
//! into stdout, stderr, `--trace`, the cache files, doctor, `profiles test`, the agent's
//! log or its 503 body; a loopback token server is never reached through a proxy; a
//! token that carries code is never written as dotenv; bad config paths and URLs with
//! passwords are clear errors.

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::cctoken;
use common::hostile::{Answer, Hostile, ECHO_SHAPES};
use common::peers::{self, PeerProcess};

const ID: &str = "c";
const SECRET: &str = "CANARY/s3cret+x=";
const KEY_SECRET: &str = "AKCANARY/key+x====";

/// Every form of the secrets a leak could take.
fn canaries() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    vec![
        "CANARY".into(),
        form(SECRET),
        form(KEY_SECRET),
        b64.encode(format!("{ID}:{SECRET}")),
        b64.encode(format!("{ID}:{}", form(SECRET))),
    ]
}

fn scan(text: &str, what: &str) {
    for c in canaries() {
        assert!(!text.contains(&c), "{c} leaked into {what}:\n{text}");
    }
}

/// Every file under `dir`, as text (the cache: entries, locks, temporaries).
fn files_under(dir: &Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push_str(&files_under(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn echoing_token_servers_get_no_secret_into_output_trace_or_cache() {
    for (i, shape) in ECHO_SHAPES.into_iter().enumerate() {
        let server = Hostile::echo(shape);
        // A transient shape is retried with backoff: one method is enough there.
        let methods: &[&str] = if i == 3 {
            &["basic"]
        } else {
            &["basic", "basic-raw", "post"]
        };
        for auth in methods {
            let home = tempfile::tempdir().unwrap();
            for run in 0..2 {
                // The second run answers from the negative cache for permanent failures.
                let out = cctoken(home.path())
                    .args(["-vv", "--trace", "get", "--auth", auth])
                    .args(["--token-url", &server.url("/echo"), "--client-id", ID])
                    .args(["--client-secret-env", "SEC"])
                    .env("SEC", SECRET)
                    .output()
                    .unwrap();
                assert!(!out.status.success());
                scan(
                    &text(&out),
                    &format!("get --auth {auth} (shape {i}, run {run})"),
                );
            }
            scan(&files_under(&home.path().join("cache")), "the cache files");
        }
        let seen = server.requests().join("\n");
        assert!(
            canaries()[1..].iter().any(|c| seen.contains(c)),
            "the server saw the secret"
        );
    }
}

#[test]
fn the_cxone_access_key_secret_is_scrubbed_too() {
    let server = Hostile::echo(ECHO_SHAPES[2]);
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args(["--trace", "get", "--provider", "cxone", "--token-url"])
        .arg(server.url("/auth/token"))
        .args(["--client-id", ID, "--access-key-id", "AKID"])
        .env("CCTOKEN_CLIENT_SECRET", SECRET)
        .env("CCTOKEN_ACCESS_KEY_SECRET", KEY_SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    scan(&text(&out), "get --provider cxone");
    let form: String = url::form_urlencoded::byte_serialize(KEY_SECRET.as_bytes()).collect();
    assert!(
        server.requests().join("").contains(&form),
        "the server saw it"
    );
}

fn write_profile(home: &Path, url: &str) {
    let dir = home.join("config/cctoken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[profiles.echo]\nprovider = \"generic\"\ntoken_url = \"{url}\"\nclient_id = \"{ID}\"\nclient_secret_env = \"SEC\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn doctor_and_profiles_test_show_no_echo() {
    let server = Hostile::echo(ECHO_SHAPES[0]);
    let home = tempfile::tempdir().unwrap();
    write_profile(home.path(), &server.url("/echo"));
    for args in [
        &["doctor", "-p", "echo"][..],
        &["doctor", "-p", "echo", "--json", "--probe-auth"],
        &["--trace", "profiles", "test", "echo"],
    ] {
        let out = cctoken(home.path())
            .args(args)
            .env("SEC", SECRET)
            .output()
            .unwrap();
        scan(&text(&out), &args.join(" "));
    }
}

/// GET `path` over the agent's Unix socket: (status line, body).
fn unix_get(socket: &Path, path: &str) -> (String, String) {
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

#[test]
fn the_agent_relays_no_echo_in_its_log_or_its_503() {
    let server = Hostile::echo(ECHO_SHAPES[0]);
    let home = tempfile::tempdir().unwrap();
    write_profile(home.path(), &server.url("/echo"));
    let mut cmd = peers::cctoken_cmd(["-vv", "--trace", "agent"], home.path());
    cmd.env("SEC", SECRET);
    let mut socket = None;
    let agent = PeerProcess::start_until("cctoken agent", cmd, |line| {
        socket = line
            .strip_prefix("listening on unix:")
            .map(std::path::PathBuf::from);
        socket.is_some().then(|| Ok(String::new()))
    });
    let socket = socket.expect("the agent's socket");
    let (status, body) = unix_get(&socket, "/v1/token/echo");
    assert!(status.contains(" 503 "), "{status} {body}");
    scan(&body, "the agent's 503 body");
    // A consumer asking the agent sees the same.
    let out = cctoken(home.path())
        .args(["get", "-p", "echo"])
        .env("CCTOKEN_AGENT", format!("unix:{}", socket.display()))
        .output()
        .unwrap();
    scan(&text(&out), "a consumer of the agent");
    assert!(
        agent.stderr_eventually_contains("invalid_client"),
        "{}",
        agent.stderr()
    );
    scan(&agent.stderr(), "the agent's log");
}

#[test]
fn a_proxy_never_carries_loopback_requests() {
    let proxy = Hostile::answering(|_| Answer::new(502, "text/plain", "proxied"));
    let token_server = Hostile::answering(|_| {
        Answer::new(
            200,
            "application/json",
            r#"{"access_token":"t0k3n","token_type":"Bearer","expires_in":600}"#,
        )
    });
    let home = tempfile::tempdir().unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("http://{host}:{}/oauth/token", token_server.addr.port());
        let out = cctoken(home.path())
            .args(["get", "--no-cache", "--token-url", &url, "--client-id", ID])
            .args(["--client-secret-env", "SEC"])
            .env("SEC", SECRET)
            .env("HTTP_PROXY", proxy.url(""))
            .env("http_proxy", proxy.url(""))
            .env("ALL_PROXY", proxy.url(""))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap();
        assert!(out.status.success(), "{host}: {}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "t0k3n\n");
    }
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[test]
fn a_token_carrying_code_is_never_written_as_dotenv() {
    let evil = r#"a$(touch x)`touch y`"#;
    let body = serde_json::json!({"access_token": evil, "token_type": "Bearer", "expires_in": 600});
    let server =
        Hostile::answering(move |_| Answer::new(200, "application/json", body.to_string()));
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args([
            "get",
            "--format",
            "dotenv",
            "--token-url",
            &server.url("/t"),
        ])
        .args(["--client-id", ID, "--client-secret-env", "SEC"])
        .env("SEC", SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CCTOKEN_ACCESS_TOKEN") && err.contains("--format env"),
        "{err}"
    );
    assert!(!err.contains("touch"), "{err}");
    // What it printed (nothing) sources without running anything.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("tok.env"), &out.stdout).unwrap();
    let st = std::process::Command::new("sh")
        .args(["-c", "set -a; . ./tok.env"])
        .current_dir(work.path())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(!work.path().join("x").exists() && !work.path().join("y").exists());
}

#[test]
fn config_paths_that_are_not_files_are_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let fifo = home.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (path, says) in [
        (Path::new("/dev/zero"), "is a device, not a regular file"),
        (fifo.as_path(), "is a FIFO (named pipe), not a regular file"),
    ] {
        // The command's own timeout bounds a hang; it must end long before.
        for args in [&["profiles", "list"][..], &["get", "-p", "x"]] {
            let out = cctoken(home.path())
                .args(args)
                .arg("--config")
                .arg(path)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{}", text(&out));
            assert!(text(&out).contains(says), "{}", text(&out));
        }
    }
}

#[test]
fn userinfo_in_urls_is_refused_without_echoing_it() {
    let home = tempfile::tempdir().unwrap();
    for flag in ["--token-url", "--issuer"] {
        let out = cctoken(home.path())
            .args([
                "get",
                "--dry-run",
                flag,
                "https://u:PW@auth.example.com/oauth/token",
            ])
            .args(["--client-id", ID, "--client-secret-env", "SEC"])
            .env("SEC", SECRET)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let t = text(&out);
        assert!(!t.contains("PW"), "{t}");
        assert!(
            t.contains("user name or password") && t.contains("--client-secret-env"),
            "{t}"
        );
    }
}

#[test]
fn an_api_echoing_the_request_gets_no_token_shown() {
    let token_server = Hostile::answering(|_| {
        Answer::new(
            200,
            "application/json",
            r#"{"access_token":"TOKCANARY-0123456789","token_type":"Bearer","expires_in":600}"#,
        )
    });
    let api = Hostile::answering(|r| {
        let status = if r.starts_with("GET /denied") {
            403
        } else {
            200
        };
        Answer::new(status, "text/plain", r)
    });
    let home = tempfile::tempdir().unwrap();
    for path in ["/denied", "/ok"] {
        let out = cctoken(home.path())
            .args([
                "api",
                "--token-url",
                &token_server.url("/t"),
                "--client-id",
                ID,
            ])
            .args(["--client-secret-env", "SEC", "--api-base", &api.url("")])
            .arg(path)
            .env("SEC", SECRET)
            .output()
            .unwrap();
        let t = text(&out);
        assert!(!t.contains("TOKCANARY"), "{path}: {t}");
        assert!(
            t.to_ascii_lowercase()
                .contains("authorization: bearer [token]"),
            "{path}: {t}"
        );
    }
    assert!(
        api.requests().iter().all(|r| r.contains("TOKCANARY")),
        "the API saw it"
    );
}
