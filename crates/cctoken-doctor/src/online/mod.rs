//! What only the network can tell: DNS, TCP/TLS, the server's clock (`Date`), proxy
//! variables, discovery, and the server's verdict on one real token request with the
//! configured method — mapped to finding codes (`unauthorized_client` →
//! `grant.not-enabled`, `invalid_client` → `auth.invalid-client` with the presented
//! secret's fingerprint). With `probe_auth`, the other client authentication methods are
//! tried after an `invalid_client` to say which one the server accepts.
//!
//! The network path itself (proxies, DNS, TCP, TLS, clock) is checked in `network` before
//! the first request. Requests go through [`cctoken::client::Client`] with retries disabled
//! (a diagnosis must not hammer a failing endpoint). Time comes from the injected clock.

pub mod assertion;
mod network;
mod tenant;

use std::time::Duration;

use url::Url;

use super::report::{Code, Finding, Report, Severity};
use super::text::{Term, Text};
use cctoken::auth::AuthMethod;
use cctoken::client::{Client, RetryPolicy, TraceSink};
use cctoken::clock::SharedClock;
use cctoken::config::{ClientConfig, EnvLookup};
use cctoken::error::{Error, ErrorKind};
use cctoken::provider::{Endpoint, ProviderConfig};
pub use network::{parse_http_date, MAX_SKEW};
use network::{proxies, reachable, transport_code};

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
        let c = Client::new(config)
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
    // The checks the offline pass left for the network run now: drop its "run online".
    report.retain(|f| !f.terms().any(|t| *t == Term::RunOnline));
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
    if !reachable(&first, opts.timeout, &opts.clock, report).await {
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
        // A method chosen by hand that the server does not list (§14 auth.method-unsupported).
        if let (Some(m), Some(list)) = (config.auth, &meta.auth_methods) {
            if !list.is_empty() && !list.iter().any(|x| x == m.metadata_name()) {
                report.push(Finding::new(
                    Code::AuthMethodUnsupported,
                    Text::from("the profile uses ")
                        + Term::Auth(m)
                        + format!(
                            " ({}), which the server does not list in token_endpoint_auth_methods_supported ({})",
                            m.metadata_name(),
                            list.join(", ")
                        ),
                    Text::from("drop the auth setting so that cctoken chooses from the server's list, or ")
                        + Term::ProbeAuth,
                ));
            }
        }
        if meta.token_endpoint.host_str() != first.host_str()
            && !reachable(&meta.token_endpoint, opts.timeout, &opts.clock, report).await
        {
            return;
        }
    }
    let method = resolved.auth;
    match client.fetch_token().await {
        Ok(t) => {
            report.push(Finding::new(
                Code::TokenOk,
                Text::from("the server issued a token with ")
                    + Term::Auth(method)
                    + format!(
                        ", valid for {}{}",
                        cctoken::duration::Human(t.expires_in),
                        if t.expires_in_defaulted {
                            " (no expires_in: default assumed)"
                        } else {
                            ""
                        }
                    ),
                Text::from("nothing to do; instead of asking for longer-lived tokens, ")
                    + Term::KeepFresh,
            ));
            // The server's verdict outranks a format heuristic.
            report.relax(
                Code::ClientIdFormat,
                Severity::Warning,
                " — but the server issued a token for this client id, so it is valid there",
            );
            if let ProviderConfig::Cxone { issuer, .. } = &config.provider {
                tenant::api_base(&client, issuer, resolved.api_base.is_some(), &t, report).await;
            }
        }
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
            e.hint.as_deref().map_or_else(|| format!("enable the {grant} grant for this client on the server"), without_referral),
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
                e.hint.as_deref().map_or_else(
                    || {
                        Text::from("compare the secret's fingerprint with the server's (")
                            + Term::ShowProfile
                            + ")"
                    },
                    |h| Text::from(without_referral(h)),
                ),
            ));
            // A server that names why (the emulator does, SPEC §14): the offline code for it.
            if let Some(d) = e.description.as_deref() {
                if let Some((code, fix)) = crate::assertion::verdict::classify(d) {
                    report.push(Finding::new(
                        code,
                        format!(
                            "the server's reason for invalid_client: {}",
                            cctoken::error::excerpt(d, 300)
                        ),
                        fix,
                    ));
                }
            }
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
            e.hint.as_deref().map_or_else(|| "see the server's message".into(), without_referral),
        )),
    }
}

/// A library hint without its "Run `cctoken doctor`" sentence: inside doctor it is noise.
fn without_referral(hint: &str) -> String {
    hint.split_inclusive(". ")
        .filter(|s| !s.contains("cctoken doctor"))
        .collect::<String>()
        .trim_end()
        .to_owned()
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

#[cfg(test)]
mod tests {
    use super::without_referral;
    use cctoken::error::ErrorKind;
    use cctoken::provider::{cxone, generic, genesys};

    #[test]
    fn no_providers_hint_sends_doctor_to_doctor() {
        for kind in [
            ErrorKind::InvalidClient,
            ErrorKind::UnauthorizedClient,
            ErrorKind::InvalidGrant,
        ] {
            for hint in [generic::hint(kind), genesys::hint(kind), cxone::hint(kind)]
                .into_iter()
                .flatten()
            {
                let h = without_referral(hint);
                assert!(!h.contains("doctor"), "{h}");
                assert!(!h.is_empty() && h.ends_with(['.', ')']), "{h}");
            }
        }
    }
}
