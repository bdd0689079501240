//! Sealing and opening ConfigRequest and ConfigResponse: AES-256-GCM
//! (NIST SP 800-38D; as an AEAD, RFC 5116 §5.2) under the direction's key
//! of [`crate::keys`].
//!
//! - nonce (12 octets) = direction label (4) || sequence as a 64-bit
//!   big-endian integer (8): unique per key because each direction has its
//!   own key and a side seals at most one plaintext per sequence number;
//!   retransmissions resend the same octets, they never re-encrypt;
//! - AAD = the 16 header octets (version, type, length, session id,
//!   sequence), so none of them can be changed or moved to another session;
//! - body = ciphertext || 16-octet tag.
//!
//! Replay: [`ReplayGuard`] accepts each sequence number once, strictly
//! increasing. Opening never changes state; the caller commits the
//! sequence with [`ReplayGuard::commit`] only after the whole message has
//! been accepted.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use crate::keys::{Direction, SessionKeys};
use crate::message::{HEADER_LEN, Header, MAX_MESSAGE_LEN, MessageError, Packet};

/// Octets of the GCM tag.
pub const TAG_LEN: usize = 16;
/// The largest plaintext that fits one message.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - HEADER_LEN - TAG_LEN;

/// Why a sealed message was not built or not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The message does not parse.
    #[error("malformed sealed message: {0}")]
    Message(#[from] MessageError),
    /// The message is not of the sealed type expected here.
    #[error("not a sealed message of the expected type")]
    WrongType,
    /// The tag did not verify: altered octets, another session's or
    /// direction's key, or a moved header.
    #[error("authentication tag does not verify")]
    BadTag,
    /// The sequence number was accepted before (or is older).
    #[error("sequence {0} replayed")]
    Replayed(u32),
    /// The plaintext does not fit one message.
    #[error("plaintext of {0} octets too long")]
    TooLong(usize),
}

/// The GCM nonce for `direction` and `sequence`.
fn nonce(direction: Direction, sequence: u32) -> Nonce<aes_gcm::aes::cipher::consts::U12> {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(&direction.label());
    n[4..].copy_from_slice(&u64::from(sequence).to_be_bytes());
    Nonce::from(n)
}

fn cipher(keys: &SessionKeys, direction: Direction) -> Aes256Gcm {
    Aes256Gcm::new(&(*keys.key(direction)).into())
}

/// Seals `plaintext` into a whole message with `header` (whose type must be
/// ConfigRequest or ConfigResponse).
pub fn seal(
    keys: &SessionKeys,
    direction: Direction,
    header: &Header,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(SealError::TooLong(plaintext.len()));
    }
    let total = HEADER_LEN + plaintext.len() + TAG_LEN;
    let total16 = u16::try_from(total).map_err(|_| SealError::TooLong(plaintext.len()))?;
    let aad = header.to_bytes(total16);
    let ct = cipher(keys, direction)
        .encrypt(
            &nonce(direction, header.sequence),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::TooLong(plaintext.len()))?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&aad);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a sealed message travelling in `direction`; returns its header and
/// the plaintext. Changes no state.
pub fn open(
    keys: &SessionKeys,
    direction: Direction,
    message: &[u8],
) -> Result<(Header, Zeroizing<Vec<u8>>), SealError> {
    let packet = Packet::new_checked(message)?;
    let header = packet.header();
    let expected = match direction {
        Direction::NodeToHa => crate::message::MessageType::ConfigRequest,
        Direction::HaToNode => crate::message::MessageType::ConfigResponse,
    };
    if header.msg_type != expected {
        return Err(SealError::WrongType);
    }
    if packet.body().len() <= TAG_LEN {
        return Err(MessageError::ShortSealed.into());
    }
    let pt = cipher(keys, direction)
        .decrypt(
            &nonce(direction, header.sequence),
            Payload {
                msg: packet.body(),
                aad: packet.header_bytes(),
            },
        )
        .map_err(|_| SealError::BadTag)?;
    Ok((header, Zeroizing::new(pt)))
}

