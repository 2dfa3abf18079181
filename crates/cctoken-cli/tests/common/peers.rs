//! Shared helpers for the interop tests against real third-party peers (SPEC §11).
//!
//! The peers (npm `oidc-provider`, `oauth2-mock-server`, `oauth4webapi`, `newman`; PyPI
//! `purecloudplatformclientv2`; Debian `redis-server`) are installed by `scripts/install-peers`
//! under `$CCTOKEN_PEERS_DIR` (default `<repo>/target/peers`); the small programs that drive
//! them live in `<repo>/tests-peers/`. A test whose peer is missing skips with a loud message,
//! or fails when `CCTOKEN_REQUIRE_PEERS=1` (CI sets it), so a green CI run cannot hide a
//! missing install step.
//!
//! Servers started here listen on loopback, port 0, and announce their base URL as the first
//! line of stdout; every wait is bounded and every child is killed when its guard drops. No
//! secret is ever put on a child's argv: pass secrets with [`std::process::Command::env`].
//!
//! Each test binary includes this file with `#[path = "common/peers.rs"] mod peers;` and uses a
//! part of it, hence the `dead_code` allowance. It deliberately knows nothing about OAuth: the
//! tests say what they expect.
#![allow(dead_code)]

use std::env;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[path = "http.rs"]
mod http;
// Each test binary uses a part of these (like the rest of this file).
#[allow(unused_imports)]
pub use http::{http_get, http_get_json, http_raw};

/// Environment variable that turns a missing peer from a skip into a failure.
pub const REQUIRE_PEERS_ENV: &str = "CCTOKEN_REQUIRE_PEERS";
/// Environment variable naming the directory `scripts/install-peers` installed into.
pub const PEERS_DIR_ENV: &str = "CCTOKEN_PEERS_DIR";
/// How long a server may take to print its base URL.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a one-shot client program (a `cctoken get`, a peer client) may run.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// Bounds of one HTTP exchange made by [`http_get`].
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
/// How much of a child's stderr is kept for failure messages.
const STDERR_KEEP: usize = 64 * 1024;

/// npm packages that `scripts/install-peers` installs under `node/node_modules`.
pub const NPM_PEERS: &[&str] = &[
    "oidc-provider",
    "oauth2-mock-server",
    "oauth4webapi",
    "newman",
];
/// The official Genesys Cloud Python SDK, installed in `venv/`.
pub const GENESYS_SDK: &str = "purecloudplatformclientv2";

/// The repository root (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .expect("crates/cctoken-cli has two ancestors")
        .to_path_buf()
}

/// Where the peers are installed: `$CCTOKEN_PEERS_DIR`, else `<repo>/target/peers`.
pub fn peers_dir() -> PathBuf {
    match env::var_os(PEERS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join("target").join("peers"),
    }
}

/// The helper programs that drive the peers: `<repo>/tests-peers`.
pub fn tests_peers_dir() -> PathBuf {
    repo_root().join("tests-peers")
}

/// True when a missing peer must fail the test (`CCTOKEN_REQUIRE_PEERS=1`).
pub fn peers_required() -> bool {
    env::var(REQUIRE_PEERS_ENV).is_ok_and(|v| v == "1")
}

