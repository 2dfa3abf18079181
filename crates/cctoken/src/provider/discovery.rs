//! Authorization-server metadata: RFC 8414 and OpenID Connect discovery.
//!
//! Pure functions only: which URLs to try for an issuer ([`metadata_urls`]), how to read a
//! metadata document ([`parse_metadata`]) and how to choose the client authentication
//! method from `token_endpoint_auth_methods_supported` ([`choose_auth`]). The HTTP fetch
//! lives in [`crate::client`].

use serde_json::Value;
use url::Url;

use crate::auth::AuthMethod;
use crate::error::{excerpt, Error};

/// The parts of a metadata document that cctoken uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `issuer`
    pub issuer: Option<String>,
    /// `token_endpoint`
    pub token_endpoint: Url,
    /// `token_endpoint_auth_methods_supported` (absent = `client_secret_basic`, RFC 8414 §2).
    pub auth_methods: Option<Vec<String>>,
    /// `grant_types_supported`
    pub grant_types: Option<Vec<String>>,
    /// `token_endpoint_auth_signing_alg_values_supported`
    pub signing_algs: Option<Vec<String>>,
    /// `mtls_endpoint_aliases.token_endpoint` (RFC 8705 §5), used by the `tls-*` methods.
    pub mtls_token_endpoint: Option<Url>,
    /// The URL the document came from.
    pub source: Url,
}

/// Which discovery document is tried first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// RFC 8414 first, then OIDC (generic servers).
    Rfc8414First,
    /// OIDC first, then RFC 8414 (CXone documents OIDC discovery).
    OidcFirst,
}

/// The metadata URLs for an issuer, in the order to try them.
///
/// RFC 8414 §3 inserts `/.well-known/oauth-authorization-server` between the host and the
/// issuer's path; OIDC Discovery §4 appends `/.well-known/openid-configuration` to it.
pub fn metadata_urls(issuer: &Url, order: Order) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut rfc = issuer.clone();
    rfc.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    rfc.set_query(None);
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    oidc.set_query(None);
    match order {
        Order::Rfc8414First => vec![rfc, oidc],
        Order::OidcFirst => vec![oidc, rfc],
    }
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    Some(
        v?.as_array()?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
    )
}

/// Read the metadata document fetched from `source` for `issuer`. Its `issuer` must equal
/// the one asked for (RFC 8414 §3.3, OpenID Connect Discovery §4.3): otherwise a document
/// served on the issuer's host could send the client secret to a `token_endpoint` of its
/// choosing. A mismatch is a configuration error naming both.
pub fn parse_metadata(body: &[u8], source: &Url, issuer: &Url) -> Result<Metadata, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        Error::unexpected(
            None,
            format!(
                "discovery document {source} is not JSON ({e}): {}",
                excerpt(&String::from_utf8_lossy(body), 60)
            ),
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(Error::unexpected(
            None,
            format!("discovery document {source} is not a JSON object"),
        ));
    };
    let te = obj
        .get("token_endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::unexpected(
                None,
                format!("discovery document {source} has no token_endpoint"),
            )
        })?;
    let named = obj.get("issuer").and_then(Value::as_str);
    check_issuer(named, issuer, source)?;
    let token_endpoint = crate::provider::parse_url("the discovered token_endpoint", te)?;
    let mtls_token_endpoint = match obj
        .get("mtls_endpoint_aliases")
        .and_then(|a| a.get("token_endpoint"))
        .and_then(Value::as_str)
    {
        Some(u) => Some(crate::provider::parse_url(
            "the discovered mtls_endpoint_aliases.token_endpoint",
            u,
        )?),
        None => None,
    };
    Ok(Metadata {
        signing_algs: string_list(obj.get("token_endpoint_auth_signing_alg_values_supported")),
        mtls_token_endpoint,
        issuer: named.map(str::to_owned),
        token_endpoint,
        auth_methods: string_list(obj.get("token_endpoint_auth_methods_supported")),
        grant_types: string_list(obj.get("grant_types_supported")),
        source: source.clone(),
    })
}

