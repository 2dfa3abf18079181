//! The network path to a token host, before any token request: proxy variables in effect
//! (userinfo removed), DNS, the TCP connection and TLS handshake, and the server's clock
//! from its `Date` header against the injected clock (`clock.skew`). Transport errors are
//! mapped to `net.*` codes here too. Nothing here sends credentials.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::report::{Code, Finding, Report};
use cctoken::clock::SharedClock;
use cctoken::config::{env, EnvLookup};

/// Largest clock difference tolerated before `clock.skew` (SPEC §8).
pub const MAX_SKEW: Duration = Duration::from_secs(60);

pub(super) fn transport_code(msg: &str) -> Code {
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

/// Proxy variables in effect, userinfo removed. Loopback targets are always reached
/// directly, whatever the variables say (`NO_PROXY_ALWAYS`), as cctoken's clients do.
pub(super) fn proxies(env: &dyn EnvLookup, target: &Url, report: &mut Report) {
    let mut seen = Vec::new();
    for names in [env::HTTPS_PROXY, env::HTTP_PROXY, env::ALL_PROXY] {
        for name in names {
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
    }
    let no_proxy = env::NO_PROXY.iter().find_map(|n| env.non_empty(n));
    let host = target.host_str().unwrap_or_default();
    let loopback = cctoken::provider::is_loopback(target);
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
    } else if loopback {
        format!(
            "{} is set, but {host} is loopback, which cctoken always reaches directly",
            seen.join(", ")
        )
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

/// What answering the origin told: whether it is the cctoken emulator, which names itself
/// in `Server` (see [`super::emulator`]).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Reached {
    pub emulator: bool,
}

/// DNS, connection, TLS (trusting `roots` too: the profile's `ca_cert`) and clock skew for
/// `url`'s origin. `None` when unreachable.
pub(super) async fn reachable(
    url: &Url,
    roots: &[reqwest::Certificate],
    timeout: Duration,
    clock: &SharedClock,
    report: &mut Report,
) -> Option<Reached> {
    let host = url.host_str().map(str::to_owned)?;
    let port = url.port_or_known_default().unwrap_or(443);
    if url
        .host()
        .is_some_and(|h| matches!(h, url::Host::Domain(_)))
    {
        let lookup =
            tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port))).await;
        match lookup.map(|r| r.map(|mut a| a.next().is_some())) {
            Ok(Ok(true)) => {}
            Ok(_) => {
                report.push(Finding::new(
                    Code::NetDns,
                    format!("{host} does not resolve (DNS)"),
                    "check the host/region spelling (Genesys: login.<region domain>, e.g. login.mypurecloud.ie), and the machine's DNS or VPN",
                ));
                return None;
            }
            Err(_) => {
                report.push(Finding::new(
                    Code::NetDns,
                    format!(
                        "resolving {host} timed out after {}",
                        cctoken::duration::Human(timeout)
                    ),
                    "check the machine's DNS configuration or VPN",
                ));
                return None;
            }
        }
    }
    let http = match cctoken::client::http::http_client_with(timeout, roots, None) {
        Ok(h) => h,
        Err(e) => {
            report.push(Finding::new(
                Code::ConfigInvalid,
                e.message,
                "report this as a bug",
            ));
            return None;
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
            return None;
        }
    };
    let reached = Reached {
        emulator: super::emulator::names_itself(resp.headers()),
    };
    if let Some(date) = resp.headers().get("date").and_then(|d| d.to_str().ok()) {
        if let Some(server) = parse_http_date(date) {
            let now = clock.now();
            let (diff, ahead) = match server.duration_since(now) {
                Ok(d) => (d, true),
                Err(e) => (e.duration(), false),
            };
            if diff > MAX_SKEW {
                report.push(Finding::new(
                    Code::ClockSkew,
                    format!(
                        "this machine's clock is {} {} the server's (Date: {date})",
                        cctoken::duration::Human(Duration::from_secs(diff.as_secs())),
                        if ahead { "behind" } else { "ahead of" }
                    ),
                    "synchronise the clock (`timedatectl set-ntp true`, `chronyc makestep`, Windows: `w32tm /resync`); token expiry and JWT validation use it",
                ));
            }
        }
    }
    Some(reached)
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
    fn proxies_say_when_loopback_goes_direct() {
        let env: std::collections::HashMap<String, String> = [
            ("https_proxy", "http://user:pw@proxy.corp:3128"),
            ("NO_PROXY", ".corp"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let said = |url: &str| {
            let mut r = Report::default();
            proxies(&env, &Url::parse(url).unwrap(), &mut r);
            let f = r.findings().into_iter().next().unwrap();
            assert_eq!(f.code, Code::NetProxy);
            f.message.to_string()
        };
        let m = said("http://127.0.0.1:8080/oauth/token");
        assert!(m.contains("127.0.0.1 is loopback"), "{m}");
        assert!(!m.contains("pw"), "{m}");
        let m = said("https://login.mypurecloud.ie/oauth/token");
        assert!(
            m.contains("go through https_proxy=http://proxy.corp:3128/"),
            "{m}"
        );
        let m = said("https://idp.corp/oauth/token");
        assert!(m.contains("NO_PROXY exempts idp.corp"), "{m}");
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
