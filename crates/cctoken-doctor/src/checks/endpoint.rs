//! Where the request goes: scheme, host and path against the Genesys region table and
//! CXone's hosts, region names in host names (see `region`), and platform mix-ups (CXone
//! paths or grants on Genesys and the reverse).

use super::platform::Platform;
use super::region;
use crate::paste::expand::Arg;
use crate::report::{Code, Finding, Report, Severity};
use crate::request::Request;
use crate::text::{Term, Text};
use cctoken::provider::genesys::Region;
use cctoken::provider::CXONE_ISSUER;

fn token_url_for(plat: Platform) -> String {
    match plat {
        Platform::Genesys(reg) => format!("https://login.{}/oauth/token", reg.domain),
        _ => format!("{CXONE_ISSUER}/auth/token"),
    }
}

pub(super) fn endpoint(r: &Request, plat: Platform, report: &mut Report) {
    let Some(u) = &r.url else { return };
    if u.scheme == "http" && plat != Platform::Loopback && !u.host.is_empty() {
        let guessed = if u.scheme_guessed {
            " (no scheme was written, so curl assumes http://)"
        } else {
            ""
        };
        report.push(Finding::new(
            Code::EndpointInsecure,
            format!("the token URL uses plain http://{guessed}: the client secret crosses the network unencrypted, and servers redirect or refuse it"),
            format!("use https://{}{}", u.host, u.path),
        ));
    }
    let path = u.path.as_str();
    match plat {
        Platform::Genesys(reg) => {
            let named = region::named_regions(&u.host);
            let good = match named.as_slice() {
                [] => format!("https://login.{}/oauth/token", reg.domain),
                [one] => one.token_url().to_string(),
                _ => "https://login.<your region's domain>/oauth/token".to_owned(),
            };
            if !named.is_empty() {
                report.push(region_host(&u.host, &named));
            } else if u.host != format!("login.{}", reg.domain) {
                let what = if u.host.starts_with("api.") {
                    "the API host"
                } else {
                    "not the login host"
                };
                report.push(Finding::new(
                    Code::EndpointApiHost,
                    format!(
                        "the token request goes to {} ({what}); Genesys Cloud {} issues tokens only on login.{}",
                        u.host, reg.name, reg.domain
                    ),
                    format!("send it to {good}"),
                ));
            }
            if path == "/auth/token" || path.to_ascii_lowercase().contains("incontact") {
                report.push(Finding::new(
                    Code::EndpointPlatformMismatch,
                    format!("{path} is NICE CXone's token path, sent to a Genesys Cloud host"),
                    format!("for Genesys Cloud send to {good}; for CXone send to {CXONE_ISSUER}/auth/token"),
                ));
            } else if path != "/oauth/token" {
                report.push(Finding::new(
                    Code::EndpointPath,
                    format!("the token path is {path}; Genesys Cloud's token endpoint is /oauth/token (not under /api/v2)"),
                    format!("send it to {good}"),
                ));
            }
            if r.param("grant_type").and_then(Arg::literal).as_deref() == Some("password")
                && r.param("username").is_some()
            {
                report.push(Finding::new(
                    Code::EndpointPlatformMismatch,
                    "a password grant with username/password (CXone's access-key flow) is sent to Genesys Cloud, which issues back-end tokens by client_credentials",
                    format!("for Genesys send grant_type=client_credentials with the OAuth client in -u to {good}; for CXone send it to {CXONE_ISSUER}/auth/token"),
                ));
            }
        }
        Platform::Cxone => {
            let good = token_url_for(plat);
            let issuer_host = u.host.starts_with("cxone") && u.host.ends_with("niceincontact.com");
            if path.trim_end_matches('/').ends_with("/oauth/token") {
                report.push(Finding::new(
                    Code::EndpointPlatformMismatch,
                    format!("{path} is Genesys Cloud's token path, sent to a NICE CXone host"),
                    format!("CXone's token endpoint is {good} (see {CXONE_ISSUER}/.well-known/openid-configuration)"),
                ));
            } else if !issuer_host {
                report.push(Finding::new(
                    Code::EndpointApiHost,
                    format!("the token request goes to {}; CXone issues tokens at the issuer cxone.niceincontact.com, not on the API cluster", u.host),
                    format!("send it to {good} (FedRAMP: https://cxone-gov.niceincontact.com/auth/token)"),
                ));
            } else if path != "/auth/token" {
                report.push(Finding::new(
                    Code::EndpointPath,
                    format!("the token path is {path}; CXone's token endpoint is /auth/token"),
                    format!("send it to https://{}/auth/token", u.host),
                ));
            }
        }
        Platform::Other if region::genesys_like(&u.host) => {
            report.push(region_host(&u.host, &region::named_regions(&u.host)));
        }
        Platform::Loopback | Platform::Other => {
            if path.contains("/.well-known/") {
                report.push(Finding::new(
                    Code::EndpointPath,
                    format!("{path} is a discovery document, not the token endpoint"),
                    Text::from("POST to the token_endpoint listed in that document (or let ")
                        + Term::Discover
                        + " discover it)",
                ));
            } else if let Some(reg) = u
                .host
                .strip_prefix("api.")
                .and_then(|d| (path.ends_with("/oauth/token")).then_some(d))
            {
                report.push(Finding::new(
                    Code::EndpointApiHost,
                    format!("the token request goes to api.{reg}; token endpoints usually live on the login/auth host"),
                    format!("check the provider's documented token URL (e.g. https://login.{reg}/oauth/token)"),
                ).severity(Severity::Warning));
            }
        }
    }
}

/// A Genesys-looking host built from a region name (or on no region's domain at all):
/// the real login host of the region it names, from the region table.
fn region_host(host: &str, named: &[&'static Region]) -> Finding {
    let on = Region::for_host(host);
    let under = on
        .map(|x| format!(" ({host} is under {}, the domain of {})", x.domain, x.name))
        .unwrap_or_default();
    let (message, fix) = match named {
        [r] => (
            match on {
                Some(_) => format!("the token host {host} names {}, but Genesys Cloud hosts are not built from region names: {}'s login host is login.{}{under}", r.name, r.name, r.domain),
                None => format!("the token host {host} is not a Genesys Cloud host; it names {}, whose login host is login.{}", r.name, r.domain),
            },
            format!("send it to {}", r.token_url()),
        ),
        [] => (
            format!("the token host {host} is not a Genesys Cloud host: tokens come from login.<region domain>, as in the region table"),
            format!("send it to your region's login host: {}", region::login_urls(named)),
        ),
        many => (
            format!(
                "the token host {host} is not a Genesys Cloud host: it suggests {}, but Genesys Cloud hosts are not built from region or area names{under}",
                many.iter().map(|r| r.name).collect::<Vec<_>>().join(" or ")
            ),
            format!("send it to your region's login host: {}", region::login_urls(many)),
        ),
    };
    Finding::new(Code::EndpointRegionHost, message, fix)
}
