//! The mobile node's half of the VPN (seed 002, claims 5 and 6), sans-IO:
//! its SA pair with the gateway. On a new care-of address the node first
//! moves its own ends (inbound destination, outbound source), then sends
//! its registration through the tunnel; the gateway's outbound SA follows
//! only when the home agent's SIU says so ([`crate::gateway`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::time::Instant;

use telsec_esp::{Error, SecurityAssociation};

/// What sealing produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// Octets written to the output buffer.
    pub len: usize,
    /// The UDP source: the node's care-of address, port 4500.
    pub from: SocketAddr,
    /// The gateway.
    pub to: SocketAddr,
    /// The SPI of the outbound SA.
    pub spi: u32,
    /// The sequence number used (the AES-GCM IV: the caller may have to
    /// have reserved it, see the node driver's sequence book).
    pub seq: u64,
}

/// The node's SA pair.
#[derive(Debug)]
pub struct NodeTunnelEnd {
    inbound: SecurityAssociation,
    outbound: SecurityAssociation,
}

impl NodeTunnelEnd {
    /// The pair; the outbound SA's peer is the gateway.
    ///
    /// # Errors
    /// The outbound SA has no peer.
    pub fn new(inbound: SecurityAssociation, outbound: SecurityAssociation) -> Result<Self, Error> {
        if outbound.peer().is_none() {
            return Err(Error::NoPeer);
        }
        Ok(NodeTunnelEnd { inbound, outbound })
    }

    /// The care-of address the node sends from.
    pub fn care_of(&self) -> SocketAddr {
        self.outbound.local()
    }

    /// A new care-of address: both SAs' local ends move at once, before
    /// anything is sent from it (seed 002, claims 5 and 6).
    pub fn change_care_of(&mut self, coa: Ipv4Addr) {
        let port = self.outbound.local().port();
        let local = SocketAddr::from((coa, port));
        self.inbound.set_local(local);
        self.outbound.set_local(local);
    }

    /// Seals an inner IP packet (a registration request or tunnelled data)
    /// towards the gateway.
    ///
    /// # Errors
    /// ESP could not seal (buffer, sequence exhausted, hard lifetime).
    pub fn seal(&mut self, now: Instant, inner: &[u8], out: &mut [u8]) -> Result<Outgoing, Error> {
        let sealed = self.outbound.seal(now, inner, out)?;
        Ok(Outgoing {
            len: sealed.len,
            from: self.outbound.local(),
            to: sealed.peer,
            spi: self.outbound.spi(),
            seq: sealed.seq,
        })
    }

    /// Opens a datagram from `from` in place; the inner packet's range.
    ///
    /// # Errors
    /// Wrong peer, replay, ICV, padding or selectors.
    pub fn open(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Result<Range<usize>, Error> {
        Ok(self.inbound.open_in_place(now, from.ip(), datagram)?.inner)
    }
}
