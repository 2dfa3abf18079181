//! The two settings of a pool, typed: [`ApiRateLimit`] ("at most N API calls per token in
//! any rolling DUR", written `N/DUR` as in `api_rate_limit = "300/60s"`) and [`PoolSize`]
//! (how many tokens, 1–20).
//!
//! Both are parsed once, at the edge (profile keys, `--api-rate-limit`, `--pool-size`, the
//! Python binding's keyword arguments), and refuse what cannot be meant with a message that
//! shows the expected form. The 90 % headroom the pacer keeps below a limit is
//! [`ApiRateLimit::budget`]; counting calls against it is the `pacer` module's job.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;

/// Most calls a limit may allow per window (the pacer keeps one instant per call in the
/// window, so this bounds its memory).
pub const MAX_CALLS_PER_WINDOW: u32 = 100_000;
/// Longest window of a limit.
pub const MAX_WINDOW: Duration = Duration::from_secs(86_400);
/// Share of a server's limit the pacer uses: the rest absorbs the difference between when
/// a call leaves this process and when the server counts it.
pub const HEADROOM: f64 = 0.9;

const FORM: &str = "N/DUR, requests per token per rolling window, e.g. 300/60s or 50/5s";

/// At most [`calls`](ApiRateLimit::calls) API calls per token in any rolling
/// [`window`](ApiRateLimit::window) (SPEC §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiRateLimit {
    calls: u32,
    window: Duration,
}

impl ApiRateLimit {
    /// Genesys Cloud's limit for a client-credentials token: 300 calls per rolling minute.
    pub const GENESYS: ApiRateLimit = ApiRateLimit {
        calls: 300,
        window: Duration::from_secs(60),
    };

    /// `calls` per `window`: 1 to [`MAX_CALLS_PER_WINDOW`] calls, a window of 1 ms to
    /// [`MAX_WINDOW`].
    pub fn new(calls: u32, window: Duration) -> Result<Self, Error> {
        if !(1..=MAX_CALLS_PER_WINDOW).contains(&calls) {
            return Err(Error::config(format!(
                "an API rate limit allows 1 to {MAX_CALLS_PER_WINDOW} calls per window, not {calls} ({FORM})"
            )));
        }
        if window < Duration::from_millis(1) || window > MAX_WINDOW {
            return Err(Error::config(format!(
                "an API rate limit's window is 1ms to 24h, not {} ({FORM})",
                humantime::format_duration(window)
            )));
        }
        Ok(Self { calls, window })
    }

    /// Calls the server allows per window.
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// The rolling window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Calls the pacer lets through per token and window: [`HEADROOM`] of the limit,
    /// rounded down, and at least one.
    pub fn budget(&self) -> u32 {
        ((f64::from(self.calls) * HEADROOM).floor() as u32).max(1)
    }
}

/// `300/60s`; a window that is not whole seconds in milliseconds (`5/1500ms`).
impl fmt::Display for ApiRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.window.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}/{}s", self.calls, ms / 1000)
        } else {
            write!(f, "{}/{ms}ms", self.calls)
        }
    }
}

impl FromStr for ApiRateLimit {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |why: String| Error::config(format!("api_rate_limit {s:?}: {why} ({FORM})"));
        let (n, dur) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| bad("no '/'".into()))?;
        let calls = n
            .trim()
            .parse::<u32>()
            .map_err(|_| bad(format!("{:?} is not a whole number of calls", n.trim())))?;
        let window = crate::duration::parse(dur).map_err(bad)?;
        Self::new(calls, window)
            .map_err(|e| Error::config(format!("api_rate_limit {s:?}: {}", e.message)))
    }
}

impl<'de> serde::Deserialize<'de> for ApiRateLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.message))
    }
}

/// How many tokens a pool holds: 1 (the default: one token, paced when a limit is known)
/// to [`PoolSize::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolSize(u8);

impl PoolSize {
    /// The largest pool: more tokens than this is more likely to trip the token endpoint's
    /// own limit, or an organisation's, than to help.
    pub const MAX: u8 = 20;
    /// One token.
    pub const ONE: PoolSize = PoolSize(1);

