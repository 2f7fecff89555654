//! [`DeadlineStream`]: a TCP stream whose every read and write must end by one deadline.
//!
//! Socket timeouts bound one system call; a server trickling a byte at a time would keep a
//! request alive forever under them. Setting the timeout from the time left before each call
//! (and failing once none is left) bounds the whole exchange, the TLS handshake included
//! (rustls reads from this stream as often as it needs to).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// A TCP stream bounded by a deadline.
#[derive(Debug)]
pub struct DeadlineStream {
    sock: TcpStream,
    deadline: Instant,
}

impl DeadlineStream {
    /// `sock`, whose reads and writes must all end by `deadline`.
    pub fn new(sock: TcpStream, deadline: Instant) -> DeadlineStream {
        DeadlineStream { sock, deadline }
    }

    /// Sets the socket's timeouts to the time left, or fails with `TimedOut` when none is.
    fn arm(&self) -> io::Result<()> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(timed_out)?;
        self.sock.set_read_timeout(Some(left))?;
        self.sock.set_write_timeout(Some(left))
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
}

/// A socket timeout shows as `WouldBlock` on Unix: both mean the deadline passed.
fn deadline_error(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(),
        _ => e,
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.sock.read(buf).map_err(deadline_error)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.sock.write(buf).map_err(deadline_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}
