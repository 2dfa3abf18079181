//! The judgement: a [`Request`] held against every finding code of SPEC §8 and the provider
//! tables — the Genesys region table ([`cctoken::provider::genesys`]: tokens on
//! `login.<domain>/oauth/token`) and CXone's hosts (`*.niceincontact.com`, tokens at the
//! issuer's `/auth/token`, password grant with an access key).
//!
//! [`platform`] says which platform the token host belongs to. Each check is a small
//! function that reads the model and pushes findings with a concrete
//! fix: `shell` (the dialect a paste was read in and its traps, unexpanded variables),
//! `endpoint` (host, path, scheme, platform), `params` (grant type, unknown and
//! lifetime parameters, scopes, unencoded values), `auth` (Basic, body credentials,
//! secrets). Nothing here parses text or touches the network; secrets are only
//! fingerprinted.

mod auth;
mod endpoint;
mod params;
mod platform;
mod region;
mod shell;

use super::report::{Code, Finding, Report, Severity};
use super::request::{BodyKind, Request, Source};
pub use platform::{platform, Platform};

/// Run every check on `r`.
pub fn check(r: &Request, report: &mut Report) {
    let plat = r.url.as_ref().map_or(Platform::Other, |u| {
        if u.symbolic && u.host.contains('$') {
            return Platform::Other;
        }
        match (platform(&u.host), region::named_regions(&u.host).as_slice()) {
            // `login.eu-west-1.pure.cloud`: on no region's domain, but plainly Genesys.
            (Platform::Other, [one]) if region::genesys_like(&u.host) => Platform::Genesys(one),
            (p, _) => p,
        }
    });
    curl_notes(r, report);
    shell::dialect(r, report);
    endpoint::endpoint(r, plat, report);
    method_and_body(r, report);
    params::grant(r, plat, report);
    params::params(r, report);
    auth::auth(r, plat, report);
    shell::unexpanded(r, report);
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
            format!("`{f}` reads the body from a file that doctor does not open{binary_note}, so the parameters and credentials in it are not checked"),
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
