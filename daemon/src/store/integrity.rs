//! The start-up check of the database file.
//!
//! A database whose tail was cut (a full SD card, a pulled USB stick, a bad copy) still opens,
//! and SQLite only notices when a query reaches the damaged pages: writes may succeed while
//! reads fail. `msmd run` therefore runs `PRAGMA quick_check` before it serves anything, and
//! refuses to start on a damaged file with what to do about it ([`RECOVERY`]). On a router a
//! large database could take long to check, so the check stops after [`CHECK_BUDGET`] and the
//! node starts with a warning (the part checked was sound; anything damaged later is caught by
//! the damage flag of [`super::damaged`] and `/healthz`).

use super::{Store, StoreError};
use std::time::{Duration, Instant};

/// Longest the start-up check may take: a few seconds of a router's start-up. A 100 MB
/// database checks in about 2 s on a Raspberry Pi 4; larger ones are checked in part.
pub const CHECK_BUDGET: Duration = Duration::from_secs(20);
/// Problems listed from `quick_check` at most.
const MAX_PROBLEMS: usize = 5;

/// How to recover, in the words the refusal gives.
pub const RECOVERY: &str = "stop msmd, keep a copy of the data directory, then either restore \
msm.db from a backup, or rebuild it with the sqlite3 shell: `sqlite3 msm.db .recover | sqlite3 \
msm-recovered.db` and replace msm.db (and remove msm.db-wal and msm.db-shm) with the result; posts \
other nodes hold come back by backfill";

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The whole file is sound.
    Sound,
    /// The budget ran out before the end; what was checked is sound.
    Partly(Duration),
}

impl Store {
    /// Runs `PRAGMA quick_check` for at most `budget`. A damaged file is
    /// [`StoreError::Damaged`] with SQLite's first findings.
    pub fn quick_check(&self, budget: Duration) -> Result<Checked, StoreError> {
        let started = Instant::now();
        // A watchdog interrupts the check when the budget runs out.
        let interrupt = self.conn().get_interrupt_handle();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::Builder::new()
            .name("db-check".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(budget) {
                    interrupt.interrupt();
                }
            })
            .map_err(StoreError::Thread)?;
        let result: Result<Vec<String>, rusqlite::Error> = (|| {
            let mut st = self.conn().prepare("PRAGMA quick_check")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.take(MAX_PROBLEMS).collect()
        })();
        drop(done);
        let _ = watchdog.join();
        match result {
            Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok(Checked::Sound),
            Ok(rows) => Err(StoreError::Damaged(rows.join("; "))),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) => {
                Ok(Checked::Partly(started.elapsed()))
            }
            Err(e) => match StoreError::from(e) {
                StoreError::Sqlite(e) => Err(StoreError::Damaged(e.to_string())),
                other => Err(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn a_sound_file_passes_and_a_cut_one_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.init_node("a.test").unwrap();
        store
            .conn()
            .execute_batch(
                "CREATE TABLE filler(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO filler SELECT randomblob(200) FROM n; PRAGMA wal_checkpoint(TRUNCATE);",
            )
            .unwrap();
        assert_eq!(store.quick_check(CHECK_BUDGET).unwrap(), Checked::Sound);
        let path = store.db_path().to_path_buf();
        drop(store);
        // Overwrite pages in the middle with garbage, as a bad copy or a flash fault would.
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let len = f.metadata().unwrap().len();
        f.seek(SeekFrom::Start(len / 2)).unwrap();
        f.write_all(&vec![0xA5; 64 * 1024]).unwrap();
        drop(f);
        let store = Store::connect_to(&path).unwrap();
        assert!(matches!(
            store.quick_check(CHECK_BUDGET),
            Err(StoreError::Damaged(_))
        ));
    }
}
