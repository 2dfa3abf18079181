//! Scripted faults: what can go wrong on the wire, queued for the next token requests.
//!
//! A [`FaultSpec`] names a kind (5xx status, 429 with `Retry-After`, delay, HTML page,
//! truncated body, connection reset, the flavor's token rate-limit answer) and when it fires:
//! a count, a probability with a seed, a time window, optionally only for one client. The
//! [`FaultEngine`] holds the queue; the token endpoint asks it once per request. With an empty
//! queue that costs one atomic load, so faults never slow down the fast path. This module only
//! decides *which* fault applies; the token endpoint renders it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::duration::DurationField;

/// What a fault does to a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status and a JSON error body.
    Status {
        /// HTTP status, 400–599.
        status: u16,
    },
    /// 429 with `Retry-After`.
    RateLimit {
        /// Seconds in `Retry-After`.
        retry_after: u64,
    },
    /// Wait, then answer normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// An HTML error page (as a proxy or load balancer would send).
    Html {
        /// HTTP status, 400–599.
        status: u16,
    },
    /// 200 with a JSON body cut off in the middle.
    Truncate,
    /// TCP connection reset (RST) before any response.
    Reset,
    /// The flavor's own token rate-limit answer (Genesys: 400 `invalid_request`
    /// "rate limit exceeded; ..."; others: 429 with `Retry-After`).
    TokenRateLimit {
        /// Seconds in `Retry-After` where the flavor sends one.
        retry_after: u64,
    },
}

impl FaultKind {
    /// The `kind` name.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Status { .. } => "status",
            FaultKind::RateLimit { .. } => "rate_limit",
            FaultKind::Delay { .. } => "delay",
            FaultKind::Html { .. } => "html",
            FaultKind::Truncate => "truncate",
            FaultKind::Reset => "reset",
            FaultKind::TokenRateLimit { .. } => "token_rate_limit",
        }
    }
}

/// A fault and the rule for when it fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultSpec {
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many requests it applies to; `None` = unlimited (only with probability or window).
    pub count: Option<u32>,
    /// Chance of firing on each matching request, in (0, 1].
    pub probability: Option<f64>,
    /// Seed for the probability draw (reproducible runs).
    pub seed: Option<u64>,
    /// Only requests of this client id.
    pub client: Option<String>,
    /// Active from this long after it was queued.
    #[serde(skip)]
    pub after: Option<Duration>,
    /// Active until this long after it was queued.
    #[serde(skip)]
    pub until: Option<Duration>,
}

/// A fault description that is not acceptable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FaultError(String);

/// The wire form of a fault (JSON on `/_emulator/faults`, `[[faults]]` in TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    kind: String,
    status: Option<u16>,
    retry_after: Option<u64>,
    ms: Option<u64>,
    count: Option<u32>,
    probability: Option<f64>,
    seed: Option<u64>,
    client: Option<String>,
    after: Option<DurationField>,
    until: Option<DurationField>,
}

const KINDS: &str = "status, rate_limit, delay, html, truncate, reset, token_rate_limit";
const MAX_DELAY_MS: u64 = 120_000;

impl FaultSpec {
    /// `count` faults of `kind` for any client.
    pub fn new(kind: FaultKind, count: u32) -> Self {
        FaultSpec {
            kind,
            count: Some(count),
            probability: None,
            seed: None,
            client: None,
            after: None,
            until: None,
        }
    }

