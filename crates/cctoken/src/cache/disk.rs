//! The per-user on-disk cache: `$XDG_CACHE_HOME/cctoken/` (0700), one file per key (0600).
//!
//! Entries are the documents of the private `entry` module (the token sealed by `crypto`,
//! its expiry metadata in clear but bound as associated data), the same bytes the Redis cache
//! stores. Every file is reached through the directory's open handle, never following a
//! link (the `dir` module). Writes are atomic (random temp file + rename); a per-key
//! advisory lock (`flock`, released by the kernel if the holder dies) gives cross-process
//! single flight. Corrupt or undecryptable entries are discarded with a warning — the worst
//! a broken cache can do is cost one token request.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::dir::PrivateDir;
use super::entry;
pub use super::entry::Lookup;
use super::key::CacheKey;
use crate::config::EnvLookup;
use crate::error::Error;
use crate::secret::ClientSecret;
use crate::token::Token;

/// The on-disk cache. Clones share the open directory.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: Arc<PrivateDir>,
}

/// An exclusive advisory lock on one key; released on drop (or by the kernel on exit).
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::config(format!("cache: cannot {what} {}: {e}", path.display()))
}

impl DiskCache {
    /// The default location in `env`: `$XDG_CACHE_HOME/cctoken`, else `~/.cache/cctoken`.
    pub fn default_dir(env: &dyn EnvLookup) -> Option<PathBuf> {
        crate::config::env::default_cache_dir(env)
    }

    /// Open the cache at `dir`, creating it 0700 when it does not exist. A directory that is
    /// a symbolic link, belongs to another user or is open to others is refused (see the
    /// private `dir` module); it is never chmodded.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        let dir = PrivateDir::open_or_create(&dir)
            .map_err(|e| Error::config(format!("cache: {}", e.message)))?;
        Ok(Self { dir: Arc::new(dir) })
    }

    /// The per-user random key that seals federated clients' entries (they hold no local
    /// secret, SPEC §14): `federation.key` (0600) in the cache directory, made on first use.
    pub fn federation_key(&self) -> Result<ClientSecret, Error> {
        const NAME: &str = "federation.key";
        let valid = |b: &[u8]| b.len() == 64 && b.iter().all(u8::is_ascii_hexdigit);
        if let Some(b) = self.read(NAME).filter(|b| valid(b)) {
            return Ok(ClientSecret::new(String::from_utf8_lossy(&b).into_owned()));
        }
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        self.write(NAME, fresh.as_bytes())?;
        // Two processes may race to make it: both use whichever landed.
        match self.read(NAME).filter(|b| valid(b)) {
            Some(b) => Ok(ClientSecret::new(String::from_utf8_lossy(&b).into_owned())),
            None => Ok(ClientSecret::new(fresh)),
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn discard(&self, name: &str, why: impl std::fmt::Display) {
        tracing::warn!(file = %self.path_of(name).display(), "discarding cache entry: {why}");
        let _ = self.dir.remove(name);
    }

    /// The contents of `name`, `None` when it is missing; one that cannot be read (a planted
    /// symbolic link) is discarded.
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        match self.dir.read(name) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.discard(name, format_args!("cannot be read ({e})"));
                None
            }
        }
    }

    fn write(&self, name: &str, data: &[u8]) -> Result<(), Error> {
        self.dir
            .write_atomic(name, data)
            .map_err(|e| io_err("write", &self.path_of(name), e))
    }

    /// Look up `key`, honouring a remembered failure for at most `negative_ttl`. Never
    /// fails: unreadable, planted or over-long entries are a miss (and are removed).
    pub fn load(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        now: SystemTime,
        negative_ttl: Duration,
    ) -> Lookup {
        let name = entry_name(key);
        let Some(bytes) = self.read(&name) else {
            return Lookup::Miss;
        };
        entry::decode(key, secret, &bytes, now, negative_ttl).unwrap_or_else(|why| {
            self.discard(&name, why);
            Lookup::Miss
        })
    }

    /// Store a token (encrypted, atomically).
    pub fn store_token(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        token: &Token,
    ) -> Result<(), Error> {
        let bytes = entry::encode_token(key, secret, token)?;
        self.write(&entry_name(key), &bytes)
    }

    /// Remember a permanent failure until `until` (sealed like a token).
    pub fn store_negative(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        err: &Error,
        until: SystemTime,
    ) -> Result<(), Error> {
        let bytes = entry::encode_negative(key, secret, err, until)?;
        self.write(&entry_name(key), &bytes)
    }

    /// Remember that the server asked us to wait until `until` (429 / rate-limit answer),
    /// so other processes wait instead of hitting the limit again (sealed like a token).
    pub fn store_rate_limit(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        until: SystemTime,
    ) -> Result<(), Error> {
        let bytes = entry::encode_rate_limit(key, secret, until)?;
        self.write(&rate_limit_name(key), &bytes)
    }

    /// Until when the server asked to wait, if that is still in the future. A planted or
    /// over-long entry is discarded.
    pub fn rate_limited_until(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        now: SystemTime,
    ) -> Option<SystemTime> {
        let name = rate_limit_name(key);
        let bytes = self.read(&name)?;
        entry::decode_rate_limit(key, secret, &bytes, now).unwrap_or_else(|why| {
            self.discard(&name, why);
            None
        })
    }

    /// Remove the entry for `key` (e.g. after the API rejected its token).
    pub fn remove(&self, key: &CacheKey) {
        let _ = self.dir.remove(&entry_name(key));
    }

    /// Take the exclusive per-key lock, waiting at most `max_wait`.
    pub fn lock(&self, key: &CacheKey, max_wait: Duration) -> Result<KeyLock, Error> {
        let name = format!("{}.lock", key.as_str());
        let path = self.path_of(&name);
        let file = self
            .dir
            .open_lock(&name)
            .map_err(|e| io_err("open", &path, e))?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(KeyLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", &path, e)),
            }
            if start.elapsed() >= max_wait {
                return Err(Error::transport(format!(
                    "cache: another cctoken process has held the lock on {} for {}",
                    path.display(),
                    crate::duration::Human(Duration::from_secs(max_wait.as_secs()))
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }
}

fn entry_name(key: &CacheKey) -> String {
    format!("{}.json", key.as_str())
}

fn rate_limit_name(key: &CacheKey) -> String {
    format!("{}.ratelimit", key.as_str())
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
