//! The running client registry: configured clients with their counters and rate limiters.
//!
//! Built once from [`crate::EmulatorConfig`] and immutable afterwards, so lookups take no
//! lock. Each client's rate limits are resolved here once (its own, else the global one,
//! else the flavor's). Per-client state that changes is atomic (counters) or behind the
//! client's own small lock (its token-request window, see `window`).
//! Secret comparison lives in [`crate::auth`]; this module only holds the data.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::activity::{ApiCounters, OutcomeCounters};
use crate::config::{AuthMethod, BasicEncoding, ClientEntry, EmulatorConfig, Flavor, RateLimit};
use crate::window::SlidingWindow;

/// A registered client at run time.
#[derive(Debug)]
pub struct RegisteredClient {
    /// The configuration entry.
    pub entry: ClientEntry,
    /// How its Basic credentials are decoded.
    pub basic_encoding: BasicEncoding,
    /// The limit on its token requests, resolved from client, global and flavor settings.
    pub token_limit: Option<RateLimit>,
    /// Its token requests within [`Self::token_limit`]'s window.
    pub token_window: SlidingWindow,
    /// The limit on each of its tokens on `/api/v2/*`, resolved likewise.
    pub api_limit: Option<RateLimit>,
    /// Token endpoint outcome counters of this client.
    pub counters: OutcomeCounters,
    /// Protected API counters of its tokens.
    pub api: ApiCounters,
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
                    token_limit: config.token_rate_limit_for(&entry),
                    api_limit: config.api_rate_limit_for(&entry),
                    entry,
                    basic_encoding,
                    token_window: SlidingWindow::default(),
                    counters: OutcomeCounters::default(),
                    api: ApiCounters::default(),
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
        for m in AuthMethod::ALL {
            let default = matches!(
                m,
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
            );
            if (self.clients.is_empty() && default) || self.clients.values().any(|c| c.allows(m)) {
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
        let limits = |c: &RegisteredClient| (c.api_limit.map(|l| l.to_string()), c.token_limit);
        assert_eq!(
            limits(r.get("demo-client").unwrap()),
            (Some("300/60s".into()), None),
            "Genesys limits each token to 300 requests per rolling minute by default"
        );
        let r = Registry::new(&EmulatorConfig::new(Flavor::Cxone).with_demo());
        assert_eq!(
            limits(r.get(crate::config::CXONE_DEMO_APP).unwrap()),
            (None, None)
        );
        assert_eq!(
            r.key("DEMOACCESSKEY").unwrap().tenant_id.as_deref(),
            Some(crate::config::CXONE_DEMO_TENANT)
        );
        assert_eq!(r.tenant_area(crate::config::CXONE_DEMO_TENANT), Some("na1"));
    }
}
