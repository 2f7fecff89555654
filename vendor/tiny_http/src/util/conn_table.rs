//! msm patch: the table of open connections, with what each is doing, so that a full table
//! makes room by dropping the connections that do least for their slot.
//!
//! When every slot is taken, a new connection takes the slot of (in this order) the connection
//! idle longest between requests, else the one that has been sending a request head longest,
//! else the one that has been sending a body longest: a slowloris client (a byte of head now
//! and then) or a slow body loses its slot to an honest client, and an idle keep-alive
//! connection costs nothing to drop (its client reconnects). Only when every connection has a
//! whole request being answered is the newcomer refused (`503`).

use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::connection::Connection;

/// What a connection is doing, in the order in which a full table drops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Waiting for the next request on a kept-alive connection.
    Idle = 0,
    /// Receiving a request head.
    Head = 1,
    /// Receiving a request body.
    Body = 2,
    /// A whole request is queued or being answered: never dropped to make room.
    Busy = 3,
}

struct Entry {
    id: usize,
    phase: Phase,
    since: Instant,
    conn: Weak<Connection>,
}

/// The open connections (at most `max`).
pub struct ConnTable {
    max: usize,
    // usize, not u64: 32-bit MIPS has no 64-bit atomics (ids wrap after 2^32 connections,
    // long after any connection holding an old id has gone)
    next_id: AtomicUsize,
    entries: Mutex<Vec<Entry>>,
}

/// A connection's place in the table; dropping it frees the slot.
pub struct Slot {
    id: usize,
    table: Arc<ConnTable>,
}

impl ConnTable {
    /// A table of at most `max` connections.
    pub fn new(max: usize) -> Arc<ConnTable> {
        Arc::new(ConnTable {
            max,
            next_id: AtomicUsize::new(0),
            entries: Mutex::new(Vec::with_capacity(max)),
        })
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Gives `conn` a slot, in phase `Head`; when the table is full, the slot of the connection
    /// that does least with it (see the module doc), whose socket is shut down. `None` when
    /// every connection is `Busy`.
    pub fn admit(self: &Arc<Self>, conn: &Arc<Connection>) -> Option<Slot> {
        let mut entries = self.entries.lock().ok()?;
        if entries.len() >= self.max {
            let victim = entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.phase != Phase::Busy)
                .min_by_key(|(_, e)| (e.phase, e.since))
                .map(|(i, _)| i)?;
            let gone = entries.swap_remove(victim);
            log::info!(
                "connection table full: dropped a connection in phase {:?} for {:?}",
                gone.phase,
                gone.since.elapsed()
            );
            if let Some(c) = gone.conn.upgrade() {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        entries.push(Entry {
            id,
            phase: Phase::Head,
            since: Instant::now(),
            conn: Arc::downgrade(conn),
        });
        Some(Slot {
            id,
            table: self.clone(),
        })
    }
}

impl Slot {
    /// The connection now does `phase`, since now.
    pub fn set(&self, phase: Phase) {
        if let Ok(mut entries) = self.table.entries.lock() {
            if let Some(e) = entries.iter_mut().find(|e| e.id == self.id) {
                e.phase = phase;
                e.since = Instant::now();
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut entries) = self.table.entries.lock() {
            if let Some(i) = entries.iter().position(|e| e.id == self.id) {
                entries.swap_remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn conn(l: &TcpListener) -> Arc<Connection> {
        Arc::new(Connection::from(
            TcpStream::connect(l.local_addr().unwrap()).unwrap(),
        ))
    }

    #[test]
    fn a_full_table_drops_idle_then_slow_heads_oldest_first_never_busy() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = ConnTable::new(3);
        let (a, b, c) = (conn(&l), conn(&l), conn(&l));
        let sa = t.admit(&a).unwrap();
        let sb = t.admit(&b).unwrap();
        let sc = t.admit(&c).unwrap();
        sa.set(Phase::Busy);
        sc.set(Phase::Idle);
        // c is idle: it goes first although b (a slow head) is older.
        let d = conn(&l);
        let sd = t.admit(&d).unwrap();
        assert_eq!(t.len(), 3);
        assert!(t.entries.lock().unwrap().iter().all(|e| e.id != sc.id));
        // then b, the oldest head.
        sd.set(Phase::Busy);
        let e = conn(&l);
        let se = t.admit(&e).unwrap();
        assert!(t.entries.lock().unwrap().iter().all(|e| e.id != sb.id));
        se.set(Phase::Busy);
        // every slot busy: refused.
        assert!(t.admit(&conn(&l)).is_none());
        drop(sa);
        assert_eq!(t.len(), 2);
        assert!(t.admit(&conn(&l)).is_some());
        drop((sb, sc));
    }
}
