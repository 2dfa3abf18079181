//! `cctoken get` against the npm `oauth2-mock-server` 8 (SPEC §11).
//!
//! The server is `tests-peers/oauth2-mock-server.mjs`. Its discovery advertises only
//! `token_endpoint_auth_methods_supported: ["none"]` and it issues RS256 JWTs; our wrapper makes
//! it check the client id and secret (Basic decoded per RFC 6749 §2.3.1, or body parameters)
//! so that a token proves the secret arrived intact.

#[path = "common/peers.rs"]
mod peers;

use peers::{cctoken_cmd, describe, node_script, run, stdout_json, PeerProcess};

const SECRET_VAR: &str = "CCTOKEN_TEST_MOCK_SECRET";
const CLIENT_ID: &str = "x";
const SECRET: &str = "m0ck+s3cr/et=%&";
/// oauth2-mock-server's default token lifetime.
const TOKEN_TTL: u64 = 3600;

fn mock_server() -> Option<PeerProcess> {
    let mut cmd = node_script("oauth2-mock-server.mjs", "oauth2-mock-server")?;
    cmd.env("MOCK_CLIENT_ID", CLIENT_ID)
        .env("MOCK_CLIENT_SECRET", SECRET);
    Some(PeerProcess::start("oauth2-mock-server", cmd))
}

fn get(issuer: &str, secret: &str, extra: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "get",
        "--issuer",
        issuer,
        "--client-id",
        CLIENT_ID,
        "--client-secret-env",
        SECRET_VAR,
        "--format",
        "json",
        "--no-cache",
    ];
    args.extend_from_slice(extra);
    let mut cmd = cctoken_cmd(&args, home.path());
    cmd.env(SECRET_VAR, secret);
    run(cmd)
}

fn assert_jwt_token(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "cctoken get failed\n{}",
        describe(output)
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(SECRET)
            && !String::from_utf8_lossy(&output.stderr).contains(SECRET),
        "secret leaked\n{}",
        describe(output)
    );
    let json = stdout_json(output);
    let token = json["access_token"]
        .as_str()
        .expect("access_token is a string");
    assert_eq!(token.split('.').count(), 3, "access_token is a JWT: {json}");
    assert!(
        json["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "token_type: {json}"
    );
    let expires_in = json["expires_in"].as_u64().expect("expires_in is a number");
    assert!(
        (TOKEN_TTL - 5..=TOKEN_TTL).contains(&expires_in),
        "expires_in: {json}"
    );
}

/// Discovery lists only `none`; cctoken still has to authenticate with the secret it was given.
#[test]
fn token_with_method_from_discovery() {
    let Some(server) = mock_server() else { return };
    let output = get(server.url(), SECRET, &[]);
    assert_jwt_token(&output);
}

#[test]
fn token_with_basic() {
    let Some(server) = mock_server() else { return };
    let output = get(server.url(), SECRET, &["--auth", "basic"]);
    assert_jwt_token(&output);
    assert!(
        server.stderr_eventually_contains("token-request auth=basic"),
        "{}",
        server.stderr()
    );
}

#[test]
fn token_with_post() {
    let Some(server) = mock_server() else { return };
    let output = get(server.url(), SECRET, &["--auth", "post"]);
    assert_jwt_token(&output);
    assert!(
        server.stderr_eventually_contains("token-request auth=post"),
        "{}",
        server.stderr()
    );
}

#[test]
fn wrong_secret_is_rejected_with_exit_3() {
    let Some(server) = mock_server() else { return };
    let output = get(server.url(), "not-the-secret", &["--auth", "basic"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "expected exit 3 (rejected)\n{}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("invalid_client"),
        "error names invalid_client\n{}",
        describe(&output)
    );
}
