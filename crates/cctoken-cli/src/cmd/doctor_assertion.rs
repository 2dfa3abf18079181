//! `cctoken doctor --assertion FILE [--assertion-key FILE]`: a client assertion checked
//! against the profile's client id and issuer or token URL, and — unless `--offline` — the
//! server's discovery document and clock (SPEC §14). Reads the files (bounded) and hands
//! them to [`cctoken_doctor::assertion`]; the key and the assertion are never printed.

use std::io::Read as _;

use anyhow::Context as _;
use cctoken::provider::Endpoint;
use cctoken_doctor::assertion::{self, jwt, key, Context};
use cctoken_doctor::{online, Report};

use super::doctor::{DoctorArgs, STEP_TIMEOUT};

fn read_bounded(name: &str, r: &mut dyn std::io::Read, max: usize) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    r.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {name}"))?;
    if buf.len() > max {
        anyhow::bail!("{name} is over {max} bytes");
    }
    String::from_utf8(buf).with_context(|| format!("{name} is not UTF-8 text"))
}

/// Run the assertion check.
pub fn diagnose(args: &DoctorArgs, file: &str) -> anyhow::Result<Report> {
    let settings = args.profile.settings()?;
    let jwt_text = if file == "-" {
        read_bounded("the assertion from stdin", &mut std::io::stdin(), jwt::MAX_LEN)?
    } else {
        let mut f = std::fs::File::open(file)
            .with_context(|| format!("cannot open the assertion file {file}"))?;
        read_bounded(&format!("the assertion file {file}"), &mut f, jwt::MAX_LEN)?
    };
    let key_text = match &args.assertion_key {
        Some(p) => {
            let mut f = std::fs::File::open(p)
                .with_context(|| format!("cannot open the key file {}", p.display()))?;
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
