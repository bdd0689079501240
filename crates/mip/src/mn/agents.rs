//! The foreign agents a mobile node has heard, for movement detection
//! (RFC 5944 §2.4.2): each advertisement is valid for the ICMP Lifetime it
//! carries; the Prefix-Lengths extension gives the network prefix of the
//! agent's router address.

use std::net::Ipv4Addr;

use crate::advert::{AgentFlags, MobilityAgentAdvertisement, RouterAdvertisement};

/// At most this many agents are remembered; the one heard longest ago
/// makes room for a new one, so a flood of advertisements costs bounded
/// memory.
pub(crate) const MAX_AGENTS: usize = 8;

/// One heard foreign agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agent {
    /// Source address of its advertisements; requests go there.
    pub address: Ipv4Addr,
    /// When the last advertisement heard stops being valid, Unix ms.
    pub expires_ms: u64,
    /// When it was last heard.
    pub heard_ms: u64,
    /// Sequence number of the last advertisement (§2.3.2).
    pub sequence: u16,
    /// Longest registration lifetime it accepts.
    pub registration_lifetime: u16,
    /// Its flags.
    pub flags: AgentFlags,
    /// Care-of addresses it offers.
    pub care_of_addresses: Vec<Ipv4Addr>,
    /// Network prefix of its first router address, when the
    /// Prefix-Lengths extension was present (§2.1.2).
    pub prefix: Option<(Ipv4Addr, u8)>,
}

impl Agent {
    /// Usable for a new registration: a foreign agent, not busy, with a
    /// care-of address (RFC 5944 §2.1.1: B means no new registrations).
    pub fn usable(&self) -> bool {
        self.flags.contains(AgentFlags::F)
            && !self.flags.contains(AgentFlags::B)
            && !self.care_of_addresses.is_empty()
    }
}

/// The network prefix (address masked to `len` bits, and `len`).
pub(crate) fn network(addr: Ipv4Addr, len: u8) -> (Ipv4Addr, u8) {
    let len = len.min(32);
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (Ipv4Addr::from(u32::from(addr) & mask), len)
}

/// The heard agents.
#[derive(Debug, Clone, Default)]
pub(crate) struct Agents {
    list: Vec<Agent>,
}

impl Agents {
    /// Records an advertisement from `src`; returns the sequence number
    /// the agent had before, if it was known.
    pub fn update(
        &mut self,
        now_ms: u64,
        src: Ipv4Addr,
        ad: &RouterAdvertisement,
        ma: &MobilityAgentAdvertisement,
    ) -> Option<u16> {
        let prefix = ad
            .routers
            .first()
            .zip(ad.prefix_lengths().and_then(|p| p.first()))
            .map(|(r, &len)| network(r.address, len));
        let agent = Agent {
            address: src,
            expires_ms: now_ms.saturating_add(u64::from(ad.lifetime) * 1000),
            heard_ms: now_ms,
            sequence: ma.sequence,
            registration_lifetime: ma.registration_lifetime,
            flags: ma.flags,
            care_of_addresses: ma.care_of_addresses.clone(),
            prefix,
        };
        if let Some(slot) = self.list.iter_mut().find(|a| a.address == src) {
            let previous = slot.sequence;
            *slot = agent;
            return Some(previous);
        }
        if self.list.len() >= MAX_AGENTS
            && let Some(oldest) = self
                .list
                .iter()
                .enumerate()
                .min_by_key(|(_, a)| a.heard_ms)
                .map(|(i, _)| i)
        {
            self.list.swap_remove(oldest);
        }
        self.list.push(agent);
        None
    }

    /// The agent at `addr` if its advertisement is still valid at `now_ms`.
    pub fn valid(&self, addr: Ipv4Addr, now_ms: u64) -> Option<&Agent> {
        self.list
            .iter()
            .find(|a| a.address == addr && a.expires_ms > now_ms)
    }