/// Reports a missing peer: a loud skip message, or a panic when peers are required.
///
/// The message is written straight to the process's stderr, past libtest's output capture, so
/// that a skip is seen even when the test "passes".
pub fn missing_peer(name: &str, why: &str) {
    if peers_required() {
        panic!(
            "peer {name} is required ({REQUIRE_PEERS_ENV}=1) but {why}; \
             run scripts/install-peers (peers dir: {})",
            peers_dir().display()
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: peer {name} not installed ({why}); run scripts/install-peers"
    );
}

/// Finds an executable on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `node` that runs the npm peers: the one on `PATH`.
pub fn node_bin() -> Option<PathBuf> {
    which("node")
}

/// The Python of the peers' venv (`<peers>/venv/bin/python`).
pub fn venv_python() -> PathBuf {
    peers_dir().join("venv").join("bin").join("python")
}

/// Finds a program from Debian's packages on `PATH` (e.g. `gnome-keyring-daemon`), or reports
/// it missing (see [`missing_peer`]) and returns `None`.
pub fn require_peer_program(program: &str) -> Option<PathBuf> {
    let found = which(program);
    if found.is_none() {
        missing_peer(program, "it is not on PATH");
    }
    found
}

/// Locates a peer, or reports it missing (see [`missing_peer`]) and returns `None`.
///
/// Returns the package directory for npm peers, the venv's Python for the Genesys SDK and the
/// executable for `node` and `redis-server`.
pub fn require_peer(name: &str) -> Option<PathBuf> {
    match locate_peer(name) {
        Ok(path) => Some(path),
        Err(why) => {
            missing_peer(name, &why);
            None
        }
    }
}

fn locate_peer(name: &str) -> Result<PathBuf, String> {
    match name {
        "node" => node_bin().ok_or_else(|| "no node on PATH".to_string()),
        "redis-server" => which("redis-server").ok_or_else(|| "no redis-server on PATH".into()),
        GENESYS_SDK => {
            let python = venv_python();
            if !is_executable(&python) {
                return Err(format!("no venv python at {}", python.display()));
            }
            let lib = peers_dir().join("venv").join("lib");
            let installed = std::fs::read_dir(&lib)
                .map_err(|e| format!("cannot read {}: {e}", lib.display()))?
                .filter_map(Result::ok)
                .any(|d| {
                    d.path()
                        .join("site-packages")
                        .join("PureCloudPlatformClientV2")
                        .is_dir()
                });
            if installed {
                Ok(python)
            } else {
                Err(format!(
                    "PureCloudPlatformClientV2 not in {}",
                    lib.display()
                ))
            }
        }
        npm if NPM_PEERS.contains(&npm) => {
            node_bin().ok_or_else(|| "no node on PATH".to_string())?;
            let dir = peers_dir().join("node").join("node_modules").join(npm);
            if dir.join("package.json").is_file() {
                Ok(dir)
            } else {
                Err(format!(
                    "{} does not exist",
                    dir.join("package.json").display()
                ))
            }
        }
        other => panic!("unknown peer {other:?}; add it to scripts/install-peers and here"),
    }
}

/// A `node tests-peers/<script>` command, when node and the npm `package` are installed.
///
/// The script finds the packages through `CCTOKEN_PEERS_DIR`; with
/// `CCTOKEN_EXIT_WITH_STDIN=1` a server script exits when our end of its stdin closes, so it
/// cannot outlive the test even if the test process dies.
pub fn node_script(script: &str, package: &str) -> Option<Command> {
    require_peer(package)?;
    let node = require_peer("node")?;
    let mut cmd = Command::new(node);
    cmd.arg(tests_peers_dir().join(script))
        .env(PEERS_DIR_ENV, peers_dir())
        .env("CCTOKEN_EXIT_WITH_STDIN", "1")
        .env_remove("NODE_OPTIONS");
    isolate_network_env(&mut cmd);
    Some(cmd)
}

/// A `<venv python> tests-peers/<script>` command, when the Genesys SDK is installed.
///
/// HOME points at `home`: the SDK reads `~/.genesyscloudpython/config`, which must not leak
/// into a test.
pub fn python_script(script: &str, home: &Path) -> Option<Command> {
    let python = require_peer(GENESYS_SDK)?;
    let mut cmd = Command::new(python);
    cmd.arg(tests_peers_dir().join(script))
        .env("HOME", home)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH");
    isolate_network_env(&mut cmd);
    Some(cmd)
}

/// Removes proxy settings so that loopback requests never go anywhere else.
pub fn isolate_network_env(cmd: &mut Command) {
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1");
}

/// A long-running child that announced its base URL; killed (and reaped) on drop.
///
/// The child's stdin stays open while the guard lives (see [`node_script`]).
pub struct PeerProcess {
    name: String,
    child: Child,
    url: String,
    stderr: Arc<Mutex<String>>,
    // Held open so that a child watching its stdin sees EOF only when we are gone.
    _stdin: Option<ChildStdin>,
}

impl PeerProcess {
    /// Spawns `cmd` and waits (at most [`START_TIMEOUT`]) for the base URL on its first
    /// stdout line. Panics with the child's stderr when it exits or stays silent instead.
    pub fn start(name: &str, cmd: Command) -> PeerProcess {
        let mut first = true;
        Self::start_until(name, cmd, |line| {
            let announced = std::mem::take(&mut first);
            let line = line.trim();
            if line.starts_with("http://") || line.starts_with("https://") {
                Some(Ok(line.trim_end_matches('/').to_string()))
            } else if announced {
                Some(Err(format!(
                    "first stdout line is not a base URL: {line:?}"
                )))
            } else {
                None
            }
        })
    }

    /// Spawns `cmd` and feeds its stdout lines to `ready` until it returns `Some(Ok(url))`
    /// (ready, at that URL) or `Some(Err(why))` (failed), within [`START_TIMEOUT`] in all.
    /// For servers that announce readiness in their own words (e.g. `redis-server`).
    pub fn start_until(
        name: &str,
        mut cmd: Command,
        mut ready: impl FnMut(&str) -> Option<Result<String, String>>,
    ) -> PeerProcess {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({:?}): {e}", cmd.get_program()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(String::new()));

        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            // Keeps draining after the receiver is gone, so the child never blocks on a full
            // pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let mut kept = sink.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() < STDERR_KEEP {
                    kept.push_str(&line);
                    kept.push('\n');
                }
            }
        });

        // From here on, a panic drops the guard, which kills the child.
        let mut process = PeerProcess {
            name: name.to_string(),
            child,
            url: String::new(),
            stderr,
            _stdin: stdin,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if seen.len() < STDERR_KEEP {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                    match ready(&line) {
                        Some(Ok(url)) => {
                            process.url = url;
                            return process;
                        }
                        Some(Err(why)) => panic!(
                            "{name}: {why}\nstdout:\n{seen}stderr:\n{}",
                            process.wait_stderr()
                        ),
                        None => {}
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                    "{name} exited before it was ready ({:?})\nstdout:\n{seen}stderr:\n{}",
                    process.child.wait().ok(),
                    process.wait_stderr()
                ),
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "{name} was not ready within {START_TIMEOUT:?}\nstdout:\n{seen}stderr:\n{}",
                    process.wait_stderr()
                ),
            }
        }
    }

    /// The base URL the child announced, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The child's process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (polling, at most `timeout`) for the child to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// What the child wrote on stderr so far (bounded).
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits (bounded) until the child's stderr contains `needle`; true when it did.
    ///
    /// Servers log asynchronously to the response, so a test that checks the log right after
    /// a request polls here instead of sleeping a fixed time.
    pub fn stderr_eventually_contains(&self, needle: &str) -> bool {
        for _ in 0..200 {
            if self.stderr().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(25));
        }
        false
    }

    fn wait_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The reader thread ends at EOF right after the kill; give it a bounded moment.
        for _ in 0..40 {
            if Arc::strong_count(&self.stderr) == 1 {
                break;
            }
            thread::sleep(Duration::from_millis(25));
        }
        self.stderr()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // SIGKILL cannot be ignored, so the wait that reaps it is bounded in practice.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "--- stderr of {} ({}) ---\n{}--- end ---",
                self.name,
                self.url,
                self.stderr()
            );
        }
    }
}

