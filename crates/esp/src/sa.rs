//! Security associations (RFC 4301 §4.4.2) in tunnel mode.
//!
//! An SA is one direction of protected traffic: its SPI, transform and
//! keys, sequence-number state, traffic selectors, tunnel endpoints and
//! lifetimes. [`SecurityAssociation::seal`] turns an inner IP packet into an
//! ESP packet for an outbound SA; [`SecurityAssociation::open_in_place`]
//! (or [`SecurityAssociation::open_into`]) does the reverse for an inbound
//! SA, in the order RFC 4303 §3.4 gives:
//!
//! 1. refuse if the hard lifetime is over (RFC 4301 §4.4.2.1);
//! 2. check the outer source against the SA's peer, unless it is a wildcard;
//! 3. infer the full sequence number (ESN, Appendix A2.2) and check it
//!    against the replay window — a cheap reject before any crypto;
//! 4. verify the ICV and decrypt (RFC 4106);
//! 5. only now mark the sequence number in the window (§3.4.3), so forged
//!    packets change nothing;
//! 6. check the padding and Next Header (tunnel mode: IPv4 or IPv6);
//! 7. check the inner packet against the SA's selectors
//!    (RFC 4301 §5.2 step 4).
//!
//! # Moving the peer
//!
//! A mobile node's care-of address changes on handover, and the gateway's
//! outbound SA towards it must follow: [`SecurityAssociation::set_peer`]
//! changes the outer destination at runtime (and
//! [`SecurityAssociation::set_local`] the node's own outer source). Nothing
//! in this crate decides *when* to move an SA: that is the job of a higher
//! layer which has authenticated the move (the home agent's registration
//! and Security Information Update). An inbound SA meant to survive such
//! moves is configured with a wildcard peer.

use core::fmt;
use core::ops::Range;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::gcm::{self, Algorithm, GcmKey, SeqNum};
use crate::inner::{self, Flow};
use crate::lifetime::{Lifetime, LifetimeEvent, Phase, Tracker};
use crate::seq::{DEFAULT_WINDOW, ReplayWindow, SendCounter};
use crate::spd::Selector;
use crate::trailer::NextHeader;
use crate::udp_encap::{
    self, IPPROTO_ESP, IPPROTO_UDP, IPV4_HEADER_LEN, IPV6_HEADER_LEN, Ipv4Outer, Ipv6Outer,
    UDP_HEADER_LEN,
};
use crate::wire::EspPacket;

/// Which way an SA carries traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Packets received and opened.
    Inbound,
    /// Packets sealed and sent.
    Outbound,
}

/// Everything needed to make an SA; the key manager (IKE, or the mobile
/// node's bootstrap) fills it in.
#[derive(Clone)]
pub struct SaConfig {
    /// Security Parameters Index, chosen by the receiver; never 0.
    pub spi: u32,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The transform.
    pub algorithm: Algorithm,
    /// Key || 4-byte salt (RFC 4106 §8.1); wiped on drop.
    pub key_material: Zeroizing<Vec<u8>>,
    /// 64-bit extended sequence numbers (RFC 4303 §2.2.1).
    pub esn: bool,
    /// Anti-replay window size in packets, 32..=4096 (inbound only).
    pub replay_window: u32,
    /// This end's outer address (and UDP port when encapsulating).
    pub local: SocketAddr,
    /// The other end's outer address. Outbound SAs need one; for inbound SAs
    /// `None` is a wildcard that accepts any outer source.
    pub peer: Option<SocketAddr>,
    /// Whether ESP is carried in UDP (RFC 3948) between the two ports.
    pub udp_encap: bool,
    /// The traffic this SA may carry, from this host's point of view.
    pub selector: Selector,
    /// Soft and hard limits.
    pub lifetime: Lifetime,
    /// Sequence state to start from: for an outbound SA the last number
    /// already sent, for an inbound SA the highest already accepted. 0 for
    /// a fresh SA (RFC 4303 §3.3.3); non-zero only when restoring an SA's
    /// persisted state, so that no sequence number (and so no GCM IV) is
    /// ever used twice under one key.
    pub initial_sequence: u64,
}

impl fmt::Debug for SaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaConfig")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("direction", &self.direction)
            .field("algorithm", &self.algorithm)
            .field("esn", &self.esn)
            .field("replay_window", &self.replay_window)
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("udp_encap", &self.udp_encap)
            .field("selector", &self.selector)
            .field("lifetime", &self.lifetime)
            .field("initial_sequence", &self.initial_sequence)
            .finish_non_exhaustive()
    }
}

impl SaConfig {
    /// A configuration with defaults: no ESN, a 64-packet window, UDP
    /// encapsulation on port 4500 at both ends, a wildcard peer, selectors
    /// ANY and no lifetime limits. Adjust the public fields as needed.
    pub fn new(
        spi: u32,
        direction: Direction,
        algorithm: Algorithm,
        key_material: &[u8],
        local: IpAddr,
    ) -> Self {
        SaConfig {
            spi,
            direction,
            algorithm,
            key_material: Zeroizing::new(key_material.to_vec()),
            esn: false,
            replay_window: DEFAULT_WINDOW,
            local: SocketAddr::new(local, udp_encap::PORT),
            peer: None,
            udp_encap: true,
            selector: Selector::ANY,
            lifetime: Lifetime::UNLIMITED,
            initial_sequence: 0,
        }
    }
}

/// Per-SA counters for auditing (RFC 4303 §3.4: auditable events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaStats {
    /// Packets sealed or opened successfully.
    pub packets: u64,
    /// Packets rejected by the replay check.
    pub replayed: u64,
    /// Packets whose ICV failed.
    pub icv_failures: u64,
    /// Authentic packets dropped after decryption (padding, next header,
    /// selectors).
    pub policy_drops: u64,
}

