//! The registry file (`--config clients.toml`): TOML → [`EmulatorConfig`], errors with lines.
//!
//! Syntax and type errors come from the `toml` crate with line, column and field; semantic
//! errors (secret count, duplicate ids, empty lists) name the line of the client's `id`.
//! Unknown keys are errors, so a typo never silently changes behaviour. Files named in the
//! registry (`jwks_file`, `tls_cert`, …) are read here, relative to the registry file's
//! directory when one is given.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::keys::{load_jwks, parse_thumbprint, RawFederated};
use super::{
    AccessKey, AudienceMode, AuthMethod, BasicEncoding, ClientEntry, ConfigError, EmulatorConfig,
    RateLimit,
};
use crate::faults::{FaultSpec, RawFault};
use crate::tls::TlsSettings;

impl EmulatorConfig {
    /// Add the clients and faults of a registry file; top-level `flavor`, `token_format`,
    /// `token_lifetime`, `api_rate_limit` and `token_rate_limit` (`"N/DUR"`, e.g.
    /// `"300/60s"`) replace the current values when present.
    ///
    /// Relative paths in the file are taken from the current directory; see
    /// [`Self::merge_registry_file`].
    pub fn merge_registry_toml(&mut self, text: &str) -> Result<(), ConfigError> {
        self.merge_registry_toml_at(text, None)
    }

    /// [`Self::merge_registry_toml`] for the registry file at `path`: relative `jwks_file`,
    /// `tls_cert`, `tls_key` and `tls_client_ca` paths are taken from its directory, and
    /// errors start with the path.
    pub fn merge_registry_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        self.merge_registry_toml_at(&text, path.parent())
            .map_err(|e| match e {
                ConfigError::Toml(m) => ConfigError::Toml(format!("{}: {m}", path.display())),
                ConfigError::Invalid(m) => ConfigError::Invalid(format!("{}: {m}", path.display())),
            })
    }

    fn merge_registry_toml_at(
        &mut self,
        text: &str,
        base: Option<&Path>,
    ) -> Result<(), ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        if let Some(f) = raw.flavor {
            self.flavor = f.parse()?;
        }
        if let Some(t) = raw.token_format {
            self.token_format = t.parse()?;
        }
        if let Some(d) = raw.token_lifetime {
            self.token_lifetime = Some(d.0);
        }
        let api = either(
            "api_rate_limit",
            raw.api_rate_limit,
            "api_rate_limit_per_minute",
            raw.api_rate_limit_per_minute,
        )?;
        if let Some(l) = api {
            self.api_rate_limit = Some(l);
        }
        if let Some(l) = raw.token_rate_limit {
            self.token_rate_limit = Some(l);
        }
        if let Some(d) = raw.clock_tolerance {
            self.assertion.clock_tolerance = d.0;
        }
        if let Some(d) = raw.max_assertion_lifetime {
            if d.0.is_zero() {
                return Err(ConfigError::Invalid(
                    "`max_assertion_lifetime` must be at least 1s".into(),
                ));
            }
            self.assertion.max_lifetime = d.0;
        }
        self.merge_tls(raw.tls_cert, raw.tls_key, raw.tls_client_ca, base)?;
        for rc in raw.clients {
            let line = line_of(text, rc.id.span().start);
            let entry = rc
                .into_entry(base)
                .map_err(|m| ConfigError::Invalid(format!("line {line}: {m}")))?;
            if self.clients.iter().any(|c| c.id == entry.id) {
                return Err(ConfigError::Invalid(format!(
                    "line {line}: client id {:?} is registered twice",
                    entry.id
                )));
            }
            self.clients.push(entry);
        }
        for (i, rf) in raw.faults.into_iter().enumerate() {
            let spec = FaultSpec::from_raw(rf)
                .map_err(|e| ConfigError::Invalid(format!("[[faults]] #{}: {e}", i + 1)))?;
            self.faults.push(spec);
        }
        Ok(())
    }
}

