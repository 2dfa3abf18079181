//! Client assertions at the token endpoint over real sockets (SPEC §14): every algorithm,
//! every rejection with its exact activity reason, both audience modes, federated trust and
//! what discovery advertises. Assertions are signed by hand here (`common::jws`); time is
//! the injected clock.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use cctoken_emulator::{
    AudienceMode, AuthMethod, ClientEntry, EmulatorConfig, FederatedTrust, Flavor, Jwks,
};
use common::jws::{claims, header, Key};
use common::live::Live;
use common::{form, Answer};
use serde_json::json;

const T0: u64 = 1_800_000_000;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CS_SECRET: &str = "client-secret-jwt-s3cret-of-40-bytes!!!!";
const CI_ISSUER: &str = "https://ci.example.test";
const CI_SUBJECT: &str = "repo:acme/app:ref:refs/heads/main";

fn jwks(v: &serde_json::Value) -> Jwks {
    Jwks::from_value(v).unwrap()
}

struct Keys {
    ec: Key,
    p384: Key,
    ed: Key,
    rsa: Option<Key>,
    ci: Key,
}

async fn start() -> (Live, Keys) {
    let keys = Keys {
        ec: Key::p256(),
        p384: Key::p384(),
        ed: Key::ed25519(),
        rsa: Key::rsa(),
        ci: Key::p256(),
    };
    let keyed = |id: &str, k: &Key| ClientEntry::keyed(id).with_jwks(jwks(&k.jwks("k1")));
    let mut legacy = keyed("pk-legacy", &keys.ec);
    legacy.audience_mode = AudienceMode::Legacy;
    let mut config = EmulatorConfig::new(Flavor::Generic)
        .with_client(keyed("pk-ec", &keys.ec))
        .with_client(legacy)
        .with_client(keyed("pk-384", &keys.p384))
        .with_client(keyed("pk-ed", &keys.ed))
        .with_client(
            ClientEntry::new("cs", CS_SECRET).with_auth_methods(&[AuthMethod::ClientSecretJwt]),
        )
        .with_client(ClientEntry::keyed("fed").with_federated(FederatedTrust {
            issuer: CI_ISSUER.into(),
            subject: CI_SUBJECT.into(),
            audience: "cctoken-tests".into(),
            jwks: jwks(&keys.ci.jwks("gh1")),
        }));
    if let Some(rsa) = &keys.rsa {
        config = config.with_client(keyed("pk-rsa", rsa));
    }
    let live = Live::start(config, UNIX_EPOCH + Duration::from_secs(T0)).await;
    (live, keys)
}

impl Live {
    fn issuer(&self) -> String {
        self.emu.base_url()
    }

    async fn assert_with(&self, jwt: &str, client_id: Option<&str>) -> Answer {
        let mut pairs = vec![
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", jwt),
        ];
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        self.post_body(None, "/oauth/token", form(&pairs)).await
    }

    /// The assertion is refused with 401 invalid_client and `reason` starts the log entry.
    async fn refused(&self, jwt: &str, client_id: Option<&str>, reason: &str) {
        let a = self.assert_with(jwt, client_id).await;
        assert_eq!(
            (a.status.as_u16(), a.error().as_str()),
            (401, "invalid_client"),
            "{}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(
            a.json()["error_description"],
            "client authentication failed"
        );
        assert!(
            a.header("www-authenticate").is_none(),
            "no Basic challenge for assertions"
        );
        let e = self.emu.activity().last().cloned().unwrap();
        assert!(
            e.reason.starts_with(reason),
            "reason {:?} does not start with {reason:?}",
            e.reason
        );
        assert_eq!(e.outcome, "invalid_client");
    }

    async fn accepted(&self, jwt: &str, client_id: Option<&str>, method: &str) -> String {
        let a = self.assert_with(jwt, client_id).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let e = self.emu.activity().last().cloned().unwrap();
        assert_eq!(
            (e.outcome.as_str(), e.auth_method),
            ("issued", Some(method))
        );
        e.reason
    }
}

