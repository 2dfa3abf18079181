//! The profile options shared by `get`, `exec`, `api`, `doctor` and `agent`: which token
//! server, which client, where the secret comes from.
//!
//! [`ProfileOpts`] is only the clap surface. [`ProfileOpts::to_settings`] turns the flags
//! into the library's [`ProfileSettings`]; [`ProfileOpts::load`] reads the profile file
//! once and puts the flags on top of the profile named by `--profile`;
//! [`ProfileOpts::resolve`] lets the library validate everything and read the secrets
//! ([`cctoken::config::resolve`]). Secrets are never accepted as flag values: the hidden
//! `--client-secret`, `--secret` and `--access-key-secret` exist only to refuse them with a
//! message that names the alternatives — their values are discarded at parse time and
//! never stored, echoed or logged.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use cctoken::auth::assertion::AssertionAud;
use cctoken::auth::external::AssertionFrom;
use cctoken::auth::key::Alg;
use cctoken::auth::AuthMethod;
use cctoken::config::keys::AssertionTyp;
use cctoken::config::{
    env, resolve, CacheSettings, ConfigFile, PoolSettings, ProcessEnv, ProfileKeys,
    ProfileSettings, ResolveOptions, ResolvedProfile,
};
use cctoken::pool::{ApiRateLimit, PoolSize};
use cctoken::provider::genesys::{lookup_region, Region};
use cctoken::provider::{parse_url, ProviderKind};
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use url::Url;

/// Stands in for a secret given on the command line; the value itself is dropped by the
/// value parser and never kept.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RejectedSecret;

impl std::fmt::Debug for RejectedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret on the command line: discarded>")
    }
}

fn discard_secret(_value: &str) -> Result<RejectedSecret, String> {
    Ok(RejectedSecret)
}

