//! Issuing tokens and shaping token-endpoint answers: the grant side of the pipeline.
//!
//! [`Rejection`] is a refused request (public status/code/description plus the internal
//! reason); [`Issued`] is an RFC 6749 §5.1 answer. `issue_access` mints and remembers an access
//! token, opaque or an RFC 9068 JWT; the client-credentials grant and scope checks live here
//! too. Request parsing and client authentication are in `token_endpoint` and `auth`.

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde::Serialize;

use crate::activity::Outcome;
use crate::config::Flavor;
use crate::form::{printable, Form};
use crate::registry::{lifetime, RegisteredClient};
use crate::respond::{oauth_error, with_retry_after};
use crate::state::AppState;
use crate::tokens::{opaque_token, random_id, TokenKind, TokenRecord};

/// A refused token request: public answer plus internal reason.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub reason: String,
    pub challenge: bool,
    pub retry_after: Option<u64>,
    pub outcome: Outcome,
}

impl Rejection {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Rejection {
            status,
            error,
            description: description.into(),
            reason: reason.into(),
            challenge: false,
            retry_after: None,
            outcome: Outcome::from_error(error),
        }
    }

    pub fn bad_request(error: &'static str, text: impl Into<String>) -> Self {
        let t = text.into();
        Self::new(StatusCode::BAD_REQUEST, error, t.clone(), t)
    }

    /// The flavor's rate-limit answer (Genesys: 400 `invalid_request` "rate limit exceeded; ...").
    pub fn rate_limited(flavor: Flavor, retry_after: u64, reason: impl Into<String>) -> Self {
        let desc = format!("rate limit exceeded; retry after {retry_after} seconds");
        let mut r = match flavor {
            Flavor::Genesys => Self::new(StatusCode::BAD_REQUEST, "invalid_request", desc, reason),
            Flavor::Generic | Flavor::Cxone => {
                let mut r = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    desc,
                    reason,
                );
                r.retry_after = Some(retry_after);
                r
            }
        };
        r.outcome = Outcome::RateLimited;
        r
    }

    pub fn render(&self, flavor: Flavor) -> Response<Body> {
        let r = oauth_error(
            flavor,
            self.status,
            self.error,
            &self.description,
            self.challenge,
        );
        match self.retry_after {
            Some(s) => with_retry_after(r, s),
            None => r,
        }
    }
}

/// A successful token response.
#[derive(Debug, Serialize)]
pub(crate) struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// What an access token is about.
pub(crate) struct Grant<'a> {
    pub client: &'a RegisteredClient,
    pub scope: Option<String>,
    pub sub: String,
    pub tenant_id: Option<String>,
    pub access_key_id: Option<String>,
    pub audience: Option<String>,
    /// `x5t#S256` of the TLS client certificate the token is bound to (RFC 8705 §3).
    pub cnf: Option<String>,
}

/// Issue (and remember) an access token; returns it with its lifetime in seconds.
pub(crate) fn issue_access(st: &AppState, base: &str, g: &Grant<'_>) -> (String, u64) {
    let cfg = st.config();
    let now = st.now_ms();
    // `expires_in` is whole seconds, so the token lives exactly that long from this instant.
    let ttl = lifetime(cfg, g.client).as_secs().max(1);
    let client_id = g.client.entry.id.as_str();
    let expires = now.saturating_add(ttl.saturating_mul(1000));
    let mut rec = TokenRecord::new(TokenKind::Access, client_id, &g.sub, now, expires);
    rec.scope = g.scope.clone();
    rec.tenant_id = g.tenant_id.clone();
    rec.access_key_id = g.access_key_id.clone();
    rec.cnf_x5t = g.cnf.clone();
    let token = if cfg.issues_jwt() {
        rec.jwt = true;
        let mut claims = serde_json::json!({
            "iss": base,
            "sub": g.sub,
            "aud": g.audience.as_deref().unwrap_or(base),
            "exp": rec.exp_secs(),
            "iat": rec.iat_secs(),
            "jti": random_id(),
            "client_id": client_id,
        });
        if let Some(s) = &g.scope {
            claims["scope"] = s.clone().into();
        }
        if let Some(t) = &g.tenant_id {
            claims["tenantId"] = t.clone().into();
        }
        if let Some(x5t) = &g.cnf {
            claims["cnf"] = serde_json::json!({ "x5t#S256": x5t });
        }
        st.inner.signer.sign("at+jwt", &claims)
    } else {
        opaque_token()
    };
    st.inner.tokens.insert(&token, rec, now);
    (token, ttl)
}

/// `token_type` as the flavor writes it.
pub(crate) fn token_type(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Genesys => "bearer",
        Flavor::Generic | Flavor::Cxone => "Bearer",
    }
}

/// Check requested scope against the client's; `None` = grant everything it has.
pub(crate) fn granted_scope(
    client: &RegisteredClient,
    requested: Option<&str>,
) -> Result<Option<String>, Rejection> {
    let allowed = &client.entry.scopes;
    let Some(req) = requested else {
        return Ok((!allowed.is_empty()).then(|| allowed.join(" ")));
    };
    let mut granted: Vec<&str> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for s in req.split_ascii_whitespace() {
        if allowed.iter().any(|a| a == s) {
            if !granted.contains(&s) {
                granted.push(s);
            }
        } else {
            refused.push(printable(s));
        }
    }
    if !refused.is_empty() {
        let mut reason = format!(
            "scope not allowed: {} (client may request: {})",
            refused.join(" "),
            if allowed.is_empty() {
                "nothing".to_owned()
            } else {
                allowed.join(" ")
            }
        );
        if req.contains(',') {
            reason.push_str("; scopes are separated by spaces, not commas");
        }
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("scope not allowed: {}", refused.join(" ")),
            reason,
        ));
    }
    Ok((!granted.is_empty()).then(|| granted.join(" ")))
}

pub(crate) fn client_credentials(
    st: &AppState,
    base: &str,
    client: &RegisteredClient,
    form: &Form,
    cnf: Option<String>,
) -> Result<Issued, Rejection> {
    let flavor = st.config().flavor;
    let scope = granted_scope(client, form.get("scope"))?;
    let g = Grant {
        client,
        scope: scope.clone(),
        sub: client.entry.id.clone(),
        tenant_id: None,
        access_key_id: None,
        audience: form
            .get("audience")
            .or(form.get("resource"))
            .map(str::to_owned),
        cnf,
    };
    let (access_token, expires_in) = issue_access(st, base, &g);
    // Genesys answers without `scope` unless one was asked for.
    let scope = if flavor == Flavor::Genesys && form.get("scope").is_none() {
        None
    } else {
        scope
    };
    Ok(Issued {
        access_token,
        token_type: token_type(flavor),
        expires_in,
        scope,
        refresh_token: None,
        id_token: None,
    })
}
