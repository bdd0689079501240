//! The Security Association Database (RFC 4301 §4.4.2).
//!
//! Inbound SAs are found by SPI alone (RFC 4301 §4.1: for unicast SAs the
//! SPI suffices, and the receiver chose it to be unique); outbound SAs are
//! found by the SPI the SPD's `Protect` action names. The two directions
//! live in separate maps because each side picks SPIs for its own inbound
//! SAs, so an outbound SPI may equal an inbound one. The table size is
//! bounded.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::error::Error;
use crate::lifetime::{LifetimeEvent, Phase};
use crate::sa::{Direction, Opened, Sealed, SecurityAssociation};
use crate::wire::EspPacket;

/// A lifetime event of one SA, for the key manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaEvent {
    /// The SA's SPI.
    pub spi: u32,
    /// The SA's direction.
    pub direction: Direction,
    /// What happened.
    pub event: LifetimeEvent,
}

/// The SAD: inbound and outbound SAs keyed by SPI.
#[derive(Debug, Default)]
pub struct Sad {
    inbound: HashMap<u32, SecurityAssociation>,
    outbound: HashMap<u32, SecurityAssociation>,
    limit: usize,
}

impl Sad {
    /// An empty SAD holding at most `limit` SAs in total.
    pub fn new(limit: usize) -> Self {
        Sad {
            inbound: HashMap::new(),
            outbound: HashMap::new(),
            limit,
        }
    }