impl EmulatorConfig {
    fn merge_tls(
        &mut self,
        cert: Option<String>,
        key: Option<String>,
        client_ca: Option<String>,
        base: Option<&Path>,
    ) -> Result<(), ConfigError> {
        let at = |f: &str| match base {
            Some(b) if Path::new(f).is_relative() => b.join(f),
            _ => Path::new(f).to_path_buf(),
        };
        match (cert, key) {
            (Some(c), Some(k)) => self.tls = Some(TlsSettings::from_files(&at(&c), &at(&k))?),
            (None, None) => {}
            _ => {
                return Err(ConfigError::Invalid(
                    "give both `tls_cert` and `tls_key` (PEM files), or neither".into(),
                ))
            }
        }
        if let Some(ca) = client_ca {
            let tls = self.tls.as_mut().ok_or_else(|| {
                ConfigError::Invalid(
                    "`tls_client_ca` needs HTTPS: give `tls_cert` and `tls_key` too".into(),
                )
            })?;
            tls.set_client_ca_file(&at(&ca))?;
        }
        Ok(())
    }
}

/// A limit given as `"N/DUR"` or in the older `*_per_minute = N` form, not both.
fn either(
    key: &str,
    limit: Option<RateLimit>,
    old_key: &str,
    per_minute: Option<u32>,
) -> Result<Option<RateLimit>, ConfigError> {
    match (limit, per_minute) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "give `{key}` or `{old_key}` (its older spelling), not both"
        ))),
        (Some(l), None) => Ok(Some(l)),
        (None, Some(n)) => RateLimit::per_minute(n)
            .map(Some)
            .map_err(|e| ConfigError::Invalid(format!("`{old_key}`: {e}"))),
        (None, None) => Ok(None),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    flavor: Option<String>,
    token_format: Option<String>,
    token_lifetime: Option<DurationField>,
    api_rate_limit: Option<RateLimit>,
    api_rate_limit_per_minute: Option<u32>,
    token_rate_limit: Option<RateLimit>,
    clock_tolerance: Option<DurationField>,
    max_assertion_lifetime: Option<DurationField>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    tls_client_ca: Option<String>,
    #[serde(default)]
    clients: Vec<RawClient>,
    #[serde(default)]
    faults: Vec<RawFault>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    id: toml::Spanned<String>,
    name: Option<String>,
    secret: Option<String>,
    secrets: Option<Vec<String>>,
    grants: Option<Vec<String>>,
    #[serde(default)]
    scopes: Vec<String>,
    token_lifetime: Option<DurationField>,
    auth_methods: Option<Vec<AuthMethod>>,
    basic_encoding: Option<BasicEncoding>,
    token_rate_limit: Option<RateLimit>,
    rate_limit_per_minute: Option<u32>,
    api_rate_limit: Option<RateLimit>,
    #[serde(default)]
    access_keys: Vec<AccessKey>,
    tenant_id: Option<String>,
    area: Option<String>,
    jwks: Option<toml::Value>,
    jwks_file: Option<String>,
    tls_client_auth_subject_dn: Option<String>,
    tls_client_certificate_thumbprint: Option<String>,
    #[serde(default)]
    federated: Vec<RawFederated>,
    audience_mode: Option<AudienceMode>,
}

