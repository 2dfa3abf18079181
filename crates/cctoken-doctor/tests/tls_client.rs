//! A pasted `curl --cert` request is mTLS client authentication (RFC 8705): no false
//! "no client authentication", but `client_id` is still required, and plain http has no
//! handshake to present the certificate in.

use cctoken_doctor::{diagnose_curl, Code, Plain, Severity};

const URL: &str = "https://idp.example.com/oauth2/token";

#[test]
fn a_client_certificate_is_client_authentication() {
    let r = diagnose_curl(&format!(
        "curl -X POST {URL} --cert client.pem --key client.key -d grant_type=client_credentials -d client_id=my-app"
    ));
    let text = r.render_human(&Plain);
    assert!(!r.has_errors(), "{text}");
    assert!(!r.has(Code::AuthMissing), "{text}");
    let f = r
        .finding(Code::AuthTlsClient)
        .expect("auth.tls-client")
        .clone();
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.message.to_string().contains("client.pem"),
        "{}",
        f.message
    );
    // -E is the same option.
    let short = diagnose_curl(&format!(
        "curl {URL} -E client.pem -d grant_type=client_credentials -d client_id=my-app"
    ));
    assert!(
        !short.has_errors() && short.has(Code::AuthTlsClient),
        "{}",
        short.render_human(&Plain)
    );
}

#[test]
fn without_client_id_or_over_http_it_cannot_work() {
    let r = diagnose_curl(&format!(
        "curl -X POST {URL} --cert client.pem --key client.key -d grant_type=client_credentials"
    ));
    let f = r
        .finding(Code::AuthMissing)
        .unwrap_or_else(|| panic!("{}", r.render_human(&Plain)))
        .clone();
    assert!(f
        .message
        .to_string()
        .contains("RFC 8705 §2 requires client_id"));
    let http = diagnose_curl(
        "curl -X POST http://idp.example.com/token --cert c.pem -d grant_type=client_credentials -d client_id=a",
    );
    let j = http.to_json(&Plain);
    assert!(
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "auth.tls-client" && f["severity"] == "error"),
        "{j}"
    );
}
