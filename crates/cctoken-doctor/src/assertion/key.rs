//! What a key file is, without using it: PEM (PKCS#8, SEC1, PKCS#1, SPKI) read as far as
//! its algorithm identifier, or a JWK / JWK Set. Enough to hold an assertion's `alg` and
//! `kid` against the key (SPEC §14), never more: no key material is kept or shown — a JWK's
//! public key appears only as its RFC 7638 thumbprint.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest as _;

/// Largest key file doctor reads.
pub const MAX_LEN: usize = 256 * 1024;

/// The key's type, as far as it decides the signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA (RS256, PS256, …).
    Rsa,
    /// EC on P-256 (ES256).
    P256,
    /// EC on P-384 (ES384).
    P384,
    /// EC on P-521 (ES512).
    P521,
    /// EC on a curve JOSE does not sign with (e.g. secp256k1).
    OtherCurve,
    /// Ed25519 (EdDSA).
    Ed25519,
    /// Ed448 (EdDSA).
    Ed448,
    /// A symmetric JWK (`kty: oct`: HS256, …).
    Oct,
    /// Not a signing key (X25519, an unknown OID or `kty`).
    Unknown,
}

impl KeyType {
    /// How a message names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "an RSA key",
            Self::P256 => "an EC P-256 key",
            Self::P384 => "an EC P-384 key",
            Self::P521 => "an EC P-521 key",
            Self::OtherCurve => "an EC key on a curve JOSE does not sign with",
            Self::Ed25519 => "an Ed25519 key",
            Self::Ed448 => "an Ed448 key",
            Self::Oct => "a symmetric (oct) key",
            Self::Unknown => "a key of unknown type",
        }
    }

    /// The JWS `alg` values this key signs with (RFC 7518, RFC 8037).
    pub fn algs(self) -> &'static [&'static str] {
        match self {
            Self::Rsa => &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
            Self::P256 => &["ES256"],
            Self::P384 => &["ES384"],
            Self::P521 => &["ES512"],
            Self::Ed25519 | Self::Ed448 => &["EdDSA", "Ed25519"],
            Self::Oct => &["HS256", "HS384", "HS512"],
            Self::OtherCurve | Self::Unknown => &[],
        }
    }
}

/// One key, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Its type.
    pub kind: KeyType,
    /// It holds private material (a private PEM, a JWK with `d` or `k`).
    pub private: bool,
    /// A JWK's `kid`.
    pub kid: Option<String>,
    /// A JWK's `alg`.
    pub alg: Option<String>,
    /// RFC 7638 thumbprint of an asymmetric JWK's public part (base64url SHA-256).
    pub thumbprint: Option<String>,
}

/// A key file: one key, or a JWK Set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    /// What the file is (`PEM PKCS#8`, `JWK`, `JWK Set`, …).
    pub format: String,
    /// Its keys (one, except for a set).
    pub keys: Vec<KeyInfo>,
}

impl KeyFile {
    /// The `kid`s of the file's keys.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref()).collect()
    }
}

/// Why a file is not a key doctor can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Longer than [`MAX_LEN`].
    TooLong,
    /// A certificate, not a key.
    Certificate,
    /// A passphrase-protected PKCS#8 key.
    Encrypted,
    /// Neither PEM nor JWK.
    NotAKey(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong => write!(f, "the key file is over {MAX_LEN} bytes"),
            Self::Certificate => f.write_str("the file is a certificate, not a private key (give the key that belongs to it)"),
            Self::Encrypted => f.write_str("the key is encrypted with a passphrase (ENCRYPTED PRIVATE KEY), so its type cannot be read; cctoken needs it unencrypted"),
            Self::NotAKey(why) => write!(f, "the file is not a PEM key or a JWK: {why}"),
        }
    }
}

