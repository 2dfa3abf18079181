//! The request model: what would go on the wire — method, URL parts, headers, content type,
//! form pairs as the server will decode them, the Basic credentials — built from a curl
//! command by curl's own rules ([`Request::from_curl`]) or from the request cctoken itself
//! would send ([`Request::from_prepared`]).
//!
//! curl's rules modelled here: `-d` pieces are joined with `&` and sent as typed;
//! `--data-urlencode` percent-encodes the content (`[name]=content`); `--json` sets
//! `Content-Type`/`Accept: application/json`; `-F` makes a multipart body; `-G` moves the
//! data into the query; `-u id:secret` becomes `Basic base64(id:secret)` with no
//! urlencoding; a custom `Authorization` header replaces `-u`'s. This module only describes;
//! [`super::checks`] judges.

use base64::Engine as _;

use crate::paste::dialect::Dialect;
use crate::paste::expand::{Arg, Seg};

mod from_curl;
mod json_body;
use cctoken::auth::PreparedRequest;

/// Where the request description came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A curl command typed by a person (secrets may be on its command line).
    Curl,
    /// cctoken's own request for a profile.
    Profile,
}

/// The target URL, split.
#[derive(Debug, Clone, Default)]
pub struct UrlParts {
    /// `https`, `http`, … (curl assumes `http` when none is given).
    pub scheme: String,
    /// No scheme was written: curl guessed `http://`.
    pub scheme_guessed: bool,
    /// Host, lower-case; may contain `${VAR}` when symbolic.
    pub host: String,
    /// The port as written (empty when none).
    pub port: String,
    /// Path (`/` when empty).
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// Host or path depends on a variable.
    pub symbolic: bool,
}

impl UrlParts {
    /// Split a URL (possibly with `${VAR}` placeholders) the way curl reads it.
    pub fn parse(display: &str, symbolic: bool) -> Self {
        let (scheme, rest, guessed) = match display.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r, false),
            None => ("http".to_owned(), display, true),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path_query) = match rest.find(['/', '?']) {
            Some(p) => (&rest[..p], &rest[p..]),
            None => (rest, ""),
        };
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = if host_port.starts_with('[') {
            let (h, rest) = host_port.split_once(']').unwrap_or((host_port, ""));
            (
                h.trim_start_matches('['),
                rest.strip_prefix(':').unwrap_or(""),
            )
        } else {
            host_port.split_once(':').unwrap_or((host_port, ""))
        };
        let (path, query) = match path_query.split_once('?') {
            Some((p, q)) => (p, q),
            None => (path_query, ""),
        };
        Self {
            scheme,
            scheme_guessed: guessed,
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port: port.to_owned(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            query: query.into(),
            symbolic,
        }
    }

    /// `scheme://host[:port]/path` without the query.
    pub fn without_query(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = match self.port.as_str() {
            "" => String::new(),
            p => format!(":{p}"),
        };
        format!("{}://{host}{port}{}", self.scheme, self.path)
    }
}

/// A form parameter as the server will see it.
#[derive(Debug, Clone)]
pub struct FormPair {
    /// Decoded name (`${VAR}` when symbolic).
    pub name: String,
    /// The value as it goes on the wire (undecoded).
    pub raw: Arg,
    /// The value after form decoding (what the server uses).
    pub value: Arg,
    /// Encoded by curl (`--data-urlencode`) or by cctoken.
    pub encoded: bool,
    /// A piece without `=` (often the tail of a value that held an unencoded `&`).
    pub orphan: bool,
    /// In the URL query rather than the body.
    pub in_query: bool,
    /// From a `-F` multipart field.
    pub multipart: bool,
}

/// What the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// `application/x-www-form-urlencoded` pairs.
    Form,
    /// A JSON document (`--json`, or `-d '{…}'`).
    Json,
    /// `multipart/form-data` (`-F`).
    Multipart,
}

/// Where Basic credentials came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicOrigin {
    /// `-u id:secret` (curl builds the header).
    UserOption,
    /// A literal `Authorization: Basic …` header.
    Header,
}

/// Why a Basic value cannot be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasicProblem {
    /// The base64 text contains a line break (GNU `base64` wrapping at this width).
    Wrapped(Option<usize>),
    /// Not valid base64.
    NotBase64 {
        /// It contains a `:` — probably `id:secret` not encoded at all.
        looks_plain: bool,
    },
    /// The decoded (or `-u`) value has no `:` separating id and secret.
    NoColon,
    /// `Authorization: Basic` with nothing after it.
    Empty,
}

