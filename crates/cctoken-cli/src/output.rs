//! How `cctoken get` prints a token: `--format raw|json|header|env|dotenv|postman-env|github|gitlab`.
//!
//! [`render`] is pure apart from the `github` format, which appends to the file named by
//! `$GITHUB_ENV` (GitHub's mechanism for passing variables to later steps); the
//! environment is injected ([`render_with`]) so tests stay hermetic. The env-like formats
//! print the variables `exec` gives its command ([`crate::consumer_env`]), plus the token's
//! type and expiry. The token appears only
//! in [`Rendered::stdout`] (or that file) — never in [`Rendered::stderr_note`]. Formats
//! that put the token into line-oriented text refuse tokens with control characters, which
//! could inject further lines.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use cctoken::config::{env, EnvLookup, ProcessEnv};
use cctoken::provider::genesys::Region;
use cctoken::provider::ProviderKind;
use cctoken::secret::AccessToken;
use url::Url;

use crate::consumer_env::{self, base_text, Consumer};

/// Output format of `cctoken get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// The token and a newline.
    #[default]
    Raw,
    /// A JSON object: access_token, token_type, expires_in, expires_at, scope, api_base, ...
    Json,
    /// `Authorization: Bearer TOKEN`, for `curl -H @-` and friends.
    Header,
    /// `export CCTOKEN_ACCESS_TOKEN='...'` lines for `eval "$(cctoken get --format env)"`.
    Env,
    /// `KEY=value` lines for .env files and `docker --env-file`.
    Dotenv,
    /// A Postman/Newman environment file (access_token, token_type, base_url).
    PostmanEnv,
    /// GitHub Actions: `::add-mask::` and the token appended to $GITHUB_ENV.
    Github,
    /// GitLab CI: `export` lines for `eval`.
    Gitlab,
}

/// Where a printed token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Just issued by the token server.
    Server,
    /// The local (or shared) cache.
    Cache,
    /// A running `cctoken agent` (`CCTOKEN_AGENT`).
    Agent,
}

impl Served {
    /// The name in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Cache => "cache",
            Self::Agent => "agent",
        }
    }
}

/// Everything a format may show about a token.
#[derive(Debug, Clone)]
pub struct TokenView<'a> {
    /// The token.
    pub access_token: &'a AccessToken,
    /// `Bearer`.
    pub token_type: &'a str,
    /// Time left.
    pub expires_in: Duration,
    /// When it expires.
    pub expires_at: SystemTime,
    /// Granted scope, when the server said.
    pub scope: Option<&'a str>,
    /// API base, when known.
    pub api_base: Option<&'a Url>,
    /// The server sent no `expires_in`; the lifetime is the configured default.
    pub expires_in_defaulted: bool,
    /// Where the token came from (`source` in the JSON).
    pub source: Served,
    /// Profile name, when one was used.
    pub profile: Option<&'a str>,
    /// Provider family.
    pub provider: ProviderKind,
    /// The profile's Genesys region, when known.
    pub region: Option<&'static Region>,
}

/// What to print: `stdout` (may hold the token) and an optional note for stderr (never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Goes to stdout.
    pub stdout: String,
    /// Goes to stderr.
    pub stderr_note: Option<String>,
}

impl Rendered {
    fn out(stdout: String) -> Self {
        Self {
            stdout,
            stderr_note: None,
        }
    }
}

/// Render with the real environment (`GITHUB_ENV`).
pub fn render(format: Format, view: &TokenView<'_>) -> anyhow::Result<Rendered> {
    render_with(format, view, &ProcessEnv)
}

/// Render with an injected environment.
pub fn render_with(
    format: Format,
    view: &TokenView<'_>,
    env: &dyn EnvLookup,
) -> anyhow::Result<Rendered> {
    let token = view.access_token.expose_secret();
    if format != Format::Json && format != Format::PostmanEnv {
        if let Some(pos) = token.bytes().position(|b| b.is_ascii_control()) {
            bail!(
                "the token has a control character at byte {pos}; refusing to print it as \
                 --format {} (use --format json)",
                format_name(format)
            );
        }
    }
    Ok(match format {
        Format::Raw => Rendered::out(format!("{token}\n")),
        Format::Header => Rendered::out(format!("Authorization: {} {token}\n", view.token_type)),
        Format::Json => Rendered::out(json(view)?),
        Format::Env => Rendered::out(exports(view)),
        Format::Dotenv => Rendered::out(dotenv(view)?),
        Format::PostmanEnv => postman(view)?,
        Format::Gitlab => Rendered {
            stdout: exports(view),
            stderr_note: Some(
                "note: GitLab cannot mask values created during a job; never echo \
                 $CCTOKEN_ACCESS_TOKEN and avoid `set -x`"
                    .into(),
            ),
        },
        Format::Github => github(view, env)?,
    })
}

fn format_name(f: Format) -> String {
    use clap::ValueEnum as _;
    f.to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// RFC 3339 UTC with seconds, e.g. `2026-01-02T03:04:05Z`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The variables the env-like formats set, in order: (name, value).
fn variables(view: &TokenView<'_>) -> Vec<(&'static str, String)> {
    let consumer = Consumer {
        access_token: view.access_token,
        api_base: view.api_base,
        provider: view.provider,
        region: view.region,
    };
    let details = [
        (env::CCTOKEN_TOKEN_TYPE, view.token_type.to_owned()),
        (env::CCTOKEN_EXPIRES_AT, rfc3339(view.expires_at)),
    ];
    consumer_env::variables(&consumer, &details)
        .into_iter()
        .map(|v| (v.name, v.value))
        .collect()
}

/// POSIX shell single quoting.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn exports(view: &TokenView<'_>) -> String {
    variables(view)
        .into_iter()
        .fold(String::new(), |mut out, (k, v)| {
            let _ = writeln!(out, "export {k}={}", shell_quote(&v));
            out
        })
}

