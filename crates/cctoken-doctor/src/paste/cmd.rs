//! Windows `cmd.exe` command lines, read the way cmd and then `curl.exe` read them — never
//! run.
//!
//! Two readers take turns on a cmd line. cmd itself: `%NAME%` is a variable (kept symbolic
//! as [`Part::Var`], as in an interactive cmd where an undefined one stays as written),
//! `^` escapes the next character and `^` at the end of a line continues the command,
//! `& && || | < >` are operators outside double quotes, `rem`/`::` lines are comments, and
//! `set NAME=value` / `set "NAME=value"` assign (the value is the rest of the line, trailing
//! spaces included, as cmd keeps them). Then the program splits what it receives by the
//! Microsoft C runtime's rules: spaces separate arguments outside double quotes, `""`
//! inside quotes is a literal quote, and backslashes count only before a quote (`\"` is a
//! literal quote; `\\"` a backslash and a quote mark). Single quotes are *not* quotes in
//! cmd: they reach curl as characters (the checks say so).
//!
//! Not modelled: delayed expansion (`!VAR!`), `%VAR:~0,4%` substrings, `for` loops and
//! batch-file parameters (`%1`, `%%i`); they stay literal text.

use super::shell::{Part, RawWord, ShellError, Token};

/// Split a cmd line into words and operators.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ShellError> {
    let mut r = Reader {
        s: input.chars().collect(),
        i: 0,
        out: Vec::new(),
        word: None,
        cmd_quoted: false,
        crt_quoted: false,
    };
    r.run();
    Ok(r.out)
}

struct Reader {
    s: Vec<char>,
    i: usize,
    out: Vec<Token>,
    word: Option<RawWord>,
    /// cmd's own quote state: operators and `^` are plain text inside.
    cmd_quoted: bool,
    /// The C runtime's quote state: spaces do not separate arguments inside.
    crt_quoted: bool,
}

impl Reader {
    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn word(&mut self) -> &mut RawWord {
        self.word.get_or_insert_with(RawWord::default)
    }

    fn flush(&mut self) {
        if let Some(w) = self.word.take() {
            self.out.push(Token::Word(w));
        }
    }

    fn run(&mut self) {
        let mut line_start = true;
        while let Some(c) = self.peek(0) {
            if line_start {
                line_start = false;
                if self.line_start() {
                    continue;
                }
            }
            match c {
                '^' if !self.cmd_quoted => {
                    match (self.peek(1), self.peek(2)) {
                        (Some('\n'), _) => self.i += 2,
                        (Some('\r'), Some('\n')) => self.i += 3,
                        (Some(n), _) => {
                            // An escaped quote is a quote to the program, not to cmd.
                            if n == '"' {
                                self.crt_quoted = !self.crt_quoted;
                                self.word().quoted = true;
                            } else {
                                self.word().push_lit(n);
                            }
                            self.i += 2;
                        }
                        (None, _) => self.i += 1,
                    }
                }
                '%' => match percent_var(&self.s[self.i..]) {
                    Some((name, len)) => {
                        let quoted = self.crt_quoted;
                        self.word().parts.push(Part::Var { name, quoted });
                        self.i += len;
                    }
                    None => {
                        self.word().push_lit('%');
                        self.i += 1;
                    }
                },
                '\r' if self.peek(1) == Some('\n') => self.i += 1,
                '\n' => {
                    // A cmd line ends here, inside quotes or not.
                    self.flush();
                    self.out.push(Token::Op("\n".into()));
                    self.cmd_quoted = false;
                    self.crt_quoted = false;
                    line_start = true;
                    self.i += 1;
                }
                '&' | '|' | '<' | '>' if !self.cmd_quoted => self.operator(c),
                '"' => self.quote(),
                '\\' => self.backslashes(),
                ' ' | '\t' if !self.crt_quoted => {
                    self.flush();
                    self.i += 1;
                }
                _ => {
                    self.word().push_lit(c);
                    self.i += 1;
                }
            }
        }
        self.flush();
    }

