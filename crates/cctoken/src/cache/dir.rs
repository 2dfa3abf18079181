//! A private directory, opened once and then used only through its handle: the disk cache's
//! `cctoken` directory and `cctoken exec`'s token directory.
//!
//! A path under a parent that others can write (a shared `XDG_CACHE_HOME`, `/tmp`) can be a
//! symbolic link planted by another user, or be swapped between a check and a use. So the
//! directory is opened once with `O_DIRECTORY | O_NOFOLLOW` and checked on the open handle —
//! a directory, owned by this user, no access for group or others — and every file is then
//! read, created, renamed and removed relative to that handle (`openat`, `renameat`,
//! `unlinkat`) with `O_NOFOLLOW`; temp files get a random name and `O_CREAT | O_EXCL`. A
//! symbolic link planted at any name inside is never followed, and a swap of the path after
//! the open changes nothing this process writes.
//!
//! A directory cctoken creates is 0700 from its `mkdir` on. One it finds is never chmodded:
//! a wrong one is refused with an error that names it and says what to do (the CLI then goes
//! on without the cache). Deliberately not checked: the parents — a symlinked
//! `XDG_CACHE_HOME` is the user's own choice — and what the files hold (the stores' business).
//!
//! Built on `rustix`: safe wrappers whose `openat` returns an `OwnedFd`. (`nix` 0.29's returns
//! a raw descriptor that only `unsafe` code can own, and the workspace forbids unsafe code.)

use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;

/// Largest file [`PrivateDir::read`] returns whole; a bigger one is cut there (and then fails
/// to parse, which its store treats as corrupt).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

const PRIVATE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// What else a user can do about a refused cache directory (see
/// [`PrivateDir::open_or_create_with`]).
pub const CACHE_ELSEWHERE: &str = "point XDG_CACHE_HOME at a directory of your own";

/// A directory only this user can use, held open.
#[derive(Debug)]
pub struct PrivateDir {
    fd: OwnedFd,
    path: PathBuf,
}

fn refused(path: &Path, why: &str, fix: &str) -> Error {
    Error::config(format!(
        "refusing the directory {}: {why}; {fix}",
        path.display()
    ))
}

fn io_error(what: &str, path: &Path, e: impl Into<io::Error>) -> Error {
    Error::config(format!("cannot {what} {}: {}", path.display(), e.into()))
}

fn open_dir(path: &Path) -> rustix::io::Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

impl PrivateDir {
    /// Open the directory at `path`, creating it (0700, and its missing parents 0700) when it
    /// does not exist. Refused: a symbolic link, not a directory, another user's directory,
    /// one that group or others can access.
    pub fn open_or_create(path: &Path) -> Result<Self, Error> {
        Self::open_or_create_with(path, CACHE_ELSEWHERE)
    }

