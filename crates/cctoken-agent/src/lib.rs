//! The cctoken agent as a library: fresh tokens for every profile of a machine, served to
//! local consumers (SPEC §9).
//!
//! Long-running consumers — metric collectors, webhook processors, scripts in a loop,
//! tools that cannot refresh tokens — ask the agent instead of the token server. The agent
//! keeps one [`TokenSource`](cctoken::source::TokenSource) per profile, refreshes each
//! ahead of expiry in the background, and keeps answering with the last valid token while
//! the token server fails.
//!
//! A guided tour:
//! - [`registry`]: the profiles, their sources and counters, and [`registry::keep_fresh`],
//!   the background task per profile.
//! - [`routes`]: [`app`] — `GET /v1/token/{profile}`, `/healthz`, `/metrics` (Prometheus
//!   text).
//! - [`health`]: each configured profile's state for `/healthz` (ok, stale, failing,
//!   pending, broken), and 503 when one cannot serve.
//! - [`guard`]: the agent key and the `Host` check that every TCP request passes.
//! - [`proxy`]: a loopback port per profile that forwards to the profile's API base with
//!   the token injected.
//! - [`serve`]: the 0600 Unix socket and the 0600 key file in a directory no other user
//!   controls, loopback-only TCP, and serving until a shutdown future resolves — within a
//!   connection budget per listener and head and idle timeouts.
//!
//! The consumer's side — the client behind `CCTOKEN_AGENT`, the JSON bodies both sides
//! share and the agent key — is the core library's [`cctoken::agent`], so every consumer
//! (the CLI, next the Python package) speaks the protocol without this crate.
//!
//! It reads no configuration files and parses no flags: `cctoken agent` (the CLI) resolves
//! the profiles and hands this crate their fetchers.
//!
//! ```no_run
//! # async fn demo(fetcher: cctoken::client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cctoken_agent::{app, registry::Registry, serve, AgentState};
//! let mut registry = Registry::new(cctoken::clock::system());
//! registry.add("prod", fetcher, None);
//! let state = AgentState::new(registry);
//! let (listener, _cleanup) = serve::bind_unix("/run/user/1000/cctoken/agent.sock".as_ref())?;
//! serve::serve_unix(listener, app(state), async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod guard;
pub mod health;
pub mod proxy;
pub mod registry;
pub mod routes;
pub mod serve;

pub use guard::AgentKey;
pub use routes::{app, AgentState};
