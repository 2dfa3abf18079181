//! `cctoken profiles list|show|test|set-secret`: look at the profile file without ever
//! printing a secret.
//!
//! `list` and `show` describe where each secret comes from (`env GC_SECRET (set)`) and, for
//! `show`, its fingerprint (`len=40 sha256:1a2b3c4d`) so two machines can compare without
//! revealing it. `test` obtains one real token. `set-secret` stores a secret (read from stdin)
//! in the OS keyring. Everything is read through the library ([`cctoken::config`]); this
//! module only formats.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cctoken::client::Client;
use cctoken::config::resolve::infer_provider;
use cctoken::config::sources::{plan_client_secret, SecretSource};
use cctoken::config::{
    resolve, ConfigFile, EnvLookup, ProcessEnv, ProfileSettings, ResolveOptions, ResolvedProfile,
};
use cctoken::duration::Human;
use cctoken::provider::ProviderConfig;
use serde_json::{json, Value};
use url::Url;

use crate::exit;

/// Which profile file to read.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FileArgs {
    /// The profile file [default: $XDG_CONFIG_HOME/cctoken/config.toml, else
    /// ~/.config/cctoken/config.toml].
    #[arg(long, env = cctoken::config::env::CCTOKEN_CONFIG, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// List, show and test the profiles of the config file.
#[derive(clap::Subcommand, Debug)]
pub enum ProfilesCmd {
    /// List profiles: provider, endpoint, client id and where the secret comes from.
    #[command(
        after_help = "Examples:\n  cctoken profiles list\n  cctoken profiles list --config ./ci.toml --json"
    )]
    List(FileArgs),
    /// Show one profile: settings, resolved token URL, secret source and fingerprint.
    #[command(
        after_help = "Examples:\n  cctoken profiles show genesys-prod\n  cctoken profiles show partner-api --json\n\n\
The secret is shown only as its fingerprint (len=40 sha256:1a2b3c4d): compare\n\
it between machines, or with the Genesys admin UI's secret, without revealing\n\
the secret. Exit code 2 when the profile cannot be resolved (the problem is\n\
printed)."
    )]
    Show {
        /// Profile name.
        name: String,
        #[command(flatten)]
        file: FileArgs,
        /// Use secrets exactly as read (see `get --help`).
        #[arg(long)]
        keep_secret_bytes: bool,
    },
    /// Obtain one token with a profile and report how long it lives.
    #[command(
        after_help = "Examples:\n  cctoken profiles test genesys-prod\n  cctoken profiles test partner-api --json\n\n\
Exit codes: 0 token obtained, 2 profile or configuration error, 3 credentials\n\
or request rejected, 4 temporarily unavailable (retry later)."
    )]
    Test {
        /// Profile name.
        name: String,
        #[command(flatten)]
        file: FileArgs,
        /// Use secrets exactly as read (see `get --help`).
        #[arg(long)]
        keep_secret_bytes: bool,
    },
    /// Store a profile's client secret in the OS keyring (read from stdin, never argv).
    #[command(
        after_help = "Examples:\n  pass show genesys/prod | cctoken profiles set-secret genesys-prod\n  \
cctoken profiles set-secret genesys-prod     # type it, then Enter and Ctrl-D\n\n\
Then set client_secret_keyring = true in [profiles.genesys-prod]. The keyring\n\
is the Secret Service on Linux (GNOME Keyring, KWallet), Keychain on macOS,\n\
Credential Manager on Windows; headless machines usually have none: use\n\
client_secret_file/env/cmd there."
    )]
    SetSecret {
        /// Profile name (the keyring entry's name; the profile need not exist yet).
        name: String,
        /// Store the bytes exactly as read (see `get --help`).
        #[arg(long)]
        keep_secret_bytes: bool,
    },
}

/// Run a `profiles` subcommand; returns the exit code.
pub async fn run(cmd: ProfilesCmd, json: bool) -> anyhow::Result<i32> {
    match cmd {
        ProfilesCmd::List(file) => list(&file, json),
        ProfilesCmd::Show {
            name,
            file,
            keep_secret_bytes,
        } => show(&name, &file, keep_secret_bytes, json),
        ProfilesCmd::Test {
            name,
            file,
            keep_secret_bytes,
        } => test(&name, &file, keep_secret_bytes, json).await,
        ProfilesCmd::SetSecret {
            name,
            keep_secret_bytes,
        } => set_secret(&name, keep_secret_bytes, json),
    }
}

