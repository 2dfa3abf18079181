//! A small hostile HTTP/1.1 server on loopback for security tests: it answers every
//! request with whatever a test's closure makes of the raw request text (an echo in an
//! `error_description`, an HTML title, text/plain), drips its body a byte at a time, or
//! answers bytes that are not HTTP.
//! It records every request it saw.
//!
//! One server for the library's tests (`tests/hostile_servers.rs`) and the CLI's (which
//! include this file by path): plain threads, so a blocking test that runs the binary and
//! an async one use it alike. Bounded: a connection reads at most 64 KiB, times out, and
//! drips for at most a minute; the server stops accepting when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one connection may take to send its request, or the server to write its
/// answer (and, for a drip, how long the drip lasts at most).
const CONNECTION_LIMIT: Duration = Duration::from_secs(60);

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
    /// Read what the client sends first (one read: a request head or a TLS ClientHello),
    /// answer these bytes whatever it was, and close.
    Raw(&'static [u8]),
}

/// A running hostile server.
pub struct Hostile {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    /// A server on `127.0.0.1`, port 0.
    pub fn start(behaviour: Behaviour) -> Self {
        Self::start_on("127.0.0.1:0", behaviour).expect("bind loopback")
    }

    /// A server bound to `bind` (e.g. `[::1]:0`, which a machine without IPv6 refuses).
    pub fn start_on(bind: &str, behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (b, log) = (behaviour.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &b, &log));
            }
        });
        Ok(Self { addr, seen, stop })
    }

    /// A server that answers every request with `answer` of it.
    pub fn answering(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        Self::start(Behaviour::Answer(Arc::new(answer)))
    }

    /// A server that echoes the whole request in `shape` (one of [`ECHO_SHAPES`]).
    pub fn echo(shape: fn(&str) -> Answer) -> Self {
        Self::answering(shape)
    }

    /// `http://ADDR` with the given path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request seen so far, head and body, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Read one request: the head, then as many body bytes as `Content-Length` says (at most
/// 64 KiB in all). None when the peer sent nothing.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
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
    (!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned())
}

fn serve(mut stream: TcpStream, behaviour: &Behaviour, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(CONNECTION_LIMIT));
    let _ = stream.set_write_timeout(Some(CONNECTION_LIMIT));
    if let Behaviour::Raw(bytes) = behaviour {
        let mut first = [0u8; 4096];
        if let Ok(n) = stream.read(&mut first) {
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&first[..n]).into_owned());
            let _ = stream.write_all(bytes);
            // Drain what else the client sends (a request body) before closing: closing
            // with unread bytes resets the connection, and the client would see that.
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut sink = [0u8; 4096];
            for _ in 0..16 {
                if !matches!(stream.read(&mut sink), Ok(n) if n > 0) {
                    break;
                }
            }
        }
        return;
    }
    let Some(request) = read_request(&mut stream) else {
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
            let _ = stream.write_all(out.as_bytes());
        }
        Behaviour::Drip { every, max } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {max}\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let end = Instant::now() + CONNECTION_LIMIT;
            for _ in 0..*max {
                std::thread::sleep(*every);
                if Instant::now() > end || stream.write_all(b" ").is_err() {
                    return;
                }
            }
        }
        Behaviour::Raw(_) => {}
    }
}

/// The request as one line that survives inside a JSON string or an HTML title.
pub fn flat(req: &str) -> String {
    req.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\r', '\n'], " ")
}

/// The hostile shapes of an error answer that repeats the request: permanent ones
/// (JSON `invalid_client`, an HTML title, text/plain), then a transient one (503).
pub const ECHO_SHAPES: [fn(&str) -> Answer; 4] = [
    |r| {
        Answer::new(
            401,
            "application/json",
            format!(
                r#"{{"error":"invalid_client","error_description":"you sent {}"}}"#,
                flat(r)
            ),
        )
    },
    |r| {
        Answer::new(
            400,
            "text/html",
            format!("<html><head><title>{}</title></head></html>", flat(r)),
        )
    },
    |r| Answer::new(400, "text/plain", r),
    |r| {
        Answer::new(
            503,
            "application/json",
            format!(
                r#"{{"error":"temporarily_unavailable","error_description":"{}"}}"#,
                flat(r)
            ),
        )
    },
];
