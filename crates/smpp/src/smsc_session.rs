//! The SMSC side of one ESME connection, sans-IO: octets and instants in,
//! octets and events out.
//!
//! SMPP 3.4 §2.2–§2.4: the ESME opens with bind_transmitter, bind_receiver
//! or bind_transceiver; before that every other request is refused with
//! `ESME_RINVBNDSTS`, and a second bind with `ESME_RALYBND`. A bind names
//! a configured account: an unknown system_id gets `ESME_RINVSYSID`, a
//! wrong password `ESME_RINVPASWD`. Once bound, submit_sm is checked
//! ([`crate::submission::check`]) and handed up as [`SmscEvent::Submit`];
//! the driver answers with [`SmscSession::answer_submit`] once the SMS
//! centre accepted or refused it. While more than
//! [`SmscSessionConfig::max_pending_submits`] wait for that answer, further
//! submits get `ESME_RTHROTTLED` (§5.1.3). deliver_sm goes out through a
//! window of outstanding requests with a response timer; enquire_link
//! keeps an idle link checked (§4.11); unbind ends the session (§4.2).
//! Undecodable PDUs are answered as [`crate::pdu`] describes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use rusmpp::pdus::{
    BindReceiverResp, BindTransceiverResp, BindTransmitterResp, DeliverSm, SubmitSmResp,
};
use rusmpp::types::COctetString;
use rusmpp::values::InterfaceVersion;
use rusmpp::{CommandStatus, Pdu};

use crate::SmppError;
use crate::centre::DeliveryId;
use crate::pdu::{self, Inbound, PduReader, Sequence, header_only, is_response};
use crate::submission::{Submission, check};

/// An ESME account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// system_id it binds with (at most 15 characters).
    pub system_id: String,
    /// Its password (at most 8 characters).
    pub password: String,
}

/// Settings of an [`SmscSession`].
#[derive(Debug, Clone)]
pub struct SmscSessionConfig {
    /// The SMSC's own system_id, sent in bind responses.
    pub system_id: String,
    /// Who may bind.
    pub accounts: Vec<Account>,
    /// Largest PDU accepted.
    pub max_pdu: usize,
    /// Submits handed up and not yet answered before `ESME_RTHROTTLED`.
    pub max_pending_submits: usize,
    /// Outstanding deliver_sm requests.
    pub window: usize,
    /// deliver_sm waiting for the window.
    pub backlog: usize,
    /// How long a deliver_sm or enquire_link waits for its response.
    pub response_timeout: Duration,
    /// Idle time before the SMSC checks the link with enquire_link.
    pub enquire_link_interval: Duration,
    /// How long a connection may stay unbound.
    pub bind_timeout: Duration,
}

impl Default for SmscSessionConfig {
    fn default() -> Self {
        SmscSessionConfig {
            system_id: "telsec".into(),
            accounts: Vec::new(),
            max_pdu: pdu::DEFAULT_MAX_PDU,
            max_pending_submits: 64,
            window: 10,
            backlog: 100,
            response_timeout: Duration::from_secs(10),
            enquire_link_interval: Duration::from_secs(30),
            bind_timeout: Duration::from_secs(30),
        }
    }
}

/// How an ESME bound (SMPP 3.4 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    /// bind_transmitter: submits only.
    Transmitter,
    /// bind_receiver: receives deliver_sm only.
    Receiver,
    /// bind_transceiver: both.
    Transceiver,
}

impl BindMode {
    /// Whether submit_sm is allowed.
    pub fn transmits(self) -> bool {
        self != BindMode::Receiver
    }
    /// Whether deliver_sm may be sent.
    pub fn receives(self) -> bool {
        self != BindMode::Transmitter
    }
}

/// Why a session closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The ESME sent unbind.
    PeerUnbound,
    /// The SMSC's unbind was answered (or not, in time).
    Unbound,
    /// No bind within the bind timeout.
    BindTimeout,
    /// enquire_link went unanswered.
    LinkTimeout,
    /// A command_length below 16: the stream cannot be framed.
    Unframeable,
}

