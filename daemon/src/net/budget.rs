//! Who may hold a link slot. Anyone may complete a handshake with a fresh key and claim any
//! domain, so links are budgeted by what they proved:
//!
//! - every link takes one of `links.max_links` slots;
//! - inbound links take at most `max_links` minus [`dialled_reserve`]: links this node dials
//!   (follows, deliveries, verifying a subscriber) always find room;
//! - a connection in its handshake takes a handshake slot (as many as `links.max_unverified`);
//! - a link whose key is not shown to be its domain's (DNS pin or memory) is *unverified* and
//!   must then find room in its own, smaller budget (`links.max_unverified`), or is closed; so
//!   links that proved their domain (a follower's deliveries) get in while unverified ones
//!   hold their whole budget;
//! - handshakes and unverified links count at most `links.max_unverified_per_addr` per address.
//!
//! A connection from this host itself (a hub's tunnel taken by a node behind carrier NAT
//! arrives that way) is not held to the per-address cap; the tunnel count bounds those.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The share of `max_links` kept for dialled links is `max_links / DIALLED_RESERVE_DIVISOR`: a
/// quarter leaves a router's 256 links 64 for its own follows and deliveries, far more than a
/// household dials at once, while the internet still gets 192.
pub const DIALLED_RESERVE_DIVISOR: usize = 4;

/// Slots kept for links this node dials.
pub fn dialled_reserve(max_links: usize) -> usize {
    max_links / DIALLED_RESERVE_DIVISOR
}

/// Why an inbound connection was refused a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every inbound slot is taken.
    Inbound,
    /// Every handshake slot, or the unverified budget, is taken.
    Unverified,
    /// This address holds its share of unverified links.
    PerAddress,
}

/// The link budgets of one node.
pub struct LinkBudget {
    max_links: usize,
    all: Arc<Semaphore>,
    inbound: Arc<Semaphore>,
    unverified: Arc<Semaphore>,
    handshaking: Arc<Semaphore>,
    per_addr: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_addr: usize,
}

/// A slot held by one link (or a connection still in its handshake); dropping it frees it.
pub struct LinkSlot {
    all: OwnedSemaphorePermit,
    _inbound: Option<OwnedSemaphorePermit>,
    handshake: Option<OwnedSemaphorePermit>,
    unverified: Option<OwnedSemaphorePermit>,
    addr: Option<AddrShare>,
}

/// One unverified link's share of its address's cap.
struct AddrShare {
    ip: IpAddr,
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for AddrShare {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl LinkBudget {
    /// Budgets for `max_links` links, `max_unverified` of them unverified, at most
    /// `max_per_addr` unverified from one address.
    pub fn new(max_links: usize, max_unverified: usize, max_per_addr: usize) -> Self {
        let inbound = max_links - dialled_reserve(max_links);
        LinkBudget {
            max_links,
            all: Arc::new(Semaphore::new(max_links)),
            inbound: Arc::new(Semaphore::new(inbound)),
            unverified: Arc::new(Semaphore::new(max_unverified.min(inbound))),
            handshaking: Arc::new(Semaphore::new(max_unverified.min(inbound))),
            per_addr: Arc::default(),
            max_per_addr,
        }
    }

    /// Links open (or in their handshake).
    pub fn open(&self) -> usize {
        self.max_links - self.all.available_permits()
    }

    /// A slot for a link this node dials, if any is free.
    pub fn dialled(&self) -> Option<LinkSlot> {
        let all = self.all.clone().try_acquire_owned().ok()?;
        Some(LinkSlot {
            all,
            _inbound: None,
            handshake: None,
            unverified: None,
            addr: None,
        })
    }

    /// A slot for an accepted connection from `peer` to `local`, in its handshake until
    /// [`LinkSlot::verified`] or [`LinkSlot::unverified`].
    pub fn inbound(&self, peer: IpAddr, local: IpAddr) -> Result<LinkSlot, Refusal> {
        let inbound = self
            .inbound
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Inbound)?;
        let handshake = self
            .handshaking
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Unverified)?;
        let addr = if peer == local {
            None
        } else {
            let mut map = self.per_addr.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(peer).or_insert(0);
            if *n >= self.max_per_addr {
                return Err(Refusal::PerAddress);
            }
            *n += 1;
            Some(AddrShare {
                ip: peer,
                map: self.per_addr.clone(),
            })
        };
        // Fails only when dialled links took more than their reserve.
        let all = self
            .all
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Inbound)?;
        Ok(LinkSlot {
            all,
            _inbound: Some(inbound),
            handshake: Some(handshake),
            unverified: None,
            addr,
        })
    }
}

