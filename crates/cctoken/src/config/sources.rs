//! Where secrets come from (SPEC §4): environment variables, files, commands, stdin, the
//! Genesys CLI's profile — and the order in which they are consulted.
//!
//! [`plan_client_secret`] and [`plan_access_key_secret`] pick *one* [`SecretSource`] from
//! the merged settings (flags already overlaid on the profile) and the environment, in this
//! precedence: the explicit source of the settings (`--client-secret-file|stdin|env`, else
//! the profile's `client_secret_file|cmd|env`) → `CCTOKEN_CLIENT_SECRET` → the provider's
//! env convention (`GENESYSCLOUD_OAUTHCLIENT_SECRET`) → the `--gc-profile`'s secret.
//! [`load_secret`] then reads it and applies [`crate::secret::normalize_secret`] to every
//! source alike, so a trailing newline from `echo` is stripped and reported, and anything
//! else accidental is an error naming the source and byte position.
//!
//! Errors and notes name the source (`env GC_SECRET`, `file /run/secrets/x`, ``command
//! `pass show x` ``) and never hold the value or a command's output. The OS keyring is
//! read through [`super::keyring`].

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::env::{self, EnvLookup};
use crate::config::profile::{ProfileSettings, SecretSetting};
use crate::provider::ProviderKind;
use crate::secret::{normalize_secret, ClientSecret};
use crate::Error;

/// One place a secret can be read from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (a trailing newline is stripped).
    File(PathBuf),
    /// A shell command run with `sh -c`; its stdout is the secret. It is stopped when it
    /// runs longer than `timeout` or writes more than [`env::MAX_SECRET_BYTES`].
    Command {
        /// The command line.
        command: String,
        /// How long it may run.
        timeout: Duration,
    },
    /// Standard input, read to the end.
    Stdin,
    /// A value held in another tool's config file (the Genesys CLI's `client_secret`).
    Inline {
        /// Where the value was found, e.g. `gc profile DEFAULT in /home/u/.gc/config.toml`.
        origin: String,
        /// The raw value (normalised when loaded, like every other source).
        value: ClientSecret,
    },
    /// The OS keyring entry of this profile (see [`super::keyring`]).
    Keyring(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "env {var}"),
            Self::File(p) => write!(f, "file {}", p.display()),
            Self::Command { command, .. } => write!(f, "command `{command}`"),
            Self::Stdin => f.write_str("stdin"),
            Self::Inline { origin, .. } => f.write_str(origin),
            Self::Keyring(profile) => write!(f, "OS keyring entry for profile {profile}"),
        }
    }
}

/// Which secret is being loaded; only changes the words of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The OAuth client secret.
    Client,
    /// The CXone access key secret.
    AccessKey,
}

impl SecretKind {
    /// `client secret` or `access key secret`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Client => "client secret",
            Self::AccessKey => "access key secret",
        }
    }

    /// The profile keys' prefix: `client_secret` or `access_key_secret`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Client => "client_secret",
            Self::AccessKey => "access_key_secret",
        }
    }

    fn alternatives(self) -> &'static str {
        match self {
            Self::Client => {
                "--client-secret-env VAR, --client-secret-file PATH, --client-secret-stdin, \
                 CCTOKEN_CLIENT_SECRET, or client_secret_env|file|cmd in the profile"
            }
            Self::AccessKey => {
                "--access-key-secret-file PATH, --access-key-secret-stdin, \
                 CCTOKEN_ACCESS_KEY_SECRET, or access_key_secret_env|file|cmd in the profile"
            }
        }
    }
}

/// A loaded secret and what was done to it.
#[derive(Debug)]
pub struct LoadedSecret {
    /// The normalised secret.
    pub secret: ClientSecret,
    /// Where it came from, e.g. `env CCTOKEN_CLIENT_SECRET` (never the value).
    pub origin: String,
    /// Normalisation and permission notes, for debug logs.
    pub notes: Vec<String>,
}

/// The source a profile or flags name, as [`load_secret`] reads it. `profile` names the
/// keyring entry.
fn explicit(
    kind: SecretKind,
    setting: &SecretSetting,
    profile: Option<&str>,
) -> Result<SecretSource, Error> {
    Ok(match setting {
        SecretSetting::Env(v) => SecretSource::Env(v.clone()),
        SecretSetting::File(p) => SecretSource::File(p.clone()),
        SecretSetting::Command { command, timeout } => SecretSource::Command {
            command: command.clone(),
            timeout: timeout.unwrap_or(env::SECRET_CMD_TIMEOUT),
        },
        SecretSetting::Stdin => SecretSource::Stdin,
        SecretSetting::Value { origin, value } => SecretSource::Inline {
            origin: origin.clone(),
            value: value.clone(),
        },
        SecretSetting::Keyring => {
            let profile = profile.ok_or_else(|| {
                Error::config(format!(
                    "{}_keyring needs a named profile (the keyring entry's name)",
                    kind.key()
                ))
            })?;
            SecretSource::Keyring(profile.to_owned())
        }
    })
}

