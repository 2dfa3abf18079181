//! PowerShell command lines, read the way PowerShell passes them to a native program
//! (`curl.exe`) — never run.
//!
//! Words are separated by spaces; a backtick escapes the next character, and a backtick at
//! the end of a line continues the command. `'…'` is literal (`''` is a quote; a `$NAME`
//! inside stays literal and is remembered, as in a POSIX shell). `"…"` expands `$NAME`,
//! `$env:NAME`, `${NAME}` and `$(…)` (kept symbolic), knows the backtick escapes (`` `n ``,
//! `` `t ``, `` `" ``, `` `$ ``) and `""` as a quote. `(…)` at the start of a word is an
//! expression whose value cannot be known. `| ; && || > 2>` are operators, `#` starts a
//! comment, `<# … #>` is one.
//!
//! PowerShell's own pitfall is refused with its fix: `"$ID:$SECRET"` does not parse there
//! (`:` after a variable name reads as a drive, e.g. `$env:`), so curl would never run.
//! Not supported, and said so plainly: here-strings (`@'…'@`, `@"…"@`) and the stop-parsing
//! token `--%`.

use super::shell::{is_name_char, Part, RawWord, ShellError, Token};

/// Scopes and drives a `$scope:name` variable may name.
const SCOPES: &[&str] = &[
    "env", "global", "local", "script", "private", "using", "variable",
];

/// Split a PowerShell command line into words and operators.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ShellError> {
    let mut r = Reader {
        s: input.chars().collect(),
        i: 0,
        out: Vec::new(),
        word: None,
    };
    r.run()?;
    Ok(r.out)
}

fn unsupported(what: &str) -> ShellError {
    ShellError::new(format!("PowerShell {what} are not supported by doctor"))
        .with_fix("write the values in plain '…' or \"…\" quotes (or paste the command as a POSIX shell would run it)")
}

struct Reader {
    s: Vec<char>,
    i: usize,
    out: Vec<Token>,
    word: Option<RawWord>,
}

impl Reader {
    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn word(&mut self) -> &mut RawWord {
        self.word.get_or_insert_with(RawWord::default)
    }

    fn flush(&mut self) -> Result<(), ShellError> {
        if let Some(w) = self.word.take() {
            if !w.quoted && w.literal().as_deref() == Some("--%") {
                return Err(unsupported("stop-parsing tokens (--%)"));
            }
            self.out.push(Token::Word(w));
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), ShellError> {
        while let Some(c) = self.peek(0) {
            let at_start = self.word.is_none();
            match c {
                '`' => match (self.peek(1), self.peek(2)) {
                    (Some('\n'), _) => self.i += 2,
                    (Some('\r'), Some('\n')) => self.i += 3,
                    (Some(n), _) => {
                        self.word().push_lit(n);
                        self.word().quoted = true;
                        self.i += 2;
                    }
                    (None, _) => self.i += 1,
                },
                ' ' | '\t' => {
                    self.flush()?;
                    self.i += 1;
                }
                '\r' if self.peek(1) == Some('\n') => self.i += 1,
                '\n' | ';' => {
                    self.flush()?;
                    self.out
                        .push(Token::Op(if c == ';' { ";".into() } else { "\n".into() }));
                    self.i += 1;
                }
                '<' if at_start && self.peek(1) == Some('#') => {
                    let end = self
                        .find("#>")
                        .ok_or_else(|| ShellError::new("a <# comment is never closed"))?;
                    self.i = end + 2;
                }
                '#' if at_start => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '@' if at_start
                    && matches!(self.peek(1), Some('\'' | '"'))
                    && self.rest_of_line_blank(2) =>
                {
                    return Err(unsupported("here-strings (@'…'@, @\"…\"@)"));
                }
                '|' | '&' | '>' | '<' => self.operator(c)?,
                '(' if at_start => {
                    self.i += 1;
                    let cmd = self.parens()?;
                    self.word().parts.push(Part::Subst {
                        cmd,
                        quoted: false,
                        arithmetic: false,
                    });
                }
                '\'' => self.single_quoted()?,
                '"' => self.double_quoted()?,
                '$' => self.dollar(false)?,
                _ => {
                    self.word().push_lit(c);
                    self.i += 1;
                }
            }
        }
        self.flush()
    }

    fn find(&self, pat: &str) -> Option<usize> {
        let p: Vec<char> = pat.chars().collect();
        (self.i..self.s.len()).find(|&k| self.s[k..].starts_with(&p))
    }

    fn rest_of_line_blank(&self, from: usize) -> bool {
        let mut k = self.i + from;
        while let Some(c) = self.s.get(k) {
            match c {
                '\n' => return true,
                ' ' | '\t' | '\r' => k += 1,
                _ => return false,
            }
        }
        true
    }

    fn operator(&mut self, c: char) -> Result<(), ShellError> {
        let mut op = String::new();
        if c == '>' {
            // `2>`, `*>`: a stream number glued to a redirection.
            if let Some(lit) = self
                .word
                .as_ref()
                .filter(|w| !w.quoted)
                .and_then(|w| w.literal())
            {
                if lit == "*" || (!lit.is_empty() && lit.chars().all(|d| d.is_ascii_digit())) {
                    op.push_str(&lit);
                    self.word = None;
                }
            }
        }
        self.flush()?;
        op.push(c);
        self.i += 1;
        if let Some(n) = self
            .peek(0)
            .filter(|n| matches!((c, *n), ('&', '&') | ('|', '|') | ('>', '>') | ('>', '&')))
        {
            op.push(n);
            self.i += 1;
            if op == ">&" {
                // `2>&1`
                while self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                    self.i += 1;
                }
            }
        }
        self.out.push(Token::Op(op));
        Ok(())
    }

