//! IP in IP (RFC 2003) through a raw socket of protocol 4. The kernel here
//! has no ipip module, and needs none: a raw socket receives every packet
//! of its protocol and, without IP_HDRINCL, builds the outer header on
//! send. Needs CAP_NET_RAW.
//!
//! The socket is driven through tokio's `UdpSocket`: `recvfrom` and
//! `sendto` are the same system calls on a raw datagram socket, and this
//! way the readiness registration needs no `unsafe` (tokio's `AsyncFd`
//! constructor is unsafe since 1.54).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use telsec_mip::tunnel::ipv4::PROTO_IPIP;

/// A raw IPv4 socket of protocol 4.
#[derive(Debug)]
pub struct RawIpip {
    socket: UdpSocket,
}

impl RawIpip {
    /// Opens the socket (CAP_NET_RAW) on every local address.
    pub fn open() -> io::Result<RawIpip> {
        RawIpip::open_at(None)
    }

    /// Opens the socket bound to `local` when given: it then receives only
    /// IP-in-IP packets addressed to it, and what it sends carries `local`
    /// as outer source (a foreign agent's care-of address, which the home
    /// agent checks before it lets a reverse-tunnelled datagram in,
    /// RFC 3024).
    pub fn open_at(local: Option<Ipv4Addr>) -> io::Result<RawIpip> {
        let s = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO_IPIP))),
        )?;
        if let Some(a) = local {
            s.bind(&std::net::SocketAddr::V4(SocketAddrV4::new(a, 0)).into())?;
        }
        s.set_nonblocking(true)?;
        let std_socket: std::net::UdpSocket = s.into();
        Ok(RawIpip {
            socket: UdpSocket::from_std(std_socket)?,
        })
    }

    /// Receives one whole IP-in-IP packet, outer header included.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.recv(buf).await
    }

    /// Receives from `raw`, or waits forever when there is none (for a
    /// `select!` branch of a driver whose IP-in-IP is switched off).
    pub async fn recv_optional(raw: Option<&RawIpip>, buf: &mut [u8]) -> io::Result<usize> {
        match raw {
            Some(r) => r.recv(buf).await,
            None => std::future::pending().await,
        }
    }

    /// Sends `inner` to `to`; the kernel adds the outer header (protocol
    /// 4, our address as source).
    pub async fn send(&self, inner: &[u8], to: Ipv4Addr) -> io::Result<()> {
        self.socket
            .send_to(inner, SocketAddrV4::new(to, 0))
            .await
            .map(drop)
    }
}
