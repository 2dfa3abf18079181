//! What only the network can tell: DNS, TCP/TLS, the server's clock (`Date`), proxy
//! variables, discovery, and the server's verdict on one real token request with the
//! configured method — mapped to finding codes (`unauthorized_client` →
//! `grant.not-enabled`, `invalid_client` → `auth.invalid-client` with the presented
//! secret's fingerprint). With `probe_auth`, the other client authentication methods are
//! tried after an `invalid_client` to say which one the server accepts.
//!
//! Requests go through [`cctoken::client::Client`] with retries disabled (a diagnosis must not
//! hammer a failing endpoint). Time comes from the injected clock. Proxy URLs are shown
//! without their userinfo.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use super::report::{Code, Finding, Report, Severity};
use super::text::{Term, Text};
use cctoken::auth::AuthMethod;
use cctoken::client::{Client, RetryPolicy, TraceSink};
use cctoken::clock::SharedClock;
use cctoken::config::{ClientConfig, EnvLookup};
use cctoken::error::{Error, ErrorKind};
use cctoken::provider::{Endpoint, ProviderConfig};

/// Largest clock difference tolerated before `clock.skew` (SPEC §8).
pub const MAX_SKEW: Duration = Duration::from_secs(60);

/// How the online checks run.
pub struct OnlineOptions<'a> {
    /// Try the other client authentication methods after `invalid_client`.
    pub probe_auth: bool,
    /// "Now" for the clock-skew check.
    pub clock: SharedClock,
    /// Where proxy variables are read.
    pub env: &'a dyn EnvLookup,
    /// Timeout of each network step.
    pub timeout: Duration,
    /// Where to write every token-server exchange, redacted (the CLI's `--trace`).
    pub trace: Option<TraceSink>,
}

impl OnlineOptions<'_> {
    fn client(&self, config: ClientConfig) -> Result<Client, Error> {
        let c = Client::new(config)?
            .with_retry(no_retry())
            .with_clock(self.clock.clone());
        Ok(match &self.trace {
            Some(t) => c.with_trace(t.clone()),
            None => c,
        })
    }
}

fn no_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    }
}

/// Run the online checks for `config`, adding findings to `report`.
pub async fn diagnose(config: &ClientConfig, opts: &OnlineOptions<'_>, report: &mut Report) {
    let client = match opts.client(config.clone()) {
        Ok(c) => c,
        Err(e) => {
            report.push(Finding::new(
                Code::ConfigInvalid,
                e.message,
                "fix the configuration",
            ));
            return;
        }
    };
    // The first URL contacted: the token URL, or the issuer when discovery is needed.
    let first = match client.resolve_offline() {
        Some(r) => r.token_url,
        None => match &config.provider {
            ProviderConfig::Generic {
                endpoint: Endpoint::Issuer(i),
                ..
            } => i.clone(),
            ProviderConfig::Cxone { issuer, .. } => issuer.clone(),
            _ => return,
        },
    };
    proxies(opts.env, &first, report);
    if !reachable(&first, opts, report).await {
        return;
    }
    let resolved = match client.resolve().await {
        Ok(r) => r.clone(),
        Err(e) => {
            report.push(
                Finding::new(
                    Code::Discovery,
                    format!(
                        "discovery failed: {}",
                        cctoken::error::excerpt(&e.message, 300)
                    ),
                    Text::from("check the issuer URL, or give ")
                        + Term::TokenUrl
                        + " to skip discovery",
                )
                .severity(Severity::Error),
            );
            return;
        }
    };
    if let Some(meta) = &resolved.metadata {
        report.push(Finding::new(
            Code::Discovery,
            format!(
                "discovery at {} names token endpoint {} (auth methods: {})",
                meta.source,
                meta.token_endpoint,
                meta.auth_methods
                    .as_ref()
                    .map(|m| m.join(", "))
                    .unwrap_or_else(|| "not listed".into())
            ),
            "nothing to do",
        ));
        if meta.token_endpoint.host_str() != first.host_str()
            && !reachable(&meta.token_endpoint, opts, report).await
        {
            return;
        }
    }
    let method = resolved.auth;
    match client.fetch_token().await {
        Ok(t) => report.push(Finding::new(
            Code::TokenOk,
            Text::from("the server issued a token with ")
                + Term::Auth(method)
                + format!(
                    ", valid for {}{}",
                    humantime::format_duration(t.expires_in),
                    if t.expires_in_defaulted {
                        " (no expires_in: default assumed)"
                    } else {
                        ""
                    }
                ),
            Text::from("nothing to do; instead of asking for longer-lived tokens, ")
                + Term::KeepFresh,
        )),
        Err(e) => {
            verdict(
                &client,
                config,
                &resolved.token_url,
                method,
                e,
                opts,
                report,
            )
            .await
        }
    }
}

