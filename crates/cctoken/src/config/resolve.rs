//! From [`ProfileSettings`] (a profile with flags on top) to a validated
//! [`ClientConfig`]: provider inference, then one function per provider (`genesys`,
//! `generic`, `cxone`) for its endpoint, env conventions and checks, then the secrets
//! loaded from their sources.
//!
//! This is the edge where "parse, don't validate" happens once: the settings are typed
//! already (URLs, regions, durations), so what is checked here is how they combine. Every
//! error is a [`Error::config`] that says what to change, and no error or note ever holds a
//! secret — secrets are described by their origin (`env CCTOKEN_CLIENT_SECRET`) only.
//!
//! Provider inference, when `provider` is not given: an access key → `cxone`; a region or a
//! `--gc-profile` → `genesys`; a token URL or issuer → `generic`; else
//! `GENESYSCLOUD_REGION`/`GENESYSCLOUD_OAUTHCLIENT_ID` in the environment → `genesys`.

use std::io::Read;

use url::Url;

use crate::auth::material::KeyAuth;
use crate::auth::AuthMethod;
use crate::config::env::{self, EnvLookup};
use crate::config::gc::{self, GcProfile};
use crate::config::profile::{ProfileSettings, SecretSetting};
use crate::config::sources::{self, SecretKind, SecretSource};
use crate::config::ClientConfig;
use crate::provider::genesys::{lookup_region, Region};
use crate::provider::{parse_url, AccessKey, Endpoint, ProviderConfig, ProviderKind, CXONE_ISSUER};
use crate::secret::ClientSecret;
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
    "client_assertion",
    "client_assertion_type",
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
    /// The environment variables the secrets were read from (`--client-secret-env`'s,
    /// `GENESYSCLOUD_OAUTHCLIENT_SECRET`, ...): a command `exec` runs must not inherit them.
    pub secret_vars: Vec<String>,
    /// What was inferred or normalised on the way (for debug logs and `profiles show`).
    pub notes: Vec<String>,
}

/// Infer the provider (see the module docs); the reason, when it was inferred.
pub fn infer_provider(
    s: &ProfileSettings,
    env: &dyn EnvLookup,
) -> Result<(ProviderKind, Option<String>), Error> {
    if let Some(p) = s.provider {
        return Ok((p, None));
    }
    let (kind, why) = if s.access_key_id.is_some() || s.access_key_secret.is_some() {
        (ProviderKind::Cxone, "an access key is set".to_owned())
    } else if s.region.is_some() {
        (ProviderKind::Genesys, "a region is set".to_owned())
    } else if s.gc_profile.is_some() {
        (ProviderKind::Genesys, "--gc-profile is set".to_owned())
    } else if s.endpoint.is_some() {
        (
            ProviderKind::Generic,
            "a token URL or issuer is set".to_owned(),
        )
    } else if env.non_empty(env::GENESYSCLOUD_REGION).is_some()
        || env.non_empty(env::GENESYSCLOUD_OAUTHCLIENT_ID).is_some()
    {
        let why = format!(
            "{} or {} is set",
            env::GENESYSCLOUD_REGION,
            env::GENESYSCLOUD_OAUTHCLIENT_ID
        );
        (ProviderKind::Genesys, why)
    } else {
        return Err(Error::config(
            "no token server given: use --region NAME (Genesys Cloud), --token-url URL or \
             --issuer URL (any OAuth2 server), --provider cxone --access-key-id ID (NICE CXone), \
             or --profile NAME (see `cctoken profiles list`)",
        ));
    };
    Ok((kind, Some(why)))
}

/// What resolving one provider's part of the settings gives.
struct Provider {
    config: ProviderConfig,
    access_key_origin: Option<String>,
}

/// The state shared by the provider functions: the environment, the notes, stdin.
struct Ctx<'e, 'r> {
    env: &'e dyn EnvLookup,
    keep_secret_bytes: bool,
    stdin: Option<Box<dyn Read + 'r>>,
    notes: Vec<String>,
    secret_vars: Vec<String>,
}

impl Ctx<'_, '_> {
    fn load(
        &mut self,
        kind: SecretKind,
        src: &SecretSource,
    ) -> Result<sources::LoadedSecret, Error> {
        let mut loaded =
            sources::load_secret(kind, src, self.env, self.keep_secret_bytes, &mut self.stdin)?;
        self.notes.append(&mut loaded.notes);
        if let SecretSource::Env(var) = src {
            self.secret_vars.push(var.clone());
        }
        Ok(loaded)
    }
}

