//! Secrets that cannot leak: [`ClientSecret`] and [`AccessToken`].
//!
//! Both wrap their bytes in a zeroize-on-drop buffer, redact themselves in `Debug` and
//! `Display`, and expose the value only through an explicit `expose_secret()` call that is
//! easy to grep for. Humans see a [`Fingerprint`] instead (`len=40 sha256:1a2b3c4d`), which
//! lets two environments compare a secret without revealing it.
//!
//! This module also holds the explicit normalisation rules of SPEC §4
//! ([`normalize_secret`]): a trailing newline from a file or command is stripped, anything
//! else that looks accidental (whitespace, BOM, control characters) is an error that names
//! the position. It deliberately does not know where secrets come from; see [`crate::config`].

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A redacted, comparable summary of a secret: its length and the first 8 hex digits of
/// its SHA-256.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    len: usize,
    sha8: String,
}

impl Fingerprint {
    /// Fingerprint of arbitrary bytes.
    pub fn of(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        Self {
            len: bytes.len(),
            sha8: hex::encode(&digest[..4]),
        }
    }

    /// Length of the fingerprinted value in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the fingerprinted value was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first 8 hex digits of the SHA-256 digest.
    pub fn sha256_prefix(&self) -> &str {
        &self.sha8
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "len={} sha256:{}", self.len, self.sha8)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        ///
        /// Cloning is cheap (a reference count); the bytes are zeroized when the last
        /// clone is dropped.
        #[derive(Clone)]
        pub struct $name(Arc<Zeroizing<String>>);

        impl $name {
            /// Wrap a value. The caller gives up its copy; it is zeroized on drop.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Arc::new(Zeroizing::new(value.into())))
            }

            /// A copy with its own allocation (and reference count), for per-thread
            /// copies that must not share a cache line with other threads.
            pub fn deep_clone(&self) -> Self {
                Self::new(self.0.as_str())
            }

            /// The secret value. Every call site is a place where the secret leaves
            /// its box: keep them few and never log the result.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// The redacted summary shown to humans.
            pub fn fingerprint(&self) -> Fingerprint {
                Fingerprint::of(self.0.as_bytes())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.fingerprint())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.fingerprint())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                // Constant-time enough for our purposes: compare digests, not bytes.
                Sha256::digest(self.0.as_bytes()) == Sha256::digest(other.0.as_bytes())
            }
        }

        impl Eq for $name {}
    };
}

secret_type!(
    /// An OAuth client secret (or a CXone access key secret).
    ClientSecret,
    "ClientSecret"
);

secret_type!(
    /// An issued access (or refresh / id) token.
    AccessToken,
    "AccessToken"
);

impl AccessToken {
    /// The first `n` characters followed by `…`, as `--trace` shows tokens.
    pub fn shortened(&self, n: usize) -> String {
        let s: String = self.0.chars().take(n).collect();
        format!("{s}…")
    }
}

/// Why a secret's bytes were refused by [`normalize_secret`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    /// The secret is empty.
    #[error("the secret is empty")]
    Empty,
    /// A byte-order mark at the start.
    #[error(
        "the secret starts with a byte-order mark (U+FEFF); save the file as UTF-8 without BOM"
    )]
    Bom,
    /// Whitespace at the start or the end.
    #[error("the secret has {what} at byte {pos} (of {len}); remove it, or pass --keep-secret-bytes if the server really expects it")]
    Whitespace {
        /// Human description, e.g. "a trailing tab".
        what: String,
        /// 0-based byte position.
        pos: usize,
        /// Length in bytes.
        len: usize,
    },
    /// A control character anywhere.
    #[error("the secret has a control character (0x{byte:02x}) at byte {pos} (of {len}); secrets are printable text — check how it was copied")]
    Control {
        /// The offending byte.
        byte: u8,
        /// 0-based byte position.
        pos: usize,
        /// Length in bytes.
        len: usize,
    },
    /// Not UTF-8.
    #[error("the secret is not valid UTF-8 text")]
    NotUtf8,
}

/// Result of [`normalize_secret`]: the secret and what was stripped.
#[derive(Debug)]
pub struct Normalized {
    /// The cleaned secret.
    pub secret: ClientSecret,
    /// A trailing `\n` or `\r\n` was removed (typical for files and commands).
    pub stripped_newline: bool,
}

fn describe_ws(c: char) -> &'static str {
    match c {
        ' ' => "space",
        '\t' => "tab",
        '\r' => "carriage return",
        '\n' => "newline",
        _ => "whitespace character",
    }
}

