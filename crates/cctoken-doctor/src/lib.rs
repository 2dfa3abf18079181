//! `doctor` as a library: name the exact cause of a failing OAuth2 token request (SPEC §8),
//! from a pasted curl command or from a cctoken profile.
//!
//! Two inputs, one judgement. Both end as a [`request::Request`] — what goes on the wire —
//! which [`checks`] holds against every finding code of §8 and the provider tables (Genesys
//! regions, CXone hosts).
//!
//! A guided tour:
//! - [`paste`]: the pasted-command reader — shell words, expansion, the `echo | base64`
//!   pipelines evaluated byte for byte, and curl's options as curl reads them.
//! - [`request`]: the request model, built from a curl command by curl's rules or from the
//!   request cctoken itself would send for a profile.
//! - [`checks`]: the judgement — endpoint, parameters, client authentication, unexpanded
//!   variables. [`secrets`] judges the secret and client-id values themselves.
//! - [`profile`]: a profile's raw secret bytes (as read from env, file, command or stdin)
//!   and the request it resolves to, without the network.
//! - [`online`]: what only the network can tell — DNS, TLS, clock skew, proxies, discovery,
//!   and the server's verdict on one real request (optionally every auth method).
//! - [`Report`]: the findings, each with a stable [`Code`], a [`Severity`], a one-line
//!   message and a concrete fix.
//! - [`Text`]: a message or fix, with a typed [`Term`] wherever the advice depends on the
//!   front end (which auth method to select, that probing would help, that a check needs
//!   the network). A [`Wording`] says each term in a front end's words; [`Plain`] is this
//!   crate's own.
//!
//! No message ever holds a secret: secrets are shown as fingerprints (`len=40
//! sha256:1a2b3c4d`). This crate does not print, names no command-line flag or command, and
//! maps no severity to an exit status: [`Report::render_human`] and [`Report::to_json`]
//! return text in the caller's [`Wording`] for the caller to show. It never runs a shell,
//! never reads `@file` data and never sends a pasted command's credentials anywhere. It
//! uses only `cctoken`'s public API.

pub mod checks;
pub mod online;
pub mod paste;
pub mod profile;
pub mod request;
pub mod secrets;

mod report;
mod text;

pub use report::{Code, Finding, Report, Severity, SPEC_CODES};
pub use text::{Plain, Term, Text, Wording};

/// Analyse a pasted curl command line (offline; nothing is executed or sent).
///
/// ```
/// let report = cctoken_doctor::diagnose_curl(
///     "curl -X POST https://api.mypurecloud.ie/oauth/token -d grant_type=client_credentials -u \"$ID:$SECRET\"",
/// );
/// assert!(report.codes().contains(&"endpoint.api-host"));
/// print!("{}", report.render_human(&cctoken_doctor::Plain));
/// ```
pub fn diagnose_curl(cmd: &str) -> Report {
    let mut report = Report::default();
    match paste::curl::parse(cmd) {
        Ok(c) => {
            let req = request::Request::from_curl(&c);
            checks::check(&req, &mut report);
        }
        Err(e) => report.push(Finding::new(
            Code::CurlParse,
            e.to_string(),
            match e {
                paste::curl::ParseError::NotCurl => {
                    Text::from("paste the whole curl command (starting with `curl`), or ")
                        + Term::DiagnoseProfile
                        + " to check a configuration"
                }
                paste::curl::ParseError::TooLong => "paste only the curl command".into(),
                paste::curl::ParseError::Shell(_) => "close the quote; for a secret that \
                    contains quotes use a variable: -u \"$CLIENT_ID:$CLIENT_SECRET\""
                    .into(),
            },
        )),
    }
    report
}
