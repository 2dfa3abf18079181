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

#[test]
fn windows_cmd_carets_and_percent_variables_are_read_as_cmd() {
    let cmd = "curl -X POST https://login.mypurecloud.ie/oauth/token ^\r\n  -H \"Content-Type: application/x-www-form-urlencoded\" ^\r\n  -u \"%CLIENT_ID%:%CLIENT_SECRET%\" ^\r\n  -d \"grant_type=client_credentials\"\r\n";
    let (code, out, f) = both(cmd);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("windows_cmd", out);
    assert_eq!(codes(&f), ["shell.dialect", "secret.in-argv"], "{f:?}");
    assert_eq!(f[0]["severity"], "info");
    assert_eq!(
        f[0]["message"],
        "the command was read as Windows cmd syntax (^ escapes and line continuations, %VAR% variables, double quotes only)"
    );
    assert_eq!(
        f[0]["fix"],
        "nothing to do; the findings follow Windows cmd's rules"
    );
    // Single quotes are characters in cmd: that is a real error, and said so first.
    let (code, out, f) = both(
        "curl -X POST https://login.mypurecloud.ie/oauth/token ^\n -u \"%ID%:%SECRET%\" -d 'grant_type=client_credentials'",
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(f[0]["code"], "shell.dialect");
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(
        f[0]["fix"],
        "use double quotes in cmd: -d \"grant_type=client_credentials\" -u \"%CLIENT_ID%:%CLIENT_SECRET%\""
    );
}

#[test]
fn powershell_backticks_and_env_variables_are_read_as_powershell() {
    let cmd = "curl.exe -X POST https://login.mypurecloud.ie/oauth/token `\n  -u \"${env:CLIENT_ID}:${env:CLIENT_SECRET}\" `\n  -d 'grant_type=client_credentials'";
    let (code, out, f) = both(cmd);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("powershell", out);
    assert_eq!(codes(&f), ["shell.dialect", "secret.in-argv"], "{f:?}");
    // PowerShell's own trap: "$ID:$SECRET" does not parse there.
    let (code, _, f) = both(
        "curl.exe -X POST https://login.mypurecloud.ie/oauth/token -u \"$ID:$SECRET\" -d grant_type=client_credentials",
    );
    assert_eq!(code, 0, "no dialect evidence: read as a POSIX shell");
    assert_eq!(codes(&f), ["secret.in-argv"]);
    let (code, _, f) = both(
        "PS C:\\> curl.exe -X POST https://login.mypurecloud.ie/oauth/token -u \"$ID:$SECRET\" -d grant_type=client_credentials",
    );
    assert_eq!(code, 1);
    assert_eq!(codes(&f), ["curl.parse"]);
    assert_eq!(
        f[0]["message"],
        "cannot read the command line: \"$ID:…\" does not parse in PowerShell: ':' after a variable name reads as a drive (like $env:), so curl never runs"
    );
    assert_eq!(
        f[0]["fix"],
        "delimit the name: \"${ID}:…\" (e.g. -u \"${env:CLIENT_ID}:${env:CLIENT_SECRET}\")"
    );
}

#[test]
fn pasted_prompts_are_accepted() {
    let request = "curl -X POST https://login.mypurecloud.ie/oauth/token -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials";
    for prompt in ["$ ", "> ", "me@box:~/src$ "] {
        let (code, out, f) = both(&format!("{prompt}{request}"));
        assert_eq!(code, 0, "{prompt}: {out}");
        assert_eq!(codes(&f), ["secret.in-argv"], "{prompt}: {f:?}");
    }
    let windows = "curl -X POST https://login.mypurecloud.ie/oauth/token -u \"%CLIENT_ID%:%CLIENT_SECRET%\" -d grant_type=client_credentials";
    let ps = "curl.exe -X POST https://login.mypurecloud.ie/oauth/token -u \"${env:CLIENT_ID}:${env:CLIENT_SECRET}\" -d grant_type=client_credentials";
    for cmd in [
        format!("C:\\> {windows}"),
        format!("C:\\Users\\me>{windows}"),
        format!("PS> {ps}"),
        format!("PS C:\\Users\\me> {ps}"),
    ] {
        let (code, out, f) = both(&cmd);
        assert_eq!(code, 0, "{cmd}: {out}");
        assert_eq!(
            codes(&f),
            ["shell.dialect", "secret.in-argv"],
            "{cmd}: {f:?}"
        );
    }
    // A session pasted with its output: the output line is not read as a command.
    let (code, out, _) = both(&format!(
        "$ {request} \\\n>   -s\n{{\"error\":\"invalid_client\",\"error_description\":\"authentication failed\"}}\n"
    ));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_region_name_in_the_host_is_sent_to_the_regions_login_host() {
    let cmd = r#"curl -X POST https://login.eu-west-1.mypurecloud.com/oauth/token -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials"#;
    let (code, out, f) = both(cmd);
    assert_eq!(code, 1);
    insta::assert_snapshot!("region_in_host", out);
    assert_eq!(
        codes(&f),
        ["endpoint.region-host", "secret.in-argv"],
        "{f:?}"
    );
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(
        f[0]["message"],
        "the token host login.eu-west-1.mypurecloud.com names eu-west-1, but Genesys Cloud hosts are not built from region names: eu-west-1's login host is login.mypurecloud.ie (login.eu-west-1.mypurecloud.com is under mypurecloud.com, the domain of us-east-1)"
    );
    assert_eq!(
        f[0]["fix"],
        "send it to https://login.mypurecloud.ie/oauth/token"
    );
    // The same host in a profile.
    let (code, out, err) = doctor(
        &[
            "--offline",
            "--json",
            "--provider",
            "genesys",
            "--token-url",
            "https://login.eu-west-1.mypurecloud.com/oauth/token",
            "--client-id",
            "5a1c3a2e-1b2c-4d5e-8f90-123456789abc",
            "--client-secret-env",
            "S",
        ],
        &[("S", "Zq3kP0sLmN8vB2xY7wT1rE5uI9oA4dF6gH0jK2lM3nB")],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    let f = json(&out);
    assert_eq!(codes(&f), ["endpoint.region-host"], "{out}");
    assert_eq!(
        f[0]["fix"],
        "send it to https://login.mypurecloud.ie/oauth/token"
    );
}

#[test]
fn a_password_grant_to_genesys_names_genesys_grants() {
    let cmd = r#"curl -X POST https://login.mypurecloud.ie/oauth/token -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=password --data-urlencode "username=$KEY" --data-urlencode "password=$KEY_SECRET""#;
    let (code, out, f) = both(cmd);
    assert_eq!(code, 1);
    insta::assert_snapshot!("password_grant_to_genesys", out);
    let c = codes(&f);
    assert!(c.contains(&"param.grant-type".to_owned()), "{c:?}");
    assert!(
        c.contains(&"endpoint.platform-mismatch".to_owned()),
        "{c:?}"
    );
    let g = f.iter().find(|x| x["code"] == "param.grant-type").unwrap();
    assert_eq!(g["severity"], "error");
    assert_eq!(
        g["message"],
        "grant_type is 'password', which Genesys Cloud (eu-west-1) does not support; its token endpoint serves client_credentials, authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:saml2-bearer"
    );
}
