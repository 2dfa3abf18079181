//! The assertion's claims: `iss` = `sub` = the client id (or a federated token's external
//! issuer), `aud` against the issuer and the token endpoint, `exp`/`nbf`/`iat` against this
//! machine's clock and the server's, the lifetime against the vendor's limit, and `jti`.

use serde_json::Value;
use url::Url;

use super::jwt::Jwt;
use super::{secs, span, when, Context};
use crate::report::{Code, Finding, Report, Severity};

/// What cctoken signs for (SPEC §14), and the longest lifetime no vendor refuses.
const OWN_LIFETIME: i64 = 60;
const SAFE_LIFETIME: i64 = 300;

/// Vendors' lifetime limits, by token host (Auth0 ≤ 5 min, Okta ≤ 1 h; see research).
fn vendor_limit(token_url: Option<&str>) -> Option<(&'static str, i64)> {
    let host = Url::parse(token_url?)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    let under = |d: &str| host == d || host.ends_with(&format!(".{d}"));
    if under("auth0.com") {
        Some(("Auth0", 300))
    } else if under("okta.com") || under("oktapreview.com") || under("okta-emea.com") {
        Some(("Okta", 3600))
    } else {
        None
    }
}

pub(super) fn check(j: &Jwt, ctx: &Context<'_>, report: &mut Report) {
    let federated = subject(j, ctx, report);
    if !federated {
        audience(j, ctx, report);
    }
    times(j, ctx, report);
    jti(j, report);
}

/// `iss`, `sub` and the client id; true for a federated (external issuer) assertion.
fn subject(j: &Jwt, ctx: &Context<'_>, report: &mut Report) -> bool {
    let (iss, sub) = (j.claim_str("iss"), j.claim_str("sub"));
    let id = ctx.client_id.as_deref();
    let show = |s: &str| cctoken::error::excerpt(s, 80);
    if iss.is_some_and(|i| i.starts_with("https://")) && iss != id {
        report.push(Finding::new(
            Code::AssertionClaims,
            format!(
                "iss is {}, an external issuer: a federated (workload identity) token, sub '{}', aud {}",
                show(iss.unwrap_or_default()),
                show(sub.unwrap_or("(none)")),
                j.claims.get("aud").map_or("(none)".into(), Value::to_string)
            ),
            "the server must trust exactly this issuer, subject and audience for the client (Entra ID: a federated credential with aud api://AzureADTokenExchange; names are case-sensitive)",
        ).severity(Severity::Info));
        return true;
    }
    match (iss, sub) {
        (None, _) | (_, None) => report.push(Finding::new(
            Code::AssertionClaims,
            format!(
                "the assertion has no {}; RFC 7523 requires iss and sub, both the client id",
                if iss.is_none() && sub.is_none() {
                    "iss and no sub"
                } else if iss.is_none() {
                    "iss"
                } else {
                    "sub"
                }
            ),
            "set iss and sub to the client id",
        )),
        (Some(i), Some(s)) if i != s => report.push(Finding::new(
            Code::AssertionClaims,
            format!(
                "iss '{}' and sub '{}' differ; for client authentication both are the client id",
                show(i),
                show(s)
            ),
            "set iss and sub to the client id",
        )),
        (Some(i), Some(_)) => {
            if let Some(id) = id.filter(|id| *id != i) {
                report.push(Finding::new(
                    Code::AssertionClaims,
                    format!(
                        "iss and sub are '{}', but the request's client id is '{}'",
                        show(i),
                        show(id)
                    ),
                    "sign the assertion for this client (iss = sub = client_id)",
                ));
            }
        }
    }
    false
}

/// A URL compared as servers should not: scheme and host case, default port, trailing `/`.
fn loose(s: &str) -> String {
    match Url::parse(s) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path().trim_end_matches('/')
        ),
        Err(_) => s.trim_end_matches('/').to_owned(),
    }
}

fn differs_only(a: &str, b: &str) -> Option<&'static str> {
    if a == b || loose(a) != loose(b) {
        return None;
    }
    Some(if a.trim_end_matches('/') == b.trim_end_matches('/') {
        "a trailing slash"
    } else if a.eq_ignore_ascii_case(b) {
        "letter case"
    } else {
        "spelling (a default port, letter case or a trailing slash)"
    })
}

