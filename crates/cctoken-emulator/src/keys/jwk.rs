//! JWK Sets (RFC 7517) of registered clients and federated issuers: the public keys client
//! assertions are verified with.
//!
//! A set is parsed once, when the registry is loaded, into typed keys: RSA (`n`, `e`, at
//! least 2048 bits), EC P-256 / P-384 (`x`, `y` of the curve's size) and OKP Ed25519 (`x`).
//! Everything a careless registration gets wrong is a configuration error that names the
//! key: private members (`d`, …), symmetric (`oct`) keys, `use` other than `sig`, an `alg`
//! that does not fit the key, a bad `x5c`, a `x5t#S256` that is not the thumbprint of
//! `x5c[0]`. The certificate in `x5c[0]` is not parsed here; only its SHA-256 thumbprint is
//! kept, which `self_signed_tls_client_auth` compares with the TLS client certificate.
//! This module knows nothing about JWS; see [`super::jws`].

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Members that only a private JWK has (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/// The smallest RSA modulus accepted (RFC 7518 §3.3), in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus ring verifies, in bits.
const MAX_RSA_BITS: usize = 8192;

/// An elliptic curve of ECDSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (ES256).
    P256,
    /// NIST P-384 (ES384).
    P384,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// The public key material of one JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA: big-endian modulus (no leading zeros) and exponent.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
    /// ECDSA: the uncompressed point `04 || x || y`.
    Ec {
        /// The curve.
        curve: Curve,
        /// The SEC1 uncompressed point.
        point: Vec<u8>,
    },
    /// Ed25519: the 32-byte public key.
    Ed25519 {
        /// The key.
        x: Vec<u8>,
    },
}

impl PublicKey {
    /// `RSA 2048 bits`, `EC P-256`, `OKP Ed25519`: for reasons.
    pub fn kind(&self) -> String {
        match self {
            PublicKey::Rsa { n, .. } => format!("RSA {} bits", n.len() * 8),
            PublicKey::Ec { curve, .. } => format!("EC {}", curve.name()),
            PublicKey::Ed25519 { .. } => "OKP Ed25519".to_owned(),
        }
    }
}

/// One verified-to-be-well-formed public JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// `alg`, if the key is restricted to one algorithm (`Ed25519` is stored as `EdDSA`).
    pub alg: Option<String>,
    /// The key material.
    pub key: PublicKey,
    /// base64url SHA-256 of the DER of `x5c[0]` (what `x5t#S256` names), if `x5c` is given.
    pub cert_thumbprint: Option<String>,
    /// Its position in the set, for keys without `kid`.
    pub index: usize,
}

impl Jwk {
    /// `'k1'` or `#2 (no kid)`: how reasons name the key.
    pub fn name(&self) -> String {
        match &self.kid {
            Some(k) => format!("'{k}'"),
            None => format!("#{} (no kid)", self.index + 1),
        }
    }
}

