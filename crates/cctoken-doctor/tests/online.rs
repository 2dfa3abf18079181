//! `doctor` on a profile against the in-process emulator: the server's verdict mapped to
//! codes (`grant.not-enabled`, `auth.invalid-client` with fingerprints), `--probe-auth`,
//! a secret ending in a tab (`secret.whitespace`), clock skew from `Date` with an injected
//! clock, and DNS failure.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cctoken::auth::AuthMethod;
use cctoken::clock::{ManualClock, SharedClock};
use cctoken::config::{ProfileSettings, SecretSetting};
use cctoken::provider::{Endpoint, ProviderKind};
use cctoken::secret::Fingerprint;
use cctoken_doctor::{online, profile, Code, Plain, Report, Severity, Term};
use cctoken_emulator::{EmulatorConfig, Flavor, RunningEmulator};

const SECRET: &str = "demo+s3cret/=%&";

async fn emulator() -> RunningEmulator {
    cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Generic).with_demo())
        .await
        .expect("emulator")
}

fn settings(emu: &RunningEmulator, id: &str, auth: Option<&str>) -> ProfileSettings {
    ProfileSettings {
        provider: Some(ProviderKind::Generic),
        endpoint: Some(Endpoint::TokenUrl(
            format!("{}/oauth/token", emu.base_url().trim_end_matches('/'))
                .parse()
                .unwrap(),
        )),
        client_id: Some(id.into()),
        client_secret: Some(SecretSetting::Env("S".into())),
        auth: auth.map(|a| a.parse().unwrap()),
        ..ProfileSettings::default()
    }
}

async fn doctor(s: &ProfileSettings, secret: &str, probe: bool, clock: SharedClock) -> Report {
    let env = [("S", secret)];
    let off = profile::diagnose_offline(s, &env, None, false);
    let mut report = off.report;
    let config = off.config.expect("profile resolves");
    let opts = online::OnlineOptions {
        probe_auth: probe,
        clock,
        env: &env,
        timeout: Duration::from_secs(5),
        trace: None,
    };
    online::diagnose(&config, &opts, &mut report).await;
    report
}

fn now() -> SharedClock {
    cctoken::clock::system()
}

#[tokio::test]
async fn a_working_client_gets_token_ok_and_no_errors() {
    let emu = emulator().await;
    let r = doctor(&settings(&emu, "demo-client", None), SECRET, false, now()).await;
    assert!(!r.has_errors(), "{}", r.render_human(&Plain));
    assert!(r.has(Code::TokenOk));
    assert!(!r.has_errors());
    emu.shutdown().await;
}

#[tokio::test]
async fn unauthorized_client_is_grant_not_enabled() {
    let emu = emulator().await;
    let r = doctor(&settings(&emu, "demo-nogrant", None), SECRET, false, now()).await;
    assert!(r.has(Code::GrantNotEnabled), "{}", r.render_human(&Plain));
    let f = r.finding(Code::GrantNotEnabled).unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.to_string().contains("demo-nogrant"));
    assert!(r.has_errors());
    emu.shutdown().await;
}

#[tokio::test]
async fn invalid_client_is_explained_with_the_presented_fingerprint() {
    let emu = emulator().await;
    let wrong = "not-the-demo-secret";
    let r = doctor(&settings(&emu, "demo-client", None), wrong, true, now()).await;
    let text = r.render_human(&Plain);
    let f = r
        .finding(Code::AuthInvalidClient)
        .unwrap_or_else(|| panic!("no invalid_client finding:\n{text}"))
        .clone();
    assert!(
        f.message
            .to_string()
            .contains(&Fingerprint::of(wrong.as_bytes()).to_string()),
        "{}",
        f.message
    );
    assert!(f.message.to_string().contains("demo-client"));
    assert!(!f.fix.to_string().is_empty());
    // --probe-auth: no other method helps, so the secret itself is wrong.
    let probe = r.finding(Code::AuthProbe).unwrap().clone();
    assert_eq!(probe.severity, Severity::Info, "{text}");
    assert!(!text.contains(wrong));
    emu.shutdown().await;
}

