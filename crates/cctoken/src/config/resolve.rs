//! From [`ProfileSettings`] (a profile with flags on top) to a validated
//! [`ClientConfig`]: provider inference, Genesys env conventions and CLI profiles, URL
//! checks, and the secrets loaded from their sources.
//!
//! This is the edge where "parse, don't validate" happens once: every error is a
//! [`Error::config`] that says what to change, and no error or note ever holds a secret —
//! secrets are described by their origin (`env CCTOKEN_CLIENT_SECRET`) only.
//!
//! Provider inference, when `provider` is not given: an access key → `cxone`; a region or a
//! `--gc-profile` → `genesys`; a token URL or issuer → `generic`; else
//! `GENESYSCLOUD_REGION`/`GENESYSCLOUD_OAUTHCLIENT_ID` in the environment → `genesys`.

use std::io::Read;

use crate::config::env::{self, EnvLookup};
use crate::config::gc::{self, GcProfile};
use crate::config::profile::ProfileSettings;
use crate::config::sources::{self, SecretKind, SecretSource};
use crate::config::ClientConfig;
use crate::provider::genesys::Region;
use crate::provider::{parse_url, AccessKey, Endpoint, ProviderConfig, ProviderKind, CXONE_ISSUER};
use crate::Error;

/// Form parameters that cctoken sets itself and `params` must not override.
const RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "audience",
    "username",
    "password",
    "refresh_token",
];

/// How secrets are read while resolving.
#[derive(Default)]
pub struct ResolveOptions<'a> {
    /// `--keep-secret-bytes`: take secrets exactly as read (no newline stripping, no checks).
    pub keep_secret_bytes: bool,
    /// Where `--client-secret-stdin` / `--access-key-secret-stdin` read from (the process's
    /// stdin in the CLI, a byte slice in tests). `None`: stdin sources are an error.
    pub stdin: Option<Box<dyn Read + 'a>>,
}

impl std::fmt::Debug for ResolveOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolveOptions")
            .field("keep_secret_bytes", &self.keep_secret_bytes)
            .field("stdin", &self.stdin.is_some())
            .finish()
    }
}

/// A validated profile, ready for [`crate::client::Client::new`].
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    /// The profile name, when one was used.
    pub name: Option<String>,
    /// The validated client configuration (secrets inside, redacted in `Debug`).
    pub config: ClientConfig,
    /// Where the client secret came from, e.g. `env CCTOKEN_CLIENT_SECRET` — never the value.
    pub secret_origin: String,
    /// Where the CXone access key secret came from.
    pub access_key_origin: Option<String>,
    /// What was inferred or normalised on the way (for debug logs and `profiles show`).
    pub notes: Vec<String>,
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

/// Infer the provider (see the module docs).
pub fn infer_provider(
    s: &ProfileSettings,
    env: &dyn EnvLookup,
) -> Result<(ProviderKind, Option<&'static str>), Error> {
    if let Some(p) = s.provider {
        return Ok((p, None));
    }
    let has_access_key = s.access_key_id.is_some()
        || s.access_key_secret_env.is_some()
        || s.access_key_secret_file.is_some()
        || s.access_key_secret_cmd.is_some()
        || s.access_key_secret_stdin;
    Ok(if has_access_key {
        (ProviderKind::Cxone, Some("an access key is set"))
    } else if s.region.is_some() {
        (ProviderKind::Genesys, Some("a region is set"))
    } else if s.gc_profile.is_some() {
        (ProviderKind::Genesys, Some("--gc-profile is set"))
    } else if s.token_url.is_some() || s.issuer.is_some() {
        (ProviderKind::Generic, Some("a token URL or issuer is set"))
    } else if env.non_empty(env::GENESYSCLOUD_REGION).is_some()
        || env.non_empty(env::GENESYSCLOUD_OAUTHCLIENT_ID).is_some()
    {
        (
            ProviderKind::Genesys,
            Some("GENESYSCLOUD_REGION or GENESYSCLOUD_OAUTHCLIENT_ID is set"),
        )
    } else {
        return Err(Error::config(
            "no token server given: use --region NAME (Genesys Cloud), --token-url URL or \
             --issuer URL (any OAuth2 server), --provider cxone --access-key-id ID (NICE CXone), \
             or --profile NAME (see `cctoken profiles list`)",
        ));
    })
}

