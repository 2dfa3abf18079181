//! A grant the platform does not serve (issue 12 item 8): `param.grant-type` names the
//! grants the platform does serve; a platform-mismatch hint may come on top, never instead.

use cctoken_doctor::{diagnose_curl, Code, Plain, Report, Severity};

const AUTH: &str = r#"-u "$CLIENT_ID:$CLIENT_SECRET""#;

fn grant_findings(r: &Report) -> Vec<String> {
    r.findings()
        .into_iter()
        .filter(|f| f.code == Code::ParamGrantType)
        .map(|f| format!("{} | {}", f.message, f.fix))
        .collect()
}

#[test]
fn a_password_grant_to_genesys_names_the_grants_genesys_serves() {
    // Without username/password (so nothing looks like CXone's access-key flow).
    let r = diagnose_curl(&format!(
        "curl -X POST https://login.mypurecloud.de/oauth/token {AUTH} -d grant_type=password"
    ));
    let text = r.render_human(&Plain);
    let g = grant_findings(&r);
    assert_eq!(g.len(), 1, "{text}");
    assert_eq!(
        g[0],
        "grant_type is 'password', which Genesys Cloud (eu-central-1) does not support; its token \
         endpoint serves client_credentials, authorization_code, refresh_token, \
         urn:ietf:params:oauth:grant-type:saml2-bearer | for back-end access send -d \
         grant_type=client_credentials"
    );
    let f = r.finding(Code::ParamGrantType).unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(!r.has(Code::EndpointPlatformMismatch), "{text}");
}

#[test]
fn cxones_access_key_flow_sent_to_genesys_gets_both_findings() {
    let r = diagnose_curl(&format!(
        "curl -X POST https://login.mypurecloud.ie/oauth/token {AUTH} -d grant_type=password \
         --data-urlencode \"username=$KEY\" --data-urlencode \"password=$KEY_SECRET\""
    ));
    let j = r.to_json(&Plain);
    let codes: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"param.grant-type"), "{codes:?}");
    assert!(codes.contains(&"endpoint.platform-mismatch"), "{codes:?}");
    let grant = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "param.grant-type")
        .unwrap();
    assert_eq!(grant["severity"], "error");
    assert!(grant["message"]
        .as_str()
        .unwrap()
        .contains("serves client_credentials, authorization_code"));
}

#[test]
fn an_assertion_grant_genesys_lacks_is_named_too_but_its_own_grants_are_not() {
    let r = diagnose_curl(&format!(
        "curl -X POST https://login.mypurecloud.com/oauth/token {AUTH} \
         -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer -d assertion=x"
    ));
    assert_eq!(grant_findings(&r).len(), 1, "{}", r.render_human(&Plain));
    for g in ["client_credentials", "refresh_token -d refresh_token=r"] {
        let r = diagnose_curl(&format!(
            "curl -X POST https://login.mypurecloud.com/oauth/token {AUTH} -d grant_type={g}"
        ));
        assert!(grant_findings(&r).is_empty(), "{}", r.render_human(&Plain));
    }
}

#[test]
fn cxone_keeps_its_own_finding_for_client_credentials_and_names_its_grants_otherwise() {
    let cc = diagnose_curl(&format!(
        "curl -X POST https://cxone.niceincontact.com/auth/token {AUTH} -d grant_type=client_credentials"
    ));
    assert!(cc.has(Code::CxoneClientCredentials));
    assert!(
        grant_findings(&cc).is_empty(),
        "{}",
        cc.render_human(&Plain)
    );
    let saml = diagnose_curl(&format!(
        "curl -X POST https://cxone.niceincontact.com/auth/token {AUTH} \
         -d grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer"
    ));
    let g = grant_findings(&saml);
    assert_eq!(g.len(), 1, "{}", saml.render_human(&Plain));
    assert!(
        g[0].contains("NICE CXone does not support; its token endpoint serves password,"),
        "{}",
        g[0]
    );
}

#[test]
fn a_server_doctor_does_not_know_is_not_judged() {
    let r = diagnose_curl(&format!(
        "curl -X POST https://idp.example.com/oauth2/token {AUTH} -d grant_type=password -d username=u --data-urlencode \"password=$P\""
    ));
    assert!(grant_findings(&r).is_empty(), "{}", r.render_human(&Plain));
}
