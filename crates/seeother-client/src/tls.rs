//! TLS: rustls with the system's root certificates (plus any the caller adds), loaded on the
//! first https connection so that plain-http fetches never pay for reading them.
//!
//! A certificate the caller added that is itself the server's certificate (a self-signed one
//! from `openssl req -x509`, which is marked as a CA) is trusted as such, as curl does with
//! `--cacert`: WebPKI alone refuses it as `CaUsedAsEndEntity`. See [`pinned`].

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// The client's TLS configuration (ALPN is set by the connector). With `insecure`, the server's
/// certificate is not checked at all (curl's `-k`); the handshake's signatures still are.
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
    system_roots: bool,
    insecure: bool,
) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(LazyVerifier {
        provider: provider.clone(),
        algorithms: provider.signature_verification_algorithms,
        extra_roots,
        system_roots,
        insecure,
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
    insecure: bool,
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
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if self.extra_roots.iter().any(|c| c == end_entity) {
            return pinned(end_entity, server_name, now);
        }
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

/// The server's certificate is one the caller added as trusted (curl's `--cacert` with a
/// self-signed certificate): trusted as it is, byte for byte, as OpenSSL trusts a certificate
/// found in its store. Still checked: its validity period (RFC 5280 §4.1.2.5) and that it is
/// for the name asked for — its subjectAltName (RFC 6125 §6.4), or its Common Name when it has
/// none (RFC 6125 §6.4.4, which curl keeps for such certificates).
fn pinned(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let bad = |e| rustls::Error::InvalidCertificate(e);
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|_| bad(CertificateError::BadEncoding))?;
    let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let at = x509_parser::time::ASN1Time::from_timestamp(secs)
        .map_err(|_| bad(CertificateError::BadEncoding))?;
    if at < parsed.validity().not_before {
        return Err(bad(CertificateError::NotValidYet));
    }
    if at > parsed.validity().not_after {
        return Err(bad(CertificateError::Expired));
    }
    let end_entity =
        webpki::EndEntityCert::try_from(cert).map_err(|_| bad(CertificateError::BadEncoding))?;
    if end_entity
        .verify_is_valid_for_subject_name(server_name)
        .is_ok()
    {
        return Ok(ServerCertVerified::assertion());
    }
    let has_alt_names = matches!(parsed.subject_alternative_name(), Ok(Some(_)));
    let asked = server_name.to_str();
    let common_name_matches = parsed
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .any(|cn| cn.eq_ignore_ascii_case(&asked));
    if !has_alt_names && common_name_matches {
        return Ok(ServerCertVerified::assertion());
    }
    Err(bad(CertificateError::NotValidForName))
}
