//! `cctoken profiles ...` and profile resolution through the real binary: listing, showing
//! (never a secret), testing against the in-process emulator, and the refusal of secrets on
//! the command line.

mod common;

use std::path::{Path, PathBuf};

use cctoken_emulator::Flavor;
use common::{cctoken, Emu, DEMO_SECRET};

const CANARY: &str = "CANARY-profiles-9d41c7";

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn config(home: &Path, emu_base: &str) -> PathBuf {
    write(
        home,
        "config.toml",
        &format!(
            r#"
[profiles.genesys-prod]
provider = "genesys"
region = "eu-west-1"
client_id = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc"
client_secret_env = "GC_SECRET"
scopes = ["routing"]

[profiles.local]
provider = "genesys"
token_url = "{emu_base}/oauth/token"
client_id = "demo-client"
client_secret_env = "DEMO_SECRET"

[profiles.partner-api]
issuer = "https://auth.example.com"
client_id = "ci-bot"
client_secret_file = "/nonexistent/partner"
auth = "post"
"#
        ),
    )
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_human_and_json() {
    let home = tmp();
    let cfg = config(home.path(), "http://127.0.0.1:9");
    let out = cctoken(home.path())
        .args(["profiles", "list", "--config"])
        .arg(&cfg)
        .env("GC_SECRET", CANARY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "genesys-prod",
        "partner-api",
        "region eu-west-1",
        "env GC_SECRET (set)",
        "file /nonexistent/partner (missing)",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains(CANARY));

    let out = cctoken(home.path())
        .args(["profiles", "list", "--json"])
        .env("CCTOKEN_CONFIG", &cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["found"], true);
    let p = &v["profiles"][0];
    assert_eq!(p["name"], "genesys-prod");
    assert_eq!(p["provider"], "genesys");
    assert_eq!(p["region"], "eu-west-1");
    assert_eq!(p["client_id"], "5a1c3a2e-1b2c-4d5e-8f90-123456789abc");
    assert_eq!(p["secret_source"], "env GC_SECRET");
    assert_eq!(p["secret_available"], false);
    assert_eq!(v["profiles"][2]["provider"], "generic");
}

#[test]
fn list_without_a_file_is_empty_not_an_error() {
    let home = tmp();
    cctoken(home.path())
        .args(["profiles", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("does not exist"));
}

#[test]
fn show_never_prints_the_secret_only_its_fingerprint() {
    let home = tmp();
    let cfg = config(home.path(), "http://127.0.0.1:9");
    for json in [false, true] {
        let mut c = cctoken(home.path());
        c.args(["profiles", "show", "genesys-prod", "--config"])
            .arg(&cfg)
            .env("GC_SECRET", format!("{CANARY}\n"));
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(out.status.success(), "{all}");
        assert!(!all.contains(CANARY), "canary leaked: {all}");
        assert!(all.contains("len=22 sha256:"), "{all}");
        assert!(
            all.contains("https://login.mypurecloud.ie/oauth/token"),
            "{all}"
        );
        if json {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let r = &v["resolved"];
            assert_eq!(r["token_url"], "https://login.mypurecloud.ie/oauth/token");
            assert_eq!(r["provider"], "genesys");
            assert_eq!(r["auth"], "basic-raw");
            assert_eq!(r["client_id"], "5a1c3a2e-1b2c-4d5e-8f90-123456789abc");
            assert_eq!(r["client_secret"]["source"], "env GC_SECRET");
            let fp = r["client_secret"]["fingerprint"].as_str().unwrap();
            assert!(fp.starts_with("len=22 sha256:") && fp.len() == 22, "{fp}");
            assert_eq!(v["settings"]["client_secret_env"], "GC_SECRET");
            assert!(v["notes"].to_string().contains("trailing newline"));
        }
    }
}

#[test]
fn show_problems_exit_2() {
    let home = tmp();
    let cfg = config(home.path(), "http://127.0.0.1:9");
    let out = cctoken(home.path())
        .args(["profiles", "show", "partner-api", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("/nonexistent/partner does not exist"));

    let out = cctoken(home.path())
        .args(["profiles", "show", "prod", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("genesys-prod, local, partner-api"));

    let bad = write(
        home.path(),
        "bad.toml",
        "[profiles.x]\nregion = \"eu-west-1\"\nclient_secret = \"CANARY-in-file\"\n",
    );
    let out = cctoken(home.path())
        .args(["profiles", "list", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.toml:3:1"), "{err}");
    assert!(err.contains("secrets do not belong"), "{err}");
    assert!(!err.contains("CANARY"), "{err}");
}

#[test]
fn set_secret_without_a_keyring_is_a_clear_error() {
    let home = tmp();
    let out = cctoken(home.path())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .args(["profiles", "set-secret", "x"])
        .write_stdin("CANARY-keyring-secret\n")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(err.contains("OS keyring is not available"), "{err}");
    assert!(err.contains("client_secret_file"), "{err}");
    assert!(!err.contains("CANARY") && stdout(&out).is_empty(), "{err}");
}

/// `profiles list` names a keyring profile's source, as `profiles show` does; without a
/// Secret Service it says the keyring cannot be asked, and why.
#[test]
fn list_names_the_keyring_source_and_why_it_cannot_be_checked() {
    let home = tmp();
    let cfg = write(
        home.path(),
        "config.toml",
        "[profiles.kr]\nprovider = \"generic\"\ntoken_url = \"https://id.example/token\"\n\
         client_id = \"c\"\nclient_secret_keyring = true\n",
    );
    let list = |json: bool| {
        let mut c = cctoken(home.path());
        c.env_remove("DBUS_SESSION_BUS_ADDRESS")
            .args(["profiles", "list", "--config"])
            .arg(&cfg);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let text = list(false);
    assert!(
        text.contains("OS keyring entry for profile kr (keyring unavailable)"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&list(true)).unwrap();
    let p = &v["profiles"][0];
    assert_eq!(p["secret_source"], "OS keyring entry for profile kr", "{p}");
    assert_eq!(p["secret_available"], false, "{p}");
    let why = p["secret_problem"].as_str().unwrap_or_default();
    assert!(why.contains("the OS keyring is not available"), "{p}");
}

/// The real OS keyring: GNOME Keyring's Secret Service on a private D-Bus session
/// (installed by scripts/install-peers). `set-secret` stores, `get -p` reads it back.
#[test]
fn keyring_round_trip_with_gnome_keyring() {
    let keyring = common::peers::require_peer_program("gnome-keyring-daemon");
    let session = common::peers::require_peer_program("dbus-run-session");
    if keyring.is_none() || session.is_none() {
        return;
    }
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    let cfg = write(
        home.path(),
        "config.toml",
        &format!(
            "[profiles.kr]\nprovider = \"generic\"\ntoken_url = \"{}/oauth/token\"\n\
             client_id = \"demo-client\"\nclient_secret_keyring = true\n",
            emu.base
        ),
    );
    let bin = assert_cmd::cargo::cargo_bin("cctoken");
    let script = r#"
        printf unlock-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
        printf '%s\n' "$SECRET" | "$BIN" profiles set-secret kr || exit 10
        "$BIN" profiles list --config "$CFG" --json || exit 12
        "$BIN" get -p kr --config "$CFG" --no-cache || exit 11
    "#;
    let out = std::process::Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path())
        .env("BIN", &bin)
        .env("CFG", &cfg)
        .env("SECRET", DEMO_SECRET)
        .env_remove("CCTOKEN_CLIENT_SECRET")
        .output()
        .expect("dbus-run-session");
    let so = stdout(&out);
    assert!(out.status.success(), "{so}\n{}", stderr(&out));
    assert!(so.contains("stored the secret of profile 'kr'"), "{so}");
    assert!(so.contains("len=15 sha256:79d70e31"), "{so}");
    assert!(!so.contains(DEMO_SECRET), "{so}");
    assert!(
        so.contains(r#""secret_source": "OS keyring entry for profile kr""#),
        "{so}"
    );
    assert!(so.contains(r#""secret_available": true"#), "{so}");
    let token = so.lines().last().unwrap_or("");
    assert!(token.len() > 10 && !token.contains(' '), "{so}");
}

#[test]
fn test_obtains_a_token_and_maps_rejections_to_exit_3() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    let cfg = config(home.path(), &emu.base);
    let out = cctoken(home.path())
        .args(["profiles", "test", "local", "--config"])
        .arg(&cfg)
        .env("DEMO_SECRET", DEMO_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ok: profile local: token expires in"),
        "{}",
        stdout(&out)
    );

    let out = cctoken(home.path())
        .args(["profiles", "test", "local", "--json", "--config"])
        .arg(&cfg)
        .env("DEMO_SECRET", DEMO_SECRET)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["expires_in"].as_u64().unwrap() > 80000, "{v}");

    let out = cctoken(home.path())
        .args(["profiles", "test", "local", "--config"])
        .arg(&cfg)
        .env("DEMO_SECRET", CANARY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid_client"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(CANARY));

    let out = cctoken(home.path())
        .args(["profiles", "test", "local", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "unset secret env: {}",
        stderr(&out)
    );
}

#[test]
fn get_with_profile_flags_override_and_gc_profile() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    let cfg = config(home.path(), "http://127.0.0.1:9");
    // the profile points elsewhere; --token-url overrides it, the secret comes from the profile's env
    let out = cctoken(home.path())
        .args([
            "get",
            "-p",
            "local",
            "--format",
            "json",
            "--no-cache",
            "--config",
        ])
        .arg(&cfg)
        .args(["--token-url", &format!("{}/oauth/token", emu.base)])
        .env("DEMO_SECRET", DEMO_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["profile"], "local");

    write(
        home.path(),
        "gc-config.toml",
        &format!(
            "[DEFAULT]\nenvironment = \"mypurecloud.ie\"\nclient_credentials = \"demo-client\"\nclient_secret = \"{DEMO_SECRET}\"\ngrant_type = \"1\"\n"
        ),
    );
    cctoken(home.path())
        .args(["get", "--gc-profile", "DEFAULT", "--no-cache"])
        .args(["--token-url", &format!("{}/oauth/token", emu.base)])
        .assert()
        .success();
}

#[test]
fn secret_on_the_command_line_is_refused_without_echo() {
    let home = tmp();
    for flag in ["--client-secret", "--secret", "--access-key-secret"] {
        let out = cctoken(home.path())
            .args([
                "get",
                "--region",
                "eu-west-1",
                "--client-id",
                "x",
                flag,
                CANARY,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = stderr(&out);
        assert!(err.contains("`ps`"), "{err}");
        assert!(
            !err.contains(CANARY) && !stdout(&out).contains(CANARY),
            "{err}"
        );
    }
    let out = cctoken(home.path())
        .args(["get", "--region", "eu-west-1", "--client-secret", CANARY])
        .output()
        .unwrap();
    let err = stderr(&out);
    for alt in [
        "--client-secret-env VAR",
        "--client-secret-file PATH",
        "--client-secret-stdin",
        "CCTOKEN_CLIENT_SECRET",
    ] {
        assert!(err.contains(alt), "{alt}: {err}");
    }
}

#[test]
fn secret_from_stdin() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tmp();
    cctoken(home.path())
        .args([
            "get",
            "--no-cache",
            "--client-id",
            "demo-client",
            "--client-secret-stdin",
        ])
        .args(["--token-url", &format!("{}/oauth/token", emu.base)])
        .write_stdin(format!("{DEMO_SECRET}\n"))
        .assert()
        .success();
}