#[tokio::test]
async fn every_algorithm_is_accepted() {
    let (live, keys) = start().await;
    let iss = live.issuer();
    let mut cases: Vec<(&str, &Key, &str)> = vec![
        ("pk-ec", &keys.ec, "ES256"),
        ("pk-384", &keys.p384, "ES384"),
        ("pk-ed", &keys.ed, "EdDSA"),
        ("pk-ed", &keys.ed, "Ed25519"),
    ];
    if let Some(rsa) = &keys.rsa {
        cases.push(("pk-rsa", rsa, "RS256"));
        cases.push(("pk-rsa", rsa, "PS256"));
    }
    for (client, key, alg) in cases {
        let jwt = key.sign(&header(alg, "k1"), &claims(client, &iss, T0));
        let reason = live.accepted(&jwt, None, "private_key_jwt").await;
        let canonical = if alg == "Ed25519" { "EdDSA" } else { alg };
        assert!(
            reason.starts_with(&format!("issued opaque token, expires_in 3600; private_key_jwt assertion, {canonical} key 'k1'")),
            "{alg}: {reason}"
        );
    }
    // client_secret_jwt: HS256 with the secret, no kid, no typ (oauth4webapi's shape),
    // client_id in the body too.
    let hs = Key::Hmac(CS_SECRET.as_bytes().to_vec());
    let jwt = hs.sign(&json!({"alg": "HS256"}), &claims("cs", &iss, T0));
    let reason = live.accepted(&jwt, Some("cs"), "client_secret_jwt").await;
    assert!(
        reason.contains("client_secret_jwt assertion, HS256 with the client secret"),
        "{reason}"
    );
    // Keys are chosen without kid too: every key that fits the alg.
    let jwt = keys
        .ec
        .sign(&json!({"alg": "ES256"}), &claims("pk-ec", &iss, T0));
    live.accepted(&jwt, Some("pk-ec"), "private_key_jwt").await;
}

#[tokio::test]
async fn audience_strict_and_legacy() {
    let (live, keys) = start().await;
    let iss = live.issuer();
    let token_url = format!("{iss}/oauth/token");
    for client in ["pk-ec", "pk-legacy"] {
        let jwt = keys
            .ec
            .sign(&header("ES256", "k1"), &claims(client, &iss, T0));
        live.accepted(&jwt, None, "private_key_jwt").await;
    }
    let at_token = |client| {
        keys.ec
            .sign(&header("ES256", "k1"), &claims(client, &token_url, T0))
    };
    live.refused(
        &at_token("pk-ec"),
        None,
        &format!("assertion aud '{token_url}' is not the issuer '{iss}' (RFC 10070 forbids the token endpoint URL"),
    )
    .await;
    live.accepted(&at_token("pk-legacy"), None, "private_key_jwt")
        .await;
    let mut c = claims("pk-legacy", "https://elsewhere.test", T0);
    live.refused(
        &keys.ec.sign(&header("ES256", "k1"), &c),
        None,
        &format!("assertion aud 'https://elsewhere.test' is not the issuer '{iss}' nor the token endpoint '{token_url}'"),
    )
    .await;
    // Strict: an array is fine only with the issuer as its sole member; legacy takes any member.
    c["aud"] = json!([iss, "https://other.test"]);
    live.accepted(
        &keys.ec.sign(&header("ES256", "k1"), &c),
        None,
        "private_key_jwt",
    )
    .await;
    let mut c = claims("pk-ec", "", T0);
    c["aud"] = json!([iss, "https://other.test"]);
    live.refused(
        &keys.ec.sign(&header("ES256", "k1"), &c),
        None,
        &format!("assertion aud ['{iss}', 'https://other.test'] has more than the issuer '{iss}'"),
    )
    .await;
    c["aud"] = json!([iss]);
    live.accepted(
        &keys.ec.sign(&header("ES256", "k1"), &c),
        None,
        "private_key_jwt",
    )
    .await;
}

