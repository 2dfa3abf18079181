//! ES256 signing for JWT access tokens (RFC 9068), CXone id_tokens, and the JWKS.
//!
//! One P-256 key is generated at start; its public half is served as a JWK whose `kid` is
//! the RFC 7638 thumbprint. Signing is JWS compact serialisation (RFC 7515) with the raw
//! 64-byte `r || s` signature (RFC 7518 §3.4). Verification of tokens presented back to the
//! emulator is a store lookup, not a signature check — this module only signs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

/// The signing key and its public JWK.
pub struct Signer {
    key: SigningKey,
    kid: String,
    jwk: serde_json::Value,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A fresh random key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self::from_key(SigningKey::random(&mut rand::rngs::OsRng))
    }

    fn from_key(key: SigningKey) -> Self {
        let point = key.verifying_key().to_encoded_point(false);
        // An uncompressed point always has both coordinates.
        let x = point
            .x()
            .map(|x| URL_SAFE_NO_PAD.encode(x))
            .unwrap_or_default();
        let y = point
            .y()
            .map(|y| URL_SAFE_NO_PAD.encode(y))
            .unwrap_or_default();
        // RFC 7638: members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "use": "sig", "alg": "ES256",
        });
        Signer { key, kid, jwk }
    }

    /// `{"keys":[...]}` for the JWKS endpoint.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk] })
    }

    /// Sign `claims` with header `{"alg":"ES256","typ":typ,"kid":...}`.
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({ "alg": "ES256", "typ": typ, "kid": self.kid });
        let mut out = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(header.to_string(), &mut out);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut out);
        let sig: Signature = self.key.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(sig.to_bytes(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn signature_verifies_with_the_published_jwk() {
        let s = Signer::generate();
        let jwt = s.sign("at+jwt", &serde_json::json!({"sub": "x"}));
        let jwks = s.jwks();
        let k = &jwks["keys"][0];
        let x = URL_SAFE_NO_PAD.decode(k["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(k["y"].as_str().unwrap()).unwrap();
        let mut sec1 = vec![4u8];
        sec1.extend(x);
        sec1.extend(y);
        let vk = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        vk.verify(signed.as_bytes(), &sig).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["kid"], k["kid"]);
    }
}
