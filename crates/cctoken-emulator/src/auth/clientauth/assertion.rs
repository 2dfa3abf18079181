//! `private_key_jwt`, `client_secret_jwt` and federated assertions at the endpoints that
//! authenticate clients (RFC 7521 §4.2, RFC 7523 §2.2/§3).
//!
//! The order of checks: the two form parameters → the compact JWS → `alg` (`none` never;
//! only [`crate::keys::jws::SUPPORTED`]) → `iss`/`sub` present → the client (body `client_id`,
//! else `sub`) → federated trust when `iss` is one of the client's federated issuers,
//! otherwise: the method fits `alg` and the client → body `client_id` = `sub` → `iss` =
//! `sub` = client id → `typ` → the signature (key by `kid`, else by `x5t#S256`, else every
//! key that fits `alg`) → `aud` → times and lifetime → `jti`, last, so a refused assertion
//! never burns its `jti`. The first failing check is the reason.

use std::sync::Arc;

use super::claims::{self, Times};
use super::{accepted, fail};
use crate::auth::{AuthFail, AuthOk};
use crate::config::{AuthMethod, FederatedTrust};
use crate::fingerprint;
use crate::form::{printable, Form};
use crate::keys::jwk::{alg_fits, Jwk, Jwks};
use crate::keys::jws::{shown, verify, verify_hmac, Alg, Compact};
use crate::registry::RegisteredClient;
use crate::state::AppState;
use axum::http::StatusCode;

/// RFC 7523 §2.2: the only `client_assertion_type` the emulator knows.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Where the request arrived: what `aud` may name.
pub(crate) struct Audience {
    /// The issuer identifier (the base URL).
    pub issuer: String,
    /// The token endpoint, then the URL of the endpoint that got the request (legacy mode).
    pub token_urls: Vec<String>,
}

fn bad_request(reason: &str) -> AuthFail {
    let mut f = fail(reason.to_owned());
    f.status = StatusCode::BAD_REQUEST;
    f.error = "invalid_request";
    f
}

/// Authenticate a request that carries `client_assertion` or `client_assertion_type`.
pub(crate) fn authenticate(st: &AppState, aud: &Audience, form: &Form) -> Result<AuthOk, AuthFail> {
    let body_id = form.get("client_id");
    let with_id = |id: Option<&str>, method: Option<AuthMethod>| {
        let id = id.map(printable);
        move |mut f: AuthFail| {
            f.client_id = f.client_id.take().or(id);
            f.method = f.method.or(method);
            f
        }
    };
    let (assertion, kind) = match (
        form.get("client_assertion"),
        form.get("client_assertion_type"),
    ) {
        (Some(a), Some(k)) => (a, k),
        (Some(_), None) => {
            return Err(with_id(body_id, None)(bad_request(
                "client_assertion without client_assertion_type",
            )))
        }
        _ => {
            return Err(with_id(body_id, None)(bad_request(
                "client_assertion_type without client_assertion",
            )))
        }
    };
    if kind != JWT_BEARER {
        return Err(with_id(body_id, None)(fail(format!(
            "client_assertion_type '{}' is not supported (expected {JWT_BEARER})",
            printable(kind)
        ))));
    }
    let jws = Compact::parse(assertion).map_err(|e| {
        with_id(body_id, None)(fail(format!("client_assertion is not a compact JWS: {e}")))
    })?;
    let (iss, sub) = match (
        claims::string(&jws.claims, "iss"),
        claims::string(&jws.claims, "sub"),
    ) {
        (Ok(Some(i)), Ok(Some(s))) => (i, s),
        (Err(e), _) | (_, Err(e)) => return Err(with_id(body_id, None)(fail(e))),
        (Ok(None), _) => return Err(with_id(body_id, None)(fail("assertion has no iss".into()))),
        (_, Ok(None)) => return Err(with_id(body_id, None)(fail("assertion has no sub".into()))),
    };
    let claimed = body_id.unwrap_or(sub);
    let alg = Alg::parse(&jws.header.alg).map_err(|e| with_id(Some(claimed), None)(fail(e)))?;
    let method = if alg.is_hmac() {
        AuthMethod::ClientSecretJwt
    } else {
        AuthMethod::PrivateKeyJwt
    };
    let tag = with_id(Some(claimed), Some(method));
    let Some(client) = st.inner.registry.get(claimed) else {
        let hint = if body_id.is_none() && iss != sub {
            " (the assertion's sub; a federated assertion names its client in the body's client_id)"
        } else {
            ""
        };
        return Err(tag(fail(format!("unknown client{hint}"))));
    };
    let id = client.entry.id.as_str();
    let tag = with_id(Some(id), Some(method));
    if iss != id {
        let trusts: Vec<&FederatedTrust> = client
            .entry
            .federated
            .iter()
            .filter(|f| f.issuer == iss)
            .collect();
        if !trusts.is_empty() {
            return federated(st, client, &jws, alg, sub, &trusts)
                .map_err(with_id(Some(id), Some(AuthMethod::PrivateKeyJwt)));
        }
    }
    own(st, aud, client, &jws, alg, method, body_id, (iss, sub)).map_err(tag)
}

