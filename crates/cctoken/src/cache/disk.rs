//! The per-user on-disk cache: `$XDG_CACHE_HOME/cctoken/` (0700), one file per key (0600).
//!
//! Entries are the documents of the private `entry` module (the token sealed by `crypto`,
//! its expiry metadata in clear but bound as associated data), the same bytes the Redis cache
//! stores. Writes are atomic (temp file + rename); a per-key advisory lock (`flock`, released
//! by the kernel if the holder dies) gives cross-process single flight. Corrupt or
//! undecryptable entries are discarded with a warning — the worst a broken cache can do is
//! cost one token request.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

pub use super::entry::Lookup;
use super::entry::{self, from_ms, ms};
use super::key::CacheKey;
use crate::error::Error;
use crate::secret::ClientSecret;
use crate::token::Token;

/// Environment variable naming the cache directory's parent (XDG).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";

/// The on-disk cache.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
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
    /// The default location: `$XDG_CACHE_HOME/cctoken`, else `~/.cache/cctoken`.
    pub fn default_dir() -> Option<PathBuf> {
        match std::env::var_os(XDG_CACHE_HOME) {
            Some(d) if !d.is_empty() => Some(PathBuf::from(d).join("cctoken")),
            _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/cctoken")),
        }
    }

    /// Open (and create, 0700) the cache at `dir`. A directory with looser permissions is
    /// tightened, with a warning.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io_err("create", &dir, e))?;
        let meta = fs::metadata(&dir).map_err(|e| io_err("read", &dir, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), "cache directory was accessible to others; setting 0700");
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_err("chmod", &dir, e))?;
        }
        Ok(Self { dir })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.as_str()))
    }

    fn discard(&self, path: &Path, why: &str) {
        tracing::warn!(file = %path.display(), "discarding cache entry: {why}");
        let _ = fs::remove_file(path);
    }

    /// Look up `key`. Never fails: unreadable entries are a miss (and are removed).
    pub fn load(&self, key: &CacheKey, secret: &ClientSecret, now: SystemTime) -> Lookup {
        let path = self.entry_path(key);
        let Ok(bytes) = fs::read(&path) else {
            return Lookup::Miss;
        };
        entry::decode(key, secret, &bytes, now).unwrap_or_else(|why| {
            self.discard(&path, why);
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
        self.write(key, &entry::encode_token(key, secret, token)?)
    }

    /// Remember a permanent failure until `until`.
    pub fn store_negative(
        &self,
        key: &CacheKey,
        err: &Error,
        until: SystemTime,
    ) -> Result<(), Error> {
        self.write(key, &entry::encode_negative(err, until)?)
    }

    fn rate_limit_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.ratelimit", key.as_str()))
    }

    /// Remember that the server asked us to wait until `until` (429 / rate-limit answer),
    /// so other processes wait instead of hitting the limit again.
    pub fn store_rate_limit(&self, key: &CacheKey, until: SystemTime) -> Result<(), Error> {
        let path = self.rate_limit_path(key);
        let tmp = self
            .dir
            .join(format!(".{}.{}.rl.tmp", key.as_str(), std::process::id()));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(ms(until).to_string().as_bytes())?;
            fs::rename(&tmp, &path)
        })();
        result.map_err(|e| io_err("write", &path, e))
    }

    /// Until when the server asked to wait, if that is still in the future.
    pub fn rate_limited_until(&self, key: &CacheKey, now: SystemTime) -> Option<SystemTime> {
        let text = fs::read_to_string(self.rate_limit_path(key)).ok()?;
        let until = from_ms(text.trim().parse().ok()?);
        (until > now).then_some(until)
    }

    /// Remove the entry for `key` (e.g. after the API rejected its token).
    pub fn remove(&self, key: &CacheKey) {
        let _ = fs::remove_file(self.entry_path(key));
    }

    fn write(&self, key: &CacheKey, data: &[u8]) -> Result<(), Error> {
        let path = self.entry_path(key);
        let tmp = self.dir.join(format!(
            ".{}.{}.{:x}.tmp",
            key.as_str(),
            std::process::id(),
            rand::random::<u64>()
        ));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("write", &path, e));
        }
        Ok(())
    }

    /// Take the exclusive per-key lock, waiting at most `max_wait`.
    pub fn lock(&self, key: &CacheKey, max_wait: Duration) -> Result<KeyLock, Error> {
        let path = self.dir.join(format!("{}.lock", key.as_str()));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
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
                    "cache: another cctoken process has held the lock on {} for {} s",
                    path.display(),
                    max_wait.as_secs()
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
