//! A POSIX/bash word splitter for pasted command lines — it reads a command the way a shell
//! would, and never runs one.
//!
//! [`tokenize`] turns text into [`Token`]s: words (with quote removal, backslash escapes,
//! `\` line continuations also before CRLF, `$'…'` ANSI-C quoting) and control operators
//! (`|`, `&&`, `;`, newline, redirections). Expansions stay symbolic: `$VAR`/`${VAR}` become
//! [`Part::Var`], `$(…)` and backticks [`Part::Subst`]. A `$NAME` inside single quotes is
//! kept literally, as the shell does, and remembered in [`RawWord::single_quoted_vars`] so
//! that `doctor` can say it never expanded. The `$` forms and backticks are read in
//! `dollar`.
//!
//! Deliberately not supported: globbing, brace expansion, here-documents, aliases,
//! arithmetic (kept as an opaque substitution) and anything that would need to execute code.
//! Input is bounded by the caller; nesting depth is bounded here, so arbitrary input cannot
//! overflow the stack.

use std::fmt;

mod dollar;

/// One piece of a word before expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (quotes already removed).
    Lit(String),
    /// `$NAME` or `${NAME…}` outside single quotes.
    Var {
        /// The variable name (`1`, `@`, … for special parameters).
        name: String,
        /// Inside double quotes (no word splitting).
        quoted: bool,
    },
    /// `$(…)` or `` `…` `` command substitution (or `$((…))` arithmetic).
    Subst {
        /// The command text inside the substitution.
        cmd: String,
        /// Inside double quotes (no word splitting).
        quoted: bool,
        /// `$((…))`: arithmetic, never evaluated.
        arithmetic: bool,
    },
}

/// A word as written, before expansion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawWord {
    /// The pieces in order.
    pub parts: Vec<Part>,
    /// `$NAME` / `${NAME}` found inside single quotes: the shell passes them literally.
    pub single_quoted_vars: Vec<String>,
    /// Any quoting was used (so an empty word still counts, e.g. `''`).
    pub quoted: bool,
}

impl RawWord {
    /// The word's text when it has no expansions.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    pub(super) fn push_lit(&mut self, c: char) {
        if let Some(Part::Lit(s)) = self.parts.last_mut() {
            s.push(c);
        } else {
            self.parts.push(Part::Lit(c.to_string()));
        }
    }

    pub(super) fn push_str(&mut self, t: &str) {
        for c in t.chars() {
            self.push_lit(c);
        }
    }
}

/// A word or a control operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A word.
    Word(RawWord),
    /// `|`, `||`, `&&`, `;`, `&`, `(`, `)`, a newline (`"\n"`) or a redirection (`>`, `>>`,
    /// `<`, `2>`, `>&`, …).
    Op(String),
}

/// Why a command line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellError {
    /// What is wrong, e.g. "a single quote (') is never closed".
    pub message: String,
    /// How to write it instead, when it is not the usual unclosed quote.
    pub fix: Option<String>,
}

impl ShellError {
    /// An error with the usual fix (close the quote).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fix: None,
        }
    }

    /// The same error with its own fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// How deep `$(…)` may nest before we give up (a shell would recurse; we must not).
pub const MAX_DEPTH: usize = 8;

/// Split `input` into words and operators.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ShellError> {
    Lexer {
        s: input.chars().collect(),
        i: 0,
    }
    .run()
}

struct Lexer {
    s: Vec<char>,
    i: usize,
}

pub(super) fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

