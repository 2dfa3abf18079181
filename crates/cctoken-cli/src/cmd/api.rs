//! `cctoken api`: one authenticated request to the profile's API base (like `gh api`).
//!
//! Tokens come from the profile's paced [`TokenPool`] (SPEC §13) over the cache: every
//! request — each page of `--paginate` too — waits for room in a token's window (up to
//! 2 s, else exit 4 without sending), a 401 re-mints that token and retries once, a 429
//! cools its token and retries once on another (a `Retry-After` over 180 s is passed
//! back). `--paginate` follows Genesys-style paging. The token is only ever sent to the
//! API base's own origin.

use std::io::{IsTerminal as _, Read, Write as _};
use std::time::Duration;

use anyhow::Context as _;
use cctoken::client::trace;
use cctoken::error::Error;
use cctoken::pool::{PoolError, TokenPool};
use url::Url;

use super::session::Tokens;
use super::Globals;
use crate::opts::ProfileOpts;

/// Arguments of `cctoken api`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cctoken api -p genesys-prod /api/v2/users/me
  cctoken api -p genesys-prod --paginate '/api/v2/users?pageSize=100'
  cctoken api -p genesys-prod -X POST --data @body.json \\
      /api/v2/analytics/conversations/details/query
  echo '{\"name\":\"x\"}' | cctoken api -p partner-api -X PUT --data - \\
      /v1/things/42
  cctoken api -p genesys-prod --trace /api/v2/users/me  # exchanges, redacted

The path is joined to the profile's api_base (or --api-base). Absolute URLs
are accepted only on the API base's own host, so the token never goes anywhere
else. On a terminal JSON is pretty-printed. Exit 1 when the API answers with
HTTP 400 or above (the body is printed).")]
pub struct ApiArgs {
    /// Path (e.g. /api/v2/users/me) or URL on the API base's host.
    pub path: String,
    /// HTTP method.
    #[arg(short = 'X', long = "method", default_value = "GET")]
    pub method: String,
    /// Extra request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// Request body: @FILE, - (or @-) for stdin, or literal text; at most 32 MiB. Sent as JSON unless a
    /// Content-Type header says otherwise.
    #[arg(long, value_name = "@FILE|-|TEXT")]
    pub data: Option<String>,
    /// Follow Genesys-style paging (nextUri, or pageNumber/pageCount) and print all
    /// `entities` as one JSON array.
    #[arg(long)]
    pub paginate: bool,
    /// Do not read or write the token cache.
    #[arg(long)]
    pub no_cache: bool,
    // The request's own flags and the path come first: a flattened group's heading
    // (`Profile and credentials`, `Token pool and pacing`) covers what follows it.
    #[command(flatten)]
    pub profile: ProfileOpts,
    #[command(flatten)]
    pub pool: crate::opts::PoolOpts,
}

/// Upper bound on pages followed by --paginate.
const MAX_PAGES: usize = 10_000;

/// Run `cctoken api`.
pub fn run(args: ApiArgs, globals: &Globals) -> anyhow::Result<i32> {
    let tokens = Tokens::open(&args.profile, args.no_cache, globals)?;
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Error::config(format!("-X '{}' is not an HTTP method", args.method)))?;
    let headers = parse_headers(&args.headers)?;
    let body = read_body(args.data.as_deref())?;
    let rt = super::runtime()?;
    rt.block_on(async move {
        let pool = tokens.pool(args.pool.settings());
        let token = match pool.slot(0).token().await {
            Ok(t) => t,
            Err(e) => return Ok(super::get::fail(&e, false)),
        };
        // --api-base (a profile option) is already part of the resolved configuration.
        let base = tokens.api_base(&token).await?.ok_or_else(|| {
            Error::config("no API base: give --api-base or set api_base in the profile")
        })?;
        let url = target_url(&base, &args.path)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("cctoken/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120));
        // Loopback API bases are reached directly, never through a proxy.
        let http =
            cctoken::client::http::with_proxies(http, &cctoken::config::ProcessEnv).build()?;
        let call = Call {
            http,
            pool,
            agent: tokens.rejection_reporter(),
            method,
            headers,
            body,
            trace: globals.trace.then(super::trace_sink),
        };
        if args.paginate {
            paginate(&call, &base, url).await
        } else {
            let (status, bytes) = match call.send(url).await? {
                Ok(answer) => answer,
                Err(e) => return Ok(refused(e)),
            };
            print_body(&bytes)?;
            Ok(if status >= 400 {
                report_status(status)
            } else {
                0
            })
        }
    })
}

struct Call {
    http: reqwest::Client,
    pool: TokenPool,
    /// With `CCTOKEN_AGENT`: tells the agent which token the API rejected.
    agent: Option<cctoken::agent::client::AgentFetch>,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// `--trace`: every API exchange, redacted like the token request's.
    trace: Option<cctoken::client::TraceSink>,
}