    /// Number of SAs.
    pub fn len(&self) -> usize {
        self.inbound.len() + self.outbound.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn map(&self, direction: Direction) -> &HashMap<u32, SecurityAssociation> {
        match direction {
            Direction::Inbound => &self.inbound,
            Direction::Outbound => &self.outbound,
        }
    }

    fn map_mut(&mut self, direction: Direction) -> &mut HashMap<u32, SecurityAssociation> {
        match direction {
            Direction::Inbound => &mut self.inbound,
            Direction::Outbound => &mut self.outbound,
        }
    }

    /// Adds an SA; its SPI must be free in its direction.
    pub fn insert(&mut self, sa: SecurityAssociation) -> Result<(), Error> {
        if self.len() >= self.limit {
            return Err(Error::TableFull(self.limit));
        }
        let spi = sa.spi();
        let map = self.map_mut(sa.direction());
        if map.contains_key(&spi) {
            return Err(Error::DuplicateSpi(spi));
        }
        map.insert(spi, sa);
        Ok(())
    }

    /// Removes and returns an SA.
    pub fn remove(&mut self, spi: u32, direction: Direction) -> Option<SecurityAssociation> {
        self.map_mut(direction).remove(&spi)
    }

    /// An SA by SPI and direction.
    pub fn get(&self, spi: u32, direction: Direction) -> Option<&SecurityAssociation> {
        self.map(direction).get(&spi)
    }

    /// An SA by SPI and direction, mutable (to move its peer, say).
    pub fn get_mut(&mut self, spi: u32, direction: Direction) -> Option<&mut SecurityAssociation> {
        self.map_mut(direction).get_mut(&spi)
    }

    /// All SAs, inbound first.
    pub fn iter(&self) -> impl Iterator<Item = &SecurityAssociation> {
        self.inbound.values().chain(self.outbound.values())
    }

    fn inbound_for(&mut self, packet: &[u8]) -> Result<&mut SecurityAssociation, Error> {
        let spi = EspPacket::new_checked(packet)?.spi();
        self.inbound.get_mut(&spi).ok_or(Error::UnknownSpi(spi))
    }

    /// Looks up the inbound SA by the packet's SPI and opens the packet in
    /// place (see [`SecurityAssociation::open_in_place`]).
    pub fn open_in_place(
        &mut self,
        now: Instant,
        outer_src: IpAddr,
        packet: &mut [u8],
    ) -> Result<Opened, Error> {
        self.inbound_for(packet)?
            .open_in_place(now, outer_src, packet)
    }

    /// Looks up the inbound SA by the packet's SPI and opens the packet
    /// into `out` (see [`SecurityAssociation::open_into`]).
    pub fn open_into(
        &mut self,
        now: Instant,
        outer_src: IpAddr,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<Opened, Error> {
        self.inbound_for(packet)?
            .open_into(now, outer_src, packet, out)
    }

    /// Seals an inner packet with the outbound SA `spi`.
    pub fn seal(
        &mut self,
        now: Instant,
        spi: u32,
        inner: &[u8],
        out: &mut [u8],
    ) -> Result<Sealed, Error> {
        self.outbound
            .get_mut(&spi)
            .ok_or(Error::UnknownSpi(spi))?
            .seal(now, inner, out)
    }

    /// Moves the outer peer of the outbound SA `spi` (a mobile node's new
    /// care-of address). The caller must have authenticated the move.
    pub fn set_peer(&mut self, spi: u32, peer: SocketAddr) -> Result<(), Error> {
        self.outbound
            .get_mut(&spi)
            .ok_or(Error::UnknownSpi(spi))?
            .set_peer(peer);
        Ok(())
    }

    /// The next unreported lifetime event of any SA.
    pub fn poll_event(&mut self, now: Instant) -> Option<SaEvent> {
        self.inbound
            .values_mut()
            .chain(self.outbound.values_mut())
            .find_map(|sa| {
                sa.poll_event(now).map(|event| SaEvent {
                    spi: sa.spi(),
                    direction: sa.direction(),
                    event,
                })
            })
    }

    /// The earliest time-based lifetime deadline of any SA.
    pub fn poll_at(&self) -> Option<Instant> {
        self.iter().filter_map(SecurityAssociation::poll_at).min()
    }

    /// Deletes every SA past its hard lifetime; returns how many.
    pub fn remove_expired(&mut self, now: Instant) -> usize {
        let before = self.len();
        let live = |sa: &mut SecurityAssociation| !matches!(sa.phase(now), Phase::Expired(_));
        self.inbound.retain(|_, sa| live(sa));
        self.outbound.retain(|_, sa| live(sa));
        before - self.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gcm::Algorithm;
    use crate::lifetime::Limits;
    use crate::sa::SaConfig;

    fn sa(spi: u32, direction: Direction, now: Instant) -> SecurityAssociation {
        let mut c = SaConfig::new(
            spi,
            direction,
            Algorithm::AesGcm128,
            &[spi as u8; 20],
            "192.0.2.1".parse().unwrap(),
        );
        c.peer = Some("192.0.2.2:4500".parse().unwrap());
        c.lifetime.hard = Limits {
            time: Some(Duration::from_secs(u64::from(spi))),
            bytes: None,
        };
        SecurityAssociation::new(c, now).unwrap()
    }

    #[test]
    fn insert_lookup_limits() {
        let now = Instant::now();
        let mut sad = Sad::new(3);
        sad.insert(sa(10, Direction::Inbound, now)).unwrap();
        sad.insert(sa(10, Direction::Outbound, now)).unwrap();
        assert_eq!(
            sad.insert(sa(10, Direction::Inbound, now)),
            Err(Error::DuplicateSpi(10))
        );
        sad.insert(sa(20, Direction::Inbound, now)).unwrap();
        assert_eq!(
            sad.insert(sa(30, Direction::Inbound, now)),
            Err(Error::TableFull(3))
        );
        assert_eq!(sad.len(), 3);
        assert!(sad.get(20, Direction::Inbound).is_some());
        assert!(sad.get(20, Direction::Outbound).is_none());
        assert!(sad.remove(20, Direction::Inbound).is_some());
        assert_eq!(sad.len(), 2);
    }

    #[test]
    fn open_by_spi_and_unknown_spi() {
        let now = Instant::now();
        let mut sad = Sad::new(8);
        sad.insert(sa(10, Direction::Inbound, now)).unwrap();
        sad.insert(sa(10, Direction::Outbound, now)).unwrap();
        let inner = [
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut buf = [0u8; 64];
        let s = sad.seal(now, 10, &inner, &mut buf).unwrap();
        let src: IpAddr = "192.0.2.2".parse().unwrap();
        let o = sad.open_in_place(now, src, &mut buf[..s.len]).unwrap();
        assert_eq!(&buf[o.inner], &inner[..]);
        assert_eq!(
            sad.seal(now, 11, &inner, &mut buf),
            Err(Error::UnknownSpi(11))
        );
        let s = sad.seal(now, 10, &inner, &mut buf).unwrap();
        buf[3] = 99;
        assert_eq!(
            sad.open_in_place(now, src, &mut buf[..s.len]),
            Err(Error::UnknownSpi(99))
        );
        assert!(matches!(
            sad.open_in_place(now, src, &mut buf[..5]),
            Err(Error::Truncated { .. })
        ));
        sad.set_peer(10, "203.0.113.1:1024".parse().unwrap())
            .unwrap();
        assert_eq!(
            sad.seal(now, 10, &inner, &mut buf).unwrap().peer,
            "203.0.113.1:1024".parse().unwrap()
        );
        assert_eq!(
            sad.set_peer(12, "203.0.113.1:1024".parse().unwrap()),
            Err(Error::UnknownSpi(12))
        );
    }

    #[test]
    fn events_deadlines_and_expiry() {
        let now = Instant::now();
        let mut sad = Sad::new(8);
        sad.insert(sa(5, Direction::Inbound, now)).unwrap();
        sad.insert(sa(9, Direction::Outbound, now)).unwrap();
        assert_eq!(sad.poll_at(), Some(now + Duration::from_secs(5)));
        assert_eq!(sad.poll_event(now), None);
        let t = now + Duration::from_secs(6);
        assert_eq!(
            sad.poll_event(t),
            Some(SaEvent {
                spi: 5,
                direction: Direction::Inbound,
                event: LifetimeEvent::HardExpired(crate::error::ExpiryCause::Time)
            })
        );
        assert_eq!(sad.poll_event(t), None);
        assert_eq!(sad.poll_at(), Some(now + Duration::from_secs(9)));
        assert_eq!(sad.remove_expired(t), 1);
        assert_eq!(sad.remove_expired(now + Duration::from_secs(9)), 1);
        assert!(sad.is_empty());
    }
}
