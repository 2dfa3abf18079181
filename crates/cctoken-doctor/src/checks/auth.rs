//! Client authentication: the Basic value (wrapped, not base64, no `:`, `echo` newline),
//! credentials in both places or nowhere, other schemes, and the secrets and client ids
//! themselves (a value that is an unexpanded variable is left to [`super::shell`]).

use super::platform::Platform;
use super::shell::unexpanded_text;
use crate::paste::expand::Arg;
use crate::report::{Code, Finding, Report, Severity};
use crate::request::{Basic, BasicOrigin, BasicProblem, FormPair, Request, Source};
use crate::secrets::{self, Ctx, Kind};
use crate::text::{Term, Text};
use cctoken::auth::AuthMethod;
use cctoken::secret::Fingerprint;

pub(super) fn auth(r: &Request, plat: Platform, report: &mut Report) {
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
    if let Some(cert) = &r.client_cert {
        tls_client(r, cert, body_id.is_some(), assertion, &body_secret, report);
    }
    if r.basic.is_none()
        && r.client_cert.is_none()
        && body_secret.is_empty()
        && r.other_auth.is_none()
        && !assertion
        && !r.config_file
        && r.body_fully_seen()
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

/// A TLS client certificate (RFC 8705): the client authenticates in the handshake and
/// names itself with `client_id` in the body.
fn tls_client(
    r: &Request,
    cert: &str,
    has_id: bool,
    assertion: bool,
    body_secret: &[&FormPair],
    report: &mut Report,
) {
    let shown = cctoken::error::excerpt(cert, 80);
    let other = r.basic.is_some() || !body_secret.is_empty() || assertion;
    if other {
        report.push(Finding::new(
            Code::AuthTlsClient,
            format!("a TLS client certificate ({shown}) is presented besides other client credentials; the server authenticates the client by the method registered for it, and the certificate only binds the token if it supports that"),
            "nothing to do if the client is registered for a secret or key; for tls_client_auth send only client_id",
        ));
    } else if has_id {
        report.push(Finding::new(
            Code::AuthTlsClient,
            format!("the client authenticates with the TLS client certificate {shown} (RFC 8705 tls_client_auth or self_signed_tls_client_auth); doctor does not open certificate files"),
            "if the server answers invalid_client, compare the certificate's subject DN or SHA-256 thumbprint with the ones registered for the client, and check it has not expired (openssl x509 -noout -subject -fingerprint -sha256 -enddate -in CERT)",
        ));
    } else {
        report.push(
            Finding::new(
                Code::AuthMissing,
                format!("a TLS client certificate ({shown}) is presented, but the body does not name the client: RFC 8705 §2 requires client_id"),
                "add -d client_id=$CLIENT_ID",
            ),
        );
    }
    if r.url.as_ref().is_some_and(|u| u.scheme == "http") {
        report.push(Finding::new(
            Code::AuthTlsClient,
            "a client certificate is given for a plain http:// URL: there is no TLS handshake to present it in",
            "use the https:// token endpoint (or the server's mtls_endpoint_aliases.token_endpoint)",
        ).severity(Severity::Error));
    }
}

fn body_secret_checks(r: &Request, p: &FormPair, place: &str, kind: Kind, report: &mut Report) {
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
            // A profile's header holds the already-encoded form; `profile` judges the secret.
            if r.source == Source::Curl
                && secrets::encoding_sensitive(bare)
                && !secrets::sensitive_chars(bare).is_empty()
            {
                encoding_finding(bare, &fp, plat, report);
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

/// A pasted command's Basic secret with characters where curl's raw Basic and RFC 6749's
/// urlencoded Basic differ. (A profile's secret is judged from its raw bytes in `profile`.)
fn encoding_finding(secret: &str, fp: &Fingerprint, plat: Platform, report: &mut Report) {
    let chars = secrets::sensitive_chars(secret);
    let (msg, fix, sev) = match plat {
        Platform::Genesys(_) => (
            format!("the secret ({fp}) contains {chars}: curl -u sends it raw (basic-raw), which Genesys accepts; RFC 6749 Basic would urlencode it first"),
            Text::from("nothing to change for Genesys; cctoken sends the same with ")
                + Term::Auth(AuthMethod::BasicRaw),
            Severity::Info,
        ),
        _ => (
            format!("the secret ({fp}) contains {chars}: curl sends Basic credentials raw, but RFC 6749 §2.3.1 servers form-decode them and see a different secret"),
            Text::from("if the server answers invalid_client, send the credentials in the body with --data-urlencode client_id=… --data-urlencode client_secret=…, or run ")
                + Term::ProbeAuth
                + " to find the method it accepts",
            Severity::Warning,
        ),
    };
    report.push(Finding::new(Code::SecretEncodingSensitive, msg, fix).severity(sev));
}
