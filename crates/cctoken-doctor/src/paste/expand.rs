//! Expansion of [`RawWord`]s into the arguments a program would receive ([`Arg`]), without
//! running anything.
//!
//! Variables stay symbolic ([`Seg::Var`]) unless the pasted text assigned them first
//! (`CREDS=$(echo -n … | base64)` on an earlier line, or `export X=…`), as a shell would.
//! Command substitutions are evaluated exactly when [`super::pipeline`] recognises them; the
//! result is text (trailing newlines removed, as `$(…)` does) and, unquoted, is split into
//! several arguments on whitespace — which is how a wrapped `base64` output can break a
//! header in two. Unrecognised substitutions stay opaque ([`Seg::Cmd`]).

use std::collections::HashMap;

use super::pipeline::{self, Pipeline};
use super::shell::{self, Part, RawWord, Token};

/// A piece of an expanded argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// Known text.
    Text(String),
    /// A variable whose value is not in the pasted text.
    Var(String),
    /// A command substitution whose output cannot be known.
    Cmd(String),
}

/// One argument as the program receives it, possibly with symbolic pieces.
#[derive(Debug, Clone, Default)]
pub struct Arg {
    /// The pieces in order (adjacent text merged).
    pub segs: Vec<Seg>,
    /// `$NAME` written inside single quotes: it reaches the program literally.
    pub single_quoted_vars: Vec<String>,
    /// The command substitutions that produced parts of this argument.
    pub pipelines: Vec<Pipeline>,
}

impl PartialEq for Arg {
    fn eq(&self, other: &Self) -> bool {
        self.segs == other.segs
    }
}

impl Arg {
    /// A literal argument.
    pub fn text(s: &str) -> Self {
        Self {
            segs: vec![Seg::Text(s.to_owned())],
            ..Self::default()
        }
    }

    /// The whole text when nothing is symbolic.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Text(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    /// True when a variable or an opaque substitution is part of the value.
    pub fn is_symbolic(&self) -> bool {
        self.segs.iter().any(|s| !matches!(s, Seg::Text(_)))
    }

