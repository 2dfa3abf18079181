//! Encryption at rest: HKDF-SHA256 derives a per-entry key from the client secret,
//! ChaCha20-Poly1305 seals the token. A copied cache file is useless without the secret,
//! and any change to the file (including its expiry metadata, bound as associated data)
//! makes it undecryptable rather than wrong.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::secret::ClientSecret;

const SALT: &[u8] = b"cctoken-cache-v1";

fn cipher(secret: &ClientSecret, key_id: &str) -> ChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(SALT), secret.expose_secret().as_bytes());
    let mut okm = Zeroizing::new([0u8; 32]);
    // Infallible: 32 bytes is far below HKDF-SHA256's 255*32 output limit.
    hk.expand(key_id.as_bytes(), okm.as_mut())
        .expect("32-byte HKDF output is always valid");
    let key: Key = (*okm).into();
    ChaCha20Poly1305::new(&key)
}

/// Encrypt `plaintext`; returns (nonce, ciphertext).
pub fn seal(
    secret: &ClientSecret,
    key_id: &str,
    aad: &[u8],
    plaintext: &[u8],
) -> ([u8; 12], Vec<u8>) {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher(secret, key_id)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // Infallible for in-memory buffers below ChaCha20's 256 GiB limit.
        .expect("ChaCha20-Poly1305 encryption of a small buffer cannot fail");
    (nonce, ct)
}

/// Decrypt; `None` when the secret, the metadata or the bytes do not match.
pub fn open(
    secret: &ClientSecret,
    key_id: &str,
    aad: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    cipher(secret, key_id)
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let s = ClientSecret::new("secret");
        let (n, ct) = seal(&s, "k", b"meta", b"token-bytes");
        assert_eq!(
            open(&s, "k", b"meta", &n, &ct).unwrap().as_slice(),
            b"token-bytes"
        );
        assert!(open(&ClientSecret::new("other"), "k", b"meta", &n, &ct).is_none());
        assert!(open(&s, "k2", b"meta", &n, &ct).is_none());
        assert!(open(&s, "k", b"meta2", &n, &ct).is_none());
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert!(open(&s, "k", b"meta", &n, &bad).is_none());
        assert!(!ct.windows(5).any(|w| w == b"token"));
    }
}
