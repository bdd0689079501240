//! IPA multiplex framing, as used by Osmocom over TCP.
//!
//! Every frame starts with a 3-octet header: a big-endian 16-bit length of
//! the data after the header, then a stream identifier (libosmocore
//! `struct ipaccess_head`). Stream 0xFE carries IPA CCM (connection
//! management: ping, identity), stream 0xEE the Osmocom extensions, whose
//! first data octet names the extension (`struct ipaccess_head_ext`); GSUP
//! is extension 0x05 (osmo-gsm-manuals `gsup.adoc`, "Using IPA").
//!
//! [`Packet`] is a zero-copy view of one frame; [`FrameDecoder`] cuts a TCP
//! byte stream into [`Frame`]s; [`Frame::emit`] writes one. After
//! [`Packet::new_checked`] no accessor panics.

use core::fmt;

use thiserror::Error;

use telsec_wire::open_enum;

/// Octets in the IPA header.
pub const HEADER_LEN: usize = 3;
/// The most data octets one frame can carry (the 16-bit length field).
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize;

mod field {
    use core::ops::{Range, RangeFrom};
    pub const LENGTH: Range<usize> = 0..2;
    pub const STREAM: usize = 2;
    pub const PAYLOAD: RangeFrom<usize> = 3..;
}

open_enum! {
    /// IPA stream identifiers (libosmocore `enum ipaccess_proto`).
    pub enum StreamId {
        Rsl = 0x00 => "RSL",
        Osmo = 0xee => "OSMO",
        MgcpOld = 0xfc => "MGCP_OLD",
        Sccp = 0xfd => "SCCP",
        Ccm = 0xfe => "CCM",
        Oml = 0xff => "OML",
    }
}

open_enum! {
    /// Osmocom extension identifiers carried in stream 0xEE
    /// (libosmocore `enum ipaccess_proto_ext`).
    pub enum OsmoExt {
        Ctrl = 0x00 => "CTRL",
        Mgcp = 0x01 => "MGCP",
        Lac = 0x02 => "LAC",
        Smsc = 0x03 => "SMSC",
        Orc = 0x04 => "ORC",
        Gsup = 0x05 => "GSUP",
        Oap = 0x06 => "OAP",
        Rspro = 0x07 => "RSPRO",
        Pcu = 0x08 => "PCU",
        TcapRouting = 0x09 => "TCAP_ROUTING",
    }
}

/// Why IPA octets were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IpaError {
    /// Fewer octets than the header, or than the header's length says.
    #[error("IPA frame truncated")]
    Truncated,
    /// The header announces more data than the configured maximum; the
    /// stream cannot be resynchronised, so the connection must close.
    #[error("IPA frame of {len} octets exceeds the limit of {max}")]
    FrameTooLong {
        /// Announced data length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// Encoding: more data than the 16-bit length field can describe.
    #[error("IPA payload of {0} octets does not fit a frame")]
    PayloadTooLong(usize),
    /// A stream 0xEE frame without the extension octet.
    #[error("OSMO frame without extension octet")]
    MissingExtension,
    /// A CCM frame without a message type octet.
    #[error("empty CCM message")]
    EmptyCcm,
    /// A CCM identity list item whose length runs past the message, or that
    /// is shorter than its tag.
    #[error("malformed CCM identity element")]
    BadIdentityElement,
    /// The decoder already failed; the connection must be closed.
    #[error("IPA stream desynchronised by an earlier error")]
    Poisoned,
}

