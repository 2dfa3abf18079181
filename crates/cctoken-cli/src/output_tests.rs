use super::*;

const TOKEN: &str = "eyFAKE.tok3n-for_tests~0123456789";
const NO_ENV: [(&str, &str); 0] = [];

fn with_view<R>(
    provider: ProviderKind,
    api_base: Option<&str>,
    f: impl FnOnce(&TokenView<'_>) -> R,
) -> R {
    let token = AccessToken::new(TOKEN);
    let base = api_base.map(|b| Url::parse(b).unwrap());
    let view = TokenView {
        access_token: &token,
        token_type: "Bearer",
        expires_in: Duration::from_secs(86399),
        expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045),
        scope: Some("read write"),
        api_base: base.as_ref(),
        expires_in_defaulted: false,
        source: Served::Cache,
        profile: Some("prod"),
        provider,
        // The Genesys profile of these tests is in Ireland.
        region: (provider == ProviderKind::Genesys)
            .then(|| Region::lookup("eu-west-1"))
            .flatten(),
    };
    f(&view)
}

fn text(format: Format, provider: ProviderKind, base: Option<&str>) -> Rendered {
    with_view(provider, base, |v| render_with(format, v, &NO_ENV).unwrap())
}

#[test]
fn raw_and_header() {
    let r = text(Format::Raw, ProviderKind::Generic, None);
    assert_eq!(r.stdout, format!("{TOKEN}\n"));
    assert_eq!(r.stderr_note, None);
    let r = text(Format::Header, ProviderKind::Generic, None);
    assert_eq!(r.stdout, format!("Authorization: Bearer {TOKEN}\n"));
}

#[test]
fn json_field_by_field() {
    let r = text(
        Format::Json,
        ProviderKind::Genesys,
        Some("https://api.mypurecloud.ie"),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["access_token"], TOKEN);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 86399);
    assert_eq!(v["expires_at"], "2026-01-02T03:04:05Z");
    assert_eq!(v["scope"], "read write");
    assert_eq!(v["api_base"], "https://api.mypurecloud.ie");
    assert_eq!(v["expires_in_defaulted"], false);
    assert_eq!(v["source"], "cache");
    assert_eq!(v["profile"], "prod");
    assert_eq!(v["provider"], "genesys");
    assert!(v.get("note").is_none());

    let token = AccessToken::new(TOKEN);
    let view = TokenView {
        access_token: &token,
        token_type: "Bearer",
        expires_in: Duration::from_secs(3600),
        expires_at: SystemTime::UNIX_EPOCH,
        scope: None,
        api_base: None,
        expires_in_defaulted: true,
        source: Served::Server,
        profile: None,
        provider: ProviderKind::Generic,
        region: None,
    };
    let v: serde_json::Value =
        serde_json::from_str(&render_with(Format::Json, &view, &NO_ENV).unwrap().stdout).unwrap();
    assert_eq!(v["expires_in_defaulted"], true);
    assert_eq!(v["source"], "server");
    assert!(v["scope"].is_null() && v["api_base"].is_null());
    assert!(v["note"].as_str().unwrap().contains("no expires_in"));
}

/// Snapshots named `output_<name>`, independent of the binary's crate name.
fn snap(name: &str, value: String) {
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("output_{name}"), value);
    });
}

#[test]
fn env_dotenv_gitlab_snapshots() {
    let base = Some("https://api.mypurecloud.ie");
    snap(
        "env_genesys",
        text(Format::Env, ProviderKind::Genesys, base).stdout,
    );
    snap(
        "env_generic",
        text(Format::Env, ProviderKind::Generic, None).stdout,
    );
    snap(
        "dotenv_genesys",
        text(Format::Dotenv, ProviderKind::Genesys, base).stdout,
    );
    let g = text(
        Format::Gitlab,
        ProviderKind::Generic,
        Some("https://api.example.com/v1"),
    );
    snap("gitlab", g.stdout);
    // A Genesys profile whose API is elsewhere (an emulator): the region is the
    // profile's, as `exec` gives it, not one guessed from the API's host.
    snap(
        "env_genesys_elsewhere",
        text(
            Format::Env,
            ProviderKind::Genesys,
            Some("http://127.0.0.1:9"),
        )
        .stdout,
    );
    let note = g.stderr_note.unwrap();
    assert!(note.contains("cannot mask") && !note.contains(TOKEN));
}

#[test]
fn shell_quoting_survives_quotes() {
    assert_eq!(shell_quote("a'b"), r"'a'\''b'");
}

