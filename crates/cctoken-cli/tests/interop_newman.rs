//! Newman (npm `newman` 6, Postman's CLI runner) runs a collection with the environment file
//! that `cctoken get --format postman-env` writes (SPEC §7, §11).
//!
//! The collection is `tests-peers/newman-collection.json`: `GET {{base_url}}/api/v2/tokens/me`
//! with `Authorization: Bearer {{access_token}}`, both from the environment file of
//! `cctoken get --provider genesys --issuer EMULATOR --format postman-env`, against
//! `cctoken emulator --flavor genesys --demo`; it asserts the TokenInfo. The token reaches Newman only through the environment
//! file (0600, in a temporary directory), never through argv.

#[path = "common/peers.rs"]
mod peers;

use std::process::Command;

use peers::{cctoken_cmd, describe, require_peer, run, start_emulator, stdout_json};

const SECRET_VAR: &str = "CCTOKEN_TEST_NEWMAN_SECRET";
const DEMO_CLIENT: &str = "demo-client";
const DEMO_SECRET: &str = "demo+s3cret/=%&";

/// The value of `key` in a Postman environment (`{"values":[{"key","value",...}]}`).
fn env_value<'a>(env: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    env["values"]
        .as_array()?
        .iter()
        .find(|v| v["key"] == key)
        .map(|v| &v["value"])
}

#[test]
fn newman_runs_collection_with_postman_env_from_cctoken() {
    let Some(newman_dir) = require_peer("newman") else {
        return;
    };
    let Some(node) = require_peer("node") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let emu = start_emulator(&["--flavor", "genesys", "--demo"], home.path());

    let mut get = cctoken_cmd(
        [
            "get",
            "--provider",
            "genesys",
            "--issuer",
            emu.url(),
            "--client-id",
            DEMO_CLIENT,
            "--client-secret-env",
            SECRET_VAR,
            "--format",
            "postman-env",
            "--no-cache",
        ],
        home.path(),
    );
    get.env(SECRET_VAR, DEMO_SECRET);
    let output = run(get);
    assert!(
        output.status.success(),
        "cctoken get failed\n{}",
        describe(&output)
    );
    let env = stdout_json(&output);
    for key in ["access_token", "token_type", "base_url"] {
        assert!(
            env_value(&env, key).is_some(),
            "postman-env lacks {key}: {env}"
        );
    }
    assert!(
        env_value(&env, "access_token")
            .and_then(|v| v.as_str())
            .is_some_and(|t| !t.is_empty()),
        "empty access_token in postman-env"
    );
    assert_eq!(
        env_value(&env, "base_url").and_then(|v| v.as_str()),
        Some(emu.url()),
        "base_url of a genesys provider pointed at the emulator: {env}"
    );

    let env_file = home.path().join("cctoken.postman_environment.json");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&env_file)
            .expect("create env file");
        f.write_all(&output.stdout).expect("write env file");
    }

    let mut newman = Command::new(node);
    newman
        .arg(newman_dir.join("bin").join("newman.js"))
        .arg("run")
        .arg(peers::tests_peers_dir().join("newman-collection.json"))
        .arg("--environment")
        .arg(&env_file)
        .args(["--env-var", &format!("expected_client_id={DEMO_CLIENT}")])
        .args(["--reporters", "cli", "--color", "off", "--disable-unicode"])
        .args(["--timeout-request", "20000", "--timeout", "60000"])
        .env("HOME", home.path());
    peers::isolate_network_env(&mut newman);
    let run_output = run(newman);
    assert!(
        run_output.status.success(),
        "newman run failed\n{}",
        describe(&run_output)
    );
    let stdout = String::from_utf8_lossy(&run_output.stdout);
    assert!(
        stdout.contains("TokenInfo names the demo client"),
        "{stdout}"
    );
}
