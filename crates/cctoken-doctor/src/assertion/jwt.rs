//! A compact JWS read without checking its signature: the header and the claims as JSON
//! objects, and how long the signature is. doctor never verifies or prints a signature —
//! the assertion as a whole is a credential, its header and claims are not secret.

use base64::Engine as _;
use serde_json::{Map, Value};

/// Largest assertion doctor reads (real ones are well under 4 KiB; an `x5c` chain fits).
pub const MAX_LEN: usize = 64 * 1024;

/// A decoded JWT: header and claims; the signature only as its length.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims set.
    pub claims: Map<String, Value>,
    /// Length of the decoded signature in bytes (0: unsigned).
    pub signature_len: usize,
}

/// Why a text is not a readable JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Nothing there.
    Empty,
    /// Longer than [`MAX_LEN`].
    TooLong(usize),
    /// Five parts: an encrypted JWT (JWE), whose claims cannot be read.
    Encrypted,
    /// Not `header.claims.signature`.
    Parts(usize),
    /// A part is not base64url.
    Base64(&'static str),
    /// A part is not a JSON object.
    Json(&'static str, String),
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("the assertion is empty"),
            Self::TooLong(n) => write!(f, "the assertion is {n} bytes long; doctor reads at most {MAX_LEN}"),
            Self::Encrypted => f.write_str("the assertion has five parts: it is an encrypted JWT (JWE), whose claims doctor cannot read"),
            Self::Parts(n) => write!(f, "the assertion has {n} dot-separated part(s); a signed JWT has three (header.claims.signature)"),
            Self::Base64(p) => write!(f, "the assertion's {p} is not base64url (RFC 7515 §2: no padding, '-' and '_')"),
            Self::Json(p, e) => write!(f, "the assertion's {p} is not a JSON object ({e})"),
        }
    }
}

fn b64(part: &str) -> Option<Vec<u8>> {
    // Strict base64url first; padded or standard-alphabet text is read too, so that the
    // finding can say what is wrong rather than "not a JWT".
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    engine.decode(part).ok().or_else(|| {
        let fixed: String = part
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        engine.decode(fixed).ok()
    })
}

fn object(part: &str, name: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = b64(part).ok_or(JwtError::Base64(name))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JwtError::Json(name, "not an object".into())),
        Err(e) => Err(JwtError::Json(name, e.to_string())),
    }
}

/// Decode `text` (surrounding whitespace ignored).
pub fn decode(text: &str) -> Result<Jwt, JwtError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(JwtError::Empty);
    }
    if t.len() > MAX_LEN {
        return Err(JwtError::TooLong(t.len()));
    }
    let parts: Vec<&str> = t.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(JwtError::Encrypted),
        n => return Err(JwtError::Parts(n)),
    }
    let header = object(parts[0], "header")?;
    let claims = object(parts[1], "claims")?;
    let signature_len = if parts[2].is_empty() {
        0
    } else {
        b64(parts[2]).ok_or(JwtError::Base64("signature"))?.len()
    };
    Ok(Jwt {
        header,
        claims,
        signature_len,
    })
}

impl Jwt {
    /// A header member as a string.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim as a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (seconds since the epoch; fractions are cut).
    pub fn time(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }

    /// Header and claims as one line each, the signature elided: what doctor shows.
    pub fn shown(&self) -> String {
        let json = |m: &Map<String, Value>| serde_json::to_string(m).unwrap_or_default();
        format!(
            "header {} claims {} signature <elided, {} bytes>",
            json(&self.header),
            json(&self.claims),
            self.signature_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn reads_header_and_claims_and_counts_the_signature() {
        let t = format!(
            "{}.{}.{}",
            enc(&serde_json::json!({"alg":"ES256","kid":"k1"})),
            enc(&serde_json::json!({"iss":"c","exp":1.5e9})),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 64])
        );
        let j = decode(&format!("  {t}\n")).unwrap();
        assert_eq!(j.header_str("kid"), Some("k1"));
        assert_eq!(j.time("exp"), Some(1_500_000_000));
        assert_eq!(j.signature_len, 64);
        assert!(j.shown().ends_with("signature <elided, 64 bytes>"));
        assert!(!j.shown().contains("BwcH"), "{}", j.shown());
    }

    #[test]
    fn says_what_is_not_a_jwt() {
        assert_eq!(decode(""), Err(JwtError::Empty));
        assert_eq!(decode("a.b"), Err(JwtError::Parts(2)));
        assert_eq!(decode("a.b.c.d.e"), Err(JwtError::Encrypted));
        assert_eq!(decode("***.e30.x"), Err(JwtError::Base64("header")));
        assert!(matches!(
            decode("WzFd.e30."),
            Err(JwtError::Json("header", _))
        ));
        assert_eq!(
            decode(&"a".repeat(MAX_LEN + 1)),
            Err(JwtError::TooLong(MAX_LEN + 1))
        );
    }
}