    /// Parse one JSON object or an array of them, e.g. `{"kind":"status","status":503,"count":2}`.
    pub fn from_json(text: &str) -> Result<Vec<FaultSpec>, FaultError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| FaultError(format!("fault body is not JSON: {e}")))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            other @ serde_json::Value::Object(_) => vec![other],
            _ => {
                return Err(FaultError(
                    "fault body must be a JSON object or an array of objects".into(),
                ))
            }
        };
        if items.is_empty() {
            return Err(FaultError("empty fault list".into()));
        }
        items
            .into_iter()
            .map(|v| {
                let raw: RawFault = serde_json::from_value(v)
                    .map_err(|e| FaultError(format!("invalid fault: {e}; kinds: {KINDS}")))?;
                FaultSpec::from_raw(raw)
            })
            .collect()
    }

    pub(crate) fn from_raw(raw: RawFault) -> Result<FaultSpec, FaultError> {
        let k = raw.kind.as_str();
        let unexpected = |field: &str, present: bool| -> Result<(), FaultError> {
            if present {
                Err(FaultError(format!(
                    "field {field:?} does not apply to kind {k:?}"
                )))
            } else {
                Ok(())
            }
        };
        let http_status = |s: Option<u16>, default: Option<u16>| -> Result<u16, FaultError> {
            match s.or(default) {
                Some(s) if (400..=599).contains(&s) => Ok(s),
                Some(s) => Err(FaultError(format!(
                    "kind {k:?}: status {s} is not an error status (400-599)"
                ))),
                None => Err(FaultError(format!(
                    "kind {k:?} needs \"status\" (an HTTP status 400-599, e.g. 503)"
                ))),
            }
        };
        let kind = match k {
            "status" => {
                unexpected("retry_after", raw.retry_after.is_some())?;
                unexpected("ms", raw.ms.is_some())?;
                FaultKind::Status {
                    status: http_status(raw.status, None)?,
                }
            }
            "html" => {
                unexpected("retry_after", raw.retry_after.is_some())?;
                unexpected("ms", raw.ms.is_some())?;
                FaultKind::Html {
                    status: http_status(raw.status, Some(502))?,
                }
            }
            "rate_limit" | "token_rate_limit" => {
                unexpected("status", raw.status.is_some())?;
                unexpected("ms", raw.ms.is_some())?;
                let retry_after = raw.retry_after.unwrap_or(1);
                if k == "rate_limit" {
                    FaultKind::RateLimit { retry_after }
                } else {
                    FaultKind::TokenRateLimit { retry_after }
                }
            }
            "delay" => {
                unexpected("status", raw.status.is_some())?;
                unexpected("retry_after", raw.retry_after.is_some())?;
                let ms = raw.ms.ok_or_else(|| {
                    FaultError("kind \"delay\" needs \"ms\" (milliseconds)".into())
                })?;
                if ms > MAX_DELAY_MS {
                    return Err(FaultError(format!(
                        "delay of {ms} ms is over the {MAX_DELAY_MS} ms limit"
                    )));
                }
                FaultKind::Delay { ms }
            }
            "truncate" | "reset" => {
                unexpected("status", raw.status.is_some())?;
                unexpected("retry_after", raw.retry_after.is_some())?;
                unexpected("ms", raw.ms.is_some())?;
                if k == "truncate" {
                    FaultKind::Truncate
                } else {
                    FaultKind::Reset
                }
            }
            other => {
                return Err(FaultError(format!(
                    "unknown fault kind {other:?}; kinds: {KINDS}"
                )))
            }
        };
        if raw.count == Some(0) {
            return Err(FaultError("\"count\" must be at least 1".into()));
        }
        if let Some(p) = raw.probability {
            if !(p > 0.0 && p <= 1.0) {
                return Err(FaultError(format!("\"probability\" {p} must be in (0, 1]")));
            }
        }
        let (after, until) = (raw.after.map(|d| d.0), raw.until.map(|d| d.0));
        if let (Some(a), Some(u)) = (after, until) {
            if u <= a {
                return Err(FaultError("\"until\" must be later than \"after\"".into()));
            }
        }
        let open_ended = raw.probability.is_some() || after.is_some() || until.is_some();
        Ok(FaultSpec {
            kind,
            count: raw.count.or(if open_ended { None } else { Some(1) }),
            probability: raw.probability,
            seed: raw.seed,
            client: raw.client,
            after,
            until,
        })
    }
}

struct Queued {
    id: u64,
    spec: FaultSpec,
    remaining: Option<u32>,
    rng: StdRng,
    queued_at: SystemTime,
}

/// A queued fault as listed by `GET /_emulator/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedFault {
    /// Queue id.
    pub id: u64,
    /// The fault.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests left; `null` = unlimited.
    pub remaining: Option<u32>,
}

/// The fault queue.
#[derive(Default)]
pub struct FaultEngine {
    len: AtomicUsize,
    next_id: AtomicU64,
    queue: Mutex<Vec<Queued>>,
}

