//! Compact JWS (RFC 7515) decoding and signature verification with ring.
//!
//! [`Compact::parse`] splits `header.payload.signature`, decodes the header and the claims
//! (a JSON object each) and keeps the signing input; it refuses JWE (five parts), unsecured
//! JWTs and `crit` headers it cannot honour. [`Alg`] is the closed set of algorithms the
//! emulator verifies (RS256, PS256, ES256, ES384, EdDSA — `Ed25519` accepted as its
//! synonym, as oauth4webapi sends it — and HS256). Key *selection* is the caller's
//! business; this module only answers "does this key verify this signature".
//! It never fetches keys (`jku`, `x5u` are ignored).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::jwk::PublicKey;

/// The algorithms the token endpoint verifies, in discovery order.
pub const SUPPORTED: &[&str] = &["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"];

/// A JWS algorithm the emulator verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519 (RFC 8037 `EdDSA`).
    EdDsa,
    /// HMAC with SHA-256 (client_secret_jwt).
    Hs256,
}

impl Alg {
    /// Parse a header `alg`; `Err` names why it is refused.
    pub fn parse(alg: &str) -> Result<Alg, String> {
        Ok(match alg {
            "RS256" => Alg::Rs256,
            "PS256" => Alg::Ps256,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" | "Ed25519" => Alg::EdDsa,
            "HS256" => Alg::Hs256,
            a if a.eq_ignore_ascii_case("none") => {
                return Err(format!("alg {} is never accepted", shown(a)))
            }
            a => {
                return Err(format!(
                    "alg {} not supported (supported: {})",
                    shown(a),
                    SUPPORTED.join(", ")
                ))
            }
        })
    }

    /// The canonical name (`EdDSA` for Ed25519).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
        }
    }

    /// Whether this is a MAC (client_secret_jwt) rather than a signature.
    pub fn is_hmac(self) -> bool {
        self == Alg::Hs256
    }
}

/// A header value shown in a reason: bounded, no control characters.
pub fn shown(s: &str) -> String {
    crate::form::printable(s)
}

/// The header members the emulator reads.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// `alg` as sent.
    pub alg: String,
    /// `kid`.
    pub kid: Option<String>,
    /// `typ`.
    pub typ: Option<String>,
    /// `x5t#S256`: the thumbprint of the certificate of the signing key (Entra style).
    pub x5t_s256: Option<String>,
}

/// A decoded compact JWS.
#[derive(Debug)]
pub struct Compact<'a> {
    /// The protected header.
    pub header: Header,
    /// The claims (payload) object.
    pub claims: Map<String, Value>,
    /// `header.payload`, the bytes that were signed.
    pub signing_input: &'a str,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

fn part(s: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| format!("the {what} is not base64url ({e})"))
}

fn object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("the {what} is not a JSON object")),
        Err(e) => Err(format!("the {what} is not JSON ({e})")),
    }
}

fn opt_str(m: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("header `{name}` is not a string")),
    }
}

