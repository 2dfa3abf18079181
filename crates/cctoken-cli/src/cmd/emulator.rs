//! `cctoken emulator`: run the local token server of `cctoken-emulator` until SIGINT/SIGTERM.
//!
//! Options → [`EmulatorConfig`] (registry file first, flags on top), bind, print the base URL
//! as the first stdout line (scripts read it), describe the server and any demo credentials
//! on stderr, serve. All server behaviour lives in the `cctoken-emulator` crate.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cctoken_emulator::config::{
    CXONE_DEMO_APP, CXONE_DEMO_APP_SECRET, CXONE_DEMO_AREA, CXONE_DEMO_KEY_ID,
    CXONE_DEMO_KEY_SECRET, CXONE_DEMO_TENANT, DEMO_CLIENT_ID, DEMO_NOGRANT_ID, DEMO_SECRET,
};
use cctoken_emulator::{AppState, EmulatorConfig, Flavor, RateLimit, TlsSettings, TokenFormat};

/// Arguments of `cctoken emulator`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
cctoken emulator --demo                # RFC 6749 server with demo clients\n  \
cctoken emulator --demo --flavor genesys --listen 127.0.0.1:8089\n  \
cctoken emulator --demo --flavor cxone # access-key grant at /auth/token\n  \
cctoken emulator --config clients.toml --token-format jwt --token-lifetime 5m\n  \
cctoken emulator --demo --flavor genesys \\\n      \
--api-rate-limit 50/5s --token-rate-limit 10/60s\n  \
cctoken emulator --config keys.toml --tls-cert srv.pem \\\n      \
--tls-key srv-key.pem --tls-client-ca ca.pem\n  \
curl -s -X POST $URL/_emulator/faults \\\n      \
-d '{\"kind\":\"status\",\"status\":503,\"count\":2}'\n  \
curl -s $URL/_emulator/activity        # why each request was refused\n\n\
The first line on stdout is the base URL. Token endpoint: $URL/oauth/token\n\
(CXone: $URL/auth/token); discovery: $URL/.well-known/openid-configuration;\n\
stats: $URL/_emulator/stats.\n\n\
Rate limits are N/DUR: at most N requests in any rolling DUR (300/60s, 50/5s,\n\
10/1m). Over the API limit a token gets Genesys' 429 with Retry-After (seconds\n\
until its oldest request leaves the window); over the token limit a client gets\n\
its flavor's answer (genesys: 400 invalid_request \"rate limit exceeded; ...\",\n\
others: 429 with Retry-After). The registry file takes the same values as\n\
api_rate_limit / token_rate_limit, at the top level or per client; a client's\n\
own value wins over the flags.\n\n\
Keys and certificates (registry clients need no secret): jwks = {keys = [...]}\n\
or jwks_file = \"client.jwks.json\" for private_key_jwt; auth_methods =\n\
[\"client_secret_jwt\"] (HS256, secrets of 32+ bytes);\n\
tls_client_auth_subject_dn = \"CN=...\" (needs --tls-client-ca);\n\
tls_client_certificate_thumbprint or a JWK with x5c for\n\
self_signed_tls_client_auth; federated = [{issuer, subject, audience,\n\
jwks_file}] to accept CI tokens; audience_mode = \"strict\" (aud = issuer,\n\
default) or \"legacy\" (issuer or token URL). Top-level clock_tolerance (30s)\n\
and max_assertion_lifetime (5m); tls_cert, tls_key and tls_client_ca are the\n\
file's spelling of the TLS flags. With TLS the printed URL is https://.")]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Client registry and faults (TOML: [[clients]] id, secrets, grants, scopes, ...).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Register the demo clients (printed on stderr).
    #[arg(long)]
    pub demo: bool,
    /// Which server to imitate [default: generic, or the file's `flavor`].
    #[arg(long, value_name = "FLAVOR", value_parser = ["generic", "genesys", "cxone"])]
    pub flavor: Option<String>,
    /// Access token format; cxone always issues JWTs [default: opaque].
    #[arg(long, value_name = "FORMAT", value_parser = ["opaque", "jwt"])]
    pub token_format: Option<String>,
    /// Lifetime of every issued token, e.g. 5s, 10m, 1h (overrides clients and flavor).
    #[arg(long, value_name = "DUR", value_parser = cctoken::duration::parse)]
    pub token_lifetime: Option<Duration>,
    /// Limit each token on /api/v2/* to N requests per rolling DUR, e.g. 300/60s or 50/5s
    /// [default: 300/60s for genesys, none for the other flavors].
    #[arg(long, value_name = "N/DUR", value_parser = parse_rate_limit)]
    pub api_rate_limit: Option<RateLimit>,
    /// Limit each client to N token requests per rolling DUR, e.g. 10/60s [default: none].
    #[arg(long, value_name = "N/DUR", value_parser = parse_rate_limit)]
    pub token_rate_limit: Option<RateLimit>,
    /// Serve HTTPS with this certificate chain (PEM, server certificate first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Ask TLS clients for certificates and check tls_client_auth chains against these CA
    /// certificates (PEM); needs HTTPS (--tls-cert/--tls-key or the file's tls_cert/tls_key).
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
}

