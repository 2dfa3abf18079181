//! `doctor`: name the exact cause of a failing token request (SPEC §8).
//!
//! Two inputs, one judgement. A pasted curl command is read like a shell would
//! ([`shell`], [`expand`], [`pipeline`]: quotes, continuations, `$(echo -n … | base64)`
//! evaluated byte for byte) and like curl would ([`curl`]); a profile becomes the request
//! cctoken would send ([`profile`]). Both end as a [`request::Request`] — what goes on the
//! wire — which [`checks`] holds against every finding code of §8 and the provider tables
//! (Genesys regions, CXone hosts). [`online`] adds what only the network can tell: DNS,
//! TLS, clock skew, proxies, discovery, and the server's verdict on one real request.
//!
//! Every [`Finding`] has a stable [`Code`], a [`Severity`], a one-line message and a concrete
//! fix. No message ever holds a secret: secrets are shown as fingerprints
//! (`len=40 sha256:1a2b3c4d`). This module does not print; [`Report::render_human`] and
//! [`Report::to_json`] return text for the caller to show. It never runs a shell, never
//! reads `@file` data and never sends a pasted command's credentials anywhere.

pub mod checks;
pub mod curl;
pub mod expand;
pub mod online;
pub mod pipeline;
pub mod profile;
pub mod request;
pub mod secrets;
pub mod shell;

mod report;

pub use report::{Code, Finding, Report, Severity, SPEC_CODES};

/// Analyse a pasted curl command line (offline; nothing is executed or sent).
///
/// ```
/// let report = cctoken_doctor::diagnose_curl(
///     "curl -X POST https://api.mypurecloud.ie/oauth/token -d grant_type=client_credentials -u \"$ID:$SECRET\"",
/// );
/// assert!(report.codes().contains(&"endpoint.api-host"));
/// print!("{}", report.render_human());
/// ```
pub fn diagnose_curl(cmd: &str) -> Report {
    let mut report = Report::default();
    match curl::parse(cmd) {
        Ok(c) => {
            let req = request::Request::from_curl(&c);
            checks::check(&req, &mut report);
        }
        Err(e) => report.push(Finding::new(
            Code::CurlParse,
            e.to_string(),
            match e {
                curl::ParseError::NotCurl => {
                    "paste the whole curl command (starting with `curl`), or use `cctoken doctor` \
                     with profile options to check a configuration"
                }
                curl::ParseError::TooLong => "paste only the curl command",
                curl::ParseError::Shell(_) => {
                    "close the quote; for a secret that contains quotes use a variable: \
                     -u \"$CLIENT_ID:$CLIENT_SECRET\""
                }
            },
        )),
    }
    report
}
