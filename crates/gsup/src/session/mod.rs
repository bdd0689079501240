//! Sans-IO GSUP connections over IPA: [`ServerConn`] (the HLR side) and
//! [`ClientConn`] (MSC/SGSN side).
//!
//! Neither touches a socket or a clock. The driver feeds received octets to
//! `handle_bytes`, writes whatever `poll_transmit` returns, takes events
//! from `poll_event`, and calls `handle_timeout(now)` once the instant from
//! `poll_timeout` has passed. After an event carrying a fatal
//! [`SessionError`] (see [`SessionError::is_fatal`]) the session is closed:
//! the driver should drop the TCP connection.
//!
//! The identity exchange follows what Osmocom peers do (libosmocore
//! `ipa.c`, libosmo-abis `input/ipa.c`, osmo-hlr `gsup_server.c`):
//!
//! 1. server → ID_GET listing the tags it wants;
//! 2. client → ID_RESP with those tags, then ID_ACK;
//! 3. server → ID_ACK (osmo-hlr sends it only in answer to the client's
//!    ID_ACK; this server sends it once it has accepted the ID_RESP, which
//!    osmo clients simply log).
//!
//! PING is answered with PONG on both sides; osmo clients PING every 20 s
//! and reconnect when no PONG came back by the next PING.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::ccm::{CcmMessage, CcmMsgType, IdTag};
use crate::ipa::{Frame, FrameDecoder, IpaError, OsmoExt, StreamId, emit_frame};
use crate::message::{GsupError, GsupMessage, error_reply_for};

mod client;
mod server;

pub use client::{ClientConfig, ClientConn, ClientEvent};
pub use server::{ServerConfig, ServerConn, ServerEvent};

/// What went wrong on a GSUP connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The IPA framing is broken (oversized frame); fatal.
    #[error("IPA framing: {0}")]
    Framing(IpaError),
    /// A CCM identity message could not be parsed; fatal, as in libosmo-abis.
    #[error("malformed CCM message: {0}")]
    BadCcm(IpaError),
    /// The peer's ID_RESP lacks a tag osmo-hlr requires; fatal.
    #[error("ID_RESP lacks {0}")]
    IdentityIncomplete(IdTag),
    /// A second ID_RESP after the identity was accepted; ignored, the
    /// identity a route was built on does not change.
    #[error("repeated ID_RESP ignored")]
    IdentityRepeated,
    /// GSUP arrived before the peer identified itself; the message was
    /// dropped (osmo-hlr could not route the answer either).
    #[error("GSUP message before identification dropped")]
    NotIdentified,
    /// A frame on a stream other than CCM and OSMO; ignored.
    #[error("unsupported IPA stream {0}")]
    UnsupportedStream(StreamId),
    /// A stream 0xEE frame for another Osmocom extension; ignored.
    #[error("unsupported Osmocom extension {0}")]
    UnsupportedExtension(OsmoExt),
    /// A CCM message this side does not handle; ignored.
    #[error("unexpected CCM message {0}")]
    UnexpectedCcm(CcmMsgType),
    /// No PONG came back within one ping interval; fatal.
    #[error("no PONG within the ping interval")]
    PingTimeout,
    /// The client did not identify itself in time; fatal.
    #[error("no ID_RESP within the identification timeout")]
    IdentityTimeout,
    /// The session is closed; nothing more is sent or received.
    #[error("session closed")]
    Closed,
    /// Too many GSUP messages queued before the identity exchange finished.
    #[error("send queue full")]
    QueueFull,
    /// A message could not be encoded.
    #[error("cannot encode GSUP message: {0}")]
    Encode(GsupError),
    /// An encoded message does not fit in one IPA frame.
    #[error("cannot frame GSUP message: {0}")]
    Frame(IpaError),
}

impl SessionError {
    /// True when the session is closed by this error and the driver must
    /// drop the connection.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SessionError::Framing(_)
                | SessionError::BadCcm(_)
                | SessionError::IdentityIncomplete(_)
                | SessionError::PingTimeout
                | SessionError::IdentityTimeout
                | SessionError::Closed
        )
    }
}

/// A received GSUP payload that failed to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMessage {
    /// Why decoding failed.
    pub error: GsupError,
    /// The error answer to send, when the payload was a request whose
    /// message type and IMSI could be read (see
    /// [`crate::message::error_reply_for`]). Not sent automatically.
    pub reply: Option<GsupMessage>,
}

