//! How a hub shares what its public ports carry, sans IO.
//!
//! - [`Table`]: one relay session's tunnels, each a link or a TLS connection routed by SNI.
//!   At most [`MAX_TUNNELS`] at once, of which at most [`MAX_TLS_TUNNELS`] TLS: the HTTPS port
//!   is open to anyone on the internet, so however many connections it carries to a node, the
//!   other [`MAX_TUNNELS`]` - `[`MAX_TLS_TUNNELS`] stay free for the links other msm nodes
//!   deliver over. The hub and the node keep the same table, so both refuse the same tunnels.
//! - [`PerSource`]: connections held on the hub's HTTPS port per client address (an IPv4
//!   address, or an IPv6 /64, which one subscriber gets whole), at most [`MAX_PER_SOURCE`],
//!   so one client can take neither the port's every slot nor a node's every TLS tunnel.

use std::collections::HashMap;
use std::net::IpAddr;

/// Most tunnels one session carries at once, links and TLS connections together.
pub const MAX_TUNNELS: usize = 32;
/// Most of them that may be TLS connections routed by SNI (half: the rest is kept for links).
pub const MAX_TLS_TUNNELS: usize = MAX_TUNNELS / 2;
/// Connections one client address (IPv4, or IPv6 /64) holds at once on the HTTPS port: half
/// of a node's TLS tunnels, so that one client never holds them all. A browser opens up to 6
/// per host and a fediverse server delivering to a household a few.
pub const MAX_PER_SOURCE: usize = MAX_TLS_TUNNELS / 2;

// links keep a share, and one address cannot fill TLS's
const _: () = assert!(MAX_PER_SOURCE < MAX_TLS_TUNNELS && MAX_TLS_TUNNELS < MAX_TUNNELS);

/// What a tunnel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A link, piped to the node's link listener.
    Link,
    /// A TLS connection routed by SNI, piped to the node's HTTPS listener.
    Tls,
}

/// Why a tunnel was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// [`MAX_TUNNELS`] are open.
    #[error("{MAX_TUNNELS} tunnels open")]
    Full,
    /// [`MAX_TLS_TUNNELS`] TLS connections are open (the rest is kept for links).
    #[error("{MAX_TLS_TUNNELS} TLS tunnels open")]
    TlsShare,
    /// A tunnel of this id is open already.
    #[error("tunnel id in use")]
    InUse,
}

/// A session's open tunnels, each with `T` (the queue of its writer).
#[derive(Debug)]
pub struct Table<T> {
    open: HashMap<u32, (Kind, T)>,
    tls: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            open: HashMap::new(),
            tls: 0,
        }
    }
}

impl<T> Table<T> {
    /// Whether a tunnel of `kind` may open now.
    pub fn admits(&self, kind: Kind) -> Result<(), Refused> {
        if self.open.len() >= MAX_TUNNELS {
            return Err(Refused::Full);
        }
        if kind == Kind::Tls && self.tls >= MAX_TLS_TUNNELS {
            return Err(Refused::TlsShare);
        }
        Ok(())
    }

    /// Opens tunnel `id` of `kind`, if the budget admits it.
    pub fn open(&mut self, id: u32, kind: Kind, value: T) -> Result<(), Refused> {
        self.admits(kind)?;
        if self.open.contains_key(&id) {
            return Err(Refused::InUse);
        }
        self.open.insert(id, (kind, value));
        if kind == Kind::Tls {
            self.tls += 1;
        }
        Ok(())
    }

    /// Tunnel `id`'s value.
    pub fn get(&self, id: u32) -> Option<&T> {
        self.open.get(&id).map(|(_, v)| v)
    }

    /// Closes tunnel `id`; its value, if it was open.
    pub fn remove(&mut self, id: u32) -> Option<T> {
        let (kind, v) = self.open.remove(&id)?;
        if kind == Kind::Tls {
            self.tls -= 1;
        }
        Some(v)
    }

    /// Closes every tunnel.
    pub fn clear(&mut self) {
        self.open.clear();
        self.tls = 0;
    }

    /// Tunnels open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// True if none is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// TLS tunnels open.
    pub fn tls(&self) -> usize {
        self.tls
    }
}

/// Connections held on the HTTPS port, per client address.
#[derive(Debug, Default)]
pub struct PerSource {
    held: HashMap<IpAddr, usize>,
}

impl PerSource {
    /// Takes a slot for a connection from `ip`; false if its address holds
    /// [`MAX_PER_SOURCE`] already. Each true is matched by one [`PerSource::release`].
    pub fn take(&mut self, ip: IpAddr) -> bool {
        let n = self.held.entry(source(ip)).or_insert(0);
        if *n >= MAX_PER_SOURCE {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives back a slot [`PerSource::take`] gave for `ip`.
    pub fn release(&mut self, ip: IpAddr) {
        let key = source(ip);
        if let Some(n) = self.held.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held.remove(&key);
            }
        }
    }

    /// Connections `ip`'s address holds.
    pub fn held(&self, ip: IpAddr) -> usize {
        self.held.get(&source(ip)).copied().unwrap_or(0)
    }

    /// Addresses holding a connection (each entry holds at least one, so the map is no larger
    /// than the port's connection limit).
    pub fn sources(&self) -> usize {
        self.held.len()
    }
}

/// The address a connection from `ip` counts against: an IPv4 address (also when mapped into
/// IPv6), or an IPv6 address's /64.
pub fn source(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
