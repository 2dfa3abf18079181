//! `cctoken agent`: keep every configured profile's token fresh and serve it to local
//! consumers (SPEC §9).
//!
//! This adapter resolves the profiles (once, at start), builds the agent library's
//! registry over the library's token stack (the shared on-disk cache and the fleet's Redis
//! cache of `[cache] url`), binds the listeners, prints one stdout line per listener and
//! serves until SIGTERM or SIGINT. Everything the agent does per request lives in the `cctoken-agent` crate.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cctoken::config::{resolve, ConfigFile, ProcessEnv, ResolveOptions};
use cctoken::error::Error;
use cctoken_agent::registry::{keep_fresh, Registry, COLD_CONCURRENCY, DEFAULT_TICK};
use cctoken_agent::{serve, AgentKey, AgentState};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::Globals;

/// Arguments of `cctoken agent`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # serve every profile of ~/.config/cctoken/config.toml on the default socket
  cctoken agent

  # consumers ask the agent (no secret needed on their side)
  CCTOKEN_AGENT=unix:$XDG_RUNTIME_DIR/cctoken/agent.sock \\
      cctoken get -p genesys-prod
  curl -s --unix-socket $XDG_RUNTIME_DIR/cctoken/agent.sock \\
      http://agent/v1/token/genesys-prod

  # also on loopback TCP; requests need the key from agent.key (beside the
  # socket)
  cctoken agent --listen 127.0.0.1:7878
  curl -H \"Authorization: Bearer $(cat $XDG_RUNTIME_DIR/cctoken/agent.key)\" \\
    http://127.0.0.1:7878/v1/token/genesys-prod

  # a tool that cannot refresh tokens talks to the API through the agent
  cctoken agent --profile genesys-prod --proxy genesys-prod=127.0.0.1:8080
  curl -H \"Authorization: Bearer $(cat $XDG_RUNTIME_DIR/cctoken/agent.key)\" \\
    http://127.0.0.1:8080/api/v2/tokens/me

Stdout has one line per listener, then nothing:
  listening on unix:PATH
  listening on http://ADDR
  proxy PROFILE on http://ADDR
Endpoints: GET /v1/token/{profile} (JSON access_token, token_type, expires_in,
expires_at, api_base), /healthz (every profile's state: ok, stale, failing,
pending, broken; 503 when one cannot serve; ?profile=NAME for one), /metrics
(Prometheus text). SIGTERM or SIGINT stops the agent and removes the socket and
key file.")]
pub struct AgentArgs {
    /// The profile file [default: $XDG_CONFIG_HOME/cctoken/config.toml, else
    /// ~/.config/cctoken/config.toml].
    #[arg(long, env = cctoken::config::env::CCTOKEN_CONFIG, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Serve only this profile (repeatable) [default: every profile in the file].
    #[arg(short = 'p', long = "profile", value_name = "NAME", action = clap::ArgAction::Append)]
    pub profiles: Vec<String>,
    /// The Unix socket (0600) [default: $XDG_RUNTIME_DIR/cctoken/agent.sock]; the key file
    /// agent.key is written beside it.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Also serve on this loopback TCP address (port 0 picks one); requests need
    /// `Authorization: Bearer <agent key>`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Forward requests on loopback ADDR to PROFILE's API base with its token injected
    /// (repeatable). Clients send the agent key as their bearer token.
    #[arg(long = "proxy", value_name = "PROFILE=ADDR", value_parser = parse_proxy,
          action = clap::ArgAction::Append)]
    pub proxies: Vec<(String, SocketAddr)>,
    /// Do not share tokens through the on-disk cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Pool size and pacing of every served profile's proxy, over its profile keys.
    #[command(flatten)]
    pub pool: crate::opts::PoolOpts,
}

