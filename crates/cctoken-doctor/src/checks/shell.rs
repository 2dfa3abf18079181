//! What the shell did to a pasted command before curl saw it: the dialect it was read in
//! (Windows cmd, PowerShell) and that dialect's traps — single quotes in cmd, `curl` as an
//! alias in Windows PowerShell, a blank after a line continuation — and variables that
//! never expanded: `$VAR` in single quotes, a literal `${…}`, `{{var}}` templates, and
//! `%VAR%`, which only cmd expands.
//!
//! Advice is written in the dialect's own syntax (`"$VAR"`, `"%VAR%"`, `"${env:VAR}"`).

use super::params::SECRET_PARAMS;
use crate::paste::dialect::Dialect;
use crate::paste::expand::Arg;
use crate::report::{Code, Finding, Report, Severity};
use crate::request::{Request, Source};

/// `-u` with the client from variables, in the dialect's syntax.
fn user_example(d: Dialect) -> &'static str {
    match d {
        Dialect::Posix => "-u \"$CLIENT_ID:$CLIENT_SECRET\"",
        Dialect::Cmd => "-u \"%CLIENT_ID%:%CLIENT_SECRET%\"",
        Dialect::PowerShell => "-u \"${env:CLIENT_ID}:${env:CLIENT_SECRET}\"",
    }
}

/// A variable reference in the dialect's syntax.
fn var_in(d: Dialect, name: &str) -> String {
    match d {
        Dialect::Posix => format!("\"${name}\""),
        Dialect::Cmd => format!("\"%{name}%\""),
        Dialect::PowerShell => format!("\"$env:{name}\""),
    }
}

/// How the command was read, and the dialect's own traps.
pub(super) fn dialect(r: &Request, report: &mut Report) {
    if r.source != Source::Curl {
        return;
    }
    for n in &r.cut_lines {
        let c = match r.dialect {
            Dialect::Posix => '\\',
            Dialect::Cmd => '^',
            Dialect::PowerShell => '`',
        };
        report.push(Finding::new(
            Code::CurlParse,
            format!("line {n} ends in {c} followed by a space: the {c} escapes the space instead of continuing the line, so the command ends there and the lines after it never reach curl"),
            format!("remove the blanks after the {c} at the end of line {n}"),
        ));
    }
    let how = match r.dialect {
        Dialect::Posix => return,
        Dialect::Cmd => "^ escapes and line continuations, %VAR% variables, double quotes only",
        Dialect::PowerShell => {
            "backtick escapes and line continuations, $env:VAR variables, '…' and \"…\" quotes"
        }
    };
    report.push(
        Finding::new(
            Code::ShellDialect,
            format!("the command was read as {} syntax ({how})", r.dialect),
            format!("nothing to do; the findings follow {}'s rules", r.dialect),
        )
        .severity(Severity::Info),
    );
    if r.cmd_single_quotes {
        report.push(Finding::new(
            Code::ShellDialect,
            "single quotes are not quotes in Windows cmd: curl receives the ' characters as part of the values (a parameter named 'grant_type, a URL starting with ')",
            "use double quotes in cmd: -d \"grant_type=client_credentials\" -u \"%CLIENT_ID%:%CLIENT_SECRET%\"",
        ).severity(Severity::Error));
    }
    if r.dialect == Dialect::PowerShell && r.program.eq_ignore_ascii_case("curl") {
        report.push(
            Finding::new(
                Code::ShellDialect,
                "in Windows PowerShell 5.1 `curl` is an alias of Invoke-WebRequest, which does not take curl's options (PowerShell 7 runs the real curl)",
                "call curl.exe explicitly: curl.exe -X POST …",
            )
            .severity(Severity::Warning),
        );
    }
}

