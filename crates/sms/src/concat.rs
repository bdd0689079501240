//! Concatenated binary messages: splitting and bounded reassembly.
//!
//! TS 23.040 §9.2.3.24.1 / §9.2.3.24.8: a long message travels as up to
//! 255 SMS, each carrying `(reference, total, seq)` in its UDH. The key
//! delivery path sends 8-bit data to an application port (§9.2.3.24.4), so
//! [`split_binary`] puts a 16-bit port element in every part, as the
//! specification requires for all segments of a port-addressed message.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::SmsError;
use crate::tpdu::{MAX_UD_OCTETS, UserData};
use crate::udh::{InformationElement, UserDataHeader};

/// Octets of payload per segment when a 16-bit concat and a 16-bit port
/// element share the header (140 - 1 - 6 - 6).
pub const SEGMENT_PAYLOAD: usize = MAX_UD_OCTETS - 13;
/// Octets of payload in a single SMS with only the port element.
pub const SINGLE_PAYLOAD: usize = MAX_UD_OCTETS - 7;

/// Splits `payload` into 8-bit user data parts addressed to `dst_port`.
///
/// A payload that fits one SMS gets just the port element; longer ones
/// get a 16-bit concatenation reference too. Fails beyond 255 parts.
pub fn split_binary(
    payload: &[u8],
    dst_port: u16,
    src_port: u16,
    reference: u16,
) -> Result<Vec<UserData>, SmsError> {
    let port = InformationElement::Port16 {
        dst: dst_port,
        src: src_port,
    };
    if payload.len() <= SINGLE_PAYLOAD {
        return Ok(vec![UserData {
            header: Some(UserDataHeader {
                elements: vec![port],
            }),
            data: payload.to_vec(),
        }]);
    }
    let parts = payload.len().div_ceil(SEGMENT_PAYLOAD);
    let total = u8::try_from(parts).map_err(|_| SmsError::TooLong {
        field: "concatenated payload",
        len: payload.len(),
        max: 255 * SEGMENT_PAYLOAD,
    })?;
    Ok(payload
        .chunks(SEGMENT_PAYLOAD)
        .zip(1..=total)
        .map(|(chunk, seq)| UserData {
            header: Some(UserDataHeader {
                elements: vec![
                    InformationElement::Concat16 {
                        reference,
                        total,
                        seq,
                    },
                    port.clone(),
                ],
            }),
            data: chunk.to_vec(),
        })
        .collect())
}

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblerConfig {
    /// Largest `total` accepted in a concatenation element.
    pub max_parts: u8,
    /// Largest number of messages being reassembled at once; a new one
    /// beyond it evicts the oldest.
    pub max_pending: usize,
    /// How long an incomplete message is kept after its first part.
    pub timeout: Duration,
}

impl Default for ReassemblerConfig {
    fn default() -> Self {
        ReassemblerConfig {
            max_parts: 16,
            max_pending: 32,
            timeout: Duration::from_secs(300),
        }
    }
}

/// What the reassembler made of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reassembled {
    /// The message is complete (or was never split): its payload and ports.
    Complete {
        /// The joined data.
        data: Vec<u8>,
        /// `(destination, originator)` ports, if addressed.
        ports: Option<(u16, u16)>,
    },
    /// More parts are needed.
    Pending,
    /// The part was dropped: `total` 0 or over the limit, `seq` 0 or past
    /// `total`, or a repeat of a part already held.
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    originator: String,
    reference: u16,
    wide: bool,
    total: u8,
}

#[derive(Debug)]
struct Pending {
    first_seen: Instant,
    parts: Vec<Option<Vec<u8>>>,
    ports: Option<(u16, u16)>,
}

