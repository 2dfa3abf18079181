//! The agent's runtime directory and the two files in it, the socket and the key file,
//! made so that another local user cannot redirect or read them.
//!
//! The directory (`$XDG_RUNTIME_DIR/cctoken`, or the `--socket` parent) is a
//! [`PrivateDir`], the cache's own: opened once with `O_NOFOLLOW` and checked on the open
//! handle (a directory of this user that group and others cannot access), created 0700
//! when missing, never chmodded when found. Inside, everything goes through the handle:
//! the key file is written to a fresh, randomly named temporary file (`O_CREAT | O_EXCL |
//! O_NOFOLLOW`, 0600) and renamed into place, so a planted symlink is replaced, never
//! followed; a stale socket is removed only when it is a socket of ours that nobody
//! answers on.
//!
//! A socket can only be bound by path. It is created 0600 under a narrowed umask (no
//! window in which others could connect, no chmod by path afterwards) and then checked on
//! the handle: a socket of ours, in the directory we opened.

use std::os::fd::AsFd as _;

use cctoken::cache::dir::PrivateDir;
use rustix::fs::{AtFlags, FileType, Stat, CWD};
use tokio::net::UnixListener;

use super::{io, SetupError};
use crate::guard::AgentKey;

/// What else a user can do about a refused runtime directory.
const ELSEWHERE: &str = "give --socket PATH in a directory of your own";

/// An opened, checked runtime directory.
pub(super) struct RuntimeDir(PrivateDir);

fn me() -> u32 {
    rustix::process::geteuid().as_raw()
}

impl RuntimeDir {
    /// Open `dir`, creating it (0700) and its missing parents when needed; refuse a
    /// symlink, a non-directory, a directory of another user, or one others can access.
    pub(super) fn open(dir: &std::path::Path) -> Result<Self, SetupError> {
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        PrivateDir::open_or_create_with(dir, ELSEWHERE)
            .map(Self)
            .map_err(SetupError::Directory)
    }

    fn stat(&self, name: &str) -> std::io::Result<Option<Stat>> {
        match rustix::fs::statat(self.0.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Bind a Unix socket `name` in this directory with mode 0600 from the start,
    /// replacing a stale socket of ours but never a live agent's or anything else. Must
    /// be called inside a Tokio runtime.
    pub(super) fn bind(&self, name: &str) -> Result<UnixListener, SetupError> {
        let path = self.0.path().join(name);
        match self.stat(name).map_err(io("inspecting", &path))? {
            None => {}
            Some(st) if FileType::from_raw_mode(st.st_mode) != FileType::Socket => {
                return Err(SetupError::NotASocket(path));
            }
            Some(st) if st.st_uid != me() => {
                return Err(SetupError::ForeignSocket {
                    path,
                    owner: st.st_uid,
                });
            }
            Some(_) => {
                if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                    return Err(SetupError::InUse(path));
                }
                self.0
                    .remove(name)
                    .map_err(io("removing the stale socket", &path))?;
            }
        }
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let bound = UnixListener::bind(&path);
        nix::sys::stat::umask(old);
        let listener = bound.map_err(io("binding the socket", &path))?;
        let landed = self.stat(name).ok().flatten().is_some_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::Socket
                && st.st_uid == me()
                && st.st_mode & 0o077 == 0
        });
        if !landed || !self.still_at_its_path() {
            return Err(SetupError::Moved(self.0.path().to_path_buf()));
        }
        Ok(listener)
    }

    /// True when the directory's path still names the directory we opened.
    fn still_at_its_path(&self) -> bool {
        let (Ok(now), Ok(ours)) = (
            rustix::fs::statat(CWD, self.0.path(), AtFlags::SYMLINK_NOFOLLOW),
            rustix::fs::fstat(self.0.as_fd()),
        ) else {
            return false;
        };
        (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)
    }

    /// Write `key` to `name` in this directory, 0600: a new temporary file with a random
    /// name, never following a link, renamed into place.
    pub(super) fn write_key(&self, name: &str, key: &AgentKey) -> Result<(), SetupError> {
        let line = format!("{}\n", key.expose_secret());
        self.0
            .write_atomic(name, line.as_bytes())
            .map_err(io("writing the key file", &self.0.path().join(name)))
    }
}
