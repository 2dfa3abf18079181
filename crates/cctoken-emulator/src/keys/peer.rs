//! What a TLS client presented, as data: its certificate chain ([`PeerCertificate`]) and
//! a subject distinguished name ([`SubjectDn`]) normalised to RFC 4514, so the registry
//! and the certificate compare as strings. Whether a certificate authenticates a client is
//! `auth::clientauth::cert`'s decision.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use x509_cert::der::Decode as _;
use x509_cert::name::RdnSequence;

use super::jwk::thumbprint;

/// The certificate chain a TLS client presented; in the extensions of each request on
/// that connection.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    /// End-entity certificate first, then the intermediates the client sent.
    pub chain: Arc<[CertificateDer<'static>]>,
}

impl PeerCertificate {
    /// `x5t#S256` of the end-entity certificate.
    pub fn thumbprint(&self) -> String {
        self.chain
            .first()
            .map_or_else(String::new, |c| thumbprint(c))
    }
}

/// A certificate subject distinguished name, normalised to its RFC 4514 string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectDn(String);

impl SubjectDn {
    /// The RFC 4514 form, e.g. `CN=cctoken-client,O=cctoken tests`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The subject of a DER certificate.
    pub fn of_certificate(der: &[u8]) -> Result<SubjectDn, String> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| format!("the client certificate is not X.509 DER ({e})"))?;
        Ok(SubjectDn(cert.tbs_certificate.subject.to_string()))
    }
}

impl FromStr for SubjectDn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| {
            format!(
                "`tls_client_auth_subject_dn` {s:?} is not an RFC 4514 DN ({why}); write e.g. \
                 \"CN=cctoken-client,O=cctoken tests\" (no spaces after commas)"
            )
        };
        let rdns = RdnSequence::from_str(s).map_err(|e| bad(e.to_string()))?;
        if rdns.is_empty() {
            return Err(bad("it is empty".into()));
        }
        Ok(SubjectDn(rdns.to_string()))
    }
}

impl fmt::Display for SubjectDn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_dns_normalise() {
        let dn: SubjectDn = "CN=cctoken-client,O=cctoken tests".parse().unwrap();
        assert_eq!(dn.as_str(), "CN=cctoken-client,O=cctoken tests");
        let e = "CN".parse::<SubjectDn>().unwrap_err();
        assert!(e.contains("not an RFC 4514 DN"), "{e}");
        assert!("".parse::<SubjectDn>().is_err());
        assert!(SubjectDn::of_certificate(b"junk")
            .unwrap_err()
            .contains("not X.509 DER"));
    }
}
