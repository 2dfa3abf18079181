//! `cctoken doctor` as a user runs it: `--curl` analysis (human output snapshot-tested,
//! `--json` asserted field by field), profile checks offline and against the emulator
//! (`grant.not-enabled`, `invalid_client` with fingerprints, a secret ending in a tab,
//! `--probe-auth`), exit codes 0/1/2, and no secret in any output.

#[path = "doctor_cases/assertion.rs"]
mod assertion;
mod common;
#[path = "doctor_cases/paste.rs"]
mod paste;

use cctoken_emulator::Flavor;
use common::{cctoken, Emu, DEMO_SECRET};

const ID: &str = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc";
const SECRET: &str = "Zq3kP0sLmN8vB2xY7wT1rE5uI9oA4dF6gH0jK2lM3nB";

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Run `cctoken doctor ARGS`; returns (exit code, stdout, stderr).
fn doctor(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> (i32, String, String) {
    let home = tmp();
    let mut c = cctoken(home.path());
    for v in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(v);
    }
    c.arg("doctor").args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    if let Some(s) = stdin {
        c.write_stdin(s.to_owned());
    }
    let out = c.output().expect("run cctoken");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let obj = v.as_object().expect("object");
    assert_eq!(obj.len(), 1, "only `findings` at the top level: {v}");
    let findings = v["findings"].as_array().expect("findings array").clone();
    for f in &findings {
        let o = f.as_object().expect("finding object");
        let keys: Vec<&str> = o.keys().map(String::as_str).collect();
        assert_eq!(o.len(), 4, "{keys:?}");
        for k in ["code", "severity", "message", "fix"] {
            assert!(o[k].as_str().is_some_and(|s| !s.is_empty()), "{k} in {f}");
        }
    }
    findings
}

