//! The per-user on-disk cache: `$XDG_CACHE_HOME/cctoken/` (0700), one file per key (0600).
//!
//! Entries are JSON with the token sealed by the private `crypto` module; expiry metadata stays in
//! clear (bound as associated data) so a lookup can reject a stale entry before deriving
//! keys. Writes are atomic (temp file + rename); a per-key advisory lock (`flock`, released
//! by the kernel if the holder dies) gives cross-process single flight. Corrupt or
//! undecryptable entries are discarded with a warning — the worst a broken cache can do is
//! cost one token request.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::crypto;
use super::key::CacheKey;
use crate::error::{Class, Error, ErrorKind};
use crate::secret::{AccessToken, ClientSecret};
use crate::token::Token;

/// Environment variable naming the cache directory's parent (XDG).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";

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

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn from_ms(v: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(v)
}

fn aad(key: &CacheKey, issued_at_ms: u64, expires_in_s: u64, token_type: &str) -> Vec<u8> {
    format!(
        "{}|{issued_at_ms}|{expires_in_s}|{token_type}",
        key.as_str()
    )
    .into_bytes()
}

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

    /// Look up `key`. Never fails: unreadable entries are a miss.
    pub fn load(&self, key: &CacheKey, secret: &ClientSecret, now: SystemTime) -> Lookup {
        let path = self.entry_path(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(_) => return Lookup::Miss,
        };
        let entry: Entry = match serde_json::from_slice(&bytes) {
            Ok(e) => e,
            Err(_) => {
                self.discard(&path, "corrupt (not a cctoken cache entry)");
                return Lookup::Miss;
            }
        };
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
                    return Lookup::Miss;
                }
                let kind = ErrorKind::from_oauth_code(&error_kind)
                    .unwrap_or(ErrorKind::UnexpectedResponse);
                let left = until_ms.saturating_sub(ms(now)) / 1000 + 1;
                Lookup::Negative(Error {
                    kind,
                    class: Class::Permanent,
                    status,
                    description: None,
                    message: format!("{message} (remembered from a recent attempt; retrying in {left} s or with --no-cache)"),
                    hint,
                    retry_after: None,
                    presented_secret: Some(secret.fingerprint()),
                })
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
                    return Lookup::Miss;
                }
                let aad = aad(key, issued_at_ms, expires_in_s, &token_type);
                let (Ok(nonce), Ok(ct)) = (B64.decode(nonce), B64.decode(ct)) else {
                    self.discard(&path, "corrupt (bad encoding)");
                    return Lookup::Miss;
                };
                let Some(plain) = crypto::open(secret, key.as_str(), &aad, &nonce, &ct) else {
                    self.discard(
                        &path,
                        "cannot be decrypted with this secret (tampered or corrupt)",
                    );
                    return Lookup::Miss;
                };
                let Ok(sealed) = serde_json::from_slice::<Sealed>(&plain) else {
                    self.discard(&path, "corrupt (bad sealed payload)");
                    return Lookup::Miss;
                };
                Lookup::Token(Token {
                    access_token: AccessToken::new(sealed.access_token),
                    token_type: crate::token::BEARER,
                    issued_at: from_ms(issued_at_ms),
                    expires_in: Duration::from_secs(expires_in_s),
                    expires_in_defaulted,
                    scope: scope.map(Into::into),
                    refresh_token: sealed.refresh_token.map(AccessToken::new),
                    id_token: sealed.id_token.map(AccessToken::new),
                })
            }
        }
    }

    /// Store a token (encrypted, atomically).
    pub fn store_token(
        &self,
        key: &CacheKey,
        secret: &ClientSecret,
        token: &Token,
    ) -> Result<(), Error> {
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
        self.write(
            key,
            &Entry::Token {
                v: 1,
                issued_at_ms,
                expires_in_s,
                expires_in_defaulted: token.expires_in_defaulted,
                token_type: token.token_type.to_owned(),
                scope: token.scope.as_deref().map(str::to_owned),
                nonce: B64.encode(nonce),
                ct: B64.encode(ct),
            },
        )
    }

    /// Remember a permanent failure until `until`.
    pub fn store_negative(
        &self,
        key: &CacheKey,
        err: &Error,
        until: SystemTime,
    ) -> Result<(), Error> {
        self.write(
            key,
            &Entry::Negative {
                v: 1,
                until_ms: ms(until),
                error_kind: err.kind.as_str().to_owned(),
                status: err.status,
                message: err.message.clone(),
                hint: err.hint.clone(),
            },
        )
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

    fn write(&self, key: &CacheKey, entry: &Entry) -> Result<(), Error> {
        let path = self.entry_path(key);
        let tmp = self.dir.join(format!(
            ".{}.{}.{:x}.tmp",
            key.as_str(),
            std::process::id(),
            rand::random::<u64>()
        ));
        let data = serde_json::to_vec(entry).map_err(|e| Error::config(format!("cache: {e}")))?;
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&data)?;
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