/// What one received frame means, before the side-specific handling.
enum Incoming {
    Ccm(CcmMessage),
    Gsup(Vec<u8>),
    Ignored,
    Error(SessionError),
}

/// Sorts a frame by stream and extension (osmo-hlr `osmo_gsup_server_read_cb`).
fn classify(frame: Frame) -> Incoming {
    if frame.payload.is_empty() {
        // libosmocore's receive path discards frames without data.
        return Incoming::Ignored;
    }
    match frame.stream {
        StreamId::Ccm => match CcmMessage::parse(&frame.payload) {
            Ok(msg) => Incoming::Ccm(msg),
            Err(e) => Incoming::Error(SessionError::BadCcm(e)),
        },
        StreamId::Osmo => match frame.osmo_ext() {
            Ok((OsmoExt::Gsup, data)) => Incoming::Gsup(data.to_vec()),
            // OAP handling is compiled out in osmo-hlr; it is silently dropped.
            Ok((OsmoExt::Oap, _)) => Incoming::Ignored,
            Ok((ext, _)) => Incoming::Error(SessionError::UnsupportedExtension(ext)),
            Err(_) => Incoming::Ignored,
        },
        other => Incoming::Error(SessionError::UnsupportedStream(other)),
    }
}

/// Decodes a GSUP payload, preparing the error answer on failure.
fn decode_gsup(data: &[u8]) -> Result<GsupMessage, BadMessage> {
    GsupMessage::decode(data).map_err(|error| {
        let reply = error_reply_for(data, &error);
        BadMessage { error, reply }
    })
}

/// Shared plumbing: the frame decoder and the outgoing frame queue.
#[derive(Debug)]
struct Link {
    decoder: FrameDecoder,
    transmit: VecDeque<Vec<u8>>,
    closed: bool,
}

impl Link {
    fn new(max_frame_payload: usize) -> Link {
        Link {
            decoder: FrameDecoder::new(max_frame_payload),
            transmit: VecDeque::new(),
            closed: false,
        }
    }

    /// Feeds octets and returns the classified frames; a framing error
    /// closes the link and comes last.
    fn receive(&mut self, data: &[u8]) -> Vec<Incoming> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        self.decoder.feed(data);
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => out.push(classify(frame)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Incoming::Error(SessionError::Framing(e)));
                    break;
                }
            }
        }
        out
    }

    fn queue_ccm(&mut self, msg: &CcmMessage) {
        if self.closed {
            return;
        }
        // CCM messages built here are a few dozen octets; they always frame.
        if let Ok(bytes) = msg.to_vec() {
            self.transmit.push_back(bytes);
        }
    }

    fn queue_gsup(&mut self, msg: &GsupMessage) -> Result<(), SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        let bytes = encode_gsup_frame(msg)?;
        self.transmit.push_back(bytes);
        Ok(())
    }

    fn close(&mut self) {
        self.closed = true;
        self.transmit.clear();
    }
}

/// Encodes a GSUP message inside its IPA frame (`00 LL EE 05 ...`).
pub fn encode_gsup_frame(msg: &GsupMessage) -> Result<Vec<u8>, SessionError> {
    let mut body = Vec::with_capacity(64);
    msg.encode(&mut body).map_err(SessionError::Encode)?;
    let mut out = Vec::with_capacity(body.len() + 4);
    emit_frame(StreamId::Osmo, &[&[OsmoExt::Gsup.into()], &body], &mut out)
        .map_err(SessionError::Frame)?;
    Ok(out)
}

/// Periodic PING with a PONG deadline, as osmo GSUP clients do
/// (`OSMO_GSUP_CLIENT_PING_INTERVAL`, 20 s): at every tick a PONG must have
/// arrived since the previous PING, else the link is dead.
#[derive(Debug, Clone)]
struct KeepAlive {
    interval: Duration,
    next_tick: Instant,
    pong_seen: bool,
}

impl KeepAlive {
    /// Starts the cycle: the caller sends the first PING now.
    fn start(interval: Duration, now: Instant) -> KeepAlive {
        KeepAlive {
            interval,
            next_tick: now + interval,
            pong_seen: false,
        }
    }

    fn on_pong(&mut self) {
        self.pong_seen = true;
    }

    /// `Ok(true)`: send a PING now. `Err`: the peer is gone.
    fn tick(&mut self, now: Instant) -> Result<bool, SessionError> {
        if now < self.next_tick {
            return Ok(false);
        }
        if !self.pong_seen {
            return Err(SessionError::PingTimeout);
        }
        self.pong_seen = false;
        self.next_tick = now + self.interval;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
