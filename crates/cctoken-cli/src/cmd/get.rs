//! `cctoken get`: obtain a token and print it in the requested format.

use std::time::Duration;

use anyhow::Context as _;
use cctoken::cache::Origin;
use cctoken::client::Client;
use cctoken::config::ResolvedProfile;
use cctoken::duration::Human;
use cctoken::error::{Class, Error, ErrorKind};
use cctoken::provider::genesys::Region;
use cctoken::provider::{ProviderConfig, ProviderKind};
use cctoken::stack::Direct;

use super::session::Session;
use super::Globals;
use crate::exit;
use crate::opts::ProfileOpts;
use crate::output::{self, Format, Served, TokenView};

/// Arguments of `cctoken get`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # Genesys Cloud in Ireland, secret from an environment variable
  GC_SECRET=... cctoken get --region eu-west-1 --client-id 5a1c3a2e-... \\
      --client-secret-env GC_SECRET

  # any RFC 6749 server, endpoint and auth method from discovery
  cctoken get --issuer https://auth.example.com --client-id ci-bot \\
      --client-secret-file /run/secrets/ci

  # a profile from ~/.config/cctoken/config.toml, as an HTTP header
  cctoken get -p genesys-prod --format header

  # NICE CXone: an API user's access key with the registered app's credentials
  CCTOKEN_CLIENT_SECRET=... CCTOKEN_ACCESS_KEY_SECRET=... \\
    cctoken get --provider cxone --client-id APP --access-key-id KEYID

  # see the exact request, secrets as fingerprints, without sending it
  cctoken get -p partner-api --dry-run

Secrets are never accepted on the command line: use --client-secret-env,
--client-secret-file, --client-secret-stdin, CCTOKEN_CLIENT_SECRET or a
profile.")]
pub struct GetArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Raw)]
    pub format: Format,
    /// Machine-readable output (same as --format json).
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 3) unless the token stays valid at least this long (e.g. 10m, 2h).
    #[arg(long, value_parser = cctoken::duration::parse, value_name = "DUR")]
    pub min_ttl: Option<Duration>,
    /// Do not read or write the token cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Print the request that would be sent (secrets as fingerprints) and exit 0; no network.
    #[arg(long)]
    pub dry_run: bool,
    // After the command's own flags: a flattened group's heading (`Profile and
    // credentials`) covers everything declared after it in `--help`.
    #[command(flatten)]
    pub profile: ProfileOpts,
}

/// Run `cctoken get`.
pub fn run(args: GetArgs, globals: &Globals) -> anyhow::Result<i32> {
    let format = if args.json { Format::Json } else { args.format };
    if !args.dry_run {
        if let Some((agent, name)) = super::session::agent(&args.profile)? {
            return via_agent(&args, &agent, &name, format);
        }
    }
    let Session {
        resolved, direct, ..
    } = Session::open(&args.profile, args.no_cache, globals)?;
    let Direct { client, cached, .. } = direct;
    if args.dry_run {
        return dry_run(&client, format == Format::Json);
    }
    let json = format == Format::Json;
    let min_ttl = args.min_ttl.unwrap_or_default();
    // Fast path: a fresh cached token is printed without a runtime or a connection.
    if let Some(c) = &cached {
        match c.cached(min_ttl) {
            Ok(Some(token)) if !needs_network_for_output(&client, format) => {
                let api_base = client.resolve_offline().and_then(|r| r.api_base);
                return print_token(
                    &About::of(&resolved),
                    &token,
                    api_base.as_ref(),
                    Served::Cache,
                    format,
                );
            }
            Ok(_) => {}
            Err(e) => return Ok(fail(&e, json)),
        }
    }
    let rt = super::runtime()?;
    let outcome = rt.block_on(async {
        let (token, origin) = match &cached {
            Some(c) => c.token(min_ttl).await?,
            None => (client.fetch_token().await?, Origin::Server),
        };
        let api_base = match client.api_base(&token).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("could not find the API base: {e}");
                None
            }
        };
        Ok::<_, Error>((token, api_base, origin))
    });
    let (token, api_base, origin) = match outcome {
        Ok(v) => v,
        Err(e) => return Ok(fail(&e, json)),
    };
    if let Some(e) = short_of_min_ttl(&token, args.min_ttl) {
        return Ok(fail(&e, json));
    }
    print_token(
        &About::of(&resolved),
        &token,
        api_base.as_ref(),
        if origin == Origin::Cache {
            Served::Cache
        } else {
            Served::Server
        },
        format,
    )
}

