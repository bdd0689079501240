//! Selectors and the Security Policy Database (RFC 4301 §4.4.1).
//!
//! A [`Selector`] names traffic by local and remote address ranges, the
//! next-layer protocol and local and remote port ranges, each of which may
//! be ANY. "Local" and "remote" are from this host's point of view: for
//! outbound traffic local is the source, for inbound the destination
//! (RFC 4301 §4.4.1.1).
//!
//! The [`Spd`] is an ordered list; the first entry whose selector matches
//! decides (RFC 4301 §4.4.1: "the SPD is ordered"), and traffic no entry
//! matches is discarded. Each SA carries the selector it was negotiated for,
//! and inbound traffic is checked against it after decryption (RFC 4301
//! §5.2 step 4).

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::Error;
use crate::inner::{self, Flow};
use crate::sa::Direction;

/// A range of addresses of one family, or ANY (RFC 4301 §4.4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrRange {
    /// Any address of either family.
    Any,
    /// IPv4 addresses from `first` to `last` inclusive.
    V4 {
        /// Lowest address.
        first: Ipv4Addr,
        /// Highest address.
        last: Ipv4Addr,
    },
    /// IPv6 addresses from `first` to `last` inclusive.
    V6 {
        /// Lowest address.
        first: Ipv6Addr,
        /// Highest address.
        last: Ipv6Addr,
    },
}

impl AddrRange {
    /// Exactly one address.
    pub fn single(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => AddrRange::V4 { first: a, last: a },
            IpAddr::V6(a) => AddrRange::V6 { first: a, last: a },
        }
    }

    /// `first..=last`; both of one family, `first <= last`.
    pub fn range(first: IpAddr, last: IpAddr) -> Result<Self, Error> {
        match (first, last) {
            (IpAddr::V4(f), IpAddr::V4(l)) if f <= l => Ok(AddrRange::V4 { first: f, last: l }),
            (IpAddr::V6(f), IpAddr::V6(l)) if f <= l => Ok(AddrRange::V6 { first: f, last: l }),
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => Err(
                Error::InvalidSelector("range's first address above its last"),
            ),
            _ => Err(Error::InvalidSelector("range mixes IPv4 and IPv6")),
        }
    }

    /// The block `addr/len` (host bits of `addr` are ignored).
    pub fn prefix(addr: IpAddr, len: u8) -> Result<Self, Error> {
        match addr {
            IpAddr::V4(a) => {
                if len > 32 {
                    return Err(Error::InvalidSelector("IPv4 prefix longer than 32"));
                }
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                let base = u32::from(a) & mask;
                Ok(AddrRange::V4 {
                    first: base.into(),
                    last: (base | !mask).into(),
                })
            }
            IpAddr::V6(a) => {
                if len > 128 {
                    return Err(Error::InvalidSelector("IPv6 prefix longer than 128"));
                }
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                let base = u128::from(a) & mask;
                Ok(AddrRange::V6 {
                    first: base.into(),
                    last: (base | !mask).into(),
                })
            }
        }
    }

    /// Whether `addr` is in the range.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (AddrRange::Any, _) => true,
            (AddrRange::V4 { first, last }, IpAddr::V4(a)) => *first <= a && a <= *last,
            (AddrRange::V6 { first, last }, IpAddr::V6(a)) => *first <= a && a <= *last,
            _ => false,
        }
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrRange::Any => f.write_str("any"),
            AddrRange::V4 { first, last } if first == last => write!(f, "{first}"),
            AddrRange::V6 { first, last } if first == last => write!(f, "{first}"),
            AddrRange::V4 { first, last } => write!(f, "{first}-{last}"),
            AddrRange::V6 { first, last } => write!(f, "{first}-{last}"),
        }
    }
}

/// A next-layer protocol selector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ProtocolSelector {
    /// Any protocol.
    #[default]
    Any,
    /// Exactly this IP protocol number.
    Is(u8),
}

impl ProtocolSelector {
    /// Whether `protocol` matches.
    pub fn matches(&self, protocol: u8) -> bool {
        match self {
            ProtocolSelector::Any => true,
            ProtocolSelector::Is(p) => *p == protocol,
        }
    }
}

/// A port selector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PortRange {
    /// Any port, including none (OPAQUE, RFC 4301 §4.4.1.1).
    #[default]
    Any,
    /// Ports `first..=last`; a packet without ports never matches.
    Range {
        /// Lowest port.
        first: u16,
        /// Highest port.
        last: u16,
    },
}

impl PortRange {
    /// Exactly one port.
    pub const fn single(port: u16) -> Self {
        PortRange::Range {
            first: port,
            last: port,
        }
    }

    /// `first..=last`, `first <= last`.
    pub fn range(first: u16, last: u16) -> Result<Self, Error> {
        if first > last {
            return Err(Error::InvalidSelector("port range's first above its last"));
        }
        Ok(PortRange::Range { first, last })
    }

