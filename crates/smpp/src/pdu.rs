//! SMPP PDU framing over a byte stream, and the boundary to the `rusmpp`
//! codec (SMPP 3.4 §3.2: a 16-octet header of command_length, command_id,
//! command_status and sequence_number, then the body).
//!
//! [`PduReader`] cuts a byte stream into PDUs and decodes each with
//! `rusmpp`. A PDU that cannot be decoded comes out as
//! [`Inbound::Invalid`] carrying the `command_status` to answer with
//! (SMPP 3.4 §5.1.3): `ESME_RINVCMDLEN` for a bad length, `ESME_RINVCMDID`
//! for a command this crate does not implement, and a field-specific code
//! (`ESME_RINVSRCADR`, `ESME_RINVMSGLEN`, …) when `rusmpp` names the field it
//! failed on. A length too large to buffer is skipped without being stored,
//! so the reader keeps its place in the stream and its memory is bounded.

use bytes::BytesMut;
use rusmpp::decode::DecodeWithLength;
use rusmpp::encode::{Encode, Length};
use rusmpp::fields::SmppField;
use rusmpp::types::AnyOctetString;
use rusmpp::{Command, CommandId, CommandStatus, Pdu};

/// Octets in the PDU header (SMPP 3.4 §3.2).
pub const HEADER_LEN: usize = 16;
/// Default largest PDU accepted: room for a `message_payload` of a few
/// kilobytes (SMPP 3.4 does not fix a limit).
pub const DEFAULT_MAX_PDU: usize = 8192;
/// The bit that marks a response command_id (SMPP 3.4 §5.1.2.1).
pub const RESPONSE_BIT: u32 = 0x8000_0000;
/// The largest sequence number (SMPP 3.4 §5.1.4: 0x00000001 to 0x7FFFFFFF).
pub const MAX_SEQUENCE: u32 = 0x7FFF_FFFF;

/// The SMPP 3.4 request command_ids this crate accepts (SMPP 3.4 §5.1.2.1),
/// their responses being the same value with [`RESPONSE_BIT`] set.
const REQUESTS_34: &[u32] = &[
    0x0000_0001, // bind_receiver
    0x0000_0002, // bind_transmitter
    0x0000_0004, // submit_sm
    0x0000_0005, // deliver_sm
    0x0000_0006, // unbind
    0x0000_0009, // bind_transceiver
    0x0000_0015, // enquire_link
];

/// Whether `id` is a request or response of the implemented SMPP 3.4 set,
/// or generic_nack. query_sm, replace_sm, cancel_sm, outbind, submit_multi,
/// alert_notification, data_sm and every SMPP 5.0 command are answered with
/// generic_nack `ESME_RINVCMDID`.
pub fn is_supported(id: u32) -> bool {
    id == RESPONSE_BIT || REQUESTS_34.contains(&(id & !RESPONSE_BIT))
}

/// Whether `id` names a response (SMPP 3.4 §5.1.2.1).
pub fn is_response(id: u32) -> bool {
    id & RESPONSE_BIT != 0
}

/// The PDU header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// command_length: the whole PDU, header included.
    pub length: u32,
    /// command_id.
    pub id: u32,
    /// command_status.
    pub status: u32,
    /// sequence_number.
    pub sequence: u32,
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        let word = |i: usize| -> Option<u32> {
            let s = b.get(i..i + 4)?;
            Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        };
        Some(Header {
            length: word(0)?,
            id: word(4)?,
            status: word(8)?,
            sequence: word(12)?,
        })
    }
}

/// One unit out of [`PduReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A decoded PDU.
    Command(Box<Command>),
    /// A PDU with a readable header that cannot be accepted; answer it with
    /// `status` (see [`error_response`]).
    Invalid {
        /// Its header.
        header: Header,
        /// The command_status that says why.
        status: CommandStatus,
    },
    /// A command_length below 16: the stream cannot be framed any more.
    /// Answer generic_nack `ESME_RINVCMDLEN` and close (SMPP 3.4 §2.9).
    Unframeable {
        /// Its header.
        header: Header,
    },
}

/// Cuts a byte stream into SMPP PDUs.
#[derive(Debug)]
pub struct PduReader {
    buf: Vec<u8>,
    max_len: usize,
    /// Octets of an oversized PDU still to drop.
    skip: usize,
    broken: bool,
}

