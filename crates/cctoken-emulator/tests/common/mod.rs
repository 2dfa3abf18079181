//! Helpers for the emulator's integration tests: in-process requests and a raw HTTP client.
#![allow(dead_code)]

pub mod jws;
pub mod live;
pub mod pki;

use axum::body::Body;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cctoken_emulator::{app, AppState, EmulatorConfig, Flavor};
use http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt as _;

pub const DEMO_SECRET: &str = "demo+s3cret/=%&";

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// An in-process emulator.
pub struct Emu {
    pub state: AppState,
    pub router: Router,
}

impl Emu {
    pub fn new(config: EmulatorConfig) -> Self {
        let state = AppState::new(config);
        Self::from_state(state)
    }
    pub fn from_state(state: AppState) -> Self {
        state.set_base_url("http://emu.test");
        let router = app(state.clone());
        Emu { state, router }
    }
    pub fn demo(flavor: Flavor) -> Self {
        Self::new(EmulatorConfig::new(flavor).with_demo())
    }
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 10 << 20)
            .await
            .expect("body")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }
    /// POST a form body with optional Authorization header.
    pub async fn post(&self, path: &str, auth: Option<String>, body: &str) -> Answer {
        let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        self.send(b.body(Body::from(body.to_owned())).unwrap())
            .await
    }
    pub async fn token(&self, auth: Option<String>, body: &str) -> Answer {
        self.post("/oauth/token", auth, body).await
    }
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut b = Request::get(path);
        if let Some(t) = bearer {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }
    pub async fn request(&self, method: &str, path: &str, bearer: Option<&str>) -> Answer {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = bearer {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }
    /// The reason of the newest activity entry.
    pub fn last_reason(&self) -> String {
        self.state
            .activity()
            .last()
            .map(|e| e.reason.clone())
            .unwrap_or_default()
    }
    pub fn last_entry(&self) -> cctoken_emulator::ActivityEntry {
        self.state
            .activity()
            .last()
            .cloned()
            .expect("an activity entry")
    }
    /// A demo token (generic/genesys).
    pub async fn demo_token(&self) -> String {
        let a = self
            .token(
                Some(basic_rfc("demo-client", DEMO_SECRET)),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a.json()["access_token"].as_str().unwrap().to_owned()
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// RFC 6749 §2.3.1 Basic: form-urlencode id and secret, then base64.
pub fn basic_rfc(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret)))
    )
}

/// Basic without the form-urlencoding step (what the Genesys SDKs send).
pub fn basic_raw(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A form body from pairs, encoded here (not by the client library).
pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A raw HTTP/1.1 exchange over loopback: `Err` when the connection was reset.
pub async fn raw_http(addr: std::net::SocketAddr, request: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A raw token request (Connection: close).
pub fn raw_token_request(auth: &str, body: &str) -> String {
    format!(
        "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
