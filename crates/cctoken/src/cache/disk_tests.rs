use super::*;
use crate::error::{Class, ErrorKind};
use crate::secret::AccessToken;

fn token(now: SystemTime, secs: u64) -> Token {
    Token {
        access_token: AccessToken::new("tok-CANARY-abc"),
        token_type: "Bearer",
        issued_at: now,
        expires_in: Duration::from_secs(secs),
        expires_in_defaulted: false,
        scope: Some("read".into()),
        refresh_token: Some(AccessToken::new("refresh-CANARY")),
        id_token: None,
    }
}

fn key() -> CacheKey {
    let cfg = crate::config::ClientConfig::new(
        crate::provider::ProviderConfig::Generic {
            endpoint: crate::provider::Endpoint::TokenUrl(url::Url::parse("https://x/t").unwrap()),
            api_base: None,
        },
        "id",
        ClientSecret::new("s"),
    );
    CacheKey::for_config(&cfg)
}

#[test]
fn round_trip_permissions_and_no_clear_text() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(dir.path().join("c")).unwrap();
    let secret = ClientSecret::new("secret-CANARY");
    let now = SystemTime::now();
    cache
        .store_token(&key(), &secret, &token(now, 3600))
        .unwrap();
    let Lookup::Token(t) = cache.load(&key(), &secret, now) else {
        panic!("miss")
    };
    assert_eq!(t.access_token.expose_secret(), "tok-CANARY-abc");
    assert_eq!(t.refresh_token.unwrap().expose_secret(), "refresh-CANARY");
    let mode = fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    for e in fs::read_dir(cache.dir()).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{p:?}"
        );
        let text = String::from_utf8_lossy(&fs::read(&p).unwrap()).to_string();
        assert!(!text.contains("CANARY"), "{text}");
    }
    // Another secret cannot read it (and the entry is discarded).
    assert!(matches!(
        cache.load(&key(), &ClientSecret::new("other"), now),
        Lookup::Miss
    ));
}

#[test]
fn expired_corrupt_and_tampered_entries_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(dir.path()).unwrap();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    cache.store_token(&key(), &s, &token(now, 10)).unwrap();
    assert!(matches!(
        cache.load(&key(), &s, now + Duration::from_secs(11)),
        Lookup::Miss
    ));
    let path = cache.entry_path(&key());
    fs::write(&path, b"{garbage").unwrap();
    assert!(matches!(cache.load(&key(), &s, now), Lookup::Miss));
    assert!(!path.exists(), "corrupt entry removed");
    // Extending the expiry in clear text breaks the authentication tag.
    cache.store_token(&key(), &s, &token(now, 10)).unwrap();
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("\"expires_in_s\":10", "\"expires_in_s\":99999");
    fs::write(&path, text).unwrap();
    assert!(matches!(cache.load(&key(), &s, now), Lookup::Miss));
}

#[test]
fn negative_entries_expire() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(dir.path()).unwrap();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    let err = Error {
        kind: ErrorKind::InvalidClient,
        class: Class::Permanent,
        status: Some(401),
        ..Error::config("server said invalid_client")
    };
    cache
        .store_negative(&key(), &err, now + Duration::from_secs(30))
        .unwrap();
    let Lookup::Negative(e) = cache.load(&key(), &s, now) else {
        panic!()
    };
    assert_eq!(e.kind, ErrorKind::InvalidClient);
    assert_eq!(e.class, Class::Permanent);
    assert!(matches!(
        cache.load(&key(), &s, now + Duration::from_secs(31)),
        Lookup::Miss
    ));
}

#[test]
fn lock_is_exclusive_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(dir.path()).unwrap();
    let held = cache.lock(&key(), Duration::from_secs(1)).unwrap();
    let e = cache.lock(&key(), Duration::from_millis(50)).unwrap_err();
    assert!(e.is_transient());
    drop(held);
    cache.lock(&key(), Duration::from_millis(50)).unwrap();
}

#[test]
fn rate_limits_are_remembered_until_they_pass() {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(dir.path()).unwrap();
    let now = SystemTime::now();
    assert_eq!(cache.rate_limited_until(&key(), now), None);
    let until = now + Duration::from_secs(3);
    cache.store_rate_limit(&key(), until).unwrap();
    assert!(cache.rate_limited_until(&key(), now).is_some());
    assert_eq!(
        cache.rate_limited_until(&key(), until + Duration::from_millis(1)),
        None
    );
}