/// A read-only or mutable view of one IPA frame.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic.
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking it holds the header and all the data
    /// the header announces (trailing octets are allowed and ignored).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, IpaError> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the buffer length against the header.
    pub fn check_len(&self) -> Result<(), IpaError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < HEADER_LEN + usize::from(self.payload_len()) {
            return Err(IpaError::Truncated);
        }
        Ok(())
    }

    /// The data length from the header.
    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The stream identifier.
    pub fn stream_id(&self) -> StreamId {
        self.buffer.as_ref()[field::STREAM].into()
    }

    /// Header plus data.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    /// The data after the header.
    pub fn payload(&self) -> &[u8] {
        let data = &self.buffer.as_ref()[field::PAYLOAD];
        &data[..usize::from(self.payload_len())]
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the data length.
    pub fn set_payload_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets the stream identifier.
    pub fn set_stream_id(&mut self, id: StreamId) {
        self.buffer.as_mut()[field::STREAM] = id.into();
    }

    /// The data after the header, mutable (to the end of the buffer).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// One owned IPA frame: stream identifier and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Stream identifier.
    pub stream: StreamId,
    /// Data after the header (for stream 0xEE, starting with the extension).
    pub payload: Vec<u8>,
}

impl Frame {
    /// Parses one frame from the start of `data`, returning it and the
    /// octets it used.
    pub fn parse(data: &[u8]) -> Result<(Frame, usize), IpaError> {
        let p = Packet::new_checked(data)?;
        Ok((
            Frame {
                stream: p.stream_id(),
                payload: p.payload().to_vec(),
            },
            p.total_len(),
        ))
    }

    /// A frame in stream 0xEE with the Osmocom extension `ext`.
    pub fn osmo(ext: OsmoExt, data: &[u8]) -> Frame {
        let mut payload = Vec::with_capacity(1 + data.len());
        payload.push(ext.into());
        payload.extend_from_slice(data);
        Frame {
            stream: StreamId::Osmo,
            payload,
        }
    }

    /// For stream 0xEE, the extension and its data.
    pub fn osmo_ext(&self) -> Result<(OsmoExt, &[u8]), IpaError> {
        let (&ext, data) = self
            .payload
            .split_first()
            .ok_or(IpaError::MissingExtension)?;
        Ok((ext.into(), data))
    }

    /// Octets [`Frame::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Appends header and data.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), IpaError> {
        emit_frame(self.stream, &[&self.payload], out)
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, IpaError> {
        let mut out = Vec::with_capacity(self.buffer_len());
        self.emit(&mut out)?;
        Ok(out)
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IPA stream={} len={}", self.stream, self.payload.len())
    }
}

/// Appends one frame whose data is the concatenation of `parts`.
pub fn emit_frame(stream: StreamId, parts: &[&[u8]], out: &mut Vec<u8>) -> Result<(), IpaError> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len16 = u16::try_from(len).map_err(|_| IpaError::PayloadTooLong(len))?;
    out.reserve(HEADER_LEN + len);
    out.extend_from_slice(&len16.to_be_bytes());
    out.push(stream.into());
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(())
}

