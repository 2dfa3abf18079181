//! Offline checks of a profile: the secret's raw bytes as read from their source, the
//! client id, and the request cctoken would send (token URL, host, path, parameters).
//!
//! The normal path ([`cctoken::config::resolve()`]) refuses a secret with, say, a trailing tab
//! — correct for `get`, useless for a diagnosis. Here the profile is resolved with
//! `keep_secret_bytes` so the exact bytes of every source (env var, file, command, stdin)
//! arrive unmodified, and [`diagnose_offline`] explains them. It returns the configuration
//! that the online checks should use: the secret as `get` would send it, or — when `get`
//! would refuse it — with the surrounding whitespace removed, so the server can still be
//! asked whether the rest is right. Nothing here touches the network.

use std::io::Read;
use std::time::SystemTime;

use super::checks;
use super::report::{Code, Finding, Report, Severity};
use super::request::Request;
use super::secrets::{self, Ctx, Kind};
use super::text::{Term, Text};
use cctoken::auth::AuthMethod;
use cctoken::client::Client;
use cctoken::config::{resolve, ClientConfig, EnvLookup, ProfileSettings, ResolveOptions};
use cctoken::provider::{ProviderConfig, ProviderKind};
use cctoken::secret::ClientSecret;

/// The outcome of the offline profile checks.
#[derive(Debug)]
pub struct Offline {
    /// The findings.
    pub report: Report,
    /// The configuration to use for online checks (`None` when the profile did not resolve).
    pub config: Option<ClientConfig>,
    /// Where the client secret came from (never its value).
    pub secret_origin: Option<String>,
}

/// Check a profile without the network. `keep_secret_bytes` is the user's choice to send
/// the secret's bytes as they are ([`Term::KeepSecretBytes`]), so problems are reported but
/// not repaired.
pub fn diagnose_offline(
    settings: &ProfileSettings,
    env: &dyn EnvLookup,
    stdin: Option<Box<dyn Read + '_>>,
    keep_secret_bytes: bool,
) -> Offline {
    diagnose_offline_at(
        settings,
        env,
        stdin,
        keep_secret_bytes,
        std::time::SystemTime::now(),
    )
}

/// [`diagnose_offline`] with "now" given (the client certificate's validity is held
/// against it).
pub fn diagnose_offline_at(
    settings: &ProfileSettings,
    env: &dyn EnvLookup,
    stdin: Option<Box<dyn Read + '_>>,
    keep_secret_bytes: bool,
    now: SystemTime,
) -> Offline {
    let mut report = Report::default();
    let rp = match resolve(
        settings,
        env,
        ResolveOptions {
            keep_secret_bytes: true,
            stdin,
        },
    ) {
        Ok(rp) => rp,
        Err(e) => {
            report.push(Finding::new(
                Code::ConfigInvalid,
                cctoken::error::excerpt(&e.message, 400),
                e.hint.map_or(Text::from(Term::FixProfile), Text::from),
            ));
            return Offline {
                report,
                config: None,
                secret_origin: None,
            };
        }
    };
    let mut config = rp.config.clone();
    let genesys = config.kind() == ProviderKind::Genesys;
    // Flags alone are not a profile: the findings then speak of "this request".
    let subject = if settings.name.is_some() {
        "this profile"
    } else {
        "this request"
    };
    // A key or certificate client has no secret to examine.
    if rp.secret_origin != cctoken::config::resolve::NO_SECRET {
        config.client_secret = examine(
            &config.client_secret,
            Kind::ClientSecret,
            &rp.secret_origin,
            keep_secret_bytes,
            &mut report,
        );
    }
    if let ProviderConfig::Cxone { access_key, .. } = &mut config.provider {
        let origin = rp
            .access_key_origin
            .clone()
            .unwrap_or_else(|| "its source".into());
        access_key.secret = examine(
            &access_key.secret,
            Kind::AccessKeySecret,
            &origin,
            keep_secret_bytes,
            &mut report,
        );
    }
    secrets::check_client_id(
        &config.client_id,
        genesys,
        if settings.name.is_some() {
            "the profile's client_id"
        } else {
            "the client_id"
        },
        &mut report,
    );
    for s in &config.scopes {
        if s.contains(',') {
            report.push(Finding::new(
                Code::ParamScopeFormat,
                format!(
                    "scope '{}' contains a comma; scopes are separated by spaces",
                    cctoken::error::excerpt(s, 60)
                ),
                Text::from("give each scope separately: ") + Term::SeveralScopes,
            ));
        }
    }
    for (k, _) in &config.extra_params {
        if matches!(
            k.as_str(),
            "duration" | "expires_in" | "lifetime" | "ttl" | "expires"
        ) {
            report.push(Finding::new(
                Code::TokenLongLived,
                format!("parameter `{k}` asks for a longer-lived token; the server sets the lifetime (Genesys: per OAuth client, 300–172800 s)"),
                Text::from("remove it; ") + Term::KeepFresh,
            ));
        }
    }
    certificate(&config, now, &mut report);
    let client = Client::new(config.clone());
    match client.resolve_offline() {
        Some(resolved) => {
            encoding(&config, resolved.auth, subject, &mut report);
            hs256_length(&config, resolved.auth, &mut report);
            // A key that cannot sign is reported by resolving; the request checks need one.
            if let Ok(req) = client.prepare(&resolved, &client.initial_grant()) {
                checks::check(&Request::from_prepared(&req), &mut report);
            }
        }
        None => report.push(Finding::new(
            Code::Discovery,
            "the token endpoint is found by discovery, which needs the network",
            Text::from(Term::RunOnline) + " to check discovery and the endpoint",
        )),
    }
    Offline {
        report,
        config: Some(config),
        secret_origin: Some(rp.secret_origin),
    }
}

