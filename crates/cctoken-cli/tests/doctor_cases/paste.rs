//! `doctor --curl` on what people really paste (issue 12): JSON bodies built from shell
//! variables, bodies from files, Windows cmd and PowerShell syntax, prompts, region names
//! in hosts, and grants the platform does not support.

use super::{codes, doctor, json};

/// Run `doctor --curl CMD` twice: the human report, and `--json`.
fn both(cmd: &str) -> (i32, String, Vec<serde_json::Value>) {
    let (code, out, err) = doctor(&["--curl", cmd], &[], None);
    let (jcode, jout, _) = doctor(&["--curl", cmd, "--json"], &[], None);
    assert_eq!(code, jcode, "{out}{err}");
    (code, out, json(&jout))
}

#[test]
fn a_json_body_from_shell_variables_is_judged_as_json() {
    let cmd = r#"curl -X POST https://login.mypurecloud.de/oauth/token -H "Content-Type: application/json" -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\"}""#;
    let (code, out, f) = both(cmd);
    assert_eq!(code, 1);
    insta::assert_snapshot!("json_body_from_variables", out);
    assert_eq!(codes(&f), ["body.json", "secret.in-argv"], "{f:?}");
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(
        f[0]["message"],
        "the body is a JSON document with Content-Type: application/json; token endpoints read application/x-www-form-urlencoded (RFC 6749 §4.4.2)"
    );
    assert_eq!(f[1]["severity"], "info");
    assert_eq!(
        f[1]["message"],
        "the secret variable in the body's client_secret is expanded into curl's arguments, visible via `ps` while curl runs"
    );
}

#[test]
fn a_body_from_a_file_is_not_guessed_at() {
    let cmd = "curl -X POST https://login.mypurecloud.de/oauth/token -d @body.txt";
    let (code, out, f) = both(cmd);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("body_from_file", out);
    assert_eq!(codes(&f), ["curl.data-file", "param.grant-type"], "{f:?}");
    assert_eq!(f[1]["severity"], "info");
    assert_eq!(
        f[1]["message"],
        "the body comes from @body.txt, which doctor cannot see, so whether it holds grant_type is unknown"
    );
    assert_eq!(
        f[1]["fix"],
        "make sure body.txt holds grant_type=client_credentials"
    );
}
