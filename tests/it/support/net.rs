//! Network pieces the tests stand up on loopback: a TLS front for the emulator with a CA made
//! here, and a forward proxy (absolute-form for `http://`, `CONNECT` for `https://`) that logs
//! what passes through it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_rustls::rustls;

/// A certificate authority made for one test, and a server certificate it signed for
/// `localhost` and `127.0.0.1`.
pub struct TestCa {
    pub ca_pem: String,
    leaf_der: rustls::pki_types::CertificateDer<'static>,
    leaf_key_der: Vec<u8>,
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "telnyx-edge test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(
            params,
            rcgen::KeyPair::generate().expect("CA key"),
        )
        .expect("CA certificate");
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("leaf params")
            .signed_by(&leaf_key, &ca)
            .expect("leaf certificate");
        Self {
            ca_pem: ca.pem(),
            leaf_der: leaf.der().clone(),
            leaf_key_der: leaf_key.serialize_der(),
        }
    }
}

/// Terminates TLS on `127.0.0.1:port` and passes the bytes on to `target` (the emulator).
pub struct TlsFront {
    pub port: u16,
    handshakes: Arc<AtomicUsize>,
}

impl TlsFront {
    pub fn start(ca: &TestCa, target: SocketAddr) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![ca.leaf_der.clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(ca.leaf_key_der.clone().into()),
            )
            .expect("server config");
        // Offered as a real HTTPS front would; the emulator behind it speaks both.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handshakes);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((stream, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    let counter = Arc::clone(&counter);
                    tokio::spawn(async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let Ok(mut tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let Ok(mut backend) = tokio::net::TcpStream::connect(target).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
                    });
                }
            });
        });
        Self { port, handshakes }
    }

    /// Connections whose TLS handshake began.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// A forward proxy on loopback that only forwards to loopback.
pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

/// The first request line of a connection through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `CONNECT localhost:443` or `GET http://127.0.0.1:1234/v2/…`
    pub request: String,
    pub proxy_authorization: Option<String>,
}

impl Proxy {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || forward(stream, &seen));
            }
        });
        Self {
            url: format!("http://{addr}"),
            log,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("lock").clone()
    }
}

fn forward(client: TcpStream, log: &Mutex<Vec<Seen>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut client = client;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let request = line.trim_end().to_owned();
    let mut headers = Vec::new();
    let mut proxy_authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        if header.trim_end().is_empty() {
            break;
        }
        match header.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("proxy-authorization") => {
                proxy_authorization = Some(value.trim().to_owned());
            }
            Some((name, _)) if name.eq_ignore_ascii_case("proxy-connection") => {}
            _ => headers.push(header),
        }
    }
    log.lock().expect("lock").push(Seen {
        request: request.clone(),
        proxy_authorization,
    });
    let mut parts = request.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (authority, origin_form) = if method == "CONNECT" {
        (target.to_owned(), None)
    } else {
        let Some(rest) = target.strip_prefix("http://") else {
            let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            return;
        };
        let split = rest.find('/').unwrap_or(rest.len());
        let path = if split == rest.len() {
            "/"
        } else {
            &rest[split..]
        };
        (rest[..split].to_owned(), Some(path.to_owned()))
    };
    let loopback = authority.starts_with("127.") || authority.starts_with("localhost:");
    let upstream = loopback
        .then(|| TcpStream::connect(&authority).ok())
        .flatten();
    let Some(mut upstream) = upstream else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    match origin_form {
        None => {
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_err()
            {
                return;
            }
        }
        Some(path) => {
            let version = parts.next().unwrap_or("HTTP/1.1");
            let mut head = format!("{method} {path} {version}\r\n");
            for header in headers {
                head.push_str(&header);
            }
            head.push_str("\r\n");
            if upstream.write_all(head.as_bytes()).is_err() {
                return;
            }
        }
    }
    // What the reader already holds belongs to the upstream side.
    let buffered = reader.buffer().to_vec();
    if upstream.write_all(&buffered).is_err() {
        return;
    }
    let mut upstream_reader = upstream.try_clone().expect("clone");
    let mut client_writer = client.try_clone().expect("clone");
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut upstream_reader, &mut client_writer);
        let _ = client_writer.shutdown(std::net::Shutdown::Write);
    });
    let mut rest = reader.into_inner();
    let _ = copy_until_closed(&mut rest, &mut upstream);
    let _ = upstream.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

fn copy_until_closed(from: &mut TcpStream, to: &mut TcpStream) -> std::io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = from.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        to.write_all(&buffer[..read])?;
    }
}
