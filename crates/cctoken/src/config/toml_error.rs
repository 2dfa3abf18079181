//! Errors of the TOML files cctoken reads (the profile file, the Genesys CLI's config) as
//! people can act on them: `path:line:col: message (in [profiles.prod], key `region`)`.
//!
//! A TOML parser's message may quote the offending value, and a value in these files can be
//! a secret pasted where it does not belong: every quoted part is removed before the message
//! is shown — unless the error is on a key whose value is never secret ([`NOT_SECRET_KEYS`]:
//! `provider`, `region`, `client_id`, …), where hiding it only makes the mistake harder to
//! see (`unknown provider 'okta'`). This module only words errors; it parses nothing itself.

use std::path::Path;

use crate::Error;

/// A TOML error as `path:line:col: message (in [table], key `k`)`, with quoted values in
/// the message removed (they could be secrets).
pub fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let raw = e.message().trim();
    let mut msg = redact_quoted(raw);
    let mut location = path.display().to_string();
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line_no = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        location = format!("{location}:{line_no}:{col}");
        let lines: Vec<&str> = text.lines().collect();
        let table = lines
            .iter()
            .take(line_no)
            .rev()
            .map(|l| l.trim())
            .find(|l| l.starts_with('['))
            // A garbled header line may hold a value (a secret): show only header-like lines.
            .filter(|l| {
                l.ends_with(']') && !l.contains('=') && !l.contains('"') && !l.contains('\'')
            });
        let key = lines
            .get(line_no - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.starts_with('['))
            .filter(|k| {
                k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            });
        if key.is_some_and(|k| NOT_SECRET_KEYS.contains(&k)) {
            msg = raw.to_owned();
        }
        let mut ctx = Vec::new();
        if let Some(t) = table {
            ctx.push(format!("in {t}"));
        }
        if let Some(k) = key {
            ctx.push(format!("key `{k}`"));
        }
        if !ctx.is_empty() {
            msg = format!("{msg} ({})", ctx.join(", "));
        }
    }
    if msg.contains("unknown field `client_secret`")
        || msg.contains("unknown field `access_key_secret`")
        || msg.contains("unknown field `secret`")
    {
        msg.push_str(
            "; secrets do not belong in the config file: use client_secret_env, \
             client_secret_file or client_secret_cmd (access_key_secret_env|file|cmd for CXone)",
        );
    }
    Error::config(format!("{location}: {msg}"))
}

/// Keys of the profile file (and the Genesys CLI's) whose values are never secret: an
/// error on one of them quotes the value. Keys that can hold anything — `params`, the
/// `*_cmd` commands, `[cache] url` (a Redis URL may carry a password) — are not here.
pub const NOT_SECRET_KEYS: &[&str] = &[
    "provider",
    "region",
    "auth",
    "token_url",
    "issuer",
    "api_base",
    "client_id",
    "scope",
    "scopes",
    "audience",
    "access_key_id",
    "gc_profile",
    "client_secret_env",
    "client_secret_file",
    "client_secret_keyring",
    "client_secret_cmd_timeout",
    "access_key_secret_env",
    "access_key_secret_file",
    "access_key_secret_cmd_timeout",
    "negative_ttl",
];

/// Replace the content of every `"..."` and `'...'` in a message by `…`.
pub fn redact_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut inside: Option<char> = None;
    for c in s.chars() {
        match inside {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                inside = None;
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                out.push(c);
                inside = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_removed() {
        assert_eq!(
            redact_quoted(r#"invalid value "CANARY" and 'x', ok"#),
            r#"invalid value "…" and '…', ok"#
        );
    }

    fn error_of(text: &str) -> String {
        crate::config::ConfigFile::parse(text, Path::new("c.toml"))
            .and_then(|f| f.profile("p"))
            .unwrap_err()
            .message
    }

    #[test]
    fn values_of_keys_that_are_never_secret_are_shown() {
        let m = error_of("[profiles.p]\nprovider = \"okta\"\n");
        assert!(m.contains("unknown provider 'okta'"), "{m}");
        assert!(m.contains("key `provider`"), "{m}");
        let m = error_of("[profiles.p]\nregion = \"mars-1\"\n");
        assert!(m.contains("'mars-1'"), "{m}");
        let m = error_of("[profiles.p]\nparams = \"CANARY\"\n");
        assert!(!m.contains("CANARY"), "{m}");
        let m = error_of("[profiles.p]\nclient_secret_cmd = 5\nprovider = \"CANARY\" x\n");
        assert!(!m.contains("CANARY"), "{m}");
        let m = error_of("[profiles.p]\nclient_secret = \"CANARY\"\n");
        assert!(!m.contains("CANARY"), "{m}");
    }
}
