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
//! - [`assertion`]: client assertions (SPEC §14) — a JWT decoded without its signature,
//!   a key file read for its type and `kid`, the claims and header held against the
//!   request, the key, the clocks and the server's discovery; a server's rejection reason
//!   mapped to the same codes.
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
//!
//! # Finding codes
//!
//! Codes are a contract: extended, never renamed. SPEC §8 defines the first group
//! ([`SPEC_CODES`]); the second is this crate's extension for what §8 leaves unnamed. The
//! severity is the usual one; a check may choose another (shown after a slash).
//!
//! | code | severity | when |
//! |---|---|---|
//! | `secret.trailing-newline` | error / info | secret or Basic payload ends in `\n`/`\r\n` (`echo` without `-n`) |
//! | `secret.whitespace` | error | leading/trailing spaces or tabs |
//! | `secret.placeholder` | error | `YOUR_CLIENT_SECRET`, `xxx`, `<secret>`, `changeme`, `...` and the like |
//! | `secret.quoted` | error | value wrapped in literal quotes |
//! | `secret.encoding-sensitive` | warning / info | characters where `basic` and `basic-raw` or body encoding differ |
//! | `secret.in-argv` | warning / info | secret visible on a command line (`-d`, `-u`, inline header) |
//! | `client-id.format` | error / warning | id does not look like the provider's ids (Genesys: UUID); a warning once the server issued a token anyway |
//! | `endpoint.api-host` | error | token request sent to `api.<domain>` (or another non-login host) instead of `login.<domain>` |
//! | `endpoint.path` | error | wrong token path (e.g. `/api/v2/oauth/token` on Genesys) |
//! | `endpoint.platform-mismatch` | error | CXone credentials or paths sent to a Genesys host, or the reverse |
//! | `endpoint.insecure` | error | `http://` token URL |
//! | `body.json` | error | JSON body or `Content-Type: application/json` on the token request |
//! | `param.grant-type` | error / info | missing or wrong `grant_type`, or one the platform does not support; info when the body could not be read |
//! | `param.unknown` | warning | parameters the grant does not define (`duration`, `expires_in`, ...) |
//! | `param.scope-format` | warning | scopes separated by commas, or unencoded spaces in a raw body |
//! | `auth.both-methods` | error / warning | credentials in both the Basic header and the body |
//! | `auth.basic-malformed` | error / warning | Basic value not base64, no `:`, or line-wrapped |
//! | `auth.missing` | error | no client authentication at all |
//! | `shell.unexpanded` | error / warning | `$VAR` inside single quotes, a literal `${...}`, `{{var}}`, or `%VAR%` outside cmd |
//! | `token.long-lived` | warning | the request asks for a long-lived token |
//! | `param.unencoded` | error / warning | a raw body value with characters that form decoding changes |
//! | `cxone.client-credentials` | error | `client_credentials` sent to CXone, which expects the access-key password grant |
//! | `grant.not-enabled` | error | server says `unauthorized_client` (online) |
//! | `clock.skew` | warning | server `Date` differs by more than 60 s (online) |
//! | `curl.parse` | error / warning | not a readable curl command, no URL, extra URL arguments, a line continuation cut by a blank |
//! | `curl.data-file` | info | `@file` data that doctor does not open |
//! | `curl.unknown-option` | info | curl options doctor does not model, `-K` config files |
//! | `request.method` | error | the token request is not a POST |
//! | `body.multipart` | error | a `-F` multipart body |
//! | `secret.control` | error | BOM, control character or empty secret |
//! | `auth.other-scheme` | error | Bearer, Digest or another scheme instead of client credentials |
//! | `auth.invalid-client` | error | the server answered `invalid_client` (online) |
//! | `auth.probe` | warning / info | what trying the other client authentication methods showed (online) |
//! | `config.invalid` | error | the profile does not resolve |
//! | `net.dns` | error | the token host does not resolve (online) |
//! | `net.connect` | error | the TCP connection failed (online) |
//! | `net.tls` | error | the TLS handshake or certificate check failed (online) |
//! | `net.proxy` | info | proxy variables in effect |
//! | `discovery` | info / error | what discovery (and CXone's tenant configuration) found, or why it failed |
//! | `token.request` | error | the token request failed for another reason (online) |
//! | `token.ok` | info | the server issued a token (online) |
//! | `shell.dialect` | info / warning / error | how a paste was read (Windows cmd, PowerShell) and that shell's traps |
//! | `endpoint.region-host` | error | a Genesys host built from a region name (`login.eu-west-1.mypurecloud.com`) or on no region's domain (`login.mypurecloud.eu`); the fix names the region's real login host |
//! | `assertion.aud` | error / warning / info | a client assertion's `aud` is not the issuer: the token endpoint (RFC 10070 forbids it), several values, or another server (§14) |
//! | `assertion.expired` | error / warning | the assertion is expired or not yet valid, by this machine's clock or (online) the server's `Date` (§14) |
//! | `assertion.lifetime` | error / warning | `exp` − `iat` over the vendor's limit (Auth0 5 min, Okta 1 h), over 5 min elsewhere, or not positive (§14) |
//! | `assertion.kid` | error / warning | the assertion's `kid` is not among the key file's keys, or it has none while the keys have one (§14) |
//! | `assertion.alg` | error / warning | `alg` missing, `none`, unknown, not the key's type, not among the server's signing algorithms (§14) |
//! | `assertion.claims` | error / info | `iss` or `sub` differs from the client id, or `iss`/`sub`/`exp` is missing; info for a federated token's external issuer (§14) |
//! | `cert.mismatch` | error | the server says the client certificate is not the registered one (online, §14) |
//! | `cert.expired` | error | the server says the client certificate expired (online, §14) |
//! | `auth.method-unsupported` | error | the client authentication method is not in the server's `token_endpoint_auth_methods_supported` (§14) |
//! | `assertion.decoded` | info | a client assertion's decoded header and claims (the signature elided) |
//! | `assertion.malformed` | error | the client assertion is not a readable JWT (parts, base64url, JSON; a JWE) |
//! | `assertion.jti` | error | the assertion has no `jti`, or the server saw it before (replay) |
//! | `assertion.typ` | info / error | the header's `typ` is missing or generic (info), or types another kind of JWT (error) |
//! | `param.assertion-type` | error | `client_assertion_type` missing, wrong (the grant-type URN), or without an assertion |
//! | `assertion.key` | error | the key file is not a key doctor can read (a certificate, encrypted, not PEM/JWK) |
//! | `assertion.signature` | error | the server says the assertion's signature does not verify with the client's key or secret (online) |
//! | `auth.tls-client` | info / error | a TLS client certificate (curl `--cert`) authenticates the client (RFC 8705); an error on plain http:// |