/// Accepts each sequence number once: a number must exceed every number
/// committed before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayGuard {
    highest: Option<u32>,
}

impl ReplayGuard {
    /// A guard that has accepted nothing.
    pub fn new() -> Self {
        ReplayGuard::default()
    }

    /// Whether `sequence` would be accepted.
    pub fn check(&self, sequence: u32) -> Result<(), SealError> {
        match self.highest {
            Some(h) if sequence <= h => Err(SealError::Replayed(sequence)),
            _ => Ok(()),
        }
    }

    /// Records `sequence` as accepted.
    pub fn commit(&mut self, sequence: u32) {
        self.highest = Some(self.highest.map_or(sequence, |h| h.max(sequence)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MessageType, SessionId};

    fn keys(seed: u8) -> SessionKeys {
        SessionKeys::derive(&[seed; 64], SessionId([3; 8]), &[4; 16], "ha")
    }

    fn header(seq: u32) -> Header {
        Header {
            msg_type: MessageType::ConfigRequest,
            session_id: SessionId([3; 8]),
            sequence: seq,
        }
    }

    #[test]
    fn seal_then_open() {
        let k = keys(1);
        let msg = seal(&k, Direction::NodeToHa, &header(5), b"hello").unwrap();
        assert_eq!(msg.len(), HEADER_LEN + 5 + TAG_LEN);
        let (h, pt) = open(&k, Direction::NodeToHa, &msg).unwrap();
        assert_eq!(h, header(5));
        assert_eq!(&pt[..], b"hello");
    }

    #[test]
    fn any_altered_octet_is_refused() {
        let k = keys(1);
        let msg = seal(&k, Direction::NodeToHa, &header(5), b"hello world").unwrap();
        for i in 0..msg.len() {
            let mut bad = msg.clone();
            bad[i] ^= 0x01;
            assert!(open(&k, Direction::NodeToHa, &bad).is_err(), "octet {i}");
        }
    }

    #[test]
    fn wrong_key_direction_or_type_is_refused() {
        let k = keys(1);
        let msg = seal(&k, Direction::NodeToHa, &header(5), b"hello").unwrap();
        assert_eq!(
            open(&keys(2), Direction::NodeToHa, &msg).unwrap_err(),
            SealError::BadTag
        );
        assert_eq!(
            open(&k, Direction::HaToNode, &msg).unwrap_err(),
            SealError::WrongType
        );
        // Sealed under the HA->node key but labelled as a request.
        let mut h = header(5);
        h.msg_type = MessageType::ConfigRequest;
        let swapped = seal(&k, Direction::HaToNode, &h, b"hello").unwrap();
        assert_eq!(
            open(&k, Direction::NodeToHa, &swapped).unwrap_err(),
            SealError::BadTag
        );
    }

    #[test]
    fn plaintext_bounds() {
        let k = keys(1);
        assert_eq!(
            seal(&k, Direction::NodeToHa, &header(1), b"").unwrap_err(),
            SealError::TooLong(0)
        );
        let big = vec![0u8; MAX_PLAINTEXT_LEN + 1];
        assert!(seal(&k, Direction::NodeToHa, &header(1), &big).is_err());
        let max = vec![0u8; MAX_PLAINTEXT_LEN];
        let msg = seal(&k, Direction::NodeToHa, &header(1), &max).unwrap();
        assert_eq!(msg.len(), MAX_MESSAGE_LEN);
        assert!(open(&k, Direction::NodeToHa, &msg).is_ok());
    }

    #[test]
    fn replay_guard_is_strictly_increasing() {
        let mut g = ReplayGuard::new();
        assert!(g.check(0).is_ok());
        g.commit(3);
        assert_eq!(g.check(3).unwrap_err(), SealError::Replayed(3));
        assert_eq!(g.check(2).unwrap_err(), SealError::Replayed(2));
        assert!(g.check(4).is_ok());
        g.commit(1);
        assert!(g.check(3).is_err());
    }
}