impl LinkSlot {
    /// The link proved its domain's key: it no longer counts against the unverified budgets.
    pub fn verified(&mut self) {
        self.handshake = None;
        self.unverified = None;
        self.addr = None;
    }

    /// The handshake is done but proved no domain: the link moves to the unverified budget
    /// (keeping its address share), or is refused if that is spent.
    pub fn unverified(&mut self, budget: &LinkBudget) -> Result<(), Refusal> {
        self.handshake = None;
        let p = budget
            .unverified
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Unverified)?;
        self.unverified = Some(p);
        Ok(())
    }

    /// The connection is carried to a node behind this hub (which checks it end to end): it
    /// keeps its inbound and per-address shares but leaves the unverified budget. Returns the
    /// slot's own permit, for the carrier, and the shares to hold while it is carried.
    pub fn carried(mut self) -> (OwnedSemaphorePermit, CarriedShare) {
        self.handshake = None;
        let share = CarriedShare {
            _inbound: self._inbound,
            _addr: self.addr,
        };
        (self.all, share)
    }
}

/// What a carried connection holds besides its slot (see [`LinkSlot::carried`]).
pub struct CarriedShare {
    _inbound: Option<OwnedSemaphorePermit>,
    _addr: Option<AddrShare>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn unverified_links_have_their_own_budget_and_dialled_links_keep_room() {
        let b = LinkBudget::new(8, 4, 2);
        let local = ip(1);
        let mut held = Vec::new();
        for i in 0..4 {
            held.push(b.inbound(ip(10 + i / 2), local).unwrap());
        }
        assert_eq!(
            b.inbound(ip(20), local).err(),
            Some(Refusal::Unverified),
            "4 handshakes at once"
        );
        for s in &mut held {
            s.unverified(&b).unwrap();
        }
        let mut fifth = b
            .inbound(ip(20), local)
            .expect("handshake slots are free again");
        assert_eq!(fifth.unverified(&b).err(), Some(Refusal::Unverified));
        drop(fifth);
        // a verified link frees its unverified share; inbound stops at 8 - 8/4 = 6
        for s in &mut held {
            s.verified();
        }
        held.push(b.inbound(ip(20), local).unwrap());
        held.push(b.inbound(ip(21), local).unwrap());
        assert_eq!(b.inbound(ip(22), local).err(), Some(Refusal::Inbound));
        let d1 = b.dialled().expect("the reserve is the dialler's");
        let d2 = b.dialled().expect("the reserve is the dialler's");
        assert!(b.dialled().is_none(), "all 8 slots taken");
        assert_eq!(b.open(), 8);
        drop((d1, d2, held));
        assert_eq!(b.open(), 0);
    }

    #[test]
    fn one_address_holds_at_most_its_share_except_this_host() {
        let b = LinkBudget::new(100, 50, 2);
        let (a, local) = (ip(7), ip(1));
        let s1 = b.inbound(a, local).unwrap();
        let _s2 = b.inbound(a, local).unwrap();
        assert_eq!(b.inbound(a, local).err(), Some(Refusal::PerAddress));
        drop(s1);
        let _s3 = b.inbound(a, local).expect("a closed link frees its share");
        let own: Vec<_> = (0..5).map(|_| b.inbound(local, local).unwrap()).collect();
        assert_eq!(own.len(), 5, "this host is not capped per address");
    }
}
