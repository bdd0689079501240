//! The VPN gateway of seed 002, sans-IO: ESP (telsec-esp) towards mobile
//! nodes outside, plain IP towards the private network inside, and the
//! home agent's SIUs that move a node's outbound SA.
//!
//! Per node the gateway holds a bundle (seed Figure 3): an inbound SA
//! whose outer source is a wildcard, so a node's registration from a new
//! care-of address gets in at all, and an outbound SA towards the node's
//! current care-of address. The rules that keep the wildcard safe (issue
//! 5 §3):
//!
//! - Nothing that arrives from outside moves the outbound SA: not an
//!   authentic packet from a new address, not a replay (the ESP replay
//!   window drops it anyway). Only an SIU that authenticates, is fresh
//!   ([`crate::replay`]) and names a known node with its current (or
//!   already new) care-of address does.
//! - After decryption, the inner source must be the node's current
//!   care-of or home address, except for a Mobile IP Registration Request
//!   to the home agent (UDP port 434, RFC 5944 §3.3): that one alone may
//!   come from any source, which is the "wildcard" of the seed.
//! - The registration reply the SIU carries leaves through the moved SA,
//!   after the move (seed 002, step 27), to the port the node's last
//!   registration came from.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::time::Instant;

use telsec_esp::udp_encap::{self, IPPROTO_UDP, PayloadKind};
use telsec_esp::{Sad, SecurityAssociation};

use crate::receiver::{SiuOutcome, SiuReceiver};
use crate::siu::{AckStatus, SecurityInfoUpdate};

/// Mobile IP registration port (RFC 5944 §3.1).
pub const REGISTRATION_PORT: u16 = 434;
/// Room for an inner packet: a 1500-octet MTU.
const INNER_MAX: usize = 1500;

/// Why the gateway dropped something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// ESP refused it (unknown SPI, replay, ICV, padding, selectors, …).
    #[error("ESP: {0}")]
    Esp(#[from] telsec_esp::Error),
    /// An authentic inner packet whose source is neither the node's
    /// care-of nor home address, and which is not a registration request.
    #[error("inner source {src} is not node {home}'s (care-of {coa})")]
    SourceNotNode {
        /// The inner source.
        src: IpAddr,
        /// The node the SA belongs to.
        home: Ipv4Addr,
        /// Its current care-of address.
        coa: Ipv4Addr,
    },
    /// No node has this inbound SPI.
    #[error("no node with inbound SPI {0:#010x}")]
    NoNode(u32),
    /// An inner packet from inside that is not IPv4 or too short.
    #[error("not an IPv4 packet")]
    NotIpv4,
    /// Two nodes with the same home address or SPI.
    #[error("node {0} or one of its SPIs is already known")]
    Duplicate(Ipv4Addr),
}

/// A node's tunnel as the gateway sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeTunnel {
    /// Home address.
    pub home: Ipv4Addr,
    /// Current care-of address: where the outbound SA points.
    pub coa: Ipv4Addr,
    /// SPI of the inbound SA (node → gateway).
    pub inbound_spi: u32,
    /// SPI of the outbound SA (gateway → node).
    pub outbound_spi: u32,
    /// UDP source port of the node's last registration (the reply's
    /// destination port, RFC 5944 §3.4).
    pub registration_port: u16,
}

/// What a datagram from outside came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromOutside {
    /// Forward this inner packet (a range of the datagram) inside.
    Deliver {
        /// The inner IP packet.
        inner: Range<usize>,
        /// The node it came from.
        home: Ipv4Addr,
    },
    /// A NAT keep-alive or a non-ESP (IKE) payload: not for the data plane.
    Control,
    /// Dropped; nothing changed but the ESP counters.
    Dropped(GatewayError),
}

/// What a packet from inside came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromInside {
    /// Send `len` octets of the output buffer to `to` (UDP, from port 4500).
    Send {
        /// Octets written.
        len: usize,
        /// The node's care-of address and port.
        to: SocketAddr,
    },
    /// Not addressed to any node's care-of or home address.
    NotForANode,
}

/// What an SIU came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiuHandled {
    /// The Ack for the home agent (none when the SIU did not authenticate).
    pub ack: Option<Vec<u8>>,
    /// The outbound SA moved: node, from, to.
    pub moved: Option<(Ipv4Addr, SocketAddr, SocketAddr)>,
    /// The sealed registration reply: `len` octets of the output buffer,
    /// to send to the node's new address.
    pub reply: Option<(usize, SocketAddr)>,
    /// Why it was not applied, when it was not.
    pub refused: Option<String>,
}

