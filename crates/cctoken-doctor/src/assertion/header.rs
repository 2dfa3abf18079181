//! The assertion's JOSE header: `alg` (a signing algorithm, the one the key signs with, one
//! the server accepts, and the method it implies among the server's methods), `kid` (one of
//! the key file's keys), and `typ` (RFC 10070's `client-authentication+jwt`).

use super::jwt::Jwt;
use super::key::{KeyInfo, KeyType};
use super::Context;
use crate::report::{Code, Finding, Report, Severity};

/// The `typ` RFC 10070 asks for.
pub const TYP: &str = "client-authentication+jwt";

const ASYMMETRIC: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    "Ed25519",
];
const SYMMETRIC: &[&str] = &["HS256", "HS384", "HS512"];

pub(super) fn check(j: &Jwt, ctx: &Context<'_>, report: &mut Report) {
    let alg = j.header_str("alg");
    match alg {
        None => report.push(Finding::new(
            Code::AssertionAlg,
            "the assertion's header has no alg",
            "sign it with the client's key (RS256, PS256, ES256, ES384, EdDSA) or, for client_secret_jwt, HS256",
        )),
        Some(a) if a.eq_ignore_ascii_case("none") || j.signature_len == 0 => report.push(Finding::new(
            Code::AssertionAlg,
            format!("the assertion is unsigned (alg {a}, {} signature bytes); no server accepts it for client authentication", j.signature_len),
            "sign it with the client's key (private_key_jwt) or the client secret (client_secret_jwt, HS256)",
        )),
        Some(a) if !ASYMMETRIC.contains(&a) && !SYMMETRIC.contains(&a) => report.push(Finding::new(
            Code::AssertionAlg,
            format!("alg '{}' is not a JWS signing algorithm servers accept for client assertions", cctoken::error::excerpt(a, 30)),
            "use RS256, PS256, ES256, ES384 or EdDSA (private_key_jwt), or HS256 (client_secret_jwt)",
        )),
        Some("Ed25519") => report.push(
            Finding::new(
                Code::AssertionAlg,
                "alg is 'Ed25519'; RFC 8037 names it EdDSA — oidc-provider accepts both, most servers only EdDSA",
                "sign with alg EdDSA",
            )
            .severity(Severity::Warning),
        ),
        Some(_) => {}
    }
    if let Some(a) = alg {
        server_lists(a, ctx, report);
        if let Some(file) = ctx.key {
            key(j, a, file, report);
        }
    }
    typ(j, report);
}

/// The method an `alg` implies.
fn method(alg: &str) -> &'static str {
    if SYMMETRIC.contains(&alg) {
        "client_secret_jwt"
    } else {
        "private_key_jwt"
    }
}

fn server_lists(alg: &str, ctx: &Context<'_>, report: &mut Report) {
    let m = method(alg);
    if let Some(methods) = &ctx.auth_methods {
        if !methods.iter().any(|x| x == m) {
            report.push(Finding::new(
                Code::AuthMethodUnsupported,
                format!(
                    "an assertion signed with {alg} is {m}, which the server does not list (token_endpoint_auth_methods_supported: {})",
                    if methods.is_empty() { "empty".to_owned() } else { methods.join(", ") }
                ),
                "use a method the server lists, or register the client for this one",
            ));
        }
    }
    if let Some(algs) = &ctx.signing_algs {
        let accepted = algs
            .iter()
            .any(|x| x == alg || (alg == "Ed25519" && x == "EdDSA"));
        if !accepted {
            report.push(Finding::new(
                Code::AssertionAlg,
                format!(
                    "alg {alg} is not among the server's token_endpoint_auth_signing_alg_values_supported ({})",
                    algs.join(", ")
                ),
                format!("sign with one of {}", algs.join(", ")),
            ));
        }
    }
}

/// The key the assertion names, or the file's only key.
fn key(j: &Jwt, alg: &str, file: &super::key::KeyFile, report: &mut Report) {
    let kid = j.header_str("kid");
    let chosen: Option<&KeyInfo> = match kid {
        Some(k) => {
            let found = file.keys.iter().find(|x| x.kid.as_deref() == Some(k));
            if found.is_none() && !file.kids().is_empty() {
                report.push(Finding::new(
                    Code::AssertionKid,
                    format!(
                        "kid '{}' is not in the key file's {} (known: {})",
                        cctoken::error::excerpt(k, 60),
                        file.format,
                        file.kids().join(", ")
                    ),
                    "set kid to the registered key's kid, or register this key (its JWK with that kid) for the client",
                ));
            }
            found.or_else(|| (file.keys.len() == 1).then(|| &file.keys[0]))
        }
        None => {
            let kids = file.kids();
            if !kids.is_empty() {
                report.push(
                    Finding::new(
                        Code::AssertionKid,
                        format!(
                            "the assertion has no kid, but the key file's keys have one ({}); a server holding several keys for the client cannot tell which to verify with",
                            kids.join(", ")
                        ),
                        "put the key's kid in the header",
                    )
                    .severity(Severity::Warning),
                );
            }
            (file.keys.len() == 1).then(|| &file.keys[0])
        }
    };
    let Some(k) = chosen else { return };
    let thumb = k
        .thumbprint
        .as_ref()
        .map(|t| format!(", thumbprint {t}"))
        .unwrap_or_default();
    if k.kind != KeyType::Unknown && !k.kind.algs().contains(&alg) {
        let signs = if k.kind.algs().is_empty() {
            "no JWS algorithm".to_owned()
        } else {
            k.kind.algs().join(", ")
        };
        report.push(Finding::new(
            Code::AssertionAlg,
            format!(
                "alg {alg} does not fit the key ({}{thumb}), which is {}: it signs with {signs}",
                file.format,
                k.kind.name()
            ),
            match k.kind.algs().first() {
                Some(a) => format!(
                    "sign with {a} (the alg follows the key), or use the key registered for {alg}"
                ),
                None => "use an RSA, EC P-256/P-384 or Ed25519 key".to_owned(),
            },
        ));
    }
    if let Some(ka) = k.alg.as_deref().filter(|ka| *ka != alg) {
        report.push(Finding::new(
            Code::AssertionAlg,
            format!(
                "the key ({}{thumb}) is meant for alg {ka}, the assertion uses {alg}",
                file.format
            ),
            format!("sign with {ka}"),
        ));
    }
}

fn typ(j: &Jwt, report: &mut Report) {
    match j.header_str("typ") {
        Some(TYP) => {}
        None => report.push(
            Finding::new(
                Code::AssertionTyp,
                format!("the header has no typ; RFC 10070 asks for typ {TYP} (servers should still accept an untyped assertion)"),
                format!("add \"typ\": \"{TYP}\" to the header"),
            )
            .severity(Severity::Info),
        ),
        Some(t) if t.eq_ignore_ascii_case("JWT") => report.push(
            Finding::new(
                Code::AssertionTyp,
                format!("typ is '{t}', the generic JWT type; RFC 10070 asks for {TYP}"),
                format!("set \"typ\": \"{TYP}\""),
            )
            .severity(Severity::Info),
        ),
        Some(t) => report.push(
            Finding::new(
                Code::AssertionTyp,
                format!("typ is '{}', which types the JWT as something else than a client assertion; RFC 10070 servers reject it", cctoken::error::excerpt(t, 60)),
                format!("set \"typ\": \"{TYP}\""),
            )
            .severity(Severity::Error),
        ),
    }
}