fn audience(j: &Jwt, ctx: &Context<'_>, report: &mut Report) {
    let values: Vec<String> = match j.claims.get("aud") {
        None => {
            report.push(Finding::new(
                Code::AssertionAud,
                "the assertion has no aud",
                aud_fix(ctx),
            ));
            return;
        }
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => {
            let v: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
            if v.len() > 1 {
                report.push(Finding::new(
                    Code::AssertionAud,
                    format!("aud has {} values ({}); RFC 10070 wants the issuer as the sole value, and servers that follow it reject several (audience injection, CVE-2025-27370)", v.len(), v.join(", ")),
                    aud_fix(ctx),
                ).severity(Severity::Warning));
            } else {
                report.push(Finding::new(
                    Code::AssertionAud,
                    "aud is a one-member array; RFC 10070 allows it, some servers (Keycloak) want a string",
                    "send aud as a string",
                ).severity(Severity::Info));
            }
            v
        }
        Some(other) => {
            report.push(Finding::new(
                Code::AssertionAud,
                format!("aud is {other}, neither a string nor an array of strings"),
                aud_fix(ctx),
            ));
            return;
        }
    };
    let Some(aud) = values.first() else { return };
    let token = ctx.token_url.as_deref();
    let shown = cctoken::error::excerpt(aud, 120);
    if let Some(issuer) = ctx.issuer.as_deref() {
        if aud == issuer {
            return;
        }
        if let Some(what) = differs_only(aud, issuer) {
            if !ctx.issuer_exact && what == "a trailing slash" {
                report.push(Finding::new(
                    Code::AssertionAud,
                    format!("aud '{shown}' is the issuer given up to a trailing slash; servers compare aud exactly, and only the server's discovery document spells its issuer"),
                    "compare aud with the issuer member of the server's discovery document (doctor reads it online)",
                ).severity(Severity::Info));
                return;
            }
            report.push(Finding::new(
                Code::AssertionAud,
                format!("aud '{shown}' differs from the issuer '{issuer}' in {what}; servers compare aud exactly"),
                format!("set aud to exactly '{issuer}'"),
            ));
            return;
        }
    }
    if let Some(t) = token {
        if aud == t {
            report.push(Finding::new(
                Code::AssertionAud,
                format!("aud is the token endpoint {t}; RFC 10070 forbids it — servers that follow it (strict audience mode, Keycloak under FAPI 2) reject it, older ones accept it"),
                aud_fix(ctx),
            ).severity(Severity::Warning));
            return;
        }
        if let Some(what) = differs_only(aud, t) {
            report.push(Finding::new(
                Code::AssertionAud,
                format!("aud '{shown}' differs from the token endpoint '{t}' in {what}; servers compare aud exactly"),
                aud_fix(ctx),
            ));
            return;
        }
    }
    let host = |s: &str| {
        Url::parse(s)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    match (ctx.issuer.as_deref(), token) {
        (Some(issuer), _) => report.push(Finding::new(
            Code::AssertionAud,
            format!("aud '{shown}' is neither the issuer '{issuer}' nor the token endpoint{}", token.map(|t| format!(" {t}")).unwrap_or_default()),
            format!("set aud to the issuer '{issuer}'"),
        )),
        (None, Some(t)) if host(aud) != host(t) => report.push(Finding::new(
            Code::AssertionAud,
            format!("aud '{shown}' names another server than the one the request goes to ({t})"),
            aud_fix(ctx),
        )),
        (None, Some(_)) => report.push(Finding::new(
            Code::AssertionAud,
            format!("aud '{shown}' is not the token endpoint; if it is the server's issuer identifier, that is what RFC 10070 asks for — without the server's discovery document doctor cannot tell"),
            "compare aud with the issuer member of the server's discovery document",
        ).severity(Severity::Info)),
        (None, None) => {}
    }
}

fn aud_fix(ctx: &Context<'_>) -> String {
    match &ctx.issuer {
        Some(i) => format!("set aud to the issuer '{i}' (a string)"),
        None => "set aud to the server's issuer identifier (the issuer member of its discovery document), as a string".into(),
    }
}

fn times(j: &Jwt, ctx: &Context<'_>, report: &mut Report) {
    let (exp, iat, nbf) = (j.time("exp"), j.time("iat"), j.time("nbf"));
    let Some(exp) = exp else {
        report.push(Finding::new(
            Code::AssertionClaims,
            "the assertion has no exp; RFC 7523 requires one",
            format!("set exp to iat + {OWN_LIFETIME} s"),
        ));
        return;
    };
    let fresh =
        "sign a fresh assertion for every request (cctoken signs one per attempt, valid 60 s)";
    let local = secs(ctx.now);
    let mut expired_locally = false;
    if exp <= local {
        expired_locally = true;
        report.push(Finding::new(
            Code::AssertionExpired,
            format!(
                "the assertion expired {} ago (exp {}, this machine's clock {})",
                span(local.saturating_sub(exp)),
                when(exp),
                when(local)
            ),
            fresh,
        ));
    }
    if let Some(n) = nbf.filter(|n| *n > local) {
        report.push(Finding::new(
            Code::AssertionExpired,
            format!(
                "the assertion is not valid for another {} (nbf {}, this machine's clock {})",
                span(n.saturating_sub(local)),
                when(n),
                when(local)
            ),
            "set nbf to the signing time (or leave it out); check the signer's clock",
        ));
    }
    if let Some(i) = iat.filter(|i| *i > local.saturating_add(60)) {
        report.push(Finding::new(
            Code::AssertionExpired,
            format!("the assertion was issued {} in the future (iat {}): the signer's clock is ahead", span(i.saturating_sub(local)), when(i)),
            "synchronise the signer's clock (NTP)",
        ).severity(Severity::Warning));
    }
    if let Some(server) = ctx.server_now.map(secs) {
        let skew = server.saturating_sub(local);
        let who = if skew > 0 { "ahead of" } else { "behind" };
        if exp <= server && !expired_locally {
            report.push(Finding::new(
                Code::AssertionExpired,
                format!("by the server's clock (Date {}) the assertion expired {} ago, though it is valid here: the server's clock is {} {who} this machine's", when(server), span(server.saturating_sub(exp)), span(skew)),
                "synchronise this machine's clock (NTP); assertions live only seconds, so a skew of more than a few seconds breaks them",
            ));
        }
        let start = nbf.or(iat);
        if let Some(s) = start.filter(|s| *s > server.saturating_add(15)) {
            report.push(Finding::new(
                Code::AssertionExpired,
                format!("by the server's clock (Date {}) the assertion is from {} in the future (iat/nbf {}): this machine's clock is {} {}, and servers reject assertions not yet valid", when(server), span(s.saturating_sub(server)), when(s), span(skew), if skew > 0 { "behind" } else { "ahead" }),
                "synchronise this machine's clock (NTP)",
            ));
        }
    }
    lifetime(exp, iat.or(nbf), ctx, report);
}

fn lifetime(exp: i64, start: Option<i64>, ctx: &Context<'_>, report: &mut Report) {
    let Some(start) = start else { return };
    let life = exp.saturating_sub(start);
    if life <= 0 {
        report.push(Finding::new(
            Code::AssertionLifetime,
            format!(
                "exp ({}) is not after iat/nbf ({}): the assertion is never valid",
                when(exp),
                when(start)
            ),
            format!("set exp to iat + {OWN_LIFETIME} s"),
        ));
        return;
    }
    match vendor_limit(ctx.token_url.as_deref()) {
        Some((vendor, limit)) if life > limit => report.push(Finding::new(
            Code::AssertionLifetime,
            format!("the assertion lives {}; {vendor} accepts at most {}", span(life), span(limit)),
            format!("sign it for {OWN_LIFETIME} s (exp = iat + {OWN_LIFETIME})"),
        )),
        Some(_) => {}
        None if life > SAFE_LIFETIME => report.push(Finding::new(
            Code::AssertionLifetime,
            format!("the assertion lives {}; servers limit that (Auth0: 5 min, Okta: 1 h, Keycloak: 60 s by default), and a long-lived assertion is a replayable credential", span(life)),
            format!("sign it for {OWN_LIFETIME} s (exp = iat + {OWN_LIFETIME})"),
        ).severity(Severity::Warning)),
        None => {}
    }
}

fn jti(j: &Jwt, report: &mut Report) {
    match j.claims.get("jti") {
        Some(Value::String(s)) if !s.is_empty() => {}
        None => report.push(Finding::new(
            Code::AssertionJti,
            "the assertion has no jti; OpenID Connect servers require one and keep it to refuse replays (oidc-provider rejects assertions without it)",
            "add a fresh random jti to every assertion (cctoken does, per attempt)",
        )),
        Some(other) => report.push(Finding::new(
            Code::AssertionJti,
            format!("jti is {other}, not a non-empty string"),
            "add a fresh random jti string to every assertion",
        )),
    }
}
