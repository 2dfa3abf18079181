//! The pasted-command reader: text as someone pasted it in, the `curl` invocation as curl
//! would receive it out — read the way a shell and then curl would, without running either.
//!
//! A tour, in the order the text flows:
//! - [`dialect`] removes pasted prompts (`$ `, `> `, `PS C:\> `, `C:\>`) and the output
//!   lines between them, and tells which shell the command is written for: a POSIX shell,
//!   Windows cmd ([`cmd`]: `^`, `%VAR%`, the C runtime's quoting) or [`powershell`]
//!   (backticks, `$env:VAR`). Each splitter produces the same tokens as [`shell`].
//! - [`shell`] splits the text into words and operators: quote removal, backslash escapes,
//!   `\` line continuations (also before CRLF), `$'…'`, comments, redirections. `$VAR`,
//!   `${VAR}`, `$(…)` and backticks stay symbolic parts of a [`shell::RawWord`];
//!   [`shell::commands`] groups the words into simple commands.
//! - [`expand`] turns a word into the arguments a program would receive ([`expand::Arg`]):
//!   variables assigned earlier in the paste (`CREDS=$(…)`, `export X=…`) are substituted,
//!   unknown ones stay symbolic ([`expand::Seg::Var`]), and unquoted results are split on
//!   whitespace — which is how a wrapped `base64` output breaks a header in two.
//! - [`pipeline`] evaluates the substitutions people use to build a Basic header — `echo`
//!   or `printf` into `base64` / `openssl base64`, `tr -d`, `cat` — byte for byte; when the
//!   payload is a variable it still knows the facts that matter (a newline was encoded, the
//!   output wraps).
//! - [`curl`] finds the `curl` command (also inside `TOKEN=$(curl …)`, after `export`,
//!   `sudo` or `time`) and reads its options as curl does into a [`curl::CurlCommand`].
//!
//! From there [`crate::request`] applies curl's rules (how `-d` pieces join, what `-u` and
//! `--data-urlencode` send) to describe what goes on the wire.
//!
//! The modules depend one way — `curl` → `dialect` → `cmd`/`powershell` → `shell`, and
//! `curl` → `expand` → `shell` — with one deliberate cycle,
//! the recursion of the shell grammar itself: a word may hold `$(…)`, a pipeline of commands
//! made of words, so [`expand`] evaluates a [`pipeline::Pipeline`] whose stages take
//! [`expand::Arg`]s.
//!
//! Bounded and inert: input longer than [`curl::MAX_INPUT`] is refused, `$(…)` nests at most
//! [`shell::MAX_DEPTH`] deep, nothing is executed and no `@file` is opened. Not modelled:
//! globbing, brace expansion, here-documents, aliases, arithmetic; cmd's delayed
//! expansion and `for`; PowerShell's here-strings and `--%` (refused, saying so).

pub mod cmd;
pub mod curl;
pub mod dialect;
pub mod expand;
pub mod pipeline;
pub mod powershell;
pub mod shell;
