//! Signing keys for client assertions (SPEC §14): loading, algorithms, signing, thumbprints.
//!
//! A [`SigningKey`] is read from PEM (PKCS#8, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE
//! KEY`) or from a private JWK, and signs with *ring* — RS256, PS256, ES256, ES384, EdDSA;
//! HS256 is the client secret's business ([`Alg::Hs256`], see [`hs256`]). Nothing here is
//! hand-written cryptography: the only bytes built by hand are the fixed PKCS#8 wrapper
//! around a SEC1 key, an encoding step that ring then parses and checks.
//!
//! A key never shows itself: `Debug` prints its type and its public key's RFC 7638
//! thumbprint ([`SigningKey::thumbprint`]), and the private bytes are dropped once ring
//! holds them (ring zeroizes its own copies). The module does not read files: the caller
//! passes the bytes, so that where a key comes from stays a config concern.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::PrivateKeyDer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A JWS algorithm cctoken signs client assertions with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519 (RFC 8037 calls it `EdDSA`).
    EdDsa,
    /// HMAC SHA-256 with the client secret (`client_secret_jwt`).
    Hs256,
}

impl Alg {
    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }

    /// Whether `advertised` (a `*_signing_alg_values_supported` entry) names this algorithm;
    /// `Ed25519` is the fully specified name of `EdDSA` with an Ed25519 key.
    pub fn is_named(self, advertised: &str) -> bool {
        advertised == self.as_str() || (self == Self::EdDsa && advertised == "Ed25519")
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Alg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "RS256" => Self::Rs256,
            "PS256" => Self::Ps256,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "EdDSA" | "Ed25519" => Self::EdDsa,
            "HS256" => Self::Hs256,
            _ => {
                return Err(format!(
                    "unknown signing algorithm '{s}': expected RS256, PS256, ES256, ES384, EdDSA \
                     or HS256"
                ))
            }
        })
    }
}

enum Pair {
    Rsa(sig::RsaKeyPair),
    P256(sig::EcdsaKeyPair),
    P384(sig::EcdsaKeyPair),
    Ed25519(sig::Ed25519KeyPair),
}

/// A private key that signs client assertions. Shown only as its type and thumbprint.
pub struct SigningKey {
    pair: Pair,
    /// `kid` from the JWK the key was read from.
    jwk_kid: Option<String>,
    thumbprint: String,
    seal: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {})", self.kind(), self.thumbprint)
    }
}

/// Why a key could not be read. Never holds key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

fn b64(b: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn rejected(what: &str, e: ring::error::KeyRejected) -> KeyError {
    KeyError(format!("the {what} key was refused by ring: {e}"))
}

/// The DER length octets of `n`.
fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x7f => vec![n as u8],
        0x80..=0xff => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(der_len(content.len()));
    v.extend_from_slice(content);
    v
}

/// RFC 5915 SEC1 `ECPrivateKey` inside a PKCS#8 `PrivateKeyInfo` for `curve_oid` (the DER
/// of the OID), which ring parses (and checks against the SEC1 key's own parameters).
fn sec1_in_pkcs8(sec1: &[u8], curve_oid: &[u8]) -> Zeroizing<Vec<u8>> {
    const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let mut alg = EC_PUBLIC_KEY.to_vec();
    alg.extend_from_slice(curve_oid);
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(der(0x30, &alg));
    body.extend(der(0x04, sec1));
    Zeroizing::new(der(0x30, &body))
}

const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

fn from_pkcs8(der: &[u8]) -> Result<Pair, KeyError> {
    let rng = SystemRandom::new();
    if let Ok(k) = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng) {
        return Ok(Pair::P256(k));
    }
    if let Ok(k) = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der, &rng) {
        return Ok(Pair::P384(k));
    }
    if let Ok(k) = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        return Ok(Pair::Ed25519(k));
    }
    sig::RsaKeyPair::from_pkcs8(der)
        .map(Pair::Rsa)
        .map_err(|e| {
            KeyError(format!(
                "the PKCS#8 key is not an RSA (2048 bits or more), P-256, P-384 or Ed25519 key \
                 ring accepts ({e})"
            ))
        })
}

fn from_sec1(der: &[u8]) -> Result<Pair, KeyError> {
    let rng = SystemRandom::new();
    for (oid, alg, p384) in [
        (P256_OID, &sig::ECDSA_P256_SHA256_FIXED_SIGNING, false),
        (P384_OID, &sig::ECDSA_P384_SHA384_FIXED_SIGNING, true),
    ] {
        if let Ok(k) = sig::EcdsaKeyPair::from_pkcs8(alg, &sec1_in_pkcs8(der, oid), &rng) {
            return Ok(if p384 { Pair::P384(k) } else { Pair::P256(k) });
        }
    }
    Err(KeyError(
        "the EC PRIVATE KEY is not a P-256 or P-384 key with its public key included \
         (`openssl ec -in KEY -out KEY` adds it)"
            .into(),
    ))
}

