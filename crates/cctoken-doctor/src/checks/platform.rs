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
