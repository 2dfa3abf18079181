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

/// The README's recipe for runs longer than a token lifetime: Newman talks to the agent's
/// proxy, which injects a fresh token into every request. Tokens live 2 s here and the
/// run takes longer than that (4 iterations, 1 s apart), so it needs more than one token;
/// every request still passes.
#[test]
fn newman_through_the_agent_proxy_outlives_a_token() {
    let Some(newman_dir) = require_peer("newman") else {
        return;
    };
    let Some(node) = require_peer("node") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let emu = start_emulator(
        &["--flavor", "genesys", "--demo", "--token-lifetime", "2s"],
        home.path(),
    );
    let config_dir = home.path().join("config/cctoken");
    std::fs::create_dir_all(&config_dir).unwrap();
    let secret_file = home.path().join("secret");
    std::fs::write(&secret_file, DEMO_SECRET).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "[profiles.gc]\nprovider = \"genesys\"\ntoken_url = \"{}\"\nclient_id = \"{DEMO_CLIENT}\"\nclient_secret_file = \"{}\"\n",
            emu.url(),
            secret_file.display()
        ),
    )
    .unwrap();
    let agent_cmd = cctoken_cmd(
        ["agent", "--profile", "gc", "--proxy", "gc=127.0.0.1:0"],
        home.path(),
    );
    let mut lines = 0;
    let agent = peers::PeerProcess::start_until("cctoken agent", agent_cmd, |line| {
        lines += 1;
        match line.strip_prefix("proxy gc on ") {
            Some(url) => Some(Ok(url.to_owned())),
            None if lines < 2 => None,
            None => Some(Err(format!("unexpected line {line:?}"))),
        }
    });
    let key_file = home.path().join("run/cctoken/agent.key");
    let key = std::fs::read_to_string(&key_file).expect("the agent key");
    // The tool presents the agent key; the proxy swaps in the profile's token.
    let env = serde_json::json!({
        "values": [
            {"key": "base_url", "value": agent.url(), "enabled": true},
            {"key": "access_token", "value": key.trim(), "enabled": true},
            {"key": "token_type", "value": "Bearer", "enabled": true},
        ]
    });
    let env_file = home.path().join("proxy.postman_environment.json");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&env_file)
            .expect("create env file");
        f.write_all(env.to_string().as_bytes())
            .expect("write env file");
    }

    let mut newman = Command::new(node);
    newman
        .arg(newman_dir.join("bin").join("newman.js"))
        .arg("run")
        .arg(peers::tests_peers_dir().join("newman-collection.json"))
        .arg("--environment")
        .arg(&env_file)
        .args(["--env-var", &format!("expected_client_id={DEMO_CLIENT}")])
        .args(["-n", "4", "--delay-request", "1000"])
        .args(["--reporters", "cli", "--color", "off", "--disable-unicode"])
        .args(["--timeout-request", "20000", "--timeout", "60000"])
        .env("HOME", home.path());
    peers::isolate_network_env(&mut newman);
    let run_output = run(newman);
    assert!(
        run_output.status.success(),
        "newman run through the proxy failed\n{}\nagent:\n{}",
        describe(&run_output),
        agent.stderr()
    );
    let stdout = String::from_utf8_lossy(&run_output.stdout);
    assert!(
        stdout.contains("TokenInfo names the demo client"),
        "{stdout}"
    );
    let stats: serde_json::Value = {
        let (status, body) = peers_http_get(emu.url(), "/_emulator/stats");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("stats JSON")
    };
    let issued = stats["tokens_issued_total"]
        .as_u64()
        .expect("tokens_issued_total");
    assert!(issued >= 2, "the run outlived its first token: {stats}");
    assert!(
        !agent.stderr().contains(DEMO_SECRET),
        "secret in the agent's log"
    );
}

/// `GET url+path` over loopback with std only: (status, body).
fn peers_http_get(base: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let authority = base.strip_prefix("http://").expect("an http:// URL");
    let mut s = std::net::TcpStream::connect(authority).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}