pub(super) fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// `$NAME` / `${NAME}` occurrences in single-quoted text.
fn vars_in(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < c.len() {
        if c[i] == '$' {
            let (start, braced) = if c[i + 1] == '{' {
                (i + 2, true)
            } else {
                (i + 1, false)
            };
            let mut j = start;
            while j < c.len() && is_name_char(c[j]) {
                j += 1;
            }
            if j > start && c.get(start).is_some_and(|&ch| is_name_start(ch)) {
                if !braced || c.get(j) == Some(&'}') {
                    out.push(c[start..j].iter().collect());
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    /// A `\` line continuation (LF or CRLF) at the cursor: skip it.
    fn continuation(&mut self) -> bool {
        if self.peek(0) != Some('\\') {
            return false;
        }
        match (self.peek(1), self.peek(2)) {
            (Some('\n'), _) => self.i += 2,
            (Some('\r'), Some('\n')) => self.i += 3,
            _ => return false,
        }
        true
    }

    /// The text up to the next `close` (consumed, not returned); `what` names the opener
    /// for the error when it is never closed.
    fn until(&mut self, close: char, what: &str) -> Result<String, ShellError> {
        let start = self.i;
        while self.peek(0).is_some_and(|c| c != close) {
            self.i += 1;
        }
        if self.peek(0).is_none() {
            return Err(ShellError::new(format!("{what} is never closed")));
        }
        let text: String = self.s[start..self.i].iter().collect();
        self.i += 1;
        Ok(text)
    }

    fn run(mut self) -> Result<Vec<Token>, ShellError> {
        let mut out = Vec::new();
        let mut word: Option<RawWord> = None;
        fn flush(out: &mut Vec<Token>, word: &mut Option<RawWord>) {
            if let Some(w) = word.take() {
                out.push(Token::Word(w));
            }
        }
        while let Some(c) = self.peek(0) {
            if self.continuation() {
                continue;
            }
            match c {
                ' ' | '\t' => {
                    flush(&mut out, &mut word);
                    self.i += 1;
                }
                '\r' if self.peek(1) == Some('\n') => {
                    self.i += 1;
                }
                '\r' => {
                    flush(&mut out, &mut word);
                    self.i += 1;
                }
                '\n' => {
                    flush(&mut out, &mut word);
                    out.push(Token::Op("\n".into()));
                    self.i += 1;
                }
                '#' if word.is_none() => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '|' | '&' | ';' | '(' | ')' | '<' | '>' => {
                    // `2>` and `2>&1`: a bare fd number glued to a redirection.
                    let mut op = String::new();
                    if matches!(c, '<' | '>') {
                        if let Some(w) = &word {
                            if let Some(lit) = w.literal().filter(|l| {
                                !w.quoted && !l.is_empty() && l.chars().all(|d| d.is_ascii_digit())
                            }) {
                                op.push_str(&lit);
                                word = None;
                            }
                        }
                    }
                    flush(&mut out, &mut word);
                    op.push(c);
                    self.i += 1;
                    let next = self.peek(0);
                    let two = matches!(
                        (c, next),
                        ('|', Some('|'))
                            | ('&', Some('&'))
                            | (';', Some(';'))
                            | ('>', Some('>'))
                            | ('>', Some('&'))
                            | ('<', Some('<'))
                            | ('&', Some('>'))
                            | ('>', Some('|'))
                    );
                    if two {
                        if let Some(n) = next {
                            op.push(n);
                        }
                        self.i += 1;
                    }
                    out.push(Token::Op(op));
                }
                _ => {
                    let w = word.get_or_insert_with(RawWord::default);
                    self.word_char(w, 0)?;
                }
            }
        }
        flush(&mut out, &mut word);
        Ok(out)
    }

    /// Consume one unit of an unquoted word (a character, a quoted string, an expansion).
    fn word_char(&mut self, w: &mut RawWord, depth: usize) -> Result<(), ShellError> {
        let Some(c) = self.peek(0) else {
            return Ok(());
        };
        match c {
            '\\' => {
                self.i += 1;
                if let Some(n) = self.peek(0) {
                    w.push_lit(n);
                    w.quoted = true;
                    self.i += 1;
                }
            }
            '\'' => {
                self.i += 1;
                w.quoted = true;
                let text = self.until('\'', "a single quote (')")?;
                w.single_quoted_vars.extend(vars_in(&text));
                w.push_str(&text);
                if w.parts.is_empty() {
                    w.parts.push(Part::Lit(String::new()));
                }
            }
            '"' => {
                self.i += 1;
                w.quoted = true;
                if w.parts.is_empty() {
                    w.parts.push(Part::Lit(String::new()));
                }
                self.double_quoted(w, depth)?;
            }
            '$' => self.dollar(w, false, depth)?,
            '`' => self.backtick(w, false)?,
            _ => {
                w.push_lit(c);
                self.i += 1;
            }
        }
        Ok(())
    }

    fn double_quoted(&mut self, w: &mut RawWord, depth: usize) -> Result<(), ShellError> {
        loop {
            if self.continuation() {
                continue;
            }
            let Some(c) = self.peek(0) else {
                return Err(ShellError::new("a double quote (\") is never closed"));
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(());
                }
                '\\' => match self.peek(1) {
                    Some(n @ ('$' | '`' | '"' | '\\')) => {
                        w.push_lit(n);
                        self.i += 2;
                    }
                    _ => {
                        w.push_lit('\\');
                        self.i += 1;
                    }
                },
                '$' => self.dollar(w, true, depth)?,
                '`' => self.backtick(w, true)?,
                _ => {
                    w.push_lit(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// One simple command of a list: its words, redirection targets removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    /// Words in order.
    pub words: Vec<RawWord>,
    /// The operator that ended the command (`|`, `&&`, `;`, `\n`, or empty at the end).
    pub ended_by: String,
}

/// Group tokens into simple commands, dropping redirections and their targets.
pub fn commands(tokens: &[Token]) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let mut cur = SimpleCommand::default();
    let mut skip_next_word = false;
    for t in tokens {
        match t {
            Token::Word(w) => {
                if skip_next_word {
                    skip_next_word = false;
                } else {
                    cur.words.push(w.clone());
                }
            }
            Token::Op(op) if op.contains('<') || op.contains('>') => skip_next_word = true,
            Token::Op(op) => {
                cur.ended_by = op.clone();
                if !cur.words.is_empty() {
                    out.push(std::mem::take(&mut cur));
                } else {
                    cur = SimpleCommand::default();
                }
            }
        }
    }
    if !cur.words.is_empty() {
        out.push(cur);
    }
    out
}

/// The words of `tokens`, the operators left out: what the tokenizers' unit tests
/// compare (this module's, `cmd`'s and `powershell`'s).
#[cfg(test)]
pub(super) fn words_of(tokens: Vec<Token>) -> Vec<RawWord> {
    tokens
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w),
            Token::Op(_) => None,
        })
        .collect()
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
