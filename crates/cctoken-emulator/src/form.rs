//! Request bodies of the OAuth endpoints: `application/x-www-form-urlencoded` only.
//!
//! RFC 6749 §3.2 / Appendix B: parameters are form-urlencoded, sent at most once, and a
//! parameter without a value counts as omitted. This is the emulator's own parser (the
//! `url` crate's WHATWG decoder plus these rules); it deliberately shares nothing with the
//! client library's encoder (SPEC §1).

/// A parsed form body.
#[derive(Debug, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parse a body; `Err(reason)` for duplicates or bytes that are not UTF-8.
    pub fn parse(body: &[u8]) -> Result<Form, String> {
        if std::str::from_utf8(body).is_err() {
            return Err("body is not UTF-8".into());
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if k.is_empty() {
                continue;
            }
            if pairs.iter().any(|(pk, _)| *pk == k) {
                return Err(format!("duplicate parameter {}", safe_name(&k)));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form { pairs })
    }

    /// A parameter's value; empty values count as absent (RFC 6749 §3.2).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Names not in `known` (never values: they may be secrets).
    pub fn unknown(&self, known: &[&str]) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, _)| safe_name(k))
            .collect()
    }
}

/// A parameter name or auth scheme for a log line. People paste secrets where names belong
/// (`curl -d "$SECRET"` makes the secret a parameter *name*), so only plain words
/// (letters, `_`, `-`, `.`, at most 32) are shown; anything else as its fingerprint.
pub fn safe_name(s: &str) -> String {
    let plain = !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b'.'));
    if plain {
        s.to_owned()
    } else {
        format!("<{}>", crate::fingerprint(s.as_bytes()))
    }
}

/// A parameter name made safe for a log line (bounded, no control characters).
pub fn printable(s: &str) -> String {
    s.chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a
/// byte; a `%` not followed by two hex digits stays as it is (WHATWG).
pub fn form_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex_val(input.get(i + 1)), hex_val(input.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_val(b: Option<&u8>) -> Option<u8> {
    match *b? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_rules() {
        let f =
            Form::parse(b"grant_type=client_credentials&scope=read+write&audience=&x_y=1").unwrap();
        assert_eq!(f.get("scope"), Some("read write"));
        assert_eq!(f.get("audience"), None);
        assert_eq!(f.unknown(&["grant_type", "scope", "audience"]), vec!["x_y"]);
        assert!(Form::parse(b"a=1&a=2")
            .unwrap_err()
            .contains("duplicate parameter a"));
        assert!(Form::parse(b"a=\xff").is_err());
        assert!(Form::parse(b"&&==&%%%").is_ok());
    }

    #[test]
    fn form_decoding() {
        assert_eq!(
            form_decode(b"demo%2Bs3cret%2F%3D%25%26"),
            b"demo+s3cret/=%&"
        );
        assert_eq!(form_decode(b"a+b"), b"a b");
        assert_eq!(form_decode(b"100%"), b"100%");
        assert_eq!(form_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(form_decode(b"%41"), b"A");
    }
}
