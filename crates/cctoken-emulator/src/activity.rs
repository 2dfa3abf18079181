//! What the emulator saw: a bounded activity log and lock-free counters.
//!
//! Every request to the token, introspection, revocation and API endpoints leaves one
//! [`ActivityEntry`] with the exact internal reason for its outcome. The log is a ring buffer
//! (oldest entries fall out) behind a mutex held only to push or copy; the entry is formatted
//! before the lock is taken. Counters are atomics. Reasons never contain secrets or tokens —
//! callers pass fingerprints ([`crate::fingerprint`]) instead; this module cannot check that.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

/// The outcome of a token request, for counters and the activity log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A token was issued.
    Issued,
    /// RFC 6749 `invalid_request`.
    InvalidRequest,
    /// RFC 6749 `invalid_client`.
    InvalidClient,
    /// RFC 6749 `invalid_grant`.
    InvalidGrant,
    /// RFC 6749 `unauthorized_client`.
    UnauthorizedClient,
    /// RFC 6749 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// RFC 6749 `invalid_scope`.
    InvalidScope,
    /// A rate limit answered instead of a token.
    RateLimited,
    /// A scripted fault answered instead of a token.
    Fault,
}

impl Outcome {
    /// Every outcome, in counter order.
    pub const ALL: [Outcome; 9] = [
        Outcome::Issued,
        Outcome::InvalidRequest,
        Outcome::InvalidClient,
        Outcome::InvalidGrant,
        Outcome::UnauthorizedClient,
        Outcome::UnsupportedGrantType,
        Outcome::InvalidScope,
        Outcome::RateLimited,
        Outcome::Fault,
    ];

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::InvalidRequest => "invalid_request",
            Outcome::InvalidClient => "invalid_client",
            Outcome::InvalidGrant => "invalid_grant",
            Outcome::UnauthorizedClient => "unauthorized_client",
            Outcome::UnsupportedGrantType => "unsupported_grant_type",
            Outcome::InvalidScope => "invalid_scope",
            Outcome::RateLimited => "rate_limited",
            Outcome::Fault => "fault",
        }
    }

    /// The outcome for an RFC 6749 error code.
    pub fn from_error(code: &str) -> Outcome {
        match code {
            "invalid_client" => Outcome::InvalidClient,
            "invalid_grant" => Outcome::InvalidGrant,
            "unauthorized_client" => Outcome::UnauthorizedClient,
            "unsupported_grant_type" => Outcome::UnsupportedGrantType,
            "invalid_scope" => Outcome::InvalidScope,
            _ => Outcome::InvalidRequest,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Per-outcome counters (one set per client, one for unknown clients, one in total).
#[derive(Debug, Default)]
pub struct OutcomeCounters([AtomicU64; 9]);

impl OutcomeCounters {
    /// Count one outcome.
    pub fn add(&self, o: Outcome) {
        self.0[o.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Non-zero counters by name, plus `requests` (their sum).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        let mut total = 0;
        for o in Outcome::ALL {
            let n = self.0[o.index()].load(Ordering::Relaxed);
            total += n;
            if n > 0 {
                m.insert(o.as_str().to_owned(), n);
            }
        }
        m.insert("requests".into(), total);
        m
    }
}

/// Counters of the protected APIs (one set per client, one in total).
///
/// `max_per_window` is raised only when a token's window sets a new record of its own, at
/// most N times per token, so the hot path adds two `fetch_add`s and no lock.
#[derive(Debug, Default)]
pub struct ApiCounters {
    /// Requests to a protected API (with a valid token, for a client's set).
    pub requests: AtomicU64,
    /// Of those, the ones refused by a per-token rate limit.
    pub rate_limited: AtomicU64,
    /// The most requests one token had admitted within one window of its limit.
    pub max_per_window: AtomicU64,
}

impl ApiCounters {
    /// Count a request.
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a refusal by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A token's window now holds `n` admitted requests, its own record.
    pub fn window_record(&self, n: u32) {
        self.max_per_window
            .fetch_max(u64::from(n), Ordering::Relaxed);
    }

    /// Add `api_requests_total`, `api_rate_limited_total` and `api_max_per_window` to `m`.
    pub fn snapshot_into(&self, m: &mut BTreeMap<String, u64>) {
        m.insert("api_requests_total".into(), load(&self.requests));
        m.insert("api_rate_limited_total".into(), load(&self.rate_limited));
        m.insert("api_max_per_window".into(), load(&self.max_per_window));
    }
}

/// One line of the activity log.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityEntry {
    /// Sequence number, increasing.
    pub seq: u64,
    /// Time of the request (RFC 3339 in JSON; formatted only when read).
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// Which endpoint: `token`, `introspect`, `revoke`, `api`.
    pub endpoint: &'static str,
    /// The client id as presented (`null` when none was).
    pub client_id: Option<String>,
    /// `issued`, an RFC 6749 error code, `rate_limited`, `fault`, or for other endpoints
    /// e.g. `active`, `revoked`, `ok`, `unauthorized`.
    pub outcome: String,
    /// The exact internal reason, secrets only as fingerprints.
    pub reason: String,
    /// HTTP status answered (0 for a connection reset).
    pub status: u16,
    /// `grant_type` as sent, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// Client authentication method used, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<&'static str>,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// What a handler reports; the log adds sequence and time.
#[derive(Debug, Default)]
pub struct Record {
    /// See [`ActivityEntry::endpoint`].
    pub endpoint: &'static str,
    /// See [`ActivityEntry::client_id`].
    pub client_id: Option<String>,
    /// See [`ActivityEntry::outcome`].
    pub outcome: String,
    /// See [`ActivityEntry::reason`].
    pub reason: String,
    /// See [`ActivityEntry::status`].
    pub status: u16,
    /// See [`ActivityEntry::grant_type`].
    pub grant_type: Option<String>,
    /// See [`ActivityEntry::auth_method`].
    pub auth_method: Option<&'static str>,
}

/// The ring buffer.
pub struct ActivityLog {
    capacity: usize,
    seq: AtomicU64,
    entries: Mutex<VecDeque<ActivityEntry>>,
}

impl ActivityLog {
    /// A log keeping the last `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        ActivityLog {
            capacity: capacity.max(1),
            seq: AtomicU64::new(0),
            entries: Mutex::new(VecDeque::with_capacity(capacity.clamp(1, 1024))),
        }
    }

    /// Append a record.
    pub fn push(&self, r: Record, now: SystemTime) {
        tracing::debug!(
            endpoint = r.endpoint,
            client_id = r.client_id.as_deref().unwrap_or("-"),
            outcome = %r.outcome,
            status = r.status,
            reason = %r.reason,
            "emulator request"
        );
        let entry = ActivityEntry {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            time: now,
            endpoint: r.endpoint,
            client_id: r.client_id,
            outcome: r.outcome,
            reason: r.reason,
            status: r.status,
            grant_type: r.grant_type,
            auth_method: r.auth_method,
        };
        let mut q = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= self.capacity {
            q.pop_front();
        }
        q.push_back(entry);
    }

    /// Entries oldest first, optionally only one client's, at most the last `limit`.
    pub fn entries(&self, client_id: Option<&str>, limit: Option<usize>) -> Vec<ActivityEntry> {
        let q = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<ActivityEntry> = q
            .iter()
            .filter(|e| client_id.is_none_or(|c| e.client_id.as_deref() == Some(c)))
            .cloned()
            .collect();
        drop(q);
        if let Some(l) = limit {
            let skip = v.len().saturating_sub(l);
            v.drain(..skip);
        }
        v
    }

    /// Forget every entry.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// Global counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Every request that reached the token endpoint, faults included.
    pub token_requests: AtomicU64,
    /// Tokens issued.
    pub tokens_issued: AtomicU64,
    /// Token endpoint outcomes over all clients.
    pub outcomes: OutcomeCounters,
    /// Token endpoint outcomes of requests whose client is not registered (or not named).
    pub unknown_client: OutcomeCounters,
    /// Faults applied.
    pub faults_applied: AtomicU64,
    /// Introspection requests.
    pub introspections: AtomicU64,
    /// Revocation requests.
    pub revocations: AtomicU64,
    /// Protected API requests over all clients, unknown tokens included.
    pub api: ApiCounters,
}

/// A point-in-time copy of the counters, as served on `/_emulator/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct StatsSnapshot {
    /// Every request that reached the token endpoint, faults included.
    pub token_requests_total: u64,
    /// Tokens issued.
    pub tokens_issued_total: u64,
    /// Token endpoint outcomes.
    pub outcomes: BTreeMap<String, u64>,
    /// Per client id (`(unknown)` for unregistered or unnamed): token endpoint outcomes and
    /// their sum `requests`, plus for registered clients `api_requests_total`,
    /// `api_rate_limited_total` and `api_max_per_window` of their tokens.
    pub clients: BTreeMap<String, BTreeMap<String, u64>>,
    /// Faults applied.
    pub faults_applied_total: u64,
    /// Introspection requests.
    pub introspection_requests_total: u64,
    /// Revocation requests.
    pub revocation_requests_total: u64,
    /// Protected API requests.
    pub api_requests_total: u64,
    /// Protected API requests answered 429 by a per-token rate limit.
    pub api_rate_limited_total: u64,
    /// The most requests any one token had admitted within one window of its rate limit
    /// (0 while no limit applies). Refused requests are not in it; they are in
    /// `api_rate_limited_total`.
    pub api_max_per_window: u64,
    /// Tokens currently held (issued, not yet swept after expiry).
    pub tokens_held: u64,
}

pub(crate) fn load(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}
