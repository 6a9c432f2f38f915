//! The emulator's HTTP/1.1 server: hyper 1.x on a tokio runtime the emulator owns, with
//! every wait on a client bounded.
//!
//! Why hyper: it is the field's maintained HTTP/1.1 server (request parsing, keep-alive,
//! pipelining, `Expect: 100-continue`, chunked bodies), already in the build through
//! reqwest. (tiny_http, used before, parsed heads in a thread per connection with no
//! socket timeout and read bodies lazily in the handler thread: a client sending a POST
//! head and no body parked a handler thread forever.) What is written here is only what
//! hyper leaves to its user: admission, the clocks, the limits and the answers.
//!
//! **Runtime and threads.** One `current_thread` tokio runtime, driven by one thread
//! (`ionq-emulator-http`), does all socket work: accepting, reading heads and bodies,
//! writing answers. That work is small (short JSON, at most `max_connections` sockets),
//! so one thread suffices, and a runtime whose life is one thread's life is stopped by
//! one signal and one join, from whatever thread drops the emulator. The application
//! ([`Handler::respond`]: JSON parsing, the job store, `Fault::Delay` sleeps) runs on the
//! runtime's blocking pool (`spawn_blocking`, `ionq-emulator-handler` threads), never on
//! the IO thread; simulations run on the emulator's own job threads, as before. Only the
//! cheap head check ([`Handler::head`]: route and API key) runs on the IO thread.
//!
//! **Where each limit is enforced.**
//! - `max_connections` / `max_connections_per_client`: the accept loop counts connections
//!   per client address and in all *before* serving one; over a limit it writes an
//!   immediate `429` / `503` in IonQ's error shape with `Retry-After: 1` and closes,
//!   without waiting for a request (hyper answers only requests, so these few bytes are
//!   written here).
//! - `idle_timeout`, `request_timeout`, `io_timeout` on the request head: [`Clocked`], the
//!   socket wrapper under hyper, times every pending read by the connection's phase:
//!   idle (waiting for a request's first byte: `idle_timeout`, then close quietly), head
//!   (from the first byte: each read at most `io_timeout`, the whole request at most
//!   `request_timeout`; on expiry the read fails, hyper gives the socket back and a `408`
//!   is written here). hyper's own `header_read_timeout` is not used: it runs one clock
//!   from the end of the previous answer (idle and head together), has no per-read clock,
//!   and closes without an answer.
//! - `io_timeout` on writes: [`Clocked`] fails any write, flush or shutdown pending that
//!   long.
//! - Body: the service reads it only after the head check passed (wrong route or key:
//!   `404` / `401` without reading it), refuses a declared `Content-Length` over
//!   `max_body_bytes` before reading, then reads frame by frame under
//!   `min(io_timeout, what is left of request_timeout)` (a stalled or dripping upload gets
//!   `408`), through `http_body_util::Limited` (a chunked body over the limit gets `400`).
//! - Head size and header count: hyper (`max_header_size`, `max_headers`): `431`.
//! - Handler panics: `catch_unwind` turns one into a `500` and the server goes on.
//!
//! Malformed heads (bad request line, unsupported version, bad or conflicting
//! `Content-Length`) are answered by hyper itself: `400` (`431` for an oversized head)
//! with an empty body, then close; hyper has no hook to give those answers a body, so
//! they are the one place without IonQ's error JSON.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::{sleep_until, timeout, timeout_at, Instant, Sleep};

/// Longest request head (request line and headers) accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 100;
/// Requests served on one kept-alive connection before it is closed.
const MAX_REQUESTS_PER_CONNECTION: usize = 1000;
/// How long a closing connection is drained (so unread input does not turn the close
/// into a reset that could swallow the answer), and how much of it at most.
const LINGER: Duration = Duration::from_millis(300);
const LINGER_BYTES: usize = 1 << 20;
/// How long the answer to a refused connection may take to write.
const REFUSAL_WRITE: Duration = Duration::from_millis(200);
/// How long stopping waits for handlers still running.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// Most handler threads (the blocking pool's size is also bounded by `max_connections`:
/// a connection has at most one request in a handler).
const MAX_HANDLER_THREADS: usize = 512;

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

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn reason(status: u16) -> &'static str {
    status_code(status)
        .canonical_reason()
        .unwrap_or("Internal Server Error")
}

/// A request head, as the application sees it.
pub(super) struct Head {
    pub method: String,
    /// The request target's path and query.
    pub target: String,
    pub headers: HeaderMap,
}