/// One of `names`, as the library type (clap lists the names in help and errors).
fn one_of<T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static>(
    names: &'static [&'static str],
) -> impl clap::builder::TypedValueParser<Value = T> {
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

/// A URL flag: https://, or http:// on loopback; the message names the flag.
fn url(flag: &'static str) -> UrlFlag {
    UrlFlag(flag)
}

/// The parser of a URL flag. Its errors are the library's message alone: clap's own
/// "invalid value '…'" would repeat a password given in the URL.
#[derive(Clone)]
struct UrlFlag(&'static str);

impl clap::builder::TypedValueParser for UrlFlag {
    type Value = Url;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Url, clap::Error> {
        let invalid = |msg: String| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{msg}\n"))
                .with_cmd(cmd)
        };
        let s = value
            .to_str()
            .ok_or_else(|| invalid(format!("{} is not valid UTF-8", self.0)))?;
        parse_url(self.0, s).map_err(|e| invalid(e.message))
    }
}

/// `--auth`: the names, with the RFC names (`private_key_jwt`, …) as aliases.
fn auth_method() -> impl clap::builder::TypedValueParser<Value = AuthMethod> {
    let values = AuthMethod::ALL.map(|m| {
        let v = clap::builder::PossibleValue::new(m.as_str());
        match m {
            AuthMethod::Basic | AuthMethod::BasicRaw | AuthMethod::Post => v,
            _ => v.alias(m.metadata_name()),
        }
    });
    PossibleValuesParser::new(values).try_map(|s| s.parse::<AuthMethod>())
}

fn region(s: &str) -> Result<&'static Region, String> {
    lookup_region(s, "--region").map_err(|e| e.message)
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// Which token server and client to use, and where the secret comes from.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Profile and credentials")]
pub struct ProfileOpts {
    /// Use profile NAME from the config file (flags given too override its settings).
    #[arg(short = 'p', long, env = env::CCTOKEN_PROFILE, value_name = "NAME")]
    pub profile: Option<String>,

    /// The profile file [default: $XDG_CONFIG_HOME/cctoken/config.toml, else
    /// ~/.config/cctoken/config.toml].
    #[arg(long, env = env::CCTOKEN_CONFIG, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Token server family; inferred when omitted: --region → genesys, --access-key-id →
    /// cxone, --token-url/--issuer → generic.
    #[arg(long, value_name = "PROVIDER",
          value_parser = one_of::<ProviderKind>(&["genesys", "generic", "cxone"]))]
    pub provider: Option<ProviderKind>,

    /// Genesys Cloud region name (eu-west-1) or domain (mypurecloud.ie). Env:
    /// GENESYSCLOUD_REGION.
    #[arg(long, value_name = "REGION", value_parser = region)]
    pub region: Option<&'static Region>,

    /// Token endpoint URL (generic). For genesys and cxone a host override, e.g. an
    /// emulator: a bare origin gets the provider's path (genesys /oauth/token, cxone from
    /// discovery there), and cxone's discovery and tenant configuration go to that host
    /// too. https:// only, except for loopback addresses.
    #[arg(long, value_name = "URL", value_parser = url("--token-url"))]
    pub token_url: Option<Url>,

    /// Issuer URL: the token endpoint is discovered (RFC 8414, then OpenID Connect). For
    /// genesys it is the host: ISSUER/oauth/token. CXone default:
    /// https://cxone.niceincontact.com.
    #[arg(long, value_name = "URL", value_parser = url("--issuer"))]
    pub issuer: Option<Url>,

    /// API base URL for `api`, `exec` and the agent's proxy [default: from the provider:
    /// Genesys https://api.<domain>, CXone from the tenant's configuration].
    #[arg(long, value_name = "URL", value_parser = url("--api-base"))]
    pub api_base: Option<Url>,

    /// OAuth client id (not secret). Genesys env: GENESYSCLOUD_OAUTHCLIENT_ID.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Read the client secret from this file (a trailing newline is stripped).
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,

    /// Read the client secret from stdin, e.g. `pass show ci | cctoken get ...
    /// --client-secret-stdin`.
    #[arg(long)]
    pub client_secret_stdin: bool,

    /// Read the client secret from environment variable VAR. Without any secret option
    /// cctoken reads CCTOKEN_CLIENT_SECRET (Genesys: then GENESYSCLOUD_OAUTHCLIENT_SECRET).
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,

    /// Client authentication: basic = RFC 6749 Basic (id and secret form-urlencoded),
    /// basic-raw = Basic without that encoding (what the Genesys SDKs send), post = id and
    /// secret in the body; private-key-jwt, client-secret-jwt (RFC 7523 assertions),
    /// tls-client-auth, self-signed-tls-client-auth (RFC 8705 certificates) [default:
    /// genesys basic-raw, cxone/generic basic or what discovery advertises; with a key,
    /// private-key-jwt].
    #[arg(long, value_name = "METHOD", value_parser = auth_method())]
    pub auth: Option<AuthMethod>,

    /// private-key-jwt: the private key that signs the assertion (PEM PKCS#8/SEC1/PKCS#1,
    /// or a JWK). Shown only as its public key's thumbprint.
    #[arg(long, value_name = "PATH", help_heading = "Keys and certificates")]
    pub private_key_file: Option<PathBuf>,

    /// The assertion header's `kid` [default: the JWK's kid; a bare PEM sends none].
    #[arg(long, value_name = "KID", help_heading = "Keys and certificates")]
    pub key_id: Option<String>,

    /// The assertion's signing algorithm [default: from the key: RSA RS256, P-256 ES256,
    /// P-384 ES384, Ed25519 EdDSA].
    #[arg(long, value_name = "ALG", help_heading = "Keys and certificates",
          value_parser = one_of::<Alg>(&["RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519", "HS256"]))]
    pub alg: Option<Alg>,

    /// The assertion's `aud`: issuer (RFC 10070; the token endpoint when no issuer is
    /// known), token-endpoint, or a URL [default: issuer].
    #[arg(long, value_name = "AUD", help_heading = "Keys and certificates")]
    pub assertion_aud: Option<AssertionAud>,

    /// The assertion header's `typ`: client-authentication+jwt, or none to drop it.
    #[arg(long, value_name = "TYP", help_heading = "Keys and certificates")]
    pub assertion_typ: Option<AssertionTyp>,

    /// Client certificate (PEM): presented in TLS by tls-client-auth and
    /// self-signed-tls-client-auth; with private-key-jwt it only adds `x5t#S256`.
    #[arg(long, value_name = "PATH", help_heading = "Keys and certificates")]
    pub client_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "PATH", help_heading = "Keys and certificates")]
    pub client_key: Option<PathBuf>,

    /// Send an external JWT as the assertion, no stored secret: github[:AUDIENCE] (GitHub
    /// Actions OIDC), env:VAR (GitLab id_tokens), file:PATH (Kubernetes projected token).
    #[arg(long, value_name = "SOURCE", help_heading = "Keys and certificates")]
    pub client_assertion_from: Option<AssertionFrom>,

    /// Trust this CA bundle (PEM) besides the built-in roots; SSL_CERT_FILE and
    /// SSL_CERT_DIR are honoured too.
    #[arg(long, value_name = "PATH", help_heading = "Keys and certificates")]
    pub ca_cert: Option<PathBuf>,

    /// Scope to request; repeat the flag or separate with spaces (commas are part of a
    /// scope).
    #[arg(long = "scope", value_name = "SCOPE", action = clap::ArgAction::Append)]
    pub scopes: Vec<String>,

    /// `audience` parameter of the token request (Auth0-style servers want one).
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,

    /// Extra form parameter of the token request; repeatable (e.g. --param resource=https://x).
    #[arg(long = "param", value_name = "K=V", value_parser = parse_param,
          action = clap::ArgAction::Append)]
    pub params: Vec<(String, String)>,

    /// CXone: the API user's access key id (sent as the password grant's username).
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,

    /// CXone: read the access key secret from this file. Default source:
    /// CCTOKEN_ACCESS_KEY_SECRET.
    #[arg(long, value_name = "PATH")]
    pub access_key_secret_file: Option<PathBuf>,

    /// CXone: read the access key secret from environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub access_key_secret_env: Option<String>,

    /// CXone: read the access key secret from stdin.
    #[arg(long)]
    pub access_key_secret_stdin: bool,

    /// Take region, client id and secret from this profile of the Genesys CLI
    /// (~/.gc/config.toml, e.g. DEFAULT).
    #[arg(long, value_name = "NAME")]
    pub gc_profile: Option<String>,

    /// Use secrets exactly as read: do not strip a trailing newline or reject surrounding
    /// whitespace and control characters.
    #[arg(long)]
    pub keep_secret_bytes: bool,

    /// Refused: a secret on the command line leaks (see the error for alternatives).
    #[arg(long, hide = true, value_name = "VALUE", num_args = 0..=1, default_missing_value = "",
          allow_hyphen_values = true, value_parser = discard_secret)]
    pub client_secret: Option<RejectedSecret>,

    /// Refused, like --client-secret.
    #[arg(long, hide = true, value_name = "VALUE", num_args = 0..=1, default_missing_value = "",
          allow_hyphen_values = true, value_parser = discard_secret)]
    pub secret: Option<RejectedSecret>,

    /// Refused, like --client-secret.
    #[arg(long, hide = true, value_name = "VALUE", num_args = 0..=1, default_missing_value = "",
          allow_hyphen_values = true, value_parser = discard_secret)]
    pub access_key_secret: Option<RejectedSecret>,
}

