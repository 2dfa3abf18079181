use super::*;
use crate::token::RawResponse;

fn client(provider: ProviderConfig) -> Client {
    Client::new(ClientConfig::new(
        provider,
        "id",
        ClientSecret::new("s3cret"),
    ))
    .unwrap()
}

fn genesys() -> Client {
    client(ProviderConfig::Genesys {
        region: crate::provider::genesys::Region::lookup("eu-west-1"),
        token_url: None,
        api_base: None,
    })
}

fn generic() -> Client {
    client(ProviderConfig::Generic {
        endpoint: Endpoint::TokenUrl(Url::parse("https://auth.example.com/t").unwrap()),
        api_base: None,
    })
}

/// What the token endpoint's answer turns into, before the client explains it.
fn refused(status: u16, body: &str) -> Error {
    let raw = RawResponse {
        status,
        content_type: Some("application/json".into()),
        retry_after: None,
        body: body.as_bytes().to_vec(),
    };
    parse_response(&raw, std::time::SystemTime::UNIX_EPOCH, None).unwrap_err()
}

#[test]
fn errors_get_the_providers_hint_and_the_presented_fingerprint() {
    let invalid_client = || refused(401, r#"{"error":"invalid_client"}"#);
    let e = genesys().explain(invalid_client());
    assert!(e.hint.as_deref().unwrap().contains("region"), "{e}");
    assert_eq!(
        e.presented_secret,
        Some(ClientSecret::new("s3cret").fingerprint())
    );
    let e = generic().explain(invalid_client());
    assert!(e.hint.as_deref().unwrap().contains("--auth post"), "{e}");

    let e = generic().explain(refused(400, r#"{"error":"unauthorized_client"}"#));
    assert_eq!(e.kind, ErrorKind::UnauthorizedClient);
    assert!(e.hint.is_some());
    assert_eq!(e.presented_secret, None, "only invalid_client shows it");

    // A hint set closer to the failure wins; configuration errors get none.
    let e = genesys().explain(Error::transport("x").with_hint("own"));
    assert_eq!(e.hint.as_deref(), Some("own"));
    assert_eq!(genesys().explain(Error::config("x")).hint, None);
}
