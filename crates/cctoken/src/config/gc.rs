//! Profiles of the Genesys Cloud CLI (`gc`), used with `--gc-profile NAME`.
//!
//! What the real CLI does (MyPureCloud/platform-client-sdk-cli, `build/gc/config/config.go`
//! and `cmd/profiles/createprofile.go`, read for this module):
//! - the file is `~/.gc/config.toml`, read with viper, one TOML table per profile; the
//!   default profile is `DEFAULT`, and viper lower-cases keys, so section names match
//!   case-insensitively;
//! - keys per profile: `environment` (a domain such as `mypurecloud.ie`, `localhost`, or a
//!   region name — the CLI's own table spells three of them with underscores, e.g.
//!   `me_central_1`), `client_credentials` (the OAuth client id), `client_secret`,
//!   `grant_type` (`"1"` client credentials, `"2"` implicit, `"3"` PKCE, `"0"` none), plus
//!   `access_token`, `oauth_token_data`, `redirect_uri`, logging, proxy and gateway keys
//!   that cctoken ignores;
//! - `GENESYSCLOUD_REGION`, `GENESYSCLOUD_OAUTHCLIENT_ID` and
//!   `GENESYSCLOUD_OAUTHCLIENT_SECRET` override the file. cctoken keeps that order: the
//!   environment conventions come before the gc profile (see [`crate::config::sources`]).
//!
//! This module only reads the file; it never writes it, and its errors never echo values
//! (the file holds a secret).

use std::path::{Path, PathBuf};

use crate::config::env::{self, EnvLookup};
use crate::config::sources::SecretSource;
use crate::config::toml_error::toml_error;
use crate::secret::ClientSecret;
use crate::Error;

/// One profile of the Genesys CLI.
#[derive(Debug, Clone)]
pub struct GcProfile {
    /// The section name as written in the file.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// `environment`: domain or region name.
    pub environment: Option<String>,
    /// `client_credentials`: the OAuth client id.
    pub client_id: Option<String>,
    client_secret: Option<ClientSecret>,
}

impl GcProfile {
    /// The profile's `client_secret` as a secret source, when it has one.
    pub fn secret_source(&self) -> Option<SecretSource> {
        self.client_secret
            .clone()
            .map(|value| SecretSource::Inline {
                origin: format!("gc profile {} in {}", self.name, self.path.display()),
                value,
            })
    }

    /// `environment` in the spelling of cctoken's region table (`me_central_1` →
    /// `me-central-1`).
    pub fn region_input(&self) -> Option<String> {
        self.environment
            .as_deref()
            .map(|e| e.trim().replace('_', "-"))
            .filter(|e| !e.is_empty())
    }
}

/// Load profile `name` from the Genesys CLI config (`$CCTOKEN_GC_CONFIG`, else
/// `~/.gc/config.toml`).
pub fn load(name: &str, env: &dyn EnvLookup) -> Result<GcProfile, Error> {
    let path = env::gc_config_path(env).ok_or_else(|| {
        Error::config("--gc-profile needs the Genesys CLI config, but HOME is not set")
    })?;
    let text = match super::file::read_config_text(&path) {
        Ok(t) => t,
        Err(super::file::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::config(format!(
                "--gc-profile {name}: the Genesys CLI config {} does not exist (create it with \
                 `gc profiles new`, or give --region, --client-id and a secret source instead)",
                path.display()
            )))
        }
        Err(e) => return Err(e.into_error("the Genesys CLI config", &path)),
    };
    parse(&text, &path, name)
}

/// Parse the Genesys CLI config text and pick profile `name` (case-insensitive).
pub fn parse(text: &str, path: &Path, name: &str) -> Result<GcProfile, Error> {
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let Some((section, value)) = table.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) else {
        let names: Vec<&str> = table
            .iter()
            .filter(|(_, v)| v.is_table())
            .map(|(k, _)| k.as_str())
            .collect();
        return Err(Error::config(format!(
            "no profile '{name}' in the Genesys CLI config {}; it has: {}",
            path.display(),
            if names.is_empty() {
                "no profiles".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    let Some(t) = value.as_table() else {
        return Err(Error::config(format!(
            "'{section}' in {} is not a profile section",
            path.display()
        )));
    };
    let get = |key: &str| -> Result<Option<String>, Error> {
        match t.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            None => Ok(None),
            Some((_, toml::Value::String(s))) if s.is_empty() => Ok(None),
            Some((_, toml::Value::String(s))) => Ok(Some(s.clone())),
            Some((_, toml::Value::Integer(i))) if key == "grant_type" => Ok(Some(i.to_string())),
            Some((k, _)) => Err(Error::config(format!(
                "gc profile {section} in {}: '{k}' should be a string",
                path.display()
            ))),
        }
    };
    if let Some(g) = get("grant_type")? {
        if g != "1" {
            let what = match g.as_str() {
                "0" => "no grant (access token only)",
                "2" => "the implicit grant",
                "3" => "the PKCE grant",
                _ => "an unknown grant type",
            };
            return Err(Error::config(format!(
                "gc profile {section} in {} uses {what} (grant_type = {g}); cctoken needs a \
                 client-credentials profile (grant_type 1)",
                path.display()
            )));
        }
    }
    Ok(GcProfile {
        name: section.clone(),
        path: path.to_path_buf(),
        environment: get("environment")?,
        client_id: get("client_credentials")?,
        client_secret: get("client_secret")?.map(ClientSecret::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[DEFAULT]
environment = "mypurecloud.ie"
client_credentials = "5a1c3a2e-1b2c-4d5e-8f90-123456789abc"
client_secret = "CANARY-gc-secret-0123456789"
grant_type = "1"
logging_enabled = false

[other]
environment = "me_central_1"
client_credentials = "id2"
grant_type = "2"
"#;

    #[test]
    fn reads_default_profile_case_insensitively() {
        let p = parse(FILE, Path::new("/h/.gc/config.toml"), "default").unwrap();
        assert_eq!(p.name, "DEFAULT");
        assert_eq!(p.environment.as_deref(), Some("mypurecloud.ie"));
        assert_eq!(
            p.client_id.as_deref(),
            Some("5a1c3a2e-1b2c-4d5e-8f90-123456789abc")
        );
        let src = p.secret_source().unwrap();
        assert_eq!(src.to_string(), "gc profile DEFAULT in /h/.gc/config.toml");
        assert!(!format!("{p:?} {src:?}").contains("CANARY"));
    }

    #[test]
    fn rejects_other_grants_and_lists_profiles() {
        let e = parse(FILE, Path::new("/x"), "other").unwrap_err();
        assert!(e.message.contains("implicit"), "{e}");
        let e = parse(FILE, Path::new("/x"), "prod").unwrap_err();
        assert!(e.message.contains("DEFAULT, other"), "{e}");
        assert!(!e.message.contains("CANARY"));
    }

    #[test]
    fn underscored_region_names_are_normalised() {
        let text = "[x]\nenvironment = \"me_central_1\"\n";
        let p = parse(text, Path::new("/x"), "x").unwrap();
        assert_eq!(p.region_input().as_deref(), Some("me-central-1"));
    }

    #[test]
    fn broken_file_names_line_without_values() {
        let text = "[DEFAULT]\nclient_secret = \"CANARY-unterminated\n";
        let e = parse(text, Path::new("/h/.gc/config.toml"), "DEFAULT").unwrap_err();
        assert!(e.message.contains("/h/.gc/config.toml:2"), "{e}");
        assert!(!e.message.contains("CANARY"), "{e}");
    }
}
