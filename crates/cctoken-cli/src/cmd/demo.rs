//! `cctoken demo`: the embedded default — a guided tour against an in-process emulator.
//!
//! Starts the emulator on a free loopback port, obtains a token exactly as a real client
//! would (same library, real HTTP), then shows the failures people meet in the field and
//! what cctoken says about them. No network, no setup, nothing written to disk.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use cctoken::auth::AuthMethod;
use cctoken::cache::{CachedClient, DiskCache};
use cctoken::client::{Client, RetryPolicy};
use cctoken::clock;
use cctoken::config::ClientConfig;
use cctoken::duration::Human;
use cctoken::provider::{Endpoint, ProviderConfig};
use cctoken::secret::ClientSecret;
use cctoken_emulator::{EmulatorConfig, Flavor};

use super::Globals;

/// Arguments of `cctoken demo`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  cctoken demo\n  cctoken demo --trace    # also every HTTP exchange, secrets as fingerprints"
)]
pub struct DemoArgs {}

const DEMO_CLIENT: &str = "demo-client";
const DEMO_SECRET: &str = "demo+s3cret/=%&";
/// The classic §0 request: the api. host, `echo` piped into a wrapping `base64`, a JSON body.
const BROKEN_CURL: &str = "curl -X POST https://api.mypurecloud.ie/oauth/token -H \"Authorization: Basic $(echo -n '5a1c3a2e-1b2c-4d5e-8f90-123456789abc:Zq3kP0sLmN8vB2xY7wT1rE5uI9oA4dF6gH0jK2lM3nB' | base64)\" -H 'Content-Type: application/json' -d '{\"grant_type\":\"client_credentials\"}'";

/// Run the tour.
pub fn run(_args: DemoArgs, globals: &Globals) -> anyhow::Result<i32> {
    let rt = super::runtime_multi()?;
    rt.block_on(tour(globals))
}

fn client(
    base: &str,
    id: &str,
    secret: &str,
    auth: Option<AuthMethod>,
    g: &Globals,
) -> anyhow::Result<Client> {
    let url = cctoken::provider::parse_url("token URL", &format!("{base}/oauth/token"))?;
    let provider = ProviderConfig::Generic {
        endpoint: Endpoint::TokenUrl(url),
        api_base: None,
    };
    let mut cfg = ClientConfig::new(provider, id, ClientSecret::new(secret));
    cfg.auth = auth;
    cfg.scopes = vec!["read".into()];
    let mut c = Client::new(cfg).with_retry(RetryPolicy::none());
    if g.trace {
        c = c.with_trace(super::trace_sink());
    }
    Ok(c)
}

async fn last_reason(base: &str) -> String {
    let Ok(resp) = reqwest_get(&format!("{base}/_emulator/activity")).await else {
        return "(activity log unavailable)".into();
    };
    resp["entries"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["reason"].as_str())
        .unwrap_or("")
        .to_owned()
}

async fn reqwest_get(url: &str) -> anyhow::Result<serde_json::Value> {
    // The demo reads the emulator's own diagnostics through a plain GET.
    let c = cctoken::client::http::http_client(std::time::Duration::from_secs(5))?;
    let u = url::Url::parse(url)?;
    let raw = cctoken::client::http::get(&c, &u, None, &cctoken::scrub::Scrubber::new()).await?;
    Ok(serde_json::from_slice(&raw.body)?)
}

fn step(n: u32, title: &str) {
    outln!("\n── {n}. {title}");
}

