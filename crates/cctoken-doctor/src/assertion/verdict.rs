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
        "x5t",
        "mtls",
        "tls client",
    ]);
    Some(if cert && has(&["expired", "not yet valid", "notafter"]) {
        (
            Code::CertExpired,
            "renew the client certificate and register the new one (its DN or thumbprint)",
        )
    } else if cert {
        (Code::CertMismatch, "present the certificate registered for the client (compare the thumbprint), or register this one")
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
    } else if has(&["expired", "not yet valid", "nbf", "iat", "exp "]) {
        (
            Code::AssertionExpired,
            "sign a fresh assertion, and synchronise this machine's clock (NTP)",
        )
    } else if has(&["lifetime", "too long", "exp too far"]) {
        (Code::AssertionLifetime, "sign the assertion for 60 s")
    } else if has(&["kid", "jwks", "no matching key", "key not found"]) {
        (Code::AssertionKid, "register the key (its JWK with that kid) for the client, or sign with a registered one")
    } else if has(&["alg", "signature"]) {
        (
            Code::AssertionAlg,
            "sign with the algorithm and key registered for the client",
        )
    } else if has(&[
        "auth method",
        "authentication method",
        "token_endpoint_auth_method",
    ]) {
        (
            Code::AuthMethodUnsupported,
            "use the client authentication method registered for the client",
        )
    } else if has(&["iss", "sub", "subject"]) && has(&["assertion", "claim"]) {
        (Code::AssertionClaims, "set iss and sub to the client id")
    } else if has(&["assertion"]) {
        (
            Code::AssertionClaims,
            "check the decoded assertion with doctor's assertion check",
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
        for (reason, code) in [
            (
                "assertion aud 'https://x/oauth/token' is not the issuer 'https://x'",
                Code::AssertionAud,
            ),
            (
                "assertion expired 75 s ago (server clock 2026-12-01T22:00:00Z)",
                Code::AssertionExpired,
            ),
            (
                "kid 'k2' not in the client's JWKS (known: k1)",
                Code::AssertionKid,
            ),
            ("jti replayed", Code::AssertionJti),
            (
                "alg HS256 not allowed for private_key_jwt",
                Code::AssertionAlg,
            ),
            (
                "certificate thumbprint abc does not match the registered def",
                Code::CertMismatch,
            ),
            ("client certificate expired 2 days ago", Code::CertExpired),
            (
                "assertion iss 'a' is not the client id 'b'",
                Code::AssertionClaims,
            ),
        ] {
            assert_eq!(classify(reason).map(|c| c.0), Some(code), "{reason}");
        }
        assert_eq!(classify("authentication failed"), None);
        assert_eq!(classify("client secret does not match"), None);
    }
}