/// The gateway.
#[derive(Debug)]
pub struct Gateway {
    home_agent: Ipv4Addr,
    /// The home agent's registration port (434, RFC 5944 §3.1).
    ha_port: u16,
    sad: Sad,
    nodes: HashMap<Ipv4Addr, NodeTunnel>,
    by_inbound: HashMap<u32, Ipv4Addr>,
    siu: SiuReceiver,
    ident: u16,
}

impl Gateway {
    /// A gateway in front of `home_agent`, taking SIUs keyed by `siu`, with
    /// room for `max_sas` SAs.
    pub fn new(home_agent: Ipv4Addr, siu: SiuReceiver, max_sas: usize) -> Self {
        Gateway {
            home_agent,
            ha_port: REGISTRATION_PORT,
            sad: Sad::new(max_sas),
            nodes: HashMap::new(),
            by_inbound: HashMap::new(),
            siu,
            ident: 0,
        }
    }

    /// The home agent listens on `port` instead of 434 (an unprivileged
    /// lab): registrations are the UDP datagrams to it there, and replies
    /// come from it.
    pub fn with_home_agent_port(mut self, port: u16) -> Self {
        self.ha_port = port;
        self
    }

    /// Adds a node's bundle; the outbound SA's peer is its care-of address.
    ///
    /// # Errors
    /// The node or an SPI is known already, the outbound SA has no peer,
    /// or the SAD is full.
    pub fn add_node(
        &mut self,
        home: Ipv4Addr,
        inbound: SecurityAssociation,
        outbound: SecurityAssociation,
    ) -> Result<(), GatewayError> {
        let Some(SocketAddr::V4(peer)) = outbound.peer() else {
            return Err(GatewayError::Esp(telsec_esp::Error::NoPeer));
        };
        let (inbound_spi, outbound_spi) = (inbound.spi(), outbound.spi());
        if self.nodes.contains_key(&home) || self.by_inbound.contains_key(&inbound_spi) {
            return Err(GatewayError::Duplicate(home));
        }
        self.sad.insert(inbound)?;
        if let Err(e) = self.sad.insert(outbound) {
            self.sad.remove(inbound_spi, telsec_esp::Direction::Inbound);
            return Err(e.into());
        }
        self.by_inbound.insert(inbound_spi, home);
        self.nodes.insert(
            home,
            NodeTunnel {
                home,
                coa: *peer.ip(),
                inbound_spi,
                outbound_spi,
                registration_port: REGISTRATION_PORT,
            },
        );
        Ok(())
    }

    /// The node's tunnel.
    pub fn node(&self, home: Ipv4Addr) -> Option<&NodeTunnel> {
        self.nodes.get(&home)
    }

    /// The SAs (for counters and lifetimes).
    pub fn sad(&self) -> &Sad {
        &self.sad
    }

