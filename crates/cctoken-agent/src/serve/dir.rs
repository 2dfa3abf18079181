//! The agent's runtime directory and the two files in it, the socket and the key file,
//! made so that another local user cannot redirect or read them.
//!
//! The directory (`$XDG_RUNTIME_DIR/cctoken`, or the `--socket` parent) is opened once,
//! with `O_NOFOLLOW`, and checked on the open handle: a symbolic link, a directory owned by
//! another user, or one that others may write to is refused with an error that says what
//! to do. A directory the agent creates is made 0700 through its handle; one it did not
//! create is never chmodded. Inside, everything goes through the handle: the key file is
//! written to a fresh, randomly named temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`,
//! 0600) and renamed into place, so a planted symlink is replaced, never followed; a stale
//! socket is removed only when it is a socket of ours that nobody answers on.
//!
//! Only the last path component is protected against symlinks: the directories above it
//! are the user's choice. What this cannot stop is root.

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat, CWD};
use tokio::net::UnixListener;

use super::{io, SetupError};
use crate::guard::AgentKey;

/// Mode bits that let the group or others write into a directory.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// An opened, checked runtime directory.
pub(super) struct RuntimeDir {
    path: PathBuf,
    fd: OwnedFd,
}

fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

impl RuntimeDir {
    /// Open `dir`, creating it (0700) and its missing parents when needed; refuse a
    /// symlink, a non-directory, a directory of another user, or one others can write to.
    pub(super) fn open(dir: &Path) -> Result<Self, SetupError> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(io("creating the socket directory", parent))?;
            }
        }
        let created = match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io("creating the socket directory", dir)(e)),
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(CWD, dir, flags, Mode::empty()).map_err(|e| {
            match std::fs::symlink_metadata(dir) {
                Ok(m) if m.file_type().is_symlink() => SetupError::Symlink(dir.to_path_buf()),
                Ok(m) if !m.is_dir() => SetupError::NotADirectory(dir.to_path_buf()),
                _ => io("opening the socket directory", dir)(e.into()),
            }
        })?;
        let st = rustix::fs::fstat(&fd).map_err(|e| io("inspecting", dir)(e.into()))?;
        if st.st_uid != me() {
            return Err(SetupError::ForeignOwner {
                path: dir.to_path_buf(),
                owner: st.st_uid,
                me: me(),
            });
        }
        if created {
            // Ours: exactly 0700, whatever the umask left of it; through the handle.
            rustix::fs::fchmod(&fd, Mode::RWXU)
                .map_err(|e| io("restricting the socket directory", dir)(e.into()))?;
        } else if st.st_mode & WRITABLE_BY_OTHERS != 0 {
            return Err(SetupError::OpenToOthers {
                path: dir.to_path_buf(),
                mode: st.st_mode & 0o7777,
            });
        }
        Ok(Self {
            path: dir.to_path_buf(),
            fd,
        })
    }

    fn stat(&self, name: &OsStr) -> std::io::Result<Option<Stat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Bind a Unix socket `name` in this directory with mode 0600 from the start,
    /// replacing a stale socket of ours but never a live agent's or anything else. Must
    /// be called inside a Tokio runtime.
    pub(super) fn bind(&self, name: &OsStr) -> Result<UnixListener, SetupError> {
        let path = self.path.join(name);
        match self.stat(name).map_err(io("inspecting", &path))? {
            None => {}
            Some(st) if FileType::from_raw_mode(st.st_mode) != FileType::Socket => {
                return Err(SetupError::NotASocket(path));
            }
            Some(st) if st.st_uid != me() => {
                return Err(SetupError::ForeignOwner {
                    path,
                    owner: st.st_uid,
                    me: me(),
                });
            }
            Some(_) => {
                if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                    return Err(SetupError::InUse(path));
                }
                rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
                    .map_err(|e| io("removing the stale socket", &path)(e.into()))?;
            }
        }
        // A socket can only be bound by path. The umask makes it 0600 at creation (no
        // window in which others could connect, no chmod by path afterwards); the checks
        // below make sure it landed in the directory we checked.
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
            return Err(SetupError::Moved(self.path.clone()));
        }
        Ok(listener)
    }

    /// True when the directory's path still names the directory we opened.
    fn still_at_its_path(&self) -> bool {
        let (Ok(now), Ok(ours)) = (
            rustix::fs::statat(CWD, &self.path, AtFlags::SYMLINK_NOFOLLOW),
            rustix::fs::fstat(&self.fd),
        ) else {
            return false;
        };
        (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)
    }

    /// Write `key` to `name` in this directory, 0600: a new temporary file with a random
    /// name, never following a link, renamed into place.
    pub(super) fn write_key(&self, name: &OsStr, key: &AgentKey) -> Result<(), SetupError> {
        let path = self.path.join(name);
        let tmp = format!(".{}.{}.tmp", name.to_string_lossy(), random_suffix());
        let tmp_path = self.path.join(&tmp);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, &tmp, flags, Mode::RUSR | Mode::WUSR)
            .map_err(|e| io("writing the key file", &tmp_path)(e.into()))?;
        let mut f = std::fs::File::from(fd);
        let written = f
            .write_all(key.expose_secret().as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .and_then(|()| {
                rustix::fs::renameat(&self.fd, &tmp, &self.fd, name).map_err(Into::into)
            });
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
            return Err(io("writing the key file", &path)(e));
        }
        Ok(())
    }
}

/// 16 random hex digits: a temporary name nobody can plant a link at in advance.
fn random_suffix() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
