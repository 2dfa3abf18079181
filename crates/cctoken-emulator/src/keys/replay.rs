//! The `jti` replay cache: each client assertion is accepted once (OIDC Core §9).
//!
//! An entry is keyed by client id and `jti` and lives until the assertion's `exp` plus the
//! clock tolerance — after that the assertion is refused as expired anyway, so forgetting it
//! is safe. Because the lifetime check caps `exp` at a few minutes from now, entries cannot
//! pile up for long; expired ones are swept every [`SWEEP_EVERY`] inserts and whenever the
//! cache is full. A cache still full of live entries refuses new assertions ([`Seen::Full`])
//! rather than forget one that could then be replayed: memory stays bounded by
//! [`MAX_ENTRIES`] and the refusal says why.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most live assertions remembered at once (about 100 MB at the longest `jti`s).
pub const MAX_ENTRIES: usize = 500_000;
/// Longest `jti` accepted, in bytes.
pub const MAX_JTI_LEN: usize = 256;
const SWEEP_EVERY: u64 = 4096;

/// What the cache says about a `jti`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First use: now remembered.
    Fresh,
    /// Used before and not yet expired.
    Replayed,
    /// The cache holds [`MAX_ENTRIES`] live entries; nothing was remembered.
    Full,
}

#[derive(Default)]
struct Inner {
    /// `client id \0 jti` → forget at (Unix ms).
    map: HashMap<Box<str>, u64>,
    inserts: u64,
}

/// The replay cache; one per server.
pub struct ReplayCache {
    inner: Mutex<Inner>,
    max: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::with_max(MAX_ENTRIES)
    }
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl ReplayCache {
    /// A cache holding at most `max` live entries.
    pub fn with_max(max: usize) -> Self {
        ReplayCache {
            inner: Mutex::new(Inner::default()),
            max,
        }
    }

    /// Remember `jti` of `client` until `forget_ms`, unless it is already known at `now_ms`.
    pub fn check(&self, client: &str, jti: &str, forget_ms: u64, now_ms: u64) -> Seen {
        let key: Box<str> = format!("{client}\u{0}{jti}").into();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&until) = g.map.get(&key) {
            if until > now_ms {
                return Seen::Replayed;
            }
        }
        g.inserts += 1;
        if g.inserts.is_multiple_of(SWEEP_EVERY) || g.map.len() >= self.max {
            g.map.retain(|_, until| *until > now_ms);
            if g.map.len() >= self.max {
                return Seen::Full;
            }
        }
        g.map.insert(key, forget_ms);
        Seen::Fresh
    }

    /// How many entries are held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_client_until_expiry() {
        let c = ReplayCache::default();
        assert_eq!(c.check("a", "j1", 1_000, 0), Seen::Fresh);
        assert_eq!(c.check("a", "j1", 1_000, 999), Seen::Replayed);
        assert_eq!(c.check("b", "j1", 1_000, 10), Seen::Fresh, "per client");
        assert_eq!(
            c.check("a", "j1", 3_000, 1_000),
            Seen::Fresh,
            "expired entries are forgotten"
        );
    }

    #[test]
    fn bounded_and_refuses_rather_than_forgets() {
        let c = ReplayCache::with_max(10);
        for i in 0..10 {
            assert_eq!(c.check("a", &i.to_string(), 1_000, 0), Seen::Fresh);
        }
        assert_eq!(c.check("a", "x", 1_000, 1), Seen::Full);
        assert_eq!(
            c.check("a", "0", 1_000, 1),
            Seen::Replayed,
            "nothing forgotten"
        );
        assert_eq!(
            c.check("a", "x", 2_000, 1_000),
            Seen::Fresh,
            "swept once expired"
        );
        assert!(c.len() <= 10);
    }
}