fn parse_proxy(s: &str) -> Result<(String, SocketAddr), String> {
    let (name, addr) = s
        .split_once('=')
        .filter(|(n, _)| !n.trim().is_empty())
        .ok_or_else(|| format!("expected PROFILE=ADDR (e.g. prod=127.0.0.1:8080), got '{s}'"))?;
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("'{addr}' is not an address like 127.0.0.1:8080"))?;
    Ok((name.trim().to_owned(), addr))
}

/// Run `cctoken agent`.
pub fn run(args: AgentArgs, globals: &Globals) -> anyhow::Result<i32> {
    let socket = match &args.socket {
        Some(p) => p.clone(),
        None => serve::default_socket_path(&ProcessEnv),
    };
    let served = build_registry(&args, globals)?;
    let registry = &served.registry;
    for (name, _) in &args.proxies {
        if registry.get(name).is_none() {
            let why = registry
                .broken(name)
                .map(|b| b.error.to_string())
                .unwrap_or_else(|| "not in the served profiles".into());
            anyhow::bail!(Error::config(format!("--proxy {name}: {why}")));
        }
    }
    let rt = super::runtime_multi()?;
    rt.block_on(serve_all(args, socket, served))
}

/// Resolve the served profiles. One that cannot be resolved is kept as broken (its
/// consumers get the reason); only an unreadable config file or an empty selection stops
/// the agent.
fn build_registry(args: &AgentArgs, globals: &Globals) -> anyhow::Result<Served> {
    let loaded = ConfigFile::load(args.config.as_deref())?;
    let file = &loaded;
    let names: Vec<String> = if args.profiles.is_empty() {
        file.names().into_iter().map(str::to_owned).collect()
    } else {
        args.profiles.clone()
    };
    if names.is_empty() {
        anyhow::bail!(Error::config(format!(
            "no profiles to serve: {} has no [profiles.NAME] sections; add one (see `cctoken \
             profiles list`) or give --config PATH",
            loaded
                .path
                .as_deref()
                .map_or_else(|| "the config file".into(), |p| p.display().to_string())
        )));
    }
    // One disk cache, one Redis connection (and one "Redis is down" warning) and one HTTP
    // client (connection pool, TLS configuration) for every profile.
    let http = cctoken::client::http::http_client(cctoken::client::DEFAULT_TIMEOUT)?;
    let stack = super::session::stack(args.no_cache, globals)
        .cache_settings(loaded.cache.clone())
        .http(http)
        .build();
    let mut registry = Registry::new(stack.clock().clone());
    let mut pool_settings = HashMap::new();
    for name in &names {
        let resolved = file.profile(name).and_then(|settings| {
            pool_settings.insert(name.clone(), settings.pool);
            resolve(
                &settings,
                &ProcessEnv,
                ResolveOptions {
                    keep_secret_bytes: false,
                    stdin: None,
                },
            )
        });
        let resolved = match resolved {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(profile = %name, "not served: {e}");
                registry.add_broken(name, e);
                continue;
            }
        };
        let (size, pacing) = pool_settings
            .get(name)
            .copied()
            .unwrap_or_default()
            .overlay(args.pool.settings())
            .resolve(resolved.config.kind());
        let direct = stack.direct(resolved.config);
        let fetchers = (0..size.get()).map(|i| direct.slot_fetcher(i)).collect();
        registry.add_pool_with_lookup(name, fetchers, pacing, direct.client.clone())?;
    }
    if registry.is_empty() {
        anyhow::bail!(Error::config(
            "none of the profiles can be served (see the warnings above)"
        ));
    }
    Ok(Served { registry })
}

/// The served profiles.
struct Served {
    registry: Registry,
}

