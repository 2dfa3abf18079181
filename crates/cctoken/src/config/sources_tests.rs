use std::collections::HashMap;

use super::*;
use crate::config::ProfileKeys;

const CANARY: &str = "CANARY-7f3e9a1b-secret";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(src: &SecretSource, e: &HashMap<String, String>) -> Result<LoadedSecret, Error> {
    load_secret(SecretKind::Client, src, e, false, &mut None)
}

fn command(cmd: &str) -> SecretSource {
    SecretSource::Command {
        command: cmd.into(),
        timeout: env::SECRET_CMD_TIMEOUT,
    }
}

fn no_canary(text: &str) {
    assert!(!text.contains(CANARY), "canary leaked: {text}");
    assert!(!text.contains("7f3e9a1b"), "canary leaked: {text}");
}

#[test]
fn precedence_explicit_then_cctoken_then_genesys_env() {
    let e = env(&[
        ("CCTOKEN_CLIENT_SECRET", "a"),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "b"),
    ]);
    let s = ProfileSettings {
        client_secret: Some(SecretSetting::Env("MINE".into())),
        ..Default::default()
    };
    let plan = |s: &ProfileSettings, e: &HashMap<String, String>, k| {
        plan_client_secret(s, k, e, None).map(|x| x.to_string())
    };
    assert_eq!(plan(&s, &e, ProviderKind::Genesys).unwrap(), "env MINE");
    let none = ProfileSettings::default();
    assert_eq!(
        plan(&none, &e, ProviderKind::Genesys).unwrap(),
        "env CCTOKEN_CLIENT_SECRET"
    );
    let e2 = env(&[("GENESYSCLOUD_OAUTHCLIENT_SECRET", "b")]);
    assert_eq!(
        plan(&none, &e2, ProviderKind::Genesys).unwrap(),
        "env GENESYSCLOUD_OAUTHCLIENT_SECRET"
    );
    let err = plan(&none, &e2, ProviderKind::Generic).unwrap_err();
    assert!(err.message.contains("--client-secret-file"), "{err}");
    // Two explicit sources cannot even become settings.
    let two = ProfileKeys {
        client_secret_env: Some("A".into()),
        client_secret_cmd: Some("echo x".into()),
        ..Default::default()
    };
    let err = ProfileSettings::try_from(two).unwrap_err();
    assert!(err.message.contains("more than one source"), "{err}");
}

#[test]
fn env_values_are_normalised_and_errors_name_source_and_position() {
    let e = env(&[
        ("OK", &format!("{CANARY}\n")),
        ("TAB", &format!("{CANARY}\t")),
        ("EMPTY", ""),
    ]);
    let l = load(&SecretSource::Env("OK".into()), &e).unwrap();
    assert_eq!(l.secret.expose_secret(), CANARY);
    assert_eq!(l.origin, "env OK");
    assert!(l.notes[0].contains("trailing newline"), "{:?}", l.notes);
    no_canary(&format!("{l:?}"));

    let err = load(&SecretSource::Env("TAB".into()), &e).unwrap_err();
    assert!(err.message.contains("env TAB"), "{err}");
    assert!(err.message.contains("trailing tab at byte 22"), "{err}");
    no_canary(&format!("{err} {err:?}"));

    let err = load(&SecretSource::Env("EMPTY".into()), &e).unwrap_err();
    assert!(err.message.contains("empty"), "{err}");
    let err = load(&SecretSource::Env("UNSET".into()), &e).unwrap_err();
    assert!(err.message.contains("UNSET, which is not set"), "{err}");

    let kept = load_secret(
        SecretKind::Client,
        &SecretSource::Env("TAB".into()),
        &e,
        true,
        &mut None,
    )
    .unwrap();
    assert!(kept.secret.expose_secret().ends_with('\t'));
}

