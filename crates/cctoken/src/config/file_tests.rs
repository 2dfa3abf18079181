use super::*;
use crate::auth::AuthMethod;
use crate::config::SecretSetting;
use crate::provider::ProviderKind;

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
    let m = parse_err("[profiles.a]\nparams = \"CANARY-as-string\"\n");
    assert!(!m.contains("CANARY"), "{m}");
    let m = parse_err("[profiles.a]\nscopes = [\"a\", 2]\n");
    assert!(m.contains("a list of strings"), "{m}");
    let m = parse_err("[profiles.a]\nscope = \"a\"\nscopes = [\"b\"]\n");
    assert!(m.contains("duplicate field"), "{m}");
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
fn two_sources_for_a_secret_or_both_endpoints_are_refused_where_written() {
    let m = parse_err(
        "[profiles.ok]\nregion = \"eu-west-1\"\n\n[profiles.a]\nclient_secret_env = \"A\"\n\
         client_secret_cmd = \"echo x\"\n",
    );
    assert!(m.contains("more than one source"), "{m}");
    assert!(m.contains("client_secret_env, client_secret_cmd"), "{m}");
    assert!(m.starts_with("/home/u/.config/cctoken/config.toml:"), "{m}");
    assert!(m.contains("[profiles.a]"), "{m}");
    let m = parse_err("[profiles.a]\ntoken_url = \"https://a/t\"\nissuer = \"https://a\"\n");
    assert!(m.contains("both token_url and issuer"), "{m}");
    let m = parse_err("[profiles.a]\nclient_secret_cmd_timeout = \"5s\"\n");
    assert!(m.contains("client_secret_cmd is not"), "{m}");
}

#[test]
fn a_secret_command_and_its_timeout_are_one_setting() {
    let f = ConfigFile::parse(
        "[profiles.a]\naccess_key_secret_cmd = \"pass k\"\naccess_key_secret_cmd_timeout = \"2m\"\n\
         client_secret_cmd = \"pass c\"\n",
        Path::new("/c.toml"),
    )
    .unwrap();
    let p = f.profile("a").unwrap();
    assert_eq!(
        p.access_key_secret,
        Some(SecretSetting::Command {
            command: "pass k".into(),
            timeout: Some(Duration::from_secs(120)),
        })
    );
    assert_eq!(
        p.client_secret,
        Some(SecretSetting::Command {
            command: "pass c".into(),
            timeout: None,
        })
    );
}

/// Runs `f` on a thread and waits a bounded time for it: a read that blocks (a FIFO
/// without a writer) fails the test instead of hanging it.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("loading the config file hung")
}

#[test]
fn only_bounded_regular_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO nobody writes to: refused at once, not waited on.
    let fifo = dir.path().join("fifo.toml");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let e = bounded(move || ConfigFile::load(Some(&fifo)).unwrap_err());
    assert!(
        e.message
            .contains("is a FIFO (named pipe), not a regular file"),
        "{e}"
    );
    // A device without end.
    let e = bounded(|| ConfigFile::load(Some(Path::new("/dev/zero"))).unwrap_err());
    assert!(
        e.message
            .contains("/dev/zero is a device, not a regular file"),
        "{e}"
    );
    let d = dir.path().to_path_buf();
    let e = bounded(move || ConfigFile::load(Some(&d)).unwrap_err());
    assert!(e.message.contains("is a directory"), "{e}");
    // A 20 GB (sparse) file: read up to the cap, then refused.
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(20 << 30)
        .unwrap();
    let e = bounded(move || ConfigFile::load(Some(&huge)).unwrap_err());
    assert!(e.message.contains("is larger than 1024 KiB"), "{e}");
    // A symbolic link to a regular file is fine (dotfile managers use them).
    let real = dir.path().join("real.toml");
    std::fs::write(&real, "[profiles.a]\nprovider = \"generic\"\n").unwrap();
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(ConfigFile::load(Some(&link)).unwrap().names(), ["a"]);
}

/// The flag is `--scope`, the key `scopes`: both spellings are read, as a list or as one
/// space-separated string.
#[test]
fn scope_and_scopes_both_work() {
    for text in [
        "[profiles.a]\nscopes = [\"read\", \"write\"]\n",
        "[profiles.a]\nscope = [\"read\", \"write\"]\n",
        "[profiles.a]\nscopes = \"read write\"\n",
        "[profiles.a]\nscope = \"read write\"\n",
    ] {
        let f = ConfigFile::parse(text, Path::new("config.toml")).unwrap();
        let scopes = f.profile("a").unwrap().scopes.unwrap();
        assert_eq!(scopes.join(" "), "read write", "{text}");
    }
}