impl PduReader {
    /// A reader that accepts PDUs of at most `max_len` octets.
    pub fn new(max_len: usize) -> Self {
        PduReader {
            buf: Vec::new(),
            max_len: max_len.max(HEADER_LEN),
            skip: 0,
            broken: false,
        }
    }

    /// Appends octets read from the peer.
    pub fn push(&mut self, mut data: &[u8]) {
        if self.broken {
            return;
        }
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete PDU, if one has arrived. Call until `None` after
    /// every [`PduReader::push`]; the buffer then holds less than one PDU.
    pub fn next_pdu(&mut self) -> Option<Inbound> {
        if self.broken {
            return None;
        }
        let header = Header::parse(&self.buf)?;
        let len = header.length as usize;
        if len < HEADER_LEN {
            self.broken = true;
            self.buf = Vec::new();
            return Some(Inbound::Unframeable { header });
        }
        if len > self.max_len {
            let have = self.buf.len().min(len);
            self.buf.drain(..have);
            self.skip = len - have;
            return Some(Inbound::Invalid {
                header,
                status: CommandStatus::EsmeRinvcmdlen,
            });
        }
        if self.buf.len() < len {
            return None;
        }
        let frame: Vec<u8> = self.buf.drain(..len).collect();
        Some(decode_frame(header, &frame))
    }

    /// Whether the stream lost framing ([`Inbound::Unframeable`] was returned).
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}

fn decode_frame(header: Header, frame: &[u8]) -> Inbound {
    if !is_supported(header.id) {
        return Inbound::Invalid {
            header,
            status: CommandStatus::EsmeRinvcmdid,
        };
    }
    let body_len = frame.len() - 4;
    let mut src = BytesMut::from(&frame[4..]);
    match Command::decode(&mut src, body_len) {
        Ok((command, used)) if used == body_len && command.pdu().is_some() => {
            Inbound::Command(Box::new(command))
        }
        // A body shorter or longer than its fields, or missing.
        Ok(_) => Inbound::Invalid {
            header,
            status: CommandStatus::EsmeRinvcmdlen,
        },
        Err(e) => Inbound::Invalid {
            header,
            status: status_for(&e),
        },
    }
}

/// The command_status for a decode failure, from the field `rusmpp`
/// names (SMPP 3.4 §5.1.3).
fn status_for(e: &rusmpp::decode::DecodeError) -> CommandStatus {
    let mut err = e;
    while let Some(src) = err.source() {
        let status = match src.field() {
            SmppField::source_addr => Some(CommandStatus::EsmeRinvsrcadr),
            SmppField::destination_addr => Some(CommandStatus::EsmeRinvdstadr),
            SmppField::short_message | SmppField::sm_length | SmppField::message_payload => {
                Some(CommandStatus::EsmeRinvmsglen)
            }
            SmppField::system_id => Some(CommandStatus::EsmeRinvsysid),
            SmppField::password => Some(CommandStatus::EsmeRinvpaswd),
            SmppField::system_type => Some(CommandStatus::EsmeRinvsystyp),
            SmppField::schedule_delivery_time => Some(CommandStatus::EsmeRinvsched),
            SmppField::validity_period => Some(CommandStatus::EsmeRinvexpiry),
            SmppField::service_type => Some(CommandStatus::EsmeRinvsertyp),
            SmppField::message_id => Some(CommandStatus::EsmeRinvmsgid),
            SmppField::tlvs => Some(CommandStatus::EsmeRinvtlvstream),
            _ => None,
        };
        if let Some(s) = status {
            return s;
        }
        err = src.error();
    }
    if matches!(e.kind(), rusmpp::decode::DecodeErrorKind::UnexpectedEof) {
        CommandStatus::EsmeRinvcmdlen
    } else {
        CommandStatus::EsmeRsyserr
    }
}

/// The octets of a PDU, command_length included.
pub fn encode(command: &Command) -> Vec<u8> {
    let len = 4 + command.length();
    let mut out = vec![0u8; len];
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    command.encode(&mut out[4..]);
    out
}

/// A PDU with a header only: generic_nack, enquire_link, unbind and their
/// responses, and every error response (SMPP 3.4 §4: a response body is
/// not returned when command_status is non-zero).
pub fn header_only(id: u32, status: CommandStatus, sequence: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&(HEADER_LEN as u32).to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&u32::from(status).to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out
}

/// The answer to a PDU that could not be accepted (see [`answer_id`]). A
/// response is never answered.
pub fn error_response(header: &Header, status: CommandStatus) -> Option<Vec<u8>> {
    if is_response(header.id) && is_supported(header.id) {
        return None;
    }
    Some(header_only(
        answer_id(header.id, status),
        status,
        header.sequence,
    ))
}

/// The command_id answering a refused request `id`: generic_nack for an
/// invalid command_length or an unknown command_id (SMPP 3.4 §4.3),
/// otherwise the request's own response.
pub fn answer_id(id: u32, status: CommandStatus) -> u32 {
    let nack = matches!(
        status,
        CommandStatus::EsmeRinvcmdlen | CommandStatus::EsmeRinvcmdid
    );
    if nack || !is_supported(id) || is_response(id) {
        RESPONSE_BIT
    } else {
        id | RESPONSE_BIT
    }
}

/// A command of `pdu`, shorthand for [`Command::new`].
pub fn command(status: CommandStatus, sequence: u32, pdu: impl Into<Pdu>) -> Command {
    Command::new(status, sequence, pdu)
}

/// An empty-bodied command with an arbitrary id (used for error responses
/// in tests and by the sessions).
pub fn bare(id: u32, status: CommandStatus, sequence: u32) -> Command {
    Command::new(
        status,
        sequence,
        Pdu::Other {
            command_id: CommandId::from(id),
            body: AnyOctetString::empty(),
        },
    )
}

/// Sequence numbers 1..=0x7FFFFFFF, wrapping (SMPP 3.4 §5.1.4).
#[derive(Debug, Clone, Default)]
pub struct Sequence(u32);

impl Sequence {
    /// The next number.
    pub fn next_seq(&mut self) -> u32 {
        self.0 = if self.0 >= MAX_SEQUENCE {
            1
        } else {
            self.0 + 1
        };
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_len(s: &mut [u8]) {
        let n = s.len() as u32;
        s[..4].copy_from_slice(&n.to_be_bytes());
    }

    fn enquire(seq: u32) -> Vec<u8> {
        header_only(0x15, CommandStatus::EsmeRok, seq)
    }

    #[test]
    fn frames_in_pieces() {
        let mut r = PduReader::new(DEFAULT_MAX_PDU);
        let mut stream = enquire(7);
        stream.extend(enquire(8));
        for chunk in stream.chunks(5) {
            r.push(chunk);
        }
        let a = r.next_pdu().unwrap();
        let b = r.next_pdu().unwrap();
        assert!(r.next_pdu().is_none());
        match (a, b) {
            (Inbound::Command(a), Inbound::Command(b)) => {
                assert_eq!(a.id(), CommandId::EnquireLink);
                assert_eq!((a.sequence_number(), b.sequence_number()), (7, 8));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn round_trip_through_rusmpp() {
        let bytes = encode(&command(CommandStatus::EsmeRok, 3, Pdu::EnquireLinkResp));
        assert_eq!(bytes, header_only(0x8000_0015, CommandStatus::EsmeRok, 3));
    }

    #[test]
    fn bad_lengths_and_ids() {
        // Oversized: skipped without buffering, the next PDU still frames.
        let mut r = PduReader::new(64);
        let mut big = header_only(0x15, CommandStatus::EsmeRok, 1);
        big[..4].copy_from_slice(&1000u32.to_be_bytes());
        r.push(&big);
        assert!(matches!(
            r.next_pdu(),
            Some(Inbound::Invalid { status: CommandStatus::EsmeRinvcmdlen, header }) if header.sequence == 1
        ));
        r.push(&vec![0xAA; 984]);
        r.push(&enquire(2));
        assert!(matches!(r.next_pdu(), Some(Inbound::Command(c)) if c.sequence_number() == 2));

        // Unknown command id: generic_nack ESME_RINVCMDID.
        let h = header_only(0x0000_0111, CommandStatus::EsmeRok, 9); // SMPP 5.0 broadcast_sm
        r.push(&h);
        let Some(Inbound::Invalid { header, status }) = r.next_pdu() else {
            panic!()
        };
        assert_eq!(status, CommandStatus::EsmeRinvcmdid);
        assert_eq!(
            error_response(&header, status).unwrap(),
            header_only(RESPONSE_BIT, CommandStatus::EsmeRinvcmdid, 9)
        );

        // A submit_sm whose body ends early: generic_nack ESME_RINVCMDLEN.
        let mut s = header_only(0x04, CommandStatus::EsmeRok, 4);
        s.extend_from_slice(b"\0");
        fix_len(&mut s);
        r.push(&s);
        let Some(Inbound::Invalid { header, status }) = r.next_pdu() else {
            panic!()
        };
        assert_eq!(
            error_response(&header, status).unwrap(),
            header_only(RESPONSE_BIT, CommandStatus::EsmeRinvcmdlen, 4)
        );
        // One whose source_addr lacks its NUL: submit_sm_resp ESME_RINVSRCADR.
        let mut s = header_only(0x04, CommandStatus::EsmeRok, 5);
        s.extend_from_slice(b"\0\x01\x01123");
        fix_len(&mut s);
        r.push(&s);
        let Some(Inbound::Invalid { header, status }) = r.next_pdu() else {
            panic!()
        };
        assert_eq!(
            error_response(&header, status).unwrap(),
            header_only(0x8000_0004, CommandStatus::EsmeRinvsrcadr, 5)
        );

        // An enquire_link with a body.
        let mut e = enquire(5);
        e.extend_from_slice(&[1, 2, 3]);
        e[..4].copy_from_slice(&19u32.to_be_bytes());
        r.push(&e);
        assert!(matches!(
            r.next_pdu(),
            Some(Inbound::Invalid {
                status: CommandStatus::EsmeRinvcmdlen,
                ..
            })
        ));

        // Length below 16: unframeable, nothing more is read.
        r.push(&[0, 0, 0, 8, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 6]);
        assert!(matches!(r.next_pdu(), Some(Inbound::Unframeable { .. })));
        r.push(&enquire(7));
        assert!(r.next_pdu().is_none());
        assert!(r.is_broken());
    }

    #[test]
    fn field_specific_status() {
        // submit_sm with a 30-character source_addr (the field holds 21).
        let mut s = header_only(0x04, CommandStatus::EsmeRok, 4);
        s.push(0); // service_type
        s.extend_from_slice(&[1, 1]);
        s.extend_from_slice(&[b'1'; 30]);
        s.push(0);
        s.extend_from_slice(&[0u8; 40]);
        fix_len(&mut s);
        let mut r = PduReader::new(DEFAULT_MAX_PDU);
        r.push(&s);
        assert!(matches!(
            r.next_pdu(),
            Some(Inbound::Invalid {
                status: CommandStatus::EsmeRinvsrcadr,
                ..
            })
        ));
    }

    #[test]
    fn responses_are_not_answered() {
        let h = Header {
            length: 16,
            id: 0x8000_0004,
            status: 0,
            sequence: 1,
        };
        assert_eq!(error_response(&h, CommandStatus::EsmeRinvcmdlen), None);
        let mut s = Sequence::default();
        assert_eq!(s.next_seq(), 1);
        s.0 = MAX_SEQUENCE;
        assert_eq!(s.next_seq(), 1);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small xorshift stream of PDU-shaped noise.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let n = (rnd() % 200) as usize;
            let mut pdu: Vec<u8> = (0..n + 16).map(|_| rnd() as u8).collect();
            pdu[..4].copy_from_slice(&((n + 16) as u32).to_be_bytes());
            let ids = [
                1u32,
                2,
                4,
                5,
                6,
                9,
                0x15,
                0x8000_0001,
                0x8000_0004,
                0x8000_0005,
                0x8000_0009,
            ];
            let id = ids[(rnd() % ids.len() as u64) as usize];
            pdu[4..8].copy_from_slice(&id.to_be_bytes());
            let mut r = PduReader::new(DEFAULT_MAX_PDU);
            r.push(&pdu);
            assert!(r.next_pdu().is_some());
        }
    }
}