/// Cuts a TCP byte stream into IPA frames.
///
/// Feed it whatever the socket returned; take complete frames out with
/// [`FrameDecoder::next_frame`]. It holds at most one partial frame plus
/// the octets of the last [`FrameDecoder::feed`], and refuses frames whose
/// announced length exceeds its limit. After an error it stays failed: an
/// IPA stream has no resynchronisation point.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max_payload: usize,
    poisoned: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(MAX_PAYLOAD_LEN)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames with more than `max_payload` data octets.
    /// libosmocore's own receive buffer stops at 1200 octets per frame; the
    /// 16-bit length field stops at 65535.
    pub fn new(max_payload: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            max_payload: max_payload.min(MAX_PAYLOAD_LEN),
            poisoned: false,
        }
    }

    /// Adds received octets.
    pub fn feed(&mut self, data: &[u8]) {
        if self.poisoned {
            return;
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 4096 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Octets received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True once an error has made the stream unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The next complete frame, `Ok(None)` if more octets are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, IpaError> {
        if self.poisoned {
            return Err(IpaError::Poisoned);
        }
        let data = &self.buf[self.start..];
        if data.len() < HEADER_LEN {
            return Ok(None);
        }
        let p = Packet::new_unchecked(data);
        let len = usize::from(p.payload_len());
        if len > self.max_payload {
            self.poisoned = true;
            self.buf = Vec::new();
            self.start = 0;
            return Err(IpaError::FrameTooLong {
                len,
                max: self.max_payload,
            });
        }
        if data.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let frame = Frame {
            stream: p.stream_id(),
            payload: p.payload().to_vec(),
        };
        self.start += HEADER_LEN + len;
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_view() {
        let bytes = [0x00, 0x02, 0xee, 0x05, 0x08, 0xff];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload_len(), 2);
        assert_eq!(p.stream_id(), StreamId::Osmo);
        assert_eq!(p.payload(), [0x05, 0x08]);
        assert_eq!(p.total_len(), 5);
        assert_eq!(
            Packet::new_checked(&bytes[..4]).unwrap_err(),
            IpaError::Truncated
        );
        assert_eq!(
            Packet::new_checked(&bytes[..2]).unwrap_err(),
            IpaError::Truncated
        );

        let mut buf = [0u8; 5];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_payload_len(2);
        p.set_stream_id(StreamId::Ccm);
        p.payload_mut()[..2].copy_from_slice(&[0x00, 0x01]);
        assert_eq!(buf, [0x00, 0x02, 0xfe, 0x00, 0x01]);
    }

    #[test]
    fn frame_round_trip() {
        let f = Frame::osmo(OsmoExt::Gsup, &[0x08, 0x01]);
        let bytes = f.to_vec().unwrap();
        assert_eq!(bytes, [0x00, 0x03, 0xee, 0x05, 0x08, 0x01]);
        assert_eq!(f.buffer_len(), bytes.len());
        let (g, used) = Frame::parse(&bytes).unwrap();
        assert_eq!((g.clone(), used), (f, 6));
        assert_eq!(g.osmo_ext().unwrap(), (OsmoExt::Gsup, &[0x08, 0x01][..]));
        let empty = Frame {
            stream: StreamId::Osmo,
            payload: vec![],
        };
        assert_eq!(empty.osmo_ext().unwrap_err(), IpaError::MissingExtension);
        let big = Frame {
            stream: StreamId::Osmo,
            payload: vec![0; 65536],
        };
        assert_eq!(big.to_vec().unwrap_err(), IpaError::PayloadTooLong(65536));
    }

    #[test]
    fn decoder_reassembles_byte_by_byte() {
        let mut stream = Vec::new();
        Frame {
            stream: StreamId::Ccm,
            payload: vec![0x00],
        }
        .emit(&mut stream)
        .unwrap();
        Frame::osmo(OsmoExt::Gsup, &[1, 2, 3])
            .emit(&mut stream)
            .unwrap();
        Frame {
            stream: StreamId::Ccm,
            payload: vec![],
        }
        .emit(&mut stream)
        .unwrap();
        let mut d = FrameDecoder::default();
        let mut frames = Vec::new();
        for b in &stream {
            d.feed(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].payload, [0x05, 1, 2, 3]);
        assert!(frames[2].payload.is_empty());
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn decoder_limit_poisons() {
        let mut d = FrameDecoder::new(4);
        d.feed(&[0x00, 0x05, 0xee]);
        assert_eq!(
            d.next_frame(),
            Err(IpaError::FrameTooLong { len: 5, max: 4 })
        );
        assert!(d.is_poisoned());
        d.feed(&[0x00, 0x01, 0xfe, 0x00]);
        assert_eq!(d.next_frame(), Err(IpaError::Poisoned));
    }

    #[test]
    fn decoder_compacts() {
        let mut d = FrameDecoder::default();
        let frame = Frame::osmo(OsmoExt::Gsup, &[0; 1000]).to_vec().unwrap();
        for _ in 0..20 {
            d.feed(&frame);
            d.feed(&frame[..10]);
            assert!(d.next_frame().unwrap().is_some());
            d.feed(&frame[10..]);
            assert!(d.next_frame().unwrap().is_some());
            assert!(d.next_frame().unwrap().is_none());
        }
        assert!(d.buf.len() < 3 * frame.len());
    }
}
