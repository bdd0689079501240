//! Messages from the node to the home agent (mobile-originated binary SMS to
//! the home agent's service number, ports [`crate::packet::PORT`]).
//!
//! ```text
//! version (1) = 0x01 || type (1) || body
//!   type 0x01  key request   body empty                  (2 octets in all)
//!   type 0x02  resync        RAND (16) || AUTS (14)      (32 octets in all)
//! ```
//!
//! Neither carries anything secret. A key request is honoured only from the
//! MSISDN provisioned for the subscriber and within its rate limit; the
//! answer goes to that MSISDN, never to an address in the message. A resync
//! carries the RAND of the challenge the USIM refused and the AUTS it
//! computed (TS 33.102 §6.3.3), which the home agent hands to the HLR
//! (TS 33.102 §6.3.5); AUTS is authenticated by MAC-S, so a forged one is
//! refused there.

use core::fmt;

/// The message format version.
pub const VERSION: u8 = 1;
const TYPE_KEY_REQUEST: u8 = 0x01;
const TYPE_RESYNC: u8 = 0x02;
const RESYNC_LEN: usize = 2 + 16 + 14;

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Fewer than two octets.
    #[error("truncated request")]
    Truncated,
    /// The version octet is not [`VERSION`].
    #[error("request version {0}")]
    Version(u8),
    /// A message type this version does not define.
    #[error("unknown request type {0:#04x}")]
    UnknownType(u8),
    /// The length does not match the type.
    #[error("request of type {kind:#04x} has {len} octets")]
    Length {
        /// The message type.
        kind: u8,
        /// Its length.
        len: usize,
    },
}

/// A node-to-home-agent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// "Send me a fresh MN-HA key."
    KeyRequest,
    /// "My USIM refused the challenge with this RAND; here is its AUTS."
    Resync {
        /// RAND of the refused challenge.
        rand: [u8; 16],
        /// AUTS = SQN_MS ⊕ AK* || MAC-S.
        auts: [u8; 14],
    },
}

impl Request {
    /// Decode.
    pub fn parse(bytes: &[u8]) -> Result<Request, RequestError> {
        let [version, kind, body @ ..] = bytes else {
            return Err(RequestError::Truncated);
        };
        if *version != VERSION {
            return Err(RequestError::Version(*version));
        }
        let length = RequestError::Length {
            kind: *kind,
            len: bytes.len(),
        };
        match *kind {
            TYPE_KEY_REQUEST if body.is_empty() => Ok(Request::KeyRequest),
            TYPE_RESYNC if bytes.len() == RESYNC_LEN => {
                let mut rand = [0u8; 16];
                let mut auts = [0u8; 14];
                rand.copy_from_slice(&body[..16]);
                auts.copy_from_slice(&body[16..]);
                Ok(Request::Resync { rand, auts })
            }
            TYPE_KEY_REQUEST | TYPE_RESYNC => Err(length),
            other => Err(RequestError::UnknownType(other)),
        }
    }

    /// Octets [`Request::to_bytes`] produces.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::KeyRequest => 2,
            Request::Resync { .. } => RESYNC_LEN,
        }
    }

    /// Encode.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buffer_len());
        out.push(VERSION);
        match self {
            Request::KeyRequest => out.push(TYPE_KEY_REQUEST),
            Request::Resync { rand, auts } => {
                out.push(TYPE_RESYNC);
                out.extend_from_slice(rand);
                out.extend_from_slice(auts);
            }
        }
        out
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::KeyRequest => f.write_str("key request"),
            Request::Resync { rand, .. } => {
                f.write_str("resync for RAND ")?;
                rand.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(Request::KeyRequest.to_bytes(), [1, 1]);
        let r = Request::Resync {
            rand: [7; 16],
            auts: [9; 14],
        };
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[..2], &[1, 2]);
        assert_eq!(Request::parse(&bytes), Ok(r));
        assert_eq!(Request::parse(&[1, 1]), Ok(Request::KeyRequest));
        assert!(r.to_string().starts_with("resync for RAND 0707"));
    }

    #[test]
    fn rejections() {
        assert_eq!(Request::parse(&[]), Err(RequestError::Truncated));
        assert_eq!(Request::parse(&[1]), Err(RequestError::Truncated));
        assert_eq!(Request::parse(&[2, 1]), Err(RequestError::Version(2)));
        assert_eq!(Request::parse(&[1, 3]), Err(RequestError::UnknownType(3)));
        assert_eq!(
            Request::parse(&[1, 1, 0]),
            Err(RequestError::Length { kind: 1, len: 3 })
        );
        assert_eq!(
            Request::parse(&[1, 2, 0]),
            Err(RequestError::Length { kind: 2, len: 3 })
        );
    }
}