    /// The variables this value depends on.
    pub fn vars(&self) -> Vec<&str> {
        self.segs
            .iter()
            .filter_map(|s| match s {
                Seg::Var(v) => Some(v.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The known text with symbolic parts written `$NAME` / `$(…)`. May hold secrets:
    /// only for values that are not secret (URLs, header names, parameter names).
    pub fn display(&self) -> String {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Text(t) => out.push_str(t),
                Seg::Var(v) => {
                    out.push_str("${");
                    out.push_str(v);
                    out.push('}');
                }
                Seg::Cmd(_) => out.push_str("$(…)"),
            }
        }
        out
    }

    /// Merge adjacent text pieces and drop empty ones.
    pub fn normalize(&mut self) {
        let mut out: Vec<Seg> = Vec::with_capacity(self.segs.len());
        for s in self.segs.drain(..) {
            match (out.last_mut(), s) {
                (_, Seg::Text(t)) if t.is_empty() => {}
                (Some(Seg::Text(prev)), Seg::Text(t)) => prev.push_str(&t),
                (_, s) => out.push(s),
            }
        }
        self.segs = out;
    }

    /// Split at the first `ch` in known text.
    pub fn split_once(&self, ch: char) -> Option<(Arg, Arg)> {
        let mut parts = self.split_n(ch, 2);
        if parts.len() < 2 {
            return None;
        }
        let right = parts.pop()?;
        let left = parts.pop()?;
        Some((left, right))
    }

    /// Split at every `ch` in known text.
    pub fn split(&self, ch: char) -> Vec<Arg> {
        self.split_n(ch, usize::MAX)
    }

    fn split_n(&self, ch: char, max: usize) -> Vec<Arg> {
        let mut out = vec![self.empty_like()];
        for s in &self.segs {
            match s {
                Seg::Text(t) => {
                    let mut rest = t.as_str();
                    while out.len() < max {
                        let Some(pos) = rest.find(ch) else { break };
                        if let Some(cur) = out.last_mut() {
                            cur.segs.push(Seg::Text(rest[..pos].to_owned()));
                        }
                        out.push(self.empty_like());
                        rest = &rest[pos + ch.len_utf8()..];
                    }
                    if let Some(cur) = out.last_mut() {
                        cur.segs.push(Seg::Text(rest.to_owned()));
                    }
                }
                other => {
                    if let Some(cur) = out.last_mut() {
                        cur.segs.push(other.clone());
                    }
                }
            }
        }
        for a in &mut out {
            a.normalize();
        }
        out
    }

    /// Join arguments with a separator, as `echo` and `printf` do.
    pub fn join(args: &[Arg], sep: &str) -> Arg {
        let mut out = Arg::default();
        for (n, a) in args.iter().enumerate() {
            if n > 0 && !sep.is_empty() {
                out.segs.push(Seg::Text(sep.into()));
            }
            out.segs.extend(a.segs.iter().cloned());
            out.single_quoted_vars
                .extend(a.single_quoted_vars.iter().cloned());
        }
        out.normalize();
        out
    }

    fn empty_like(&self) -> Arg {
        Arg {
            segs: Vec::new(),
            single_quoted_vars: self.single_quoted_vars.clone(),
            pipelines: self.pipelines.clone(),
        }
    }
}

/// Variables assigned earlier in the pasted text.
pub type Assignments = HashMap<String, Arg>;

/// `NAME=value` (a shell assignment word).
pub fn assignment(w: &RawWord) -> Option<(String, RawWord)> {
    let Some(Part::Lit(first)) = w.parts.first() else {
        return None;
    };
    let (name, rest) = first.split_once('=')?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !valid {
        return None;
    }
    let mut value = w.clone();
    value.parts[0] = Part::Lit(rest.to_owned());
    Some((name.to_owned(), value))
}

/// Expand one word into zero or more arguments.
pub fn expand(w: &RawWord, env: &Assignments, depth: usize) -> Vec<Arg> {
    let mut x = Expander {
        out: Vec::new(),
        cur: Arg {
            single_quoted_vars: w.single_quoted_vars.clone(),
            ..Arg::default()
        },
        brk: false,
        started: w.quoted,
    };
    for p in &w.parts {
        match p {
            Part::Lit(s) => x.push(Seg::Text(s.clone()), true),
            Part::Var { name, quoted } => match env.get(name) {
                Some(v) => {
                    x.cur.pipelines.extend(v.pipelines.iter().cloned());
                    for s in &v.segs {
                        x.push(s.clone(), *quoted);
                    }
                }
                None => x.push(Seg::Var(name.clone()), true),
            },
            Part::Subst {
                cmd,
                quoted,
                arithmetic,
            } => {
                let (seg, pipe) = if *arithmetic {
                    (Seg::Cmd(format!("$(({cmd}))")), None)
                } else {
                    substitute(cmd, env, depth)
                };
                if let Some(p) = pipe {
                    x.cur.pipelines.push(p);
                }
                x.push(seg, *quoted);
            }
        }
    }
    x.finish()
}

/// Expand a whole assignment value (no word splitting).
pub fn expand_value(w: &RawWord, env: &Assignments, depth: usize) -> Arg {
    let mut quoted = w.clone();
    for p in &mut quoted.parts {
        match p {
            Part::Var { quoted, .. } | Part::Subst { quoted, .. } => *quoted = true,
            Part::Lit(_) => {}
        }
    }
    quoted.quoted = true;
    let mut parts = expand(&quoted, env, depth);
    parts.pop().unwrap_or_default()
}

fn substitute(cmd: &str, env: &Assignments, depth: usize) -> (Seg, Option<Pipeline>) {
    let opaque = || Seg::Cmd(cmd.to_owned());
    if depth >= shell::MAX_DEPTH {
        return (opaque(), None);
    }
    let Ok(tokens) = shell::tokenize(cmd) else {
        return (opaque(), None);
    };
    if tokens
        .iter()
        .any(|t| matches!(t, Token::Op(op) if op != "|" && op != "\n"))
    {
        return (opaque(), None);
    }
    let cmds = shell::commands(&tokens);
    let words: Vec<Vec<Arg>> = cmds
        .iter()
        .map(|c| {
            c.words
                .iter()
                .flat_map(|w| expand(w, env, depth + 1))
                .collect()
        })
        .collect();
    let p = pipeline::evaluate(&words);
    let seg = match &p.output {
        Some(out) => Seg::Text(pipeline::substitution_text(out)),
        None => opaque(),
    };
    (seg, Some(p))
}

struct Expander {
    out: Vec<Arg>,
    cur: Arg,
    /// Unquoted whitespace was seen: the next text starts a new argument.
    brk: bool,
    /// The current argument exists even if empty (quotes were used).
    started: bool,
}

impl Expander {
    fn push(&mut self, seg: Seg, quoted: bool) {
        match seg {
            Seg::Text(t) if !quoted => {
                for c in t.chars() {
                    if matches!(c, ' ' | '\t' | '\n') {
                        self.brk = true;
                        continue;
                    }
                    self.breakpoint();
                    self.cur.segs.push(Seg::Text(c.to_string()));
                }
            }
            other => {
                self.breakpoint();
                self.cur.segs.push(other);
                self.started = true;
            }
        }
    }

    fn breakpoint(&mut self) {
        if self.brk && !self.cur.segs.is_empty() {
            let next = Arg {
                single_quoted_vars: self.cur.single_quoted_vars.clone(),
                ..Arg::default()
            };
            let mut done = std::mem::replace(&mut self.cur, next);
            done.normalize();
            self.out.push(done);
        }
        self.brk = false;
    }

    fn finish(mut self) -> Vec<Arg> {
        if !self.cur.segs.is_empty() || (self.started && self.out.is_empty()) {
            self.cur.normalize();
            self.out.push(self.cur);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str, env: &Assignments) -> Vec<Arg> {
        shell::tokenize(s)
            .unwrap()
            .iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(expand(w, env, 0)),
                Token::Op(_) => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn substitution_is_evaluated_and_split_when_unquoted() {
        let env = Assignments::new();
        let a = args(r#""Basic $(printf %s a:b | base64)""#, &env);
        assert_eq!(a[0].literal().unwrap(), "Basic YTpi");
        let a = args("x$(echo -n 'a b')y", &env);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].literal().unwrap(), "xa");
        assert_eq!(a[1].literal().unwrap(), "by");
    }

    #[test]
    fn assignments_are_used() {
        let mut env = Assignments::new();
        let t = shell::tokenize("C=$(echo -n id:pw | base64)").unwrap();
        let Token::Word(w) = &t[0] else { panic!() };
        let (name, value) = assignment(w).unwrap();
        env.insert(name, expand_value(&value, &env, 0));
        let a = args(r#""Authorization: Basic $C" $UNKNOWN"#, &env);
        assert_eq!(a[0].literal().unwrap(), "Authorization: Basic aWQ6cHc=");
        assert_eq!(a[0].pipelines.len(), 1);
        assert_eq!(a[1].segs, vec![Seg::Var("UNKNOWN".into())]);
    }

    #[test]
    fn split_keeps_symbols() {
        let a = args(r#""client_id=$ID&client_secret=$S&x""#, &Assignments::new());
        let parts = a[0].split('&');
        assert_eq!(parts.len(), 3);
        let (k, v) = parts[1].split_once('=').unwrap();
        assert_eq!(k.literal().unwrap(), "client_secret");
        assert_eq!(v.vars(), ["S"]);
        assert_eq!(a[0].display(), "client_id=${ID}&client_secret=${S}&x");
    }

    #[test]
    fn empty_quoted_word_survives() {
        let a = args("'' x", &Assignments::new());
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].literal().unwrap(), "");
    }
}
