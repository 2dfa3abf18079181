//! Client assertions (SPEC §14): a `client_assertion` JWT — pasted in a curl command, or
//! given as a file — decoded without its signature and held against what the request and
//! the server say: `aud` against the issuer and the token endpoint (RFC 10070 asks for the
//! issuer alone), `exp`/`iat`/`nbf` against the local clock and, online, the server's
//! (`Date`), the lifetime against the vendor's limit, `jti`, `typ`, `iss`/`sub` against the
//! client id, `alg` against the key and discovery, `kid` against the key file's keys.
//!
//! [`jwt`] decodes, [`key`] reads a key file for its type and `kid`, the checks live in
//! `claims` (payload) and `header`, and [`verdict`] maps a server's rejection reason to a
//! code. The assertion is a credential: findings show its decoded header and claims with
//! the signature elided ([`jwt::Jwt::shown`]), never the compact text; keys appear only as
//! their type, `kid` and RFC 7638 thumbprint.

mod claims;
mod header;
pub mod jwt;
pub mod key;
pub mod verdict;

use std::time::SystemTime;

use crate::report::{Code, Finding, Report, Severity};
use crate::request::Request;
use key::KeyFile;

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What an assertion is held against.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The client id the request names (body `client_id`, or the profile's).
    pub client_id: Option<String>,
    /// The token endpoint the assertion is sent to.
    pub token_url: Option<String>,
    /// The server's issuer identifier, when known (discovery, or the profile's issuer).
    pub issuer: Option<String>,
    /// `issuer` is spelled as the server spells it (from its discovery document), so a
    /// trailing slash more or less is a real difference.
    pub issuer_exact: bool,
    /// This machine's "now" (the injected clock).
    pub now: SystemTime,
    /// The server's "now", from its `Date` header (online).
    pub server_now: Option<SystemTime>,
    /// `token_endpoint_auth_signing_alg_values_supported`, when known.
    pub signing_algs: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`, when known.
    pub auth_methods: Option<Vec<String>>,
    /// The key file the user named (a private key, or the registered JWK Set).
    pub key: Option<&'a KeyFile>,
}

impl Context<'_> {
    /// A context with only the local clock.
    pub fn at(now: SystemTime) -> Self {
        Context {
            client_id: None,
            token_url: None,
            issuer: None,
            issuer_exact: false,
            now,
            server_now: None,
            signing_algs: None,
            auth_methods: None,
            key: None,
        }
    }
}

/// Decode `text` and check it; an unreadable assertion is `assertion.malformed`.
pub fn check_text(text: &str, ctx: &Context<'_>, report: &mut Report) {
    match jwt::decode(text) {
        Ok(j) => check(&j, ctx, report),
        Err(e) => report.push(Finding::new(
            Code::AssertionMalformed,
            e.to_string(),
            "send the compact JWT as the assertion (three base64url parts joined by dots), exactly as signed",
        )),
    }
}

/// Check a decoded assertion.
pub fn check(j: &jwt::Jwt, ctx: &Context<'_>, report: &mut Report) {
    report.push(Finding::new(
        Code::AssertionDecoded,
        format!("the client assertion decodes to {}", j.shown()),
        "nothing to do; doctor does not verify signatures — the server does, with the key registered for the client",
    ));
    header::check(j, ctx, report);
    claims::check(j, ctx, report);
}

/// The assertion parts of a token request (pasted or prepared): `client_assertion_type`,
/// and the assertion itself when its text is on the command line.
pub fn check_request(r: &Request, now: SystemTime, report: &mut Report) {
    let assertion = r.params("client_assertion").next();
    let kind = r.param("client_assertion_type");
    let Some(assertion) = assertion else {
        if kind.is_some() {
            report.push(Finding::new(
                Code::ParamAssertionType,
                "client_assertion_type is sent without a client_assertion",
                "send the signed JWT as client_assertion, or drop client_assertion_type",
            ));
        }
        return;
    };
    match kind.map(|k| k.literal()) {
        None => report.push(Finding::new(
            Code::ParamAssertionType,
            "client_assertion is sent without client_assertion_type; the server cannot tell how to read it",
            format!("add --data-urlencode client_assertion_type={JWT_BEARER}"),
        )),
        Some(Some(t)) if t != JWT_BEARER => report.push(Finding::new(
            Code::ParamAssertionType,
            format!(
                "client_assertion_type is '{}'; a JWT client assertion is typed {JWT_BEARER}{}",
                cctoken::error::excerpt(&t, 80),
                if t.contains(":grant-type:") {
                    " (the grant-type URN is for the jwt-bearer grant, not for client authentication)"
                } else {
                    ""
                }
            ),
            format!("send client_assertion_type={JWT_BEARER}"),
        )),
        Some(_) => {}
    }
    if r.basic.is_some() || r.params("client_secret").next().is_some() {
        report.push(Finding::new(
            Code::AuthBothMethods,
            "the request sends a client assertion and a client secret (Basic or client_secret); RFC 6749 §2.3 allows one method per request",
            "keep the assertion and remove -u / client_secret (client_id in the body is fine)",
        ));
    }
    let Some(text) = assertion.value.literal() else {
        report.push(
            Finding::new(
                Code::AssertionDecoded,
                format!(
                    "the client assertion comes from {}, which doctor cannot see, so its claims are not checked",
                    assertion.value.display()
                ),
                "check the JWT itself: save it to a file and pass it to doctor's assertion check",
            )
            .severity(Severity::Info),
        );
        return;
    };
    let url = r.url.as_ref().filter(|u| !u.symbolic);
    let ctx = Context {
        client_id: r.param("client_id").and_then(|a| a.literal()),
        token_url: url.map(|u| u.without_query()),
        ..Context::at(now)
    };
    check_text(&text, &ctx, report);
}

/// Seconds since the epoch (negative before it).
fn secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A NumericDate as RFC 3339 (UTC), or the raw number when out of range.
fn when(t: i64) -> String {
    // RFC 3339 (and humantime's formatter) stops at 9999-12-31T23:59:59Z.
    const LAST: u64 = 253_402_300_799;
    u64::try_from(t)
        .ok()
        .filter(|s| *s <= LAST)
        .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
        .map_or_else(
            || t.to_string(),
            |st| humantime::format_rfc3339_seconds(st).to_string(),
        )
}

/// `n` seconds as a human duration.
fn span(n: i64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(n.unsigned_abs())).to_string()
}

/// Check an assertion given as text, with an optional key file's text (a private key or the
/// client's registered JWK Set): the key described (type, `kid`, thumbprint — never its
/// material), then the assertion held against `ctx` and the key.
pub fn diagnose(jwt: &str, key_text: Option<&str>, ctx: &Context<'_>, report: &mut Report) {
    let key = key_text.and_then(|k| match key::read(k) {
        Ok(f) => {
            let keys: Vec<String> = f
                .keys
                .iter()
                .map(|k| {
                    format!(
                        "{}{}{}{}",
                        k.kind.name(),
                        if k.private { " (private)" } else { " (public)" },
                        k.kid.as_ref().map(|i| format!(", kid {i}")).unwrap_or_default(),
                        k.thumbprint
                            .as_ref()
                            .map(|t| format!(", thumbprint {t}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            report.push(
                Finding::new(
                    Code::AssertionKey,
                    format!("the key file is a {}: {}", f.format, keys.join("; ")),
                    "nothing to do",
                )
                .severity(Severity::Info),
            );
            Some(f)
        }
        Err(e) => {
            report.push(Finding::new(
                Code::AssertionKey,
                e.to_string(),
                "give the private key (PEM PKCS#8, SEC1 or PKCS#1, or a JWK) or the client's JWK Set",
            ));
            None
        }
    });
    let ctx = Context {
        key: key.as_ref(),
        ..ctx.clone()
    };
    check_text(jwt, &ctx, report);
}
