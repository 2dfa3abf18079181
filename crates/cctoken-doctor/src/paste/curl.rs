//! A curl command line, read as a shell would pass it to curl, and curl's options as curl
//! reads them — never executed, no file ever read.
//!
//! [`parse`] finds the `curl` invocation in pasted text (also behind `VAR=$(curl …)`),
//! keeps earlier assignments (`CREDS=$(echo -n … | base64)`) for expansion, and collects
//! the options that shape a token request into a [`CurlCommand`]: URL (positional or
//! `--url`), `-X`, `-H`, `-d/--data/--data-ascii/--data-raw/--data-binary/--data-urlencode`,
//! `-u`, `--basic`, `-F`, `--json`, `-G`, `-I`. Short options combine as curl allows
//! (`-sSX POST`, `-XPOST`, `-uid:secret`). Unknown options are tolerated and listed;
//! `@file` data is noted, not read. [`crate::request`] turns the command into what goes on
//! the wire.

use std::fmt;

use super::dialect::{self, Dialect};
use super::expand::{self, Arg, Assignments};
use super::shell::{self, Part, ShellError, SimpleCommand};

mod options;
use options::{KNOWN_FLAGS, SHORT_WITH_VALUE, VALUE_OPTIONS};

/// Largest command line accepted (bytes). Pasted curl commands are a few kB.
pub const MAX_INPUT: usize = 256 * 1024;

/// How a `-d`-style option treats its value (curl's own rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `-d`, `--data`, `--data-ascii`: `@file` reads a file (CR/LF stripped).
    Data,
    /// `--data-raw`: taken literally, `@` included.
    Raw,
    /// `--data-binary`: `@file` reads a file as is.
    Binary,
    /// `--data-urlencode`: `[name]=content` / `[name]@file`, content percent-encoded.
    UrlEncode,
}

/// One data option.
#[derive(Debug, Clone)]
pub struct Data {
    /// Which option.
    pub kind: DataKind,
    /// Its value.
    pub arg: Arg,
    /// The option as written (`-d`, `--data-raw`, …).
    pub option: String,
}

/// The options of one curl invocation that matter for a token request.
#[derive(Debug, Clone, Default)]
pub struct CurlCommand {
    /// URLs (positional or `--url`).
    pub urls: Vec<Arg>,
    /// `-X` / `--request`.
    pub method: Option<Arg>,
    /// `-H` values, as written (`Name: value`).
    pub headers: Vec<Arg>,
    /// Data options in order.
    pub data: Vec<Data>,
    /// `-u` / `--user`.
    pub user: Option<Arg>,
    /// `--digest`, `--ntlm`, `--negotiate`, `--anyauth` (instead of Basic), if given.
    pub auth_scheme: Option<String>,
    /// `-F` / `--form` / `--form-string` values.
    pub forms: Vec<Arg>,
    /// `--json` values.
    pub json: Vec<Arg>,
    /// `-G` / `--get`: data goes into the URL query.
    pub get: bool,
    /// `-I` / `--head`.
    pub head: bool,
    /// `--oauth2-bearer`.
    pub bearer: Option<Arg>,
    /// `-E` / `--cert`: a TLS client certificate (RFC 8705 client authentication).
    pub client_cert: Option<Arg>,
    /// Options curl would accept that this reader does not model.
    pub unknown_options: Vec<String>,
    /// `-K/--config`: more options come from a file (not read).
    pub config_file: bool,
    /// The shell the command was read as.
    pub dialect: Dialect,
    /// The program as written: `curl`, `curl.exe`, `/usr/bin/curl`.
    pub program: String,
    /// Lines (1-based) whose continuation character is followed by a space or tab: the
    /// command ends there, and the lines after it never reach curl.
    pub cut_lines: Vec<usize>,
}