#[test]
fn postman_env_is_a_newman_environment() {
    let r = text(
        Format::PostmanEnv,
        ProviderKind::Genesys,
        Some("https://api.mypurecloud.ie"),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["_postman_variable_scope"], "environment");
    assert_eq!(v["name"], "cctoken prod");
    assert_eq!(v["id"].as_str().unwrap().len(), 36);
    let values = v["values"].as_array().unwrap();
    let get = |k: &str| values.iter().find(|x| x["key"] == k).cloned().unwrap();
    assert_eq!(get("access_token")["value"], TOKEN);
    assert_eq!(get("access_token")["type"], "secret");
    assert_eq!(get("access_token")["enabled"], true);
    assert_eq!(get("token_type")["value"], "Bearer");
    assert_eq!(get("base_url")["value"], "https://api.mypurecloud.ie");
    assert_eq!(r.stderr_note, None);
    let r = text(Format::PostmanEnv, ProviderKind::Generic, None);
    assert!(r.stderr_note.unwrap().contains("base_url"));
}

#[test]
fn github_masks_and_appends_with_random_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("github_env");
    std::fs::write(&path, "EXISTING=1\n").unwrap();
    let p = path.to_str().unwrap().to_owned();
    let env = [("GITHUB_ENV", p.as_str())];
    let r = with_view(ProviderKind::Generic, None, |v| {
        render_with(Format::Github, v, &env).unwrap()
    });
    assert_eq!(r.stdout, format!("::add-mask::{TOKEN}\n"));
    assert!(!r.stderr_note.unwrap().contains(TOKEN));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.starts_with("EXISTING=1\n"),
        "appends, never truncates"
    );
    let lines: Vec<&str> = written.lines().collect();
    let (name, delim) = lines[1].split_once("<<").unwrap();
    assert_eq!(name, "CCTOKEN_ACCESS_TOKEN");
    assert!(delim.starts_with("ghadelimiter_") && delim.len() > 20);
    assert_eq!(lines[2], TOKEN);
    assert_eq!(lines[3], delim);
    // without GITHUB_ENV: mask plus dotenv lines
    let r = text(Format::Github, ProviderKind::Generic, None);
    assert!(r.stdout.starts_with(&format!(
        "::add-mask::{TOKEN}\nCCTOKEN_ACCESS_TOKEN={TOKEN}\n"
    )));
}

#[test]
fn control_characters_are_refused_in_line_formats() {
    let token = AccessToken::new("abc\nexport EVIL=1");
    let view = TokenView {
        access_token: &token,
        token_type: "Bearer",
        expires_in: Duration::ZERO,
        expires_at: SystemTime::UNIX_EPOCH,
        scope: None,
        api_base: None,
        expires_in_defaulted: false,
        source: Served::Server,
        profile: None,
        provider: ProviderKind::Generic,
        region: None,
    };
    for f in [
        Format::Raw,
        Format::Env,
        Format::Dotenv,
        Format::Header,
        Format::Github,
        Format::Gitlab,
    ] {
        let e = render_with(f, &view, &NO_ENV).unwrap_err().to_string();
        assert!(
            e.contains("control character") && !e.contains("EVIL"),
            "{e}"
        );
    }
    assert!(render_with(Format::Json, &view, &NO_ENV).is_ok());
}

fn dotenv_of(token: &str) -> anyhow::Result<Rendered> {
    let token = AccessToken::new(token);
    with_view(ProviderKind::Generic, None, |v| {
        let view = TokenView {
            access_token: &token,
            ..v.clone()
        };
        render_with(Format::Dotenv, &view, &NO_ENV)
    })
}

/// What `sh -c 'set -a; . FILE'` makes of `text`: the variable's value, and whether
/// sourcing ran anything (a marker file in `dir`).
fn sourced(text: &str, dir: &std::path::Path) -> (String, bool) {
    let file = dir.join("tok.env");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"set -a; . "$1"; printf %s "$CCTOKEN_ACCESS_TOKEN""#)
        .arg("sh")
        .arg(&file)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        dir.join("x").exists(),
    )
}

#[test]
fn dotenv_is_read_literally_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Every RFC 6750 b64token character, read back unchanged by sh.
    let b64 = "Ab0-._~+/tok3n==";
    let r = dotenv_of(b64).unwrap();
    assert_eq!(sourced(&r.stdout, dir.path()), (b64.to_owned(), false));
    // Code in a token is refused, never written where `.` would run it.
    for evil in [
        "a$(touch x)",
        "a`touch x`",
        "a'b",
        "a\"b",
        "a b",
        "a&touch x",
        "a;touch x",
        "~x",
        "a#b",
        "${HOME}",
    ] {
        let e = dotenv_of(evil).unwrap_err().to_string();
        assert!(
            e.contains("CCTOKEN_ACCESS_TOKEN") && e.contains("--format env"),
            "{evil}: {e}"
        );
        assert!(!e.contains(evil), "{e}");
    }
    // What the old double-quoting wrote would have run the command.
    let (_, ran) = sourced("CCTOKEN_ACCESS_TOKEN=\"a$(touch x)\"\n", dir.path());
    assert!(
        ran,
        "the test's sh runs command substitutions in double quotes"
    );
}
