//! `cctoken` — the command-line front end of the cctoken library.
//!
//! This binary is deliberately thin: it parses arguments (clap), turns them into the
//! library's validated configuration once, calls the library, renders the result and maps
//! errors to the exit codes of SPEC §5. All OAuth logic lives in the `cctoken` crate and
//! the emulator in `cctoken-emulator`.

// `println!` and friends panic on a closed pipe: every write goes through `say`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod say;

mod cmd;
mod consumer_env;
mod exit;
mod logging;
mod opts;
mod output;
mod suggest;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// OAuth2 client-credentials tokens that work the first time and keep working.
#[derive(Parser, Debug)]
#[command(
    name = "cctoken",
    version,
    about = "OAuth2 client-credentials tokens that work the first time and keep working",
    long_about = "cctoken obtains OAuth2 client-credentials tokens from Genesys Cloud, NICE CXone \
or any RFC 6749 server, explains exactly why a token request fails, and ships a faithful local \
emulator of those token servers.\n\nSecrets are never accepted on the command line and never \
printed: cctoken shows fingerprints (len=40 sha256:1a2b3c4d) instead.",
    after_help = "Examples:\n  \
cctoken demo                     # a tour against a built-in emulator\n  \
GC_SECRET=... cctoken get --region eu-west-1 --client-id ID \\\n      \
--client-secret-env GC_SECRET\n  \
cctoken get --issuer https://auth.example.com --client-id ci-bot \\\n      \
--client-secret-file /run/secrets/s\n  \
cctoken get -p genesys-prod --format header\n  \
cctoken emulator --demo --flavor genesys\n\n\
Exit codes: 0 ok, 2 usage or configuration error, 3 credentials or request\n\
rejected, 4 temporarily unavailable (retry later), 1 anything else."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print every HTTP exchange to stderr, secrets as fingerprints, tokens shortened.
    #[arg(long, global = true)]
    trace: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Obtain an access token and print it.
    Get(cmd::get::GetArgs),
    /// Run a command with a fresh token in its environment and a file kept fresh.
    Exec(cmd::exec::ExecArgs),
    /// An authenticated request to the profile's API (like `gh api`).
    Api(cmd::api::ApiArgs),
    /// Explain why a token request fails: check a profile, or a pasted curl command (--curl).
    Doctor(cmd::doctor::DoctorArgs),
    /// Keep profiles' tokens fresh and serve them on a Unix socket, loopback TCP and proxies.
    Agent(cmd::agent::AgentArgs),
    /// Run a local token server (Genesys-, CXone- or RFC-style) for tests and demos.
    Emulator(cmd::emulator::EmulatorArgs),
    /// A two-minute tour against a built-in emulator; needs no network and no setup.
    Demo(cmd::demo::DemoArgs),
    /// List, show and test profiles from the config file.
    Profiles {
        #[command(subcommand)]
        cmd: cmd::profiles::ProfilesCmd,
        /// Machine-readable output.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  cctoken completions bash > ~/.local/share/bash-completion/completions/cctoken\n  cctoken completions zsh > \"${fpath[1]}/_cctoken\""
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `cctoken get ...` parsed by a parser of the `get` subcommand alone.
///
/// Building clap's whole command tree is about a third of a cached `get` (SPEC §11: a
/// cached `get` should cost no more than twice a `cat`); `get` needs only its own. Anything
/// this parser does not accept — `--help`, a typo, global flags before `get` — goes to the
/// full parser, so messages and help stay exactly the same.
#[derive(Parser, Debug)]
#[command(
    name = "cctoken",
    disable_help_flag = true,
    disable_version_flag = true
)]
struct GetOnly {
    #[command(subcommand)]
    command: GetOnlyCommand,
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[arg(long, global = true)]
    trace: bool,
}

#[derive(Subcommand, Debug)]
enum GetOnlyCommand {
    #[command(disable_help_flag = true)]
    Get(cmd::get::GetArgs),
}

fn parse() -> Cli {
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == "get") {
        if let Ok(g) = GetOnly::try_parse() {
            let GetOnlyCommand::Get(args) = g.command;
            return Cli {
                command: Command::Get(args),
                verbose: g.verbose,
                trace: g.trace,
            };
        }
    }
    Cli::try_parse().unwrap_or_else(|e| usage_error(e))
}

