//! The foreign agent's raw sockets (CAP_NET_RAW), each driven through
//! tokio's `UdpSocket` as [`crate::raw_ipip`] explains (`recvfrom` and
//! `sendto` are the same system calls on a raw datagram socket; no
//! `unsafe`):
//!
//! * [`IcmpLink`]: ICMP on the visited link, for Agent Advertisements out
//!   and Agent Solicitations in (RFC 5944 §2.2, §2.3);
//! * [`Delivery`]: whole IPv4 packets out of the visited link's interface
//!   (IP_HDRINCL), for decapsulated datagrams (RFC 5944 §4.2.2);
//! * [`IcmpErrors`]: ICMP from anywhere, for the Destination Unreachable
//!   errors that relayed requests draw (RFC 5944 §3.4, codes 80-88),
//!   which an unconnected UDP socket does not report.
//!
//! IP in IP at the care-of address is [`crate::raw_ipip::RawIpip`], bound
//! to that address.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use telsec_mip::advert::ALL_MOBILITY_AGENTS;

/// RFC 1256 §5.1: Router Solicitations go to the all-routers group.
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// IPPROTO_RAW: a send-only raw socket that implies IP_HDRINCL.
const IPPROTO_RAW: i32 = 255;

fn into_tokio(s: Socket) -> io::Result<UdpSocket> {
    s.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = s.into();
    UdpSocket::from_std(std_socket)
}

/// A raw ICMP socket bound to the visited link's interface.
#[derive(Debug)]
pub struct IcmpLink {
    socket: UdpSocket,
    destination: Ipv4Addr,
}

impl IcmpLink {
    /// Opens the socket on `interface`, whose address is `address`.
    /// Advertisements go to `destination` (broadcast or 224.0.0.1) with
    /// TTL 1 (RFC 5944 §2.3.1); solicitations sent to 224.0.0.11 (§2.2)
    /// or 224.0.0.2 (RFC 1256) are received because the socket joins both
    /// groups on the interface of `address`.
    pub fn open(interface: &str, address: Ipv4Addr, destination: Ipv4Addr) -> io::Result<IcmpLink> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
        s.bind_device(Some(interface.as_bytes()))?;
        s.set_broadcast(true)?;
        s.set_ttl_v4(1)?;
        s.set_multicast_ttl_v4(1)?;
        s.set_multicast_loop_v4(false)?;
        for group in [ALL_MOBILITY_AGENTS, ALL_ROUTERS] {
            s.join_multicast_v4(&group, &address)?;
        }
        Ok(IcmpLink {
            socket: into_tokio(s)?,
            destination,
        })
    }

    /// One ICMP packet received on the link, IPv4 header included.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.recv(buf).await
    }

    /// Sends an ICMP message (the kernel adds the IPv4 header) to the
    /// advertisement destination.
    pub async fn send(&self, icmp: &[u8]) -> io::Result<()> {
        self.socket
            .send_to(icmp, SocketAddrV4::new(self.destination, 0))
            .await
            .map(drop)
    }
}

/// A send-only raw IPv4 socket with IP_HDRINCL bound to the visited
/// link's interface: the packet leaves as it is (the kernel only fills in
/// the checksum and length). Bound to the device, the kernel sends it on
/// that link even where no route names the home address (it then takes
/// the destination as on-link), so the driver adds no routes; the
/// visitor's link-layer address comes from the neighbour table, which
/// learnt it from the ARP the visitor sent for the agent's address.
#[derive(Debug)]
pub struct Delivery {
    socket: UdpSocket,
}

impl Delivery {
    /// Opens the socket on `interface`.
    pub fn open(interface: &str) -> io::Result<Delivery> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_RAW)))?;
        s.set_header_included_v4(true)?;
        s.bind_device(Some(interface.as_bytes()))?;
        Ok(Delivery {
            socket: into_tokio(s)?,
        })
    }

    /// Sends `packet` (a whole IPv4 packet) to its destination on the link.
    pub async fn send(&self, packet: &[u8], to: Ipv4Addr) -> io::Result<()> {
        self.socket
            .send_to(packet, SocketAddrV4::new(to, 0))
            .await
            .map(drop)
    }
}

/// A raw ICMP socket on every interface, read for Destination
/// Unreachable errors ([`super::unreachable`] picks those about relayed
/// requests).
#[derive(Debug)]
pub struct IcmpErrors {
    socket: UdpSocket,
}

impl IcmpErrors {
    /// Opens the socket.
    pub fn open() -> io::Result<IcmpErrors> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
        Ok(IcmpErrors {
            socket: into_tokio(s)?,
        })
    }

    /// One ICMP packet, IPv4 header included.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.recv(buf).await
    }
}
