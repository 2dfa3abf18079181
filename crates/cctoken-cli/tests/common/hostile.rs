//! A small hostile HTTP/1.1 server on loopback for the CLI's security tests: every
//! request is answered by a closure over its raw text (so it can echo the request in an
//! `error_description`, an HTML title or text/plain), and recorded. Threads, bounded:
//! each connection reads at most 64 KiB and times out; the server stops when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Status, content type, body.
pub type Answer = (u16, &'static str, String);

pub struct Hostile {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    pub fn start(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt, answer) = (seen.clone(), stop.clone(), Arc::new(answer));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (log, answer) = (log.clone(), answer.clone());
                std::thread::spawn(move || serve(stream, &*answer, &log));
            }
        });
        Self { addr, seen, stop }
    }

    /// A server that echoes the whole request in `shape`.
    pub fn echo(shape: fn(&str) -> Answer) -> Self {
        Self::start(shape)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

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

fn serve(mut stream: TcpStream, answer: &dyn Fn(&str) -> Answer, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
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
    if buf.is_empty() {
        return;
    }
    let request = String::from_utf8_lossy(&buf).into_owned();
    log.lock().unwrap().push(request.clone());
    let (status, ct, body) = answer(&request);
    let out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(out.as_bytes());
}

/// The request as one line that survives inside a JSON string or an HTML title.
pub fn flat(req: &str) -> String {
    req.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\r', '\n'], " ")
}

/// The hostile shapes of an error answer that repeats the request.
pub const ECHO_SHAPES: [fn(&str) -> Answer; 4] = [
    |r| {
        (
            401,
            "application/json",
            format!(
                r#"{{"error":"invalid_client","error_description":"you sent {}"}}"#,
                flat(r)
            ),
        )
    },
    |r| {
        (
            400,
            "text/html",
            format!("<html><head><title>{}</title></head></html>", flat(r)),
        )
    },
    |r| (400, "text/plain", r.to_owned()),
    |r| {
        (
            503,
            "application/json",
            format!(
                r#"{{"error":"temporarily_unavailable","error_description":"{}"}}"#,
                flat(r)
            ),
        )
    },
];
