//! `cctoken get --format ...` through the real binary against the in-process emulator:
//! every format prints the token where it should and nowhere else.

mod common;

use cctoken_emulator::Flavor;
use common::{cctoken, Emu, DEMO_SECRET};

fn get(emu: &Emu, home: &std::path::Path, format: &str) -> std::process::Output {
    cctoken(home)
        .args([
            "get",
            "--no-cache",
            "--provider",
            "genesys",
            "--format",
            format,
        ])
        .args(["--token-url", &format!("{}/oauth/token", emu.base)])
        .args(["--client-id", "demo-client", "--client-secret-env", "S"])
        .env("S", DEMO_SECRET)
        .output()
        .expect("runs")
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

#[test]
fn header_env_dotenv() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let header = ok(&get(&emu, home.path(), "header"));
    let token = header
        .strip_prefix("Authorization: Bearer ")
        .expect("header line")
        .trim_end();
    assert!(token.len() > 10);

    let env = ok(&get(&emu, home.path(), "env"));
    assert!(env.starts_with("export CCTOKEN_ACCESS_TOKEN='"), "{env}");
    assert!(env.contains("export GENESYSCLOUD_ACCESS_TOKEN='"), "{env}");
    assert!(
        env.contains(&format!("export CCTOKEN_API_BASE='{}'", emu.base)),
        "{env}"
    );

    let dotenv = ok(&get(&emu, home.path(), "dotenv"));
    assert!(
        dotenv
            .lines()
            .all(|l| l.contains('=') && !l.starts_with("export")),
        "{dotenv}"
    );
    assert!(dotenv.contains("CCTOKEN_TOKEN_TYPE=Bearer"), "{dotenv}");
}

#[test]
fn postman_env_file() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let out = ok(&get(&emu, home.path(), "postman-env"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["_postman_variable_scope"], "environment");
    let values = v["values"].as_array().unwrap();
    let get = |k: &str| values.iter().find(|x| x["key"] == k).cloned().unwrap();
    assert!(get("access_token")["value"].as_str().unwrap().len() > 10);
    assert_eq!(get("token_type")["value"], "Bearer");
    assert_eq!(get("base_url")["value"], emu.base.as_str());
}

#[test]
fn github_appends_to_github_env_and_masks() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let gh = home.path().join("github_env");
    std::fs::write(&gh, "BEFORE=1\n").unwrap();
    let out = cctoken(home.path())
        .args([
            "get",
            "--no-cache",
            "--provider",
            "genesys",
            "--format",
            "github",
        ])
        .args(["--token-url", &format!("{}/oauth/token", emu.base)])
        .args(["--client-id", "demo-client", "--client-secret-env", "S"])
        .env("S", DEMO_SECRET)
        .env("GITHUB_ENV", &gh)
        .output()
        .unwrap();
    let stdout = ok(&out);
    let token = stdout.strip_prefix("::add-mask::").unwrap().trim_end();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let written = std::fs::read_to_string(&gh).unwrap();
    assert!(
        written.starts_with("BEFORE=1\nCCTOKEN_ACCESS_TOKEN<<ghadelimiter_"),
        "{written}"
    );
    assert!(written.contains(&format!("\n{token}\n")));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));
}

#[test]
fn gitlab_notes_masking_on_stderr() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tempfile::tempdir().unwrap();
    let out = get(&emu, home.path(), "gitlab");
    let stdout = ok(&out);
    assert!(stdout.starts_with("export CCTOKEN_ACCESS_TOKEN='"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot mask"));
}
