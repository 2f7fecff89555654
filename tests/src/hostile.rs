//! Shared pieces of the hostile-peer harness: memory figures read from `/proc`, and a memory
//! watch that samples a process while a flood runs, so each flood test can assert its bound and
//! print its peak and after-idle figures the same way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::relay::status_kb;

/// How often a [`MemoryWatch`] samples VmRSS.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Samples a process's VmRSS in the background and keeps the highest value seen.
pub struct MemoryWatch {
    pid: i32,
    peak_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// VmRSS when the watch started, in kB.
    pub baseline_kb: u64,
}

impl MemoryWatch {
    /// Starts sampling `pid`.
    pub fn start(pid: i32) -> MemoryWatch {
        let baseline_kb = status_kb(pid, "VmRSS");
        let peak_kb = Arc::new(AtomicU64::new(baseline_kb));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kb.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(status_kb(pid, "VmRSS"), Ordering::Relaxed);
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        MemoryWatch {
            pid,
            peak_kb,
            stop,
            thread: Some(thread),
            baseline_kb,
        }
    }

    /// The highest VmRSS seen so far, in kB.
    pub fn peak_kb(&self) -> u64 {
        self.peak_kb
            .load(Ordering::Relaxed)
            .max(status_kb(self.pid, "VmRSS"))
    }

    /// VmRSS now, in kB.
    pub fn now_kb(&self) -> u64 {
        status_kb(self.pid, "VmRSS")
    }

    /// Waits up to `within` for VmRSS to come back to at most `limit_kb`; returns the last
    /// figure read.
    pub fn settle(&self, limit_kb: u64, within: Duration) -> u64 {
        let until = Instant::now() + within;
        loop {
            let kb = self.now_kb();
            if kb <= limit_kb || Instant::now() >= until {
                return kb;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Prints `flood NAME: baseline, peak, after` in kB (the figures the issue notes quote) and
    /// returns (peak, after).
    pub fn report(&self, name: &str, after_kb: u64) -> (u64, u64) {
        let peak = self.peak_kb();
        eprintln!(
            "flood {name}: VmRSS baseline {} kB, peak {peak} kB, after idle {after_kb} kB",
            self.baseline_kb
        );
        (peak, after_kb)
    }

    /// After a flood named `name`: waits up to 10 s for VmRSS to come back within `after_kib`
    /// of the baseline, reports, and asserts the peak stayed within `peak_kib` of it and the
    /// memory came back.
    pub fn assert_came_back(&self, name: &str, peak_kib: u64, after_kib: u64) {
        let after = self.settle(self.baseline_kb + after_kib, Duration::from_secs(10));
        let (peak, after) = self.report(name, after);
        assert!(
            peak <= self.baseline_kb + peak_kib,
            "peak {peak} kB from {} kB",
            self.baseline_kb
        );
        assert!(
            after <= self.baseline_kb + after_kib,
            "after {after} kB from {} kB",
            self.baseline_kb
        );
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP connection to `to` from the loopback address `from` (e.g. 127.0.0.7), so a test can
/// play many clients with their own addresses.
pub fn connect_from(
    from: std::net::Ipv4Addr,
    to: std::net::SocketAddr,
) -> std::io::Result<std::net::TcpStream> {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    let std::net::SocketAddr::V4(to) = to else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(std::net::SocketAddrV4::new(from, 0)),
    )?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(std::net::TcpStream::from(fd))
}

/// One HTTP request (`Connection: close`) from the loopback address `from`; the status code.
pub fn status_from(
    from: std::net::Ipv4Addr,
    to: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut s = connect_from(from, to)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))
}
