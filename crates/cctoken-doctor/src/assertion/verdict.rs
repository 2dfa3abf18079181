//! A server's reason for rejecting a client assertion or certificate, mapped to the code
//! doctor would give it offline. Servers say `invalid_client` and, at best, why in
//! `error_description`: the emulator names the exact cause (SPEC §14: "assertion aud 'X' is
//! not the issuer 'Y'", "kid 'k2' not in the client's JWKS", "jti replayed", …); Entra ID's
//! AADSTS codes and oidc-provider's details read alike.

use crate::report::Code;

/// The code for a rejection reason, with the fix that goes with it; `None` when the reason
/// is not about an assertion or certificate.
pub fn classify(reason: &str) -> Option<(Code, &'static str)> {
    let r = reason.to_ascii_lowercase();
    let has = |w: &[&str]| w.iter().any(|x| r.contains(x));
    let cert = has(&[
        "certificate",
        "thumbprint",
        "subject dn",
        "mtls",
        "tls client",
    ]);
    Some(if has(&["client_assertion_type"]) {
        (
            Code::ParamAssertionType,
            "send client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
    } else if has(&["not a compact jws", "not a jwt"]) {
        (
            Code::AssertionMalformed,
            "send the compact JWT exactly as signed",
        )
    } else if has(&[
        "auth method",
        "authentication method",
        "token_endpoint_auth_method",
        "does not accept",
    ]) {
        (
            Code::AuthMethodUnsupported,
            "use the client authentication method registered for the client",
        )
    } else if has(&["x5t#s256", "jwks"]) && !has(&["fits alg"]) {
        (Code::AssertionKid, "register the key (its JWK with that kid or x5t#S256) for the client, or sign with a registered one")
    } else if cert && has(&["expired", "not yet valid", "notafter"]) {
        (
            Code::CertExpired,
            "renew the client certificate and register the new one (its DN or thumbprint)",
        )
    } else if cert {
        (Code::CertMismatch, "present the certificate registered for the client (compare the subject DN and the SHA-256 thumbprint), or register this one")
    } else if has(&["jti"]) {
        (
            Code::AssertionJti,
            "sign a fresh assertion (new jti) for every request, retries included",
        )
    } else if has(&["aud"]) {
        (
            Code::AssertionAud,
            "set aud to the issuer identifier, as a string",
        )
    } else if has(&["lifetime", "too long"]) {
        (Code::AssertionLifetime, "sign the assertion for 60 s")
    } else if has(&[
        "expired",
        "not valid before",
        "not yet valid",
        "nbf",
        "iat",
        "in the future",
    ]) {
        (
            Code::AssertionExpired,
            "sign a fresh assertion, and synchronise this machine's clock (NTP)",
        )
    } else if has(&[
        "signature does not verify",
        "signature invalid",
        "bad signature",
    ]) {
        (Code::AssertionSignature, "sign with the key registered for the client (client_secret_jwt: the current client secret)")
    } else if has(&["alg"]) {
        (
            Code::AssertionAlg,
            "sign with the algorithm and key registered for the client",
        )
    } else if has(&["kid", "no matching key", "key not found"]) {
        (Code::AssertionKid, "register the key (its JWK with that kid) for the client, or sign with a registered one")
    } else if has(&["typ"]) {
        (
            Code::AssertionTyp,
            "set typ client-authentication+jwt (or leave it out)",
        )
    } else if has(&["assertion"]) {
        (
            Code::AssertionClaims,
            "set iss and sub to the client id; check the decoded assertion with doctor --assertion",
        )
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulators_reasons_get_their_codes() {
        // The emulator's reasons (crates/cctoken-emulator/src/auth/clientauth/*.rs).
        for (reason, code) in [
            ("assertion aud 'https://x/oauth/token' is not the issuer 'https://x' (RFC 10070 forbids the token endpoint)", Code::AssertionAud),
            ("assertion aud 'x' is not the issuer 'https://emu.test' nor the token endpoint 'https://emu.test/oauth/token'", Code::AssertionAud),
            ("assertion aud ['a', 'b'] has more than the issuer 'https://x' (RFC 10070: the issuer is the sole value)", Code::AssertionAud),
            ("federated assertion aud 'x' is not the trusted audience 'api://AzureADTokenExchange'", Code::AssertionAud),
            ("assertion expired 75 s ago (server clock 1970-01-12T13:46:40Z, clock tolerance 30 s)", Code::AssertionExpired),
            ("assertion not valid before 40 s from now (nbf; server clock …)", Code::AssertionExpired),
            ("assertion issued 90 s in the future (iat; server clock …)", Code::AssertionExpired),
            ("assertion lifetime 600 s exceeds 300 s (the client's limit; max_assertion_lifetime)", Code::AssertionLifetime),
            ("kid 'k2' not in the client's JWKS (known: k1)", Code::AssertionKid),
            ("x5t#S256 'abc' matches no certificate in the client's JWKS (known: def)", Code::AssertionKid),
            ("jti replayed: 'j1' was used by an earlier assertion of this client; sign a new assertion with a fresh jti for every request", Code::AssertionJti),
            ("alg HS256 not allowed for private_key_jwt", Code::AssertionAlg),
            ("alg ES256 but key k1 is RSA", Code::AssertionAlg),
            ("no key in the client's JWKS fits alg ES384 (keys: k1 RSA)", Code::AssertionAlg),
            ("ES256 signature does not verify with key k1", Code::AssertionSignature),
            ("HS256 signature does not verify with the client secret (len=12 sha256:1a2b3c4d)", Code::AssertionSignature),
            ("auth method private_key_jwt not allowed for this client (it accepts client_secret_basic)", Code::AuthMethodUnsupported),
            ("client c1 does not accept certificate authentication (it accepts private_key_jwt)", Code::AuthMethodUnsupported),
            ("certificate thumbprint abc does not match the registered def", Code::CertMismatch),
            ("certificate subject 'CN=a' does not match the registered 'CN=b'", Code::CertMismatch),
            ("certificate does not verify against the --tls-client-ca: UnknownIssuer", Code::CertMismatch),
            ("client certificate expired 2 days ago", Code::CertExpired),
            ("assertion iss 'a' is not the client id 'b'", Code::AssertionClaims),
            ("client_id in body (a) differs from the assertion's sub ('b')", Code::AssertionClaims),
            ("federated assertion sub 'repo:x' is not a trusted subject of issuer 'https://gh' (trusted: 'repo:y')", Code::AssertionClaims),
            ("assertion typ 'at+jwt' is not client-authentication+jwt (or JWT): it is another kind of token", Code::AssertionTyp),
            ("client_assertion_type 'x' is not supported (expected urn:ietf:params:oauth:client-assertion-type:jwt-bearer)", Code::ParamAssertionType),
            ("client_assertion is not a compact JWS: 2 parts", Code::AssertionMalformed),
        ] {
            assert_eq!(classify(reason).map(|c| c.0), Some(code), "{reason}");
        }
        assert_eq!(classify("authentication failed"), None);
        assert_eq!(classify("client secret does not match"), None);
    }
}
