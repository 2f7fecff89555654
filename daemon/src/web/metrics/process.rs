//! What the kernel says of this process, for `/metrics`: resident memory, open descriptors and
//! bytes written to storage, from `/proc/self` (Linux; elsewhere, or where a file cannot be
//! read, the value is `None` and its series is left out).
//!
//! The parsers are pure and take the files' text, so they are tested without `/proc`.

/// Most bytes read from one `/proc/self` file: `status` is about 1.5 KB, `io` a few hundred
/// bytes; a kernel that wrote more is not believed.
pub const MAX_PROC_FILE: u64 = 16 * 1024;

/// Most descriptors counted in `/proc/self/fd`: over `http.max_connections` (4096 at most)
/// plus links, relay sessions (20,000 at most) and files, so the count is never cut short on a
/// configured node, while a broken `/proc` cannot make a scrape walk forever.
pub const MAX_FDS_COUNTED: usize = 65_536;

/// The process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStats {
    /// `VmRSS`, in bytes.
    pub resident_bytes: Option<u64>,
    /// Entries of `/proc/self/fd`.
    pub open_fds: Option<u64>,
    /// `write_bytes` of `/proc/self/io`: bytes this process caused to be sent to storage.
    pub write_bytes: Option<u64>,
}

impl ProcessStats {
    /// Reads `/proc/self`.
    pub fn read() -> Self {
        ProcessStats {
            resident_bytes: read_small("/proc/self/status").and_then(|t| vm_rss_bytes(&t)),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.take(MAX_FDS_COUNTED).count() as u64),
            write_bytes: read_small("/proc/self/io").and_then(|t| io_field(&t, "write_bytes")),
        }
    }
}

/// A `/proc` file's text, at most [`MAX_PROC_FILE`] bytes of it.
fn read_small(path: &str) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PROC_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// `VmRSS:    1234 kB` of `/proc/self/status`, in bytes.
pub fn vm_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kb.checked_mul(1024)
}

/// `name: N` of `/proc/self/io`.
pub fn io_field(io: &str, name: &str) -> Option<u64> {
    io.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_in_bytes() {
        let status = "Name:\tmsmd\nVmPeak:\t   99 kB\nVmRSS:\t   14336 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_bytes(status), Some(14_336 * 1024));
        assert_eq!(vm_rss_bytes("VmRSS: lots kB\n"), None);
        assert_eq!(vm_rss_bytes("VmRSS: 12 MB\n"), None);
        assert_eq!(vm_rss_bytes("Name: x\n"), None);
        assert_eq!(vm_rss_bytes(&format!("VmRSS: {} kB", u64::MAX)), None);
    }

    #[test]
    fn io_fields_are_read_by_exact_name() {
        let io = "rchar: 10\nwchar: 20\nread_bytes: 4096\nwrite_bytes: 81920\ncancelled_write_bytes: 7\n";
        assert_eq!(io_field(io, "write_bytes"), Some(81_920));
        assert_eq!(io_field(io, "read_bytes"), Some(4096));
        assert_eq!(io_field(io, "bytes"), None);
        assert_eq!(io_field("write_bytes: -1\n", "write_bytes"), None);
    }

    #[test]
    fn this_process_is_seen_on_linux() {
        let s = ProcessStats::read();
        if cfg!(target_os = "linux") {
            assert!(s.resident_bytes.is_some_and(|b| b > 0), "{s:?}");
            assert!(s.open_fds.is_some_and(|n| n >= 3), "{s:?}");
        }
    }
}