    /// A UDP-4500 datagram from `from`: opened in place.
    pub fn from_outside(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> FromOutside {
        let spi = match udp_encap::classify(datagram) {
            Ok(PayloadKind::Esp { spi }) => spi,
            Ok(_) => return FromOutside::Control,
            Err(e) => return FromOutside::Dropped(e.into()),
        };
        let Some(tunnel) = self
            .by_inbound
            .get(&spi)
            .and_then(|h| self.nodes.get(h))
            .copied()
        else {
            return FromOutside::Dropped(GatewayError::NoNode(spi));
        };
        let opened = match self.sad.open_in_place(now, from.ip(), datagram) {
            Ok(o) => o,
            Err(e) => return FromOutside::Dropped(e.into()),
        };
        let flow = opened.flow;
        let registration = flow.protocol == IPPROTO_UDP
            && flow.dst == IpAddr::V4(self.home_agent)
            && flow.dst_port == Some(self.ha_port);
        let own = flow.src == IpAddr::V4(tunnel.coa) || flow.src == IpAddr::V4(tunnel.home);
        if !own && !registration {
            return FromOutside::Dropped(GatewayError::SourceNotNode {
                src: flow.src,
                home: tunnel.home,
                coa: tunnel.coa,
            });
        }
        if registration
            && let Some(port) = flow.src_port
            && let Some(t) = self.nodes.get_mut(&tunnel.home)
        {
            t.registration_port = port;
        }
        FromOutside::Deliver {
            inner: opened.inner,
            home: tunnel.home,
        }
    }

    /// An IPv4 packet from inside: sealed towards the node whose care-of
    /// or home address it is for.
    ///
    /// # Errors
    /// Not IPv4, or ESP could not seal (buffer, sequence exhausted, hard
    /// lifetime).
    pub fn from_inside(
        &mut self,
        now: Instant,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<FromInside, GatewayError> {
        let dst = ipv4_destination(packet).ok_or(GatewayError::NotIpv4)?;
        let Some(tunnel) = self
            .nodes
            .values()
            .find(|t| t.coa == dst || t.home == dst)
            .copied()
        else {
            return Ok(FromInside::NotForANode);
        };
        let sealed = self.sad.seal(now, tunnel.outbound_spi, packet, out)?;
        Ok(FromInside::Send {
            len: sealed.len,
            to: sealed.peer,
        })
    }

    /// An SIU datagram from the home agent. On success the outbound SA has
    /// moved before the reply is sealed, and the Ack says so.
    pub fn handle_siu(
        &mut self,
        now: Instant,
        now_ntp: u64,
        datagram: &[u8],
        out: &mut [u8],
    ) -> SiuHandled {
        let refused = |ack, why: String| SiuHandled {
            ack,
            moved: None,
            reply: None,
            refused: Some(why),
        };
        let (spi, identification, update, ack) = match self.siu.handle(now_ntp, datagram) {
            SiuOutcome::Accepted {
                spi,
                identification,
                update,
                ack,
            } => (spi, identification, update, ack),
            SiuOutcome::Refused { ack, reason } => return refused(ack, reason.to_string()),
        };
        let status_ack =
            |this: &Self, status| this.siu.ack(identification, update.home, status, spi).ok();
        let Some(tunnel) = self.nodes.get(&update.home).copied() else {
            let ack = status_ack(self, AckStatus::UnknownNode);
            return refused(ack, format!("unknown node {}", update.home));
        };
        if tunnel.coa != update.old_coa && tunnel.coa != update.new_coa {
            let ack = status_ack(self, AckStatus::OldCoaMismatch);
            return refused(
                ack,
                format!(
                    "node {} is at {}, not {}",
                    update.home, tunnel.coa, update.old_coa
                ),
            );
        }
        let from = self
            .sad
            .get(tunnel.outbound_spi, telsec_esp::Direction::Outbound)
            .and_then(SecurityAssociation::peer);
        let to = SocketAddr::from((update.new_coa, update.new_port));
        if let Err(e) = self.sad.set_peer(tunnel.outbound_spi, to) {
            return refused(None, e.to_string());
        }
        if let Some(t) = self.nodes.get_mut(&update.home) {
            t.coa = update.new_coa;
        }
        let reply = self.seal_reply(now, &tunnel, &update, out);
        SiuHandled {
            ack: Some(ack),
            moved: from.map(|f| (update.home, f, to)),
            reply,
            refused: None,
        }
    }

    /// The registration reply as an IPv4/UDP packet from the home agent to
    /// the node's new care-of address, sealed with the moved SA.
    fn seal_reply(
        &mut self,
        now: Instant,
        tunnel: &NodeTunnel,
        update: &SecurityInfoUpdate,
        out: &mut [u8],
    ) -> Option<(usize, SocketAddr)> {
        self.ident = self.ident.wrapping_add(1);
        let mut inner = Vec::with_capacity(INNER_MAX);
        crate::inner::emit_udp(
            SocketAddrV4::new(self.home_agent, self.ha_port),
            SocketAddrV4::new(update.new_coa, tunnel.registration_port),
            self.ident,
            &update.reply,
            &mut inner,
        )
        .ok()?;
        let sealed = self.sad.seal(now, tunnel.outbound_spi, &inner, out).ok()?;
        Some((sealed.len, sealed.peer))
    }
}

/// An IPv4 packet's destination (RFC 791 §3.1), if it is one.
fn ipv4_destination(packet: &[u8]) -> Option<Ipv4Addr> {
    if packet.first()? >> 4 != 4 {
        return None;
    }
    let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
    Some(Ipv4Addr::from(d))
}
