//! The Redis fleet cache (`[cache] url`, SPEC §6) through the real binary and a real
//! `redis-server`: two "machines" (two cache directories) share one token, Redis holds only
//! ciphertext, `rediss://` verifies the server against the system roots (`SSL_CERT_FILE`
//! here, a CA made for the test with the `openssl` command), and a Redis that is down costs
//! one warning, never a failed `get`.
//!
//! A missing `redis-server` (or `openssl`) skips loudly, or fails with
//! `CCTOKEN_REQUIRE_PEERS=1`.

mod common;

use std::io::{BufReader, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cctoken_emulator::Flavor;
use common::{get, peers, planted_negative, Emu, DEMO_SECRET};

fn stat(emu: &Emu, name: &str) -> u64 {
    emu.get_json("/_emulator/stats")[name]
        .as_u64()
        .expect("counter")
}

/// A "machine": its own HOME, cache directory and config file naming the shared Redis.
fn machine(redis_url: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config/cctoken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("[cache]\nurl = \"{redis_url}\"\n"),
    )
    .unwrap();
    home
}

fn port_of(url: &str) -> u16 {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("redis URL with a port")
}

/// One RESP reply (enough of the protocol for KEYS, GET and PTTL).
#[derive(Debug)]
enum Reply {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Array(Vec<Reply>),
    Status(String),
}

fn read_reply(r: &mut impl std::io::BufRead) -> Reply {
    let mut line = String::new();
    r.read_line(&mut line).expect("reply line");
    let (kind, rest) = line.trim_end().split_at(1);
    match kind {
        "+" => Reply::Status(rest.to_owned()),
        "-" => panic!("redis error: {rest}"),
        ":" => Reply::Int(rest.parse().unwrap()),
        "$" => {
            let len: i64 = rest.parse().unwrap();
            if len < 0 {
                return Reply::Nil;
            }
            let mut buf = vec![0; len as usize + 2];
            r.read_exact(&mut buf).unwrap();
            buf.truncate(len as usize);
            Reply::Bulk(buf)
        }
        "*" => {
            let n: i64 = rest.parse().unwrap();
            Reply::Array((0..n.max(0)).map(|_| read_reply(r)).collect())
        }
        other => panic!("unexpected RESP type {other:?}"),
    }
}

/// Send one command over raw RESP, independent of the code under test.
fn redis(port: u16, args: &[&str]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(cmd.as_bytes()).unwrap();
    read_reply(&mut BufReader::new(s))
}

fn run_get(home: &Path, emu: &Emu, extra: &[&str]) -> std::process::Output {
    get(home, &emu.token_url(), "demo-client", DEMO_SECRET)
        .args(extra)
        .output()
        .expect("cctoken runs")
}