/// `profiles set-secret`: stdin → normalise → OS keyring; prints only the fingerprint.
fn set_secret(name: &str, keep_secret_bytes: bool, json: bool) -> anyhow::Result<i32> {
    use std::io::Read as _;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(cctoken::config::env::MAX_SECRET_BYTES as u64 + 1)
        .read_to_end(&mut raw)?;
    let n = cctoken::secret::normalize_secret(raw, keep_secret_bytes)
        .map_err(|p| cctoken::Error::config(format!("the secret read from stdin: {p}")))?;
    cctoken::config::keyring::store(name, &n.secret)?;
    let fp = n.secret.fingerprint().to_string();
    if json {
        outln!("{}", json!({"profile": name, "stored": true, "secret": fp}));
    } else {
        outln!("stored the secret of profile '{name}' in the OS keyring ({fp})");
        outln!("use it with: client_secret_keyring = true  in [profiles.{name}]");
    }
    Ok(0)
}

fn load(file: &FileArgs) -> Result<ConfigFile, cctoken::Error> {
    ConfigFile::load(file.config.as_deref())
}

fn path_text(path: Option<&Path>) -> String {
    path.map_or_else(
        || "(no config path: HOME is not set)".into(),
        |p| p.display().to_string(),
    )
}

/// Where the client secret would come from, and whether it is there — without keeping
/// it; the reason it cannot be told when the source (the OS keyring) cannot be asked.
struct SecretStatus {
    source: String,
    available: Option<bool>,
    problem: Option<String>,
}

fn describe_secret(s: &ProfileSettings, env: &dyn EnvLookup) -> SecretStatus {
    let status = |source: String, available| SecretStatus {
        source,
        available,
        problem: None,
    };
    let Ok((kind, _)) = infer_provider(s, env) else {
        return status("unknown (provider unknown)".into(), None);
    };
    match plan_client_secret(s, kind, env, None) {
        Ok(src) => match &src {
            SecretSource::Env(v) => status(
                src.to_string(),
                Some(env.var_os(v).is_some_and(|x| !x.is_empty())),
            ),
            SecretSource::File(p) => status(src.to_string(), Some(p.is_file())),
            SecretSource::Keyring(profile) => match cctoken::config::keyring::has_secret(profile) {
                Ok(stored) => status(src.to_string(), Some(stored)),
                Err(e) => SecretStatus {
                    source: src.to_string(),
                    available: Some(false),
                    problem: Some(e.message),
                },
            },
            _ => status(src.to_string(), None),
        },
        Err(_) if s.gc_profile.is_some() => {
            status("gc profile (when it has client_secret)".into(), None)
        }
        Err(_) => status("none".into(), Some(false)),
    }
}

fn endpoint(s: &ProfileSettings) -> String {
    if let Some(r) = s.region {
        format!("region {}", r.name)
    } else if let Some(u) = s.token_url() {
        format!("token_url {u}")
    } else if let Some(i) = s.issuer() {
        format!("issuer {i}")
    } else if let Some(g) = &s.gc_profile {
        format!("gc profile {g}")
    } else if infer_provider(s, &ProcessEnv)
        .is_ok_and(|(k, _)| k == cctoken::provider::ProviderKind::Cxone)
    {
        format!("issuer {} (default)", cctoken::provider::CXONE_ISSUER)
    } else {
        "-".into()
    }
}

