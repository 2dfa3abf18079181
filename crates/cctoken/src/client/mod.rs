//! [`Client`]: one token server, one OAuth client — resolve the endpoint, request tokens.
//!
//! `Client` turns a [`ClientConfig`] into HTTP: it resolves the token URL, the client
//! authentication method and the API base (discovery for `generic` issuers and `cxone`),
//! sends the grant, retries transient failures by [`RetryPolicy`] (the loop: `attempts`),
//! and parses the answer. Its errors are where the provider's hint
//! ([`ProviderKind::hint`]) is attached, once. It has no cache and no background work;
//! `TokenSource` builds those on top of it.

mod attempts;
mod credentials;
pub mod http;
pub mod retry;
pub mod trace;

use std::time::{Duration, SystemTime};

use tokio::sync::OnceCell;
use url::Url;

pub use http::TraceSink;
pub use retry::RetryPolicy;

use crate::auth::assertion::Assertion;
use crate::auth::material;
use crate::auth::{build_request, AuthMethod, Grant, PreparedRequest, RequestParts};
use crate::clock::{self, SharedClock};
use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind};
use crate::jitter::{self, SharedJitter};
use crate::provider::discovery::{self, Metadata, Order};
use crate::provider::{cxone, genesys, Endpoint, ProviderConfig, ProviderKind};
use crate::scrub::Scrubber;
use crate::secret::{AccessToken, ClientSecret};
use crate::token::{parse_response, BoxFuture, Fetch, Held, Token};

/// The concrete endpoint after discovery.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where the token request goes.
    pub token_url: Url,
    /// How the client authenticates.
    pub auth: AuthMethod,
    /// The API base, when known without a token (Genesys, configured).
    pub api_base: Option<Url>,
    /// The discovery document used, if any.
    pub metadata: Option<Metadata>,
}

/// A client for one token server and one OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    config: ClientConfig,
    /// Built on first use: a cached `get` never pays for TLS setup.
    http: std::sync::Arc<std::sync::OnceLock<reqwest::Client>>,
    /// The HTTP client that presents the TLS client certificate (`tls-*` methods only).
    mtls: std::sync::Arc<std::sync::OnceLock<reqwest::Client>>,
    clock: SharedClock,
    jitter: SharedJitter,
    retry: RetryPolicy,
    trace: Option<TraceSinkDebug>,
    resolved: std::sync::Arc<OnceCell<Resolved>>,
}

#[derive(Clone)]
struct TraceSinkDebug(TraceSink);

impl std::fmt::Debug for TraceSinkDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceSink")
    }
}

