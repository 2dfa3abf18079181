//! The bearer-token integrations (SPEC §9) against the in-process emulator.
//!
//! - `BearerLayer` in front of a tonic channel: a gRPC server that accepts only the
//!   emulator's tokens (JWKS or introspection, see `support/grpc_server.rs`) lets the
//!   layered client in and turns away a bare client, a foreign token and a forged JWT; a
//!   burst of calls costs one token request.
//! - `BearerMiddleware` on a reqwest-middleware client: Genesys' `GET /api/v2/tokens/me`
//!   with the token attached; after a revocation the middleware refreshes once and retries;
//!   `only_origin` keeps the token away from other hosts.
//!
//! Everything listens on `127.0.0.1:0`, and every test is bounded by [`within`].

#[path = "support/grpc_server.rs"]
mod grpc_server;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use cctoken::client::{Client, RetryPolicy};
use cctoken::clock::SystemClock;
use cctoken::config::ClientConfig;
use cctoken::error::ErrorKind;
use cctoken::integrations::reqwest_middleware::BearerMiddleware;
use cctoken::integrations::tower::{BearerLayer, BearerService};
use cctoken::provider::{Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use cctoken::source::TokenSource;
use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator, TokenFormat};
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tower::ServiceBuilder;

use grpc_server::{Verifier, SERVICE};

const ID: &str = "demo-client";
const SECRET: &str = "demo+s3cret/=%&";

/// Fail the test instead of hanging it.
async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("the test did not finish within 30 s")
}

async fn emulator(flavor: Flavor, format: TokenFormat) -> RunningEmulator {
    let mut cfg = EmulatorConfig::new(flavor).with_demo();
    cfg.token_format = format;
    cctoken_emulator::spawn(cfg).await.expect("emulator")
}

fn token_url(emu: &RunningEmulator) -> url::Url {
    url::Url::parse(&format!("{}/oauth/token", emu.base_url())).unwrap()
}

fn client(provider: ProviderConfig, secret: &str) -> Client {
    let cfg = ClientConfig::new(provider, ID, ClientSecret::new(secret));
    Client::new(cfg).with_retry(RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(1),
        max_total: Duration::from_secs(5),
    })
}

fn generic_source(emu: &RunningEmulator, secret: &str) -> TokenSource {
    let provider = ProviderConfig::Generic {
        endpoint: Endpoint::TokenUrl(token_url(emu)),
        api_base: None,
    };
    TokenSource::new(client(provider, secret), Arc::new(SystemClock))
}

fn genesys_source(emu: &RunningEmulator) -> TokenSource {
    let provider = ProviderConfig::Genesys {
        region: None,
        token_url: Some(token_url(emu)),
        api_base: None,
    };
    TokenSource::new(client(provider, SECRET), Arc::new(SystemClock))
}

async fn channel(server: &grpc_server::Running) -> Channel {
    Channel::from_shared(server.url())
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the gRPC server")
}

fn check_request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: SERVICE.into(),
    }
}

