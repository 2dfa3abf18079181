//! `cctoken doctor --assertion FILE [--assertion-key FILE]`: a client assertion checked
//! against the profile's client id and issuer or token URL, and — unless `--offline` — the
//! server's discovery document and clock (SPEC §14). Reads the files (bounded) and hands
//! them to [`cctoken_doctor::assertion`]; the key and the assertion are never printed.

use std::io::Read as _;

use cctoken::provider::Endpoint;
use cctoken_doctor::assertion::{self, jwt, key, Context};
use cctoken_doctor::{online, Report};

use super::doctor::{DoctorArgs, STEP_TIMEOUT};

/// A file the user named that cannot be used is a usage error (exit 2).
fn usage(msg: String) -> anyhow::Error {
    cctoken::Error::config(msg).into()
}

fn read_bounded(name: &str, r: &mut dyn std::io::Read, max: usize) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    r.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| usage(format!("cannot read {name}: {e}")))?;
    if buf.len() > max {
        return Err(usage(format!("{name} is over {max} bytes")));
    }
    String::from_utf8(buf).map_err(|_| usage(format!("{name} is not UTF-8 text")))
}

fn open(what: &str, p: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(p).map_err(|e| usage(format!("cannot open {what} {}: {e}", p.display())))
}

/// Run the assertion check.
pub fn diagnose(args: &DoctorArgs, file: &str) -> anyhow::Result<Report> {
    let settings = args.profile.settings()?;
    let jwt_text = if file == "-" {
        read_bounded(
            "the assertion from stdin",
            &mut std::io::stdin(),
            jwt::MAX_LEN,
        )?
    } else {
        let mut f = open("the assertion file", std::path::Path::new(file))?;
        read_bounded(&format!("the assertion file {file}"), &mut f, jwt::MAX_LEN)?
    };
    let key_text = match &args.assertion_key {
        Some(p) => {
            let mut f = open("the key file", p)?;
            Some(read_bounded(
                &format!("the key file {}", p.display()),
                &mut f,
                key::MAX_LEN,
            )?)
        }
        None => None,
    };
    let (issuer, token_url) = match &settings.endpoint {
        Some(Endpoint::Issuer(i)) => (Some(i.clone()), None),
        Some(Endpoint::TokenUrl(t)) => (None, Some(t.clone())),
        None => (None, None),
    };
    let mut ctx = Context {
        client_id: settings.client_id.clone(),
        token_url: token_url.as_ref().map(ToString::to_string),
        issuer: issuer.as_ref().map(ToString::to_string),
        // As typed, through URL parsing (which adds a trailing slash to an origin): only
        // the server's discovery document spells the issuer exactly.
        issuer_exact: false,
        ..Context::at(cctoken::clock::system().now())
    };
    let mut report = Report::default();
    if !args.offline && (issuer.is_some() || token_url.is_some()) {
        let rt = super::runtime()?;
        rt.block_on(online::assertion::server_view(
            issuer.as_ref(),
            token_url.as_ref(),
            STEP_TIMEOUT,
            &mut ctx,
            &mut report,
        ));
    }
    assertion::diagnose(&jwt_text, key_text.as_deref(), &ctx, &mut report);
    Ok(report)
}
