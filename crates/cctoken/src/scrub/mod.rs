//! Scrubbing server-supplied text before anyone sees it: the one place where a server's
//! echo of what cctoken sent — the secret, its encodings, the Basic header, a token — is
//! taken out again.
//!
//! A hostile or careless token server can repeat the request in its `error_description`,
//! an HTML `<title>` or a text/plain body. Everything such text reaches (error messages,
//! `--trace`, the negative cache on disk and in Redis, the agent's log and its 503 body,
//! doctor, `profiles test`) gets it from an [`Error`] built from a response, or from the
//! trace of a response, so scrubbing happens there, once:
//!
//! - [`Scrubber`] knows the values cctoken sent or holds, in every form a server might
//!   echo them in (raw, form-urlencoded with either hex case and either space, JSON- and
//!   HTML-escaped, base64 of both Basic variants with and without padding, the whole
//!   `Basic …` value), and replaces them with a label such as `[client secret]`;
//! - [`shape`] withholds what merely looks like a token (JWT-like strings, long opaque
//!   strings, the value after a token-ish key in any notation), for tokens cctoken has
//!   never seen.
//!
//! It does not decide what is shown; callers ([`crate::token::parse_response`],
//! [`crate::client::http::trace_response`]) apply it before they build their text.

pub mod shape;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::auth::form_urlencode;
use crate::error::Error;
use crate::secret::{AccessToken, ClientSecret};

/// Values shorter than this are not scrubbed by value: replacing every `a` of a message
/// would destroy it, and such a secret protects nothing anyway. Shapes still apply.
pub const MIN_SCRUB_LEN: usize = 4;

/// The known values to take out of server text, each with the label that replaces it.
#[derive(Default, Clone)]
pub struct Scrubber {
    /// Longest first, so that `Basic <b64>` goes before `<b64>` and before the secret.
    needles: Vec<(Zeroizing<String>, &'static str)>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} values)", self.needles.len())
    }
}

impl Scrubber {
    /// A scrubber that knows nothing yet (shapes still apply).
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything a client sends to authenticate: the secret in every encoding, and the
    /// Basic credentials of both variants (RFC 6749 §2.3.1 and raw) as base64 and as the
    /// whole header value.
    pub fn for_client(client_id: &str, secret: &ClientSecret) -> Self {
        let mut s = Self::new();
        s.add_secret(secret.expose_secret(), "[client-secret]");
        let raw = Zeroizing::new(format!("{client_id}:{}", secret.expose_secret()));
        let rfc = Zeroizing::new(format!(
            "{}:{}",
            form_urlencode(client_id),
            form_urlencode(secret.expose_secret())
        ));
        for payload in [raw, rfc] {
            let b64 = Zeroizing::new(
                base64::engine::general_purpose::STANDARD.encode(payload.as_bytes()),
            );
            s.push(&format!("Basic {}", b64.as_str()), "[basic-credentials]");
            s.push(&format!("basic {}", b64.as_str()), "[basic-credentials]");
            s.push(b64.as_str(), "[basic-credentials]");
            s.push(b64.trim_end_matches('='), "[basic-credentials]");
            let url_safe = Zeroizing::new(
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            );
            s.push(url_safe.as_str(), "[basic-credentials]");
            // The payload itself, should a server decode the header and echo it.
            s.add_secret(payload.as_str(), "[basic-credentials]");
        }
        s
    }

    /// Also take out `value` (a secret: a CXone access key secret, a password) in every
    /// encoding a server might echo it in, replaced by `label`.
    pub fn with_secret(mut self, value: &ClientSecret, label: &'static str) -> Self {
        self.add_secret(value.expose_secret(), label);
        self
    }

    /// Also take out a token cctoken holds or sent.
    pub fn with_token(mut self, token: &AccessToken) -> Self {
        self.add_secret(token.expose_secret(), "[token]");
        self
    }

    fn add_secret(&mut self, v: &str, label: &'static str) {
        for form in encodings(v) {
            self.push(&form, label);
        }
    }

    fn push(&mut self, v: &str, label: &'static str) {
        if v.chars().count() < MIN_SCRUB_LEN || self.needles.iter().any(|(n, _)| n.as_str() == v) {
            return;
        }
        let at = self
            .needles
            .iter()
            .position(|(n, _)| n.len() < v.len())
            .unwrap_or(self.needles.len());
        self.needles
            .insert(at, (Zeroizing::new(v.to_owned()), label));
    }

    /// `text` with every known value replaced by its label, then every token-shaped part
    /// withheld ([`shape::withhold`]).
    pub fn scrub(&self, text: &str) -> String {
        shape::withhold(&self.scrub_known(text))
    }

    /// `text` with every known value replaced by its label (shapes left alone: for text
    /// that is parsed afterwards, such as a JSON body).
    pub fn scrub_known(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (needle, label) in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), label);
            }
        }
        out
    }

    /// The same error with its server-supplied text (message and description) scrubbed.
    pub fn error(&self, mut e: Error) -> Error {
        e.message = self.scrub(&e.message);
        e.description = e.description.map(|d| self.scrub(&d));
        e
    }
}

/// The forms of `v` a server may echo: as sent in a form body (either hex case, `+` or
/// `%20` for a space), JSON-escaped (with and without `\/`), HTML-escaped, and raw.
fn encodings(v: &str) -> Vec<Zeroizing<String>> {
    let mut out = vec![Zeroizing::new(v.to_owned())];
    let form = Zeroizing::new(form_urlencode(v));
    out.push(Zeroizing::new(lower_hex(&form)));
    out.push(Zeroizing::new(form.replace('+', "%20")));
    out.push(form);
    if let Ok(json) = serde_json::to_string(v) {
        let json = Zeroizing::new(json);
        let inner = &json[1..json.len() - 1];
        out.push(Zeroizing::new(inner.replace('/', "\\/")));
        out.push(Zeroizing::new(inner.to_owned()));
    }
    let html = Zeroizing::new(
        v.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
    );
    out.push(Zeroizing::new(html.replace('\'', "&#39;")));
    out.push(Zeroizing::new(html.replace('\'', "&#x27;")));
    out
}

/// `%2F` → `%2f`: some servers re-encode with lowercase hex digits.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            if c == '%' {
                hex_left = 2;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
