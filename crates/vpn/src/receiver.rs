//! The gateway's side of the SIU protocol, sans-IO.
//!
//! [`SiuReceiver::handle`] takes one UDP payload and the clock and decides,
//! in this order (seed 002 page 6: only an order from the home agent may
//! move the outbound SA):
//!
//! 1. framing ([`SiuPacket::new_checked`], [`SiuRepr::parse`]) — refused,
//!    no answer;
//! 2. the SPI names a key — else refused, no answer;
//! 3. the authenticator verifies — else refused, no answer (the driver
//!    logs it): answering a forgery would give the forger an oracle and a
//!    reflector;
//! 4. the Identification is fresh ([`ReplayGuard::check`]) — else refused
//!    with an authenticated Ack of status 130 whose Identification carries
//!    the gateway's clock seconds high and the SIU's low 32 bits, so the
//!    home agent can resynchronise, as RFC 5944 §5.7.1 does with code 133;
//! 5. the content can be applied ([`SecurityInfoUpdate::validate`]) — else
//!    refused with an authenticated Ack of status 131;
//! 6. accepted: the Identification is committed and an Ack of status 0 is
//!    prepared.
//!
//! The receiver does not know which nodes the gateway serves. On
//! [`SiuOutcome::Accepted`] the gateway looks up the home address: no SA →
//! it sends [`SiuReceiver::ack`] with status 128 instead of the prepared
//! Ack; the SA points at neither the old nor the new care-of address →
//! status 132. If it already points at the new one, the SIU is a
//! retransmission after a lost Ack (the home agent gives every
//! retransmission a fresh Identification, as RFC 5944 §3.6.3 has the node
//! do), and the gateway answers 0 again. Otherwise it moves the outbound
//! SA to `new_coa:new_port`, **then** sends `update.reply` to the node
//! through it, then the prepared Ack to the home agent.

use std::net::Ipv4Addr;

use crate::auth::KeyRing;
use crate::error::{RefuseReason, WireError};
use crate::replay::{DEFAULT_WINDOW_SECS, ReplayGuard};
use crate::siu::{AckRepr, AckStatus, SecurityInfoUpdate, SiuPacket, SiuRepr};

/// What the gateway does with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SiuOutcome {
    /// An authentic, fresh, applicable SIU.
    Accepted {
        /// SPI of the key that authenticated it (for [`SiuReceiver::ack`]).
        spi: u32,
        /// Its Identification (for [`SiuReceiver::ack`]).
        identification: u64,
        /// What to apply.
        update: SecurityInfoUpdate,
        /// The sealed status-0 Ack to send to the home agent once applied.
        ack: Vec<u8>,
    },
    /// Not applied.
    Refused {
        /// The sealed Ack to send back (status 130 or 131), or `None` when
        /// the datagram could not be authenticated.
        ack: Option<Vec<u8>>,
        /// Why.
        reason: RefuseReason,
    },
}

/// The gateway's SIU state: the keys and the replay guard.
#[derive(Debug, Clone)]
pub struct SiuReceiver {
    keys: KeyRing,
    replay: ReplayGuard,
}

impl SiuReceiver {
    /// A receiver with RFC 5944 §5.7.1's default 7 s window.
    pub fn new(keys: KeyRing) -> Self {
        Self::with_window(keys, DEFAULT_WINDOW_SECS)
    }

    /// A receiver accepting Identifications within ± `window_secs` of its
    /// clock.
    pub fn with_window(keys: KeyRing, window_secs: u32) -> Self {
        SiuReceiver {
            keys,
            replay: ReplayGuard::new(window_secs),
        }
    }

    /// The keys (to add or roll one).
    pub fn keys_mut(&mut self) -> &mut KeyRing {
        &mut self.keys
    }

    /// The replay state (for snapshot and restore).
    pub fn replay(&self) -> &ReplayGuard {
        &self.replay
    }

    /// The replay state, mutable (for [`ReplayGuard::restore`]).
    pub fn replay_mut(&mut self) -> &mut ReplayGuard {
        &mut self.replay
    }