impl Call {
    /// Send with a paced token of the pool: a 401 re-mints that token once, a 429 moves
    /// the call once to another token (SPEC §13). `Ok(None)`: refused locally, after waiting
    /// up to `max_wait` (exit 4).
    async fn send(&self, url: Url) -> anyhow::Result<Result<(u16, Vec<u8>), PoolError>> {
        let has_ct = self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        // Every token sent; an API that echoes the request gets none of them shown.
        let sent_tokens = std::sync::Mutex::new(Vec::new());
        let sent = self
            .pool
            .send(|token| {
                if let Ok(mut v) = sent_tokens.lock() {
                    v.push(token.access_token.clone());
                }
                let mut req = self
                    .http
                    .request(self.method.clone(), url.clone())
                    .bearer_auth(token.access_token.expose_secret());
                for (k, v) in &self.headers {
                    req = req.header(k, v);
                }
                if let Some(b) = &self.body {
                    if !has_ct {
                        req = req.header("Content-Type", "application/json");
                    }
                    req = req.body(b.clone());
                }
                if let Some(t) = &self.trace {
                    let mut sent = self.headers.clone();
                    if self.body.is_some() && !has_ct {
                        sent.push(("Content-Type".into(), "application/json".into()));
                    }
                    t(&trace::api_request(
                        self.method.as_str(),
                        &url,
                        &sent,
                        &token.access_token,
                        self.body.as_deref(),
                    ));
                }
                let agent = self.agent.clone();
                let rejected = token.access_token.clone();
                async move {
                    let resp = req.send().await;
                    if let (Some(agent), Ok(r)) = (&agent, &resp) {
                        if r.status() == reqwest::StatusCode::UNAUTHORIZED {
                            // The agent replaces its token too when the pool asks for a new one.
                            agent.reject(&rejected);
                        }
                    }
                    resp
                }
            })
            .await;
        let resp = match sent {
            Ok(r) => r.with_context(|| format!("{} {url}", self.method))?,
            Err(refused @ PoolError::Refused { .. }) => return Ok(Err(refused)),
            Err(PoolError::Token(e)) => return Err(e.into()),
        };
        let status = resp.status().as_u16();
        let shown: Vec<(&str, String)> = ["Content-Type", "Retry-After", "WWW-Authenticate"]
            .into_iter()
            .filter_map(|n| {
                resp.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| (n, v.to_owned()))
            })
            .collect();
        let bytes = resp.bytes().await?.to_vec();
        let sent_tokens = sent_tokens.lock().map(|v| v.clone()).unwrap_or_default();
        if let (Some(t), Some(last)) = (&self.trace, sent_tokens.last()) {
            let shown: Vec<(&str, &str)> = shown.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t(&trace::api_response(status, &shown, &bytes, last));
        }
        let mut scrub = cctoken::scrub::Scrubber::new();
        for t in &sent_tokens {
            scrub = scrub.with_token(t);
        }
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => scrub.scrub_known(&text).into_bytes(),
            Err(binary) => binary.into_bytes(),
        };
        Ok(Ok((status, bytes)))
    }
}

/// A call refused locally: every token of the pool is at its limit for longer than
/// `max_wait` (exit 4, like any rate limit).
fn refused(e: PoolError) -> i32 {
    super::get::fail(&e.into_error(), false)
}

async fn paginate(call: &Call, base: &Url, first: Url) -> anyhow::Result<i32> {
    let mut all = Vec::new();
    let mut next = Some(first);
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            anyhow::bail!("more than {MAX_PAGES} pages; stopping");
        }
        let (status, bytes) = match call.send(url.clone()).await? {
            Ok(answer) => answer,
            Err(e) => return Ok(refused(e)),
        };
        if status >= 400 {
            print_body(&bytes)?;
            return Ok(report_status(status));
        }
        let page: serde_json::Value =
            serde_json::from_slice(&bytes).context("--paginate needs JSON pages")?;
        match page.get("entities").and_then(|e| e.as_array()) {
            Some(items) => all.extend(items.iter().cloned()),
            None => all.push(page.clone()),
        }
        next = next_page(base, &url, &page)?;
        if pages > 1 || next.is_some() {
            errln!("page {pages} fetched");
        }
    }
    print_body(&serde_json::to_vec(&serde_json::Value::Array(all))?)?;
    Ok(0)
}

/// The next page: `nextUri` (relative to the API base), else `pageNumber`+1 while it is at
/// most `pageCount`.
pub fn next_page(
    base: &Url,
    current: &Url,
    page: &serde_json::Value,
) -> anyhow::Result<Option<Url>> {
    if let Some(next) = page.get("nextUri").and_then(|v| v.as_str()) {
        if next.is_empty() {
            return Ok(None);
        }
        return target_url(base, next).map(Some);
    }
    let num = page.get("pageNumber").and_then(|v| v.as_u64());
    let count = page.get("pageCount").and_then(|v| v.as_u64());
    match (num, count) {
        (Some(n), Some(c)) if n < c => {
            let mut u = current.clone();
            let pairs: Vec<(String, String)> = current
                .query_pairs()
                .filter(|(k, _)| k != "pageNumber")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            u.query_pairs_mut()
                .clear()
                .extend_pairs(pairs)
                .append_pair("pageNumber", &(n + 1).to_string());
            Ok(Some(u))
        }
        _ => Ok(None),
    }
}

