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

#[test]
fn pool_keys_parse_overlay_show_and_default_per_provider() {
    let text = "[profiles.p]\nregion = \"eu-west-1\"\npool_size = 4\napi_rate_limit = \"50/5s\"\n";
    let f = crate::config::ConfigFile::parse(text, std::path::Path::new("/c.toml")).unwrap();
    let p = f.profile("p").unwrap();
    let (size, pacing) = p.pool.resolve(ProviderKind::Genesys);
    assert_eq!(
        (size.get(), pacing.limit.map(|l| l.to_string())),
        (4, Some("50/5s".into()))
    );
    assert_eq!(pacing.max_wait, crate::pool::MAX_WAIT);
    let keys = p.keys();
    assert!(keys.contains(&("pool_size", "4".into())), "{keys:?}");
    assert!(
        keys.contains(&("api_rate_limit", "50/5s".into())),
        "{keys:?}"
    );
    // Flags replace key by key.
    let flags = ProfileSettings {
        pool: PoolSettings {
            size: Some(PoolSize::new(2).unwrap()),
            api_rate_limit: None,
        },
        ..Default::default()
    };
    let m = p.overlay(flags).pool;
    assert_eq!(
        (
            m.size.unwrap().get(),
            m.api_rate_limit.unwrap().to_string().as_str()
        ),
        (2, "50/5s")
    );
    // Defaults: one token; genesys is paced to 300/60s, other providers are not paced.
    let none = PoolSettings::default();
    assert_eq!(none.resolve(ProviderKind::Genesys).0.get(), 1);
    assert_eq!(
        none.resolve(ProviderKind::Genesys).1.limit,
        Some(ApiRateLimit::GENESYS)
    );
    assert_eq!(none.resolve(ProviderKind::Generic).1.limit, None);
    assert_eq!(none.resolve(ProviderKind::Cxone).1.limit, None);
    // A mistake is reported where it is, with the expected form.
    let bad = "[profiles.p]\npool_size = 40\n";
    let e = crate::config::ConfigFile::parse(bad, std::path::Path::new("/c.toml")).unwrap_err();
    assert!(
        e.message.contains("1 to 20") && e.message.contains(":2:"),
        "{}",
        e.message
    );
    let bad = "[profiles.p]\napi_rate_limit = \"300 per minute\"\n";
    let e = crate::config::ConfigFile::parse(bad, std::path::Path::new("/c.toml")).unwrap_err();
    assert!(e.message.contains("e.g. 300/60s"), "{}", e.message);
}