fn parse_rate_limit(s: &str) -> Result<RateLimit, String> {
    s.parse()
        .map_err(|e: cctoken_emulator::ConfigError| e.to_string())
}

fn config_error(msg: String) -> anyhow::Error {
    cctoken::Error::config(msg).into()
}

/// Build the configuration from the file and the flags.
pub fn build_config(args: &EmulatorArgs) -> anyhow::Result<EmulatorConfig> {
    let mut config = EmulatorConfig::new(Flavor::Generic);
    if let Some(path) = &args.config {
        config
            .merge_registry_file(path)
            .map_err(|e| config_error(e.to_string()))?;
    }
    if let Some(f) = &args.flavor {
        config.flavor = f
            .parse::<Flavor>()
            .map_err(|e| config_error(e.to_string()))?;
    }
    if let Some(t) = &args.token_format {
        config.token_format = t
            .parse::<TokenFormat>()
            .map_err(|e| config_error(e.to_string()))?;
    }
    if let Some(d) = args.token_lifetime {
        if d < Duration::from_secs(1) {
            return Err(config_error("--token-lifetime must be at least 1s".into()));
        }
        config.token_lifetime = Some(d);
    }
    if let Some(l) = args.api_rate_limit {
        config.api_rate_limit = Some(l);
    }
    if let Some(l) = args.token_rate_limit {
        config.token_rate_limit = Some(l);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let ca = config.tls.take().filter(|t| t.has_client_ca());
        let mut tls =
            TlsSettings::from_files(cert, key).map_err(|e| config_error(e.to_string()))?;
        if let (Some(_), None) = (ca, &args.tls_client_ca) {
            return Err(config_error(
                "--tls-cert/--tls-key replace the file's tls_cert/tls_key, and with them its \
                 tls_client_ca: give --tls-client-ca too"
                    .into(),
            ));
        }
        if let Some(ca) = &args.tls_client_ca {
            tls.set_client_ca_file(ca)
                .map_err(|e| config_error(e.to_string()))?;
        }
        config.tls = Some(tls);
    } else if let Some(ca) = &args.tls_client_ca {
        let tls = config.tls.as_mut().ok_or_else(|| {
            config_error(
                "--tls-client-ca needs HTTPS: give --tls-cert and --tls-key (or tls_cert and \
                 tls_key in the --config file)"
                    .into(),
            )
        })?;
        tls.set_client_ca_file(ca)
            .map_err(|e| config_error(e.to_string()))?;
    }
    if args.demo {
        config = config.with_demo();
    }
    config.check().map_err(|e| config_error(e.to_string()))?;
    Ok(config)
}

/// The banner's rate-limit line: each limit, or that there is none.
fn rate_limits(config: &EmulatorConfig) -> String {
    let api = config
        .api_rate_limit
        .or_else(|| config.flavor.default_api_rate_limit())
        .map_or_else(
            || "no per-token limit on /api/v2/*".to_owned(),
            |l| format!("{l} per token on /api/v2/*"),
        );
    let token = config.token_rate_limit.map_or_else(
        || "no token-request limit per client".to_owned(),
        |l| format!("{l} token requests per client"),
    );
    format!("rate limits: {api}; {token} (a client's own value wins)")
}