impl RawClient {
    fn into_entry(self, base: Option<&Path>) -> Result<ClientEntry, String> {
        let id = self.id.into_inner();
        if id.is_empty() {
            return Err("client `id` is empty".into());
        }
        let secrets = match (self.secret, self.secrets) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "client {id:?}: give `secret` or `secrets`, not both"
                ))
            }
            (Some(s), None) => vec![s],
            (None, Some(v)) if v.is_empty() => {
                return Err(format!(
                    "client {id:?}: `secrets` must hold one or two secrets (two while rotating), found 0"
                ))
            }
            (None, Some(v)) => v,
            (None, None) => Vec::new(),
        };
        let grants = self
            .grants
            .unwrap_or_else(|| vec!["client_credentials".into()]);
        if grants
            .iter()
            .any(|g| g.trim().is_empty() || g.contains(' '))
        {
            return Err(format!(
                "client {id:?}: `grants` holds an empty or spaced grant name"
            ));
        }
        if self.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err(format!(
                "client {id:?}: `scopes` are single scope tokens without spaces, e.g. [\"read\", \"write\"]"
            ));
        }
        let named = |e: String| format!("client {id:?}: {e}");
        let jwks = load_jwks(self.jwks, self.jwks_file, base).map_err(named)?;
        let tls_client_auth_subject_dn = self
            .tls_client_auth_subject_dn
            .map(|d| d.parse())
            .transpose()
            .map_err(named)?;
        let tls_client_certificate_thumbprint = self
            .tls_client_certificate_thumbprint
            .as_deref()
            .map(parse_thumbprint)
            .transpose()
            .map_err(named)?;
        let federated = self
            .federated
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                f.into_trust(base)
                    .map_err(|e| named(format!("federated entry #{}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let token_rate_limit = either(
            "token_rate_limit",
            self.token_rate_limit,
            "rate_limit_per_minute",
            self.rate_limit_per_minute,
        )
        .map_err(|e| format!("client {id:?}: {e}"))?;
        if self.token_lifetime.is_some_and(|d| d.0.as_secs() == 0) {
            return Err(format!(
                "client {id:?}: `token_lifetime` must be at least 1s"
            ));
        }
        if self
            .access_keys
            .iter()
            .any(|k| k.id.is_empty() || k.secret.is_empty())
        {
            return Err(format!(
                "client {id:?}: an access key has an empty `id` or `secret`"
            ));
        }
        let mut entry = ClientEntry {
            id,
            name: self.name,
            secrets,
            grants,
            scopes: self.scopes,
            token_lifetime: self.token_lifetime.map(|d| d.0),
            auth_methods: Vec::new(),
            basic_encoding: self.basic_encoding,
            token_rate_limit,
            api_rate_limit: self.api_rate_limit,
            access_keys: self.access_keys,
            tenant_id: self.tenant_id,
            area: self.area,
            jwks,
            tls_client_auth_subject_dn,
            tls_client_certificate_thumbprint,
            federated,
            audience_mode: self.audience_mode.unwrap_or_default(),
        };
        entry.auth_methods = match self.auth_methods {
            Some(m) => m,
            None => entry.implied_auth_methods(),
        };
        entry
            .check()
            .map_err(|e| format!("client {:?}: {e}", entry.id))?;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{demo_clients, Flavor, CXONE_DEMO_APP_SECRET, CXONE_DEMO_KEY_SECRET};
    use super::*;

    const SAMPLE: &str = r#"
flavor = "genesys"
token_lifetime = "10m"
api_rate_limit = "100/10s"
token_rate_limit = "5/60s"

[[clients]]
id = "ci-bot"
secrets = ["s1", "s2"]
grants = ["client_credentials"]
scopes = ["read", "write"]
token_lifetime = "1h"
auth_methods = ["client_secret_basic", "client_secret_post"]
basic_encoding = "both"
token_rate_limit = "600/60s"
api_rate_limit = "50/5s"

[[clients]]
id = "cx"
secret = "x"
grants = ["password", "refresh_token"]
access_keys = [{ id = "K", secret = "S====" }]
tenant_id = "t-1"
area = "na1"

[[faults]]
kind = "status"
status = 503
count = 2
"#;

    #[test]
    fn parses_the_documented_format() {
        let cfg = EmulatorConfig::from_toml_str(SAMPLE).unwrap();
        assert_eq!(cfg.flavor, Flavor::Genesys);
        assert_eq!(cfg.token_lifetime, Some(Duration::from_secs(600)));
        assert_eq!(cfg.clients.len(), 2);
        let c = &cfg.clients[0];
        assert_eq!(c.secrets, vec!["s1", "s2"]);
        assert_eq!(c.token_lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(c.basic_encoding, Some(BasicEncoding::Both));
        assert_eq!(c.token_rate_limit, Some("600/60s".parse().unwrap()));
        assert_eq!(c.api_rate_limit, Some("50/5s".parse().unwrap()));
        assert_eq!(cfg.api_rate_limit, Some("100/10s".parse().unwrap()));
        assert_eq!(cfg.token_rate_limit, Some("5/60s".parse().unwrap()));
        // A client's own limits win; the others take the global ones.
        let other = &cfg.clients[1];
        assert_eq!(cfg.api_rate_limit_for(c).unwrap().to_string(), "50/5s");
        assert_eq!(
            cfg.api_rate_limit_for(other).unwrap().to_string(),
            "100/10s"
        );
        assert_eq!(
            cfg.token_rate_limit_for(other).unwrap().to_string(),
            "5/60s"
        );
        assert_eq!(cfg.clients[1].access_keys[0].id, "K");
        assert_eq!(cfg.faults.len(), 1);
    }

    #[test]
    fn rate_limits_in_the_older_per_minute_spelling_and_their_errors() {
        let cfg = EmulatorConfig::from_toml_str(
            "api_rate_limit_per_minute = 30\n[[clients]]\nid = \"a\"\nsecret = \"x\"\nrate_limit_per_minute = 2\n",
        )
        .unwrap();
        assert_eq!(cfg.api_rate_limit.unwrap().to_string(), "30/60s");
        assert_eq!(
            cfg.clients[0].token_rate_limit.unwrap().to_string(),
            "2/60s"
        );
        for (text, needles) in [
            (
                "[[clients]]\nid = \"a\"\nsecret = \"x\"\nrate_limit_per_minute = 0\n",
                &["line 2", "at least 1 request"][..],
            ),
            (
                "[[clients]]\nid = \"a\"\nsecret = \"x\"\ntoken_rate_limit = \"2/60s\"\nrate_limit_per_minute = 2\n",
                &["not both"][..],
            ),
            (
                "[[clients]]\nid = \"a\"\nsecret = \"x\"\napi_rate_limit = \"5/0s\"\n",
                &["line 4", "at least 1ms"][..],
            ),
            ("token_rate_limit = \"abc\"\n", &["line 1", "N/DUR"][..]),
            ("api_rate_limit = 300\n", &["line 1", "string"][..]),
        ] {
            let e = EmulatorConfig::from_toml_str(text).unwrap_err().to_string();
            assert!(needles.iter().all(|n| e.contains(n)), "{text}: {e}");
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = EmulatorConfig::from_toml_str(
            "[[clients]]\nid = \"a\"\nsecrets = [\"x\"]\nsecret_typo = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4") && e.contains("secret_typo"), "{e}");
        let e = EmulatorConfig::from_toml_str(
            "[[clients]]\nid = \"a\"\nsecrets = [\"x\"]\ntoken_lifetime = \"1x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 4") && e.contains("invalid duration"),
            "{e}"
        );
        let e = EmulatorConfig::from_toml_str(
            "\n\n[[clients]]\nid = \"a\"\nsecrets = [\"x\", \"y\", \"z\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4") && e.contains("one or two"), "{e}");
        let e = EmulatorConfig::from_toml_str(
            "[[clients]]\nid = \"a\"\nsecret = \"x\"\n[[clients]]\nid = \"a\"\nsecret = \"y\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("twice") && e.contains("line 5"), "{e}");
        let e = EmulatorConfig::from_toml_str(
            "[[clients]]\nid = \"a\"\nsecret = \"x\"\nauth_methods = [\"basic\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 4") && e.contains("client_secret_basic"),
            "{e}"
        );
        assert!(EmulatorConfig::from_toml_str("flavor = \"nice\"").is_err());
        assert!(EmulatorConfig::from_toml_str("[[faults]]\nkind = \"boom\"\n").is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            "[[",
            "clients = 3",
            "\u{0}",
            "[[clients]]",
            "[[clients]]\nid = 1",
        ] {
            let _ = EmulatorConfig::from_toml_str(s);
        }
    }

    #[test]
    fn debug_shows_fingerprints_only() {
        let d = format!("{:?}", demo_clients(Flavor::Cxone));
        assert!(
            !d.contains(CXONE_DEMO_APP_SECRET) && !d.contains(CXONE_DEMO_KEY_SECRET),
            "{d}"
        );
        assert!(d.contains("sha256:"));
    }
}
