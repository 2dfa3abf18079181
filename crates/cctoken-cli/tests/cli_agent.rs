//! `cctoken agent` as a process (SPEC §9): the stdout contract, 0600 socket and key,
//! `CCTOKEN_AGENT` for `get`/`exec`/`api` over the socket and over TCP, the key and `Host`
//! checks, the proxy, a symlinked runtime directory refused, and SIGTERM cleanup — with
//! the client secret as a canary that must appear in no output.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cctoken_emulator::Flavor;
use common::peers::{self, http_raw, PeerProcess};
use common::{cctoken, Emu, DEMO_SECRET};

/// The agent's announced listeners.
struct Agent {
    process: PeerProcess,
    socket: PathBuf,
    tcp: Option<String>,
    proxy: Option<String>,
}

/// Write a config with a working profile `emu` (secret in a file) and a broken one.
fn write_config(home: &Path, emu: &Emu) -> PathBuf {
    let dir = home.join("config/cctoken");
    std::fs::create_dir_all(&dir).unwrap();
    let secret = home.join("secret");
    std::fs::write(&secret, DEMO_SECRET).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"[profiles.emu]
provider = "genesys"
token_url = "{base}/oauth/token"
api_base = "{base}"
client_id = "demo-client"
client_secret_file = "{secret}"

[profiles.broken]
provider = "generic"
token_url = "{base}/oauth/token"
client_id = "x"
client_secret_env = "CCTOKEN_TEST_UNSET_SECRET"
"#,
            base = emu.base,
            secret = secret.display()
        ),
    )
    .unwrap();
    path
}

/// Start `cctoken agent ARGS` and read its listener lines.
fn start_agent(home: &Path, args: &[&str], lines: usize) -> Agent {
    let mut cmd = peers::cctoken_cmd(["-vv", "--trace", "agent"], home);
    cmd.args(args);
    let mut seen = Vec::new();
    let process = PeerProcess::start_until("cctoken agent", cmd, |line| {
        seen.push(line.to_owned());
        (seen.len() == lines).then(|| Ok(String::new()))
    });
    let mut agent = Agent {
        process,
        socket: PathBuf::new(),
        tcp: None,
        proxy: None,
    };
    for l in &seen {
        if let Some(p) = l.strip_prefix("listening on unix:") {
            agent.socket = PathBuf::from(p);
        } else if let Some(a) = l.strip_prefix("listening on http://") {
            agent.tcp = Some(a.to_owned());
        } else if let Some(a) = l.strip_prefix("proxy emu on http://") {
            agent.proxy = Some(a.to_owned());
        } else {
            panic!("unexpected stdout line {l:?}");
        }
    }
    agent
}

fn request(path: &str, host: &str, key: Option<&str>) -> String {
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n")
}

