//! The registry file (`--config clients.toml`): TOML → [`EmulatorConfig`], errors with lines.
//!
//! Syntax and type errors come from the `toml` crate with line, column and field; semantic
//! errors (secret count, duplicate ids, empty lists) name the line of the client's `id`.
//! Unknown keys are errors, so a typo never silently changes behaviour. Files named in the
//! registry (`jwks_file`, `tls_cert`, …) are read here, relative to the registry file's
//! directory when one is given.

use std::path::Path;

use serde::Deserialize;

use super::keys::{load_jwks, parse_thumbprint, RawFederated};
use super::read::read_bounded_text;
use super::{
    AccessKey, AudienceMode, AuthMethod, BasicEncoding, ClientEntry, ConfigError, EmulatorConfig,
    RateLimit,
};
use crate::config::tls::TlsSettings;
use crate::duration::DurationField;
use crate::faults::{FaultSpec, RawFault};

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
        let text = read_bounded_text(path, "the registry file").map_err(ConfigError::Invalid)?;
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
