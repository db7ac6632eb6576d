//! A seeded fault schedule in front of the emulator: an HTTP/1.1 reverse proxy on loopback that
//! forwards each request to an in-process emulator, except that some key requests meet one of
//! six faults. Which request meets which fault depends only on the seed, the request's method
//! and target, and how many times that same request was seen before, so concurrency and timing
//! do not change the schedule.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a [`FaultKind::Stall`] holds an answer: well inside the CLI's 30 s `--timeout`.
pub const STALL: Duration = Duration::from_millis(1500);

/// After this many faults for one (method, target), that request always passes, so every
/// retry loop ends.
pub const MAX_FAULTS_PER_REQUEST: u32 = 3;

/// What can happen to a key request on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// 500, without forwarding: nothing applied.
    ServerError,
    /// 503 after forwarding: applied, the service's answer thrown away.
    UnavailableAfterApply,
    /// The connection closed after forwarding, with no answer: applied.
    DropAfterApply,
    /// 429 with `Retry-After: 0`, without forwarding: nothing applied.
    RateLimited,
    /// The connection reset before forwarding: nothing applied.
    ResetBeforeApply,
    /// Forwarded and applied, the answer held for [`STALL`].
    Stall,
}

impl FaultKind {
    pub const ALL: [Self; 6] = [
        Self::ServerError,
        Self::UnavailableAfterApply,
        Self::DropAfterApply,
        Self::RateLimited,
        Self::ResetBeforeApply,
        Self::Stall,
    ];

    /// The name the soak figures use.
    pub fn name(self) -> &'static str {
        match self {
            Self::ServerError => "500",
            Self::UnavailableAfterApply => "503_applied",
            Self::DropAfterApply => "drop_applied",
            Self::RateLimited => "429",
            Self::ResetBeforeApply => "reset",
            Self::Stall => "stall",
        }
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|kind| *kind == self)
            .expect("every kind is in ALL")
    }
}

/// How a proxy chooses its faults.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    /// Share of key requests that meet a fault, in thousandths.
    pub per_mille: u64,
    /// The kinds to draw from.
    pub kinds: Vec<FaultKind>,
    /// Whether key lists meet faults too (they do unless [`Schedule::values_only`]).
    pub listings: bool,
}

impl Schedule {
    /// Every kind, at `per_mille` thousandths of key requests.
    pub fn new(seed: u64, per_mille: u64) -> Self {
        Self {
            seed,
            per_mille,
            kinds: FaultKind::ALL.to_vec(),
            listings: true,
        }
    }

    /// Faults for requests of one key only, never for key lists.
    pub fn values_only(mut self) -> Self {
        self.listings = false;
        self
    }

    pub fn only(mut self, kinds: &[FaultKind]) -> Self {
        self.kinds = kinds.to_vec();
        self
    }

    /// The fault for the `seen`-th time (from 0) this method and target arrive, if any.
    fn decide(&self, method: &str, target: &str, seen: u32) -> Option<FaultKind> {
        if self.kinds.is_empty() {
            return None;
        }
        let mut hash = fnv1a(&self.seed.to_le_bytes(), FNV_OFFSET);
        hash = fnv1a(method.as_bytes(), hash);
        hash = fnv1a(b" ", hash);
        hash = fnv1a(target.as_bytes(), hash);
        hash = fnv1a(&seen.to_le_bytes(), hash);
        let roll = splitmix(hash);
        if roll % 1000 >= self.per_mille {
            return None;
        }
        let pick = splitmix(roll) % self.kinds.len() as u64;
        Some(self.kinds[usize::try_from(pick).expect("fits")])
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What a proxy has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Every request received, faulted or not.
    pub requests: u64,
    /// Faults served, by [`FaultKind::ALL`] order.
    pub faults: [u64; 6],
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.requests += other.requests;
        for (mine, theirs) in self.faults.iter_mut().zip(other.faults) {
            *mine += theirs;
        }
    }

    pub fn total_faults(&self) -> u64 {
        self.faults.iter().sum()
    }