/// The client certificate (`client_cert`, for mTLS or `x5t#S256`) must be valid now: a
/// server refuses an expired one, often in the TLS handshake with no reason given.
fn certificate(config: &ClientConfig, now: SystemTime, report: &mut Report) {
    let keys = &config.keys;
    let Some(cert) = keys
        .client_cert
        .as_ref()
        .or(keys.tls.as_ref().map(|t| &t.cert))
    else {
        return;
    };
    let (from, until) = cert.validity();
    let date = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let (what, fix) = if until < now {
        (
            format!(
                "expired {} ago (notAfter {})",
                coarse(whole_secs(now, until)),
                date(until)
            ),
            "renew the client certificate and register the new one (its DN or thumbprint) with the server",
        )
    } else if from > now {
        (
            format!(
                "is not valid for another {} (notBefore {}): check this machine's clock",
                coarse(whole_secs(from, now)),
                date(from)
            ),
            "wait until it is valid, or synchronise this machine's clock (NTP)",
        )
    } else {
        return;
    };
    report.push(Finding::new(
        Code::CertExpired,
        format!(
            "the client certificate {} (x5t#S256 {}) {what}",
            cert.subject(),
            cert.thumbprint()
        ),
        fix,
    ));
}

/// Days beyond two days, else [`cctoken::duration::Human`].
fn coarse(d: std::time::Duration) -> String {
    match d.as_secs() / 86_400 {
        days @ 2.. => format!("{days} days"),
        _ => cctoken::duration::Human(d).to_string(),
    }
}

fn whole_secs(later: SystemTime, earlier: SystemTime) -> std::time::Duration {
    std::time::Duration::from_secs(later.duration_since(earlier).unwrap_or_default().as_secs())
}

/// HS256 wants a key at least as long as its hash (RFC 7518 §3.2): servers refuse a
/// `client_secret_jwt` assertion signed with a shorter secret.
fn hs256_length(config: &ClientConfig, auth: AuthMethod, report: &mut Report) {
    let len = config.client_secret.expose_secret().len();
    if auth != AuthMethod::ClientSecretJwt || len >= 32 || len == 0 {
        return;
    }
    report.push(Finding::new(
        Code::AssertionKey,
        format!(
            "the client secret ({}) has {len} bytes; HS256 needs at least 32 (RFC 7518 §3.2), and servers that check (oidc-provider, the emulator) refuse the assertion",
            config.client_secret.fingerprint()
        ),
        "use a client secret of 32 bytes or more (regenerate it on the server), or another method",
    ).severity(Severity::Warning));
}