impl<'a> Compact<'a> {
    /// Decode `token`; nothing is verified yet.
    pub fn parse(token: &'a str) -> Result<Compact<'a>, String> {
        let parts: Vec<&str> = token.split('.').collect();
        match parts.len() {
            3 => {}
            5 => return Err("it is a JWE (5 parts); the emulator takes signed JWTs".into()),
            n => {
                return Err(format!(
                    "a compact JWS has 3 dot-separated parts, found {n}"
                ))
            }
        }
        let header = object(&part(parts[0], "header")?, "header")?;
        let claims = object(&part(parts[1], "payload")?, "payload")?;
        let signature = part(parts[2], "signature")?;
        let alg = match header.get("alg") {
            Some(Value::String(a)) => a.clone(),
            Some(_) => return Err("header `alg` is not a string".into()),
            None => return Err("the header has no `alg`".into()),
        };
        if let Some(crit) = header.get("crit") {
            return Err(format!(
                "header `crit` {crit} names extensions the emulator does not understand (RFC 7515 §4.1.11)"
            ));
        }
        let header = Header {
            alg,
            kid: opt_str(&header, "kid")?,
            typ: opt_str(&header, "typ")?,
            x5t_s256: opt_str(&header, "x5t#S256")?,
        };
        let signing_input = &token[..parts[0].len() + 1 + parts[1].len()];
        Ok(Compact {
            header,
            claims,
            signing_input,
            signature,
        })
    }
}

/// Verify `signature` over `input` with an asymmetric `key`; the caller has checked that
/// the key type fits `alg` ([`super::jwk::alg_fits`]).
pub fn verify(alg: Alg, key: &PublicKey, input: &[u8], signature: &[u8]) -> bool {
    let ok = match (alg, key) {
        (Alg::Rs256, PublicKey::Rsa { n, e }) => RsaPublicKeyComponents { n, e }.verify(
            &sig::RSA_PKCS1_2048_8192_SHA256,
            input,
            signature,
        ),
        (Alg::Ps256, PublicKey::Rsa { n, e }) => {
            RsaPublicKeyComponents { n, e }.verify(&sig::RSA_PSS_2048_8192_SHA256, input, signature)
        }
        (Alg::Es256, PublicKey::Ec { point, .. }) => {
            UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).verify(input, signature)
        }
        (Alg::Es384, PublicKey::Ec { point, .. }) => {
            UnparsedPublicKey::new(&sig::ECDSA_P384_SHA384_FIXED, point).verify(input, signature)
        }
        (Alg::EdDsa, PublicKey::Ed25519 { x }) => {
            UnparsedPublicKey::new(&sig::ED25519, x).verify(input, signature)
        }
        _ => return false,
    };
    ok.is_ok()
}

/// Verify an HS256 MAC with `secret` (constant time).
pub fn verify_hmac(secret: &[u8], input: &[u8], mac: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, input, mac).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn parses_the_three_parts() {
        let t = format!(
            "{}.{}.{}",
            b64(
                &serde_json::json!({"alg": "Ed25519", "kid": "k1", "typ": "client-authentication+jwt"})
            ),
            b64(&serde_json::json!({"iss": "c"})),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        );
        let c = Compact::parse(&t).unwrap();
        assert_eq!(Alg::parse(&c.header.alg).unwrap(), Alg::EdDsa);
        assert_eq!(c.header.kid.as_deref(), Some("k1"));
        assert_eq!(c.claims["iss"], "c");
        assert_eq!(c.signature.len(), 64);
        assert_eq!(c.signing_input, t.rsplit_once('.').unwrap().0);
    }

    #[test]
    fn refusals_say_why() {
        let h = b64(&serde_json::json!({"alg": "ES256", "crit": ["b64"]}));
        let p = b64(&serde_json::json!({}));
        for (t, needle) in [
            ("a.b".to_owned(), "found 2"),
            ("a.b.c.d.e".to_owned(), "JWE"),
            (format!("{h}.{p}.AA"), "crit"),
            (
                format!("{}.{p}.AA", b64(&serde_json::json!(["x"]))),
                "header is not a JSON object",
            ),
            (
                format!("{}.{p}.AA", b64(&serde_json::json!({"typ": "JWT"}))),
                "no `alg`",
            ),
            ("!!.e30.AA".to_owned(), "header is not base64url"),
        ] {
            let e = Compact::parse(&t).unwrap_err();
            assert!(e.contains(needle), "{t}: {e}");
        }
        assert_eq!(
            Alg::parse("none").unwrap_err(),
            "alg none is never accepted"
        );
        assert!(Alg::parse("ES512").unwrap_err().contains(
            "alg ES512 not supported (supported: RS256, PS256, ES256, ES384, EdDSA, HS256)"
        ));
    }

    #[test]
    fn hmac_and_signatures_verify_only_when_right() {
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"k"),
            b"input",
        );
        assert!(verify_hmac(b"k", b"input", tag.as_ref()));
        assert!(!verify_hmac(b"k2", b"input", tag.as_ref()));
        use ring::signature::KeyPair as _;
        let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        let kp = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = PublicKey::Ed25519 {
            x: kp.public_key().as_ref().to_vec(),
        };
        let s = kp.sign(b"input");
        assert!(verify(Alg::EdDsa, &key, b"input", s.as_ref()));
        assert!(!verify(Alg::EdDsa, &key, b"other", s.as_ref()));
        assert!(
            !verify(Alg::Es256, &key, b"input", s.as_ref()),
            "wrong key type"
        );
    }
}
