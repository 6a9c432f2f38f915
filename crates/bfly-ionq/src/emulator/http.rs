//! The emulator's HTTP/1.1 server: one listener thread, one thread per admitted
//! connection, and every wait on a client bounded.
//!
//! Why not `tiny_http` (which the emulator used before): tiny_http 0.12 accepts every
//! connection into a thread of its own with no socket timeout, parses the head there, and
//! reads a body over 1 KiB lazily **in the thread that handles the request**. A client
//! that sends a POST head with a `Content-Length` and no body therefore parks a handler
//! thread forever; as many such clients as handler threads froze the server for everyone,
//! before any API key was checked. It owns the accepted sockets, so neither a read
//! timeout nor a per-address connection limit can be added from outside.
//!
//! Here the listener counts connections per client address and in total before it hands a
//! connection to a thread (over a limit: an immediate `429`/`503` in IonQ's error shape,
//! then close). Each connection thread reads the request head and body itself, under
//! three clocks: `io_timeout` for any single read or write, `request_timeout` for a whole
//! request (head and body, so a client dripping one byte at a time is cut off too) and
//! `idle_timeout` between requests of a kept-alive connection. A stalled upload costs one
//! sleeping thread until its clock runs out (`408`), never a thread another client needs.
//! The body is read only after the handler accepted the head (route, API key, declared
//! size), and never beyond `max_body_bytes`.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Longest request head (request line and headers) accepted.
const MAX_HEAD_BYTES: u64 = 16 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 100;
/// Requests served on one kept-alive connection before it is closed.
const MAX_REQUESTS_PER_CONNECTION: usize = 1000;
/// How long a closing connection is drained (so unread input does not turn the close
/// into a reset that could swallow the answer), and how much of it at most.
const LINGER: Duration = Duration::from_millis(300);
const LINGER_BYTES: usize = 1 << 20;

/// Lock a mutex even if a thread panicked while holding it: the emulator's state stays
/// consistent field by field, and one panic must not turn every later request into one.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The server's clocks and connection limits.
#[derive(Clone, Debug)]
pub(super) struct HttpLimits {
    pub io_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

/// An answer: status, JSON body, optional `Retry-After` (seconds).
pub(super) struct Reply {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            retry_after: None,
        }
    }

    /// IonQ's error body `{"error", "message", "statusCode"}`.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: json!({ "error": reason(status), "message": message.into(), "statusCode": status }),
            retry_after: None,
        }
    }

    /// The same reply with `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Reply {
        self.retry_after = Some(secs);
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Internal Server Error",
    }
}

/// A parsed request head.
pub(super) struct Head {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The declared body length (0 without `Content-Length`).
    pub content_length: u64,
    /// HTTP/1.0, or `Connection: close`: the connection ends after this request.
    pub close: bool,
}

impl Head {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server asks of the application.
pub(super) trait Handler: Send + Sync + 'static {
    /// Decide on the head alone: `Some(reply)` answers without reading the body (wrong
    /// route or key); `None` lets the server read the body and call [`Handler::respond`].
    fn head(&self, head: &Head) -> Option<Reply>;
    /// Answer a request whose body has been read in full.
    fn respond(&self, head: &Head, body: Vec<u8>) -> Reply;
}

#[derive(Default)]
struct Connections {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
    /// A handle on each open connection, to unblock its thread at shutdown.
    streams: HashMap<u64, TcpStream>,
    next_id: u64,
}

struct State {
    limits: HttpLimits,
    handler: Arc<dyn Handler>,
    shutdown: AtomicBool,
    open: Mutex<Connections>,
    closed: Condvar,
}

/// Releases a connection's place in the counts when its thread ends (or never starts).
struct Admitted {
    state: Arc<State>,
    client: IpAddr,
    id: u64,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = lock(&self.state.open);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_client.remove(&self.client);
            }
        }
        open.streams.remove(&self.id);
        drop(open);
        self.state.closed.notify_all();
    }
}

