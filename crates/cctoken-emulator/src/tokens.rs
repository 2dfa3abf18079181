//! Issued tokens: generation of opaque values and a sharded in-memory store.
//!
//! Every issued access and refresh token is remembered so that introspection, revocation and
//! the protected APIs can check it. Records keep Unix milliseconds: a token dies exactly at
//! its issue instant plus the `expires_in` it was announced with, and claims written in whole
//! seconds round `exp` up, never down. The store is split into shards, each behind its own
//! `RwLock`, so parallel issuance rarely contends; expired tokens are swept from a shard every
//! few thousand inserts, and a shard over its share of [`MAX_TOKENS`] forgets a tenth of its
//! tokens (arbitrary ones: they then introspect as inactive), so a long load test cannot
//! exhaust memory. Opaque tokens are 32 bytes from the thread-local CSPRNG (ChaCha,
//! seeded from the OS), base64url. JWT signing lives in [`crate::jwt`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;

use crate::window::SlidingWindow;

const SHARDS: usize = 32;
const SWEEP_EVERY: u64 = 4096;
/// Most tokens held at once (about 300 MB); see the module docs.
pub const MAX_TOKENS: usize = 1_000_000;

/// Access or refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bearer access token.
    Access,
    /// A refresh token (CXone flavor).
    Refresh,
}

/// What the server knows about an issued token.
#[derive(Debug)]
pub struct TokenRecord {
    /// Access or refresh.
    pub kind: TokenKind,
    /// The client it was issued to.
    pub client_id: String,
    /// Granted scope (space-separated), if any.
    pub scope: Option<String>,
    /// Issued at (Unix milliseconds).
    pub issued_ms: u64,
    /// Expires at (Unix milliseconds): the issue instant plus the announced lifetime.
    pub expires_ms: u64,
    /// Subject: the client id, or the CXone user behind an access key.
    pub sub: String,
    /// CXone tenant.
    pub tenant_id: Option<String>,
    /// CXone access key the token was obtained with.
    pub access_key_id: Option<String>,
    /// Whether the token is a JWT.
    pub jwt: bool,
    /// `x5t#S256` of the client certificate the token is bound to (RFC 8705 §3).
    pub cnf_x5t: Option<String>,
    /// Its API requests within its client's API rate-limit window.
    pub api_window: SlidingWindow,
    revoked: AtomicBool,
}

impl TokenRecord {
    /// A new, unrevoked record issued at `issued_ms` and expiring at `expires_ms` (Unix ms).
    pub fn new(
        kind: TokenKind,
        client_id: &str,
        sub: &str,
        issued_ms: u64,
        expires_ms: u64,
    ) -> Self {
        TokenRecord {
            kind,
            client_id: client_id.to_owned(),
            scope: None,
            issued_ms,
            expires_ms,
            sub: sub.to_owned(),
            tenant_id: None,
            access_key_id: None,
            jwt: false,
            cnf_x5t: None,
            api_window: SlidingWindow::default(),
            revoked: AtomicBool::new(false),
        }
    }

    /// Whether it was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }

    /// Revoke it.
    pub fn revoke(&self) {
        self.revoked.store(true, Ordering::Release);
    }

    /// `iat` as a JWT or introspection writes it: whole seconds, rounded down.
    pub fn iat_secs(&self) -> u64 {
        self.issued_ms / 1000
    }

    /// `exp` as a JWT or introspection writes it: whole seconds, rounded *up*, so no claim
    /// ever says a token dies before the instant the emulator stops accepting it.
    pub fn exp_secs(&self) -> u64 {
        self.expires_ms.div_ceil(1000)
    }

    /// Why it cannot be used at `now_ms` (Unix ms), or `None` when it is active.
    pub fn inactive_reason(&self, now_ms: u64) -> Option<&'static str> {
        if self.is_revoked() {
            Some("token revoked")
        } else if now_ms >= self.expires_ms {
            Some("token expired")
        } else {
            None
        }
    }
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Arc<TokenRecord>>,
    inserts: u64,
}

/// The sharded token store.
pub struct TokenStore {
    shards: Vec<RwLock<Shard>>,
    held: AtomicU64,
    per_shard: usize,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self::with_max(MAX_TOKENS)
    }
}

fn shard_of(token: &str) -> usize {
    // Tokens end in random characters (opaque bytes or a signature), so their tail spreads.
    let b = token.as_bytes();
    let mut h: usize = b.len();
    for &c in b.iter().rev().take(4) {
        h = h.wrapping_mul(31).wrapping_add(usize::from(c));
    }
    h % SHARDS
}