/// An assertion the client signed itself (`private_key_jwt`, `client_secret_jwt`).
#[allow(clippy::too_many_arguments)]
fn own(
    st: &AppState,
    aud: &Audience,
    client: &Arc<RegisteredClient>,
    jws: &Compact<'_>,
    alg: Alg,
    method: AuthMethod,
    body_id: Option<&str>,
    (iss, sub): (&str, &str),
) -> Result<AuthOk, AuthFail> {
    let entry = &client.entry;
    let id = entry.id.as_str();
    if !client.allows(method) {
        let other = match method {
            AuthMethod::ClientSecretJwt => AuthMethod::PrivateKeyJwt,
            _ => AuthMethod::ClientSecretJwt,
        };
        return Err(fail(if client.allows(other) {
            let takes = match other {
                AuthMethod::ClientSecretJwt => " (it takes HS256)",
                _ => "",
            };
            format!(
                "alg {} not allowed for {}{takes}",
                alg.as_str(),
                other.as_str()
            )
        } else {
            format!(
                "auth method {} not allowed for this client (it accepts {})",
                method.as_str(),
                accepted(client)
            )
        }));
    }
    if let Some(b) = body_id {
        if b != sub {
            return Err(fail(format!(
                "client_id in body ({}) differs from the assertion's sub ('{}')",
                printable(b),
                shown(sub)
            )));
        }
    }
    if iss != id {
        let fed = if entry.federated.is_empty() {
            String::new()
        } else {
            let known: Vec<&str> = entry.federated.iter().map(|f| f.issuer.as_str()).collect();
            format!(" nor one of its federated issuers ({})", known.join(", "))
        };
        return Err(fail(format!(
            "assertion iss '{}' is not the client id '{id}'{fed}",
            shown(iss)
        )));
    }
    // `sub` is the client id here: the client was found by it, or by a body `client_id`
    // that equals it.
    claims::typ(jws.header.typ.as_deref()).map_err(fail)?;
    let note = if alg.is_hmac() {
        hmac(client, jws)?;
        "HS256 with the client secret".to_owned()
    } else {
        let jwks = entry.jwks.as_ref().ok_or_else(|| {
            fail("the client has no JWK Set to verify a private_key_jwt assertion".into())
        })?;
        let key = signature(jws, alg, jwks, "the client's")?;
        format!("{} key {}", alg.as_str(), key.name())
    };
    claims::audience(
        &jws.claims,
        entry.audience_mode,
        &aud.issuer,
        &aud.token_urls,
    )
    .map_err(fail)?;
    let policy = st.config().assertion;
    let times = claims::times(&jws.claims, st.now(), policy, true).map_err(fail)?;
    claims::jti(st, &jws.claims, id, &times).map_err(|(reason, transient)| {
        let mut f = fail(reason);
        if transient {
            f.status = StatusCode::SERVICE_UNAVAILABLE;
            f.error = "temporarily_unavailable";
        }
        f
    })?;
    Ok(AuthOk {
        client: Arc::clone(client),
        method,
        note: Some(format!("{} assertion, {note}", method.as_str())),
        cnf: None,
    })
}

