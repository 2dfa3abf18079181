//! Starting `exec`'s command: its environment without cctoken's secrets, a parent-death
//! signal, and the exit codes shells use when a command cannot be run.
//!
//! **Parent death.** If cctoken is killed (`SIGKILL`, the OOM killer), it cannot forward
//! anything, and the command would run on unnoticed with a token file nobody refreshes.
//! On Linux the command is therefore started through a trampoline: cctoken runs itself
//! (`/proc/self/exe __exec-child PPID -- CMD ARGS…`), and the trampoline asks the kernel for
//! `SIGTERM` when its parent dies (`PR_SET_PDEATHSIG`, kept across `execve`), checks that
//! the parent is still the one that started it (it may have died in between), and then
//! replaces itself with the command — same process, so the PID cctoken forwards signals to
//! is the command's. This needs no `unsafe` (`pre_exec` would) and costs one `execve`.
//! Elsewhere the command is started directly.
//!
//! **Exit codes.** As in sh and bash: 127 when the command is not found, 126 when it is
//! found but cannot be executed, with a message on stderr.
//!
//! **Environment.** The process's own, minus every variable cctoken read a secret from
//! (the profile's or flag's `*_env` variables and the defaults,
//! [`env::DEFAULT_SECRET_VARS`]), plus the consumer variables the caller sets.

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;

use cctoken::config::env;

/// `argv[1]` of the trampoline. Not a subcommand: `main` checks for it before parsing, so
/// it appears in no help, completion or suggestion.
pub const TRAMPOLINE: &str = "__exec-child";

/// The exit code for a command that was not found (as shells do).
pub const NOT_FOUND: i32 = 127;
/// The exit code for a command that was found but could not be executed.
pub const NOT_EXECUTABLE: i32 = 126;

/// The running binary, as the child resolves it: this works even when the file was
/// replaced or deleted since cctoken started (an upgrade).
#[cfg(target_os = "linux")]
const SELF_EXE: &str = "/proc/self/exe";

/// A command that runs `program` with `args`: through the trampoline on Linux (unless
/// `/proc` is not mounted), else directly.
pub fn command(program: &OsStr, args: &[OsString]) -> tokio::process::Command {
    #[cfg(target_os = "linux")]
    if std::path::Path::new(SELF_EXE).exists() {
        let mut cmd = tokio::process::Command::new(SELF_EXE);
        cmd.arg(TRAMPOLINE)
            .arg(std::process::id().to_string())
            .arg("--")
            .arg(program)
            .args(args);
        return cmd;
    }
    #[cfg(target_os = "linux")]
    tracing::warn!("no /proc: the command will not be told if cctoken dies");
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    cmd
}

/// Take every secret source cctoken read (`read`, plus the defaults) out of `cmd`'s
/// environment.
pub fn remove_secrets(cmd: &mut tokio::process::Command, read: &[String]) {
    for var in env::DEFAULT_SECRET_VARS {
        cmd.env_remove(var);
    }
    for var in read {
        cmd.env_remove(var);
    }
}

/// The exit code and message for a command that could not be started.
pub fn spawn_failure(program: &OsStr, e: &std::io::Error) -> i32 {
    let program = program.to_string_lossy();
    let (code, what) = match e.kind() {
        ErrorKind::NotFound => (NOT_FOUND, "command not found".to_owned()),
        ErrorKind::PermissionDenied => (NOT_EXECUTABLE, "permission denied".to_owned()),
        _ => (NOT_EXECUTABLE, e.to_string()),
    };
    errln!("error: cannot run {program}: {what}");
    code
}

/// The trampoline's `main` (see the module docs), given the arguments after
/// [`TRAMPOLINE`] (`PPID -- CMD ARGS…`): the exit code if the command could not be started
/// (on success this never returns).
pub fn trampoline(args: &[OsString]) -> i32 {
    let ppid = args.first().and_then(|p| p.to_str()?.parse::<i32>().ok());
    let (Some(ppid), Some("--"), Some(program)) =
        (ppid, args.get(1).and_then(|d| d.to_str()), args.get(2))
    else {
        errln!("error: {TRAMPOLINE} is internal to `cctoken exec`");
        return 2;
    };
    #[cfg(target_os = "linux")]
    {
        use nix::sys::signal::Signal;
        if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM) {
            errln!("warning: the command will not be told if cctoken dies: {e}");
        }
        // Set after the fork: the parent may have died in between, and we were adopted.
        if nix::unistd::getppid().as_raw() != ppid {
            errln!("error: cctoken exited before the command started");
            return 128 + Signal::SIGTERM as i32;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = ppid;
    use std::os::unix::process::CommandExt as _;
    let e = std::process::Command::new(program).args(&args[3..]).exec();
    spawn_failure(program, &e)
}

/// The exit code for a finished command: its own, or 128+N if it died of signal N.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trampoline_refuses_what_exec_would_not_send() {
        let argv = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(trampoline(&argv(&[])), 2);
        assert_eq!(trampoline(&argv(&["x", "--", "true"])), 2);
        assert_eq!(trampoline(&argv(&["1", "-", "true"])), 2);
        assert_eq!(trampoline(&argv(&["1", "--"])), 2);
    }

    #[test]
    fn commands_that_cannot_run_exit_as_in_a_shell() {
        let nf = std::io::Error::from(ErrorKind::NotFound);
        assert_eq!(spawn_failure(OsStr::new("nope"), &nf), 127);
        let denied = std::io::Error::from(ErrorKind::PermissionDenied);
        assert_eq!(spawn_failure(OsStr::new("./data.txt"), &denied), 126);
    }
}
