//! Unit tests of [`super`].

use super::*;

fn words(s: &str) -> Vec<RawWord> {
    words_of(tokenize(s).unwrap())
}

fn lits(s: &str) -> Vec<String> {
    words(s).iter().map(|w| w.literal().unwrap()).collect()
}

#[test]
fn quotes_escapes_and_continuations() {
    assert_eq!(lits(r#"a 'b c' "d\"e" f\ g"#), ["a", "b c", "d\"e", "f g"]);
    assert_eq!(
        lits("curl \\\n  -X POST \\\r\n  x"),
        ["curl", "-X", "POST", "x"]
    );
    assert_eq!(lits(r#""a\nb" 'x'"y"z"#), ["a\\nb", "xyz"]);
    assert_eq!(lits("$'a\\tb' ''"), ["a\tb", ""]);
    assert_eq!(lits("a # comment\nb"), ["a", "b"]);
}

#[test]
fn vars_are_symbolic_except_in_single_quotes() {
    let w = words(r#"'$SECRET' "$ID:${SECRET}" $X"#);
    assert_eq!(w[0].literal().unwrap(), "$SECRET");
    assert_eq!(w[0].single_quoted_vars, ["SECRET"]);
    assert!(matches!(&w[1].parts[1], Part::Var { name, quoted: true } if name == "ID"));
    assert!(matches!(&w[1].parts[3], Part::Var { name, .. } if name == "SECRET"));
    assert!(matches!(&w[2].parts[0], Part::Var { quoted: false, .. }));
}

#[test]
fn substitutions_nest_and_keep_their_text() {
    let w = words(r#""Basic $(echo -n "a:b" | base64)" `printf %s x`"#);
    assert!(
        matches!(&w[0].parts[1], Part::Subst { cmd, .. } if cmd == r#"echo -n "a:b" | base64"#)
    );
    assert!(matches!(&w[1].parts[0], Part::Subst { cmd, .. } if cmd == "printf %s x"));
}

#[test]
fn operators_and_redirections() {
    let t = tokenize("curl x 2>&1 | jq . > out.json; echo ok").unwrap();
    let cmds = commands(&t);
    assert_eq!(cmds.len(), 3);
    assert_eq!(cmds[0].words.len(), 2);
    assert_eq!(cmds[0].ended_by, "|");
    assert_eq!(cmds[1].words.len(), 2);
}

#[test]
fn unterminated_quotes_are_errors() {
    assert!(tokenize("curl 'abc").is_err());
    assert!(tokenize("curl \"abc").is_err());
    assert!(tokenize("curl $(echo").is_err());
    assert!(tokenize("curl ${X").is_err());
}
