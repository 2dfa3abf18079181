//! `--token-url` as a host override for genesys and cxone, and Genesys' token-endpoint rate
//! limit waited out, remembered for the next process and reported — the real binary
//! against the emulator over real sockets.

mod common;

use cctoken_emulator::Flavor;
use common::{cctoken, get, Emu, DEMO_SECRET};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn token_requests(emu: &Emu) -> u64 {
    emu.get_json("/_emulator/stats")["token_requests_total"]
        .as_u64()
        .expect("token_requests_total")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn genesys_bare_origin_gets_the_token_path_and_a_wrong_path_is_not_remembered() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    let out = get(home.path(), &emu.base, "demo-client", DEMO_SECRET)
        .args(["--region", "eu-west-1", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v = json(&out);
    assert!(v["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        v["api_base"].as_str().map(|b| b.trim_end_matches('/')),
        Some(emu.base.as_str()),
        "the emulator serves the API on its origin: {v}"
    );
    assert_eq!(token_requests(&emu), 1);

    // A wrong path is a 404, not the token server's verdict on the credentials: asked
    // again next time (and the fix — the right path — works at once).
    let wrong = format!("{}/wrong/token", emu.base);
    for _ in 0..2 {
        let out = get(home.path(), &wrong, "demo-client", DEMO_SECRET)
            .args(["--provider", "genesys", "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let e = &json(&out)["error"];
        assert_eq!(e["status"], 404, "{e}");
        assert_eq!(e["remembered"], false, "{e}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("remembered"), "{err}");
    }
}

#[test]
fn cxone_token_url_sends_discovery_and_the_tenant_lookup_to_that_host() {
    let emu = Emu::demo(Flavor::Cxone);
    let home = tmp();
    for token_url in [emu.base.clone(), format!("{}/auth/token", emu.base)] {
        let out = cctoken(home.path())
            .args(["get", "--provider", "cxone", "--token-url", &token_url])
            .args([
                "--client-id",
                "demo-app",
                "--access-key-id",
                "DEMOACCESSKEY",
            ])
            .args(["--format", "json", "--no-cache"])
            .env("CCTOKEN_CLIENT_SECRET", "demo-app-secret")
            .env("CCTOKEN_ACCESS_KEY_SECRET", "demo/access+key====")
            .output()
            .unwrap();
        assert!(out.status.success(), "{token_url}: {out:?}");
        let v = json(&out);
        assert_eq!(
            v["api_base"].as_str().map(|b| b.trim_end_matches('/')),
            Some(emu.base.as_str()),
            "{token_url}: the tenant configuration comes from the overridden host: {v}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("niceincontact.com"), "{token_url}: {err}");
    }
}

#[test]
fn genesys_token_rate_limit_is_reported_and_remembered_for_the_next_process() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    // Genesys says how long only in its description: "rate limit exceeded; retry after
    // 100 seconds". Longer than cctoken waits: fail at once, and say so.
    emu.fault(r#"{"kind":"token_rate_limit","retry_after":100,"count":50}"#);
    let run = || {
        get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
            .args(["--provider", "genesys", "--format", "json"])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let e = &json(&out)["error"];
    assert_eq!(e["kind"], "rate_limited", "{e}");
    assert_eq!(e["retry_after"], 100, "{e}");
    assert_eq!(e["status"], 400, "{e}");
    assert_eq!(
        token_requests(&emu),
        1,
        "no retry before the server allows it"
    );

    // The next process finds the limit in the shared cache and sends nothing.
    let out = run();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let e = &json(&out)["error"];
    assert_eq!(e["kind"], "rate_limited", "{e}");
    assert_eq!(e["remembered"], true, "{e}");
    let left = e["retry_after"].as_u64().expect("retry_after");
    assert!((1..=101).contains(&left), "{e}");
    assert_eq!(
        token_requests(&emu),
        1,
        "the second process sent no request"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--no-cache"),
        "the CLI says how to ask anyway: {err}"
    );
}

#[test]
fn a_short_genesys_rate_limit_is_waited_out() {
    let emu = Emu::demo(Flavor::Genesys);
    let home = tmp();
    emu.fault(r#"{"kind":"token_rate_limit","retry_after":1,"count":1}"#);
    let out = get(home.path(), &emu.token_url(), "demo-client", DEMO_SECRET)
        .args(["--provider", "genesys", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(token_requests(&emu), 2, "one refused, one after the wait");
}
