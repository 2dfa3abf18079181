//! Every line the binary writes to stdout or stderr goes through here.
//!
//! `outln!` and friends panic when the other end of the pipe has gone
//! (`cctoken completions bash | head -1`): Rust ignores SIGPIPE, so the write fails with
//! `BrokenPipe`, and the crate forbids the `unsafe` it takes to restore the signal. These
//! helpers write to the locked stream instead, and a closed pipe ends the process quietly
//! with [`PIPE_CLOSED`] — what a shell reports for a command killed by SIGPIPE — and no
//! message. Any other failure to write stdout (a full disk) is an error worth saying on
//! stderr, exit 1; a failure to write stderr has nowhere to be told and is dropped.

use std::fmt;
use std::io::{self, Write as _};

/// The exit code when stdout or stderr was closed before cctoken finished writing
/// (128 + SIGPIPE, as a shell shows a command the signal ended).
pub const PIPE_CLOSED: u8 = 141;

/// Write to stdout (what [`out!`] and [`outln!`] call).
pub fn out(args: fmt::Arguments<'_>) {
    let mut o = io::stdout().lock();
    let written = o.write_fmt(args).and_then(|()| o.flush());
    drop(o);
    wrote_stdout(written);
}

/// Write bytes to stdout, as [`out`] does text.
pub fn out_bytes(bytes: &[u8]) {
    let mut o = io::stdout().lock();
    let written = o.write_all(bytes).and_then(|()| o.flush());
    drop(o);
    wrote_stdout(written);
}

/// A closed pipe ends quietly; any other failure is said on stderr, exit 1.
fn wrote_stdout(written: io::Result<()>) {
    match written {
        Ok(()) => {}
        Err(e) if closed(&e) => quit(),
        Err(e) => {
            err(format_args!("error: writing to stdout: {e}\n"));
            std::process::exit(1);
        }
    }
}

/// Write to stderr (what [`errln!`] calls).
pub fn err(args: fmt::Arguments<'_>) {
    let mut o = io::stderr().lock();
    if let Err(e) = o.write_fmt(args) {
        if closed(&e) {
            quit();
        }
    }
}

/// Whether a write failed because the reader went away.
pub fn closed(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Whether an error chain holds a closed pipe (a `writeln!(stdout)?` that failed).
pub fn closed_in(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(closed)
}

/// End the process quietly: the reader has what it wanted.
pub fn quit() -> ! {
    std::process::exit(i32::from(PIPE_CLOSED))
}

/// `out!` that ends quietly on a closed pipe.
macro_rules! out {
    ($($t:tt)*) => { $crate::say::out(format_args!($($t)*)) };
}

/// `outln!` that ends quietly on a closed pipe.
macro_rules! outln {
    () => { $crate::say::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::say::out(format_args!("{}\n", format_args!($($t)*))) };
}

/// `errln!` that ends quietly on a closed pipe.
macro_rules! errln {
    () => { $crate::say::err(format_args!("\n")) };
    ($($t:tt)*) => { $crate::say::err(format_args!("{}\n", format_args!($($t)*))) };
}
