//! What every token-consuming command sets up: the resolved profile, the client, the
//! on-disk cache in front of it, and a [`TokenSource`] over both.

use cctoken::cache::{CachedClient, DiskCache};
use cctoken::client::Client;
use cctoken::clock;
use cctoken::config::ResolvedProfile;
use cctoken::error::Error;
use cctoken::source::TokenSource;

use super::Globals;
use crate::opts::ProfileOpts;

/// A resolved profile ready to produce tokens.
pub struct Session {
    /// The profile as resolved (config, secret origin, notes).
    pub resolved: ResolvedProfile,
    /// The client (no cache).
    pub client: Client,
    /// The client behind the on-disk cache, unless disabled.
    pub cached: Option<CachedClient>,
}

impl Session {
    /// Resolve the profile options once, at the edge.
    pub fn open(opts: &ProfileOpts, no_cache: bool, globals: &Globals) -> anyhow::Result<Self> {
        let resolved = opts.resolve()?;
        for note in &resolved.notes {
            match note.strip_prefix("warning: ") {
                Some(w) => tracing::warn!("{w}"),
                None => tracing::debug!("{note}"),
            }
        }
        tracing::debug!(
            secret = %resolved.config.client_secret.fingerprint(),
            source = %resolved.secret_origin,
            "client secret loaded"
        );
        let mut client = Client::new(resolved.config.clone())?;
        if globals.trace {
            client = client.with_trace(super::trace_sink());
        }
        let cached = if no_cache {
            None
        } else {
            match default_cache() {
                Ok(dir) => Some(CachedClient::new(client.clone(), dir, clock::system())),
                Err(e) => {
                    tracing::warn!("token cache disabled: {e}");
                    None
                }
            }
        };
        Ok(Self {
            resolved,
            client,
            cached,
        })
    }

    /// A refresh-ahead token source over the cache (or the bare client).
    pub fn source(&self) -> TokenSource {
        match &self.cached {
            Some(c) => TokenSource::new(c.clone(), clock::system()),
            None => TokenSource::new(self.client.clone(), clock::system()),
        }
    }
}

/// The cache at its default location.
pub fn default_cache() -> Result<DiskCache, Error> {
    let dir = DiskCache::default_dir()
        .ok_or_else(|| Error::config("neither XDG_CACHE_HOME nor HOME is set"))?;
    DiskCache::open(dir)
}