impl ProfileOpts {
    /// The settings the flags alone describe (no profile, no environment). Two sources
    /// for one secret, or `--token-url` with `--issuer`, are refused as in a profile.
    pub fn to_settings(&self) -> Result<ProfileSettings, cctoken::Error> {
        let params: BTreeMap<String, String> = self.params.iter().cloned().collect();
        ProfileSettings::try_from(ProfileKeys {
            provider: self.provider,
            region: self.region,
            token_url: self.token_url.clone(),
            issuer: self.issuer.clone(),
            api_base: self.api_base.clone(),
            client_id: self.client_id.clone(),
            client_secret_env: self.client_secret_env.clone(),
            client_secret_file: self.client_secret_file.clone(),
            client_secret_stdin: self.client_secret_stdin,
            auth: self.auth,
            private_key_file: self.private_key_file.clone(),
            key_id: self.key_id.clone(),
            alg: self.alg,
            assertion_aud: self.assertion_aud.clone(),
            assertion_typ: self.assertion_typ,
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            client_assertion_from: self.client_assertion_from.clone(),
            ca_cert: self.ca_cert.clone(),
            scopes: (!self.scopes.is_empty()).then(|| self.scopes.clone()),
            audience: self.audience.clone(),
            params: (!params.is_empty()).then_some(params),
            access_key_id: self.access_key_id.clone(),
            access_key_secret_file: self.access_key_secret_file.clone(),
            access_key_secret_env: self.access_key_secret_env.clone(),
            access_key_secret_stdin: self.access_key_secret_stdin,
            gc_profile: self.gc_profile.clone(),
            ..ProfileKeys::default()
        })
    }