/// What the session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmscEvent {
    /// The ESME bound.
    Bound {
        /// Its system_id.
        system_id: String,
        /// How.
        mode: BindMode,
        /// Its interface_version.
        interface_version: u8,
        /// Its address_range.
        address_range: String,
    },
    /// A bind was refused.
    BindRefused {
        /// The system_id it named.
        system_id: String,
        /// Why.
        status: CommandStatus,
    },
    /// A checked submit_sm; answer it with [`SmscSession::answer_submit`].
    Submit {
        /// Its sequence_number.
        sequence: u32,
        /// The message.
        submission: Box<Submission>,
    },
    /// A request was refused without reaching the driver (bad PDU, bad
    /// field, wrong state, throttled).
    Refused {
        /// Its command_id.
        command_id: u32,
        /// The command_status sent back.
        status: CommandStatus,
    },
    /// A deliver_sm ended: the response's status, or `None` when none came
    /// (timeout or closed connection).
    DeliverResult {
        /// The id given to [`SmscSession::deliver`].
        delivery: DeliveryId,
        /// deliver_sm_resp command_status.
        status: Option<CommandStatus>,
    },
    /// The session is over; close the connection after writing what
    /// [`SmscSession::poll_transmit`] still holds.
    Closed(CloseReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open { deadline: Instant },
    Bound { mode: BindMode },
    Unbinding { sequence: u32, deadline: Instant },
    Closed,
}

/// One ESME connection; see the module documentation.
#[derive(Debug)]
pub struct SmscSession {
    config: SmscSessionConfig,
    own_id: COctetString<1, 16>,
    reader: PduReader,
    state: State,
    seq: Sequence,
    last_rx: Instant,
    pending_submits: HashSet<u32>,
    outstanding: HashMap<u32, (DeliveryId, Instant)>,
    backlog: VecDeque<(DeliveryId, DeliverSm)>,
    enquire: Option<(u32, Instant)>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SmscEvent>,
}

/// Compares secrets without an early exit on the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    diff == 0
}

