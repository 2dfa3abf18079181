//! Checks of secret and client-id *values*: trailing newline, surrounding whitespace,
//! control characters, placeholders, literal quotes, characters where `basic` and
//! `basic-raw` differ, Genesys client-id shape.
//!
//! Shared by the curl analysis and the profile checks. Messages name where the value was
//! found and its fingerprint — never the value. Only placeholders, which are not secrets,
//! are described by the pattern they match (not quoted in full).

use super::report::{Code, Finding, Report, Severity};
use super::text::{Term, Text};
use cctoken::secret::Fingerprint;

/// Which credential a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An OAuth client secret.
    ClientSecret,
    /// A CXone access key secret (the password grant's `password`).
    AccessKeySecret,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::ClientSecret => "client secret",
            Self::AccessKeySecret => "access key secret",
        }
    }
}

/// The placeholder pattern `value` matches, if any.
pub fn placeholder(value: &str) -> Option<&'static str> {
    let v = value.trim().to_ascii_lowercase();
    let v = v.trim_matches(['"', '\'']);
    if v.is_empty() {
        return None;
    }
    const EXACT: &[&str] = &[
        "secret",
        "client_secret",
        "clientsecret",
        "client-secret",
        "client_id",
        "clientid",
        "client-id",
        "password",
        "changeme",
        "change_me",
        "change-me",
        "replaceme",
        "replace_me",
        "todo",
        "tbd",
        "null",
        "undefined",
        "none",
        "example",
        "test",
        "foo",
        "bar",
        "your secret",
    ];
    if EXACT.contains(&v) {
        return Some("a generic word");
    }
    const CONTAINS: &[(&str, &str)] = &[
        ("your_", "YOUR_…"),
        ("your-", "your-…"),
        ("yourclient", "YOURCLIENT…"),
        ("yoursecret", "YOURSECRET…"),
        ("{{", "{{…}}"),
        ("[[", "[[…]]"),
        ("...", "…"),
        ("…", "…"),
        ("changeme", "changeme"),
        ("replace", "REPLACE…"),
        ("placeholder", "placeholder"),
        ("redacted", "REDACTED"),
        ("insert_", "INSERT_…"),
        ("enter_", "ENTER_…"),
        ("_here", "…_HERE"),
    ];
    if v.contains('<') && v.contains('>') {
        return Some("<…>");
    }
    if let Some((_, shown)) = CONTAINS.iter().find(|(p, _)| v.contains(p)) {
        return Some(shown);
    }
    let filler = |c: char| matches!(c, 'x' | '*' | '#' | '-' | '0');
    if v.len() >= 3 && v.chars().all(filler) && !v.chars().all(|c| c == '-' || c == '0') {
        return Some("xxx / ***");
    }
    None
}

/// Context for one secret value.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// Which credential.
    pub kind: Kind,
    /// Where it was found, e.g. "the Basic header", "-d client_secret".
    pub place: &'a str,
    /// A newline was already reported for this value (by the `echo` pipeline check).
    pub newline_reported: bool,
    /// The exact fix for "remove the surrounding bytes" in this context.
    pub source_hint: &'a str,
}

/// Check a known secret value.
pub fn check_secret(value: &str, ctx: &Ctx<'_>, report: &mut Report) {
    let fp = Fingerprint::of(value.as_bytes());
    let label = ctx.kind.label();
    let place = ctx.place;
    if value.is_empty() {
        report.push(Finding::new(
            Code::SecretControl,
            format!("the {label} in {place} is empty"),
            "put the secret there (from a variable or file), or remove the empty credential",
        ));
        return;
    }
    if let Some(nl) = ["\r\n", "\n", "\r"].iter().find(|nl| value.ends_with(*nl)) {
        if !ctx.newline_reported {
            let what = if *nl == "\r\n" {
                "\\r\\n (CRLF)"
            } else if *nl == "\r" {
                "\\r"
            } else {
                "\\n"
            };
            report.push(Finding::new(
                Code::SecretTrailingNewline,
                format!("the {label} in {place} ends in {what} ({fp}); the server compares it with the newline"),
                format!("remove the newline: {}", ctx.source_hint),
            ));
        }
    }
    let body = value.trim_end_matches(['\r', '\n']);
    let ws = |c: char| c == ' ' || c == '\t' || (c.is_whitespace() && c != '\n' && c != '\r');
    let lead = body.chars().next().filter(|c| ws(*c));
    let trail = body.chars().next_back().filter(|c| ws(*c));
    if lead.is_some() || trail.is_some() {
        let name = |c: char| match c {
            ' ' => "space",
            '\t' => "tab",
            _ => "whitespace character",
        };
        let what = match (lead, trail) {
            (Some(l), Some(t)) => format!("a leading {} and a trailing {}", name(l), name(t)),
            (Some(l), None) => format!("a leading {}", name(l)),
            (None, Some(t)) => format!("a trailing {}", name(t)),
            (None, None) => String::new(),
        };
        report.push(Finding::new(
            Code::SecretWhitespace,
            format!("the {label} in {place} has {what} ({fp})"),
            format!("remove the surrounding whitespace: {}", ctx.source_hint),
        ));
    }
    if body.starts_with('\u{feff}') {
        report.push(Finding::new(
            Code::SecretControl,
            format!("the {label} in {place} starts with a byte-order mark (U+FEFF) ({fp})"),
            "save the file as UTF-8 without BOM",
        ));
    } else if let Some(pos) = body
        .bytes()
        .position(|b| b.is_ascii_control() && b != b'\t')
    {
        report.push(Finding::new(
            Code::SecretControl,
            format!("the {label} in {place} has a control character at byte {pos} ({fp})"),
            "secrets are printable text: copy it again from the provider's console",
        ));
    }
    if let Some(p) = placeholder(body) {
        report.push(Finding::new(
            Code::SecretPlaceholder,
            format!("the {label} in {place} is a placeholder (matches {p})"),
            "put the real secret there, from a variable: \"$CLIENT_SECRET\" (never typed inline)",
        ));
    }
    let b = body.trim();
    if b.len() >= 2
        && ((b.starts_with('"') && b.ends_with('"')) || (b.starts_with('\'') && b.ends_with('\'')))
    {
        report.push(Finding::new(
            Code::SecretQuoted,
            format!(
                "the {label} in {place} is wrapped in literal quote characters ({fp}); the quotes become part of the secret"
            ),
            "remove the inner quotes (in .env files and CI variables write the bare value)",
        ));
    }
}

