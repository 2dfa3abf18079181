//! What the server says about assertions before one is sent: its discovery document
//! (issuer, token endpoint, `token_endpoint_auth_methods_supported`,
//! `token_endpoint_auth_signing_alg_values_supported`) and its clock (`Date`), so that a
//! client assertion's `aud`, `alg`, method and times are judged as that server will judge
//! them. Nothing is sent but unauthenticated GETs; the assertion itself never leaves.

use std::time::Duration;

use url::Url;

use super::network::{parse_http_date, transport_code};
use crate::assertion::Context;
use crate::report::{Code, Finding, Report, Severity};
use cctoken::provider::discovery::{metadata_urls, parse_metadata, Order};

/// Fill `ctx` from the server: discovery when `issuer` is given, else the token URL's
/// origin for its `Date`. Findings say what was found or why not.
pub async fn server_view(
    issuer: Option<&Url>,
    token_url: Option<&Url>,
    timeout: Duration,
    ctx: &mut Context<'_>,
    report: &mut Report,
) {
    let http = match cctoken::client::http::http_client(timeout) {
        Ok(h) => h,
        Err(e) => {
            report.push(Finding::new(
                Code::ConfigInvalid,
                e.message,
                "report this as a bug",
            ));
            return;
        }
    };
    if let Some(issuer) = issuer {
        for url in metadata_urls(issuer, Order::Rfc8414First) {
            let resp = match http.get(url.clone()).send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = cctoken::client::http::transport_error(&e, &url);
                    report.push(Finding::new(
                        transport_code(&err.message),
                        format!("cannot reach {url}: {}", err.message),
                        "check the issuer URL and the network path to it",
                    ));
                    return;
                }
            };
            let server_date = resp
                .headers()
                .get("date")
                .and_then(|d| d.to_str().ok())
                .and_then(parse_http_date);
            ctx.server_now = ctx.server_now.or(server_date);
            // Bounded, as every response cctoken reads.
            let Ok(raw) = cctoken::client::http::read_response(resp, &url).await else {
                continue;
            };
            if !(200..300).contains(&raw.status) {
                continue;
            }
            let body = raw.body;
            match parse_metadata(&body, &url, issuer) {
                Ok(meta) => {
                    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    ctx.signing_algs = doc
                        .get("token_endpoint_auth_signing_alg_values_supported")
                        .and_then(|v| v.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        });
                    ctx.auth_methods = meta.auth_methods.clone();
                    ctx.issuer_exact = meta.issuer.is_some();
                    ctx.issuer = meta.issuer.clone().or_else(|| Some(issuer.to_string()));
                    if ctx.token_url.is_none() {
                        ctx.token_url = Some(meta.token_endpoint.to_string());
                    }
                    report.push(Finding::new(
                        Code::Discovery,
                        format!(
                            "discovery at {url} names issuer {} and token endpoint {} (auth methods: {}; signing algs: {})",
                            ctx.issuer.as_deref().unwrap_or("(none)"),
                            meta.token_endpoint,
                            meta.auth_methods.as_ref().map_or("not listed".into(), |m| m.join(", ")),
                            ctx.signing_algs.as_ref().map_or("not listed".into(), |m| m.join(", ")),
                        ),
                        "nothing to do",
                    ));
                    return;
                }
                Err(e) => {
                    report.push(
                        Finding::new(Code::Discovery, e.message, "check the issuer URL")
                            .severity(Severity::Error),
                    );
                    return;
                }
            }
        }
        report.push(
            Finding::new(
                Code::Discovery,
                format!("{issuer} publishes no discovery document (RFC 8414 or OpenID Connect)"),
                "check the issuer URL; without discovery, aud cannot be held against the issuer",
            )
            .severity(Severity::Error),
        );
        return;
    }
    if let Some(t) = token_url {
        let mut origin = t.clone();
        origin.set_path("/");
        origin.set_query(None);
        match http.get(origin.clone()).send().await {
            Ok(r) => {
                ctx.server_now = r
                    .headers()
                    .get("date")
                    .and_then(|d| d.to_str().ok())
                    .and_then(parse_http_date);
            }
            Err(e) => {
                let err = cctoken::client::http::transport_error(&e, &origin);
                report.push(Finding::new(
                    transport_code(&err.message),
                    format!("cannot reach {origin}: {}", err.message),
                    "check the token URL and the network path to it",
                ));
            }
        }
    }
}
