//! The home agent's half of seed 002 (Figure 4), sans-IO: after the home
//! agent accepted a registration, decide whether it came through the VPN
//! gateway and, if so, hand the reply to the gateway inside an SIU instead
//! of sending it to the node directly.
//!
//! A registration "came through the gateway" when its source (the care-of
//! address: co-located, RFC 5944 §3.6.1.1) lies outside every private
//! network: such a packet can only have entered through the gateway's
//! wildcard inbound SA. A registration from inside gets the ordinary reply.
//! A denied registration never gets here: it produces no SIU.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use telsec_esp::AddrRange;

use crate::error::SendError;
use crate::sender::SiuSender;
use crate::siu::SecurityInfoUpdate;

/// Where the reply to an accepted registration goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyRoute {
    /// The ordinary way: to the request's source.
    Direct,
    /// Send this SIU (which carries the reply) to the gateway.
    ViaGateway(Vec<u8>),
}

/// The home agent's link to one VPN gateway.
#[derive(Debug)]
pub struct HaLink {
    private_networks: Vec<AddrRange>,
    sender: SiuSender,
    spi: u32,
}

impl HaLink {
    /// A link whose SIUs are authenticated by the key `spi` of `sender`.
    pub fn new(private_networks: Vec<AddrRange>, sender: SiuSender, spi: u32) -> Self {
        HaLink {
            private_networks,
            sender,
            spi,
        }
    }

    /// The SIU sender, to read its next deadline.
    pub fn sender(&self) -> &SiuSender {
        &self.sender
    }

    /// The SIU sender (for its timers and the gateway's Acks).
    pub fn sender_mut(&mut self) -> &mut SiuSender {
        &mut self.sender
    }

    /// Whether `source` is inside the private network.
    pub fn is_inside(&self, source: Ipv4Addr) -> bool {
        self.private_networks
            .iter()
            .any(|r| r.contains(IpAddr::V4(source)))
    }

    /// Seed Figure 4, steps 32-34, for an accepted registration from
    /// `source` whose binding moves as `update` says.
    ///
    /// # Errors
    /// The update is not valid or the key is gone.
    pub fn route(
        &mut self,
        now: Instant,
        now_ntp: u64,
        source: Ipv4Addr,
        update: SecurityInfoUpdate,
    ) -> Result<ReplyRoute, SendError> {
        if self.is_inside(source) {
            return Ok(ReplyRoute::Direct);
        }
        Ok(ReplyRoute::ViaGateway(
            self.sender.send(now, now_ntp, self.spi, update)?,
        ))
    }
}