/// `KEY=value` lines that POSIX sh (`set -a; . file`), `docker --env-file` and
/// python-dotenv all read the same, literally. Docker takes a value verbatim (quotes
/// included) and python-dotenv expands `${…}` in unquoted values, so no quoting serves
/// all three: values are written bare, and a value with any character outside the plain
/// set is refused with an error naming the variable. Bearer tokens (RFC 6750 `b64token`),
/// URLs and timestamps are inside it.
fn dotenv(view: &TokenView<'_>) -> anyhow::Result<String> {
    let mut out = String::new();
    for (k, v) in variables(view) {
        if let Some((pos, c)) = unsafe_in_dotenv(&v) {
            bail!(
                "{k} has a character ({}) at byte {pos} that sh, docker --env-file and \
                 python-dotenv would read differently (or run as code) in a dotenv file; \
                 refusing --format dotenv: use --format env (shell-quoted exports) or --format json",
                c.escape_default()
            );
        }
        let _ = writeln!(out, "{k}={v}");
    }
    Ok(out)
}

/// The first character of `v` that is not plain in a dotenv file: outside
/// `A-Za-z0-9-._+/=:%,@~`, or a `~` that sh would expand (at the start or after `:`).
fn unsafe_in_dotenv(v: &str) -> Option<(usize, char)> {
    let mut prev = None;
    for (i, c) in v.char_indices() {
        let plain = c.is_ascii_alphanumeric() || "-._+/=:%,@".contains(c);
        let tilde = c == '~' && !matches!(prev, None | Some(':'));
        if !plain && !tilde {
            return Some((i, c));
        }
        prev = Some(c);
    }
    None
}

fn json(view: &TokenView<'_>) -> anyhow::Result<String> {
    let mut obj = serde_json::json!({
        "access_token": view.access_token.expose_secret(),
        "token_type": view.token_type,
        "expires_in": view.expires_in.as_secs(),
        "expires_at": rfc3339(view.expires_at),
        "scope": view.scope,
        "api_base": view.api_base.map(base_text),
        "expires_in_defaulted": view.expires_in_defaulted,
        "source": view.source.as_str(),
        "profile": view.profile,
        "provider": view.provider.as_str(),
    });
    if view.expires_in_defaulted {
        obj["note"] = serde_json::Value::from(
            "the server sent no expires_in; expires_in and expires_at assume the configured \
             default lifetime",
        );
    }
    Ok(format!("{}\n", serde_json::to_string_pretty(&obj)?))
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn postman(view: &TokenView<'_>) -> anyhow::Result<Rendered> {
    let r = random_hex(16);
    // A v4-shaped UUID: Postman only needs it unique.
    let id = format!(
        "{}-{}-4{}-a{}-{}",
        &r[0..8],
        &r[8..12],
        &r[13..16],
        &r[17..20],
        &r[20..32]
    );
    let name = format!("cctoken {}", view.profile.unwrap_or(view.provider.as_str()));
    let var = |key: &str, value: &str, secret: bool| {
        serde_json::json!({
            "key": key,
            "value": value,
            // Postman masks "secret" variables; Newman (postman-collection) treats any
            // unknown type as "any", i.e. passes the string through unchanged.
            "type": if secret { "secret" } else { "default" },
            "enabled": true,
        })
    };
    let mut values = vec![
        var("access_token", view.access_token.expose_secret(), true),
        var("token_type", view.token_type, false),
        var("expires_at", &rfc3339(view.expires_at), false),
    ];
    let mut note = None;
    match view.api_base {
        Some(b) => values.push(var("base_url", base_text(b), false)),
        None => {
            note = Some(
                "note: no API base is known for this profile, so base_url is not set; add \
                 api_base to the profile or pass --api-base"
                    .to_owned(),
            )
        }
    }
    let env = serde_json::json!({
        "id": id,
        "name": name,
        "values": values,
        "_postman_variable_scope": "environment",
        "_postman_exported_using": concat!("cctoken/", env!("CARGO_PKG_VERSION")),
    });
    Ok(Rendered {
        stdout: format!("{}\n", serde_json::to_string_pretty(&env)?),
        stderr_note: note,
    })
}

fn github(view: &TokenView<'_>, environment: &dyn EnvLookup) -> anyhow::Result<Rendered> {
    let token = view.access_token.expose_secret();
    let mut stdout = format!("::add-mask::{token}\n");
    let Some(path) = environment.non_empty(env::GITHUB_ENV) else {
        stdout.push_str(&dotenv(view)?);
        return Ok(Rendered {
            stdout,
            stderr_note: Some(
                "note: GITHUB_ENV is not set (not running in GitHub Actions?); printed the \
                 variables instead"
                    .into(),
            ),
        });
    };
    let mut block = String::new();
    let mut names = Vec::new();
    for (k, v) in variables(view) {
        // A fresh random delimiter per value that cannot occur in it (GitHub's
        // multiline syntax), so no value can end the block early or inject a variable.
        let delim = loop {
            let d = format!("ghadelimiter_{}", random_hex(16));
            if !v.contains(&d) {
                break d;
            }
        };
        let _ = write!(block, "{k}<<{delim}\n{v}\n{delim}\n");
        names.push(k);
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("opening $GITHUB_ENV ({path}) for appending"))?;
    file.write_all(block.as_bytes())
        .with_context(|| format!("appending to $GITHUB_ENV ({path})"))?;
    Ok(Rendered {
        stdout,
        stderr_note: Some(format!(
            "set {} for the following steps (via $GITHUB_ENV)",
            names.join(", ")
        )),
    })
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