/// Joins concatenated parts, keyed by originator and reference; bounded in
/// parts per message, messages pending, and time (sans-IO: `now` comes in).
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblerConfig,
    pending: HashMap<Key, Pending>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(config: ReassemblerConfig) -> Self {
        Reassembler {
            config,
            pending: HashMap::new(),
        }
    }

    /// Number of incomplete messages held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Offers one received part's user data from `originator`.
    pub fn push(&mut self, now: Instant, originator: &str, ud: &UserData) -> Reassembled {
        self.expire(now);
        let header = ud.header.as_ref();
        let ports = header.and_then(UserDataHeader::ports);
        let Some(c) = header.and_then(UserDataHeader::concat) else {
            return Reassembled::Complete {
                data: ud.data.clone(),
                ports,
            };
        };
        if c.total == 0 || c.total > self.config.max_parts || c.seq == 0 || c.seq > c.total {
            return Reassembled::Rejected;
        }
        if c.total == 1 {
            return Reassembled::Complete {
                data: ud.data.clone(),
                ports,
            };
        }
        let key = Key {
            originator: originator.to_owned(),
            reference: c.reference,
            wide: c.wide,
            total: c.total,
        };
        if !self.pending.contains_key(&key) && self.pending.len() >= self.config.max_pending {
            if let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_seen)
                .map(|(k, _)| k.clone())
            {
                self.pending.remove(&oldest);
            }
            if self.config.max_pending == 0 {
                return Reassembled::Rejected;
            }
        }
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            first_seen: now,
            parts: vec![None; usize::from(c.total)],
            ports: None,
        });
        let slot = &mut entry.parts[usize::from(c.seq - 1)];
        if slot.is_some() {
            return Reassembled::Rejected;
        }
        *slot = Some(ud.data.clone());
        if c.seq == 1 {
            entry.ports = ports;
        }
        if entry.parts.iter().all(Option::is_some) {
            let done = self.pending.remove(&key);
            if let Some(p) = done {
                let data = p.parts.into_iter().flatten().flatten().collect();
                return Reassembled::Complete {
                    data,
                    ports: p.ports.or(ports),
                };
            }
        }
        Reassembled::Pending
    }

    /// Drops messages older than the timeout; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.pending.len();
        let timeout = self.config.timeout;
        self.pending
            .retain(|_, p| now.saturating_duration_since(p.first_seen) < timeout);
        before - self.pending.len()
    }

    /// When the oldest pending message expires, for the driver's timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.first_seen + self.config.timeout)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join() {
        let payload: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let parts = split_binary(&payload, 9200, 9201, 0xBEEF).unwrap();
        assert_eq!(parts.len(), 3);
        for p in &parts {
            let mut v = Vec::new();
            p.emit(crate::Dcs::DATA8, &mut v).unwrap();
            assert!(v.len() <= 141);
        }
        let mut r = Reassembler::new(ReassemblerConfig::default());
        let t = Instant::now();
        assert_eq!(r.push(t, "+1", &parts[2]), Reassembled::Pending);
        assert_eq!(r.push(t, "+1", &parts[2]), Reassembled::Rejected);
        assert_eq!(r.push(t, "+1", &parts[0]), Reassembled::Pending);
        assert_eq!(r.push(t, "+2", &parts[1]), Reassembled::Pending);
        assert_eq!(r.pending(), 2);
        assert_eq!(
            r.push(t, "+1", &parts[1]),
            Reassembled::Complete {
                data: payload,
                ports: Some((9200, 9201))
            }
        );
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn single_part_and_bounds() {
        let parts = split_binary(&[1, 2, 3], 9200, 0, 1).unwrap();
        assert_eq!(parts.len(), 1);
        let mut r = Reassembler::new(ReassemblerConfig {
            max_parts: 2,
            max_pending: 1,
            timeout: Duration::from_secs(10),
        });
        let t = Instant::now();
        assert_eq!(
            r.push(t, "x", &parts[0]),
            Reassembled::Complete {
                data: vec![1, 2, 3],
                ports: Some((9200, 0))
            }
        );
        let big = split_binary(&[0; 400], 1, 2, 3).unwrap();
        assert_eq!(r.push(t, "x", &big[0]), Reassembled::Rejected); // 4 parts > max 2
        let two = split_binary(&[0; 200], 1, 2, 3).unwrap();
        let two_b = split_binary(&[1; 200], 1, 2, 4).unwrap();
        assert_eq!(r.push(t, "x", &two[0]), Reassembled::Pending);
        assert_eq!(r.push(t, "x", &two_b[0]), Reassembled::Pending); // evicts ref 3
        assert_eq!(r.pending(), 1);
        assert_eq!(r.poll_timeout(), Some(t + Duration::from_secs(10)));
        assert_eq!(r.expire(t + Duration::from_secs(10)), 1);
        assert!(split_binary(&vec![0; 256 * SEGMENT_PAYLOAD], 1, 2, 3).is_err());
    }
}
