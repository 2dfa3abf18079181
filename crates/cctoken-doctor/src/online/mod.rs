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
mod emulator;
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
    let roots = &config.keys.trust_roots;
    let Some(mut reached) = reachable(&first, roots, opts.timeout, &opts.clock, report).await
    else {
        return;
    };
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
        if meta.token_endpoint.origin() != first.origin() {
            match reachable(
                &meta.token_endpoint,
                roots,
                opts.timeout,
                &opts.clock,
                report,
            )
            .await
            {
                Some(r) => reached = r,
                None => return,
            }
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
            // The emulator keeps the exact reason of a refusal (SPEC §14): ask it.
            let reason = match (reached.emulator, e.status) {
                (true, Some(400..=499)) => {
                    emulator::last_refusal(
                        &resolved.token_url,
                        &config.client_id,
                        roots,
                        opts.timeout,
                        &client.scrubber(),
                    )
                    .await
                }
                _ => None,
            };
            let refused = Refusal {
                url: &resolved.token_url,
                method,
                e,
                emulator_reason: reason,
            };
            verdict(&client, config, refused, opts, report).await
        }
    }
}

/// A failed token request: where, how, the error, and the emulator's own reason for it.
struct Refusal<'a> {
    url: &'a Url,
    method: AuthMethod,
    e: Error,
    emulator_reason: Option<String>,
}

async fn verdict(
    client: &Client,
    config: &ClientConfig,
    refused: Refusal<'_>,
    opts: &OnlineOptions<'_>,
    report: &mut Report,
) {
    let Refusal {
        url,
        method,
        e,
        emulator_reason,
    } = refused;
    let status = e.status.map(|s| format!("HTTP {s} ")).unwrap_or_default();
    let mut server = e
        .description
        .as_ref()
        .map(|d| format!(" — server says: {d}"))
        .unwrap_or_default();
    // The emulator's reason, when it has no code of its own below, joins the message.
    let reason_code = emulator_reason
        .as_deref()
        .and_then(crate::assertion::verdict::classify);
    if let (Some(r), None) = (&emulator_reason, reason_code) {
        server.push_str(&format!(" — the emulator's reason: {r}"));
    }
    let grant = client.initial_grant().grant_type();
    match e.kind {
        ErrorKind::UnauthorizedClient => report.push(Finding::new(
            Code::GrantNotEnabled,
            format!("{status}unauthorized_client: client {} exists but is not allowed the {grant} grant{server}", config.client_id),
            e.hint.as_deref().map_or_else(|| format!("enable the {grant} grant for this client on the server"), without_referral),
        )),
        ErrorKind::InvalidClient => {
            let fp = config.client_secret.fingerprint();
            let key = config.keys.presented(method);
            report.push(Finding::new(
                Code::AuthInvalidClient,
                Text::from(format!(
                    "{status}invalid_client from {url}: client id {}, presented {}, ",
                    config.client_id,
                    key.clone().unwrap_or_else(|| format!("secret {fp}")),
                )) + Term::Auth(method)
                    + server.as_str(),
                match (e.hint.as_deref(), &key) {
                    (Some(h), _) => Text::from(without_referral(h)),
                    (None, Some(_)) => Text::from(
                        "compare the key or certificate the server holds for this client with the thumbprint shown",
                    ),
                    (None, None) => {
                        Text::from("compare the secret's fingerprint with the server's (")
                            + Term::ShowProfile
                            + ")"
                    }
                },
            ));
            // A server that names why (SPEC §14): the offline code for it.
            let said = e
                .description
                .as_deref()
                .and_then(|d| Some((d, crate::assertion::verdict::classify(d)?)));
            if let Some((d, (code, fix))) = said {
                report.push(Finding::new(
                    code,
                    format!(
                        "the server's reason for invalid_client: {}",
                        cctoken::error::excerpt(d, 300)
                    ),
                    fix,
                ));
            }
            if opts.probe_auth && !method.uses_secret() {
                report.push(Finding::new(
                    Code::AuthProbe,
                    Text::from("--probe-auth tries the secret methods; ")
                        + Term::Auth(method)
                        + " is not one, so nothing was probed",
                    "check the key or certificate the server holds for this client",
                ).severity(Severity::Info));
            } else if opts.probe_auth {
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
    if let (Some(r), Some((code, fix))) = (emulator_reason, reason_code) {
        report.push(Finding::new(
            code,
            format!("the emulator's reason for the refusal: {r}"),
            fix,
        ));
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
