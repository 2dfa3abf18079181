//! `cctoken exec`: run a command with a fresh token in its environment and in a file that
//! is kept fresh for as long as the command runs.
//!
//! The environment cannot be changed under a running process, so jobs that outlive one
//! token read `CCTOKEN_TOKEN_FILE`, which is replaced by atomic rename whenever the
//! [`TokenSource`](cctoken::source::TokenSource) refreshes ahead. Signals are forwarded, the
//! exit code is propagated, and the file and its directory are removed afterwards. The
//! variables are the ones every consumer gets ([`crate::consumer_env`]), plus the file and
//! the `--env` aliases.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use cctoken::cache::dir::PrivateDir;
use cctoken::config::{env, EnvLookup as _, ProcessEnv};
use cctoken::secret::AccessToken;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, SignalKind};

use super::session::Tokens;
use super::Globals;
use crate::consumer_env::{self, Consumer};
use crate::opts::ProfileOpts;

/// Arguments of `cctoken exec`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # a Newman run or a script, with the token in CCTOKEN_ACCESS_TOKEN
  cctoken exec -p genesys-prod -- ./deploy.sh

  # the Genesys CLI and Terraform provider read GENESYSCLOUD_ACCESS_TOKEN / GENESYSCLOUD_REGION
  cctoken exec -p genesys-prod -- terraform apply

  # a tool that wants its own variable name
  cctoken exec -p partner-api --env API_TOKEN -- ./sync

  # a job longer than a token's life: read the file every time
  cctoken exec -p genesys-prod -- sh -c 'while sleep 60; do curl -H \"Authorization: Bearer $(cat \"$CCTOKEN_TOKEN_FILE\")\" ...; done'

The command gets CCTOKEN_ACCESS_TOKEN (plus --env aliases), CCTOKEN_TOKEN_FILE (0600, replaced
atomically before the token expires), CCTOKEN_API_BASE when known and, for Genesys profiles,
GENESYSCLOUD_ACCESS_TOKEN and GENESYSCLOUD_REGION. Exit code: the command's (128+N if it died of
signal N); 3 or 4 if no token could be obtained.")]
pub struct ExecArgs {
    #[command(flatten)]
    pub profile: ProfileOpts,
    /// Also export the token under this variable name (repeatable).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Do not read or write the token cache.
    #[arg(long)]
    pub no_cache: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Run `cctoken exec`.
pub fn run(args: ExecArgs, globals: &Globals) -> anyhow::Result<i32> {
    for name in &args.env {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            anyhow::bail!(cctoken::Error::config(format!(
                "--env '{name}' is not a valid environment variable name"
            )));
        }
    }
    let tokens = Tokens::open(&args.profile, args.no_cache, globals)?;
    let rt = super::runtime()?;
    rt.block_on(supervise(args, tokens))
}

/// A private 0700 directory holding the token file; removed on drop.
///
/// Its parent (`XDG_RUNTIME_DIR`, else the temp dir) may be shared, so the directory gets a
/// random name, is created fresh (never reused) and then used only through its open handle
/// (see [`PrivateDir`]): a link planted there or inside it is never followed.
struct TokenDir {
    dir: PrivateDir,
    file: PathBuf,
}

/// The token file's name inside its directory.
const TOKEN_FILE: &str = "token";

impl TokenDir {
    fn create() -> anyhow::Result<Self> {
        let base = ProcessEnv
            .var_os(env::XDG_RUNTIME_DIR)
            .filter(|d| !d.is_empty() && Path::new(d).is_dir())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Self::create_in(&base)
    }