/// `CCTOKEN_AGENT`: the agent's token, without resolving the profile here (no secret is
/// needed) and without an async runtime.
fn via_agent(
    args: &GetArgs,
    agent: &cctoken::agent::client::AgentClient,
    name: &str,
    format: Format,
) -> anyhow::Result<i32> {
    let json = format == Format::Json;
    let answer = match agent.token(name) {
        Ok(a) => a,
        Err(e) => return Ok(fail(&e, json)),
    };
    if let Some(e) = short_of_min_ttl(&answer.token, args.min_ttl) {
        return Ok(fail(&e, json));
    }
    let api_base = args.profile.api_base.clone().or(answer.api_base);
    let (provider, region) = super::session::describe_without_secrets(&args.profile, name);
    let about = About {
        profile: Some(name),
        provider,
        region,
    };
    print_token(
        &about,
        &answer.token,
        api_base.as_ref(),
        Served::Agent,
        format,
    )
}

/// The `--min-ttl` failure, when the token lives shorter than asked.
fn short_of_min_ttl(token: &cctoken::token::Token, min_ttl: Option<Duration>) -> Option<Error> {
    let min = min_ttl?;
    let left = token.remaining(std::time::SystemTime::now());
    if left >= min {
        return None;
    }
    let message = format!(
        "the token stays valid for {} (tokens live {}), less than --min-ttl {}",
        Human(Duration::from_secs(left.as_secs())),
        Human(Duration::from_secs(token.expires_in.as_secs())),
        Human(min)
    );
    Some(
        Error::new(ErrorKind::Config, Class::Permanent, message).with_hint(
            "tokens cannot be made to live longer than the server's lifetime; run the job \
             under `cctoken exec` (keeps a fresh token in a file and env) or ask `cctoken \
             agent` instead",
        ),
    )
}

/// CXone's API base is looked up with the token; only formats that show it need that.
fn needs_network_for_output(client: &Client, format: Format) -> bool {
    client.config().kind() == ProviderKind::Cxone
        && client.resolve_offline().and_then(|r| r.api_base).is_none()
        && !matches!(format, Format::Raw | Format::Header | Format::Github)
}

/// What the output says about the profile a token is for.
struct About<'a> {
    profile: Option<&'a str>,
    provider: ProviderKind,
    region: Option<&'static Region>,
}

impl<'a> About<'a> {
    fn of(resolved: &'a ResolvedProfile) -> Self {
        let region = match &resolved.config.provider {
            ProviderConfig::Genesys { region, .. } => *region,
            _ => None,
        };
        Self {
            profile: resolved.name.as_deref(),
            provider: resolved.config.kind(),
            region,
        }
    }
}

fn print_token(
    about: &About<'_>,
    token: &cctoken::token::Token,
    api_base: Option<&url::Url>,
    source: Served,
    format: Format,
) -> anyhow::Result<i32> {
    let now = std::time::SystemTime::now();
    let view = TokenView {
        access_token: &token.access_token,
        token_type: token.token_type,
        expires_in: token.remaining(now),
        expires_at: token.expires_at(),
        scope: token.scope.as_deref(),
        api_base,
        expires_in_defaulted: token.expires_in_defaulted,
        source,
        profile: about.profile,
        provider: about.provider,
        region: about.region,
    };
    let rendered = output::render(format, &view).context("rendering the token")?;
    if let Some(note) = rendered.stderr_note {
        errln!("{note}");
    }
    out!("{}", rendered.stdout);
    Ok(0)
}