/// Pick the client secret's source (see the module docs for the precedence).
pub fn plan_client_secret(
    s: &ProfileSettings,
    provider: ProviderKind,
    env: &dyn EnvLookup,
    gc_secret: Option<SecretSource>,
) -> Result<SecretSource, Error> {
    if let Some(setting) = &s.client_secret {
        return explicit(SecretKind::Client, setting, s.name.as_deref());
    }
    if env.var_os(env::CCTOKEN_CLIENT_SECRET).is_some() {
        return Ok(SecretSource::Env(env::CCTOKEN_CLIENT_SECRET.into()));
    }
    if provider == ProviderKind::Genesys
        && env.var_os(env::GENESYSCLOUD_OAUTHCLIENT_SECRET).is_some()
    {
        return Ok(SecretSource::Env(
            env::GENESYSCLOUD_OAUTHCLIENT_SECRET.into(),
        ));
    }
    if let Some(src) = gc_secret {
        return Ok(src);
    }
    let genesys = if provider == ProviderKind::Genesys {
        format!(
            ", {}, or --gc-profile NAME",
            env::GENESYSCLOUD_OAUTHCLIENT_SECRET
        )
    } else {
        String::new()
    };
    Err(Error::config(format!(
        "no client secret given: use {}{genesys} (never the secret itself on the command line)",
        SecretKind::Client.alternatives()
    )))
}

/// Pick the CXone access key secret's source.
pub fn plan_access_key_secret(
    s: &ProfileSettings,
    env: &dyn EnvLookup,
) -> Result<SecretSource, Error> {
    if let Some(setting) = &s.access_key_secret {
        return explicit(SecretKind::AccessKey, setting, s.name.as_deref());
    }
    if env.var_os(env::CCTOKEN_ACCESS_KEY_SECRET).is_some() {
        return Ok(SecretSource::Env(env::CCTOKEN_ACCESS_KEY_SECRET.into()));
    }
    Err(Error::config(format!(
        "no access key secret given for the CXone access key: use {}",
        SecretKind::AccessKey.alternatives()
    )))
}

/// Read and normalise a secret from `source`.
///
/// `stdin` is taken (set to `None`) when the source is [`SecretSource::Stdin`]; a second
/// stdin source then fails with a clear message.
pub fn load_secret(
    kind: SecretKind,
    source: &SecretSource,
    env: &dyn EnvLookup,
    keep_bytes: bool,
    stdin: &mut Option<Box<dyn Read + '_>>,
) -> Result<LoadedSecret, Error> {
    let label = kind.label();
    let origin = source.to_string();
    let mut notes = Vec::new();
    let raw: Vec<u8> = match source {
        SecretSource::Env(var) => match env.var_os(var) {
            None => {
                return Err(Error::config(format!(
                    "the {label} should come from environment variable {var}, which is not set"
                )))
            }
            Some(v) if v.is_empty() => {
                return Err(Error::config(format!(
                    "the {label} from env {var} is empty (the variable is set to nothing); in CI \
                     this usually means the secret is not defined for this repository, branch \
                     or environment"
                )))
            }
            Some(v) => env::os_bytes(v),
        },
        SecretSource::File(path) => read_file(label, path, &mut notes)?,
        SecretSource::Command { command, timeout } => run_command(kind, command, *timeout)?,
        SecretSource::Stdin => {
            let Some(mut reader) = stdin.take() else {
                return Err(Error::config(format!(
                    "the {label} should be read from stdin, but stdin is not available (already \
                     used for another secret?); give one of them another source"
                )));
            };
            let mut buf = Vec::new();
            reader
                .by_ref()
                .take(env::MAX_SECRET_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|e| Error::config(format!("cannot read the {label} from stdin: {e}")))?;
            check_size(label, &origin, &buf)?;
            buf
        }
        SecretSource::Inline { value, .. } => value.expose_secret().as_bytes().to_vec(),
        SecretSource::Keyring(profile) => super::keyring::load(profile)?,
    };
    let n = normalize_secret(raw, keep_bytes)
        .map_err(|p| Error::config(format!("{label} from {origin}: {p}")))?;
    if n.stripped_newline {
        notes.push(format!(
            "stripped a trailing newline from the {label} read from {origin}"
        ));
    }
    Ok(LoadedSecret {
        secret: n.secret,
        origin,
        notes,
    })
}

fn check_size(label: &str, origin: &str, buf: &[u8]) -> Result<(), Error> {
    if buf.len() > env::MAX_SECRET_BYTES {
        return Err(too_large(label, origin));
    }
    Ok(())
}

fn too_large(label: &str, origin: &str) -> Error {
    Error::config(format!(
        "the {label} from {origin} is larger than {} bytes: that is not a secret — check the \
         path or command",
        env::MAX_SECRET_BYTES
    ))
}

