//! What the foreign agent's driver reads out of packets besides what the
//! core decides on: whether a home agent took UDP tunnelling for a
//! visitor, and which relayed request an ICMP error is about.

use std::net::Ipv4Addr;

use telsec_mip::fa::Unreachable;
use telsec_mip::tunnel::{Ipv4Packet, ipv4};
use telsec_mip::{Extension, Reply, UdpTunnelReplyCode};

/// Whether a relayed reply carries a UDP Tunnel Reply that accepts
/// (RFC 3519 §3.2): the home agent will tunnel to us over UDP.
pub fn udp_tunnel_accepted(reply: &[u8]) -> bool {
    Reply::from_bytes(reply).is_ok_and(|r| {
        r.code.is_accepted()
            && r.extensions.iter().any(|e| {
                matches!(e, Extension::UdpTunnelReply(u) if u.code == UdpTunnelReplyCode::Accepted)
            })
    })
}

/// The home agent and the kind of a Destination Unreachable drawn by a
/// request relayed from `care_of` to port `ha_port`: the error quotes the
/// request's IPv4 header and the first 8 octets after it (RFC 792), its UDP
/// header. ICMP codes 0, 1 and 3 map to reply codes 80, 81 and 82, the
/// rest to 88 (RFC 5944 §3.4).
pub fn unreachable(
    packet: &[u8],
    care_of: Ipv4Addr,
    ha_port: u16,
) -> Option<(Ipv4Addr, Unreachable)> {
    const DESTINATION_UNREACHABLE: u8 = 3;
    let outer = Ipv4Packet::new_checked(packet).ok()?;
    let icmp = outer.payload();
    if outer.protocol() != ipv4::PROTO_ICMP || *icmp.first()? != DESTINATION_UNREACHABLE {
        return None;
    }
    let code = *icmp.get(1)?;
    let quoted = icmp.get(8..)?;
    let ihl = usize::from(quoted.first()? & 0x0f) * 4;
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let o: [u8; 4] = quoted.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(o))
    };
    let port = u16::from_be_bytes([*quoted.get(ihl + 2)?, *quoted.get(ihl + 3)?]);
    if ihl < ipv4::HEADER_LEN
        || *quoted.get(9)? != ipv4::PROTO_UDP
        || addr(12)? != care_of
        || port != ha_port
    {
        return None;
    }
    let kind = match code {
        0 => Unreachable::Network,
        1 => Unreachable::Host,
        3 => Unreachable::Port,
        _ => Unreachable::Other,
    };
    Some((addr(16)?, kind))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use super::*;
    use telsec_mip::tunnel;
    use telsec_mip::{ReplyCode, UdpTunnelReply};

    fn reply(code: ReplyCode, ext: Option<UdpTunnelReplyCode>) -> Vec<u8> {
        Reply {
            code,
            lifetime: 300,
            home_address: Ipv4Addr::new(10, 77, 0, 5),
            home_agent: Ipv4Addr::new(10, 77, 0, 1),
            identification: 1,
            extensions: ext
                .map(|code| {
                    Extension::UdpTunnelReply(UdpTunnelReply {
                        sub_type: 0,
                        code,
                        forced: false,
                        keepalive_interval: 110,
                    })
                })
                .into_iter()
                .collect(),
        }
        .to_vec()
        .expect("emits")
    }

    /// An ICMP error as a router sends it about `quoted`.
    fn icmp_error(code: u8, quoted: &[u8]) -> Vec<u8> {
        let mut icmp = vec![3, code, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&quoted[..quoted.len().min(28)]);
        let sum = ipv4::checksum(&icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut p = Vec::new();
        tunnel::Ipv4Header {
            src: Ipv4Addr::new(198, 51, 100, 9),
            dst: Ipv4Addr::new(198, 51, 100, 2),
            protocol: ipv4::PROTO_ICMP,
            tos: 0,
            ttl: 64,
            dont_fragment: false,
            ident: 0,
        }
        .emit(icmp.len(), &mut p)
        .expect("fits");
        p.extend_from_slice(&icmp);
        p
    }

    #[test]
    fn icmp_errors_about_relayed_requests() {
        let coa = Ipv4Addr::new(198, 51, 100, 2);
        let ha = Ipv4Addr::new(198, 51, 100, 4);
        let relayed = tunnel::udp_packet(
            SocketAddrV4::new(coa, 434),
            SocketAddrV4::new(ha, 434),
            &[1; 40],
        )
        .expect("small");
        for (code, kind) in [
            (0, Unreachable::Network),
            (1, Unreachable::Host),
            (3, Unreachable::Port),
            (13, Unreachable::Other),
        ] {
            assert_eq!(
                unreachable(&icmp_error(code, &relayed), coa, 434),
                Some((ha, kind))
            );
        }
        let e = icmp_error(3, &relayed);
        // Another source, another port, not UDP, not an error, truncated.
        assert_eq!(unreachable(&e, Ipv4Addr::new(198, 51, 100, 3), 434), None);
        assert_eq!(unreachable(&e, coa, 435), None);
        let mut tcp = relayed.clone();
        tcp[9] = 6;
        assert_eq!(unreachable(&icmp_error(3, &tcp), coa, 434), None);
        let mut echo = e.clone();
        echo[20] = 0;
        assert_eq!(unreachable(&echo, coa, 434), None);
        for n in 0..e.len() {
            assert_eq!(unreachable(&e[..n], coa, 434), None, "{n}");
        }
    }

    #[test]
    fn udp_tunnel_reply_is_recognised() {
        assert!(udp_tunnel_accepted(&reply(
            ReplyCode::Accepted,
            Some(UdpTunnelReplyCode::Accepted)
        )));
        assert!(!udp_tunnel_accepted(&reply(
            ReplyCode::Accepted,
            Some(UdpTunnelReplyCode::Declined)
        )));
        assert!(!udp_tunnel_accepted(&reply(ReplyCode::Accepted, None)));
        assert!(!udp_tunnel_accepted(&reply(
            ReplyCode::HaAdministrativelyProhibited,
            Some(UdpTunnelReplyCode::Accepted)
        )));
        assert!(!udp_tunnel_accepted(b"garbage"));
    }
}
