//! Exit codes (SPEC §5) and the one place errors are printed.
//!
//! 0 ok · 2 usage/config · 3 rejected (permanent) · 4 temporarily unavailable · 1 other.

use std::process::ExitCode;

use cctoken::error::Class;

/// Usage or configuration error.
pub const USAGE: i32 = 2;
/// Credentials or request rejected.
pub const REJECTED: i32 = 3;
/// Temporarily unavailable.
pub const TRANSIENT: i32 = 4;

/// The exit code for a library error.
pub fn code_for(e: &cctoken::Error) -> i32 {
    match e.class {
        Class::Config => USAGE,
        Class::Permanent => REJECTED,
        Class::Transient => TRANSIENT,
    }
}

/// Print an error chain to stderr and pick the exit code.
pub fn report(e: &anyhow::Error) -> ExitCode {
    if crate::say::closed_in(e) {
        // A `writeln!(stdout)?` whose reader went away: quiet, like every other write.
        return ExitCode::from(crate::say::PIPE_CLOSED);
    }
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<cctoken::Error>())
        .map(code_for)
        .unwrap_or(1);
    errln!("error: {e:#}");
    if e.chain()
        .filter_map(|c| c.downcast_ref::<cctoken::Error>())
        .any(|e| e.remembered)
    {
        errln!("  {ASK_NOW}");
    }
    ExitCode::from(code as u8)
}

/// What to do about a remembered failure ([`cctoken::Error::remembered`]) from the CLI.
pub const ASK_NOW: &str =
    "(not sent: remembered in the token cache; --no-cache asks the token server now)";