fn dry_run(client: &Client, json: bool) -> anyhow::Result<i32> {
    let grant = client.initial_grant();
    let (resolved, discovery_note) = match client.resolve_offline() {
        Some(r) => (r, None),
        None => {
            // Show the request against the issuer; the real URL comes from discovery.
            let issuer = match &client.config().provider {
                ProviderConfig::Generic {
                    endpoint: cctoken::provider::Endpoint::Issuer(i),
                    ..
                } => i.clone(),
                ProviderConfig::Cxone { issuer, .. } => issuer.clone(),
                _ => anyhow::bail!(Error::config("no token URL configured")),
            };
            let mut placeholder = issuer.clone();
            placeholder.set_path("/DISCOVERED-token_endpoint");
            let r = cctoken::client::Resolved {
                token_url: placeholder,
                auth: client.config().auth.unwrap_or_else(|| {
                    cctoken::auth::material::default_method(
                        &client.config().keys,
                        client.config().has_secret(),
                        cctoken::auth::AuthMethod::Basic,
                    )
                }),
                api_base: None,
                metadata: None,
            };
            (r, Some(format!("the token URL and auth method come from discovery of {issuer} (not contacted in --dry-run)")))
        }
    };
    let req = match client.prepare(&resolved, &grant) {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e, json)),
    };
    let assertion = req.form.iter().find_map(|(_, v)| match v {
        cctoken::auth::Value::Assertion(a) => Some(a),
        _ => None,
    });
    // The public half of the signing key, as the server registers it (a JWK Set entry).
    let keys = &client.config().keys;
    let public_jwk = keys
        .signing_key
        .as_ref()
        .filter(|_| resolved.auth == cctoken::auth::AuthMethod::PrivateKeyJwt)
        .map(|k| k.public_jwk(keys.kid()));
    if json {
        let headers: serde_json::Map<String, serde_json::Value> = req
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.shown().into()))
            .collect();
        let out = serde_json::json!({
            "method": req.method,
            "url": req.url.as_str(),
            "auth": resolved.auth.as_str(),
            "headers": headers,
            "body": req.redacted_body(),
            "discovery": discovery_note,
            "assertion": assertion.map(|a| serde_json::json!({
                "header": a.header,
                "claims": a.claims,
                "signature": "elided",
                "origin": a.origin,
                "public_jwk": public_jwk,
            })),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if let Some(n) = discovery_note {
            outln!("# {n}");
        }
        outln!("# client authentication: {}", resolved.auth);
        if let Some(a) = assertion {
            outln!("# assertion ({}), signature elided:", a.origin);
            outln!("#   header: {}", a.header);
            outln!("#   claims: {}", a.claims);
            if let Some(j) = &public_jwk {
                outln!("#   the key's public JWK (register it with the server): {j}");
            }
        }
        out!("{}", req.redacted());
    }
    Ok(0)
}

/// Print a library error (human or JSON) and return its exit code.
pub fn fail(e: &Error, json: bool) -> i32 {
    if json {
        let out = serde_json::json!({
            "error": {
                "kind": e.kind.as_str(),
                "class": match e.class { Class::Config => "config", Class::Permanent => "permanent", Class::Transient => "transient" },
                "status": e.status,
                "message": e.message,
                "description": e.description,
                "hint": e.hint,
                "presented_secret": e.presented_secret.as_ref().map(|f| f.to_string()),
                "presented_key": e.presented_key,
                "retry_after": e.retry_after.map(|d| d.as_secs()),
                "remembered": e.remembered,
            }
        });
        outln!("{out}");
    }
    errln!("error: {e}");
    if e.remembered {
        errln!("  {}", exit::ASK_NOW);
    }
    exit::code_for(e)
}
