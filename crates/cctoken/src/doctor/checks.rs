//! The judgement: a [`Request`] held against every finding code of SPEC §8 and the provider
//! tables — the Genesys region table ([`crate::provider::genesys`]: tokens on
//! `login.<domain>/oauth/token`) and CXone's hosts (`*.niceincontact.com`, tokens at the
//! issuer's `/auth/token`, password grant with an access key).
//!
//! Each check is a small function that reads the model and pushes findings with a concrete
//! fix. Nothing here parses text or touches the network; secrets are only fingerprinted.

use super::expand::Arg;
use super::report::{Code, Finding, Report, Severity};
use super::request::{Basic, BasicOrigin, BasicProblem, BodyKind, Request, Source};
use super::secrets::{self, Ctx, Kind};
use crate::provider::genesys::Region;
use crate::provider::CXONE_ISSUER;
use crate::secret::Fingerprint;

/// Which platform a token host belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// A Genesys Cloud region's domain.
    Genesys(&'static Region),
    /// NICE CXone.
    Cxone,
    /// This machine (an emulator, a local peer).
    Loopback,
    /// Anything else (or unknown).
    Other,
}

/// The platform of `host`.
pub fn platform(host: &str) -> Platform {
    let h = host.to_ascii_lowercase();
    if let Some(r) = Region::for_host(&h) {
        return Platform::Genesys(r);
    }
    if h == "niceincontact.com"
        || h.ends_with(".niceincontact.com")
        || h.ends_with(".nice-incontact.com")
    {
        return Platform::Cxone;
    }
    if h == "localhost" || h.starts_with("127.") || h == "::1" || h == "[::1]" {
        return Platform::Loopback;
    }
    Platform::Other
}

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
const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "password",
    "refresh_token",
    "client_assertion",
];

/// Run every check on `r`.
pub fn check(r: &Request, report: &mut Report) {
    let plat = r.url.as_ref().map_or(Platform::Other, |u| {
        if u.symbolic && u.host.contains('$') {
            Platform::Other
        } else {
            platform(&u.host)
        }
    });
    curl_notes(r, report);
    endpoint(r, plat, report);
    method_and_body(r, report);
    grant(r, plat, report);
    params(r, report);
    auth(r, plat, report);
    unexpanded(r, report);
}

fn token_url_for(plat: Platform) -> String {
    match plat {
        Platform::Genesys(reg) => format!("https://login.{}/oauth/token", reg.domain),
        _ => format!("{CXONE_ISSUER}/auth/token"),
    }
}

fn curl_notes(r: &Request, report: &mut Report) {
    if r.source != Source::Curl {
        return;
    }
    if r.url.is_none() {
        report.push(Finding::new(
            Code::CurlParse,
            "the curl command has no URL",
            "add the token endpoint, e.g. https://login.mypurecloud.com/oauth/token",
        ));
    }
    if !r.extra_urls.is_empty() {
        report.push(Finding::new(
            Code::CurlParse,
            format!(
                "curl receives {} more URL argument(s) after the first: an unquoted expansion with a space or line break (e.g. wrapped base64) split into extra arguments",
                r.extra_urls.len()
            ),
            "double-quote every expansion: -H \"Authorization: Basic $CREDS\"",
        ).severity(Severity::Warning));
    }
    for f in &r.data_files {
        let binary_note = if f.starts_with("--data-binary") {
            " (--data-binary keeps a trailing newline of the file; -d strips CR/LF)"
        } else {
            ""
        };
        report.push(Finding::new(
            Code::CurlDataFile,
            format!("`{f}` reads the body from a file that doctor does not open{binary_note}"),
            "check the file's bytes separately (e.g. `od -c FILE | tail -2` shows a trailing \\n)",
        ));
    }
    for o in &r.unknown_options {
        report.push(Finding::new(
            Code::CurlUnknownOption,
            format!("curl option {o} is not modelled by doctor; it was ignored"),
            "nothing to do unless that option changes the request body, headers or URL",
        ));
    }
    if r.config_file {
        report.push(Finding::new(
            Code::CurlUnknownOption,
            "-K/--config adds options from a file that doctor does not read",
            "check the config file's -u/-d/-H lines separately",
        ));
    }
}