impl FaultEngine {
    /// Append faults, in order.
    pub fn push(&self, specs: Vec<FaultSpec>, now: SystemTime) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        for spec in specs {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
            let rng = match spec.seed {
                Some(s) => StdRng::seed_from_u64(s),
                None => StdRng::from_entropy(),
            };
            q.push(Queued {
                id,
                remaining: spec.count,
                spec,
                rng,
                queued_at: now,
            });
        }
        self.len.store(q.len(), Ordering::Release);
    }

    /// Remove every fault; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.len();
        q.clear();
        self.len.store(0, Ordering::Release);
        n
    }

    /// The queue as it stands.
    pub fn list(&self) -> Vec<QueuedFault> {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .map(|f| QueuedFault {
                id: f.id,
                spec: f.spec.clone(),
                remaining: f.remaining,
            })
            .collect()
    }

    /// The fault for this request, if any: the first queued fault that matches the client,
    /// is inside its window and wins its probability draw. Consumes one of its count.
    pub fn take(&self, client_id: Option<&str>, now: SystemTime) -> Option<FaultKind> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        // Windows that have closed are gone for good.
        q.retain(|f| match f.spec.until {
            Some(u) => now.duration_since(f.queued_at).map_or(true, |e| e < u),
            None => true,
        });
        let mut hit = None;
        for (i, f) in q.iter_mut().enumerate() {
            if let Some(c) = &f.spec.client {
                if Some(c.as_str()) != client_id {
                    continue;
                }
            }
            if let Some(a) = f.spec.after {
                if now.duration_since(f.queued_at).map_or(true, |e| e < a) {
                    continue;
                }
            }
            if let Some(p) = f.spec.probability {
                if f.rng.gen::<f64>() >= p {
                    continue;
                }
            }
            if let Some(r) = f.remaining.as_mut() {
                *r -= 1;
            }
            hit = Some((i, f.spec.kind, f.remaining == Some(0)));
            break;
        }
        if let Some((i, _, true)) = hit {
            q.remove(i);
        }
        self.len.store(q.len(), Ordering::Release);
        hit.map(|(_, k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_json() {
        for (text, kind) in [
            (
                r#"{"kind":"status","status":503,"count":2}"#,
                FaultKind::Status { status: 503 },
            ),
            (
                r#"{"kind":"rate_limit","retry_after":1,"count":1}"#,
                FaultKind::RateLimit { retry_after: 1 },
            ),
            (
                r#"{"kind":"delay","ms":1500,"count":1}"#,
                FaultKind::Delay { ms: 1500 },
            ),
            (
                r#"{"kind":"html","status":502,"count":1}"#,
                FaultKind::Html { status: 502 },
            ),
            (r#"{"kind":"truncate","count":1}"#, FaultKind::Truncate),
            (r#"{"kind":"reset","count":1}"#, FaultKind::Reset),
            (
                r#"{"kind":"token_rate_limit","count":1}"#,
                FaultKind::TokenRateLimit { retry_after: 1 },
            ),
        ] {
            let f = FaultSpec::from_json(text).unwrap();
            assert_eq!(f[0].kind, kind, "{text}");
        }
    }

    #[test]
    fn rejects_bad_faults_clearly() {
        for (text, needle) in [
            ("nope", "not JSON"),
            (r#"{"kind":"boom"}"#, "unknown fault kind"),
            (r#"{"kind":"status"}"#, "needs \"status\""),
            (r#"{"kind":"status","status":200}"#, "not an error status"),
            (r#"{"kind":"delay"}"#, "needs \"ms\""),
            (r#"{"kind":"status","status":503,"ms":3}"#, "does not apply"),
            (r#"{"kind":"reset","count":0}"#, "at least 1"),
            (r#"{"kind":"reset","probability":2}"#, "(0, 1]"),
            (r#"{"kind":"reset","colour":"red"}"#, "unknown field"),
            ("[]", "empty"),
            ("3", "object"),
        ] {
            let e = FaultSpec::from_json(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn count_client_probability_and_window() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let e = FaultEngine::default();
        e.push(
            FaultSpec::from_json(
                r#"[{"kind":"reset","count":2,"client":"a"},{"kind":"truncate"}]"#,
            )
            .unwrap(),
            t0,
        );
        assert_eq!(e.take(Some("b"), t0), Some(FaultKind::Truncate));
        assert_eq!(e.take(Some("a"), t0), Some(FaultKind::Reset));
        assert_eq!(e.take(Some("a"), t0), Some(FaultKind::Reset));
        assert_eq!(e.take(Some("a"), t0), None);
        assert!(e.list().is_empty());

        e.push(
            FaultSpec::from_json(r#"{"kind":"truncate","probability":0.5,"seed":7}"#).unwrap(),
            t0,
        );
        let hits = (0..1000).filter(|_| e.take(None, t0).is_some()).count();
        assert!((400..600).contains(&hits), "{hits}");
        e.clear();

        e.push(
            FaultSpec::from_json(r#"{"kind":"truncate","after":"10s","until":"20s"}"#).unwrap(),
            t0,
        );
        assert_eq!(e.take(None, t0 + Duration::from_secs(5)), None);
        assert!(e.take(None, t0 + Duration::from_secs(15)).is_some());
        assert!(e.take(None, t0 + Duration::from_secs(15)).is_some());
        assert_eq!(e.take(None, t0 + Duration::from_secs(25)), None);
        assert!(e.list().is_empty());
    }
}
