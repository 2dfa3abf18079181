//! Reading the small files that hold a credential: `client_secret_file`, private keys and
//! certificates, the client assertion file. One helper, [`read_small`], for all of them.
//!
//! The file is opened with `O_NONBLOCK` and the flag is cleared before reading. Opening a
//! FIFO for reading otherwise waits for a writer — forever when there is none — whereas
//! now, with no writer, the read returns end-of-file at once and the caller gets a clear
//! "is a FIFO with no writer (empty)" error ([`ReadFailure::EmptyFifo`]). A pipe that has a
//! writer, as process substitution (`--client-secret-file <(vault read …)`) gives, still
//! blocks until its data arrives. The size cap is applied while reading, so `/dev/zero`
//! costs the cap, not the machine's memory.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use zeroize::Zeroizing;

/// Why [`read_small`] failed.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The file could not be opened.
    Open(std::io::Error),
    /// Reading failed.
    Read(std::io::Error),
    /// More than the cap.
    TooLarge,
    /// A FIFO (named pipe) that nothing writes to.
    EmptyFifo,
}

impl ReadFailure {
    /// The usual message for the `what` file (e.g. "private key") at `path`.
    pub(crate) fn message(&self, what: &str, path: &Path, max: u64) -> String {
        let shown = path.display();
        match self {
            Self::Open(e) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("the {what} file {shown} does not exist")
            }
            Self::Open(e) if e.kind() == std::io::ErrorKind::PermissionDenied => format!(
                "cannot read the {what} file {shown}: permission denied (run as the user that \
                 owns it, or fix its mode)"
            ),
            Self::Open(e) | Self::Read(e) => format!("cannot read the {what} file {shown}: {e}"),
            Self::TooLarge => format!("the {what} file {shown} is larger than {max} bytes"),
            Self::EmptyFifo => format!(
                "the {what} file {shown} is a FIFO with no writer (empty); start what writes \
                 to it first, or give a regular file"
            ),
        }
    }
}

/// What [`read_small`] read.
pub(crate) struct SmallFile {
    /// The contents, wiped when dropped.
    pub bytes: Zeroizing<Vec<u8>>,
    /// The file's metadata (mode checks), when it could be had.
    pub meta: Option<std::fs::Metadata>,
}

/// Read at most `max` bytes of `path` without hanging on a FIFO that has no writer.
pub(crate) fn read_small(path: &Path, max: u64) -> Result<SmallFile, ReadFailure> {
    let file = open(path).map_err(ReadFailure::Open)?;
    let meta = file.metadata().ok();
    let mut bytes = Zeroizing::new(Vec::new());
    (&file)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadFailure::Read)?;
    if bytes.len() as u64 > max {
        return Err(ReadFailure::TooLarge);
    }
    if bytes.is_empty() && meta.as_ref().is_some_and(is_fifo) {
        return Err(ReadFailure::EmptyFifo);
    }
    Ok(SmallFile { bytes, meta })
}

#[cfg(unix)]
fn open(path: &Path) -> std::io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // Blocking again: a pipe with a writer is read until its writer is done.
    let flags = rustix::fs::fcntl_getfl(&fd)?;
    rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK)?;
    Ok(File::from(fd))
}

#[cfg(not(unix))]
fn open(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn is_fifo(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    #[test]
    fn a_regular_file_is_read_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(&read_small(&p, 3).unwrap().bytes[..], b"abc");
        let e = read_small(&p, 2).err().unwrap();
        assert!(matches!(e, ReadFailure::TooLarge));
        assert_eq!(
            e.message("private key", &p, 2),
            format!(
                "the private key file {} is larger than 2 bytes",
                p.display()
            )
        );
        let e = read_small(&dir.path().join("nope"), 2).err().unwrap();
        assert!(e
            .message("client secret", Path::new("/x"), 2)
            .contains("/x does not exist"));
    }

    #[test]
    fn a_fifo_with_no_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        mkfifo(&p);
        let e = read_small(&p, 64).err().unwrap();
        assert!(matches!(e, ReadFailure::EmptyFifo), "{e:?}");
        assert!(e
            .message("client secret", &p, 64)
            .contains("is a FIFO with no writer (empty)"));
    }

    /// What `<(cmd)` gives: `/dev/fd/N`, a pipe whose writer is still at work. Reading
    /// waits for its data instead of taking "nothing yet" for "empty".
    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_with_a_writer_is_read_to_its_end() {
        use std::io::Write as _;
        use std::os::fd::AsRawFd as _;
        let (reader, mut writer) = std::io::pipe().unwrap();
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<()>();
        let path = std::path::PathBuf::from(format!("/proc/self/fd/{}", reader.as_raw_fd()));
        let read = std::thread::spawn(move || {
            opened_tx.send(()).unwrap();
            read_small(&path, 64).map(|f| f.bytes.to_vec())
        });
        // The writer writes only once the reader is on its way; the reader must wait for it.
        opened_rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        writer.write_all(b"from the pipe").unwrap();
        drop(writer);
        let got = read.join().unwrap().unwrap();
        drop(reader);
        assert_eq!(got, b"from the pipe");
    }
}
