//! Credential files that are FIFOs: a named pipe nothing writes to is a clear error at
//! once (`--client-secret-file`, `--private-key-file`, `--client-assertion-from file:`),
//! never a silent hang, while process substitution — `<(printf …)`, a pipe whose writer is
//! at work — keeps working.

mod common;

use std::path::Path;
use std::time::Duration;

use cctoken_emulator::Flavor;
use common::{cctoken, Emu, DEMO_SECRET};

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// `cctoken get` against a port nothing listens on: the file is read before any request.
fn get(home: &Path, flags: &[&str]) -> std::process::Output {
    cctoken(home)
        .args(["get", "--token-url", "http://127.0.0.1:9/oauth/token"])
        .args(["--client-id", "c"])
        .args(flags)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn a_fifo_with_no_writer_is_refused_at_once() {
    let home = tempfile::tempdir().unwrap();
    let fifo = home.path().join("fifo");
    mkfifo(&fifo);
    let f = fifo.display().to_string();
    for (flags, what) in [
        (vec!["--client-secret-file", &f], "client secret"),
        (vec!["--private-key-file", &f], "private key"),
        (
            vec!["--client-assertion-from", &format!("file:{f}")],
            "client assertion",
        ),
    ] {
        let out = get(home.path(), &flags);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "the {what} file {f} is a FIFO with no writer (empty)"
            )),
            "{flags:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn process_substitution_still_works() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new("bash")
        .arg("-c")
        .arg(
            "exec \"$0\" get --token-url \"$1\" --client-id demo-client \
             --client-secret-file <(sleep 0.2; printf %s \"$S\")",
        )
        .arg(common::peers::cctoken_bin())
        .arg(emu.token_url())
        .env("S", DEMO_SECRET)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env_remove("CCTOKEN_CONFIG")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).trim().len() > 10);
    assert_eq!(emu.activity().last().unwrap().outcome, "issued");
}