impl SmscSession {
    /// A session for a freshly accepted connection.
    pub fn new(config: SmscSessionConfig, now: Instant) -> Self {
        let own_id = COctetString::from_string(config.system_id.clone())
            .or_else(|_| COctetString::from_string("telsec".to_owned()))
            .unwrap_or_default();
        SmscSession {
            reader: PduReader::new(config.max_pdu),
            state: State::Open {
                deadline: now + config.bind_timeout,
            },
            own_id,
            config,
            seq: Sequence::default(),
            last_rx: now,
            pending_submits: HashSet::new(),
            outstanding: HashMap::new(),
            backlog: VecDeque::new(),
            enquire: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// How the ESME is bound, if it is.
    pub fn bind_mode(&self) -> Option<BindMode> {
        match self.state {
            State::Bound { mode } => Some(mode),
            _ => None,
        }
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Feeds octets read from the ESME.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.last_rx = now;
        self.reader.push(data);
        while !self.is_closed() {
            let Some(inbound) = self.reader.next_pdu() else {
                break;
            };
            self.on_inbound(now, inbound);
        }
    }

    /// Answers submit_sm `sequence`: its message_id, or the command_status
    /// refusing it.
    pub fn answer_submit(&mut self, sequence: u32, result: Result<String, CommandStatus>) {
        if !self.pending_submits.remove(&sequence) || self.is_closed() {
            return;
        }
        match result.and_then(|id| {
            crate::convert::c_string::<1, 65>(&id, "message_id")
                .map_err(|_| CommandStatus::EsmeRsyserr)
        }) {
            Ok(id) => self.send(
                CommandStatus::EsmeRok,
                sequence,
                Pdu::SubmitSmResp(SubmitSmResp::new(id, Vec::new())),
            ),
            Err(status) => self
                .transmit
                .push_back(header_only(0x8000_0004, status, sequence)),
        }
    }

    /// Sends a deliver_sm; its end comes as [`SmscEvent::DeliverResult`].
    pub fn deliver(
        &mut self,
        now: Instant,
        delivery: DeliveryId,
        deliver_sm: DeliverSm,
    ) -> Result<(), SmppError> {
        match self.state {
            State::Closed | State::Unbinding { .. } => return Err(SmppError::Closed),
            State::Bound { mode } if mode.receives() => {}
            _ => return Err(SmppError::NotBound),
        }
        if self.outstanding.len() < self.config.window {
            self.send_deliver(now, delivery, deliver_sm);
            Ok(())
        } else if self.backlog.len() < self.config.backlog {
            self.backlog.push_back((delivery, deliver_sm));
            Ok(())
        } else {
            Err(SmppError::WindowFull)
        }
    }

    /// Ends the session from the SMSC side (SMPP 3.4 §4.2).
    pub fn unbind(&mut self, now: Instant) {
        match self.state {
            State::Bound { .. } => {
                let sequence = self.seq.next_seq();
                self.send(CommandStatus::EsmeRok, sequence, Pdu::Unbind);
                self.state = State::Unbinding {
                    sequence,
                    deadline: now + self.config.response_timeout,
                };
            }
            State::Open { .. } => self.close(CloseReason::Unbound),
            State::Unbinding { .. } | State::Closed => {}
        }
    }

    /// Octets to write to the ESME.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SmscEvent> {
        self.events.pop_front()
    }

    /// When [`SmscSession::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match self.state {
            State::Open { deadline } | State::Unbinding { deadline, .. } => Some(deadline),
            State::Bound { .. } if self.enquire.is_none() => {
                Some(self.last_rx + self.config.enquire_link_interval)
            }
            State::Bound { .. } | State::Closed => None,
        };
        let responses = self.outstanding.values().map(|(_, d)| *d);
        state
            .into_iter()
            .chain(self.enquire.map(|(_, d)| d))
            .chain(responses)
            .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Open { deadline } if deadline <= now => {
                return self.close(CloseReason::BindTimeout);
            }
            State::Unbinding { deadline, .. } if deadline <= now => {
                return self.close(CloseReason::Unbound);
            }
            _ => {}
        }
        if self.enquire.is_some_and(|(_, d)| d <= now) {
            return self.close(CloseReason::LinkTimeout);
        }
        let expired: Vec<u32> = self
            .outstanding
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(s, _)| *s)
            .collect();
        for s in expired {
            if let Some((delivery, _)) = self.outstanding.remove(&s) {
                self.events.push_back(SmscEvent::DeliverResult {
                    delivery,
                    status: None,
                });
            }
        }
        self.fill_window(now);
        if matches!(self.state, State::Bound { .. })
            && self.enquire.is_none()
            && self.last_rx + self.config.enquire_link_interval <= now
        {
            let sequence = self.seq.next_seq();
            self.send(CommandStatus::EsmeRok, sequence, Pdu::EnquireLink);
            self.enquire = Some((sequence, now + self.config.response_timeout));
        }
    }

    fn send(&mut self, status: CommandStatus, sequence: u32, body: Pdu) {
        self.transmit
            .push_back(pdu::encode(&pdu::command(status, sequence, body)));
    }

    fn refuse(&mut self, command_id: u32, sequence: u32, status: CommandStatus) {
        let id = pdu::answer_id(command_id, status);
        self.transmit.push_back(header_only(id, status, sequence));
        self.events
            .push_back(SmscEvent::Refused { command_id, status });
    }

    fn send_deliver(&mut self, now: Instant, delivery: DeliveryId, deliver_sm: DeliverSm) {
        let sequence = self.seq.next_seq();
        self.send(CommandStatus::EsmeRok, sequence, Pdu::DeliverSm(deliver_sm));
        self.outstanding
            .insert(sequence, (delivery, now + self.config.response_timeout));
    }

    fn fill_window(&mut self, now: Instant) {
        while self.outstanding.len() < self.config.window {
            let Some((d, sm)) = self.backlog.pop_front() else {
                break;
            };
            self.send_deliver(now, d, sm);
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed;
        self.pending_submits.clear();
        self.enquire = None;
        let mut lost: Vec<DeliveryId> = self.outstanding.drain().map(|(_, (d, _))| d).collect();
        lost.sort();
        lost.extend(self.backlog.drain(..).map(|(d, _)| d));
        for delivery in lost {
            self.events.push_back(SmscEvent::DeliverResult {
                delivery,
                status: None,
            });
        }
        self.events.push_back(SmscEvent::Closed(reason));
    }

    fn on_response(&mut self, now: Instant, id: u32, sequence: u32, status: CommandStatus) {
        if self.enquire.is_some_and(|(s, _)| s == sequence) {
            self.enquire = None;
        }
        if let State::Unbinding { sequence: s, .. } = self.state
            && s == sequence
            && (id == 0x8000_0006 || id == pdu::RESPONSE_BIT)
        {
            return self.close(CloseReason::Unbound);
        }
        if (id == 0x8000_0005 || id == pdu::RESPONSE_BIT)
            && let Some((delivery, _)) = self.outstanding.remove(&sequence)
        {
            self.events.push_back(SmscEvent::DeliverResult {
                delivery,
                status: Some(status),
            });
            self.fill_window(now);
        }
    }

    fn on_inbound(&mut self, now: Instant, inbound: Inbound) {
        let command = match inbound {
            Inbound::Unframeable { header } => {
                self.transmit.push_back(header_only(
                    pdu::RESPONSE_BIT,
                    CommandStatus::EsmeRinvcmdlen,
                    header.sequence,
                ));
                return self.close(CloseReason::Unframeable);
            }
            Inbound::Invalid { header, status } => {
                if is_response(header.id) {
                    let st = CommandStatus::from(header.status);
                    return self.on_response(now, header.id, header.sequence, st);
                }
                return self.refuse(header.id, header.sequence, status);
            }
            Inbound::Command(c) => c,
        };
        let sequence = command.sequence_number();
        let id = u32::from(command.id());
        let Some(body) = command.pdu() else {
            return self.refuse(id, sequence, CommandStatus::EsmeRinvcmdlen);
        };
        match body {
            Pdu::BindTransmitter(b) => self.on_bind(
                sequence,
                BindMode::Transmitter,
                b.system_id.as_str(),
                b.password.as_str(),
                u8::from(b.interface_version),
                b.address_range.as_str(),
            ),
            Pdu::BindReceiver(b) => self.on_bind(
                sequence,
                BindMode::Receiver,
                b.system_id.as_str(),
                b.password.as_str(),
                u8::from(b.interface_version),
                b.address_range.as_str(),
            ),
            Pdu::BindTransceiver(b) => self.on_bind(
                sequence,
                BindMode::Transceiver,
                b.system_id.as_str(),
                b.password.as_str(),
                u8::from(b.interface_version),
                b.address_range.as_str(),
            ),
            Pdu::SubmitSm(sm) => {
                if !self.bind_mode().is_some_and(BindMode::transmits) {
                    return self.refuse(id, sequence, CommandStatus::EsmeRinvbndsts);
                }
                if self.pending_submits.len() >= self.config.max_pending_submits {
                    return self.refuse(id, sequence, CommandStatus::EsmeRthrottled);
                }
                match check(sm) {
                    Ok(submission) => {
                        self.pending_submits.insert(sequence);
                        self.events.push_back(SmscEvent::Submit {
                            sequence,
                            submission: Box::new(submission),
                        });
                    }
                    Err(status) => self.refuse(id, sequence, status),
                }
            }
            Pdu::EnquireLink => self.send(CommandStatus::EsmeRok, sequence, Pdu::EnquireLinkResp),
            Pdu::Unbind => {
                if matches!(self.state, State::Bound { .. } | State::Unbinding { .. }) {
                    self.send(CommandStatus::EsmeRok, sequence, Pdu::UnbindResp);
                    self.close(CloseReason::PeerUnbound);
                } else {
                    self.refuse(id, sequence, CommandStatus::EsmeRinvbndsts);
                }
            }
            Pdu::DeliverSmResp(_)
            | Pdu::EnquireLinkResp
            | Pdu::UnbindResp
            | Pdu::GenericNack
            | Pdu::Other { .. }
                if is_response(id) =>
            {
                self.on_response(now, id, sequence, command.status());
            }
            // Responses to requests an SMSC never sends are dropped.
            _ if is_response(id) => {}
            // deliver_sm flows SMSC to ESME only (SMPP 3.4 §4.6).
            _ => {
                self.transmit.push_back(header_only(
                    pdu::RESPONSE_BIT,
                    CommandStatus::EsmeRinvcmdid,
                    sequence,
                ));
                self.events.push_back(SmscEvent::Refused {
                    command_id: id,
                    status: CommandStatus::EsmeRinvcmdid,
                });
            }
        }
    }

    fn on_bind(
        &mut self,
        sequence: u32,
        mode: BindMode,
        system_id: &str,
        password: &str,
        interface_version: u8,
        address_range: &str,
    ) {
        let resp_id = match mode {
            BindMode::Receiver => 0x8000_0001,
            BindMode::Transmitter => 0x8000_0002,
            BindMode::Transceiver => 0x8000_0009,
        };
        let status = if !matches!(self.state, State::Open { .. }) {
            CommandStatus::EsmeRalybnd
        } else {
            match self
                .config
                .accounts
                .iter()
                .find(|a| a.system_id == system_id)
            {
                None => CommandStatus::EsmeRinvsysid,
                Some(a) if !same_secret(a.password.as_bytes(), password.as_bytes()) => {
                    CommandStatus::EsmeRinvpaswd
                }
                Some(_) => CommandStatus::EsmeRok,
            }
        };
        if status != CommandStatus::EsmeRok {
            self.transmit
                .push_back(header_only(resp_id, status, sequence));
            self.events.push_back(SmscEvent::BindRefused {
                system_id: system_id.to_owned(),
                status,
            });
            return;
        }
        // sc_interface_version is an SMPP 3.4 TLV; older ESMEs get none.
        let version = (interface_version >= 0x34).then_some(InterfaceVersion::Smpp3_4);
        let id = self.own_id.clone();
        let body = match mode {
            BindMode::Receiver => Pdu::BindReceiverResp(BindReceiverResp::new(id, version)),
            BindMode::Transmitter => {
                Pdu::BindTransmitterResp(BindTransmitterResp::new(id, version))
            }
            BindMode::Transceiver => {
                Pdu::BindTransceiverResp(BindTransceiverResp::new(id, version))
            }
        };
        self.send(CommandStatus::EsmeRok, sequence, body);
        self.state = State::Bound { mode };
        self.events.push_back(SmscEvent::Bound {
            system_id: system_id.to_owned(),
            mode,
            interface_version,
            address_range: address_range.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdu::{DEFAULT_MAX_PDU, Header};
    use rusmpp::pdus::{BindTransceiver, BindTransmitter, DeliverSmResp, SubmitSm};
    use rusmpp::types::OctetString;
    use rusmpp::values::{DataCoding, EsmClass, Npi, Ton};
    use rusmpp::{Command, CommandId};

    fn config() -> SmscSessionConfig {
        SmscSessionConfig {
            accounts: vec![Account {
                system_id: "ha".into(),
                password: "secret".into(),
            }],
            max_pending_submits: 2,
            window: 1,
            backlog: 1,
            ..SmscSessionConfig::default()
        }
    }

    fn bind_pdu(seq: u32, system_id: &str, password: &str) -> Vec<u8> {
        let b = BindTransceiver::new(
            system_id.parse().unwrap(),
            password.parse().unwrap(),
            "".parse().unwrap(),
            InterfaceVersion::Smpp3_4,
            Ton::Unknown,
            Npi::Unknown,
            "".parse().unwrap(),
        );
        pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            seq,
            Pdu::BindTransceiver(b),
        ))
    }

    fn submit_pdu(seq: u32, dest: &str, esm: u8, coding: u8, msg: &[u8]) -> Vec<u8> {
        let sm = SubmitSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr("4420000001".parse().unwrap())
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(dest.parse().unwrap())
            .esm_class(EsmClass::from(esm))
            .data_coding(DataCoding::from(coding))
            .short_message(OctetString::from_slice(msg).unwrap())
            .build();
        pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            seq,
            Pdu::SubmitSm(sm),
        ))
    }

    /// Everything the session sent, decoded.
    fn sent(s: &mut SmscSession) -> Vec<Command> {
        let mut r = PduReader::new(DEFAULT_MAX_PDU);
        let mut out = Vec::new();
        while let Some(b) = s.poll_transmit() {
            r.push(&b);
            while let Some(i) = r.next_pdu() {
                match i {
                    Inbound::Command(c) => out.push(*c),
                    Inbound::Invalid { header, .. } => out.push(bare(header)),
                    Inbound::Unframeable { header } => out.push(bare(header)),
                }
            }
        }
        out
    }

    /// A header-only PDU as a command (error responses have no body).
    fn bare(h: Header) -> Command {
        pdu::bare(h.id, CommandStatus::from(h.status), h.sequence)
    }

    fn one(s: &mut SmscSession) -> (u32, CommandStatus, u32) {
        let v = sent(s);
        assert_eq!(v.len(), 1, "{v:?}");
        (u32::from(v[0].id()), v[0].status(), v[0].sequence_number())
    }

    fn events(s: &mut SmscSession) -> Vec<SmscEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn bound(now: Instant) -> SmscSession {
        let mut s = SmscSession::new(config(), now);
        s.handle_input(now, &bind_pdu(1, "ha", "secret"));
        let v = sent(&mut s);
        let Some(Pdu::BindTransceiverResp(r)) = v[0].pdu() else {
            panic!("{v:?}")
        };
        assert_eq!(r.system_id.as_str(), "telsec");
        assert_eq!(r.sc_interface_version(), Some(InterfaceVersion::Smpp3_4));
        assert!(
            matches!(&events(&mut s)[..], [SmscEvent::Bound { system_id, mode: BindMode::Transceiver, interface_version: 0x34, .. }] if system_id == "ha")
        );
        s
    }

    #[test]
    fn bind_checks() {
        let now = Instant::now();
        let mut s = SmscSession::new(config(), now);
        s.handle_input(now, &bind_pdu(1, "ha", "wrong"));
        assert_eq!(one(&mut s), (0x8000_0009, CommandStatus::EsmeRinvpaswd, 1));
        s.handle_input(now, &bind_pdu(2, "nobody", "secret"));
        assert_eq!(one(&mut s), (0x8000_0009, CommandStatus::EsmeRinvsysid, 2));
        assert!(matches!(
            &events(&mut s)[..],
            [
                SmscEvent::BindRefused {
                    status: CommandStatus::EsmeRinvpaswd,
                    ..
                },
                SmscEvent::BindRefused {
                    status: CommandStatus::EsmeRinvsysid,
                    ..
                }
            ]
        ));
        // Before a bind: submit and unbind refused, enquire_link answered.
        s.handle_input(now, &submit_pdu(3, "1", 0, 0, b"x"));
        assert_eq!(one(&mut s), (0x8000_0004, CommandStatus::EsmeRinvbndsts, 3));
        s.handle_input(now, &header_only(6, CommandStatus::EsmeRok, 4));
        assert_eq!(one(&mut s), (0x8000_0006, CommandStatus::EsmeRinvbndsts, 4));
        s.handle_input(now, &header_only(0x15, CommandStatus::EsmeRok, 5));
        assert_eq!(one(&mut s), (0x8000_0015, CommandStatus::EsmeRok, 5));
        s.handle_input(now, &bind_pdu(6, "ha", "secret"));
        assert_eq!(one(&mut s), (0x8000_0009, CommandStatus::EsmeRok, 6));
        s.handle_input(now, &bind_pdu(7, "ha", "secret"));
        assert_eq!(one(&mut s), (0x8000_0009, CommandStatus::EsmeRalybnd, 7));
        assert_eq!(s.bind_mode(), Some(BindMode::Transceiver));
    }

    #[test]
    fn transmitter_cannot_receive_and_receiver_cannot_submit() {
        let now = Instant::now();
        let mut s = SmscSession::new(config(), now);
        let b = BindTransmitter::new(
            "ha".parse().unwrap(),
            "secret".parse().unwrap(),
            "".parse().unwrap(),
            InterfaceVersion::from(0x33),
            Ton::Unknown,
            Npi::Unknown,
            "".parse().unwrap(),
        );
        s.handle_input(
            now,
            &pdu::encode(&pdu::command(
                CommandStatus::EsmeRok,
                1,
                Pdu::BindTransmitter(b),
            )),
        );
        let v = sent(&mut s);
        // An SMPP 3.3 ESME gets no TLV.
        assert!(
            matches!(v[0].pdu(), Some(Pdu::BindTransmitterResp(r)) if r.sc_interface_version().is_none())
        );
        assert_eq!(
            s.deliver(now, DeliveryId(1), DeliverSm::default()),
            Err(SmppError::NotBound)
        );

        let mut r = SmscSession::new(config(), now);
        let b = rusmpp::pdus::BindReceiver::new(
            "ha".parse().unwrap(),
            "secret".parse().unwrap(),
            "".parse().unwrap(),
            InterfaceVersion::Smpp3_4,
            Ton::Unknown,
            Npi::Unknown,
            "".parse().unwrap(),
        );
        r.handle_input(
            now,
            &pdu::encode(&pdu::command(
                CommandStatus::EsmeRok,
                1,
                Pdu::BindReceiver(b),
            )),
        );
        sent(&mut r);
        r.handle_input(now, &submit_pdu(2, "1", 0, 0, b"x"));
        assert_eq!(one(&mut r), (0x8000_0004, CommandStatus::EsmeRinvbndsts, 2));
    }

    #[test]
    fn submit_validation_statuses() {
        let now = Instant::now();
        let mut s = bound(now);
        let cases: &[(&str, u8, u8, &[u8], CommandStatus)] = &[
            ("12ab", 0, 0, b"x", CommandStatus::EsmeRinvdstadr),
            ("1", 0x08, 0, b"x", CommandStatus::EsmeRinvesmclass),
            ("1", 0, 0x06, b"x", CommandStatus::EsmeRinvdcs),
            ("1", 0, 0x08, b"xyz", CommandStatus::EsmeRinvmsglen),
            ("1", 0x40, 0x04, &[9, 0], CommandStatus::EsmeRinvmsglen),
        ];
        for (i, (dest, esm, dcs, msg, want)) in cases.iter().enumerate() {
            let seq = 10 + i as u32;
            s.handle_input(now, &submit_pdu(seq, dest, *esm, *dcs, msg));
            assert_eq!(one(&mut s), (0x8000_0004, *want, seq), "case {i}");
        }
        // A bad source address.
        let mut p = submit_pdu(20, "1", 0, 0, b"x");
        let at = p.windows(10).position(|w| w == b"4420000001").unwrap();
        p[at + 2] = b'-';
        s.handle_input(now, &p);
        assert_eq!(
            one(&mut s),
            (0x8000_0004, CommandStatus::EsmeRinvsrcadr, 20)
        );
        assert!(
            events(&mut s)
                .iter()
                .all(|e| matches!(e, SmscEvent::Refused { command_id: 4, .. }))
        );
    }

    #[test]
    fn submit_answers_and_throttling() {
        let now = Instant::now();
        let mut s = bound(now);
        for seq in [2, 3, 4] {
            s.handle_input(now, &submit_pdu(seq, "+491701234567", 0, 0, b"hi"));
        }
        // Two wait for the centre; the third is throttled.
        assert_eq!(one(&mut s), (0x8000_0004, CommandStatus::EsmeRthrottled, 4));
        let ev = events(&mut s);
        let seqs: Vec<u32> = ev
            .iter()
            .filter_map(|e| match e {
                SmscEvent::Submit {
                    sequence,
                    submission,
                } => {
                    assert_eq!(submission.destination, "491701234567");
                    Some(*sequence)
                }
                _ => None,
            })
            .collect();
        assert_eq!(seqs, vec![2, 3]);
        s.answer_submit(2, Ok("0000000007".into()));
        let v = sent(&mut s);
        let Some(Pdu::SubmitSmResp(r)) = v[0].pdu() else {
            panic!("{v:?}")
        };
        assert_eq!(r.message_id().as_str(), "0000000007");
        s.answer_submit(3, Err(CommandStatus::EsmeRmsgqful));
        assert_eq!(one(&mut s), (0x8000_0004, CommandStatus::EsmeRmsgqful, 3));
        // Answering twice, or an unknown sequence, sends nothing.
        s.answer_submit(3, Ok("x".into()));
        s.answer_submit(99, Ok("x".into()));
        assert!(sent(&mut s).is_empty());
    }

    #[test]
    fn generic_nack_cases() {
        let now = Instant::now();
        let mut s = bound(now);
        // Unknown command_id (query_sm is not offered).
        s.handle_input(now, &header_only(0x03, CommandStatus::EsmeRok, 8));
        assert_eq!(one(&mut s), (0x8000_0000, CommandStatus::EsmeRinvcmdid, 8));
        // deliver_sm in the wrong direction.
        let d = pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            9,
            Pdu::DeliverSm(DeliverSm::default()),
        ));
        s.handle_input(now, &d);
        assert_eq!(one(&mut s), (0x8000_0000, CommandStatus::EsmeRinvcmdid, 9));
        // Too long for the buffer.
        let mut big = header_only(0x15, CommandStatus::EsmeRok, 10);
        big[..4].copy_from_slice(&100_000u32.to_be_bytes());
        s.handle_input(now, &big);
        assert_eq!(
            one(&mut s),
            (0x8000_0000, CommandStatus::EsmeRinvcmdlen, 10)
        );
        assert!(!s.is_closed());
        // Too short to be a PDU: nack and close.
        let mut s = bound(now);
        s.handle_input(now, &[0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 11]);
        assert_eq!(
            one(&mut s),
            (0x8000_0000, CommandStatus::EsmeRinvcmdlen, 11)
        );
        assert!(s.is_closed());
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::Closed(CloseReason::Unframeable)]
        );
    }

    fn deliver_resp(seq: u32, status: CommandStatus) -> Vec<u8> {
        if status == CommandStatus::EsmeRok {
            let r = DeliverSmResp::new(Default::default(), Vec::new());
            pdu::encode(&pdu::command(status, seq, Pdu::DeliverSmResp(r)))
        } else {
            header_only(0x8000_0005, status, seq)
        }
    }

    #[test]
    fn deliver_window_and_timeouts() {
        let now = Instant::now();
        let mut s = bound(now);
        s.deliver(now, DeliveryId(1), DeliverSm::default()).unwrap();
        s.deliver(now, DeliveryId(2), DeliverSm::default()).unwrap(); // backlog
        assert_eq!(
            s.deliver(now, DeliveryId(3), DeliverSm::default()),
            Err(SmppError::WindowFull)
        );
        let v = sent(&mut s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].id(), CommandId::DeliverSm);
        let seq1 = v[0].sequence_number();
        s.handle_input(now, &deliver_resp(seq1, CommandStatus::EsmeRok));
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::DeliverResult {
                delivery: DeliveryId(1),
                status: Some(CommandStatus::EsmeRok)
            }]
        );
        let v = sent(&mut s);
        let seq2 = v[0].sequence_number();
        // An error response without a body still resolves the request.
        s.handle_input(now, &deliver_resp(seq2, CommandStatus::EsmeRxTAppn));
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::DeliverResult {
                delivery: DeliveryId(2),
                status: Some(CommandStatus::EsmeRxTAppn)
            }]
        );
        // No response at all.
        s.deliver(now, DeliveryId(4), DeliverSm::default()).unwrap();
        sent(&mut s);
        let t = now + Duration::from_secs(10);
        assert_eq!(s.poll_timeout(), Some(t));
        s.handle_timeout(t);
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::DeliverResult {
                delivery: DeliveryId(4),
                status: None
            }]
        );
    }

    #[test]
    fn enquire_link_and_unbind() {
        let now = Instant::now();
        let mut s = bound(now);
        let idle = now + Duration::from_secs(30);
        assert_eq!(s.poll_timeout(), Some(idle));
        s.handle_timeout(idle);
        let (id, _, seq) = one(&mut s);
        assert_eq!(id, 0x15);
        s.handle_input(idle, &header_only(0x8000_0015, CommandStatus::EsmeRok, seq));
        assert_eq!(s.poll_timeout(), Some(idle + Duration::from_secs(30)));
        // Unanswered: closed.
        let t2 = idle + Duration::from_secs(30);
        s.handle_timeout(t2);
        sent(&mut s);
        s.deliver(t2, DeliveryId(5), DeliverSm::default()).unwrap();
        s.handle_timeout(t2 + Duration::from_secs(10));
        assert!(s.is_closed());
        let ev = events(&mut s);
        assert!(
            ev.contains(&SmscEvent::Closed(CloseReason::LinkTimeout)),
            "{ev:?}"
        );
        assert!(ev.contains(&SmscEvent::DeliverResult {
            delivery: DeliveryId(5),
            status: None
        }));

        // The ESME unbinds.
        let mut s = bound(now);
        s.handle_input(now, &header_only(6, CommandStatus::EsmeRok, 3));
        assert_eq!(one(&mut s), (0x8000_0006, CommandStatus::EsmeRok, 3));
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::Closed(CloseReason::PeerUnbound)]
        );
        assert_eq!(
            s.deliver(now, DeliveryId(6), DeliverSm::default()),
            Err(SmppError::Closed)
        );

        // The SMSC unbinds.
        let mut s = bound(now);
        s.unbind(now);
        let (id, _, seq) = one(&mut s);
        assert_eq!(id, 6);
        s.handle_input(now, &header_only(0x8000_0006, CommandStatus::EsmeRok, seq));
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::Closed(CloseReason::Unbound)]
        );

        // Nobody binds.
        let mut s = SmscSession::new(config(), now);
        s.handle_timeout(now + Duration::from_secs(30));
        assert_eq!(
            events(&mut s),
            vec![SmscEvent::Closed(CloseReason::BindTimeout)]
        );
    }

    #[test]
    fn noise_never_panics() {
        let now = Instant::now();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..500 {
            let mut s = bound(now);
            let mut buf = Vec::new();
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = (x % 60) as usize;
                let mut p = submit_pdu(5, "491701234567", 0, 0, b"hello");
                let at = 16 + (x >> 8) as usize % (p.len() - 16);
                for k in 0..n.min(p.len() - at) {
                    p[at + k] ^= (x >> (k % 56)) as u8;
                }
                buf.extend(p);
            }
            s.handle_input(now, &buf);
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
        }
    }
}
