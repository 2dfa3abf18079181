//! The bytes of one cache entry, shared by every store: the on-disk file and the Redis value
//! are the same JSON document, so a Redis server (or anyone who copies a cache file) holds
//! only ciphertext.
//!
//! A token entry keeps its expiry metadata in clear — so a lookup can reject a stale entry
//! before deriving keys — and binds it as associated data of the sealed token (see the
//! private `crypto` module), so extending an expiry makes the entry undecryptable rather than
//! longer-lived.
//!
//! Remembered failures — a negative entry (a permanent failure: the error's kind, status,
//! message and hint) and a rate limit — are sealed the same way, their `until` bound as
//! associated data, because whoever can write the store (another user of a shared Redis)
//! could otherwise make every lookup fail with text of their choosing, for years. Their
//! lifetime is capped both ways: written for at most the negative TTL or the capped
//! `Retry-After`, and on read one that claims to last longer (beyond [`CLOCK_SKEW`]) is
//! refused like an undecryptable one. This module does no I/O: where the bytes live and how
//! refused ones are discarded is the stores' business.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::crypto;
use super::key::CacheKey;
use crate::duration::Human;
use crate::error::{Class, Error, ErrorKind};
use crate::secret::{AccessToken, ClientSecret};
use crate::token::{Token, MAX_RETRY_AFTER};

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

/// How far the clocks of machines sharing a store may disagree before a remembered failure
/// written by another machine counts as over-long.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// Why stored bytes were refused (for the warning that discards them).
pub(crate) type Refused = Cow<'static, str>;

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
    /// A remembered permanent failure: [`Failure`] sealed.
    Negative(Remembered),
    /// A remembered rate limit: an empty payload sealed, so the tag authenticates `until_ms`.
    RateLimit(Remembered),
}

/// A remembered failure as stored: until when, bound as associated data to its seal.
#[derive(Serialize, Deserialize)]
struct Remembered {
    v: u32,
    until_ms: u64,
    // Missing in a planted entry (and in the unsealed format of earlier versions).
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    ct: Option<String>,
}

/// The sealed part of a negative entry.
#[derive(Serialize, Deserialize)]
struct Failure {
    error_kind: String,
    status: Option<u16>,
    message: String,
    hint: Option<String>,
    /// What a key-based client presented (its thumbprint); `None` for a secret, whose
    /// fingerprint is recomputed from the secret at hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    presented_key: Option<String>,
}

const NEGATIVE: &str = "negative";
const RATE_LIMIT: &str = "rate_limit";

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

fn failure_aad(key: &CacheKey, what: &str, until_ms: u64) -> Vec<u8> {
    format!("{what}|{}|{until_ms}", key.as_str()).into_bytes()
}

impl Remembered {
    /// Seal `plain` as a remembered failure of `what` lasting until `until`.
    fn seal(
        key: &CacheKey,
        secret: &ClientSecret,
        what: &str,
        until: SystemTime,
        plain: &[u8],
    ) -> Self {
        let until_ms = ms(until);
        let aad = failure_aad(key, what, until_ms);
        let (nonce, ct) = crypto::seal(secret, key.as_str(), &aad, plain);
        Self {
            v: 2,
            until_ms,
            nonce: Some(B64.encode(nonce)),
            ct: Some(B64.encode(ct)),
        }
    }