/// Say when `basic` and `basic-raw` send different bytes for this secret, and which one is
/// configured (`subject`: this profile, or this request when only flags were given).
fn encoding(config: &ClientConfig, auth: AuthMethod, subject: &str, report: &mut Report) {
    let secret = config.client_secret.expose_secret();
    // Only Basic encodes the secret; an HS256 assertion signs its bytes as they are.
    if !secrets::encoding_sensitive(secret)
        || !matches!(auth, AuthMethod::Basic | AuthMethod::BasicRaw)
    {
        return;
    }
    let other = if auth == AuthMethod::Basic {
        AuthMethod::BasicRaw
    } else {
        AuthMethod::Basic
    };
    report.push(
        Finding::new(
            Code::SecretEncodingSensitive,
            Text::from(format!(
                "the client secret ({}) contains {}, where `",
                config.client_secret.fingerprint(),
                secrets::sensitive_chars(secret)
            )) + Term::Auth(AuthMethod::Basic)
                + "` (RFC 6749, urlencoded) and `"
                + Term::Auth(AuthMethod::BasicRaw)
                + format!("` send different bytes; {subject} uses {auth}"),
            Text::from("if the server answers invalid_client, try ")
                + Term::Auth(other)
                + " ("
                + Term::ProbeAuth
                + " tries every method)",
        )
        .severity(Severity::Info),
    );
}

