//! The bytes of one cache entry, shared by every store: the on-disk file and the Redis value
//! are the same JSON document, so a Redis server (or anyone who copies a cache file) holds
//! only ciphertext.
//!
//! A token entry keeps its expiry metadata in clear — so a lookup can reject a stale entry
//! before deriving keys — and binds it as associated data of the sealed token (see the
//! private `crypto` module), so extending an expiry makes the entry undecryptable rather than
//! longer-lived. A negative entry (a remembered permanent failure) holds only the error's
//! kind, status, message and hint, which never contain a secret. This module does no I/O:
//! where the bytes live and how stale ones are discarded is the stores' business.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::crypto;
use super::key::CacheKey;
use crate::error::{Class, Error, ErrorKind};
use crate::secret::{AccessToken, ClientSecret};
use crate::token::Token;

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A token (check its remaining lifetime yourself).
    Token(Token),
    /// A recent permanent failure, remembered until `until`.
    Negative(Error),
    /// Nothing usable.
    Miss,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Entry {
    Token {
        v: u32,
        issued_at_ms: u64,
        expires_in_s: u64,
        #[serde(default)]
        expires_in_defaulted: bool,
        token_type: String,
        scope: Option<String>,
        nonce: String,
        ct: String,
    },
    Negative {
        v: u32,
        until_ms: u64,
        error_kind: String,
        status: Option<u16>,
        message: String,
        hint: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The instant `v` milliseconds after the Unix epoch.
pub(crate) fn from_ms(v: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(v)
}

fn aad(key: &CacheKey, issued_at_ms: u64, expires_in_s: u64, token_type: &str) -> Vec<u8> {
    format!(
        "{}|{issued_at_ms}|{expires_in_s}|{token_type}",
        key.as_str()
    )
    .into_bytes()
}

fn encode(entry: &Entry) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(entry).map_err(|e| Error::config(format!("cache: {e}")))
}

/// The entry for `token`, sealed with a key derived from `secret`.
pub(crate) fn encode_token(
    key: &CacheKey,
    secret: &ClientSecret,
    token: &Token,
) -> Result<Vec<u8>, Error> {
    let issued_at_ms = ms(token.issued_at);
    let expires_in_s = token.expires_in.as_secs();
    let sealed = zeroize::Zeroizing::new(
        serde_json::to_vec(&Sealed {
            access_token: token.access_token.expose_secret().to_owned(),
            refresh_token: token
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            id_token: token
                .id_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
        })
        .map_err(|e| Error::config(format!("cache: {e}")))?,
    );
    let aad = aad(key, issued_at_ms, expires_in_s, token.token_type);
    let (nonce, ct) = crypto::seal(secret, key.as_str(), &aad, &sealed);
    encode(&Entry::Token {
        v: 1,
        issued_at_ms,
        expires_in_s,
        expires_in_defaulted: token.expires_in_defaulted,
        token_type: token.token_type.to_owned(),
        scope: token.scope.as_deref().map(str::to_owned),
        nonce: B64.encode(nonce),
        ct: B64.encode(ct),
    })
}

/// The entry remembering the permanent failure `err` until `until`.
pub(crate) fn encode_negative(err: &Error, until: SystemTime) -> Result<Vec<u8>, Error> {
    encode(&Entry::Negative {
        v: 1,
        until_ms: ms(until),
        error_kind: err.kind.as_str().to_owned(),
        status: err.status,
        message: err.message.clone(),
        hint: err.hint.clone(),
    })
}

/// Read an entry at `now`. `Err(why)` means the bytes are unusable (corrupt, tampered with,
/// sealed with another secret) and should be discarded; an expired entry is a `Miss`.
pub(crate) fn decode(
    key: &CacheKey,
    secret: &ClientSecret,
    bytes: &[u8],
    now: SystemTime,
) -> Result<Lookup, &'static str> {
    let entry: Entry =
        serde_json::from_slice(bytes).map_err(|_| "corrupt (not a cctoken cache entry)")?;
    match entry {
        Entry::Negative {
            until_ms,
            error_kind,
            status,
            message,
            hint,
            ..
        } => {
            if ms(now) >= until_ms {
                return Ok(Lookup::Miss);
            }
            let kind =
                ErrorKind::from_oauth_code(&error_kind).unwrap_or(ErrorKind::UnexpectedResponse);
            let left = until_ms.saturating_sub(ms(now)) / 1000 + 1;
            Ok(Lookup::Negative(Error {
                kind,
                class: Class::Permanent,
                status,
                description: None,
                message: format!("{message} (remembered from a recent attempt; retrying in {left} s or with --no-cache)"),
                hint,
                retry_after: None,
                presented_secret: Some(secret.fingerprint()),
            }))
        }
        Entry::Token {
            issued_at_ms,
            expires_in_s,
            expires_in_defaulted,
            token_type,
            scope,
            nonce,
            ct,
            ..
        } => {
            let expires = from_ms(issued_at_ms) + Duration::from_secs(expires_in_s);
            if expires <= now {
                return Ok(Lookup::Miss);
            }
            let aad = aad(key, issued_at_ms, expires_in_s, &token_type);
            let (Ok(nonce), Ok(ct)) = (B64.decode(nonce), B64.decode(ct)) else {
                return Err("corrupt (bad encoding)");
            };
            let plain = crypto::open(secret, key.as_str(), &aad, &nonce, &ct)
                .ok_or("cannot be decrypted with this secret (tampered or corrupt)")?;
            let sealed = serde_json::from_slice::<Sealed>(&plain)
                .map_err(|_| "corrupt (bad sealed payload)")?;
            Ok(Lookup::Token(Token {
                access_token: AccessToken::new(sealed.access_token),
                token_type: crate::token::BEARER,
                issued_at: from_ms(issued_at_ms),
                expires_in: Duration::from_secs(expires_in_s),
                expires_in_defaulted,
                scope: scope.map(Into::into),
                refresh_token: sealed.refresh_token.map(AccessToken::new),
                id_token: sealed.id_token.map(AccessToken::new),
            }))
        }
    }
}
