//! The library's `Client` against small hostile servers on loopback: one that echoes the
//! request back in every shape of error body, a "proxy" that records whether anything
//! went through it, a discovery document that names another issuer, and a server that
//! drips its answer a byte at a time, and ones that do not speak the protocol the URL says
//! (not HTTP; plain HTTP on an `https://` URL).

#[path = "support/hostile.rs"]
mod hostile;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use cctoken::auth::AuthMethod;
use cctoken::client::{Client, RetryPolicy, TraceSink};
use cctoken::clock::ManualClock;
use cctoken::config::ClientConfig;
use cctoken::error::{Class, ErrorKind};
use cctoken::jitter::FixedJitter;
use cctoken::provider::{Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use hostile::{Answer, Behaviour, Hostile, ECHO_SHAPES};

const CANARY: &str = "CANARY/s3cret+x=";

fn client(token_url: &str, auth: AuthMethod) -> Client {
    let mut cfg = ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::TokenUrl(url::Url::parse(token_url).unwrap()),
            api_base: None,
        },
        "c",
        ClientSecret::new(CANARY),
    );
    cfg.auth = Some(auth);
    Client::new(cfg).with_retry(RetryPolicy::none())
}

/// Every form of the canary that must not come back out.
fn canaries() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let form = cctoken::auth::form_urlencode(CANARY);
    vec![
        "CANARY".into(),
        form.clone(),
        b64.encode(format!("c:{CANARY}")),
        b64.encode(format!("c:{form}")),
    ]
}

#[tokio::test]
async fn a_server_echoing_the_request_gets_nothing_into_errors_or_the_trace() {
    // The CLI's shapes, and a transient text/plain echo (a 502 from a gateway).
    let gateway: fn(&str) -> Answer = |r| Answer::new(502, "text/plain", r);
    for shape in ECHO_SHAPES.into_iter().chain([gateway]) {
        let server = Hostile::echo(shape);
        for auth in [AuthMethod::Basic, AuthMethod::BasicRaw, AuthMethod::Post] {
            let lines = Arc::new(Mutex::new(Vec::<String>::new()));
            let sink = lines.clone();
            let trace: TraceSink = Arc::new(move |l| sink.lock().unwrap().push(l.to_owned()));
            let e = client(&server.url("/echo"), auth)
                .with_trace(trace)
                .fetch_token()
                .await
                .unwrap_err();
            let shown = format!(
                "{e}\n{:?}\n{}",
                e.description,
                lines.lock().unwrap().join("\n")
            );
            for c in canaries() {
                assert!(!shown.contains(&c), "{c} leaked ({auth}):\n{shown}");
            }
        }
        // The server did see the secret: the scan above is not vacuous.
        let seen = server.requests().join("\n");
        assert!(
            canaries().iter().skip(1).any(|c| seen.contains(c)),
            "{seen}"
        );
    }
}

/// A loopback "proxy" that answers 502 and records every request it got.
fn recording_proxy() -> Hostile {
    Hostile::answering(|_| Answer::new(502, "text/plain", "proxied"))
}

