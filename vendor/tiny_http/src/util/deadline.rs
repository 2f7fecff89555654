//! msm patch: a deadline for a whole read phase of a connection (a request head, a body, the
//! wait for the next request on a kept-alive connection).
//!
//! A per-read socket timeout alone lets a client that sends one byte just before each timeout
//! hold a connection for ever; [`RefinedTcpStream`](super::RefinedTcpStream) sets each read's
//! timeout to the time left before this deadline, so the whole phase ends when it passes.

use std::io::{Error, ErrorKind, Result};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest read timeout set: a zero timeout means "no timeout" to the socket.
const MIN_READ_TIMEOUT: Duration = Duration::from_millis(1);

/// When the current read phase of a connection must be over (`None`: no deadline).
#[derive(Debug, Default)]
pub struct ReadDeadline {
    at: Mutex<Option<Instant>>,
}

impl ReadDeadline {
    /// Sets (or with `None` clears) the deadline.
    pub fn set(&self, at: Option<Instant>) {
        if let Ok(mut g) = self.at.lock() {
            *g = at;
        }
    }

    /// The read timeout to use now: the time left, at most `io_timeout`. An error of kind
    /// `TimedOut` once the deadline has passed.
    pub fn read_timeout(&self, io_timeout: Option<Duration>) -> Result<Option<Duration>> {
        let at = self.at.lock().map(|g| *g).unwrap_or(None);
        let Some(at) = at else {
            return Ok(io_timeout);
        };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new(ErrorKind::TimedOut, "read deadline passed"));
        }
        let t = io_timeout.map_or(left, |io| io.min(left));
        Ok(Some(t.max(MIN_READ_TIMEOUT)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_caps_the_read_timeout() {
        let d = ReadDeadline::default();
        let io = Some(Duration::from_secs(30));
        assert_eq!(d.read_timeout(io).unwrap(), io);
        d.set(Some(Instant::now() + Duration::from_secs(2)));
        let t = d.read_timeout(io).unwrap().unwrap();
        assert!(t <= Duration::from_secs(2) && t > Duration::from_secs(1));
        d.set(Some(Instant::now()));
        let e = d.read_timeout(io).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
    }
}
