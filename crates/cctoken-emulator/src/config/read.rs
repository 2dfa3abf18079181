//! The one way the emulator reads a file it is given (the registry, `jwks_file`, TLS
//! certificates, keys and client CAs): a regular file (symbolic links to one are fine) of
//! at most [`MAX_FILE_BYTES`].
//!
//! The file is opened without blocking, so a FIFO is refused at once instead of waiting
//! for a writer, and the cap is applied while reading, so `/dev/zero` costs a megabyte,
//! not the machine's memory. This is the emulator's own reader on purpose: the emulator
//! does not depend on the `cctoken` library it is a check on.

use std::io::Read as _;
use std::path::Path;

/// The largest file the emulator reads (1 MiB): far above any registry, JWK Set or PEM
/// bundle, far below trouble.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Read the file at `path`; `what` names it in errors ("TLS key", "`jwks_file`", …),
/// which also name the path.
pub(crate) fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    let shown = path.display();
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
    };
    #[cfg(not(unix))]
    let file = std::fs::File::open(path);
    let file = file.map_err(|e| format!("cannot read {what} {shown}: {e}"))?;
    let kind = file
        .metadata()
        .map_err(|e| format!("cannot read {what} {shown}: {e}"))?
        .file_type();
    if !kind.is_file() {
        return Err(format!(
            "{what} {shown} is {}, not a regular file",
            describe(kind)
        ));
    }
    let mut buf = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {what} {shown}: {e}"))?;
    if buf.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{what} {shown} is larger than {} KiB; check the path",
            MAX_FILE_BYTES / 1024
        ));
    }
    Ok(buf)
}

/// [`read_bounded`] for a text file.
pub(crate) fn read_bounded_text(path: &Path, what: &str) -> Result<String, String> {
    String::from_utf8(read_bounded(path, what)?)
        .map_err(|_| format!("{what} {} is not UTF-8 text", path.display()))
}

fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "x = 1\n").unwrap();
        assert_eq!(read_bounded_text(&p, "the registry").unwrap(), "x = 1\n");
    }

    #[test]
    fn large_files_are_refused_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'a'; MAX_FILE_BYTES + 1]).unwrap();
        let e = read_bounded(&p, "TLS key").unwrap_err();
        assert!(
            e.contains("TLS key") && e.contains("larger than 1024 KiB"),
            "{e}"
        );
        std::fs::write(&p, vec![b'a'; MAX_FILE_BYTES]).unwrap();
        assert_eq!(read_bounded(&p, "TLS key").unwrap().len(), MAX_FILE_BYTES);
    }

    #[cfg(unix)]
    #[test]
    fn devices_directories_and_fifos_are_refused() {
        let e = read_bounded(Path::new("/dev/zero"), "`jwks_file`").unwrap_err();
        assert!(
            e.contains("/dev/zero is a device, not a regular file"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = read_bounded(dir.path(), "the registry").unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_bounded(&fifo, "TLS client CA").unwrap_err();
        assert!(
            e.contains("is a FIFO (named pipe), not a regular file"),
            "{e}"
        );
    }
}
