//! The profile file (SPEC §7): `$XDG_CONFIG_HOME/cctoken/config.toml`, loaded once into a
//! [`ConfigFile`] — its profiles ([`ProfileSettings`]) and the `[cache]` table.
//!
//! [`ConfigFile::load`] reads it (a missing default file is an empty config; a missing file
//! named by `--config`/`CCTOKEN_CONFIG` is an error) and checks every field while parsing,
//! so mistakes are reported as `path:line:col: message (in [profiles.prod], key `region`)`
//! — unknown keys included (`deny_unknown_fields`). Broken TOML is an error, never a panic,
//! and error messages do not echo quoted values ([`super::toml_error`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::profile::{de_duration, ProfileSettings};
use super::toml_error::toml_error;
use crate::config::env::{self, EnvLookup, ProcessEnv};
use crate::Error;

/// The `[cache]` table (SPEC §6): the negative-cache TTL and the Redis cache a fleet shares
/// (used by `cctoken::cache::redis::RedisCache`, feature `redis`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `redis://`, `rediss://` (TLS), `redis+unix://` or `unix://` URL of a shared cache.
    #[serde(default, deserialize_with = "de_redis_url")]
    pub url: Option<Url>,
    /// How long a permanent failure is remembered (default 30 s).
    #[serde(default, deserialize_with = "de_duration")]
    pub negative_ttl: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileSettings>,
    #[serde(default)]
    cache: CacheSettings,
}

/// The loaded profile file.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// Where it was looked for (`None` when neither `XDG_CONFIG_HOME` nor `HOME` is set).
    pub path: Option<PathBuf>,
    /// False when the default file does not exist (an empty config).
    pub found: bool,
    /// Profiles by name.
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// The `[cache]` table.
    pub cache: CacheSettings,
}

/// Why a configuration file could not be read ([`read_config_text`]).
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// Not a regular file: a FIFO, a device, a directory, a socket.
    NotRegular(&'static str),
    /// Larger than [`env::MAX_CONFIG_BYTES`].
    TooLarge,
    /// Not UTF-8 text.
    NotText,
}

impl ReadError {
    /// The configuration error for `what` (e.g. "the config file") at `path`.
    pub fn into_error(self, what: &str, path: &Path) -> Error {
        let shown = path.display();
        Error::config(match self {
            Self::Io(e) => format!("cannot read {what} {shown}: {e}"),
            Self::NotRegular(kind) => format!(
                "{what} {shown} is {kind}, not a regular file; give the path of a TOML file"
            ),
            Self::TooLarge => format!(
                "{what} {shown} is larger than {} KiB; that is not a profile file (check the path)",
                env::MAX_CONFIG_BYTES / 1024
            ),
            Self::NotText => format!("{what} {shown} is not UTF-8 text"),
        })
    }
}

/// Read a configuration file: a regular file (symbolic links to one are fine) of at most
/// [`env::MAX_CONFIG_BYTES`]. It is opened without blocking, so a FIFO is refused instead
/// of waiting for a writer, and read with the cap applied while reading, so
/// `/dev/zero` costs one megabyte, not the machine's memory.
pub fn read_config_text(path: &Path) -> Result<String, ReadError> {
    use std::io::Read as _;
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
    };
    #[cfg(not(unix))]
    let file = std::fs::File::open(path);
    let file = file.map_err(ReadError::Io)?;
    let kind = file.metadata().map_err(ReadError::Io)?.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(describe(kind)));
    }
    let mut buf = Vec::new();
    file.take(env::MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() > env::MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(buf).map_err(|_| ReadError::NotText)
}

fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// What [`ConfigFile::load`] returns: the file, its path and whether it existed.
pub type Loaded = ConfigFile;

impl ConfigFile {
    /// Load the profile file from `explicit` (`--config`), else `$CCTOKEN_CONFIG`, else
    /// the default path. Only a missing *default* file is an empty config.
    pub fn load(explicit: Option<&Path>) -> Result<Loaded, Error> {
        Self::load_with(explicit, &ProcessEnv)
    }

    /// [`ConfigFile::load`] with an injected environment.
    pub fn load_with(explicit: Option<&Path>, env: &dyn EnvLookup) -> Result<Loaded, Error> {
        let (path, must_exist) = match explicit {
            Some(p) => (Some(p.to_path_buf()), true),
            None => match env.non_empty(env::CCTOKEN_CONFIG) {
                Some(p) => (Some(PathBuf::from(p)), true),
                None => (env::default_config_path(env), false),
            },
        };
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        match read_config_text(&path) {
            Ok(text) => Self::parse(&text, &path),
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(ConfigFile {
                    path: Some(path),
                    ..Default::default()
                })
            }
            Err(e) => Err(e.into_error("the config file", &path)),
        }
    }

    /// Parse profile-file text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, Error> {
        let model: FileModel = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        Ok(ConfigFile {
            path: Some(path.to_path_buf()),
            found: true,
            profiles: model.profiles,
            cache: model.cache,
        })
    }

    /// Profile names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.profiles.keys().map(String::as_str).collect()
    }

    /// The settings of profile `name`, or an error listing the profiles there are.
    pub fn profile(&self, name: &str) -> Result<ProfileSettings, Error> {
        if let Some(p) = self.profiles.get(name) {
            return Ok(ProfileSettings {
                name: Some(name.to_owned()),
                ..p.clone()
            });
        }
        let where_ = match (&self.path, self.found) {
            (Some(p), true) => format!("in {}", p.display()),
            (Some(p), false) => format!("because {} does not exist", p.display()),
            (None, _) => "because no config file was found (HOME is not set)".to_owned(),
        };
        let have = if self.profiles.is_empty() {
            "there are no profiles".to_owned()
        } else {
            format!("available: {}", self.names().join(", "))
        };
        Err(Error::config(format!(
            "no profile '{name}' {where_}; {have} (choose the file with --config or CCTOKEN_CONFIG)"
        )))
    }
}

fn de_redis_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let s = String::deserialize(d)?;
    let url = Url::parse(&s).map_err(|e| {
        serde::de::Error::custom(format!("not a URL ({e}); write e.g. redis://host:6379/0"))
    })?;
    match url.scheme() {
        "redis" | "rediss" | "redis+unix" | "unix" => Ok(Some(url)),
        other => Err(serde::de::Error::custom(format!(
            "scheme '{other}' is not a Redis URL; write redis://host:6379/0 or rediss:// for TLS"
        ))),
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