#[tokio::test]
async fn time_claims_against_the_server_clock() {
    let (live, keys) = start().await;
    let iss = live.issuer();
    let sign = |c: &serde_json::Value| keys.ec.sign(&header("ES256", "k1"), c);
    let mut c = claims("pk-ec", &iss, T0 - 135);
    live.refused(
        &sign(&c),
        None,
        "assertion expired 75 s ago (server clock 2027-01-15T08:00:00Z, clock tolerance 30 s)",
    )
    .await;
    // Within the tolerance: accepted.
    c = claims("pk-ec", &iss, T0 - 80);
    live.accepted(&sign(&c), None, "private_key_jwt").await;
    // The clock moves: an assertion signed now expires for the server 100 s later.
    let late = sign(&claims("pk-ec", &iss, T0));
    live.clock.advance(Duration::from_secs(100));
    live.refused(&late, None, "assertion expired 40 s ago")
        .await;
    let now = T0 + 100;
    c = claims("pk-ec", &iss, now);
    c["exp"] = json!(now + 600);
    live.refused(&sign(&c), None, "assertion lifetime 600 s exceeds 300 s")
        .await;
    c = claims("pk-ec", &iss, now + 120);
    live.refused(
        &sign(&c),
        None,
        "assertion not valid before 120 s from now (nbf;",
    )
    .await;
    c = claims("pk-ec", &iss, now);
    c.as_object_mut().unwrap().remove("exp");
    live.refused(&sign(&c), None, "assertion has no exp").await;
}

#[tokio::test]
async fn keys_algorithms_and_signatures() {
    let (live, keys) = start().await;
    let iss = live.issuer();
    let c = claims("pk-ec", &iss, T0);
    live.refused(
        &keys.ec.sign(&header("ES256", "k2"), &c),
        None,
        "kid 'k2' not in the client's JWKS (known: k1)",
    )
    .await;
    let hs = Key::Hmac(b"guessed".to_vec());
    live.refused(
        &hs.sign(&header("HS256", "k1"), &c),
        None,
        "alg HS256 not allowed for private_key_jwt",
    )
    .await;
    live.refused(
        &keys.ec.sign(&json!({"alg": "none"}), &c),
        None,
        "alg none is never accepted",
    )
    .await;
    live.refused(
        &keys.ec.sign(&header("ES512", "k1"), &c),
        None,
        "alg ES512 not supported (supported: RS256, PS256, ES256, ES384, EdDSA, HS256)",
    )
    .await;
    live.refused(
        &keys.ec.sign(&header("ES384", "k1"), &c),
        None,
        "alg ES384 but key 'k1' is EC P-256",
    )
    .await;
    // A key of the right type that did not make the signature.
    live.refused(
        &Key::p256().sign(&header("ES256", "k1"), &c),
        None,
        "ES256 signature does not verify with key 'k1'",
    )
    .await;
    // client_secret_jwt: a signature alg, or the wrong secret.
    let cs = claims("cs", &iss, T0);
    live.refused(
        &keys.ec.sign(&header("ES256", "k1"), &cs),
        None,
        "alg ES256 not allowed for client_secret_jwt (it takes HS256)",
    )
    .await;
    live.refused(
        &hs.sign(&json!({"alg": "HS256"}), &cs),
        None,
        "HS256 signature does not verify with the client secret (len=40 sha256:",
    )
    .await;
    // typ: another kind of token is refused, JWT is fine.
    let mut h = header("ES256", "k1");
    h["typ"] = "at+jwt".into();
    live.refused(
        &keys.ec.sign(&h, &c),
        None,
        "assertion typ 'at+jwt' is not client-authentication+jwt",
    )
    .await;
    h["typ"] = "JWT".into();
    live.accepted(&keys.ec.sign(&h, &c), None, "private_key_jwt")
        .await;
}

