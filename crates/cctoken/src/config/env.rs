//! Environment variable names, default paths and limits — the one place they are spelled —
//! and [`EnvLookup`], the injectable view of the process environment.
//!
//! Configuration code never calls `std::env::var` directly: it asks an [`EnvLookup`], so
//! tests describe an environment as a map instead of mutating the process (which races
//! between test threads). This module reads nothing by itself except through [`ProcessEnv`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// Path of the profile file, overriding the default location.
pub const CCTOKEN_CONFIG: &str = "CCTOKEN_CONFIG";
/// Name of the profile to use when `--profile` is not given.
pub const CCTOKEN_PROFILE: &str = "CCTOKEN_PROFILE";
/// The client secret, when no profile or flag names another source.
pub const CCTOKEN_CLIENT_SECRET: &str = "CCTOKEN_CLIENT_SECRET";
/// The CXone access key secret, when no profile or flag names another source.
pub const CCTOKEN_ACCESS_KEY_SECRET: &str = "CCTOKEN_ACCESS_KEY_SECRET";
/// Path of the Genesys CLI config file (tests; default `~/.gc/config.toml`).
pub const CCTOKEN_GC_CONFIG: &str = "CCTOKEN_GC_CONFIG";
/// Genesys convention (CLI, Terraform provider): region name or domain.
pub const GENESYSCLOUD_REGION: &str = "GENESYSCLOUD_REGION";
/// Genesys convention: OAuth client id.
pub const GENESYSCLOUD_OAUTHCLIENT_ID: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
/// Genesys convention: OAuth client secret.
pub const GENESYSCLOUD_OAUTHCLIENT_SECRET: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
/// Genesys convention: an access token for tools run under `cctoken exec`.
pub const GENESYSCLOUD_ACCESS_TOKEN: &str = "GENESYSCLOUD_ACCESS_TOKEN";
/// XDG base directory for configuration.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// The user's home directory.
pub const HOME: &str = "HOME";

/// The largest secret file or command output accepted, in bytes. Secrets are short; a
/// larger input is a wrong path (a binary, `/dev/urandom`), not a secret.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// A read-only view of environment variables.
pub trait EnvLookup {
    /// The raw value of `name`, when set.
    fn var_os(&self, name: &str) -> Option<OsString>;

    /// The value of `name` as text, when set and valid Unicode.
    fn var(&self, name: &str) -> Option<String> {
        self.var_os(name).and_then(|v| v.into_string().ok())
    }

    /// Like [`EnvLookup::var`], but an empty value counts as unset (for paths and names,
    /// never for secrets, where "set but empty" is worth an error).
    fn non_empty(&self, name: &str) -> Option<String> {
        self.var(name).filter(|v| !v.is_empty())
    }
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

impl EnvLookup for HashMap<String, String> {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.get(name).map(OsString::from)
    }
}

impl<const N: usize> EnvLookup for [(&str, &str); N] {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    }
}

/// `$XDG_CONFIG_HOME/cctoken/config.toml`, else `$HOME/.config/cctoken/config.toml`.
pub fn default_config_path(env: &dyn EnvLookup) -> Option<PathBuf> {
    let base = env
        .non_empty(XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env.non_empty(HOME)
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("cctoken").join("config.toml"))
}

/// `$CCTOKEN_GC_CONFIG`, else `$HOME/.gc/config.toml` (the Genesys CLI's file).
pub fn gc_config_path(env: &dyn EnvLookup) -> Option<PathBuf> {
    env.non_empty(CCTOKEN_GC_CONFIG)
        .map(PathBuf::from)
        .or_else(|| {
            env.non_empty(HOME)
                .map(|h| PathBuf::from(h).join(".gc").join("config.toml"))
        })
}

/// Raw bytes of an OS string (exact on Unix; lossless text elsewhere).
pub fn os_bytes(value: OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        value.into_vec()
    }
    #[cfg(not(unix))]
    {
        value.to_string_lossy().into_owned().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_path_prefers_xdg_then_home() {
        let env = [("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(
            default_config_path(&env).unwrap(),
            PathBuf::from("/x/cctoken/config.toml")
        );
        let env = [("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")];
        assert_eq!(
            default_config_path(&env).unwrap(),
            PathBuf::from("/h/.config/cctoken/config.toml")
        );
        let env: [(&str, &str); 0] = [];
        assert_eq!(default_config_path(&env), None);
        let env = [("HOME", "/h")];
        assert_eq!(
            gc_config_path(&env).unwrap(),
            PathBuf::from("/h/.gc/config.toml")
        );
    }
}
