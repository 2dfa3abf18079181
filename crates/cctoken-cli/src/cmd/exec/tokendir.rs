//! `exec`'s token directory: one private directory per running `exec`, holding the token
//! file its command reads, under a directory of cctoken's own
//! ([`cctoken::config::env::exec_dir`]).
//!
//! The directory is removed when `exec` ends. An `exec` that was killed (`SIGKILL`, the
//! OOM killer, a crash) cannot remove it, so every `exec` first sweeps the directories of
//! `exec`s that are gone: a directory is named `PID-RANDOM`, and its owner holds an
//! exclusive `flock` on its `lock` file for as long as it runs (the kernel releases it when
//! the process dies, however it dies). A directory whose lock can be taken *and* whose
//! process no longer exists is left over and removed; one whose owner is alive — or still
//! creating it, or in another PID namespace that shares the directory — is left alone.
//!
//! Everything goes through [`PrivateDir`]: the parent is created 0700 (or refused when it
//! is a link, another user's, or open to others), and files are created relative to the
//! open directory without following links. What this module does not do: write the token
//! in the background — that is the supervisor's writer ([`super::supervise`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cctoken::cache::dir::PrivateDir;
use cctoken::secret::AccessToken;

use super::supervise::TokenSink;

/// The token file's name inside its directory.
pub const TOKEN_FILE: &str = "token";
/// The lock file its owner holds while it runs.
const LOCK_FILE: &str = "lock";

/// A private 0700 directory holding the token file; removed on drop.
pub struct TokenDir {
    dir: PrivateDir,
    /// The token file's path, for the command (`CCTOKEN_TOKEN_FILE`).
    pub file: PathBuf,
    /// Held for as long as this `exec` runs (see the module docs).
    _lock: File,
}

