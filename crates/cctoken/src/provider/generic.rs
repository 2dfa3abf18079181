//! Any RFC 6749 server: what its failures usually mean, in plain words (SPEC §5).
//!
//! These are the sentences people need instead of forum guesses, for servers cctoken knows
//! nothing special about; [`super::genesys::hint`] and [`super::cxone::hint`] replace some
//! of them with their provider's causes. They are static text — `doctor` does the deeper,
//! request-specific diagnosis — and [`crate::client::Client`] attaches them to its errors.

use crate::error::ErrorKind;

/// The likely causes of a `kind` failure on any server; `None` for configuration errors,
/// whose message already says what to fix.
pub fn hint(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::InvalidClient => {
            "The server did not accept the client credentials: the secret does not match \
             (compare the presented fingerprint), the client id is wrong or disabled, or the \
             server expects another client authentication method (try --auth post or \
             --auth basic-raw; see token_endpoint_auth_methods_supported in discovery). \
             Run `cctoken doctor`."
        }
        ErrorKind::InvalidGrant => {
            "The grant was refused: for refresh tokens, the token expired or was revoked; \
             cctoken falls back to a new grant automatically."
        }
        ErrorKind::UnauthorizedClient => {
            "The client exists but is not allowed to use this grant type: enable the \
             client_credentials grant for it on the authorization server."
        }
        ErrorKind::UnsupportedGrantType => {
            "The server does not support this grant type at this endpoint: check the token URL \
             and the server's grant_types_supported."
        }
        ErrorKind::InvalidScope => {
            "A requested scope is unknown or not allowed for this client: request only scopes \
             the client has been granted, separated by spaces (repeat --scope)."
        }
        ErrorKind::InvalidRequest => {
            "The server rejected the request's shape: check the body is form-encoded (not JSON), \
             grant_type is present, and credentials are not sent both in the header and the body."
        }
        ErrorKind::RateLimited => {
            "The server is rate limiting: share one token between jobs (`cctoken exec`, the \
             cache, or `cctoken agent`) and retry after the indicated time."
        }
        ErrorKind::ServerError => "The server failed; this is usually temporary — retry later.",
        ErrorKind::UnexpectedResponse => {
            "The answer was not a token response: a proxy, a captive portal or a wrong URL \
             (e.g. an HTML login page) is likely. Check the token URL and proxy variables."
        }
        ErrorKind::Transport => {
            "The server could not be reached: check the URL or region, DNS, proxy variables \
             (HTTPS_PROXY, NO_PROXY) and firewalls."
        }
        ErrorKind::Config => return None,
    })
}