async fn verdict(
    client: &Client,
    config: &ClientConfig,
    url: &Url,
    method: AuthMethod,
    e: Error,
    opts: &OnlineOptions<'_>,
    report: &mut Report,
) {
    let status = e.status.map(|s| format!("HTTP {s} ")).unwrap_or_default();
    let server = e
        .description
        .as_ref()
        .map(|d| format!(" — server says: {d}"))
        .unwrap_or_default();
    let grant = client.initial_grant().grant_type();
    match e.kind {
        ErrorKind::UnauthorizedClient => report.push(Finding::new(
            Code::GrantNotEnabled,
            format!("{status}unauthorized_client: client {} exists but is not allowed the {grant} grant{server}", config.client_id),
            e.hint.unwrap_or_else(|| format!("enable the {grant} grant for this client on the server")),
        )),
        ErrorKind::InvalidClient => {
            let fp = config.client_secret.fingerprint();
            report.push(Finding::new(
                Code::AuthInvalidClient,
                Text::from(format!(
                    "{status}invalid_client from {url}: client id {}, presented secret {fp}, ",
                    config.client_id
                )) + Term::Auth(method)
                    + server.as_str(),
                e.hint.map_or_else(
                    || {
                        Text::from("compare the secret's fingerprint with the server's (")
                            + Term::ShowProfile
                            + ")"
                    },
                    Text::from,
                ),
            ));
            if opts.probe_auth {
                probe(config, method, opts, report).await;
            } else if cctoken::auth::form_urlencode(config.client_secret.expose_secret())
                != config.client_secret.expose_secret()
            {
                report.push(Finding::new(
                    Code::AuthProbe,
                    format!("the secret ({fp}) has characters where basic, basic-raw and post send different bytes"),
                    Text::from("run ") + Term::ProbeAuth + " to find the method the server accepts",
                ).severity(Severity::Info));
            }
        }
        ErrorKind::Transport => report.push(Finding::new(
            transport_code(&e.message),
            format!("the token request failed: {}", e.message),
            "check the network path to the token host (proxy, firewall, VPN)",
        )),
        ErrorKind::Config => report.push(Finding::new(Code::ConfigInvalid, e.message, "fix the configuration")),
        _ => report.push(Finding::new(
            Code::TokenRequest,
            format!("{status}{}: {}{server}", e.kind, e.message),
            e.hint.unwrap_or_else(|| "see the server's message".into()),
        )),
    }
}

async fn probe(
    config: &ClientConfig,
    failed: AuthMethod,
    opts: &OnlineOptions<'_>,
    report: &mut Report,
) {
    let others: Vec<AuthMethod> = [AuthMethod::Basic, AuthMethod::BasicRaw, AuthMethod::Post]
        .into_iter()
        .filter(|m| *m != failed)
        .collect();
    let mut rejected = Vec::new();
    for m in others {
        let mut cfg = config.clone();
        cfg.auth = Some(m);
        let Ok(c) = opts.client(cfg) else { continue };
        match c.fetch_token().await {
            Ok(_) => {
                report.push(Finding::new(
                    Code::AuthProbe,
                    Text::from("the server rejects ")
                        + Term::Auth(failed)
                        + " but accepts "
                        + Term::Auth(m)
                        + " with the same credentials",
                    Term::UseAuth(m),
                ));
                return;
            }
            Err(e) => rejected.push(format!("{m} ({})", e.kind)),
        }
    }
    report.push(Finding::new(
        Code::AuthProbe,
        format!("the other client authentication methods failed too: {}", rejected.join(", ")),
        format!(
            "the method is not the problem: the client id or the secret ({}) does not match what the server holds — compare fingerprints, check the region/host, or regenerate the secret",
            config.client_secret.fingerprint()
        ),
    ).severity(Severity::Info));
}

fn transport_code(msg: &str) -> Code {
    let m = msg.to_ascii_lowercase();
    if m.contains("certificate")
        || m.contains("tls")
        || m.contains("ssl")
        || m.contains("handshake")
    {
        Code::NetTls
    } else if m.contains("dns") || m.contains("resolve") || m.contains("lookup") {
        Code::NetDns
    } else {
        Code::NetConnect
    }
}

