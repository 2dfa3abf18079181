//! The shared fleet cache (`[cache] url = "redis://..."`, SPEC §6): the disk cache's sealed
//! entries, in Redis, so machines that use one client send one token request per token
//! lifetime between them instead of one each.
//!
//! # What is stored
//!
//! For a [`CacheKey`] `K` (64 hex digits that reveal nothing about the client):
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `cctoken:v1:K` | the entry document, byte for byte what the disk cache writes: the token sealed with a key derived from the client secret (HKDF-SHA256 → ChaCha20-Poly1305), or a remembered permanent failure sealed the same way | `PX` = the token's remaining lifetime, or the negative TTL |
//! | `cctoken:v1:K:lease` | a random 128-bit lease id | `PX` = [`LEASE_TTL`], extended while its holder works |
//! | `cctoken:v1:K:ratelimit` | the rate-limit document: Unix milliseconds until which the server asked to wait, authenticated with the same key | `PX` = that wait (at most the capped `Retry-After`) |
//!
//! The Redis server never sees a token, a refresh token or a secret in clear (only the
//! expiry, token type and granted scope, which are bound to the ciphertext), and a value
//! copied out of it is useless without the client secret.
//!
//! Built with the cargo feature `redis` (the CLI turns it on). `rediss://` is TLS with rustls
//! and the system's root certificates; no OpenSSL is linked.
//!
//! # The protocol
//!
//! [`CachedClient::token`](super::CachedClient::token) with a Redis cache, once its disk
//! entry is missing or stale:
//!
//! 1. `GET cctoken:v1:K`. A fresh token is used (and written to the disk cache, so the next
//!    `cctoken get` on this machine is served without a runtime); a negative entry fails with
//!    the remembered error.
//! 2. Take the machine's per-key lock (the disk cache's `flock`), then re-check the disk and
//!    Redis. Only one process per machine goes on; the others find its disk entry.
//! 3. `SET cctoken:v1:K:lease <id> NX PX 10000`. The winner waits out a remembered rate
//!    limit (disk or Redis), asks the token server, `SET`s the entry with its `PX` (and writes
//!    the disk cache), then releases the lease with a compare-and-delete script. While it
//!    works it extends the lease every third of [`LEASE_TTL`] with a compare-and-`PEXPIRE`
//!    script, so a slow server (retries, `Retry-After`) does not let a second machine in, and
//!    a holder that dies blocks the others for at most [`LEASE_TTL`].
//! 4. A loser polls: `GET` the entry (done when a fresh one appears), else try the lease again
//!    (free once the holder released it without writing an entry — a transient failure — or
//!    died); between rounds it sleeps [`POLL_MIN`] doubling to [`POLL_MAX`], for at most
//!    [`LOCK_WAIT`](super::LOCK_WAIT) in all.
//!
//! A refresh (the token source replacing the token it holds) treats the entry holding that
//! very token as stale, so a fleet refreshing ahead still sends one request: the first to
//! take the lease replaces the entry and the others pick the replacement up.
//!
//! # When Redis is down
//!
//! Redis is an optimisation, never a dependency. Any error or timeout (connect
//! [`CONNECT_TIMEOUT`], each command [`RESPONSE_TIMEOUT`]) makes the process carry on with
//! the local path alone (lock, disk, token server) and log one warning per process; Redis is
//! tried again after [`RETRY_AFTER_FAILURE`] (long-running agents). An entry that cannot be
//! decrypted is a miss, overwritten by the next write; so is a remembered failure that is not
//! sealed with the client's secret or claims to last longer than cctoken remembers one —
//! whoever can write to the Redis server cannot make the fleet's lookups fail.
//!
//! Deliberately not here: Redis Cluster and Sentinel; pub/sub wake-ups (polling one key
//! needs no server configuration and costs a few commands per machine and token lifetime);
//! keeping tokens in Redis only — the disk cache stays the fast path of `cctoken get`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, RedisError};
use url::Url;
use zeroize::Zeroizing;

use super::entry::{self, Lookup};
use super::key::CacheKey;
use crate::error::Error;
use crate::secret::ClientSecret;

