//! The OS keyring as a secret source: `client_secret_keyring = true` in a profile, filled by
//! `cctoken profiles set-secret NAME`.
//!
//! Entries live under service [`SERVICE`] with the profile name as the user (Secret Service
//! on Linux, Keychain on macOS, Credential Manager on Windows). Without the `keyring` cargo
//! feature, or without a running keyring (a headless CI machine has none), every call is a
//! clear configuration error that names the other sources. This module never prints and
//! never puts the secret into an error.

use crate::error::Error;
use crate::secret::ClientSecret;

/// The keyring service name of every cctoken entry.
pub const SERVICE: &str = "cctoken";

fn unavailable(why: impl std::fmt::Display) -> Error {
    Error::config(format!(
        "the OS keyring is not available ({why}); use client_secret_file, client_secret_env \
         or client_secret_cmd in the profile instead"
    ))
}

#[cfg(feature = "keyring")]
fn entry(profile: &str) -> Result<keyring::Entry, Error> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(unavailable(e));
    }
    keyring::Entry::new(SERVICE, profile).map_err(unavailable)
}

/// Read the secret stored for `profile` (raw bytes; the caller normalises them).
pub fn load(profile: &str) -> Result<Vec<u8>, Error> {
    #[cfg(feature = "keyring")]
    {
        match entry(profile)?.get_secret() {
            Ok(bytes) => Ok(bytes),
            Err(keyring::Error::NoEntry) => Err(Error::config(format!(
                "no secret for profile '{profile}' in the OS keyring (service '{SERVICE}'); \
                 store one with `cctoken profiles set-secret {profile}`"
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }
    #[cfg(not(feature = "keyring"))]
    {
        let _ = profile;
        Err(unavailable("this build has no keyring support"))
    }
}

/// Whether a secret is stored for `profile` (`Ok(false)`: none stored), without keeping
/// it: what `cctoken profiles list` shows. An error says why the keyring cannot be asked.
pub fn has_secret(profile: &str) -> Result<bool, Error> {
    #[cfg(feature = "keyring")]
    {
        match entry(profile)?.get_secret() {
            Ok(bytes) => {
                drop(zeroize::Zeroizing::new(bytes));
                Ok(true)
            }
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
    #[cfg(not(feature = "keyring"))]
    {
        let _ = profile;
        Err(unavailable("this build has no keyring support"))
    }
}

/// Store `secret` for `profile`, replacing any previous one.
pub fn store(profile: &str, secret: &ClientSecret) -> Result<(), Error> {
    #[cfg(feature = "keyring")]
    {
        entry(profile)?
            .set_secret(secret.expose_secret().as_bytes())
            .map_err(unavailable)
    }
    #[cfg(not(feature = "keyring"))]
    {
        let _ = (profile, secret);
        Err(unavailable("this build has no keyring support"))
    }
}