    /// Fail with a usage error when a secret was given as a flag value.
    pub fn reject_secret_on_argv(&self) -> Result<(), cctoken::Error> {
        let (flag, alternatives) = if self.client_secret.is_some() {
            ("--client-secret", CLIENT_ALTERNATIVES)
        } else if self.secret.is_some() {
            ("--secret", CLIENT_ALTERNATIVES)
        } else if self.access_key_secret.is_some() {
            ("--access-key-secret", ACCESS_KEY_ALTERNATIVES)
        } else {
            return Ok(());
        };
        Err(cctoken::Error::config(format!(
            "{flag} is not accepted: a secret on the command line is visible to every user of \
             this machine via `ps` (/proc/PID/cmdline) and stays in your shell history. Pass it \
             another way:\n{alternatives}\nIf the secret was typed already, treat it as exposed: \
             remove it from the shell history and consider rotating it."
        )))
    }

    /// The profile file (`--config`, `CCTOKEN_CONFIG` or the default path).
    pub fn config_file(&self) -> Result<ConfigFile, cctoken::Error> {
        ConfigFile::load(self.config.as_deref())
    }

    /// The profile file, read only when `--profile` names a profile in it.
    fn file_if_named(&self) -> Result<ConfigFile, cctoken::Error> {
        match &self.profile {
            Some(_) => self.config_file(),
            None => Ok(ConfigFile::default()),
        }
    }

    /// The profile named by `--profile` (if any) with the flags on top; the file is read
    /// only when a profile is named.
    pub fn settings(&self) -> Result<ProfileSettings, cctoken::Error> {
        self.select(&self.file_if_named()?)
    }

    /// The profile file read once: the profile named by `--profile` (if any) with the
    /// flags on top, and the `[cache]` table. When a profile is named, an unreadable file
    /// stops the command; without one it only warns: a `get` given everything by flags
    /// does not fail over an unrelated file.
    pub fn load(&self) -> Result<(ProfileSettings, CacheSettings), cctoken::Error> {
        self.reject_secret_on_argv()?;
        let file = match (self.config_file(), &self.profile) {
            (Ok(file), _) => file,
            (Err(e), Some(_)) => return Err(e),
            (Err(e), None) => {
                tracing::warn!("ignoring the [cache] settings: {e}");
                ConfigFile::default()
            }
        };
        let settings = self.select(&file)?;
        Ok((settings, file.cache))
    }

    /// The profile named by `--profile` in `file` (if any) with the flags on top.
    fn select(&self, file: &ConfigFile) -> Result<ProfileSettings, cctoken::Error> {
        self.reject_secret_on_argv()?;
        let flags = self.to_settings()?;
        match &self.profile {
            Some(name) => Ok(file.profile(name)?.overlay(flags)),
            None => Ok(flags),
        }
    }

    /// Validate everything and load the secrets from the real environment and stdin.
    pub fn resolve(&self, settings: &ProfileSettings) -> Result<ResolvedProfile, cctoken::Error> {
        let stdin: Option<Box<dyn std::io::Read>> = if settings.reads_stdin() {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                errln!(
                    "cctoken: reading the secret from the terminal (end with Ctrl-D); \
                         piping it in is safer"
                );
            }
            Some(Box::new(stdin))
        } else {
            None
        };
        resolve(
            settings,
            &ProcessEnv,
            ResolveOptions {
                keep_secret_bytes: self.keep_secret_bytes,
                stdin,
            },
        )
    }
}

/// The token pool of `api` and the agent's proxy (SPEC §13), over the profile's
/// `pool_size` and `api_rate_limit`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Token pool and pacing")]
pub struct PoolOpts {
    /// Tokens to hold and spread calls over, 1–20 [default: the profile's pool_size, else
    /// 1]. Each token has its own per-token API budget.
    #[arg(long, value_name = "K", value_parser = parse_from_str::<PoolSize>)]
    pub pool_size: Option<PoolSize>,

    /// Calls the API allows per token per rolling window, N/DUR, e.g. 300/60s; cctoken
    /// keeps each token at 90 % of it [default: the profile's api_rate_limit, else genesys
    /// 300/60s, other providers unpaced].
    #[arg(long, value_name = "N/DUR", value_parser = parse_from_str::<ApiRateLimit>)]
    pub api_rate_limit: Option<ApiRateLimit>,
}

impl PoolOpts {
    /// The flags as settings to put over a profile's.
    pub fn settings(&self) -> PoolSettings {
        PoolSettings {
            size: self.pool_size,
            api_rate_limit: self.api_rate_limit,
        }
    }
}

fn parse_from_str<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr<Err = cctoken::Error>,
{
    s.parse().map_err(|e: cctoken::Error| e.message)
}