#[tokio::test]
async fn probe_auth_finds_the_method_the_server_accepts() {
    let emu = emulator().await;
    // The generic flavor follows RFC 6749 §2.3.1 strictly: raw Basic fails for this secret.
    let r = doctor(
        &settings(&emu, "demo-client", Some("basic-raw")),
        SECRET,
        true,
        now(),
    )
    .await;
    let text = r.render_human(&Plain);
    assert!(r.has(Code::AuthInvalidClient), "{text}");
    let probe = r.finding(Code::AuthProbe).unwrap().clone();
    assert_eq!(probe.severity, Severity::Warning, "{text}");
    assert!(
        probe
            .message
            .to_string()
            .contains("accepts auth = \"basic\""),
        "{}",
        probe.message
    );
    assert!(
        probe
            .terms()
            .any(|t| *t == Term::UseAuth(AuthMethod::Basic)),
        "{probe:?}"
    );
    let enc = r
        .finding(Code::SecretEncodingSensitive)
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    // The fingerprint is the secret's own, not that of its urlencoded form.
    assert!(
        enc.message
            .to_string()
            .contains(&Fingerprint::of(SECRET.as_bytes()).to_string()),
        "{}",
        enc.message
    );
    assert!(
        enc.message
            .to_string()
            .contains("this request uses basic-raw"),
        "flags, not a profile: {}",
        enc.message
    );
    assert!(!text.contains(SECRET));
    // A named profile is "this profile".
    let named = ProfileSettings {
        name: Some("ci".into()),
        ..settings(&emu, "demo-client", Some("basic-raw"))
    };
    let off = profile::diagnose_offline(&named, &[("S", SECRET)], None, false);
    let enc = off.report.finding(Code::SecretEncodingSensitive).unwrap();
    assert!(
        enc.message
            .to_string()
            .contains("this profile uses basic-raw"),
        "{}",
        enc.message
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_secret_ending_in_a_tab_is_secret_whitespace() {
    let emu = emulator().await;
    let r = doctor(
        &settings(&emu, "demo-client", None),
        &format!("{SECRET}\t"),
        false,
        now(),
    )
    .await;
    let text = r.render_human(&Plain);
    let f = r
        .findings()
        .into_iter()
        .find(|f| f.code == Code::SecretWhitespace && f.severity == Severity::Error)
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    assert!(
        f.message.to_string().contains("trailing tab"),
        "{}",
        f.message
    );
    assert!(f.message.to_string().contains("env S"), "{}", f.message);
    // The server accepts the secret once the tab is gone: the tab is the whole problem.
    assert!(r.has(Code::TokenOk), "{text}");
    assert!(r.has_errors());
    assert!(!text.contains(SECRET));
    emu.shutdown().await;
}

#[tokio::test]
async fn server_clock_difference_is_clock_skew() {
    let emu = emulator().await;
    let clock = ManualClock::new(SystemTime::now() + Duration::from_secs(300));
    let r = doctor(
        &settings(&emu, "demo-client", None),
        SECRET,
        false,
        Arc::new(clock),
    )
    .await;
    let f = r
        .finding(Code::ClockSkew)
        .unwrap_or_else(|| panic!("{}", r.render_human(&Plain)))
        .clone();
    assert!(f.message.to_string().contains("ahead of"), "{}", f.message);
    // Within the 60 s tolerance nothing is said.
    let clock = ManualClock::new(SystemTime::now() + Duration::from_secs(20));
    let r = doctor(
        &settings(&emu, "demo-client", None),
        SECRET,
        false,
        Arc::new(clock),
    )
    .await;
    assert!(!r.has(Code::ClockSkew));
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unresolvable_host_is_net_dns() {
    let s = ProfileSettings {
        provider: Some(ProviderKind::Generic),
        endpoint: Some(Endpoint::TokenUrl(
            "https://login.doctor-test.invalid/oauth/token"
                .parse()
                .unwrap(),
        )),
        client_id: Some("x".into()),
        client_secret: Some(SecretSetting::Env("S".into())),
        ..ProfileSettings::default()
    };
    let r = doctor(&s, "abc", false, now()).await;
    assert!(
        r.has(Code::NetDns) || r.has(Code::NetConnect),
        "{}",
        r.render_human(&Plain)
    );
    assert!(r.has_errors());
}

#[tokio::test]
async fn discovery_is_reported_and_followed() {
    let emu = emulator().await;
    let s = ProfileSettings {
        provider: Some(ProviderKind::Generic),
        endpoint: Some(Endpoint::Issuer(emu.base_url().parse().unwrap())),
        client_id: Some("demo-client".into()),
        client_secret: Some(SecretSetting::Env("S".into())),
        ..ProfileSettings::default()
    };
    let r = doctor(&s, SECRET, false, now()).await;
    let text = r.render_human(&Plain);
    let d = r
        .finding(Code::Discovery)
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    assert!(
        d.message.to_string().contains("token endpoint"),
        "{}",
        d.message
    );
    assert!(r.has(Code::TokenOk), "{text}");
    assert!(!r.has_errors(), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn cxone_access_key_flow_passes_and_a_spaced_key_secret_is_caught() {
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Cxone).with_demo())
        .await
        .expect("emulator");
    let s = ProfileSettings {
        provider: Some(ProviderKind::Cxone),
        endpoint: Some(Endpoint::Issuer(emu.base_url().parse().unwrap())),
        client_id: Some("demo-app".into()),
        client_secret: Some(SecretSetting::Env("S".into())),
        access_key_id: Some("DEMOACCESSKEY".into()),
        access_key_secret: Some(SecretSetting::Env("K".into())),
        ..ProfileSettings::default()
    };
    let run = |key: &'static str| {
        let s = s.clone();
        async move {
            let env = [("S", "demo-app-secret"), ("K", key)];
            let off = profile::diagnose_offline(&s, &env, None, false);
            let mut report = off.report;
            let opts = online::OnlineOptions {
                probe_auth: false,
                clock: now(),
                env: &env,
                timeout: Duration::from_secs(5),
                trace: None,
            };
            online::diagnose(&off.config.unwrap(), &opts, &mut report).await;
            report
        }
    };
    let r = run("demo/access+key====").await;
    let text = r.render_human(&Plain);
    assert!(!r.has_errors(), "{text}");
    assert!(r.has(Code::TokenOk));
    // Online, discovery ran: no "needs the network" left over from the offline pass, and
    // both of CXone's lookups are reported — the issuer's discovery and the tenant's API base.
    assert!(
        !r.findings()
            .iter()
            .any(|f| f.terms().any(|t| *t == Term::RunOnline)),
        "{text}"
    );
    assert!(!text.contains("needs the network"), "{text}");
    let discovery: Vec<String> = r
        .findings()
        .iter()
        .filter(|f| f.code == Code::Discovery)
        .map(|f| f.message.to_string())
        .collect();
    assert!(
        discovery.iter().any(|m| m.contains("names token endpoint")),
        "{text}"
    );
    let base = emu.base_url();
    assert!(
        discovery
            .iter()
            .any(|m| m.starts_with("the tenant configuration at ")
                && m.contains("names API base")
                && m.contains(base.trim_end_matches('/'))
                && m.contains("for tenant 11111111-2222-3333-4444-555555555555")),
        "{text}"
    );
    let r = run(" demo/access+key====").await;
    let text = r.render_human(&Plain);
    let f = r
        .findings()
        .into_iter()
        .find(|f| f.code == Code::SecretWhitespace && f.severity == Severity::Error)
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    assert!(
        f.message.to_string().contains("access key secret")
            && f.message.to_string().contains("leading space")
    );
    assert!(!text.contains("demo/access+key===="));
    emu.shutdown().await;
}

fn genesys(emu: &RunningEmulator, id: &str) -> ProfileSettings {
    ProfileSettings {
        provider: Some(ProviderKind::Genesys),
        ..settings(emu, id, None)
    }
}

#[tokio::test]
async fn a_token_the_server_issued_outranks_the_client_id_format() {
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Genesys).with_demo())
        .await
        .expect("emulator");
    let s = genesys(&emu, "demo-client");
    // Offline, a non-UUID Genesys client id is an error: nothing says otherwise yet.
    let off = profile::diagnose_offline(&s, &[("S", SECRET)], None, false).report;
    let f = off
        .finding(Code::ClientIdFormat)
        .expect("client-id.format")
        .clone();
    assert_eq!(f.severity, Severity::Error);
    // Online, the server issues a token for it: a warning, and the profile works.
    let r = doctor(&s, SECRET, false, now()).await;
    let text = r.render_human(&Plain);
    assert!(r.has(Code::TokenOk), "{text}");
    let f = r
        .finding(Code::ClientIdFormat)
        .expect("client-id.format")
        .clone();
    assert_eq!(f.severity, Severity::Warning, "{text}");
    assert!(
        f.message
            .to_string()
            .ends_with("but the server issued a token for this client id, so it is valid there"),
        "{}",
        f.message
    );
    assert!(!r.has_errors(), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn the_invalid_client_hint_does_not_send_doctor_to_doctor() {
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Genesys).with_demo())
        .await
        .expect("emulator");
    let r = doctor(&genesys(&emu, "demo-client"), "wrong-secret", false, now()).await;
    let f = r
        .finding(Code::AuthInvalidClient)
        .unwrap_or_else(|| panic!("{}", r.render_human(&Plain)))
        .clone();
    let fix = f.fix.to_string();
    assert!(fix.starts_with("Genesys answers invalid_client"), "{fix}");
    assert!(fix.ends_with("Client Credentials."), "{fix}");
    assert!(!fix.contains("doctor"), "{fix}");
    // Still an error: a wrong secret is not relaxed by anything.
    assert_eq!(f.severity, Severity::Error);
    emu.shutdown().await;
}

