//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3.1).
//!
//! `client_secret_basic`: base64 of `id ":" secret`, where RFC 6749 says both halves are
//! form-urlencoded first. The generic flavor insists on that; Genesys accepts raw values too
//! (its SDKs send them); a client entry can choose. `client_secret_post`: `client_id` and
//! `client_secret` form parameters. A `client_assertion` goes to [`clientauth`]'s JWT
//! verification; a bare `client_id` of a client that accepts a certificate method, to its
//! certificate check. One method per request: an assertion next to a Basic header or a
//! `client_secret` is `invalid_request`. Failures carry the exact internal reason — which
//! check failed, with secrets only as fingerprints — for the activity log, and the public
//! status and error code for the response. This module never builds responses itself.

pub(crate) mod clientauth;

use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::config::{AuthMethod, BasicEncoding};
use crate::discovery::token_path;
use crate::fingerprint;
use crate::form::{form_decode, printable, safe_name, Form};
use crate::keys::PeerCertificate;
use crate::registry::{RegisteredClient, Registry};
use crate::state::AppState;
use clientauth::{authenticate_assertion, authenticate_certificate, Audience};

/// An authenticated client.
#[derive(Debug, Clone)]
pub struct AuthOk {
    /// The client.
    pub client: Arc<RegisteredClient>,
    /// How it authenticated.
    pub method: AuthMethod,
    /// What the activity log adds on success (key, certificate, federated issuer).
    pub note: Option<String>,
    /// The TLS client certificate's `x5t#S256` when it authenticated the client: issued
    /// tokens are bound to it (RFC 8705 §3).
    pub cnf: Option<String>,
}

/// A request's credentials: headers, the TLS client certificate and where it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The server state (registry, clock, replay cache, base URL).
    pub st: &'a AppState,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The TLS client certificate of the connection, if any.
    pub peer: Option<&'a PeerCertificate>,
    /// The request path (legacy-mode assertions may name its URL as `aud`).
    pub path: &'a str,
}

/// A failed authentication: public answer plus internal reason.
#[derive(Debug, Clone)]
pub struct AuthFail {
    /// 400 or 401.
    pub status: StatusCode,
    /// `invalid_request` or `invalid_client`.
    pub error: &'static str,
    /// The exact reason, for the activity log only.
    pub reason: String,
    /// Whether to send `WWW-Authenticate: Basic` (the client used, or should use, Basic).
    pub challenge: bool,
    /// The client id as presented, if any.
    pub client_id: Option<String>,
    /// The method attempted, if any.
    pub method: Option<AuthMethod>,
}

fn fail(status: StatusCode, error: &'static str, reason: String, challenge: bool) -> AuthFail {
    AuthFail {
        status,
        error,
        reason,
        challenge,
        client_id: None,
        method: None,
    }
}

fn invalid_client(reason: impl Into<String>, challenge: bool) -> AuthFail {
    fail(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        reason.into(),
        challenge,
    )
}

/// The client id a request claims, before any check (for faults and the activity log).
pub fn claimed_client_id(headers: &HeaderMap, form: &Form) -> Option<String> {
    if let Some((id, _)) = basic_parts(headers).and_then(Result::ok) {
        return Some(String::from_utf8_lossy(&form_decode(&id)).into_owned());
    }
    form.get("client_id").map(printable)
}

type Parts = (Vec<u8>, Vec<u8>);

/// `Some(Ok((id, secret)))` for a well-formed Basic header (undecoded halves), `Some(Err)`
/// for a malformed one, `None` when there is no `Authorization` header.
fn basic_parts(headers: &HeaderMap) -> Option<Result<Parts, AuthFail>> {
    let value = headers.get(header::AUTHORIZATION)?;
    Some((|| {
        let v = value.to_str().map_err(|_| {
            invalid_client("malformed Authorization header: not visible ASCII", true)
        })?;
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(invalid_client(
                format!("Authorization scheme {} is not Basic", safe_name(scheme)),
                true,
            ));
        }
        let b64 = rest.trim();
        if b64.is_empty() {
            return Err(invalid_client("malformed Basic credentials: empty", true));
        }
        let decoded = STANDARD.decode(b64).map_err(|e| {
            invalid_client(
                format!("malformed Basic credentials: not base64 ({e})"),
                true,
            )
        })?;
        let colon = decoded.iter().position(|&b| b == b':').ok_or_else(|| {
            invalid_client(
                "malformed Basic credentials: no ':' between id and secret",
                true,
            )
        })?;
        Ok((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
    })())
}

fn expected(client: &RegisteredClient) -> String {
    client
        .entry
        .secrets
        .iter()
        .map(|s| fingerprint(s.as_bytes()))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn matches(client: &RegisteredClient, secret: &[u8]) -> bool {
    client.entry.secrets.iter().any(|s| s.as_bytes() == secret)
}

/// Authenticate the client of a request.
pub fn authenticate(p: Presented<'_>, form: &Form) -> Result<AuthOk, AuthFail> {
    let reg = &p.st.inner.registry;
    let headers = p.headers;
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        let also = if headers.contains_key(header::AUTHORIZATION) {
            Some("an Authorization header")
        } else if body_secret.is_some() {
            Some("client_secret")
        } else {
            None
        };
        if let Some(other) = also {
            let mut f = fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "client_assertion together with {other}: one client authentication method per request"
                ),
                false,
            );
            f.client_id = body_id.map(printable);
            return Err(f);
        }
        let issuer = p.st.base_for(headers);
        let mut token_urls = vec![format!("{issuer}{}", token_path(p.st.config().flavor))];
        let here = format!("{issuer}{}", p.path);
        if !token_urls.contains(&here) {
            token_urls.push(here);
        }
        return authenticate_assertion(p.st, &Audience { issuer, token_urls }, form);
    }
    match basic_parts(headers) {
        Some(parts) => {
            if body_secret.is_some() {
                let mut f = fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "credentials in header and body".into(),
                    false,
                );
                f.client_id = body_id.map(printable);
                return Err(f);
            }
            let (raw_id, raw_secret) = parts.map_err(|mut f| {
                f.method = Some(AuthMethod::ClientSecretBasic);
                f
            })?;
            basic(reg, &raw_id, &raw_secret, body_id).map_err(|mut f| {
                f.method = Some(AuthMethod::ClientSecretBasic);
                f
            })
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => post(reg, id, secret).map_err(|mut f| {
                f.client_id = Some(printable(id));
                f.method = Some(AuthMethod::ClientSecretPost);
                f
            }),
            (Some(id), None) => {
                let client = reg
                    .get(id)
                    .filter(|c| c.entry.auth_methods.iter().any(|m| m.uses_certificate()));
                let result = match client {
                    Some(c) => {
                        authenticate_certificate(p.st, c, p.peer).map(|(method, thumb)| AuthOk {
                            client: Arc::clone(c),
                            method,
                            note: Some(format!("certificate x5t#S256 {thumb}")),
                            cnf: Some(thumb),
                        })
                    }
                    None => Err(invalid_client(
                        "no client secret: client_id in body without client_secret or Basic header",
                        true,
                    )),
                };
                result.map_err(|mut f| {
                    f.client_id = Some(printable(id));
                    f
                })
            }
            (None, Some(_)) => Err(fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_secret in body without client_id".into(),
                false,
            )),
            (None, None) => Err(invalid_client("no client authentication", true)),
        },
    }
}

