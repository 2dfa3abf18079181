use std::collections::HashMap;

use super::*;
use crate::auth::AuthMethod;
use crate::config::ProfileKeys;

const CANARY: &str = "CANARY-resolve-5e1d";
const ID: &str = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn url(s: &str) -> Url {
    s.parse().unwrap()
}

fn run(s: &ProfileSettings, e: &HashMap<String, String>) -> Result<ResolvedProfile, Error> {
    resolve(s, e, ResolveOptions::default())
}

fn token_url(r: &ResolvedProfile) -> String {
    match &r.config.provider {
        ProviderConfig::Genesys {
            region, token_url, ..
        } => token_url
            .clone()
            .or_else(|| region.map(|r| r.token_url()))
            .map(|u| u.to_string())
            .unwrap_or_default(),
        ProviderConfig::Generic {
            endpoint: Endpoint::TokenUrl(u),
            ..
        } => u.to_string(),
        ProviderConfig::Generic {
            endpoint: Endpoint::Issuer(u),
            ..
        } => format!("issuer {u}"),
        ProviderConfig::Cxone { issuer, .. } => format!("cxone {issuer}"),
    }
}

#[test]
fn genesys_from_region_flags() {
    let s = ProfileSettings {
        region: Region::lookup("mypurecloud.ie"),
        client_id: Some(ID.into()),
        client_secret: Some(SecretSetting::Env("GC_SECRET".into())),
        scopes: Some(vec!["routing analytics".into(), "a,b".into()]),
        auth: Some(AuthMethod::Basic),
        ..Default::default()
    };
    let r = run(&s, &env(&[("GC_SECRET", CANARY)])).unwrap();
    assert_eq!(r.config.kind(), ProviderKind::Genesys);
    assert_eq!(token_url(&r), "https://login.mypurecloud.ie/oauth/token");
    assert_eq!(r.config.scopes, vec!["routing", "analytics", "a,b"]);
    assert_eq!(r.config.auth, Some(AuthMethod::Basic));
    assert_eq!(r.secret_origin, "env GC_SECRET");
    assert_eq!(r.secret_vars, ["GC_SECRET"]);
    assert_eq!(r.config.client_secret.expose_secret(), CANARY);
    assert!(r.notes.iter().any(|n| n.contains("inferred")));
    assert!(!format!("{r:?}").contains(CANARY));
}

#[test]
fn genesys_env_conventions_alone_are_enough() {
    let e = env(&[
        ("GENESYSCLOUD_REGION", "eu-central-1"),
        ("GENESYSCLOUD_OAUTHCLIENT_ID", ID),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", CANARY),
    ]);
    let r = run(&ProfileSettings::default(), &e).unwrap();
    assert_eq!(token_url(&r), "https://login.mypurecloud.de/oauth/token");
    assert_eq!(r.config.client_id, ID);
    assert_eq!(r.secret_origin, "env GENESYSCLOUD_OAUTHCLIENT_SECRET");
    assert_eq!(r.secret_vars, ["GENESYSCLOUD_OAUTHCLIENT_SECRET"]);
}

#[test]
fn genesys_issuer_is_a_host_override() {
    let s = ProfileSettings {
        provider: Some(ProviderKind::Genesys),
        endpoint: Some(Endpoint::Issuer(url("http://127.0.0.1:8080/"))),
        client_id: Some("demo-client".into()),
        ..Default::default()
    };
    let r = run(&s, &env(&[("CCTOKEN_CLIENT_SECRET", CANARY)])).unwrap();
    assert_eq!(token_url(&r), "http://127.0.0.1:8080/oauth/token");
}

#[test]
fn genesys_token_url_as_a_bare_origin_gets_the_token_path() {
    for (given, want) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/oauth/token"),
        (
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/oauth/token",
        ),
        (
            "https://login.mypurecloud.ie",
            "https://login.mypurecloud.ie/oauth/token",
        ),
        // A path is the token endpoint as given.
        (
            "http://127.0.0.1:8080/custom/token",
            "http://127.0.0.1:8080/custom/token",
        ),
    ] {
        let s = ProfileSettings {
            region: Region::lookup("eu-west-1"),
            endpoint: Some(Endpoint::TokenUrl(url(given))),
            client_id: Some("demo-client".into()),
            ..Default::default()
        };
        let r = run(&s, &env(&[("CCTOKEN_CLIENT_SECRET", CANARY)])).unwrap();
        assert_eq!(token_url(&r), want, "{given}");
    }
}

