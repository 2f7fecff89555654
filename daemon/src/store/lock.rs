//! One running msmd per data directory.
//!
//! Two `msmd run` on one directory would run two outboxes and two writers over one database:
//! SQLite keeps the file consistent, but both would deliver every post and fight over leases.
//! `msmd run` therefore holds an exclusive `flock` on `msmd.lock` in the data directory for as
//! long as it runs, with its PID written in the file; a second one refuses to start and names
//! the first one's PID. The kernel drops the lock when the process ends, however it ends
//! (kill -9 too), so a stale file never blocks a restart. The command-line tools (`user add`,
//! `follow`, ...) do not take it: they make single changes that SQLite serialises.

use super::StoreError;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Name of the lock file in the data directory.
pub const LOCK_FILE: &str = "msmd.lock";
/// Longest PID text read from another process's lock file.
const MAX_PID_TEXT: u64 = 32;

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _file: Flock<File>,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (created if missing), or says which process holds it.
    pub fn take(data_dir: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut pid = String::new();
                let _ = (&mut file).take(MAX_PID_TEXT).read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(StoreError::InUse {
                    path: data_dir.display().to_string(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                });
            }
            Err((_, errno)) => return Err(io(std::io::Error::from(errno))),
        };
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_holder_and_a_released_one_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::take(dir.path()).unwrap();
        // flock locks belong to the open file, so a second open in this process conflicts too.
        match DataDirLock::take(dir.path()) {
            Err(StoreError::InUse { pid, .. }) => {
                assert_eq!(pid, std::process::id().to_string())
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        DataDirLock::take(dir.path()).expect("free again");
    }
}