/// Join a path to the API base; absolute URLs must stay on the API base's origin.
pub fn target_url(base: &Url, path: &str) -> anyhow::Result<Url> {
    if path.starts_with("http://") || path.starts_with("https://") {
        let u = Url::parse(path).with_context(|| format!("'{path}' is not a valid URL"))?;
        if u.origin() != base.origin() {
            anyhow::bail!(Error::config(format!(
                "refusing to send the token to {} (the API base is {}); give a path instead",
                u.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            )));
        }
        return Ok(u);
    }
    let rel = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let joined = format!("{}{rel}", base.as_str().trim_end_matches('/'));
    Url::parse(&joined).with_context(|| format!("'{joined}' is not a valid URL"))
}

fn parse_headers(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|h| {
            let (k, v) = h
                .split_once(':')
                .ok_or_else(|| Error::config(format!("-H '{h}' is not 'Name: value'")))?;
            let k = k.trim();
            if k.eq_ignore_ascii_case("authorization") {
                anyhow::bail!(Error::config(
                    "-H Authorization is set by cctoken from the profile's token"
                ));
            }
            Ok((k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The largest `--data` body: what the agent's proxy buffers
/// ([`cctoken_agent::proxy::MAX_BODY`], 32 MiB), far above any JSON an API takes.
const MAX_DATA_BYTES: usize = cctoken_agent::proxy::MAX_BODY;

fn read_body(data: Option<&str>) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(match data {
        None => None,
        Some("-" | "@-") => Some(read_capped(std::io::stdin().lock(), "stdin")?),
        Some(s) if s.starts_with('@') => {
            let path = &s[1..];
            let file = std::fs::File::open(path)
                .with_context(|| format!("reading the body from {path}"))?;
            Some(read_capped(file, path)?)
        }
        Some(s) => Some(s.as_bytes().to_vec()),
    })
}

/// Read at most [`MAX_DATA_BYTES`] from `from`; more is a configuration error (exit 2),
/// found while reading, so `--data @/dev/zero` costs 32 MiB, not the machine's memory.
fn read_capped(from: impl Read, what: &str) -> anyhow::Result<Vec<u8>> {
    let mut b = Vec::new();
    from.take(MAX_DATA_BYTES as u64 + 1)
        .read_to_end(&mut b)
        .with_context(|| format!("reading the body from {what}"))?;
    if b.len() > MAX_DATA_BYTES {
        anyhow::bail!(Error::config(format!(
            "the --data body from {what} is larger than {} MiB; cctoken api sends at most that",
            MAX_DATA_BYTES / (1024 * 1024)
        )));
    }
    Ok(b)
}

fn print_body(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if std::io::stdout().is_terminal() {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            return Ok(());
        }
    }
    out.write_all(bytes)?;
    if !bytes.ends_with(b"\n") && !bytes.is_empty() {
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn report_status(status: u16) -> i32 {
    errln!("error: the API answered HTTP {status}");
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_urls_stay_on_the_api_host() {
        let base = Url::parse("https://api.mypurecloud.ie").unwrap();
        assert_eq!(
            target_url(&base, "/api/v2/users/me").unwrap().as_str(),
            "https://api.mypurecloud.ie/api/v2/users/me"
        );
        assert_eq!(
            target_url(&base, "api/v2/users?pageSize=2")
                .unwrap()
                .as_str(),
            "https://api.mypurecloud.ie/api/v2/users?pageSize=2"
        );
        assert!(target_url(&base, "https://api.mypurecloud.ie/api/v2/x").is_ok());
        assert!(target_url(&base, "https://evil.example/api").is_err());
    }

    #[test]
    fn genesys_paging() {
        let base = Url::parse("https://api.x").unwrap();
        let cur = Url::parse("https://api.x/api/v2/users?pageSize=2&pageNumber=1").unwrap();
        let p =
            serde_json::json!({"entities":[], "nextUri": "/api/v2/users?pageSize=2&pageNumber=2"});
        assert_eq!(
            next_page(&base, &cur, &p).unwrap().unwrap().as_str(),
            "https://api.x/api/v2/users?pageSize=2&pageNumber=2"
        );
        let p = serde_json::json!({"entities":[], "pageNumber": 1, "pageCount": 3});
        assert_eq!(
            next_page(&base, &cur, &p).unwrap().unwrap().as_str(),
            "https://api.x/api/v2/users?pageSize=2&pageNumber=2"
        );
        let p = serde_json::json!({"entities":[], "pageNumber": 3, "pageCount": 3});
        assert!(next_page(&base, &cur, &p).unwrap().is_none());
    }
}
