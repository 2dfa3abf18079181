//! The environment a token's consumer gets, built in one place: the variables `exec` gives
//! its command and the ones `get --format env|dotenv|github|gitlab` prints, so the two
//! never drift apart.
//!
//! Every consumer gets `CCTOKEN_ACCESS_TOKEN`, `CCTOKEN_API_BASE` when the API base is
//! known and, for Genesys profiles, `GENESYSCLOUD_ACCESS_TOKEN` and `GENESYSCLOUD_REGION`
//! (the profile's region, else the one the API base is on), which the Genesys CLI and
//! Terraform provider read. The
//! printed formats add the token type and expiry; `exec` adds its token file and `--env`
//! aliases instead, since a command's environment cannot follow a refreshed token. The
//! names are the library's constants (`cctoken::config::env`).

use cctoken::config::env;
use cctoken::provider::genesys::Region;
use cctoken::provider::ProviderKind;
use cctoken::secret::AccessToken;
use url::Url;

/// What the variables are made from.
#[derive(Debug, Clone, Copy)]
pub struct Consumer<'a> {
    /// The token.
    pub access_token: &'a AccessToken,
    /// The API base, when known.
    pub api_base: Option<&'a Url>,
    /// The provider family.
    pub provider: ProviderKind,
    /// The Genesys region of the profile, when known (else the API base's host tells).
    pub region: Option<&'static Region>,
}

/// One variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// Its name.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// True when the value is the token.
    pub secret: bool,
}

impl Var {
    fn new(name: &'static str, value: impl Into<String>, secret: bool) -> Self {
        Self {
            name,
            value: value.into(),
            secret,
        }
    }
}

/// The variables for `c`, in order; `details` (token type, expiry — printed formats only)
/// come right after the token.
pub fn variables(c: &Consumer<'_>, details: &[(&'static str, String)]) -> Vec<Var> {
    let token = c.access_token.expose_secret();
    let mut v = vec![Var::new(env::CCTOKEN_ACCESS_TOKEN, token, true)];
    v.extend(
        details
            .iter()
            .map(|(k, val)| Var::new(k, val.clone(), false)),
    );
    if let Some(base) = c.api_base {
        v.push(Var::new(env::CCTOKEN_API_BASE, base_text(base), false));
    }
    if c.provider == ProviderKind::Genesys {
        v.push(Var::new(env::GENESYSCLOUD_ACCESS_TOKEN, token, true));
        let region = c.region.or_else(|| {
            c.api_base
                .and_then(Url::host_str)
                .and_then(Region::for_host)
        });
        if let Some(region) = region {
            v.push(Var::new(env::GENESYSCLOUD_REGION, region.name, false));
        }
    }
    v
}

/// The API base as people write it: without a trailing `/`, so `$CCTOKEN_API_BASE/api/v2`
/// and `{{base_url}}/api/v2` come out right.
pub fn base_text(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesys_gets_the_conventions_and_the_profile_region() {
        let token = AccessToken::new("tok");
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let c = Consumer {
            access_token: &token,
            api_base: Some(&base),
            provider: ProviderKind::Genesys,
            region: Region::lookup("eu-west-1"),
        };
        let names: Vec<&str> = variables(&c, &[]).iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "CCTOKEN_ACCESS_TOKEN",
                "CCTOKEN_API_BASE",
                "GENESYSCLOUD_ACCESS_TOKEN",
                "GENESYSCLOUD_REGION"
            ]
        );
        let v = variables(&c, &[]);
        assert_eq!(v[1].value, "http://127.0.0.1:9");
        assert_eq!(v[3].value, "eu-west-1");
        assert!(v[0].secret && v[2].secret && !v[1].secret && !v[3].secret);
        let generic = Consumer {
            provider: ProviderKind::Generic,
            api_base: None,
            ..c
        };
        let v = variables(&generic, &[("CCTOKEN_TOKEN_TYPE", "Bearer".into())]);
        let names: Vec<&str> = v.iter().map(|v| v.name).collect();
        assert_eq!(names, ["CCTOKEN_ACCESS_TOKEN", "CCTOKEN_TOKEN_TYPE"]);
        // No region in the profile: the API base's host tells, when it is a Genesys one.
        let on_genesys = Url::parse("https://api.mypurecloud.de").unwrap();
        let c = Consumer {
            api_base: Some(&on_genesys),
            region: None,
            ..c
        };
        let v = variables(&c, &[]);
        assert_eq!(v.last().map(|v| v.value.as_str()), Some("eu-central-1"));
    }
}