/// Starts a real `redis-server` on 127.0.0.1 (no persistence, data in `dir`) when it is
/// installed; the URL is `redis://127.0.0.1:PORT/0`.
///
/// redis-server cannot announce a port it chose itself (`--port 0` turns TCP off), so a free
/// port is taken from the kernel and released just before the server binds it; a lost race
/// shows up as a start failure naming the port, not as a hang.
pub fn start_redis(dir: &Path) -> Option<PeerProcess> {
    let redis = require_peer("redis-server")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut cmd = Command::new(redis);
    cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ])
        .arg("--dir")
        .arg(dir)
        .args(["--loglevel", "notice", "--logfile", ""]);
    let url = format!("redis://127.0.0.1:{port}/0");
    Some(PeerProcess::start_until("redis-server", cmd, move |line| {
        if line.contains("Ready to accept connections") {
            Some(Ok(url.clone()))
        } else if line.contains("# Warning: Could not create server TCP listening socket")
            || line.contains("Address already in use")
        {
            Some(Err(format!("cannot listen on 127.0.0.1:{port}: {line}")))
        } else {
            None
        }
    }))
}

/// Path of the `cctoken` binary under test.
pub fn cctoken_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin!("cctoken").to_path_buf()
}

/// Clears what could make a `cctoken` child read the developer's own setup.
fn isolate_cctoken_env(cmd: &mut Command, home: &Path) {
    let vars: Vec<String> = env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("CCTOKEN_") || k.starts_with("GENESYSCLOUD_"))
        .collect();
    for var in vars {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env_remove("RUST_LOG");
    isolate_network_env(cmd);
}

/// Starts `cctoken emulator --listen 127.0.0.1:0 ARGS...` and waits for its base URL.
pub fn start_emulator(args: &[&str], home: &Path) -> PeerProcess {
    let mut cmd = Command::new(cctoken_bin());
    cmd.arg("emulator")
        .args(["--listen", "127.0.0.1:0"])
        .args(args);
    isolate_cctoken_env(&mut cmd, home);
    PeerProcess::start(&format!("cctoken emulator {}", args.join(" ")), cmd)
}

/// A `cctoken ARGS...` command isolated from the user's config, cache and environment.
pub fn cctoken_cmd<I, S>(args: I, home: &Path) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(cctoken_bin());
    cmd.args(args);
    isolate_cctoken_env(&mut cmd, home);
    cmd
}

/// Runs a one-shot command to completion, killed after [`RUN_TIMEOUT`].
pub fn run(cmd: Command) -> Output {
    let program = format!("{:?}", cmd.get_program());
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(RUN_TIMEOUT);
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Describes an [`Output`] for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Parses stdout as one JSON document, with a useful panic message when it is not.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(output.stdout.trim_ascii())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", describe(output)))
}
