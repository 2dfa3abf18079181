//! # cctoken
//!
//! OAuth2 client-credentials tokens that work the first time and keep working — for Genesys
//! Cloud, NICE CXone and any RFC 6749 server. Nothing in this crate prints: errors
//! ([`Error`]) carry a provider-specific hint and a permanent/transient [`error::Class`], and
//! never a secret or a raw response body. `ARCHITECTURE.md` maps the whole repository.
//!
//! ## A tour
//!
//! Start with [`source`]. A [`source::TokenSource`] is what an application holds: ask it for
//! a token and it returns the one it has while that one is fresh, refreshes it ahead of expiry
//! (with jitter, so a fleet does not refresh together), lets one caller fetch while the others
//! wait (single flight), and keeps serving a still-valid token while the server fails.
//!
//! Below it is [`cache`]: tokens sealed with an AEAD under a key derived from the secret, on
//! disk in a private directory with a cross-process lock (so 200 jobs cold make one request),
//! and in Redis for a fleet. Remembered failures and rate limits are sealed and capped the
//! same way. [`stack`] assembles cache, Redis and the agent ([`agent`]) in one place, so
//! every consumer shares them.
//!
//! Where settings come from is [`config`]: the profile file read once, a profile's typed
//! [`config::ProfileSettings`] with flags on top, and [`config::resolve()`] turning them into
//! a validated [`config::ClientConfig`] — one function per provider ([`provider`]), secrets
//! read from their sources only then.
//!
//! The wire is [`client`]: a [`client::Client`] knows the provider's endpoints and the client
//! authentication method ([`auth`]), sends the request, retries what is transient within a
//! total budget, parses the answer ([`token`]) and attaches the provider's hint to a failure.
//! Whatever a server says is cleaned first ([`scrub`]): nothing the request carried, and
//! nothing shaped like a token, survives into an error or a trace.
//! Time and randomness are injected ([`clock`], [`jitter`]), so all of this is tested without
//! sleeping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cctoken::Error> {
//! use cctoken::{client::Client, config::ClientConfig, provider::{ProviderConfig, genesys::Region}, secret::ClientSecret};
//! let provider = ProviderConfig::Genesys { region: Region::lookup("eu-west-1"), token_url: None, api_base: None };
//! let config = ClientConfig::new(provider, "5a1c3a2e-1b2c-4d5e-8f90-123456789abc", ClientSecret::new(std::env::var("GC_SECRET").unwrap()));
//! let token = Client::new(config).fetch_token().await?;
//! println!("expires in {:?}", token.expires_in);
//! # Ok(()) }
//! ```

pub mod agent;
pub mod auth;
pub mod cache;
pub mod client;
pub mod clock;
pub mod config;
pub mod duration;
pub mod error;
#[cfg(any(feature = "tower", feature = "reqwest-middleware"))]
pub mod integrations;
pub mod jitter;
pub mod pool;
pub mod provider;
pub mod scrub;
pub mod secret;
pub mod source;
pub mod stack;
pub mod token;

pub use error::Error;