/// Resolve settings into a [`ResolvedProfile`], reading secrets from their sources.
pub fn resolve(
    s: &ProfileSettings,
    env: &dyn EnvLookup,
    opts: ResolveOptions<'_>,
) -> Result<ResolvedProfile, Error> {
    if s.client_secret == Some(SecretSetting::Stdin)
        && s.access_key_secret == Some(SecretSetting::Stdin)
    {
        return Err(Error::config(
            "--client-secret-stdin and --access-key-secret-stdin cannot both read stdin; give \
             one of the secrets another source (e.g. CCTOKEN_ACCESS_KEY_SECRET)",
        ));
    }
    let mut cx = Ctx {
        env,
        keep_secret_bytes: opts.keep_secret_bytes,
        stdin: opts.stdin,
        notes: Vec::new(),
        secret_vars: Vec::new(),
    };
    let (kind, why) = infer_provider(s, env)?;
    if let Some(why) = &why {
        cx.notes
            .push(format!("provider {kind} inferred because {why}"));
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
    let client_id =
        client_id(s, kind, env, gc.as_ref()).map_err(|e| inferred(e, kind, why.as_deref(), env))?;
    let provider = match kind {
        ProviderKind::Genesys => genesys(s, gc.as_ref(), &mut cx)?,
        ProviderKind::Generic => generic(s)?,
        ProviderKind::Cxone => cxone(s, &mut cx)?,
    };
    let keys = s.keys.load(env)?;
    let (secret, secret_origin) = match (s.auth, keys.has_key() || keys.has_tls()) {
        // A key- or certificate-only method reads no secret at all.
        (Some(m), _) if !m.uses_secret() => (ClientSecret::new(""), NO_SECRET.to_owned()),
        // Material for several methods: a secret is optional, discovery picks (SPEC §14).
        (None, true) => match sources::plan_client_secret(
            s,
            kind,
            env,
            gc.as_ref().and_then(GcProfile::secret_source),
        ) {
            Ok(src) => {
                let l = cx.load(SecretKind::Client, &src)?;
                (l.secret, l.origin)
            }
            Err(_) => (ClientSecret::new(""), NO_SECRET.to_owned()),
        },
        _ => {
            let src = sources::plan_client_secret(
                s,
                kind,
                env,
                gc.as_ref().and_then(GcProfile::secret_source),
            )
            .map_err(|e| inferred(e, kind, why.as_deref(), env))?;
            let l = cx.load(SecretKind::Client, &src)?;
            (l.secret, l.origin)
        }
    };
    check_material(s.auth, &keys)?;
    let mut config = ClientConfig::new(provider.config, client_id, secret);
    config.keys = keys;
    config.auth = s.auth;
    config.scopes = scopes(s.scopes.as_deref().unwrap_or_default())?;
    config.audience = s.audience.clone().filter(|a| !a.is_empty());
    config.extra_params = params(s)?;
    config.default_lifetime = s.default_lifetime;
    Ok(ResolvedProfile {
        name: s.name.clone(),
        config,
        secret_origin,
        access_key_origin: provider.access_key_origin,
        notes: cx.notes,
        secret_vars: cx.secret_vars,
    })
}

/// A configuration error of a profile whose provider was inferred says so: with the
/// Genesys Cloud variables set, `--issuer URL` alone is a generic profile, and "no client
/// id" is a puzzle until one learns those variables are not read for it.
fn inferred(mut e: Error, kind: ProviderKind, why: Option<&str>, env: &dyn EnvLookup) -> Error {
    let Some(why) = why else {
        return e;
    };
    e.message
        .push_str(&format!(" (provider {kind}, inferred because {why})"));
    let genesys_vars: Vec<&str> = [
        env::GENESYSCLOUD_OAUTHCLIENT_ID,
        env::GENESYSCLOUD_OAUTHCLIENT_SECRET,
    ]
    .into_iter()
    .filter(|v| env.non_empty(v).is_some())
    .collect();
    if kind != ProviderKind::Genesys && !genesys_vars.is_empty() && e.hint.is_none() {
        e = e.with_hint(format!(
            "{} {} read for Genesys Cloud only: add --provider genesys (with --issuer or \
             --token-url as the host) to use {}",
            genesys_vars.join(" and "),
            if genesys_vars.len() == 1 { "is" } else { "are" },
            if genesys_vars.len() == 1 {
                "it"
            } else {
                "them"
            },
        ));
    }
    e
}

/// `secret_origin` of a client that authenticates without a secret.
pub const NO_SECRET: &str = "none (key or certificate authentication)";

/// An explicit key or certificate method has its material.
fn check_material(auth: Option<AuthMethod>, keys: &KeyAuth) -> Result<(), Error> {
    match auth {
        Some(AuthMethod::PrivateKeyJwt) if !keys.has_key() => Err(Error::config(
            "auth = private-key-jwt needs --private-key-file (private_key_file) or \
             --client-assertion-from (client_assertion_from)",
        )),
        Some(m) if m.uses_tls() && !keys.has_tls() => Err(Error::config(format!(
            "auth = {m} needs --client-cert and --client-key (client_cert, client_key)"
        ))),
        _ => Ok(()),
    }
}

fn client_id(
    s: &ProfileSettings,
    kind: ProviderKind,
    env: &dyn EnvLookup,
    gc: Option<&GcProfile>,
) -> Result<String, Error> {
    let (id, from) = if let Some(id) = &s.client_id {
        (id.clone(), "client_id (--client-id)".to_owned())
    } else if let Some(id) = env
        .non_empty(env::GENESYSCLOUD_OAUTHCLIENT_ID)
        .filter(|_| kind == ProviderKind::Genesys)
    {
        (id, format!("env {}", env::GENESYSCLOUD_OAUTHCLIENT_ID))
    } else if let Some(id) = gc.and_then(|g| g.client_id.clone()) {
        (id, "the gc profile's client_credentials".to_owned())
    } else {
        let more = if kind == ProviderKind::Genesys {
            format!(
                ", {} or --gc-profile NAME",
                env::GENESYSCLOUD_OAUTHCLIENT_ID
            )
        } else {
            String::new()
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

fn not_cxone(s: &ProfileSettings) -> Result<(), Error> {
    if s.access_key_id.is_some() {
        return Err(Error::config(
            "access_key_id applies to NICE CXone only (provider = \"cxone\")",
        ));
    }
    Ok(())
}

/// Genesys Cloud: the region (settings, `GENESYSCLOUD_REGION`, the gc profile), or a host
/// override (`token_url`, or `issuer` as the host).
fn genesys(
    s: &ProfileSettings,
    gc: Option<&GcProfile>,
    cx: &mut Ctx<'_, '_>,
) -> Result<Provider, Error> {
    not_cxone(s)?;
    let region = match s.region {
        Some(r) => Some(r),
        None => {
            let input = if let Some(r) = cx.env.non_empty(env::GENESYSCLOUD_REGION) {
                Some((r, format!("env {}", env::GENESYSCLOUD_REGION)))
            } else {
                gc.and_then(|g| {
                    g.region_input()
                        .map(|r| (r, format!("environment of gc profile {}", g.name)))
                })
            };
            match input {
                Some((r, from)) if r.eq_ignore_ascii_case("localhost") => {
                    cx.notes.push(format!(
                        "{from} is localhost: give --token-url for the local server"
                    ));
                    None
                }
                Some((r, from)) => Some(lookup_region(&r, &from)?),
                None => None,
            }
        }
    };
    let token_url = match &s.endpoint {
        Some(Endpoint::TokenUrl(u)) if is_bare_origin(u) => {
            let joined = format!("{}/oauth/token", u.as_str().trim_end_matches('/'));
            cx.notes.push(format!(
                "genesys: token URL {u} is a host override: token URL {joined}"
            ));
            Some(parse_url("token URL (--token-url)", &joined)?)
        }
        Some(Endpoint::TokenUrl(u)) => Some(u.clone()),
        Some(Endpoint::Issuer(base)) => {
            let joined = format!("{}/oauth/token", base.as_str().trim_end_matches('/'));
            cx.notes.push(format!(
                "genesys: using issuer {base} as the host: token URL {joined}"
            ));
            Some(parse_url("issuer (--issuer)", &joined)?)
        }
        None => None,
    };
    if region.is_none() && token_url.is_none() {
        return Err(Error::config(format!(
            "Genesys Cloud needs a region: --region NAME, region in the profile, \
             {} or --gc-profile; one of: {} (or the domain, e.g. mypurecloud.ie); \
             --token-url points at another host",
            env::GENESYSCLOUD_REGION,
            Region::names().join(", ")
        )));
    }
    Ok(Provider {
        config: ProviderConfig::Genesys {
            region,
            token_url,
            api_base: s.api_base.clone(),
        },
        access_key_origin: None,
    })
}

/// Any RFC 6749 server: a token URL, or an issuer to discover.
fn generic(s: &ProfileSettings) -> Result<Provider, Error> {
    if s.region.is_some() {
        return Err(Error::config(
            "region applies to Genesys Cloud only; for a generic provider give token_url or \
             issuer (or set provider = \"genesys\")",
        ));
    }
    not_cxone(s)?;
    let Some(endpoint) = s.endpoint.clone() else {
        return Err(Error::config(
            "a generic provider needs --token-url URL or --issuer URL (token_url or issuer in \
             the profile)",
        ));
    };
    // Genesys and CXone know their token path; an RFC 6749 server's is its own, and a
    // POST to `/` only earns a 404 that looks like a captive portal.
    if let Endpoint::TokenUrl(u) = &endpoint {
        if is_bare_origin(u) {
            let o = u.as_str().trim_end_matches('/');
            return Err(Error::config(format!(
                "--token-url {o} has no path; give the token endpoint (e.g. {o}/oauth/token) \
                 or --issuer {o} for discovery"
            )));
        }
    }
    Ok(Provider {
        config: ProviderConfig::Generic {
            endpoint,
            api_base: s.api_base.clone(),
        },
        access_key_origin: None,
    })
}

/// NICE CXone: the issuer (default `cxone.niceincontact.com`), the API user's access key
/// and its secret.
///
/// A token URL is a host override: everything the profile asks — discovery, the token, the
/// tenant configuration — goes to its origin. A bare origin (`http://127.0.0.1:8080`)
/// gets its token endpoint from discovery there; a full one is used as given.
fn cxone(s: &ProfileSettings, cx: &mut Ctx<'_, '_>) -> Result<Provider, Error> {
    let (issuer, token_url) = match (s.issuer(), s.token_url()) {
        (Some(i), _) => (i.clone(), None),
        (None, Some(u)) => {
            let origin = origin(u);
            let token_url = (!is_bare_origin(u)).then(|| u.clone());
            cx.notes.push(match &token_url {
                Some(t) => format!(
                    "cxone: token URL {t}; discovery and the tenant configuration at {origin}"
                ),
                None => format!(
                    "cxone: {origin} is a host override: token endpoint, discovery and the \
                     tenant configuration from there"
                ),
            });
            (origin, token_url)
        }
        (None, None) => (default_cxone_issuer()?, None),
    };
    let id = s
        .access_key_id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    let Some(id) = id else {
        return Err(Error::config(
            "NICE CXone back-end access uses an API user's access key: give --access-key-id ID \
             (access_key_id in the profile) and its secret via CCTOKEN_ACCESS_KEY_SECRET, \
             --access-key-secret-file or --access-key-secret-stdin",
        ));
    };
    let src = sources::plan_access_key_secret(s, cx.env)?;
    let loaded = cx.load(SecretKind::AccessKey, &src)?;
    Ok(Provider {
        config: ProviderConfig::Cxone {
            issuer,
            token_url,
            access_key: AccessKey {
                id: id.to_owned(),
                secret: loaded.secret,
            },
            api_base: s.api_base.clone(),
        },
        access_key_origin: Some(loaded.origin),
    })
}

/// A URL with no path beyond `/`, no query and no fragment: a host, not an endpoint.
fn is_bare_origin(u: &Url) -> bool {
    matches!(u.path(), "" | "/") && u.query().is_none() && u.fragment().is_none()
}

/// `scheme://host[:port]/` of `u`.
fn origin(u: &Url) -> Url {
    let mut o = u.clone();
    o.set_path("/");
    o.set_query(None);
    o.set_fragment(None);
    o
}

fn default_cxone_issuer() -> Result<Url, Error> {
    parse_url("issuer (--issuer)", CXONE_ISSUER)
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
