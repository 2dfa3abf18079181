//! A tiny hand-built JWS signer for the tests: keys generated at test time (ring for EC and
//! Ed25519, `openssl genpkey` for RSA, which ring cannot generate), compact serialisation
//! by hand. Nothing here comes from the `cctoken` client library.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use serde_json::{json, Value};

/// A test signing key.
pub enum Key {
    /// RSA; signs RS256 or PS256.
    Rsa(sig::RsaKeyPair),
    /// ECDSA P-256 (ES256).
    P256(sig::EcdsaKeyPair),
    /// ECDSA P-384 (ES384).
    P384(sig::EcdsaKeyPair),
    /// Ed25519 (EdDSA).
    Ed25519(sig::Ed25519KeyPair),
    /// HS256 with a shared secret.
    Hmac(Vec<u8>),
}

fn b64(b: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

impl Key {
    pub fn p256() -> Key {
        let rng = SystemRandom::new();
        let a = &sig::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
        Key::P256(sig::EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap())
    }

    pub fn p384() -> Key {
        let rng = SystemRandom::new();
        let a = &sig::ECDSA_P384_SHA384_FIXED_SIGNING;
        let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
        Key::P384(sig::EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap())
    }

    pub fn ed25519() -> Key {
        let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Key::Ed25519(sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    /// A 2048-bit RSA key from `openssl genpkey`, or `None` (loudly) when openssl is not on
    /// PATH; with `CCTOKEN_REQUIRE_PEERS=1` a missing openssl fails the test.
    pub fn rsa() -> Option<Key> {
        let out = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-outform",
                "DER",
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                // OpenSSL 3 writes DER RSA keys as PKCS#1.
                Some(Key::Rsa(sig::RsaKeyPair::from_der(&o.stdout).unwrap()))
            }
            other => {
                let msg = format!("SKIPPING RSA cases: `openssl genpkey` unavailable ({other:?}); scripts/install-peers installs it");
                if std::env::var("CCTOKEN_REQUIRE_PEERS").as_deref() == Ok("1") {
                    panic!("{msg}");
                }
                eprintln!("!!! {msg}");
                None
            }
        }
    }

    /// The public JWK with `kid` (no `alg`, so a key serves every algorithm of its type).
    pub fn jwk(&self, kid: &str) -> Value {
        let mut v = match self {
            Key::Rsa(k) => {
                let c: sig::RsaPublicKeyComponents<Vec<u8>> = k.public().into();
                json!({"kty": "RSA", "n": b64(&c.n), "e": b64(&c.e)})
            }
            Key::P256(k) | Key::P384(k) => {
                let p = k.public_key().as_ref();
                let n = (p.len() - 1) / 2;
                let crv = if n == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "x": b64(&p[1..1 + n]), "y": b64(&p[1 + n..])})
            }
            Key::Ed25519(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key())}),
            Key::Hmac(_) => panic!("no JWK for a shared secret"),
        };
        v["kid"] = kid.into();
        v
    }

    /// `{"keys":[jwk]}`.
    pub fn jwks(&self, kid: &str) -> Value {
        json!({ "keys": [self.jwk(kid)] })
    }

    /// The compact JWS of `claims` under `header` (its `alg` picks RS256 vs PS256; the
    /// signature is made with this key whatever `alg` says, so tests can lie about it).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let rng = SystemRandom::new();
        let signature: Vec<u8> = match self {
            Key::Rsa(k) => {
                let pad: &'static dyn sig::RsaEncoding = if header["alg"] == "PS256" {
                    &sig::RSA_PSS_SHA256
                } else {
                    &sig::RSA_PKCS1_SHA256
                };
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(pad, &rng, input.as_bytes(), &mut out).unwrap();
                out
            }
            Key::P256(k) | Key::P384(k) => {
                k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec()
            }
            Key::Ed25519(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
            Key::Hmac(s) => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, s);
                ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
            }
        };
        format!("{input}.{}", b64(signature))
    }
}

/// Claims of a client assertion as RFC 7523 / RFC 10070 want them: `iss` = `sub` = `client`,
/// `aud`, `iat` = `nbf` = `now`, `exp` = `now + 60`, a fresh random `jti`.
pub fn claims(client: &str, aud: &str, now: u64) -> Value {
    let mut jti = [0u8; 16];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut jti).unwrap();
    json!({
        "iss": client, "sub": client, "aud": aud,
        "iat": now, "nbf": now, "exp": now + 60,
        "jti": b64(jti),
    })
}

/// `{"alg": alg, "kid": kid, "typ": "client-authentication+jwt"}`.
pub fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "client-authentication+jwt"})
}