/// Client credentials presented with HTTP Basic.
#[derive(Debug, Clone)]
pub struct Basic {
    /// Where they came from.
    pub origin: BasicOrigin,
    /// The client id (possibly symbolic).
    pub id: Option<Arg>,
    /// The secret (possibly symbolic). Never display it.
    pub secret: Option<Arg>,
    /// What is wrong with the value itself.
    pub problems: Vec<BasicProblem>,
    /// A pipeline encoded a trailing newline into the payload (`echo` without `-n`), known
    /// even when the payload is symbolic.
    pub encodes_newline: bool,
    /// A pipeline may wrap the output (symbolic payload, no `-w0`).
    pub may_wrap: Option<usize>,
    /// The value was typed literally (not from a variable) on the command line.
    pub literal: bool,
}

/// A token request, as it would go on the wire.
#[derive(Debug, Clone)]
pub struct Request {
    /// Where the description came from.
    pub source: Source,
    /// HTTP method.
    pub method: String,
    /// Target URL.
    pub url: Option<UrlParts>,
    /// More than one URL was given (e.g. a wrapped, unquoted value split off).
    pub extra_urls: Vec<String>,
    /// Headers as sent (`name`, value).
    pub headers: Vec<(String, Arg)>,
    /// The effective `Content-Type`.
    pub content_type: Option<String>,
    /// What the body is.
    pub body: BodyKind,
    /// Form parameters (body, query and multipart fields).
    pub form: Vec<FormPair>,
    /// Basic client credentials.
    pub basic: Option<Basic>,
    /// `-u` was given but a custom `Authorization` header replaced it.
    pub user_option_ignored: bool,
    /// Another Authorization scheme (`Bearer`, `--digest`, …).
    pub other_auth: Option<String>,
    /// `@file` data options (not read).
    pub data_files: Vec<String>,
    /// Parts of the body whose parameters doctor cannot see: `@file` data, a variable
    /// standing for whole parameters (`-d "$BODY"`, `…&$EXTRA`). Shown as written.
    pub unseen: Vec<String>,
    /// The JSON body is an object whose members could be read (see `json_body`).
    pub json_read: bool,
    /// curl options not modelled.
    pub unknown_options: Vec<String>,
    /// `-K` config file used.
    pub config_file: bool,
    /// `$NAME` written inside single quotes somewhere in the request.
    pub single_quoted_vars: Vec<String>,
    /// The shell a pasted command was read as (a profile's request: POSIX, unused).
    pub dialect: Dialect,
    /// The program as written (`curl`, `curl.exe`; empty for a profile).
    pub program: String,
    /// Lines whose continuation character is followed by a blank (see
    /// [`CurlCommand::cut_lines`](crate::paste::curl::CurlCommand::cut_lines)).
    pub cut_lines: Vec<usize>,
    /// Windows cmd: an argument is wrapped in single quotes, which cmd passes on as
    /// characters.
    pub cmd_single_quotes: bool,
    /// A TLS client certificate is presented (curl `-E`/`--cert`), as written.
    pub client_cert: Option<String>,
}

/// `application/x-www-form-urlencoded` decoding of known text.
pub fn form_decode(raw: &Arg) -> Arg {
    let mut out = raw.clone();
    for s in &mut out.segs {
        if let Seg::Text(t) = s {
            let bytes: Vec<u8> = t
                .bytes()
                .map(|b| if b == b'+' { b' ' } else { b })
                .collect();
            *t = String::from_utf8_lossy(&percent_decode(&bytes)).into_owned();
        }
    }
    out
}

