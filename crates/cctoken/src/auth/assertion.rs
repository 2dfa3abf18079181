//! Client assertions (RFC 7523, OIDC Core §9, RFC 10070) as SPEC §14 specifies them.
//!
//! [`sign`] makes one assertion: `iss` = `sub` = the client id, `aud` a single string,
//! `iat` = `nbf` = now, `exp` = now + 60 s, a fresh random `jti`, and the header `typ:
//! client-authentication+jwt` plus `kid` and `x5t#S256` when known. It is called once per
//! attempt, so a retry never replays a `jti`. [`Assertion`] keeps the compact JWS as a
//! secret and shows only its decoded header and claims with the signature elided;
//! [`decode`] is the same view of any compact JWS (an external CI token, a pasted
//! assertion for `doctor`). Which `aud` to use is [`AssertionAud`]'s rule; picking the
//! method and algorithm is the client's.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::{json, Map, Value};

use super::key::{hs256, Alg, SigningKey};
use crate::secret::ClientSecret;
use crate::Error;

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The header `typ` of RFC 10070.
pub const TYP: &str = "client-authentication+jwt";
/// `exp` − `iat` of the assertions cctoken signs.
pub const LIFETIME: Duration = Duration::from_secs(60);

/// What `aud` names (`--assertion-aud`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AssertionAud {
    /// The issuer when one is known (RFC 10070), else the token endpoint.
    #[default]
    Issuer,
    /// The token endpoint (what older servers, e.g. Okta, Entra ID and Hydra, want).
    TokenEndpoint,
    /// Exactly this value.
    Url(String),
}

impl AssertionAud {
    /// The `aud` value for a request to `token_url`, with `issuer` when discovery or the
    /// profile gave one.
    pub fn value(&self, issuer: Option<&str>, token_url: &str) -> String {
        match self {
            Self::Issuer => issuer.unwrap_or(token_url).to_owned(),
            Self::TokenEndpoint => token_url.to_owned(),
            Self::Url(u) => u.clone(),
        }
    }
}

impl fmt::Display for AssertionAud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Issuer => f.write_str("issuer"),
            Self::TokenEndpoint => f.write_str("token-endpoint"),
            Self::Url(u) => f.write_str(u),
        }
    }
}

impl FromStr for AssertionAud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "issuer" => Ok(Self::Issuer),
            "token-endpoint" | "token_endpoint" => Ok(Self::TokenEndpoint),
            u if u.contains("://") => Ok(Self::Url(u.to_owned())),
            _ => Err(format!(
                "assertion audience '{s}' is neither issuer, token-endpoint nor a URL"
            )),
        }
    }
}

/// The key that signs: a private key, or the client secret (HS256).
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// `private_key_jwt`.
    Key(&'a SigningKey),
    /// `client_secret_jwt`.
    Secret(&'a ClientSecret),
}

/// Everything that goes into one signed assertion besides the time and the `jti`.
#[derive(Debug, Clone)]
pub struct AssertionSpec<'a> {
    /// Who signs.
    pub signer: Signer<'a>,
    /// The algorithm (must fit the signer).
    pub alg: Alg,
    /// `iss` and `sub`.
    pub client_id: &'a str,
    /// `aud`.
    pub aud: String,
    /// Header `kid`.
    pub kid: Option<&'a str>,
    /// Header `x5t#S256` (Entra ID picks the key by it).
    pub x5t_s256: Option<&'a str>,
    /// Header `typ: client-authentication+jwt` (`--assertion-typ none` drops it).
    pub typ: bool,
}

