//! `cctoken exec`: environment, a token file kept fresh across token lifetimes, exit codes,
//! signal forwarding and clean-up.

mod common;

use std::time::Duration;

use cctoken_emulator::{EmulatorConfig, Flavor};
use common::{cctoken, Emu, DEMO_SECRET};

#[test]
fn env_and_exit_code_and_cleanup() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("seen");
    let script = format!(
        "test -n \"$CCTOKEN_ACCESS_TOKEN\" && test \"$CCTOKEN_ACCESS_TOKEN\" = \"$GENESYSCLOUD_ACCESS_TOKEN\" \
         && test \"$CCTOKEN_ACCESS_TOKEN\" = \"$MY_TOKEN\" \
         && test \"$(cat \"$CCTOKEN_TOKEN_FILE\")\" = \"$CCTOKEN_ACCESS_TOKEN\" \
         && test -z \"$CCTOKEN_CLIENT_SECRET\" \
         && stat -c %a \"$CCTOKEN_TOKEN_FILE\" > '{m}' && echo \"$CCTOKEN_TOKEN_FILE\" >> '{m}' && echo \"$CCTOKEN_API_BASE\" >> '{m}'; exit 7",
        m = marker.display()
    );
    cctoken(home.path())
        .args([
            "exec",
            "--provider",
            "genesys",
            "--token-url",
            &format!("{}/oauth/token", emu.base),
        ])
        .args([
            "--client-id",
            "demo-client",
            "--env",
            "MY_TOKEN",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .env("CCTOKEN_CLIENT_SECRET", DEMO_SECRET)
        .assert()
        .code(7);
    let seen = std::fs::read_to_string(&marker).expect("the command ran its checks");
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], "600");
    assert!(
        !std::path::Path::new(lines[1]).exists(),
        "token file removed afterwards"
    );
    assert_eq!(lines[2], emu.base);
}

#[test]
fn job_running_three_lifetimes_never_sends_an_expired_token() {
    let emu = Emu::start({
        let mut c = EmulatorConfig::new(Flavor::Genesys).with_demo();
        c.token_lifetime = Some(Duration::from_secs(6));
        c
    });
    let home = tempfile::tempdir().unwrap();
    // For 19 s (> 3 lifetimes), call the API with the token file's content every 0.2 s.
    // The file gets the next token 0.6 s (10 % of the lifetime) before the old one expires;
    // a call that read the old token just before and reached the server after its expiry
    // (a loaded machine can take that long to start curl) is a race of the test, not of
    // exec: such a call fails alone. A file left stale fails the calls after it too, so
    // two failures in a row (or more than one per token) fail the test.
    let script = r#"
        end=$(( $(date +%s) + 19 )); n=0; bad=0; prev=0; twice=0
        while [ "$(date +%s)" -lt "$end" ]; do
          code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$CCTOKEN_TOKEN_FILE")" "$CCTOKEN_API_BASE/api/v2/tokens/me")
          n=$((n+1))
          if [ "$code" = 200 ]; then prev=0; else
            bad=$((bad+1)); [ "$prev" = 1 ] && twice=$((twice+1)); prev=1
            echo "HTTP $code at call $n at $(date +%T.%N)" >&2
          fi
          sleep 0.2
        done
        echo "calls=$n bad=$bad twice=$twice"; [ "$twice" = 0 ] && [ "$bad" -le 3 ]"#;
    let out = cctoken(home.path())
        .args([
            "exec",
            "--provider",
            "genesys",
            "--token-url",
            &format!("{}/oauth/token", emu.base),
        ])
        .args(["--client-id", "demo-client", "--", "sh", "-c", script])
        .env("CCTOKEN_CLIENT_SECRET", DEMO_SECRET)
        // When it fails, stderr shows when each token reached the file.
        .env("RUST_LOG", "cctoken=info")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued = emu.get_json("/_emulator/stats")["tokens_issued_total"]
        .as_u64()
        .unwrap();
    assert!(issued >= 4, "at least one token per lifetime: {issued}");
}

#[test]
fn signals_are_forwarded_and_exit_code_reflects_them() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let ready = home.path().join("ready");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cctoken"))
        .args(["exec", "--token-url", &format!("{}/oauth/token", emu.base)])
        .args(["--client-id", "demo-client", "--", "sh", "-c"])
        .arg(format!(
            "trap 'echo got-term; exit 42' TERM; touch '{}'; while :; do sleep 0.05; done",
            ready.display()
        ))
        .env("CCTOKEN_CLIENT_SECRET", DEMO_SECRET)
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "child never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42));
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(out.contains("got-term"));
}

/// `exec --token-url URL --client-id demo-client` against `emu`, the secret in `S`.
fn exec(home: &std::path::Path, emu: &Emu) -> assert_cmd::Command {
    let mut c = cctoken(home);
    c.args(["exec", "--token-url", &emu.token_url()])
        .args(["--client-id", "demo-client", "--client-secret-env", "S"])
        .env("S", DEMO_SECRET);
    c
}