/// clap's message and exit code, with one correction: a typo's tip never suggests a flag
/// cctoken refuses (the hidden `--client-secret` and friends), but the flag that works.
fn usage_error(mut e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue};
    if e.kind() == clap::error::ErrorKind::InvalidSubcommand
        && e.get(ContextKind::SuggestedSubcommand).is_none()
    {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        if let Some(near) = suggest::subcommand(&Cli::command(), &argv) {
            e.insert(
                ContextKind::SuggestedSubcommand,
                ContextValue::Strings(vec![near]),
            );
        }
    }
    if let Some(ContextValue::String(tip)) = e.get(ContextKind::SuggestedArg) {
        if let Some(instead) = opts::instead_of_refused(tip) {
            e.insert(
                ContextKind::SuggestedArg,
                ContextValue::String(instead.to_owned()),
            );
        }
    }
    e.exit()
}

fn main() -> ExitCode {
    // `exec`'s trampoline (cmd::exec::child): before anything else, and never a subcommand.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == cmd::exec::TRAMPOLINE)
    {
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        return ExitCode::from(cmd::exec::trampoline(&argv[2..]) as u8);
    }
    let cli = parse();
    logging::init(cli.verbose);
    let globals = cmd::Globals { trace: cli.trace };
    let result = match cli.command {
        Command::Get(args) => cmd::get::run(args, &globals),
        Command::Exec(args) => cmd::exec::run(args, &globals),
        Command::Api(args) => cmd::api::run(args, &globals),
        Command::Doctor(args) => cmd::doctor::run(args, &globals),
        Command::Agent(args) => cmd::agent::run(args, &globals),
        Command::Emulator(args) => {
            cmd::runtime_multi().and_then(|rt| rt.block_on(cmd::emulator::run(args)).map(|()| 0))
        }
        Command::Demo(args) => cmd::demo::run(args, &globals),
        Command::Profiles { cmd, json } => {
            cmd::runtime().and_then(|rt| rt.block_on(cmd::profiles::run(cmd, json)))
        }
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cctoken", &mut script);
            say::out_bytes(&script);
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => exit::report(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks over every subcommand (duplicate flags and the like).
    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        GetOnly::command().debug_assert();
    }

    /// The `get` fast-path parser reads what the full parser reads, and refuses what it
    /// cannot show help for (so the full parser prints the message).
    #[test]
    fn get_only_parser_agrees_with_the_full_one() {
        let argv = [
            "cctoken",
            "get",
            "-p",
            "prod",
            "--format",
            "json",
            "--min-ttl",
            "5m",
            "-vv",
            "--trace",
            "--scope",
            "a",
            "--scope",
            "b",
        ];
        let full = Cli::try_parse_from(argv).unwrap();
        let fast = GetOnly::try_parse_from(argv).unwrap();
        let GetOnlyCommand::Get(f) = fast.command;
        let Command::Get(g) = full.command else {
            panic!("not get")
        };
        assert_eq!(format!("{f:?}"), format!("{g:?}"));
        assert_eq!((fast.verbose, fast.trace), (full.verbose, full.trace));
        for refused in [
            &["cctoken", "get", "--help"][..],
            &["cctoken", "get", "-h"],
            &["cctoken", "get", "--nope"],
        ] {
            assert!(GetOnly::try_parse_from(refused).is_err(), "{refused:?}");
        }
    }

    /// Every command's examples, with the command path that shows them.
    fn examples(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for text in [cmd.get_after_help(), cmd.get_after_long_help()]
            .into_iter()
            .flatten()
        {
            out.push((path.to_owned(), text.to_string()));
        }
        for sub in cmd.get_subcommands() {
            examples(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    /// clap wraps the text after the options to the terminal's width, which breaks an
    /// example command in the middle. No line is wider than 79 columns, so at 80 columns
    /// and wider every example is shown exactly as written.
    #[test]
    fn help_examples_never_wrap_at_80_columns() {
        let mut all = Vec::new();
        examples(&Cli::command(), "cctoken", &mut all);
        assert!(all.len() > 5, "examples found: {}", all.len());
        let mut too_wide = Vec::new();
        for (path, text) in &all {
            for line in text.lines() {
                if line.chars().count() > 79 {
                    too_wide.push(format!("{path}: {line}"));
                }
            }
        }
        assert!(
            too_wide.is_empty(),
            "lines wider than 79:\n{}",
            too_wide.join("\n")
        );
        for width in [80, 100] {
            let mut cmd = Cli::command().term_width(width);
            cmd.build();
            for sub in cmd.get_subcommands_mut() {
                let help = sub.render_long_help().to_string();
                if let Some(after) = sub.get_after_help() {
                    let after = after.to_string();
                    assert!(
                        help.contains(after.trim_end()),
                        "{} at {width}:\n{help}",
                        sub.get_name()
                    );
                }
            }
        }
    }

    #[test]
    fn completions_generate_for_every_shell() {
        use clap::ValueEnum as _;
        for shell in clap_complete::Shell::value_variants() {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cctoken", &mut out);
            assert!(String::from_utf8_lossy(&out).contains("cctoken"), "{shell}");
        }
    }
}