    /// `n` tokens, 1 to [`PoolSize::MAX`].
    pub fn new(n: u64) -> Result<Self, Error> {
        match u8::try_from(n) {
            Ok(k @ 1..=Self::MAX) => Ok(Self(k)),
            _ => Err(Error::config(format!(
                "pool_size is 1 to {} tokens, not {n}",
                Self::MAX
            ))),
        }
    }

    /// The number of tokens.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for PoolSize {
    fn default() -> Self {
        Self::ONE
    }
}

impl fmt::Display for PoolSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PoolSize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let n = s.trim().parse::<u64>().map_err(|_| {
            Error::config(format!(
                "pool_size {s:?} is not a whole number of tokens (1 to {})",
                Self::MAX
            ))
        })?;
        Self::new(n)
    }
}

impl<'de> serde::Deserialize<'de> for PoolSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        let n = u64::try_from(n).map_err(|_| {
            serde::de::Error::custom(format!("pool_size is 1 to {} tokens, not {n}", Self::MAX))
        })?;
        Self::new(n).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_display_and_keep_ten_percent_headroom() {
        for (text, calls, window, shown, budget) in [
            ("300/60s", 300, Duration::from_secs(60), "300/60s", 270),
            (" 50 / 5s ", 50, Duration::from_secs(5), "50/5s", 45),
            ("10/1m", 10, Duration::from_secs(60), "10/60s", 9),
            ("5/1500ms", 5, Duration::from_millis(1500), "5/1500ms", 4),
            ("1/1s", 1, Duration::from_secs(1), "1/1s", 1),
        ] {
            let l: ApiRateLimit = text.parse().unwrap();
            assert_eq!((l.calls(), l.window(), l.budget()), (calls, window, budget));
            assert_eq!(l.to_string(), shown);
            assert_eq!(shown.parse::<ApiRateLimit>().unwrap(), l);
        }
        assert_eq!(ApiRateLimit::GENESYS.to_string(), "300/60s");
        let e = "300/soon".parse::<ApiRateLimit>().unwrap_err().message;
        assert!(
            e.contains("'soon' is not a duration: write a number and a unit")
                && !e.contains("months"),
            "{e}"
        );
    }

    #[test]
    fn what_is_not_a_limit_or_a_size_is_refused_clearly() {
        for (text, needle) in [
            ("300", "no '/'"),
            ("0/60s", "1 to 100000 calls"),
            ("x/60s", "not a whole number"),
            ("5/soon", "not a duration"),
            ("5/0s", "1ms to 24h"),
            ("5/2days", "1ms to 24h"),
        ] {
            let e = text.parse::<ApiRateLimit>().unwrap_err();
            assert!(e.message.contains(needle), "{text}: {}", e.message);
            assert_eq!(
                e.message.matches("e.g. 300/60s").count(),
                1,
                "{text}: {}",
                e.message
            );
        }
        assert_eq!("4".parse::<PoolSize>().unwrap().get(), 4);
        assert_eq!(PoolSize::default().get(), 1);
        for bad in ["0", "21", "-1", "four"] {
            let e = bad.parse::<PoolSize>().unwrap_err();
            assert!(e.message.contains("1 to 20"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn settings_deserialize_from_profile_values() {
        #[derive(serde::Deserialize)]
        struct P {
            pool_size: PoolSize,
            api_rate_limit: ApiRateLimit,
        }
        let p: P = toml::from_str("pool_size = 4\napi_rate_limit = \"300/60s\"").unwrap();
        assert_eq!(
            (p.pool_size.get(), p.api_rate_limit),
            (4, ApiRateLimit::GENESYS)
        );
        for bad in [
            "pool_size = 0\napi_rate_limit = \"1/1s\"",
            "pool_size = 2\napi_rate_limit = \"1\"",
        ] {
            assert!(toml::from_str::<P>(bad).is_err(), "{bad}");
        }
    }
}