    /// [`PrivateDir::open_or_create`] whose refusals end with `elsewhere`, what else the
    /// user can do ("give --socket PATH in a directory of your own").
    pub fn open_or_create_with(path: &Path, elsewhere: &str) -> Result<Self, Error> {
        match open_dir(path) {
            Ok(fd) => Self::checked(fd, path, elsewhere),
            Err(Errno::NOENT) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(PRIVATE)
                        .create(parent)
                        .map_err(|e| io_error("create", parent, e))?;
                }
                match rustix::fs::mkdir(path, Mode::from_raw_mode(PRIVATE)) {
                    // Another process may have created it a moment ago: it is checked below.
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(io_error("create", path, e)),
                }
                let fd = open_dir(path).map_err(|e| Self::open_failed(path, e, elsewhere))?;
                Self::checked(fd, path, elsewhere)
            }
            Err(e) => Err(Self::open_failed(path, e, elsewhere)),
        }
    }

    /// Create the directory at `path` (0700), failing if anything exists there already.
    pub fn create_new(path: &Path) -> Result<Self, Error> {
        rustix::fs::mkdir(path, Mode::from_raw_mode(PRIVATE))
            .map_err(|e| io_error("create", path, e))?;
        let fd = open_dir(path).map_err(|e| Self::open_failed(path, e, CACHE_ELSEWHERE))?;
        Self::checked(fd, path, CACHE_ELSEWHERE)
    }

    /// Why `path` could not be opened as a directory without following a link.
    fn open_failed(path: &Path, e: Errno, elsewhere: &str) -> Error {
        let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        match e {
            Errno::NOTDIR | Errno::LOOP if link => refused(
                path,
                "it is a symbolic link (another user may have planted it)",
                &format!("remove the link (cctoken creates its own directory), or {elsewhere}"),
            ),
            Errno::NOTDIR => refused(
                path,
                "it is not a directory",
                "remove it or choose another location",
            ),
            e => io_error("open", path, e),
        }
    }

    /// Accept the opened directory only if it is this user's and private.
    fn checked(fd: OwnedFd, path: &Path, elsewhere: &str) -> Result<Self, Error> {
        let st = rustix::fs::fstat(&fd).map_err(|e| io_error("inspect", path, e))?;
        let me = rustix::process::geteuid().as_raw();
        if st.st_uid != me {
            return Err(refused(
                path,
                &format!("it belongs to uid {}, not to you (uid {me})", st.st_uid),
                &format!("remove it, or {elsewhere}"),
            ));
        }
        let mode = st.st_mode & 0o777;
        if mode & 0o077 != 0 {
            return Err(refused(
                path,
                &format!("group or others can access it (mode {mode:04o})"),
                &format!(
                    "run `chmod 700 {}` if it is yours, or {elsewhere}",
                    path.display()
                ),
            ));
        }
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// The directory's path (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_at(&self, name: &str, flags: OFlags) -> rustix::io::Result<File> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(FILE_MODE)).map(File::from)
    }

    /// The contents of `name` (at most [`MAX_FILE_BYTES`]), `None` when there is no such
    /// file. A symbolic link is an error, not followed.
    pub fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        let file = match self.open_at(name, OFlags::RDONLY) {
            Ok(f) => f,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // A buffer larger than any entry: one read plus the one that sees the end.
        let mut buf = Vec::with_capacity(4096);
        file.take(MAX_FILE_BYTES).read_to_end(&mut buf)?;
        Ok(Some(buf))
    }

    /// Replace `name` with `data` atomically: a new 0600 temp file with a random name
    /// (`O_EXCL`, never following a link), written, synced, then renamed over `name`.
    pub fn write_atomic(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.write_new(name, data, true)
    }

    /// [`PrivateDir::write_atomic`] without the sync: readers see the old content or the
    /// new, never a mix, but a crash of the machine may lose the write. For a file that is
    /// rewritten often and means nothing after a reboot (`exec`'s token file), where a
    /// sync can stall for a long time under disk load.
    pub fn replace(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.write_new(name, data, false)
    }

    fn write_new(&self, name: &str, data: &[u8], sync: bool) -> io::Result<()> {
        let tmp = format!(".{name}.{:016x}.tmp", rand::random::<u64>());
        let result = (|| {
            let mut f = self.open_at(&tmp, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL)?;
            f.write_all(data)?;
            if sync {
                f.sync_all()?;
            }
            rustix::fs::renameat(&self.fd, &tmp, &self.fd, name)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
        }
        result
    }

    /// Remove `name` (a link is removed, never its target). Missing is not an error.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Open (creating, 0600) the lock file `name`, for `flock`. A symbolic link found there
    /// is not followed: it is removed, with a warning, and a real file created instead.
    pub fn open_lock(&self, name: &str) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::CREATE;
        match self.open_at(name, flags) {
            Err(Errno::LOOP) => {
                tracing::warn!(
                    file = %self.path.join(name).display(),
                    "removing a symbolic link planted at a lock file's name"
                );
                self.remove(name)?;
                Ok(self.open_at(name, flags | OFlags::EXCL)?)
            }
            r => Ok(r?),
        }
    }
}

/// The directory's handle, for operations this type does not offer (the agent binds its
/// socket by path and checks it landed here).
impl AsFd for PrivateDir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn created_private_and_files_stay_inside() {
        let base = tempfile::tempdir().unwrap();
        let path = base.path().join("a/b/cctoken");
        let dir = PrivateDir::open_or_create(&path).unwrap();
        for p in [base.path().join("a"), base.path().join("a/b"), path.clone()] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{p:?}");
        }
        assert_eq!(dir.read("x").unwrap(), None);
        dir.write_atomic("x", b"one").unwrap();
        dir.write_atomic("x", b"two").unwrap();
        assert_eq!(dir.read("x").unwrap().as_deref(), Some(&b"two"[..]));
        dir.replace("x", b"three").unwrap();
        assert_eq!(dir.read("x").unwrap().as_deref(), Some(&b"three"[..]));
        let mode = fs::metadata(path.join("x")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x"], "no temp file left behind");
        dir.remove("x").unwrap();
        dir.remove("x").unwrap();
        assert_eq!(dir.read("x").unwrap(), None);
        // A second open finds it as it was.
        PrivateDir::open_or_create(&path).unwrap();
        assert!(
            PrivateDir::create_new(&path).is_err(),
            "create_new never reuses"
        );
    }

    #[test]
    fn reads_are_capped() {
        let base = tempfile::tempdir().unwrap();
        let dir = PrivateDir::open_or_create(&base.path().join("d")).unwrap();
        fs::write(
            dir.path().join("big"),
            vec![b'x'; 3 * MAX_FILE_BYTES as usize],
        )
        .unwrap();
        assert_eq!(
            dir.read("big").unwrap().unwrap().len() as u64,
            MAX_FILE_BYTES
        );
    }

    #[test]
    fn a_directory_with_access_for_others_is_refused_and_left_alone() {
        let base = tempfile::tempdir().unwrap();
        let path = base.path().join("cctoken");
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let e = PrivateDir::open_or_create(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("mode 0755") && e.contains("chmod 700"), "{e}");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "never chmodded");
    }

    #[test]
    fn a_file_in_place_of_the_directory_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let path = base.path().join("cctoken");
        fs::write(&path, b"").unwrap();
        let e = PrivateDir::open_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }
}
