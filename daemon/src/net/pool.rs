//! A few database connections for the async side: store calls run on tokio's blocking pool so
//! that SQLite never stalls the reactor.

use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connections kept open for reuse; more are opened under load and closed after.
pub const POOL_KEEP: usize = 4;
/// A kept connection unused this long is closed when the pool is next used (an idle node keeps
/// one: each holds a parsed schema, statements and a page cache, ~100 KB; opening one again
/// costs a millisecond or two).
pub const POOL_IDLE: Duration = Duration::from_secs(2);

/// A small pool of store connections.
pub struct StorePool {
    db: PathBuf,
    /// Kept connections, each with when it was given back (the last one given is taken first).
    idle: Mutex<Vec<(Store, Instant)>>,
}

impl StorePool {
    /// A pool opening connections like `template`.
    pub fn new(template: &Store) -> Self {
        StorePool {
            db: template.db_path().to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Result<Store, StoreError> {
        let (taken, stale) = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let taken = idle.pop().map(|(s, _)| s);
            // the oldest given back come first: those unused for POOL_IDLE are closed
            let n = idle.partition_point(|(_, at)| at.elapsed() >= POOL_IDLE);
            (taken, idle.drain(..n).collect::<Vec<_>>())
        };
        drop(stale);
        match taken {
            Some(s) => Ok(s),
            None => Store::connect_to(&self.db),
        }
    }

    fn give(&self, s: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL_KEEP {
            idle.push((s, Instant::now()));
        }
    }

    /// Runs `f` with a connection on this thread: for threads of their own that look at the
    /// store now and then (the fediverse deliverer, the WebSub hub), which so share the kept
    /// connection instead of each holding one while idle.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut s = self.take()?;
        let out = f(&mut s);
        self.give(s);
        out
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn run<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|_| StoreError::ShuttingDown)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::users::tests::store_with_node;

    fn kept(p: &StorePool) -> usize {
        p.idle.lock().unwrap().len()
    }

    #[test]
    fn connections_unused_for_a_while_are_closed_and_the_last_one_is_kept() {
        let (_d, s) = store_with_node();
        let p = StorePool::new(&s);
        let taken: Vec<Store> = (0..POOL_KEEP + 1).map(|_| p.take().unwrap()).collect();
        taken.into_iter().for_each(|s| p.give(s));
        assert_eq!(kept(&p), POOL_KEEP, "no more than POOL_KEEP are kept");
        let s = p.take().unwrap();
        assert_eq!(kept(&p), POOL_KEEP - 1, "recently used ones stay");
        p.give(s);
        std::thread::sleep(POOL_IDLE + Duration::from_millis(100));
        let s = p.take().unwrap();
        assert_eq!(kept(&p), 0, "the stale ones are closed");
        p.give(s);
        assert_eq!(kept(&p), 1);
    }

    #[test]
    fn a_thread_of_its_own_borrows_the_kept_connection_for_each_round_and_gives_it_back() {
        let (_d, s) = store_with_node();
        let p = StorePool::new(&s);
        // a temporary table lives in its connection only: finding it again means the same one
        p.with(|s| Ok(s.conn().execute_batch("CREATE TEMP TABLE mark(x)")?))
            .unwrap();
        assert_eq!(kept(&p), 1, "given back after the round");
        let failed = p.with(|s| {
            s.conn().execute_batch("SELECT x FROM mark")?;
            Err::<(), _>(StoreError::ShuttingDown)
        });
        assert!(matches!(failed, Err(StoreError::ShuttingDown)));
        assert_eq!(kept(&p), 1, "given back after a failed round too");
        let reused = p.with(|s| Ok(s.conn().execute_batch("SELECT x FROM mark").is_ok()));
        assert!(reused.unwrap(), "the next round had the same connection");
    }
}
