//! Environment variable names, default paths and limits — the one place they are spelled —
//! and [`EnvLookup`], the injectable view of the process environment.
//!
//! Every variable cctoken reads or sets is a constant here: the ones it reads (the profile
//! file, secrets, the Genesys conventions, the XDG directories, `CCTOKEN_AGENT`) and the ones
//! it gives a consumer (`CCTOKEN_ACCESS_TOKEN`, `GENESYSCLOUD_ACCESS_TOKEN`, ...). Code
//! never calls `std::env::var` directly: it asks an [`EnvLookup`], so tests describe an
//! environment as a map instead of mutating the process (which races between test
//! threads). This module reads nothing by itself except through [`ProcessEnv`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
/// XDG base directory for caches (the token cache lives in `cctoken/` under it).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// XDG runtime directory (the agent's socket, `exec`'s token file).
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// The user's home directory.
pub const HOME: &str = "HOME";
/// Points consumers at a running agent: `unix:PATH` or `http://127.0.0.1:PORT`.
pub const CCTOKEN_AGENT: &str = "CCTOKEN_AGENT";
/// The agent key file, when it is not beside the default socket.
pub const CCTOKEN_AGENT_KEY_FILE: &str = "CCTOKEN_AGENT_KEY_FILE";
/// Log filter of the CLI (`tracing_subscriber` syntax).
pub const RUST_LOG: &str = "RUST_LOG";
/// Proxy for `http://` URLs (either spelling; the upper-case one wins). Never used for
/// loopback targets, whatever `NO_PROXY` says ([`crate::client::http::NO_PROXY_ALWAYS`]).
pub const HTTP_PROXY: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
/// Proxy for `https://` URLs.
pub const HTTPS_PROXY: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
/// Proxy for every URL without a more specific one.
pub const ALL_PROXY: [&str; 2] = ["ALL_PROXY", "all_proxy"];
/// Hosts and networks that bypass the proxies.
pub const NO_PROXY: [&str; 2] = ["NO_PROXY", "no_proxy"];
/// Set under CGI, where `HTTP_PROXY` may come from a request header ("httpoxy"): then it
/// is ignored, as curl and reqwest do.
pub const REQUEST_METHOD: &str = "REQUEST_METHOD";
/// Set and not empty: no ANSI colour in any output (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// GitHub Actions: the file whose `NAME=value` blocks become variables of later steps.
pub const GITHUB_ENV: &str = "GITHUB_ENV";

/// Given to consumers (`exec`, `--format env`): the access token.
pub const CCTOKEN_ACCESS_TOKEN: &str = "CCTOKEN_ACCESS_TOKEN";
/// Given to consumers: the token type (`Bearer`).
pub const CCTOKEN_TOKEN_TYPE: &str = "CCTOKEN_TOKEN_TYPE";
/// Given to consumers: when the token expires (RFC 3339).
pub const CCTOKEN_EXPIRES_AT: &str = "CCTOKEN_EXPIRES_AT";
/// Given to consumers: the profile's API base, without a trailing `/`.
pub const CCTOKEN_API_BASE: &str = "CCTOKEN_API_BASE";
/// Given to `exec`'s command: the 0600 file that always holds a fresh token.
pub const CCTOKEN_TOKEN_FILE: &str = "CCTOKEN_TOKEN_FILE";

/// Where cctoken reads secrets from when no profile or flag names a source: taken out of
/// the environment of every command `exec` runs, along with the variables a profile or
/// flag named ([`crate::config::ResolvedProfile::secret_vars`]).
pub const DEFAULT_SECRET_VARS: &[&str] = &[
    CCTOKEN_CLIENT_SECRET,
    CCTOKEN_ACCESS_KEY_SECRET,
    GENESYSCLOUD_OAUTHCLIENT_SECRET,
];

/// GitHub Actions: the URL that issues the job's OIDC token (`permissions: id-token: write`).
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub Actions: the bearer token for [`ACTIONS_ID_TOKEN_REQUEST_URL`].
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// A PEM bundle of extra trust roots, as OpenSSL-based tools read it.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// A directory of PEM trust roots, as OpenSSL-based tools read it.
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";