/// Resolve settings into a [`ResolvedProfile`], reading secrets from their sources.
pub fn resolve(
    s: &ProfileSettings,
    env: &dyn EnvLookup,
    opts: ResolveOptions<'_>,
) -> Result<ResolvedProfile, Error> {
    let mut notes = Vec::new();
    let mut stdin = opts.stdin;
    if s.client_secret_stdin && s.access_key_secret_stdin {
        return Err(Error::config(
            "--client-secret-stdin and --access-key-secret-stdin cannot both read stdin; give \
             one of the secrets another source (e.g. CCTOKEN_ACCESS_KEY_SECRET)",
        ));
    }
    let (kind, why) = infer_provider(s, env)?;
    if let Some(why) = why {
        notes.push(format!("provider {kind} inferred because {why}"));
    }
    let gc = match &s.gc_profile {
        Some(_) if kind != ProviderKind::Genesys => {
            return Err(Error::config(format!(
                "--gc-profile applies to Genesys Cloud only, but the provider is {kind}"
            )))
        }
        Some(name) => Some(gc::load(name, env)?),
        None => None,
    };
    if s.token_url.is_some() && s.issuer.is_some() {
        return Err(Error::config(
            "both token_url and issuer are set; give one: token_url is used as is, issuer is \
             discovered (or, for genesys, used as the host)",
        ));
    }
    let client_id = client_id(s, kind, env, gc.as_ref())?;
    let api_base = s
        .api_base
        .as_deref()
        .map(|u| parse_url("api_base (--api-base)", u))
        .transpose()?;
    let mut access_key_origin = None;
    let provider = match kind {
        ProviderKind::Genesys => genesys(s, env, gc.as_ref(), api_base, &mut notes)?,
        ProviderKind::Generic => {
            if s.region.is_some() {
                return Err(Error::config(
                    "region applies to Genesys Cloud only; for a generic provider give \
                     token_url or issuer (or set provider = \"genesys\")",
                ));
            }
            if s.access_key_id.is_some() {
                return Err(Error::config(
                    "access_key_id applies to NICE CXone only (provider = \"cxone\")",
                ));
            }
            let endpoint =
                match (&s.token_url, &s.issuer) {
                    (Some(u), _) => Endpoint::TokenUrl(parse_url("token_url (--token-url)", u)?),
                    (_, Some(i)) => Endpoint::Issuer(parse_url("issuer (--issuer)", i)?),
                    _ => return Err(Error::config(
                        "a generic provider needs --token-url URL or --issuer URL (token_url or \
                         issuer in the profile)",
                    )),
                };
            ProviderConfig::Generic { endpoint, api_base }
        }
        ProviderKind::Cxone => {
            let issuer = parse_url(
                "issuer (--issuer)",
                s.issuer.as_deref().unwrap_or(CXONE_ISSUER),
            )?;
            let token_url = s
                .token_url
                .as_deref()
                .map(|u| parse_url("token_url (--token-url)", u))
                .transpose()?;
            let id = s
                .access_key_id
                .as_deref()
                .map(str::trim)
                .filter(|i| !i.is_empty());
            let Some(id) = id else {
                return Err(Error::config(
                    "NICE CXone back-end access uses an API user's access key: give \
                     --access-key-id ID (access_key_id in the profile) and its secret via \
                     CCTOKEN_ACCESS_KEY_SECRET, --access-key-secret-file or \
                     --access-key-secret-stdin",
                ));
            };
            let src = sources::plan_access_key_secret(s, env)?;
            let loaded = sources::load_secret(
                SecretKind::AccessKey,
                &src,
                env,
                opts.keep_secret_bytes,
                &mut stdin,
            )?;
            notes.extend(loaded.notes);
            access_key_origin = Some(loaded.origin);
            ProviderConfig::Cxone {
                issuer,
                token_url,
                access_key: AccessKey {
                    id: id.to_owned(),
                    secret: loaded.secret,
                },
                api_base,
            }
        }
    };
    let src: SecretSource = sources::plan_client_secret(s, kind, env, gc.as_ref())?;
    let secret = sources::load_secret(
        SecretKind::Client,
        &src,
        env,
        opts.keep_secret_bytes,
        &mut stdin,
    )?;
    notes.extend(secret.notes);
    let mut config = ClientConfig::new(provider, client_id, secret.secret);
    config.auth = s.auth;
    config.scopes = scopes(s.scopes.as_deref().unwrap_or_default())?;
    config.audience = s.audience.clone().filter(|a| !a.is_empty());
    config.extra_params = params(s)?;
    config.default_lifetime = s.default_lifetime;
    Ok(ResolvedProfile {
        name: s.name.clone(),
        config,
        secret_origin: secret.origin,
        access_key_origin,
        notes,
    })
}

