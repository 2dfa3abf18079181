//! Durations as the registry file and the control API write them: `"1h"`, `"30s"` or a
//! number of seconds. Shared by the registry ([`crate::config`]) and the faults
//! ([`crate::faults`]), which is why it is a module of its own.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A duration written as `"1h"`, `"30s"` or a number of seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DurationField(pub Duration);

impl<'de> Deserialize<'de> for DurationField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DurationField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\", \"1h\" or a number of seconds")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(DurationField(Duration::from_secs(v)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(|v| DurationField(Duration::from_secs(v)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Duration::try_from_secs_f64(v)
                    .map(DurationField)
                    .map_err(|_| E::custom(format!("invalid duration {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                humantime::parse_duration(v.trim())
                    .map(DurationField)
                    .map_err(|e| {
                        E::custom(format!(
                            "invalid duration {v:?} ({e}); use e.g. \"30s\", \"5m\", \"1h\""
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}