/// Prefix of every key cctoken writes (the version changes with the entry format).
pub const KEY_PREFIX: &str = "cctoken:v1:";
/// Longest wait for a connection to Redis.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest wait for the answer to one command.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Lifetime of a refresh lease; its holder extends it every third of this while it works.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// First pause of a process waiting for another machine's token request.
pub const POLL_MIN: Duration = Duration::from_millis(10);
/// Longest pause between two polls.
pub const POLL_MAX: Duration = Duration::from_millis(200);
/// After a failure, Redis is left alone this long.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Compare-and-delete: release the lease only if it is still ours.
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/// Compare-and-extend: keep the lease only if it is still ours.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/// A Redis server shared by the machines of a fleet. Cloning shares the connection and the
/// "Redis is down" state (so a process warns once, whatever number of profiles use it).
///
/// Opening does no I/O; the connection is made on first use, inside the caller's runtime.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    location: String,
    password: Option<Zeroizing<String>>,
    conn: tokio::sync::Mutex<Option<(tokio::runtime::Id, MultiplexedConnection)>>,
    down_until: Mutex<Option<Instant>>,
    warned: AtomicBool,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("location", &self.inner.location)
            .finish_non_exhaustive()
    }
}

/// Redis failed (already reported): carry on without it.
#[derive(Debug)]
pub(crate) struct Unavailable;

/// A refresh lease held by this process.
#[derive(Debug)]
pub(crate) struct Lease {
    key: String,
    id: String,
}

fn entry_key(key: &CacheKey) -> String {
    format!("{KEY_PREFIX}{}", key.as_str())
}