/// RFC 7009 revocation at the emulator, authenticated as the demo client.
async fn revoke(emu: &RunningEmulator, token: &cctoken::secret::AccessToken) {
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", emu.base_url()))
        .form(&[
            ("token", token.expose_secret()),
            ("client_id", ID),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

// Two workers, so the burst of calls really races for the first token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_client_with_bearer_layer_passes_a_jwks_guard_on_one_token() {
    within(async {
        let emu = emulator(Flavor::Generic, TokenFormat::Jwt).await;
        let server = grpc_server::spawn(Verifier::jwks(&emu.base_url()).await.unwrap())
            .await
            .unwrap();
        let channel = channel(&server).await;
        let source = generic_source(&emu, SECRET);
        let authed = ServiceBuilder::new()
            .layer(BearerLayer::new(source.clone()))
            .service(channel.clone());
        let client = HealthClient::new(authed);

        let before = emu.stats().token_requests_total;
        let calls = (0..40).map(|_| {
            let mut c = client.clone();
            tokio::spawn(async move { c.check(check_request()).await })
        });
        for call in calls.collect::<Vec<_>>() {
            let resp = call.await.unwrap().expect("an authenticated call succeeds");
            assert_eq!(resp.into_inner().status(), ServingStatus::Serving);
        }
        let mut c = client.clone();
        for _ in 0..10 {
            c.check(check_request()).await.unwrap();
        }
        assert_eq!(
            emu.stats().token_requests_total,
            before + 1,
            "50 calls share one token request"
        );

        // No layer: no token.
        let mut bare = HealthClient::new(channel.clone());
        let e = bare.check(check_request()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
        assert!(e.message().contains("no bearer token"), "{e:?}");

        // A genuine token of another issuer (another emulator, another key).
        let other = emulator(Flavor::Generic, TokenFormat::Jwt).await;
        let foreign = generic_source(&other, SECRET);
        let mut c = HealthClient::new(BearerService::new(channel.clone(), foreign.clone()));
        let e = c.check(check_request()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");

        // A forgery: our issuer's header and claims under the other issuer's signature.
        let ours = source.access_token().await.unwrap();
        let theirs = foreign.access_token().await.unwrap();
        let (signed, _) = ours.expose_secret().rsplit_once('.').unwrap();
        let (_, sig) = theirs.expose_secret().rsplit_once('.').unwrap();
        for (token, why) in [
            (format!("{signed}.{sig}"), "signature does not verify"),
            ("not-a-jwt".to_owned(), "not a JWT"),
        ] {
            let mut req = tonic::Request::new(check_request());
            req.metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            let e = bare.check(req).await.unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
            assert!(e.message().contains(why), "{e:?}");
            assert!(
                !e.message().contains(&token),
                "the refusal never echoes the token"
            );
        }

        server.shutdown().await.unwrap();
        other.shutdown().await;
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn introspection_guard_sees_revocation_and_the_source_recovers() {
    within(async {
        let emu = emulator(Flavor::Generic, TokenFormat::Opaque).await;
        let verifier = Verifier::introspection(&emu.base_url(), ID, SECRET)
            .await
            .unwrap();
        let server = grpc_server::spawn(verifier).await.unwrap();
        let channel = channel(&server).await;
        let source = generic_source(&emu, SECRET);
        let mut client = HealthClient::new(BearerService::new(channel.clone(), source.clone()));

        for _ in 0..5 {
            let resp = client.check(check_request()).await.unwrap();
            assert_eq!(resp.into_inner().status(), ServingStatus::Serving);
        }
        let stats = emu.stats();
        assert_eq!(stats.token_requests_total, 1);
        assert_eq!(stats.introspection_requests_total, 5, "one per call");

        // Opaque tokens of another emulator are unknown here.
        let other = emulator(Flavor::Generic, TokenFormat::Opaque).await;
        let mut foreign = HealthClient::new(BearerService::new(
            channel.clone(),
            generic_source(&other, SECRET),
        ));
        let e = foreign.check(check_request()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");

        // Revoked at the issuer: the layer does not retry (documented); the service asks
        // the source for a new token and carries on.
        let token = source.access_token().await.unwrap();
        revoke(&emu, &token).await;
        let e = client.check(check_request()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
        let fresh = source.invalidate_and_refresh(&token).await.unwrap();
        assert_ne!(fresh.access_token.fingerprint(), token.fingerprint());
        client.check(check_request()).await.unwrap();
        assert_eq!(emu.stats().token_requests_total, 2);

        server.shutdown().await.unwrap();
        other.shutdown().await;
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn bearer_layer_reports_a_token_failure_without_the_secret() {
    within(async {
        let emu = emulator(Flavor::Generic, TokenFormat::Jwt).await;
        let server = grpc_server::spawn(Verifier::jwks(&emu.base_url()).await.unwrap())
            .await
            .unwrap();
        let wrong = "wrong-secret-0123456789";
        let mut client = HealthClient::new(BearerService::new(
            channel(&server).await,
            generic_source(&emu, wrong),
        ));
        let e = client.check(check_request()).await.unwrap_err();
        // tonic reports a service error as UNKNOWN and keeps it as the source.
        assert_eq!(e.code(), Code::Unknown, "{e:?}");
        let cause = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<cctoken::Error>())
            .expect("the cctoken error is the status' source");
        assert_eq!(cause.kind, ErrorKind::InvalidClient);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(wrong), "{shown}");
        let fingerprint = ClientSecret::new(wrong).fingerprint().to_string();
        assert!(shown.contains(&fingerprint), "{shown}");
        server.shutdown().await.unwrap();
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn reqwest_middleware_refreshes_once_after_a_revocation() {
    within(async {
        let emu = emulator(Flavor::Genesys, TokenFormat::Opaque).await;
        let api = url::Url::parse(&emu.base_url()).unwrap();
        let source = genesys_source(&emu);
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(BearerMiddleware::new(source.clone()).only_origin(&api))
            .build();
        let me = format!("{}/api/v2/tokens/me", emu.base_url());

        for _ in 0..3 {
            let r = http.get(&me).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let body: serde_json::Value =
                serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            assert_eq!(body["OAuthClient"]["id"], ID, "{body}");
        }
        assert_eq!(emu.stats().token_requests_total, 1);

        let revoked = source.access_token().await.unwrap();
        revoke(&emu, &revoked).await;
        let r = http.get(&me).send().await.unwrap();
        assert_eq!(r.status(), 200, "the retry with a fresh token succeeds");
        let stats = emu.stats();
        assert_eq!(stats.token_requests_total, 2, "one refresh, not more");
        assert_eq!(stats.api_requests_total, 5, "3 + the 401 + its retry");
        let now = source.access_token().await.unwrap();
        assert_ne!(now.fingerprint(), revoked.fingerprint());
        emu.shutdown().await;
    })
    .await;
}

/// A tiny server on another origin that records the `Authorization` header it receives.
async fn recorder() -> (url::Url, Arc<Mutex<Vec<Option<String>>>>) {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::get(move |headers: HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            log.lock().unwrap().push(auth);
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/echo", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn only_origin_keeps_the_token_away_from_other_hosts() {
    within(async {
        let emu = emulator(Flavor::Genesys, TokenFormat::Opaque).await;
        let api = url::Url::parse(&emu.base_url()).unwrap();
        let (elsewhere, seen) = recorder().await;
        let source = genesys_source(&emu);

        let scoped = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(BearerMiddleware::new(source.clone()).only_origin(&api))
            .build();
        let r = scoped
            .get(format!("{}/api/v2/tokens/me", emu.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            scoped.get(elsewhere.clone()).send().await.unwrap().status(),
            200
        );
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            &[None],
            "no token for another origin"
        );

        // Control: without only_origin the recorder does see a bearer token.
        let unscoped = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(BearerMiddleware::new(source))
            .build();
        unscoped.get(elsewhere).send().await.unwrap();
        let last = seen.lock().unwrap().last().cloned().flatten();
        assert!(last.is_some_and(|v| v.starts_with("Bearer ")));
        assert_eq!(emu.stats().token_requests_total, 1);
        emu.shutdown().await;
    })
    .await;
}
