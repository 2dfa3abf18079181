//! Parsing of token-endpoint responses into [`Token`] or [`Error`].
//!
//! Everything an [`Error`] says about a response is server text: before any of it is
//! read, the values cctoken sent are taken out of the body ([`Scrubber`]), and the error
//! built from it is scrubbed again (for echoes the JSON decoding only revealed).

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::{Token, DEFAULT_LIFETIME};
use crate::error::{excerpt, Class, Error, ErrorKind};
use crate::scrub::Scrubber;
use crate::secret::AccessToken;

/// What the HTTP layer received, without interpretation.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Longest `Retry-After` we accept from a server before capping it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Interpret a token-endpoint response received at `now`. Errors carry no hint: the
/// provider's hint is attached by the client, which knows the provider. `scrub` knows
/// what the request carried; nothing of it survives into an error.
pub fn parse_response(
    resp: &RawResponse,
    now: SystemTime,
    default_lifetime: Option<Duration>,
    scrub: &Scrubber,
) -> Result<Token, Error> {
    let success = (200..300).contains(&resp.status);
    let lifetime = default_lifetime.unwrap_or(DEFAULT_LIFETIME);
    if success {
        if let Ok(token) = parse_success(resp, now, lifetime) {
            return Ok(token);
        }
    }
    let clean = RawResponse {
        body: scrub
            .scrub_known(&String::from_utf8_lossy(&resp.body))
            .into_bytes(),
        ..resp.clone()
    };
    let e = if success {
        parse_success(&clean, now, lifetime)
            .err()
            .unwrap_or_else(|| {
                Error::unexpected(
                    Some(resp.status),
                    "an unusable token response (it repeats what cctoken sent)",
                )
            })
    } else {
        parse_failure(&clean, now)
    };
    Err(scrub.error(e))
}

fn parse_json_object(resp: &RawResponse) -> Result<Map<String, Value>, Error> {
    let text = String::from_utf8_lossy(&resp.body);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Error::unexpected(Some(resp.status), "empty body"));
    }
    if trimmed.starts_with('<') {
        return Err(Error::unexpected(
            Some(resp.status),
            format!("an HTML page instead of JSON{}", html_title(trimmed)),
        ));
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::unexpected(
            Some(resp.status),
            format!("JSON {} instead of an object", json_type(&other)),
        )),
        Err(e) if e.is_eof() => Err(Error::unexpected(
            Some(resp.status),
            format!(
                "truncated JSON ({} bytes; the connection was cut or a proxy shortened the body)",
                resp.body.len()
            ),
        )),
        Err(e) => Err(Error::unexpected(
            Some(resp.status),
            format!(
                "not JSON (content-type {}, line {} column {}): {}",
                resp.content_type.as_deref().unwrap_or("none"),
                e.line(),
                e.column(),
                excerpt(trimmed, 60)
            ),
        )),
    }
}

fn html_title(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let Some(start) = lower.find("<title>") else {
        return String::new();
    };
    let rest = &html[start + 7..];
    let end = rest
        .to_ascii_lowercase()
        .find("</title>")
        .unwrap_or(rest.len());
    format!(" (title: \"{}\")", excerpt(&rest[..end], 80))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn opt_string(m: &Map<String, Value>, key: &str, status: u16) -> Result<Option<String>, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::unexpected(
            Some(status),
            format!(
                "'{key}' is a {} where a string was expected",
                json_type(other)
            ),
        )),
    }
}

fn parse_success(resp: &RawResponse, now: SystemTime, default: Duration) -> Result<Token, Error> {
    let status = resp.status;
    let m = parse_json_object(resp)?;
    // Some servers answer 200 with an error object.
    if let Some(Value::String(_)) = m.get("error") {
        if !m.contains_key("access_token") {
            return Err(oauth_error(resp, &m, now));
        }
    }
    let access_token = match opt_string(&m, "access_token", status)? {
        Some(t) if !t.is_empty() => AccessToken::new(t),
        Some(_) => return Err(Error::unexpected(Some(status), "'access_token' is empty")),
        None => {
            return Err(Error::unexpected(
                Some(status),
                "a 2xx answer without 'access_token' (is this really the token endpoint?)",
            ))
        }
    };
    let token_type = match opt_string(&m, "token_type", status)? {
        None => super::BEARER,
        Some(t) if t.eq_ignore_ascii_case("bearer") => super::BEARER,
        Some(t) => {
            return Err(Error::unexpected(
                Some(status),
                format!(
                    "token_type '{}' is not supported (only Bearer)",
                    excerpt(&t, 20)
                ),
            ))
        }
    };
    let (expires_in, defaulted) = match m.get("expires_in") {
        None | Some(Value::Null) => (default, true),
        Some(v) => (parse_expires_in(v, status)?, false),
    };
    let scope = opt_string(&m, "scope", status)?.map(Into::into);
    let refresh_token = opt_string(&m, "refresh_token", status)?.map(AccessToken::new);
    let id_token = opt_string(&m, "id_token", status)?.map(AccessToken::new);
    Ok(Token {
        access_token,
        token_type,
        issued_at: now,
        expires_in,
        expires_in_defaulted: defaulted,
        scope,
        refresh_token,
        id_token,
    })
}

