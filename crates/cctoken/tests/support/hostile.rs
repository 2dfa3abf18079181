//! A small hostile HTTP/1.1 server on loopback for security tests: it answers every
//! request with whatever a test's closure makes of the raw request text (an echo in an
//! `error_description`, an HTML title, text/plain), or drips its body a byte at a time.
//! It records every request it saw. It stops when dropped; every connection is bounded in
//! bytes read and in time.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An answer: status, content type and body.
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
        }
    }
}

/// How the server answers.
#[derive(Clone)]
pub enum Behaviour {
    /// Compute the answer from the raw request (head and body).
    Answer(Arc<dyn Fn(&str) -> Answer + Send + Sync>),
    /// Send a head announcing a large body, then one byte every `every`, until the
    /// client goes away (at most `max` bytes).
    Drip { every: Duration, max: usize },
}

/// A running hostile server.
pub struct Hostile {
    pub addr: std::net::SocketAddr,
    pub seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_on("127.0.0.1:0", behaviour)
            .await
            .expect("bind loopback")
    }

    pub async fn start_on(bind: &str, behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (b, log) = (behaviour.clone(), log.clone());
                tokio::spawn(async move {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(60), serve(stream, b, log)).await;
                });
            }
        });
        Ok(Self { addr, seen, task })
    }

    /// `http://ADDR` with the given path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Read one request: the head, then as many body bytes as `Content-Length` says (at most
/// 64 KiB in all).
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
        if buf.len() > 64 * 1024 {
            break;
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour, log: Arc<Mutex<Vec<String>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    log.lock().unwrap().push(request.clone());
    match behaviour {
        Behaviour::Answer(f) => {
            let a = f(&request);
            let out = format!(
                "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                a.status,
                a.content_type,
                a.body.len(),
                a.body
            );
            let _ = stream.write_all(out.as_bytes()).await;
        }
        Behaviour::Drip { every, max } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {max}\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..max {
                tokio::time::sleep(every).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
    }
}