fn basic(
    reg: &Registry,
    raw_id: &[u8],
    raw_secret: &[u8],
    body_id: Option<&str>,
) -> Result<AuthOk, AuthFail> {
    let rfc_id = form_decode(raw_id);
    let rfc_secret = form_decode(raw_secret);
    let shown_id = String::from_utf8_lossy(&rfc_id).into_owned();
    let lookup = |id: &[u8]| std::str::from_utf8(id).ok().and_then(|s| reg.get(s));
    let Some(client) = lookup(&rfc_id).or_else(|| lookup(raw_id)) else {
        let mut f = invalid_client("unknown client", true);
        f.client_id = Some(printable(&shown_id));
        return Err(f);
    };
    let id = client.entry.id.as_str();
    let with_id = |mut f: AuthFail| {
        f.client_id = Some(id.to_owned());
        f
    };
    if let Some(b) = body_id {
        if b != id {
            return Err(with_id(fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "client_id in body ({}) differs from the Basic header ({id})",
                    printable(b)
                ),
                false,
            )));
        }
    }
    if !client.allows(AuthMethod::ClientSecretBasic) {
        return Err(with_id(invalid_client(
            format!(
                "auth method client_secret_basic not allowed for this client (it accepts {})",
                clientauth::accepted(client)
            ),
            true,
        )));
    }
    let rfc_ok = rfc_id == id.as_bytes() && matches(client, &rfc_secret);
    let raw_ok = raw_id == id.as_bytes() && matches(client, raw_secret);
    let enc = client.basic_encoding;
    let accepted = match enc {
        BasicEncoding::Rfc => rfc_ok,
        BasicEncoding::Raw => raw_ok,
        BasicEncoding::Both => rfc_ok || raw_ok,
    };
    if accepted {
        return Ok(AuthOk {
            client: Arc::clone(client),
            method: AuthMethod::ClientSecretBasic,
            note: None,
            cnf: None,
        });
    }
    let presented = match enc {
        BasicEncoding::Raw => raw_secret,
        BasicEncoding::Rfc | BasicEncoding::Both => &rfc_secret[..],
    };
    let mut reason = format!(
        "secret mismatch: presented fingerprint {}, expected {}",
        fingerprint(presented),
        expected(client)
    );
    if enc == BasicEncoding::Rfc && raw_ok {
        reason.push_str(&format!(
            "; the undecoded (basic-raw) value {} matches: this server form-decodes Basic \
             credentials as RFC 6749 §2.3.1 says, so encode id and secret before base64",
            fingerprint(raw_secret)
        ));
    } else if enc == BasicEncoding::Raw && rfc_ok {
        reason.push_str(
            "; the form-decoded value matches: this client takes Basic credentials raw, \
             so do not form-urlencode them",
        );
    } else if enc == BasicEncoding::Both && raw_secret != &rfc_secret[..] {
        reason.push_str(&format!(" (undecoded: {})", fingerprint(raw_secret)));
    }
    Err(with_id(invalid_client(reason, true)))
}

fn post(reg: &Registry, id: &str, secret: &str) -> Result<AuthOk, AuthFail> {
    let Some(client) = reg.get(id) else {
        return Err(invalid_client("unknown client", false));
    };
    if !client.allows(AuthMethod::ClientSecretPost) {
        return Err(invalid_client(
            format!(
                "auth method client_secret_post not allowed for this client (it accepts {})",
                clientauth::accepted(client)
            ),
            false,
        ));
    }
    if !matches(client, secret.as_bytes()) {
        return Err(invalid_client(
            format!(
                "secret mismatch: presented fingerprint {}, expected {}",
                fingerprint(secret.as_bytes()),
                expected(client)
            ),
            false,
        ));
    }
    Ok(AuthOk {
        client: Arc::clone(client),
        method: AuthMethod::ClientSecretPost,
        note: None,
        cnf: None,
    })
}