// DER encodings of the algorithm and curve OIDs (tag 06, length, value).
const OIDS: &[(&[u8], KeyType)] = &[
    (
        &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 1],
        KeyType::Rsa,
    ),
    (
        &[6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 10],
        KeyType::Rsa,
    ),
    (
        &[6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 3, 1, 7],
        KeyType::P256,
    ),
    (&[6, 5, 0x2B, 0x81, 4, 0, 0x22], KeyType::P384),
    (&[6, 5, 0x2B, 0x81, 4, 0, 0x23], KeyType::P521),
    (&[6, 5, 0x2B, 0x81, 4, 0, 0x0A], KeyType::OtherCurve),
    (&[6, 3, 0x2B, 0x65, 0x70], KeyType::Ed25519),
    (&[6, 3, 0x2B, 0x65, 0x71], KeyType::Ed448),
];

fn der_kind(der: &[u8]) -> KeyType {
    OIDS.iter()
        .find(|(oid, _)| der.windows(oid.len()).any(|w| w == *oid))
        .map_or(KeyType::Unknown, |(_, k)| *k)
}

/// Read a key file's text.
pub fn read(text: &str) -> Result<KeyFile, KeyError> {
    if text.len() > MAX_LEN {
        return Err(KeyError::TooLong);
    }
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.starts_with('{') {
        return jwk_file(t);
    }
    let Some(start) = t.find("-----BEGIN ") else {
        return Err(KeyError::NotAKey("no -----BEGIN line and no JSON".into()));
    };
    let rest = &t[start + 11..];
    let label = rest.split("-----").next().unwrap_or_default().trim();
    let end_marker = format!("-----END {label}-----");
    let body_start = rest.find('\n').unwrap_or(rest.len());
    let body = &rest[body_start..];
    let body = body.split(&end_marker).next().unwrap_or_default();
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let (format, private) = match label {
        "CERTIFICATE" | "TRUSTED CERTIFICATE" => return Err(KeyError::Certificate),
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
        "PRIVATE KEY" => ("PEM PKCS#8", true),
        "RSA PRIVATE KEY" => ("PEM PKCS#1", true),
        "EC PRIVATE KEY" => ("PEM SEC1", true),
        "PUBLIC KEY" => ("PEM public key (SPKI)", false),
        "RSA PUBLIC KEY" => ("PEM PKCS#1 public key", false),
        other => {
            return Err(KeyError::NotAKey(format!(
                "PEM label '{}'",
                cctoken::error::excerpt(other, 40)
            )))
        }
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| KeyError::NotAKey("the PEM body is not base64".into()))?;
    let kind = if label.starts_with("RSA ") {
        KeyType::Rsa
    } else {
        der_kind(&der)
    };
    Ok(KeyFile {
        format: format.into(),
        keys: vec![KeyInfo {
            kind,
            private,
            kid: None,
            alg: None,
            thumbprint: None,
        }],
    })
}

fn jwk_file(t: &str) -> Result<KeyFile, KeyError> {
    let v: Value =
        serde_json::from_str(t).map_err(|e| KeyError::NotAKey(format!("invalid JSON ({e})")))?;
    let Value::Object(obj) = v else {
        return Err(KeyError::NotAKey("JSON that is not an object".into()));
    };
    if let Some(keys) = obj.get("keys").and_then(Value::as_array) {
        let keys: Vec<KeyInfo> = keys.iter().filter_map(Value::as_object).map(jwk).collect();
        return Ok(KeyFile {
            format: "JWK Set".into(),
            keys,
        });
    }
    if !obj.contains_key("kty") {
        return Err(KeyError::NotAKey(
            "a JSON object with neither kty nor keys".into(),
        ));
    }
    Ok(KeyFile {
        format: "JWK".into(),
        keys: vec![jwk(&obj)],
    })
}

