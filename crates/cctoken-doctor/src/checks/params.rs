//! The form parameters: `grant_type` (missing, misspelt, in the query, CXone's
//! `client_credentials`), parameters the grant does not define (and lifetime wishes),
//! scope format, and raw `-d` values that form decoding changes.

use super::platform::Platform;
use crate::paste::expand::Arg;
use crate::report::{Code, Finding, Report, Severity};
use crate::request::{BodyKind, FormPair, Request, Source};
use crate::text::{Term, Text};
use cctoken::secret::Fingerprint;

/// Parameter names that make a token last longer — in wishes only.
const LIFETIME_PARAMS: &[&str] = &[
    "duration",
    "expires_in",
    "expires",
    "expiry",
    "expiration",
    "expires_at",
    "lifetime",
    "ttl",
    "token_ttl",
    "token_lifetime",
    "access_token_lifetime",
    "validity",
    "exp",
    "max_age",
    "token_expiry",
    "access_token_expires_in",
];

/// Parameters whose values are credentials.
pub(super) const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "password",
    "refresh_token",
    "client_assertion",
];

pub(super) fn grant(r: &Request, plat: Platform, report: &mut Report) {
    if r.url.is_none() || (r.body == BodyKind::Json && !r.json_read) {
        // A JSON body that is not a readable object: its content cannot be judged.
        return;
    }
    let cxone = plat == Platform::Cxone;
    let example = if cxone {
        "-d grant_type=password --data-urlencode \"username=$ACCESS_KEY_ID\" --data-urlencode \"password=$ACCESS_KEY_SECRET\""
    } else {
        "-d grant_type=client_credentials"
    };
    let all: Vec<_> = r.params("grant_type").collect();
    let Some(first) = all.first() else {
        report.push(missing_grant(r, cxone, example));
        return;
    };
    if all.iter().all(|p| p.in_query) {
        report.push(Finding::new(
            Code::ParamGrantType,
            "grant_type is in the URL query; the token endpoint reads it from the POST body",
            format!("send it in the body: {example} (without -G)"),
        ));
    }
    if all.len() > 1 {
        report.push(Finding::new(
            Code::ParamGrantType,
            format!(
                "grant_type is sent {} times; servers take the first or reject the request",
                all.len()
            ),
            "send it once",
        ));
    }
    let Some(value) = first.value.literal() else {
        return;
    };
    let known = [
        "client_credentials",
        "password",
        "refresh_token",
        "authorization_code",
    ];
    if !known.contains(&value.as_str()) && !value.starts_with("urn:") {
        let squashed: String = value
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let hint = if squashed.starts_with("clientcredential") {
            "it must be spelled exactly client_credentials (underscore, plural, lower case)"
                .to_owned()
        } else {
            "the grant for back-end access is client_credentials".to_owned()
        };
        report.push(Finding::new(
            Code::ParamGrantType,
            format!(
                "grant_type is '{}', which is not a grant type; {hint}",
                cctoken::error::excerpt(&value, 40)
            ),
            format!("send {example}"),
        ));
    }
    // A real grant type, but not one this platform serves (password to Genesys): say which
    // ones it does. A platform-mismatch hint may come on top of this, never instead.
    if let Some(grants) = plat.grants() {
        let cxone_cc = cxone && value == "client_credentials";
        let a_grant = known.contains(&value.as_str()) || value.starts_with("urn:");
        if a_grant && !grants.contains(&value.as_str()) && !cxone_cc {
            report.push(Finding::new(
                Code::ParamGrantType,
                format!(
                    "grant_type is '{value}', which {} does not support; its token endpoint serves {}",
                    plat.name(),
                    grants.join(", ")
                ),
                format!("for back-end access send {example}"),
            ));
        }
    }
    if cxone && value == "client_credentials" {
        report.push(Finding::new(
            Code::CxoneClientCredentials,
            "client_credentials is sent to NICE CXone, which issues back-end tokens only for an API user's access key (password grant)",
            Text::from(format!("send {example} with the registered app in -u \"$APP_CLIENT_ID:$APP_CLIENT_SECRET\" — or "))
                + Term::CxoneAccessKey,
        ));
    }
}

/// No `grant_type` where doctor can look: an error, unless part of the body is out of sight.
fn missing_grant(r: &Request, cxone: bool, example: &str) -> Finding {
    if !r.unseen.is_empty() {
        let from = r.unseen.join(", ");
        let body = if cxone {
            "grant_type=password&username=…&password=… (form-encoded)"
        } else {
            "grant_type=client_credentials"
        };
        let seen_any = r.form.iter().any(|p| !p.in_query);
        let message = if seen_any {
            format!("grant_type is not in the part of the body doctor can read; the rest comes from {from}, which doctor cannot see")
        } else {
            format!("the body comes from {from}, which doctor cannot see, so whether it holds grant_type is unknown")
        };
        let what = from.trim_start_matches('@');
        return Finding::new(
            Code::ParamGrantType,
            message,
            format!("make sure {what} holds {body}"),
        )
        .severity(Severity::Info);
    }
    if r.body == BodyKind::Json {
        return Finding::new(
            Code::ParamGrantType,
            "the JSON body has no grant_type member either",
            format!("send a form body with {example}"),
        );
    }
    Finding::new(
        Code::ParamGrantType,
        "the request has no grant_type parameter",
        format!("add {example}"),
    )
}

