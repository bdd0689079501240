//! The home agent's side of the SIU protocol, sans-IO.
//!
//! Seed 002 Figure 4, steps 34–36: having accepted a registration request
//! that came through a VPN gateway, the home agent builds the registration
//! reply, wraps it with the old and new care-of addresses in an SIU and
//! sends it to the gateway. [`SiuSender`] builds those SIUs, keeps one
//! outstanding per home address (a newer handover supersedes an older one),
//! matches SIU-Acks and says when to retransmit.
//!
//! Identification (RFC 5944 §5.7.1): the caller's NTP clock, corrected by
//! the offset learnt from the last status-130 Ack, and always strictly
//! greater than the previous Identification this sender issued, so two
//! SIUs built while the clock stands still still differ and increase.
//! After a resynchronisation the floor drops to the highest Identification
//! the gateway acknowledged with a success, so a home agent whose clock ran
//! ahead can come back into the gateway's window.
//!
//! Retransmission, in the manner of RFC 5944 §3.6.3: each transmission
//! waits `initial_timeout × 2^k` (1, 2, 4 s by default) for its Ack; after
//! `max_transmissions` unanswered transmissions the sender gives up. Every
//! retransmission carries a fresh Identification (the gateway would refuse
//! a repeated one as a replay); an Ack for any of the outstanding
//! transmissions completes it. Time is passed in: `Instant` for timers, an
//! NTP timestamp for Identifications; nothing here sleeps or reads a clock.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::auth::KeyRing;
use crate::error::{AckError, SendError, WireError};
use crate::siu::{AckPacket, AckRepr, AckStatus, MIN_SIU_LEN, SecurityInfoUpdate};

/// Most transmissions a configuration may ask for (bounds the backoff and
/// the Identifications remembered per outstanding SIU).
pub const MAX_TRANSMISSIONS: u32 = 16;

/// Retransmission settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Wait after the first transmission; doubled after each.
    pub initial_timeout: Duration,
    /// Transmissions before giving up, 1..=[`MAX_TRANSMISSIONS`].
    pub max_transmissions: u32,
}

impl Default for SenderConfig {
    /// 1 s, then 2 s, then 4 s, then give up.
    fn default() -> Self {
        SenderConfig {
            initial_timeout: Duration::from_secs(1),
            max_transmissions: 3,
        }
    }
}

/// What a timer or an Ack leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderEvent {
    /// Send this SIU again (fresh Identification) to the gateway.
    Retransmit {
        /// Home address of the outstanding update.
        home: Ipv4Addr,
        /// The sealed SIU.
        datagram: Vec<u8>,
    },
    /// No Ack after the last transmission: the gateway's SA was not moved
    /// as far as the home agent knows.
    GaveUp {
        /// Home address.
        home: Ipv4Addr,
        /// The update that was not acknowledged.
        update: SecurityInfoUpdate,
    },
    /// The gateway applied the update (status 0..=127).
    Applied {
        /// Home address.
        home: Ipv4Addr,
        /// The status.
        status: AckStatus,
    },
    /// The gateway refused the update for good (status 128..=255 but 130).
    Rejected {
        /// Home address.
        home: Ipv4Addr,
        /// The status.
        status: AckStatus,
        /// The update.
        update: SecurityInfoUpdate,
    },
}

#[derive(Debug, Clone)]
struct Outstanding {
    spi: u32,
    update: SecurityInfoUpdate,
    /// Identifications of every transmission so far.
    sent: Vec<u64>,
    deadline: Instant,
}

/// The home agent's SIU state.
#[derive(Debug, Clone)]
pub struct SiuSender {
    keys: KeyRing,
    config: SenderConfig,
    /// Added to the caller's NTP clock (learnt from status 130).
    offset: i64,
    /// The last Identification issued; the next is above it.
    floor: u64,
    /// The highest Identification acknowledged with a success.
    acknowledged: u64,
    outstanding: BTreeMap<Ipv4Addr, Outstanding>,
}