/// Why there is no curl command to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The text cannot be read as shell input (unterminated quote, …).
    Shell(ShellError),
    /// No `curl` command in the text.
    NotCurl,
    /// A request written with another tool doctor does not read (PowerShell's
    /// `Invoke-RestMethod`, …): what it is and what to paste instead.
    Unsupported(ShellError),
    /// Longer than [`MAX_INPUT`].
    TooLong,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shell(m) => write!(f, "cannot read the command line: {m}"),
            Self::NotCurl => f.write_str("no curl command found in the input"),
            Self::Unsupported(m) => write!(f, "{m}"),
            Self::TooLong => write!(f, "the input is longer than {MAX_INPUT} bytes"),
        }
    }
}

/// Find the curl command in `input` and read its options.
pub fn parse(input: &str) -> Result<CurlCommand, ParseError> {
    if input.len() > MAX_INPUT {
        return Err(ParseError::TooLong);
    }
    let prepared = dialect::prepare(input);
    let tokens = dialect::tokenize(&prepared).map_err(ParseError::Shell)?;
    let commands = shell::commands(&tokens);
    let mut env = Assignments::new();
    let Some(mut c) = find_curl(&commands, &mut env, 0) else {
        return Err(
            dialect::other_tool(&commands).map_or(ParseError::NotCurl, ParseError::Unsupported)
        );
    };
    c.dialect = prepared.dialect;
    c.cut_lines = prepared.cut_lines;
    Ok(c)
}

fn is_curl(word: &shell::RawWord) -> bool {
    word.literal().is_some_and(|w| {
        let base = w.rsplit(['/', '\\']).next().unwrap_or(&w);
        base == "curl" || base.eq_ignore_ascii_case("curl.exe")
    })
}

fn find_curl(cmds: &[SimpleCommand], env: &mut Assignments, depth: usize) -> Option<CurlCommand> {
    for c in cmds {
        let mut words = c.words.as_slice();
        // Leading assignments: a lone `A=1` sets a shell variable; `A=1 curl` only curl's env.
        let mut assigns = Vec::new();
        while let Some((w, rest)) = words.split_first() {
            match expand::assignment(w) {
                Some(a) => {
                    assigns.push(a);
                    words = rest;
                }
                None => break,
            }
        }
        // `export A=1`, `sudo curl`, `command curl`, `time curl`.
        while let Some((w, rest)) = words.split_first() {
            let lit = w.literal().unwrap_or_default();
            if matches!(lit.as_str(), "export" | "local" | "declare" | "readonly") {
                for w in rest {
                    if let Some(a) = expand::assignment(w) {
                        assigns.push(a);
                    }
                }
                words = &[];
            } else if matches!(lit.as_str(), "sudo" | "command" | "time" | "exec" | "nohup") {
                words = rest;
            } else {
                break;
            }
        }
        if let Some((first, rest)) = words.split_first() {
            if is_curl(first) {
                let args: Vec<Arg> = rest
                    .iter()
                    .flat_map(|w| expand::expand(w, env, depth))
                    .collect();
                let mut c = read_options(&args);
                c.program = first.literal().unwrap_or_default();
                return Some(c);
            }
        }
        let bare = words.is_empty();
        for (name, value) in assigns {
            // `TOKEN=$(curl …)`: the curl command is inside the substitution.
            if let Some(found) = curl_in_substitution(&value, env, depth) {
                return Some(found);
            }
            if bare {
                let v = expand::expand_value(&value, env, depth);
                env.insert(name, v);
            }
        }
        for w in words {
            if let Some(found) = curl_in_substitution(w, env, depth) {
                return Some(found);
            }
        }
    }
    None
}

