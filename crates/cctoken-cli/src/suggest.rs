//! "Did you mean" for subcommands clap finds no match for.
//!
//! clap suggests a subcommand when its Jaro similarity to the typo is high, which misses
//! short transpositions (`gte` for `get`, `pai` for `api`). This adds the one rule that
//! catches them: a single edit — insert, delete, substitute or swap two neighbours — away
//! from a subcommand of the command the typo was given to. It only ever adds a tip to
//! clap's error; it never runs a command the user did not name.

/// The subcommand of the command `argv` was addressed to that is one edit from the
/// unknown word in `argv`, if exactly one is.
pub fn subcommand(root: &clap::Command, argv: &[String]) -> Option<String> {
    let mut cmd = root;
    for word in argv.iter().filter(|a| !a.starts_with('-')) {
        match cmd.find_subcommand(word) {
            Some(sub) => cmd = sub,
            None => {
                let near: Vec<&str> = cmd
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(clap::Command::get_name)
                    .filter(|name| one_edit(word, name))
                    .collect();
                return match near.as_slice() {
                    [one] => Some((*one).to_owned()),
                    _ => None,
                };
            }
        }
    }
    None
}

/// True when `a` and `b` differ by exactly one insertion, deletion, substitution or swap
/// of two adjacent characters (optimal string alignment distance 1).
fn one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Less => ra == &rb[1..],
        std::cmp::Ordering::Greater => &ra[1..] == rb,
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_is_one_edit() {
        for (a, b) in [
            ("gte", "get"),
            ("ge", "get"),
            ("gett", "get"),
            ("gat", "get"),
            ("pai", "api"),
        ] {
            assert!(one_edit(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("get", "get"),
            ("tge", "get"),
            ("g", "get"),
            ("xyz", "get"),
            ("", "api"),
        ] {
            assert!(!one_edit(a, b), "{a} {b}");
        }
    }

    #[test]
    fn the_typo_is_matched_at_its_own_level() {
        let cmd = clap::Command::new("t")
            .subcommand(clap::Command::new("get"))
            .subcommand(
                clap::Command::new("profiles")
                    .subcommand(clap::Command::new("list"))
                    .subcommand(clap::Command::new("set")),
            );
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(subcommand(&cmd, &argv(&["gte"])).as_deref(), Some("get"));
        assert_eq!(
            subcommand(&cmd, &argv(&["-v", "gte", "-p", "x"])).as_deref(),
            Some("get")
        );
        assert_eq!(
            subcommand(&cmd, &argv(&["profiles", "lsit"])).as_deref(),
            Some("list")
        );
        assert_eq!(
            subcommand(&cmd, &argv(&["profiles", "gte"])),
            None,
            "get is a level up"
        );
        assert_eq!(subcommand(&cmd, &argv(&["nothing-like-it"])), None);
    }
}