    /// Whether a packet's port (or its absence) matches.
    pub fn matches(&self, port: Option<u16>) -> bool {
        match (self, port) {
            (PortRange::Any, _) => true,
            (PortRange::Range { first, last }, Some(p)) => *first <= p && p <= *last,
            (PortRange::Range { .. }, None) => false,
        }
    }
}

/// Traffic selectors (RFC 4301 §4.4.1.1) from this host's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Selector {
    /// Addresses on this side.
    pub local: AddrRange,
    /// Addresses on the far side.
    pub remote: AddrRange,
    /// Next-layer protocol.
    pub protocol: ProtocolSelector,
    /// Ports on this side.
    pub local_port: PortRange,
    /// Ports on the far side.
    pub remote_port: PortRange,
}

impl Default for Selector {
    fn default() -> Self {
        Self::ANY
    }
}

impl Selector {
    /// Matches everything.
    pub const ANY: Selector = Selector {
        local: AddrRange::Any,
        remote: AddrRange::Any,
        protocol: ProtocolSelector::Any,
        local_port: PortRange::Any,
        remote_port: PortRange::Any,
    };

    /// All traffic between two address ranges.
    pub const fn between(local: AddrRange, remote: AddrRange) -> Self {
        Selector {
            local,
            remote,
            protocol: ProtocolSelector::Any,
            local_port: PortRange::Any,
            remote_port: PortRange::Any,
        }
    }

    /// Whether a flow travelling in `direction` matches: outbound flows
    /// have the local side as source, inbound ones as destination.
    pub fn matches(&self, flow: &Flow, direction: Direction) -> bool {
        let (local, remote, local_port, remote_port) = match direction {
            Direction::Outbound => (flow.src, flow.dst, flow.src_port, flow.dst_port),
            Direction::Inbound => (flow.dst, flow.src, flow.dst_port, flow.src_port),
        };
        self.local.contains(local)
            && self.remote.contains(remote)
            && self.protocol.matches(flow.protocol)
            && self.local_port.matches(local_port)
            && self.remote_port.matches(remote_port)
    }
}

/// What the SPD says to do with matching traffic (RFC 4301 §4.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Protect with the outbound SA of this SPI; inbound, such traffic must
    /// arrive through ESP and plaintext matching it is dropped.
    Protect(u32),
    /// Pass in the clear.
    Bypass,
    /// Drop.
    Discard,
}

/// One SPD entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpdEntry {
    /// Traffic the entry covers.
    pub selector: Selector,
    /// What to do with it.
    pub action: Action,
}

/// The ordered Security Policy Database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spd {
    entries: Vec<SpdEntry>,
    limit: usize,
}

impl Spd {
    /// An empty SPD holding at most `limit` entries (everything is
    /// discarded until entries are added).
    pub fn new(limit: usize) -> Self {
        Spd {
            entries: Vec::new(),
            limit,
        }
    }

    /// The entries in match order.
    pub fn entries(&self) -> &[SpdEntry] {
        &self.entries
    }