/// A running server; [`HttpServer::stop`] (or dropping it) ends it.
pub(super) struct HttpServer {
    addr: SocketAddr,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Bind `bind` and serve `handler` from background threads.
    pub fn start(
        bind: SocketAddr,
        limits: HttpLimits,
        handler: Arc<dyn Handler>,
    ) -> io::Result<HttpServer> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            limits,
            handler,
            shutdown: AtomicBool::new(false),
            open: Mutex::new(Connections::default()),
            closed: Condvar::new(),
        });
        let accept_state = Arc::clone(&state);
        let acceptor = std::thread::Builder::new()
            .name("ionq-emulator-accept".into())
            .spawn(move || accept_loop(&listener, &accept_state))?;
        Ok(HttpServer {
            addr,
            state,
            acceptor: Some(acceptor),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        lock(&self.state.open).total
    }

    /// Block until the server stops (it runs until the process ends or [`HttpServer::stop`]).
    pub fn join(&mut self) {
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }

    /// Stop accepting, cut every open connection, and wait (briefly) for their threads.
    pub fn stop(&mut self) {
        self.state.shutdown.store(true, Ordering::SeqCst);
        // Wake the listener's blocking accept with a connection of our own.
        let wake = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.addr.port())
            }
            _ => self.addr,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        self.join();
        let mut open = lock(&self.state.open);
        for s in open.streams.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while open.total > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            open = self
                .state
                .closed
                .wait_timeout(open, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if !self.state.shutdown.load(Ordering::SeqCst) {
            self.stop();
        }
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    loop {
        let accepted = listener.accept();
        if state.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors, a connection reset before accept, …: keep serving
            // (a short pause so a persistent error does not spin).
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        admit(state, stream, peer.ip());
    }
}

/// Count the connection in, or refuse it; start its thread.
fn admit(state: &Arc<State>, stream: TcpStream, client: IpAddr) {
    let limits = &state.limits;
    let id = {
        let mut open = lock(&state.open);
        let mine = open.per_client.get(&client).copied().unwrap_or(0);
        let refusal = if open.total >= limits.max_connections {
            Some(Reply::error(
                503,
                format!(
                    "the emulator has {} connections open, its limit (max_connections); retry shortly",
                    open.total
                ),
            ))
        } else if mine >= limits.max_connections_per_client {
            Some(Reply::error(
                429,
                format!(
                    "{client} has {mine} connections open to the emulator, its limit per client address (max_connections_per_client); close some or retry shortly"
                ),
            ))
        } else {
            None
        };
        if let Some(reply) = refusal {
            drop(open);
            refuse(stream, &reply.retry_after(1));
            return;
        }
        open.total += 1;
        *open.per_client.entry(client).or_insert(0) += 1;
        open.next_id += 1;
        let id = open.next_id;
        if let Ok(s) = stream.try_clone() {
            open.streams.insert(id, s);
        }
        id
    };
    let admitted = Admitted {
        state: Arc::clone(state),
        client,
        id,
    };
    // If the thread cannot start, the connection is refused through this handle.
    let spare = stream.try_clone();
    let spawned = std::thread::Builder::new()
        .name("ionq-emulator-conn".into())
        .spawn(move || {
            let admitted = admitted;
            serve_connection(&admitted.state, stream);
        });
    if spawned.is_err() {
        // The closure (and with it `admitted`) was dropped: the counts are released.
        if let Ok(s) = spare {
            let reply = Reply::error(
                503,
                "the emulator cannot start a thread for this connection; retry shortly",
            );
            refuse(s, &reply.retry_after(1));
        }
    }
}

/// Answer a connection that is not admitted, from the listener thread: one short write
/// (it fits the socket buffer; bounded by a short timeout anyway), then close.
fn refuse(stream: TcpStream, reply: &Reply) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = write_reply(&stream, reply, true);
    let _ = stream.shutdown(Shutdown::Write);
    // Take what the client already sent, without waiting, so the close is not a reset.
    if stream.set_nonblocking(true).is_ok() {
        let mut buf = [0u8; 4096];
        let mut s = &stream;
        while let Ok(k) = s.read(&mut buf) {
            if k == 0 {
                break;
            }
        }
    }
}