fn jwk(o: &Map<String, Value>) -> KeyInfo {
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    let kind = match (s("kty"), s("crv")) {
        (Some("RSA"), _) => KeyType::Rsa,
        (Some("EC"), Some("P-256")) => KeyType::P256,
        (Some("EC"), Some("P-384")) => KeyType::P384,
        (Some("EC"), Some("P-521")) => KeyType::P521,
        (Some("EC"), _) => KeyType::OtherCurve,
        (Some("OKP"), Some("Ed25519")) => KeyType::Ed25519,
        (Some("OKP"), Some("Ed448")) => KeyType::Ed448,
        (Some("oct"), _) => KeyType::Oct,
        _ => KeyType::Unknown,
    };
    // RFC 7638 §3.2: the required public members, in lexicographic order.
    let members: &[&str] = match kind {
        KeyType::Rsa => &["e", "kty", "n"],
        KeyType::P256 | KeyType::P384 | KeyType::P521 | KeyType::OtherCurve => {
            &["crv", "kty", "x", "y"]
        }
        KeyType::Ed25519 | KeyType::Ed448 => &["crv", "kty", "x"],
        // A symmetric key's "thumbprint" would be a hash of the secret: none.
        KeyType::Oct | KeyType::Unknown => &[],
    };
    let thumbprint = (!members.is_empty())
        .then(|| {
            let mut canon = Map::new();
            for m in members {
                canon.insert((*m).to_owned(), Value::String(s(m)?.to_owned()));
            }
            let json = serde_json::to_string(&canon).ok()?;
            Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(json.as_bytes())),
            )
        })
        .flatten();
    KeyInfo {
        kind,
        private: o.contains_key("d") || (kind == KeyType::Oct && o.contains_key("k")),
        kid: s("kid").map(str::to_owned),
        alg: s("alg").map(str::to_owned),
        thumbprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_thumbprint_of_the_rfcs_example_key() {
        // RFC 7638 §3.1.
        let k = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
        let f = read(k).unwrap();
        assert_eq!(f.format, "JWK");
        let key = &f.keys[0];
        assert_eq!(key.kind, KeyType::Rsa);
        assert!(!key.private);
        assert_eq!(key.kid.as_deref(), Some("2011-04-29"));
        assert_eq!(
            key.thumbprint.as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn pem_labels_and_algorithm_identifiers() {
        let pem = |label: &str, der: &[u8]| {
            format!(
                "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        };
        let mut p256 = vec![
            0x30, 0x41, 2, 1, 0, 0x30, 0x13, 6, 7, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 2, 1,
        ];
        p256.extend([6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 3, 1, 7]);
        let f = read(&pem("PRIVATE KEY", &p256)).unwrap();
        assert_eq!(
            (f.format.as_str(), f.keys[0].kind),
            ("PEM PKCS#8", KeyType::P256)
        );
        let ed = [0x30, 0x2E, 2, 1, 0, 0x30, 5, 6, 3, 0x2B, 0x65, 0x70];
        assert_eq!(
            read(&pem("PRIVATE KEY", &ed)).unwrap().keys[0].kind,
            KeyType::Ed25519
        );
        assert_eq!(
            read(&pem("RSA PRIVATE KEY", &[0x30, 0])).unwrap().keys[0].kind,
            KeyType::Rsa
        );
        assert_eq!(
            read(&pem("CERTIFICATE", &[0x30, 0])),
            Err(KeyError::Certificate)
        );
        assert_eq!(
            read(&pem("ENCRYPTED PRIVATE KEY", &[0x30, 0])),
            Err(KeyError::Encrypted)
        );
        assert!(matches!(read("hello"), Err(KeyError::NotAKey(_))));
    }

    #[test]
    fn a_jwk_set_lists_its_kids_and_an_oct_key_has_no_thumbprint() {
        let f = read(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"},{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#).unwrap();
        assert_eq!(f.kids(), ["k1", "h"]);
        assert!(f.keys[0].thumbprint.is_some());
        assert_eq!(f.keys[1].kind, KeyType::Oct);
        assert!(f.keys[1].private && f.keys[1].thumbprint.is_none());
    }
}