#[tokio::test]
async fn claims_name_the_client_and_jti_is_single_use() {
    let (live, keys) = start().await;
    let iss = live.issuer();
    let sign = |c: &serde_json::Value| keys.ec.sign(&header("ES256", "k1"), c);
    let mut c = claims("pk-ec", &iss, T0);
    c["iss"] = "someone-else".into();
    live.refused(
        &sign(&c),
        None,
        "assertion iss 'someone-else' is not the client id 'pk-ec'",
    )
    .await;
    let c = claims("pk-ec", &iss, T0);
    live.refused(
        &sign(&c),
        Some("pk-384"),
        "client_id in body (pk-384) differs from the assertion's sub ('pk-ec')",
    )
    .await;
    let mut u = claims("nobody", &iss, T0);
    live.refused(&sign(&u), None, "unknown client").await;
    assert_eq!(
        live.emu.activity().last().unwrap().client_id.as_deref(),
        Some("nobody")
    );
    u = claims("pk-ec", &iss, T0);
    u.as_object_mut().unwrap().remove("jti");
    live.refused(&sign(&u), None, "assertion has no jti").await;
    // The same assertion twice: the second is a replay; a fresh jti is fine.
    let once = sign(&c);
    live.accepted(&once, None, "private_key_jwt").await;
    live.refused(&once, None, "jti replayed").await;
    live.accepted(&sign(&claims("pk-ec", &iss, T0)), None, "private_key_jwt")
        .await;
    // A refused assertion does not burn its jti.
    let mut bad = claims("pk-ec", &iss, T0);
    bad["aud"] = "x".into();
    live.refused(&sign(&bad), None, "assertion aud 'x'").await;
    bad["aud"] = iss.clone().into();
    live.accepted(&sign(&bad), None, "private_key_jwt").await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let (live, keys) = start().await;
    let jwt = keys
        .ec
        .sign(&header("ES256", "k1"), &claims("pk-ec", &live.issuer(), T0));
    for (pairs, reason) in [
        (
            vec![
                ("client_assertion", jwt.as_str()),
                ("client_secret", "x"),
                ("client_assertion_type", JWT_BEARER),
            ],
            "client_assertion together with client_secret",
        ),
        (
            vec![("client_assertion", jwt.as_str())],
            "client_assertion without client_assertion_type",
        ),
        (
            vec![("client_assertion_type", JWT_BEARER)],
            "client_assertion_type without client_assertion",
        ),
    ] {
        let mut p = vec![("grant_type", "client_credentials")];
        p.extend(pairs);
        let a = live.post_body(None, "/oauth/token", form(&p)).await;
        assert_eq!(
            (a.status.as_u16(), a.error().as_str()),
            (400, "invalid_request")
        );
        let e = live.emu.activity().last().cloned().unwrap();
        assert!(e.reason.starts_with(reason), "{}", e.reason);
    }
    live.refused(
        "not.a.jws.at.all",
        None,
        "client_assertion is not a compact JWS: it is a JWE",
    )
    .await;
    let a = live
        .post_body(
            None,
            "/oauth/token",
            form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:x"),
                ("client_assertion", &jwt),
            ]),
        )
        .await;
    assert_eq!(a.status, 401);
    assert!(live
        .emu
        .activity()
        .last()
        .unwrap()
        .reason
        .starts_with("client_assertion_type 'urn:x' is not supported"));
}