/// Reads from the socket under a per-read timeout and an optional overall deadline.
struct Clocked {
    stream: TcpStream,
    io_timeout: Duration,
    deadline: Option<Instant>,
}

impl Read for Clocked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut wait = self.io_timeout;
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            wait = wait.min(left);
        }
        // A zero timeout means "block forever" to the OS: never pass one.
        self.stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(io::ErrorKind::TimedOut.into())
            }
            other => other,
        }
    }
}

/// Why a request could not be read.
enum Failed {
    /// The client closed the connection, or was idle between requests: close quietly.
    Gone,
    /// Answer this, then close.
    Answer(Reply),
}

fn timed_out(what: &str, limits: &HttpLimits) -> Failed {
    Failed::Answer(Reply::error(
        408,
        format!(
            "the {what} did not arrive in time (the emulator waits {} ms for any read and {} ms for a whole request)",
            limits.io_timeout.as_millis(),
            limits.request_timeout.as_millis()
        ),
    ))
}

fn serve_connection(state: &State, stream: TcpStream) {
    let limits = &state.limits;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.io_timeout));
    let writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::with_capacity(
        8 * 1024,
        Clocked {
            stream,
            io_timeout: limits.io_timeout,
            deadline: None,
        },
    );
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        if state.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let (head, body) = match read_request(state, &mut reader, &writer) {
            Ok((head, Ok(body))) => (head, body),
            // The handler answered from the head. An unread body leaves the connection
            // at an unknown place: close it then.
            Ok((head, Err(reply))) => {
                let close = head.close || head.content_length > 0;
                if write_reply(&writer, &reply, close).is_err() || close {
                    break;
                }
                continue;
            }
            Err(Failed::Gone) => return,
            Err(Failed::Answer(reply)) => {
                let _ = write_reply(&writer, &reply, true);
                break;
            }
        };
        let reply = catch_unwind(AssertUnwindSafe(|| state.handler.respond(&head, body)))
            .unwrap_or_else(|panic| {
                Reply::error(
                    500,
                    format!(
                        "the emulator failed on this request: {}",
                        panic_message(panic.as_ref())
                    ),
                )
            });
        if write_reply(&writer, &reply, head.close).is_err() || head.close {
            break;
        }
    }
    linger_close(&writer);
}

/// One request: its head, and its body or the handler's answer to the head alone.
fn read_request(
    state: &State,
    reader: &mut BufReader<Clocked>,
    writer: &TcpStream,
) -> Result<(Head, Result<Vec<u8>, Reply>), Failed> {
    let limits = &state.limits;
    // Idle until the first byte of the request, then the request clock runs.
    reader.get_mut().deadline = Some(Instant::now() + limits.idle_timeout);
    match reader.fill_buf() {
        Ok([]) => return Err(Failed::Gone),
        Ok(_) => {}
        Err(_) => return Err(Failed::Gone),
    }
    reader.get_mut().deadline = Some(Instant::now() + limits.request_timeout);
    let head = read_head(reader, limits)?;
    if let Some(reply) = state.handler.head(&head) {
        return Ok((head, Err(reply)));
    }
    if head.content_length > limits.max_body_bytes as u64 {
        return Err(Failed::Answer(Reply::error(
            400,
            format!(
                "the request body is {} bytes; this emulator accepts at most {} (max_body_bytes)",
                head.content_length, limits.max_body_bytes
            ),
        )));
    }
    if head
        .header("Expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let mut w = writer;
        if w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Err(Failed::Gone);
        }
    }
    let len = head.content_length as usize;
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    match reader.by_ref().take(len as u64).read_to_end(&mut body) {
        Ok(k) if k == len => Ok((head, Ok(body))),
        Ok(_) => Err(Failed::Gone), // closed before the declared length
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timed_out("request body", limits)),
        Err(_) => Err(Failed::Gone),
    }
}