impl SiuSender {
    /// A sender; refuses a configuration out of range.
    pub fn new(keys: KeyRing, config: SenderConfig) -> Result<Self, SendError> {
        if !(1..=MAX_TRANSMISSIONS).contains(&config.max_transmissions) {
            return Err(SendError::Config("max_transmissions must be 1..=16"));
        }
        if config.initial_timeout.is_zero() {
            return Err(SendError::Config("initial_timeout must be positive"));
        }
        Ok(SiuSender {
            keys,
            config,
            offset: 0,
            floor: 0,
            acknowledged: 0,
            outstanding: BTreeMap::new(),
        })
    }

    /// The offset, in NTP units (2^-32 s), added to the caller's clock.
    pub fn clock_offset(&self) -> i64 {
        self.offset
    }

    /// Whether an SIU for `home` awaits its Ack.
    pub fn is_outstanding(&self, home: Ipv4Addr) -> bool {
        self.outstanding.contains_key(&home)
    }

    /// Builds the SIU for `update` under the key `spi`, to send now; it
    /// supersedes any SIU outstanding for the same home address.
    pub fn send(
        &mut self,
        now: Instant,
        now_ntp: u64,
        spi: u32,
        update: SecurityInfoUpdate,
    ) -> Result<Vec<u8>, SendError> {
        update.validate()?;
        if self.keys.get(spi).is_none() {
            return Err(SendError::UnknownSpi(spi));
        }
        let id = self.next_identification(now_ntp);
        let datagram = self.seal(spi, &update, id)?;
        self.floor = id;
        let home = update.home;
        self.outstanding.insert(
            home,
            Outstanding {
                spi,
                update,
                sent: vec![id],
                deadline: now.checked_add(self.wait(1)).unwrap_or(now),
            },
        );
        Ok(datagram)
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outstanding.values().map(|o| o.deadline).min()
    }

    /// Retransmits or gives up every outstanding SIU whose wait is over.
    pub fn handle_timeout(&mut self, now: Instant, now_ntp: u64) -> Vec<SenderEvent> {
        let due: Vec<Ipv4Addr> = self
            .outstanding
            .iter()
            .filter(|(_, o)| o.deadline <= now)
            .map(|(h, _)| *h)
            .collect();
        due.into_iter()
            .filter_map(|home| self.transmit_again(now, now_ntp, home))
            .collect()
    }

    /// Handles a datagram from the gateway's SIU port. On error nothing
    /// changed: forged, foreign, late or malformed Acks are ignored.
    pub fn handle_ack(
        &mut self,
        now: Instant,
        now_ntp: u64,
        datagram: &[u8],
    ) -> Result<SenderEvent, AckError> {
        let packet = AckPacket::new_checked(datagram)?;
        let ack = AckRepr::parse(&packet)?;
        let key = self
            .keys
            .get(ack.spi)
            .ok_or(AckError::UnknownSpi(ack.spi))?;
        key.verify(datagram).map_err(|_| AckError::BadMac)?;
        let o = self
            .outstanding
            .get(&ack.home)
            .ok_or(AckError::NotOutstanding(ack.home))?;
        let resync = ack.status == AckStatus::IdentificationMismatch;
        let matches = |id: &u64| {
            if resync {
                id & 0xffff_ffff == ack.identification & 0xffff_ffff
            } else {
                *id == ack.identification
            }
        };
        if o.spi != ack.spi || !o.sent.iter().any(matches) {
            return Err(AckError::Mismatch(ack.home));
        }
        if resync {
            // The gateway's clock seconds are in the high 32 bits; learn the
            // offset (whole seconds) and try again with a fresh Identification.
            let gw = (ack.identification >> 32) as i64;
            let ours = (now_ntp.wrapping_add_signed(self.offset) >> 32) as i64;
            self.offset = self.offset.wrapping_add((gw - ours) << 32);
            self.floor = self.acknowledged;
            return self
                .transmit_again(now, now_ntp, ack.home)
                .ok_or(AckError::NotOutstanding(ack.home));
        }
        let Some(o) = self.outstanding.remove(&ack.home) else {
            return Err(AckError::NotOutstanding(ack.home));
        };
        if ack.status.is_success() {
            self.acknowledged = self.acknowledged.max(ack.identification);
            Ok(SenderEvent::Applied {
                home: ack.home,
                status: ack.status,
            })
        } else {
            Ok(SenderEvent::Rejected {
                home: ack.home,
                status: ack.status,
                update: o.update,
            })
        }
    }

