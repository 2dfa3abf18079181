//! `cctoken exec`: run a command with a fresh token in its environment and in a file that
//! is kept fresh for as long as the command runs.
//!
//! The environment cannot be changed under a running process, so jobs that outlive one
//! token read `CCTOKEN_TOKEN_FILE`, which is replaced by atomic rename as soon as the
//! [`TokenSource`](cctoken::source::TokenSource) has refreshed ahead. Signals are
//! forwarded, the exit code is propagated, and the file and its directory are removed
//! afterwards (or by the next `exec`, when this one was killed). The variables are the ones
//! every consumer gets ([`crate::consumer_env`]), plus the file and the `--env` aliases;
//! the secrets cctoken read are not passed on.
//!
//! The parts: [`tokendir`] (the private directory and the sweep of left-over ones),
//! [`child`] (starting the command: environment, parent-death signal, exit codes) and
//! [`supervise`] (the loop, the refresher and the writer thread).

mod child;
mod supervise;
mod tokendir;

use std::ffi::OsString;

use anyhow::Context as _;
use cctoken::config::{env, ProcessEnv};
use nix::sys::signal::Signal;
use tokio::signal::unix::{signal, SignalKind};

use super::session::Tokens;
use super::Globals;
use crate::consumer_env::{self, Consumer};
use crate::opts::ProfileOpts;

pub use child::{trampoline, TRAMPOLINE};
use supervise::Handoff;
use tokendir::TokenDir;

/// Arguments of `cctoken exec`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # a Newman run or a script, with the token in CCTOKEN_ACCESS_TOKEN
  cctoken exec -p genesys-prod -- ./deploy.sh

  # the Genesys CLI and Terraform read GENESYSCLOUD_ACCESS_TOKEN and _REGION
  cctoken exec -p genesys-prod -- terraform apply

  # a tool that wants its own variable name
  cctoken exec -p partner-api --env API_TOKEN -- ./sync

  # a job longer than a token's life: read the file every time
  cctoken exec -p genesys-prod -- sh -c 'while sleep 60; do
      curl -H \"Authorization: Bearer $(cat \"$CCTOKEN_TOKEN_FILE\")\" ...; done'

The command gets CCTOKEN_ACCESS_TOKEN (plus --env aliases), CCTOKEN_TOKEN_FILE
(0600, replaced atomically before the token expires), CCTOKEN_API_BASE when
known and, for Genesys profiles, GENESYSCLOUD_ACCESS_TOKEN and
GENESYSCLOUD_REGION; not the variables cctoken read secrets from. If cctoken is
killed, the command gets SIGTERM (Linux). Exit code: the command's (128+N if it
died of signal N); 127 if it was not found, 126 if it could not be executed; 3
or 4 if no token could be obtained.")]
pub struct ExecArgs {
    /// Also export the token under this variable name (repeatable). Names the command
    /// needs for something else (PATH, HOME, LD_*, cctoken's own, ...) are refused.
    #[arg(long = "env", value_name = "NAME", value_parser = alias_name)]
    pub env: Vec<String>,
    /// Do not read or write the token cache.
    #[arg(long)]
    pub no_cache: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
    // After the command's own flags: a flattened group's heading (`Profile and
    // credentials`) covers everything declared after it in `--help`.
    #[command(flatten)]
    pub profile: ProfileOpts,
}

/// `--env NAME`, checked at the edge ([`env::alias_problem`]).
fn alias_name(name: &str) -> Result<String, String> {
    match env::alias_problem(name) {
        Some(problem) => Err(problem),
        None => Ok(name.to_owned()),
    }
}

/// Run `cctoken exec`.
pub fn run(args: ExecArgs, globals: &Globals) -> anyhow::Result<i32> {
    let tokens = Tokens::open(&args.profile, args.no_cache, globals)?;
    let rt = super::runtime()?;
    rt.block_on(run_command(args, tokens))
}

/// The signals forwarded to the command.
const FORWARDED: [(fn() -> SignalKind, Signal); 6] = [
    (SignalKind::interrupt, Signal::SIGINT),
    (SignalKind::terminate, Signal::SIGTERM),
    (SignalKind::hangup, Signal::SIGHUP),
    (SignalKind::quit, Signal::SIGQUIT),
    (SignalKind::user_defined1, Signal::SIGUSR1),
    (SignalKind::user_defined2, Signal::SIGUSR2),
];

async fn run_command(args: ExecArgs, tokens: Tokens) -> anyhow::Result<i32> {
    let source = tokens.source();
    let token = match source.token().await {
        Ok(t) => t,
        Err(e) => return Ok(super::get::fail(&e, false)),
    };
    let api_base = tokens.api_base(&token).await.unwrap_or_else(|e| {
        tracing::warn!("could not find the API base: {e}");
        None
    });
    let dir = TokenDir::create_in(&env::exec_dir(&ProcessEnv))?;
    dir.write(&token.access_token)?;
    tracing::debug!(dir = %dir.path().display(), "token file written");
    let handoff = Handoff::start(dir.sink()?).context("starting the token file writer")?;

    let (program, rest) = args
        .command
        .split_first()
        .context("no command given after --")?;
    let mut cmd = child::command(program, rest);
    let consumer = Consumer {
        access_token: &token.access_token,
        api_base: api_base.as_ref(),
        provider: tokens.kind(),
        region: tokens.region(),
    };
    // Secrets out first: a variable the command is given may share a secret's name.
    child::remove_secrets(&mut cmd, tokens.secret_vars());
    for var in consumer_env::variables(&consumer, &[]) {
        cmd.env(var.name, var.value);
    }
    cmd.env(env::CCTOKEN_TOKEN_FILE, &dir.file);
    for name in &args.env {
        cmd.env(name, token.access_token.expose_secret());
    }
    // Handlers before the command starts: a signal sent right after is forwarded.
    let (fwd_tx, mut fwd_rx) = tokio::sync::mpsc::unbounded_channel::<Signal>();
    for (kind, sig) in FORWARDED {
        let mut stream = signal(kind()).context("installing signal handlers")?;
        let tx = fwd_tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        });
    }
    let mut running = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ok(child::spawn_failure(program, &e)),
    };
    let status = supervise::supervise(
        &mut running,
        &source,
        token.access_token.clone(),
        &handoff,
        &mut fwd_rx,
    )
    .await
    .context("waiting for the command")?;
    tracing::debug!(
        tokens_handed_to_the_file = handoff.handed(),
        "the command exited"
    );
    drop(handoff);
    drop(dir);
    Ok(child::exit_code(status))
}
