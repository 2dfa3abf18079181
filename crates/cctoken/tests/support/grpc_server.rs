//! A small gRPC server that accepts only the tokens of one OAuth2 issuer — the stand-in for
//! "your gRPC API" in the integration tests and the `tonic_client` example.
//!
//! It serves the standard gRPC health service (`grpc.health.v1.Health`; `tonic-health`
//! ships its generated code, so there is no protoc and no build script) behind
//! [`AuthLayer`], a tower layer that checks the bearer token of every call before the
//! service sees it. A missing, malformed, foreign, expired or inactive token is answered
//! `UNAUTHENTICATED`; an issuer that cannot be asked is `UNAVAILABLE`. The reason goes in
//! the status message, never a token byte.
//!
//! Two ways to check a token, as resource servers do ([`Verifier`]):
//! - JWKS: ES256 JWT access tokens (RFC 9068) verified against the issuer's published keys,
//!   fetched once at start: signature, `typ`, `iss` and `exp`. No round trip per call.
//! - Introspection (RFC 7662): ask the issuer about every token and accept `active: true`.
//!   Sees a revocation at once, at the cost of a round trip per call. The cctoken emulator
//!   only tells a client about its own tokens, so here the server introspects with the
//!   calling client's credentials; a real resource server would have its own.
//!
//! It is test support, deliberately small: no key rotation, no audience or scope policy, no
//! caching of introspection answers.

// Shared by a test crate and an example, each of which uses a different part of it.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cctoken::secret::ClientSecret;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::Status;
use tonic_health::ServingStatus;
use tower::{Layer, Service};

/// Errors while setting the server up (fetching metadata or keys, binding).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The service name the server reports as `SERVING` (besides the overall `""`).
pub const SERVICE: &str = "cctoken.example.Protected";

/// How the server decides that a bearer token is one of the issuer's.
#[derive(Clone)]
pub struct Verifier(Arc<Check>);

enum Check {
    Jwks {
        issuer: String,
        keys: Vec<(String, VerifyingKey)>,
    },
    Introspection {
        http: reqwest::Client,
        url: String,
        client_id: String,
        client_secret: ClientSecret,
    },
}

/// Why a call was refused.
#[derive(Debug)]
enum Refusal {
    Unauthenticated(String),
    Unavailable(String),
}

impl Verifier {
    /// Verify ES256 JWTs against the JWKS named in `issuer`'s RFC 8414 metadata.
    pub async fn jwks(issuer: &str) -> Result<Self, BoxError> {
        let meta = metadata(issuer).await?;
        let jwks_uri = meta["jwks_uri"]
            .as_str()
            .ok_or("metadata without jwks_uri")?;
        let jwks = get_json(jwks_uri).await?;
        let mut keys = Vec::new();
        for k in jwks["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(x), Some(y)) =
                (k["kid"].as_str(), k["x"].as_str(), k["y"].as_str())
            else {
                continue;
            };
            if k["kty"] != "EC" || k["crv"] != "P-256" {
                continue;
            }
            let mut sec1 = vec![4u8]; // uncompressed point: 04 || x || y
            sec1.extend(URL_SAFE_NO_PAD.decode(x)?);
            sec1.extend(URL_SAFE_NO_PAD.decode(y)?);
            keys.push((kid.to_owned(), VerifyingKey::from_sec1_bytes(&sec1)?));
        }
        if keys.is_empty() {
            return Err(format!("no P-256 key at {jwks_uri}").into());
        }
        let issuer = meta["issuer"].as_str().unwrap_or(issuer).to_owned();
        Ok(Self(Arc::new(Check::Jwks { issuer, keys })))
    }

