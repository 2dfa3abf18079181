//! Provider-specific hints: the likely causes of each failure, in plain words.
//!
//! These are the sentences people need instead of forum guesses. They are static text —
//! `doctor` does the deeper, request-specific diagnosis.

use crate::error::ErrorKind;
use crate::provider::ProviderKind;

/// The hint for `kind` on `provider`, if there is something useful to say.
pub fn hint(provider: ProviderKind, kind: ErrorKind) -> Option<&'static str> {
    use ErrorKind as K;
    use ProviderKind as P;
    Some(match (provider, kind) {
        (P::Genesys, K::InvalidClient) => {
            "Genesys answers invalid_client when the secret does not match (compare the presented \
             fingerprint with the one of the secret in Admin > OAuth), when the token request goes \
             to the wrong region (the client exists in one region only; check --region), when the \
             client was deleted or its secret rotated, or when the client's grant type is not \
             Client Credentials. Run `cctoken doctor` for a full check."
        }
        (P::Cxone, K::InvalidClient) => {
            "CXone authenticates the registered application here: check the app's client id and \
             secret (not the access key), and whether the app was registered for Basic or post \
             client authentication (--auth). Run `cctoken doctor`."
        }
        (_, K::InvalidClient) => {
            "The server did not accept the client credentials: the secret does not match \
             (compare the presented fingerprint), the client id is wrong or disabled, or the \
             server expects another client authentication method (try --auth post or \
             --auth basic-raw; see token_endpoint_auth_methods_supported in discovery). \
             Run `cctoken doctor`."
        }
        (P::Cxone, K::InvalidGrant) => {
            "CXone did not accept the access key: check the access key id and secret of the API \
             user (they come as a pair; secrets end in '====') and that the user is active."
        }
        (_, K::InvalidGrant) => {
            "The grant was refused: for refresh tokens, the token expired or was revoked; \
             cctoken falls back to a new grant automatically."
        }
        (P::Genesys, K::UnauthorizedClient) => {
            "The OAuth client exists but is not allowed to use this grant: in Genesys Admin > \
             OAuth, the client's Grant Type must be Client Credentials (it cannot be changed \
             later — create a new client)."
        }
        (_, K::UnauthorizedClient) => {
            "The client exists but is not allowed to use this grant type: enable the \
             client_credentials grant for it on the authorization server."
        }
        (P::Cxone, K::UnsupportedGrantType) => {
            "CXone back-end apps do not use client_credentials: use an API user's access key \
             (--access-key-id, CCTOKEN_ACCESS_KEY_SECRET) with the registered app's client id \
             and secret."
        }
        (_, K::UnsupportedGrantType) => {
            "The server does not support this grant type at this endpoint: check the token URL \
             and the server's grant_types_supported."
        }
        (_, K::InvalidScope) => {
            "A requested scope is unknown or not allowed for this client: request only scopes \
             the client has been granted, separated by spaces (repeat --scope)."
        }
        (P::Genesys, K::InvalidRequest) => {
            "Genesys expects a form-encoded body (not JSON) with grant_type=client_credentials and \
             the client in the Basic header; there is no 'duration' parameter — token lifetime is \
             set on the OAuth client (300–172800 s)."
        }
        (_, K::InvalidRequest) => {
            "The server rejected the request's shape: check the body is form-encoded (not JSON), \
             grant_type is present, and credentials are not sent both in the header and the body."
        }
        (P::Genesys, K::RateLimited) => {
            "Genesys rate-limits the token endpoint: share one token between jobs (`cctoken exec`, \
             the cache, or `cctoken agent`) instead of requesting one per job."
        }
        (_, K::RateLimited) => {
            "The server is rate limiting: share one token between jobs (`cctoken exec`, the \
             cache, or `cctoken agent`) and retry after the indicated time."
        }
        (_, K::ServerError) => "The server failed; this is usually temporary — retry later.",
        (_, K::UnexpectedResponse) => {
            "The answer was not a token response: a proxy, a captive portal or a wrong URL \
             (e.g. an HTML login page) is likely. Check the token URL and proxy variables."
        }
        (_, K::Transport) => {
            "The server could not be reached: check the URL or region, DNS, proxy variables \
             (HTTPS_PROXY, NO_PROXY) and firewalls."
        }
        (_, K::Config) => return None,
    })
}
