//! TLS: rustls with the system's root certificates (plus any the caller adds), loaded on the
//! first https connection so that plain-http fetches never pay for reading them.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The client's TLS configuration (ALPN is set by the connector).
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
    system_roots: bool,
) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(LazyVerifier {
        provider: provider.clone(),
        algorithms: provider.signature_verification_algorithms,
        extra_roots,
        system_roots,
        inner: OnceLock::new(),
    });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous() // Only to install a verifier that defers loading roots; it verifies fully.
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// rustls's WebPKI verifier, built on first use.
#[derive(Debug)]
struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    algorithms: WebPkiSupportedAlgorithms,
    extra_roots: Vec<CertificateDer<'static>>,
    system_roots: bool,
    inner: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl LazyVerifier {
    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.inner
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                if self.system_roots {
                    // Certificates that fail to parse are skipped, as browsers do.
                    let found = rustls_native_certs::load_native_certs();
                    roots.add_parsable_certificates(found.certs);
                }
                roots.add_parsable_certificates(self.extra_roots.iter().cloned());
                if roots.is_empty() {
                    return Err("no trusted root certificates: install the system's CA \
                                certificates (e.g. the ca-certificates package) or add a root"
                        .to_owned());
                }
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