/// Variables that reached the request as text.
pub(super) fn unexpanded(r: &Request, report: &mut Report) {
    let d = r.dialect;
    for v in &r.single_quoted_vars {
        report.push(Finding::new(
            Code::ShellUnexpanded,
            format!("${v} is inside single quotes, so curl receives the literal text ${v} instead of its value"),
            format!("use double quotes: {} (e.g. {})", var_in(d, v), user_example(d)),
        ));
    }
    // Literal ${…}, {{…}} or %VAR% reaching the request (escaped, or from a template).
    // Secret values are checked too, but their findings never quote the text.
    let mut texts: Vec<(String, bool)> = r
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.literal()
                .map(|t| (t, k.eq_ignore_ascii_case("authorization")))
        })
        .collect();
    texts.extend(r.form.iter().filter_map(|p| {
        p.value
            .literal()
            .map(|t| (t, SECRET_PARAMS.contains(&p.name.as_str())))
    }));
    if let Some(b) = &r.basic {
        texts.extend(b.id.iter().filter_map(Arg::literal).map(|t| (t, false)));
        texts.extend(b.secret.iter().filter_map(Arg::literal).map(|t| (t, true)));
    }
    if let Some(u) = &r.url {
        if !u.symbolic {
            texts.push((format!("{}{}", u.host, u.path), false));
        }
    }
    for (t, secret) in texts {
        if let Some(f) = unexpanded_finding(&t, secret, r) {
            report.push(f);
        }
    }
}

fn unexpanded_finding(t: &str, secret: bool, r: &Request) -> Option<Finding> {
    let d = r.dialect;
    if let Some(name) = literal_var(t) {
        if r.single_quoted_vars.contains(&name) {
            return None;
        }
        let shown = if secret {
            "$NAME".into()
        } else {
            format!("${name}")
        };
        let whose = if secret { " inside a secret value" } else { "" };
        let fix = match d {
            Dialect::Posix => "expand it in double quotes in a shell, or substitute it in your CI tool before calling curl".to_owned(),
            _ => format!("{d} does not expand $NAME: write {}", var_in(d, if secret { "NAME" } else { &name })),
        };
        return Some(Finding::new(
            Code::ShellUnexpanded,
            format!("the literal text {shown} reaches the request{whose}: a variable was never expanded"),
            fix,
        ));
    }
    match template_var(t)? {
        Template::Braces(name) => Some(Finding::new(
            Code::ShellUnexpanded,
            format!(
                "the template variable {} reaches the request unexpanded (Postman/CI syntax, not shell)",
                if secret { "{{…}}" } else { &name }
            ),
            format!("use a shell variable in double quotes ({}), or run it where the template is expanded", var_in(d, "CLIENT_SECRET")),
        )),
        Template::Percent(name) => {
            let shown = if secret { "%…%".to_owned() } else { format!("%{name}%") };
            Some(match d {
                Dialect::PowerShell => Finding::new(
                    Code::ShellUnexpanded,
                    format!("PowerShell does not expand {shown} (cmd syntax): curl receives the text as is"),
                    format!("write {}", var_in(d, if secret { "NAME" } else { &name })),
                ),
                _ => Finding::new(
                    Code::ShellUnexpanded,
                    format!("{shown} is Windows cmd syntax: cmd.exe expands it, but a POSIX shell (bash, zsh, Git Bash) passes it to curl as is"),
                    format!("in a POSIX shell write {}; in cmd.exe it is right as written", var_in(Dialect::Posix, if secret { "NAME" } else { &name })),
                )
                .severity(Severity::Warning),
            })
        }
    }
}

/// The text is a variable that never expanded (`$VAR`, `${VAR}`, `{{var}}`, `%VAR%`).
pub(super) fn unexpanded_text(t: &str) -> bool {
    literal_var(t).is_some() || template_var(t).is_some()
}

fn literal_var(t: &str) -> Option<String> {
    let i = t.find('$')?;
    let rest = &t[i + 1..];
    let rest = rest.strip_prefix('{').unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (name.len() >= 2
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
    .then_some(name)
}

enum Template {
    /// `{{name}}` (Postman, CI templates), as written (at most 40 characters).
    Braces(String),
    /// `%NAME%` (Windows cmd).
    Percent(String),
}

fn template_var(t: &str) -> Option<Template> {
    if let (Some(a), Some(b)) = (t.find("{{"), t.find("}}")) {
        if b > a {
            return Some(Template::Braces(t[a..b + 2].chars().take(40).collect()));
        }
    }
    let first = t.find('%')?;
    let second = t[first + 1..].find('%')? + first + 1;
    let name = &t[first + 1..second];
    let ident = name.len() >= 3
        && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        && name.chars().any(|c| c.is_ascii_uppercase());
    ident.then(|| Template::Percent(name.to_owned()))
}
