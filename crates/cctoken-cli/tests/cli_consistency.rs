//! The small things a new user trips over (issue 12 items 13 and 14): labels, flags, tips,
//! one way to write durations and API bases, errors that show the non-secret value that is
//! wrong, and `--help` that reads right at 80 and 100 columns.

mod common;

use std::path::Path;

use cctoken_emulator::Flavor;
use common::{cctoken, Emu, DEMO_SECRET};

fn write_config(home: &Path, text: &str) -> std::path::PathBuf {
    let dir = home.join("config/cctoken");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn access_key_secret_env_names_the_cxone_key_variable() {
    let emu = Emu::demo(Flavor::Cxone);
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args(["get", "--provider", "cxone", "--issuer", &emu.base])
        .args([
            "--client-id",
            "demo-app",
            "--access-key-id",
            "DEMOACCESSKEY",
        ])
        .args(["--access-key-secret-env", "MY_KEY", "--format", "json"])
        .env("CCTOKEN_CLIENT_SECRET", "demo-app-secret")
        .env("MY_KEY", "demo/access+key====")
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["provider"], "cxone");
    assert_eq!(v["source"], "server");
    assert_eq!(v["api_base"], emu.base.as_str(), "no trailing slash");
}

#[test]
fn typo_tips_suggest_the_flag_that_works_not_a_refused_one() {
    let home = tempfile::tempdir().unwrap();
    for (typo, tip) in [
        ("--access-key-secre", "'--access-key-secret-env'"),
        ("--client-secre", "'--client-secret-env'"),
    ] {
        let out = cctoken(home.path())
            .args(["get", typo, "X"])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = stderr(&out);
        assert!(
            err.contains(&format!("tip: a similar argument exists: {tip}")),
            "{err}"
        );
    }
    let out = cctoken(home.path())
        .args(["get", "--access-key-secre", "X"])
        .output()
        .unwrap();
    insta::assert_snapshot!("typo_tip", stderr(&out));
}

#[test]
fn mistyped_subcommands_get_a_did_you_mean() {
    let home = tempfile::tempdir().unwrap();
    for (typo, near) in [
        (&["gte"][..], "'get'"),
        (&["pai", "/x"], "'api'"),
        (&["-v", "exce"], "'exec'"),
        (&["profiles", "lsit"], "'list'"),
    ] {
        let out = cctoken(home.path())
            .args(typo)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = stderr(&out);
        assert!(err.contains(&format!("exists: {near}")), "{typo:?}: {err}");
    }
    let out = cctoken(home.path()).arg("gte").output().unwrap();
    insta::assert_snapshot!("did_you_mean", stderr(&out));
}

#[test]
fn an_inferred_generic_provider_is_named_when_it_then_fails() {
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args(["get", "--issuer", "https://auth.example.com"])
        .env("GENESYSCLOUD_REGION", "eu-west-1")
        .env(
            "GENESYSCLOUD_OAUTHCLIENT_ID",
            "5a1c3a2e-1b2c-4d5e-8f90-123456789abc",
        )
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", DEMO_SECRET)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(!err.contains(DEMO_SECRET), "{err}");
    insta::assert_snapshot!("inferred_generic", err);
}