#[test]
fn cxone_token_url_moves_every_request_to_its_host() {
    let e = env(&[
        ("CCTOKEN_CLIENT_SECRET", "app-secret"),
        ("CCTOKEN_ACCESS_KEY_SECRET", "demo/access+key===="),
    ]);
    for (given, issuer, token) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/", None),
        (
            "http://127.0.0.1:8080/auth/token",
            "http://127.0.0.1:8080/",
            Some("http://127.0.0.1:8080/auth/token"),
        ),
    ] {
        let s = ProfileSettings {
            provider: Some(ProviderKind::Cxone),
            endpoint: Some(Endpoint::TokenUrl(url(given))),
            client_id: Some("app".into()),
            access_key_id: Some("KEYID".into()),
            ..Default::default()
        };
        let r = run(&s, &e).unwrap();
        let ProviderConfig::Cxone {
            issuer: i,
            token_url: t,
            ..
        } = &r.config.provider
        else {
            panic!("cxone")
        };
        assert_eq!(
            i.as_str(),
            issuer,
            "{given}: discovery and tenant lookups go here"
        );
        assert_eq!(t.as_ref().map(Url::as_str), token, "{given}");
        assert!(r.notes.iter().any(|n| n.contains("cxone")), "{:?}", r.notes);
    }
}

#[test]
fn gc_profile_supplies_region_id_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gc.toml");
    std::fs::write(
        &path,
        format!(
            "[DEFAULT]\nenvironment = \"usw2.pure.cloud\"\nclient_credentials = \"{ID}\"\n\
             client_secret = \"{CANARY}\"\n"
        ),
    )
    .unwrap();
    let p = path.to_str().unwrap().to_owned();
    let s = ProfileSettings {
        gc_profile: Some("DEFAULT".into()),
        ..Default::default()
    };
    let r = run(&s, &env(&[("CCTOKEN_GC_CONFIG", &p)])).unwrap();
    assert_eq!(token_url(&r), "https://login.usw2.pure.cloud/oauth/token");
    assert_eq!(r.config.client_id, ID);
    assert!(r.secret_origin.starts_with("gc profile DEFAULT in "));
    assert!(r.secret_vars.is_empty(), "{:?}", r.secret_vars);
    assert_eq!(r.config.client_secret.expose_secret(), CANARY);
    // the env convention wins over the gc profile
    let r = run(
        &s,
        &env(&[
            ("CCTOKEN_GC_CONFIG", &p),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "other"),
        ]),
    )
    .unwrap();
    assert_eq!(r.secret_origin, "env GENESYSCLOUD_OAUTHCLIENT_SECRET");
}

#[test]
fn generic_and_cxone() {
    let s = ProfileSettings {
        endpoint: Some(Endpoint::Issuer(url("https://auth.example.com"))),
        client_id: Some("ci-bot".into()),
        params: Some([("resource".into(), "r".into())].into()),
        ..Default::default()
    };
    let r = run(&s, &env(&[("CCTOKEN_CLIENT_SECRET", CANARY)])).unwrap();
    assert_eq!(token_url(&r), "issuer https://auth.example.com/");
    assert_eq!(r.config.extra_params, vec![("resource".into(), "r".into())]);

    let s = ProfileSettings {
        client_id: Some("app".into()),
        access_key_id: Some("KEYID".into()),
        ..Default::default()
    };
    let e = env(&[
        ("CCTOKEN_CLIENT_SECRET", "app-secret"),
        ("CCTOKEN_ACCESS_KEY_SECRET", "demo/access+key===="),
    ]);
    let r = run(&s, &e).unwrap();
    assert_eq!(token_url(&r), "cxone https://cxone.niceincontact.com/");
    assert_eq!(
        r.access_key_origin.as_deref(),
        Some("env CCTOKEN_ACCESS_KEY_SECRET")
    );
    let mut vars = r.secret_vars.clone();
    vars.sort();
    assert_eq!(vars, ["CCTOKEN_ACCESS_KEY_SECRET", "CCTOKEN_CLIENT_SECRET"]);
    let ProviderConfig::Cxone { access_key, .. } = &r.config.provider else {
        panic!("cxone")
    };
    assert_eq!(access_key.id, "KEYID");
    assert_eq!(access_key.secret.expose_secret(), "demo/access+key====");
}