/// The token cache's directory under `$XDG_CACHE_HOME` (and the agent's under the runtime
/// directory).
pub const APP_DIR: &str = "cctoken";
/// The directory under cctoken's runtime (or cache) directory that holds one private
/// directory per running `exec`, with its token file.
pub const EXEC_DIR: &str = "exec";
/// File name of the agent's default socket.
pub const AGENT_SOCKET_NAME: &str = "agent.sock";
/// File name of the agent key, beside the socket.
pub const AGENT_KEY_NAME: &str = "agent.key";

/// The largest secret file or command output accepted, in bytes. Secrets are short; a
/// larger input is a wrong path (a binary, `/dev/urandom`), not a secret.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;
/// The largest profile file (or Genesys CLI config) read, in bytes: far more than any
/// real one, and a bound on what `--config /dev/zero` could make cctoken read.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;
/// How long a `client_secret_cmd` / `access_key_secret_cmd` may run unless the profile says
/// otherwise (`client_secret_cmd_timeout`): long enough for a passphrase prompt's agent,
/// short enough that a hung command does not hang every `get`.
pub const SECRET_CMD_TIMEOUT: Duration = Duration::from_secs(10);

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

/// `$XDG_CACHE_HOME/cctoken`, else `$HOME/.cache/cctoken`: the token cache.
pub fn default_cache_dir(env: &dyn EnvLookup) -> Option<PathBuf> {
    match env.var_os(XDG_CACHE_HOME) {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d).join(APP_DIR)),
        _ => env
            .var_os(HOME)
            .map(|h| PathBuf::from(h).join(".cache").join(APP_DIR)),
    }
}

/// `$XDG_RUNTIME_DIR/cctoken/agent.sock`; without `XDG_RUNTIME_DIR`,
/// `$TMPDIR/cctoken-UID/agent.sock` (a directory only this user can enter).
pub fn default_socket_path(env: &dyn EnvLookup) -> PathBuf {
    if let Some(dir) = env.non_empty(XDG_RUNTIME_DIR) {
        return PathBuf::from(dir).join(APP_DIR).join(AGENT_SOCKET_NAME);
    }
    let uid = rustix::process::getuid().as_raw();
    std::env::temp_dir()
        .join(format!("{APP_DIR}-{uid}"))
        .join(AGENT_SOCKET_NAME)
}

/// Where `exec` keeps its token files: `$XDG_RUNTIME_DIR/cctoken/exec` (memory-backed,
/// emptied at logout) when that directory exists, else `exec` in the token cache's
/// directory, else `$TMPDIR/cctoken-UID/exec`.
pub fn exec_dir(env: &dyn EnvLookup) -> PathBuf {
    if let Some(dir) = env
        .non_empty(XDG_RUNTIME_DIR)
        .filter(|d| Path::new(d).is_dir())
    {
        return PathBuf::from(dir).join(APP_DIR).join(EXEC_DIR);
    }
    if let Some(cache) = default_cache_dir(env) {
        return cache.join(EXEC_DIR);
    }
    let uid = rustix::process::getuid().as_raw();
    std::env::temp_dir()
        .join(format!("{APP_DIR}-{uid}"))
        .join(EXEC_DIR)
}

/// Why `name` cannot be an extra variable for `exec`'s command (`--env NAME`), if it
/// cannot: it must be a portable name (a letter or `_`, then letters, digits, `_`), and not
/// one the command or its libraries need for something else — a token in `PATH`, `HOME` or
/// `LD_PRELOAD` breaks the command instead of authenticating it — nor one of cctoken's own
/// (a `cctoken` run under `exec` reads them), except the token variables themselves.
pub fn alias_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let portable = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !portable {
        return Some(format!(
            "'{name}' is not a valid environment variable name: use letters, digits and '_', \
             not starting with a digit (e.g. API_TOKEN)"
        ));
    }
    let upper = name.to_ascii_uppercase();
    let reserved = RESERVED_NAMES.contains(&upper.as_str())
        || RESERVED_PREFIXES.iter().any(|p| upper.starts_with(p));
    let own = (upper.starts_with("CCTOKEN_") || upper.starts_with("GENESYSCLOUD_"))
        && upper != CCTOKEN_ACCESS_TOKEN
        && upper != GENESYSCLOUD_ACCESS_TOKEN;
    if reserved || own {
        return Some(format!(
            "{name} is a variable the command needs for something else (the token would \
             become its {name}); choose a name of your own, e.g. API_TOKEN"
        ));
    }
    None
}