async fn tour(g: &Globals) -> anyhow::Result<i32> {
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .context("starting the in-process emulator")?;
    let base = emu.base_url().trim_end_matches('/').to_owned();
    outln!("cctoken demo — a local RFC 6749 token server is running at {base}");
    outln!("It knows client '{DEMO_CLIENT}' whose secret is '{DEMO_SECRET}' (a demo value:");
    outln!("its + / = % & characters are exactly where hand-written Basic headers go wrong).");

    step(
        1,
        "The request cctoken sends (secrets shown as fingerprints)",
    );
    let good = client(&base, DEMO_CLIENT, DEMO_SECRET, None, g)?;
    let resolved = good.resolve().await?.clone();
    out!(
        "{}",
        good.prepare(&resolved, &good.initial_grant())?.redacted()
    );

    step(
        2,
        "Obtain a token, as any client would (through the on-disk cache)",
    );
    let cache_dir = std::env::temp_dir().join(format!("cctoken-demo-{}", std::process::id()));
    let cache = DiskCache::open(&cache_dir)?;
    let cached = CachedClient::new(good.clone(), cache, clock::system());
    let t0 = Instant::now();
    let (token, origin) = cached.token(Duration::ZERO).await?;
    outln!(
        "ok: {} token {} from the {:?} (valid for {}, scope '{}') in {} ms",
        token.token_type,
        token.access_token.shortened(6),
        origin,
        Human(token.expires_in),
        token.scope.as_deref().unwrap_or(""),
        t0.elapsed().as_millis()
    );

    step(
        3,
        "Ask again: 200 parallel jobs would all get this one from the cache",
    );
    let before =
        reqwest_get(&format!("{base}/_emulator/stats")).await?["token_requests_total"].clone();
    let t1 = Instant::now();
    let (again, origin) = cached.token(Duration::ZERO).await?;
    let after =
        reqwest_get(&format!("{base}/_emulator/stats")).await?["token_requests_total"].clone();
    outln!(
        "ok: same token {} from the {:?} in {} µs; the server's token_requests_total stayed {before} → {after}",
        if again.access_token == token.access_token { "(identical)" } else { "(different!)" },
        origin,
        t1.elapsed().as_micros()
    );
    outln!("The cache entry is encrypted with a key derived from the client secret (0600 file, 0700 directory).");
    let _ = std::fs::remove_dir_all(&cache_dir);

    step(4, "A wrong secret: the 401 invalid_client everybody meets");
    let bad = client(&base, DEMO_CLIENT, "demo+s3cret/=%", None, g)?;
    if let Err(e) = bad.fetch_token().await {
        outln!("cctoken says:  {e}");
        outln!("server's log:  {}", last_reason(&base).await);
        outln!("Compare the fingerprints: same client, a secret one byte short.");
    }

    step(
        5,
        "The same secret, Basic header built without URL-encoding (basic-raw)",
    );
    let raw = client(
        &base,
        DEMO_CLIENT,
        DEMO_SECRET,
        Some(AuthMethod::BasicRaw),
        g,
    )?;
    match raw.fetch_token().await {
        Ok(_) => outln!("accepted (this server decodes both ways)"),
        Err(e) => {
            outln!(
                "cctoken says:  {}",
                e.to_string().lines().next().unwrap_or("")
            );
            outln!("server's log:  {}", last_reason(&base).await);
            outln!("RFC 6749 §2.3.1 servers URL-decode id and secret; cctoken's default 'basic' encodes them.");
        }
    }

    step(6, "A client that lacks the client_credentials grant");
    let nogrant = client(&base, "demo-nogrant", DEMO_SECRET, None, g)?;
    if let Err(e) = nogrant.fetch_token().await {
        outln!("cctoken says:  {e}");
        outln!("server's log:  {}", last_reason(&base).await);
    }

    step(
        7,
        "A broken request pasted from a forum, diagnosed by `cctoken doctor --curl`",
    );
    outln!("The pasted command (fed to `cctoken doctor --curl -` on stdin):\n  {BROKEN_CURL}\n");
    out!(
        "{}",
        cctoken_doctor::diagnose_curl(BROKEN_CURL).render_human(&super::doctor::CliWords)
    );

    let stats = reqwest_get(&format!("{base}/_emulator/stats")).await?;
    outln!(
        "\nThe emulator saw {} token requests and issued {} token(s).",
        stats["token_requests_total"],
        stats["tokens_issued_total"]
    );
    outln!("Next: `cctoken emulator --demo` to keep a server running, `cctoken get --help` for real servers.");
    emu.shutdown().await;
    Ok(0)
}