impl Head {
    /// The value of header `name` (case-insensitive), if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the server asks of the application.
pub(super) trait Handler: Send + Sync + 'static {
    /// Decide on the head alone: `Some(reply)` answers without reading the body (wrong
    /// route or key); `None` lets the server read the body and call [`Handler::respond`].
    /// Runs on the IO thread: must be quick and must not block.
    fn head(&self, head: &Head) -> Option<Reply>;
    /// Answer a request whose body has been read in full (on a blocking-pool thread).
    fn respond(&self, head: &Head, body: Vec<u8>) -> Reply;
}

#[derive(Default)]
struct Connections {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

struct State {
    limits: HttpLimits,
    handler: Arc<dyn Handler>,
    open: Mutex<Connections>,
}

/// Releases a connection's place in the counts when its task ends (or is dropped when
/// the runtime stops).
struct Admitted {
    state: Arc<State>,
    client: IpAddr,
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
    }
}

/// A running server; [`HttpServer::stop`] (or dropping it) ends it.
pub(super) struct HttpServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    driver: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Bind `bind` and serve `handler` from a background thread and its runtime.
    pub fn start(
        bind: SocketAddr,
        limits: HttpLimits,
        handler: Arc<dyn Handler>,
    ) -> io::Result<HttpServer> {
        let listener = std::net::TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .thread_name("ionq-emulator-handler")
            .max_blocking_threads(limits.max_connections.clamp(1, MAX_HANDLER_THREADS))
            .build()?;
        let listener = {
            let _in_runtime = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let state = Arc::new(State {
            limits,
            handler,
            open: Mutex::new(Connections::default()),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let accept_state = Arc::clone(&state);
        let driver = std::thread::Builder::new()
            .name("ionq-emulator-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(accept_loop(listener, accept_state));
                    // Until stop() sends (or the server is dropped).
                    let _ = stopped.await;
                });
                // Drops every connection task (cutting its socket) and waits a little
                // for handlers still running.
                runtime.shutdown_timeout(STOP_WAIT);
            })?;
        Ok(HttpServer {
            addr,
            state,
            stop: Some(stop),
            driver: Some(driver),
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
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }

    /// Stop accepting, cut every open connection, wait (briefly) for running handlers.
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.join();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => admit(&state, stream, peer.ip()).await,
            // Out of file descriptors, a connection reset before accept, …: keep serving
            // (a short pause so a persistent error does not spin).
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Count the connection in and serve it, or refuse it.
async fn admit(state: &Arc<State>, stream: TcpStream, client: IpAddr) {
    let limits = &state.limits;
    let refusal = {
        let mut open = lock(&state.open);
        let mine = open.per_client.get(&client).copied().unwrap_or(0);
        if open.total >= limits.max_connections {
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
            open.total += 1;
            *open.per_client.entry(client).or_insert(0) += 1;
            None
        }
    };
    match refusal {
        // On the accept task, bounded by REFUSAL_WRITE: a flood of refused connections
        // slows accepting instead of piling up tasks.
        Some(reply) => refuse(stream, &reply.retry_after(1)).await,
        None => {
            let admitted = Admitted {
                state: Arc::clone(state),
                client,
            };
            tokio::spawn(serve_connection(stream, admitted));
        }
    }
}

/// Answer a connection that is not admitted: one short write, then close.
async fn refuse(mut stream: TcpStream, reply: &Reply) {
    let bytes = raw_answer(reply);
    let _ = timeout(REFUSAL_WRITE, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
    // Take what the client already sent, without waiting, so the close is not a reset.
    let mut buf = [0u8; 4096];
    while let Ok(k) = stream.try_read(&mut buf) {
        if k == 0 {
            break;
        }
    }
}

/// An answer written without hyper (refused connections, and the `408` for a head that
/// did not arrive in time, where hyper has no request to answer): status line, four
/// headers, IonQ's JSON, `Connection: close`.
fn raw_answer(reply: &Reply) -> Vec<u8> {
    let body = reply.body.to_string();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        body.len()
    );
    if let Some(s) = reply.retry_after {
        head.push_str(&format!("Retry-After: {s}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

fn timed_out(what: &str, limits: &HttpLimits) -> Reply {
    Reply::error(
        408,
        format!(
            "the {what} did not arrive in time (the emulator waits {} ms for any read and {} ms for a whole request)",
            limits.io_timeout.as_millis(),
            limits.request_timeout.as_millis()
        ),
    )
}

async fn serve_connection(stream: TcpStream, admitted: Admitted) {
    let state = Arc::clone(&admitted.state);
    let limits = &state.limits;
    let _ = stream.set_nodelay(true);
    let clock = Arc::new(Mutex::new(Clock::new(limits)));
    let io = TokioIo::new(Clocked::new(stream, Arc::clone(&clock), limits.clone()));
    let service = {
        let (state, clock) = (Arc::clone(&state), Arc::clone(&clock));
        service_fn(move |request| answer(Arc::clone(&state), Arc::clone(&clock), request))
    };
    let mut connection = http1::Builder::new()
        // A client may end its sending side once its request is out and still get the
        // answer (as before).
        .half_close(true)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEAD_BYTES)
        // The head clocks are Clocked's (see the module docs).
        .header_read_timeout(None)
        .serve_connection(io, service);
    let served = (&mut connection).await;
    let mut stream = connection.into_parts().io.into_inner().stream;
    if served.is_err() && lock(&clock).head_expired {
        let _ = timeout(
            limits.io_timeout,
            stream.write_all(&raw_answer(&timed_out("request head", limits))),
        )
        .await;
    }
    linger_close(stream).await;
    drop(admitted);
}

/// End a connection politely: stop sending, take (briefly, boundedly) what the client is
/// still sending, then close.
async fn linger_close(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let deadline = Instant::now() + LINGER;
    let mut drained = 0;
    let mut buf = [0u8; 8192];
    while drained < LINGER_BYTES {
        match timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(k)) if k > 0 => drained += k,
            _ => break,
        }
    }
}

/// One request: head check, body, handler; every failure an answer in IonQ's shape.
async fn answer(
    state: Arc<State>,
    clock: Arc<Mutex<Clock>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let limits = &state.limits;
    let (deadline, last) = lock(&clock).begin_request(limits);
    let (parts, body) = request.into_parts();
    let head = Head {
        method: parts.method.as_str().to_string(),
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string()),
        headers: parts.headers,
    };
    let has_body = !body.is_end_stream();
    let handler = Arc::clone(&state.handler);
    let early = catch_unwind(AssertUnwindSafe(|| handler.head(&head)))
        .unwrap_or_else(|panic| Some(panicked(panic.as_ref())));
    let declared = body.size_hint().exact();
    // `close`: end the connection after this answer (an unread or cut-off body leaves the
    // connection at an unknown place).
    let (reply, close) = if let Some(reply) = early {
        (reply, has_body)
    } else if let Some(n) = declared.filter(|&n| n > limits.max_body_bytes as u64) {
        (over_body_limit(Some(n), limits), true)
    } else {
        match read_body(body, declared, limits, deadline).await {
            Err(reply) => (reply, true),
            Ok(bytes) => {
                let ran = tokio::task::spawn_blocking(move || {
                    catch_unwind(AssertUnwindSafe(|| handler.respond(&head, bytes)))
                        .unwrap_or_else(|panic| panicked(panic.as_ref()))
                })
                .await;
                match ran {
                    Ok(reply) => (reply, false),
                    Err(e) => (
                        Reply::error(500, format!("the emulator failed on this request: {e}")),
                        true,
                    ),
                }
            }
        }
    };
    lock(&clock).end_request(limits);
    Ok(response(&reply, close || last))
}

fn panicked(panic: &(dyn std::any::Any + Send)) -> Reply {
    Reply::error(
        500,
        format!(
            "the emulator failed on this request: {}",
            panic_message(panic)
        ),
    )
}

fn over_body_limit(declared: Option<u64>, limits: &HttpLimits) -> Reply {
    let size = match declared {
        Some(n) => format!("{n} bytes"),
        None => format!("over {} bytes", limits.max_body_bytes),
    };
    Reply::error(
        400,
        format!(
            "the request body is {size}; this emulator accepts at most {} (max_body_bytes)",
            limits.max_body_bytes
        ),
    )
}

/// Read a body in full: each frame within `io_timeout`, all of it by `deadline` (the end
/// of the request clock), at most `max_body_bytes` of it.
async fn read_body(
    body: Incoming,
    declared: Option<u64>,
    limits: &HttpLimits,
    deadline: Instant,
) -> Result<Vec<u8>, Reply> {
    let mut body = Limited::new(body, limits.max_body_bytes);
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(64 * 1024) as usize);
    loop {
        let wait = (Instant::now() + limits.io_timeout).min(deadline);
        match timeout_at(wait, body.frame()).await {
            Err(_) => return Err(timed_out("request body", limits)),
            Ok(None) => return Ok(out),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Ok(Some(Err(e))) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(over_body_limit(declared, limits))
            }
            // The client closed, or sent a malformed chunk.
            Ok(Some(Err(e))) => {
                return Err(Reply::error(
                    400,
                    format!("the request body could not be read: {e}"),
                ))
            }
        }
    }
}

