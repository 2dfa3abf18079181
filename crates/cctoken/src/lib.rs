//! # cctoken
//!
//! OAuth2 client-credentials tokens that work the first time and keep working — for Genesys
//! Cloud, NICE CXone and any RFC 6749 server.
//!
//! The data flows one way: options → [`config::ProfileSettings`] (typed, from a profile
//! and flags) → validated [`config::ClientConfig`] → [`client::Client`] (provider + client
//! authentication) → the caches and the agent ([`stack`]) → [`source::TokenSource`] →
//! [`token::Token`]. Nothing in this crate prints; errors ([`Error`]) carry a
//! provider-specific hint and a permanent/transient [`error::Class`], and never a secret or
//! a raw response body.
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
pub mod error;
#[cfg(any(feature = "tower", feature = "reqwest-middleware"))]
pub mod integrations;
pub mod jitter;
pub mod provider;
pub mod secret;
pub mod source;
pub mod stack;
pub mod token;

pub use error::Error;
