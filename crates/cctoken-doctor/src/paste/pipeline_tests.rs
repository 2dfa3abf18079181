//! Unit tests of [`super`].

use super::*;

fn lit(s: &str) -> Arg {
    Arg::text(s)
}

fn run(cmds: &[&[&str]]) -> Pipeline {
    let c: Vec<Vec<Arg>> = cmds
        .iter()
        .map(|w| w.iter().map(|s| lit(s)).collect())
        .collect();
    evaluate(&c)
}

#[test]
fn echo_and_printf_are_exact() {
    assert_eq!(run(&[&["echo", "a", "b"]]).output.unwrap(), b"a b\n");
    assert_eq!(run(&[&["echo", "-n", "a:b"]]).output.unwrap(), b"a:b");
    assert_eq!(run(&[&["echo", "-e", "a\\tb"]]).output.unwrap(), b"a\tb\n");
    assert_eq!(run(&[&["echo", "a\\tb"]]).output.unwrap(), b"a\\tb\n");
    assert_eq!(run(&[&["printf", "%s", "a:b"]]).output.unwrap(), b"a:b");
    assert_eq!(
        run(&[&["printf", "%s\\n", "a", "b"]]).output.unwrap(),
        b"a\nb\n"
    );
    assert_eq!(run(&[&["printf", "a:b"]]).output.unwrap(), b"a:b");
    assert_eq!(
        run(&[&["printf", "%s:%s", "id", "s"]]).output.unwrap(),
        b"id:s"
    );
}

#[test]
fn gnu_base64_wraps_at_76() {
    let long = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let p = run(&[&["echo", "-n", long], &["base64"]]);
    let out = p.output.clone().unwrap();
    let enc = base64::engine::general_purpose::STANDARD.encode(long);
    assert_eq!(
        out,
        format!("{}\n{}\n", &enc[..76], &enc[76..]).into_bytes()
    );
    assert_eq!(p.wrap_width(), Some(76));
    let p = run(&[&["echo", "-n", long], &["base64", "-w0"]]);
    assert_eq!(p.output.clone().unwrap(), format!("{enc}\n").into_bytes());
    assert_eq!(p.wrap_width(), None);
    let p = run(&[&["echo", "-n", long], &["base64", "--wrap=0"]]);
    assert_eq!(p.wrap_width(), None);
    let p = run(&[&["echo", "-n", long], &["base64"], &["tr", "-d", "\\n"]]);
    assert_eq!(p.output.clone().unwrap(), enc.clone().into_bytes());
    assert_eq!(p.wrap_width(), None);
}

#[test]
fn echo_without_n_encodes_a_newline() {
    let p = run(&[&["echo", "id:secret"], &["base64", "-w0"]]);
    assert!(p.encodes_newline());
    assert_eq!(
        p.output.unwrap(),
        format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode("id:secret\n")
        )
        .into_bytes()
    );
    assert!(!run(&[&["printf", "%s", "x"], &["base64"]]).encodes_newline());
}

#[test]
fn unknown_commands_are_opaque() {
    let p = run(&[&["cat", "file"], &["base64"]]);
    assert!(p.output.is_none());
    assert!(!p.recognised());
    let p = run(&[&["echo", "-n", "x"], &["openssl", "base64", "-A"]]);
    assert_eq!(p.output.unwrap(), b"eA==\n");
}
