//! Which shell a pasted command was written for, and the prompts pasted along with it.
//!
//! [`prepare`] removes the prompts people copy with a command — `$ `, `% `, `> ` (also
//! bash's continuation prompt), `user@host:~$ `, PowerShell's `PS> ` / `PS C:\dir> ` /
//! `>> `, cmd's `C:\dir>` — and, when prompts were there, the output lines between the
//! commands. It then tells the [`Dialect`] from what only that dialect writes: a line ending
//! in `^` is Windows cmd, a line ending in a backtick or `$env:NAME` is PowerShell, and a
//! prompt says it outright; everything else is read as a POSIX shell. [`tokenize`] hands the
//! text to that dialect's word splitter: [`super::shell`], [`super::cmd`] or
//! [`super::powershell`], which all produce the same [`Token`]s.
//!
//! Deliberately not guessed: `%VAR%` alone does not make a command cmd syntax (a POSIX
//! shell passes it literally — the checks say both), and neither does `curl.exe` (Git Bash
//! runs it too).

use std::fmt;

use super::shell::{self, ShellError, SimpleCommand, Token};

/// The shell a command is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// sh, bash, zsh (and Git Bash on Windows).
    #[default]
    Posix,
    /// Windows `cmd.exe`: `^` escapes and continuations, `%VAR%`, only double quotes.
    Cmd,
    /// PowerShell: backtick escapes and continuations, `$env:VAR`, `'…'` and `"…"`.
    PowerShell,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Posix => "a POSIX shell",
            Self::Cmd => "Windows cmd",
            Self::PowerShell => "PowerShell",
        })
    }
}

/// Pasted text made ready for a word splitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The commands, prompts and output lines removed.
    pub text: String,
    /// The dialect they are read in.
    pub dialect: Dialect,
    /// At least one prompt was removed.
    pub had_prompt: bool,
    /// Lines (1-based) whose continuation character is followed by spaces, before a line
    /// that starts with an option: the command ends there.
    pub cut_lines: Vec<usize>,
}

/// Remove prompts (and, when there were prompts, the output lines between commands), then
/// tell the dialect.
pub fn prepare(input: &str) -> Prepared {
    let lines: Vec<&str> = input.split_inclusive('\n').collect();
    let stripped: Vec<(Option<Dialect>, bool, &str)> = lines
        .iter()
        .map(|l| match prompt(l) {
            Some((d, rest)) => (d, true, rest),
            None => (None, false, *l),
        })
        .collect();
    let had_prompt = stripped.iter().any(|(_, p, _)| *p);
    let mut text = String::with_capacity(input.len());
    let mut continued = false;
    let mut hint = None;
    for (d, prompted, line) in &stripped {
        hint = hint.or(*d);
        // With prompts, a line without one is output, unless it continues a command.
        if !had_prompt || *prompted || continued {
            text.push_str(line);
            continued = continues(line);
        }
    }
    let dialect = hint.unwrap_or_else(|| detect(&text));
    let cut_lines = cut_lines(&text, dialect);
    Prepared {
        text,
        dialect,
        had_prompt,
        cut_lines,
    }
}

