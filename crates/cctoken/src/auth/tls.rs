//! TLS client certificates (RFC 8705) and extra trust roots, as the HTTP client needs them.
//!
//! [`ClientCertificate`] is the public part (`--client-cert`): its DER, its `x5t#S256`
//! thumbprint (how it is shown, and what a certificate-bound token's `cnf` must name) and
//! whether it is self-signed. [`TlsIdentity`] adds the private key (`--client-key`), kept as
//! a secret and handed to reqwest/rustls only when the HTTP client is built. [`check_cnf`]
//! compares a JWT access token's `cnf.x5t#S256` with the certificate. Trust roots
//! (`--ca-cert`, `SSL_CERT_FILE`, `SSL_CERT_DIR`) are PEM bundles read by the config edge.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use x509_cert::der::Decode as _;

use crate::error::{Error, ErrorKind};
use crate::secret::{AccessToken, ClientSecret};

/// A client certificate (the first certificate of a PEM file; more are the chain).
#[derive(Clone)]
pub struct ClientCertificate {
    pem: String,
    der: Vec<u8>,
    thumbprint: String,
    self_signed: bool,
    subject: String,
    not_before: std::time::SystemTime,
    not_after: std::time::SystemTime,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientCertificate({} x5t#S256={})",
            self.subject, self.thumbprint
        )
    }
}

/// `x5t#S256` of a DER certificate: base64url SHA-256 (RFC 8705 §3.1).
pub fn x5t_s256(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

impl ClientCertificate {
    /// Read PEM text holding one or more certificates; the first is the client's.
    pub fn from_pem(text: &[u8]) -> Result<ClientCertificate, String> {
        let first = CertificateDer::pem_slice_iter(text)
            .next()
            .ok_or("no PEM CERTIFICATE found")?
            .map_err(|e| format!("the PEM certificate cannot be read: {e}"))?;
        let der = first.as_ref().to_vec();
        let cert = x509_cert::Certificate::from_der(&der)
            .map_err(|e| format!("the certificate is not valid X.509 DER: {e}"))?;
        let tbs = &cert.tbs_certificate;
        Ok(ClientCertificate {
            pem: String::from_utf8_lossy(text).into_owned(),
            thumbprint: x5t_s256(&der),
            self_signed: tbs.issuer == tbs.subject,
            subject: tbs.subject.to_string(),
            not_before: tbs.validity.not_before.to_system_time(),
            not_after: tbs.validity.not_after.to_system_time(),
            der,
        })
    }

    /// The validity period, `notBefore` to `notAfter`.
    pub fn validity(&self) -> (std::time::SystemTime, std::time::SystemTime) {
        (self.not_before, self.not_after)
    }

    /// `x5t#S256`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Issuer and subject are the same name.
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    /// The subject DN (RFC 4514).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// A certificate with its private key, presented in the TLS handshake.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate (and chain).
    pub cert: ClientCertificate,
    key_pem: ClientSecret,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsIdentity({:?}, key redacted)", self.cert)
    }
}

impl TlsIdentity {
    /// The certificate with its PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub fn new(cert: ClientCertificate, key_pem: ClientSecret) -> Result<TlsIdentity, String> {
        let id = TlsIdentity { cert, key_pem };
        // Fail at the edge, not at the first request: rustls checks the pair only when a
        // client is built (the key must belong to the certificate, which must be X.509 v3).
        let built = reqwest::Client::builder()
            .identity(id.reqwest_identity()?)
            .build();
        if let Err(e) = built {
            let why = causes(&e);
            let advice = if why.contains("UnsupportedCertVersion") {
                "the certificate is X.509 version 1, which TLS stacks refuse: issue a version 3 \
                 one (`openssl x509 -req` makes version 1 unless given -extfile with extensions)"
            } else if why.contains("KeyMismatch") || why.contains("consistent") {
                "the key does not belong to the certificate: compare `openssl x509 -noout -pubkey \
                 -in CERT` with `openssl pkey -pubout -in KEY`"
            } else {
                "the key must be the certificate's, and the certificate X.509 version 3"
            };
            return Err(format!(
                "the client certificate {} and its key cannot be used for TLS ({why}): {advice}",
                id.cert.subject()
            ));
        }
        Ok(id)
    }

    /// The identity for reqwest's rustls backend.
    pub fn reqwest_identity(&self) -> Result<reqwest::Identity, String> {
        let pem = zeroize::Zeroizing::new(format!(
            "{}\n{}",
            self.key_pem.expose_secret(),
            self.cert.pem
        ));
        reqwest::Identity::from_pem(pem.as_bytes()).map_err(|_| {
            "the client key and certificate cannot be used for TLS (is the key PEM PKCS#8, SEC1 \
             or PKCS#1, and does it belong to the certificate?)"
                .to_owned()
        })
    }

    /// Material for the cache's sealing key: the private key text.
    pub fn sealing_material(&self) -> &str {
        self.key_pem.expose_secret()
    }
}

/// An error's causes, outermost first, without repeats (rustls says what is wrong only
/// in the innermost one).
fn causes(e: &dyn std::error::Error) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cur {
        let t = c.to_string();
        if !out.iter().any(|o| o.contains(&t)) {
            out.push(t);
        }
        cur = c.source();
    }
    out.join(": ")
}

/// The token's `cnf.x5t#S256`, when it is a JWT that has one, must name `cert`.
pub fn check_cnf(token: &AccessToken, cert: &ClientCertificate) -> Result<(), Error> {
    let Some(claims) = crate::token::unverified_jwt_claims(token.expose_secret()) else {
        return Ok(());
    };
    let Some(bound) = claims
        .get("cnf")
        .and_then(|c| c.get("x5t#S256"))
        .and_then(|v| v.as_str())
    else {
        return Ok(());
    };
    if bound == cert.thumbprint() {
        return Ok(());
    }
    Err(Error::rejected(
        ErrorKind::UnexpectedResponse,
        None,
        format!(
            "the token is bound to certificate x5t#S256={} (cnf), not to the client certificate \
             presented ({}); it would be refused by the API",
            crate::error::excerpt(bound, 64),
            cert.thumbprint()
        ),
    ))
}

/// Every certificate of a PEM bundle, for the trust roots.
pub fn roots_from_pem(text: &[u8], origin: &str) -> Result<Vec<reqwest::Certificate>, Error> {
    let mut out = Vec::new();
    for c in CertificateDer::pem_slice_iter(text) {
        let c =
            c.map_err(|e| Error::config(format!("{origin}: cannot read a certificate: {e}")))?;
        out.push(
            reqwest::Certificate::from_der(c.as_ref())
                .map_err(|e| Error::config(format!("{origin}: not a certificate: {e}")))?,
        );
    }
    if out.is_empty() {
        return Err(Error::config(format!("{origin}: no PEM CERTIFICATE found")));
    }
    Ok(out)
}