impl TokenStore {
    /// A store holding at most about `max` tokens.
    pub fn with_max(max: usize) -> Self {
        TokenStore {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            held: AtomicU64::new(0),
            per_shard: (max / SHARDS).max(10),
        }
    }

    /// Remember a token; sweeps tokens expired at `now_ms` from its shard now and then.
    pub fn insert(&self, token: &str, record: TokenRecord, now_ms: u64) {
        let mut s = self.shards[shard_of(token)]
            .write()
            .unwrap_or_else(|e| e.into_inner());
        s.inserts += 1;
        if s.inserts.is_multiple_of(SWEEP_EVERY) || s.map.len() >= self.per_shard {
            let before = s.map.len();
            s.map.retain(|_, r| r.expires_ms > now_ms);
            if s.map.len() >= self.per_shard {
                let mut to_drop = s.map.len() / 10;
                s.map.retain(|_, _| {
                    if to_drop > 0 {
                        to_drop -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
            let gone = (before - s.map.len()) as u64;
            self.held.fetch_sub(gone, Ordering::Relaxed);
        }
        if s.map.insert(token.into(), Arc::new(record)).is_none() {
            self.held.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Look a token up.
    pub fn get(&self, token: &str) -> Option<Arc<TokenRecord>> {
        self.shards[shard_of(token)]
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(token)
            .cloned()
    }

    /// How many tokens are held.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }
}

/// A new opaque token: 32 random bytes, base64url without padding (43 characters).
pub fn opaque_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new random identifier (JWT `jti`): 16 random bytes, hex.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a token this server issued (or a refresh token).
    Unknown,
    /// Revoked or expired.
    Inactive(&'static str),
}

impl BearerError {
    /// The activity reason.
    pub fn reason(self) -> &'static str {
        match self {
            BearerError::Missing => "no bearer token",
            BearerError::Unknown => "unknown token",
            BearerError::Inactive(r) => r,
        }
    }
}

/// The bearer token of a request's `Authorization` header.
pub fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let t = rest.trim();
    (!t.is_empty()).then_some(t)
}

/// Check the request's bearer access token at `now_ms` (Unix ms).
pub fn check_bearer(
    store: &TokenStore,
    headers: &axum::http::HeaderMap,
    now_ms: u64,
) -> Result<Arc<TokenRecord>, BearerError> {
    let t = bearer_of(headers).ok_or(BearerError::Missing)?;
    let rec = store.get(t).ok_or(BearerError::Unknown)?;
    if rec.kind != TokenKind::Access {
        return Err(BearerError::Unknown);
    }
    if let Some(r) = rec.inactive_reason(now_ms) {
        return Err(BearerError::Inactive(r));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_insert_get_revoke_sweep() {
        let s = TokenStore::default();
        let t = opaque_token();
        assert_eq!(t.len(), 43);
        s.insert(&t, TokenRecord::new(TokenKind::Access, "c", "c", 0, 100), 0);
        let r = s.get(&t).unwrap();
        assert_eq!(r.inactive_reason(50), None);
        assert_eq!(r.inactive_reason(100), Some("token expired"));
        r.revoke();
        assert_eq!(
            s.get(&t).unwrap().inactive_reason(50),
            Some("token revoked")
        );
        for _ in 0..(3 * SWEEP_EVERY * SHARDS as u64) {
            s.insert(
                &opaque_token(),
                TokenRecord::new(TokenKind::Access, "c", "c", 0, 1000),
                200,
            );
        }
        assert!(s.get(&t).is_none(), "expired token swept");
    }

    #[test]
    fn expiry_is_exact_and_claims_round_outwards() {
        let r = TokenRecord::new(TokenKind::Access, "c", "c", 1_000_400, 1_005_400);
        assert_eq!((r.iat_secs(), r.exp_secs()), (1000, 1006));
        assert_eq!(r.inactive_reason(1_005_399), None);
        assert_eq!(r.inactive_reason(1_005_400), Some("token expired"));
        let whole = TokenRecord::new(TokenKind::Access, "c", "c", 1_000_000, 1_005_000);
        assert_eq!((whole.iat_secs(), whole.exp_secs()), (1000, 1005));
    }

    #[test]
    fn store_is_bounded() {
        let s = TokenStore::with_max(SHARDS * 100);
        for _ in 0..(SHARDS * 1000) {
            s.insert(
                &opaque_token(),
                TokenRecord::new(TokenKind::Access, "c", "c", 0, 1000),
                1,
            );
        }
        assert!(s.held() <= (SHARDS * 100) as u64, "{}", s.held());
        assert!(s.held() >= (SHARDS * 50) as u64, "{}", s.held());
    }
}
