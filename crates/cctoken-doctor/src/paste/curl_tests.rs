//! Unit tests of [`super`].

use super::*;

#[test]
fn reads_the_usual_options() {
    let c = parse(
        "curl -sS -X POST 'https://login.mypurecloud.ie/oauth/token' \\\n  -H 'Content-Type: application/x-www-form-urlencoded' \\\n  -u \"$ID:$SECRET\" -d grant_type=client_credentials",
    )
    .unwrap();
    assert_eq!(c.urls.len(), 1);
    assert_eq!(c.method.unwrap().literal().unwrap(), "POST");
    assert_eq!(c.headers.len(), 1);
    assert_eq!(c.user.unwrap().vars(), ["ID", "SECRET"]);
    assert_eq!(c.data[0].kind, DataKind::Data);
}

#[test]
fn combined_short_options_and_glued_values() {
    let c = parse("curl -sSXPOST -uid:pw -d@body.txt --url https://x/t").unwrap();
    assert_eq!(c.method.unwrap().literal().unwrap(), "POST");
    assert_eq!(c.user.unwrap().literal().unwrap(), "id:pw");
    assert_eq!(c.data[0].arg.literal().unwrap(), "@body.txt");
    assert_eq!(c.urls[0].literal().unwrap(), "https://x/t");
}

#[test]
fn finds_curl_behind_assignments_and_pipes() {
    let c = parse(
        "CREDS=$(printf %s 'a:b' | base64 -w0)\nTOKEN=$(curl -s https://x/t -H \"Authorization: Basic $CREDS\" | jq -r .access_token)",
    )
    .unwrap();
    assert_eq!(c.headers[0].literal().unwrap(), "Authorization: Basic YTpi");
    assert_eq!(parse("echo hi").unwrap_err(), ParseError::NotCurl);
    assert!(matches!(parse("curl 'x"), Err(ParseError::Shell(_))));
}

#[test]
fn unknown_options_are_tolerated() {
    let c = parse("curl --frobnicate --retry 3 https://x/t").unwrap();
    assert_eq!(c.unknown_options, ["--frobnicate"]);
    assert_eq!(c.urls.len(), 1);
}

#[test]
fn a_command_substitution_before_the_url_is_not_the_url() {
    let c = parse("curl $(cat /etc/passwd) https://x/t -d grant_type=client_credentials").unwrap();
    assert_eq!(c.urls[0].literal().unwrap(), "https://x/t");
    assert_eq!(c.urls.len(), 2, "the substitution is still an argument");
    // Alone, it is what there is.
    let c = parse("curl \"$(get_url)\" -d a=b").unwrap();
    assert_eq!(c.urls.len(), 1);
    assert!(c.urls[0].is_symbolic());
}