/// A generic server's token path is its own: a bare origin is refused before anything is
/// sent (a POST to `/` earns a 404), with the two ways to say what was meant.
#[test]
fn generic_bare_origin_token_url_is_refused_with_the_way_out() {
    let e = env(&[("CCTOKEN_CLIENT_SECRET", CANARY)]);
    for given in ["http://127.0.0.1:8089", "http://127.0.0.1:8089/"] {
        let s = ProfileSettings {
            endpoint: Some(Endpoint::TokenUrl(url(given))),
            client_id: Some("ci-bot".into()),
            ..Default::default()
        };
        let err = run(&s, &e).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Config, "{err}");
        assert_eq!(
            err.message,
            "--token-url http://127.0.0.1:8089 has no path; give the token endpoint \
             (e.g. http://127.0.0.1:8089/oauth/token) or --issuer http://127.0.0.1:8089 for \
             discovery"
        );
    }
    let s = ProfileSettings {
        endpoint: Some(Endpoint::TokenUrl(url("http://127.0.0.1:8089/token"))),
        client_id: Some("ci-bot".into()),
        ..Default::default()
    };
    assert_eq!(
        token_url(&run(&s, &e).unwrap()),
        "http://127.0.0.1:8089/token"
    );
}

#[test]
fn actionable_errors() {
    let e = env(&[("CCTOKEN_CLIENT_SECRET", CANARY)]);
    let err = |s: ProfileSettings| run(&s, &e).unwrap_err().message;
    let token_url = || Some(Endpoint::TokenUrl(url("https://a/t")));

    let m = err(ProfileSettings::default());
    assert!(m.contains("--region") && m.contains("--token-url"), "{m}");
    let m = err(ProfileSettings {
        region: Region::lookup("eu-west-1"),
        ..Default::default()
    });
    assert!(m.contains("no client id"), "{m}");
    // An unknown region, http:// to a remote host and a token URL with an issuer are
    // refused before settings exist (the parsers', provider::genesys's and the profile's
    // tests); from the environment, the region is looked up here.
    let m = run(
        &ProfileSettings {
            client_id: Some(ID.into()),
            ..Default::default()
        },
        &env(&[
            ("GENESYSCLOUD_REGION", "mars-1"),
            ("CCTOKEN_CLIENT_SECRET", CANARY),
        ]),
    )
    .unwrap_err()
    .message;
    assert!(m.contains("unknown Genesys Cloud region 'mars-1'"), "{m}");
    assert!(m.contains("eusc-de-east-1"), "{m}");
    let both = ProfileKeys {
        token_url: Some(url("https://a/t")),
        issuer: Some(url("https://a")),
        client_id: Some("x".into()),
        ..Default::default()
    };
    let m = ProfileSettings::try_from(both).unwrap_err().message;
    assert!(m.contains("both token_url and issuer"), "{m}");
    let m = err(ProfileSettings {
        provider: Some(ProviderKind::Cxone),
        client_id: Some("x".into()),
        ..Default::default()
    });
    assert!(m.contains("--access-key-id"), "{m}");
    let m = err(ProfileSettings {
        endpoint: token_url(),
        client_id: Some("x\n".into()),
        ..Default::default()
    });
    assert!(m.contains("whitespace"), "{m}");
    let m = err(ProfileSettings {
        endpoint: token_url(),
        client_id: Some("x".into()),
        params: Some([("grant_type".into(), "password".into())].into()),
        ..Default::default()
    });
    assert!(m.contains("grant_type"), "{m}");
    let m = err(ProfileSettings {
        endpoint: token_url(),
        client_id: Some("x".into()),
        client_secret: Some(SecretSetting::Stdin),
        access_key_secret: Some(SecretSetting::Stdin),
        ..Default::default()
    });
    assert!(m.contains("cannot both read stdin"), "{m}");
    let m = err(ProfileSettings {
        endpoint: token_url(),
        gc_profile: Some("DEFAULT".into()),
        provider: Some(ProviderKind::Generic),
        ..Default::default()
    });
    assert!(m.contains("Genesys Cloud only"), "{m}");
}

#[test]
fn stdin_injection() {
    let s = ProfileSettings {
        endpoint: Some(Endpoint::TokenUrl(url("https://a/t"))),
        client_id: Some("x".into()),
        client_secret: Some(SecretSetting::Stdin),
        ..Default::default()
    };
    let opts = ResolveOptions {
        keep_secret_bytes: false,
        stdin: Some(Box::new(&b"from-stdin\n"[..])),
    };
    let r = resolve(&s, &env(&[("CCTOKEN_CLIENT_SECRET", "ignored")]), opts).unwrap();
    assert_eq!(r.secret_origin, "stdin");
    assert_eq!(r.config.client_secret.expose_secret(), "from-stdin");
}