fn rate_limit_key(key: &CacheKey) -> String {
    format!("{}:ratelimit", entry_key(key))
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl RedisCache {
    /// A cache on the Redis server at `url` (`redis://`, `rediss://` — TLS with the system's
    /// roots —, `redis+unix://` or `unix://`). Fails only on a URL the client cannot use.
    pub fn open(url: &Url) -> Result<Self, Error> {
        let location = location(url);
        let password = url
            .password()
            .filter(|p| !p.is_empty())
            .map(|p| Zeroizing::new(p.to_owned()));
        let client = redis::Client::open(url.as_str()).map_err(|e| {
            Error::config(format!(
                "[cache] url {location}: {}",
                scrub(&e.to_string(), password.as_deref().map(String::as_str))
            ))
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                location,
                password,
                conn: tokio::sync::Mutex::new(None),
                down_until: Mutex::new(None),
                warned: AtomicBool::new(false),
            }),
        })
    }

    /// Where the server is, without credentials (for messages).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// False for a while after a failure.
    pub(crate) fn available(&self) -> bool {
        let down = self
            .inner
            .down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        down.is_none_or(|until| Instant::now() >= until)
    }

    /// Report a failure once per process and leave Redis alone for a while.
    fn failed(&self, what: &str, e: &RedisError) -> Unavailable {
        let why = scrub(
            &e.to_string(),
            self.inner.password.as_deref().map(String::as_str),
        );
        *self
            .inner
            .down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + RETRY_AFTER_FAILURE);
        if !self.inner.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "shared cache {} unavailable ({what}: {why}); using the local cache only",
                self.inner.location
            );
        } else {
            tracing::debug!(
                "shared cache {} unavailable ({what}: {why})",
                self.inner.location
            );
        }
        Unavailable
    }

    async fn connection(&self) -> Result<MultiplexedConnection, Unavailable> {
        // A connection is driven by a task of the runtime that made it: reuse it only there.
        let runtime = tokio::runtime::Handle::current().id();
        let mut slot = self.inner.conn.lock().await;
        if !self.available() {
            // Another task's attempt failed while this one waited for the slot.
            return Err(Unavailable);
        }
        if let Some((id, conn)) = slot.as_ref() {
            if *id == runtime {
                return Ok(conn.clone());
            }
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        match self
            .inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => {
                *slot = Some((runtime, conn.clone()));
                Ok(conn)
            }
            Err(e) => {
                *slot = None;
                Err(self.failed("connect", &e))
            }
        }
    }

    async fn query<T: FromRedisValue>(&self, what: &str, cmd: &Cmd) -> Result<T, Unavailable> {
        if !self.available() {
            return Err(Unavailable);
        }
        let mut conn = self.connection().await?;
        match cmd.query_async(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => {
                *self.inner.conn.lock().await = None;
                Err(self.failed(what, &e))
            }
        }
    }

    /// The entry for `key` at `now` (a remembered failure honoured for at most
    /// `negative_ttl`); one that cannot be read, or was planted, is a miss.
    pub(crate) async fn load(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        now: SystemTime,
        negative_ttl: Duration,
    ) -> Result<Lookup, Unavailable> {
        let bytes: Option<Vec<u8>> = self
            .query("GET", redis::cmd("GET").arg(entry_key(key)))
            .await?;
        let Some(bytes) = bytes else {
            return Ok(Lookup::Miss);
        };
        Ok(
            entry::decode(key, secret, &bytes, now, negative_ttl).unwrap_or_else(|why| {
                tracing::warn!("ignoring the shared cache entry: {why}");
                Lookup::Miss
            }),
        )
    }

    /// Store an entry that expires after `ttl`.
    pub(crate) async fn store(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        ttl: Duration,
    ) -> Result<(), Unavailable> {
        self.query::<()>(
            "SET",
            redis::cmd("SET")
                .arg(entry_key(key))
                .arg(bytes)
                .arg("PX")
                .arg(millis(ttl)),
        )
        .await
    }

    /// Remember that the server asked to wait until `until` (sealed like a token).
    pub(crate) async fn store_rate_limit(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        until: SystemTime,
        now: SystemTime,
    ) -> Result<(), Unavailable> {
        let Ok(wait) = until.duration_since(now) else {
            return Ok(());
        };
        let Ok(bytes) = entry::encode_rate_limit(key, secret, until) else {
            return Ok(());
        };
        self.query::<()>(
            "SET",
            redis::cmd("SET")
                .arg(rate_limit_key(key))
                .arg(bytes)
                .arg("PX")
                .arg(millis(wait)),
        )
        .await
    }

    /// Until when the server asked to wait, if that is still in the future; a planted or
    /// over-long entry is ignored (the next rate limit overwrites it).
    pub(crate) async fn rate_limited_until(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        now: SystemTime,
    ) -> Result<Option<SystemTime>, Unavailable> {
        let bytes: Option<Vec<u8>> = self
            .query("GET", redis::cmd("GET").arg(rate_limit_key(key)))
            .await?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        Ok(
            entry::decode_rate_limit(key, secret, &bytes, now).unwrap_or_else(|why| {
                tracing::warn!("ignoring the shared rate limit: {why}");
                None
            }),
        )
    }

    /// Try to take the refresh lease of `key`: `None` when another process holds it.
    pub(crate) async fn try_lease(&self, key: &CacheKey) -> Result<Option<Lease>, Unavailable> {
        let lease = Lease {
            key: format!("{}:lease", entry_key(key)),
            id: format!("{:032x}", rand::random::<u128>()),
        };
        let set: Option<String> = self
            .query(
                "SET NX",
                redis::cmd("SET")
                    .arg(&lease.key)
                    .arg(&lease.id)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(LEASE_TTL)),
            )
            .await?;
        Ok(set.map(|_| lease))
    }

    /// Extend our lease by [`LEASE_TTL`]; false when it is no longer ours.
    pub(crate) async fn renew(&self, lease: &Lease) -> Result<bool, Unavailable> {
        let n: i64 = self
            .query(
                "EVAL",
                redis::cmd("EVAL")
                    .arg(RENEW)
                    .arg(1)
                    .arg(&lease.key)
                    .arg(&lease.id)
                    .arg(millis(LEASE_TTL)),
            )
            .await?;
        Ok(n == 1)
    }

    /// Release our lease; false when it was no longer ours (it expired).
    pub(crate) async fn release(&self, lease: Lease) -> Result<bool, Unavailable> {
        let n: i64 = self
            .query(
                "EVAL",
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(&lease.key)
                    .arg(&lease.id),
            )
            .await?;
        Ok(n == 1)
    }
}

/// `url` without its credentials (and query/fragment), for messages.
fn location(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// `text` with the Redis password cut out (the client's errors do not echo it; this makes
/// sure).
fn scrub(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if p.len() >= 3 => text.replace(p, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
