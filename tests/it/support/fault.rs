//! A fake server for what the emulator cannot do: resets, hangs, malformed bodies, bursts of
//! 503s. It answers each request with the next scripted fault and records what it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status, extra headers and body.
    Respond(u16, Vec<(&'static str, String)>, String),
    /// Close the connection without answering.
    Reset,
    /// Never answer (until the test ends).
    Hang,
    /// Send a 200's headers announcing a body of this many bytes, a few of them, then stall.
    Stall(usize),
    /// Send a 200 with a chunked body that never ends (for 30 s at most).
    Endless,
}

impl Fault {
    pub fn status(status: u16, body: &str) -> Self {
        Self::Respond(status, Vec::new(), body.to_owned())
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::Respond(
            status,
            vec![("content-type", "application/json".into())],
            body.to_owned(),
        )
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// When its head was read.
    pub at: std::time::Instant,
}

pub struct FaultServer {
    pub base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

/// Chooses the answer to each request.
type Responder = dyn Fn(&Received) -> Fault + Send + Sync;

impl FaultServer {
    /// Serves `script` in order; once it runs out, every request gets the last entry again.
    pub fn start(script: Vec<Fault>) -> Self {
        let script = Mutex::new((script, 0usize));
        Self::answering(move |_| {
            let mut script = script.lock().expect("lock");
            let (faults, next) = &mut *script;
            let fault = faults
                .get(*next)
                .or(faults.last())
                .cloned()
                .unwrap_or(Fault::Reset);
            *next += 1;
            fault
        })
    }

    /// Answers each request as `respond` says, from what was received.
    pub fn answering(respond: impl Fn(&Received) -> Fault + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Responder> = Arc::new(respond);
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let log = Arc::clone(&log);
                let script = Arc::clone(&script);
                std::thread::spawn(move || serve(stream, &log, &*script));
            }
        });
        Self {
            base_url: format!("http://{addr}/v2"),
            received,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Received>>, script: &Responder) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
                if name == "content-length" {
                    length = value.parse().unwrap_or(0);
                }
                headers.push((name, value));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Received {
            method,
            target,
            headers,
            at: std::time::Instant::now(),
        };
        let fault = script(&request);
        log.lock().expect("lock").push(request);
        match fault {
            Fault::Reset => return,
            Fault::Hang => {
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Fault::Stall(length) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {length}\r\ncontent-type: application/json\r\n\r\n{{\"da"
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.flush();
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Fault::Endless => {
                let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/octet-stream\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
                let until = std::time::Instant::now() + Duration::from_secs(30);
                while std::time::Instant::now() < until {
                    if stream.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                }
                return;
            }
            Fault::Respond(status, extra, body) => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nx-request-id: req-{status}\r\n",
                    body.len()
                );
                for (name, value) in extra {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).is_err()
                    || stream.write_all(body.as_bytes()).is_err()
                {
                    return;
                }
            }
        }
    }
}
