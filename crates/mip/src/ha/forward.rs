//! The home agent's forwarding decisions (RFC 5944 §4.2.3, RFC 3024 §4):
//! which bindings a datagram for a home address is tunnelled along, and
//! whether a datagram arriving through a tunnel may enter the home
//! network. The driver builds and sends the packets
//! ([`crate::tunnel`]); nothing here touches a socket.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::binding::{Binding, BindingCache, Tunnel};
use crate::tunnel::Ipv4Packet;

/// Where a tunnelled datagram came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelSource {
    /// A MIP Tunnel Data message (RFC 3519) from this UDP source.
    Udp(SocketAddrV4),
    /// An IP-in-IP packet whose outer source was this address.
    IpInIp(Ipv4Addr),
}

/// Why a reverse-tunnelled datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReverseDrop {
    /// The inner source is no home address with a live binding.
    #[error("inner source {0} has no binding")]
    NoBinding(Ipv4Addr),
    /// The inner source has bindings, but none whose tunnel ends where
    /// the datagram came from: a spoofed or stale tunnel endpoint.
    #[error("tunnel endpoint {0:?} is not bound to {1}")]
    WrongEndpoint(TunnelSource, Ipv4Addr),
}

/// The live bindings along which a datagram for `dst` is tunnelled: all
/// of them, since with simultaneous bindings every care-of address gets a
/// copy (RFC 5944 §3.6.1.3). Empty when `dst` is no bound home address.
pub fn tunnel_targets(
    cache: &BindingCache,
    now_ms: u64,
    dst: Ipv4Addr,
) -> impl Iterator<Item = &Binding> {
    cache.get(dst).iter().filter(move |b| !b.is_expired(now_ms))
}

/// Whether a binding's tunnel ends at `from`: for UDP tunnels the NAT's
/// address and port the registration came from (RFC 3519 §4.6); for IP in
/// IP the care-of address.
fn endpoint_matches(b: &Binding, from: TunnelSource) -> bool {
    match (b.tunnel, from) {
        (Tunnel::Udp { .. }, TunnelSource::Udp(src)) => b.source == src,
        (Tunnel::Udp { .. }, TunnelSource::IpInIp(_)) => false,
        (_, TunnelSource::IpInIp(src)) => b.care_of_address == src,
        // A UDP-tunnelled datagram for a binding that declined UDP.
        (_, TunnelSource::Udp(_)) => false,
    }
}

/// Checks a datagram that arrived through a tunnel before it is forwarded
/// into the home network (RFC 3024 §4.2 for the home agent's side): its
/// inner source must be a home address whose live binding's tunnel ends
/// at the packet's outer source. Anything else is a way to inject traffic
/// with a mobile node's address, so it is dropped. Returns the home
/// address.
pub fn check_reverse(
    cache: &BindingCache,
    now_ms: u64,
    from: TunnelSource,
    inner: &Ipv4Packet<'_>,
) -> Result<Ipv4Addr, ReverseDrop> {
    let home = inner.src();
    let mut live = tunnel_targets(cache, now_ms, home).peekable();
    if live.peek().is_none() {
        return Err(ReverseDrop::NoBinding(home));
    }
    if live.any(|b| endpoint_matches(b, from)) {
        Ok(home)
    } else {
        Err(ReverseDrop::WrongEndpoint(from, home))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::Encapsulation;
    use crate::registration::RequestFlags;
    use crate::tunnel::udp_packet;

    const HOME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);

    fn binding(coa: u8, tunnel: Tunnel, expires: Option<u64>) -> Binding {
        Binding {
            home_address: HOME,
            care_of_address: Ipv4Addr::new(198, 51, 100, coa),
            granted_lifetime: 60,
            expires_ms: expires,
            identification: 1,
            flags: RequestFlags::default(),
            tunnel,
            source: SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, coa), 40_000 + u16::from(coa)),
        }
    }

    #[test]
    fn targets_and_reverse_checks() {
        let udp = Tunnel::Udp {
            encapsulation: Encapsulation::IpInIp,
            keepalive_secs: 110,
        };
        let mut c = BindingCache::new();
        c.register(binding(1, udp, Some(10_000)), true, 4)
            .expect("ok");
        c.register(binding(2, Tunnel::IpInIp, Some(20_000)), true, 4)
            .expect("ok");
        assert_eq!(tunnel_targets(&c, 0, HOME).count(), 2);
        assert_eq!(tunnel_targets(&c, 15_000, HOME).count(), 1);
        assert_eq!(
            tunnel_targets(&c, 0, Ipv4Addr::new(10, 77, 0, 6)).count(),
            0
        );

        let from_mn = udp_packet(
            SocketAddrV4::new(HOME, 1000),
            SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 80), 80),
            b"x",
        )
        .expect("small");
        let inner = Ipv4Packet::new_checked(&from_mn).expect("valid");
        let nat = TunnelSource::Udp(SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 1), 40_001));
        assert_eq!(check_reverse(&c, 0, nat, &inner), Ok(HOME));
        let coa2 = TunnelSource::IpInIp(Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(check_reverse(&c, 0, coa2, &inner), Ok(HOME));
        // Same address, other port: not the registered NAT mapping.
        let other = TunnelSource::Udp(SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 1), 40_002));
        assert_eq!(
            check_reverse(&c, 0, other, &inner),
            Err(ReverseDrop::WrongEndpoint(other, HOME))
        );
        // The UDP binding has lapsed at 15 s.
        assert!(check_reverse(&c, 15_000, nat, &inner).is_err());
        assert_eq!(
            check_reverse(&c, 30_000, coa2, &inner),
            Err(ReverseDrop::NoBinding(HOME))
        );
    }
}
