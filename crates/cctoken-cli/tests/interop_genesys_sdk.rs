//! The official Genesys Cloud Python SDK (PyPI `purecloudplatformclientv2`) against
//! `cctoken emulator --flavor genesys --demo` (SPEC §2, §10, §11).
//!
//! The client is `tests-peers/genesys_sdk_client.py`:
//! `ApiClient(host=URL).get_client_credentials_token(id, secret)` then
//! `TokensApi(client).get_tokens_me()`. With a host like `http://127.0.0.1:PORT` the SDK's
//! `api.` → `login.` rewrite does not apply, so one emulator serves both the token endpoint
//! and the API. The SDK sends Basic credentials *without* RFC 6749's form-urlencoding step, and
//! the demo secret `demo+s3cret/=%&` is one where that matters: the genesys flavor must accept
//! the raw form, as Genesys Cloud does.

#[path = "common/peers.rs"]
mod peers;

use peers::{describe, python_script, run, start_emulator, stdout_json, GENESYS_SDK};

const DEMO_CLIENT: &str = "demo-client";
const DEMO_SECRET: &str = "demo+s3cret/=%&";

fn sdk_client(
    host: &str,
    client_id: &str,
    secret: &str,
    home: &std::path::Path,
) -> Option<std::process::Output> {
    let mut cmd = python_script("genesys_sdk_client.py", home)?;
    cmd.args(["--host", host, "--client-id", client_id])
        .env("GENESYS_CLIENT_SECRET", secret);
    Some(run(cmd))
}

#[test]
fn sdk_gets_token_and_token_info() {
    if peers::require_peer(GENESYS_SDK).is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let emu = start_emulator(&["--flavor", "genesys", "--demo"], home.path());
    let Some(output) = sdk_client(emu.url(), DEMO_CLIENT, DEMO_SECRET, home.path()) else {
        return;
    };
    assert!(
        output.status.success(),
        "Genesys SDK failed\n{}",
        describe(&output)
    );
    let json = stdout_json(&output);
    assert_eq!(
        json["token_url"],
        format!("{}/oauth/token", emu.url()),
        "{json}"
    );
    assert!(
        json["access_token_length"]
            .as_u64()
            .is_some_and(|n| n >= 16),
        "{json}"
    );

    let info = &json["token_info"];
    let org_name = info["organization"]["name"].as_str().unwrap_or_default();
    assert!(!org_name.is_empty(), "TokenInfo.organization.name: {info}");
    assert!(
        info["organization"]["id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{info}"
    );
    assert_eq!(
        info["OAuthClient"]["id"], DEMO_CLIENT,
        "TokenInfo.OAuthClient.id: {info}"
    );
    assert!(
        info["homeOrganization"].is_object(),
        "TokenInfo.homeOrganization: {info}"
    );

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains(DEMO_SECRET),
        "secret leaked\n{}",
        describe(&output)
    );
}

#[test]
fn sdk_wrong_secret_is_invalid_client() {
    if peers::require_peer(GENESYS_SDK).is_none() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let emu = start_emulator(&["--flavor", "genesys", "--demo"], home.path());
    let Some(output) = sdk_client(emu.url(), DEMO_CLIENT, "not-the-secret", home.path()) else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("token request FAILED"),
        "{}",
        describe(&output)
    );
    assert!(stderr.contains(r#""status": 401"#), "{}", describe(&output));
    assert!(
        stderr.contains(r#""error": "invalid_client""#),
        "Genesys error shape\n{}",
        describe(&output)
    );
}
