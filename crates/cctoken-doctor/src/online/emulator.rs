//! The cctoken emulator as a token server: it names itself in `Server`
//! (`cctoken-emulator/VERSION`) and keeps the exact reason of every refusal in
//! `/_emulator/activity` (SPEC §10, §14), where a real server says only `invalid_client`.
//! After a refusal from an emulator, doctor reads that reason for the client, so that a
//! test setup gets the same codes as an offline check of the assertion would give. Only an
//! origin that named itself so is asked; the request is an unauthenticated GET.

use std::time::Duration;

use url::Url;

use cctoken::scrub::Scrubber;

/// How the emulator's `Server` header begins.
const SERVER_PREFIX: &str = "cctoken-emulator/";

/// Whether the answer came from the cctoken emulator.
pub(super) fn names_itself(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(reqwest::header::SERVER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s.starts_with(SERVER_PREFIX))
}

/// The emulator's reason for the last refused token request of `client_id`, scrubbed of
/// what `scrub` knows; `None` when it cannot be had or the last request was not refused.
pub(super) async fn last_refusal(
    token_url: &Url,
    client_id: &str,
    roots: &[reqwest::Certificate],
    timeout: Duration,
    scrub: &Scrubber,
) -> Option<String> {
    let mut url = token_url.clone();
    url.set_path("/_emulator/activity");
    url.query_pairs_mut()
        .clear()
        .append_pair("client_id", client_id)
        .append_pair("limit", "1");
    let http = cctoken::client::http::http_client_with(timeout, roots, None).ok()?;
    let raw = cctoken::client::http::get(&http, &url, None, scrub)
        .await
        .ok()?;
    if !(200..300).contains(&raw.status) {
        return None;
    }
    reason_of(&raw.body, scrub)
}

/// The reason of the single entry of an activity answer, unless it was an issued token.
fn reason_of(body: &[u8], scrub: &Scrubber) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let entry = doc.get("entries")?.as_array()?.last()?;
    if entry.get("endpoint").and_then(|e| e.as_str()) != Some("token")
        || entry.get("outcome").and_then(|o| o.as_str()) == Some("issued")
    {
        return None;
    }
    let reason = entry.get("reason")?.as_str()?;
    Some(cctoken::error::excerpt_unshaped(
        &without_jwts(&scrub.scrub_known(reason)),
        400,
    ))
}

/// `text` with every JWT-like word withheld. The emulator's reasons hold secrets only as
/// fingerprints, and their thumbprints and ids are what the user compares, so the general
/// shape rules (which withhold any long opaque word) would hide the answer; what cctoken
/// sent that the scrubber does not know is an assertion, and that is a JWT.
fn without_jwts(text: &str) -> String {
    let separator = |c: char| c.is_whitespace() || "'\"()[],;".contains(c);
    text.split_inclusive(separator)
        .map(|w| {
            let (word, sep) = w.split_at(w.trim_end_matches(separator).len());
            if word.starts_with("eyJ") && cctoken::scrub::shape::looks_like_token(word) {
                format!("[withheld len={}]{sep}", word.len())
            } else {
                w.to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cctoken::secret::ClientSecret;

    #[test]
    fn only_a_refusal_has_a_reason_and_it_is_scrubbed() {
        let scrub = Scrubber::for_client("c", &ClientSecret::new("s3cret-canary-value"));
        let body = |outcome: &str, reason: &str| {
            serde_json::json!({"entries": [{"endpoint": "token", "outcome": outcome, "reason": reason}]})
                .to_string()
        };
        assert_eq!(
            reason_of(body("invalid_client", "jti replayed").as_bytes(), &scrub).as_deref(),
            Some("jti replayed")
        );
        assert_eq!(reason_of(body("issued", "issued").as_bytes(), &scrub), None);
        let r = reason_of(
            body("invalid_client", "echo s3cret-canary-value").as_bytes(),
            &scrub,
        )
        .unwrap();
        assert!(!r.contains("s3cret-canary-value"), "{r}");
        assert_eq!(reason_of(b"{\"entries\":[]}", &scrub), None);
        // Thumbprints stay (they are the answer); a JWT does not.
        let thumb = "rU6yYEc5E494CnFKLAz7mEImJWGu9xRIGxEM_TWXFYI";
        let r = reason_of(
            body("invalid_client", &format!("certificate thumbprint {thumb} does not match; assertion 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln'")).as_bytes(),
            &scrub,
        )
        .unwrap();
        assert!(r.contains(thumb), "{r}");
        assert!(
            !r.contains("eyJ") && r.contains("'[withheld len=41]'"),
            "{r}"
        );
        assert_eq!(reason_of(b"<html>", &scrub), None);
    }

    #[test]
    fn the_server_header_names_the_emulator() {
        let mut h = reqwest::header::HeaderMap::new();
        assert!(!names_itself(&h));
        h.insert(reqwest::header::SERVER, "nginx".parse().unwrap());
        assert!(!names_itself(&h));
        h.insert(
            reqwest::header::SERVER,
            "cctoken-emulator/0.1.0".parse().unwrap(),
        );
        assert!(names_itself(&h));
    }
}
