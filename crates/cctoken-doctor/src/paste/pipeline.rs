//! Exact, byte-for-byte evaluation of the little pipelines people use to build a Basic
//! header — `echo`, `echo -n`, `printf` piped into `base64` (GNU: wraps at 76 columns
//! unless `-w0`), `openssl base64` (wraps at 64 unless `-A`), `tr -d '\n'`, `cat` — without
//! running anything.
//!
//! When every input is literal the output is computed exactly ([`Pipeline::output`]). When
//! the payload holds a variable (`echo -n "$ID:$SECRET" | base64`) the facts that matter
//! are still known: whether a newline was appended, and whether the output may wrap.
//! Any other command makes the pipeline opaque ([`Stage::Other`]); nothing is ever executed.
//! `echo` is bash's builtin (no escape processing without `-e`).

use base64::Engine as _;

use super::expand::Arg;

/// GNU coreutils `base64` wraps encoded lines at this many columns by default.
pub const GNU_BASE64_WRAP: usize = 76;
/// `openssl base64` wraps at this many columns unless `-A`.
pub const OPENSSL_BASE64_WRAP: usize = 64;

/// One recognised stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// `echo [-n] [-e]`.
    Echo {
        /// A newline is appended (no `-n`).
        newline: bool,
    },
    /// `printf FORMAT ARGS…`.
    Printf {
        /// The format ends in a newline (`'%s\n'`).
        newline: bool,
    },
    /// `base64` (GNU coreutils or BSD) / `openssl base64`.
    Base64 {
        /// Output wraps after this many columns; 0 = no wrapping.
        wrap: usize,
        /// `-d`: decoding instead of encoding.
        decode: bool,
        /// `openssl` rather than coreutils.
        openssl: bool,
    },
    /// `tr -d SET`.
    TrDelete(Vec<char>),
    /// `cat` with no arguments.
    Cat,
    /// A command we do not evaluate (its name).
    Other(String),
}

/// A recognised (or not) pipeline from a command substitution.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// What the first stage prints, before the trailing newline of `echo`: possibly
    /// symbolic. Holds secrets: never display it.
    pub payload: Option<Arg>,
    /// The exact stdout, when every input was literal and every stage recognised (before the
    /// shell strips trailing newlines).
    pub output: Option<Vec<u8>>,
}

impl Pipeline {
    /// Every stage was understood.
    pub fn recognised(&self) -> bool {
        !self.stages.is_empty() && !self.stages.iter().any(|s| matches!(s, Stage::Other(_)))
    }

    /// The base64 encoding stage, if any.
    pub fn encoder(&self) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| matches!(s, Stage::Base64 { decode: false, .. }))
    }

    /// The producer appends a newline that then gets encoded (`echo` without `-n`).
    pub fn encodes_newline(&self) -> bool {
        let newline = matches!(
            self.stages.first(),
            Some(Stage::Echo { newline: true } | Stage::Printf { newline: true })
        );
        let stripped_before = self
            .stages
            .iter()
            .take_while(|s| !matches!(s, Stage::Base64 { .. }))
            .any(|s| matches!(s, Stage::TrDelete(set) if set.contains(&'\n')));
        newline && self.encoder().is_some() && !stripped_before
    }

    /// The encoded output's line width if it wraps (no `-w0` and no `tr -d '\n'` after it).
    pub fn wrap_width(&self) -> Option<usize> {
        let pos = self
            .stages
            .iter()
            .position(|s| matches!(s, Stage::Base64 { decode: false, .. }))?;
        let Stage::Base64 { wrap, .. } = &self.stages[pos] else {
            return None;
        };
        let unwrapped_later = self.stages[pos + 1..]
            .iter()
            .any(|s| matches!(s, Stage::TrDelete(set) if set.contains(&'\n')));
        (*wrap > 0 && !unwrapped_later).then_some(*wrap)
    }
}

/// Evaluate a pipeline given each command's expanded words.
pub fn evaluate(commands: &[Vec<Arg>]) -> Pipeline {
    let mut p = Pipeline::default();
    let mut data: Option<Vec<u8>> = Some(Vec::new());
    for (n, words) in commands.iter().enumerate() {
        let name = words
            .first()
            .and_then(Arg::literal)
            .unwrap_or_else(|| "?".into());
        let base = name.rsplit('/').next().unwrap_or(&name).to_owned();
        let args = words.get(1..).unwrap_or_default();
        let stage = match base.as_str() {
            "echo" if n == 0 => echo(args, &mut p, &mut data),
            "printf" if n == 0 => printf(args, &mut p, &mut data),
            "base64" if n > 0 => base64_stage(args, false, &mut data),
            "openssl" if n > 0 => base64_stage(args, true, &mut data),
            "tr" if n > 0 => tr(args, &mut data),
            "cat" if n > 0 && args.is_empty() => Stage::Cat,
            _ => Stage::Other(base),
        };
        if matches!(stage, Stage::Other(_)) {
            data = None;
        }
        p.stages.push(stage);
    }
    p.output = data.filter(|_| p.recognised());
    p
}