#[test]
fn files_strip_newline_warn_when_world_readable_and_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    std::fs::write(&path, format!("{CANARY}\r\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let l = load(&SecretSource::File(path.clone()), &env(&[])).unwrap();
    assert_eq!(l.secret.expose_secret(), CANARY);
    let notes = l.notes.join("\n");
    #[cfg(unix)]
    assert!(notes.contains("chmod 600"), "{notes}");
    assert!(notes.contains("trailing newline"), "{notes}");
    no_canary(&notes);

    let err = load(&SecretSource::File(dir.path().join("missing")), &env(&[])).unwrap_err();
    assert!(err.message.contains("does not exist"), "{err}");

    std::fs::write(&path, format!(" {CANARY}")).unwrap();
    let err = load(&SecretSource::File(path), &env(&[])).unwrap_err();
    assert!(err.message.contains("leading space at byte 0"), "{err}");
    no_canary(&err.to_string());
}

#[test]
fn commands_capture_stdout_and_hide_output_on_failure() {
    let ok = command(&format!("printf '%s\\n' {CANARY}"));
    let l = load(&ok, &env(&[])).unwrap();
    assert_eq!(l.secret.expose_secret(), CANARY);
    assert!(l.origin.starts_with("command `printf"));

    let bad = command("echo partial-output; exit 3");
    let err = load(&bad, &env(&[])).unwrap_err();
    assert!(err.message.contains("exit status: 3"), "{err}");
    assert!(err.message.contains("not shown"), "{err}");
    assert!(!err.message.contains("partial-output\n"), "{err}");
}

/// `yes` writes without end: the output is capped while it is read (never 1 GB first) and
/// the command is stopped.
#[test]
fn endless_command_output_is_cut_at_the_cap() {
    let err = load(&command("yes"), &env(&[])).unwrap_err();
    assert_eq!(err.kind, crate::error::ErrorKind::Config);
    assert!(err.message.contains("larger than 65536 bytes"), "{err}");
    assert!(err.message.contains("command `yes`"), "{err}");
}

/// A command that hangs is stopped at its timeout (the profile's
/// `client_secret_cmd_timeout`), with an error that names the key to raise.
#[test]
fn a_hanging_command_is_stopped_at_its_timeout() {
    let keys = ProfileKeys {
        access_key_secret_cmd: Some("sleep 30".into()),
        access_key_secret_cmd_timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let s = ProfileSettings::try_from(keys).unwrap();
    let src = plan_access_key_secret(&s, &env(&[])).unwrap();
    let err = load_secret(SecretKind::AccessKey, &src, &env(&[]), false, &mut None).unwrap_err();
    assert_eq!(err.kind, crate::error::ErrorKind::Config);
    assert!(err.message.contains("did not finish within 200ms"), "{err}");
    assert!(
        err.message.contains("access_key_secret_cmd_timeout"),
        "{err}"
    );
    // Without the key: the default timeout.
    let s = ProfileSettings {
        client_secret: Some(SecretSetting::Command {
            command: "sleep 30".into(),
            timeout: None,
        }),
        ..Default::default()
    };
    let src = plan_client_secret(&s, ProviderKind::Generic, &env(&[]), None).unwrap();
    assert!(matches!(
        src,
        SecretSource::Command { timeout, .. } if timeout == env::SECRET_CMD_TIMEOUT
    ));
}

/// The timeout stops what the command started as well: here a `sleep` that `sh` runs as
/// its child and waits for.
#[test]
fn a_timeout_stops_the_commands_children_too() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let src = SecretSource::Command {
        command: format!("sleep 60 & echo $! > '{}'; wait", pidfile.display()),
        // Long enough for a loaded machine to start sh and write the pid file.
        timeout: Duration::from_secs(3),
    };
    let err = load(&src, &env(&[])).unwrap_err();
    assert!(err.message.contains("did not finish within 3s"), "{err}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    // Gone, or a zombie waiting for its reaper: not running. Bounded wait for the kernel.
    let running = || {
        std::fs::read_to_string(&stat)
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    };
    for _ in 0..200 {
        if !running() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!running(), "the command's child {pid} outlived the timeout");
}

#[test]
fn stdin_is_read_once() {
    let mut stdin: Option<Box<dyn Read>> = Some(Box::new(std::io::Cursor::new(
        format!("{CANARY}\n").into_bytes(),
    )));
    let l = load_secret(
        SecretKind::AccessKey,
        &SecretSource::Stdin,
        &env(&[]),
        false,
        &mut stdin,
    )
    .unwrap();
    assert_eq!(l.secret.expose_secret(), CANARY);
    assert_eq!(l.origin, "stdin");
    let err = load_secret(
        SecretKind::Client,
        &SecretSource::Stdin,
        &env(&[]),
        false,
        &mut stdin,
    )
    .unwrap_err();
    assert!(err.message.contains("stdin is not available"), "{err}");
}

#[test]
fn keyring_is_a_clear_error() {
    // No keyring runs where the unit tests run (no Secret Service on the bus): a clear error.
    let err = load(&SecretSource::Keyring("p".into()), &env(&[])).unwrap_err();
    assert!(err.message.contains("keyring"), "{}", err.message);
}

#[test]
fn access_key_precedence() {
    let e = env(&[("CCTOKEN_ACCESS_KEY_SECRET", "x")]);
    let s = ProfileSettings::default();
    assert_eq!(
        plan_access_key_secret(&s, &e).unwrap().to_string(),
        "env CCTOKEN_ACCESS_KEY_SECRET"
    );
    let s = ProfileSettings {
        access_key_secret: Some(SecretSetting::File("/k".into())),
        ..Default::default()
    };
    assert_eq!(
        plan_access_key_secret(&s, &e).unwrap().to_string(),
        "file /k"
    );
    assert!(plan_access_key_secret(&ProfileSettings::default(), &env(&[])).is_err());
}

#[test]
fn a_handed_over_value_wins_and_is_normalised_like_every_source() {
    let e = env(&[("CCTOKEN_CLIENT_SECRET", "from-env")]);
    let s = ProfileSettings {
        client_secret: Some(SecretSetting::Value {
            origin: "client_secret= of TokenSource.generic".into(),
            value: ClientSecret::new(format!("{CANARY}\n")),
        }),
        ..Default::default()
    };
    let src = plan_client_secret(&s, ProviderKind::Generic, &e, None).unwrap();
    assert_eq!(src.to_string(), "client_secret= of TokenSource.generic");
    let loaded = load(&src, &e).unwrap();
    assert_eq!(
        loaded.secret.expose_secret(),
        CANARY,
        "the newline is stripped"
    );
    assert_eq!(loaded.origin, "client_secret= of TokenSource.generic");
    no_canary(&format!("{src:?} {:?} {:?}", loaded.notes, s));
    // Not a profile key: `profiles show` lists nothing for it.
    assert!(s
        .keys()
        .iter()
        .all(|(k, _)| !k.starts_with("client_secret")));
    let bad = ProfileSettings {
        client_secret: Some(SecretSetting::Value {
            origin: "client_secret=".into(),
            value: ClientSecret::new(""),
        }),
        ..Default::default()
    };
    let src = plan_client_secret(&bad, ProviderKind::Generic, &e, None).unwrap();
    let err = load(&src, &e).unwrap_err();
    assert!(err.message.contains("client_secret="), "{err}");
}

/// A command that exits at once but leaves a background process holding its output is
/// named for what it is, not reported as "did not finish within" its timeout.
#[test]
fn a_background_process_holding_the_output_is_named() {
    let src = SecretSource::Command {
        command: "(sleep 30 &) ; printf 'x'".into(),
        timeout: Duration::from_secs(60),
    };
    let err = load(&src, &env(&[])).unwrap_err();
    assert_eq!(err.kind, crate::error::ErrorKind::Config);
    assert!(
        err.message.contains(
            "exited (exit status: 0), but a process it started still holds its output open"
        ),
        "{err}"
    );
    assert!(!err.message.contains("did not finish"), "{err}");
}

/// A failing command's message says which output is hidden: its standard output (the
/// secret's channel); its stderr is its own and reaches the terminal.
#[test]
fn a_failing_commands_message_says_its_standard_output_is_not_shown() {
    // What it prints ("out-hidden") is not in the command's text, which is shown.
    let err = load(&command("printf 'out-%s' hidden; exit 3"), &env(&[])).unwrap_err();
    assert_eq!(err.kind, crate::error::ErrorKind::Config);
    assert!(err.message.contains("failed (exit status: 3)"), "{err}");
    assert!(
        err.message.contains(
            "its standard output is not shown because it may hold the secret (what it wrote \
             to stderr is its own"
        ),
        "{err}"
    );
    assert!(!err.message.contains("its output is not shown"), "{err}");
    assert!(!err.message.contains("out-hidden"), "{err}");
}