fn codes(findings: &[serde_json::Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn broken_curl() -> String {
    format!(
        r#"curl -X POST https://api.mypurecloud.ie/oauth/token \
  -H "Authorization: Basic $(echo -n '{ID}:{SECRET}' | base64)" \
  -H 'Content-Type: application/json' \
  -d '{{"grant_type":"client_credentials","duration":86400}}'"#
    )
}

#[test]
fn curl_broken_request_human_report() {
    let (code, out, err) = doctor(&["--curl", &broken_curl()], &[], None);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
    insta::assert_snapshot!("curl_broken_human", out);
}

#[test]
fn curl_correct_request_exits_0() {
    let cmd = r#"curl -sS -X POST https://login.mypurecloud.ie/oauth/token \
  -u "$GENESYS_CLIENT_ID:$GENESYS_CLIENT_SECRET" \
  -d grant_type=client_credentials"#;
    let (code, out, err) = doctor(&["--curl", cmd], &[], None);
    assert_eq!(code, 0, "{out}{err}");
    insta::assert_snapshot!("curl_correct_human", out);
}

#[test]
fn curl_json_is_asserted_field_by_field() {
    let cmd = r#"curl -X POST https://api.mypurecloud.ie/oauth/token -u "$ID:$SECRET" -d grant_type=client_credentials"#;
    let (code, out, _) = doctor(&["--curl", cmd, "--json"], &[], None);
    assert_eq!(code, 1);
    let f = json(&out);
    assert_eq!(f.len(), 2, "{out}");
    assert_eq!(f[0]["code"], "endpoint.api-host");
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(
        f[0]["message"],
        "the token request goes to api.mypurecloud.ie (the API host); Genesys Cloud eu-west-1 issues tokens only on login.mypurecloud.ie"
    );
    assert_eq!(
        f[0]["fix"],
        "send it to https://login.mypurecloud.ie/oauth/token"
    );
    assert_eq!(f[1]["code"], "secret.in-argv");
    assert_eq!(f[1]["severity"], "info");
    // The keys come in the documented order.
    let pos = |k: &str| out.find(&format!("\"{k}\"")).unwrap();
    assert!(
        pos("code") < pos("severity")
            && pos("severity") < pos("message")
            && pos("message") < pos("fix")
    );
}

#[test]
fn curl_from_stdin_and_the_wrapping_pitfall() {
    // A long `echo -n 'UUID:SECRET' | base64` wraps: a malformed header, not a newline.
    let cmd = format!(
        "curl -X POST https://login.mypurecloud.ie/oauth/token \\\r\n  -H \"Authorization: Basic $(echo -n '{ID}:{SECRET}' | base64)\" \\\r\n  -d grant_type=client_credentials\r\n"
    );
    let (code, out, _) = doctor(&["--curl", "-", "--json"], &[], Some(&cmd));
    assert_eq!(code, 1);
    let c = codes(&json(&out));
    assert!(c.contains(&"auth.basic-malformed".to_owned()), "{c:?}");
    assert!(!c.contains(&"secret.trailing-newline".to_owned()), "{c:?}");
    assert!(!out.contains(SECRET));
    // `echo` without -n and -w0: the trailing newline, and no wrapping.
    let cmd = format!(
        "curl -X POST https://login.mypurecloud.ie/oauth/token -H \"Authorization: Basic $(echo '{ID}:{SECRET}' | base64 -w0)\" -d grant_type=client_credentials"
    );
    let (code, out, _) = doctor(&["--curl", "-", "--json"], &[], Some(&cmd));
    assert_eq!(code, 1);
    let c = codes(&json(&out));
    assert!(c.contains(&"secret.trailing-newline".to_owned()), "{c:?}");
    assert!(!c.contains(&"auth.basic-malformed".to_owned()), "{c:?}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, _) = doctor(&["--no-such-flag"], &[], None);
    assert_eq!(code, 2);
    let (code, out, err) = doctor(
        &["--region", "eu-west-1", "--client-secret", "hunter2-canary"],
        &[],
        None,
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(!out.contains("hunter2-canary") && !err.contains("hunter2-canary"));
}

#[test]
fn profile_offline_human_report() {
    let (code, out, err) = doctor(
        &[
            "--offline",
            "--region",
            "eu-west-1",
            "--client-id",
            "my-integration",
            "--client-secret-env",
            "GC_SECRET",
            "--scope",
            "analytics,users",
        ],
        &[("GC_SECRET", &format!("{SECRET}\t"))],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
    insta::assert_snapshot!("profile_offline_human", out);
}

fn emulator_args(emu: &Emu, id: &str) -> Vec<String> {
    [
        "--token-url",
        &format!("{}/oauth/token", emu.base),
        "--client-id",
        id,
        "--client-secret-env",
        "S",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_emu(
    emu: &Emu,
    id: &str,
    secret: &str,
    extra: &[&str],
) -> (i32, Vec<serde_json::Value>, String) {
    let mut args: Vec<String> = emulator_args(emu, id);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--json".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = doctor(&refs, &[("S", secret)], None);
    assert!(
        !out.contains(secret.trim()) && !err.contains(secret.trim()),
        "secret leaked"
    );
    (code, json(&out), out)
}

#[test]
fn profile_against_the_emulator() {
    let emu = Emu::demo(Flavor::Generic);

    let (code, f, out) = run_emu(&emu, "demo-client", DEMO_SECRET, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(codes(&f).contains(&"token.ok".to_owned()), "{out}");

    let (code, f, out) = run_emu(&emu, "demo-nogrant", DEMO_SECRET, &[]);
    assert_eq!(code, 1);
    let g = f
        .iter()
        .find(|x| x["code"] == "grant.not-enabled")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(g["severity"], "error");
    assert!(g["message"]
        .as_str()
        .unwrap()
        .contains("unauthorized_client"));

    let wrong = "wrong-secret-canary";
    let (code, f, out) = run_emu(&emu, "demo-client", wrong, &[]);
    assert_eq!(code, 1);
    let ic = f
        .iter()
        .find(|x| x["code"] == "auth.invalid-client")
        .unwrap_or_else(|| panic!("{out}"));
    let fp = cctoken::secret::Fingerprint::of(wrong.as_bytes()).to_string();
    assert!(ic["message"].as_str().unwrap().contains(&fp), "{ic}");

    let (code, f, out) = run_emu(&emu, "demo-client", &format!("{DEMO_SECRET}\t"), &[]);
    assert_eq!(code, 1);
    let ws = f
        .iter()
        .find(|x| x["code"] == "secret.whitespace" && x["severity"] == "error")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(ws["message"].as_str().unwrap().contains("trailing tab"));
    assert!(
        codes(&f).contains(&"token.ok".to_owned()),
        "the rest of the secret is right: {out}"
    );

    let (code, f, out) = run_emu(
        &emu,
        "demo-client",
        DEMO_SECRET,
        &["--auth", "basic-raw", "--probe-auth"],
    );
    assert_eq!(code, 1);
    let p = f
        .iter()
        .find(|x| x["code"] == "auth.probe")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(p["severity"], "warning");
    assert!(
        p["fix"].as_str().unwrap().contains("auth = \"basic\""),
        "{p}"
    );
    // The library's advice in this command line's words, in --json as in the human report.
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("rejects --auth basic-raw but accepts --auth basic"),
        "{p}"
    );
    assert!(
        p["fix"]
            .as_str()
            .unwrap()
            .contains("(or pass --auth basic)"),
        "{p}"
    );
}
