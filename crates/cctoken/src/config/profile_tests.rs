use super::*;

/// The profile file of SPEC §7, shared with the config fuzz test.
const SPEC_EXAMPLE: &str = include_str!("../../tests/data/spec_example.toml");

#[test]
fn parses_the_spec_example() {
    let f = ConfigFile::parse(SPEC_EXAMPLE, Path::new("/c.toml")).unwrap();
    assert_eq!(f.names(), vec!["genesys-prod", "partner-api"]);
    let p = f.profile("partner-api").unwrap();
    assert_eq!(p.name.as_deref(), Some("partner-api"));
    assert_eq!(p.provider, Some(ProviderKind::Generic));
    assert_eq!(p.auth, Some(AuthMethod::Post));
    assert_eq!(p.default_lifetime, Some(Duration::from_secs(3600)));
    assert_eq!(
        p.params.unwrap().get("resource").map(String::as_str),
        Some("x")
    );
    assert_eq!(f.cache.negative_ttl, Some(Duration::from_secs(30)));
    assert_eq!(f.cache.url.unwrap().host_str(), Some("cache.internal"));
}

#[test]
fn unknown_profile_lists_the_available_ones() {
    let f = ConfigFile::parse(SPEC_EXAMPLE, Path::new("/c.toml")).unwrap();
    let e = f.profile("prod").unwrap_err();
    assert!(e.message.contains("genesys-prod, partner-api"), "{e}");
    assert!(e.message.contains("/c.toml"), "{e}");
}

fn parse_err(text: &str) -> String {
    ConfigFile::parse(text, Path::new("/home/u/.config/cctoken/config.toml"))
        .unwrap_err()
        .message
}

#[test]
fn unknown_field_names_file_line_table_and_key() {
    let m = parse_err("[profiles.a]\nregion = \"eu-west-1\"\nclientid = \"x\"\n");
    assert!(
        m.starts_with("/home/u/.config/cctoken/config.toml:3:1: "),
        "{m}"
    );
    assert!(m.contains("unknown field `clientid`"), "{m}");
    assert!(m.contains("in [profiles.a]"), "{m}");
    assert!(m.contains("key `clientid`"), "{m}");
}

#[test]
fn literal_secret_is_refused_without_echoing_it() {
    let m = parse_err("[profiles.a]\nclient_secret = \"CANARY-literal-123\"\n");
    assert!(m.contains("secrets do not belong"), "{m}");
    assert!(!m.contains("CANARY"), "{m}");
}

#[test]
fn typed_fields_report_line_and_reason() {
    let m = parse_err("[profiles.a]\nregion = \"mars-1\"\n");
    assert!(m.contains(":2:"), "{m}");
    assert!(m.contains("eu-west-1"), "lists regions: {m}");
    let m = parse_err("[profiles.a]\nauth = \"bearer\"\n");
    assert!(m.contains("basic-raw"), "{m}");
    let m = parse_err("[profiles.a]\nprovider = \"okta\"\n");
    assert!(m.contains("genesys, generic or cxone"), "{m}");
    let m = parse_err("[profiles.a]\ntoken_url = \"http://auth.example.com/t\"\n");
    assert!(m.contains("unencrypted"), "{m}");
    let m = parse_err("[profiles.a]\ndefault_lifetime = \"soon\"\n");
    assert!(m.contains("not a duration"), "{m}");
    let m = parse_err("[cache]\nurl = \"http://x\"\n");
    assert!(m.contains("not a Redis URL"), "{m}");
    let m = parse_err("[profiles.a]\nscopes = \"CANARY-as-string\"\n");
    assert!(!m.contains("CANARY"), "{m}");
    let m = parse_err("[profile.a]\n");
    assert!(m.contains("unknown field `profile`"), "{m}");
}

#[test]
fn broken_toml_is_an_error_not_a_panic() {
    for text in [
        "[profiles.a",
        "[profiles.a]\nregion = ",
        "\u{0}\u{1}",
        "[profiles]\na = 1",
        "profiles = 3",
        "[[profiles.a]]\n",
        "[profiles.a]\nscopes = [1, 2]\n",
        "[profiles.a]\nparams = { a = 1 }\n",
    ] {
        let m = parse_err(text);
        assert!(m.contains("config.toml:"), "{text:?}: {m}");
    }
}

#[test]
fn load_missing_default_is_empty_but_missing_explicit_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap().to_owned();
    let env = &[("HOME", home.as_str())];
    let f = ConfigFile::load_with(None, env).unwrap();
    assert!(!f.found && f.profiles.is_empty());
    assert!(f.path.unwrap().ends_with(".config/cctoken/config.toml"));
    let missing = dir.path().join("nope.toml");
    let e = ConfigFile::load_with(Some(&missing), env).unwrap_err();
    assert!(e.message.contains("nope.toml"), "{e}");
    let via_env = missing.to_str().unwrap().to_owned();
    let env2 = &[
        ("HOME", home.as_str()),
        ("CCTOKEN_CONFIG", via_env.as_str()),
    ];
    assert!(ConfigFile::load_with(None, env2).is_err());
    let path = dir.path().join("c.toml");
    std::fs::write(&path, SPEC_EXAMPLE).unwrap();
    let f = ConfigFile::load_with(Some(&path), env).unwrap();
    assert!(f.found);
    assert_eq!(f.profiles.len(), 2);
}

#[test]
fn overlay_puts_flags_over_profile_by_group() {
    let profile = ProfileSettings {
        name: Some("p".into()),
        region: Some("eu-west-1".into()),
        issuer: Some("https://auth.example.com".into()),
        client_id: Some("from-profile".into()),
        client_secret_file: Some("/run/secrets/x".into()),
        scopes: Some(vec!["a".into()]),
        params: Some([("k1".into(), "v1".into()), ("k2".into(), "v2".into())].into()),
        ..Default::default()
    };
    let flags = ProfileSettings {
        token_url: Some("http://127.0.0.1:1/oauth/token".into()),
        client_secret_env: Some("S".into()),
        params: Some([("k2".into(), "flag".into())].into()),
        ..Default::default()
    };
    let m = profile.clone().overlay(flags);
    assert_eq!(m.name.as_deref(), Some("p"));
    assert_eq!(m.region.as_deref(), Some("eu-west-1"));
    assert_eq!(m.client_id.as_deref(), Some("from-profile"));
    assert_eq!(m.issuer, None, "token_url flag replaces the issuer");
    assert_eq!(
        m.client_secret_file, None,
        "secret flag replaces the profile's source"
    );
    assert_eq!(m.client_secret_env.as_deref(), Some("S"));
    let params = m.params.unwrap();
    assert_eq!(params["k1"], "v1");
    assert_eq!(params["k2"], "flag");
    // empty flags change nothing
    assert_eq!(profile.clone().overlay(ProfileSettings::default()), profile);
}