/// Proxy variables in effect, userinfo removed.
fn proxies(env: &dyn EnvLookup, target: &Url, report: &mut Report) {
    let mut seen = Vec::new();
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        if let Some(v) = env.non_empty(name) {
            let shown = match Url::parse(&v) {
                Ok(mut u) => {
                    let _ = u.set_username("");
                    let _ = u.set_password(None);
                    u.to_string()
                }
                Err(_) => "(not a URL)".into(),
            };
            seen.push(format!("{name}={shown}"));
        }
    }
    let no_proxy = env
        .non_empty("NO_PROXY")
        .or_else(|| env.non_empty("no_proxy"));
    let host = target.host_str().unwrap_or_default();
    let bypass = no_proxy.as_deref().is_some_and(|np| {
        np.split(',').map(str::trim).any(|p| {
            p == "*"
                || (!p.is_empty()
                    && (host == p.trim_start_matches('.')
                        || host.ends_with(&format!(".{}", p.trim_start_matches('.')))))
        })
    });
    if seen.is_empty() && no_proxy.is_none() {
        return;
    }
    let via = if seen.is_empty() {
        "no proxy variable is set".to_owned()
    } else if bypass {
        format!("{} is set, but NO_PROXY exempts {host}", seen.join(", "))
    } else {
        format!("requests to {host} go through {}", seen.join(", "))
    };
    report.push(Finding::new(
        Code::NetProxy,
        format!("{via}{}", no_proxy.map(|n| format!(" (NO_PROXY={})", cctoken::error::excerpt(&n, 120))).unwrap_or_default()),
        "if the token host is unreachable or TLS fails, check the proxy (TLS-inspecting proxies need their CA in the trust store)",
    ));
}

/// DNS, connection, TLS and clock skew for `url`'s origin. False when unreachable.
async fn reachable(url: &Url, opts: &OnlineOptions<'_>, report: &mut Report) -> bool {
    let Some(host) = url.host_str().map(str::to_owned) else {
        return false;
    };
    let port = url.port_or_known_default().unwrap_or(443);
    if url
        .host()
        .is_some_and(|h| matches!(h, url::Host::Domain(_)))
    {
        let lookup =
            tokio::time::timeout(opts.timeout, tokio::net::lookup_host((host.as_str(), port)))
                .await;
        match lookup.map(|r| r.map(|mut a| a.next().is_some())) {
            Ok(Ok(true)) => {}
            Ok(_) => {
                report.push(Finding::new(
                    Code::NetDns,
                    format!("{host} does not resolve (DNS)"),
                    "check the host/region spelling (Genesys: login.<region domain>, e.g. login.mypurecloud.ie), and the machine's DNS or VPN",
                ));
                return false;
            }
            Err(_) => {
                report.push(Finding::new(
                    Code::NetDns,
                    format!(
                        "resolving {host} timed out after {}",
                        humantime::format_duration(opts.timeout)
                    ),
                    "check the machine's DNS configuration or VPN",
                ));
                return false;
            }
        }
    }
    let http = match cctoken::client::http::http_client(opts.timeout) {
        Ok(h) => h,
        Err(e) => {
            report.push(Finding::new(
                Code::ConfigInvalid,
                e.message,
                "report this as a bug",
            ));
            return false;
        }
    };
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    let resp = match http.get(origin.clone()).send().await {
        Ok(r) => r,
        Err(e) => {
            let err = cctoken::client::http::transport_error(&e, &origin);
            let code = transport_code(&err.message);
            let fix = if code == Code::NetTls {
                "the TLS handshake or certificate check failed: a TLS-inspecting proxy needs its CA installed; an old host name may serve another certificate"
            } else {
                "the host resolves but does not answer: check firewall, proxy and port"
            };
            report.push(Finding::new(
                code,
                format!("cannot reach {origin}: {}", err.message),
                fix,
            ));
            return false;
        }
    };
    if let Some(date) = resp.headers().get("date").and_then(|d| d.to_str().ok()) {
        if let Some(server) = parse_http_date(date) {
            let now = opts.clock.now();
            let (diff, ahead) = match server.duration_since(now) {
                Ok(d) => (d, true),
                Err(e) => (e.duration(), false),
            };
            if diff > MAX_SKEW {
                report.push(Finding::new(
                    Code::ClockSkew,
                    format!(
                        "this machine's clock is {} {} the server's (Date: {date})",
                        humantime::format_duration(Duration::from_secs(diff.as_secs())),
                        if ahead { "behind" } else { "ahead of" }
                    ),
                    "synchronise the clock (`timedatectl set-ntp true`, `chronyc makestep`, Windows: `w32tm /resync`); token expiry and JWT validation use it",
                ));
            }
        }
    }
    true
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7).
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if *zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == mon)? as i64 + 1;
    let d: i64 = day.parse().ok()?;
    let y: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, se] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&d) || *h > 23 || *mi > 59 || *se > 60 || y < 1970 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().as_secs(), 784_111_777);
        let t = parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_709_164_800
        );
        assert!(parse_http_date("yesterday").is_none());
        assert!(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST").is_none());
    }

    #[test]
    fn transport_codes() {
        assert_eq!(
            transport_code("invalid peer certificate: UnknownIssuer"),
            Code::NetTls
        );
        assert_eq!(
            transport_code("could not connect (x:443): Connection refused"),
            Code::NetConnect
        );
    }
}
