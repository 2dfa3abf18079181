//! Which platform a token host belongs to — a Genesys Cloud region (from the region table
//! of [`cctoken::provider::genesys`]), NICE CXone, this machine, or anything else — so that
//! each check can hold the request against that platform's rules.

use cctoken::provider::genesys::Region;

/// Which platform a token host belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// A Genesys Cloud region's domain.
    Genesys(&'static Region),
    /// NICE CXone.
    Cxone,
    /// This machine (an emulator, a local peer).
    Loopback,
    /// Anything else (or unknown).
    Other,
}

/// The grants Genesys Cloud's token endpoint serves, as the official SDKs send them
/// (Python SDK 269.0.0, `api_client.py`: client credentials, SAML2 bearer, authorization
/// code with and without PKCE, refresh). There is no password grant.
pub const GENESYS_GRANTS: &[&str] = &[
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
];

/// The grants CXone's `/auth/token` serves (its OpenAPI `oneOf`, see the CXone research
/// notes): the access-key password grant, authorization code, refresh, and token exchange.
pub const CXONE_GRANTS: &[&str] = &[
    "password",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

impl Platform {
    /// The platform's name in a message.
    pub fn name(self) -> String {
        match self {
            Self::Genesys(r) => format!("Genesys Cloud ({})", r.name),
            Self::Cxone => "NICE CXone".into(),
            Self::Loopback => "this machine".into(),
            Self::Other => "the server".into(),
        }
    }

    /// The grant types the platform's token endpoint serves, when doctor knows them.
    pub fn grants(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Genesys(_) => Some(GENESYS_GRANTS),
            Self::Cxone => Some(CXONE_GRANTS),
            Self::Loopback | Self::Other => None,
        }
    }
}

/// The platform of `host`.
pub fn platform(host: &str) -> Platform {
    let h = host.to_ascii_lowercase();
    if let Some(r) = Region::for_host(&h) {
        return Platform::Genesys(r);
    }
    if h == "niceincontact.com"
        || h.ends_with(".niceincontact.com")
        || h.ends_with(".nice-incontact.com")
    {
        return Platform::Cxone;
    }
    if h == "localhost" || h.starts_with("127.") || h == "::1" || h == "[::1]" {
        return Platform::Loopback;
    }
    Platform::Other
}