/// `named` (the document's `issuer`) is `asked` — as URLs, a trailing `/` aside (a bare
/// `https://host` is `https://host/` once parsed).
fn check_issuer(named: Option<&str>, asked: &Url, source: &Url) -> Result<(), Error> {
    let same = named.is_some_and(|n| {
        Url::parse(n)
            .is_ok_and(|n| n.as_str().trim_end_matches('/') == asked.as_str().trim_end_matches('/'))
    });
    if same {
        return Ok(());
    }
    let asked_s = asked.as_str().trim_end_matches('/');
    let what = match named {
        Some(n) => format!("issuer '{}'", excerpt(n, 120)),
        None => "no issuer".to_owned(),
    };
    Err(Error::config(format!(
        "the discovery document {source} names {what}, not the issuer asked for '{asked_s}' \
         (RFC 8414 §3.3: they must be identical); check --issuer, or give --token-url"
    )))
}

/// Choose the client authentication method for a secret-only client: an explicit choice
/// wins; otherwise the first of `client_secret_basic`, `client_secret_post`,
/// `client_secret_jwt` that the server supports; Basic when it lists only `none`; an error
/// naming what it supports otherwise. Clients with keys or certificates use
/// [`crate::auth::material::choose`].
pub fn choose_auth(explicit: Option<AuthMethod>, meta: &Metadata) -> Result<AuthMethod, Error> {
    crate::auth::material::choose(
        explicit,
        meta.auth_methods.as_deref(),
        &crate::auth::material::KeyAuth::default(),
        true,
        AuthMethod::Basic,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_follow_the_rfcs() {
        let i = Url::parse("https://auth.example.com/tenant1/").unwrap();
        let u = metadata_urls(&i, Order::Rfc8414First);
        assert_eq!(
            u[0].as_str(),
            "https://auth.example.com/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            u[1].as_str(),
            "https://auth.example.com/tenant1/.well-known/openid-configuration"
        );
        let i = Url::parse("http://127.0.0.1:9/").unwrap();
        let u = metadata_urls(&i, Order::OidcFirst);
        assert_eq!(
            u[0].as_str(),
            "http://127.0.0.1:9/.well-known/openid-configuration"
        );
    }

    #[test]
    fn choose_auth_from_metadata() {
        let src = Url::parse("https://a/").unwrap();
        let mut m = parse_metadata(
            br#"{"issuer":"https://a","token_endpoint":"https://a/token"}"#,
            &src,
            &src,
        )
        .unwrap();
        assert_eq!(choose_auth(None, &m).unwrap(), AuthMethod::Basic);
        m.auth_methods = Some(vec!["client_secret_post".into()]);
        assert_eq!(choose_auth(None, &m).unwrap(), AuthMethod::Post);
        assert_eq!(
            choose_auth(Some(AuthMethod::BasicRaw), &m).unwrap(),
            AuthMethod::BasicRaw
        );
        m.auth_methods = Some(vec!["private_key_jwt".into()]);
        assert!(choose_auth(None, &m).is_err());
        m.auth_methods = Some(vec!["none".into()]);
        assert_eq!(choose_auth(None, &m).unwrap(), AuthMethod::Basic);
    }

    #[test]
    fn bad_documents_are_errors() {
        let src = Url::parse("https://a/").unwrap();
        assert!(parse_metadata(b"<html>", &src, &src).is_err());
        assert!(parse_metadata(b"[]", &src, &src).is_err());
        assert!(parse_metadata(br#"{"issuer":"x"}"#, &src, &src).is_err());
        assert!(parse_metadata(
            br#"{"issuer":"https://a/","token_endpoint":"http://evil.example/t"}"#,
            &src,
            &src
        )
        .is_err());
    }

    #[test]
    fn the_issuer_must_be_the_one_asked_for() {
        let asked = Url::parse("https://auth.example.com/realms/a").unwrap();
        let src = Url::parse("https://auth.example.com/.well-known/openid-configuration").unwrap();
        let doc = |issuer: &str| {
            format!(r#"{{"issuer":{issuer},"token_endpoint":"https://evil.example/token"}}"#)
        };
        for same in [
            r#""https://auth.example.com/realms/a""#,
            r#""https://auth.example.com/realms/a/""#,
        ] {
            assert!(
                parse_metadata(doc(same).as_bytes(), &src, &asked).is_ok(),
                "{same}"
            );
        }
        for (other, named) in [
            (
                r#""https://evil.example""#,
                "names issuer 'https://evil.example'",
            ),
            (
                r#""https://auth.example.com/realms/b""#,
                "names issuer 'https://auth.example.com/realms/b'",
            ),
            ("null", "names no issuer"),
        ] {
            let e = parse_metadata(doc(other).as_bytes(), &src, &asked).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config, "{e}");
            assert!(e.message.contains(named), "{e}");
            assert!(
                e.message.contains("'https://auth.example.com/realms/a'"),
                "{e}"
            );
        }
    }
}
