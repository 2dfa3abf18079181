//! Property tests of the assertion and key readers (SPEC §11: fuzzed parsers never crash):
//! arbitrary text, JWT-shaped noise and JSON-shaped claims never panic, always give a
//! well-formed report, and never echo the signature. Case counts are bounded.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use cctoken_doctor::assertion::{self, key, Context};
use cctoken_doctor::{diagnose_curl_at, Plain, Report};
use proptest::prelude::*;

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn well_formed(r: &Report) {
    let j = r.to_json(&Plain);
    for f in j["findings"].as_array().unwrap() {
        for k in ["code", "severity", "message", "fix"] {
            assert!(f[k].as_str().is_some_and(|s| !s.is_empty()), "{f}");
        }
    }
}

/// JSON values of every shape, for claims and header members.
fn value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        ".{0,20}".prop_map(serde_json::Value::from),
        prop::collection::vec(".{0,10}", 0..3).prop_map(|v| serde_json::json!(v)),
    ]
}

const NAMES: &[&str] = &[
    "alg", "kid", "typ", "iss", "sub", "aud", "exp", "iat", "nbf", "jti",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,300}", k in ".{0,300}") {
        let mut r = Report::default();
        let ctx = Context::at(UNIX_EPOCH + Duration::from_secs(1_796_126_400));
        assertion::diagnose(&s, Some(&k), &ctx, &mut r);
        well_formed(&r);
        let _ = key::read(&format!("-----BEGIN PRIVATE KEY-----\n{k}\n-----END PRIVATE KEY-----"));
        let _ = key::read(&format!("{{\"keys\":[{k}]}}"));
    }

    #[test]
    fn claims_of_any_shape_never_panic_and_the_signature_is_never_shown(
        header in prop::collection::btree_map(prop::sample::select(NAMES), value(), 0..6),
        claims in prop::collection::btree_map(prop::sample::select(NAMES), value(), 0..10),
        sig in prop::collection::vec(any::<u8>(), 16..80),
        now in 0u64..4_102_444_800,
    ) {
        let jwt = format!(
            "{}.{}.{}",
            b64(serde_json::to_string(&header).unwrap().as_bytes()),
            b64(serde_json::to_string(&claims).unwrap().as_bytes()),
            b64(&sig)
        );
        let cmd = format!(
            "curl -X POST https://idp.example.com/token -d grant_type=client_credentials -d client_id=c \
             -d client_assertion_type={} -d client_assertion={jwt}",
            assertion::JWT_BEARER
        );
        let r = diagnose_curl_at(&cmd, UNIX_EPOCH + Duration::from_secs(now));
        well_formed(&r);
        let text = r.render_human(&Plain);
        prop_assert!(!text.contains(&b64(&sig)));
        prop_assert!(!text.contains(&jwt));
    }
}
