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

/// Short names for the two signature checks, which the verifier passes on as they are.
type Cert<'a> = CertificateDer<'a>;
type Dss = DigitallySignedStruct;
type SignatureCheck = Result<HandshakeSignatureValid, rustls::Error>;

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

    fn verify_tls12_signature(&self, message: &[u8], cert: &Cert<'_>, dss: &Dss) -> SignatureCheck {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &Cert<'_>, dss: &Dss) -> SignatureCheck {
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
    // As OpenSSL does, a folder of SSL_CERT_DIR that is missing or empty is passed over.
    for dir in dirs.iter().filter(|dir| dir.is_dir()) {
        certs.extend(load(env::SSL_CERT_DIR, None, Some(dir)).unwrap_or_default());
    }
    certs.extend(usable(system_bundle()));
    Ok(certs)
}

/// The certificates rustls can use as trust anchors. One it cannot parse would otherwise make
/// every handshake fail (the verifier refuses its whole set of extra roots).
fn usable(certs: Vec<CertificateDer<'static>>) -> Vec<CertificateDer<'static>> {
    certs
        .into_iter()
        .filter(|cert| rustls::RootCertStore::empty().add(cert.clone()).is_ok())
        .collect()
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
    let certs = usable(result.certs);
    if certs.is_empty() {
        return Err(ApiError::Trust {
            reason: format!("{variable} `{shown}` holds no certificate that can be used as a CA"),
        });
    }
    Ok(certs)
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

/// The proxy for requests to `base`, read from the environment as curl reads it: for https
/// `https_proxy`/`HTTPS_PROXY`, for http `http_proxy` (and `HTTP_PROXY`, except under CGI,
/// where a client can set it), else `all_proxy`/`ALL_PROXY`; lower case first, an empty
/// variable counting as unset; `NO_PROXY` (`*`, host names, `.domain`, IPs, CIDR ranges)
/// excludes hosts. The client only ever talks to `base`, so one decision covers every request.
pub(super) struct ProxyChoice {
    /// As given, credentials included, for reqwest.
    pub(super) url: String,
    /// With any credentials redacted, for `-v` and messages.
    pub(super) shown: String,
}

pub(super) fn proxy_for(base: &reqwest::Url) -> Result<Option<ProxyChoice>, ApiError> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let first = |names: &[&'static str]| names.iter().find_map(|&n| var(n).map(|v| (n, v)));
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    let specific: &[&str] = match (base.scheme(), cgi) {
        ("https", _) => &["https_proxy", "HTTPS_PROXY"],
        (_, false) => &["http_proxy", "HTTP_PROXY"],
        (_, true) => &["http_proxy"],
    };
    let Some((variable, value)) = first(specific).or_else(|| first(&["all_proxy", "ALL_PROXY"]))
    else {
        return Ok(None);
    };
    if let Some((_, no_proxy)) = first(&["no_proxy", "NO_PROXY"])
        && excluded(base, &no_proxy)
    {
        return Ok(None);
    }
    let url = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    let unreadable = || ApiError::Proxy {
        variable: variable.to_owned(),
    };
    let parsed = reqwest::Url::parse(&url).map_err(|_| unreadable())?;
    if parsed.host_str().is_none_or(str::is_empty)
        || (url.contains('@') && parsed.username().is_empty())
    {
        return Err(unreadable());
    }
    if !matches!(parsed.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(ApiError::ProxyScheme {
            variable: variable.to_owned(),
            scheme: parsed.scheme().to_owned(),
        });
    }
    let shown = redact_url(url.trim_end_matches('/'));
    Ok(Some(ProxyChoice { url, shown }))
}

/// Whether `NO_PROXY`'s list excludes `base`'s host: `*` everything (IP addresses included,
/// as curl has it), otherwise the rules of the matcher reqwest uses.
fn excluded(base: &reqwest::Url, no_proxy: &str) -> bool {
    if no_proxy.split(',').any(|entry| entry.trim() == "*") {
        return true;
    }
    let Ok(uri) = base.as_str().parse::<http::Uri>() else {
        return false;
    };
    Matcher::builder()
        .all("http://proxy.invalid")
        .no(no_proxy)
        .build()
        .intercept(&uri)
        .is_none()
}

/// `url` with any `user:password@` replaced by `[redacted]@`, for messages and traces. It reads
/// the URL as reqwest does (so `http:user:pw@host` is caught too), and a text that is not a URL
/// loses everything up to its last `@`: a password never survives in either.
pub(crate) fn redact_url(url: &str) -> String {
    // `alice:pw@host` parses too, as the opaque URL `alice:` + `pw@host`.
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|parsed| matches!(parsed.scheme(), "http" | "https" | "socks5" | "socks5h"));
    match parsed {
        Some(mut parsed) => {
            if parsed.username().is_empty() && parsed.password().is_none() {
                return url.to_owned();
            }
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let shown = parsed.as_str().replacen("://", "://[redacted]@", 1);
            if url.ends_with('/') {
                shown
            } else {
                shown.trim_end_matches('/').to_owned()
            }
        }
        None => match url.rfind('@') {
            Some(at) => {
                let scheme = url
                    .split_once("://")
                    .filter(|(scheme, _)| scheme.len() < at)
                    .map(|(scheme, _)| format!("{scheme}://"))
                    .unwrap_or_default();
                format!("{scheme}[redacted]@{}", &url[at + 1..])
            }
            None => url.to_owned(),
        },
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
            request_id: None,
        };
    }
    if let Some(tls) = find::<rustls::Error>(&err) {
        let certificate = matches!(
            tls,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        );
        return ApiError::Tls {
            url,
            reason: tls.to_string(),
            certificate,
            proxy: proxy.map(str::to_owned),
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
        // hyper-util does not export its tunnel error; its text is all there is to go on.
        let text = chain_text(&err);
        if let Some(proxy) = proxy
            && text.contains("proxy authorization required")
        {
            return ApiError::ProxyAuth {
                url,
                proxy: proxy.to_owned(),
            };
        }
        let refused = find::<std::io::Error>(&err)
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        return ApiError::Connect {
            url,
            failure: if refused {
                ConnectFailure::Refused
            } else if text.contains("unsuccessful tunnel") {
                ConnectFailure::TunnelRefused
            } else {
                ConnectFailure::Other
            },
            proxy: proxy.map(str::to_owned),
            source: Box::new(err.without_url()),
        };
    }
    ApiError::Transport {
        url,
        request_id: None,
        source: Box::new(err.without_url()),
    }
}

/// Every message in `err`'s chain, joined.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
        // Forms reqwest reads as credentials, and text that is no URL at all.
        assert_eq!(
            redact_url("http:alice:hunter2@127.0.0.1:8787/v2"),
            "http://[redacted]@127.0.0.1:8787/v2"
        );
        assert_eq!(
            redact_url("alice:hunter2@127.0.0.1:8787/v2"),
            "[redacted]@127.0.0.1:8787/v2"
        );
        assert_eq!(
            redact_url("http://user:SEC/RET@host/v2"),
            "http://[redacted]@host/v2"
        );
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
