use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method, StatusCode};
use crate::connection::Connection;
use crate::head::{read_head, HeadError};
use crate::util::body::{framing, read_body, BodyBudget, BodyError, Framing};
use crate::util::{Phase, ReadDeadline, RefinedTcpStream, Slot};
use crate::util::{SequentialWriter, SequentialWriterBuilder};
use crate::Request;

pub use crate::head::{MAX_HEADERS, MAX_HEADER_LINE, MAX_HEAD_BYTES};

/// msm patch: after refusing a request, how long the connection reads and drops what the
/// client still sends before it closes, so that the client reads the answer and not a reset
/// (a "lingering close", as nginx does).
const LINGER: Duration = Duration::from_millis(500);
/// msm patch: most bytes read and dropped while lingering.
const LINGER_BYTES: usize = 64 * 1024;

/// msm patch: the deadlines and body bounds every connection of a server keeps.
#[derive(Debug)]
pub(crate) struct Limits {
    /// A request head must arrive whole within this after its first byte (or the accept).
    pub head_timeout: Duration,
    /// A kept-alive connection may wait this long for the next request's first byte.
    pub keep_alive: Duration,
    /// A request body must arrive whole within this after its head.
    pub body_timeout: Duration,
    /// The per-read socket timeout.
    pub io_timeout: Option<Duration>,
    /// Largest request body taken; larger ones are refused (413) by their declared length.
    pub max_body: usize,
    /// What bodies may hold in memory at once.
    pub budget: Arc<BodyBudget>,
    /// msm patch: the bounds of uploads (`LargeBodies`).
    pub large: Option<LargeLimits>,
}

/// msm patch: `LargeBodies` with its budget.
#[derive(Debug)]
pub(crate) struct LargeLimits {
    pub paths: Vec<String>,
    pub max_body: usize,
    pub budget: Arc<BodyBudget>,
    pub body_timeout: Duration,
}

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
///
/// msm patch: one request at a time. The head and the whole body are read here, under their
/// deadlines, before the request is handed on; the next head is read only once the previous
/// request has been answered (the caller waits), so a connection never has more than one
/// request queued or held in memory.
pub struct ClientConnection {
    // address of the client
    remote_addr: Option<SocketAddr>,