fn response(reply: &Reply, close: bool) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(reply.body.to_string())));
    *r.status_mut() = status_code(reply.status);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(s) = reply.retry_after {
        h.insert(RETRY_AFTER, HeaderValue::from(s));
    }
    if close {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// Where a connection is in its request cycle, which decides how long a read may wait.
#[derive(Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of a request, until this instant.
    Idle { until: Instant },
    /// A request's head is arriving; the whole request must be in by `deadline`.
    Head { deadline: Instant },
    /// The service has the request (it reads the body under its own clock, by
    /// `deadline`, and answers).
    Service,
}

/// A connection's clock, shared by [`Clocked`] (reads) and the service.
struct Clock {
    phase: Phase,
    /// The request clock ran out while a head was arriving (answer 408).
    head_expired: bool,
    requests: usize,
}

impl Clock {
    fn new(limits: &HttpLimits) -> Clock {
        Clock {
            phase: Phase::Idle {
                until: Instant::now() + limits.idle_timeout,
            },
            head_expired: false,
            requests: 0,
        }
    }

    /// The service took a request: its deadline, and whether it is the connection's last.
    fn begin_request(&mut self, limits: &HttpLimits) -> (Instant, bool) {
        let deadline = match self.phase {
            Phase::Head { deadline } => deadline,
            // A pipelined request already buffered: its clock starts now.
            _ => Instant::now() + limits.request_timeout,
        };
        self.phase = Phase::Service;
        self.requests += 1;
        (deadline, self.requests >= MAX_REQUESTS_PER_CONNECTION)
    }

