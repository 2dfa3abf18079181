use super::*;

fn url(s: &str) -> Url {
    s.parse().unwrap()
}

#[test]
fn overlay_puts_flags_over_profile_by_group() {
    let profile = ProfileSettings {
        name: Some("p".into()),
        region: Region::lookup("eu-west-1"),
        endpoint: Some(Endpoint::Issuer(url("https://auth.example.com"))),
        client_id: Some("from-profile".into()),
        client_secret: Some(SecretSetting::File("/run/secrets/x".into())),
        scopes: Some(vec!["a".into()]),
        params: Some([("k1".into(), "v1".into()), ("k2".into(), "v2".into())].into()),
        ..Default::default()
    };
    let flags = ProfileSettings {
        endpoint: Some(Endpoint::TokenUrl(url("http://127.0.0.1:1/oauth/token"))),
        client_secret: Some(SecretSetting::Env("S".into())),
        params: Some([("k2".into(), "flag".into())].into()),
        ..Default::default()
    };
    let m = profile.clone().overlay(flags);
    assert_eq!(m.name.as_deref(), Some("p"));
    assert_eq!(m.region.map(|r| r.name), Some("eu-west-1"));
    assert_eq!(m.client_id.as_deref(), Some("from-profile"));
    assert_eq!(m.issuer(), None, "token_url flag replaces the issuer");
    assert_eq!(
        m.client_secret,
        Some(SecretSetting::Env("S".into())),
        "secret flag replaces the profile's source"
    );
    let params = m.params.unwrap();
    assert_eq!(params["k1"], "v1");
    assert_eq!(params["k2"], "flag");
    // empty flags change nothing
    assert_eq!(profile.clone().overlay(ProfileSettings::default()), profile);
}

#[test]
fn keys_become_groups_once_for_files_and_flags_alike() {
    let k = ProfileKeys {
        client_secret_stdin: true,
        client_secret_env: Some("S".into()),
        ..Default::default()
    };
    let m = ProfileSettings::try_from(k).unwrap_err().message;
    assert!(
        m.contains("more than one source (client secret from stdin, client_secret_env)"),
        "{m}"
    );
    let k = ProfileKeys {
        access_key_secret_file: Some("/k".into()),
        client_secret_keyring: Some(false),
        issuer: Some(url("https://auth.example.com")),
        ..Default::default()
    };
    let s = ProfileSettings::try_from(k).unwrap();
    assert_eq!(s.access_key_secret, Some(SecretSetting::File("/k".into())));
    assert_eq!(s.client_secret, None, "keyring = false names no source");
    assert_eq!(
        s.issuer().map(Url::as_str),
        Some("https://auth.example.com/")
    );
    assert_eq!(s.token_url(), None);
}

#[test]
fn keys_show_the_settings_as_written_in_the_files_order() {
    let k = ProfileKeys {
        provider: Some(ProviderKind::Generic),
        token_url: Some(url("https://auth.example.com/t")),
        client_id: Some("ci".into()),
        client_secret_cmd: Some("pass ci".into()),
        client_secret_cmd_timeout: Some(Duration::from_secs(30)),
        scopes: Some(vec!["a".into(), "b".into()]),
        params: Some([("k".into(), "v".into())].into()),
        access_key_secret_file: Some("/k".into()),
        ..Default::default()
    };
    let keys = ProfileSettings::try_from(k).unwrap().keys();
    let shown: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        shown,
        [
            "provider=generic",
            "token_url=https://auth.example.com/t",
            "client_id=ci",
            "client_secret_cmd=pass ci",
            "client_secret_cmd_timeout=30s",
            "scopes=a b",
            "params=k=v",
            "access_key_secret_file=/k",
        ]
    );
}