    // msm patch: heads and bodies are read from here, in order
    reader: BufReader<RefinedTcpStream>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // msm patch: the socket, its deadline, its slot in the table, the bounds, requests read
    conn: Arc<Connection>,
    deadline: Arc<ReadDeadline>,
    slot: Slot,
    limits: Arc<Limits>,
    served: usize,
    // msm patch: set by a request whose answer closes the connection
    close_after: Arc<AtomicBool>,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` over `conn`, which holds `slot` in the table.
    pub(crate) fn new(conn: Arc<Connection>, slot: Slot, limits: Arc<Limits>) -> ClientConnection {
        let deadline = Arc::new(ReadDeadline::default());
        let (read_socket, write_socket) = RefinedTcpStream::new(conn.clone());
        let read_socket = read_socket.with_deadline(deadline.clone(), limits.io_timeout);
        let remote_addr = conn.peer_addr().ok().flatten();
        let secure = read_socket.secure();
        ClientConnection {
            reader: BufReader::with_capacity(1024, read_socket),
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            no_more_requests: false,
            secure,
            conn,
            deadline,
            slot,
            limits,
            served: 0,
            close_after: Arc::new(AtomicBool::new(false)),
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    fn writer(&mut self) -> SequentialWriter<BufWriter<RefinedTcpStream>> {
        // The builder yields a writer for ever.
        match self.sink.next() {
            Some(w) => w,
            None => unreachable!("SequentialWriterBuilder never ends"),
        }
    }

    /// msm patch: answers `status` with `why` and `Connection: close`, then closes gently.
    fn refuse(&mut self, status: u16, why: &str, version: HTTPVersion) {
        let body = format!("{{\"error\":\"{why}\"}}");
        let minor = if version == HTTPVersion(1, 0) { 0 } else { 1 };
        let head = format!(
            "HTTP/1.{minor} {status} {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            StatusCode(status).default_reason_phrase(),
            body.len()
        );
        let mut w = self.writer();
        let _ = w
            .write_all(head.as_bytes())
            .and_then(|()| w.write_all(body.as_bytes()))
            .and_then(|()| w.flush());
        drop(w);
        self.no_more_requests = true;
        self.linger();
    }

    /// msm patch: stops writing, reads and drops what the client still sends for a moment.
    fn linger(&mut self) {
        let _ = self.conn.shutdown(Shutdown::Write);
        self.deadline.set(Some(Instant::now() + LINGER));
        let mut sink = [0u8; 1024];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match self.reader.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }

    /// Reads the next request: its head, then its whole body, each under its deadline.
    fn read(&mut self) -> Option<Request> {
        let now = Instant::now();
        let first = self.served == 0;
        self.served += 1;
        let limits = self.limits.clone();
        if first {
            self.deadline.set(Some(now + limits.head_timeout));
            self.slot.set(Phase::Head);
        } else {
            self.deadline.set(Some(now + limits.keep_alive));
            self.slot.set(Phase::Idle);
        }
        let (deadline, slot) = (&self.deadline, &self.slot);
        let head = read_head(&mut self.reader, || {
            if !first {
                deadline.set(Some(Instant::now() + limits.head_timeout));
                slot.set(Phase::Head);
            }
        });
        let head = match head {
            Ok(h) => h,
            Err(e) => {
                if let Some((status, why)) = e.answer() {
                    self.refuse(status, why, HTTPVersion(1, 1));
                }
                if let HeadError::Io(e) = &e {
                    log::debug!("request head not read: {}", e);
                }
                return None;
            }
        };
        let version = head.version.clone();

        let expect = head.headers.iter().find(|h| h.field.equiv("Expect"));
        let expects_continue = match expect.map(|h| h.value.as_str()) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("100-continue") => true,
            Some(_) => {
                self.refuse(417, "unsupported expectation", version);
                return None;
            }
        };
        // msm patch: an upload's body is bounded by the bounds of uploads
        let path = head.path.split('?').next().unwrap_or("");
        let (max_body, body_timeout, budget) = match &limits.large {
            Some(l)
                if matches!(head.method, Method::Post | Method::Put | Method::Patch)
                    && l.paths.iter().any(|p| p == path) =>
            {
                (l.max_body, l.body_timeout, &l.budget)
            }
            _ => (limits.max_body, limits.body_timeout, &limits.budget),
        };
        let body = framing(&head.headers, &version, max_body).and_then(|framing| {
            self.deadline.set(Some(Instant::now() + body_timeout));
            self.slot.set(Phase::Body);
            if expects_continue && framing != Framing::None && version > HTTPVersion(1, 0) {
                let mut w = self.writer();
                w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .and_then(|()| w.flush())?;
            }
            read_body(&mut self.reader, framing, max_body, budget)
        });
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                if let Some((status, why)) = e.answer() {
                    self.refuse(status, why, version);
                }
                if let BodyError::Io(e) = &e {
                    log::debug!("request body not read: {}", e);
                }
                return None;
            }
        };
        self.deadline.set(None);
        self.slot.set(Phase::Busy);
        let body_length = Some(body.len());
        // msm patch: a request for an upgrade (a WebSocket) gets the socket's reading half;
        // it is the connection's last request (see `next`), so nothing else reads it.
        let upgrade = head.headers.iter().any(|h| {
            h.field.equiv("Connection") && h.value.as_str().to_ascii_lowercase().contains("upgrade")
        });
        let writer = self.writer();
        let mut request = crate::request::new_request(
            self.secure,
            head.method,
            head.path,
            version,
            head.headers,
            self.remote_addr,
            Box::new(std::io::empty()),
            body_length,
            writer,
        );
        request.set_whole_body(body);
        if upgrade {
            request.set_upgrade_reader(Box::new(RefinedTcpStream::upgraded_reader(
                self.conn.clone(),
                limits.io_timeout,
            )));
        }
        Some(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests || self.close_after.load(Ordering::Acquire) {
            return None;
        }

        let rq = self.read()?.with_close_flag(self.close_after.clone());

        // updating the status of the connection
        let connection_header = rq
            .headers()
            .iter()
            .find(|h| h.field.equiv("Connection"))
            .map(|h| h.value.as_str());

        let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

        match lowercase {
            Some(ref val) if val.contains("close") => self.no_more_requests = true,
            Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
            Some(ref val)
                if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
            {
                self.no_more_requests = true
            }
            None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
            _ => (),
        };

        // returning the request
        Some(rq)
    }
}

/// msm patch: parses requests one after another from `data` as a connection does (head,
/// framing, whole body), until the input ends or a request is refused. Returns the bodies'
/// lengths and the status of the refusal, if any. For fuzzing: no socket, no clock.
pub fn parse_requests(data: &[u8], max_body: usize) -> (Vec<usize>, Option<u16>) {
    let budget = BodyBudget::new(max_body, 0);
    let mut r = std::io::Cursor::new(data);
    let mut bodies = Vec::new();
    loop {
        let head = match read_head(&mut r, || {}) {
            Ok(h) => h,
            Err(e) => return (bodies, e.answer().map(|a| a.0)),
        };
        let body = framing(&head.headers, &head.version, max_body)
            .and_then(|f| read_body(&mut r, f, max_body, &budget));
        match body {
            Ok(b) => bodies.push(b.len()),
            Err(e) => return (bodies, e.answer().map(|a| a.0)),
        }
    }
}
