use std::io::Result as IoResult;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::ReadDeadline;

use crate::connection::Connection;
#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use crate::ssl::SslStream;

/// msm patch: the socket is shared by the reading and the writing half (upstream duplicates
/// the descriptor with an unwrapped `try_clone`, which aborts the process once it is out of
/// file descriptors).
pub(crate) enum Stream {
    Http(Arc<Connection>),
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    Https(SslStream),
}

impl Clone for Stream {
    fn clone(&self) -> Self {
        match self {
            Stream::Http(tcp_stream) => Stream::Http(tcp_stream.clone()),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => Stream::Https(ssl_stream.clone()),
        }
    }
}

impl From<Arc<Connection>> for Stream {
    fn from(tcp_stream: Arc<Connection>) -> Self {
        Stream::Http(tcp_stream)
    }
}

impl Stream {
    fn secure(&self) -> bool {
        match self {
            // msm patch: a TLS connection is a `Connection` like a plain one
            Stream::Http(tcp_stream) => tcp_stream.is_tls(),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => true,
        }
    }

    fn peer_addr(&self) -> IoResult<Option<SocketAddr>> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.peer_addr(),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.peer_addr(),
        }
    }

    /// msm patch: sets the socket's read timeout.
    fn set_read_timeout(&self, t: Option<Duration>) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.set_read_timeout(t),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => Ok(()),
        }
    }

    fn shutdown(&mut self, how: Shutdown) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.shutdown(how),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.shutdown(how),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        match self {
            Stream::Http(tcp_stream) => (&**tcp_stream).read(buf),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        match self {
            Stream::Http(tcp_stream) => (&**tcp_stream).write(buf),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.write(buf),
        }
    }

    fn flush(&mut self) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => (&**tcp_stream).flush(),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.flush(),
        }
    }
}

pub struct RefinedTcpStream {
    stream: Stream,
    close_read: bool,
    close_write: bool,
    // msm patch: the deadline of the current read phase and the per-read timeout
    deadline: Option<(Arc<ReadDeadline>, Option<Duration>)>,
    // msm patch: the read timeout last set on the socket
    read_timeout: Option<Duration>,
}

impl RefinedTcpStream {
    pub(crate) fn new<S>(stream: S) -> (RefinedTcpStream, RefinedTcpStream)
    where
        S: Into<Stream>,
    {
        let stream: Stream = stream.into();

        let (read, write) = (stream.clone(), stream);

        let read = RefinedTcpStream {
            stream: read,
            close_read: true,
            close_write: false,
            deadline: None,
            read_timeout: None,
        };

        let write = RefinedTcpStream {
            stream: write,
            close_read: false,
            close_write: true,
            deadline: None,
            read_timeout: None,
        };

        (read, write)
    }

    /// msm patch: a second reading half of an upgraded connection's socket (a WebSocket), whose
    /// reads wait at most `io_timeout` each and report `TimedOut` past it. It does not shut
    /// the socket down when dropped: the connection does when it ends.
    pub(crate) fn upgraded_reader(stream: Arc<Connection>, io_timeout: Option<Duration>) -> Self {
        RefinedTcpStream {
            stream: stream.into(),
            close_read: false,
            close_write: false,
            deadline: Some((Arc::new(ReadDeadline::default()), io_timeout)),
            read_timeout: None,
        }
    }

    /// msm patch: every read ends by `deadline`, and waits at most `io_timeout` for data.
    pub(crate) fn with_deadline(
        mut self,
        deadline: Arc<ReadDeadline>,
        io_timeout: Option<Duration>,
    ) -> Self {
        self.read_timeout = io_timeout;
        self.deadline = Some((deadline, io_timeout));
        self
    }

    /// Returns true if this struct wraps around a secure connection.
    #[inline]
    pub(crate) fn secure(&self) -> bool {
        self.stream.secure()
    }

    pub(crate) fn peer_addr(&mut self) -> IoResult<Option<SocketAddr>> {
        self.stream.peer_addr()
    }
}

impl Drop for RefinedTcpStream {
    fn drop(&mut self) {
        if self.close_read {
            self.stream.shutdown(Shutdown::Read).ok();
        }

        if self.close_write {
            self.stream.shutdown(Shutdown::Write).ok();
        }
    }
}

impl Read for RefinedTcpStream {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        // msm patch: a read waits no longer than the phase's deadline allows, and a timeout
        // is reported as `TimedOut` (a socket timeout shows as `WouldBlock` on Unix).
        if let Some((deadline, io_timeout)) = &self.deadline {
            let t = deadline.read_timeout(*io_timeout)?;
            if t != self.read_timeout {
                self.stream.set_read_timeout(t)?;
                self.read_timeout = t;
            }
        }
        self.stream.read(buf).map_err(|e| match e.kind() {
            ErrorKind::WouldBlock => std::io::Error::new(ErrorKind::TimedOut, e),
            _ => e,
        })
    }
}

impl Write for RefinedTcpStream {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> IoResult<()> {
        self.stream.flush()
    }
}