    fn end_request(&mut self, limits: &HttpLimits) {
        self.phase = Phase::Idle {
            until: Instant::now() + limits.idle_timeout,
        };
    }

    /// Bytes arrived: an idle connection starts a request (and its clock).
    fn bytes_arrived(&mut self, limits: &HttpLimits) {
        if let Phase::Idle { .. } = self.phase {
            self.phase = Phase::Head {
                deadline: Instant::now() + limits.request_timeout,
            };
        }
    }

    /// How long a read pending since `since` may wait (`None`: no limit here).
    fn read_deadline(&self, since: Instant, limits: &HttpLimits) -> Option<Instant> {
        match self.phase {
            Phase::Idle { until } => Some(until),
            Phase::Head { deadline } => Some((since + limits.io_timeout).min(deadline)),
            Phase::Service => None,
        }
    }
}

/// The socket under hyper, with the connection's clocks: a pending read fails with
/// `TimedOut` at [`Clock::read_deadline`], a pending write, flush or shutdown after
/// `io_timeout`. (Hand-written: hyper's only read clock is `header_read_timeout`, see
/// the module docs, and it has none for writes; a generic timeout wrapper such as
/// tokio-io-timeout would not know the connection's phase.)
struct Clocked {
    stream: TcpStream,
    clock: Arc<Mutex<Clock>>,
    limits: HttpLimits,
    /// Since when a read (a write) has been pending, and its timer.
    read_since: Option<Instant>,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_since: Option<Instant>,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl Clocked {
    fn new(stream: TcpStream, clock: Arc<Mutex<Clock>>, limits: HttpLimits) -> Clocked {
        Clocked {
            stream,
            clock,
            limits,
            read_since: None,
            read_timer: None,
            write_since: None,
            write_timer: None,
        }
    }

    /// Has `deadline` passed (registering a wake-up for it if not)?
    fn expired(
        timer: &mut Option<Pin<Box<Sleep>>>,
        deadline: Instant,
        cx: &mut Context<'_>,
    ) -> bool {
        let t = timer.get_or_insert_with(|| Box::pin(sleep_until(deadline)));
        if t.deadline() != deadline {
            t.as_mut().reset(deadline);
        }
        t.as_mut().poll(cx).is_ready()
    }

    fn poll_write_op<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.stream), cx) {
            Poll::Ready(r) => {
                self.write_since = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let since = *self.write_since.get_or_insert_with(Instant::now);
                if Self::expired(&mut self.write_timer, since + self.limits.io_timeout, cx) {
                    self.write_since = None;
                    Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncRead for Clocked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_since = None;
                if buf.filled().len() > before {
                    lock(&this.clock).bytes_arrived(&this.limits);
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let since = *this.read_since.get_or_insert_with(Instant::now);
                let mut clock = lock(&this.clock);
                let Some(deadline) = clock.read_deadline(since, &this.limits) else {
                    return Poll::Pending;
                };
                if Self::expired(&mut this.read_timer, deadline, cx) {
                    clock.head_expired = matches!(clock.phase, Phase::Head { .. });
                    this.read_since = None;
                    Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncWrite for Clocked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_op(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_op(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_op(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_write_op(cx, |s, cx| s.poll_shutdown(cx))
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
