//! Multicast sockets with socket2: a hub's sending socket (TTL, outgoing interface, no
//! loopback) and a node's receiving socket (bound to the group port with `SO_REUSEADDR`,
//! joined on the WAN interface; source-specific for IPv4 SSM groups). Closing a receiving
//! socket leaves the group.

use super::iface::Wan;
use super::FirehoseError;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::UdpSocket;

/// Receive buffer asked of the kernel: a burst of full-size datagrams (~200 × 1200 B) while
/// the task is busy, without holding much of a router's memory.
pub const RECV_BUFFER: usize = 256 * 1024;

fn no_interface(wan: &Wan) -> FirehoseError {
    FirehoseError::NoInterface(format!("{} has no IPv4 address", wan.name))
}

/// The hub's socket for sending to `group` out of `wan`.
pub fn sender(group: SocketAddr, wan: &Wan, ttl: u32) -> Result<UdpSocket, FirehoseError> {
    let s = match group.ip() {
        IpAddr::V4(_) => {
            let ip = wan.v4.ok_or_else(|| no_interface(wan))?;
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_multicast_ttl_v4(ttl)?;
            s.set_multicast_if_v4(&ip)?;
            s.set_multicast_loop_v4(false)?;
            s.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(ip), 0)))?;
            s
        }
        IpAddr::V6(_) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_multicast_hops_v6(ttl)?;
            s.set_multicast_if_v6(wan.index)?;
            s.set_multicast_loop_v6(false)?;
            s.bind(&SockAddr::from(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                0,
            )))?;
            s
        }
    };
    s.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(s.into())?)
}

/// True for an IPv4 source-specific group (232.0.0.0/8, RFC 4607).
pub fn is_ssm_v4(group: IpAddr) -> bool {
    matches!(group, IpAddr::V4(g) if g.octets()[0] == 232)
}

/// A node's socket joined to `group` on `wan`. An IPv4 SSM group (232/8) is joined for
/// `source` only (the hub's address), so the kernel drops anyone else's datagrams. IPv6
/// groups, SSM (ff3x::) included, get an any-source join: a source-specific IPv6 join needs
/// `MCAST_JOIN_SOURCE_GROUP`, which socket2 does not offer and this crate forbids `unsafe`
/// code to call; on a link it works the same, and the stream key's signature drops strangers.
pub fn receiver(
    group: SocketAddr,
    wan: &Wan,
    source: Option<Ipv4Addr>,
) -> Result<UdpSocket, FirehoseError> {
    let s = match group.ip() {
        IpAddr::V4(g) if is_ssm_v4(group.ip()) => {
            let ip = wan.v4.ok_or_else(|| no_interface(wan))?;
            let src = source.ok_or_else(|| {
                FirehoseError::NoInterface(format!(
                    "{g} is a source-specific group and the hub's address is unknown"
                ))
            })?;
            let s = bound_to_group(g, group.port())?;
            s.join_ssm_v4(&src, &g, &ip)?;
            s
        }
        IpAddr::V4(g) => {
            let ip = wan.v4.ok_or_else(|| no_interface(wan))?;
            let s = bound_to_group(g, group.port())?;
            s.join_multicast_v4(&g, &ip)?;
            s
        }
        IpAddr::V6(g) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_reuse_address(true)?;
            s.set_only_v6(true)?;
            s.bind(&SockAddr::from(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                group.port(),
            )))?;
            s.join_multicast_v6(&g, wan.index)?;
            s
        }
    };
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    s.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(s.into())?)
}

/// An IPv4 UDP socket bound to `group`:`port`, not INADDR_ANY, so that only this group's
/// datagrams arrive (`SO_REUSEADDR`: several receivers on one host).
fn bound_to_group(group: Ipv4Addr, port: u16) -> Result<Socket, FirehoseError> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(group), port)))?;
    Ok(s)
}
