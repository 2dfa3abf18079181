//! The claim checks of a client assertion: `aud` per audience mode, `exp`/`nbf`/`iat` with
//! the clock tolerance, the lifetime cap, `typ`, and `jti` against the replay cache.
//!
//! Each check returns the exact reason the activity log shows; the wording is part of the
//! contract doctor and users read (SPEC §14), e.g. "assertion aud 'X' is not the issuer
//! 'Y'", "assertion expired 75 s ago (server clock …)", "assertion lifetime N s exceeds M
//! s", "jti replayed". Signature and key selection live in `assertion`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::config::{AssertionPolicy, AudienceMode};
use crate::keys::jws::shown;
use crate::keys::replay::{Seen, MAX_JTI_LEN};
use crate::state::AppState;

/// The `typ` RFC 10070 asks client assertions to carry.
pub const TYP: &str = "client-authentication+jwt";

/// A string claim; `Err` when present but not a string.
pub fn string<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("assertion {name} is not a string ({})", kind(v))),
    }
}

/// A NumericDate claim in whole seconds (fractions are cut off).
pub fn date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| format!("assertion {name} is not a NumericDate")),
        Some(v) => Err(format!(
            "assertion {name} is not a NumericDate (seconds since 1970), found {}",
            kind(v)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// `typ`: absent, `JWT` (RFC 7519's generic type, what most JWT libraries add) or
/// `client-authentication+jwt` (optionally with `application/`, compared case-insensitively
/// as RFC 7515 §4.1.9 says). Any other explicit type is another kind of token.
pub fn typ(typ: Option<&str>) -> Result<(), String> {
    let Some(t) = typ else { return Ok(()) };
    let lower = t.to_ascii_lowercase();
    let bare = lower.strip_prefix("application/").unwrap_or(&lower);
    if bare == TYP || bare == "jwt" {
        Ok(())
    } else {
        Err(format!(
            "assertion typ '{}' is not {TYP} (or JWT): it is another kind of token",
            shown(t)
        ))
    }
}

/// The `aud` values as strings.
fn audiences(claims: &Map<String, Value>) -> Result<(Vec<&str>, String), String> {
    let v = claims.get("aud").ok_or("assertion has no aud")?;
    let list: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a
            .iter()
            .map(|m| m.as_str().ok_or("assertion aud holds a non-string member"))
            .collect::<Result<_, _>>()?,
        other => {
            return Err(format!(
                "assertion aud is {}, not a string or array",
                kind(other)
            ))
        }
    };
    let display = match v {
        Value::String(s) => format!("'{}'", shown(s)),
        _ => format!(
            "[{}]",
            list.iter()
                .map(|s| format!("'{}'", shown(s)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Ok((list, display))
}

fn slash_hint(list: &[&str], expected: &str) -> &'static str {
    let t = expected.trim_end_matches('/');
    if list
        .iter()
        .any(|a| *a != expected && a.trim_end_matches('/') == t)
    {
        " (they differ only in a trailing slash; the comparison is exact)"
    } else {
        ""
    }
}

/// `aud` of a client-signed assertion. `token_urls` are what legacy mode accepts besides
/// the issuer: the token endpoint and the URL the request arrived at.
pub fn audience(
    claims: &Map<String, Value>,
    mode: AudienceMode,
    issuer: &str,
    token_urls: &[String],
) -> Result<(), String> {
    let (list, shown_aud) = audiences(claims)?;
    let token_url = token_urls.first().map_or("", String::as_str);
    match mode {
        AudienceMode::Strict if list == [issuer] => Ok(()),
        AudienceMode::Strict if list.contains(&issuer) => Err(format!(
            "assertion aud {shown_aud} has more than the issuer '{issuer}' (RFC 10070: the \
             issuer is the sole value)"
        )),
        AudienceMode::Strict => {
            let hint = if list.iter().any(|a| token_urls.iter().any(|u| u == a)) {
                " (RFC 10070 forbids the token endpoint URL; audience_mode = \"legacy\" accepts it)"
            } else {
                slash_hint(&list, issuer)
            };
            Err(format!(
                "assertion aud {shown_aud} is not the issuer '{issuer}'{hint}"
            ))
        }
        AudienceMode::Legacy
            if list
                .iter()
                .any(|a| *a == issuer || token_urls.iter().any(|u| u == a)) =>
        {
            Ok(())
        }
        AudienceMode::Legacy => Err(format!(
            "assertion aud {shown_aud} is not the issuer '{issuer}' nor the token endpoint \
             '{token_url}'{}",
            slash_hint(&list, issuer)
        )),
    }
}

/// `aud` of a federated token: the trusted audience, as a string or an array member.
pub fn federated_audience(claims: &Map<String, Value>, expected: &str) -> Result<(), String> {
    let (list, shown_aud) = audiences(claims)?;
    if list.contains(&expected) {
        Ok(())
    } else {
        Err(format!(
            "federated assertion aud {shown_aud} is not the trusted audience '{expected}'{}",
            slash_hint(&list, expected)
        ))
    }
}

/// What the time checks found: `exp` for the replay cache.
#[derive(Debug)]
pub struct Times {
    /// `exp` in Unix seconds.
    pub exp: i64,
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `exp` (required), `nbf`, `iat` at the server clock with the tolerance; with
/// `cap_lifetime`, also `exp - iat` (or `exp - now` without `iat`) against the maximum.
pub fn times(
    claims: &Map<String, Value>,
    now: SystemTime,
    policy: AssertionPolicy,
    cap_lifetime: bool,
) -> Result<Times, String> {
    let now_s = unix_secs(now);
    let tol = i64::try_from(policy.clock_tolerance.as_secs()).unwrap_or(i64::MAX);
    let clock = || {
        format!(
            "server clock {}, clock tolerance {tol} s",
            humantime::format_rfc3339_seconds(now)
        )
    };
    let exp = date(claims, "exp")?.ok_or("assertion has no exp")?;
    if now_s > exp.saturating_add(tol) {
        return Err(format!(
            "assertion expired {} s ago ({})",
            now_s.saturating_sub(exp),
            clock()
        ));
    }
    if let Some(nbf) = date(claims, "nbf")? {
        if nbf > now_s.saturating_add(tol) {
            return Err(format!(
                "assertion not valid before {} s from now (nbf; {})",
                nbf.saturating_sub(now_s),
                clock()
            ));
        }
    }
    let iat = date(claims, "iat")?;
    if let Some(iat) = iat {
        if iat > now_s.saturating_add(tol) {
            return Err(format!(
                "assertion issued {} s in the future (iat; {})",
                iat.saturating_sub(now_s),
                clock()
            ));
        }
    }
    if cap_lifetime {
        let max = i64::try_from(policy.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        let (from, what) = match iat {
            Some(i) => (i, "exp - iat"),
            None => (now_s, "exp - server clock, no iat"),
        };
        let lifetime = exp.saturating_sub(from);
        if lifetime > max {
            return Err(format!(
                "assertion lifetime {lifetime} s exceeds {max} s ({what}; max_assertion_lifetime)"
            ));
        }
    }
    Ok(Times { exp })
}

/// `jti`: required, bounded, and never seen before from this client. `Err` carries whether
/// the refusal is transient (the cache is full).
pub fn jti(
    st: &AppState,
    claims: &Map<String, Value>,
    client: &str,
    t: &Times,
) -> Result<(), (String, bool)> {
    let jti = string(claims, "jti")
        .map_err(|e| (e, false))?
        .ok_or_else(|| {
            (
                "assertion has no jti (every assertion needs a fresh one, so that a replay can be refused)"
                    .to_owned(),
                false,
            )
        })?;
    if jti.len() > MAX_JTI_LEN {
        return Err((
            format!(
                "assertion jti is {} bytes, more than {MAX_JTI_LEN}",
                jti.len()
            ),
            false,
        ));
    }
    let tol = st.config().assertion.clock_tolerance.as_secs();
    let forget_ms = u64::try_from(t.exp)
        .unwrap_or(0)
        .saturating_add(tol)
        .saturating_mul(1000);
    match st.inner.replay.check(client, jti, forget_ms, st.now_ms()) {
        Seen::Fresh => Ok(()),
        Seen::Replayed => Err((
            format!(
                "jti replayed: '{}' was used by an earlier assertion of this client; sign a \
                 new assertion with a fresh jti for every request",
                shown(jti)
            ),
            false,
        )),
        Seen::Full => Err((
            format!(
                "jti replay cache full ({} unexpired assertions); retry once older ones expire",
                st.inner.replay.len()
            ),
            true,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn c(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn audience_modes() {
        let iss = "https://emu.test";
        let urls = vec!["https://emu.test/oauth/token".to_owned()];
        let strict = |v| audience(&c(v), AudienceMode::Strict, iss, &urls);
        let legacy = |v| audience(&c(v), AudienceMode::Legacy, iss, &urls);
        strict(serde_json::json!({"aud": iss})).unwrap();
        strict(serde_json::json!({"aud": [iss]})).unwrap();
        let e = strict(serde_json::json!({"aud": urls[0]})).unwrap_err();
        assert!(e.starts_with("assertion aud 'https://emu.test/oauth/token' is not the issuer 'https://emu.test' (RFC 10070 forbids"), "{e}");
        let e = strict(serde_json::json!({"aud": [iss, "x"]})).unwrap_err();
        assert!(e.contains("has more than the issuer"), "{e}");
        let e = strict(serde_json::json!({"aud": "https://emu.test/"})).unwrap_err();
        assert!(e.contains("trailing slash"), "{e}");
        legacy(serde_json::json!({"aud": urls[0]})).unwrap();
        legacy(serde_json::json!({"aud": ["x", iss]})).unwrap();
        let e = legacy(serde_json::json!({"aud": "x"})).unwrap_err();
        assert_eq!(e, "assertion aud 'x' is not the issuer 'https://emu.test' nor the token endpoint 'https://emu.test/oauth/token'");
        assert_eq!(
            strict(serde_json::json!({})).unwrap_err(),
            "assertion has no aud"
        );
        assert!(strict(serde_json::json!({"aud": 3}))
            .unwrap_err()
            .contains("a number"));
    }

    #[test]
    fn times_with_tolerance_and_lifetime() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let p = AssertionPolicy::default();
        let t = |v| times(&c(v), now, p, true);
        t(serde_json::json!({"exp": 1_000_060, "iat": 1_000_000})).unwrap();
        t(serde_json::json!({"exp": 999_990})).unwrap();
        let e = t(serde_json::json!({"exp": 999_925})).unwrap_err();
        assert_eq!(
            e,
            "assertion expired 75 s ago (server clock 1970-01-12T13:46:40Z, clock tolerance 30 s)"
        );
        let e = t(serde_json::json!({"exp": 1_000_600, "iat": 1_000_000})).unwrap_err();
        assert!(
            e.starts_with("assertion lifetime 600 s exceeds 300 s"),
            "{e}"
        );
        times(
            &c(serde_json::json!({"exp": 1_000_600, "iat": 1_000_000})),
            now,
            p,
            false,
        )
        .unwrap();
        let e = t(serde_json::json!({"exp": 1_000_100, "nbf": 1_000_050})).unwrap_err();
        assert!(
            e.starts_with("assertion not valid before 50 s from now"),
            "{e}"
        );
        let e = t(serde_json::json!({"exp": 1_000_100, "iat": 1_000_040})).unwrap_err();
        assert!(e.starts_with("assertion issued 40 s in the future"), "{e}");
        assert_eq!(
            t(serde_json::json!({})).unwrap_err(),
            "assertion has no exp"
        );
        assert!(t(serde_json::json!({"exp": "soon"}))
            .unwrap_err()
            .contains("NumericDate"));
        t(serde_json::json!({"exp": 1_000_060.5})).unwrap();
    }

    #[test]
    fn typ_values() {
        for ok in [
            None,
            Some("JWT"),
            Some("client-authentication+jwt"),
            Some("application/Client-Authentication+JWT"),
        ] {
            typ(ok).unwrap();
        }
        assert!(typ(Some("at+jwt"))
            .unwrap_err()
            .starts_with("assertion typ 'at+jwt' is not client-authentication+jwt"));
    }
}
