//! How cctoken writes a duration for people: one format everywhere.
//!
//! `get`, `profiles`, `doctor`, the agent and the demo all print lifetimes, waits and
//! timeouts through [`Human`]: hours, minutes and seconds as `humantime` writes them
//! (`23h 59m 59s`, `24h`, `1m 30s`, `10s`), never days (a Genesys token lives `24h`, not
//! `1day`), whole seconds (below one second: milliseconds). The text parses back with
//! `humantime::parse_duration`, so `--min-ttl` and the `*_timeout` keys accept what is
//! shown. [`parse`] reads them, with cctoken's own message for text that is not one
//! (not humantime's list of every unit it knows, months and years included).

use std::fmt;
use std::time::Duration;

/// Read a duration as a person writes one (`30s`, `5m`, `1h 30m`, `250ms`); the error says
/// what is accepted, in the words of [`Human`]'s format.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    humantime::parse_duration(t).map_err(|_| {
        format!(
            "'{t}' is not a duration: write a number and a unit, e.g. 90s, 5m or 1h 30m \
             (units: ms, s, m, h)"
        )
    })
}

/// A duration as cctoken shows it (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs == 0 {
            let ms = self.0.subsec_millis();
            return if ms == 0 {
                f.write_str("0s")
            } else {
                write!(f, "{ms}ms")
            };
        }
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let parts = [(h, "h"), (m, "m"), (s, "s")];
        let mut first = true;
        for (n, unit) in parts.into_iter().filter(|(n, _)| *n > 0) {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{n}{unit}")?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_format_for_every_length() {
        for (secs, ms, shown) in [
            (86_399, 0, "23h 59m 59s"),
            (86_400, 0, "24h"),
            (90_061, 0, "25h 1m 1s"),
            (3_600, 0, "1h"),
            (90, 0, "1m 30s"),
            (10, 999, "10s"),
            (0, 250, "250ms"),
            (0, 0, "0s"),
            (7_200 + 5, 0, "2h 5s"),
        ] {
            let d = Duration::from_secs(secs) + Duration::from_millis(ms);
            assert_eq!(Human(d).to_string(), shown, "{d:?}");
        }
    }

    #[test]
    fn what_is_shown_parses_back() {
        for secs in [0, 1, 59, 61, 3_599, 3_601, 86_399, 86_400, 200_000] {
            let d = Duration::from_secs(secs);
            let back = parse(&Human(d).to_string()).unwrap();
            assert_eq!(back, d);
        }
        assert_eq!(parse(" 250ms "), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn what_is_not_a_duration_is_told_in_cctokens_words() {
        for bad in ["2x", "", "five minutes", "5 fortnights"] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.contains("is not a duration") && e.contains("e.g. 90s"),
                "{e}"
            );
            assert!(!e.contains("months"), "humantime's list: {e}");
        }
    }
}
