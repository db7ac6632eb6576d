//! What the client needs from the network below HTTP: whom to trust, which proxy carries a
//! request, how names resolve, and what a failed exchange means.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper_util::client::proxy::matcher::Matcher;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::error::{ApiError, ConnectFailure};
use crate::env;

/// The TLS set-up: rustls with the platform's verifier (the operating system's trust store) plus
/// the certificates of `SSL_CERT_FILE`/`SSL_CERT_DIR`, offering HTTP/2 and HTTP/1.1 by ALPN.
///
/// The verifier is built on the first handshake, not here: reading the system's store takes
/// milliseconds that a command talking plain HTTP (`--local`, a test server) should not pay.
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` are read now, when `read_extra_roots`, so that a bad one is
/// reported before any connection.
pub(super) fn tls_config(read_extra_roots: bool) -> Result<rustls::ClientConfig, ApiError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = LazyVerifier {
        provider: Arc::clone(&provider),
        extra_roots: if read_extra_roots {
            extra_roots()?
        } else {
            Vec::new()
        },
        inner: OnceLock::new(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| ApiError::Setup {
            reason: format!("TLS: {err}"),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// [`rustls_platform_verifier::Verifier`], made when first needed.
#[derive(Debug)]
struct LazyVerifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    extra_roots: Vec<CertificateDer<'static>>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyVerifier {
    fn get(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.extra_roots.iter().cloned(),
                    Arc::clone(&self.provider),
                )
            })
            .as_ref()
            .map_err(Clone::clone)
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
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match self.get() {
            Ok(verifier) => verifier.supported_verify_schemes(),
            // The handshake fails in `verify_server_cert` with the reason.
            Err(_) => self
                .provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

/// Trust roots to add to the platform verifier's: the certificates in `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`, and, where the platform store is read from files (Linux and the BSDs), the
/// system bundle too, because rustls-native-certs reads only the variables once they are set.
/// A company CA therefore adds to the system's trust instead of replacing it.
fn extra_roots() -> Result<Vec<CertificateDer<'static>>, ApiError> {
    let file = std::env::var_os(env::SSL_CERT_FILE)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let dirs: Vec<PathBuf> = std::env::var_os(env::SSL_CERT_DIR)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if file.is_none() && dirs.is_empty() {
        return Ok(Vec::new());
    }
    let mut certs = Vec::new();
    if let Some(file) = &file {
        certs.extend(load(env::SSL_CERT_FILE, Some(file), None)?);
    }
    for dir in &dirs {
        certs.extend(load(env::SSL_CERT_DIR, None, Some(dir))?);
    }
    certs.extend(system_bundle());
    Ok(certs)
}

fn load(
    variable: &str,
    file: Option<&std::path::Path>,
    dir: Option<&std::path::Path>,
) -> Result<Vec<CertificateDer<'static>>, ApiError> {
    let shown = file
        .or(dir)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let result = rustls_native_certs::load_certs_from_paths(file, dir);
    if let Some(err) = result.errors.first() {
        return Err(ApiError::Trust {
            reason: format!("cannot read the certificates in {variable} `{shown}` ({err})"),
        });
    }
    if result.certs.is_empty() {
        return Err(ApiError::Trust {
            reason: format!("{variable} `{shown}` holds no PEM certificate"),
        });
    }
    Ok(result.certs)
}

/// The system's own roots, read from their usual places; best effort, since the platform
/// verifier has its own view when the variables are not set.
#[cfg(all(unix, not(target_vendor = "apple")))]
fn system_bundle() -> Vec<CertificateDer<'static>> {
    openssl_probe::candidate_cert_dirs()
        .flat_map(|dir| rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs)
        .collect()
}

/// Elsewhere the platform verifier asks the operating system, whatever the variables say.
#[cfg(not(all(unix, not(target_vendor = "apple"))))]
fn system_bundle() -> Vec<CertificateDer<'static>> {
    Vec::new()
}

/// The proxy reqwest will use for `url`, from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
/// `NO_PROXY` (either case) as curl reads them, with any credentials redacted. It asks the same
/// matcher reqwest asks, so what `-v` says is what happens.
pub(super) fn proxy_for(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let intercept = Matcher::from_system().intercept(&uri)?;
    let proxy = intercept.uri().to_string();
    let shown = redact_url(proxy.trim_end_matches('/'));
    let has_credentials = intercept.basic_auth().is_some() || intercept.raw_auth().is_some();
    Some(if has_credentials && !shown.contains("[redacted]@") {
        shown.replacen("://", "://[redacted]@", 1)
    } else {
        shown
    })
}

/// `url` with any `user:password@` replaced by `[redacted]@`, for messages and traces.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://[redacted]@{}{tail}", &authority[at + 1..]),
        None => url.to_owned(),
    }
}

/// A name that did not resolve; a type of its own so that it can be told apart in reqwest's
/// error chain (DNS failures are not retried).
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve `{host}`: {source}")]
pub(super) struct DnsError {
    host: String,
    #[source]
    source: std::io::Error,
}

/// The system resolver (`getaddrinfo`, as reqwest's default), with typed failures.
pub(super) struct Resolver;

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map(Iterator::collect::<Vec<_>>);
            match found {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(source) => Err(Box::new(DnsError { host, source }) as _),
            }
        })
    }
}

/// What a reqwest failure means for the user. `url` is already redacted; `proxy` is the proxy
/// the request went through, if any.
pub(super) fn classify(
    err: reqwest::Error,
    url: &str,
    proxy: Option<&str>,
    timeout: Duration,
) -> ApiError {
    let url = url.to_owned();
    if err.is_timeout() {
        return ApiError::Timeout {
            url,
            secs: timeout.as_secs_f64(),
        };
    }
    if let Some(tls) = find::<rustls::Error>(&err) {
        return ApiError::Tls {
            url,
            reason: tls.to_string(),
        };
    }
    if let Some(dns) = find::<DnsError>(&err) {
        return ApiError::Dns {
            host: dns.host.clone(),
            reason: dns.source.to_string(),
            proxy: proxy.map(str::to_owned),
        };
    }
    if err.is_connect() {
        let refused = find::<std::io::Error>(&err)
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        return ApiError::Connect {
            url,
            failure: if refused {
                ConnectFailure::Refused
            } else {
                ConnectFailure::Other
            },
            proxy: proxy.map(str::to_owned),
            source: Box::new(err.without_url()),
        };
    }
    ApiError::Transport {
        url,
        source: Box::new(err.without_url()),
    }
}

/// The first `E` in `err`'s chain, looking inside `io::Error`s too (whose `source()` skips the
/// error they wrap, where rustls puts certificate failures).
fn find<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut current: Option<&'a (dyn StdError + 'static)> = Some(err);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &'a (dyn StdError + 'static) = inner;
            if let Some(found) = find::<E>(inner) {
                return Some(found);
            }
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_url("http://user:secret@proxy.corp:3128"),
            "http://[redacted]@proxy.corp:3128"
        );
        assert_eq!(
            redact_url("https://a:b@api.example.com/v2/storage?x=@y"),
            "https://[redacted]@api.example.com/v2/storage?x=@y"
        );
        assert_eq!(
            redact_url("https://api.telnyx.com/v2"),
            "https://api.telnyx.com/v2"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn errors_are_found_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let found = find::<rustls::Error>(&io).map(ToString::to_string);
        assert_eq!(
            found.as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        let dns = DnsError {
            host: "api.example".into(),
            source: std::io::Error::other("failed to lookup address information"),
        };
        let wrapped = std::io::Error::other(dns);
        assert_eq!(
            find::<DnsError>(&wrapped).map(|d| d.host.as_str()),
            Some("api.example")
        );
        assert!(find::<DnsError>(&std::io::Error::other("plain")).is_none());
    }
}