#[test]
fn config_errors_show_values_that_are_not_secret() {
    let home = tempfile::tempdir().unwrap();
    write_config(
        home.path(),
        "[profiles.p]\nprovider = \"okta\"\nclient_id = \"x\"\nparams = \"CANARY-value\"\n",
    );
    let out = cctoken(home.path())
        .args(["get", "-p", "p"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(err.contains("unknown provider 'okta'"), "{err}");
    assert!(err.contains("key `provider`"), "{err}");
    write_config(home.path(), "[profiles.p]\nparams = \"CANARY-value\"\n");
    let out = cctoken(home.path())
        .args(["get", "-p", "p"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("CANARY"), "params can hold anything: {err}");
}

#[test]
fn profiles_read_scope_or_scopes() {
    let home = tempfile::tempdir().unwrap();
    for key in [
        "scope = \"read write\"",
        "scopes = [\"read\", \"write\"]",
        "scope = [\"read\", \"write\"]",
    ] {
        write_config(
            home.path(),
            &format!(
                "[profiles.p]\ntoken_url = \"https://auth.example.com/t\"\nclient_id = \"x\"\n\
                 client_secret_env = \"S\"\n{key}\n"
            ),
        );
        let out = cctoken(home.path())
            .args(["get", "-p", "p", "--dry-run", "--json"])
            .env("S", "s")
            .assert()
            .success()
            .get_output()
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["body"], "grant_type=client_credentials&scope=read+write",
            "{key}"
        );
    }
}

#[test]
fn profiles_show_writes_api_base_and_durations_one_way() {
    let home = tempfile::tempdir().unwrap();
    let path = write_config(
        home.path(),
        "[profiles.p]\nprovider = \"generic\"\ntoken_url = \"https://auth.example.com/t\"\n\
         api_base = \"https://api.example.com/\"\nclient_id = \"x\"\n\
         client_secret_cmd = \"printf abc\"\nclient_secret_cmd_timeout = \"1day\"\n",
    );
    let human = cctoken(home.path())
        .args(["profiles", "show", "p"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(human.stdout)
        .unwrap()
        .replace(&path.display().to_string(), "CONFIG");
    insta::assert_snapshot!("profiles_show", text);
    let out = cctoken(home.path())
        .args(["profiles", "show", "p", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["settings"]["api_base"], "https://api.example.com");
    assert_eq!(v["resolved"]["api_base"], "https://api.example.com");
    assert_eq!(v["settings"]["client_secret_cmd_timeout"], "24h");
}

#[test]
fn min_ttl_errors_write_durations_like_everything_else() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let out = common::get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
        .args(["--provider", "genesys", "--min-ttl", "2days"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(
        err.contains("(tokens live 24h), less than --min-ttl 48h"),
        "{err}"
    );
    assert!(!err.contains("day"), "{err}");
}

/// A `--min-ttl` that is not a duration gets cctoken's format, not humantime's list of
/// every unit it knows ("…months, years (and few variations)").
#[test]
fn a_bad_duration_flag_is_told_in_cctokens_format() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["get", "--min-ttl", "2x"][..],
        &["emulator", "--token-lifetime", "2x"],
    ] {
        let out = common::cctoken(home.path())
            .args(args)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = stderr(&out);
        assert!(
            err.contains("'2x' is not a duration: write a number and a unit, e.g. 90s"),
            "{err}"
        );
        assert!(!err.contains("months"), "{err}");
    }
}

/// A command's own flags and arguments are listed first, under "Options" and
/// "Arguments", not under the heading of the option group flattened before them
/// (`api`'s `<PATH>` was under "Token pool and pacing", `get --format` under "Profile
/// and credentials").
#[test]
fn help_lists_a_commands_own_flags_before_the_option_groups() {
    let home = tempfile::tempdir().unwrap();
    for (cmd, own) in [
        ("api", &["  <PATH>", "  -X, --method"][..]),
        ("get", &["      --format", "      --min-ttl"]),
        ("exec", &["  <CMD>...", "      --env"]),
        ("doctor", &["      --curl"]),
    ] {
        let out = cctoken(home.path())
            .args([cmd, "--help"])
            .assert()
            .success()
            .get_output()
            .clone();
        let help = String::from_utf8(out.stdout).unwrap();
        let at = |s: &str| help.find(s).unwrap_or_else(|| panic!("{s} in:\n{help}"));
        let first_group = at("Profile and credentials:");
        for flag in own {
            assert!(
                at(flag) < first_group,
                "{cmd}: {flag} under a group:\n{help}"
            );
        }
    }
    let out = cctoken(home.path())
        .args(["api", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let path = help.find("  <PATH>").unwrap();
    assert!(help.find("Arguments:").unwrap() < path, "{help}");
}

/// At 80 and 100 columns every example line of `--help` is shown as written: clap wraps
/// nothing, so no command is split in the middle.
#[test]
fn help_examples_read_right_at_80_and_100_columns() {
    let home = tempfile::tempdir().unwrap();
    for width in ["80", "100"] {
        for cmd in [
            &[][..],
            &["get"],
            &["exec"],
            &["api"],
            &["doctor"],
            &["agent"],
            &["emulator"],
        ] {
            let out = cctoken(home.path())
                .args(cmd)
                .arg("--help")
                .env("COLUMNS", width)
                .assert()
                .success()
                .get_output()
                .clone();
            let help = String::from_utf8(out.stdout).unwrap();
            let examples = &help[help.find("Examples:").expect("examples")..];
            for line in examples.lines() {
                assert!(line.chars().count() < 80, "{cmd:?} at {width}: {line:?}");
            }
        }
    }
    let out = cctoken(home.path())
        .args(["get", "--help"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains(
            "  GC_SECRET=... cctoken get --region eu-west-1 --client-id 5a1c3a2e-... \\\n      \
             --client-secret-env GC_SECRET\n"
        ),
        "{help}"
    );
}
