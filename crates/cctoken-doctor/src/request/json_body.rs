//! A JSON request body read as JSON, variables included: `-d "{\"client_secret\":\"$S\"}"`
//! is a JSON object whose `client_secret` member is the variable `$S`.
//!
//! Each symbolic piece of the argument (a variable, an opaque `$(…)`) is replaced by a
//! placeholder that cannot occur in pasted text (private-use characters), the text is
//! parsed with `serde_json`, and the placeholders are turned back into symbolic pieces of
//! the members' values. A placeholder standing outside a string (`{"ttl": $TTL}`) is read
//! as a string so the rest of the document can still be judged. Only the members of a
//! top-level object become pairs; the checks use them to see whether `grant_type` and the
//! client's credentials are there — `body.json` says the server does not read them anyway.

use super::FormPair;
use crate::paste::expand::{Arg, Seg};

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// The text starts like a JSON document (`{` or `[`), whatever follows.
pub(super) fn looks_like_json(arg: &Arg) -> bool {
    match arg.segs.first() {
        Some(Seg::Text(t)) => {
            let t = t.trim_start();
            t.starts_with('{') || t.starts_with('[')
        }
        _ => false,
    }
}

/// The members of `arg`'s JSON object as pairs, appended to `out`. False when the text is
/// not a JSON object (so its content cannot be judged).
pub(super) fn json_pairs(arg: &Arg, out: &mut Vec<FormPair>) -> bool {
    let mut text = String::new();
    let mut symbols = Vec::new();
    for s in &arg.segs {
        match s {
            Seg::Text(t) => text.push_str(t),
            other => {
                text.push(OPEN);
                text.push_str(&symbols.len().to_string());
                text.push(CLOSE);
                symbols.push(other.clone());
            }
        }
    }
    let parsed = serde_json::from_str::<serde_json::Value>(&text)
        .or_else(|_| serde_json::from_str(&quote_bare_placeholders(&text)));
    let Ok(serde_json::Value::Object(map)) = parsed else {
        return false;
    };
    for (k, v) in map {
        let v = match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let value = unplace(&v, &symbols);
        out.push(FormPair {
            name: unplace(&k, &symbols).display(),
            raw: value.clone(),
            value,
            encoded: true,
            orphan: false,
            in_query: false,
            multipart: false,
        });
    }
    true
}

/// Wrap the placeholders that stand outside JSON strings in quotes.
fn quote_bare_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            OPEN if !in_string => {
                out.push('"');
                out.push(c);
            }
            CLOSE if !in_string => {
                out.push(c);
                out.push('"');
            }
            _ => {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_string = false;
                    }
                } else if c == '"' {
                    in_string = true;
                }
                out.push(c);
            }
        }
    }
    out
}

/// `s` with its placeholders turned back into the symbolic pieces they stand for.
fn unplace(s: &str, symbols: &[Seg]) -> Arg {
    let mut arg = Arg::default();
    let mut rest = s;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else { break };
        let Some(sym) = after[..end]
            .parse::<usize>()
            .ok()
            .and_then(|n| symbols.get(n))
        else {
            break;
        };
        arg.segs.push(Seg::Text(rest[..start].to_owned()));
        arg.segs.push(sym.clone());
        rest = &after[end + CLOSE.len_utf8()..];
    }
    arg.segs.push(Seg::Text(rest.to_owned()));
    arg.normalize();
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(segs: Vec<Seg>) -> Arg {
        Arg {
            segs,
            ..Arg::default()
        }
    }

    #[test]
    fn variables_inside_strings_become_symbolic_members() {
        let a = arg(vec![
            Seg::Text(r#"{"grant_type":"client_credentials","client_secret":""#.into()),
            Seg::Var("CLIENT_SECRET".into()),
            Seg::Text(r#""}"#.into()),
        ]);
        assert!(looks_like_json(&a));
        let mut out = Vec::new();
        assert!(json_pairs(&a, &mut out));
        let secret = out.iter().find(|p| p.name == "client_secret").unwrap();
        assert_eq!(secret.value.vars(), ["CLIENT_SECRET"]);
        let grant = out.iter().find(|p| p.name == "grant_type").unwrap();
        assert_eq!(grant.value.literal().unwrap(), "client_credentials");
    }

    #[test]
    fn a_bare_variable_is_read_as_a_string_and_garbage_is_not_json() {
        let a = arg(vec![
            Seg::Text(r#"{"ttl": "#.into()),
            Seg::Var("TTL".into()),
            Seg::Text(r#", "a": "x\"y"}"#.into()),
        ]);
        let mut out = Vec::new();
        assert!(json_pairs(&a, &mut out));
        assert_eq!(out.len(), 2);
        let ttl = out.iter().find(|p| p.name == "ttl").unwrap();
        assert_eq!(ttl.value.vars(), ["TTL"]);
        assert!(!json_pairs(&Arg::text("{grant_type:x}"), &mut Vec::new()));
        assert!(!looks_like_json(&arg(vec![Seg::Var("BODY".into())])));
    }
}