fn member(jwk: &Value, name: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let s = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| KeyError(format!("the JWK has no '{name}' member")))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map(Zeroizing::new)
        .map_err(|_| KeyError(format!("the JWK's '{name}' is not base64url")))
}

fn from_jwk(jwk: &Value) -> Result<Pair, KeyError> {
    if jwk.get("d").is_none() {
        return Err(KeyError(
            "the JWK is a public key (no 'd'); give the private key".into(),
        ));
    }
    let m = |n| member(jwk, n);
    match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => {
            let (alg, p384) = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, false),
                Some("P-384") => (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, true),
                other => return Err(KeyError(format!("EC curve {other:?} is not supported"))),
            };
            let mut public = vec![4u8];
            public.extend_from_slice(&m("x")?);
            public.extend_from_slice(&m("y")?);
            let k = sig::EcdsaKeyPair::from_private_key_and_public_key(
                alg,
                &m("d")?,
                &public,
                &SystemRandom::new(),
            )
            .map_err(|e| rejected("EC", e))?;
            Ok(if p384 { Pair::P384(k) } else { Pair::P256(k) })
        }
        Some("OKP") if jwk.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
            sig::Ed25519KeyPair::from_seed_and_public_key(&m("d")?, &m("x")?)
                .map(Pair::Ed25519)
                .map_err(|e| rejected("Ed25519", e))
        }
        Some("RSA") => {
            let c = ring::rsa::KeyPairComponents {
                public_key: sig::RsaPublicKeyComponents {
                    n: m("n")?,
                    e: m("e")?,
                },
                d: m("d")?,
                p: m("p")?,
                q: m("q")?,
                dP: m("dp")?,
                dQ: m("dq")?,
                qInv: m("qi")?,
            };
            sig::RsaKeyPair::from_components(&c)
                .map(Pair::Rsa)
                .map_err(|e| rejected("RSA", e))
        }
        other => Err(KeyError(format!(
            "JWK kty {other:?} is not supported (RSA, EC P-256/P-384, OKP Ed25519)"
        ))),
    }
}

/// Why PEM text holds no usable private key, from its block labels (labels are not secret).
fn unreadable(text: &[u8], e: &dyn std::fmt::Display) -> KeyError {
    let text = String::from_utf8_lossy(text);
    let labels: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .collect();
    let has = |l: &str| labels.contains(&l);
    KeyError(
        if has("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
            "the private key is encrypted with a passphrase, which cctoken does not ask for; write an \
         unencrypted copy (`openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`), mode 0600"
            .to_owned()
        } else if has("OPENSSH PRIVATE KEY") {
            "the key is in OpenSSH's format; convert it to PKCS#8 (`ssh-keygen -p -m PKCS8 -f KEY`)"
                .to_owned()
        } else if has("PUBLIC KEY") || has("RSA PUBLIC KEY") {
            "the file holds a public key; give the private key (the server registers the public one)"
            .to_owned()
        } else if has("CERTIFICATE") {
            "the file holds a certificate, not a private key; give the key (a certificate goes to \
         --client-cert)"
                .to_owned()
        } else if labels.is_empty() {
            "no PEM block (-----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or RSA PRIVATE KEY) and no \
         JSON JWK in the file"
                .to_owned()
        } else {
            format!(
                "no PEM private key (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY) or JWK found \
             (blocks: {}): {e}",
                labels.join(", ")
            )
        },
    )
}