pub mod assertion;
pub mod checks;
pub mod online;
pub mod paste;
pub mod profile;
pub mod request;
pub mod secrets;

mod report;
mod text;

pub use report::{Code, Finding, Report, Severity, SPEC14_CODES, SPEC_CODES};
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
    diagnose_curl_at(cmd, cctoken::clock::system().now())
}

/// [`diagnose_curl`] with "now" given: a client assertion's `exp`, `iat` and `nbf` are
/// judged against it.
pub fn diagnose_curl_at(cmd: &str, now: std::time::SystemTime) -> Report {
    let mut report = Report::default();
    match paste::curl::parse(cmd) {
        Ok(c) => {
            let req = request::Request::from_curl(&c);
            checks::check(&req, &mut report);
            assertion::check_request(&req, now, &mut report);
        }
        Err(e) => report.push(Finding::new(
            Code::CurlParse,
            e.to_string(),
            match &e {
                paste::curl::ParseError::NotCurl => {
                    Text::from("paste the whole curl command (starting with `curl`), or ")
                        + Term::DiagnoseProfile
                        + " to check a configuration"
                }
                paste::curl::ParseError::TooLong => "paste only the curl command".into(),
                paste::curl::ParseError::Shell(paste::shell::ShellError {
                    fix: Some(fix), ..
                })
                | paste::curl::ParseError::Unsupported(paste::shell::ShellError {
                    fix: Some(fix),
                    ..
                }) => fix.as_str().into(),
                paste::curl::ParseError::Shell(_) | paste::curl::ParseError::Unsupported(_) => {
                    "close the quote; for a secret that contains quotes use a variable: -u \
                     \"$CLIENT_ID:$CLIENT_SECRET\""
                        .into()
                }
            },
        )),
    }
    report
}