    /// Judge this failure of `what` at `now`, allowed to last at most `cap`: `Ok(None)` once
    /// it has passed, its payload when it is sealed with this secret and not over-long.
    fn open(
        self,
        key: &CacheKey,
        secret: &ClientSecret,
        what: &str,
        now: SystemTime,
        cap: Duration,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, Refused> {
        let left = self.until_ms.saturating_sub(ms(now));
        if left == 0 {
            return Ok(None);
        }
        if Duration::from_millis(left) > cap + CLOCK_SKEW {
            return Err(format!(
                "remembered for {} more, longer than the {} cctoken allows (not written \
                 by cctoken)",
                Human(Duration::from_secs(left / 1000 + 1)),
                Human(Duration::from_secs(cap.as_secs()))
            )
            .into());
        }
        let (Some(nonce), Some(ct)) = (self.nonce, self.ct) else {
            return Err("not sealed (not written by this version of cctoken)".into());
        };
        let (Ok(nonce), Ok(ct)) = (B64.decode(nonce), B64.decode(ct)) else {
            return Err("corrupt (bad encoding)".into());
        };
        let aad = failure_aad(key, what, self.until_ms);
        crypto::open(secret, key.as_str(), &aad, &nonce, &ct)
            .map(Some)
            .ok_or_else(|| "cannot be decrypted with this secret (tampered or corrupt)".into())
    }
}

/// The entry remembering the permanent failure `err` until `until` (now plus the negative
/// TTL), sealed with a key derived from `secret`.
pub(crate) fn encode_negative(
    key: &CacheKey,
    secret: &ClientSecret,
    err: &Error,
    until: SystemTime,
) -> Result<Vec<u8>, Error> {
    let failure = serde_json::to_vec(&Failure {
        error_kind: err.kind.as_str().to_owned(),
        status: err.status,
        message: err.message.clone(),
        hint: err.hint.clone(),
        presented_key: err.presented_key.clone(),
    })
    .map_err(|e| Error::config(format!("cache: {e}")))?;
    let sealed = Remembered::seal(key, secret, NEGATIVE, until, &failure);
    encode(&Entry::Negative(sealed))
}

/// The entry remembering that the server asked to wait until `until` (at most
/// [`MAX_RETRY_AFTER`] from now: see [`super::rate_limit_wait`]).
pub(crate) fn encode_rate_limit(
    key: &CacheKey,
    secret: &ClientSecret,
    until: SystemTime,
) -> Result<Vec<u8>, Error> {
    encode(&Entry::RateLimit(Remembered::seal(
        key, secret, RATE_LIMIT, until, b"",
    )))
}

/// Read a rate-limit entry at `now`: until when to wait, `None` once that has passed.
/// `Err(why)` means the bytes are unusable (planted, over-long, corrupt) and should be
/// discarded.
pub(crate) fn decode_rate_limit(
    key: &CacheKey,
    secret: &ClientSecret,
    bytes: &[u8],
    now: SystemTime,
) -> Result<Option<SystemTime>, Refused> {
    let Ok(Entry::RateLimit(stored)) = serde_json::from_slice(bytes) else {
        return Err("corrupt (not a cctoken rate-limit entry)".into());
    };
    let until = from_ms(stored.until_ms);
    let opened = stored.open(key, secret, RATE_LIMIT, now, MAX_RETRY_AFTER)?;
    Ok(opened.map(|_| until))
}

/// Read an entry at `now`. `Err(why)` means the bytes are unusable (corrupt, tampered with,
/// sealed with another secret, a negative entry lasting longer than `negative_ttl`) and
/// should be discarded; an expired entry is a `Miss`, and so is every negative entry when
/// `negative_ttl` is zero (the negative cache is off).
pub(crate) fn decode(
    key: &CacheKey,
    secret: &ClientSecret,
    bytes: &[u8],
    now: SystemTime,
    negative_ttl: Duration,
) -> Result<Lookup, Refused> {
    let entry: Entry =
        serde_json::from_slice(bytes).map_err(|_| "corrupt (not a cctoken cache entry)")?;
    match entry {
        Entry::Negative(_) if negative_ttl.is_zero() => Ok(Lookup::Miss),
        Entry::Negative(stored) => {
            let until_ms = stored.until_ms;
            let Some(plain) = stored.open(key, secret, NEGATIVE, now, negative_ttl)? else {
                return Ok(Lookup::Miss);
            };
            let failure = serde_json::from_slice::<Failure>(&plain)
                .map_err(|_| "corrupt (bad sealed payload)")?;
            let kind = ErrorKind::from_oauth_code(&failure.error_kind)
                .unwrap_or(ErrorKind::UnexpectedResponse);
            let left = Human(Duration::from_secs(
                until_ms.saturating_sub(ms(now)) / 1000 + 1,
            ));
            Ok(Lookup::Negative(Error {
                kind,
                class: Class::Permanent,
                status: failure.status,
                description: None,
                message: format!(
                    "{} (remembered from a recent attempt; asked again in {left})",
                    failure.message
                ),
                hint: failure.hint,
                retry_after: None,
                presented_secret: failure
                    .presented_key
                    .is_none()
                    .then(|| secret.fingerprint()),
                presented_key: failure.presented_key,
                remembered: true,
            }))
        }
        Entry::RateLimit(_) => Err("corrupt (a rate limit where a token belongs)".into()),
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
                return Err("corrupt (bad encoding)".into());
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

/// A negative entry as anyone who can write a store can plant it: the unsealed document of
/// earlier versions, with `message` and `until`.
#[cfg(test)]
pub(crate) fn planted_negative(until: SystemTime, message: &str) -> String {
    format!(
        r#"{{"kind":"negative","v":1,"until_ms":{},"error_kind":"invalid_client","status":401,"message":"{message}","hint":null}}"#,
        ms(until)
    )
}
