//! A reader that stops early (`cctoken completions bash | head -1`) ends cctoken quietly:
//! no panic message, never exit 101 (a panic's), whether the pipe was closed before the
//! first byte or after it, on stdout or on stderr (`2>&1 | head`).

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// The real binary with a clean environment (as `common::cctoken`, but a std command so
/// the test owns the pipes).
fn cctoken(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("cctoken"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CCTOKEN_") || k.starts_with("GENESYSCLOUD_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("CCTOKEN_GC_CONFIG", home.join("gc-config.toml"))
        .stdin(Stdio::null());
    c
}

/// A pipe whose read end is already closed: the first write fails with `BrokenPipe`.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer
}

fn assert_quiet(what: &str, status: ExitStatus, stderr: &str) {
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "{what}: {stderr}");
    assert_ne!(status.code(), Some(101), "{what}: {stderr}");
}

/// The commands of the trial, with a config file so `profiles list` has lines to print.
fn commands(home: &Path) -> Vec<Vec<String>> {
    let config = home.join("config/cctoken/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "[profiles.a]\ntoken_url = \"https://a.example/oauth/token\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\n",
    )
    .unwrap();
    [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["demo"],
        &["profiles", "list"],
        &["profiles", "list", "--json"],
    ]
    .iter()
    .map(|a| a.iter().map(|s| s.to_string()).collect())
    .collect()
}

#[test]
fn stdout_closed_before_the_first_byte_ends_quietly() {
    let home = tempfile::tempdir().unwrap();
    for args in commands(home.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cctoken(home.path(), &args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_quiet(&args.join(" "), out.status, &stderr);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn stdout_closed_after_the_first_bytes_ends_quietly() {
    let home = tempfile::tempdir().unwrap();
    for args in commands(home.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = cctoken(home.path(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        let n = child.stdout.take().unwrap().read(&mut first).unwrap();
        assert!(n > 0, "{args:?} printed nothing");
        // The read end is dropped here: whatever comes next fails with BrokenPipe.
        let out = child.wait_with_output().unwrap();
        assert_quiet(
            &args.join(" "),
            out.status,
            &String::from_utf8_lossy(&out.stderr),
        );
    }
}

/// `cctoken emulator --config bad.toml 2>&1 | head -3`: the error goes to a closed stderr.
#[test]
fn stderr_closed_ends_quietly() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("bad.toml");
    std::fs::write(&bad, "this is not = = toml").unwrap();
    let bad = bad.to_str().unwrap();
    for args in [
        &["emulator", "--config", bad][..],
        &["get", "--token-url", "nope"],
        &["demo"],
    ] {
        let status = cctoken(home.path(), args)
            .stdout(closed_pipe())
            .stderr(closed_pipe())
            .status()
            .unwrap();
        assert_ne!(status.code(), Some(101), "{args:?}");
    }
    // A panic's message would have gone to the closed stderr; the status says it all, but
    // a readable stderr shows the error is still reported when only stdout is closed.
    let out = cctoken(home.path(), &["emulator", "--config", bad])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_quiet("emulator --config bad", out.status, &stderr);
    assert!(stderr.contains("error:"), "{stderr}");
}
