//! The doctor corpus: broken curl requests drawn from SPEC §0/§8 and the advice found in
//! forums, each with the codes it must produce (and codes it must not), plus correct
//! requests in several styles that must produce no error. Together with two online cases
//! against the emulator, every §8 code is produced at least once.

use cctoken_doctor::{diagnose_curl, Plain, Report, Severity, SPEC_CODES};

const ID: &str = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc";
/// 43 characters, like a Genesys client secret; `ID:SECRET` is 80 bytes → base64 wraps.
const SECRET: &str = "Zq3kP0sLmN8vB2xY7wT1rE5uI9oA4dF6gH0jK2lM3nB";
const GC: &str = "https://login.mypurecloud.ie/oauth/token";

struct Case {
    name: &'static str,
    cmd: String,
    expect: &'static [&'static str],
    forbid: &'static [&'static str],
}

fn case(
    name: &'static str,
    cmd: impl Into<String>,
    expect: &'static [&'static str],
    forbid: &'static [&'static str],
) -> Case {
    Case {
        name,
        cmd: cmd.into(),
        expect,
        forbid,
    }
}

fn broken() -> Vec<Case> {
    let ok_auth = r#"-u "$CLIENT_ID:$CLIENT_SECRET""#;
    let cc = "-d grant_type=client_credentials";
    vec![
        case("api host instead of login host",
            format!("curl -X POST https://api.mypurecloud.ie/oauth/token {ok_auth} {cc}"),
            &["endpoint.api-host"], &["endpoint.path"]),
        case("a region name in the host",
            format!("curl -X POST https://login.eu-west-1.mypurecloud.com/oauth/token {ok_auth} {cc}"),
            &["endpoint.region-host"], &["endpoint.api-host"]),
        case("a region name in the API host, and the /api/v2 path",
            format!("curl -X POST https://api.eu_central_1.mypurecloud.com/api/v2/oauth/token {ok_auth} {cc}"),
            &["endpoint.region-host", "endpoint.path"], &["endpoint.api-host"]),
        case("a region's short label on the wrong domain",
            format!("curl -X POST https://login.usw2.mypurecloud.com/oauth/token {ok_auth} {cc}"),
            &["endpoint.region-host"], &["endpoint.api-host"]),
        case("a made-up Genesys domain",
            format!("curl -X POST https://login.mypurecloud.eu/oauth/token {ok_auth} {cc}"),
            &["endpoint.region-host"], &["endpoint.api-host"]),
        case("a forum's invented Genesys host",
            format!("curl -X POST https://api.us.genesys.cloud/oauth/token {ok_auth} {cc}"),
            &["endpoint.region-host"], &["endpoint.api-host"]),
        case("/api/v2/oauth/token path",
            format!("curl -X POST https://login.mypurecloud.com/api/v2/oauth/token {ok_auth} {cc}"),
            &["endpoint.path"], &["endpoint.api-host"]),
        case("api host and /api/v2 path",
            format!("curl -X POST https://api.mypurecloud.de/api/v2/oauth/token {ok_auth} {cc}"),
            &["endpoint.api-host", "endpoint.path"], &[]),
        case("JSON body with JSON content type",
            format!(r#"curl -X POST {GC} {ok_auth} -H 'Content-Type: application/json' -d '{{"grant_type":"client_credentials"}}'"#),
            &["body.json"], &["param.grant-type"]),
        case("--json with credentials inside",
            format!(r#"curl {GC} --json '{{"grant_type":"client_credentials","client_id":"{ID}","client_secret":"{SECRET}"}}'"#),
            &["body.json", "secret.in-argv"], &[]),
        case("duration parameter",
            format!("curl -X POST {GC} {ok_auth} -d 'grant_type=client_credentials&duration=31536000'"),
            &["token.long-lived", "param.unknown"], &[]),
        case("expires_in parameter",
            format!("curl -X POST {GC} {ok_auth} {cc} -d expires_in=999999"),
            &["token.long-lived", "param.unknown"], &[]),
        case("echo without -n, base64 -w0",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo '{ID}:{SECRET}' | base64 -w0)" {cc}"#),
            &["secret.trailing-newline"], &["auth.basic-malformed"]),
        case("echo -n into wrapping base64 (long id:secret)",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo -n '{ID}:{SECRET}' | base64)" {cc}"#),
            &["auth.basic-malformed"], &["secret.trailing-newline"]),
        case("echo without -n into wrapping base64",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo '{ID}:{SECRET}' | base64)" {cc}"#),
            &["auth.basic-malformed", "secret.trailing-newline"], &[]),
        case("symbolic echo -n | base64 on Genesys wraps",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo -n "$CLIENT_ID:$CLIENT_SECRET" | base64)" {cc}"#),
            &["auth.basic-malformed"], &["secret.trailing-newline"]),
        case("symbolic echo without -n",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo "$CLIENT_ID:$CLIENT_SECRET" | base64 -w0)" {cc}"#),
            &["secret.trailing-newline"], &["auth.basic-malformed"]),
        case("printf with \\n",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(printf '%s\n' '{ID}:{SECRET}' | base64 -w0)" {cc}"#),
            &["secret.trailing-newline"], &["auth.basic-malformed"]),
        case("openssl base64 wraps at 64",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo -n '{ID}:{SECRET}' | openssl base64)" {cc}"#),
            &["auth.basic-malformed"], &["secret.trailing-newline"]),
        case("unquoted wrapped substitution splits the header",
            format!(r#"curl -X POST {GC} -H Authorization:\ Basic\ $(echo -n '{ID}:{SECRET}' | base64) {cc}"#),
            &["auth.basic-malformed", "curl.parse"], &[]),
        case("assignment on an earlier line with echo",
            format!("CREDS=$(echo '{ID}:{SECRET}' | base64 -w0)\ncurl -X POST {GC} -H \"Authorization: Basic $CREDS\" {cc}"),
            &["secret.trailing-newline"], &[]),
        case("comma-separated scopes",
            format!("curl -X POST {GC} {ok_auth} -d 'grant_type=client_credentials&scope=analytics,conversations'"),
            &["param.scope-format"], &[]),
        case("unencoded space in raw scope",
            format!("curl -X POST {GC} {ok_auth} -d 'grant_type=client_credentials&scope=analytics conversations'"),
            &["param.scope-format"], &[]),
        case("secret typed into -d",
            format!("curl -X POST {GC} -d 'grant_type=client_credentials&client_id={ID}&client_secret={SECRET}'"),
            &["secret.in-argv"], &["auth.missing"]),
        case("Basic and body credentials",
            format!("curl -X POST {GC} {ok_auth} -d 'grant_type=client_credentials&client_id={ID}&client_secret={SECRET}'"),
            &["auth.both-methods"], &[]),
        case("$SECRET in single quotes (-u)",
            format!("curl -X POST {GC} -u '$CLIENT_ID:$CLIENT_SECRET' {cc}"),
            &["shell.unexpanded"], &[]),
        case("$SECRET in single quotes (-d)",
            format!("curl -X POST {GC} -d 'grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=${{CLIENT_SECRET}}'"),
            &["shell.unexpanded"], &["auth.missing"]),
        case("escaped dollar reaches the request",
            format!(r#"curl -X POST {GC} -u "{ID}:\$CLIENT_SECRET" {cc}"#),
            &["shell.unexpanded"], &[]),
        case("Postman variables",
            format!("curl -X POST {GC} -u '{{{{client_id}}}}:{{{{client_secret}}}}' {cc}"),
            &["shell.unexpanded"], &[]),
        case("Windows %VAR% syntax",
            format!("curl -X POST {GC} -u {ID}:%CLIENT_SECRET% {cc}"),
            &["shell.unexpanded"], &[]),
        case("placeholder YOUR_CLIENT_SECRET",
            format!("curl -X POST {GC} -u '{ID}:YOUR_CLIENT_SECRET' {cc}"),
            &["secret.placeholder"], &[]),
        case("placeholder <client_secret> in the body",
            format!("curl -X POST {GC} -d 'grant_type=client_credentials&client_id={ID}&client_secret=<client_secret>'"),
            &["secret.placeholder"], &[]),
        case("placeholder xxx behind CRLF continuations",
            format!("curl -X POST {GC} \\\r\n  -u '{ID}:xxxxxxxx' \\\r\n  {cc}\r\n"),
            &["secret.placeholder"], &[]),
        case("placeholder client id",
            format!("curl -X POST {GC} -u 'YOUR_CLIENT_ID:{SECRET}' {cc}"),
            &["secret.placeholder"], &[]),
        case("secret wrapped in literal quotes",
            format!(r#"curl -X POST {GC} -u "{ID}:\"{SECRET}\"" {cc}"#),
            &["secret.quoted"], &[]),
        case("trailing space in secret",
            format!(r#"curl -X POST {GC} -u "{ID}:{SECRET} " {cc}"#),
            &["secret.whitespace"], &[]),
        case("trailing tab in secret ($'…')",
            format!(r#"curl -X POST {GC} -u $'{ID}:{SECRET}\t' {cc}"#),
            &["secret.whitespace"], &[]),
        case("CXone with client_credentials",
            format!("curl -X POST https://cxone.niceincontact.com/auth/token -u \"$APP_ID:$APP_SECRET\" {cc}"),
            &["cxone.client-credentials"], &["endpoint.path"]),
        case("plain http:// token URL",
            format!("curl -X POST http://login.mypurecloud.com/oauth/token {ok_auth} {cc}"),
            &["endpoint.insecure"], &[]),
        case("no scheme: curl assumes http://",
            format!("curl -X POST login.mypurecloud.com/oauth/token {ok_auth} {cc}"),
            &["endpoint.insecure"], &["endpoint.api-host"]),
        case("missing grant_type",
            format!("curl -X POST {GC} {ok_auth}"),
            &["param.grant-type"], &[]),
        case("grant_type=client-credentials typo",
            format!("curl -X POST {GC} {ok_auth} -d grant_type=client-credentials"),
            &["param.grant-type"], &[]),
        case("grant_type in the query with -G",
            format!("curl -G {GC} {ok_auth} {cc}"),
            &["param.grant-type", "request.method"], &[]),
        case("'+' unencoded in a raw -d secret",
            "curl https://auth.example.com/oauth2/token -d 'grant_type=client_credentials&client_id=ci-bot&client_secret=ab+cd/ef'",
            &["param.unencoded"], &[]),
        case("'&' unencoded in a raw -d secret",
            "curl https://auth.example.com/oauth2/token -d 'grant_type=client_credentials&client_id=ci-bot&client_secret=ab&cd'",
            &["param.unencoded"], &[]),
        case("CXone access key secret unencoded",
            "curl https://cxone.niceincontact.com/auth/token -u \"$APP_ID:$APP_SECRET\" -d 'grant_type=password&username=KEYID&password=dGhpcyBp+cyBh===='",
            &["param.unencoded"], &["cxone.client-credentials"]),
        case("Genesys client id is not a UUID",
            format!("curl -X POST {GC} -u 'my-integration:{SECRET}' {cc}"),
            &["client-id.format"], &[]),
        case("CXone token path on a Genesys host",
            format!("curl -X POST https://login.mypurecloud.com/auth/token {ok_auth} {cc}"),
            &["endpoint.platform-mismatch"], &[]),
        case("Genesys token path on a CXone host",
            "curl -X POST https://cxone.niceincontact.com/oauth/token -u \"$APP_ID:$APP_SECRET\" -d grant_type=password --data-urlencode \"username=$KEY\" --data-urlencode \"password=$KEY_SECRET\"",
            &["endpoint.platform-mismatch"], &[]),
        case("CXone access-key grant sent to Genesys",
            format!("curl -X POST {GC} {ok_auth} -d grant_type=password --data-urlencode \"username=$KEY\" --data-urlencode \"password=$KEY_SECRET\""),
            &["param.grant-type", "endpoint.platform-mismatch"], &[]),
        case("CXone token request to the API cluster",
            "curl -X POST https://api-na1.niceincontact.com/auth/token -u \"$APP_ID:$APP_SECRET\" -d grant_type=password --data-urlencode \"username=$KEY\" --data-urlencode \"password=$KEY_SECRET\"",
            &["endpoint.api-host"], &[]),
        case("no client authentication",
            format!("curl -X POST {GC} {cc}"),
            &["auth.missing"], &[]),
        case("client_id without a secret",
            format!("curl -X POST {GC} -d 'grant_type=client_credentials&client_id={ID}'"),
            &["auth.missing"], &[]),
        case("Basic value is plain id:secret",
            format!("curl -X POST {GC} -H 'Authorization: Basic {ID}:{SECRET}' {cc}"),
            &["auth.basic-malformed"], &[]),
        case("-u without a colon",
            format!("curl -X POST {GC} -u \"$CLIENT_ID\" {cc}"),
            &["auth.basic-malformed"], &[]),
        case("base64 of the secret alone",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(printf %s '{SECRET}' | base64 -w0)" {cc}"#),
            &["auth.basic-malformed"], &[]),
        case("Bearer header on the token request",
            format!("curl -X POST {GC} -H \"Authorization: Bearer $CLIENT_SECRET\" {cc}"),
            &["auth.other-scheme"], &[]),
        case("multipart -F body",
            format!("curl {GC} {ok_auth} -F grant_type=client_credentials"),
            &["body.multipart"], &[]),
        case("RFC-strict server and a secret with + / = % &",
            "curl https://auth.example.com/oauth2/token -u 'ci-bot:demo+s3cret/=%&' -d grant_type=client_credentials",
            &["secret.encoding-sensitive", "secret.in-argv"], &[]),
        case("JSON body built from shell variables",
            r#"curl -X POST https://login.mypurecloud.de/oauth/token -H "Content-Type: application/json" -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\"}""#,
            &["body.json"], &["param.grant-type", "param.unencoded", "auth.missing"]),
        case("JSON body without grant_type or credentials",
            format!(r#"curl -X POST {GC} --json '{{"scope":"users"}}'"#),
            &["body.json", "param.grant-type", "auth.missing"], &[]),
        case("JSON body with a bare variable and no grant_type",
            format!(r#"curl -X POST {GC} {ok_auth} -H 'Content-Type: application/json' -d "{{\"expires_in\": $TTL}}""#),
            &["body.json", "param.grant-type", "token.long-lived"], &["auth.missing"]),
        case("Windows cmd: single quotes are characters there",
            format!("curl -X POST {GC} ^\r\n  -u '%CLIENT_ID%:%CLIENT_SECRET%' ^\r\n  -d 'grant_type=client_credentials'"),
            &["shell.dialect", "param.grant-type"], &["auth.missing"]),
        case("Windows cmd: $VAR is not a cmd variable",
            format!("curl -X POST {GC} ^\n  -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials"),
            &["shell.unexpanded"], &[]),
        case("Windows cmd: a JSON body with escaped quotes",
            format!("curl -X POST {GC} -u \"%ID%:%SECRET%\" ^\n  -H \"Content-Type: application/json\" -d \"{{\\\"grant_type\\\":\\\"client_credentials\\\"}}\""),
            &["body.json"], &["param.grant-type", "param.unencoded", "auth.missing"]),
        case("PowerShell: \"$ID:$SECRET\" does not parse",
            format!("curl.exe -X POST {GC} `\n  -u \"$ID:$SECRET\" -d grant_type=client_credentials"),
            &["curl.parse"], &[]),
        case("PowerShell: %VAR% is not expanded",
            format!("curl.exe -X POST {GC} `\n  -u \"%CLIENT_ID%:%CLIENT_SECRET%\" -d grant_type=client_credentials"),
            &["shell.unexpanded"], &[]),
        case("PowerShell's Invoke-RestMethod",
            format!("Invoke-RestMethod -Method Post -Uri {GC} -Body @{{grant_type='client_credentials'}}"),
            &["curl.parse"], &[]),
        case("a space after the line continuation cuts the command",
            format!("curl -X POST {GC} {ok_auth} \\ \n  {cc}"),
            &["curl.parse", "param.grant-type"], &[]),
        case("@file data is reported, not read",
            format!("curl -X POST {GC} {ok_auth} --data-binary @body.txt"),
            &["curl.data-file"], &[]),
        case("not a curl command",
            "wget https://login.mypurecloud.com/oauth/token",
            &["curl.parse"], &[]),
        case("unterminated quote",
            format!("curl -X POST {GC} -u '$CLIENT_ID:$CLIENT_SECRET"),
            &["curl.parse"], &[]),
    ]
}

fn correct() -> Vec<Case> {
    vec![
        case("-u with variables",
            format!(r#"curl -sS -X POST {GC} -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials"#), &[], &[]),
        case("printf %s | base64 -w0 with variables",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(printf %s "$CLIENT_ID:$CLIENT_SECRET" | base64 -w0)" -H 'Content-Type: application/x-www-form-urlencoded' --data-urlencode grant_type=client_credentials"#), &[], &[]),
        case("printf %s | base64 -w0 literal (warns about argv)",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(printf %s '{ID}:{SECRET}' | base64 -w0)" -d grant_type=client_credentials"#), &["secret.in-argv"], &[]),
        case("echo -n | base64 --wrap=0 literal",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo -n '{ID}:{SECRET}' | base64 --wrap=0)" -d grant_type=client_credentials"#), &[], &[]),
        case("echo -n | base64 | tr -d '\\n'",
            format!(r#"curl -X POST {GC} -H "Authorization: Basic $(echo -n '{ID}:{SECRET}' | base64 | tr -d '\n')" -d grant_type=client_credentials"#), &[], &[]),
        case("client_secret_post with --data-urlencode",
            r#"curl https://auth.example.com/oauth2/token -d grant_type=client_credentials --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET""#, &[], &[]),
        case("CXone password grant",
            r#"curl -X POST https://cxone.niceincontact.com/auth/token -u "$APP_ID:$APP_SECRET" -d grant_type=password --data-urlencode "username=$ACCESS_KEY_ID" --data-urlencode "password=$ACCESS_KEY_SECRET""#, &[], &[]),
        case("multi-line with CRLF and encoded scopes",
            format!("curl --request POST \\\r\n  --url {GC} \\\r\n  --user \"$CLIENT_ID:$CLIENT_SECRET\" \\\r\n  --header 'Accept: application/json' \\\r\n  --data 'grant_type=client_credentials&scope=analytics%20conversations'\r\n"), &[], &[]),
        case("literal -u (Genesys)",
            format!("curl -X POST {GC} -u '{ID}:{SECRET}' -d grant_type=client_credentials"), &["secret.in-argv"], &[]),
        case("emulator on loopback http",
            "curl http://127.0.0.1:8080/oauth/token -u \"$ID:$SECRET\" -d grant_type=client_credentials", &[], &[]),
        case("Windows cmd: ^ continuations and %VAR%",
            format!("curl -X POST {GC} ^\r\n  -H \"Content-Type: application/x-www-form-urlencoded\" ^\r\n  -u \"%CLIENT_ID%:%CLIENT_SECRET%\" ^\r\n  -d \"grant_type=client_credentials\"\r\n"),
            &["shell.dialect"], &[]),
        case("Windows cmd prompt, set and unquoted %VAR%",
            format!("C:\\Users\\me>set ID={ID}\r\nC:\\Users\\me>curl -X POST {GC} -u %ID%:%CLIENT_SECRET% -d grant_type=client_credentials\r\n"),
            &["shell.dialect"], &[]),
        case("PowerShell: backtick continuations and $env:VAR",
            format!("curl.exe -X POST {GC} `\r\n  -u \"${{env:CLIENT_ID}}:${{env:CLIENT_SECRET}}\" `\r\n  -d 'grant_type=client_credentials'"),
            &["shell.dialect"], &[]),
        case("PowerShell prompt and the curl alias",
            format!("PS C:\\Users\\me> curl -X POST {GC} -u \"$($env:CLIENT_ID):$($env:CLIENT_SECRET)\" -d grant_type=client_credentials"),
            &["shell.dialect"], &[]),
        case("a pasted $ prompt, continuation prompts and output",
            format!("$ curl -X POST {GC} \\\n>   -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n>   -d grant_type=client_credentials\n{{\"error\":\"invalid_client\"}}\n"),
            &[], &[]),
        case("a pasted > prompt",
            format!("> curl -X POST {GC} -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials"),
            &[], &[]),
        case("a pasted PS> prompt",
            format!("PS> curl.exe -X POST {GC} -u \"${{env:CLIENT_ID}}:${{env:CLIENT_SECRET}}\" -d grant_type=client_credentials"),
            &["shell.dialect"], &[]),
        case("a pasted C:\\> prompt",
            format!("C:\\> curl -X POST {GC} -u \"%CLIENT_ID%:%CLIENT_SECRET%\" -d grant_type=client_credentials"),
            &["shell.dialect"], &[]),
        case("-d @file holds the body",
            format!("curl -X POST {GC} -d @body.txt"), &["curl.data-file", "param.grant-type"], &[]),
        case("--data-urlencode @file holds the body",
            format!("curl -X POST {GC} --data-urlencode @body.txt"), &["curl.data-file", "param.grant-type"], &[]),
        case("a variable holds the whole body",
            format!(r#"curl -X POST {GC} -d "$BODY""#), &["param.grant-type"], &[]),
        case("a variable holds more parameters",
            format!(r#"curl -X POST {GC} -u "$CLIENT_ID:$CLIENT_SECRET" -d "grant_type=client_credentials&$EXTRA""#), &[], &[]),
        case("credentials from an earlier assignment",
            format!("CREDS=$(printf %s \"$CLIENT_ID:$CLIENT_SECRET\" | base64 -w0)\nTOKEN=$(curl -s -X POST {GC} -H \"Authorization: Basic $CREDS\" -d grant_type=client_credentials | jq -r .access_token)"), &[], &[]),
    ]
}

/// A region name in a Genesys host is sent to that region's real login host, never to the
/// domain the made-up host happens to end in.
#[test]
fn a_region_name_in_the_host_points_to_that_regions_login_host() {
    let r = diagnose_curl(
        r#"curl -X POST https://login.eu-west-1.mypurecloud.com/oauth/token -u "$ID:$S" -d grant_type=client_credentials"#,
    );
    let f = r
        .findings()
        .into_iter()
        .find(|f| f.code.as_str() == "endpoint.region-host")
        .expect("endpoint.region-host")
        .clone();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.fix.to_string(),
        "send it to https://login.mypurecloud.ie/oauth/token"
    );
    assert!(!r
        .render_human(&Plain)
        .contains("https://login.mypurecloud.com/"));
    let r = diagnose_curl(
        r#"curl -X POST https://login.mypurecloud.eu/oauth/token -u "$ID:$S" -d grant_type=client_credentials"#,
    );
    let f = r
        .findings()
        .into_iter()
        .find(|f| f.code.as_str() == "endpoint.region-host")
        .unwrap()
        .clone();
    for host in [
        "login.mypurecloud.ie",
        "login.mypurecloud.de",
        "login.euw2.pure.cloud",
        "login.euc2.pure.cloud",
    ] {
        assert!(f.fix.to_string().contains(host), "{host}: {}", f.fix);
    }
}

/// A JSON body is judged as JSON, and a body doctor cannot see is not guessed at.
#[test]
fn bodies_are_judged_by_what_doctor_can_read() {
    let r = diagnose_curl(&format!("curl -X POST {GC} -d @body.txt"));
    let g = r
        .findings()
        .into_iter()
        .find(|f| f.code.as_str() == "param.grant-type")
        .expect("a note about grant_type")
        .clone();
    assert_eq!(g.severity, Severity::Info);
    assert_eq!(
        g.message.to_string(),
        "the body comes from @body.txt, which doctor cannot see, so whether it holds grant_type is unknown"
    );
    assert_eq!(
        g.fix.to_string(),
        "make sure body.txt holds grant_type=client_credentials"
    );
    let r = diagnose_curl(&format!(r#"curl -X POST {GC} -d scope=users -d "$MORE""#));
    let g = r
        .findings()
        .into_iter()
        .find(|f| f.code.as_str() == "param.grant-type")
        .unwrap()
        .clone();
    assert_eq!(g.severity, Severity::Info);
    assert!(g.message.to_string().starts_with("grant_type is not in the part of the body doctor can read; the rest comes from ${MORE}"), "{}", g.message);
    assert!(!r.codes().contains(&"auth.missing"), "{:?}", r.codes());
    let r = diagnose_curl(&format!(
        r#"curl {GC} -d "{{\"grant_type\":\"client_credentials\",\"client_secret\":\"$S\"}}""#
    ));
    assert_eq!(r.codes(), ["body.json", "secret.in-argv"], "{r:?}");
}

fn errors(r: &Report) -> Vec<String> {
    r.findings()
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.code, f.message))
        .collect()
}

#[test]
fn broken_requests_produce_their_codes() {
    let cases = broken();
    assert!(
        cases.len() >= 40,
        "the corpus needs at least 40 broken requests"
    );
    let mut failures = Vec::new();
    for c in &cases {
        let r = diagnose_curl(&c.cmd);
        let codes = r.codes();
        for e in c.expect {
            if !codes.contains(e) {
                failures.push(format!("{}: expected {e}, got {codes:?}", c.name));
            }
        }
        for f in c.forbid {
            if codes.contains(f) {
                failures.push(format!("{}: must not produce {f}, got {codes:?}", c.name));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn correct_requests_have_no_errors() {
    let mut failures = Vec::new();
    for c in correct() {
        let r = diagnose_curl(&c.cmd);
        let errs = errors(&r);
        if !errs.is_empty() {
            failures.push(format!("{}: {errs:?}", c.name));
        }
        if r.has_errors() {
            failures.push(format!("{}: has errors", c.name));
        }
        for e in c.expect {
            if !r.codes().contains(e) {
                failures.push(format!("{}: expected {e}", c.name));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// cctoken's commands and flags: only a front end words advice with them (the library
/// uses `Term`s).
const CLI_WORDS: &[&str] = &[
    "`cctoken ",
    "cctoken get",
    "--auth",
    "--offline",
    "--probe-auth",
    "--keep-secret-bytes",
    "--scope",
    "--token-url",
    "--issuer",
    "--provider",
    "--access-key",
];

#[test]
fn the_library_names_no_cli_flag_or_command() {
    for c in broken().iter().chain(&correct()) {
        let text = diagnose_curl(&c.cmd).render_human(&Plain);
        for w in CLI_WORDS {
            assert!(!text.contains(w), "{}: says {w}\n{text}", c.name);
        }
    }
}

#[test]
fn no_finding_ever_contains_the_secret() {
    for c in broken().iter().chain(&correct()) {
        let r = diagnose_curl(&c.cmd);
        let text = format!("{}{}", r.render_human(&Plain), r.to_json(&Plain));
        for s in [SECRET, "ab+cd/ef", "demo+s3cret", "dGhpcyBp+cyBh===="] {
            assert!(!text.contains(s), "{}: leaked {s}\n{text}", c.name);
        }
    }
}

/// The curl corpus covers every §8 code except the two only a server can tell
/// (`grant.not-enabled`, `clock.skew`), which `tests/online.rs` produces against the
/// emulator.
#[test]
fn every_spec_code_is_covered() {
    let mut seen: Vec<&str> = Vec::new();
    for c in broken() {
        seen.extend(diagnose_curl(&c.cmd).codes());
    }
    let online_only = ["grant.not-enabled", "clock.skew"];
    let missing: Vec<&&str> = SPEC_CODES
        .iter()
        .filter(|c| !seen.contains(c) && !online_only.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes no corpus case produces: {missing:?}"
    );
}