    /// Introspect every token at the endpoint named in `issuer`'s RFC 8414 metadata,
    /// authenticating with `client_secret_post`.
    pub async fn introspection(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Self, BoxError> {
        let meta = metadata(issuer).await?;
        let url = meta["introspection_endpoint"]
            .as_str()
            .ok_or("metadata without introspection_endpoint")?;
        Ok(Self(Arc::new(Check::Introspection {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: ClientSecret::new(client_secret),
        })))
    }

    async fn check(&self, headers: &http::HeaderMap) -> Result<(), Refusal> {
        let token = bearer(headers).ok_or_else(|| {
            Refusal::Unauthenticated("no bearer token in the authorization metadata".into())
        })?;
        match &*self.0 {
            Check::Jwks { issuer, keys } => {
                verify_jwt(issuer, keys, token, unix_now()).map_err(Refusal::Unauthenticated)
            }
            Check::Introspection {
                http,
                url,
                client_id,
                client_secret,
            } => {
                let form = [
                    ("token", token),
                    ("token_type_hint", "access_token"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose_secret()),
                ];
                let unavailable = |e: reqwest::Error| {
                    Refusal::Unavailable(format!("introspection failed: {}", e.without_url()))
                };
                let resp = http
                    .post(url)
                    .form(&form)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if !resp.status().is_success() {
                    return Err(Refusal::Unavailable(format!(
                        "introspection answered {}",
                        resp.status()
                    )));
                }
                let body = resp.bytes().await.map_err(unavailable)?;
                let answer: Value = serde_json::from_slice(&body)
                    .map_err(|_| Refusal::Unavailable("introspection answer is not JSON".into()))?;
                if answer["active"] == true {
                    Ok(())
                } else {
                    Err(Refusal::Unauthenticated("token is not active".into()))
                }
            }
        }
    }
}

async fn get_json(url: &str) -> Result<Value, BoxError> {
    let body = reqwest::get(url).await?.error_for_status()?.bytes().await?;
    Ok(serde_json::from_slice(&body)?)
}

async fn metadata(issuer: &str) -> Result<Value, BoxError> {
    let issuer = issuer.trim_end_matches('/');
    get_json(&format!("{issuer}/.well-known/oauth-authorization-server")).await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn b64_json(part: &str, what: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("JWT {what} is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| format!("JWT {what} is not JSON"))
}

/// Verify an RFC 9068 access token: JWS compact form, ES256 by a known key, `typ`, `iss`,
/// `exp`. The messages name what failed and never include the token.
fn verify_jwt(
    issuer: &str,
    keys: &[(String, VerifyingKey)],
    token: &str,
    now: u64,
) -> Result<(), String> {
    let (signed, sig) = token.rsplit_once('.').ok_or("not a JWT")?;
    let (header, claims) = signed.split_once('.').ok_or("not a JWT")?;
    let header = b64_json(header, "header")?;
    if header["alg"] != "ES256" {
        return Err("JWT alg is not ES256".into());
    }
    if !matches!(
        header["typ"].as_str(),
        Some("at+jwt" | "application/at+jwt")
    ) {
        return Err("JWT typ is not at+jwt".into());
    }
    let kid = header["kid"].as_str().ok_or("JWT without kid")?;
    let (_, key) = keys
        .iter()
        .find(|(k, _)| k == kid)
        .ok_or("JWT signed by an unknown key")?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .ok()
        .and_then(|s| Signature::from_slice(&s).ok())
        .ok_or("JWT signature is malformed")?;
    key.verify(signed.as_bytes(), &sig)
        .map_err(|_| "JWT signature does not verify")?;
    let claims = b64_json(claims, "claims")?;
    if claims["iss"] != issuer {
        return Err("JWT from another issuer".into());
    }
    match claims["exp"].as_u64() {
        Some(exp) if exp > now => Ok(()),
        Some(_) => Err("JWT expired".into()),
        None => Err("JWT without exp".into()),
    }
}

/// A tower layer that lets through only calls whose bearer token the [`Verifier`] accepts.
#[derive(Clone)]
pub struct AuthLayer {
    verifier: Verifier,
}

impl AuthLayer {
    /// Guard with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service produced by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B, RB> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    RB: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // Call the service poll_ready prepared, leave a clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match verifier.check(req.headers()).await {
                Ok(()) => inner.call(req).await,
                Err(Refusal::Unauthenticated(why)) => Ok(Status::unauthenticated(why).into_http()),
                Err(Refusal::Unavailable(why)) => Ok(Status::unavailable(why).into_http()),
            }
        })
    }
}

/// Serve the guarded health service on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    verifier: Verifier,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(SERVICE, ServingStatus::Serving)
        .await;
    tonic::transport::Server::builder()
        .layer(AuthLayer::new(verifier))
        .add_service(health)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}

/// A guarded server running in the background on `127.0.0.1`.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, for `Channel::from_shared`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let in-flight calls finish, and wait for the server.
    pub async fn shutdown(self) -> Result<(), BoxError> {
        let _ = self.stop.send(()); // the server may already have stopped
        self.task.await??;
        Ok(())
    }
}

/// Bind `127.0.0.1:0` and [`serve`] in the background.
pub async fn spawn(verifier: Verifier) -> Result<Running, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, verifier, async {
        let _ = stopped.await; // a dropped sender also means stop
    }));
    Ok(Running { addr, stop, task })
}
