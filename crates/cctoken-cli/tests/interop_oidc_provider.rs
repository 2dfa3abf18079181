//! `cctoken get` against the npm `oidc-provider` 9, a certified OpenID Provider (SPEC §11).
//!
//! The server is `tests-peers/oidc-provider-server.mjs` (clients and secrets are documented
//! there). These tests check that cctoken's three client authentication methods, its discovery
//! and its choice of method from `token_endpoint_auth_methods_supported` work with an
//! independent, standards-strict server. oidc-provider decodes Basic credentials as RFC 6749
//! §2.3.1 says, so the special-character secrets fail unless cctoken form-urlencodes them.

#[path = "common/peers.rs"]
mod peers;

use peers::{cctoken_cmd, describe, node_script, run, stdout_json, PeerProcess};

const SECRET_VAR: &str = "CCTOKEN_TEST_OIDC_SECRET";
const BASIC_SECRET: &str = "basic-s3cret-value";
const BASIC_SPECIAL_SECRET: &str = "b4sic+s3cr/et=%&x";
const POST_SECRET: &str = "p0st+s3cr/et=%&x";
/// oidc-provider's default lifetime of client-credentials access tokens.
const CLIENT_CREDENTIALS_TTL: u64 = 600;

/// Starts the oidc-provider peer; `methods` sets `OIDC_AUTH_METHODS` (the advertised and
/// enforced client authentication methods).
fn oidc_provider(methods: Option<&str>) -> Option<PeerProcess> {
    let mut cmd = node_script("oidc-provider-server.mjs", "oidc-provider")?;
    if let Some(methods) = methods {
        cmd.env("OIDC_AUTH_METHODS", methods);
    }
    Some(PeerProcess::start("oidc-provider", cmd))
}

/// `cctoken get --issuer ISSUER --client-id ID --client-secret-env VAR --format json [extra]`.
fn get(issuer: &str, client_id: &str, secret: &str, extra: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "get",
        "--issuer",
        issuer,
        "--client-id",
        client_id,
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

/// Asserts a successful `get` with a Bearer token of oidc-provider's lifetime; returns the JSON.
fn assert_token(output: &std::process::Output, secret: &str) -> serde_json::Value {
    assert!(
        output.status.success(),
        "cctoken get failed\n{}",
        describe(output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "secret leaked\n{}",
        describe(output)
    );
    let json = stdout_json(output);
    let token = json["access_token"]
        .as_str()
        .expect("access_token is a string");
    assert!(token.len() >= 20, "short access_token: {json}");
    assert!(
        json["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "token_type: {json}"
    );
    let expires_in = json["expires_in"].as_u64().expect("expires_in is a number");
    assert!(
        (CLIENT_CREDENTIALS_TTL - 5..=CLIENT_CREDENTIALS_TTL).contains(&expires_in),
        "expires_in {expires_in}, expected about {CLIENT_CREDENTIALS_TTL}: {json}"
    );
    json
}

#[test]
fn client_secret_basic() {
    let Some(server) = oidc_provider(None) else {
        return;
    };
    let output = get(
        server.url(),
        "basic-client",
        BASIC_SECRET,
        &["--auth", "basic"],
    );
    assert_token(&output, BASIC_SECRET);
    assert!(
        server.stderr_eventually_contains("token-request auth=basic"),
        "{}",
        server.stderr()
    );
}

#[test]
fn client_secret_basic_form_urlencodes_special_characters() {
    let Some(server) = oidc_provider(None) else {
        return;
    };
    let output = get(
        server.url(),
        "basic-special-client",
        BASIC_SPECIAL_SECRET,
        &["--auth", "basic"],
    );
    assert_token(&output, BASIC_SPECIAL_SECRET);
}

#[test]
fn client_secret_post_with_special_characters() {
    let Some(server) = oidc_provider(None) else {
        return;
    };
    let output = get(
        server.url(),
        "post-client",
        POST_SECRET,
        &["--auth", "post"],
    );
    assert_token(&output, POST_SECRET);
    assert!(
        server.stderr_eventually_contains("token-request auth=post"),
        "{}",
        server.stderr()
    );
}

#[test]
fn scope_is_sent_and_granted() {
    let Some(server) = oidc_provider(None) else {
        return;
    };
    let output = get(
        server.url(),
        "basic-client",
        BASIC_SECRET,
        &["--auth", "basic", "--scope", "api:read"],
    );
    let json = assert_token(&output, BASIC_SECRET);
    if let Some(scope) = json.get("scope").and_then(|s| s.as_str()) {
        assert_eq!(scope, "api:read", "{json}");
    }
}

#[test]
fn method_chosen_from_discovery_when_only_post_is_advertised() {
    let Some(server) = oidc_provider(Some("client_secret_post")) else {
        return;
    };
    let output = get(server.url(), "post-client", POST_SECRET, &[]);
    assert_token(&output, POST_SECRET);
    assert!(
        server.stderr_eventually_contains("token-request auth=post"),
        "{}",
        server.stderr()
    );
    assert!(
        !server.stderr().contains("auth=basic"),
        "{}",
        server.stderr()
    );
}

#[test]
fn method_chosen_from_discovery_when_only_basic_is_advertised() {
    let Some(server) = oidc_provider(Some("client_secret_basic")) else {
        return;
    };
    let output = get(
        server.url(),
        "basic-special-client",
        BASIC_SPECIAL_SECRET,
        &[],
    );
    assert_token(&output, BASIC_SPECIAL_SECRET);
    assert!(
        server.stderr_eventually_contains("token-request auth=basic"),
        "{}",
        server.stderr()
    );
}

#[test]
fn default_method_with_both_advertised() {
    let Some(server) = oidc_provider(None) else {
        return;
    };
    let output = get(server.url(), "basic-client", BASIC_SECRET, &[]);
    assert_token(&output, BASIC_SECRET);
}

#[test]
fn wrong_secret_is_rejected_with_exit_3() {
    let Some(server) = oidc_provider(None) else {
        return;
    };
    let wrong = "wr0ng+secret/value";
    let output = get(server.url(), "basic-client", wrong, &["--auth", "basic"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "expected exit 3 (rejected)\n{}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid_client"),
        "error names invalid_client\n{}",
        describe(&output)
    );
    assert!(
        !stderr.contains(wrong),
        "secret leaked\n{}",
        describe(&output)
    );
    assert!(
        output.stdout.trim_ascii().is_empty()
            || !String::from_utf8_lossy(&output.stdout).contains(wrong)
    );
}
