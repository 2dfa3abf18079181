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
    let script = r#"
        end=$(( $(date +%s) + 19 )); n=0; bad=0
        while [ "$(date +%s)" -lt "$end" ]; do
          code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$CCTOKEN_TOKEN_FILE")" "$CCTOKEN_API_BASE/api/v2/tokens/me")
          n=$((n+1)); [ "$code" = 200 ] || { bad=$((bad+1)); echo "HTTP $code at call $n" >&2; }
          sleep 0.2
        done
        echo "calls=$n bad=$bad"; [ "$bad" = 0 ]"#;
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