    /// Handles one datagram received on the SIU port at `now_ntp` (the
    /// gateway's clock as an NTP timestamp).
    pub fn handle(&mut self, now_ntp: u64, datagram: &[u8]) -> SiuOutcome {
        let refuse = |reason: RefuseReason| SiuOutcome::Refused { ack: None, reason };
        let packet = match SiuPacket::new_checked(datagram) {
            Ok(p) => p,
            Err(e) => return refuse(e.into()),
        };
        let repr = match SiuRepr::parse(&packet) {
            Ok(r) => r,
            Err(e) => return refuse(e.into()),
        };
        let Some(key) = self.keys.get(repr.spi) else {
            return refuse(RefuseReason::UnknownSpi(repr.spi));
        };
        if key.verify(datagram).is_err() {
            return refuse(RefuseReason::BadMac);
        }
        // Authentic from here on: refusals are answered.
        if let Err(e) = self.replay.check(repr.spi, repr.identification, now_ntp) {
            let resync = (now_ntp & 0xffff_ffff_0000_0000) | (repr.identification & 0xffff_ffff);
            return SiuOutcome::Refused {
                ack: self
                    .ack(
                        resync,
                        repr.home,
                        AckStatus::IdentificationMismatch,
                        repr.spi,
                    )
                    .ok(),
                reason: e.into(),
            };
        }
        let update = SecurityInfoUpdate::from_repr(&repr);
        if let Err(e) = update.validate() {
            return SiuOutcome::Refused {
                ack: self
                    .ack(
                        repr.identification,
                        repr.home,
                        AckStatus::Malformed,
                        repr.spi,
                    )
                    .ok(),
                reason: e.into(),
            };
        }
        let ack = match self.ack(repr.identification, repr.home, AckStatus::Applied, repr.spi) {
            Ok(a) => a,
            Err(e) => return refuse(e),
        };
        self.replay.commit(repr.spi, repr.identification);
        SiuOutcome::Accepted {
            spi: repr.spi,
            identification: repr.identification,
            update,
            ack,
        }
    }

