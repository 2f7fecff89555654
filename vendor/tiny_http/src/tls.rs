//! msm patch: a server-side TLS connection (rustls) shared by a connection's reading and
//! writing halves, as the plain socket is (`connection.rs`).
//!
//! The TLS state sits behind a mutex that is never held while waiting to read: a read takes
//! the socket's bytes without the lock, then feeds them to rustls under it, so the writing half
//! (a live stream, a WebSocket) can write while the reading half waits. A write holds the lock
//! while it sends, bounded by the socket's write timeout.
//!
//! The handshake happens inside the first read, so it runs on the connection's own thread and
//! under the deadline of the first request head (`Bounds::head_timeout`): a silent or slow
//! client holds its connection slot, never the accept loop or a worker. One call to `read`
//! lasts at most the socket's read timeout in all, however many TLS records it takes, so a
//! client that trickles a handshake a byte at a time still meets the deadline.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes read from the socket at a time (on the connection thread's stack); rustls gathers
/// records of up to 16 KiB from such pieces.
const RAW_READ: usize = 4096;

/// A TLS connection over a TCP socket.
pub(crate) struct TlsStream {
    sock: TcpStream,
    tls: Mutex<rustls::ServerConnection>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").field("sock", &self.sock).finish()
    }
}

fn broken<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, format!("TLS: {}", e))
}

impl TlsStream {
    /// A connection that will answer the handshake of the client on `sock` with `config`.
    pub(crate) fn new(sock: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let tls = rustls::ServerConnection::new(config).map_err(broken)?;
        Ok(TlsStream {
            sock,
            tls: Mutex::new(tls),
        })
    }

    /// The underlying socket (for addresses, timeouts and shutdown).
    pub(crate) fn socket(&self) -> &TcpStream {
        &self.sock
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, rustls::ServerConnection>> {
        self.tls
            .lock()
            .map_err(|_| io::Error::new(ErrorKind::Other, "TLS state poisoned"))
    }

    /// Sends what rustls has queued (handshake messages, alerts, records).
    fn send(&self, tls: &mut rustls::ServerConnection) -> io::Result<()> {
        while tls.wants_write() {
            tls.write_tls(&mut &self.sock)?;
        }
        Ok(())
    }

    /// Reads plaintext, driving the handshake first; at most the socket's read timeout in all.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let budget = self.sock.read_timeout()?;
        let result = self.read_within(buf, budget);
        if budget.is_some() {
            // the loop shortened the socket's timeout: give the caller back its own
            let _ = self.sock.set_read_timeout(budget);
        }
        result
    }

    fn read_within(&self, buf: &mut [u8], budget: Option<Duration>) -> io::Result<usize> {
        let start = Instant::now();
        let mut raw = [0u8; RAW_READ];
        loop {
            {
                let mut tls = self.lock()?;
                self.send(&mut tls)?;
                match tls.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    // the client closed the socket without close_notify: the end, as for TCP
                    // (request framing tells a cut body from a whole one)
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
            }
            if let Some(b) = budget {
                let left = b
                    .checked_sub(start.elapsed())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| io::Error::new(ErrorKind::TimedOut, "TLS read timed out"))?;
                self.sock.set_read_timeout(Some(left))?;
            }
            let n = (&self.sock).read(&mut raw)?;
            let mut tls = self.lock()?;
            let mut data = &raw[..n];
            if n == 0 {
                // the client closed: whatever plaintext is left, then the end
                let _ = tls.read_tls(&mut data);
                let _ = tls.process_new_packets();
                return Ok(tls.reader().read(buf).unwrap_or(0));
            }
            while !data.is_empty() {
                if tls.read_tls(&mut data)? == 0 {
                    return Err(broken("record buffer full"));
                }
                if let Err(e) = tls.process_new_packets() {
                    // rustls queued an alert for the client: send it, then give up
                    let _ = self.send(&mut tls);
                    return Err(broken(e));
                }
            }
        }
    }

    /// Encrypts and sends `buf` (whole or in part, as rustls takes it).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut tls = self.lock()?;
        let n = tls.writer().write(buf)?;
        self.send(&mut tls)?;
        Ok(n)
    }

    /// Sends what is queued.
    pub(crate) fn flush(&self) -> io::Result<()> {
        let mut tls = self.lock()?;
        self.send(&mut tls)
    }

    /// Shuts the socket down. Closing the writing side (the connection's own end) first sends
    /// `close_notify` when the TLS state is free at once, within the write timeout; closing
    /// both (a full table dropping this connection from the accept loop) sends nothing, so
    /// it never waits on a client that does not read.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Write {
            if let Ok(mut tls) = self.tls.try_lock() {
                tls.send_close_notify();
                let _ = self.send(&mut tls);
            }
        }
        self.sock.shutdown(how)
    }
}
