//! `cctoken get` against the in-process emulator: the acceptance checks of the foundation.

mod common;

use cctoken_emulator::Flavor;
use common::{cctoken, get, Emu, DEMO_SECRET};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn generic_token_url_raw_and_json() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    let out = cctoken(home.path())
        .args(["get", "--token-url", &format!("{}/oauth/token", emu.base)])
        .args([
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--scope",
            "read",
        ])
        .env("S", DEMO_SECRET)
        .assert()
        .success()
        .get_output()
        .clone();
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.trim().len() > 10 && token.ends_with('\n') && !token.trim().contains(' '));

    let out = cctoken(home.path())
        .args([
            "get",
            "--issuer",
            &emu.base,
            "--client-id",
            "demo-client",
            "--json",
        ])
        .env("CCTOKEN_CLIENT_SECRET", DEMO_SECRET)
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["access_token"].as_str().unwrap().len() > 10);
    assert_eq!(v["token_type"], "Bearer");
    let exp = v["expires_in"].as_u64().unwrap();
    assert!(exp > 3000 && exp <= 3600, "{v}");
}

#[test]
fn genesys_flavor_with_override_and_api_base() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    let out = cctoken(home.path())
        .args([
            "get",
            "--provider",
            "genesys",
            "--token-url",
            &format!("{}/oauth/token", emu.base),
        ])
        .args([
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--format",
            "json",
        ])
        .env("S", DEMO_SECRET)
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exp = v["expires_in"].as_u64().unwrap();
    assert!((86_300..=86_400).contains(&exp), "86400 s default: {v}");
    assert_eq!(
        v["api_base"].as_str().unwrap().trim_end_matches('/'),
        emu.base
    );
}

#[test]
fn cxone_access_key_flow_finds_tenant_api_base() {
    let emu = Emu::demo(Flavor::Cxone);
    let home = tmp();
    let out = cctoken(home.path())
        .args([
            "get",
            "--provider",
            "cxone",
            "--issuer",
            &emu.base,
            "--client-id",
            "demo-app",
        ])
        .args(["--access-key-id", "DEMOACCESSKEY", "--format", "json"])
        .env("CCTOKEN_CLIENT_SECRET", "demo-app-secret")
        .env("CCTOKEN_ACCESS_KEY_SECRET", "demo/access+key====")
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exp = v["expires_in"].as_u64().unwrap();
    assert!((3_500..=3_600).contains(&exp), "{v}");
    assert_eq!(
        v["api_base"].as_str().unwrap().trim_end_matches('/'),
        emu.base
    );
}

#[test]
fn wrong_secret_exits_3_with_hint_and_fingerprint() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    let out = get(
        home.path(),
        &emu.token_url(),
        "demo-client",
        "wrong-secret-value",
    )
    .args(["--provider", "genesys"])
    .assert()
    .code(3)
    .get_output()
    .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("invalid_client"), "{err}");
    assert!(err.contains("presented secret: len=18 sha256:"), "{err}");
    assert!(err.contains("region"), "Genesys hint: {err}");
    assert!(!err.contains("wrong-secret-value"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn client_without_grant_exits_3_naming_the_grant() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    let out = get(home.path(), &emu.token_url(), "demo-nogrant", DEMO_SECRET)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unauthorized_client"), "{err}");
    assert!(err.contains("client_credentials"), "{err}");
}

#[test]
fn trailing_whitespace_in_secret_is_a_clear_error() {
    let home = tmp();
    let out = get(home.path(), "http://127.0.0.1:9/oauth/token", "x", "abc\t")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("trailing tab"), "{err}");
    assert!(err.contains("--keep-secret-bytes"), "{err}");
}

#[test]
fn secret_on_argv_is_rejected_naming_alternatives() {
    let home = tmp();
    let out = cctoken(home.path())
        .args([
            "get",
            "--token-url",
            "http://127.0.0.1:9/t",
            "--client-id",
            "x",
        ])
        .args(["--client-secret", "hunter2-argv-secret"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--client-secret-env"), "{err}");
    assert!(err.contains("--client-secret-file"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn server_down_exits_4_after_bounded_retries() {
    // Bind then drop a listener: the port is (almost certainly) closed afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tmp();
    let started = std::time::Instant::now();
    let url = format!("http://127.0.0.1:{port}/oauth/token");
    let out = get(home.path(), &url, "x", "secret")
        .assert()
        .code(4)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("could not connect"), "{err}");
    assert!(err.contains("attempts"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(90));
}

#[test]
fn garbage_from_the_server_never_panics() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    for fault in [
        r#"{"kind":"html","status":502,"count":50}"#,
        r#"{"kind":"truncate","count":50}"#,
        r#"{"kind":"status","status":503,"count":50}"#,
    ] {
        emu.fault(fault);
        let out = get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
            .assert()
            .code(4)
            .get_output()
            .clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("error:"), "{err}");
        emu.clear_faults();
    }
}

#[test]
fn transient_faults_are_retried_to_success() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    for fault in [
        r#"{"kind":"status","status":503,"count":2}"#,
        r#"{"kind":"rate_limit","retry_after":1,"count":1}"#,
        r#"{"kind":"html","status":502,"count":1}"#,
        r#"{"kind":"truncate","count":1}"#,
        r#"{"kind":"reset","count":1}"#,
        r#"{"kind":"token_rate_limit","count":1}"#,
    ] {
        emu.fault(fault);
        get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
            .args(["--provider", "genesys", "--no-cache"])
            .assert()
            .success();
    }
}

/// A CI log (stderr is a file or a pipe) gets no ANSI colour: not in the debug lines, not
/// in the WARN line of a retry.
#[test]
fn logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    emu.fault(r#"{"kind":"status","status":503,"count":1}"#);
    let out = get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
        .args(["--provider", "genesys", "--no-cache", "-vv"])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("WARN"), "a retry warning: {err}");
    assert!(err.contains("DEBUG"), "debug lines: {err}");
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escapes in a log file: {err:?}"
    );
}

