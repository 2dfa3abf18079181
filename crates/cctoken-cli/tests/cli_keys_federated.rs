//! `cctoken get --client-assertion-from` (SPEC §14, workload identity federation) against
//! the in-process emulator: a GitHub-Actions-style OIDC token endpoint on loopback whose
//! JWT the emulator trusts through a `federated` entry, a fresh CI token per request, the
//! request token kept secret, and `env:VAR` / `file:PATH` sources (re-read every request).

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use common::keys::*;
use common::Emu;
use serde_json::{json, Value};

/// A GitHub-Actions-style OIDC token endpoint on loopback: answers `count` requests that
/// carry `Authorization: bearer REQ-TOKEN` with `{"value": JWT}` for the asked audience,
/// signed with the CI key (by hand, with rcgen's signer: nothing from the client library).
fn github_oidc(ci_key_pem: String, count: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/token?api-version=2.0",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..count {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut auth = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
                if h.to_ascii_lowercase().starts_with("authorization:") {
                    auth = h.trim_end().to_owned();
                }
            }
            seen.push(format!("{} {auth}", line.trim_end()));
            let audience = line
                .split_whitespace()
                .nth(1)
                .and_then(|t| url::Url::parse(&format!("http://x{t}")).ok())
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "audience")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_else(|| "https://github.com/acme".into());
            let now = now_secs();
            let header = json!({"alg": "ES256", "kid": "gh1", "typ": "JWT"});
            let claims = json!({"iss": CI_ISSUER, "sub": CI_SUBJECT, "aud": audience,
                                "iat": now, "nbf": now, "exp": now + 300,
                                "jti": format!("gh-{now}-{}", seen.len())});
            let body = json!({ "value": es256_jwt(&ci_key_pem, &header, &claims) }).to_string();
            let ok = auth == "authorization: bearer REQ-TOKEN-canary"
                || auth == "Authorization: bearer REQ-TOKEN-canary";
            let status = if ok { "200 OK" } else { "401 Unauthorized" };
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        seen
    });
    (url, handle)
}

#[test]
fn github_oidc_token_through_a_federated_entry() {
    let (s, config) = setup();
    let emu = Emu::start(config);
    let home = tempfile::tempdir().unwrap();
    let (url, server) = github_oidc(s.ci.pem.clone(), 2);
    for _ in 0..2 {
        let out = get_cmd(
            home.path(),
            &["--trace", "--issuer", &emu.base, "--client-id", "fed"],
        )
        .args(["--client-assertion-from", &format!("github:{CI_AUDIENCE}")])
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "REQ-TOKEN-canary")
        .output()
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            !stderr.contains("REQ-TOKEN-canary"),
            "the request token is secret: {stderr}"
        );
        assert!(
            stderr.contains(CI_SUBJECT),
            "the trace shows the CI token's claims: {stderr}"
        );
        let e = emu.last_activity();
        assert_eq!(
            (e.outcome.as_str(), e.client_id.as_deref()),
            ("issued", Some("fed")),
            "{}",
            e.reason
        );
    }
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2, "a fresh CI token for every request");
    assert!(
        seen[0].contains("audience=api%3A%2F%2Fcctoken-tests"),
        "{seen:?}"
    );
    // The wrong audience is refused with the emulator's reason.
    let (url, server) = github_oidc(s.ci.pem.clone(), 1);
    get_err(
        get_cmd(home.path(), &["--issuer", &emu.base, "--client-id", "fed"])
            .args(["--client-assertion-from", "github:api://elsewhere"])
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "REQ-TOKEN-canary"),
    );
    server.join().unwrap();
    let r = emu.last_activity().reason;
    assert!(
        r.contains("api://elsewhere") && r.contains(CI_AUDIENCE),
        "{r}"
    );
    // env:VAR and file:PATH carry a token made elsewhere (GitLab, Kubernetes).
    let (url, server) = github_oidc(s.ci.pem.clone(), 2);
    let jwts: Vec<String> = (0..2)
        .map(|_| {
            let raw = plain_get(&url);
            serde_json::from_str::<Value>(&raw).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    server.join().unwrap();
    get_ok(
        get_cmd(home.path(), &["--issuer", &emu.base, "--client-id", "fed"])
            .args(["--client-assertion-from", "env:CI_JWT"])
            .env("CI_JWT", &jwts[0]),
    );
    assert_eq!(emu.last_activity().outcome, "issued");
    let file = s.dir.path().join("projected-token");
    std::fs::write(&file, format!("{}\n", jwts[1])).unwrap();
    get_ok(
        get_cmd(home.path(), &["--issuer", &emu.base, "--client-id", "fed"])
            .arg("--client-assertion-from")
            .arg(format!("file:{}", file.display())),
    );
    assert_eq!(emu.last_activity().outcome, "issued");
    // The file is re-read on every request (a projected token is rotated in place).
    std::fs::write(&file, "not-a-jwt\n").unwrap();
    let err = get_err(
        get_cmd(home.path(), &["--issuer", &emu.base, "--client-id", "fed"])
            .arg("--client-assertion-from")
            .arg(format!("file:{}", file.display())),
    );
    assert!(err.contains("is not a compact JWS"), "{err}");
    assert!(
        !err.contains("not-a-jwt"),
        "the assertion is not echoed: {err}"
    );
}

/// GET `url` with the CI request token over a plain socket (no HTTP client crate needed).
fn plain_get(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    let mut s = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    write!(
        s,
        "GET {}?{}&audience=api%3A%2F%2Fcctoken-tests HTTP/1.1\r\nHost: x\r\nAuthorization: bearer REQ-TOKEN-canary\r\nConnection: close\r\n\r\n",
        u.path(),
        u.query().unwrap_or("")
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}
