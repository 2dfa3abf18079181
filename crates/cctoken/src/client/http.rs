//! The HTTP exchange: send a [`PreparedRequest`], read the answer into a [`RawResponse`],
//! map transport failures to [`Error`]s, and render the redacted `--trace` view.
//!
//! Redirects are not followed (a redirected POST could carry credentials to another
//! host), bodies are size-limited, and nothing here interprets OAuth semantics.

use std::time::Duration;

use url::Url;

use crate::auth::PreparedRequest;
use crate::error::{excerpt, Error};
use crate::token::RawResponse;

/// Largest response body read from a token or discovery endpoint.
pub const MAX_BODY: usize = 1 << 20;

/// A sink for `--trace` lines (already redacted).
pub type TraceSink = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Build the HTTP client used for token requests.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .user_agent(concat!("cctoken/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

/// Describe a transport failure without secrets (URLs carry none) and with its causes.
pub fn transport_error(e: &reqwest::Error, url: &Url) -> Error {
    let mut causes = Vec::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        src = s.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body was cut off"
    } else {
        "request failed"
    };
    let host = url.host_str().unwrap_or("?");
    let port = url.port_or_known_default().unwrap_or(0);
    let mut msg = format!("{what} ({host}:{port})");
    if !causes.is_empty() {
        msg.push_str(": ");
        msg.push_str(&excerpt(&causes.join(": "), 200));
    }
    if e.is_body() || e.is_decode() {
        Error::unexpected(None, msg)
    } else {
        Error::transport(msg)
    }
}

/// Read a response fully (bounded by [`MAX_BODY`]).
pub async fn read_response(resp: reqwest::Response, url: &Url) -> Result<RawResponse, Error> {
    let status = resp.status().as_u16();
    let header = |name: reqwest::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let mut resp = resp;
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(Error::unexpected(
                        Some(status),
                        format!("response body larger than {MAX_BODY} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_error(&e, url)),
        }
    }
    Ok(RawResponse {
        status,
        content_type,
        retry_after,
        body,
    })
}

/// Send a prepared token request.
pub async fn send(
    http: &reqwest::Client,
    req: &PreparedRequest,
    trace: Option<&TraceSink>,
) -> Result<RawResponse, Error> {
    if let Some(t) = trace {
        t(&format!(
            "> {}",
            req.redacted().trim_end().replace('\n', "\n> ")
        ));
    }
    let mut builder = http.post(req.url.clone());
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.wire());
    }
    let body = req.body();
    builder = builder.body(body.expose_secret().to_owned());
    let resp = builder
        .send()
        .await
        .map_err(|e| transport_error(&e, &req.url))?;
    let raw = read_response(resp, &req.url).await?;
    if let Some(t) = trace {
        t(&trace_response(&raw));
    }
    Ok(raw)
}

/// GET a JSON document (discovery, cxone-configuration).
pub async fn get(
    http: &reqwest::Client,
    url: &Url,
    trace: Option<&TraceSink>,
) -> Result<RawResponse, Error> {
    if let Some(t) = trace {
        t(&format!("> GET {url}"));
    }
    let resp = http
        .get(url.clone())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| transport_error(&e, url))?;
    let raw = read_response(resp, url).await?;
    if let Some(t) = trace {
        t(&trace_response(&raw));
    }
    Ok(raw)
}

/// A response as `--trace` shows it: status, headers of interest, and the JSON body with
/// every token shortened to its first 6 characters.
pub fn trace_response(raw: &RawResponse) -> String {
    let mut out = format!("< HTTP {}", raw.status);
    if let Some(ct) = &raw.content_type {
        out.push_str(&format!("\n< Content-Type: {ct}"));
    }
    if let Some(ra) = &raw.retry_after {
        out.push_str(&format!("\n< Retry-After: {}", excerpt(ra, 40)));
    }
    let body = match serde_json::from_slice::<serde_json::Value>(&raw.body) {
        Ok(serde_json::Value::Object(mut m)) => {
            for (k, v) in m.iter_mut() {
                if k.ends_with("token") || k == "client_secret" {
                    if let Some(s) = v.as_str() {
                        let short: String = s.chars().take(6).collect();
                        *v = serde_json::Value::String(format!("{short}…"));
                    }
                }
            }
            serde_json::Value::Object(m).to_string()
        }
        Ok(_) | Err(_) => excerpt(&String::from_utf8_lossy(&raw.body), 200),
    };
    out.push_str(&format!("\n< {body}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_shortens_tokens() {
        let raw = RawResponse {
            status: 200,
            content_type: Some("application/json".into()),
            retry_after: None,
            body: br#"{"access_token":"abcdefghijklmnop","refresh_token":"zyxwvutsrq","expires_in":3600}"#.to_vec(),
        };
        let t = trace_response(&raw);
        assert!(t.contains("abcdef…"), "{t}");
        assert!(!t.contains("abcdefg"), "{t}");
        assert!(!t.contains("zyxwvutsrq"), "{t}");
    }
}