/// What `cctoken ARGS` writes on stderr when stderr is a terminal (a pseudo-terminal);
/// `no_color` sets `NO_COLOR=1`.
fn stderr_on_a_terminal(
    home: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
    no_color: bool,
) -> String {
    use std::io::Read as _;
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let mut cmd = common::peers::cctoken_cmd(args, home);
    cmd.env_remove("NO_COLOR").envs(envs.iter().copied());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(pty.slave));
    let mut child = cmd.spawn().expect("cctoken starts");
    // Drop the command: its copy of the terminal's slave side must close, or reading the
    // master never ends.
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        // Ends with EIO once the child (the last holder of the slave side) has exited.
        let _ = master.read_to_end(&mut out);
        out
    });
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    String::from_utf8_lossy(&reader.join().expect("reader")).into_owned()
}

/// On a terminal the log is coloured, unless `NO_COLOR` is set.
#[test]
fn logs_are_coloured_on_a_terminal_unless_no_color() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    let url = emu.token_url();
    let args = [
        "get",
        "-vv",
        "--no-cache",
        "--provider",
        "genesys",
        "--token-url",
        &url,
        "--client-id",
        "demo-client",
        "--client-secret-env",
        "S",
    ];
    let env = [("S", DEMO_SECRET)];
    let coloured = stderr_on_a_terminal(home.path(), &args, &env, false);
    assert!(coloured.contains("DEBUG"), "{coloured:?}");
    assert!(
        coloured.contains('\u{1b}'),
        "no colour on a terminal: {coloured:?}"
    );
    let plain = stderr_on_a_terminal(home.path(), &args, &env, true);
    assert!(plain.contains("DEBUG"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite NO_COLOR: {plain:?}"
    );
}

#[test]
fn dry_run_shows_fingerprints_and_sends_nothing() {
    let home = tmp();
    let out = cctoken(home.path())
        .args([
            "get",
            "--token-url",
            "https://auth.example.com/oauth2/token",
        ])
        .args([
            "--client-id",
            "ci-bot",
            "--client-secret-env",
            "S",
            "--scope",
            "a",
            "--scope",
            "b",
            "--dry-run",
        ])
        .env("S", DEMO_SECRET)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!(text);
    assert!(!text.contains("s3cret"));
}

#[test]
fn canary_secret_never_appears_anywhere() {
    const CANARY: &str = "CANARY-7f3a9b2c-SECRET";
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    let token_url = format!("{}/oauth/token", emu.base);
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "get",
            "--token-url",
            &token_url,
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "-vvv",
            "--trace",
        ],
        vec![
            "get",
            "--token-url",
            &token_url,
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--auth",
            "post",
            "-vvv",
            "--trace",
            "--json",
        ],
        vec![
            "get",
            "--token-url",
            &token_url,
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--dry-run",
            "--json",
        ],
        vec![
            "get",
            "--issuer",
            &emu.base,
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--trace",
        ],
    ];
    for args in runs {
        let out = cctoken(home.path())
            .args(&args)
            .env("S", CANARY)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        for stream in [&out.stdout, &out.stderr] {
            let s = String::from_utf8_lossy(stream);
            assert!(!s.contains(CANARY), "canary leaked with {args:?}: {s}");
            assert!(
                !s.contains("Q0FOQVJZ"),
                "base64 of canary leaked with {args:?}"
            );
        }
    }
    let activity = emu.get_json("/_emulator/activity").to_string();
    assert!(!activity.contains(CANARY));
    for entry in walkdir(home.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "{entry:?}"
        );
    }
}

fn walkdir(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walkdir(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// `https://` to a plain-HTTP server (the emulator) fails at once — no retries, exit 3 —
/// with a hint that names the mismatch; a generic bare origin is refused before sending.
#[test]
fn https_to_a_plain_http_port_and_a_bare_origin_say_what_is_wrong() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    let https = emu.token_url().replacen("http://", "https://", 1);
    let out = get(home.path(), &https, "demo-client", DEMO_SECRET)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not speak TLS on this port"), "{err}");
    assert!(!err.contains("could not be reached"), "{err}");
    assert!(!err.contains("gave up after"), "{err}");

    let out = get(home.path(), &emu.base, "demo-client", DEMO_SECRET)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    let base = emu.base.trim_end_matches('/');
    assert!(
        err.contains(&format!(
            "--token-url {base} has no path; give the token endpoint (e.g. {base}/oauth/token) \
             or --issuer {base} for discovery"
        )),
        "{err}"
    );
    assert!(emu.activity().is_empty(), "nothing was sent");
}