/// The flag to suggest instead of a refused one (`--client-secret` → `--client-secret-env`),
/// for clap's "a similar argument exists" tip.
pub fn instead_of_refused(flag: &str) -> Option<&'static str> {
    match flag {
        "--client-secret" | "--secret" => Some("--client-secret-env"),
        "--access-key-secret" => Some("--access-key-secret-env"),
        _ => None,
    }
}

const CLIENT_ALTERNATIVES: &str = "  --client-secret-env VAR     name an environment variable that holds it
  --client-secret-file PATH   read it from a file (a trailing newline is stripped)
  --client-secret-stdin       pipe it in, e.g. `pass show ci | cctoken get ... --client-secret-stdin`
  CCTOKEN_CLIENT_SECRET       the variable read when no source is named
  client_secret_env|file|cmd  in a profile (see `cctoken profiles list`)";

const ACCESS_KEY_ALTERNATIVES: &str =
    "  --access-key-secret-env VAR     name an environment variable that holds it
  --access-key-secret-file PATH   read it from a file
  --access-key-secret-stdin       pipe it in
  CCTOKEN_ACCESS_KEY_SECRET       the variable read when no source is named
  access_key_secret_env|file|cmd  in a profile (see `cctoken profiles list`)";

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        o: ProfileOpts,
    }

    fn parse(args: &[&str]) -> ProfileOpts {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        T::try_parse_from(v).expect("parses").o
    }

    #[test]
    fn flags_become_settings() {
        let o = parse(&[
            "--region",
            "eu-west-1",
            "--client-id",
            "id",
            "--scope",
            "a b",
            "--scope",
            "c,d",
            "--param",
            "k=v=w",
            "--auth",
            "basic-raw",
            "--provider",
            "genesys",
        ]);
        let s = o.to_settings().unwrap();
        assert_eq!(s.region.map(|r| r.name), Some("eu-west-1"));
        assert_eq!(s.scopes, Some(vec!["a b".into(), "c,d".into()]));
        assert_eq!(s.params.unwrap()["k"], "v=w");
        assert_eq!(s.auth, Some(cctoken::auth::AuthMethod::BasicRaw));
        assert_eq!(s.provider, Some(cctoken::provider::ProviderKind::Genesys));
        assert!(T::try_parse_from(["t", "--param", "novalue"]).is_err());
        // Typed at the edge: clap refuses what the library types refuse, naming the flag.
        for (args, says) in [
            (
                &["--region", "mars-1"][..],
                "unknown Genesys Cloud region 'mars-1' (from --region)",
            ),
            (&["--token-url", "http://auth.example.com/t"], "unencrypted"),
            (
                &["--api-base", "not a url"],
                "--api-base 'not a url' is not a valid URL",
            ),
            (&["--auth", "bearer"], "basic-raw"),
            (&["--provider", "okta"], "genesys"),
        ] {
            let e = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{args:?}: {e}");
        }
        let two = parse(&["--client-secret-env", "A", "--client-secret-stdin"]);
        let e = two.to_settings().unwrap_err();
        assert!(e.message.contains("more than one source"), "{e}");
        let s = parse(&[
            "--issuer",
            "https://auth.example.com",
            "--client-secret-stdin",
        ])
        .to_settings()
        .unwrap();
        assert_eq!(s.client_secret, Some(cctoken::config::SecretSetting::Stdin));
        assert_eq!(
            s.issuer().map(Url::as_str),
            Some("https://auth.example.com/")
        );
    }

    #[test]
    fn secret_on_argv_is_refused_without_echo() {
        for args in [
            &["--client-secret", "CANARY-argv-1"][..],
            &["--client-secret=CANARY-argv-1"],
            &["--secret", "-CANARY-argv-1"],
            &["--client-secret"],
            &["--access-key-secret", "CANARY-argv-1"],
        ] {
            let o = parse(args);
            assert!(!format!("{o:?}").contains("CANARY"), "{args:?}");
            let e = o.settings().and_then(|s| o.resolve(&s)).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains("CANARY"), "{text}");
            assert!(text.contains("`ps`"), "{text}");
            assert_eq!(e.class, cctoken::error::Class::Config);
        }
        let o = parse(&["--client-secret", "x"]);
        let e = o.settings().and_then(|s| o.resolve(&s)).unwrap_err();
        for alt in [
            "--client-secret-env VAR",
            "--client-secret-file PATH",
            "--client-secret-stdin",
            "CCTOKEN_CLIENT_SECRET",
            "client_secret_env|file|cmd",
        ] {
            assert!(e.message.contains(alt), "{alt}: {e}");
        }
    }
}
