//! NICE CXone: the tenant's API base from a token, and what CXone's failures usually mean
//! ([`hint`]).
//!
//! CXone issues tokens for an API user's access key (password grant, see
//! [`crate::auth::Grant::Password`]). Which cluster serves the tenant's APIs is found from
//! the `tenantId` claim (id_token first, then the access token) and
//! `GET {issuer}/.well-known/cxone-configuration?tenantId=…` → `api_endpoint`. This
//! module holds the pure parts; [`crate::client::Client::api_base`] does the fetch.

use serde_json::Value;
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::token::{unverified_jwt_claims, Token};

/// The `tenantId` claim of the id_token or access token, if any.
pub fn tenant_id(token: &Token) -> Option<String> {
    let from = |jwt: &str| {
        unverified_jwt_claims(jwt)?
            .get("tenantId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    token
        .id_token
        .as_ref()
        .and_then(|t| from(t.expose_secret()))
        .or_else(|| from(token.access_token.expose_secret()))
}

/// `{issuer}/.well-known/cxone-configuration?tenantId=…`
pub fn configuration_url(issuer: &Url, tenant_id: &str) -> Url {
    let mut u = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    u.set_path(&format!("{path}/.well-known/cxone-configuration"));
    u.query_pairs_mut()
        .clear()
        .append_pair("tenantId", tenant_id);
    u
}

/// Read `api_endpoint` from a cxone-configuration document.
pub fn parse_api_endpoint(body: &[u8]) -> Result<Url, Error> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::unexpected(None, format!("cxone-configuration is not JSON ({e})")))?;
    let ep = v
        .get("api_endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::unexpected(None, "cxone-configuration has no api_endpoint"))?;
    crate::provider::parse_url("the tenant's api_endpoint", ep)
}

/// The likely causes of a `kind` failure at CXone, where they differ from the generic ones
/// ([`super::generic::hint`]).
pub fn hint(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::InvalidClient => {
            "CXone authenticates the registered application here: check the app's client id and \
             secret (not the access key), and whether the app was registered for Basic or post \
             client authentication (--auth). Run `cctoken doctor`."
        }
        ErrorKind::InvalidGrant => {
            "CXone did not accept the access key: check the access key id and secret of the API \
             user (they come as a pair; secrets end in '====') and that the user is active."
        }
        ErrorKind::UnsupportedGrantType => {
            "CXone back-end apps do not use client_credentials: use an API user's access key \
             (--access-key-id, CCTOKEN_ACCESS_KEY_SECRET) with the registered app's client id \
             and secret."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_url_encodes_tenant() {
        let i = Url::parse("https://cxone.niceincontact.com").unwrap();
        assert_eq!(
            configuration_url(&i, "11111111-2222").as_str(),
            "https://cxone.niceincontact.com/.well-known/cxone-configuration?tenantId=11111111-2222"
        );
    }

    #[test]
    fn api_endpoint_parsing() {
        let u =
            parse_api_endpoint(br#"{"api_endpoint":"https://api-na1.niceincontact.com"}"#).unwrap();
        assert_eq!(u.host_str(), Some("api-na1.niceincontact.com"));
        assert!(parse_api_endpoint(b"{}").is_err());
        assert!(parse_api_endpoint(b"garbage").is_err());
    }
}