/// Apply SPEC §4's explicit normalisation to raw secret bytes.
///
/// A single trailing `\n` or `\r\n` is stripped (reported in the result). Any other
/// leading/trailing whitespace, a BOM or a control character is an error naming the
/// position, unless `keep_bytes` is set, in which case the bytes are kept as they are.
pub fn normalize_secret(raw: Vec<u8>, keep_bytes: bool) -> Result<Normalized, SecretProblem> {
    let raw = Zeroizing::new(raw);
    let text = std::str::from_utf8(&raw).map_err(|_| SecretProblem::NotUtf8)?;
    if keep_bytes {
        if text.is_empty() {
            return Err(SecretProblem::Empty);
        }
        return Ok(Normalized {
            secret: ClientSecret::new(text),
            stripped_newline: false,
        });
    }
    let (body, stripped_newline) = if let Some(b) = text.strip_suffix("\r\n") {
        (b, true)
    } else if let Some(b) = text.strip_suffix('\n') {
        (b, true)
    } else {
        (text, false)
    };
    check_secret_text(body)?;
    Ok(Normalized {
        secret: ClientSecret::new(body),
        stripped_newline,
    })
}

/// Check already-decoded secret text (e.g. from an environment variable) against the
/// rules of [`normalize_secret`], without stripping anything.
pub fn check_secret_text(body: &str) -> Result<(), SecretProblem> {
    let len = body.len();
    if body.is_empty() {
        return Err(SecretProblem::Empty);
    }
    if body.starts_with('\u{feff}') {
        return Err(SecretProblem::Bom);
    }
    if let Some(c) = body.chars().next().filter(|c| c.is_whitespace()) {
        return Err(SecretProblem::Whitespace {
            what: format!("a leading {}", describe_ws(c)),
            pos: 0,
            len,
        });
    }
    if let Some(c) = body.chars().next_back().filter(|c| c.is_whitespace()) {
        return Err(SecretProblem::Whitespace {
            what: format!("a trailing {}", describe_ws(c)),
            pos: len - c.len_utf8(),
            len,
        });
    }
    if let Some((pos, b)) = body.bytes().enumerate().find(|(_, b)| b.is_ascii_control()) {
        return Err(SecretProblem::Control { byte: b, pos, len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let fp = Fingerprint::of(b"abc");
        assert_eq!(fp.to_string(), "len=3 sha256:ba7816bf");
    }

    #[test]
    fn debug_and_display_redact() {
        let s = ClientSecret::new("canary-SECRET-123");
        assert!(!format!("{s:?}").contains("canary"));
        assert!(!format!("{s}").contains("canary"));
        let t = AccessToken::new("eyJhbGciOiJ.xyz");
        assert!(!format!("{t:?} {t}").contains("eyJhbGciOiJ.xyz"));
        assert_eq!(t.shortened(6), "eyJhbG…");
    }

    #[test]
    fn trailing_newline_is_stripped_and_reported() {
        let n = normalize_secret(b"abc\r\n".to_vec(), false).unwrap();
        assert_eq!(n.secret.expose_secret(), "abc");
        assert!(n.stripped_newline);
        let n = normalize_secret(b"abc\n".to_vec(), false).unwrap();
        assert!(n.stripped_newline);
    }

    #[test]
    fn other_whitespace_is_an_error_with_position() {
        let e = normalize_secret(b"abc\t".to_vec(), false).unwrap_err();
        assert_eq!(
            e,
            SecretProblem::Whitespace {
                what: "a trailing tab".into(),
                pos: 3,
                len: 4
            }
        );
        assert!(e.to_string().contains("--keep-secret-bytes"));
        assert!(matches!(
            normalize_secret(b" abc".to_vec(), false),
            Err(SecretProblem::Whitespace { pos: 0, .. })
        ));
        assert!(matches!(
            normalize_secret(b"abc\n\n".to_vec(), false),
            Err(SecretProblem::Whitespace { .. })
        ));
        assert_eq!(
            normalize_secret("\u{feff}abc".as_bytes().to_vec(), false).unwrap_err(),
            SecretProblem::Bom
        );
        assert!(matches!(
            normalize_secret(b"ab\x07c".to_vec(), false),
            Err(SecretProblem::Control { pos: 2, .. })
        ));
        assert_eq!(
            normalize_secret(vec![], false).unwrap_err(),
            SecretProblem::Empty
        );
    }

    #[test]
    fn keep_bytes_keeps_everything() {
        let n = normalize_secret(b" abc\t\n".to_vec(), true).unwrap();
        assert_eq!(n.secret.expose_secret(), " abc\t\n");
    }
}