fn parse_expires_in(v: &Value, status: u16) -> Result<Duration, Error> {
    let secs = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s.is_finite() && (0.0..1e10).contains(&s) => Ok(Duration::from_secs(s as u64)),
        _ => Err(Error::unexpected(
            Some(status),
            format!(
                "'expires_in' must be a non-negative number of seconds, got {}",
                excerpt(&v.to_string(), 30)
            ),
        )),
    }
}

fn parse_retry_after(v: Option<&str>, now: SystemTime) -> Option<Duration> {
    retry_after(v?, now).map(|d| d.min(MAX_RETRY_AFTER))
}

/// A `Retry-After` value received at `now` — delay-seconds or an HTTP date — as the wait
/// it asks for, uncapped (an API's daily quota may ask for hours); `None` when it is
/// neither. A date in the past is no wait.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate_parse(v)?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn httpdate_parse(v: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(v).ok().or_else(|| {
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        let parts: Vec<&str> = v.split_whitespace().collect();
        if parts.len() != 6 {
            return None;
        }
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .position(|m| *m == parts[2])?
            + 1;
        let s = format!(
            "{}-{:02}-{:02}T{}Z",
            parts[3],
            month,
            parts[1].parse::<u32>().ok()?,
            parts[4]
        );
        humantime::parse_rfc3339(&s).ok()
    })
}

fn parse_failure(resp: &RawResponse, now: SystemTime) -> Error {
    let status = resp.status;
    let retry_after = parse_retry_after(resp.retry_after.as_deref(), now);
    let mut err = match parse_json_object(resp) {
        Ok(m) if m.contains_key("error") || m.contains_key("message") => oauth_error(resp, &m, now),
        Ok(_) | Err(_) => {
            let shape = match parse_json_object(resp) {
                Ok(_) => "a JSON body without 'error'".to_owned(),
                Err(e) => e.message,
            };
            status_only_error(status, shape)
        }
    };
    if err.retry_after.is_none() {
        err.retry_after = retry_after;
    }
    err
}

fn status_only_error(code: u16, shape: String) -> Error {
    let status = Some(code);
    match code {
        429 => Error::rate_limited(status, format!("too many requests ({shape})")),
        401 | 403 => Error::rejected(
            ErrorKind::InvalidClient,
            status,
            format!("authentication failed ({shape})"),
        ),
        500..=599 => Error::server_error(status, format!("server error ({shape})")),
        404 | 405 => Error::rejected(
            ErrorKind::UnexpectedResponse,
            status,
            format!("no token endpoint at this URL ({shape}); check the token URL or region"),
        ),
        _ => Error::rejected(ErrorKind::UnexpectedResponse, status, shape),
    }
}

fn oauth_error(resp: &RawResponse, m: &Map<String, Value>, now: SystemTime) -> Error {
    let status = resp.status;
    let code = m.get("error").and_then(Value::as_str).unwrap_or("");
    let description = ["error_description", "description", "message"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str))
        .filter(|d| !d.is_empty())
        .map(|d| excerpt(d, 200));
    let rate_limit_text = description
        .as_deref()
        .is_some_and(|d| d.to_ascii_lowercase().starts_with("rate limit exceeded"));
    let (kind, class) = if status == 429 || rate_limit_text {
        // Genesys answers its token-endpoint rate limit with 400 invalid_request.
        (ErrorKind::RateLimited, Class::Transient)
    } else if status >= 500 {
        (ErrorKind::ServerError, Class::Transient)
    } else {
        match ErrorKind::from_oauth_code(code) {
            Some(k @ (ErrorKind::ServerError | ErrorKind::RateLimited)) => (k, Class::Transient),
            Some(k) => (k, Class::Permanent),
            None if status == 401 => (ErrorKind::InvalidClient, Class::Permanent),
            None => (ErrorKind::UnexpectedResponse, Class::Permanent),
        }
    };
    let message = match (&description, code) {
        (Some(d), "") => d.clone(),
        (Some(d), c) => format!("server said {} — {d}", excerpt(c, 40)),
        (None, "") => "the server refused the request without an error code".to_owned(),
        (None, c) => format!("server said {}", excerpt(c, 40)),
    };
    let mut err = Error::new(kind, class, message).with_status(Some(status));
    err.retry_after = parse_retry_after(resp.retry_after.as_deref(), now).or_else(|| {
        // Genesys' token endpoint says how long in its description, not in a header.
        (kind == ErrorKind::RateLimited)
            .then(|| description.as_deref().and_then(wait_in_text))
            .flatten()
    });
    err.description = description;
    err
}

/// A wait a server wrote into its message: the first number followed by a unit of seconds
/// (`retry after 20 seconds`, `Retry the request in [42] seconds`, `try again in 5s`),
/// capped like `Retry-After`. Minutes count too (`in 2 minutes`).
pub(crate) fn wait_in_text(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let n: u64 = lower[start..i].parse().unwrap_or(u64::MAX);
        let rest = lower[i..].trim_start_matches([']', ')', ' ']);
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let secs = match word.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => n,
            "m" | "min" | "mins" | "minute" | "minutes" => n.saturating_mul(60),
            _ => continue,
        };
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    None
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
