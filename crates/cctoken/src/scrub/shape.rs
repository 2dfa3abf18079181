//! Withholding tokens cctoken has never seen, by their shape: JWT-like strings, long
//! opaque strings, and the value after a token-ish key in any notation — JSON
//! (`"accessToken":"…"`, nested `data.access_token`), a form body (`access_token=…`), a
//! Python repr (`{'jwt': '…'}`), a header (`Bearer …`).
//!
//! This is the net under [`super::Scrubber`], which takes out the values cctoken knows. It
//! errs towards withholding: a 32-character request id may be withheld too. It keeps
//! UUIDs (client ids), URLs and words, which is what error messages are made of.

use serde_json::Value;

/// What replaces a withheld value.
fn withheld(len: usize) -> String {
    format!("[withheld len={len}]")
}

/// Characters of a "word": a key, a value, a token.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~' | '+' | '/' | '%')
}

/// Characters between a key and its value (`":"`, `=`, `': '`, `\":\"`).
fn is_separator(c: char) -> bool {
    matches!(c, '"' | '\'' | ':' | '=' | ' ' | '\t' | '\\')
}

/// How a key names a secret value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// Any token-ish key: its value follows `:`, `=` or a quote.
    Named,
    /// `Bearer`/`Basic`: its value follows a space (an `Authorization` value).
    Scheme,
}

fn key_kind(word: &str) -> Option<Key> {
    let last = word.rsplit(['.', '/']).next().unwrap_or(word);
    let norm: String = last
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if norm == "bearer" || norm == "basic" {
        return Some(Key::Scheme);
    }
    let named = norm.ends_with("token")
        || norm.ends_with("jwt")
        || norm.ends_with("secret")
        || norm.ends_with("password")
        || norm.ends_with("assertion")
        || norm == "authorization";
    named.then_some(Key::Named)
}

/// True for a key whose value is a token or secret, in any case and notation
/// (`access_token`, `accessToken`, `AccessToken`, `jwt`, `data.id_token`).
pub fn is_sensitive_key(key: &str) -> bool {
    key_kind(key) == Some(Key::Named)
}

/// True for a key that holds a secret proper (never shown, not even shortened).
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("secret") || k.ends_with("password") || k.ends_with("assertion")
}

fn is_uuid(w: &str) -> bool {
    let groups: Vec<&str> = w.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A URN (`urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, raw or form-encoded):
/// a public name, never a token, however long.
fn is_urn(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    w.starts_with("urn:") || w.starts_with("urn%3a")
}

/// True for a JWT-like string or a long opaque one (base64, base64url or hex with
/// letters and digits, not a UUID, not a path of short segments).
pub fn looks_like_token(word: &str) -> bool {
    let w = word.trim_end_matches('=');
    let first = w.split('.').next().unwrap_or("");
    if first.starts_with("eyJ") && (w.len() >= 16 || w.split('.').count() >= 2) {
        return true;
    }
    if w.len() < 32 || is_uuid(w) {
        return false;
    }
    let longest = w.split(['/', '.']).map(str::len).max().unwrap_or(0);
    if longest < 24 {
        return false;
    }
    let digit = w.chars().any(|c| c.is_ascii_digit());
    let lower = w.chars().any(|c| c.is_ascii_lowercase());
    let upper = w.chars().any(|c| c.is_ascii_uppercase());
    (digit && (lower || upper)) || (lower && upper && w.len() >= 40 && !w.contains('_'))
}

/// `text` with every token-shaped part withheld: JWT-like and long opaque words, and
/// the value after a token-ish key (`access_token=…`, `"jwt": "…"`, `Bearer …`).
pub fn withhold(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Set after a token-ish key: the next word is its value.
    let mut pending: Option<Key> = None;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !is_word(c) {
            out.push(c);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_word(chars[j].1) {
            j += 1;
        }
        // Trailing `=` padding belongs to the word when nothing word-like follows it.
        let mut k = j;
        while k < chars.len() && chars[k].1 == '=' {
            k += 1;
        }
        if k > j && (k == chars.len() || !is_word(chars[k].1)) {
            j = k;
        }
        let end = chars.get(j).map_or(text.len(), |(b, _)| *b);
        let word = &text[start..end];
        let value_of = pending.take();
        let scheme = key_kind(word) == Some(Key::Scheme);
        let secret_value = match value_of {
            // `Authorization: Bearer …`: the scheme stays, its value goes.
            Some(Key::Named) => word.len() >= 3 && !scheme,
            Some(Key::Scheme) => word.len() >= 8,
            None => false,
        };
        if (secret_value || looks_like_token(word)) && !is_urn(word) {
            out.push_str(&withheld(word.len()));
        } else {
            out.push_str(word);
            if let Some(kind) = key_kind(word) {
                pending = separated(&chars[j..], kind).then_some(kind);
            }
        }
        i = j;
    }
    out
}

/// True when `rest` starts with a key/value separator for a key of `kind`.
fn separated(rest: &[(usize, char)], kind: Key) -> bool {
    let sep: Vec<char> = rest
        .iter()
        .map(|(_, c)| *c)
        .take_while(|c| is_separator(*c))
        .take(8)
        .collect();
    let followed = rest.get(sep.len()).is_some_and(|(_, c)| is_word(*c));
    followed
        && match kind {
            Key::Named => sep.iter().any(|c| matches!(c, ':' | '=' | '"' | '\'')),
            Key::Scheme => sep.iter().all(|c| *c == ' ') && !sep.is_empty(),
        }
}

/// A JSON value as `--trace` shows it: under a token-ish key a string keeps its first
/// 6 characters (a secret-ish key's not even those), at any depth; every other string is
/// passed through [`withhold`].
pub fn trace_json(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match v {
                    Value::String(s) if is_secret_key(k) => *s = withheld(s.len()),
                    Value::String(s) if is_sensitive_key(k) => {
                        let short: String = s.chars().take(6).collect();
                        *s = format!("{short}…");
                    }
                    other => trace_json(other),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(trace_json),
        Value::String(s) => *s = withhold(s),
        _ => {}
    }
}
