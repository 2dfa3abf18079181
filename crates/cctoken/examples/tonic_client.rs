//! A tonic gRPC client whose every call carries a fresh bearer token from a cctoken
//! `TokenSource`, through `BearerLayer` (feature `tower`).
//!
//! ```text
//! cargo run -p cctoken --example tonic_client
//! ```
//!
//! Needs no network and no setup. It starts, in this process on `127.0.0.1:0`:
//! - the cctoken emulator as the OAuth2 server (generic flavor, ES256 JWT access tokens);
//! - a gRPC server (the standard health service) that accepts only that server's tokens,
//!   verified against its JWKS — the guard lives in `tests/support/grpc_server.rs`.
//!
//! Then it calls the gRPC server 50 times through one layered channel, shows that the
//! calls shared one token request, and that a call without the layer is refused. It prints
//! token fingerprints, never a token.
//!
//! In your own service only the client half matters: build a `TokenSource` for your
//! token server (see `cctoken::config` for profiles), wrap your `Channel` in
//! `BearerLayer`, and hand the result to your generated client.

#[path = "../tests/support/grpc_server.rs"]
mod grpc_server;

use std::sync::Arc;
use std::time::Duration;

use cctoken::client::Client;
use cctoken::clock::SystemClock;
use cctoken::config::ClientConfig;
use cctoken::integrations::tower::BearerLayer;
use cctoken::provider::{Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use cctoken::source::TokenSource;
use cctoken_emulator::config::{DEMO_CLIENT_ID, DEMO_SECRET};
use cctoken_emulator::{EmulatorConfig, Flavor, TokenFormat};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tower::ServiceBuilder;

use grpc_server::{BoxError, Verifier, SERVICE};

const CALLS: usize = 50;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    // 1. The OAuth2 server, issuing ES256 JWT access tokens.
    let mut config = EmulatorConfig::new(Flavor::Generic).with_demo();
    config.token_format = TokenFormat::Jwt;
    let emulator = cctoken_emulator::spawn(config).await?;
    let issuer = emulator.base_url();
    println!("token server  {issuer} (cctoken emulator, JWT access tokens)");

    // 2. The gRPC API: accepts only tokens signed with the issuer's published keys.
    let server = grpc_server::spawn(Verifier::jwks(&issuer).await?).await?;
    println!(
        "gRPC server   {} (grpc.health.v1, tokens checked against the issuer's JWKS)",
        server.url()
    );

    // 3. The client side: one TokenSource for the whole process, one layered channel.
    let provider = ProviderConfig::Generic {
        endpoint: Endpoint::TokenUrl(format!("{issuer}/oauth/token").parse()?),
        api_base: None,
    };
    let client = Client::new(ClientConfig::new(
        provider,
        DEMO_CLIENT_ID,
        ClientSecret::new(DEMO_SECRET),
    ));
    let source = TokenSource::new(client, Arc::new(SystemClock));
    let channel = Channel::from_shared(server.url())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    let authed = ServiceBuilder::new()
        .layer(BearerLayer::new(source.clone()))
        .service(channel.clone());
    let health = HealthClient::new(authed);

    // 4. Many concurrent calls; the first one fetches the token, the rest share it.
    let request = || HealthCheckRequest {
        service: SERVICE.into(),
    };
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let mut health = health.clone();
            tokio::spawn(async move { health.check(request()).await })
        })
        .collect();
    let mut serving = 0;
    for call in calls {
        let status = call.await??.into_inner().status();
        if status == ServingStatus::Serving {
            serving += 1;
        }
    }
    let token = source.token().await?;
    println!(
        "{CALLS} calls with BearerLayer: {serving} SERVING; token {} (expires in {} s)",
        token.access_token.fingerprint(),
        token.expires_in.as_secs()
    );
    let requests = emulator.stats().token_requests_total;
    println!("token requests at the token server: {requests}");

    // 5. The same channel without the layer is refused.
    let mut bare = HealthClient::new(channel);
    match bare.check(request()).await {
        Ok(_) => return Err("a call without a token was accepted".into()),
        Err(status) => println!(
            "a call without BearerLayer: {:?} ({})",
            status.code(),
            status.message()
        ),
    }

    server.shutdown().await?;
    emulator.shutdown().await;
    if serving != CALLS || requests != 1 {
        return Err(format!("expected {CALLS} SERVING on 1 token request").into());
    }
    Ok(())
}