#[tokio::test]
async fn federated_tokens_are_checked_against_their_trust_entry() {
    let (live, keys) = start().await;
    let ci = |sub: &str, aud: &str| {
        let mut c = claims("x", aud, T0);
        c["iss"] = CI_ISSUER.into();
        c["sub"] = sub.into();
        c["exp"] = json!(T0 + 6 * 3600); // CI tokens live longer than any assertion cap
        c
    };
    let h = json!({"alg": "ES256", "kid": "gh1", "typ": "JWT"});
    let good = keys.ci.sign(&h, &ci(CI_SUBJECT, "cctoken-tests"));
    let reason = live.accepted(&good, Some("fed"), "private_key_jwt").await;
    assert!(
        reason.contains(&format!(
            "federated assertion of issuer '{CI_ISSUER}', subject '{CI_SUBJECT}', ES256 key 'gh1'"
        )),
        "{reason}"
    );
    // Reused until it expires: no replay check for external tokens.
    live.accepted(&good, Some("fed"), "private_key_jwt").await;
    live.refused(&keys.ci.sign(&h, &ci("repo:acme/app:pull_request", "cctoken-tests")), Some("fed"),
        &format!("federated assertion sub 'repo:acme/app:pull_request' is not a trusted subject of issuer '{CI_ISSUER}' (trusted: '{CI_SUBJECT}')")).await;
    live.refused(&keys.ci.sign(&h, &ci(CI_SUBJECT, "api://AzureADTokenExchange")), Some("fed"),
        "federated assertion aud 'api://AzureADTokenExchange' is not the trusted audience 'cctoken-tests'").await;
    live.refused(
        &keys.ec.sign(&h, &ci(CI_SUBJECT, "cctoken-tests")),
        Some("fed"),
        "ES256 signature does not verify with key 'gh1'",
    )
    .await;
    live.refused(
        &keys.ci.sign(
            &json!({"alg": "ES256", "kid": "k9"}),
            &ci(CI_SUBJECT, "cctoken-tests"),
        ),
        Some("fed"),
        "kid 'k9' not in the federated issuer's JWKS (known: gh1)",
    )
    .await;
    // Without client_id the external subject is no client; with an unknown issuer the client
    // is asked for its own assertion.
    live.refused(&good, None, "unknown client (the assertion's sub; a federated assertion names its client in the body's client_id)").await;
    let mut other = ci(CI_SUBJECT, "cctoken-tests");
    other["iss"] = "https://other-ci.test".into();
    live.refused(
        &keys.ci.sign(&h, &other),
        Some("fed"),
        "client_id in body (fed) differs from the assertion's sub",
    )
    .await;
    live.clock.advance(Duration::from_secs(7 * 3600));
    live.refused(&good, Some("fed"), "assertion expired 3600 s ago")
        .await;
}

#[tokio::test]
async fn discovery_advertises_methods_and_algorithms() {
    let (live, _keys) = start().await;
    let m = live
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!(["client_secret_jwt", "private_key_jwt"]),
        "the union of what the registered clients accept"
    );
    assert_eq!(
        m["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"])
    );
    assert_eq!(
        m["introspection_endpoint_auth_methods_supported"],
        m["token_endpoint_auth_methods_supported"]
    );
    assert!(
        m.get("mtls_endpoint_aliases").is_none(),
        "plain HTTP has no mTLS alias"
    );
}

#[tokio::test]
async fn introspection_takes_assertions_too() {
    let (live, keys) = start().await;
    let iss = live.issuer();
    let jwt = keys
        .ed
        .sign(&header("EdDSA", "k1"), &claims("pk-ed", &iss, T0));
    let a = live.assert_with(&jwt, None).await;
    let token = a.json()["access_token"].as_str().unwrap().to_owned();
    let jwt = keys
        .ed
        .sign(&header("EdDSA", "k1"), &claims("pk-ed", &iss, T0));
    let a = live
        .post_body(
            None,
            "/oauth/introspect",
            form(&[
                ("token", &token),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &jwt),
            ]),
        )
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["active"], true);
    assert_eq!(a.json()["client_id"], "pk-ed");
    assert!(a.json().get("cnf").is_none(), "not certificate-bound");
    let e = live.emu.activity().last().cloned().unwrap();
    assert_eq!(
        (e.endpoint, e.auth_method),
        ("introspect", Some("private_key_jwt"))
    );
}
