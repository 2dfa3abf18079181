//! The `$` forms and backticks of a shell word: `$NAME`, `${NAME…}`, `$(…)` (to its
//! matching `)`, quotes inside honoured), `$((…))`, `` `…` ``, `$'…'` (C escapes) and
//! `$"…"`. Substitutions are kept as their command text ([`Part::Subst`]) for
//! [`crate::paste::expand`] to evaluate or leave opaque; nothing is run here. Nesting
//! deeper than [`MAX_DEPTH`] is refused.

use super::{is_name_char, is_name_start, Lexer, Part, RawWord, ShellError, MAX_DEPTH};

impl Lexer {
    pub(super) fn backtick(&mut self, w: &mut RawWord, quoted: bool) -> Result<(), ShellError> {
        self.i += 1;
        let mut cmd = String::new();
        loop {
            match self.peek(0) {
                None => return Err(ShellError::new("a backtick (`) is never closed")),
                Some('`') => {
                    self.i += 1;
                    break;
                }
                Some('\\') if matches!(self.peek(1), Some('$' | '`' | '\\')) => {
                    if let Some(n) = self.peek(1) {
                        cmd.push(n);
                    }
                    self.i += 2;
                }
                Some(c) => {
                    cmd.push(c);
                    self.i += 1;
                }
            }
        }
        w.parts.push(Part::Subst {
            cmd,
            quoted,
            arithmetic: false,
        });
        Ok(())
    }

    /// The text of a `$(…)` up to its matching `)`, honouring quotes inside.
    fn paren_body(&mut self, opens: usize) -> Result<String, ShellError> {
        let mut depth = opens;
        let start = self.i;
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => self.i += 2,
                '\'' => {
                    self.i += 1;
                    while self.peek(0).is_some_and(|c| c != '\'') {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                '"' => {
                    self.i += 1;
                    while let Some(d) = self.peek(0) {
                        if d == '\\' {
                            self.i += 2;
                            continue;
                        }
                        if d == '"' {
                            break;
                        }
                        self.i += 1;
                    }
                    self.i += 1;
                }
                '(' => {
                    depth += 1;
                    self.i += 1;
                }
                ')' => {
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        let end = self.i.saturating_sub(opens).max(start);
                        return Ok(self.s[start..end.min(self.s.len())].iter().collect());
                    }
                }
                _ => self.i += 1,
            }
        }
        Err(ShellError::new("a $( command substitution is never closed"))
    }

    pub(super) fn dollar(
        &mut self,
        w: &mut RawWord,
        quoted: bool,
        depth: usize,
    ) -> Result<(), ShellError> {
        let next = self.peek(1);
        match next {
            Some('(') => {
                // `$((…))` is arithmetic (never evaluated), `$(…)` a command substitution.
                let arithmetic = self.peek(2) == Some('(');
                if !arithmetic && depth >= MAX_DEPTH {
                    return Err(ShellError::new("command substitutions nest too deeply"));
                }
                let opens = if arithmetic { 2 } else { 1 };
                self.i += 1 + opens;
                let cmd = self.paren_body(opens)?;
                w.parts.push(Part::Subst {
                    cmd,
                    quoted,
                    arithmetic,
                });
            }
            Some('{') => {
                self.i += 2;
                let inner = self.until('}', "a ${ expansion")?;
                let name: String = inner
                    .trim_start_matches('#')
                    .chars()
                    .take_while(|&c| is_name_char(c) || "@*#?$!-".contains(c))
                    .collect();
                w.parts.push(Part::Var {
                    name: if name.is_empty() { inner } else { name },
                    quoted,
                });
            }
            Some('\'') if !quoted => {
                self.i += 2;
                self.ansi_c(w)?;
            }
            Some('"') if !quoted => {
                // $"…" (locale translation) behaves like "…".
                self.i += 2;
                w.quoted = true;
                self.double_quoted(w, depth)?;
            }
            Some(c) if is_name_start(c) => {
                self.i += 1;
                let start = self.i;
                while self.peek(0).is_some_and(is_name_char) {
                    self.i += 1;
                }
                w.parts.push(Part::Var {
                    name: self.s[start..self.i].iter().collect(),
                    quoted,
                });
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.i += 2;
                w.parts.push(Part::Var {
                    name: c.to_string(),
                    quoted,
                });
            }
            _ => {
                w.push_lit('$');
                self.i += 1;
            }
        }
        Ok(())
    }

    /// `$'…'`: backslash escapes as in C.
    fn ansi_c(&mut self, w: &mut RawWord) -> Result<(), ShellError> {
        w.quoted = true;
        if w.parts.is_empty() {
            w.parts.push(Part::Lit(String::new()));
        }
        loop {
            let Some(c) = self.peek(0) else {
                return Err(ShellError::new("a $' string is never closed"));
            };
            self.i += 1;
            match c {
                '\'' => return Ok(()),
                '\\' => {
                    let Some(e) = self.peek(0) else { continue };
                    self.i += 1;
                    match e {
                        'n' => w.push_lit('\n'),
                        't' => w.push_lit('\t'),
                        'r' => w.push_lit('\r'),
                        'a' => w.push_lit('\u{7}'),
                        'b' => w.push_lit('\u{8}'),
                        'e' | 'E' => w.push_lit('\u{1b}'),
                        'f' => w.push_lit('\u{c}'),
                        'v' => w.push_lit('\u{b}'),
                        '0' => w.push_lit('\0'),
                        other => w.push_lit(other),
                    }
                }
                other => w.push_lit(other),
            }
        }
    }
}