impl TokenDir {
    /// A fresh directory under `root` (created 0700 if missing), after sweeping the ones
    /// that killed `exec`s left behind.
    pub fn create_in(root: &Path) -> anyhow::Result<Self> {
        let parent = PrivateDir::open_or_create(root)?;
        let swept = sweep(&parent);
        if swept > 0 {
            tracing::info!(
                count = swept,
                dir = %root.display(),
                "removed token directories left behind by exec processes that were killed"
            );
        }
        let name = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        let path = root.join(name);
        let dir = PrivateDir::create_new(&path)?;
        let lock = dir
            .open_lock(LOCK_FILE)
            .with_context(|| format!("creating the lock file in {}", path.display()))?;
        lock.try_lock()
            .with_context(|| format!("locking {}", path.join(LOCK_FILE).display()))?;
        Ok(Self {
            dir,
            file: path.join(TOKEN_FILE),
            _lock: lock,
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A writer of this directory's token file, for the supervisor's writer thread.
    pub fn sink(&self) -> anyhow::Result<FileSink> {
        let dir = PrivateDir::open_or_create(self.dir.path())?;
        Ok(FileSink { dir })
    }

    /// Replace the token file atomically (a new 0600 temp file renamed over it), without
    /// a sync: readers need atomicity, not durability across a reboot.
    pub fn write(&self, token: &AccessToken) -> anyhow::Result<()> {
        write_token(&self.dir, token)
    }
}

fn write_token(dir: &PrivateDir, token: &AccessToken) -> anyhow::Result<()> {
    dir.replace(TOKEN_FILE, token.expose_secret().as_bytes())
        .context("writing the token file")
}

impl Drop for TokenDir {
    fn drop(&mut self) {
        // std's remove_dir_all does not follow links inside (CVE-2022-21658 fixed in 1.58).
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

/// The token file written from the supervisor's writer thread (its own handle on the
/// directory, so the thread owns everything it touches).
pub struct FileSink {
    dir: PrivateDir,
}

impl TokenSink for FileSink {
    fn store(&mut self, token: &AccessToken) -> anyhow::Result<()> {
        write_token(&self.dir, token)
    }
}

/// Remove the directories under `parent` whose `exec` is gone; how many were removed.
fn sweep(parent: &PrivateDir) -> usize {
    let Ok(entries) = std::fs::read_dir(parent.path()) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let path = entry.path();
        // Not a link (O_NOFOLLOW), ours and private, or it is not ours to remove.
        let Ok(dir) = PrivateDir::open_or_create(&path) else {
            continue;
        };
        let Ok(lock) = dir.open_lock(LOCK_FILE) else {
            continue;
        };
        if lock.try_lock().is_err() {
            continue; // its owner still runs (in another PID namespace)
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The PID in a token directory's name (`PID-16 hex digits`).
fn owner_pid(name: &str) -> Option<i32> {
    let (pid, random) = name.split_once('-')?;
    if random.len() != 16 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    pid.parse().ok().filter(|p| *p > 0)
}

/// Whether process `pid` exists (a zombie counts: its parent has not seen it end yet).
fn alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => true,
        Err(_) => false,
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
        let root = base.path().join("run/cctoken/exec");
        let dir = TokenDir::create_in(&root).unwrap();
        let path = dir.path().to_owned();
        for p in [&root, &path] {
            let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", p.display());
        }
        // Links at the token file's name and at the temp name the old code used.
        std::os::unix::fs::symlink(&victim, path.join(".token.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, &dir.file).unwrap();
        dir.write(&AccessToken::new("tok-1")).unwrap();
        let mut sink = dir.sink().unwrap();
        sink.store(&AccessToken::new("tok-2")).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&dir.file).unwrap(), b"tok-2");
        let mode = std::fs::metadata(&dir.file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(dir);
        assert!(!path.exists(), "removed on drop");
        assert!(victim.exists());
    }

    #[test]
    fn directories_of_killed_execs_are_swept_and_live_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("exec");
        let live = TokenDir::create_in(&root).unwrap();
        live.write(&AccessToken::new("live")).unwrap();
        // A killed exec's directory: a PID that no longer exists, its lock free.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = gone.id();
        gone.wait().unwrap();
        let stale = root.join(format!("{dead_pid}-00000000deadbeef"));
        std::fs::create_dir(&stale).unwrap();
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(stale.join(TOKEN_FILE), b"left-behind").unwrap();
        std::fs::write(stale.join(LOCK_FILE), b"").unwrap();
        // Killed before it made its lock file: swept too.
        let bare = root.join(format!("{dead_pid}-00000000cafef00d"));
        std::fs::create_dir(&bare).unwrap();
        std::fs::set_permissions(&bare, std::fs::Permissions::from_mode(0o700)).unwrap();
        // A live PID (this test) whose directory this process is still creating: kept.
        let creating = root.join(format!("{}-0000000000000001", std::process::id()));
        std::fs::create_dir(&creating).unwrap();
        std::fs::set_permissions(&creating, std::fs::Permissions::from_mode(0o700)).unwrap();
        // Names that are not token directories are not cctoken's to remove.
        let other = root.join("notes");
        std::fs::write(&other, b"x").unwrap();
        // A link planted under a token directory's name is not followed.
        let victim = base.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("file"), b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, root.join(format!("{dead_pid}-0000000000000bad")))
            .unwrap();

        let next = TokenDir::create_in(&root).unwrap();
        assert!(!stale.exists(), "the killed exec's token file is gone");
        assert!(!bare.exists());
        assert!(creating.exists(), "a live owner's directory is kept");
        assert!(live.path().exists(), "a running exec's directory is kept");
        assert_eq!(std::fs::read(&live.file).unwrap(), b"live");
        assert!(other.exists());
        assert_eq!(std::fs::read(victim.join("file")).unwrap(), b"precious");
        drop(next);
        drop(live);
    }

    #[test]
    fn names_of_token_directories() {
        assert_eq!(owner_pid("123-00000000deadbeef"), Some(123));
        for not in [
            "123",
            "x-00000000deadbeef",
            "0-00000000deadbeef",
            "1-abc",
            "1-zzzzzzzzzzzzzzzz",
        ] {
            assert_eq!(owner_pid(not), None, "{not}");
        }
    }
}