fn echo(args: &[Arg], p: &mut Pipeline, data: &mut Option<Vec<u8>>) -> Stage {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(flag) = args.get(i).and_then(Arg::literal) {
        let Some(opts) = flag.strip_prefix('-') else {
            break;
        };
        if opts.is_empty() || !opts.chars().all(|c| "neE".contains(c)) {
            break;
        }
        for c in opts.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        i += 1;
    }
    let payload = Arg::join(&args[i.min(args.len())..], " ");
    *data = payload.literal().map(|t| {
        let mut out = if escapes {
            escape_bytes(&t).0
        } else {
            t.into_bytes()
        };
        if newline {
            out.push(b'\n');
        }
        out
    });
    p.payload = Some(payload);
    Stage::Echo { newline }
}

/// Backslash escapes of `printf` formats and `echo -e`; the flag says `\c` stopped output.
fn escape_bytes(s: &str) -> (Vec<u8>, bool) {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '\\' || i + 1 == c.len() {
            let mut b = [0u8; 4];
            out.extend_from_slice(c[i].encode_utf8(&mut b).as_bytes());
            i += 1;
            continue;
        }
        i += 1;
        let e = c[i];
        i += 1;
        match e {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'v' => out.push(11),
            'e' => out.push(27),
            '\\' => out.push(b'\\'),
            'c' => return (out, true),
            '0'..='7' => {
                let mut v: u32 = e.to_digit(8).unwrap_or(0);
                let mut k = 0;
                while k < 2 && i < c.len() && c[i].is_digit(8) {
                    v = v * 8 + c[i].to_digit(8).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                out.push((v & 0xff) as u8);
            }
            'x' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && i < c.len() && c[i].is_ascii_hexdigit() {
                    v = v * 16 + c[i].to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                if k == 0 {
                    out.extend_from_slice(b"\\x");
                } else {
                    out.push(v as u8);
                }
            }
            other => {
                out.push(b'\\');
                let mut b = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    (out, false)
}

/// bash's `printf`: the format is reused while arguments remain; `%s`, `%b`, `%d`, `%%`.
fn printf(args: &[Arg], p: &mut Pipeline, data: &mut Option<Vec<u8>>) -> Stage {
    let mut args = args;
    if args.first().and_then(Arg::literal).as_deref() == Some("--") {
        args = &args[1..];
    }
    let Some(format) = args.first() else {
        *data = None;
        return Stage::Printf { newline: false };
    };
    let rest = &args[1..];
    let format_text = format.literal();
    let newline = format_text
        .as_deref()
        .is_some_and(|f| f.ends_with("\\n") || f.ends_with('\n'));
    // The payload: the arguments (or the format itself when it has no conversions).
    p.payload = Some(if rest.is_empty() {
        format.clone()
    } else {
        Arg::join(rest, "")
    });
    let (Some(fmt), Some(vals)) = (
        format_text,
        rest.iter().map(Arg::literal).collect::<Option<Vec<_>>>(),
    ) else {
        *data = None;
        return Stage::Printf { newline };
    };
    *data = Some(run_printf(&fmt, &vals));
    Stage::Printf { newline }
}

fn run_printf(fmt: &str, vals: &[String]) -> Vec<u8> {
    let c: Vec<char> = fmt.chars().collect();
    let mut out = Vec::new();
    let mut next = 0;
    // At most as many passes as arguments (+1), so a format without conversions ends.
    for _ in 0..=vals.len() {
        let mut used = false;
        let mut i = 0;
        while i < c.len() {
            match c[i] {
                '%' if c.get(i + 1) == Some(&'%') => {
                    out.push(b'%');
                    i += 2;
                }
                '%' => {
                    let mut j = i + 1;
                    while j < c.len() && "-+ #0123456789.".contains(c[j]) {
                        j += 1;
                    }
                    let conv = c.get(j).copied().unwrap_or('s');
                    let v = vals.get(next).cloned().unwrap_or_default();
                    next += 1;
                    used = true;
                    match conv {
                        'b' => {
                            let (b, stop) = escape_bytes(&v);
                            out.extend(b);
                            if stop {
                                return out;
                            }
                        }
                        'd' | 'i' | 'u' => {
                            let n: i64 = v.trim().parse().unwrap_or(0);
                            out.extend(n.to_string().into_bytes());
                        }
                        _ => out.extend(v.into_bytes()),
                    }
                    i = j + 1;
                }
                '\\' => {
                    let mut j = i + 1;
                    if j < c.len() {
                        j += 1;
                    }
                    // Octal/hex escapes may be longer; take what escape_bytes consumes.
                    while j < c.len() && j < i + 4 && c[j].is_ascii_hexdigit() {
                        j += 1;
                    }
                    let seg: String = c[i..j.min(c.len())].iter().collect();
                    let (b, stop) = escape_bytes(&seg);
                    out.extend(b);
                    if stop {
                        return out;
                    }
                    i = j;
                }
                ch => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                    i += 1;
                }
            }
        }
        if !used || next >= vals.len() {
            break;
        }
    }
    out
}

fn base64_stage(args: &[Arg], openssl: bool, data: &mut Option<Vec<u8>>) -> Stage {
    let lits: Vec<String> = args
        .iter()
        .map(|a| a.literal().unwrap_or_default())
        .collect();
    let mut wrap = if openssl {
        OPENSSL_BASE64_WRAP
    } else {
        GNU_BASE64_WRAP
    };
    let mut decode = false;
    let mut i = 0;
    if openssl {
        // `openssl base64 [-A] [-d]` or `openssl enc -base64 [-A] [-d]`.
        let sub = lits.first().map(String::as_str);
        if !matches!(sub, Some("base64" | "enc")) {
            *data = None;
            return Stage::Other("openssl".into());
        }
        if sub == Some("enc") && !lits.iter().any(|l| l == "-base64" || l == "-a") {
            *data = None;
            return Stage::Other("openssl".into());
        }
        for l in &lits[1..] {
            match l.as_str() {
                "-A" => wrap = 0,
                "-d" => decode = true,
                _ => {}
            }
        }
    } else {
        while i < lits.len() {
            let l = lits[i].as_str();
            let value_of = |i: usize| lits.get(i + 1).and_then(|v| v.parse::<usize>().ok());
            if let Some(v) = l.strip_prefix("--wrap=") {
                wrap = v.parse().unwrap_or(wrap);
            } else if l == "--wrap" || l == "-w" || l == "-b" {
                wrap = value_of(i).unwrap_or(wrap);
                i += 1;
            } else if let Some(v) = l.strip_prefix("-w").or_else(|| l.strip_prefix("-b")) {
                wrap = v.parse().unwrap_or(wrap);
            } else if matches!(l, "-d" | "--decode" | "-D") {
                decode = true;
            }
            i += 1;
        }
    }
    *data = data.take().and_then(|input| {
        if decode {
            let clean: Vec<u8> = input
                .into_iter()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD.decode(clean).ok()
        } else {
            Some(encode_wrapped(&input, wrap))
        }
    });
    Stage::Base64 {
        wrap,
        decode,
        openssl,
    }
}

/// What `base64 -w WRAP` prints for `input`, final newline included.
pub fn encode_wrapped(input: &[u8], wrap: usize) -> Vec<u8> {
    if input.is_empty() {
        return Vec::new();
    }
    let enc = base64::engine::general_purpose::STANDARD.encode(input);
    let mut out = Vec::with_capacity(enc.len() + enc.len() / wrap.max(1) + 1);
    for (n, b) in enc.bytes().enumerate() {
        if wrap > 0 && n > 0 && n % wrap == 0 {
            out.push(b'\n');
        }
        out.push(b);
    }
    out.push(b'\n');
    out
}

fn tr(args: &[Arg], data: &mut Option<Vec<u8>>) -> Stage {
    let lits: Vec<Option<String>> = args.iter().map(Arg::literal).collect();
    match lits.as_slice() {
        [Some(flag), Some(set)] if flag == "-d" => {
            let (bytes, _) = escape_bytes(set);
            let set: Vec<char> = String::from_utf8_lossy(&bytes).chars().collect();
            *data = data.take().map(|d| {
                d.into_iter()
                    .filter(|b| !set.contains(&char::from(*b)))
                    .collect()
            });
            Stage::TrDelete(set)
        }
        _ => {
            *data = None;
            Stage::Other("tr".into())
        }
    }
}

/// The text of a pipeline's substitution: stdout with trailing newlines removed, as
/// `$(…)` does.
pub fn substitution_text(output: &[u8]) -> String {
    let mut end = output.len();
    while end > 0 && output[end - 1] == b'\n' {
        end -= 1;
    }
    String::from_utf8_lossy(&output[..end]).into_owned()
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
