//! CXone's second step after the token: where the tenant's APIs live. The token's
//! `tenantId` claim and `GET {issuer}/.well-known/cxone-configuration?tenantId=…` give
//! `api_endpoint` (SPEC §2) — what `api` and `get` report as the API base. A token that
//! works with an API base that cannot be found is half a working profile, so doctor asks
//! too, through the same [`Client::api_base`] that `get` uses.

use url::Url;

use crate::report::{Code, Finding, Report, Severity};
use crate::text::{Term, Text};
use cctoken::client::Client;
use cctoken::provider::cxone;
use cctoken::token::Token;

/// Report the tenant's API base for `token`, or why it cannot be found.
pub(super) async fn api_base(
    client: &Client,
    issuer: &Url,
    configured: bool,
    token: &Token,
    report: &mut Report,
) {
    let tenant = cxone::tenant_id(token);
    let lookup = tenant
        .as_deref()
        .map(|t| cxone::configuration_url(issuer, t));
    match client.api_base(token).await {
        Ok(Some(base)) if configured => report.push(Finding::new(
            Code::Discovery,
            format!("the API base is {base}, as configured (the tenant configuration was not consulted)"),
            "nothing to do",
        )),
        Ok(Some(base)) => report.push(Finding::new(
            Code::Discovery,
            format!(
                "the tenant configuration{} names API base {base}{}",
                lookup.map(|u| format!(" at {u}")).unwrap_or_default(),
                tenant.map(|t| format!(" for tenant {t}")).unwrap_or_default(),
            ),
            "nothing to do",
        )),
        Ok(None) => {}
        Err(e) => report.push(
            Finding::new(
                Code::Discovery,
                format!(
                    "the token works, but the tenant's API base cannot be found: {}",
                    cctoken::error::excerpt(&e.message, 300)
                ),
                Text::from("API calls need it: give ")
                    + Term::ApiBase
                    + " (the tenant's api_endpoint, e.g. https://api-na1.niceincontact.com)",
            )
            .severity(Severity::Warning),
        ),
    }
}