    fn next_identification(&self, now_ntp: u64) -> u64 {
        now_ntp
            .wrapping_add_signed(self.offset)
            .max(self.floor.saturating_add(1))
    }

    fn wait(&self, transmission: u32) -> Duration {
        let factor = 1u32 << transmission.saturating_sub(1).min(MAX_TRANSMISSIONS);
        self.config.initial_timeout.saturating_mul(factor)
    }

    fn seal(&self, spi: u32, update: &SecurityInfoUpdate, id: u64) -> Result<Vec<u8>, SendError> {
        let key = self.keys.get(spi).ok_or(SendError::UnknownSpi(spi))?;
        let mut datagram = update.to_repr(id, spi).to_bytes()?;
        if !key.seal(&mut datagram) {
            return Err(SendError::Wire(WireError::Truncated {
                len: datagram.len(),
                min: MIN_SIU_LEN,
            }));
        }
        Ok(datagram)
    }

    /// One more transmission of the SIU outstanding for `home`, or giving
    /// up when all were spent.
    fn transmit_again(
        &mut self,
        now: Instant,
        now_ntp: u64,
        home: Ipv4Addr,
    ) -> Option<SenderEvent> {
        let o = self.outstanding.get(&home)?;
        let count = u32::try_from(o.sent.len()).unwrap_or(u32::MAX);
        if count >= self.config.max_transmissions {
            let o = self.outstanding.remove(&home)?;
            return Some(SenderEvent::GaveUp {
                home,
                update: o.update,
            });
        }
        let id = self.next_identification(now_ntp);
        let datagram = match self.seal(o.spi, &o.update, id) {
            Ok(d) => d,
            Err(_) => {
                // The key was removed since: nothing more can be sent.
                let o = self.outstanding.remove(&home)?;
                return Some(SenderEvent::GaveUp {
                    home,
                    update: o.update,
                });
            }
        };
        self.floor = id;
        let wait = self.wait(count + 1);
        let o = self.outstanding.get_mut(&home)?;
        o.sent.push(id);
        o.deadline = now.checked_add(wait).unwrap_or(now);
        Some(SenderEvent::Retransmit { home, datagram })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::HaGwKey;
    use crate::receiver::{SiuOutcome, SiuReceiver};
    use crate::siu::{NAT_T_PORT, SiuPacket, SiuRepr};

    const NOW: u64 = 0xe800_0000_0000_0000;
    const SEC: u64 = 1 << 32;
    const SPI: u32 = 0x1000;

    fn ring() -> KeyRing {
        [HaGwKey::new(SPI, &[0x42; 32]).unwrap()]
            .into_iter()
            .collect()
    }

    fn sender() -> SiuSender {
        SiuSender::new(ring(), SenderConfig::default()).unwrap()
    }

    fn update(home_last: u8) -> SecurityInfoUpdate {
        SecurityInfoUpdate {
            home: Ipv4Addr::new(10, 0, 0, home_last),
            old_coa: Ipv4Addr::new(192, 0, 2, 10),
            new_coa: Ipv4Addr::new(198, 51, 100, 20),
            new_port: NAT_T_PORT,
            lifetime: 1800,
            reply: vec![3; 20],
        }
    }

    fn id_of(siu: &[u8]) -> u64 {
        SiuRepr::parse(&SiuPacket::new_checked(siu).unwrap())
            .unwrap()
            .identification
    }

    #[test]
    fn identifications_increase_with_frozen_clock() {
        let mut s = sender();
        let t = Instant::now();
        let mut last = 0;
        for i in 0..50u8 {
            let id = id_of(&s.send(t, NOW, SPI, update(1 + i % 5)).unwrap());
            assert!(id > last, "{i}");
            last = id;
        }
        assert_eq!(last, NOW + 49);
        // Retransmissions too.
        let evs = s.handle_timeout(t + Duration::from_secs(1), NOW);
        assert_eq!(evs.len(), 5);
        for ev in evs {
            let SenderEvent::Retransmit { datagram, .. } = ev else {
                panic!("{ev:?}")
            };
            let id = id_of(&datagram);
            assert!(id > last);
            last = id;
        }
    }

    #[test]
    fn retransmission_schedule_1_2_4_then_give_up() {
        let mut s = sender();
        let t0 = Instant::now();
        let u = update(7);
        let first = s.send(t0, NOW, SPI, u.clone()).unwrap();
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(s.poll_timeout(), Some(at(1)));
        assert!(
            s.handle_timeout(at(1) - Duration::from_millis(1), NOW)
                .is_empty()
        );
        let ev = s.handle_timeout(at(1), NOW + SEC);
        let [SenderEvent::Retransmit { datagram, home }] = ev.as_slice() else {
            panic!("{ev:?}")
        };
        assert_eq!(*home, u.home);
        assert!(id_of(datagram) > id_of(&first));
        assert_eq!(s.poll_timeout(), Some(at(3)));
        assert!(matches!(
            s.handle_timeout(at(3), NOW + 3 * SEC).as_slice(),
            [SenderEvent::Retransmit { .. }]
        ));
        assert_eq!(s.poll_timeout(), Some(at(7)));
        assert!(s.handle_timeout(at(6), NOW + 6 * SEC).is_empty());
        assert_eq!(
            s.handle_timeout(at(7), NOW + 7 * SEC),
            vec![SenderEvent::GaveUp {
                home: u.home,
                update: u
            }]
        );
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn config_checked() {
        for bad in [0, MAX_TRANSMISSIONS + 1] {
            let c = SenderConfig {
                max_transmissions: bad,
                ..SenderConfig::default()
            };
            assert!(matches!(
                SiuSender::new(ring(), c),
                Err(SendError::Config(_))
            ));
        }
    }

    #[test]
    fn end_to_end_applied() {
        let mut s = sender();
        let mut gw = SiuReceiver::new(ring());
        let t = Instant::now();
        let siu = s.send(t, NOW, SPI, update(7)).unwrap();
        let SiuOutcome::Accepted { ack, update: u, .. } = gw.handle(NOW, &siu) else {
            panic!()
        };
        assert_eq!(u, update(7));
        assert_eq!(
            s.handle_ack(t, NOW, &ack),
            Ok(SenderEvent::Applied {
                home: u.home,
                status: AckStatus::Applied
            })
        );
        assert!(!s.is_outstanding(u.home));
        // A duplicate of the Ack finds nothing outstanding.
        assert_eq!(
            s.handle_ack(t, NOW, &ack),
            Err(AckError::NotOutstanding(u.home))
        );
    }

    #[test]
    fn ack_for_earlier_transmission_completes() {
        let mut s = sender();
        let mut gw = SiuReceiver::new(ring());
        let t = Instant::now();
        let first = s.send(t, NOW, SPI, update(7)).unwrap();
        let _ = s.handle_timeout(t + Duration::from_secs(1), NOW);
        let SiuOutcome::Accepted { ack, .. } = gw.handle(NOW, &first) else {
            panic!()
        };
        assert!(matches!(
            s.handle_ack(t, NOW, &ack),
            Ok(SenderEvent::Applied { .. })
        ));
    }

    #[test]
    fn forged_or_foreign_acks_ignored() {
        let mut s = sender();
        let gw = SiuReceiver::new(ring());
        let t = Instant::now();
        let siu = s.send(t, NOW, SPI, update(7)).unwrap();
        let id = id_of(&siu);
        let home = update(7).home;
        let good = gw.ack(id, home, AckStatus::Applied, SPI).unwrap();
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x80;
            assert!(s.handle_ack(t, NOW, &b).is_err(), "{i}");
            assert!(s.is_outstanding(home));
        }
        let mut b = good.clone();
        b[30] ^= 1;
        assert_eq!(s.handle_ack(t, NOW, &b), Err(AckError::BadMac));
        let forger: KeyRing = [HaGwKey::new(SPI, &[0x43; 32]).unwrap()]
            .into_iter()
            .collect();
        let forged = SiuReceiver::new(forger)
            .ack(id, home, AckStatus::Applied, SPI)
            .unwrap();
        assert_eq!(s.handle_ack(t, NOW, &forged), Err(AckError::BadMac));
        let wrong_id = gw.ack(id + 1, home, AckStatus::Applied, SPI).unwrap();
        assert_eq!(
            s.handle_ack(t, NOW, &wrong_id),
            Err(AckError::Mismatch(home))
        );
        let other_home = gw
            .ack(id, Ipv4Addr::new(10, 0, 0, 8), AckStatus::Applied, SPI)
            .unwrap();
        assert_eq!(
            s.handle_ack(t, NOW, &other_home),
            Err(AckError::NotOutstanding(Ipv4Addr::new(10, 0, 0, 8)))
        );
        assert!(s.is_outstanding(home));
        assert!(matches!(
            s.handle_ack(t, NOW, &good),
            Ok(SenderEvent::Applied { .. })
        ));
    }

    #[test]
    fn resynchronises_on_130() {
        let mut s = sender();
        let mut gw = SiuReceiver::new(ring());
        let t = Instant::now();
        // The home agent's clock is 100 s behind the gateway's.
        let ha_now = NOW - 100 * SEC;
        let siu = s.send(t, ha_now, SPI, update(7)).unwrap();
        let SiuOutcome::Refused { ack: Some(ack), .. } = gw.handle(NOW, &siu) else {
            panic!()
        };
        let ev = s.handle_ack(t, ha_now, &ack).unwrap();
        let SenderEvent::Retransmit { datagram, .. } = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(s.clock_offset(), (100 * SEC) as i64);
        assert!(matches!(
            gw.handle(NOW, &datagram),
            SiuOutcome::Accepted { .. }
        ));
    }

    #[test]
    fn rejection_reported() {
        let mut s = sender();
        let gw = SiuReceiver::new(ring());
        let t = Instant::now();
        let id = id_of(&s.send(t, NOW, SPI, update(7)).unwrap());
        let ack = gw
            .ack(id, update(7).home, AckStatus::OldCoaMismatch, SPI)
            .unwrap();
        assert_eq!(
            s.handle_ack(t, NOW, &ack),
            Ok(SenderEvent::Rejected {
                home: update(7).home,
                status: AckStatus::OldCoaMismatch,
                update: update(7)
            })
        );
    }

    #[test]
    fn send_refuses_bad_input() {
        let mut s = sender();
        let t = Instant::now();
        assert_eq!(
            s.send(t, NOW, SPI + 1, update(7)),
            Err(SendError::UnknownSpi(SPI + 1))
        );
        let mut u = update(7);
        u.reply.clear();
        assert!(matches!(s.send(t, NOW, SPI, u), Err(SendError::Wire(_))));
        let mut u = update(7);
        u.new_port = 0;
        assert!(matches!(s.send(t, NOW, SPI, u), Err(SendError::Field(_))));
    }
}