    /// Comments, `@`, and `set` at the start of a line; true when the line was consumed.
    fn line_start(&mut self) -> bool {
        while matches!(self.peek(0), Some(' ' | '\t' | '@')) {
            self.i += 1;
        }
        let rest: String = self.s[self.i..]
            .iter()
            .take_while(|c| **c != '\n')
            .collect();
        let lower = rest.to_ascii_lowercase();
        if lower.starts_with("::") || lower == "rem" || lower.starts_with("rem ") {
            self.i += rest.chars().count();
            return true;
        }
        let Some(assignment) = lower.strip_prefix("set ").map(|_| rest[4..].trim_start()) else {
            return false;
        };
        let assignment = assignment.trim_end_matches('\r');
        let body = match assignment.strip_prefix('"') {
            Some(q) => q.rfind('"').map_or(q, |end| &q[..end]),
            None => assignment,
        };
        if body.starts_with('/') || !body.contains('=') {
            return false; // `set /a`, `set /p`, or a listing: not an assignment.
        }
        let mut w = RawWord {
            quoted: true,
            ..RawWord::default()
        };
        let chars: Vec<char> = body.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            match percent_var(&chars[k..]) {
                Some((name, len)) => {
                    w.parts.push(Part::Var { name, quoted: true });
                    k += len;
                }
                None => {
                    w.push_lit(chars[k]);
                    k += 1;
                }
            }
        }
        self.out.push(Token::Word(w));
        self.i += rest.chars().count();
        true
    }

    fn operator(&mut self, c: char) {
        let mut op = String::new();
        // `2>`: a bare fd number glued to a redirection.
        if matches!(c, '<' | '>') {
            if let Some(lit) = self
                .word
                .as_ref()
                .filter(|w| !w.quoted)
                .and_then(|w| w.literal())
            {
                if !lit.is_empty() && lit.chars().all(|d| d.is_ascii_digit()) {
                    op.push_str(&lit);
                    self.word = None;
                }
            }
        }
        self.flush();
        op.push(c);
        self.i += 1;
        if let Some(n) = self.peek(0).filter(|n| {
            matches!(
                (c, *n),
                ('&', '&') | ('|', '|') | ('>', '>') | ('>', '&') | ('<', '&')
            )
        }) {
            op.push(n);
            self.i += 1;
        }
        self.out.push(Token::Op(op));
    }

    fn quote(&mut self) {
        self.word().quoted = true;
        if self.crt_quoted && self.peek(1) == Some('"') {
            // `""` inside quotes: a literal quote (cmd sees two quotes: its state is kept).
            self.word().push_lit('"');
            self.i += 2;
            return;
        }
        self.crt_quoted = !self.crt_quoted;
        self.cmd_quoted = !self.cmd_quoted;
        self.i += 1;
    }

    /// The C runtime's backslash rule: they count only before a double quote.
    fn backslashes(&mut self) {
        let n = self.s[self.i..].iter().take_while(|c| **c == '\\').count();
        let before_quote = self.peek(n) == Some('"');
        let keep = if before_quote { n / 2 } else { n };
        for _ in 0..keep {
            self.word().push_lit('\\');
        }
        self.i += n;
        if before_quote && n % 2 == 1 {
            // `\"`: a literal quote for the program, but still a quote to cmd.
            self.word().push_lit('"');
            self.cmd_quoted = !self.cmd_quoted;
            self.i += 1;
        }
    }
}

/// `%NAME%` at the start of `s`: the name and the length consumed.
fn percent_var(s: &[char]) -> Option<(String, usize)> {
    if s.first() != Some(&'%') {
        return None;
    }
    let end = s[1..].iter().take(64).position(|c| *c == '%')? + 1;
    let name: String = s[1..end].iter().collect();
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.#$@()".contains(c));
    ok.then(|| (name, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paste::shell::words_of;

    fn words(s: &str) -> Vec<RawWord> {
        words_of(tokenize(s).unwrap())
    }

    fn lits(s: &str) -> Vec<String> {
        words(s)
            .iter()
            .map(|w| w.literal().unwrap_or_else(|| "<sym>".into()))
            .collect()
    }

    #[test]
    fn caret_continuations_escapes_and_crt_quotes() {
        assert_eq!(
            lits("curl -X POST ^\r\n  \"https://x/t\" ^\n  -d \"a=b&c\" a^&b"),
            ["curl", "-X", "POST", "https://x/t", "-d", "a=b&c", "a&b"]
        );
        assert_eq!(
            lits(r#"-d "{\"grant_type\":\"client_credentials\"}" "a""b" 'x y'"#),
            [
                r#"-d"#,
                r#"{"grant_type":"client_credentials"}"#,
                "a\"b",
                "'x",
                "y'"
            ]
        );
        assert_eq!(lits(r#"a\\b "c\\" d"#), [r"a\\b", r"c\", "d"]);
    }

    #[test]
    fn percent_variables_are_symbolic_and_set_assigns() {
        let w = words("curl -u \"%CLIENT_ID%:%CLIENT_SECRET%\" 100%");
        assert!(matches!(&w[2].parts[0], Part::Var { name, quoted: true } if name == "CLIENT_ID"));
        assert!(matches!(&w[2].parts[2], Part::Var { name, .. } if name == "CLIENT_SECRET"));
        assert_eq!(w[3].literal().unwrap(), "100%");
        let w = words("set \"S=ab c\"\r\nset ID=x%Y% \nrem a comment\ncurl");
        assert_eq!(w[0].literal().unwrap(), "S=ab c");
        assert!(matches!(&w[1].parts[1], Part::Var { name, .. } if name == "Y"));
        assert!(matches!(&w[1].parts[2], Part::Lit(t) if t == " "));
        assert_eq!(w[2].literal().unwrap(), "curl");
    }

    #[test]
    fn operators_outside_quotes_only() {
        let t = tokenize("curl \"a|b\" 2>nul | jq . && echo ok").unwrap();
        let ops: Vec<&str> = t
            .iter()
            .filter_map(|t| match t {
                Token::Op(o) => Some(o.as_str()),
                Token::Word(_) => None,
            })
            .collect();
        assert_eq!(ops, ["2>", "|", "&&"]);
    }
}