pub(super) fn params(r: &Request, report: &mut Report) {
    // A JSON body's members are not parameters (body.json says why); only a lifetime wish
    // among them is still worth its explanation.
    let json = r.body == BodyKind::Json;
    let grant = r
        .param("grant_type")
        .and_then(Arg::literal)
        .unwrap_or_default();
    let mut known = vec![
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "audience",
        "resource",
        "client_assertion",
        "client_assertion_type",
    ];
    match grant.as_str() {
        "password" => known.extend(["username", "password"]),
        "refresh_token" => known.push("refresh_token"),
        "authorization_code" => known.extend(["code", "redirect_uri", "code_verifier"]),
        _ => {}
    }
    let mut prev: Option<&str> = None;
    for p in &r.form {
        let lname = p.name.to_ascii_lowercase();
        if json && !LIFETIME_PARAMS.contains(&lname.as_str()) {
            continue;
        }
        if p.orphan && !p.encoded && !p.name.is_empty() {
            let after = prev.map(|n| format!(" after `{n}`")).unwrap_or_default();
            report.push(Finding::new(
                Code::ParamUnencoded,
                format!("the raw body has a piece without '='{after}: an unencoded '&' inside a value split it in two"),
                "encode the value: --data-urlencode 'name=value' (or write & as %26)",
            ));
        } else if LIFETIME_PARAMS.contains(&lname.as_str()) {
            report.push(Finding::new(
                Code::TokenLongLived,
                format!("`{}` asks for a longer-lived token; token endpoints have no such parameter — the lifetime is set by the server (Genesys: per OAuth client, 300–172800 s, default 86400 s; CXone: 3600 s)", p.name),
                Text::from("do not try to extend tokens: ") + Term::KeepFresh,
            ));
            report.push(Finding::new(
                Code::ParamUnknown,
                format!(
                    "parameter `{}` is not defined for the {} grant; servers ignore or reject it",
                    p.name,
                    grant_name(&grant)
                ),
                format!("remove `{}` from the body", p.name),
            ));
        } else if !p.name.contains('$') && !known.contains(&p.name.as_str()) && !p.orphan {
            report.push(Finding::new(
                Code::ParamUnknown,
                format!("parameter `{}` is not defined for the {} grant", cctoken::error::excerpt(&p.name, 40), grant_name(&grant)),
                format!("remove `{}` (client_credentials takes grant_type and optionally scope/audience)", cctoken::error::excerpt(&p.name, 40)),
            ));
        }
        if lname == "scope" && r.source == Source::Curl {
            scope(p, report);
        }
        if !p.encoded
            && !p.in_query
            && r.source == Source::Curl
            && SECRET_PARAMS.contains(&lname.as_str())
        {
            unencoded_secret(p, report);
        }
        prev = Some(&p.name);
    }
}

fn grant_name(g: &str) -> String {
    if g.is_empty() || g.contains(['$', ' ']) {
        "client_credentials".into()
    } else {
        cctoken::error::excerpt(g, 30)
    }
}

fn scope(p: &FormPair, report: &mut Report) {
    if let Some(v) = p.value.literal() {
        if v.contains(',') {
            report.push(Finding::new(
                Code::ParamScopeFormat,
                format!(
                    "scopes are separated by commas ('{}'); the server reads that as one scope",
                    cctoken::error::excerpt(&v, 60)
                ),
                format!(
                    "separate scopes with spaces: --data-urlencode 'scope={}'",
                    v.split(',').map(str::trim).collect::<Vec<_>>().join(" ")
                ),
            ));
        }
    }
    if let Some(raw) = p.raw.literal() {
        if !p.encoded && raw.contains(' ') {
            report.push(Finding::new(
                Code::ParamScopeFormat,
                "the scope value has unencoded spaces in a raw -d body",
                "encode it: --data-urlencode 'scope=a b' (or write the spaces as %20 or +)",
            ));
        }
    }
}

fn unencoded_secret(p: &FormPair, report: &mut Report) {
    let fix = format!("let curl encode it: --data-urlencode \"{}=$VALUE\" (or percent-encode + as %2B, & as %26, = as %3D, % as %25)", p.name);
    match p.raw.literal() {
        Some(raw) => {
            let fp = Fingerprint::of(raw.as_bytes());
            let changes: Vec<&str> = [
                (raw.contains('+'), "'+' becomes a space"),
                (raw.contains(' '), "a raw space"),
                (has_pct_escape(&raw), "'%XX' is decoded"),
                (raw.contains('%') && !has_pct_escape(&raw), "a bare '%'"),
            ]
            .iter()
            .filter_map(|(c, w)| c.then_some(*w))
            .collect();
            if !changes.is_empty() {
                report.push(Finding::new(
                    Code::ParamUnencoded,
                    format!(
                        "the raw -d value of {} ({fp}) is changed by form decoding: {}",
                        p.name,
                        changes.join(", ")
                    ),
                    fix.clone(),
                ));
            } else if raw.contains('=') {
                report.push(Finding::new(
                    Code::ParamUnencoded,
                    format!("the raw -d value of {} ({fp}) contains '='; lenient servers keep it, strict ones split on it", p.name),
                    fix,
                ).severity(Severity::Warning));
            }
        }
        None if !p.raw.vars().is_empty() => {
            report.push(Finding::new(
                Code::ParamUnencoded,
                format!("the value of {} comes from ${} and is sent without encoding; any + & = % or space in it is decoded differently by the server", p.name, p.raw.vars().join(", $")),
                fix,
            ).severity(Severity::Warning));
        }
        None => {}
    }
}

fn has_pct_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}
