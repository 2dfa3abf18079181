//! Test certificates made at test time with rcgen (never committed keys): a CA, the
//! emulator's server certificate for 127.0.0.1, CA-issued client certificates and
//! self-signed ones, plus reqwest clients that present them. The CLI's tests use this file
//! too (`#[path]`), so that the workspace has one test PKI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ED25519,
};

/// A certificate with its key, in PEM.
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Identity {
    /// `x5t#S256` of the certificate.
    pub fn thumbprint(&self) -> String {
        cctoken_emulator::thumbprint(&self.der)
    }

    /// The certificate as a JWK `x5c` member (standard base64 DER).
    pub fn x5c(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// Certificate and key in one PEM text (reqwest's `Identity::from_pem`).
    pub fn identity_pem(&self) -> String {
        format!("{}\n{}", self.cert_pem, self.key_pem)
    }

    /// Write `NAME.pem` and `NAME-key.pem` into `dir`; their paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}-key.pem"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// A certificate and its key as an [`Identity`].
fn identity(cert: &rcgen::Certificate, key: &KeyPair) -> Identity {
    Identity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().to_vec(),
    }
}

/// A test CA that issues server and client certificates.
pub struct Ca {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
    d.push(DnType::CommonName, cn);
    d
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = dn(name, None);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key).unwrap();
        Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// Write the CA certificate as `ca.pem` into `dir`; its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let p = dir.join("ca.pem");
        std::fs::write(&p, &self.cert_pem).unwrap();
        p
    }

    /// The emulator's certificate for `127.0.0.1` and `localhost`.
    pub fn server(&self) -> Identity {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        identity(&cert, &key)
    }

    /// A client certificate with subject `CN=cn,O=org`, valid until `not_after_year`.
    pub fn client(&self, cn: &str, org: &str, not_after_year: i32) -> Identity {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = dn(cn, Some(org));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        identity(&cert, &key)
    }
}

/// A self-signed client certificate for `CN=cn` with a P-256 key (what TLS stacks
/// everywhere accept, Node's included).
pub fn self_signed_ec(cn: &str) -> Identity {
    self_signed_by(
        cn,
        &KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
    )
}

/// A self-signed certificate for `CN=cn` with `key`.
fn self_signed_by(cn: &str, key: &KeyPair) -> Identity {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = dn(cn, None);
    let cert = p.self_signed(key).unwrap();
    identity(&cert, key)
}

/// A self-signed Ed25519 client certificate, and the key's public JWK with `x5c`.
pub fn self_signed(cn: &str) -> (Identity, serde_json::Value) {
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let id = self_signed_by(cn, &key);
    let jwk = serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "kid": cn,
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.public_key_raw()),
        "x5c": [id.x5c()],
    });
    (id, jwk)
}

/// A reqwest client trusting `ca_pem` and presenting `identity`, if any.
pub fn client(ca_pem: &str, identity: Option<&Identity>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap());
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.identity_pem().as_bytes()).unwrap());
    }
    b.build().unwrap()
}