#[tokio::test]
async fn an_auth_method_the_server_does_not_list_is_auth_method_unsupported() {
    let mut client = cctoken_emulator::ClientEntry::new("basic-only", SECRET);
    client.auth_methods = vec![cctoken_emulator::AuthMethod::ClientSecretBasic];
    let emu = cctoken_emulator::spawn(EmulatorConfig::new(Flavor::Generic).with_client(client))
        .await
        .expect("emulator");
    let issuer = ProfileSettings {
        endpoint: Some(Endpoint::Issuer(emu.base_url().parse().unwrap())),
        ..settings(&emu, "basic-only", Some("post"))
    };
    let r = doctor(&issuer, SECRET, false, now()).await;
    let text = r.render_human(&Plain);
    let f = r
        .finding(Code::AuthMethodUnsupported)
        .unwrap_or_else(|| panic!("{text}"))
        .clone();
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.message
            .to_string()
            .ends_with("(client_secret_post), which the server does not list in token_endpoint_auth_methods_supported (client_secret_basic)"),
        "{}",
        f.message
    );
    // Chosen from the server's list, the same client has no such finding.
    let chosen = ProfileSettings {
        auth: None,
        ..issuer
    };
    let r = doctor(&chosen, SECRET, false, now()).await;
    assert!(
        !r.has(Code::AuthMethodUnsupported),
        "{}",
        r.render_human(&Plain)
    );
    assert!(r.has(Code::TokenOk), "{}", r.render_human(&Plain));
    emu.shutdown().await;
}