    /// The usable agent heard most recently.
    pub fn best(&self, now_ms: u64) -> Option<&Agent> {
        self.list
            .iter()
            .filter(|a| a.expires_ms > now_ms && a.usable())
            .max_by_key(|a| a.heard_ms)
    }

    /// Forgets an agent.
    pub fn remove(&mut self, addr: Ipv4Addr) {
        self.list.retain(|a| a.address != addr);
    }

    /// Forgets every agent advertising `prefix`: after a move detected by
    /// prefix (§2.4.2 method 2) they are all on the link left behind.
    pub fn remove_network(&mut self, prefix: (Ipv4Addr, u8)) {
        self.list.retain(|a| a.prefix != Some(prefix));
    }

    /// Removes the agents whose advertisements lapsed; returns their
    /// addresses.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Ipv4Addr> {
        let lapsed = self
            .list
            .iter()
            .filter(|a| a.expires_ms <= now_ms)
            .map(|a| a.address)
            .collect();
        self.list.retain(|a| a.expires_ms > now_ms);
        lapsed
    }

    /// The earliest lapse.
    pub fn next_expiry(&self) -> Option<u64> {
        self.list.iter().map(|a| a.expires_ms).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advert::{AdvertisementExtension, RouterEntry};

    fn ad(router: Ipv4Addr, seq: u16, prefix: Option<u8>) -> RouterAdvertisement {
        let mut extensions = vec![AdvertisementExtension::MobilityAgent(
            MobilityAgentAdvertisement {
                sequence: seq,
                registration_lifetime: 300,
                flags: AgentFlags(AgentFlags::F),
                care_of_addresses: vec![router],
            },
        )];
        if let Some(p) = prefix {
            extensions.push(AdvertisementExtension::PrefixLengths(vec![p]));
        }
        RouterAdvertisement {
            code: 0,
            lifetime: 10,
            routers: vec![RouterEntry {
                address: router,
                preference: 0,
            }],
            extensions,
        }
    }

    fn upd(agents: &mut Agents, now: u64, a: Ipv4Addr, seq: u16) -> Option<u16> {
        let ad = ad(a, seq, Some(24));
        let ma = ad.mobility_agent().cloned().expect("agent ext");
        agents.update(now, a, &ad, &ma)
    }

    #[test]
    fn update_expire_and_bound() {
        let mut agents = Agents::default();
        let a = Ipv4Addr::new(192, 0, 2, 1);
        assert_eq!(upd(&mut agents, 0, a, 0), None);
        assert_eq!(upd(&mut agents, 1000, a, 1), Some(0));
        let got = agents.valid(a, 1000).expect("valid");
        assert_eq!(got.prefix, Some((Ipv4Addr::new(192, 0, 2, 0), 24)));
        assert_eq!(agents.next_expiry(), Some(11_000));
        assert!(agents.valid(a, 11_000).is_none());
        for i in 0..20u8 {
            upd(
                &mut agents,
                2000 + u64::from(i),
                Ipv4Addr::new(198, 51, 100, i),
                0,
            );
        }
        assert_eq!(agents.list.len(), MAX_AGENTS);
        assert_eq!(
            agents.best(2100).map(|a| a.address),
            Some(Ipv4Addr::new(198, 51, 100, 19))
        );
        assert_eq!(agents.expire(20_000).len(), MAX_AGENTS);
        assert!(agents.best(20_000).is_none());
    }

    #[test]
    fn networks() {
        assert_eq!(
            network(Ipv4Addr::new(10, 1, 2, 3), 16),
            (Ipv4Addr::new(10, 1, 0, 0), 16)
        );
        assert_eq!(
            network(Ipv4Addr::new(10, 1, 2, 3), 0),
            (Ipv4Addr::UNSPECIFIED, 0)
        );
        assert_eq!(
            network(Ipv4Addr::new(10, 1, 2, 3), 40),
            (Ipv4Addr::new(10, 1, 2, 3), 32)
        );
    }
}