fn read_head(reader: &mut BufReader<Clocked>, limits: &HttpLimits) -> Result<Head, Failed> {
    let mut budget = MAX_HEAD_BYTES;
    let mut line = |reader: &mut BufReader<Clocked>| -> Result<String, Failed> {
        let mut buf = Vec::new();
        match reader.by_ref().take(budget).read_until(b'\n', &mut buf) {
            Ok(0) => return Err(Failed::Gone),
            Ok(k) => budget -= k as u64,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return Err(timed_out("request head", limits))
            }
            Err(_) => return Err(Failed::Gone),
        }
        if buf.last() != Some(&b'\n') {
            return Err(if budget == 0 {
                Failed::Answer(Reply::error(
                    431,
                    format!("the request head is longer than {MAX_HEAD_BYTES} bytes"),
                ))
            } else {
                Failed::Gone
            });
        }
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        String::from_utf8(buf)
            .map_err(|_| Failed::Answer(Reply::error(400, "the request head is not UTF-8 text")))
    };
    let bad = |m: String| Failed::Answer(Reply::error(400, m));
    let request_line = line(reader)?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None)
            if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) && t.starts_with('/') =>
        {
            (m.to_string(), t.to_string(), v)
        }
        _ => return Err(bad(format!("malformed request line {request_line:?}"))),
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.starts_with("HTTP/") => {
            return Err(Failed::Answer(Reply::error(
                505,
                format!("{v} is not supported; the emulator speaks HTTP/1.1 and HTTP/1.0"),
            )))
        }
        _ => return Err(bad(format!("malformed request line {request_line:?}"))),
    };
    let mut headers = Vec::new();
    loop {
        let l = line(reader)?;
        if l.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(Failed::Answer(Reply::error(
                431,
                format!("more than {MAX_HEADERS} header lines"),
            )));
        }
        let (name, value) = match l.split_once(':') {
            Some((n, v)) if !n.is_empty() && !n.contains([' ', '\t']) => (n, v.trim()),
            _ => return Err(bad(format!("malformed header line {l:?}"))),
        };
        headers.push((name.to_string(), value.to_string()));
    }
    let mut head = Head {
        method,
        target,
        headers,
        content_length: 0,
        close: http10,
    };
    if head.header("Transfer-Encoding").is_some() {
        return Err(Failed::Answer(Reply::error(
            411,
            "chunked request bodies are not supported; send the body with a Content-Length",
        )));
    }
    let mut lengths = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.as_str());
    if let Some(first) = lengths.next() {
        if lengths.any(|v| v != first) {
            return Err(bad("conflicting Content-Length headers".into()));
        }
        head.content_length = match first.parse::<u64>() {
            Ok(n) if first.bytes().all(|b| b.is_ascii_digit()) => n,
            // Too many digits for u64: certainly over the body limit.
            Err(_) if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
            _ => return Err(bad(format!("Content-Length {first:?} is not a byte count"))),
        };
    }
    match head.header("Connection").map(str::to_ascii_lowercase) {
        Some(v) if v.contains("close") => head.close = true,
        Some(v) if v.contains("keep-alive") => head.close = false,
        _ => {}
    }
    Ok(head)
}

/// Write `reply` as one HTTP/1.1 response (`close`: announce and then end the connection).
fn write_reply(stream: &TcpStream, reply: &Reply, close: bool) -> io::Result<()> {
    let body = reply.body.to_string();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        reply.status,
        reason(reply.status),
        body.len()
    );
    if let Some(s) = reply.retry_after {
        out.push_str(&format!("Retry-After: {s}\r\n"));
    }
    out.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    let mut s = stream;
    s.write_all(&bytes)?;
    s.flush()
}

/// End a connection politely: stop sending, take (briefly, boundedly) what the client is
/// still sending, then close.
fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut drained = 0;
    let mut buf = [0u8; 8192];
    let mut s = stream;
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => drained += k,
        }
    }
}

/// The text of a panic payload.
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
