//! A few database connections for the async side: store calls run on tokio's blocking pool so
//! that SQLite never stalls the reactor.

use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Mutex;

/// Connections kept open for reuse; more are opened under load and closed after.
pub const POOL_KEEP: usize = 4;

/// A small pool of store connections.
pub struct StorePool {
    db: PathBuf,
    idle: Mutex<Vec<Store>>,
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
        if let Some(s) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(s);
        }
        Store::connect_to(&self.db)
    }

    fn give(&self, s: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL_KEEP {
            idle.push(s);
        }
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn run<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = pool.take()?;
            let out = f(&mut s);
            pool.give(s);
            out
        })
        .await
        .map_err(|_| StoreError::ShuttingDown)?
    }
}