fn list(file: &FileArgs, json: bool) -> anyhow::Result<i32> {
    let cfg = load(file)?;
    let env = ProcessEnv;
    let rows: Vec<Value> = cfg
        .profiles
        .iter()
        .map(|(name, s)| {
            // Named, as `cfg.profile(name)` gives it: a keyring source needs the name.
            let s = &ProfileSettings {
                name: Some(name.clone()),
                ..s.clone()
            };
            let provider = infer_provider(s, &env).ok().map(|(k, _)| k.as_str());
            let secret = describe_secret(s, &env);
            json!({
                "name": name,
                "provider": provider,
                "endpoint": endpoint(s),
                "region": s.region.map(|r| r.name),
                "token_url": s.token_url().map(Url::as_str),
                "issuer": s.issuer().map(Url::as_str),
                "client_id": s.client_id,
                "secret_source": secret.source,
                "secret_available": secret.available,
                "secret_problem": secret.problem,
            })
        })
        .collect();
    if json {
        let out = json!({
            "config": cfg.path.as_ref().map(|p| p.display().to_string()),
            "found": cfg.found,
            "profiles": rows,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    let path = path_text(cfg.path.as_deref());
    if !cfg.found {
        outln!("no profiles: {path} does not exist");
        outln!("create it with a [profiles.NAME] table; see `cctoken profiles --help`");
        return Ok(0);
    }
    if rows.is_empty() {
        outln!("no profiles in {path}");
        return Ok(0);
    }
    outln!("profiles in {path}:");
    let cell = |v: &Value, k: &str| v[k].as_str().unwrap_or("-").to_owned();
    let mut table = vec![[
        "NAME".to_owned(),
        "PROVIDER".into(),
        "ENDPOINT".into(),
        "CLIENT ID".into(),
        "SECRET FROM".into(),
    ]];
    for r in &rows {
        let secret = match r["secret_available"].as_bool() {
            Some(true) => format!("{} (set)", cell(r, "secret_source")),
            Some(false) if r["secret_problem"].is_string() => {
                format!("{} (keyring unavailable)", cell(r, "secret_source"))
            }
            Some(false) if r["secret_source"] != "none" => {
                format!("{} (missing)", cell(r, "secret_source"))
            }
            _ => cell(r, "secret_source"),
        };
        table.push([
            cell(r, "name"),
            cell(r, "provider"),
            cell(r, "endpoint"),
            cell(r, "client_id"),
            secret,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in &table {
        let line: Vec<String> = (0..5)
            .map(|i| format!("{:w$}", r[i], w = widths[i]))
            .collect();
        outln!("  {}", line.join("  ").trim_end());
    }
    Ok(0)
}

fn resolve_profile(s: &ProfileSettings, keep: bool) -> Result<ResolvedProfile, cctoken::Error> {
    resolve(
        s,
        &ProcessEnv,
        ResolveOptions {
            keep_secret_bytes: keep,
            stdin: None,
        },
    )
}

/// Derived facts of a resolved profile, for display.
fn resolved_rows(r: &ResolvedProfile) -> Vec<(&'static str, String)> {
    let mut rows = vec![("provider", r.config.kind().to_string())];
    if let ProviderConfig::Genesys {
        region: Some(reg), ..
    } = &r.config.provider
    {
        rows.push(("region", format!("{} ({})", reg.name, reg.domain)));
    }
    match Client::new(r.config.clone()).resolve_offline() {
        Some(res) => {
            rows.push(("token URL", res.token_url.to_string()));
            rows.push(("auth", res.auth.to_string()));
            if let Some(b) = res.api_base {
                rows.push(("API base", crate::consumer_env::base_text(&b).to_owned()));
            }
        }
        _ => {
            let from = match &r.config.provider {
                ProviderConfig::Generic { endpoint, .. } => match endpoint {
                    cctoken::provider::Endpoint::Issuer(i) => i.to_string(),
                    cctoken::provider::Endpoint::TokenUrl(u) => u.to_string(),
                },
                ProviderConfig::Cxone { issuer, .. } => issuer.to_string(),
                ProviderConfig::Genesys { .. } => "-".into(),
            };
            rows.push(("token URL", format!("discovered from {from} when used")));
        }
    }
    rows.push(("client id", r.config.client_id.clone()));
    let secret = if r.config.has_secret() {
        format!(
            "{} from {}",
            r.config.client_secret.fingerprint(),
            r.secret_origin
        )
    } else {
        r.secret_origin.clone()
    };
    rows.push(("client secret", secret));
    let keys = &r.config.keys;
    if let Some(k) = &keys.signing_key {
        rows.push((
            "private key",
            format!("{} thumbprint {}", k.kind(), k.thumbprint()),
        ));
    }
    if let Some(c) = &keys.client_cert {
        rows.push((
            "client certificate",
            format!("{} x5t#S256 {}", c.subject(), c.thumbprint()),
        ));
    }
    if let Some(src) = &keys.assertion_from {
        rows.push(("client assertion", format!("from {}", src.describe())));
    }
    if let ProviderConfig::Cxone { access_key, .. } = &r.config.provider {
        rows.push(("access key id", access_key.id.clone()));
        rows.push((
            "access key secret",
            format!(
                "{} from {}",
                access_key.secret.fingerprint(),
                r.access_key_origin.as_deref().unwrap_or("?")
            ),
        ));
    }
    rows
}

/// [`resolved_rows`] for machines: snake_case keys, fingerprints and sources apart.
fn resolved_json(r: &ResolvedProfile) -> Value {
    let mut obj = serde_json::Map::new();
    for (k, v) in resolved_rows(r) {
        let key = k.to_ascii_lowercase().replace(' ', "_");
        if key != "client_secret" && key != "access_key_secret" {
            obj.insert(key, Value::from(v));
        }
    }
    obj.insert(
        "client_secret".into(),
        json!({
            "fingerprint": r.config.client_secret.fingerprint().to_string(),
            "source": r.secret_origin,
        }),
    );
    if let ProviderConfig::Cxone { access_key, .. } = &r.config.provider {
        obj.insert(
            "access_key_secret".into(),
            json!({
                "fingerprint": access_key.secret.fingerprint().to_string(),
                "source": r.access_key_origin,
            }),
        );
    }
    Value::Object(obj)
}

fn print_rows(rows: &[(&str, String)]) {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        outln!("  {k:w$}  {v}");
    }
}

fn show(name: &str, file: &FileArgs, keep: bool, json: bool) -> anyhow::Result<i32> {
    let cfg = load(file)?;
    let settings = cfg.profile(name)?;
    let path = path_text(cfg.path.as_deref());
    let configured = settings.keys();
    let resolved = resolve_profile(&settings, keep);
    if json {
        let to_map = |rows: &[(&str, String)]| -> serde_json::Map<String, Value> {
            rows.iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(v.clone())))
                .collect()
        };
        let out = match &resolved {
            Ok(r) => json!({
                "name": name, "config": path, "settings": to_map(&configured),
                "resolved": resolved_json(r), "notes": r.notes, "error": null,
            }),
            Err(e) => json!({
                "name": name, "config": path, "settings": to_map(&configured),
                "resolved": null, "notes": [], "error": e.message,
            }),
        };
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!("profile {name} (in {path})");
        print_rows(&configured);
        match &resolved {
            Ok(r) => {
                outln!("resolved:");
                print_rows(&resolved_rows(r));
                for n in &r.notes {
                    outln!("  note: {n}");
                }
            }
            Err(e) => outln!("problem: {e}"),
        }
    }
    Ok(match &resolved {
        Ok(_) => 0,
        Err(e) => exit::code_for(e),
    })
}

async fn test(name: &str, file: &FileArgs, keep: bool, json: bool) -> anyhow::Result<i32> {
    let cfg = load(file)?;
    let settings = cfg.profile(name)?;
    let resolved = match resolve_profile(&settings, keep) {
        Ok(r) => r,
        Err(e) => return Ok(super::get::fail(&e, json)),
    };
    let client = Client::new(resolved.config);
    let token = match client.fetch_token().await {
        Ok(t) => t,
        Err(e) => return Ok(super::get::fail(&e, json)),
    };
    let token_url = client.resolve().await.ok().map(|r| r.token_url.to_string());
    let left = token.remaining(std::time::SystemTime::now());
    let left_text = Human(Duration::from_secs(left.as_secs())).to_string();
    if json {
        let out = json!({
            "ok": true, "profile": name, "token_url": token_url,
            "token_type": token.token_type, "expires_in": left.as_secs(),
            "expires_in_defaulted": token.expires_in_defaulted, "scope": token.scope.as_deref(),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let scope = token
            .scope
            .as_deref()
            .map(|s| format!(", scope: {s}"))
            .unwrap_or_default();
        let defaulted = if token.expires_in_defaulted {
            " (the server sent no expires_in; assumed the default lifetime)"
        } else {
            ""
        };
        outln!(
            "ok: profile {name}: token expires in {left_text}{defaulted}{scope} (from {})",
            token_url.as_deref().unwrap_or("the token endpoint")
        );
    }
    Ok(0)
}