/// Lines ending in the continuation character plus blanks, followed by an option line.
fn cut_lines(text: &str, dialect: Dialect) -> Vec<usize> {
    let cont = match dialect {
        Dialect::Posix => '\\',
        Dialect::Cmd => '^',
        Dialect::PowerShell => '`',
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (n, pair) in lines.windows(2).enumerate() {
        let line = pair[0].trim_end_matches('\r');
        let blank_after = line.ends_with([' ', '\t']);
        if blank_after && line.trim_end().ends_with(cont) && pair[1].trim_start().starts_with('-') {
            out.push(n + 1);
        }
    }
    out
}

/// Split prepared text into words and operators by its dialect's rules.
pub fn tokenize(p: &Prepared) -> Result<Vec<Token>, ShellError> {
    match p.dialect {
        Dialect::Posix => shell::tokenize(&p.text),
        Dialect::Cmd => super::cmd::tokenize(&p.text),
        Dialect::PowerShell => super::powershell::tokenize(&p.text),
    }
}

/// PowerShell's own HTTP cmdlets, which take no curl options.
pub(super) fn other_tool(cmds: &[SimpleCommand]) -> Option<ShellError> {
    let name = cmds.iter().find_map(|c| {
        let w = c.words.first()?.literal()?;
        let lower = w.to_ascii_lowercase();
        matches!(
            lower.as_str(),
            "invoke-restmethod" | "invoke-webrequest" | "irm" | "iwr"
        )
        .then_some(w)
    })?;
    Some(
        ShellError::new(format!(
            "{name} is PowerShell's own HTTP client, not curl; doctor reads curl commands only"
        ))
        .with_fix(
            "paste the request as a curl.exe command (curl.exe -X POST URL -u \"${env:CLIENT_ID}:${env:CLIENT_SECRET}\" -d grant_type=client_credentials)",
        ),
    )
}

fn detect(text: &str) -> Dialect {
    for line in text.lines() {
        let t = line.trim_end();
        if t.ends_with('^') {
            return Dialect::Cmd;
        }
        if t.ends_with('`') {
            return Dialect::PowerShell;
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("$env:") {
        return Dialect::PowerShell;
    }
    // `curl.exe` is Windows; `%NAME%` there is cmd's variable (PowerShell writes $env:).
    if lower.contains("curl.exe") && has_percent_var(text) {
        return Dialect::Cmd;
    }
    Dialect::Posix
}

/// `%NAME%` somewhere in `text`: a name of two or more letters, digits or `_`, not starting
/// with a digit, and not two hex digits (`%E2%80` is a URL's percent-encoding).
fn has_percent_var(text: &str) -> bool {
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else {
            return false;
        };
        let name = &after[..end];
        let hex = name.len() == 2 && name.chars().all(|c| c.is_ascii_hexdigit());
        if name.len() >= 2
            && !hex
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return true;
        }
        rest = &after[end..];
    }
    false
}

/// The line ends in a continuation character of some dialect.
fn continues(line: &str) -> bool {
    let t = line.trim_end();
    t.ends_with('\\') || t.ends_with('^') || t.ends_with('`')
}

/// A prompt at the start of `line`: the dialect it reveals (if any) and the rest.
fn prompt(line: &str) -> Option<(Option<Dialect>, &str)> {
    let t = line.trim_start_matches([' ', '\t']);
    // PowerShell: `PS> `, `PS C:\Users\me> `, continuation `>> `.
    if let Some(rest) = t.strip_prefix("PS") {
        if rest.starts_with('>') || rest.starts_with(' ') {
            let end = rest.find('>')?;
            if !rest[..end].contains(['\n', '"', '\'']) {
                return Some((Some(Dialect::PowerShell), rest[end + 1..].trim_start()));
            }
        }
    }
    if let Some(rest) = t.strip_prefix(">> ") {
        return Some((Some(Dialect::PowerShell), rest.trim_start()));
    }
    // cmd: `C:\>`, `C:\Users\me>`.
    let b = t.as_bytes();
    if b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\' {
        let end = t.find('>')?;
        if !t[..end].contains(['\n', '"']) {
            return Some((Some(Dialect::Cmd), t[end + 1..].trim_start()));
        }
    }
    // POSIX: `$ `, `% `, `> ` (also bash's PS2), `user@host:~/dir$ `.
    for p in ["$ ", "% ", "> "] {
        if let Some(rest) = t.strip_prefix(p) {
            return Some((None, rest.trim_start()));
        }
    }
    let end = t.find(['$', '#'])?;
    let head = &t[..end];
    let (user, place) = head.split_once('@')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let host = place.split(':').next().unwrap_or_default();
    let rest = t[end + 1..].strip_prefix(' ')?;
    (valid(user) && valid(host) && place.contains(':')).then_some((None, rest.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_removed_and_output_lines_dropped() {
        let p = prepare("$ curl -d a=b \\\n> -u x:y https://x/t\n{\"error\":\"invalid_client\"}\n");
        assert_eq!(p.text, "curl -d a=b \\\n-u x:y https://x/t\n");
        assert_eq!(p.dialect, Dialect::Posix);
        assert!(p.had_prompt);
        let p = prepare("me@box:~/src$ curl https://x/t");
        assert_eq!(p.text, "curl https://x/t");
        let p = prepare("PS C:\\Users\\me> curl.exe https://x/t");
        assert_eq!(
            (p.text.as_str(), p.dialect),
            ("curl.exe https://x/t", Dialect::PowerShell)
        );
        let p = prepare("C:\\Users\\me>curl https://x/t");
        assert_eq!(
            (p.text.as_str(), p.dialect),
            ("curl https://x/t", Dialect::Cmd)
        );
        let p = prepare("curl https://x/t -d a=b");
        assert!(!p.had_prompt);
        assert_eq!(p.text, "curl https://x/t -d a=b");
    }

    #[test]
    fn the_dialect_comes_from_what_only_it_writes() {
        assert_eq!(prepare("curl x ^\n -d a").dialect, Dialect::Cmd);
        assert_eq!(prepare("curl.exe x `\n -d a").dialect, Dialect::PowerShell);
        assert_eq!(
            prepare("curl x -u \"$env:ID:$env:S\"").dialect,
            Dialect::PowerShell
        );
        assert_eq!(prepare("curl x -u %ID%:%S%").dialect, Dialect::Posix);
        // One line, no `^`: curl.exe with %VAR% is cmd; a URL's %E2%80 is not a variable.
        assert_eq!(
            prepare("curl.exe -X POST https://x/t -H \"Authorization: Basic %B64%\"").dialect,
            Dialect::Cmd
        );
        assert_eq!(
            prepare("curl.exe https://x/t%E2%80%99 -d a=%2Fb").dialect,
            Dialect::Posix
        );
        assert_eq!(prepare("curl.exe x \\\n -d a").dialect, Dialect::Posix);
    }
}