/// What sealing produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// The 64-bit sequence number used (its low half is on the wire).
    pub seq: u64,
    /// Where to send it: the SA's current peer.
    pub peer: SocketAddr,
    /// A soft lifetime is reached: the key manager should rekey.
    pub rekey_due: bool,
}

/// What opening produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The inner IP packet inside the buffer opened into (TFC padding cut).
    pub inner: Range<usize>,
    /// Its selector fields, already checked against the SA.
    pub flow: Flow,
    /// IPv4 or IPv6.
    pub next_header: NextHeader,
    /// The full (inferred) sequence number.
    pub seq: u64,
    /// A soft lifetime is reached: the key manager should rekey.
    pub rekey_due: bool,
}

/// Direction-specific sequence state.
#[derive(Debug, Clone)]
enum SeqState {
    Outbound(SendCounter),
    Inbound(ReplayWindow),
}

/// One tunnel-mode SA with AES-GCM.
#[derive(Debug)]
pub struct SecurityAssociation {
    spi: u32,
    direction: Direction,
    key: GcmKey,
    esn: bool,
    seq: SeqState,
    local: SocketAddr,
    peer: Option<SocketAddr>,
    udp_encap: bool,
    selector: Selector,
    lifetime: Tracker,
    stats: SaStats,
}

/// The Next Header for an inner packet, from its IP version nibble
/// (tunnel mode carries IPv4 or IPv6 only, RFC 4301 §4.1).
fn next_header_for(inner: &[u8]) -> Result<NextHeader, Error> {
    match inner::version(inner) {
        Some(4) => Ok(NextHeader::Ipv4),
        Some(6) => Ok(NextHeader::Ipv6),
        _ => Err(Error::MalformedInner("inner packet is not IPv4 or IPv6")),
    }
}

