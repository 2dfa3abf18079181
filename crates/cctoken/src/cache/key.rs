//! Cache keys: one entry per (endpoint, client, scopes, audience, secret).
//!
//! The key is a SHA-256 over those parts, so entries never collide across servers,
//! clients or rotated secrets, and the file name reveals nothing. It includes the secret's
//! fingerprint: after a rotation the old entry is simply never found again.

use sha2::{Digest, Sha256};

use crate::config::ClientConfig;
use crate::provider::{Endpoint, ProviderConfig};

/// A cache key (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for a client configuration.
    pub fn for_config(config: &ClientConfig) -> Self {
        let mut h = Sha256::new();
        let mut part = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        part("cctoken-cache-key-v1");
        part(&endpoint_identity(config));
        part(&config.client_id);
        // The secret's fingerprint, or for key-based clients the public key's or
        // certificate's thumbprint (SPEC §14): a new key is a new entry.
        if config.has_secret() {
            part(&config.client_secret.fingerprint().to_string());
        }
        let keys = &config.keys;
        if let Some(k) = &keys.signing_key {
            part(&format!("jwk:{}", k.thumbprint()));
        }
        if let Some(t) = &keys.tls {
            part(&format!("x5t:{}", t.cert.thumbprint()));
        }
        if let Some(src) = &keys.assertion_from {
            part(&format!("assertion-from:{}", src.describe()));
        }
        let mut scopes: Vec<&str> = config.scopes.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();
        part(&scopes.join(" "));
        part(config.audience.as_deref().unwrap_or(""));
        let mut extra: Vec<String> = config
            .extra_params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        extra.sort_unstable();
        part(&extra.join("&"));
        if let ProviderConfig::Cxone { access_key, .. } = &config.provider {
            part(&access_key.id);
            part(&access_key.secret.fingerprint().to_string());
        }
        Self(hex::encode(h.finalize()))
    }

    /// The key of token `slot` of a pool of this configuration (SPEC §13): slot 0 is this
    /// key itself, so a pool's first token is the one `cctoken get` shares; every other
    /// slot has its own entry (on disk and in Redis), so processes holding the same pool
    /// share each of its tokens instead of minting their own.
    pub fn slot(&self, slot: usize) -> Self {
        if slot == 0 {
            return self.clone();
        }
        let mut h = Sha256::new();
        for part in ["cctoken-pool-slot-v1", &self.0, &slot.to_string()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        Self(hex::encode(h.finalize()))
    }

    /// The hex form, used as the file name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies the token server without contacting it: the token URL, the issuer or
/// the Genesys region's token URL.
pub fn endpoint_identity(config: &ClientConfig) -> String {
    match &config.provider {
        ProviderConfig::Genesys {
            region, token_url, ..
        } => match (token_url, region) {
            (Some(u), _) => format!("token_url:{u}"),
            (None, Some(r)) => format!("token_url:{}", r.token_url()),
            (None, None) => "genesys:unknown".into(),
        },
        ProviderConfig::Generic { endpoint, .. } => match endpoint {
            Endpoint::TokenUrl(u) => format!("token_url:{u}"),
            Endpoint::Issuer(u) => format!("issuer:{u}"),
        },
        ProviderConfig::Cxone {
            issuer, token_url, ..
        } => match token_url {
            Some(u) => format!("token_url:{u}"),
            None => format!("cxone-issuer:{issuer}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ClientSecret;

    fn cfg(secret: &str, scopes: &[&str]) -> ClientConfig {
        let u = url::Url::parse("https://a.example/token").unwrap();
        let mut c = ClientConfig::new(
            ProviderConfig::Generic {
                endpoint: Endpoint::TokenUrl(u),
                api_base: None,
            },
            "id",
            ClientSecret::new(secret),
        );
        c.scopes = scopes.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn key_depends_on_secret_and_sorted_scopes() {
        let a = CacheKey::for_config(&cfg("s1", &["b", "a"]));
        assert_eq!(a, CacheKey::for_config(&cfg("s1", &["a", "b"])));
        assert_ne!(a, CacheKey::for_config(&cfg("s2", &["a", "b"])));
        assert_ne!(a, CacheKey::for_config(&cfg("s1", &["a"])));
        assert_eq!(a.as_str().len(), 64);
        assert!(!a.as_str().contains("s1"));
    }

    #[test]
    fn pool_slots_have_their_own_keys_and_slot_zero_is_the_profiles() {
        let a = CacheKey::for_config(&cfg("s1", &["a"]));
        assert_eq!(a.slot(0), a);
        let slots: std::collections::HashSet<CacheKey> = (0..20).map(|i| a.slot(i)).collect();
        assert_eq!(slots.len(), 20);
        assert_eq!(a.slot(3), a.clone().slot(3), "stable across processes");
        assert_ne!(a.slot(1), CacheKey::for_config(&cfg("s2", &["a"])).slot(1));
        assert_eq!(a.slot(1).as_str().len(), 64);
    }
}
