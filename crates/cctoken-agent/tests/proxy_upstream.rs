//! A hostile API behind the proxy: one that announces a huge body in `Content-Length`
//! and then sends nothing (the tool gets 502 at once, and the proxy hangs up without
//! reading), one that streams far more than the proxy relays without announcing it (the
//! response is cut off at the cap, and the proxy stops reading), and an honest one whose
//! body, just under the cap, passes through whole with its `Content-Length`.
//!
//! The upstreams are raw TCP servers on loopback that write exactly the bytes a test
//! scripts; every write loop is bounded in bytes and every wait by [`PATIENCE`].

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use cctoken::clock;
use cctoken_agent::registry::Registry;
use cctoken_agent::{proxy, AgentKey};
use common::{over_tcp, raw_exchange, request, Fake, Server, PATIENCE};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use url::Url;

/// The proxy's body cap in these tests.
const CAP: usize = 64 * 1024;
/// The most a streaming upstream tries to send: far beyond the cap and any socket buffer.
const FLOOD: usize = 256 * 1024 * 1024;

/// Read a request head from `s` (bounded); the request is not looked at.
async fn read_head(s: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// An upstream that serves one connection with `script`, which returns what it observed.
fn upstream<F, Fut>(listener: TcpListener, script: F) -> JoinHandle<usize>
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = usize> + Send,
{
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("the proxy connects");
        read_head(&mut s).await;
        script(s).await
    })
}

/// A proxy for a [`Fake`] profile in front of `addr`, relaying at most [`CAP`] bytes.
async fn proxy_to(addr: SocketAddr) -> (Server, String) {
    let fake = Fake::new("proxy-upstream-token", clock::system());
    let mut registry = Registry::new(clock::system());
    registry.add("p", fake.fetcher(), None);
    let profile = registry.get("p").expect("the profile").clone();
    let key = AgentKey::generate();
    let base = Url::parse(&format!("http://{addr}/")).expect("a base");
    let router = proxy::app_with(profile, clock::system(), base, key.clone(), CAP).unwrap();
    (
        Server::tcp(router).await,
        format!("Bearer {}", key.expose_secret()),
    )
}

/// `GET path` through the proxy `p` as a tool with the agent key.
async fn get(p: &Server, auth: &str, path: &str) -> common::Resp {
    let host = p.host();
    let headers = [("host", host.as_str()), ("authorization", auth)];
    over_tcp(p.addr, request(Method::GET, path, &headers, b"")).await
}

async fn loopback() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("address");
    (l, addr)
}

async fn finished(task: JoinHandle<usize>, what: &str) -> usize {
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap_or_else(|_| panic!("{what}: the proxy never hung up on the upstream"))
        .expect("the upstream does not panic")
}

#[tokio::test]
async fn an_announced_oversized_response_is_502_before_it_is_read() {
    let (listener, addr) = loopback().await;
    // Announces a gigabyte, sends none of it, and waits for the proxy to hang up.
    let up = upstream(listener, |mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return 0,
                Ok(_) => {}
            }
        }
    });
    let (p, auth) = proxy_to(addr).await;
    let r = get(&p, &auth, "/big").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    let e = r.json();
    assert_eq!(e["error"], "bad_gateway", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("larger than"),
        "{e}"
    );
    finished(up, "an announced gigabyte").await;
    p.stop().await.unwrap();
}

#[tokio::test]
async fn an_unannounced_oversized_response_is_cut_off_at_the_cap() {
    let (listener, addr) = loopback().await;
    // Streams chunks until the proxy stops reading (its writes fail) or FLOOD is sent.
    let up = upstream(listener, |mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
        let mut sent = 0;
        while sent < FLOOD {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
            sent += 0x4000;
        }
        sent
    });
    let (p, auth) = proxy_to(addr).await;
    let s = TcpStream::connect(p.addr).await.unwrap();
    let req = format!(
        "GET /stream HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        p.host()
    );
    let (status, text) = raw_exchange(s, &req).await;
    assert_eq!(status, 200, "{}", &text[..text.len().min(300)]);
    let body = &text[text.find("\r\n\r\n").expect("a head") + 4..];
    let relayed = body.bytes().filter(|b| *b == b'x').count();
    assert!(relayed <= CAP, "{relayed} bytes relayed, the cap is {CAP}");
    assert!(
        !body.ends_with("0\r\n\r\n"),
        "the cut-off response must not look complete"
    );
    let sent = finished(up, "a streamed flood").await;
    assert!(sent < FLOOD, "the proxy read all {sent} bytes");
    p.stop().await.unwrap();
}

#[tokio::test]
async fn a_response_within_the_cap_passes_whole_with_its_length() {
    let (listener, addr) = loopback().await;
    let payload = Arc::new("y".repeat(CAP));
    let sent = payload.clone();
    let up = upstream(listener, move |mut s| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
            sent.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(sent.as_bytes()).await.unwrap();
        sent.len()
    });
    let (p, auth) = proxy_to(addr).await;
    let r = get(&p, &auth, "/fits").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-length"), Some(CAP.to_string().as_str()));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.body, *payload);
    assert_eq!(finished(up, "an honest upstream").await, CAP);
    p.stop().await.unwrap();
}
