//! Genesys Cloud: the region table (the one place it lives), looking a region up as users
//! write it ([`lookup_region`]), the host rules, and what Genesys' failures usually mean
//! ([`hint`]).
//!
//! The table is the official SDKs' `PureCloudRegionHosts` (Python SDK 269.0.0). The token
//! URL is on the `login.` host, the API base on the `api.` host — sending the token
//! request to `api.<domain>` is one of the classic causes of `invalid_client`.

use url::Url;

use crate::error::ErrorKind;
use crate::Error;

/// One Genesys Cloud region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Region name, e.g. `eu-west-1`.
    pub name: &'static str,
    /// Region domain, e.g. `mypurecloud.ie`.
    pub domain: &'static str,
}

/// All Genesys Cloud regions, as the official SDKs list them.
pub const REGIONS: &[Region] = &[
    Region {
        name: "us-east-1",
        domain: "mypurecloud.com",
    },
    Region {
        name: "eu-west-1",
        domain: "mypurecloud.ie",
    },
    Region {
        name: "ap-southeast-2",
        domain: "mypurecloud.com.au",
    },
    Region {
        name: "ap-northeast-1",
        domain: "mypurecloud.jp",
    },
    Region {
        name: "eu-central-1",
        domain: "mypurecloud.de",
    },
    Region {
        name: "us-west-2",
        domain: "usw2.pure.cloud",
    },
    Region {
        name: "ca-central-1",
        domain: "cac1.pure.cloud",
    },
    Region {
        name: "ap-northeast-2",
        domain: "apne2.pure.cloud",
    },
    Region {
        name: "eu-west-2",
        domain: "euw2.pure.cloud",
    },
    Region {
        name: "ap-south-1",
        domain: "aps1.pure.cloud",
    },
    Region {
        name: "us-east-2",
        domain: "use2.us-gov-pure.cloud",
    },
    Region {
        name: "sa-east-1",
        domain: "sae1.pure.cloud",
    },
    Region {
        name: "me-central-1",
        domain: "mec1.pure.cloud",
    },
    Region {
        name: "ap-northeast-3",
        domain: "apne3.pure.cloud",
    },
    Region {
        name: "eu-central-2",
        domain: "euc2.pure.cloud",
    },
    Region {
        name: "mx-central-1",
        domain: "mxc1.pure.cloud",
    },
    Region {
        name: "ap-southeast-1",
        domain: "apse1.pure.cloud",
    },
    Region {
        name: "eusc-de-east-1",
        domain: "edee1.eusc-pure.cloud",
    },
];

impl Region {
    /// Look a region up by name (`eu-west-1`) or domain (`mypurecloud.ie`). Also accepts a
    /// host or URL on the domain (`login.mypurecloud.ie`, `https://api.mypurecloud.ie`), as
    /// people paste them; case-insensitive.
    pub fn lookup(input: &str) -> Option<&'static Region> {
        let s = input.trim().to_ascii_lowercase();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(&s);
        let s = s.trim_end_matches('/');
        let s = s
            .strip_prefix("login.")
            .or_else(|| s.strip_prefix("api."))
            .unwrap_or(s);
        REGIONS.iter().find(|r| r.name == s || r.domain == s)
    }

    /// Find the region whose domain a host belongs to (`api.mypurecloud.ie` → eu-west-1).
    pub fn for_host(host: &str) -> Option<&'static Region> {
        let host = host.to_ascii_lowercase();
        REGIONS.iter().find(|r| {
            host == r.domain
                || host
                    .strip_suffix(r.domain)
                    .is_some_and(|p| p.ends_with('.'))
        })
    }

    /// `https://login.<domain>/oauth/token`
    pub fn token_url(&self) -> Url {
        // Infallible: every domain in the table is a valid host.
        Url::parse(&format!("https://login.{}/oauth/token", self.domain))
            .expect("region table holds valid hosts")
    }

    /// `https://api.<domain>`
    pub fn api_base(&self) -> Url {
        Url::parse(&format!("https://api.{}", self.domain)).expect("region table holds valid hosts")
    }

    /// Names of all regions, for error messages and completions.
    pub fn names() -> Vec<&'static str> {
        REGIONS.iter().map(|r| r.name).collect()
    }
}

