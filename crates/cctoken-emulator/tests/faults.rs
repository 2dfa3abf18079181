//! Scripted faults: each kind over real loopback HTTP (`spawn`), plus runtime control.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken_emulator::{spawn, AppState, EmulatorConfig, FaultSpec, Flavor, ManualClock};
use common::{basic_raw, basic_rfc, raw_http, raw_token_request, Emu, DEMO_SECRET};

const CC: &str = "grant_type=client_credentials";

fn status_of(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn body_of(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn header_of<'a>(resp: &'a str, name: &str) -> Option<&'a str> {
    resp.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn control(addr: std::net::SocketAddr, method: &str, body: &str) -> String {
    let req = format!(
        "{method} /_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw_http(addr, &req).await.expect("control request")
}

#[tokio::test]
async fn every_fault_kind_over_real_http() {
    let emu = spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .unwrap();
    let addr = emu.addr();
    assert_eq!(emu.base_url(), format!("http://{addr}"));
    let good = raw_token_request(&basic_rfc("demo-client", DEMO_SECRET), CC);
    let send = || async { raw_http(addr, &good).await };

    let r = control(addr, "POST", r#"{"kind":"status","status":503,"count":2}"#).await;
    assert_eq!(status_of(&r), 200, "{r}");
    for _ in 0..2 {
        let r = send().await.unwrap();
        assert_eq!(status_of(&r), 503, "{r}");
        assert_eq!(header_of(&r, "cache-control"), Some("no-store"));
    }
    assert_eq!(status_of(&send().await.unwrap()), 200);

    control(
        addr,
        "POST",
        r#"{"kind":"rate_limit","retry_after":1,"count":1}"#,
    )
    .await;
    let r = send().await.unwrap();
    assert_eq!(
        (status_of(&r), header_of(&r, "retry-after")),
        (429, Some("1")),
        "{r}"
    );

    control(addr, "POST", r#"{"kind":"html","status":502,"count":1}"#).await;
    let r = send().await.unwrap();
    assert_eq!(status_of(&r), 502);
    assert!(header_of(&r, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(body_of(&r).contains("<html>"));

    control(addr, "POST", r#"{"kind":"truncate","count":1}"#).await;
    let r = send().await.unwrap();
    assert_eq!(status_of(&r), 200);
    assert!(header_of(&r, "content-type").unwrap().contains("json"));
    assert!(
        serde_json::from_str::<serde_json::Value>(body_of(&r)).is_err(),
        "cut off: {r}"
    );

    control(addr, "POST", r#"{"kind":"reset","count":1}"#).await;
    let err = send().await.expect_err("connection reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    assert_eq!(
        status_of(&send().await.unwrap()),
        200,
        "server still serves after a reset"
    );

    control(addr, "POST", r#"{"kind":"token_rate_limit","count":1}"#).await;
    let r = send().await.unwrap();
    assert_eq!(
        (status_of(&r), header_of(&r, "retry-after")),
        (429, Some("1")),
        "{r}"
    );

    let stats = emu.stats();
    assert_eq!(stats.token_requests_total, 9, "faults included: {stats:?}");
    assert_eq!(stats.tokens_issued_total, 2);
    assert_eq!(stats.faults_applied_total, 7);
    let reset = emu
        .activity()
        .into_iter()
        .find(|e| e.reason == "scripted fault: reset")
        .unwrap();
    assert_eq!((reset.outcome.as_str(), reset.status), ("fault", 0));
    emu.shutdown().await;
}

#[tokio::test]
async fn genesys_token_rate_limit_shape() {
    let emu = spawn(EmulatorConfig::new(Flavor::Genesys).with_demo())
        .await
        .unwrap();
    control(
        emu.addr(),
        "POST",
        r#"{"kind":"token_rate_limit","count":1}"#,
    )
    .await;
    let r = raw_http(
        emu.addr(),
        &raw_token_request(&basic_raw("demo-client", DEMO_SECRET), CC),
    )
    .await
    .unwrap();
    assert_eq!(status_of(&r), 400, "{r}");
    let v: serde_json::Value = serde_json::from_str(body_of(&r)).unwrap();
    assert_eq!(v["error"], "invalid_request");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("rate limit exceeded;"),
        "{v}"
    );
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .starts_with("rate limit exceeded;"),
        "{v}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn control_lists_clears_and_rejects_bad_json() {
    let emu = spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .unwrap();
    let addr = emu.addr();
    let r = control(
        addr,
        "POST",
        r#"[{"kind":"status","status":500,"count":3},{"kind":"reset","client":"x"}]"#,
    )
    .await;
    assert_eq!(status_of(&r), 200, "{r}");
    let listed: serde_json::Value =
        serde_json::from_str(body_of(&control(addr, "GET", "").await)).unwrap();
    assert_eq!(listed["faults"].as_array().unwrap().len(), 2);
    assert_eq!(listed["faults"][0]["remaining"], 3);
    assert_eq!(listed["faults"][1]["client"], "x");
    let r = control(addr, "DELETE", "").await;
    assert!(body_of(&r).contains("\"cleared\":2"), "{r}");
    for bad in [
        "{",
        r#"{"kind":"status"}"#,
        r#"{"kind":"nope"}"#,
        r#"{"kind":"delay","ms":"x"}"#,
    ] {
        let r = control(addr, "POST", bad).await;
        assert_eq!(status_of(&r), 400, "{bad}: {r}");
        let v: serde_json::Value = serde_json::from_str(body_of(&r)).unwrap();
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    emu.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn delay_waits_then_answers_normally() {
    let emu = Emu::demo(Flavor::Generic);
    emu.state
        .push_faults(FaultSpec::from_json(r#"{"kind":"delay","ms":1500,"count":1}"#).unwrap());
    let t0 = tokio::time::Instant::now();
    let a = emu
        .token(Some(basic_rfc("demo-client", DEMO_SECRET)), CC)
        .await;
    assert!(t0.elapsed() >= Duration::from_millis(1500));
    assert_eq!(a.status, 200);
    assert!(
        emu.last_reason().contains("delayed 1500 ms"),
        "{}",
        emu.last_reason()
    );
}

#[tokio::test]
async fn per_client_probability_and_window_faults() {
    let emu = Emu::demo(Flavor::Generic);
    let nogrant = || Some(basic_rfc("demo-nogrant", DEMO_SECRET));
    let demo = || Some(basic_rfc("demo-client", DEMO_SECRET));
    emu.state.push_faults(
        FaultSpec::from_json(r#"{"kind":"status","status":500,"client":"demo-client"}"#).unwrap(),
    );
    assert_eq!(
        emu.token(nogrant(), CC).await.status,
        400,
        "other client unaffected"
    );
    assert_eq!(emu.token(demo(), CC).await.status, 500);
    assert_eq!(emu.token(demo(), CC).await.status, 200);

    // Same seed, same sequence.
    let run = || async {
        let e = Emu::demo(Flavor::Generic);
        e.state.push_faults(
            FaultSpec::from_json(r#"{"kind":"status","status":502,"probability":0.5,"seed":42}"#)
                .unwrap(),
        );
        let mut seq = Vec::new();
        for _ in 0..20 {
            seq.push(e.token(demo(), CC).await.status.as_u16());
        }
        seq
    };
    let (a, b) = (run().await, run().await);
    assert_eq!(a, b);
    assert!(a.contains(&502) && a.contains(&200), "{a:?}");

    // Time window, on the injected clock.
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut cfg = EmulatorConfig::new(Flavor::Generic).with_demo();
    cfg.faults =
        FaultSpec::from_json(r#"{"kind":"status","status":503,"after":"10s","until":"20s"}"#)
            .unwrap();
    let e = Emu::from_state(AppState::with_clock(cfg, Arc::new(clock.clone())));
    assert_eq!(e.token(demo(), CC).await.status, 200);
    clock.advance(Duration::from_secs(10));
    assert_eq!(e.token(demo(), CC).await.status, 503);
    assert_eq!(e.token(demo(), CC).await.status, 503);
    clock.advance(Duration::from_secs(10));
    assert_eq!(e.token(demo(), CC).await.status, 200);
}

#[tokio::test]
async fn reset_in_process_is_a_500_not_a_hang() {
    let emu = Emu::demo(Flavor::Generic);
    emu.state
        .push_faults(FaultSpec::from_json(r#"{"kind":"reset"}"#).unwrap());
    assert_eq!(
        emu.token(Some(basic_rfc("demo-client", DEMO_SECRET)), CC)
            .await
            .status,
        500
    );
}

#[tokio::test]
async fn faults_from_the_registry_file() {
    let cfg = EmulatorConfig::from_toml_str(
        "[[clients]]\nid = \"c\"\nsecret = \"s\"\n[[faults]]\nkind = \"html\"\ncount = 1\n",
    )
    .unwrap();
    let emu = Emu::new(cfg);
    let a = emu.token(Some(basic_rfc("c", "s")), CC).await;
    assert_eq!(a.status, 502);
    assert_eq!(emu.token(Some(basic_rfc("c", "s")), CC).await.status, 200);
}