#[test]
fn the_command_gets_no_variable_cctoken_read_a_secret_from() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    // The flag's variable, and the conventions cctoken would fall back to: none reaches the
    // command, under any name.
    let out = cctoken(home.path())
        .args([
            "exec",
            "--provider",
            "genesys",
            "--token-url",
            &emu.token_url(),
        ])
        .args([
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "MY_SECRET",
        ])
        .args(["--", "env"])
        .env("MY_SECRET", DEMO_SECRET)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", DEMO_SECRET)
        .env("CCTOKEN_CLIENT_SECRET", DEMO_SECRET)
        .env("CCTOKEN_ACCESS_KEY_SECRET", "access-key-canary")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = String::from_utf8(out.stdout).unwrap();
    assert!(
        env.contains("CCTOKEN_ACCESS_TOKEN="),
        "the command ran: {env}"
    );
    for leaked in [
        DEMO_SECRET,
        "access-key-canary",
        "MY_SECRET=",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET=",
        "CCTOKEN_CLIENT_SECRET=",
        "CCTOKEN_ACCESS_KEY_SECRET=",
    ] {
        assert!(!env.contains(leaked), "{leaked} reached the command");
    }
}

/// The state of process `pid` from `/proc` (`None` once it is gone; `Z` is a zombie).
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_cctoken_takes_its_command_along_and_the_next_exec_cleans_up() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let pid_file = home.path().join("pid");
    let file_file = home.path().join("file");
    let mut cctoken_proc = std::process::Command::new(assert_cmd::cargo::cargo_bin("cctoken"))
        .args(["exec", "--token-url", &emu.token_url()])
        .args(["--client-id", "demo-client", "--client-secret-env", "S", "--"])
        .args(["sh", "-c"])
        .arg(format!(
            "echo \"$CCTOKEN_TOKEN_FILE\" > '{f}'; echo $$ > '{p}.tmp'; mv '{p}.tmp' '{p}'; exec sleep 120",
            f = file_file.display(),
            p = pid_file.display()
        ))
        .env("S", DEMO_SECRET)
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env_remove("XDG_RUNTIME_DIR")
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !pid_file.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the command never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let token_file = std::path::PathBuf::from(std::fs::read_to_string(&file_file).unwrap().trim());
    assert!(token_file.exists());
    // The command is cctoken's own child (the trampoline exec'd into it, same PID).
    assert_eq!(proc_state(pid).map(|s| s != 'Z'), Some(true));

    cctoken_proc.kill().unwrap(); // SIGKILL: nothing of cctoken runs any more
    cctoken_proc.wait().unwrap();
    let start = std::time::Instant::now();
    while matches!(proc_state(pid), Some(s) if s != 'Z') {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the command outlived the killed cctoken"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(token_file.exists(), "a killed cctoken cannot clean up");

    // The next exec sweeps it away before it starts its own command.
    exec(home.path(), &emu)
        .env_remove("XDG_RUNTIME_DIR")
        .args(["--", "true"])
        .assert()
        .success();
    assert!(!token_file.exists(), "left behind by the killed exec");
    assert!(!token_file.parent().unwrap().exists());
    assert!(
        token_file.parent().unwrap().parent().unwrap().exists(),
        "exec/ itself stays"
    );
}

#[test]
fn env_names_that_would_break_the_command_are_refused() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    for (name, words) in [
        ("PATH", "needs for something else"),
        ("LD_PRELOAD", "needs for something else"),
        ("CCTOKEN_TOKEN_FILE", "needs for something else"),
        ("BAD-NAME", "not a valid environment variable name"),
    ] {
        let out = exec(home.path(), &emu)
            .args(["--env", name, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(words) && err.contains(name), "{name}: {err}");
        if name == "PATH" {
            insta::assert_snapshot!("exec_env_path_refused", err);
        }
    }
    let issued = emu.get_json("/_emulator/stats")["tokens_issued_total"]
        .as_u64()
        .unwrap();
    assert_eq!(issued, 0, "refused before any token request");
}

#[test]
fn a_command_that_cannot_run_exits_127_or_126_as_in_a_shell() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let out = exec(home.path(), &emu)
        .args(["--", "cctoken-no-such-command"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cctoken-no-such-command") && err.contains("command not found"),
        "{err}"
    );
    let data = home.path().join("data.txt");
    std::fs::write(&data, "not a program\n").unwrap();
    let out = exec(home.path(), &emu)
        .arg("--")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("permission denied"), "{err}");
    // No token directory is left behind either way.
    let exec_dir = home.path().join("cache/cctoken/exec");
    assert_eq!(std::fs::read_dir(&exec_dir).unwrap().count(), 0);
}
