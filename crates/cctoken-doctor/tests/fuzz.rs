//! Property tests of the curl analyser (SPEC §11: fuzzed parsers never crash): arbitrary
//! text and shell-shaped noise never panic, always give a well-formed report, never echo a
//! secret; the `printf`/`echo` | `base64` evaluation matches the real encodings exactly.
//! Case counts are bounded so the suite stays fast.

use base64::Engine as _;
use cctoken_doctor::{diagnose_curl, paste::pipeline, Plain};
use proptest::prelude::*;

/// Pieces that make the parser take its interesting paths.
const ATOMS: &[&str] = &[
    "curl",
    "curl.exe",
    "^",
    "^\n",
    "^\r\n",
    "`",
    "`\n",
    "%ID%",
    "$env:S",
    "${env:S}",
    "$X:",
    "PS> ",
    "C:\\> ",
    "$ ",
    "> ",
    "@'\n",
    "--%",
    "set S=",
    "\\\"",
    "\"\"",
    " ",
    " ",
    "\t",
    "'",
    "\"",
    "\\",
    "\\\n",
    "\\\r\n",
    "\n",
    "$",
    "${",
    "}",
    "$(",
    ")",
    "`",
    "|",
    "||",
    "&&",
    ";",
    ">",
    "2>&1",
    "#",
    "-d",
    "-u",
    "-H",
    "-X",
    "POST",
    "-G",
    "--json",
    "--data-urlencode",
    "--data-raw",
    "-F",
    "--url",
    "-sSX",
    "@file",
    "echo",
    "-n",
    "printf",
    "%s",
    "\\n",
    "base64",
    "-w0",
    "--wrap=0",
    "tr -d '\\n'",
    "openssl base64 -A",
    "=",
    "&",
    "+",
    "%",
    "%2B",
    ":",
    "{",
    "[",
    "https://login.mypurecloud.ie/oauth/token",
    "http://api.mypurecloud.com/api/v2/oauth/token",
    "https://cxone.niceincontact.com/auth/token",
    "Authorization: Basic ",
    "Content-Type: application/json",
    "grant_type=client_credentials",
    "client_secret=",
    "scope=a,b",
    "duration=1",
    "$SECRET",
    "$'\\t'",
    "$((1+2))",
    "{{x}}",
    "YOUR_CLIENT_SECRET",
    "é",
    "\u{feff}",
    "\0",
];

fn shellish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ATOMS), 0..60).prop_map(|v| v.concat())
}

fn check_shape(input: &str) {
    let r = diagnose_curl(input);
    let json = r.to_json(&Plain);
    let findings = json["findings"].as_array().expect("findings array");
    for f in findings {
        let obj = f.as_object().expect("object");
        assert_eq!(obj.len(), 4);
        for k in ["code", "severity", "message", "fix"] {
            assert!(obj[k].as_str().is_some_and(|s| !s.is_empty()), "{k} in {f}");
        }
        assert!(matches!(
            obj["severity"].as_str(),
            Some("error" | "warning" | "info")
        ));
    }
    let _ = r.render_human(&Plain);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        check_shape(&s);
        check_shape(&format!("curl {s}"));
    }

    #[test]
    fn shell_shaped_noise_never_panics(s in shellish()) {
        check_shape(&s);
        check_shape(&format!("curl {s}"));
        check_shape(&format!("curl -H \"Authorization: Basic $({s})\" https://x/t"));
    }

    #[test]
    fn nested_substitutions_are_bounded(depth in 0usize..40) {
        let cmd = format!("curl -d \"{}x{}\" https://x/t", "$(echo ".repeat(depth), ")".repeat(depth));
        check_shape(&cmd);
    }

    #[test]
    fn typed_secrets_never_reach_the_report(secret in "[A-Za-z0-9]{24,44}") {
        let id = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc";
        for cmd in [
            format!("curl https://login.mypurecloud.ie/oauth/token -u '{id}:{secret}' -d grant_type=client_credentials"),
            format!("curl https://api.mypurecloud.ie/oauth/token -u '{id}:{secret} ' --json '{{}}'"),
            format!("curl https://auth.example.com/t -d 'grant_type=client_credentials&client_id=a&client_secret={secret}+x'"),
            format!("curl https://auth.example.com/t -H \"Authorization: Basic $(echo '{id}:{secret}' | base64)\""),
            format!("curl https://auth.example.com/t -H 'Authorization: Basic {id}:{secret}'"),
        ] {
            let r = diagnose_curl(&cmd);
            let out = format!("{}{}", r.render_human(&Plain), r.to_json(&Plain));
            prop_assert!(!out.contains(&secret), "leaked in {}", out);
        }
    }

    #[test]
    fn base64_pipelines_are_byte_exact(payload in "[ -&(-~]{0,120}", wrap in prop::sample::select(vec![0usize, 76, 64, 10])) {
        // `payload` avoids the single quote so it can be written inside '…'.
        let enc = base64::engine::general_purpose::STANDARD.encode(payload.as_bytes());
        let gnu = pipeline::encode_wrapped(payload.as_bytes(), wrap);
        if payload.is_empty() {
            prop_assert!(gnu.is_empty());
        } else {
            let unwrapped: String = String::from_utf8(gnu.clone()).unwrap().replace('\n', "");
            prop_assert_eq!(&unwrapped, &enc);
            let lines: Vec<&[u8]> = gnu[..gnu.len() - 1].split(|b| *b == b'\n').collect();
            if wrap > 0 {
                prop_assert!(lines.iter().all(|l| l.len() <= wrap));
            } else {
                prop_assert_eq!(lines.len(), 1);
            }
        }
        // The header doctor reconstructs from `printf %s '…' | base64 -w0` is exact.
        let cmd = format!("curl https://x/t -H \"Authorization: Basic $(printf %s '{payload}' | base64 -w0)\"");
        let c = cctoken_doctor::paste::curl::parse(&cmd).unwrap();
        prop_assert_eq!(c.headers[0].literal().unwrap(), format!("Authorization: Basic {enc}"));
    }
}