fn endpoint(r: &Request, plat: Platform, report: &mut Report) {
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
            let good = format!("https://login.{}/oauth/token", reg.domain);
            if u.host != format!("login.{}", reg.domain) {
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
        Platform::Loopback | Platform::Other => {
            if path.contains("/.well-known/") {
                report.push(Finding::new(
                    Code::EndpointPath,
                    format!("{path} is a discovery document, not the token endpoint"),
                    "POST to the token_endpoint listed in that document (or let `cctoken get --issuer` discover it)",
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

fn method_and_body(r: &Request, report: &mut Report) {
    if r.method != "POST" && r.url.is_some() {
        report.push(Finding::new(
            Code::RequestMethod,
            format!(
                "the request is sent with {}; token endpoints accept only POST (RFC 6749 §3.2)",
                r.method
            ),
            "remove -G/--get and -X GET; `curl -d …` sends a POST",
        ));
    }
    let ct = r.content_type.as_deref().unwrap_or_default();
    if r.body == BodyKind::Json || ct.contains("json") {
        let how = if r.body == BodyKind::Json && ct.contains("json") {
            "a JSON document with Content-Type: application/json"
        } else if r.body == BodyKind::Json {
            "a JSON document"
        } else {
            "declared as Content-Type: application/json"
        };
        report.push(Finding::new(
            Code::BodyJson,
            format!("the body is {how}; token endpoints read application/x-www-form-urlencoded (RFC 6749 §4.4.2)"),
            "send a form body: -d grant_type=client_credentials, with the client in -u \"$CLIENT_ID:$CLIENT_SECRET\" (no --json, no JSON Content-Type)",
        ));
    }
    if r.body == BodyKind::Multipart {
        report.push(Finding::new(
            Code::BodyMultipart,
            "-F sends multipart/form-data; token endpoints read application/x-www-form-urlencoded",
            "use -d / --data-urlencode instead of -F",
        ));
    }
}

fn grant(r: &Request, plat: Platform, report: &mut Report) {
    if r.body == BodyKind::Json || r.url.is_none() {
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
        report.push(Finding::new(
            Code::ParamGrantType,
            "the request has no grant_type parameter",
            format!("add {example}"),
        ));
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
                crate::error::excerpt(&value, 40)
            ),
            format!("send {example}"),
        ));
    }
    if cxone && value == "client_credentials" {
        report.push(Finding::new(
            Code::CxoneClientCredentials,
            "client_credentials is sent to NICE CXone, which issues back-end tokens only for an API user's access key (password grant)",
            format!("send {example} with the registered app in -u \"$APP_CLIENT_ID:$APP_CLIENT_SECRET\" — or `cctoken get --provider cxone --access-key-id ID`"),
        ));
    }
}

fn params(r: &Request, report: &mut Report) {
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
                "do not try to extend tokens: run jobs under `cctoken exec` or ask `cctoken agent`, which keep a fresh token for as long as they run",
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
                format!("parameter `{}` is not defined for the {} grant", crate::error::excerpt(&p.name, 40), grant_name(&grant)),
                format!("remove `{}` (client_credentials takes grant_type and optionally scope/audience)", crate::error::excerpt(&p.name, 40)),
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
        crate::error::excerpt(g, 30)
    }
}

fn scope(p: &super::request::FormPair, report: &mut Report) {
    if let Some(v) = p.value.literal() {
        if v.contains(',') {
            report.push(Finding::new(
                Code::ParamScopeFormat,
                format!(
                    "scopes are separated by commas ('{}'); the server reads that as one scope",
                    crate::error::excerpt(&v, 60)
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

fn unencoded_secret(p: &super::request::FormPair, report: &mut Report) {
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

fn auth(r: &Request, plat: Platform, report: &mut Report) {
    let genesys = matches!(plat, Platform::Genesys(_));
    let body_secret: Vec<_> = r.params("client_secret").collect();
    let body_id = r.params("client_id").next();
    if let Some(b) = &r.basic {
        basic(r, b, plat, report);
        if !body_secret.is_empty() {
            report.push(Finding::new(
                Code::AuthBothMethods,
                "client credentials are sent both in the Basic header and as client_secret in the body; RFC 6749 §2.3 allows one method per request and servers reject the mix",
                "keep one: -u \"$CLIENT_ID:$CLIENT_SECRET\" and remove client_id/client_secret from the body (or drop -u and the Authorization header)",
            ));
        }
    }
    if r.user_option_ignored {
        report.push(
            Finding::new(
                Code::AuthBothMethods,
                "both -u and an Authorization header are given; curl sends only the header",
                "keep one of them (-u \"$CLIENT_ID:$CLIENT_SECRET\" is simplest)",
            )
            .severity(Severity::Warning),
        );
    }
    if let Some(other) = &r.other_auth {
        report.push(Finding::new(
            Code::AuthOtherScheme,
            format!("the token request authenticates with {other}; the token endpoint expects the OAuth client's id and secret"),
            "use -u \"$CLIENT_ID:$CLIENT_SECRET\" (HTTP Basic); a Bearer token is what you get back, not what you send",
        ));
    }
    let assertion = r.param("client_assertion").is_some();
    if r.basic.is_none()
        && body_secret.is_empty()
        && r.other_auth.is_none()
        && !assertion
        && !r.config_file
        && r.body != BodyKind::Json
        && r.url.is_some()
    {
        let msg = if body_id.is_some() {
            "the request sends client_id but no client secret: confidential clients must authenticate"
        } else {
            "the request carries no client authentication (no -u, no Authorization: Basic, no client_secret)"
        };
        report.push(Finding::new(
            Code::AuthMissing,
            msg,
            "add -u \"$CLIENT_ID:$CLIENT_SECRET\" (curl builds the Basic header)",
        ));
    }
    for p in &body_secret {
        body_secret_checks(r, p, "the body's client_secret", Kind::ClientSecret, report);
    }
    for p in r.params("password") {
        body_secret_checks(r, p, "the body's password", Kind::AccessKeySecret, report);
    }
    if let Some(id) = body_id
        .and_then(|p| p.value.literal())
        .filter(|_| r.source == Source::Curl)
    {
        secrets::check_client_id(&id, genesys, "the body's client_id", report);
    }
}

fn body_secret_checks(
    r: &Request,
    p: &super::request::FormPair,
    place: &str,
    kind: Kind,
    report: &mut Report,
) {
    let ctx = Ctx {
        kind,
        place,
        newline_reported: false,
        source_hint: "fix the variable or file the value comes from",
    };
    if r.source == Source::Profile {
        // The profile's secrets were checked from their raw bytes (see `profile`).
        return;
    }
    if let Some(v) = p.value.literal() {
        if unexpanded_text(&v) {
            return;
        }
        secrets::check_secret(&v, &ctx, report);
        if r.source == Source::Curl {
            report.push(secrets::in_argv(
                place,
                true,
                Some(&Fingerprint::of(v.as_bytes())),
            ));
        }
    } else if r.source == Source::Curl && !p.value.vars().is_empty() {
        report.push(secrets::in_argv(place, false, None));
    }
}

fn basic(r: &Request, b: &Basic, plat: Platform, report: &mut Report) {
    let genesys = matches!(plat, Platform::Genesys(_));
    let from = match b.origin {
        BasicOrigin::UserOption => "-u",
        BasicOrigin::Header => "the Basic header",
    };
    let id_secret_len = match (
        b.id.as_ref().and_then(Arg::literal),
        b.secret.as_ref().and_then(Arg::literal),
    ) {
        (Some(i), Some(s)) => Some(i.len() + 1 + s.len()),
        _ => None,
    };
    for p in &b.problems {
        let (msg, fix) = match p {
            BasicProblem::Wrapped(w) => (
                format!(
                    "the Basic value contains a line break: {} wraps its output at {} columns{}, so the header is cut in two",
                    if *w == Some(64) { "openssl base64" } else { "GNU base64" },
                    w.unwrap_or(76),
                    id_secret_len.map(|n| format!(" and id:secret is {n} bytes (over {})", w.unwrap_or(76) / 4 * 3)).unwrap_or_default()
                ),
                "use `printf %s \"$CLIENT_ID:$CLIENT_SECRET\" | base64 -w0` (macOS: base64 -b 0; openssl: base64 -A), or let curl build it: -u \"$CLIENT_ID:$CLIENT_SECRET\"".to_owned(),
            ),
            BasicProblem::NotBase64 { looks_plain: true } => (
                "the Basic value is not base64: it looks like id:secret sent as is".to_owned(),
                "base64-encode it (`printf %s \"$CLIENT_ID:$CLIENT_SECRET\" | base64 -w0`) or use -u \"$CLIENT_ID:$CLIENT_SECRET\"".to_owned(),
            ),
            BasicProblem::NotBase64 { looks_plain: false } => (
                "the Basic value is not valid base64".to_owned(),
                "build it with `printf %s \"$CLIENT_ID:$CLIENT_SECRET\" | base64 -w0`, or use -u \"$CLIENT_ID:$CLIENT_SECRET\"".to_owned(),
            ),
            BasicProblem::NoColon if b.origin == BasicOrigin::UserOption => (
                "-u has no ':' between client id and secret, so curl stops to prompt for a password (and a CI job hangs or sends an empty one)".to_owned(),
                "give both: -u \"$CLIENT_ID:$CLIENT_SECRET\"".to_owned(),
            ),
            BasicProblem::NoColon => (
                "the decoded Basic value has no ':' between client id and secret".to_owned(),
                "encode id:secret, not the secret alone: `printf %s \"$CLIENT_ID:$CLIENT_SECRET\" | base64 -w0`".to_owned(),
            ),
            BasicProblem::Empty => (
                "the Authorization header says Basic but carries no credentials (an empty variable?)".to_owned(),
                "check that the variable is set before the curl command, or use -u \"$CLIENT_ID:$CLIENT_SECRET\"".to_owned(),
            ),
        };
        report.push(Finding::new(Code::AuthBasicMalformed, msg, fix));
    }
    if let Some(w) = b.may_wrap {
        let f = Finding::new(
            Code::AuthBasicMalformed,
            format!(
                "`base64` without -w0 wraps its output at {w} columns: any id:secret longer than {} bytes gets a line break inside the header{}",
                w / 4 * 3,
                if genesys { " — a Genesys UUID client id with its secret is about 80 bytes, so this always breaks" } else { "" }
            ),
            "use `base64 -w0` (macOS: base64 -b 0), or let curl build the header: -u \"$CLIENT_ID:$CLIENT_SECRET\"",
        );
        report.push(if genesys {
            f
        } else {
            f.severity(Severity::Warning)
        });
    }
    if b.encodes_newline {
        report.push(Finding::new(
            Code::SecretTrailingNewline,
            "`echo` without -n adds a newline that gets base64-encoded into the Basic value: the server sees the secret with '\\n' at the end",
            "use `echo -n` or better `printf %s \"$CLIENT_ID:$CLIENT_SECRET\" | base64 -w0`, or -u \"$CLIENT_ID:$CLIENT_SECRET\"",
        ));
    }
    if let Some(id) =
        b.id.as_ref()
            .and_then(Arg::literal)
            .filter(|_| r.source == Source::Curl)
    {
        secrets::check_client_id(&id, genesys, from, report);
    }
    match b.secret.as_ref().map(|s| (s.literal(), s)) {
        // An unexpanded `$VAR` / `{{var}}` is reported by `unexpanded`, not as a secret.
        Some((Some(secret), _)) if unexpanded_text(&secret) => {}
        Some((Some(secret), _)) => {
            let ctx = Ctx {
                kind: Kind::ClientSecret,
                place: from,
                newline_reported: b.encodes_newline,
                source_hint:
                    "use `printf %s` (not echo) and check the variable or file it comes from",
            };
            if r.source == Source::Curl {
                secrets::check_secret(&secret, &ctx, report);
            }
            let fp = Fingerprint::of(secret.as_bytes());
            let bare = secret.trim_end_matches(['\r', '\n']);
            if secrets::encoding_sensitive(bare) && !secrets::sensitive_chars(bare).is_empty() {
                encoding_finding(r, bare, &fp, plat, report);
            }
            if r.source == Source::Curl {
                if b.literal {
                    report.push(secrets::in_argv(from, true, Some(&fp)));
                } else {
                    report.push(secrets::in_argv(from, false, None));
                }
            }
        }
        Some((None, _)) if r.source == Source::Curl => {
            report.push(secrets::in_argv(from, false, None))
        }
        _ => {}
    }
}

fn encoding_finding(
    r: &Request,
    secret: &str,
    fp: &Fingerprint,
    plat: Platform,
    report: &mut Report,
) {
    let chars = secrets::sensitive_chars(secret);
    let (msg, fix, sev) = match (r.source, plat) {
        (Source::Curl, Platform::Genesys(_)) => (
            format!("the secret ({fp}) contains {chars}: curl -u sends it raw (basic-raw), which Genesys accepts; RFC 6749 Basic would urlencode it first"),
            "nothing to change for Genesys; `cctoken --auth basic-raw` sends the same".to_owned(),
            Severity::Info,
        ),
        (Source::Curl, _) => (
            format!("the secret ({fp}) contains {chars}: curl sends Basic credentials raw, but RFC 6749 §2.3.1 servers form-decode them and see a different secret"),
            "if the server answers invalid_client, send the credentials in the body with --data-urlencode client_id=… --data-urlencode client_secret=…, or run `cctoken doctor --probe-auth` to find the method it accepts".to_owned(),
            Severity::Warning,
        ),
        (Source::Profile, _) => (
            format!("the secret ({fp}) contains {chars}, where `--auth basic` (RFC, urlencoded) and `--auth basic-raw` send different bytes"),
            "if the server answers invalid_client, try the other one (`cctoken doctor --probe-auth` does)".to_owned(),
            Severity::Info,
        ),
    };
    report.push(Finding::new(Code::SecretEncodingSensitive, msg, fix).severity(sev));
}

fn unexpanded(r: &Request, report: &mut Report) {
    for v in &r.single_quoted_vars {
        report.push(Finding::new(
            Code::ShellUnexpanded,
            format!("${v} is inside single quotes, so curl receives the literal text ${v} instead of its value"),
            format!("use double quotes: \"${v}\" (e.g. -u \"$CLIENT_ID:$CLIENT_SECRET\")"),
        ));
    }
    // Literal ${…}, {{…}} or %VAR% reaching the request (escaped, or from a template).
    // Secret values are checked too, but their findings never quote the text.
    let mut texts: Vec<(String, bool)> = r
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.literal()
                .map(|t| (t, k.eq_ignore_ascii_case("authorization")))
        })
        .collect();
    texts.extend(r.form.iter().filter_map(|p| {
        p.value
            .literal()
            .map(|t| (t, SECRET_PARAMS.contains(&p.name.as_str())))
    }));
    if let Some(b) = &r.basic {
        texts.extend(b.id.iter().filter_map(Arg::literal).map(|t| (t, false)));
        texts.extend(b.secret.iter().filter_map(Arg::literal).map(|t| (t, true)));
    }
    if let Some(u) = &r.url {
        if !u.symbolic {
            texts.push((format!("{}{}", u.host, u.path), false));
        }
    }
    for (t, secret) in texts {
        if let Some(name) = literal_var(&t) {
            if r.single_quoted_vars.contains(&name) {
                continue;
            }
            let shown = if secret {
                "$NAME".to_owned()
            } else {
                format!("${name}")
            };
            let whose = if secret { " inside a secret value" } else { "" };
            report.push(Finding::new(
                Code::ShellUnexpanded,
                format!("the literal text {shown} reaches the request{whose}: a variable was never expanded"),
                "expand it in double quotes in a shell, or substitute it in your CI tool before calling curl",
            ));
        } else if let Some(name) = template_var(&t) {
            let shown = if secret {
                "{{…}} / %…%".to_owned()
            } else {
                name
            };
            report.push(Finding::new(
                Code::ShellUnexpanded,
                format!("the template variable {shown} reaches the request unexpanded (Postman/CI syntax, not shell)"),
                "use a shell variable in double quotes (\"$CLIENT_SECRET\"), or run it where the template is expanded",
            ));
        }
    }
}

fn unexpanded_text(t: &str) -> bool {
    literal_var(t).is_some() || template_var(t).is_some()
}

fn literal_var(t: &str) -> Option<String> {
    let i = t.find('$')?;
    let rest = &t[i + 1..];
    let rest = rest.strip_prefix('{').unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (name.len() >= 2
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
    .then_some(name)
}

fn template_var(t: &str) -> Option<String> {
    if let (Some(a), Some(b)) = (t.find("{{"), t.find("}}")) {
        if b > a {
            return Some(t[a..b + 2].chars().take(40).collect());
        }
    }
    let first = t.find('%')?;
    let second = t[first + 1..].find('%')? + first + 1;
    let name = &t[first + 1..second];
    let ident = name.len() >= 3
        && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        && name.chars().any(|c| c.is_ascii_uppercase());
    ident.then(|| format!("%{name}%"))
}