fn read_file(label: &str, path: &Path, notes: &mut Vec<String>) -> Result<Vec<u8>, Error> {
    use super::small_file::{read_small, ReadFailure};
    let shown = path.display();
    let max = env::MAX_SECRET_BYTES as u64;
    let file = read_small(path, max).map_err(|e| match e {
        ReadFailure::TooLarge => too_large(label, &format!("file {shown}")),
        e => Error::config(e.message(label, path, max)),
    })?;
    #[cfg(unix)]
    if let Some(meta) = &file.meta {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o004 != 0 {
            notes.push(format!(
                "warning: the {label} file {shown} is readable by every user on this machine \
                 (mode {mode:o}); run `chmod 600 {shown}`"
            ));
        }
    }
    Ok(file.bytes.to_vec())
}

/// How often [`run_command`] looks whether the command has exited while its output is open.
const POLL: Duration = Duration::from_millis(20);
/// How long output may stay open after the command exited before [`run_command`] gives up
/// on it: far more than the kernel needs to deliver the end of a pipe whose writer is gone.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Run `cmd` with `sh -c` and return its stdout, reading at most [`env::MAX_SECRET_BYTES`]
/// (plus one, to tell) and waiting at most `timeout`: a command that writes without end
/// or never finishes is stopped, not waited for.
fn run_command(kind: SecretKind, cmd: &str, timeout: Duration) -> Result<Vec<u8>, Error> {
    let label = kind.label();
    // stdin is closed so the command cannot swallow input meant for cctoken; stderr is
    // inherited so the user sees the command's own complaints (it is their tool).
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd);
    // Its own process group, so that stopping it stops what it started too (`sleep 30;
    // echo x` runs sleep as sh's child).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            Error::config(format!(
                "could not run the {label} command `{cmd}` with sh -c: {e}"
            ))
        })?;
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        // The reader stops at the cap and drops the pipe, so a writer without end gets
        // EPIPE; it is not joined after a timeout (a grandchild may hold the pipe open).
        std::thread::spawn(move || {
            let mut buf = zeroize::Zeroizing::new(Vec::new());
            let read = out
                .take(env::MAX_SECRET_BYTES as u64 + 1)
                .read_to_end(&mut buf);
            let _ = tx.send(read.map(|_| buf));
        });
    }
    let stopped = |child: &mut Child, why: String| {
        stop(child);
        Error::config(why)
    };
    let too_slow = || {
        format!(
            "the {label} command `{cmd}` did not finish within {}; it was stopped (raise \
             {}_cmd_timeout in the profile if it needs longer, e.g. to ask for a passphrase)",
            crate::duration::Human(timeout),
            kind.key(),
        )
    };
    // Wait for the end of the output, watching the command itself: when it has exited but
    // its output is still open after a short grace, a process it started in the
    // background holds it (`(sleep 30 &); printf x`), and waiting for the timeout would
    // only hide that.
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    let stdout = loop {
        let now = Instant::now();
        let mut wait = deadline.saturating_duration_since(now).min(POLL);
        if let Some((_, at)) = exited {
            wait = wait.min((at + EXIT_GRACE).saturating_duration_since(now));
        }
        match rx.recv_timeout(wait) {
            Ok(Ok(buf)) => break buf,
            Ok(Err(e)) => {
                return Err(stopped(
                    &mut child,
                    format!("cannot read the output of the {label} command `{cmd}`: {e}"),
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(stopped(
                    &mut child,
                    format!("cannot read the output of the {label} command `{cmd}`"),
                ))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        match exited {
            Some((status, at)) if now >= at + EXIT_GRACE => {
                return Err(stopped(
                    &mut child,
                    format!(
                        "the {label} command `{cmd}` exited ({status}), but a process it \
                         started still holds its output open; it was stopped (send the output \
                         of background processes elsewhere, e.g. `… >/dev/null 2>&1 &`)"
                    ),
                ))
            }
            Some(_) => {}
            None => {
                if let Ok(Some(status)) = child.try_wait() {
                    exited = Some((status, now));
                }
            }
        }
        if now >= deadline {
            return Err(stopped(&mut child, too_slow()));
        }
    };
    if stdout.len() > env::MAX_SECRET_BYTES {
        stop(&mut child);
        check_size(label, &format!("command `{cmd}`"), &stdout)?;
    }
    // The output is complete (end of file); the command should be exiting.
    let status = loop {
        if let Some((status, _)) = exited {
            break status;
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None) => return Err(stopped(&mut child, too_slow())),
            Err(e) => {
                return Err(stopped(
                    &mut child,
                    format!("waiting for the {label} command `{cmd}`: {e}"),
                ))
            }
        }
    };
    if !status.success() {
        return Err(Error::config(format!(
            "the {label} command `{cmd}` failed ({status}); its standard output is not shown \
             because it may hold the secret (what it wrote to stderr is its own, shown as it \
             ran) — run the command yourself to see why"
        )));
    }
    Ok(stdout.to_vec())
}

/// Kill `child` and its process group (it may be gone already) and reap it.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