/// `basic` (RFC form-urlencoding) and `basic-raw` send different bytes for this secret.
pub fn encoding_sensitive(value: &str) -> bool {
    cctoken::auth::form_urlencode(value) != value
}

/// Which characters make [`encoding_sensitive`] true (deduplicated, for messages — these
/// single characters do not reveal the secret).
pub fn sensitive_chars(value: &str) -> String {
    let mut seen = Vec::new();
    for c in value.chars() {
        let one = c.to_string();
        if cctoken::auth::form_urlencode(&one) != one
            && !seen.contains(&c)
            && c.is_ascii_punctuation()
        {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Check a client id (not secret: it may be shown).
pub fn check_client_id(id: &str, genesys: bool, place: &str, report: &mut Report) {
    if let Some(p) = placeholder(id) {
        report.push(Finding::new(
            Code::SecretPlaceholder,
            format!("the client id in {place} is a placeholder (matches {p})"),
            "put the OAuth client's real id there (Genesys: Admin > Integrations > OAuth)",
        ));
        return;
    }
    let t = id.trim_matches(['"', '\'']);
    if t != id {
        report.push(Finding::new(
            Code::ClientIdFormat,
            format!("the client id in {place} is wrapped in literal quotes"),
            "remove the inner quotes",
        ));
    }
    if t.trim() != t {
        report.push(Finding::new(
            Code::ClientIdFormat,
            format!("the client id in {place} has surrounding whitespace"),
            "remove the spaces/tabs/newlines around the client id",
        ));
    }
    if genesys && !cctoken::provider::genesys::looks_like_client_id(t.trim()) {
        report.push(Finding::new(
            Code::ClientIdFormat,
            format!(
                "the client id '{}' is not a UUID; Genesys Cloud OAuth client ids look like 5a1c3a2e-1b2c-4d5e-8f90-123456789abc",
                cctoken::error::excerpt(t.trim(), 60)
            ),
            "copy the Client ID (not the name or the secret) from Admin > Integrations > OAuth",
        ));
    }
}

/// A warning/info pair used for secrets seen on a command line.
pub fn in_argv(place: &str, literal: bool, fp: Option<&Fingerprint>) -> Finding {
    match (literal, fp) {
        (true, fp) => Finding::new(
            Code::SecretInArgv,
            format!(
                "a secret is typed into the command line ({place}{}): it is kept in shell history and visible to every user via `ps`",
                fp.map(|f| format!(", {f}")).unwrap_or_default()
            ),
            "read it from a variable (-u \"$CLIENT_ID:$CLIENT_SECRET\") or a file (--data-urlencode client_secret@file); if it was shared, rotate it",
        ),
        (false, _) => Finding::new(
            Code::SecretInArgv,
            format!("the secret variable in {place} is expanded into curl's arguments, visible via `ps` while curl runs"),
            Text::from("for long-running or shared machines prefer ")
                + Term::FetchToken
                + " (secrets from env/file, never argv) or curl -K with a 0600 config file",
        )
        .severity(Severity::Info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "YOUR_CLIENT_SECRET",
            "<secret>",
            "xxx",
            "XXXXXXXX",
            "changeme",
            "...",
            "{{client_secret}}",
            "****",
            "secret",
            "PASTE_SECRET_HERE",
        ] {
            assert!(placeholder(p).is_some(), "{p}");
        }
        for real in [
            "Zq3kP0sLmN8vB2xY7wT1rE5uI9oA4dF6gH0jK2lM3nB",
            "demo+s3cret/=%&",
            "a1b2c3",
        ] {
            assert!(placeholder(real).is_none(), "{real}");
        }
    }

    #[test]
    fn secret_findings_never_show_the_value() {
        let mut r = Report::default();
        let ctx = Ctx {
            kind: Kind::ClientSecret,
            place: "-u",
            newline_reported: false,
            source_hint: "fix it",
        };
        check_secret("\"canarySECRET\"\t\n", &ctx, &mut r);
        let text = r.render_human(&crate::Plain);
        assert!(!text.contains("canary"));
        assert!(r.has(Code::SecretTrailingNewline));
        assert!(r.has(Code::SecretWhitespace));
        assert!(text.contains("sha256:"));
    }

    #[test]
    fn sensitive_characters() {
        assert!(encoding_sensitive("demo+s3cret/=%&"));
        assert!(!encoding_sensitive("abc-._~".trim_end_matches('~')));
        assert_eq!(sensitive_chars("a+b/c+"), "'+' '/'");
    }
}
