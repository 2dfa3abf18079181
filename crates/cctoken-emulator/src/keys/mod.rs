//! Key material as data, with no knowledge of the app: JWK Sets and their thumbprints
//! ([`jwk`]), compact JWS parsing and signature checks with ring ([`jws`]), the bounded
//! `jti` replay cache ([`replay`]) and what a TLS client presented ([`peer`]). The
//! registry (`config`), the state and client authentication (`auth::clientauth`) build on
//! these; nothing here looks back at them.

pub(crate) mod jwk;
pub(crate) mod jws;
pub(crate) mod peer;
pub(crate) mod replay;

pub use jwk::{thumbprint, Jwk, Jwks};
pub use jws::SUPPORTED as SIGNING_ALGS;
pub use peer::{PeerCertificate, SubjectDn};
pub(crate) use replay::ReplayCache;