    /// `500=3 503_applied=1 …`, for the soak figures.
    pub fn by_kind(&self) -> String {
        FaultKind::ALL
            .iter()
            .map(|kind| format!("{}={}", kind.name(), self.faults[kind.index()]))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

struct Shared {
    schedule: Schedule,
    upstream: String,
    client: reqwest::blocking::Client,
    /// Per (method, target): times seen, faults served.
    book: Mutex<HashMap<(String, String), (u32, u32)>>,
    requests: AtomicU64,
    faults: [AtomicU64; 6],
    closed: AtomicBool,
    paused: AtomicBool,
}

/// A reverse proxy on `127.0.0.1:0` in front of an emulator, serving [`Schedule`]'s faults.
pub struct ChaosProxy {
    /// `http://127.0.0.1:PORT/v2`, for `TELNYX_BASE_URL`.
    pub base_url: String,
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
}

impl ChaosProxy {
    /// Fronts the emulator at `upstream_base_url` (its `…/v2` URL).
    pub fn start(upstream_base_url: &str, schedule: Schedule) -> Self {
        let upstream = upstream_base_url
            .strip_suffix("/v2")
            .expect("an emulator base URL ends in /v2")
            .to_owned();
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the upstream client builds");
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            schedule,
            upstream,
            client,
            book: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            faults: Default::default(),
            closed: AtomicBool::new(false),
            paused: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.closed.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self {
            base_url: format!("http://{addr}/v2"),
            shared,
            addr,
        }
    }

    /// While paused, every request passes and none is counted or booked, so a test's setup
    /// leaves the schedule as it was.
    pub fn pause(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    pub fn tally(&self) -> Tally {
        let mut faults = [0; 6];
        for (count, atomic) in faults.iter_mut().zip(&self.shared.faults) {
            *count = atomic.load(Ordering::SeqCst);
        }
        Tally {
            requests: self.shared.requests.load(Ordering::SeqCst),
            faults,
        }
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        // Wake the accept loop so that its thread ends with the test.
        self.shared.closed.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Whether a request is for a namespace's key list.
fn is_key_list(target: &str) -> bool {
    target.split('?').next().unwrap_or("").ends_with("/keys")
}

/// Whether a request is for keys (a key, or the key list) rather than for namespaces.
fn is_key_request(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or("");
    let Some(rest) = path.strip_prefix("/v2/storage/kvs/") else {
        return false;
    };
    match rest.split_once('/') {
        Some((_, tail)) => tail == "keys" || tail.starts_with("keys/"),
        None => false,
    }
}

/// `/v2/storage/kvs/ID/rest` as `/v2/storage/kvs/-/rest`.
fn without_namespace_id(target: &str) -> String {
    match target
        .strip_prefix("/v2/storage/kvs/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((_, rest)) => format!("/v2/storage/kvs/-/{rest}"),
        None => target.to_owned(),
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        match name.as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
        headers.push((name, value));
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    Some(Request {
        method,
        target,
        headers,
        body,
        close,
    })
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer).ok()? == 0 || trailer.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf).ok()?;
    }
}

/// An upstream answer, as sent back.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

const COPIED: [&str; 6] = [
    "content-type",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-request-id",
];

fn forward(shared: &Shared, request: &Request) -> Answer {
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).expect("a valid HTTP method");
    let mut builder = shared
        .client
        .request(method, format!("{}{}", shared.upstream, request.target))
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if name == "content-type" || name == "authorization" {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    match builder.send() {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = COPIED
                .iter()
                .filter_map(|name| {
                    let value = response.headers().get(*name)?.to_str().ok()?;
                    Some(((*name).to_owned(), value.to_owned()))
                })
                .collect();
            let body = response.bytes().map(|b| b.to_vec()).unwrap_or_default();
            Answer {
                status,
                headers,
                body,
            }
        }
        Err(error) => error_answer(502, "10007", &format!("upstream: {error}")),
    }
}

fn error_answer(status: u16, code: &str, title: &str) -> Answer {
    let body = serde_json::json!({"errors": [{"code": code, "title": title, "detail": title}]});
    Answer {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn write_answer(stream: &mut TcpStream, answer: &Answer, close: bool) -> bool {
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).is_ok()
        && stream.write_all(&answer.body).is_ok()
        && stream.flush().is_ok()
}

/// The fault for this request, counting it.
fn choose(shared: &Shared, request: &Request) -> Option<FaultKind> {
    if shared.paused.load(Ordering::SeqCst) {
        return None;
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if !is_key_request(&request.target)
        || (!shared.schedule.listings && is_key_list(&request.target))
    {
        return None;
    }
    // Namespace ids are random per emulator; the schedule must not depend on them.
    let target = without_namespace_id(&request.target);
    let mut book = shared.book.lock().expect("lock");
    let entry = book
        .entry((request.method.clone(), target.clone()))
        .or_insert((0, 0));
    let seen = entry.0;
    entry.0 += 1;
    if entry.1 >= MAX_FAULTS_PER_REQUEST {
        return None;
    }
    let fault = shared.schedule.decide(&request.method, &target, seen)?;
    entry.1 += 1;
    shared.faults[fault.index()].fetch_add(1, Ordering::SeqCst);
    Some(fault)
}

/// Closes with a TCP reset rather than a FIN.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    while let Some(request) = read_request(&mut reader) {
        let answer = match choose(shared, &request) {
            None => forward(shared, &request),
            Some(FaultKind::ServerError) => error_answer(500, "10007", "Unexpected error"),
            Some(FaultKind::UnavailableAfterApply) => {
                let _ = forward(shared, &request);
                error_answer(503, "10007", "Service unavailable")
            }
            Some(FaultKind::DropAfterApply) => {
                let _ = forward(shared, &request);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                return;
            }
            Some(FaultKind::RateLimited) => {
                let mut answer = error_answer(429, "10011", "Too many requests");
                answer.headers.push(("retry-after".into(), "0".into()));
                answer
            }
            Some(FaultKind::ResetBeforeApply) => {
                reset(stream);
                return;
            }
            Some(FaultKind::Stall) => {
                let answer = forward(shared, &request);
                std::thread::sleep(STALL);
                answer
            }
        };
        if !write_answer(&mut stream, &answer, request.close) || request.close {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults_and_another_seed_draws_others() {
        let a = Schedule::new(7, 300);
        let b = Schedule::new(8, 300);
        let draw = |s: &Schedule| {
            (0..200)
                .map(|i| s.decide("PUT", &format!("/v2/storage/kvs/x/keys/k{i}"), 0))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(&a), draw(&a));
        assert_ne!(draw(&a), draw(&b));
        let faults = draw(&a).iter().flatten().count();
        assert!((30..=90).contains(&faults), "{faults} faults of 200 at 30%");
    }

    #[test]
    fn only_key_requests_can_meet_a_fault() {
        assert!(is_key_request("/v2/storage/kvs/abc/keys/user%2F1"));
        assert!(is_key_request(
            "/v2/storage/kvs/abc/keys?prefix=a&limit=1000"
        ));
        assert!(is_key_request("/v2/storage/kvs/abc/keys"));
        assert!(!is_key_request("/v2/storage/kvs/abc"));
        assert!(!is_key_request("/v2/storage/kvs"));
        assert!(!is_key_request("/v2/storage/kvs?page[size]=100"));
    }
}