/// A client assertion: the compact JWS (secret) and its decoded parts (shown).
#[derive(Clone)]
pub struct Assertion {
    jwt: ClientSecret,
    /// The decoded header.
    pub header: Value,
    /// The decoded claims.
    pub claims: Value,
    /// Where it came from, e.g. "signed with EC P-256 key thumbprint …" or "env CI_JWT".
    pub origin: String,
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Assertion {
    /// A JWT made elsewhere (a CI platform's OIDC token), decoded for display.
    pub fn external(jwt: ClientSecret, origin: String) -> Result<Assertion, Error> {
        let (header, claims) = decode(jwt.expose_secret())
            .map_err(|e| Error::config(format!("the client assertion from {origin} {e}")))?;
        Ok(Assertion {
            jwt,
            header,
            claims,
            origin,
        })
    }

    /// A placeholder for an assertion obtained only at request time (GitHub Actions), for
    /// `--dry-run`; it is never sent.
    pub fn pending(origin: String) -> Assertion {
        Assertion {
            jwt: ClientSecret::new(""),
            header: json!({}),
            claims: json!({ "obtained_at_request_time_from": origin }),
            origin,
        }
    }

    /// The compact JWS that goes on the wire. Do not log it.
    pub fn jwt(&self) -> &ClientSecret {
        &self.jwt
    }

    /// `HEADER.CLAIMS.<signature elided>`, both parts as compact JSON.
    pub fn shown(&self) -> String {
        format!("{}.{}.<signature elided>", self.header, self.claims)
    }
}

fn b64(b: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// A fresh `jti`: 128 random bits, base64url.
pub fn new_jti() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b64(b)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Sign one assertion at `now` with `jti`.
pub fn sign(spec: &AssertionSpec<'_>, now: SystemTime, jti: String) -> Result<Assertion, Error> {
    let mut header = Map::new();
    header.insert("alg".into(), spec.alg.as_str().into());
    if spec.typ {
        header.insert("typ".into(), TYP.into());
    }
    if let Some(k) = spec.kid {
        header.insert("kid".into(), k.into());
    }
    if let Some(x) = spec.x5t_s256 {
        header.insert("x5t#S256".into(), x.into());
    }
    let header = Value::Object(header);
    let now = unix(now);
    let claims = json!({
        "iss": spec.client_id,
        "sub": spec.client_id,
        "aud": spec.aud,
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME.as_secs(),
        "jti": jti,
    });
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let (signature, origin) = match spec.signer {
        Signer::Key(k) => {
            let s = k
                .sign(spec.alg, input.as_bytes())
                .map_err(|e| Error::config(e.to_string()))?;
            let origin = format!("signed with {} key thumbprint {}", k.kind(), k.thumbprint());
            (s, origin)
        }
        Signer::Secret(s) => {
            if spec.alg != Alg::Hs256 {
                return Err(Error::config(format!(
                    "client-secret-jwt signs with HS256, not {}",
                    spec.alg
                )));
            }
            let origin = format!("HS256 with the client secret {}", s.fingerprint());
            (
                hs256(s.expose_secret().as_bytes(), input.as_bytes()),
                origin,
            )
        }
    };
    Ok(Assertion {
        jwt: ClientSecret::new(format!("{input}.{}", b64(signature))),
        header,
        claims,
        origin,
    })
}

/// The header and claims of a compact JWS, unverified; the signature is not looked at.
/// The error says what is wrong ("is not a compact JWS: …") without quoting the input.
pub fn decode(jwt: &str) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "is not a compact JWS: {} dot-separated parts instead of 3",
            parts.len()
        ));
    }
    let part = |i: usize, name: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|_| format!("is not a compact JWS: the {name} is not base64url"))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| format!("is not a compact JWS: the {name} is not JSON"))?;
        if v.is_object() {
            Ok(v)
        } else {
            Err(format!(
                "is not a compact JWS: the {name} is not a JSON object"
            ))
        }
    };
    Ok((part(0, "header")?, part(1, "claims")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_and_header_are_as_spec_14_says() {
        let secret = ClientSecret::new("s3cret-s3cret-s3cret-s3cret-s3cret-0001");
        let spec = AssertionSpec {
            signer: Signer::Secret(&secret),
            alg: Alg::Hs256,
            client_id: "bot",
            aud: AssertionAud::Issuer.value(Some("https://as.example"), "https://as.example/t"),
            kid: Some("k1"),
            x5t_s256: None,
            typ: true,
        };
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = sign(&spec, t, "j1".into()).unwrap();
        assert_eq!(
            a.header,
            json!({"alg": "HS256", "typ": TYP, "kid": "k1"}),
            "{a:?}"
        );
        assert_eq!(
            a.claims,
            json!({"iss": "bot", "sub": "bot", "aud": "https://as.example",
                   "iat": 1_800_000_000u64, "nbf": 1_800_000_000u64,
                   "exp": 1_800_000_060u64, "jti": "j1"})
        );
        let (h, c) = decode(a.jwt().expose_secret()).unwrap();
        assert_eq!((h, c), (a.header.clone(), a.claims.clone()));
        assert!(a.shown().ends_with(".<signature elided>"));
        assert!(!format!("{a:?}").contains(a.jwt().expose_secret()));
        let untyped = AssertionSpec { typ: false, ..spec };
        assert!(sign(&untyped, t, "j2".into())
            .unwrap()
            .header
            .get("typ")
            .is_none());
    }

    #[test]
    fn audience_rule() {
        let iss = Some("https://as.example");
        let te = "https://as.example/oauth/token";
        assert_eq!(AssertionAud::Issuer.value(iss, te), "https://as.example");
        assert_eq!(AssertionAud::Issuer.value(None, te), te);
        assert_eq!(AssertionAud::TokenEndpoint.value(iss, te), te);
        assert_eq!(
            "https://x/y"
                .parse::<AssertionAud>()
                .unwrap()
                .value(iss, te),
            "https://x/y"
        );
        assert!("nonsense".parse::<AssertionAud>().is_err());
    }

    #[test]
    fn decode_refuses_what_is_not_a_jws() {
        assert!(decode("a.b").unwrap_err().contains("2 dot-separated parts"));
        assert!(decode("!!.e30.x")
            .unwrap_err()
            .contains("header is not base64url"));
        assert!(decode("e30.W10.x")
            .unwrap_err()
            .contains("claims is not a JSON object"));
        assert!(new_jti() != new_jti());
    }
}