fn client_id(
    s: &ProfileSettings,
    kind: ProviderKind,
    env: &dyn EnvLookup,
    gc: Option<&GcProfile>,
) -> Result<String, Error> {
    let (id, from) = if let Some(id) = &s.client_id {
        (id.clone(), "client_id (--client-id)")
    } else if let Some(id) = env
        .non_empty(env::GENESYSCLOUD_OAUTHCLIENT_ID)
        .filter(|_| kind == ProviderKind::Genesys)
    {
        (id, "env GENESYSCLOUD_OAUTHCLIENT_ID")
    } else if let Some(id) = gc.and_then(|g| g.client_id.clone()) {
        (id, "the gc profile's client_credentials")
    } else {
        let more = if kind == ProviderKind::Genesys {
            ", GENESYSCLOUD_OAUTHCLIENT_ID or --gc-profile NAME"
        } else {
            ""
        };
        return Err(Error::config(format!(
            "no client id given: use --client-id ID or client_id in the profile{more}"
        )));
    };
    if id.is_empty() {
        return Err(Error::config(format!("the client id from {from} is empty")));
    }
    if id.trim() != id || id.chars().any(char::is_control) {
        return Err(Error::config(format!(
            "the client id from {from} has leading/trailing whitespace or a control character \
             (copied with a newline?); remove it"
        )));
    }
    Ok(id)
}

fn genesys(
    s: &ProfileSettings,
    env: &dyn EnvLookup,
    gc: Option<&GcProfile>,
    api_base: Option<url::Url>,
    notes: &mut Vec<String>,
) -> Result<ProviderConfig, Error> {
    if s.access_key_id.is_some() {
        return Err(Error::config(
            "access_key_id applies to NICE CXone only (provider = \"cxone\")",
        ));
    }
    let region_input = if let Some(r) = &s.region {
        Some((r.clone(), "--region / profile region".to_owned()))
    } else if let Some(r) = env.non_empty(env::GENESYSCLOUD_REGION) {
        Some((r, "env GENESYSCLOUD_REGION".to_owned()))
    } else {
        gc.and_then(|g| {
            g.region_input()
                .map(|r| (r, format!("environment of gc profile {}", g.name)))
        })
    };
    let region = match &region_input {
        Some((r, from)) if r.eq_ignore_ascii_case("localhost") => {
            notes.push(format!(
                "{from} is localhost: give --token-url for the local server"
            ));
            None
        }
        Some((r, from)) => Some(lookup_region(r, from)?),
        None => None,
    };
    let token_url = match (&s.token_url, &s.issuer) {
        (Some(u), _) => Some(parse_url("token_url (--token-url)", u)?),
        (_, Some(i)) => {
            let base = parse_url("issuer (--issuer)", i)?;
            let joined = format!("{}/oauth/token", base.as_str().trim_end_matches('/'));
            notes.push(format!(
                "genesys: using issuer {base} as the host: token URL {joined}"
            ));
            Some(parse_url("issuer (--issuer)", &joined)?)
        }
        _ => None,
    };
    if region.is_none() && token_url.is_none() {
        return Err(Error::config(format!(
            "Genesys Cloud needs a region: --region NAME, region in the profile, \
             GENESYSCLOUD_REGION or --gc-profile; one of: {} (or the domain, e.g. \
             mypurecloud.ie); --token-url points at another host",
            Region::names().join(", ")
        )));
    }
    Ok(ProviderConfig::Genesys {
        region,
        token_url,
        api_base,
    })
}

fn scopes(raw: &[String]) -> Result<Vec<String>, Error> {
    // Whitespace separates scopes (RFC 6749 §3.3); commas are legal inside a scope.
    let out: Vec<String> = raw
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = out.iter().find(|s| s.contains('"') || s.contains('\\')) {
        return Err(Error::config(format!(
            "scope '{bad}' contains a quote or backslash, which RFC 6749 §3.3 does not allow"
        )));
    }
    Ok(out)
}

fn params(s: &ProfileSettings) -> Result<Vec<(String, String)>, Error> {
    let Some(map) = &s.params else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (k, v) in map {
        if k.is_empty() {
            return Err(Error::config(
                "a parameter (params / --param) has an empty name",
            ));
        }
        if RESERVED_PARAMS.contains(&k.as_str()) {
            let fix = match k.as_str() {
                "scope" => "use scopes (--scope)",
                "audience" => "use audience (--audience)",
                _ => "cctoken sets it from the profile",
            };
            return Err(Error::config(format!(
                "parameter '{k}' cannot be set with params/--param: {fix}"
            )));
        }
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