    /// The text up to the `)` matching an already consumed `(`, quotes honoured.
    fn parens(&mut self) -> Result<String, ShellError> {
        let start = self.i;
        let mut depth = 1;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            self.i += 1;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), '`') => self.i += 1,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '`') => self.i += 1,
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.s[start..self.i - 1].iter().collect());
                    }
                }
                (None, _) => {}
            }
        }
        Err(ShellError::new("a ( is never closed"))
    }

    fn single_quoted(&mut self) -> Result<(), ShellError> {
        self.i += 1;
        let mut text = String::new();
        loop {
            match self.peek(0) {
                None => return Err(ShellError::new("a single quote (') is never closed")),
                Some('\'') if self.peek(1) == Some('\'') => {
                    text.push('\'');
                    self.i += 2;
                }
                Some('\'') => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
        let vars = vars_in(&text);
        let w = self.word();
        w.quoted = true;
        w.single_quoted_vars.extend(vars);
        if w.parts.is_empty() {
            w.parts.push(Part::Lit(String::new()));
        }
        w.push_str(&text);
        Ok(())
    }

    fn double_quoted(&mut self) -> Result<(), ShellError> {
        self.i += 1;
        {
            let w = self.word();
            w.quoted = true;
            if w.parts.is_empty() {
                w.parts.push(Part::Lit(String::new()));
            }
        }
        loop {
            let Some(c) = self.peek(0) else {
                return Err(ShellError::new("a double quote (\") is never closed"));
            };
            match c {
                '"' if self.peek(1) == Some('"') => {
                    self.word().push_lit('"');
                    self.i += 2;
                }
                '"' => {
                    self.i += 1;
                    return Ok(());
                }
                '`' => {
                    let e = self.peek(1).unwrap_or('`');
                    let lit = match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'e' => '\u{1b}',
                        'f' => '\u{c}',
                        'v' => '\u{b}',
                        other => other,
                    };
                    self.word().push_lit(lit);
                    self.i += 2;
                }
                '$' => self.dollar(true)?,
                _ => {
                    self.word().push_lit(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `$name`, `$env:NAME`, `${…}`, `$(…)`; a lone `$` is text.
    fn dollar(&mut self, quoted: bool) -> Result<(), ShellError> {
        match self.peek(1) {
            Some('(') => {
                self.i += 2;
                let cmd = self.parens()?;
                self.word().parts.push(Part::Subst {
                    cmd,
                    quoted,
                    arithmetic: false,
                });
            }
            Some('{') => {
                self.i += 2;
                let start = self.i;
                while self.peek(0).is_some_and(|c| c != '}') {
                    self.i += 1;
                }
                if self.peek(0).is_none() {
                    return Err(ShellError::new("a ${ variable is never closed"));
                }
                let inner: String = self.s[start..self.i].iter().collect();
                self.i += 1;
                let name = scoped(&inner).unwrap_or(inner);
                self.word().parts.push(Part::Var { name, quoted });
            }
            Some(c) if is_name_char(c) => {
                self.i += 1;
                let start = self.i;
                while self.peek(0).is_some_and(is_name_char) {
                    self.i += 1;
                }
                let mut name: String = self.s[start..self.i].iter().collect();
                if self.peek(0) == Some(':') {
                    if SCOPES.contains(&name.to_ascii_lowercase().as_str())
                        && self.peek(1).is_some_and(is_name_char)
                    {
                        self.i += 1;
                        let s2 = self.i;
                        while self.peek(0).is_some_and(is_name_char) {
                            self.i += 1;
                        }
                        name = self.s[s2..self.i].iter().collect();
                    } else if quoted {
                        return Err(ShellError::new(format!(
                            "\"${name}:…\" does not parse in PowerShell: ':' after a variable name reads as a drive (like $env:), so curl never runs"
                        ))
                        .with_fix(format!("delimit the name: \"${{{name}}}:…\" (e.g. -u \"${{env:CLIENT_ID}}:${{env:CLIENT_SECRET}}\")")));
                    }
                }
                self.word().parts.push(Part::Var { name, quoted });
            }
            _ => {
                self.word().push_lit('$');
                self.i += 1;
            }
        }
        Ok(())
    }
}

/// `env:NAME` → `NAME` (and the other scopes).
fn scoped(inner: &str) -> Option<String> {
    let (scope, name) = inner.split_once(':')?;
    SCOPES
        .contains(&scope.to_ascii_lowercase().as_str())
        .then(|| name.to_owned())
}

/// `$NAME`, `$env:NAME` in single-quoted text (literal in PowerShell, as in a POSIX shell).
fn vars_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (k, _) in text.match_indices('$') {
        let tok: String = text[k + 1..]
            .chars()
            .take_while(|c| is_name_char(*c) || *c == ':')
            .collect();
        let name =
            scoped(&tok).unwrap_or_else(|| tok.split(':').next().unwrap_or_default().to_owned());
        if name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paste::shell::words_of;

    fn words(s: &str) -> Vec<RawWord> {
        words_of(tokenize(s).unwrap())
    }

    #[test]
    fn backtick_continuations_quotes_and_env_vars() {
        let w = words(
            "curl.exe -X POST `\r\n  'https://x/t' `\n  -u \"${env:ID}:$env:SECRET\" -d 'a=it''s'",
        );
        let lit: Vec<Option<String>> = w.iter().map(RawWord::literal).collect();
        assert_eq!(
            lit[..4],
            [
                Some("curl.exe".into()),
                Some("-X".into()),
                Some("POST".into()),
                Some("https://x/t".into())
            ]
        );
        assert!(matches!(&w[5].parts[1], Part::Var { name, quoted: true } if name == "ID"));
        assert!(matches!(&w[5].parts[3], Part::Var { name, .. } if name == "SECRET"));
        assert_eq!(w[7].literal().unwrap(), "a=it's");
        let w = words("-H \"a`\"b\" '$env:S'");
        assert_eq!(w[1].literal().unwrap(), "a\"b");
        assert_eq!(w[2].single_quoted_vars, ["S"]);
    }

    #[test]
    fn the_drive_pitfall_and_unsupported_forms_are_plain_errors() {
        let e = tokenize("curl.exe -u \"$ID:$SECRET\" https://x/t").unwrap_err();
        assert!(e.message.contains("does not parse in PowerShell"), "{e}");
        assert!(e.fix.unwrap().contains("${ID}:"));
        assert!(tokenize("curl.exe --% -d a=b").is_err());
        assert!(tokenize("$b = @'\nx\n'@")
            .unwrap_err()
            .message
            .contains("here-strings"));
        assert!(tokenize("curl.exe 'abc").is_err());
    }
}