/// A parsed JWK Set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl Jwks {
    /// Parse a JWK Set from its JSON text (`jwks_file`).
    pub fn from_json_str(text: &str) -> Result<Jwks, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON JWK Set: {e}"))?;
        Self::from_value(&v)
    }

    /// Parse a JWK Set from a JSON value (`jwks`, a TOML table converted to JSON).
    pub fn from_value(v: &Value) -> Result<Jwks, String> {
        let keys = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("a JWK Set is an object with a `keys` array")?;
        if keys.is_empty() {
            return Err("the JWK Set has no keys".into());
        }
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                parse_key(k, i).map_err(|e| match k.get("kid").and_then(Value::as_str) {
                    Some(kid) => format!("key '{kid}': {e}"),
                    None => format!("key #{}: {e}", i + 1),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (i, k) in keys.iter().enumerate() {
            if let Some(kid) = &k.kid {
                if keys[..i].iter().any(|o| o.kid.as_ref() == Some(kid)) {
                    return Err(format!("kid '{kid}' appears twice in the JWK Set"));
                }
            }
        }
        Ok(Jwks { keys })
    }

    /// The keys, in set order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// `k1, k2, #3 (no kid)`: the keys as reasons list them.
    pub fn known(&self) -> String {
        let names: Vec<String> = self
            .keys
            .iter()
            .map(|k| match &k.kid {
                Some(kid) => kid.clone(),
                None => format!("#{} (no kid)", k.index + 1),
            })
            .collect();
        names.join(", ")
    }

    /// Whether some key carries a certificate (`x5c`).
    pub fn has_certificates(&self) -> bool {
        self.keys.iter().any(|k| k.cert_thumbprint.is_some())
    }
}

fn member<'a>(k: &'a Value, name: &str) -> Result<Option<&'a str>, String> {
    match k.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` must be a string")),
    }
}

fn b64url(k: &Value, name: &str) -> Result<Vec<u8>, String> {
    let s = member(k, name)?.ok_or_else(|| format!("missing `{name}`"))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("`{name}` is not base64url ({e})"))
}

fn parse_key(k: &Value, index: usize) -> Result<Jwk, String> {
    if !k.is_object() {
        return Err("not a JSON object".into());
    }
    if let Some(p) = PRIVATE_MEMBERS.iter().find(|m| k.get(**m).is_some()) {
        return Err(format!(
            "holds the private member `{p}`; register only the public key"
        ));
    }
    let kty = member(k, "kty")?.ok_or("missing `kty`")?;
    let key = match kty {
        "RSA" => {
            let n = b64url(k, "n")?;
            let n: Vec<u8> = n.into_iter().skip_while(|b| *b == 0).collect();
            let e = b64url(k, "e")?;
            let e: Vec<u8> = e.into_iter().skip_while(|b| *b == 0).collect();
            let bits = n.len() * 8;
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA key of {bits} bits; at least {MIN_RSA_BITS} (RFC 7518 §3.3)"
                ));
            }
            if bits > MAX_RSA_BITS || e.is_empty() {
                return Err(format!(
                    "RSA key of {bits} bits (or an empty exponent) cannot be verified"
                ));
            }
            PublicKey::Rsa { n, e }
        }
        "EC" => {
            let curve = match member(k, "crv")? {
                Some("P-256") => Curve::P256,
                Some("P-384") => Curve::P384,
                Some(other) => {
                    return Err(format!(
                        "curve {other:?} is not supported (P-256 for ES256, P-384 for ES384)"
                    ))
                }
                None => return Err("missing `crv`".into()),
            };
            let (x, y) = (b64url(k, "x")?, b64url(k, "y")?);
            let len = curve.coordinate_len();
            if x.len() != len || y.len() != len {
                return Err(format!(
                    "{} coordinates are {len} bytes; `x` has {}, `y` has {}",
                    curve.name(),
                    x.len(),
                    y.len()
                ));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            PublicKey::Ec { curve, point }
        }
        "OKP" => {
            match member(k, "crv")? {
                Some("Ed25519") => {}
                other => {
                    return Err(format!(
                        "OKP curve {other:?} is not supported (Ed25519 for EdDSA)"
                    ))
                }
            }
            let x = b64url(k, "x")?;
            if x.len() != 32 {
                return Err(format!("an Ed25519 `x` is 32 bytes, found {}", x.len()));
            }
            PublicKey::Ed25519 { x }
        }
        "oct" => {
            return Err(
                "symmetric (`oct`) keys do not belong in a JWK Set; client_secret_jwt uses the client secret"
                    .into(),
            )
        }
        other => return Err(format!("kty {other:?} is not supported (RSA, EC, OKP)")),
    };
    match member(k, "use")? {
        None | Some("sig") => {}
        Some(u) => {
            return Err(format!(
            "`use` is {u:?}; the emulator verifies signatures only (use \"sig\" or leave it out)"
        ))
        }
    }
    let alg = member(k, "alg")?.map(|a| if a == "Ed25519" { "EdDSA" } else { a });
    if let Some(a) = alg {
        if !alg_fits(a, &key) {
            return Err(format!("alg {a} does not fit a {} key", key.kind()));
        }
    }
    let cert_thumbprint = x5c_thumbprint(k)?;
    if let Some(t) = member(k, "x5t#S256")? {
        match &cert_thumbprint {
            Some(c) if c != t => {
                return Err(format!(
                    "`x5t#S256` {t} is not the thumbprint of `x5c[0]` ({c})"
                ))
            }
            Some(_) => {}
            None => return Err("`x5t#S256` without `x5c`: give the certificate in `x5c`".into()),
        }
    }
    Ok(Jwk {
        kid: member(k, "kid")?.map(str::to_owned),
        alg: alg.map(str::to_owned),
        key,
        cert_thumbprint,
        index,
    })
}

