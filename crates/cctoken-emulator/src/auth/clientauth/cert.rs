//! TLS client certificates as client credentials (RFC 8705 §2): `tls_client_auth` and
//! `self_signed_tls_client_auth`.
//!
//! The TLS layer (`crate::config::tls`) accepts any certificate whose key signs the handshake and
//! hands the chain to each request as a [`PeerCertificate`]; whether it chains to the
//! `--tls-client-ca` is decided here, at the emulator's clock, only for clients that need
//! it. `tls_client_auth` requires that chain and the registered subject DN, compared as
//! RFC 4514 strings after both sides are parsed (so `CN=a,O=b` in the registry matches the
//! certificate whatever string types it uses). `self_signed_tls_client_auth` requires that
//! the SHA-256 thumbprint of the certificate equals `tls_client_certificate_thumbprint` or
//! the thumbprint of a registered JWK's `x5c[0]`; no PKI check, as RFC 8705 §2.2 says.
//! Reasons name the presented and the registered value.

use super::{fail, Failure};
use crate::config::AuthMethod;
use crate::keys::{PeerCertificate, SubjectDn};
use crate::registry::RegisteredClient;
use crate::state::AppState;

/// Authenticate `client` by its TLS certificate; `Ok` carries the method and the
/// certificate's thumbprint (for `cnf`).
pub(crate) fn authenticate(
    st: &AppState,
    client: &RegisteredClient,
    peer: Option<&PeerCertificate>,
) -> Result<(AuthMethod, String), Failure> {
    let entry = &client.entry;
    let id = entry.id.as_str();
    let Some(peer) = peer.filter(|p| !p.chain.is_empty()) else {
        let why = match &st.config().tls {
            None => "the connection is plain HTTP",
            Some(_) if !st.inner.client_certs => {
                "this emulator does not request client certificates"
            }
            Some(_) => "the TLS client sent none",
        };
        return Err(fail(format!(
            "no client certificate presented ({why}); client {id} uses {}",
            certificate_methods(client)
        )));
    };
    let presented = peer.thumbprint();
    let mut reasons = Vec::new();
    if client.allows(AuthMethod::TlsClientAuth) {
        match pki(st, client, peer) {
            Ok(()) => return Ok((AuthMethod::TlsClientAuth, presented)),
            Err(r) => reasons.push(r),
        }
    }
    if client.allows(AuthMethod::SelfSignedTlsClientAuth) {
        let registered = registered_thumbprints(client);
        if registered.contains(&presented) {
            return Ok((AuthMethod::SelfSignedTlsClientAuth, presented));
        }
        reasons.push(format!(
            "certificate thumbprint {presented} does not match the registered {}",
            registered.join(" or ")
        ));
    }
    if reasons.is_empty() {
        return Err(fail(format!(
            "client {id} does not accept certificate authentication (it accepts {})",
            super::accepted(client)
        )));
    }
    Err(fail(reasons.join("; ")))
}

/// `tls_client_auth`: the chain to the `--tls-client-ca`, then the subject DN.
fn pki(st: &AppState, client: &RegisteredClient, peer: &PeerCertificate) -> Result<(), String> {
    let Some(tls) = &st.config().tls else {
        return Err("tls_client_auth needs HTTPS with --tls-client-ca".into());
    };
    tls.check_client_chain(&peer.chain, st.now())
        .map_err(|e| format!("certificate does not verify against the --tls-client-ca: {e}"))?;
    let subject = SubjectDn::of_certificate(&peer.chain[0])?;
    match &client.entry.tls_client_auth_subject_dn {
        Some(dn) if *dn == subject => Ok(()),
        Some(dn) => Err(format!(
            "certificate subject '{subject}' does not match the registered '{dn}'"
        )),
        None => Err("no tls_client_auth_subject_dn registered".into()),
    }
}

fn registered_thumbprints(client: &RegisteredClient) -> Vec<String> {
    let e = &client.entry;
    e.tls_client_certificate_thumbprint
        .iter()
        .cloned()
        .chain(
            e.jwks
                .iter()
                .flat_map(|j| j.keys().iter().filter_map(|k| k.cert_thumbprint.clone())),
        )
        .collect()
}

fn certificate_methods(client: &RegisteredClient) -> String {
    let m: Vec<&str> = client
        .entry
        .auth_methods
        .iter()
        .filter(|m| m.uses_certificate())
        .map(|m| m.as_str())
        .collect();
    m.join(" and ")
}