/// Diagnose raw secret bytes; return the secret to send for the online checks.
fn examine(
    raw: &ClientSecret,
    kind: Kind,
    origin: &str,
    keep: bool,
    report: &mut Report,
) -> ClientSecret {
    let text = raw.expose_secret();
    let (body, newline) = match text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
    {
        Some(b) if !keep => (b, true),
        _ => (text, false),
    };
    let label = match kind {
        Kind::ClientSecret => "client secret",
        Kind::AccessKeySecret => "access key secret",
    };
    if newline {
        report.push(
            Finding::new(
                Code::SecretTrailingNewline,
                format!("the {label} from {origin} ends in a newline; cctoken strips it, but tools that read the same source raw would send it"),
                "nothing to do for cctoken; elsewhere write the secret without a newline (`printf %s`, `echo -n`)",
            )
            .severity(Severity::Info),
        );
    }
    let place = origin.to_owned();
    let hint = match origin.split_whitespace().next() {
        Some("env") => {
            "set the variable to the bare value (CI secrets: re-paste without surrounding spaces)"
        }
        Some("file") => "rewrite the file with `printf %s \"$SECRET\" > FILE`",
        Some("command") => "make the command print the bare value",
        _ => "remove the surrounding bytes where the secret is stored",
    };
    let mut sub = Report::default();
    secrets::check_secret(
        body,
        &Ctx {
            kind,
            place: &place,
            newline_reported: newline,
            source_hint: hint,
        },
        &mut sub,
    );
    let repaired = sub.has(Code::SecretWhitespace) || sub.has(Code::SecretTrailingNewline);
    for mut f in sub.findings().into_iter().cloned() {
        if keep && f.code == Code::SecretWhitespace {
            // The user asked for the bytes as they are: say so, do not insist.
            f.severity = Severity::Warning;
            f.message = std::mem::take(&mut f.message)
                + " — sent as is because of "
                + Term::KeepSecretBytes;
        }
        report.push(f);
    }
    if keep || !repaired {
        return ClientSecret::new(body);
    }
    let trimmed = body.trim_matches(|c: char| c.is_whitespace());
    report.push(
        Finding::new(
            Code::SecretWhitespace,
            Text::from(Term::FetchToken)
                + format!(" refuses this {label}; doctor's online checks")
                + Term::UnlessOffline
                + " use it with the surrounding whitespace removed",
            Text::from("fix the source; if the server really expects those bytes, pass ")
                + Term::KeepSecretBytes,
        )
        .severity(Severity::Info),
    );
    ClientSecret::new(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(secret_env: &str) -> ProfileSettings {
        ProfileSettings {
            provider: Some(ProviderKind::Genesys),
            region: cctoken::provider::genesys::Region::lookup("eu-west-1"),
            client_id: Some("5a1c3a2e-1b2c-4d5e-8f90-123456789abc".into()),
            client_secret: Some(cctoken::config::SecretSetting::Env(secret_env.into())),
            ..ProfileSettings::default()
        }
    }

    #[test]
    fn trailing_tab_is_secret_whitespace_and_repaired() {
        let env = [("S", "abcdefghijklmnop\t")];
        let off = diagnose_offline(&settings("S"), &env, None, false);
        assert!(off.report.has(Code::SecretWhitespace), "{:?}", off.report);
        assert!(off.report.has_errors());
        let cfg = off.config.unwrap();
        assert_eq!(cfg.client_secret.expose_secret(), "abcdefghijklmnop");
        assert!(!off
            .report
            .render_human(&crate::Plain)
            .contains("abcdefghijklmnop"));
    }

    #[test]
    fn clean_profile_has_no_errors() {
        let env = [("S", "abcdefghijklmnop\n")];
        let off = diagnose_offline(&settings("S"), &env, None, false);
        assert!(
            !off.report.has_errors(),
            "{}",
            off.report.render_human(&crate::Plain)
        );
        assert!(off.report.has(Code::SecretTrailingNewline));
    }

    #[test]
    fn a_short_hs256_secret_is_a_warning() {
        let mut s = settings("S");
        s.auth = Some(AuthMethod::ClientSecretJwt);
        for (secret, warned) in [("short-secret-22-bytes!", true), (&*"x".repeat(32), false)] {
            let env = [("S", secret)];
            let off = diagnose_offline(&s, &env, None, false);
            assert_eq!(off.report.has(Code::AssertionKey), warned, "{secret}");
        }
        // Basic with a short secret is fine.
        let env = [("S", "short-secret-22-bytes!")];
        let off = diagnose_offline(&settings("S"), &env, None, false);
        assert!(!off.report.has(Code::AssertionKey));
    }

    #[test]
    fn advice_comes_as_terms_and_names_no_flag() {
        let env = [("S", "abc+def/ghi\t")];
        let s = ProfileSettings {
            scopes: Some(vec!["a,b".into()]),
            params: Some([("duration".to_owned(), "86400".to_owned())].into()),
            ..settings("S")
        };
        let mut report = diagnose_offline(&s, &env, None, false).report;
        let discovery = ProfileSettings {
            provider: Some(ProviderKind::Generic),
            region: None,
            endpoint: Some(cctoken::provider::Endpoint::Issuer(
                "https://idp.example/".parse().unwrap(),
            )),
            ..settings("S")
        };
        report.extend(diagnose_offline(&discovery, &env, None, false).report);
        let terms: Vec<Term> = report
            .findings()
            .iter()
            .flat_map(|f| f.terms().copied())
            .collect();
        for t in [
            Term::SeveralScopes,
            Term::KeepFresh,
            Term::FetchToken,
            Term::UnlessOffline,
            Term::KeepSecretBytes,
            Term::ProbeAuth,
            Term::RunOnline,
        ] {
            assert!(terms.contains(&t), "{t:?} in {terms:?}");
        }
        let text = report.render_human(&crate::Plain);
        assert!(!text.contains("--") && !text.contains("`cctoken"), "{text}");
    }

    #[test]
    fn unresolvable_profile_is_a_finding() {
        let env = [("X", "y")];
        let off = diagnose_offline(&settings("MISSING"), &env, None, false);
        assert!(off.report.has(Code::ConfigInvalid));
        assert!(off.config.is_none());
    }
}