    fn create_in(base: &Path) -> anyhow::Result<Self> {
        let path = base.join(format!(
            "cctoken-exec-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let dir = PrivateDir::create_new(&path)?;
        let file = path.join(TOKEN_FILE);
        Ok(Self { dir, file })
    }

    /// Replace the token file atomically (a new 0600 temp file, renamed over it).
    fn write(&self, token: &AccessToken) -> anyhow::Result<()> {
        self.dir
            .write_atomic(TOKEN_FILE, token.expose_secret().as_bytes())
            .context("writing the token file")
    }
}

impl Drop for TokenDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

async fn supervise(args: ExecArgs, tokens: Tokens) -> anyhow::Result<i32> {
    let source = tokens.source();
    let token = match source.token().await {
        Ok(t) => t,
        Err(e) => return Ok(super::get::fail(&e, false)),
    };
    let api_base = tokens.api_base(&token).await.unwrap_or_else(|e| {
        tracing::warn!("could not find the API base: {e}");
        None
    });
    let dir = TokenDir::create()?;
    dir.write(&token.access_token)?;

    let (program, rest) = args
        .command
        .split_first()
        .context("no command given after --")?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest);
    let consumer = Consumer {
        access_token: &token.access_token,
        api_base: api_base.as_ref(),
        provider: tokens.kind(),
        region: tokens.region(),
    };
    for var in consumer_env::variables(&consumer, &[]) {
        cmd.env(var.name, var.value);
    }
    cmd.env(env::CCTOKEN_TOKEN_FILE, &dir.file);
    for name in &args.env {
        cmd.env(name, token.access_token.expose_secret());
    }
    // The child must not inherit our secrets.
    for var in [env::CCTOKEN_CLIENT_SECRET, env::CCTOKEN_ACCESS_KEY_SECRET] {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", program.to_string_lossy()))?;
    let pid = child.id().map(|p| Pid::from_raw(p as i32));

    let mut sigs = Vec::new();
    for (kind, sig) in [
        (SignalKind::interrupt(), Signal::SIGINT),
        (SignalKind::terminate(), Signal::SIGTERM),
        (SignalKind::hangup(), Signal::SIGHUP),
        (SignalKind::quit(), Signal::SIGQUIT),
        (SignalKind::user_defined1(), Signal::SIGUSR1),
        (SignalKind::user_defined2(), Signal::SIGUSR2),
    ] {
        sigs.push((signal(kind).context("installing signal handlers")?, sig));
    }
    let (fwd_tx, mut fwd_rx) = tokio::sync::mpsc::unbounded_channel::<Signal>();
    for (mut stream, sig) in sigs {
        let tx = fwd_tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        });
    }

    let mut current = token.access_token.clone();
    let poll = poll_interval(token.expires_in);
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.context("waiting for the command")?,
            Some(sig) = fwd_rx.recv() => {
                if let Some(pid) = pid {
                    let _ = kill(pid, sig);
                }
            }
            _ = ticker.tick() => {
                match source.token().await {
                    Ok(t) if t.access_token != current => {
                        if let Err(e) = dir.write(&t.access_token) {
                            tracing::warn!("could not refresh the token file: {e:#}");
                        } else {
                            tracing::info!(expires_in_s = t.remaining(std::time::SystemTime::now()).as_secs(), "token file refreshed");
                            current = t.access_token;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("token refresh failed (the command keeps the current token): {e}"),
                }
            }
        }
    };
    drop(dir);
    Ok(exit_code(status))
}

/// How often to check for a refreshed token: often enough for short-lived tokens.
fn poll_interval(lifetime: Duration) -> Duration {
    (lifetime / 40).clamp(Duration::from_millis(100), Duration::from_secs(15))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_token_directory_is_private_fresh_and_follows_no_link() {
        let base = tempfile::tempdir().unwrap();
        let victim = base.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let dir = TokenDir::create_in(base.path()).unwrap();
        let path = dir.dir.path().to_owned();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Links at the token file's name and at the temp name the old code used.
        std::os::unix::fs::symlink(&victim, path.join(".token.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, &dir.file).unwrap();
        dir.write(&AccessToken::new("tok-1")).unwrap();
        dir.write(&AccessToken::new("tok-2")).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&dir.file).unwrap(), b"tok-2");
        let mode = std::fs::metadata(&dir.file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(dir);
        assert!(!path.exists(), "removed on drop");
        assert!(victim.exists());
    }
}
