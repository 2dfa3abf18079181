//! The consumer's side of the agent protocol (SPEC §9): what a process needs to take its
//! tokens from a running `cctoken agent` instead of the token server.
//!
//! - [`client`]: [`client::AgentClient`], a blocking client of one agent (`CCTOKEN_AGENT`),
//!   and [`client::AgentFetch`], the same as a [`crate::source::Fetch`] under a
//!   `TokenSource`.
//! - [`wire`]: the JSON bodies of `GET /v1/token/{profile}` and of errors, which the agent
//!   (the `cctoken-agent` crate) serves and clients read, so both sides agree on them.
//! - [`AgentKey`]: the key that opens the agent's TCP listener, read from `agent.key`.
//!
//! The server — registry, routes, guard, proxy, listeners — is the `cctoken-agent` crate;
//! nothing here listens or refreshes in the background.

pub mod client;
pub mod wire;

use std::sync::Arc;

/// The agent key: 32 random bytes, hex-encoded. Redacted in `Debug`.
#[derive(Clone)]
pub struct AgentKey(Arc<str>);

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentKey([redacted])")
    }
}

impl AgentKey {
    /// A new random key.
    pub fn generate() -> Self {
        use rand::RngCore as _;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(Arc::from(hex))
    }

    /// A key read from elsewhere (the key file); surrounding whitespace is ignored.
    pub fn from_string(s: &str) -> Self {
        Self(Arc::from(s.trim()))
    }

    /// The key itself, for writing the key file and for clients.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented key.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        if mine.len() != presented.len() {
            return false;
        }
        mine.iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_comparison() {
        let k = AgentKey::from_string("abc\n");
        assert!(k.matches(b"abc"));
        assert!(!k.matches(b"abd"));
        assert!(!k.matches(b"ab"));
        assert!(!format!("{k:?}").contains("abc"));
        assert_eq!(AgentKey::generate().expose_secret().len(), 64);
    }
}