impl SigningKey {
    /// Read a key from PEM or JWK text (a JWK Set with one key is accepted too).
    pub fn from_text(text: &[u8]) -> Result<SigningKey, KeyError> {
        let trimmed = text.trim_ascii_start();
        if trimmed.starts_with(b"{") {
            let v: Value = serde_json::from_slice(trimmed)
                .map_err(|e| KeyError(format!("the key is not a JSON JWK: line {}", e.line())))?;
            let jwk = match v.get("keys").and_then(Value::as_array) {
                Some(keys) if keys.len() == 1 => keys[0].clone(),
                Some(keys) => {
                    return Err(KeyError(format!(
                        "the JWK Set has {} keys; give a file with exactly one private key",
                        keys.len()
                    )))
                }
                None => v,
            };
            let pair = from_jwk(&jwk)?;
            let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
            return Ok(Self::new(pair, kid, text));
        }
        let der = PrivateKeyDer::from_pem_slice(text).map_err(|e| unreadable(text, &e))?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => from_pkcs8(k.secret_pkcs8_der())?,
            PrivateKeyDer::Sec1(k) => from_sec1(k.secret_sec1_der())?,
            PrivateKeyDer::Pkcs1(k) => sig::RsaKeyPair::from_der(k.secret_pkcs1_der())
                .map(Pair::Rsa)
                .map_err(|e| rejected("RSA", e))?,
            _ => return Err(KeyError("unsupported PEM private key type".into())),
        };
        Ok(Self::new(pair, None, text))
    }

    fn new(pair: Pair, jwk_kid: Option<String>, text: &[u8]) -> SigningKey {
        let jwk = public_jwk(&pair);
        let mut h = Sha256::new();
        h.update(b"cctoken-key-seal-v1");
        h.update(text);
        SigningKey {
            thumbprint: jwk_thumbprint(&jwk),
            pair,
            jwk_kid,
            seal: Zeroizing::new(h.finalize().to_vec()),
        }
    }

    /// `RSA`, `EC P-256`, `EC P-384` or `Ed25519`.
    pub fn kind(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RSA",
            Pair::P256(_) => "EC P-256",
            Pair::P384(_) => "EC P-384",
            Pair::Ed25519(_) => "Ed25519",
        }
    }

    /// The algorithm this key signs with unless told otherwise.
    pub fn default_alg(&self) -> Alg {
        match self.pair {
            Pair::Rsa(_) => Alg::Rs256,
            Pair::P256(_) => Alg::Es256,
            Pair::P384(_) => Alg::Es384,
            Pair::Ed25519(_) => Alg::EdDsa,
        }
    }

    /// Whether the key can sign with `alg` (only RSA has a choice: RS256 or PS256).
    pub fn fits(&self, alg: Alg) -> bool {
        matches!(
            (&self.pair, alg),
            (Pair::Rsa(_), Alg::Rs256 | Alg::Ps256)
                | (Pair::P256(_), Alg::Es256)
                | (Pair::P384(_), Alg::Es384)
                | (Pair::Ed25519(_), Alg::EdDsa)
        )
    }

    /// The `kid` of the JWK the key came from.
    pub fn jwk_kid(&self) -> Option<&str> {
        self.jwk_kid.as_deref()
    }

    /// The public key's RFC 7638 JWK thumbprint (SHA-256, base64url): how the key is shown.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public key as a JWK (what the server registers), with `kid` when given.
    pub fn public_jwk(&self, kid: Option<&str>) -> Value {
        let mut v = public_jwk(&self.pair);
        if let Some(k) = kid {
            v["kid"] = k.into();
        }
        v
    }

    /// Key material for deriving the cache's sealing key (SPEC §14): a SHA-256 of the
    /// private key's text as read, so a copied cache file is useless without the key file.
    pub fn sealing_material(&self) -> &[u8] {
        self.seal.as_slice()
    }

    /// Sign `input` with `alg`, which must [fit](Self::fits) the key.
    pub fn sign(&self, alg: Alg, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        if !self.fits(alg) {
            return Err(KeyError(format!(
                "a {} key cannot sign {alg}; use {}",
                self.kind(),
                self.default_alg()
            )));
        }
        let rng = SystemRandom::new();
        let failed = |_| KeyError(format!("signing with the {} key failed", self.kind()));
        match &self.pair {
            Pair::Rsa(k) => {
                let pad: &'static dyn sig::RsaEncoding = if alg == Alg::Ps256 {
                    &sig::RSA_PSS_SHA256
                } else {
                    &sig::RSA_PKCS1_SHA256
                };
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(pad, &rng, input, &mut out).map_err(failed)?;
                Ok(out)
            }
            Pair::P256(k) | Pair::P384(k) => {
                Ok(k.sign(&rng, input).map_err(failed)?.as_ref().to_vec())
            }
            Pair::Ed25519(k) => Ok(k.sign(input).as_ref().to_vec()),
        }
    }
}

/// HS256 over `input` with `secret` (`client_secret_jwt`).
pub fn hs256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::sign(&key, input).as_ref().to_vec()
}

fn public_jwk(pair: &Pair) -> Value {
    match pair {
        Pair::Rsa(k) => {
            let c: sig::RsaPublicKeyComponents<Vec<u8>> = k.public().into();
            json!({"kty": "RSA", "e": b64(&c.e), "n": b64(&c.n)})
        }
        Pair::P256(k) | Pair::P384(k) => {
            let p = k.public_key().as_ref();
            let n = (p.len() - 1) / 2;
            let crv = if n == 32 { "P-256" } else { "P-384" };
            json!({"kty": "EC", "crv": crv, "x": b64(&p[1..1 + n]), "y": b64(&p[1 + n..])})
        }
        Pair::Ed25519(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key())}),
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
pub fn jwk_thumbprint(jwk: &Value) -> String {
    let required: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    // serde_json's map is ordered by key (no `preserve_order` feature), which is exactly
    // the lexicographic order RFC 7638 asks for.
    let mut m = serde_json::Map::new();
    for k in required {
        m.insert((*k).to_owned(), jwk.get(*k).cloned().unwrap_or(Value::Null));
    }
    b64(Sha256::digest(Value::Object(m).to_string().as_bytes()))
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