fn x5c_thumbprint(k: &Value) -> Result<Option<String>, String> {
    let Some(x5c) = k.get("x5c") else {
        return Ok(None);
    };
    let first = x5c
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or("`x5c` must be an array of base64 DER certificates")?;
    // RFC 7517 §4.7: standard base64, not base64url; tolerate line breaks from PEM copies.
    let compact: String = first.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(compact)
        .map_err(|e| format!("`x5c[0]` is not base64 ({e})"))?;
    Ok(Some(thumbprint(&der)))
}

/// base64url SHA-256 of `der`: a certificate's `x5t#S256` (RFC 8705 §3.1).
pub fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

/// Whether a JWS `alg` (canonical name) can be verified with `key`.
pub fn alg_fits(alg: &str, key: &PublicKey) -> bool {
    matches!(
        (alg, key),
        ("RS256" | "PS256", PublicKey::Rsa { .. })
            | (
                "ES256",
                PublicKey::Ec {
                    curve: Curve::P256,
                    ..
                }
            )
            | (
                "ES384",
                PublicKey::Ec {
                    curve: Curve::P384,
                    ..
                }
            )
            | ("EdDSA", PublicKey::Ed25519 { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec(kid: &str) -> Value {
        serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])})
    }

    #[test]
    fn parses_public_keys_and_names_them() {
        let set = Jwks::from_value(&serde_json::json!({"keys": [
            ec("k1"),
            {"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([3u8; 32]), "alg": "Ed25519"},
            {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([[0u8].as_slice(), &[0xC5u8; 256]].concat()), "e": "AQAB"},
        ]}))
        .unwrap();
        assert_eq!(set.keys().len(), 3);
        assert_eq!(set.known(), "k1, #2 (no kid), #3 (no kid)");
        assert_eq!(set.keys()[1].alg.as_deref(), Some("EdDSA"));
        assert_eq!(
            set.keys()[2].key.kind(),
            "RSA 2048 bits",
            "leading zero stripped"
        );
        assert!(!set.has_certificates());
    }

    #[test]
    fn bad_keys_are_named_errors() {
        let mut private = ec("k1");
        private["d"] = "AAAA".into();
        let mut wrong_alg = ec("k2");
        wrong_alg["alg"] = "ES384".into();
        let mut enc = ec("k3");
        enc["use"] = "enc".into();
        let mut short = ec("k4");
        short["x"] = "AAAA".into();
        let mut bad_x5t = ec("k5");
        bad_x5t["x5c"] = serde_json::json!([STANDARD.encode(b"cert")]);
        bad_x5t["x5t#S256"] = "nope".into();
        for (key, needle) in [
            (private, "key 'k1': holds the private member `d`"),
            (wrong_alg, "key 'k2': alg ES384 does not fit a EC P-256 key"),
            (enc, "key 'k3': `use` is \"enc\""),
            (short, "key 'k4': P-256 coordinates are 32 bytes"),
            (bad_x5t, "key 'k5': `x5t#S256` nope is not the thumbprint"),
            (
                serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]), "e": "AQAB"}),
                "key #1: RSA key of 1024 bits; at least 2048",
            ),
            (
                serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}),
                "key #1: holds the private member `k`",
            ),
        ] {
            let e = Jwks::from_value(&serde_json::json!({ "keys": [key] })).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
        assert!(Jwks::from_value(&serde_json::json!({"keys": []}))
            .unwrap_err()
            .contains("no keys"));
        assert!(
            Jwks::from_value(&serde_json::json!({"keys": [ec("a"), ec("a")]}))
                .unwrap_err()
                .contains("kid 'a' appears twice")
        );
        assert!(Jwks::from_json_str("[1]").unwrap_err().contains("`keys`"));
    }

    #[test]
    fn x5c_gives_the_certificate_thumbprint() {
        let mut k = ec("k1");
        k["x5c"] = serde_json::json!([STANDARD.encode(b"not really DER")]);
        k["x5t#S256"] = thumbprint(b"not really DER").into();
        let set = Jwks::from_value(&serde_json::json!({ "keys": [k] })).unwrap();
        assert_eq!(
            set.keys()[0].cert_thumbprint.as_deref(),
            Some(thumbprint(b"not really DER").as_str())
        );
        assert!(set.has_certificates());
    }
}
