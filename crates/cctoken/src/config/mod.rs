//! Validated client configuration: everything needed to obtain a token, typed.
//!
//! [`ClientConfig`] is the single input of [`crate::client::Client`]. It is built at the
//! edge — by the CLI from flags, profiles and environment, or by library users directly —
//! and holds no unvalidated strings where a type exists. The way there, one module each:
//!
//! - [`file`](mod@file): the profile file, read once into a [`ConfigFile`] (profiles and `[cache]`);
//! - [`profile`]: one profile's [`ProfileSettings`], typed and grouped, and how flags go
//!   on top;
//! - [`resolve`](mod@resolve): settings → [`ClientConfig`], one function per provider;
//! - [`keys`]: the key and certificate settings (SPEC §14) and loading them;
//! - [`sources`]: where secrets come from, [`keyring`] and [`gc`] (the Genesys CLI's
//!   profiles) among them;
//! - [`env`](mod@env): every environment variable name, default path and limit, and [`EnvLookup`];
//! - [`toml_error`]: TOML errors as `path:line:col`, without quoted values.

pub mod env;
pub mod file;
pub mod gc;
pub mod keyring;
pub mod keys;
pub mod profile;
pub mod resolve;
pub(crate) mod small_file;
pub mod sources;
pub mod toml_error;

pub use env::{EnvLookup, ProcessEnv};
pub use file::{CacheSettings, ConfigFile, Loaded};
pub use profile::{PoolSettings, ProfileKeys, ProfileSettings, SecretSetting};
pub use resolve::{resolve, ResolveOptions, ResolvedProfile};

use std::time::Duration;

use crate::auth::material::KeyAuth;
use crate::auth::AuthMethod;
use crate::provider::{ProviderConfig, ProviderKind};
use crate::secret::ClientSecret;

/// Everything needed to request a token from one server for one client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The token server.
    pub provider: ProviderConfig,
    /// The OAuth client id (not secret).
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: ClientSecret,
    /// Client authentication; `None` picks the provider's default or discovery's choice.
    pub auth: Option<AuthMethod>,
    /// Requested scopes (sent space-separated).
    pub scopes: Vec<String>,
    /// `audience` parameter, when the server wants one.
    pub audience: Option<String>,
    /// Further form parameters.
    pub extra_params: Vec<(String, String)>,
    /// Lifetime assumed when the server sends no `expires_in`.
    pub default_lifetime: Option<Duration>,
    /// Keys, certificates and assertion sources (SPEC §14); empty for secret-only clients.
    pub keys: KeyAuth,
}

impl ClientConfig {
    /// A config with the required parts and defaults for the rest.
    pub fn new(
        provider: ProviderConfig,
        client_id: impl Into<String>,
        secret: ClientSecret,
    ) -> Self {
        Self {
            provider,
            client_id: client_id.into(),
            client_secret: secret,
            auth: None,
            scopes: Vec::new(),
            audience: None,
            extra_params: Vec::new(),
            default_lifetime: None,
            keys: KeyAuth::default(),
        }
    }

    /// Whether a client secret was given (key- and certificate-only clients have none;
    /// their `client_secret` is empty, which no secret source ever yields).
    pub fn has_secret(&self) -> bool {
        !self.client_secret.expose_secret().is_empty()
    }

    /// The provider family.
    pub fn kind(&self) -> ProviderKind {
        self.provider.kind()
    }
}
