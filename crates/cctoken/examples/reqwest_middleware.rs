//! A `reqwest-middleware` client that authenticates with a cctoken `TokenSource` through
//! `BearerMiddleware` (feature `reqwest-middleware`), and recovers on its own when the
//! token is revoked.
//!
//! ```text
//! cargo run -p cctoken --example reqwest_middleware
//! ```
//!
//! Needs no network and no setup: it starts the cctoken emulator (Genesys flavor) in this
//! process on `127.0.0.1:0`, calls `GET /api/v2/tokens/me` a few times on one token,
//! revokes that token at the server (RFC 7009), and calls again: the API answers `401`, the
//! middleware fetches a new token once and retries, and the call succeeds. It prints token
//! fingerprints, never a token.
//!
//! To try it against a real Genesys Cloud organization instead, set the variables the
//! Genesys tools use: `GENESYSCLOUD_REGION` (e.g. `eu-west-1`),
//! `GENESYSCLOUD_OAUTHCLIENT_ID` and `GENESYSCLOUD_OAUTHCLIENT_SECRET`. Then it only reads
//! `/api/v2/tokens/me` and revokes nothing.

use std::sync::Arc;

use cctoken::client::Client;
use cctoken::clock::SystemClock;
use cctoken::config::env::{
    GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET, GENESYSCLOUD_REGION,
};
use cctoken::config::ClientConfig;
use cctoken::integrations::reqwest_middleware::BearerMiddleware;
use cctoken::provider::genesys::lookup_region;
use cctoken::provider::ProviderConfig;
use cctoken::secret::ClientSecret;
use cctoken::source::TokenSource;
use cctoken_emulator::config::{DEMO_CLIENT_ID, DEMO_SECRET};
use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator};
use reqwest_middleware::ClientWithMiddleware;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    let real = std::env::var(GENESYSCLOUD_REGION).ok().zip(
        std::env::var(GENESYSCLOUD_OAUTHCLIENT_ID)
            .ok()
            .zip(std::env::var(GENESYSCLOUD_OAUTHCLIENT_SECRET).ok()),
    );
    let (emulator, config) = match real {
        Some((region, (id, secret))) => {
            let region = lookup_region(&region, GENESYSCLOUD_REGION)?;
            println!(
                "token server  https://login.{} (Genesys Cloud)",
                region.domain
            );
            let provider = ProviderConfig::Genesys {
                region: Some(region),
                token_url: None,
                api_base: None,
            };
            (
                None,
                ClientConfig::new(provider, id, ClientSecret::new(secret)),
            )
        }
        None => {
            let emulator =
                cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Genesys).with_demo()).await?;
            println!(
                "token server  {} (cctoken emulator, Genesys flavor)",
                emulator.base_url()
            );
            let provider = ProviderConfig::Genesys {
                region: None,
                token_url: Some(format!("{}/oauth/token", emulator.base_url()).parse()?),
                api_base: None,
            };
            let secret = ClientSecret::new(DEMO_SECRET);
            (
                Some(emulator),
                ClientConfig::new(provider, DEMO_CLIENT_ID, secret),
            )
        }
    };

    let client = Client::new(config);
    let api = client
        .resolve()
        .await?
        .api_base
        .clone()
        .ok_or("no API base for this provider")?;
    println!("API           {api}");
    let source = TokenSource::new(client, Arc::new(SystemClock));
    // Only requests to the API's origin get the token, whatever else this client calls.
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(source.clone()).only_origin(&api))
        .build();
    let me = api.join("api/v2/tokens/me")?;

    for _ in 0..3 {
        tokens_me(&http, &me, &source).await?;
    }

    if let Some(emulator) = emulator {
        let revoked = source.access_token().await?;
        revoke(&emulator, &revoked).await?;
        println!("revoked token {} at the server", revoked.fingerprint());
        tokens_me(&http, &me, &source).await?;
        let stats = emulator.stats();
        println!(
            "token requests at the token server: {} (API requests: {}, one of them answered 401)",
            stats.token_requests_total, stats.api_requests_total
        );
        emulator.shutdown().await;
        if stats.token_requests_total != 2 {
            return Err("expected exactly one refresh after the revocation".into());
        }
    }
    Ok(())
}

/// `GET /api/v2/tokens/me` and a line about the answer.
async fn tokens_me(
    http: &ClientWithMiddleware,
    url: &url::Url,
    source: &TokenSource,
) -> Result<(), BoxError> {
    let resp = http.get(url.clone()).send().await?;
    let status = resp.status();
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
    // The token the request went out with (after a retry, the fresh one).
    let token = source.access_token().await?;
    println!(
        "GET {} -> {status}: organization {:?}, client {:?}; token {}",
        url.path(),
        body["organization"]["name"].as_str().unwrap_or("?"),
        body["OAuthClient"]["name"].as_str().unwrap_or("?"),
        token.fingerprint()
    );
    if !status.is_success() {
        return Err(format!("the API answered {status}").into());
    }
    Ok(())
}

/// RFC 7009 revocation at the emulator, authenticated as the demo client.
async fn revoke(
    emulator: &RunningEmulator,
    token: &cctoken::secret::AccessToken,
) -> Result<(), BoxError> {
    reqwest::Client::new()
        .post(format!("{}/oauth/revoke", emulator.base_url()))
        .form(&[
            ("token", token.expose_secret()),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_SECRET),
        ])
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
