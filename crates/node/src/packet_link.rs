//! Where whole IP packets enter and leave an agent or a node: a TUN device
//! (the real thing; needs CAP_NET_ADMIN), or a UDP socket exchanging one
//! IP packet per datagram with a fixed peer. The UDP link is a virtual
//! wire, like the socket-backed network devices of QEMU or User-Mode
//! Linux: it lets the whole Mobile IP data path run unprivileged in tests
//! and in `telsec demo roam`, with the packets exactly as they would be on
//! a TUN device.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

/// A packet link in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LinkConfig {
    /// No link: packets have nowhere to go (registration only).
    #[default]
    None,
    /// A TUN device.
    Tun {
        /// Interface name, e.g. `tsha0`.
        name: String,
        /// Address given to the interface (optional).
        address: Option<Ipv4Addr>,
        /// Prefix length of that address.
        #[serde(default = "default_prefix")]
        prefix_len: u8,
        /// MTU of the interface (leave room for the tunnel headers).
        #[serde(default = "default_mtu")]
        mtu: u16,
    },
    /// One IP packet per UDP datagram, to and from a fixed peer.
    Udp {
        /// Local address of the link socket.
        bind: SocketAddr,
        /// The other end.
        peer: SocketAddr,
    },
}

fn default_prefix() -> u8 {
    24
}

/// 1500 minus an outer IPv4 header, UDP header and RFC 3519 tunnel header.
fn default_mtu() -> u16 {
    1500 - 20 - 8 - 4
}

/// An open packet link.
pub enum PacketLink {
    /// No link.
    None,
    /// A TUN device.
    Tun(tun_rs::AsyncDevice),
    /// A UDP virtual wire.
    Udp {
        /// The link socket.
        socket: UdpSocket,
        /// The other end.
        peer: SocketAddr,
    },
}

impl std::fmt::Debug for PacketLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketLink::None => f.write_str("None"),
            PacketLink::Tun(_) => f.write_str("Tun"),
            PacketLink::Udp { peer, .. } => write!(f, "Udp(peer {peer})"),
        }
    }
}

impl PacketLink {
    /// Opens the link described by `config`.
    pub async fn open(config: &LinkConfig) -> io::Result<PacketLink> {
        Ok(match config {
            LinkConfig::None => PacketLink::None,
            LinkConfig::Tun {
                name,
                address,
                prefix_len,
                mtu,
            } => {
                let mut b = tun_rs::DeviceBuilder::new().name(name).mtu(*mtu);
                if let Some(a) = address {
                    b = b.ipv4(*a, *prefix_len, None);
                }
                PacketLink::Tun(b.build_async()?)
            }
            LinkConfig::Udp { bind, peer } => {
                let socket = UdpSocket::bind(bind).await?;
                PacketLink::Udp {
                    socket,
                    peer: *peer,
                }
            }
        })
    }

    /// The local address of a UDP link.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            PacketLink::Udp { socket, .. } => socket.local_addr().ok(),
            PacketLink::None | PacketLink::Tun(_) => None,
        }
    }

    /// The interface index of a TUN link (for routes into it).
    pub fn if_index(&self) -> Option<u32> {
        match self {
            PacketLink::Tun(dev) => dev.if_index().ok(),
            PacketLink::None | PacketLink::Udp { .. } => None,
        }
    }

    /// The next packet; never completes for [`PacketLink::None`]. On the
    /// UDP link, datagrams from anyone but the peer are ignored.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PacketLink::None => std::future::pending().await,
            PacketLink::Tun(dev) => dev.recv(buf).await,
            PacketLink::Udp { socket, peer } => loop {
                let (n, from) = socket.recv_from(buf).await?;
                if from == *peer {
                    return Ok(n);
                }
            },
        }
    }

    /// Sends one packet; dropped silently on [`PacketLink::None`].
    pub async fn send(&self, packet: &[u8]) -> io::Result<()> {
        match self {
            PacketLink::None => Ok(()),
            PacketLink::Tun(dev) => dev.send(packet).await.map(drop),
            PacketLink::Udp { socket, peer } => socket.send_to(packet, peer).await.map(drop),
        }
    }
}
