//! Providers: where the token comes from and where the API lives.
//!
//! A [`ProviderConfig`] is the validated, typed description of one token server
//! (Genesys region, generic token URL or issuer, CXone issuer + access key). Resolving it
//! ([`crate::client::Client::resolve`]) yields the concrete token URL, client
//! authentication method and API base — for `generic` and `cxone` that may involve
//! discovery ([`discovery`]). Each provider's module also says what its failures usually
//! mean ([`ProviderKind::hint`]). This module does no I/O itself.

pub mod cxone;
pub mod discovery;
pub mod generic;
pub mod genesys;

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::error::ErrorKind;
use crate::secret::ClientSecret;

/// Which family of token server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Genesys Cloud (client credentials, Basic, region hosts).
    Genesys,
    /// Any RFC 6749 server (token URL or RFC 8414 / OIDC discovery).
    Generic,
    /// NICE CXone (access-key password grant, app client authentication).
    Cxone,
}

impl ProviderKind {
    /// `genesys`, `generic` or `cxone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Genesys => "genesys",
            Self::Generic => "generic",
            Self::Cxone => "cxone",
        }
    }

    /// The likely causes of a `kind` failure on this provider, in plain words (SPEC §5):
    /// the provider's own where it has one, the generic one otherwise.
    pub fn hint(self, kind: ErrorKind) -> Option<&'static str> {
        let own = match self {
            Self::Genesys => genesys::hint(kind),
            Self::Cxone => cxone::hint(kind),
            Self::Generic => None,
        };
        own.or_else(|| generic::hint(kind))
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "genesys" | "genesyscloud" | "purecloud" => Ok(Self::Genesys),
            "generic" | "oauth2" | "rfc6749" => Ok(Self::Generic),
            "cxone" | "nice" | "incontact" => Ok(Self::Cxone),
            _ => Err(format!(
                "unknown provider '{s}': expected genesys, generic or cxone"
            )),
        }
    }
}

/// Where a generic provider's token endpoint is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The token URL, given explicitly.
    TokenUrl(Url),
    /// An issuer: RFC 8414 metadata, then OIDC discovery.
    Issuer(Url),
}

/// The CXone user's access key (the password grant's username/password).
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// Access key id (sent as `username`).
    pub id: String,
    /// Access key secret (sent as `password`).
    pub secret: ClientSecret,
}

/// The validated description of one token server.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    /// Genesys Cloud.
    Genesys {
        /// The region, when known (from a name or a domain in the table).
        region: Option<&'static genesys::Region>,
        /// Overrides the token URL (e.g. the emulator); otherwise derived from the region.
        token_url: Option<Url>,
        /// Overrides the API base; otherwise derived from the region, or the token URL's
        /// origin when the token URL was overridden.
        api_base: Option<Url>,
    },
    /// Any RFC 6749 server.
    Generic {
        /// Token URL or issuer.
        endpoint: Endpoint,
        /// API base for `api`, `exec` and the agent's proxy.
        api_base: Option<Url>,
    },
    /// NICE CXone.
    Cxone {
        /// The issuer (`https://cxone.niceincontact.com` by default).
        issuer: Url,
        /// Overrides the discovered token endpoint.
        token_url: Option<Url>,
        /// The API user's access key.
        access_key: AccessKey,
        /// Overrides the tenant's API base found through `cxone-configuration`.
        api_base: Option<Url>,
    },
}

impl ProviderConfig {
    /// The provider family.
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::Genesys { .. } => ProviderKind::Genesys,
            Self::Generic { .. } => ProviderKind::Generic,
            Self::Cxone { .. } => ProviderKind::Cxone,
        }
    }
}

/// The default CXone issuer.
pub const CXONE_ISSUER: &str = "https://cxone.niceincontact.com";
/// The CXone FedRAMP issuer.
pub const CXONE_GOV_ISSUER: &str = "https://cxone-gov.niceincontact.com";