/// `cctoken ARGS` with `CCTOKEN_AGENT=agent`.
fn ask_agent(home: &Path, agent: &str, args: &[&str]) -> std::process::Output {
    cctoken(home)
        .args(args)
        .env("CCTOKEN_AGENT", agent)
        .output()
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn token_requests(emu: &Emu) -> u64 {
    emu.get_json("/_emulator/stats")["token_requests_total"]
        .as_u64()
        .expect("token_requests_total")
}

#[test]
fn agent_serves_get_exec_api_and_proxy_then_cleans_up_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let emu = Emu::demo(Flavor::Genesys);
    write_config(home.path(), &emu);
    let mut agent = start_agent(
        home.path(),
        &["--listen", "127.0.0.1:0", "--proxy", "emu=127.0.0.1:0"],
        3,
    );
    assert_eq!(
        agent.socket,
        home.path().join("run/cctoken/agent.sock"),
        "default socket under XDG_RUNTIME_DIR"
    );
    let key_file = agent.socket.with_file_name("agent.key");
    assert_eq!(mode(&agent.socket), 0o600);
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(agent.socket.parent().unwrap()), 0o700);
    let key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_owned();
    let tcp = agent.tcp.clone().expect("tcp listener");

    // get over the socket: no secret on the consumer's side.
    let unix = format!("unix:{}", agent.socket.display());
    let out = cctoken(home.path())
        .args(["get", "-p", "emu"])
        .env("CCTOKEN_AGENT", &unix)
        .env("XDG_CONFIG_HOME", home.path().join("elsewhere"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.len() > 20);

    // get over TCP with the key from agent.key, as JSON.
    let out = cctoken(home.path())
        .args(["get", "-p", "emu", "--json"])
        .env("CCTOKEN_AGENT", format!("http://{tcp}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["access_token"], token.as_str());
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["source"], "agent");
    assert!(json["expires_in"].as_u64().unwrap() > 3000);

    // exec and api through the agent.
    let out = cctoken(home.path())
        .args(["exec", "-p", "emu", "--", "sh", "-c"])
        .arg("printf '%s|%s|%s' \"$CCTOKEN_ACCESS_TOKEN\" \"$GENESYSCLOUD_ACCESS_TOKEN\" \"$CCTOKEN_API_BASE\"")
        .env("CCTOKEN_AGENT", &unix)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{token}|{token}|{}", emu.base)
    );
    let out = ask_agent(
        home.path(),
        &unix,
        &["api", "-p", "emu", "/api/v2/tokens/me"],
    );
    assert!(out.status.success(), "{out:?}");
    let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(me["OAuthClient"]["id"], "demo-client");

    // One token request upstream for all of it.
    assert_eq!(token_requests(&emu), 1);

    // TCP: the key and a loopback Host are required; no token without them.
    let path = "/v1/token/emu";
    for (host, k, want) in [
        (tcp.as_str(), None, 401),
        (tcp.as_str(), Some("wrong"), 401),
        ("evil.example", Some(key.as_str()), 403),
        (tcp.as_str(), Some(key.as_str()), 200),
    ] {
        let (status, body) = http_raw(&tcp, &request(path, host, k));
        assert_eq!(status, want, "{host} {k:?}: {body}");
        assert_eq!(body.contains(&token), want == 200, "{body}");
    }
    let (_, body) = http_raw(&tcp, &request(path, &tcp, Some(&key)));
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["api_base"], emu.base.as_str(), "no trailing slash");
    let (status, body) = http_raw(&tcp, &request("/metrics", &tcp, Some(&key)));
    assert_eq!(status, 200);
    assert!(
        body.contains("cctoken_agent_refreshes_total{profile=\"emu\"} 1"),
        "{body}"
    );

    // The proxy injects the profile's token; the tool presents the agent key.
    let proxy = agent.proxy.clone().expect("proxy listener");
    let (status, body) = http_raw(&proxy, &request("/api/v2/tokens/me", &proxy, Some(&key)));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("demo-client"), "{body}");
    let (status, _) = http_raw(&proxy, &request("/api/v2/tokens/me", &proxy, None));
    assert_eq!(status, 401);

    // Revoked behind the agent's back (Genesys: DELETE /api/v2/tokens/me): `api` gets 401,
    // reports the token's fingerprint, and the agent replaces it — one new token request.
    let out = ask_agent(
        home.path(),
        &unix,
        &["api", "-p", "emu", "-X", "DELETE", "/api/v2/tokens/me"],
    );
    assert!(out.status.success(), "{out:?}");
    let before = token_requests(&emu);
    let out = ask_agent(
        home.path(),
        &unix,
        &["api", "-p", "emu", "/api/v2/tokens/me"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(token_requests(&emu), before + 1);
    let out = ask_agent(home.path(), &unix, &["get", "-p", "emu"]);
    let replaced = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        !replaced.is_empty() && replaced != token,
        "the agent serves the new token"
    );

    // A broken profile and an unknown one are configuration errors for the consumer.
    let out = ask_agent(home.path(), &unix, &["get", "-p", "broken"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("CCTOKEN_TEST_UNSET_SECRET"));
    let out = ask_agent(home.path(), &unix, &["get", "-p", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("it serves: emu"));

    // SIGTERM: exit 0, socket and key file gone.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.process.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = agent
        .process
        .wait_exit(Duration::from_secs(20))
        .expect("the agent stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!agent.socket.exists(), "socket removed");
    assert!(!key_file.exists(), "key file removed");

    // The canary: neither the secret nor the whole token in the agent's logs (-vv --trace).
    let log = agent.process.stderr();
    assert!(log.contains("trace") || log.contains("POST"), "{log}");
    assert!(!log.contains(DEMO_SECRET), "secret in the agent's log");
    assert!(!log.contains(&token), "token in the agent's log");
    assert!(!log.contains(&replaced), "token in the agent's log");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI colour in the agent's log: {log:?}"
    );
}

#[test]
fn agent_setup_errors_are_clear() {
    let home = tempfile::tempdir().unwrap();
    let emu = Emu::demo(Flavor::Genesys);
    write_config(home.path(), &emu);

    let out = cctoken(home.path())
        .args(["agent", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    assert!(out.stdout.is_empty(), "nothing announced");

    let out = cctoken(home.path())
        .args(["agent", "--profile", "broken"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // A runtime directory whose `cctoken` is a symlink (planted by another user) is refused.
    let shared = home.path().join("shared-run");
    std::fs::create_dir_all(shared.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(shared.join("elsewhere"), shared.join("cctoken")).unwrap();
    let out = cctoken(home.path())
        .args(["agent", "--profile", "emu"])
        .env("XDG_RUNTIME_DIR", &shared)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("symbolic link") && err.contains("--socket"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing announced");
    assert_eq!(
        std::fs::read_dir(shared.join("elsewhere")).unwrap().count(),
        0
    );

    // A second agent on the same socket refuses to start; the first keeps its socket.
    let mut first = start_agent(home.path(), &["--profile", "emu"], 1);
    let out = cctoken(home.path())
        .args(["agent", "--profile", "emu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already listening"));
    assert!(first.socket.exists());

    // SIGINT works like SIGTERM.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.process.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert!(first
        .process
        .wait_exit(Duration::from_secs(20))
        .is_some_and(|s| s.success()));
    assert!(!first.socket.exists());

    // No agent behind CCTOKEN_AGENT: exit 4 with a hint.
    let out = cctoken(home.path())
        .args(["get", "-p", "emu"])
        .env("CCTOKEN_AGENT", format!("unix:{}", first.socket.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cctoken agent"));
    // A remote agent address is refused before any key is sent.
    let out = cctoken(home.path())
        .args(["get", "-p", "emu"])
        .env("CCTOKEN_AGENT", "http://agent.example.com:80")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A config for the CXone emulator at `base`: `cx` works (its token_url is the bare
/// origin, a host override), `bad` has a wrong app secret, `broken` no secret at all.
fn write_cxone_config(home: &Path, base: &str) {
    let dir = home.join("config/cctoken");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, value) in [
        ("app", "demo-app-secret"),
        ("wrong", "not-the-app-secret"),
        ("key", "demo/access+key===="),
    ] {
        std::fs::write(home.join(file), value).unwrap();
    }
    let profile = |name: &str, secret: &str| {
        format!(
            "[profiles.{name}]\nprovider = \"cxone\"\ntoken_url = \"{base}\"\n\
             client_id = \"demo-app\"\nclient_secret_file = \"{}\"\n\
             access_key_id = \"DEMOACCESSKEY\"\naccess_key_secret_file = \"{}\"\n\n",
            home.join(secret).display(),
            home.join("key").display()
        )
    };
    let text = format!(
        "{}{}[profiles.broken]\nprovider = \"generic\"\ntoken_url = \"{base}/auth/token\"\n\
         client_id = \"x\"\nclient_secret_env = \"CCTOKEN_TEST_UNSET_SECRET\"\n",
        profile("cx", "app"),
        profile("bad", "wrong"),
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

fn healthz(tcp: &str, key: &str, query: &str) -> (u16, serde_json::Value) {
    let (status, body) = http_raw(tcp, &request(&format!("/healthz{query}"), tcp, Some(key)));
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, v)
}

#[test]
fn cxone_through_the_agent_has_its_api_base_and_healthz_counts_every_profile() {
    let home = tempfile::tempdir().unwrap();
    let emu = Emu::demo(Flavor::Cxone);
    write_cxone_config(home.path(), &emu.base);
    let agent = start_agent(home.path(), &["--listen", "127.0.0.1:0"], 2);
    let unix = format!("unix:{}", agent.socket.display());

    // The tenant's API base, found by the agent with the token, reaches the consumer.
    let out = ask_agent(home.path(), &unix, &["get", "-p", "cx", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["api_base"].as_str().map(|b| b.trim_end_matches('/')),
        Some(emu.base.as_str()),
        "{json}"
    );
    let out = ask_agent(
        home.path(),
        &unix,
        &[
            "api",
            "-p",
            "cx",
            "/inContactAPI/services/v27.0/server-time",
        ],
    );
    assert!(out.status.success(), "{out:?}");

    // Every configured profile is counted; one that cannot serve makes it 503.
    let tcp = agent.tcp.clone().expect("tcp listener");
    let key = std::fs::read_to_string(agent.socket.with_file_name("agent.key")).unwrap();
    let key = key.trim();
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, h) = healthz(&tcp, key, "");
        if h["by_profile"]["bad"]["state"] == "failing" {
            break;
        }
        last = h;
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, h) = healthz(&tcp, key, "");
    assert_eq!(status, 503, "{h} (before: {last})");
    assert_eq!(h["status"], "failing");
    assert_eq!(h["profiles"], 3, "{h}");
    assert_eq!(
        (
            h["ok"].as_u64(),
            h["failing"].as_u64(),
            h["broken"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{h}"
    );
    assert_eq!(h["by_profile"]["cx"]["state"], "ok");
    assert!(h["by_profile"]["cx"]["expires_in"].as_u64().unwrap() > 3000);
    assert_eq!(h["by_profile"]["bad"]["error"]["kind"], "invalid_client");
    assert_eq!(h["by_profile"]["bad"]["error"]["class"], "permanent");
    assert_eq!(h["by_profile"]["broken"]["state"], "broken");
    assert_eq!(h["by_profile"]["broken"]["error"]["kind"], "config");

    let (status, one) = healthz(&tcp, key, "?profile=cx");
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["status"], "ok");
    assert_eq!(one["health"]["state"], "ok");
    let (status, one) = healthz(&tcp, key, "?profile=bad");
    assert_eq!(status, 503, "{one}");
    assert_eq!(one["health"]["state"], "failing");
    let (status, one) = healthz(&tcp, key, "?profile=nope");
    assert_eq!(status, 404, "{one}");
    assert_eq!(one["error"], "unknown_profile");

    // The agent's log speaks of the agent: a remembered failure, no CLI flag to fix it.
    assert!(
        agent.process.stderr_eventually_contains("remembered"),
        "{}",
        agent.process.stderr()
    );
    let log = agent.process.stderr();
    assert!(!log.contains("--no-cache"), "{log}");
    for secret in [
        "demo-app-secret",
        "not-the-app-secret",
        "demo/access+key====",
    ] {
        assert!(!log.contains(secret), "a secret in the agent's log");
        assert!(!h.to_string().contains(secret), "a secret in /healthz");
    }
}