impl SecurityAssociation {
    /// Makes an SA at time `now` (its lifetimes count from here).
    pub fn new(config: SaConfig, now: Instant) -> Result<Self, Error> {
        if config.spi == 0 {
            return Err(Error::ReservedSpi);
        }
        let key = GcmKey::new(config.algorithm, &config.key_material)?;
        let seq = match config.direction {
            Direction::Outbound => {
                if config.peer.is_none() {
                    return Err(Error::NoPeer);
                }
                let max = if config.esn {
                    u64::MAX
                } else {
                    u64::from(u32::MAX)
                };
                if config.initial_sequence > max {
                    return Err(Error::SequenceExhausted { esn: config.esn });
                }
                SeqState::Outbound(SendCounter::resume(config.initial_sequence, config.esn))
            }
            Direction::Inbound => {
                let mut window = ReplayWindow::new(config.replay_window, config.esn)?;
                if config.initial_sequence != 0 {
                    window.accept(config.initial_sequence)?;
                }
                SeqState::Inbound(window)
            }
        };
        Ok(SecurityAssociation {
            spi: config.spi,
            direction: config.direction,
            key,
            esn: config.esn,
            seq,
            local: config.local,
            peer: config.peer,
            udp_encap: config.udp_encap,
            selector: config.selector,
            lifetime: Tracker::new(config.lifetime, now),
            stats: SaStats::default(),
        })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// Inbound or outbound.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The transform.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// Whether extended sequence numbers are in use.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// This end's outer address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The other end's outer address (`None`: wildcard inbound SA).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether ESP travels in UDP.
    pub fn udp_encap(&self) -> bool {
        self.udp_encap
    }

    /// The SA's traffic selectors.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// Audit counters.
    pub fn stats(&self) -> SaStats {
        self.stats
    }

    /// Inner bytes processed so far (for byte lifetimes).
    pub fn bytes(&self) -> u64 {
        self.lifetime.bytes()
    }

    /// The last sequence number sent (outbound) or the highest accepted
    /// (inbound).
    pub fn sequence(&self) -> u64 {
        match &self.seq {
            SeqState::Outbound(c) => c.last(),
            SeqState::Inbound(w) => w.highest(),
        }
    }

    /// Moves the outer peer address, e.g. to a mobile node's new care-of
    /// address. Takes effect with the next packet sealed; sequence numbers
    /// and keys are unaffected. Nothing here judges whether the move is
    /// legitimate: the caller must have authenticated it.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    /// Turns an inbound SA's peer into a wildcard (any outer source).
    /// Outbound SAs always need a peer, so this fails for them.
    pub fn clear_peer(&mut self) -> Result<(), Error> {
        if self.direction == Direction::Outbound {
            return Err(Error::NoPeer);
        }
        self.peer = None;
        Ok(())
    }

    /// Moves this end's outer address (a mobile node after handover).
    pub fn set_local(&mut self, local: SocketAddr) {
        self.local = local;
    }

    /// The lifetime phase at `now`.
    pub fn phase(&self, now: Instant) -> Phase {
        self.lifetime.phase(now)
    }

    /// The next lifetime event not yet reported (soft, then hard expiry).
    pub fn poll_event(&mut self, now: Instant) -> Option<LifetimeEvent> {
        self.lifetime.poll_event(now)
    }

    /// When a time lifetime will next be reached, for the driver's timer.
    pub fn poll_at(&self) -> Option<Instant> {
        self.lifetime.next_deadline()
    }

    /// Length of the ESP packet [`Self::seal`] writes for an inner packet of
    /// `inner_len` bytes.
    pub const fn sealed_len(inner_len: usize) -> usize {
        GcmKey::sealed_len(inner_len)
    }

    /// Length of the whole datagram [`Self::seal_datagram`] writes: outer IP
    /// header, UDP header if encapsulating, ESP packet.
    pub fn datagram_len(&self, inner_len: usize) -> usize {
        let ip = match self.local.ip() {
            IpAddr::V4(_) => IPV4_HEADER_LEN,
            IpAddr::V6(_) => IPV6_HEADER_LEN,
        };
        let udp = if self.udp_encap { UDP_HEADER_LEN } else { 0 };
        ip + udp + Self::sealed_len(inner_len)
    }

    /// Bytes [`Self::open_into`] needs to open an ESP packet of
    /// `packet_len` bytes.
    pub const fn opened_buffer_len(packet_len: usize) -> usize {
        GcmKey::opened_buffer_len(packet_len)
    }

    fn outbound_prelude(
        &mut self,
        now: Instant,
        needed: usize,
        got: usize,
    ) -> Result<(u64, SocketAddr, bool), Error> {
        if self.direction != Direction::Outbound {
            return Err(Error::WrongDirection(self.direction));
        }
        let rekey_due = self.lifetime.admit(now)?;
        let peer = self.peer.ok_or(Error::NoPeer)?;
        if got < needed {
            return Err(Error::BufferTooSmall { needed, got });
        }
        let SeqState::Outbound(counter) = &mut self.seq else {
            return Err(Error::WrongDirection(self.direction));
        };
        // Taken only when everything else is known to succeed, so a refused
        // packet consumes no sequence number.
        let seq = counter.take_next()?;
        Ok((seq, peer, rekey_due))
    }

    fn seq_num(&self, seq: u64) -> SeqNum {
        if self.esn {
            SeqNum::Extended(seq)
        } else {
            // The counter stops at 2^32-1 without ESN.
            SeqNum::Short(seq as u32)
        }
    }

    /// Seals an inner IPv4 or IPv6 packet into `out` as an ESP packet (the
    /// UDP payload when encapsulating). `out` must hold
    /// [`Self::sealed_len`] bytes. The IV is the 64-bit sequence number,
    /// unique per SA (RFC 4106 §3.1).
    pub fn seal(&mut self, now: Instant, inner: &[u8], out: &mut [u8]) -> Result<Sealed, Error> {
        let next_header = next_header_for(inner)?;
        let needed = Self::sealed_len(inner.len());
        let (seq, peer, rekey_due) = self.outbound_prelude(now, needed, out.len())?;
        let len = self.key.seal(
            self.spi,
            self.seq_num(seq),
            seq.to_be_bytes(),
            next_header,
            inner,
            out,
        )?;
        self.lifetime.record(inner.len());
        self.stats.packets += 1;
        Ok(Sealed {
            len,
            seq,
            peer,
            rekey_due,
        })
    }

    /// Like [`Self::seal`] for an inner packet already placed at
    /// [`gcm::PAYLOAD_OFFSET`] in `buf` (`inner_len` bytes): no copy.
    pub fn seal_in_place(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        inner_len: usize,
    ) -> Result<Sealed, Error> {
        let inner = buf
            .get(gcm::PAYLOAD_OFFSET..gcm::PAYLOAD_OFFSET + inner_len)
            .ok_or(Error::BufferTooSmall {
                needed: Self::sealed_len(inner_len),
                got: buf.len(),
            })?;
        let next_header = next_header_for(inner)?;
        let needed = Self::sealed_len(inner_len);
        let (seq, peer, rekey_due) = self.outbound_prelude(now, needed, buf.len())?;
        let len = self.key.seal_in_place(
            self.spi,
            self.seq_num(seq),
            seq.to_be_bytes(),
            next_header,
            buf,
            inner_len,
        )?;
        self.lifetime.record(inner_len);
        self.stats.packets += 1;
        Ok(Sealed {
            len,
            seq,
            peer,
            rekey_due,
        })
    }

    /// Seals an inner packet into a complete outer datagram for a TUN
    /// device or raw socket: IPv4 (with header checksum) or IPv6, then UDP
    /// (checksum 0 over IPv4 per RFC 3948 §3.1, computed over IPv6) when
    /// encapsulating, then ESP. `out` must hold [`Self::datagram_len`]
    /// bytes; `ident` is the IPv4 Identification (ignored for IPv6).
    pub fn seal_datagram(
        &mut self,
        now: Instant,
        inner: &[u8],
        out: &mut [u8],
        ident: u16,
    ) -> Result<Sealed, Error> {
        let peer = self.peer.ok_or(Error::NoPeer)?;
        let ip_len = match (self.local.ip(), peer.ip()) {
            (IpAddr::V4(_), IpAddr::V4(_)) => IPV4_HEADER_LEN,
            (IpAddr::V6(_), IpAddr::V6(_)) => IPV6_HEADER_LEN,
            _ => return Err(Error::AddressFamilyMismatch),
        };
        let needed = self.datagram_len(inner.len());
        if out.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                got: out.len(),
            });
        }
        let udp_len = if self.udp_encap { UDP_HEADER_LEN } else { 0 };
        let esp_at = ip_len + udp_len;
        let sealed = self.seal(now, inner, &mut out[esp_at..needed])?;
        let protocol = if self.udp_encap {
            IPPROTO_UDP
        } else {
            IPPROTO_ESP
        };
        if self.udp_encap {
            udp_encap::emit_udp_header(
                &mut out[ip_len..],
                self.local.port(),
                peer.port(),
                sealed.len,
            )?;
        }
        match (self.local.ip(), peer.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Ipv4Outer {
                src,
                dst,
                protocol,
                ident,
                ttl: 64,
            }
            .emit(out, udp_len + sealed.len)?,
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                if self.udp_encap {
                    let c = udp_encap::udp_checksum(src.into(), dst.into(), &out[ip_len..needed]);
                    out[ip_len + 6..ip_len + 8].copy_from_slice(&c.to_be_bytes());
                }
                Ipv6Outer {
                    src,
                    dst,
                    next_header: protocol,
                    hop_limit: 64,
                }
                .emit(out, udp_len + sealed.len)?
            }
            _ => return Err(Error::AddressFamilyMismatch),
        }
        Ok(Sealed {
            len: needed,
            ..sealed
        })
    }

    /// Steps 1–3 of the inbound order: direction, lifetime, outer source,
    /// SPI, sequence inference and the replay pre-check.
    fn inbound_prelude(
        &self,
        now: Instant,
        outer_src: IpAddr,
        packet: &[u8],
    ) -> Result<(u64, bool), Error> {
        let SeqState::Inbound(window) = &self.seq else {
            return Err(Error::WrongDirection(self.direction));
        };
        let rekey_due = self.lifetime.admit(now)?;
        if let Some(peer) = self.peer
            && peer.ip() != outer_src
        {
            return Err(Error::OuterSourceMismatch {
                expected: peer.ip(),
                got: outer_src,
            });
        }
        let header = EspPacket::new_checked(packet)?;
        if header.spi() != self.spi {
            return Err(Error::SpiMismatch {
                sa: self.spi,
                got: header.spi(),
            });
        }
        if packet.len() < gcm::MIN_PACKET_LEN {
            return Err(Error::Truncated {
                needed: gcm::MIN_PACKET_LEN,
                got: packet.len(),
            });
        }
        let seq = window.infer(header.sequence_number())?;
        window.check(seq)?;
        Ok((seq, rekey_due))
    }

    fn count_prelude_error(&mut self, e: &Error) {
        if matches!(
            e,
            Error::Replay(_) | Error::TooOld { .. } | Error::ZeroSequence
        ) {
            self.stats.replayed += 1;
        }
    }

    /// Steps 5–7, after the ICV verified: window update, next header,
    /// inner packet, selectors.
    fn inbound_finish(
        &mut self,
        seq: u64,
        rekey_due: bool,
        plain: gcm::Plain,
        buf: &[u8],
    ) -> Result<Opened, Error> {
        if let SeqState::Inbound(window) = &mut self.seq {
            window.accept(seq)?;
        }
        let payload = &buf[plain.payload.clone()];
        self.lifetime.record(payload.len());
        let result = (|| {
            let inner = match plain.next_header {
                NextHeader::Ipv4 => inner::parse_ipv4(payload)?,
                NextHeader::Ipv6 => inner::parse_ipv6(payload)?,
                NextHeader::NoNextHeader => return Err(Error::DummyPacket),
                other => return Err(Error::UnsupportedNextHeader(u8::from(other))),
            };
            if !self.selector.matches(&inner.flow, Direction::Inbound) {
                return Err(Error::SelectorMismatch);
            }
            Ok(inner)
        })();
        match result {
            Ok(inner) => {
                self.stats.packets += 1;
                Ok(Opened {
                    inner: plain.payload.start..plain.payload.start + inner.len,
                    flow: inner.flow,
                    next_header: plain.next_header,
                    seq,
                    rekey_due,
                })
            }
            Err(e) => {
                self.stats.policy_drops += 1;
                Err(e)
            }
        }
    }

    /// Verifies, decrypts and checks an ESP packet in place (the UDP payload
    /// when encapsulated); the inner packet is then at `Opened::inner`
    /// inside `packet`. `outer_src` is the outer source address, checked
    /// against a non-wildcard peer.
    pub fn open_in_place(
        &mut self,
        now: Instant,
        outer_src: IpAddr,
        packet: &mut [u8],
    ) -> Result<Opened, Error> {
        let (seq, rekey_due) = self
            .inbound_prelude(now, outer_src, packet)
            .inspect_err(|e| self.count_prelude_error(e))?;
        let high = self.esn.then_some((seq >> 32) as u32);
        let plain = match self.key.open_in_place(packet, high) {
            Ok(p) => p,
            Err(e) => return Err(self.open_failed(seq, e)),
        };
        self.inbound_finish(seq, rekey_due, plain, packet)
    }

    /// Accounts for a failed decryption of sequence number `seq`: a bad
    /// ICV is counted and changes nothing; a too-small buffer is the
    /// caller's; an authentic packet with a bad trailer is still marked in
    /// the window, so it cannot be replayed, then dropped.
    fn open_failed(&mut self, seq: u64, e: Error) -> Error {
        match e {
            Error::IcvMismatch => {
                self.stats.icv_failures += 1;
                e
            }
            Error::BufferTooSmall { .. } => e,
            e => {
                if let SeqState::Inbound(window) = &mut self.seq
                    && let Err(w) = window.accept(seq)
                {
                    return w;
                }
                self.stats.policy_drops += 1;
                e
            }
        }
    }

    /// Like [`Self::open_in_place`] but decrypts into `out` (at least
    /// [`Self::opened_buffer_len`] bytes), leaving `packet` as it was; the
    /// inner packet is at `Opened::inner` inside `out`.
    pub fn open_into(
        &mut self,
        now: Instant,
        outer_src: IpAddr,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<Opened, Error> {
        let (seq, rekey_due) = self
            .inbound_prelude(now, outer_src, packet)
            .inspect_err(|e| self.count_prelude_error(e))?;
        let high = self.esn.then_some((seq >> 32) as u32);
        let plain = match self.key.open_into(packet, high, out) {
            Ok(p) => p,
            Err(e) => return Err(self.open_failed(seq, e)),
        };
        self.inbound_finish(seq, rekey_due, plain, out)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;
    use crate::error::ExpiryCause;
    use crate::lifetime::Limits;
    use crate::spd::{AddrRange, PortRange, ProtocolSelector};

    const KEY: [u8; 20] = [
        0x4c, 0x80, 0xcd, 0xef, 0xbb, 0x5d, 0x10, 0xda, 0x90, 0x6a, 0xc7, 0x3c, 0x36, 0x13, 0xa6,
        0x34, 1, 2, 3, 4,
    ];
    const GW: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const MN: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

    fn pair(esn: bool, window: u32) -> (SecurityAssociation, SecurityAssociation, Instant) {
        let now = Instant::now();
        let mut out = SaConfig::new(0x1001, Direction::Outbound, Algorithm::AesGcm128, &KEY, GW);
        out.peer = Some(SocketAddr::new(MN, 4500));
        out.esn = esn;
        let mut inb = SaConfig::new(0x1001, Direction::Inbound, Algorithm::AesGcm128, &KEY, MN);
        inb.esn = esn;
        inb.replay_window = window;
        (
            SecurityAssociation::new(out, now).unwrap(),
            SecurityAssociation::new(inb, now).unwrap(),
            now,
        )
    }

    fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, body: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(body);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    fn seal(sa: &mut SecurityAssociation, now: Instant, inner: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; SecurityAssociation::sealed_len(inner.len())];
        let s = sa.seal(now, inner, &mut buf).unwrap();
        buf.truncate(s.len);
        buf
    }

    #[test]
    fn round_trip_in_place_and_into() {
        let (mut tx, mut rx, now) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000, b"hello");
        let mut pkt = seal(&mut tx, now, &inner);
        assert_eq!(
            EspPacket::new_checked(&pkt[..]).unwrap().sequence_number(),
            1
        );
        let copy = pkt.clone();
        let o = rx.open_in_place(now, GW, &mut pkt).unwrap();
        assert_eq!(&pkt[o.inner.clone()], &inner[..]);
        assert_eq!(o.seq, 1);
        assert_eq!(o.flow.dst_port, Some(2000));
        assert_eq!(o.next_header, NextHeader::Ipv4);
        // The same packet again is a replay, through either path.
        let mut out = vec![0u8; SecurityAssociation::opened_buffer_len(copy.len())];
        assert_eq!(
            rx.open_into(now, GW, &copy, &mut out),
            Err(Error::Replay(1))
        );
        let pkt2 = seal(&mut tx, now, &inner);
        let o = rx.open_into(now, GW, &pkt2, &mut out).unwrap();
        assert_eq!(&out[o.inner], &inner[..]);
        assert_eq!(rx.stats().packets, 2);
        assert_eq!(rx.stats().replayed, 1);
    }

    #[test]
    fn forged_packet_does_not_move_the_window() {
        let (mut tx, mut rx, now) = pair(false, 32);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"x");
        let p1 = seal(&mut tx, now, &inner);
        rx.open_in_place(now, GW, &mut p1.clone()).unwrap();
        // A forger takes a real packet, sets a far-ahead sequence number and
        // flips nothing else: the ICV covers the sequence number.
        let mut forged = seal(&mut tx, now, &inner); // seq 2, not yet delivered
        forged[4..8].copy_from_slice(&1_000_000u32.to_be_bytes());
        let before = rx.sequence();
        assert_eq!(
            rx.open_in_place(now, GW, &mut forged.clone()),
            Err(Error::IcvMismatch)
        );
        assert_eq!(rx.sequence(), before, "window unchanged");
        // Random garbage with a valid header shape: also no change.
        let mut junk = vec![0u8; 64];
        junk[..4].copy_from_slice(&0x1001u32.to_be_bytes());
        junk[4..8].copy_from_slice(&5u32.to_be_bytes());
        assert_eq!(
            rx.open_in_place(now, GW, &mut junk),
            Err(Error::IcvMismatch)
        );
        assert_eq!(rx.sequence(), before);
        assert_eq!(rx.stats().icv_failures, 2);
        // The genuine seq 2 and seq 5 still get through afterwards.
        forged[4..8].copy_from_slice(&2u32.to_be_bytes());
        rx.open_in_place(now, GW, &mut forged).unwrap();
        for _ in 3..5 {
            seal(&mut tx, now, &inner);
        }
        let mut p5 = seal(&mut tx, now, &inner);
        assert_eq!(rx.open_in_place(now, GW, &mut p5).unwrap().seq, 5);
    }

    #[test]
    fn esn_round_trip_across_2_32() {
        let (mut tx, mut rx, now) = pair(true, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"esn");
        // Walk the receiver up through sub-space 0 to its top, as a long
        // run of traffic would (one packet per step keeps this fast).
        for s in [0x4000_0000u64, 0x8000_0000, 0xc000_0000, 0xffff_fffe] {
            tx.seq = SeqState::Outbound(SendCounter::resume(s - 1, true));
            let mut p = seal(&mut tx, now, &inner);
            assert_eq!(rx.open_in_place(now, GW, &mut p).unwrap().seq, s);
        }
        // Now cross: 2^32-1, 2^32, 2^32+1 carry low halves ffffffff, 0, 1.
        let mut held = Vec::new();
        for want in [0xffff_ffffu64, 0x1_0000_0000, 0x1_0000_0001] {
            let p = seal(&mut tx, now, &inner);
            held.push((want, p));
        }
        assert_eq!(&held[1].1[4..8], &[0, 0, 0, 0], "low half of 2^32 is zero");
        // Deliver out of order: 2^32+1 first, then 2^32-1 (case B), then 2^32.
        for i in [2usize, 0, 1] {
            let (want, p) = &held[i];
            assert_eq!(
                rx.open_in_place(now, GW, &mut p.clone()).unwrap().seq,
                *want
            );
        }
        assert_eq!(rx.sequence(), 0x1_0000_0001);
        // A 32-bit receiver cannot open an ESN packet: the AAD differs.
        let (_, mut plain_rx, _) = pair(false, 64);
        let mut p = seal(&mut tx, now, &inner);
        assert_eq!(
            plain_rx.open_in_place(now, GW, &mut p),
            Err(Error::IcvMismatch)
        );
    }

    #[test]
    fn sequence_exhaustion() {
        let (mut tx, _, now) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"");
        tx.seq = SeqState::Outbound(SendCounter::resume(u64::from(u32::MAX) - 1, false));
        let mut buf = vec![0u8; 200];
        assert_eq!(
            tx.seal(now, &inner, &mut buf).unwrap().seq,
            u64::from(u32::MAX)
        );
        assert_eq!(
            tx.seal(now, &inner, &mut buf),
            Err(Error::SequenceExhausted { esn: false })
        );
        let (mut tx, _, now) = pair(true, 64);
        tx.seq = SeqState::Outbound(SendCounter::resume(u64::MAX - 1, true));
        assert_eq!(tx.seal(now, &inner, &mut buf).unwrap().seq, u64::MAX);
        assert_eq!(
            tx.seal(now, &inner, &mut buf),
            Err(Error::SequenceExhausted { esn: true })
        );
    }

    #[test]
    fn small_buffer_consumes_no_sequence_number() {
        let (mut tx, _, now) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"abc");
        let mut small = vec![0u8; 10];
        assert!(matches!(
            tx.seal(now, &inner, &mut small),
            Err(Error::BufferTooSmall { .. })
        ));
        assert_eq!(tx.sequence(), 0);
        assert!(matches!(
            tx.seal(now, &[0x10, 0, 0], &mut small),
            Err(Error::MalformedInner(_))
        ));
    }

    #[test]
    fn bad_padding_is_rejected_after_icv() {
        // An authentic packet whose padding is 9, 9 instead of 1, 2:
        // encrypt a hand-made plaintext (inner || 9 9 || 2 || 4) with ring
        // directly, as a sloppy peer would.
        let (_, mut rx, now) = pair(false, 64);
        let key = GcmKey::new(Algorithm::AesGcm128, &KEY).unwrap();
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"pad");
        let mut plaintext = inner.clone();
        plaintext.extend_from_slice(&[9, 9, 2, 4]);
        let mut pkt = vec![0u8; gcm::PAYLOAD_OFFSET + plaintext.len() + gcm::ICV_LEN];
        pkt[..4].copy_from_slice(&0x1001u32.to_be_bytes());
        pkt[4..8].copy_from_slice(&1u32.to_be_bytes());
        pkt[8..16].copy_from_slice(&1u64.to_be_bytes());
        let body_end = gcm::PAYLOAD_OFFSET + plaintext.len();
        pkt[gcm::PAYLOAD_OFFSET..body_end].copy_from_slice(&plaintext);
        let aad = [0, 0, 0x10, 0x01, 0, 0, 0, 1];
        let ring_key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &KEY[..16]).unwrap(),
        );
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&KEY[16..]);
        nonce[4..].copy_from_slice(&1u64.to_be_bytes());
        let tag = ring_key
            .seal_in_place_separate_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(&aad[..]),
                &mut pkt[gcm::PAYLOAD_OFFSET..body_end],
            )
            .unwrap();
        pkt[body_end..].copy_from_slice(tag.as_ref());
        // Sanity: the low-level key agrees the ICV is fine.
        assert_eq!(
            key.open_in_place(&mut pkt.clone(), None),
            Err(Error::BadPadding)
        );
        assert_eq!(
            rx.open_in_place(now, GW, &mut pkt.clone()),
            Err(Error::BadPadding)
        );
        // It was authentic, so it is marked: replaying it is a replay.
        assert_eq!(rx.open_in_place(now, GW, &mut pkt), Err(Error::Replay(1)));
        assert_eq!(rx.stats().policy_drops, 1);
    }

    #[test]
    fn selector_mismatch_is_dropped() {
        let now = Instant::now();
        let mut out = SaConfig::new(
            0x2002,
            Direction::Outbound,
            Algorithm::AesGcm256,
            &[3u8; 36],
            GW,
        );
        out.peer = Some(SocketAddr::new(MN, 4500));
        let mut inb = SaConfig::new(
            0x2002,
            Direction::Inbound,
            Algorithm::AesGcm256,
            &[3u8; 36],
            MN,
        );
        // The mobile node's home address 10.0.0.5 talks UDP to port 53 only.
        inb.selector = Selector {
            local: AddrRange::single("10.0.0.5".parse().unwrap()),
            remote: AddrRange::prefix("10.9.0.0".parse().unwrap(), 16).unwrap(),
            protocol: ProtocolSelector::Is(17),
            local_port: PortRange::Any,
            remote_port: PortRange::single(53),
        };
        let mut tx = SecurityAssociation::new(out, now).unwrap();
        let mut rx = SecurityAssociation::new(inb, now).unwrap();
        let ok = udp4([10, 9, 1, 1], [10, 0, 0, 5], 53, 3333, b"ok");
        rx.open_in_place(now, GW, &mut seal(&mut tx, now, &ok))
            .unwrap();
        for bad in [
            udp4([10, 8, 1, 1], [10, 0, 0, 5], 53, 3333, b"src"),
            udp4([10, 9, 1, 1], [10, 0, 0, 6], 53, 3333, b"dst"),
            udp4([10, 9, 1, 1], [10, 0, 0, 5], 54, 3333, b"port"),
        ] {
            let mut p = seal(&mut tx, now, &bad);
            assert_eq!(
                rx.open_in_place(now, GW, &mut p),
                Err(Error::SelectorMismatch)
            );
        }
        let mut tcp = udp4([10, 9, 1, 1], [10, 0, 0, 5], 53, 3333, b"tcp");
        tcp[9] = 6;
        assert_eq!(
            rx.open_in_place(now, GW, &mut seal(&mut tx, now, &tcp)),
            Err(Error::SelectorMismatch)
        );
        assert_eq!(rx.stats().policy_drops, 4);
    }

    #[test]
    fn lifetimes_soft_and_hard() {
        let (_, _, now) = pair(false, 64);
        let mut cfg = SaConfig::new(0x3003, Direction::Outbound, Algorithm::AesGcm128, &KEY, GW);
        cfg.peer = Some(SocketAddr::new(MN, 4500));
        cfg.lifetime = Lifetime {
            soft: Limits {
                time: Some(Duration::from_secs(10)),
                bytes: Some(100),
            },
            hard: Limits {
                time: Some(Duration::from_secs(20)),
                bytes: Some(200),
            },
        };
        let mut tx = SecurityAssociation::new(cfg.clone(), now).unwrap();
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, &[0; 32]); // 60 bytes
        let mut buf = vec![0u8; 200];
        assert!(!tx.seal(now, &inner, &mut buf).unwrap().rekey_due);
        assert!(
            !tx.seal(now, &inner, &mut buf).unwrap().rekey_due,
            "120 bytes after"
        );
        assert!(
            tx.seal(now, &inner, &mut buf).unwrap().rekey_due,
            "soft bytes reached"
        );
        assert_eq!(tx.poll_event(now), Some(LifetimeEvent::SoftExpired));
        assert!(tx.seal(now, &inner, &mut buf).is_ok(), "240 bytes after");
        assert_eq!(
            tx.seal(now, &inner, &mut buf),
            Err(Error::Expired(ExpiryCause::Bytes))
        );
        assert_eq!(
            tx.poll_event(now),
            Some(LifetimeEvent::HardExpired(ExpiryCause::Bytes))
        );

        // By time, inbound.
        let mut icfg = cfg;
        icfg.direction = Direction::Inbound;
        icfg.peer = None;
        icfg.lifetime.soft.bytes = None;
        icfg.lifetime.hard.bytes = None;
        let mut rx = SecurityAssociation::new(icfg, now).unwrap();
        let (mut tx, _, _) = pair(false, 64);
        tx.spi = 0x3003;
        assert_eq!(rx.poll_at(), Some(now + Duration::from_secs(10)));
        let p = seal(&mut tx, now, &inner);
        assert!(
            !rx.open_in_place(now + Duration::from_secs(9), GW, &mut p.clone())
                .unwrap()
                .rekey_due
        );
        let p = seal(&mut tx, now, &inner);
        let later = now + Duration::from_secs(10);
        assert!(
            rx.open_in_place(later, GW, &mut p.clone())
                .unwrap()
                .rekey_due
        );
        assert_eq!(rx.phase(later), Phase::RekeyDue);
        let p = seal(&mut tx, now, &inner);
        let dead = now + Duration::from_secs(20);
        assert_eq!(
            rx.open_in_place(dead, GW, &mut p.clone()),
            Err(Error::Expired(ExpiryCause::Time))
        );
        assert_eq!(rx.sequence(), 2, "an expired SA processes nothing");
    }

    #[test]
    fn peer_moves_and_wildcards() {
        let (mut tx, mut rx, now) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"move");
        let mut buf = vec![0u8; 200];
        assert_eq!(
            tx.seal(now, &inner, &mut buf).unwrap().peer,
            SocketAddr::new(MN, 4500)
        );
        let coa: SocketAddr = "203.0.113.9:61000".parse().unwrap();
        tx.set_peer(coa);
        let s = tx.seal(now, &inner, &mut buf).unwrap();
        assert_eq!((s.peer, s.seq), (coa, 2), "same SA, same counter, new peer");
        // Wildcard inbound SA accepts any source; a fixed one does not.
        rx.open_in_place(
            now,
            "203.0.113.9".parse().unwrap(),
            &mut buf[..s.len].to_vec(),
        )
        .unwrap();
        rx.set_peer(SocketAddr::new(GW, 4500));
        let mut p = seal(&mut tx, now, &inner);
        let elsewhere: IpAddr = "203.0.113.10".parse().unwrap();
        assert_eq!(
            rx.open_in_place(now, elsewhere, &mut p.clone()),
            Err(Error::OuterSourceMismatch {
                expected: GW,
                got: elsewhere
            })
        );
        assert_eq!(rx.open_in_place(now, GW, &mut p).unwrap().seq, 3);
        rx.clear_peer().unwrap();
        assert_eq!(tx.clear_peer(), Err(Error::NoPeer));
    }

    #[test]
    fn direction_and_config_checks() {
        let (mut tx, mut rx, now) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"d");
        let mut buf = vec![0u8; 200];
        assert_eq!(
            rx.seal(now, &inner, &mut buf),
            Err(Error::WrongDirection(Direction::Inbound))
        );
        let mut p = seal(&mut tx, now, &inner);
        assert_eq!(
            tx.open_in_place(now, GW, &mut p),
            Err(Error::WrongDirection(Direction::Outbound))
        );
        let mut c = SaConfig::new(0, Direction::Inbound, Algorithm::AesGcm128, &KEY, GW);
        assert_eq!(
            SecurityAssociation::new(c.clone(), now).unwrap_err(),
            Error::ReservedSpi
        );
        c.spi = 1;
        c.replay_window = 16;
        assert_eq!(
            SecurityAssociation::new(c.clone(), now).unwrap_err(),
            Error::InvalidReplayWindow(16)
        );
        c.direction = Direction::Outbound;
        assert_eq!(
            SecurityAssociation::new(c.clone(), now).unwrap_err(),
            Error::NoPeer
        );
        c.key_material = Zeroizing::new(vec![0; 3]);
        assert!(matches!(
            SecurityAssociation::new(c, now),
            Err(Error::InvalidKeyLength { .. })
        ));
        // SPI mismatch and truncation on open.
        let mut other = seal(&mut tx, now, &inner);
        other[3] ^= 1;
        assert!(matches!(
            rx.open_in_place(now, GW, &mut other),
            Err(Error::SpiMismatch { .. })
        ));
        for len in 0..gcm::MIN_PACKET_LEN {
            let mut short = p[..len.min(p.len())].to_vec();
            assert!(matches!(
                rx.open_in_place(now, GW, &mut short),
                Err(Error::Truncated { .. })
            ));
        }
    }

    #[test]
    fn dummy_and_non_ip_next_headers() {
        let (_, mut rx, now) = pair(false, 64);
        let key = GcmKey::new(Algorithm::AesGcm128, &KEY).unwrap();
        let mut buf = vec![0u8; 100];
        let n = key
            .seal(
                0x1001,
                SeqNum::Short(1),
                [0; 8],
                NextHeader::NoNextHeader,
                &[0; 8],
                &mut buf,
            )
            .unwrap();
        assert_eq!(
            rx.open_in_place(now, GW, &mut buf[..n].to_vec()),
            Err(Error::DummyPacket)
        );
        let n = key
            .seal(
                0x1001,
                SeqNum::Short(2),
                [0; 8],
                NextHeader::Udp,
                &[0; 8],
                &mut buf,
            )
            .unwrap();
        assert_eq!(
            rx.open_in_place(now, GW, &mut buf[..n].to_vec()),
            Err(Error::UnsupportedNextHeader(17))
        );
        // Next header says IPv4 but the payload is not an IPv4 packet.
        let n = key
            .seal(
                0x1001,
                SeqNum::Short(3),
                [0; 8],
                NextHeader::Ipv4,
                &[0x60; 40],
                &mut buf,
            )
            .unwrap();
        assert!(matches!(
            rx.open_in_place(now, GW, &mut buf[..n].to_vec()),
            Err(Error::MalformedInner(_))
        ));
        assert_eq!(rx.sequence(), 3, "authentic packets still mark the window");
    }

    #[test]
    fn datagram_ipv4_udp_and_ipv6_udp() {
        let (mut tx, mut rx, now) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"dgram");
        let mut d = vec![0u8; tx.datagram_len(inner.len())];
        let s = tx.seal_datagram(now, &inner, &mut d, 7).unwrap();
        assert_eq!(s.len, d.len());
        assert_eq!(udp_encap::ipv4_checksum(&d[..20]), 0);
        let outer = udp_encap::OuterDatagram::parse(&d).unwrap();
        assert_eq!((outer.src, outer.dst), (GW, MN));
        assert_eq!(outer.udp_ports, Some((4500, 4500)));
        let mut esp = d[outer.payload].to_vec();
        let o = rx.open_in_place(now, GW, &mut esp).unwrap();
        assert_eq!(&esp[o.inner], &inner[..]);

        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        let mut c = SaConfig::new(0x6006, Direction::Outbound, Algorithm::AesGcm128, &KEY, v6a);
        c.peer = Some(SocketAddr::new(v6b, 4500));
        let mut tx6 = SecurityAssociation::new(c.clone(), now).unwrap();
        let mut d = vec![0u8; tx6.datagram_len(inner.len())];
        tx6.seal_datagram(now, &inner, &mut d, 0).unwrap();
        let outer = udp_encap::OuterDatagram::parse(&d).unwrap();
        assert_eq!((outer.src, outer.dst), (v6a, v6b));
        assert_eq!(
            udp_encap::udp_checksum(v6a, v6b, &d[40..]),
            0xffff,
            "checksum verifies"
        );
        // Raw ESP (no UDP): protocol 50.
        c.udp_encap = false;
        let mut raw = SecurityAssociation::new(c, now).unwrap();
        let mut d = vec![0u8; raw.datagram_len(inner.len())];
        raw.seal_datagram(now, &inner, &mut d, 0).unwrap();
        assert_eq!(d[6], 50);
        assert_eq!(udp_encap::OuterDatagram::parse(&d).unwrap().udp_ports, None);
        // Mixed families refuse.
        tx.set_peer("[2001:db8::9]:4500".parse().unwrap());
        assert_eq!(
            tx.seal_datagram(now, &inner, &mut d, 0),
            Err(Error::AddressFamilyMismatch)
        );
    }

    #[test]
    fn seal_in_place_matches_seal() {
        let (mut a, _, now) = pair(false, 64);
        let (mut b, _, _) = pair(false, 64);
        let inner = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"zero copy");
        let copied = seal(&mut a, now, &inner);
        let mut buf = vec![0u8; SecurityAssociation::sealed_len(inner.len())];
        buf[gcm::PAYLOAD_OFFSET..gcm::PAYLOAD_OFFSET + inner.len()].copy_from_slice(&inner);
        let s = b.seal_in_place(now, &mut buf, inner.len()).unwrap();
        assert_eq!(&buf[..s.len], &copied[..]);
    }
}
