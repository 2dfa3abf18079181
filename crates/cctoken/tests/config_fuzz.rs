//! Fuzz-style robustness of the config parsers (SPEC §11): arbitrary and mutated input to
//! the profile file and the Genesys CLI config never panics, and errors never echo a
//! secret value written into the file.

use std::path::Path;

use cctoken::config::{gc, ConfigFile};

/// The profile file of SPEC §7 (also the profile parser's unit-test example).
const SEED_FILE: &str = include_str!("data/spec_example.toml");

const GC_FILE: &str = "[DEFAULT]\nenvironment = \"mypurecloud.ie\"\nclient_credentials = \"id\"\nclient_secret = \"CANARY-gc-secret\"\n";

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(seed: &str, rng: &mut XorShift) -> String {
    const PIECES: &[&str] = &[
        "\"",
        "'",
        "[",
        "]",
        "=",
        "\n",
        "{",
        "}",
        ",",
        "#",
        "\\",
        "\u{feff}",
        "\0",
        "é",
        "1e99",
        "[[profiles]]",
        "provider = 7",
        "region = []",
        "auth = \"digest\"",
        "http://x",
        "\t",
        "client_secret = \"CANARY-inline\"",
    ];
    let mut bytes: Vec<char> = seed.chars().collect();
    for _ in 0..1 + rng.below(6) {
        match rng.below(3) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                let len = rng.below(20).min(bytes.len() - at);
                bytes.drain(at..at + len);
            }
            1 => {
                let at = rng.below(bytes.len() + 1);
                let piece = PIECES[rng.below(PIECES.len())];
                for (i, c) in piece.chars().enumerate() {
                    bytes.insert(at + i, c);
                }
            }
            _ if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = char::from_u32((rng.next() % 0x80) as u32).unwrap_or('x');
            }
            _ => {}
        }
    }
    bytes.into_iter().collect()
}

#[test]
fn seed_files_parse() {
    let cfg = ConfigFile::parse(SEED_FILE, Path::new("config.toml")).expect("seed parses");
    assert_eq!(cfg.names().len(), 2);
    let p = gc::parse(GC_FILE, Path::new("gc.toml"), "default").expect("gc parses");
    assert_eq!(p.client_id.as_deref(), Some("id"));
}

#[test]
fn mutated_profile_files_never_panic_or_leak() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let text = mutate(SEED_FILE, &mut rng);
        if let Err(e) = ConfigFile::parse(&text, Path::new("config.toml")) {
            let shown = e.to_string();
            assert!(!shown.contains("CANARY-inline"), "{shown}");
        }
    }
}

#[test]
fn mutated_gc_files_never_panic_or_leak() {
    let mut rng = XorShift(42);
    for _ in 0..3000 {
        let text = mutate(GC_FILE, &mut rng);
        if let Err(e) = gc::parse(&text, Path::new("gc.toml"), "default") {
            assert!(!e.to_string().contains("CANARY-gc-secret"), "{e}");
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(7);
    for len in 0..600 {
        let text: String = (0..len)
            .map(|_| char::from_u32((rng.next() % 0x250) as u32).unwrap_or('?'))
            .collect();
        let _ = ConfigFile::parse(&text, Path::new("c.toml"));
        let _ = gc::parse(&text, Path::new("g.toml"), "default");
    }
}