/// An external token from a federated issuer (workload identity federation): exact `sub`
/// and `aud`, the issuer's keys, the time checks; no lifetime cap and no replay check, as
/// such tokens are reused until they expire (a Kubernetes projected token is re-read on
/// every request) and their lifetime is the issuer's choice.
fn federated(
    st: &AppState,
    client: &Arc<RegisteredClient>,
    jws: &Compact<'_>,
    alg: Alg,
    sub: &str,
    trusts: &[&FederatedTrust],
) -> Result<AuthOk, AuthFail> {
    let issuer = trusts[0].issuer.as_str();
    if !client.allows(AuthMethod::PrivateKeyJwt) {
        return Err(fail(format!(
            "auth method private_key_jwt (federated assertion) not allowed for this client (it accepts {})",
            accepted(client)
        )));
    }
    if alg.is_hmac() {
        return Err(fail(format!(
            "alg {} not allowed for a federated assertion (issuer '{issuer}' signs with its own keys)",
            alg.as_str()
        )));
    }
    let Some(trust) = trusts.iter().find(|t| t.subject == sub) else {
        let known: Vec<String> = trusts.iter().map(|t| format!("'{}'", t.subject)).collect();
        return Err(fail(format!(
            "federated assertion sub '{}' is not a trusted subject of issuer '{issuer}' (trusted: {})",
            shown(sub),
            known.join(", ")
        )));
    };
    let key = signature(jws, alg, &trust.jwks, "the federated issuer's")?;
    claims::federated_audience(&jws.claims, &trust.audience).map_err(fail)?;
    let policy = st.config().assertion;
    let _: Times = claims::times(&jws.claims, st.now(), policy, false).map_err(fail)?;
    Ok(AuthOk {
        client: Arc::clone(client),
        method: AuthMethod::PrivateKeyJwt,
        note: Some(format!(
            "federated assertion of issuer '{issuer}', subject '{}', {} key {}",
            shown(sub),
            alg.as_str(),
            key.name()
        )),
        cnf: None,
    })
}

/// HS256 with any of the client's secrets.
fn hmac(client: &RegisteredClient, jws: &Compact<'_>) -> Result<(), AuthFail> {
    let input = jws.signing_input.as_bytes();
    let secrets = &client.entry.secrets;
    if secrets
        .iter()
        .any(|s| verify_hmac(s.as_bytes(), input, &jws.signature))
    {
        return Ok(());
    }
    let fps: Vec<String> = secrets.iter().map(|s| fingerprint(s.as_bytes())).collect();
    Err(fail(format!(
        "HS256 signature does not verify with the client secret ({})",
        fps.join(" or ")
    )))
}

/// The key that verifies the signature; reasons name the key or list the known ones.
fn signature<'k>(
    jws: &Compact<'_>,
    alg: Alg,
    jwks: &'k Jwks,
    whose: &str,
) -> Result<&'k Jwk, AuthFail> {
    let a = alg.as_str();
    let chosen: Option<&Jwk> = if let Some(kid) = &jws.header.kid {
        Some(
            jwks.keys()
                .iter()
                .find(|k| k.kid.as_ref() == Some(kid))
                .ok_or_else(|| {
                    fail(format!(
                        "kid '{}' not in {whose} JWKS (known: {})",
                        shown(kid),
                        jwks.known()
                    ))
                })?,
        )
    } else if let Some(t) = &jws.header.x5t_s256 {
        Some(
            jwks.keys()
                .iter()
                .find(|k| k.cert_thumbprint.as_ref() == Some(t))
                .ok_or_else(|| {
                    fail(format!(
                        "x5t#S256 '{}' matches no certificate in {whose} JWKS (known: {})",
                        shown(t),
                        jwks.known()
                    ))
                })?,
        )
    } else {
        None
    };
    let candidates: Vec<&Jwk> = match chosen {
        Some(k) => {
            if !alg_fits(a, &k.key) {
                return Err(fail(format!(
                    "alg {a} but key {} is {}",
                    k.name(),
                    k.key.kind()
                )));
            }
            if let Some(ka) = k.alg.as_deref().filter(|ka| *ka != a) {
                return Err(fail(format!(
                    "alg {a} but key {} is registered for {ka}",
                    k.name()
                )));
            }
            vec![k]
        }
        None => {
            let fit: Vec<&Jwk> = jwks
                .keys()
                .iter()
                .filter(|k| alg_fits(a, &k.key) && k.alg.as_deref().is_none_or(|ka| ka == a))
                .collect();
            if fit.is_empty() {
                let kinds: Vec<String> = jwks
                    .keys()
                    .iter()
                    .map(|k| format!("{} {}", k.name(), k.key.kind()))
                    .collect();
                return Err(fail(format!(
                    "no key in {whose} JWKS fits alg {a} (keys: {})",
                    kinds.join(", ")
                )));
            }
            fit
        }
    };
    let input = jws.signing_input.as_bytes();
    if let Some(k) = candidates
        .iter()
        .find(|k| verify(alg, &k.key, input, &jws.signature))
    {
        return Ok(k);
    }
    Err(fail(match candidates.as_slice() {
        [k] => format!("{a} signature does not verify with key {}", k.name()),
        many => format!(
            "{a} signature does not verify with any of the {} keys in {whose} JWKS that fit it",
            many.len()
        ),
    }))
}