    /// Appends an entry (lowest priority so far).
    pub fn push(&mut self, entry: SpdEntry) -> Result<(), Error> {
        if self.entries.len() >= self.limit {
            return Err(Error::TableFull(self.limit));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Inserts an entry at position `index` (0 = first match); an index past
    /// the end appends.
    pub fn insert(&mut self, index: usize, entry: SpdEntry) -> Result<(), Error> {
        if self.entries.len() >= self.limit {
            return Err(Error::TableFull(self.limit));
        }
        self.entries.insert(index.min(self.entries.len()), entry);
        Ok(())
    }

    /// Removes and returns the entry at `index`.
    pub fn remove(&mut self, index: usize) -> Option<SpdEntry> {
        (index < self.entries.len()).then(|| self.entries.remove(index))
    }

    /// Points every `Protect(old)` entry at `new` (after a rekey).
    pub fn replace_spi(&mut self, old: u32, new: u32) -> usize {
        let mut n = 0;
        for e in &mut self.entries {
            if e.action == Action::Protect(old) {
                e.action = Action::Protect(new);
                n += 1;
            }
        }
        n
    }

    /// The action for a flow: the first matching entry's, or
    /// [`Action::Discard`] if none matches.
    pub fn lookup(&self, flow: &Flow, direction: Direction) -> Action {
        self.entries
            .iter()
            .find(|e| e.selector.matches(flow, direction))
            .map_or(Action::Discard, |e| e.action)
    }

    /// Parses an IP packet and looks up its flow.
    pub fn lookup_packet(&self, packet: &[u8], direction: Direction) -> Result<Action, Error> {
        let inner = inner::parse(packet)?;
        Ok(self.lookup(&inner.flow, direction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(src: [u8; 4], dst: [u8; 4], protocol: u8, sp: Option<u16>, dp: Option<u16>) -> Flow {
        Flow {
            src: src.into(),
            dst: dst.into(),
            protocol,
            src_port: sp,
            dst_port: dp,
        }
    }

    #[test]
    fn prefixes_and_ranges() {
        let r = AddrRange::prefix("10.1.2.3".parse().unwrap(), 16).unwrap();
        assert_eq!(r.to_string(), "10.1.0.0-10.1.255.255");
        assert!(r.contains("10.1.200.1".parse().unwrap()));
        assert!(!r.contains("10.2.0.0".parse().unwrap()));
        assert!(!r.contains("::1".parse().unwrap()), "family must match");
        let all = AddrRange::prefix("1.2.3.4".parse().unwrap(), 0).unwrap();
        assert!(all.contains("255.255.255.255".parse().unwrap()));
        let host = AddrRange::prefix("2001:db8::5".parse().unwrap(), 128).unwrap();
        assert_eq!(host, AddrRange::single("2001:db8::5".parse().unwrap()));
        let v6 = AddrRange::prefix("2001:db8::".parse().unwrap(), 32).unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::".parse().unwrap()));
        assert!(AddrRange::prefix("1.2.3.4".parse().unwrap(), 33).is_err());
        assert!(AddrRange::prefix("::".parse().unwrap(), 129).is_err());
        assert!(
            AddrRange::range("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap()).is_err()
        );
        assert!(AddrRange::range("10.0.0.1".parse().unwrap(), "::2".parse().unwrap()).is_err());
        assert!(AddrRange::Any.contains("::".parse().unwrap()));
        assert!(PortRange::range(10, 9).is_err());
    }

    #[test]
    fn selector_direction_and_ports() {
        let sel = Selector {
            local: AddrRange::prefix("10.0.0.0".parse().unwrap(), 24).unwrap(),
            remote: AddrRange::single("192.0.2.7".parse().unwrap()),
            protocol: ProtocolSelector::Is(17),
            local_port: PortRange::Any,
            remote_port: PortRange::single(53),
        };
        let out = flow([10, 0, 0, 5], [192, 0, 2, 7], 17, Some(5000), Some(53));
        assert!(sel.matches(&out, Direction::Outbound));
        assert!(!sel.matches(&out, Direction::Inbound));
        let back = flow([192, 0, 2, 7], [10, 0, 0, 5], 17, Some(53), Some(5000));
        assert!(sel.matches(&back, Direction::Inbound));
        // Wrong protocol, wrong port, opaque port.
        assert!(!sel.matches(
            &flow([10, 0, 0, 5], [192, 0, 2, 7], 6, Some(1), Some(53)),
            Direction::Outbound
        ));
        assert!(!sel.matches(
            &flow([10, 0, 0, 5], [192, 0, 2, 7], 17, Some(1), Some(54)),
            Direction::Outbound
        ));
        assert!(!sel.matches(
            &flow([10, 0, 0, 5], [192, 0, 2, 7], 17, None, None),
            Direction::Outbound
        ));
        assert!(Selector::ANY.matches(
            &flow([1, 1, 1, 1], [2, 2, 2, 2], 1, None, None),
            Direction::Inbound
        ));
    }

    #[test]
    fn first_match_wins_and_default_discards() {
        let mut spd = Spd::new(3);
        let mn = AddrRange::single("10.0.0.5".parse().unwrap());
        let dns = Selector {
            protocol: ProtocolSelector::Is(17),
            remote_port: PortRange::single(53),
            ..Selector::between(mn, AddrRange::Any)
        };
        spd.push(SpdEntry {
            selector: Selector::between(mn, AddrRange::Any),
            action: Action::Protect(0x100),
        })
        .unwrap();
        spd.insert(
            0,
            SpdEntry {
                selector: dns,
                action: Action::Bypass,
            },
        )
        .unwrap();
        spd.push(SpdEntry {
            selector: Selector::ANY,
            action: Action::Discard,
        })
        .unwrap();
        assert_eq!(
            spd.push(SpdEntry {
                selector: Selector::ANY,
                action: Action::Bypass
            }),
            Err(Error::TableFull(3))
        );
        let dns_flow = flow([10, 0, 0, 5], [8, 8, 8, 8], 17, Some(999), Some(53));
        assert_eq!(spd.lookup(&dns_flow, Direction::Outbound), Action::Bypass);
        let web = flow([10, 0, 0, 5], [8, 8, 8, 8], 6, Some(999), Some(443));
        assert_eq!(
            spd.lookup(&web, Direction::Outbound),
            Action::Protect(0x100)
        );
        let other = flow([10, 0, 0, 6], [8, 8, 8, 8], 6, Some(999), Some(443));
        assert_eq!(spd.lookup(&other, Direction::Outbound), Action::Discard);
        assert_eq!(spd.replace_spi(0x100, 0x200), 1);
        assert_eq!(
            spd.lookup(&web, Direction::Outbound),
            Action::Protect(0x200)
        );
        assert!(spd.remove(2).is_some());
        assert!(spd.remove(2).is_none());
        assert_eq!(
            Spd::new(4).lookup(&web, Direction::Outbound),
            Action::Discard
        );
    }
}