/// Look up a Genesys region by name or domain (`me_central_1` spelled the gc CLI's way is
/// accepted), or fail listing the region names. `what` names the setting in the message.
pub fn lookup_region(input: &str, what: &str) -> Result<&'static Region, Error> {
    Region::lookup(&input.replace('_', "-")).ok_or_else(|| {
        Error::config(format!(
            "unknown Genesys Cloud region '{input}' (from {what}); use a region name ({}) or its \
             domain (e.g. mypurecloud.ie); to point at another host use --token-url",
            Region::names().join(", ")
        ))
    })
}

/// True when `id` looks like a Genesys OAuth client id (a UUID).
pub fn looks_like_client_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The likely causes of a `kind` failure at Genesys, where they differ from the generic
/// ones ([`super::generic::hint`]).
pub fn hint(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::InvalidClient => {
            "Genesys answers invalid_client when the secret does not match (compare the presented \
             fingerprint with the one of the secret in Admin > OAuth), when the token request goes \
             to the wrong region (the client exists in one region only; check --region), when the \
             client was deleted or its secret rotated, or when the client's grant type is not \
             Client Credentials. Run `cctoken doctor` for a full check."
        }
        ErrorKind::UnauthorizedClient => {
            "The OAuth client exists but is not allowed to use this grant: in Genesys Admin > \
             OAuth, the client's Grant Type must be Client Credentials (it cannot be changed \
             later — create a new client)."
        }
        ErrorKind::InvalidRequest => {
            "Genesys expects a form-encoded body (not JSON) with grant_type=client_credentials and \
             the client in the Basic header; there is no 'duration' parameter — token lifetime is \
             set on the OAuth client (300–172800 s)."
        }
        ErrorKind::RateLimited => {
            "Genesys rate-limits the token endpoint: share one token between jobs (`cctoken exec`, \
             the cache, or `cctoken agent`) instead of requesting one per job."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_regions_with_unique_names_and_domains() {
        assert_eq!(REGIONS.len(), 18);
        let mut names: Vec<_> = REGIONS.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 18);
    }

    #[test]
    fn lookup_by_name_domain_and_host() {
        let ie = Region::lookup("eu-west-1").unwrap();
        assert_eq!(ie.domain, "mypurecloud.ie");
        assert_eq!(Region::lookup("mypurecloud.ie"), Some(ie));
        assert_eq!(Region::lookup("https://login.mypurecloud.ie/"), Some(ie));
        assert_eq!(Region::lookup("EU-WEST-1"), Some(ie));
        assert_eq!(Region::lookup("mars-1"), None);
        assert_eq!(
            ie.token_url().as_str(),
            "https://login.mypurecloud.ie/oauth/token"
        );
        assert_eq!(ie.api_base().as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(
            Region::lookup("eusc-de-east-1")
                .unwrap()
                .token_url()
                .as_str(),
            "https://login.edee1.eusc-pure.cloud/oauth/token"
        );
        // mypurecloud.com must not match mypurecloud.com.au
        assert_eq!(
            Region::for_host("api.mypurecloud.com.au").unwrap().name,
            "ap-southeast-2"
        );
        assert_eq!(
            Region::for_host("login.mypurecloud.com").unwrap().name,
            "us-east-1"
        );
        assert_eq!(Region::for_host("evilmypurecloud.com"), None);
    }

    #[test]
    fn unknown_regions_are_errors_that_list_the_names() {
        assert_eq!(
            lookup_region("me_central_1", "x").unwrap().name,
            "me-central-1"
        );
        let m = lookup_region("mars-1", "--region").unwrap_err().message;
        assert!(m.contains("unknown Genesys Cloud region 'mars-1'"), "{m}");
        assert!(m.contains("(from --region)"), "{m}");
        assert!(m.contains("eusc-de-east-1"), "{m}");
    }

    #[test]
    fn client_id_shape() {
        assert!(looks_like_client_id("5a1c3a2e-1b2c-4d5e-8f90-123456789abc"));
        assert!(!looks_like_client_id("my-client"));
    }
}
