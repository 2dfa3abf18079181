//! Region names in Genesys Cloud host names: `login.eu-west-1.mypurecloud.com` is a guess
//! built from a region name — it sits on `mypurecloud.com`, which is us-east-1, so the
//! request reaches the wrong region and gets `invalid_client` again. The real login host
//! comes from the region table ([`cctoken::provider::genesys::REGIONS`]).
//!
//! A host's labels are read for what they name: a region (`eu-west-1`, `eu_west_1`,
//! `euwest1`), a region's own short label (`usw2`, `euw2`, `apne2`), or an area or country
//! (`eu`, `us`, `de`, `uk`, `jp`, …). Hosts that look like Genesys Cloud but are on no
//! region's domain (`login.mypurecloud.eu`, `api.us.genesys.cloud`) are recognised too.
//! This module only reads names; `endpoint` decides what to report.

use cctoken::provider::genesys::{Region, REGIONS};

/// Labels that say nothing about a region.
const NEUTRAL: &[&str] = &[
    "login",
    "api",
    "auth",
    "www",
    "apps",
    "mypurecloud",
    "purecloud",
    "pure",
    "cloud",
    "genesys",
    "genesyscloud",
    "com",
    "net",
    "org",
    "co",
    "oauth",
    "sso",
];

/// Area and country words, with the region names (or name prefixes) they point to.
const AREAS: &[(&[&str], &str)] = &[
    (&["eu", "europe", "emea"], "eu-"),
    (&["us", "usa", "na", "americas"], "us-"),
    (&["ap", "apac", "asia"], "ap-"),
    (&["ca", "canada"], "ca-central-1"),
    (&["sa", "br", "brazil", "saopaulo"], "sa-east-1"),
    (&["me", "ae", "uae"], "me-central-1"),
    (&["mx", "mexico"], "mx-central-1"),
    (&["ie", "dublin", "ireland"], "eu-west-1"),
    (&["uk", "gb", "london"], "eu-west-2"),
    (&["de", "frankfurt", "germany"], "eu-central-1"),
    (&["ch", "zurich"], "eu-central-2"),
    (&["au", "sydney", "australia"], "ap-southeast-2"),
    (&["jp", "tokyo", "japan"], "ap-northeast-1"),
    (&["kr", "seoul", "korea"], "ap-northeast-2"),
    (&["osaka"], "ap-northeast-3"),
    (&["in", "mumbai", "india"], "ap-south-1"),
    (&["sg", "singapore"], "ap-southeast-1"),
];

/// A host that looks like Genesys Cloud's, whether or not it is on a region's domain.
pub(super) fn genesys_like(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    Region::for_host(&h).is_some()
        || h.split('.')
            .any(|l| matches!(l, "mypurecloud" | "purecloud" | "genesyscloud"))
        || h.ends_with("pure.cloud")
        || h.ends_with("genesys.cloud")
}

/// The regions `host`'s labels name (none when they name none), in table order. The labels
/// of the region domain the host is on, if any, are not read.
pub(super) fn named_regions(host: &str) -> Vec<&'static Region> {
    let h = host.to_ascii_lowercase();
    let own = Region::for_host(&h).map(|r| r.domain);
    let labels = match own {
        Some(d) => h.strip_suffix(d).unwrap_or_default(),
        None => h.as_str(),
    };
    let mut out: Vec<&'static Region> = Vec::new();
    for label in labels.split('.').filter(|l| !l.is_empty()) {
        for r in regions_named_by(label) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out.sort_by_key(|r| REGIONS.iter().position(|x| x == *r));
    out
}

fn regions_named_by(label: &str) -> Vec<&'static Region> {
    let l = label.replace('_', "-");
    if NEUTRAL.contains(&l.as_str()) {
        return Vec::new();
    }
    let squashed = l.replace('-', "");
    let exact: Vec<&'static Region> = REGIONS
        .iter()
        .filter(|r| {
            r.name == l
                || r.name.replace('-', "") == squashed
                || (r.domain.matches('.').count() >= 2 && r.domain.split('.').next() == Some(&l))
        })
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    AREAS
        .iter()
        .filter(|(words, _)| words.contains(&l.as_str()))
        .flat_map(|(_, target)| {
            REGIONS.iter().filter(move |r| {
                r.name == *target || (target.ends_with('-') && r.name.starts_with(target))
            })
        })
        .collect()
}

/// `name https://login.<domain>/oauth/token` for each region, for a fix.
pub(super) fn login_urls(regions: &[&'static Region]) -> String {
    let all: Vec<&'static Region> = if regions.is_empty() {
        REGIONS.iter().collect()
    } else {
        regions.to_vec()
    };
    all.iter()
        .map(|r| format!("{} {}", r.name, r.token_url()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(host: &str) -> Vec<&'static str> {
        named_regions(host).iter().map(|r| r.name).collect()
    }

    #[test]
    fn region_names_short_labels_and_areas_are_read() {
        assert_eq!(names("login.eu-west-1.mypurecloud.com"), ["eu-west-1"]);
        assert_eq!(
            names("login.eu_central_1.mypurecloud.com"),
            ["eu-central-1"]
        );
        assert_eq!(names("login.usw2.mypurecloud.com"), ["us-west-2"]);
        assert_eq!(names("login.mypurecloud.co.uk"), ["eu-west-2"]);
        assert_eq!(
            names("login.mypurecloud.eu"),
            ["eu-west-1", "eu-central-1", "eu-west-2", "eu-central-2"]
        );
        assert_eq!(
            names("api.us.genesys.cloud"),
            ["us-east-1", "us-west-2", "us-east-2"]
        );
        // The real hosts name nothing beyond their own domain.
        assert!(names("login.mypurecloud.ie").is_empty());
        assert!(names("login.euw2.pure.cloud").is_empty());
        assert!(names("login.mypurecloud.com.au").is_empty());
        assert!(genesys_like("login.mypurecloud.eu") && genesys_like("login.pure.cloud"));
        assert!(!genesys_like("auth.example.com"));
    }
}