/// Variables `--env` may not replace (compared in upper case): the ones that locate
/// programs, files and the user, and the ones shells and the dynamic loader act on.
const RESERVED_NAMES: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "TERM",
    "TMPDIR",
    "TZ",
    "LANG",
    "LANGUAGE",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "PS4",
    "SHELLOPTS",
    "BASHOPTS",
    "MAIL",
    "DISPLAY",
    "HOSTNAME",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "RUST_LOG",
    "PYTHONPATH",
    "PYTHONHOME",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PERL5LIB",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "CLASSPATH",
];

/// Prefixes `--env` may not use: the dynamic loaders' (`LD_PRELOAD`, `DYLD_*`), the locale's
/// and the shell's function exports.
const RESERVED_PREFIXES: &[&str] = &["LD_", "DYLD_", "LC_", "BASH_FUNC_"];

/// The agent key file beside `socket`.
pub fn agent_key_path(socket: &Path) -> PathBuf {
    socket.with_file_name(AGENT_KEY_NAME)
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

    #[test]
    fn cache_dir_prefers_xdg_then_home() {
        let env = [("XDG_CACHE_HOME", "/c"), ("HOME", "/h")];
        assert_eq!(default_cache_dir(&env), Some(PathBuf::from("/c/cctoken")));
        let env = [("XDG_CACHE_HOME", ""), ("HOME", "/h")];
        assert_eq!(
            default_cache_dir(&env),
            Some(PathBuf::from("/h/.cache/cctoken"))
        );
        let env: [(&str, &str); 0] = [];
        assert_eq!(default_cache_dir(&env), None);
    }

    #[test]
    fn exec_dir_prefers_an_existing_runtime_dir_then_the_cache() {
        let run = tempfile::tempdir().unwrap();
        let r = run.path().to_str().unwrap();
        assert_eq!(
            exec_dir(&[(XDG_RUNTIME_DIR, r), (XDG_CACHE_HOME, "/c")]),
            run.path().join("cctoken/exec")
        );
        let missing = run.path().join("missing");
        let m = missing.to_str().unwrap();
        assert_eq!(
            exec_dir(&[(XDG_RUNTIME_DIR, m), (XDG_CACHE_HOME, "/c")]),
            Path::new("/c/cctoken/exec")
        );
        let p = exec_dir(&[(XDG_RUNTIME_DIR, "")]);
        assert!(p.starts_with(std::env::temp_dir()), "{}", p.display());
        assert!(p.ends_with("exec"), "{}", p.display());
    }

    #[test]
    fn aliases_that_would_break_the_command_are_refused() {
        for ok in [
            "API_TOKEN",
            "_X",
            "token2",
            CCTOKEN_ACCESS_TOKEN,
            GENESYSCLOUD_ACCESS_TOKEN,
        ] {
            assert_eq!(alias_problem(ok), None, "{ok}");
        }
        for bad in ["BAD-NAME", "", "2X", "A B", "A=B", "é"] {
            let e = alias_problem(bad).unwrap();
            assert!(
                e.contains("not a valid environment variable name"),
                "{bad}: {e}"
            );
        }
        for bad in [
            "PATH",
            "HOME",
            "USER",
            "SHELL",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "LC_ALL",
            "path",
            CCTOKEN_TOKEN_FILE,
            CCTOKEN_CONFIG,
            GENESYSCLOUD_REGION,
        ] {
            let e = alias_problem(bad).unwrap();
            assert!(e.contains("needs for something else"), "{bad}: {e}");
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn default_socket_path_follows_xdg_runtime_dir() {
        let p = default_socket_path(&[(XDG_RUNTIME_DIR, "/run/user/1000")]);
        assert_eq!(p, Path::new("/run/user/1000/cctoken/agent.sock"));
        assert_eq!(
            agent_key_path(&p),
            Path::new("/run/user/1000/cctoken/agent.key")
        );
        for env in [&[][..], &[(XDG_RUNTIME_DIR, "")]] {
            let env: HashMap<String, String> = env
                .iter()
                .map(|(k, v): &(&str, &str)| (k.to_string(), v.to_string()))
                .collect();
            let p = default_socket_path(&env);
            let dir = p.parent().unwrap().file_name().unwrap().to_string_lossy();
            assert!(dir.starts_with("cctoken-"), "{}", p.display());
            assert!(p.starts_with(std::env::temp_dir()), "{}", p.display());
            assert_eq!(p.file_name().unwrap(), "agent.sock");
        }
    }
}