fn curl_in_substitution(
    w: &shell::RawWord,
    env: &mut Assignments,
    depth: usize,
) -> Option<CurlCommand> {
    if depth >= shell::MAX_DEPTH {
        return None;
    }
    for p in &w.parts {
        if let Part::Subst { cmd, .. } = p {
            if cmd.contains("curl") {
                let tokens = shell::tokenize(cmd).ok()?;
                let cmds = shell::commands(&tokens);
                if let Some(found) = find_curl(&cmds, env, depth + 1) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// Read curl's options from its arguments.
pub fn read_options(args: &[Arg]) -> CurlCommand {
    let mut c = CurlCommand::default();
    let mut i = 0;
    let mut positional_only = false;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(text) = arg.literal() else {
            c.urls.push(arg.clone());
            continue;
        };
        if positional_only || !text.starts_with('-') || text == "-" {
            c.urls.push(arg.clone());
            continue;
        }
        if text == "--" {
            positional_only = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let name = format!("--{long}");
            let takes_value = long_takes_value(&name);
            if takes_value {
                let value = args.get(i).cloned().unwrap_or_default();
                i += 1;
                apply(&mut c, &name, value);
            } else {
                apply_flag(&mut c, &name);
            }
            continue;
        }
        // Short options, possibly combined: -sSX POST, -XPOST, -d@file.
        let chars: Vec<char> = text.chars().skip(1).collect();
        let mut k = 0;
        while k < chars.len() {
            let o = chars[k];
            k += 1;
            let name = format!("-{o}");
            if SHORT_WITH_VALUE.contains(o) {
                let value = if k < chars.len() {
                    // The rest of this argument is the value; keep any symbolic tail.
                    let prefix_len: usize =
                        1 + chars[..k].iter().map(|c| c.len_utf8()).sum::<usize>();
                    strip_prefix_bytes(arg, prefix_len)
                } else {
                    let v = args.get(i).cloned().unwrap_or_default();
                    i += 1;
                    v
                };
                apply(&mut c, &name, value);
                break;
            }
            apply_flag(&mut c, &name);
        }
    }
    // A word that is only a command substitution (`$(cat f)`) could expand to anything —
    // options, several words —, so it is not taken for the URL while a real one is given.
    c.urls.sort_by_key(|u| {
        !u.segs.is_empty() && u.segs.iter().all(|s| matches!(s, expand::Seg::Cmd(_)))
    });
    c
}

fn strip_prefix_bytes(arg: &Arg, n: usize) -> Arg {
    let mut out = arg.clone();
    if let Some(expand::Seg::Text(t)) = out.segs.first_mut() {
        *t = t.get(n..).unwrap_or_default().to_owned();
    }
    out.normalize();
    out
}

fn long_takes_value(name: &str) -> bool {
    matches!(
        name,
        "--url"
            | "--request"
            | "--header"
            | "--data"
            | "--data-ascii"
            | "--data-raw"
            | "--data-binary"
            | "--data-urlencode"
            | "--user"
            | "--form"
            | "--form-string"
            | "--json"
            | "--config"
            | "--oauth2-bearer"
    ) || VALUE_OPTIONS.contains(&name)
}

fn apply(c: &mut CurlCommand, name: &str, value: Arg) {
    let data = |kind| Data {
        kind,
        arg: value.clone(),
        option: name.to_owned(),
    };
    match name {
        "--url" => c.urls.push(value),
        "-X" | "--request" => c.method = Some(value),
        "-H" | "--header" => c.headers.push(value),
        "-d" | "--data" | "--data-ascii" => c.data.push(data(DataKind::Data)),
        "--data-raw" => c.data.push(data(DataKind::Raw)),
        "--data-binary" => c.data.push(data(DataKind::Binary)),
        "--data-urlencode" => c.data.push(data(DataKind::UrlEncode)),
        "-u" | "--user" => c.user = Some(value),
        "-F" | "--form" | "--form-string" => c.forms.push(value),
        "--json" => c.json.push(value),
        "--oauth2-bearer" => c.bearer = Some(value),
        "-E" | "--cert" => c.client_cert = Some(value),
        "-K" | "--config" => c.config_file = true,
        other if VALUE_OPTIONS.contains(&other) || other.len() == 2 => {}
        other => c.unknown_options.push(other.to_owned()),
    }
}

fn apply_flag(c: &mut CurlCommand, name: &str) {
    match name {
        "--basic" => c.auth_scheme = None,
        "--digest" | "--ntlm" | "--negotiate" | "--anyauth" => {
            c.auth_scheme = Some(name.trim_start_matches('-').to_owned())
        }
        "-G" | "--get" => c.get = true,
        "-I" | "--head" => c.head = true,
        n if KNOWN_FLAGS.contains(&n) || n.starts_with("--no-") => {}
        other => c.unknown_options.push(other.to_owned()),
    }
}

#[cfg(test)]
#[path = "curl_tests.rs"]
mod tests;