/// True for `http://` URLs that point at this machine (the emulator, a local peer), where
/// plain HTTP is acceptable.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parse a URL given by a user, with a message that names the option.
pub fn parse_url(what: &str, value: &str) -> Result<Url, crate::Error> {
    let shown = without_userinfo(value);
    let url = Url::parse(value.trim()).map_err(|e| {
        crate::Error::config(format!(
            "{what} '{shown}' is not a valid URL ({e}); expected e.g. https://auth.example.com/oauth2/token"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never repeated: the password would land in errors, --dry-run and --trace, and
        // the server would get a second set of credentials.
        return Err(crate::Error::config(format!(
            "{what} '{shown}' has a user name or password in it (user:password@host), which \
             cctoken does not send; remove it, and give the client id with --client-id and the \
             secret with --client-secret-env, --client-secret-file or --client-secret-stdin \
             (in a profile: client_id and client_secret_env / client_secret_file / \
             client_secret_cmd)"
        )));
    }
    let value = shown.as_str();
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(crate::Error::config(format!(
            "{what} '{value}' uses plain http://: the client secret would cross the network \
             unencrypted. Use https:// (http:// is accepted only for loopback addresses)"
        ))),
        s => Err(crate::Error::config(format!(
            "{what} '{value}' has scheme '{s}'; expected https://"
        ))),
    }
}

/// `value` with anything between `scheme://` and an `@` of its authority replaced by
/// `…`, so a URL is never shown with its password.
fn without_userinfo(value: &str) -> String {
    let value = value.trim();
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…@{}", &rest[at + 1..]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_refused_without_repeating_it() {
        for url in [
            "https://u:PW@auth.example.com/oauth/token",
            "http://u:PW@127.0.0.1:8080/t",
            "https://PW@auth.example.com/",
            "https://u:PW@auth example.com/",
        ] {
            let e = parse_url("--token-url", url).unwrap_err();
            assert!(!e.message.contains("PW"), "{e}");
            assert!(e.message.contains("--token-url"), "{e}");
            if !url.contains(' ') {
                assert!(e.message.contains("--client-secret-env"), "{e}");
                assert!(e.message.contains("--client-id"), "{e}");
            }
        }
        assert!(parse_url("--token-url", "https://auth.example.com/a@b").is_ok());
    }

    #[test]
    fn http_only_for_loopback() {
        assert!(parse_url("--token-url", "http://127.0.0.1:8080/oauth/token").is_ok());
        assert!(parse_url("--token-url", "http://[::1]:8080/t").is_ok());
        assert!(parse_url("--token-url", "http://localhost/t").is_ok());
        let e = parse_url("--token-url", "http://auth.example.com/t").unwrap_err();
        assert!(e.message.contains("unencrypted"));
        assert!(parse_url("--token-url", "not a url").is_err());
        assert!(parse_url("--token-url", "ftp://x/y").is_err());
    }

    #[test]
    fn providers_hints_replace_the_generic_ones_only_where_they_know_better() {
        let genesys = ProviderKind::Genesys
            .hint(ErrorKind::InvalidClient)
            .unwrap();
        assert!(genesys.contains("region"));
        assert_ne!(
            Some(genesys),
            ProviderKind::Cxone.hint(ErrorKind::InvalidClient)
        );
        assert_eq!(
            ProviderKind::Genesys.hint(ErrorKind::InvalidGrant),
            generic::hint(ErrorKind::InvalidGrant)
        );
        for p in [
            ProviderKind::Genesys,
            ProviderKind::Generic,
            ProviderKind::Cxone,
        ] {
            assert_eq!(p.hint(ErrorKind::Config), None);
            for k in ErrorKind::ALL
                .into_iter()
                .filter(|k| *k != ErrorKind::Config)
            {
                assert!(p.hint(k).is_some(), "{p} {k}");
            }
        }
    }

    #[test]
    fn provider_names() {
        assert_eq!("Genesys".parse::<ProviderKind>(), Ok(ProviderKind::Genesys));
        assert!("okta".parse::<ProviderKind>().is_err());
    }
}
