//! TLS client settings shared by the push socket and the Twitch sink: the webpki roots
//! (plus any the caller adds), aws-lc-rs, rustls' safe protocol versions.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

/// A client config trusting the webpki roots and `extra_roots`.
pub fn client_config(
    extra_roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots.add(cert)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
