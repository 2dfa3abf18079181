//! The running client registry: configured clients with their counters and rate limiters.
//!
//! Built once from [`crate::EmulatorConfig`] and immutable afterwards, so lookups take no
//! lock. Per-client state that changes (rate-limit windows, outcome counters) is atomic.
//! Secret comparison lives in [`crate::auth`]; this module only holds the data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::activity::OutcomeCounters;
use crate::config::{AuthMethod, BasicEncoding, ClientEntry, EmulatorConfig, Flavor};

/// A fixed one-minute window counter (good enough for an emulator; races only blur the edge).
#[derive(Debug, Default)]
pub struct MinuteWindow {
    minute: AtomicU64,
    count: AtomicU64,
}

impl MinuteWindow {
    /// Count one request at `now_secs`; `Err(retry_after_secs)` once `limit` is exceeded.
    pub fn hit(&self, now_secs: u64, limit: u32) -> Result<u64, u64> {
        let minute = now_secs / 60;
        let cur = self.minute.load(Ordering::Acquire);
        if cur != minute
            && self
                .minute
                .compare_exchange(cur, minute, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.count.store(0, Ordering::Release);
        }
        let n = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        if n > u64::from(limit) {
            Err((60 - now_secs % 60).max(1))
        } else {
            Ok(n)
        }
    }

    /// Seconds until the current window resets.
    pub fn reset_in(now_secs: u64) -> u64 {
        (60 - now_secs % 60).max(1)
    }
}

/// A registered client at run time.
#[derive(Debug)]
pub struct RegisteredClient {
    /// The configuration entry.
    pub entry: ClientEntry,
    /// How its Basic credentials are decoded.
    pub basic_encoding: BasicEncoding,
    /// Token endpoint rate-limit window.
    pub token_window: MinuteWindow,
    /// Outcome counters of this client.
    pub counters: OutcomeCounters,
}

impl RegisteredClient {
    /// Whether `method` is accepted.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.entry.auth_methods.contains(&method)
    }

    /// Whether the client may use `grant`.
    pub fn has_grant(&self, grant: &str) -> bool {
        self.entry.grants.iter().any(|g| g == grant)
    }
}

/// An access key and where it belongs (CXone).
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// The key secret.
    pub secret: String,
    /// The tenant id of the client entry that declared it.
    pub tenant_id: Option<String>,
}

/// Every client, access key and tenant.
#[derive(Debug, Default)]
pub struct Registry {
    clients: HashMap<String, Arc<RegisteredClient>>,
    order: Vec<String>,
    keys: HashMap<String, KeyEntry>,
    tenants: HashMap<String, String>,
}

impl Registry {
    /// Build from the configuration (including demo clients).
    pub fn new(config: &EmulatorConfig) -> Self {
        let mut r = Registry::default();
        for entry in config.effective_clients() {
            let basic_encoding = entry
                .basic_encoding
                .unwrap_or_else(|| config.flavor.default_basic_encoding());
            for k in &entry.access_keys {
                r.keys.entry(k.id.clone()).or_insert_with(|| KeyEntry {
                    secret: k.secret.clone(),
                    tenant_id: entry.tenant_id.clone(),
                });
            }
            if let Some(t) = &entry.tenant_id {
                let area = entry.area.clone().unwrap_or_else(|| "na1".into());
                r.tenants.entry(t.clone()).or_insert(area);
            }
            r.order.push(entry.id.clone());
            r.clients.insert(
                entry.id.clone(),
                Arc::new(RegisteredClient {
                    entry,
                    basic_encoding,
                    token_window: MinuteWindow::default(),
                    counters: OutcomeCounters::default(),
                }),
            );
        }
        r
    }

    /// A client by id.
    pub fn get(&self, id: &str) -> Option<&Arc<RegisteredClient>> {
        self.clients.get(id)
    }

    /// Clients in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<RegisteredClient>> {
        self.order.iter().filter_map(|id| self.clients.get(id))
    }

    /// An access key by id.
    pub fn key(&self, id: &str) -> Option<&KeyEntry> {
        self.keys.get(id)
    }

    /// A tenant's area.
    pub fn tenant_area(&self, tenant_id: &str) -> Option<&str> {
        self.tenants.get(tenant_id).map(String::as_str)
    }

    /// Union of auth methods over all clients (for discovery), in a stable order.
    pub fn auth_methods(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for m in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost] {
            if self.clients.is_empty() || self.clients.values().any(|c| c.allows(m)) {
                out.push(m.as_str());
            }
        }
        out
    }

    /// Union of grants the flavor implements and some client holds (for discovery).
    pub fn grants(&self, flavor: Flavor) -> Vec<&'static str> {
        implemented_grants(flavor)
            .iter()
            .copied()
            .filter(|g| self.clients.is_empty() || self.clients.values().any(|c| c.has_grant(g)))
            .collect()
    }

    /// Union of scopes over all clients.
    pub fn scopes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .clients
            .values()
            .flat_map(|c| c.entry.scopes.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Grants the flavor's token endpoint implements.
pub fn implemented_grants(flavor: Flavor) -> &'static [&'static str] {
    match flavor {
        Flavor::Generic | Flavor::Genesys => &["client_credentials"],
        Flavor::Cxone => &["password", "refresh_token"],
    }
}

/// The lifetime for a token issued to `client`.
pub fn lifetime(config: &EmulatorConfig, client: &RegisteredClient) -> Duration {
    config
        .token_lifetime
        .or(client.entry.token_lifetime)
        .unwrap_or_else(|| config.flavor.default_lifetime())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_window_limits_and_resets() {
        let w = MinuteWindow::default();
        let t = 6_000_000; // a minute boundary
        assert_eq!(w.hit(t, 2), Ok(1));
        assert_eq!(w.hit(t + 1, 2), Ok(2));
        assert_eq!(w.hit(t + 20, 2), Err(40));
        assert_eq!(w.hit(t + 60, 2), Ok(1));
    }

    #[test]
    fn demo_registry_has_the_fixed_contract() {
        let r = Registry::new(&EmulatorConfig::new(Flavor::Generic).with_demo());
        assert!(r
            .get("demo-client")
            .unwrap()
            .has_grant("client_credentials"));
        assert!(!r
            .get("demo-nogrant")
            .unwrap()
            .has_grant("client_credentials"));
        assert_eq!(
            r.get("demo-client").unwrap().basic_encoding,
            BasicEncoding::Rfc
        );
        let r = Registry::new(&EmulatorConfig::new(Flavor::Genesys).with_demo());
        assert_eq!(
            r.get("demo-client").unwrap().basic_encoding,
            BasicEncoding::Both
        );
        let r = Registry::new(&EmulatorConfig::new(Flavor::Cxone).with_demo());
        assert_eq!(
            r.key("DEMOACCESSKEY").unwrap().tenant_id.as_deref(),
            Some(crate::config::CXONE_DEMO_TENANT)
        );
        assert_eq!(r.tenant_area(crate::config::CXONE_DEMO_TENANT), Some("na1"));
    }
}