/// Bind everything first (so a bad address fails before anything is announced), announce
/// the listeners on stdout, then serve until a signal.
async fn serve_all(args: AgentArgs, socket: PathBuf, served: Served) -> anyhow::Result<i32> {
    let Served { registry } = served;
    let (unix, mut cleanup) = serve::bind_unix(&socket).map_err(setup)?;
    let key = AgentKey::generate();
    let key_file = serve::key_path(&socket);
    serve::write_key(&key_file, &key).map_err(setup)?;
    cleanup.push(key_file);
    let tcp = match args.listen {
        Some(addr) => Some(serve::bind_tcp(addr).await.map_err(setup)?),
        None => None,
    };
    let state = AgentState::new(registry);
    let clock = state.registry().clock().clone();
    let mut proxies = Vec::new();
    for (name, addr) in &args.proxies {
        // Checked in `run`: every proxied profile is served.
        let profile = state
            .registry()
            .get(name)
            .context("proxied profile")?
            .clone();
        let base = proxy_base(&profile, &clock).await?;
        let listener = serve::bind_tcp(*addr).await.map_err(setup)?;
        let router = cctoken_agent::proxy::app(profile, clock.clone(), base, key.clone())?;
        proxies.push((name.clone(), listener, router));
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let cold = Arc::new(tokio::sync::Semaphore::new(COLD_CONCURRENCY));
    for p in state.registry().profiles() {
        tokio::spawn(keep_fresh(
            p.clone(),
            DEFAULT_TICK,
            cold.clone(),
            stop_rx.clone(),
        ));
    }

    let mut lines = vec![format!("listening on unix:{}", socket.display())];
    let router = cctoken_agent::app(state.clone());
    tasks.spawn(serve::serve_unix(
        unix,
        router.clone(),
        stopped(stop_rx.clone()),
    ));
    if let Some(l) = tcp {
        lines.push(format!("listening on http://{}", l.local_addr()?));
        let guarded = cctoken_agent::guard::tcp(router, key.clone());
        tasks.spawn(serve::serve_tcp(l, guarded, stopped(stop_rx.clone())));
    }
    for (name, l, router) in proxies {
        lines.push(format!("proxy {name} on http://{}", l.local_addr()?));
        tasks.spawn(serve::serve_tcp(l, router, stopped(stop_rx.clone())));
    }
    announce(&lines)?;
    tracing::info!(
        profiles = state.registry().len(),
        broken = state.registry().broken_names().len(),
        "agent ready"
    );

    let mut term = signal(SignalKind::terminate()).context("installing signal handlers")?;
    let mut failed = None;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        Some(r) = tasks.join_next() => failed = Some(r),
    }
    let _ = stop_tx.send(true);
    // In-flight requests get a moment to finish; then the files go regardless.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        tracing::warn!("requests still running after 5 s; stopping anyway");
    }
    drop(cleanup);
    match failed {
        Some(Ok(Ok(()))) | None => Ok(0),
        Some(Ok(Err(e))) => Err(anyhow::Error::new(e).context("a listener failed")),
        Some(Err(e)) => Err(anyhow::Error::new(e).context("a listener task failed")),
    }
}

/// Listener set-up problems are configuration errors (exit 2): a busy socket, a
/// non-loopback address, a directory that cannot be created.
fn setup(e: serve::SetupError) -> anyhow::Error {
    Error::config(e.to_string()).into()
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Print the listener lines and flush, so a supervisor reading stdout sees them at once.
fn announce(lines: &[String]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for l in lines {
        writeln!(out, "{l}")?;
    }
    out.flush()?;
    Ok(())
}

/// The API base a proxy forwards to: the profile's, or (CXone) the one found with a token.
async fn proxy_base(
    profile: &cctoken_agent::registry::Profile,
    clock: &cctoken::clock::SharedClock,
) -> anyhow::Result<url::Url> {
    if let Some(b) = &profile.api_base {
        return Ok(b.clone());
    }
    let token = profile
        .token(clock)
        .await
        .with_context(|| format!("--proxy {}: a token to find the API base", profile.name))?;
    profile.api_base(&token).await.ok_or_else(|| {
        anyhow::Error::new(Error::config(format!(
            "--proxy {}: the profile has no API base; set api_base in the profile",
            profile.name
        )))
    })
}