fn percent_decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// curl's `--data-urlencode` escaping (RFC 3986 unreserved kept, the rest `%XX`).
pub fn curl_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Request {
    /// The request cctoken would send for a profile.
    pub fn from_prepared(p: &PreparedRequest) -> Self {
        let url = &p.url;
        let parts = UrlParts {
            scheme: url.scheme().to_owned(),
            scheme_guessed: false,
            host: url
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
            port: url.port().map(|p| p.to_string()).unwrap_or_default(),
            path: url.path().to_owned(),
            query: url.query().unwrap_or_default().to_owned(),
            symbolic: false,
        };
        let mut r = Request {
            source: Source::Profile,
            method: p.method.to_owned(),
            url: Some(parts),
            extra_urls: Vec::new(),
            headers: p
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Arg::text(v.wire())))
                .collect(),
            content_type: Some("application/x-www-form-urlencoded".into()),
            body: BodyKind::Form,
            form: p
                .form
                .iter()
                .map(|(k, v)| FormPair {
                    name: k.clone(),
                    raw: Arg::text(&cctoken::auth::form_urlencode(v.wire())),
                    value: Arg::text(v.wire()),
                    encoded: true,
                    orphan: false,
                    in_query: false,
                    multipart: false,
                })
                .collect(),
            basic: None,
            user_option_ignored: false,
            other_auth: None,
            data_files: Vec::new(),
            unseen: Vec::new(),
            json_read: false,
            unknown_options: Vec::new(),
            config_file: false,
            single_quoted_vars: Vec::new(),
            dialect: Dialect::Posix,
            program: String::new(),
            cut_lines: Vec::new(),
            cmd_single_quotes: false,
            client_cert: None,
        };
        if let Some(v) = r.header("authorization").cloned() {
            r.basic_from_header(&v);
        }
        r
    }

    /// The last value of a header (case-insensitive), as curl lets later ones win.
    pub fn header(&self, name: &str) -> Option<&Arg> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Body (or query/multipart) parameters named `name`.
    pub fn params(&self, name: &str) -> impl Iterator<Item = &FormPair> {
        let name = name.to_owned();
        self.form.iter().filter(move |p| p.name == name)
    }

    /// The decoded value of the first parameter `name`.
    pub fn param(&self, name: &str) -> Option<&Arg> {
        self.params(name).next().map(|p| &p.value)
    }

    /// Whether the body's parameters can be judged: false when a JSON body is not a
    /// readable object, or when part of the body is a file or a variable doctor cannot
    /// see (then "no grant_type" or "no credentials" would be guesses).
    pub fn body_fully_seen(&self) -> bool {
        self.unseen.is_empty() && (self.body != BodyKind::Json || self.json_read)
    }

    fn basic_from_header(&mut self, value: &Arg) {
        let shown = value.display();
        let scheme = shown
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if !scheme.eq_ignore_ascii_case("basic") {
            self.other_auth = Some(if scheme.is_empty() {
                "an empty Authorization header".into()
            } else {
                scheme
            });
            return;
        }
        // Everything after "Basic ".
        let mut cred = value.clone();
        if let Some(Seg::Text(t)) = cred.segs.first_mut() {
            let lower = t.to_ascii_lowercase();
            let skip = lower.find("basic").map(|p| p + 5).unwrap_or(0);
            *t = t
                .get(skip..)
                .unwrap_or_default()
                .trim_start_matches([' ', '\t'])
                .to_owned();
        }
        cred.normalize();
        let literal = self.source == Source::Curl && value.vars().is_empty() && !cred.is_symbolic();
        let mut b = Basic {
            origin: BasicOrigin::Header,
            id: None,
            secret: None,
            problems: Vec::new(),
            encodes_newline: false,
            may_wrap: None,
            literal,
        };
        for p in &value.pipelines {
            if p.encoder().is_some() {
                b.encodes_newline |= p.encodes_newline();
                if p.output.is_none() {
                    b.may_wrap = b.may_wrap.or(p.wrap_width());
                } else if let (Some(w), Some(out)) = (p.wrap_width(), &p.output) {
                    // The output really has a line break inside (quoted: the header holds
                    // it; unquoted: the shell split the header there).
                    if crate::paste::pipeline::substitution_text(out).contains('\n') {
                        b.problems.push(BasicProblem::Wrapped(Some(w)));
                    }
                }
                if b.id.is_none() && p.output.is_none() {
                    if let Some((id, secret)) = p.payload.as_ref().and_then(|a| a.split_once(':')) {
                        b.id = Some(id);
                        b.secret = Some(secret);
                    }
                }
            }
        }
        if let Some(text) = cred.literal() {
            if text.is_empty() {
                b.problems.push(BasicProblem::Empty);
            } else {
                let has_break = text.contains(['\n', '\r']) || text.trim().contains([' ', '\t']);
                if has_break
                    && !b
                        .problems
                        .iter()
                        .any(|p| matches!(p, BasicProblem::Wrapped(_)))
                {
                    b.problems.push(BasicProblem::Wrapped(None));
                }
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                    Ok(bytes) => {
                        let payload = String::from_utf8_lossy(&bytes).into_owned();
                        match payload.split_once(':') {
                            Some((id, secret)) => {
                                b.id = Some(Arg::text(id));
                                b.secret = Some(Arg::text(secret));
                            }
                            None => b.problems.push(BasicProblem::NoColon),
                        }
                    }
                    Err(_) => b.problems.push(BasicProblem::NotBase64 {
                        looks_plain: compact.contains(':'),
                    }),
                }
            }
        }
        self.basic = Some(b);
    }
}