#[test]
fn two_machines_share_one_token_and_redis_holds_only_ciphertext() {
    let store = tempfile::tempdir().unwrap();
    let Some(server) = peers::start_redis(store.path()) else {
        return;
    };
    let emu = Emu::demo(Flavor::Generic);
    let machines = [machine(server.url()), machine(server.url())];
    let before = stat(&emu, "token_requests_total");
    let outputs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let home = machines[i % 2].path();
                let emu = &emu;
                s.spawn(move || run_get(home, emu, &[]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut tokens = std::collections::BTreeSet::new();
    for out in &outputs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.trim().is_empty(), "no warnings: {stderr}");
        tokens.insert(String::from_utf8(out.stdout.clone()).unwrap());
    }
    assert_eq!(tokens.len(), 1, "every process prints the same token");
    assert_eq!(
        stat(&emu, "token_requests_total") - before,
        1,
        "one token request for both machines"
    );
    let token = tokens.into_iter().next().unwrap().trim().to_owned();

    // Redis holds one entry: sealed, and expiring with the token.
    let port = port_of(server.url());
    let Reply::Array(keys) = redis(port, &["KEYS", "cctoken:v1:*"]) else {
        panic!("KEYS answers an array")
    };
    let entries: Vec<String> = keys
        .into_iter()
        .filter_map(|k| match k {
            Reply::Bulk(b) => Some(String::from_utf8(b).unwrap()),
            _ => None,
        })
        .filter(|k| !k.ends_with(":lease") && !k.ends_with(":ratelimit"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let Reply::Bulk(value) = redis(port, &["GET", &entries[0]]) else {
        panic!("the entry is a string")
    };
    let text = String::from_utf8_lossy(&value);
    assert!(!text.contains(&token), "token in clear: {text}");
    assert!(
        !text.contains(&token[..12]),
        "token prefix in clear: {text}"
    );
    assert!(!text.contains(DEMO_SECRET), "secret in clear: {text}");
    let doc: serde_json::Value = serde_json::from_slice(&value).expect("a JSON entry");
    assert_eq!(doc["kind"], "token");
    assert!(doc["ct"].is_string() && doc["nonce"].is_string());

    // The entry's TTL is the token's remaining lifetime (read after it, so never above).
    let out = run_get(machines[0].path(), &emu, &["--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let left_s = json["expires_in"].as_i64().unwrap();
    let Reply::Int(pttl) = redis(port, &["PTTL", &entries[0]]) else {
        panic!("PTTL answers an integer")
    };
    assert!(pttl > 0, "the entry expires (PTTL {pttl})");
    assert!(
        pttl <= (left_s + 1) * 1000,
        "PTTL {pttl} ms, token {left_s} s"
    );
    assert!(
        matches!(redis(port, &["PING"]), Reply::Status(s) if s == "PONG"),
        "redis still up"
    );
}

#[test]
fn a_machine_that_joins_later_takes_the_fleet_token_without_asking() {
    let store = tempfile::tempdir().unwrap();
    let Some(server) = peers::start_redis(store.path()) else {
        return;
    };
    let emu = Emu::demo(Flavor::Generic);
    let first = machine(server.url());
    let out = run_get(first.path(), &emu, &[]);
    assert!(out.status.success());
    let before = stat(&emu, "token_requests_total");
    let later = machine(server.url());
    let again = run_get(later.path(), &emu, &["--json"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        json["access_token"].as_str().unwrap(),
        String::from_utf8(out.stdout).unwrap().trim()
    );
    assert_eq!(json["source"], "cache");
    assert_eq!(stat(&emu, "token_requests_total"), before);
    // It was written through to the new machine's disk.
    assert!(std::fs::read_dir(later.path().join("cache/cctoken"))
        .unwrap()
        .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "json")));
}

#[test]
fn failures_planted_in_redis_are_ignored_and_the_server_asked() {
    let store = tempfile::tempdir().unwrap();
    let Some(server) = peers::start_redis(store.path()) else {
        return;
    };
    let emu = Emu::demo(Flavor::Generic);
    let port = port_of(server.url());
    let first = machine(server.url());
    assert!(run_get(first.path(), &emu, &[]).status.success());
    let Reply::Array(keys) = redis(port, &["KEYS", "cctoken:v1:*"]) else {
        panic!("KEYS answers an array")
    };
    let Some(Reply::Bulk(key)) = keys.into_iter().next() else {
        panic!("the fleet's entry is in Redis")
    };
    let key = String::from_utf8(key).unwrap();
    // What anyone who can write to the Redis server could plant.
    let (negative, until) = planted_negative("ATTACKER text");
    let year = "31536000000";
    redis(port, &["SET", &key, &negative, "PX", year]);
    let rate_limit = format!("{key}:ratelimit");
    redis(port, &["SET", &rate_limit, &until, "PX", year]);
    let before = stat(&emu, "token_requests_total");
    let later = machine(server.url());
    let out = run_get(later.path(), &emu, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("ATTACKER"), "{stderr}");
    assert!(stderr.contains("ignoring the shared"), "{stderr}");
    assert_eq!(stat(&emu, "token_requests_total"), before + 1);
    let Reply::Bulk(value) = redis(port, &["GET", &key]) else {
        panic!("the entry is a string")
    };
    let doc: serde_json::Value = serde_json::from_slice(&value).unwrap();
    assert_eq!(doc["kind"], "token", "the planted entry was replaced");
}

#[test]
fn redis_down_costs_one_warning_and_never_a_failed_get() {
    // A loopback port nothing listens on (taken from the kernel, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let emu = Emu::demo(Flavor::Generic);
    let home = machine(&format!("redis://:pw-CANARY-77@127.0.0.1:{port}/0"));
    let out = run_get(home.path(), &emu, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(!out.stdout.is_empty(), "the token is printed");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one warning line: {stderr}");
    assert!(lines[0].contains("WARN"), "{stderr}");
    assert!(lines[0].contains("shared cache"), "{stderr}");
    assert!(lines[0].contains("local cache"), "{stderr}");
    assert!(
        !stderr.contains("CANARY"),
        "the Redis password is not shown"
    );
    // The next get is served from the disk: no Redis contact, no warning.
    let again = run_get(home.path(), &emu, &[]);
    assert!(again.status.success());
    assert_eq!(again.stdout, out.stdout);
    assert!(
        again.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// `openssl` (the command): a CA and a certificate for localhost/127.0.0.1 signed by it, in
/// `dir` as `ca.crt`, `srv.crt`, `srv.key`. No key or certificate is kept in the repository.
fn make_certificates(openssl: &Path, dir: &Path) {
    let run = |args: &[String]| {
        let out = Command::new(openssl)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let words = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let ec = "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    run(&words(&format!(
        "{ec} -x509 -days 2 -subj /CN=cctoken-test-CA -keyout ca.key -out ca.crt"
    )));
    run(&words(&format!(
        "{ec} -subj /CN=localhost -keyout srv.key -out srv.csr"
    )));
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&words(
        "x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
         -extfile ext -out srv.crt",
    ));
}

/// `redis-server` with TLS only (no plain port), or `None` (skipped) without the peers.
fn start_tls_redis(dir: &Path) -> Option<peers::PeerProcess> {
    let redis = peers::require_peer("redis-server")?;
    let openssl = peers::require_peer_program("openssl")?;
    make_certificates(&openssl, dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut cmd = Command::new(redis);
    cmd.current_dir(dir)
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(["--tls-port", &port.to_string()])
        .args(["--tls-cert-file", "srv.crt", "--tls-key-file", "srv.key"])
        .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .args(["--loglevel", "notice", "--logfile", ""]);
    let url = format!("rediss://localhost:{port}/0");
    Some(peers::PeerProcess::start_until(
        "redis-server (TLS)",
        cmd,
        move |line| {
            if line.contains("Ready to accept connections") {
                Some(Ok(url.clone()))
            } else if line.contains("Address already in use") || line.contains("Failed") {
                Some(Err(format!("cannot serve TLS on 127.0.0.1:{port}: {line}")))
            } else {
                None
            }
        },
    ))
}

#[test]
fn rediss_is_verified_against_the_system_roots() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = start_tls_redis(dir.path()) else {
        return;
    };
    let ca = dir.path().join("ca.crt");
    let emu = Emu::demo(Flavor::Generic);
    let tls_get = |home: &Path, roots: &Path| {
        get(home, &emu.token_url(), "demo-client", DEMO_SECRET)
            .env("SSL_CERT_FILE", roots)
            .env_remove("SSL_CERT_DIR")
            .output()
            .expect("cctoken runs")
    };
    let (a, b) = (machine(server.url()), machine(server.url()));
    let before = stat(&emu, "token_requests_total");
    let first = tls_get(a.path(), &ca);
    let second = tls_get(b.path(), &ca);
    for out in [&first, &second] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
    assert_eq!(first.stdout, second.stdout, "b took a's token over TLS");
    assert_eq!(stat(&emu, "token_requests_total") - before, 1);
    // A server the roots do not vouch for is not used: one warning, a token all the same.
    let c = machine(server.url());
    let untrusted = tls_get(c.path(), &dir.path().join("srv.crt"));
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(untrusted.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
}

/// A token server that echoes the request: the rejection remembered in Redis, and what
/// another machine replays from it, hold none of the secret.
#[test]
fn a_remembered_rejection_in_redis_holds_no_echo() {
    use common::hostile::{Hostile, ECHO_SHAPES};
    const CANARY: &str = "CANARY/s3cret+x=";
    let store = tempfile::tempdir().unwrap();
    let Some(server) = peers::start_redis(store.path()) else {
        return;
    };
    let echo = Hostile::echo(ECHO_SHAPES[0]);
    let port = port_of(server.url());
    let form: String = url::form_urlencoded::byte_serialize(CANARY.as_bytes()).collect();
    let scan = |text: &str, what: &str| {
        for c in ["CANARY", form.as_str()] {
            assert!(!text.contains(c), "{c} in {what}:\n{text}");
        }
    };
    for (i, home) in [machine(server.url()), machine(server.url())]
        .iter()
        .enumerate()
    {
        let out = get(home.path(), &echo.url("/t"), "c", CANARY)
            .args(["--auth", "post", "--trace"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        scan(
            &String::from_utf8_lossy(&out.stderr),
            &format!("machine {i}'s stderr"),
        );
    }
    assert_eq!(
        echo.requests().len(),
        1,
        "the second machine replayed the rejection"
    );
    let Reply::Array(keys) = redis(port, &["KEYS", "*"]) else {
        panic!("KEYS answers an array")
    };
    assert!(!keys.is_empty());
    for k in keys {
        let Reply::Bulk(k) = k else { continue };
        let k = String::from_utf8(k).unwrap();
        if let Reply::Bulk(v) = redis(port, &["GET", &k]) {
            scan(&String::from_utf8_lossy(&v), &format!("redis {k}"));
        }
    }
}