    /// A sealed SIU-Ack, for the statuses only the gateway can decide
    /// (128 unknown node, 132 old care-of address mismatch, 0 again for a
    /// retransmission already applied).
    pub fn ack(
        &self,
        identification: u64,
        home: Ipv4Addr,
        status: AckStatus,
        spi: u32,
    ) -> Result<Vec<u8>, RefuseReason> {
        let key = self.keys.get(spi).ok_or(RefuseReason::UnknownSpi(spi))?;
        let mut out = AckRepr {
            identification,
            home,
            status,
            spi,
        }
        .to_bytes()?;
        if key.seal(&mut out) {
            Ok(out)
        } else {
            Err(WireError::Truncated {
                len: out.len(),
                min: crate::siu::ACK_LEN,
            }
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::HaGwKey;
    use crate::error::{FieldError, ReplayError};
    use crate::siu::{AckPacket, NAT_T_PORT};

    const NOW: u64 = 0xe800_0000_0000_0000;
    const SEC: u64 = 1 << 32;
    const SPI: u32 = 0x1000;

    fn key() -> HaGwKey {
        HaGwKey::new(SPI, &[0x42; 32]).unwrap()
    }

    fn receiver() -> SiuReceiver {
        SiuReceiver::new([key()].into_iter().collect())
    }

    fn update() -> SecurityInfoUpdate {
        let mut reply = vec![3, 0, 0x07, 0x08, 10, 0, 0, 7, 10, 0, 0, 1];
        reply.extend_from_slice(&NOW.to_be_bytes());
        SecurityInfoUpdate {
            home: Ipv4Addr::new(10, 0, 0, 7),
            old_coa: Ipv4Addr::new(192, 0, 2, 10),
            new_coa: Ipv4Addr::new(198, 51, 100, 20),
            new_port: NAT_T_PORT,
            lifetime: 1800,
            reply,
        }
    }

    fn siu(k: &HaGwKey, id: u64, u: &SecurityInfoUpdate) -> Vec<u8> {
        let mut b = u.to_repr(id, k.spi()).to_bytes().unwrap();
        assert!(k.seal(&mut b));
        b
    }

    fn ack_of(bytes: &[u8]) -> AckRepr {
        key().verify(bytes).unwrap();
        AckRepr::parse(&AckPacket::new_checked(bytes).unwrap()).unwrap()
    }

    #[test]
    fn accepts_and_acks_applied() {
        let mut r = receiver();
        let u = update();
        match r.handle(NOW, &siu(&key(), NOW, &u)) {
            SiuOutcome::Accepted {
                spi,
                identification,
                update,
                ack,
            } => {
                assert_eq!((spi, identification), (SPI, NOW));
                assert_eq!(update, u);
                let a = ack_of(&ack);
                assert_eq!(a.status, AckStatus::Applied);
                assert_eq!((a.identification, a.home, a.spi), (NOW, u.home, SPI));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.replay().last(SPI), Some(NOW));
    }

    #[test]
    fn bit_flip_anywhere_is_unanswered_and_changes_nothing() {
        let mut r = receiver();
        let good = siu(&key(), NOW, &update());
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut b = good.clone();
                b[i] ^= 1 << bit;
                match r.handle(NOW, &b) {
                    SiuOutcome::Refused { ack: None, reason } => assert!(
                        matches!(
                            reason,
                            RefuseReason::BadMac
                                | RefuseReason::Malformed(_)
                                | RefuseReason::UnknownSpi(_)
                        ),
                        "{i}.{bit}: {reason:?}"
                    ),
                    other => panic!("{i}.{bit}: {other:?}"),
                }
                assert_eq!(r.replay().last(SPI), None);
            }
        }
        // The untouched message is still accepted: nothing moved.
        assert!(matches!(r.handle(NOW, &good), SiuOutcome::Accepted { .. }));
    }

    #[test]
    fn flips_outside_framing_and_spi_are_mac_failures() {
        let mut r = receiver();
        let good = siu(&key(), NOW, &update());
        // Identification, addresses, ports, lifetime, reply, authenticator.
        for i in (4..28).chain(34..good.len()) {
            let mut b = good.clone();
            b[i] ^= 0x01;
            assert_eq!(
                r.handle(NOW, &b),
                SiuOutcome::Refused {
                    ack: None,
                    reason: RefuseReason::BadMac
                },
                "{i}"
            );
        }
    }

    #[test]
    fn every_truncation_refused() {
        let mut r = receiver();
        let good = siu(&key(), NOW, &update());
        for n in 0..good.len() {
            assert!(
                matches!(
                    r.handle(NOW, &good[..n]),
                    SiuOutcome::Refused {
                        ack: None,
                        reason: RefuseReason::Malformed(_)
                    }
                ),
                "{n}"
            );
        }
    }

    #[test]
    fn replay_gets_authenticated_130_with_clock() {
        let mut r = receiver();
        let m = siu(&key(), NOW + 0x1234, &update());
        assert!(matches!(r.handle(NOW, &m), SiuOutcome::Accepted { .. }));
        let later = NOW + 3 * SEC;
        match r.handle(later, &m) {
            SiuOutcome::Refused {
                ack: Some(ack),
                reason: RefuseReason::Replay(ReplayError::NotIncreasing { .. }),
            } => {
                let a = ack_of(&ack);
                assert_eq!(a.status, AckStatus::IdentificationMismatch);
                assert_eq!(a.identification, later | 0x1234);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.replay().last(SPI), Some(NOW + 0x1234));
    }

    #[test]
    fn stale_and_future_refused() {
        let mut r = receiver();
        for id in [NOW - 8 * SEC, NOW + 8 * SEC] {
            match r.handle(NOW, &siu(&key(), id, &update())) {
                SiuOutcome::Refused {
                    ack: Some(ack),
                    reason: RefuseReason::Replay(ReplayError::OutsideWindow { .. }),
                } => assert_eq!(ack_of(&ack).status, AckStatus::IdentificationMismatch),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(r.replay().last(SPI), None);
    }

    #[test]
    fn unknown_spi_unanswered() {
        let mut r = receiver();
        let other = HaGwKey::new(SPI + 1, &[0x42; 32]).unwrap();
        assert_eq!(
            r.handle(NOW, &siu(&other, NOW, &update())),
            SiuOutcome::Refused {
                ack: None,
                reason: RefuseReason::UnknownSpi(SPI + 1)
            }
        );
    }

    #[test]
    fn wrong_key_same_spi_unanswered() {
        let mut r = receiver();
        let forger = HaGwKey::new(SPI, &[0x43; 32]).unwrap();
        assert_eq!(
            r.handle(NOW, &siu(&forger, NOW, &update())),
            SiuOutcome::Refused {
                ack: None,
                reason: RefuseReason::BadMac
            }
        );
        assert_eq!(r.replay().last(SPI), None);
    }

    #[test]
    fn authentic_but_inapplicable_gets_131_and_no_state() {
        let mut r = receiver();
        let mut u = update();
        u.new_coa = Ipv4Addr::BROADCAST;
        match r.handle(NOW, &siu(&key(), NOW, &u)) {
            SiuOutcome::Refused {
                ack: Some(ack),
                reason: RefuseReason::Field(FieldError::NewCareOf(_)),
            } => {
                let a = ack_of(&ack);
                assert_eq!((a.status, a.identification), (AckStatus::Malformed, NOW));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.replay().last(SPI), None);
    }

    #[test]
    fn restart_with_snapshot_keeps_refusing() {
        let mut r = receiver();
        let m = siu(&key(), NOW, &update());
        assert!(matches!(r.handle(NOW, &m), SiuOutcome::Accepted { .. }));
        let text = r.replay().snapshot();
        let mut restarted = receiver();
        restarted.replay_mut().restore(&text).unwrap();
        assert!(matches!(
            restarted.handle(NOW, &m),
            SiuOutcome::Refused {
                reason: RefuseReason::Replay(_),
                ..
            }
        ));
    }

    #[test]
    fn gateway_built_acks() {
        let r = receiver();
        let home = Ipv4Addr::new(10, 0, 0, 7);
        for status in [AckStatus::UnknownNode, AckStatus::OldCoaMismatch] {
            let a = ack_of(&r.ack(NOW, home, status, SPI).unwrap());
            assert_eq!((a.status, a.home, a.identification), (status, home, NOW));
        }
        assert_eq!(
            r.ack(NOW, home, AckStatus::UnknownNode, SPI + 1),
            Err(RefuseReason::UnknownSpi(SPI + 1))
        );
    }

    #[test]
    fn ack_is_not_an_siu() {
        let mut r = receiver();
        let ack = r
            .ack(NOW, Ipv4Addr::new(10, 0, 0, 7), AckStatus::Applied, SPI)
            .unwrap();
        assert!(matches!(
            r.handle(NOW, &ack),
            SiuOutcome::Refused {
                ack: None,
                reason: RefuseReason::Malformed(_)
            }
        ));
    }
}
