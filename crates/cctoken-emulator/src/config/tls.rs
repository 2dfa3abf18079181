//! HTTPS for the emulator (`--tls-cert`, `--tls-key`, `--tls-client-ca`): rustls with the
//! ring provider, chosen explicitly (never a process default, never aws-lc).
//!
//! [`TlsSettings`] holds the server's certificate chain and key, parsed and checked against
//! each other once, and optionally the client CA. When the server asks for client
//! certificates (see [`crate::EmulatorConfig::requests_client_certificates`]) it asks
//! *optionally* and accepts any certificate whose key signs the handshake — self-signed
//! ones included, as `self_signed_tls_client_auth` needs — the way Node's
//! `requestCert: true, rejectUnauthorized: false` does. Whether the chain leads to the
//! client CA is checked later, per request, by [`TlsSettings::check_client_chain`] at the
//! emulator's clock (`auth::clientauth::cert`). The handshake itself lives in `server`.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject as _;

use crate::config::ConfigError;

/// The server identity and the optional client CA.
#[derive(Clone)]
pub struct TlsSettings {
    chain: Arc<[CertificateDer<'static>]>,
    key: Arc<PrivateKeyDer<'static>>,
    client_ca: Option<(Arc<dyn ClientCertVerifier>, usize)>,
    provider: Arc<CryptoProvider>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("chain_len", &self.chain.len())
            .field("client_ca_certs", &self.client_ca.as_ref().map(|c| c.1))
            .finish_non_exhaustive()
    }
}

fn invalid(m: String) -> ConfigError {
    ConfigError::Invalid(m)
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{what}: not PEM certificates ({e})")))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "{what}: no `BEGIN CERTIFICATE` block found"
        )));
    }
    Ok(certs)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ConfigError> {
    crate::config::read::read_bounded(path, what).map_err(invalid)
}

impl TlsSettings {
    /// The server certificate chain (PEM, end-entity first) and its private key (PEM:
    /// PKCS#8, SEC1 or PKCS#1).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsSettings, ConfigError> {
        let chain = certificates(cert_pem, "TLS certificate")?;
        if String::from_utf8_lossy(key_pem).contains("ENCRYPTED PRIVATE KEY") {
            return Err(invalid(
                "TLS key: encrypted keys are not supported; decrypt it with \
                 `openssl pkcs8 -in key.pem -nocrypt`"
                    .into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| invalid(format!("TLS key: no PEM private key found ({e})")))?;
        let s = TlsSettings {
            chain: chain.into(),
            key: Arc::new(key),
            client_ca: None,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        };
        s.server_config(false)?;
        Ok(s)
    }

    /// [`Self::from_pem`] from files; errors name the file.
    pub fn from_files(cert: &Path, key: &Path) -> Result<TlsSettings, ConfigError> {
        let c = read(cert, "TLS certificate")?;
        let k = zeroize::Zeroizing::new(read(key, "TLS key")?);
        Self::from_pem(&c, &k)
            .map_err(|e| invalid(format!("{e} ({} / {})", cert.display(), key.display())))
    }

    /// Ask for client certificates and check them against these CA certificates (PEM).
    pub fn set_client_ca_pem(&mut self, pem: &[u8]) -> Result<(), ConfigError> {
        let certs = certificates(pem, "TLS client CA")?;
        let mut roots = RootCertStore::empty();
        let count = certs.len();
        for c in certs {
            roots
                .add(c)
                .map_err(|e| invalid(format!("TLS client CA: unusable certificate ({e})")))?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| invalid(format!("TLS client CA: {e}")))?;
        self.client_ca = Some((verifier, count));
        Ok(())
    }

    /// [`Self::set_client_ca_pem`] from a file.
    pub fn set_client_ca_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let pem = read(path, "TLS client CA")?;
        self.set_client_ca_pem(&pem)
            .map_err(|e| invalid(format!("{e} ({})", path.display())))
    }

    /// Whether a client CA is configured.
    pub fn has_client_ca(&self) -> bool {
        self.client_ca.is_some()
    }

    /// How many CA certificates the client CA holds (0 without one).
    pub fn client_ca_len(&self) -> usize {
        self.client_ca.as_ref().map_or(0, |c| c.1)
    }

    /// The rustls configuration; `request_client_certs` asks (optionally) for any client
    /// certificate.
    pub(crate) fn server_config(
        &self,
        request_client_certs: bool,
    ) -> Result<Arc<ServerConfig>, ConfigError> {
        let builder = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?;
        let builder = if request_client_certs {
            builder.with_client_cert_verifier(Arc::new(AnyClientCert(self.provider.clone())))
        } else {
            builder.with_no_client_auth()
        };
        let mut cfg = builder
            .with_single_cert(self.chain.to_vec(), self.key.clone_key())
            .map_err(|e| invalid(format!("TLS certificate and key do not fit together: {e}")))?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }

    /// Whether `chain` (end-entity first) leads to the client CA at `now`; `Err` is the
    /// verifier's reason (unknown issuer, expired, wrong key usage, …).
    pub(crate) fn check_client_chain(
        &self,
        chain: &[CertificateDer<'static>],
        now: SystemTime,
    ) -> Result<(), String> {
        let Some((verifier, _)) = &self.client_ca else {
            return Err("no --tls-client-ca is configured".into());
        };
        let (end, intermediates) = chain.split_first().ok_or("no certificate")?;
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        verifier
            .verify_client_cert(end, intermediates, UnixTime::since_unix_epoch(secs))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Accepts any client certificate at the TLS layer but still verifies the handshake
/// signature with it (proof of possession of the key).
#[derive(Debug)]
struct AnyClientCert(Arc<CryptoProvider>);

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Empty: "send any certificate you have".
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