#[tokio::test]
async fn loopback_targets_never_go_through_a_proxy() {
    let proxy = recording_proxy();
    let token_server = Hostile::answering(|_| {
        Answer::new(
            200,
            "application/json",
            r#"{"access_token":"t0k","token_type":"Bearer","expires_in":60}"#,
        )
    });
    let port = token_server.addr.port();
    let mut env = HashMap::new();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"] {
        env.insert(name.to_owned(), proxy.url(""));
    }
    let http = cctoken::client::http::http_client_with_env(Duration::from_secs(10), &env).unwrap();
    let mut targets = vec![
        format!("http://127.0.0.1:{port}/t"),
        format!("http://localhost:{port}/t"),
    ];
    // The same server on ::1 when the machine has IPv6 loopback.
    let v6 = Hostile::start_on(
        "[::1]:0",
        Behaviour::Answer(Arc::new(|_| {
            Answer::new(
                200,
                "application/json",
                r#"{"access_token":"t0k","token_type":"Bearer"}"#,
            )
        })),
    );
    if let Ok(v6) = &v6 {
        targets.push(format!("http://[::1]:{}/t", v6.addr.port()));
    }
    for url in &targets {
        let c = client(url, AuthMethod::Basic).with_http(http.clone());
        let t = c
            .fetch_token()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(t.access_token.expose_secret(), "t0k");
    }
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    // Other hosts still go through it (the proxy is really in use).
    let c = client("https://auth.example.invalid/t", AuthMethod::Basic).with_http(http);
    let e = c.fetch_token().await.unwrap_err();
    assert_eq!(proxy.requests().len(), 1, "{e}");
    assert!(proxy.requests()[0].starts_with("CONNECT auth.example.invalid:443"));
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_a_config_error() {
    let server = Hostile::answering(|_| {
        Answer::new(
            200,
            "application/json",
            r#"{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}"#,
        )
    });
    let issuer = url::Url::parse(&server.url("")).unwrap();
    let c = Client::new(ClientConfig::new(
        ProviderConfig::Generic {
            endpoint: Endpoint::Issuer(issuer),
            api_base: None,
        },
        "c",
        ClientSecret::new(CANARY),
    ));
    let e = c.fetch_token().await.unwrap_err();
    assert_eq!(e.class, Class::Config, "{e}");
    assert!(
        e.message.contains("names issuer 'https://evil.example'"),
        "{e}"
    );
    assert!(e.message.contains(&server.url("")), "{e}");
    // Nothing but the discovery request was sent: no secret went anywhere.
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with("GET /.well-known/oauth-authorization-server"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_slow_drip_server_fails_within_the_retry_budget() {
    let server = Hostile::start(Behaviour::Drip {
        every: Duration::from_millis(50),
        max: 100_000,
    });
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    let c = client(&server.url("/t"), AuthMethod::Basic)
        .with_clock(Arc::new(clock.clone()))
        .with_jitter(Arc::new(FixedJitter(0.0)))
        .with_retry(RetryPolicy::default());
    let run = tokio::spawn(async move { c.fetch_token().await });
    // Once the server has the request (it is dripping), the budget runs out.
    for _ in 0..200 {
        if !server.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.requests().len(), 1, "the request reached the server");
    clock.advance(RetryPolicy::default().max_total);
    // A bound on the test, not a timing assertion: the run must end by itself.
    let e = tokio::time::timeout(Duration::from_secs(25), run)
        .await
        .expect("the run ends when the budget passes, not after the HTTP timeout")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("retry budget"), "{e}");
}

/// A failure every attempt would repeat — the answer is not HTTP, or `https://` reaches a
/// plain-HTTP port — is permanent: one attempt, not remembered, and a hint that says what
/// it is, not that the server "could not be reached".
#[tokio::test]
async fn protocol_mismatches_fail_at_once_with_their_own_hint() {
    let plain_http: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let cases: [(&[u8], &str, ErrorKind, &str); 2] = [
        (
            b"SSH-2.0-OpenSSH_9.6\r\n",
            "http",
            ErrorKind::UnexpectedResponse,
            "not HTTP",
        ),
        (
            plain_http,
            "https",
            ErrorKind::Transport,
            "does not speak TLS",
        ),
    ];
    for (answer, scheme, kind, hint) in cases {
        let server = Hostile::start(Behaviour::Raw(answer));
        let url = format!("{scheme}://{}/t", server.addr);
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        let c = client(&url, AuthMethod::Basic)
            .with_clock(Arc::new(clock))
            .with_jitter(Arc::new(FixedJitter(0.0)))
            .with_retry(RetryPolicy::default());
        let e = c.fetch_token().await.unwrap_err();
        assert_eq!(e.kind, kind, "{e}");
        assert_eq!(e.class, Class::Permanent, "{e}");
        assert!(!e.worth_remembering(), "{e}");
        let shown = e.hint.clone().unwrap_or_default();
        assert!(shown.contains(hint), "{e}");
        assert!(!shown.contains("could not be reached"), "{e}");
        assert_eq!(server.requests().len(), 1, "one attempt: {e}");
    }
}

/// A redirect is not followed, and the error says where it pointed (without the userinfo)
/// and what to do about it.
#[tokio::test]
async fn a_redirect_is_explained_not_followed() {
    let server = Hostile::start(Behaviour::Raw(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://u:pw@elsewhere.example/oauth/token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ));
    let e = client(&server.url("/t"), AuthMethod::Basic)
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(307), "{e}");
    assert_eq!(e.class, Class::Permanent, "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains("redirected to https://elsewhere.example/oauth/token"),
        "{shown}"
    );
    assert!(shown.contains("does not follow redirects"), "{shown}");
    assert!(shown.contains("--token-url"), "{shown}");
    assert!(!shown.contains("pw@"), "{shown}");
    assert_eq!(server.requests().len(), 1);
}