/// Default timeout of one HTTP exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// A client with the system clock, thread-local jitter and the default retry policy.
    ///
    /// Cheap: the HTTP client (and its TLS configuration) is built on first use.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            http: Default::default(),
            mtls: Default::default(),
            clock: clock::system(),
            jitter: jitter::system(),
            retry: RetryPolicy::default(),
            trace: None,
            resolved: Default::default(),
        }
    }

    /// Use another clock (tests): it times the responses, measures the retry budget and
    /// sleeps between retries.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Use another source of backoff jitter (tests).
    pub fn with_jitter(mut self, jitter: SharedJitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Use another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Use this HTTP client (shared by many `Client`s, e.g. the agent's profiles, so they
    /// share one connection pool and one TLS configuration). It should have a timeout.
    /// Ignored when the configuration has trust roots of its own (`ca_cert`).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        if !self.config.keys.trust_roots.is_empty() {
            return self;
        }
        let cell = std::sync::OnceLock::new();
        let _ = cell.set(http);
        self.http = std::sync::Arc::new(cell);
        self
    }

    /// Send a redacted transcript of every HTTP exchange to `sink` (`--trace`).
    pub fn with_trace(mut self, sink: TraceSink) -> Self {
        self.trace = Some(TraceSinkDebug(sink));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn http(&self) -> Result<&reqwest::Client, Error> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let c = http::http_client_with(DEFAULT_TIMEOUT, &self.config.keys.trust_roots, None)?;
        Ok(self.http.get_or_init(|| c))
    }

    /// The HTTP client for token requests with `auth`: the one presenting the client
    /// certificate for the `tls-*` methods, the plain one otherwise.
    fn http_for(&self, auth: AuthMethod) -> Result<&reqwest::Client, Error> {
        if !auth.uses_tls() {
            return self.http();
        }
        if let Some(c) = self.mtls.get() {
            return Ok(c);
        }
        let Some(id) = &self.config.keys.tls else {
            return Err(Error::config(format!(
                "{auth} needs a client certificate and its key: give --client-cert and \
                 --client-key (client_cert, client_key)"
            )));
        };
        let c = http::http_client_with(DEFAULT_TIMEOUT, &self.config.keys.trust_roots, Some(id))?;
        Ok(self.mtls.get_or_init(|| c))
    }

    fn trace(&self) -> Option<&TraceSink> {
        self.trace.as_ref().map(|t| &t.0)
    }

    fn default_auth(&self) -> AuthMethod {
        match self.config.kind() {
            // What the official Genesys SDKs send; identical to `basic` for Genesys secrets.
            ProviderKind::Genesys => AuthMethod::BasicRaw,
            _ => AuthMethod::Basic,
        }
    }

    /// What can be known without the network: the token URL (or `None` when discovery is
    /// needed), auth method and API base.
    pub fn resolve_offline(&self) -> Option<Resolved> {
        let auth = self.config.auth.unwrap_or_else(|| {
            material::default_method(
                &self.config.keys,
                self.config.has_secret(),
                self.default_auth(),
            )
        });
        match &self.config.provider {
            ProviderConfig::Genesys {
                region,
                token_url,
                api_base,
            } => {
                let token_url = token_url
                    .clone()
                    .or_else(|| region.map(|r| r.token_url()))?;
                let api_base = api_base.clone().or_else(|| {
                    // A Genesys login host — the region's, or one a --token-url names —
                    // has its API on the region's `api.` host.
                    let host = token_url.host_str();
                    let login = host
                        .and_then(genesys::Region::for_host)
                        .filter(|r| host == Some(&format!("login.{}", r.domain)));
                    match login {
                        Some(r) => Some(r.api_base()),
                        // Pointed at an emulator: it serves the API on the same origin.
                        None => origin(&token_url),
                    }
                });
                Some(Resolved {
                    token_url,
                    auth,
                    api_base,
                    metadata: None,
                })
            }
            ProviderConfig::Generic {
                endpoint: Endpoint::TokenUrl(u),
                api_base,
            }
            | ProviderConfig::Cxone {
                token_url: Some(u),
                api_base,
                ..
            } => Some(Resolved {
                token_url: u.clone(),
                auth,
                api_base: api_base.clone(),
                metadata: None,
            }),
            _ => None,
        }
    }

    /// Resolve the endpoint, running discovery when needed (once per `Client`).
    pub async fn resolve(&self) -> Result<&Resolved, Error> {
        self.resolved
            .get_or_try_init(|| async {
                if let Some(r) = self.resolve_offline() {
                    return Ok(r);
                }
                let (issuer, order, api_base) = match &self.config.provider {
                    ProviderConfig::Generic {
                        endpoint: Endpoint::Issuer(i),
                        api_base,
                    } => (i, Order::Rfc8414First, api_base),
                    ProviderConfig::Cxone {
                        issuer, api_base, ..
                    } => (issuer, Order::OidcFirst, api_base),
                    _ => {
                        return Err(Error::config(
                            "no token URL: give --region (Genesys), --token-url or --issuer",
                        ))
                    }
                };
                let meta = self.discover(issuer, order).await?;
                let auth = material::choose(
                    self.config.auth,
                    meta.auth_methods.as_deref(),
                    &self.config.keys,
                    self.config.has_secret(),
                    self.default_auth(),
                )?;
                // RFC 8705 §5: with a client certificate, the alias when there is one.
                let token_url = match (&meta.mtls_token_endpoint, auth.uses_tls()) {
                    (Some(alias), true) => alias.clone(),
                    _ => meta.token_endpoint.clone(),
                };
                Ok(Resolved {
                    token_url,
                    auth,
                    api_base: api_base.clone(),
                    metadata: Some(meta),
                })
            })
            .await
    }

    async fn discover(&self, issuer: &Url, order: Order) -> Result<Metadata, Error> {
        let mut tried = Vec::new();
        for url in discovery::metadata_urls(issuer, order) {
            let raw = self
                .with_retries(None, || async {
                    http::get(self.http()?, &url, self.trace(), &self.scrubber()).await
                })
                .await?;
            if (200..300).contains(&raw.status) {
                return discovery::parse_metadata(&raw.body, &url, issuer);
            }
            tried.push(format!("{url} (HTTP {})", raw.status));
        }
        Err(Error::rejected(
            ErrorKind::UnexpectedResponse,
            None,
            format!(
                "no discovery document for issuer {issuer}: tried {}; give --token-url instead",
                tried.join(", ")
            ),
        ))
    }

    /// The request that [`fetch_token`](Self::fetch_token) would send, for `--dry-run`.
    /// `resolved` comes from [`resolve_offline`](Self::resolve_offline) or
    /// [`resolve`](Self::resolve). An assertion is signed as for a real attempt; one that
    /// GitHub Actions would issue is shown as a placeholder (no network here).
    pub fn prepare(&self, resolved: &Resolved, grant: &Grant) -> Result<PreparedRequest, Error> {
        let assertion = match self.config.keys.assertion_from.as_ref() {
            Some(src) if resolved.auth == AuthMethod::PrivateKeyJwt => {
                Some(match src.read_local() {
                    Some(a) => a?,
                    None => Assertion::pending(src.describe()),
                })
            }
            _ => self.sign_assertion(resolved)?,
        };
        self.prepare_with(resolved, grant, assertion.as_ref())
    }

    fn prepare_with(
        &self,
        resolved: &Resolved,
        grant: &Grant,
        assertion: Option<&Assertion>,
    ) -> Result<PreparedRequest, Error> {
        build_request(&RequestParts {
            token_url: &resolved.token_url,
            client_id: &self.config.client_id,
            client_secret: &self.config.client_secret,
            auth: resolved.auth,
            grant,
            scopes: &self.config.scopes,
            audience: self.config.audience.as_deref(),
            extra: &self.config.extra_params,
            assertion,
        })
    }

    /// The grant this provider uses for a fresh token.
    pub fn initial_grant(&self) -> Grant {
        match &self.config.provider {
            ProviderConfig::Cxone { access_key, .. } => Grant::Password {
                username: access_key.id.clone(),
                password: access_key.secret.clone(),
            },
            _ => Grant::ClientCredentials,
        }
    }

    /// Obtain a fresh token with the provider's grant, retrying transient failures.
    pub async fn fetch_token(&self) -> Result<Token, Error> {
        self.grant(&self.initial_grant(), None, None).await
    }

    /// Exchange a refresh token (CXone). On `invalid_grant` the caller should fall back to
    /// [`fetch_token`](Self::fetch_token).
    pub async fn refresh(&self, refresh_token: &AccessToken) -> Result<Token, Error> {
        self.grant(&Self::refresh_grant(refresh_token), None, None)
            .await
    }

    fn refresh_grant(refresh_token: &AccessToken) -> Grant {
        Grant::RefreshToken(ClientSecret::new(refresh_token.expose_secret()))
    }

    /// Send `grant`, retrying transient failures (before `deadline` when given, see
    /// [`Held::usable_until`]). `held` is the token the caller holds: like everything the
    /// request carries, it is scrubbed from whatever the server answers.
    async fn grant(
        &self,
        grant: &Grant,
        deadline: Option<SystemTime>,
        held: Option<&Token>,
    ) -> Result<Token, Error> {
        let resolved = self.resolve().await?;
        let http = self.http_for(resolved.auth)?;
        let mut scrub = self.scrubber();
        if let Grant::RefreshToken(rt) = grant {
            scrub = scrub.with_secret(rt, "[token]");
        }
        if let Some(t) = held {
            scrub = scrub.with_token(&t.access_token);
            for t in [&t.refresh_token, &t.id_token].into_iter().flatten() {
                scrub = scrub.with_token(t);
            }
        }
        let scrub = &scrub;
        self.with_retries(deadline, || async move {
            // Every attempt signs anew: a retry never replays a `jti` (SPEC §14).
            let assertion = self.attempt_assertion(resolved).await?;
            let req = self.prepare_with(resolved, grant, assertion.as_ref())?;
            // The assertion is sent like a secret, so it is scrubbed like one.
            let scrub = match &assertion {
                Some(a) => scrub.clone().with_secret(a.jwt(), "[client-assertion]"),
                None => scrub.clone(),
            };
            let raw = http::send(http, &req, self.trace(), &scrub).await?;
            let token =
                parse_response(&raw, self.clock.now(), self.config.default_lifetime, &scrub)?;
            if let (true, Some(id)) = (resolved.auth.uses_tls(), &self.config.keys.tls) {
                crate::auth::tls::check_cnf(&token.access_token, &id.cert)?;
            }
            Ok(token)
        })
        .await
        .map_err(|e| self.explain(e))
    }

    /// Everything this client sends to authenticate, to be taken out of server text: the
    /// client secret in all its encodings and both Basic forms, and the CXone access key
    /// secret.
    pub fn scrubber(&self) -> Scrubber {
        let s = Scrubber::for_client(&self.config.client_id, &self.config.client_secret);
        match &self.config.provider {
            ProviderConfig::Cxone { access_key, .. } => {
                s.with_secret(&access_key.secret, "[access-key-secret]")
            }
            _ => s,
        }
    }

    /// What a human needs besides the failure itself: the provider's hint, and for
    /// `invalid_client` the fingerprint of the secret that was presented.
    fn explain(&self, mut e: Error) -> Error {
        let secret_based = self.resolved.get().is_none_or(|r| r.auth.uses_secret());
        if e.kind == ErrorKind::InvalidClient && secret_based && self.config.has_secret() {
            e.presented_secret = Some(self.config.client_secret.fingerprint());
        }
        if e.kind == ErrorKind::InvalidClient {
            let method = self.resolved.get().map(|r| r.auth);
            if !secret_based {
                e.presented_key = method.and_then(|m| self.config.keys.presented(m));
            }
            if let Some(h) = method.and_then(crate::auth::key_refused_hint) {
                e.hint = Some(h.to_owned());
            }
        }
        if e.hint.is_none() {
            e.hint = self.config.kind().hint(e.kind).map(str::to_owned);
        }
        e
    }

    /// The API base for this token: configured, derived from the region, or (CXone)
    /// looked up from the token's `tenantId`.
    pub async fn api_base(&self, token: &Token) -> Result<Option<Url>, Error> {
        let resolved = self.resolve().await?;
        if resolved.api_base.is_some() {
            return Ok(resolved.api_base.clone());
        }
        let ProviderConfig::Cxone { issuer, .. } = &self.config.provider else {
            return Ok(None);
        };
        let tenant = cxone::tenant_id(token).ok_or_else(|| {
            Error::unexpected(
                None,
                "the CXone token carries no tenantId claim; give --api-base",
            )
        })?;
        let url = cxone::configuration_url(issuer, &tenant);
        let raw = self
            .with_retries(None, || async {
                http::get(self.http()?, &url, self.trace(), &self.scrubber()).await
            })
            .await?;
        if !(200..300).contains(&raw.status) {
            return Err(Error::unexpected(
                Some(raw.status),
                format!("cxone-configuration lookup for tenant {tenant} failed"),
            ));
        }
        cxone::parse_api_endpoint(&raw.body).map(Some)
    }
}

impl Fetch for Client {
    /// A refresh-token grant when `current` carries a refresh token (falling back to a new
    /// grant when it is refused), the provider's grant otherwise.
    fn fetch<'a>(&'a self, held: Held<'a>) -> BoxFuture<'a, Result<Token, Error>> {
        Box::pin(async move {
            let deadline = held.usable_until;
            if let Some(rt) = held.token.and_then(|t| t.refresh_token.as_ref()) {
                match self
                    .grant(&Self::refresh_grant(rt), deadline, held.token)
                    .await
                {
                    Ok(t) => return Ok(t),
                    Err(e) if e.kind == ErrorKind::InvalidGrant => {
                        tracing::debug!("refresh token refused; requesting a new grant");
                    }
                    Err(e) => return Err(e),
                }
            }
            self.grant(&self.initial_grant(), deadline, held.token)
                .await
        })
    }
}

fn origin(u: &Url) -> Option<Url> {
    let mut o = u.clone();
    o.set_path("/");
    o.set_query(None);
    o.set_fragment(None);
    Some(o)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
