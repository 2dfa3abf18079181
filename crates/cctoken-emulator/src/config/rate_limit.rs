//! [`RateLimit`]: "at most N requests in any rolling DUR", written `N/DUR` (`300/60s`).
//!
//! The one typed form of the emulator's rate limits: `--api-rate-limit` and
//! `--token-rate-limit`, their registry-file keys globally and per client, and the Genesys
//! default of 300 requests per rolling minute per token. Parsing refuses what cannot be a
//! limit (`0/60s`, `abc`, `5/0s`) with a message that shows the expected form. Counting
//! requests against a limit is the `window` module's job, not this one's.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// The most requests a limit may allow per window: a window keeps one timestamp per admitted
/// request, so this bounds its memory (800 KB per token at most).
pub const MAX_RATE_LIMIT_REQUESTS: u32 = 100_000;

const EXAMPLES: &str = "e.g. 300/60s, 50/5s, 10/1m";

/// At most [`max`](RateLimit::max) requests in any rolling [`window`](RateLimit::window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    max: u32,
    window_ms: u64,
}

impl RateLimit {
    /// Genesys Cloud's per-token API limit: 300 requests per rolling minute.
    pub const GENESYS_API: RateLimit = RateLimit {
        max: 300,
        window_ms: 60_000,
    };

    /// `max` requests per `window`; `max` in 1..=[`MAX_RATE_LIMIT_REQUESTS`], `window` at
    /// least 1 ms (it is counted in whole milliseconds).
    pub fn new(max: u32, window: Duration) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(invalid(format!(
                "a rate limit allows at least 1 request per window ({EXAMPLES})"
            )));
        }
        if max > MAX_RATE_LIMIT_REQUESTS {
            return Err(invalid(format!(
                "a rate limit allows at most {MAX_RATE_LIMIT_REQUESTS} requests per window, not {max}"
            )));
        }
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        if window_ms == 0 {
            return Err(invalid(format!(
                "a rate limit's window must be at least 1ms ({EXAMPLES})"
            )));
        }
        Ok(RateLimit { max, window_ms })
    }

    /// `max` requests per rolling minute (the registry's older `*_per_minute` keys).
    pub fn per_minute(max: u32) -> Result<Self, ConfigError> {
        Self::new(max, Duration::from_secs(60))
    }

    /// Requests allowed in one window.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The rolling window.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }

    /// The rolling window in milliseconds.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }
}

fn invalid(msg: String) -> ConfigError {
    ConfigError::Invalid(msg)
}

/// `300/60s`; windows that are not whole seconds are written in milliseconds (`5/1500ms`).
impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.window_ms.is_multiple_of(1000) {
            write!(f, "{}/{}s", self.max, self.window_ms / 1000)
        } else {
            write!(f, "{}/{}ms", self.max, self.window_ms)
        }
    }
}

impl FromStr for RateLimit {
    type Err = ConfigError;

    /// `N/DUR`: a count, a slash, and a duration such as `60s`, `1m`, `500ms`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let Some((n, dur)) = s.split_once('/') else {
            return Err(invalid(format!(
                "rate limit {s:?} is not N/DUR (requests per rolling window, {EXAMPLES})"
            )));
        };
        let max: u32 = n.trim().parse().map_err(|_| {
            invalid(format!(
                "rate limit {s:?}: {:?} is not a whole number of requests ({EXAMPLES})",
                n.trim()
            ))
        })?;
        let window = humantime::parse_duration(dur.trim()).map_err(|e| {
            invalid(format!(
                "rate limit {s:?}: {:?} is not a duration ({e}; {EXAMPLES})",
                dur.trim()
            ))
        })?;
        RateLimit::new(max, window).map_err(|e| invalid(format!("rate limit {s:?}: {e}")))
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_n_per_duration() {
        for (text, max, window, shown) in [
            ("300/60s", 300, Duration::from_secs(60), "300/60s"),
            (" 50 / 5s ", 50, Duration::from_secs(5), "50/5s"),
            ("10/1m", 10, Duration::from_secs(60), "10/60s"),
            ("5/1500ms", 5, Duration::from_millis(1500), "5/1500ms"),
        ] {
            let l: RateLimit = text.parse().unwrap();
            assert_eq!((l.max(), l.window()), (max, window), "{text}");
            assert_eq!(l.to_string(), shown);
            assert_eq!(shown.parse::<RateLimit>().unwrap(), l, "round trip");
        }
        assert_eq!(RateLimit::GENESYS_API.to_string(), "300/60s");
        assert_eq!(RateLimit::per_minute(600).unwrap().to_string(), "600/60s");
    }

    #[test]
    fn refuses_what_is_not_a_limit_clearly() {
        for (text, needle) in [
            ("0/60s", "at least 1 request"),
            ("abc", "is not N/DUR"),
            ("5/0s", "at least 1ms"),
            ("5/100us", "at least 1ms"),
            ("x/60s", "not a whole number"),
            ("-1/60s", "not a whole number"),
            ("5/soon", "not a duration"),
            ("5/", "not a duration"),
            ("100001/1s", "at most 100000"),
        ] {
            let e = text.parse::<RateLimit>().unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.contains("e.g.") || e.contains("at most"), "{text}: {e}");
        }
    }
}