fn describe(config: &EmulatorConfig, base: &str) {
    let token_path = if config.flavor == Flavor::Cxone {
        "/auth/token"
    } else {
        "/oauth/token"
    };
    errln!(
        "cctoken emulator ({} flavor, {} tokens) — token endpoint {base}{token_path}",
        config.flavor,
        if config.issues_jwt() { "JWT" } else { "opaque" }
    );
    errln!("  discovery {base}/.well-known/openid-configuration · activity {base}/_emulator/activity · stats {base}/_emulator/stats");
    errln!("  {}", rate_limits(config));
    if let Some(tls) = &config.tls {
        if config.requests_client_certificates() {
            errln!(
                "  HTTPS, asking for client certificates ({} CA certificate(s) for tls_client_auth) · mTLS alias {base}/mtls{token_path}",
                tls.client_ca_len()
            );
        } else {
            errln!("  HTTPS (no client certificates requested)");
        }
    }
    if config.demo {
        match config.flavor {
            Flavor::Generic | Flavor::Genesys => {
                errln!("  demo client: id {DEMO_CLIENT_ID}  secret {DEMO_SECRET}  (grant client_credentials, scopes: read write)");
                errln!("  demo client: id {DEMO_NOGRANT_ID}  secret {DEMO_SECRET}  (grant authorization_code only)");
            }
            Flavor::Cxone => {
                errln!("  demo app: id {CXONE_DEMO_APP}  secret {CXONE_DEMO_APP_SECRET}");
                errln!("  demo access key: id {CXONE_DEMO_KEY_ID}  secret {CXONE_DEMO_KEY_SECRET}");
                errln!("  demo tenant: {CXONE_DEMO_TENANT} (area {CXONE_DEMO_AREA})");
            }
        }
        errln!("  (demo values, not real secrets)");
    }
    let n = config.effective_clients().len();
    if n == 0 {
        errln!("  warning: no clients registered; every token request fails with invalid_client (use --demo or --config)");
    } else {
        errln!("  {n} client(s) registered; stop with Ctrl-C");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Run the emulator until SIGINT/SIGTERM.
pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let config = build_config(&args)?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| config_error(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let state = AppState::new(config);
    let scheme = state.config().scheme();
    let base = if addr.ip().is_unspecified() {
        // Reachable locally; discovery documents use each request's Host instead.
        format!("{scheme}://127.0.0.1:{}", addr.port())
    } else {
        let b = format!("{scheme}://{addr}");
        state.set_base_url(&b);
        b
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{base}").context("writing the base URL")?;
        out.flush().context("flushing stdout")?;
    }
    describe(state.config(), &base);
    cctoken_emulator::serve(listener, state, shutdown_signal())
        .await
        .context("serving")?;
    errln!("cctoken emulator stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: EmulatorArgs,
    }

    #[test]
    fn the_banner_says_when_there_is_no_limit() {
        let c = build_config(&T::parse_from(["x", "--flavor", "generic"]).a).unwrap();
        assert_eq!(
            rate_limits(&c),
            "rate limits: no per-token limit on /api/v2/*; no token-request limit per client \
             (a client's own value wins)"
        );
        let c = build_config(
            &T::parse_from([
                "x",
                "--api-rate-limit",
                "3/1h",
                "--token-rate-limit",
                "2/1h",
            ])
            .a,
        )
        .unwrap();
        assert_eq!(
            rate_limits(&c),
            "rate limits: 3/3600s per token on /api/v2/*; 2/3600s token requests per client \
             (a client's own value wins)"
        );
    }

    #[test]
    fn flags_build_the_config() {
        let t = T::parse_from([
            "x",
            "--demo",
            "--flavor",
            "genesys",
            "--token-format",
            "jwt",
            "--token-lifetime",
            "5s",
        ]);
        let c = build_config(&t.a).unwrap();
        assert_eq!(c.flavor, Flavor::Genesys);
        assert!(c.issues_jwt() && c.demo);
        assert_eq!(c.token_lifetime, Some(Duration::from_secs(5)));
        assert_eq!((c.api_rate_limit, c.token_rate_limit), (None, None));
        let t = T::parse_from([
            "x",
            "--api-rate-limit",
            "50/5s",
            "--token-rate-limit",
            "10/1m",
        ]);
        let c = build_config(&t.a).unwrap();
        assert_eq!(
            c.api_rate_limit.map(|l| l.to_string()).as_deref(),
            Some("50/5s")
        );
        assert_eq!(
            c.token_rate_limit.map(|l| l.to_string()).as_deref(),
            Some("10/60s")
        );
        for bad in ["0/60s", "abc", "5/0s"] {
            for flag in ["--api-rate-limit", "--token-rate-limit"] {
                assert!(T::try_parse_from(["x", flag, bad]).is_err(), "{flag} {bad}");
            }
        }
        assert!(T::try_parse_from(["x", "--flavor", "nice"]).is_err());
        let t = T::parse_from(["x", "--config", "/nonexistent/clients.toml"]);
        assert!(build_config(&t.a)
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
    }
}
