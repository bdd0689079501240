//! The ESME (client) side of an SMPP session, sans-IO: octets and instants
//! in, octets and events out.
//!
//! The session binds at once (SMPP 3.4 §4.1), then sends submit_sm through
//! a window of outstanding requests, each with a response timer; requests
//! beyond the window wait in a bounded backlog, and submits made while the
//! bind is in flight go out when it succeeds. Every deliver_sm is answered
//! with deliver_sm_resp `ESME_ROK` and reported (§4.6). An idle link is
//! checked with enquire_link, and the peer's enquire_link answered (§4.11);
//! an unanswered one ends the session. unbind works both ways (§4.2).
//! Undecodable PDUs are answered with generic_nack or the request's
//! response as [`crate::pdu`] describes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rusmpp::pdus::{
    BindReceiver, BindTransceiver, BindTransmitter, DeliverSm, DeliverSmResp, SubmitSm,
};
use rusmpp::values::{InterfaceVersion, Npi, Ton};
use rusmpp::{CommandStatus, Pdu};

use crate::SmppError;
use crate::convert::c_string;
use crate::pdu::{self, Inbound, PduReader, Sequence, header_only, is_response};
pub use crate::smsc_session::BindMode;

/// Settings of an [`EsmeSession`].
#[derive(Debug, Clone)]
pub struct EsmeConfig {
    /// system_id (at most 15 characters).
    pub system_id: String,
    /// password (at most 8 characters).
    pub password: String,
    /// system_type (at most 12 characters).
    pub system_type: String,
    /// How to bind.
    pub mode: BindMode,
    /// interface_version; 0x34 for SMPP 3.4.
    pub interface_version: u8,
    /// addr_ton of the bind.
    pub addr_ton: u8,
    /// addr_npi of the bind.
    pub addr_npi: u8,
    /// address_range of the bind (at most 40 characters).
    pub address_range: String,
    /// Outstanding requests.
    pub window: usize,
    /// Submits waiting for the window.
    pub backlog: usize,
    /// How long a request waits for its response.
    pub response_timeout: Duration,
    /// Idle time before enquire_link.
    pub enquire_link_interval: Duration,
    /// Largest PDU accepted.
    pub max_pdu: usize,
}

impl Default for EsmeConfig {
    fn default() -> Self {
        EsmeConfig {
            system_id: String::new(),
            password: String::new(),
            system_type: String::new(),
            mode: BindMode::Transceiver,
            interface_version: 0x34,
            addr_ton: 0,
            addr_npi: 0,
            address_range: String::new(),
            window: 10,
            backlog: 1000,
            response_timeout: Duration::from_secs(10),
            enquire_link_interval: Duration::from_secs(30),
            max_pdu: pdu::DEFAULT_MAX_PDU,
        }
    }
}

/// Names a submit_sm: its sequence_number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u32);

/// Why a submit_sm did not get a message_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitFailure {
    /// The SMSC refused it (submit_sm_resp or generic_nack status).
    Status(CommandStatus),
    /// No response in time.
    Timeout,
    /// The session ended first.
    Closed,
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsmeCloseReason {
    /// The bind was refused with this status.
    BindRefused(CommandStatus),
    /// The SMSC sent unbind.
    PeerUnbound,
    /// Our unbind completed (or timed out).
    Unbound,
    /// A bind, or enquire_link, went unanswered.
    Timeout,
    /// A command_length below 16: the stream cannot be framed.
    Unframeable,
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EsmeEvent {
    /// The bind succeeded.
    Bound {
        /// The SMSC's system_id.
        smsc_system_id: String,
    },
    /// A submit_sm ended.
    SubmitResult {
        /// Which one.
        id: RequestId,
        /// Its message_id, or why not.
        result: Result<String, SubmitFailure>,
    },
    /// A deliver_sm arrived; answer it with [`EsmeSession::answer_deliver`].
    Deliver {
        /// Its sequence_number.
        sequence: u32,
        /// The PDU body.
        deliver_sm: Box<DeliverSm>,
    },
    /// The session is over; close the connection after writing what
    /// [`EsmeSession::poll_transmit`] still holds.
    Closed(EsmeCloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Binding,
    Bound,
    Unbinding,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bind,
    Submit,
    Enquire,
    Unbind,
}

/// An SMPP client session; see the module documentation.
#[derive(Debug)]
pub struct EsmeSession {
    config: EsmeConfig,
    reader: PduReader,
    state: State,
    seq: Sequence,
    last_rx: Instant,
    outstanding: HashMap<u32, (Kind, Instant)>,
    unanswered: std::collections::HashSet<u32>,
    backlog: VecDeque<(u32, SubmitSm)>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<EsmeEvent>,
}

impl EsmeSession {
    /// A session that starts by binding; fails if a bind field is too long.
    pub fn new(config: EsmeConfig, now: Instant) -> Result<Self, SmppError> {
        let system_id = c_string(&config.system_id, "system_id")?;
        let password = c_string(&config.password, "password")?;
        let system_type = c_string(&config.system_type, "system_type")?;
        let range = c_string(&config.address_range, "address_range")?;
        let version = InterfaceVersion::from(config.interface_version);
        let (ton, npi) = (Ton::from(config.addr_ton), Npi::from(config.addr_npi));
        let body = match config.mode {
            BindMode::Transmitter => Pdu::BindTransmitter(BindTransmitter::new(
                system_id,
                password,
                system_type,
                version,
                ton,
                npi,
                range,
            )),
            BindMode::Receiver => Pdu::BindReceiver(BindReceiver::new(
                system_id,
                password,
                system_type,
                version,
                ton,
                npi,
                range,
            )),
            BindMode::Transceiver => Pdu::BindTransceiver(BindTransceiver::new(
                system_id,
                password,
                system_type,
                version,
                ton,
                npi,
                range,
            )),
        };
        let mut s = EsmeSession {
            reader: PduReader::new(config.max_pdu),
            config,
            state: State::Binding,
            seq: Sequence::default(),
            last_rx: now,
            outstanding: HashMap::new(),
            unanswered: std::collections::HashSet::new(),
            backlog: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        };
        s.request(now, Kind::Bind, body);
        Ok(s)
    }

    /// Whether the bind succeeded and the session is still up.
    pub fn is_bound(&self) -> bool {
        self.state == State::Bound
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Queues a submit_sm; its end comes as [`EsmeEvent::SubmitResult`].
    pub fn submit(&mut self, now: Instant, sm: SubmitSm) -> Result<RequestId, SmppError> {
        match self.state {
            State::Closed | State::Unbinding => return Err(SmppError::Closed),
            _ if !self.config.mode.transmits() => return Err(SmppError::NotBound),
            _ => {}
        }
        let sequence = self.seq.next_seq();
        if self.state == State::Bound && self.outstanding.len() < self.config.window {
            self.send_submit(now, sequence, sm);
        } else if self.backlog.len() < self.config.backlog {
            self.backlog.push_back((sequence, sm));
        } else {
            return Err(SmppError::WindowFull);
        }
        Ok(RequestId(sequence))
    }

    /// Answers deliver_sm `sequence`: `ESME_ROK`, or e.g. `ESME_RX_T_APPN`
    /// to have the SMSC try again later (SMPP 3.4 §5.1.3).
    pub fn answer_deliver(&mut self, sequence: u32, status: CommandStatus) {
        if !self.unanswered.remove(&sequence) || self.is_closed() {
            return;
        }
        if status == CommandStatus::EsmeRok {
            let body = DeliverSmResp::new(Default::default(), Vec::new());
            self.transmit.push_back(pdu::encode(&pdu::command(
                status,
                sequence,
                Pdu::DeliverSmResp(body),
            )));
        } else {
            self.reply(0x8000_0005, status, sequence);
        }
    }

    /// Requests unbind (SMPP 3.4 §4.2).
    pub fn unbind(&mut self, now: Instant) {
        match self.state {
            State::Bound => {
                self.state = State::Unbinding;
                self.request(now, Kind::Unbind, Pdu::Unbind);
            }
            State::Binding => self.close(EsmeCloseReason::Unbound),
            State::Unbinding | State::Closed => {}
        }
    }

    /// Feeds octets read from the SMSC.
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

    /// Octets to write to the SMSC.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<EsmeEvent> {
        self.events.pop_front()
    }

    /// When [`EsmeSession::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let idle = (self.state == State::Bound
            && !self.outstanding.values().any(|(k, _)| *k == Kind::Enquire))
        .then(|| self.last_rx + self.config.enquire_link_interval);
        self.outstanding.values().map(|(_, d)| *d).chain(idle).min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut expired: Vec<(u32, Kind)> = self
            .outstanding
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(s, (k, _))| (*s, *k))
            .collect();
        expired.sort_by_key(|(s, _)| *s);
        for (sequence, kind) in expired {
            self.outstanding.remove(&sequence);
            match kind {
                Kind::Submit => self.events.push_back(EsmeEvent::SubmitResult {
                    id: RequestId(sequence),
                    result: Err(SubmitFailure::Timeout),
                }),
                Kind::Bind | Kind::Enquire => return self.close(EsmeCloseReason::Timeout),
                Kind::Unbind => return self.close(EsmeCloseReason::Unbound),
            }
        }
        self.fill_window(now);
        if self.state == State::Bound
            && !self.outstanding.values().any(|(k, _)| *k == Kind::Enquire)
            && self.last_rx + self.config.enquire_link_interval <= now
        {
            self.request(now, Kind::Enquire, Pdu::EnquireLink);
        }
    }

    fn request(&mut self, now: Instant, kind: Kind, body: Pdu) -> u32 {
        let sequence = self.seq.next_seq();
        self.transmit.push_back(pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            sequence,
            body,
        )));
        self.outstanding
            .insert(sequence, (kind, now + self.config.response_timeout));
        sequence
    }

    fn send_submit(&mut self, now: Instant, sequence: u32, sm: SubmitSm) {
        self.transmit.push_back(pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            sequence,
            Pdu::SubmitSm(sm),
        )));
        self.outstanding
            .insert(sequence, (Kind::Submit, now + self.config.response_timeout));
    }

    fn fill_window(&mut self, now: Instant) {
        while self.state == State::Bound && self.outstanding.len() < self.config.window {
            let Some((sequence, sm)) = self.backlog.pop_front() else {
                break;
            };
            self.send_submit(now, sequence, sm);
        }
    }

    fn close(&mut self, reason: EsmeCloseReason) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed;
        let mut lost: Vec<u32> = self
            .outstanding
            .drain()
            .filter(|(_, (k, _))| *k == Kind::Submit)
            .map(|(s, _)| s)
            .collect();
        lost.sort();
        lost.extend(self.backlog.drain(..).map(|(s, _)| s));
        for s in lost {
            self.events.push_back(EsmeEvent::SubmitResult {
                id: RequestId(s),
                result: Err(SubmitFailure::Closed),
            });
        }
        self.events.push_back(EsmeEvent::Closed(reason));
    }

    /// A response (or generic_nack) to one of our requests.
    fn on_response(
        &mut self,
        now: Instant,
        sequence: u32,
        status: CommandStatus,
        message_id: Option<String>,
    ) {
        let Some((kind, _)) = self.outstanding.remove(&sequence) else {
            return;
        };
        match kind {
            Kind::Bind if status == CommandStatus::EsmeRok => {
                self.state = State::Bound;
                self.events.push_back(EsmeEvent::Bound {
                    smsc_system_id: message_id.unwrap_or_default(),
                });
            }
            Kind::Bind => self.close(EsmeCloseReason::BindRefused(status)),
            Kind::Submit => {
                let result = match (status, message_id) {
                    (CommandStatus::EsmeRok, Some(id)) => Ok(id),
                    (CommandStatus::EsmeRok, None) => {
                        Err(SubmitFailure::Status(CommandStatus::EsmeRsyserr))
                    }
                    (s, _) => Err(SubmitFailure::Status(s)),
                };
                self.events.push_back(EsmeEvent::SubmitResult {
                    id: RequestId(sequence),
                    result,
                });
            }
            Kind::Enquire => {}
            Kind::Unbind => self.close(EsmeCloseReason::Unbound),
        }
        self.fill_window(now);
    }

    fn reply(&mut self, id: u32, status: CommandStatus, sequence: u32) {
        self.transmit.push_back(header_only(id, status, sequence));
    }

    fn on_inbound(&mut self, now: Instant, inbound: Inbound) {
        let command = match inbound {
            Inbound::Unframeable { header } => {
                self.reply(
                    pdu::RESPONSE_BIT,
                    CommandStatus::EsmeRinvcmdlen,
                    header.sequence,
                );
                return self.close(EsmeCloseReason::Unframeable);
            }
            Inbound::Invalid { header, status } => {
                if is_response(header.id) {
                    let st = match CommandStatus::from(header.status) {
                        CommandStatus::EsmeRok => status,
                        other => other,
                    };
                    return self.on_response(now, header.sequence, st, None);
                }
                if let Some(answer) = pdu::error_response(&header, status) {
                    self.transmit.push_back(answer);
                }
                return;
            }
            Inbound::Command(c) => c,
        };
        let sequence = command.sequence_number();
        let id = u32::from(command.id());
        let status = command.status();
        let Some(body) = command.pdu() else {
            return;
        };
        match body {
            Pdu::BindTransceiverResp(r) => {
                self.on_response(now, sequence, status, Some(r.system_id.as_str().to_owned()));
            }
            Pdu::BindTransmitterResp(r) => {
                self.on_response(now, sequence, status, Some(r.system_id.as_str().to_owned()));
            }
            Pdu::BindReceiverResp(r) => {
                self.on_response(now, sequence, status, Some(r.system_id.as_str().to_owned()));
            }
            Pdu::SubmitSmResp(r) => {
                self.on_response(
                    now,
                    sequence,
                    status,
                    Some(r.message_id().as_str().to_owned()),
                );
            }
            Pdu::DeliverSm(sm) => {
                if self.state == State::Bound && self.config.mode.receives() {
                    self.unanswered.insert(sequence);
                    self.events.push_back(EsmeEvent::Deliver {
                        sequence,
                        deliver_sm: Box::new(sm.clone()),
                    });
                } else {
                    self.reply(0x8000_0005, CommandStatus::EsmeRinvbndsts, sequence);
                }
            }
            Pdu::EnquireLink => self.transmit.push_back(pdu::encode(&pdu::command(
                CommandStatus::EsmeRok,
                sequence,
                Pdu::EnquireLinkResp,
            ))),
            Pdu::Unbind => {
                self.transmit.push_back(pdu::encode(&pdu::command(
                    CommandStatus::EsmeRok,
                    sequence,
                    Pdu::UnbindResp,
                )));
                self.close(EsmeCloseReason::PeerUnbound);
            }
            _ if is_response(id) => self.on_response(now, sequence, status, None),
            // submit_sm and bind flow ESME to SMSC only.
            _ => self.reply(pdu::RESPONSE_BIT, CommandStatus::EsmeRinvcmdid, sequence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::centre::{Centre, CentreConfig, DeliveryId, EsmeId};
    use crate::smsc_session::{Account, SmscEvent, SmscSession, SmscSessionConfig};
    use crate::time::Now;
    use rusmpp::types::OctetString;
    use rusmpp::values::{DataCoding, EsmClass};

    fn esme_config(password: &str) -> EsmeConfig {
        EsmeConfig {
            system_id: "ha".into(),
            password: password.into(),
            system_type: "mip".into(),
            window: 1,
            backlog: 2,
            ..EsmeConfig::default()
        }
    }

    fn smsc(now: Instant) -> SmscSession {
        SmscSession::new(
            SmscSessionConfig {
                accounts: vec![Account {
                    system_id: "ha".into(),
                    password: "pw".into(),
                }],
                ..SmscSessionConfig::default()
            },
            now,
        )
    }

    /// Moves octets both ways until neither side has more; returns the
    /// SMSC's events.
    fn pump(now: Instant, e: &mut EsmeSession, s: &mut SmscSession) -> Vec<SmscEvent> {
        let mut ev = Vec::new();
        loop {
            let mut moved = false;
            while let Some(b) = e.poll_transmit() {
                s.handle_input(now, &b);
                moved = true;
            }
            while let Some(b) = s.poll_transmit() {
                e.handle_input(now, &b);
                moved = true;
            }
            ev.extend(std::iter::from_fn(|| s.poll_event()));
            if !moved {
                return ev;
            }
        }
    }

    fn esme_events(e: &mut EsmeSession) -> Vec<EsmeEvent> {
        std::iter::from_fn(|| e.poll_event()).collect()
    }

    fn sm(dest: &str) -> SubmitSm {
        SubmitSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr("4420000001".parse().unwrap())
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(dest.parse().unwrap())
            .esm_class(EsmClass::from(0))
            .data_coding(DataCoding::from(4))
            .short_message(OctetString::from_slice(b"key").unwrap())
            .build()
    }

    #[test]
    fn bind_submit_through_the_centre() {
        let now = Instant::now();
        let clock = Now {
            instant: now,
            unix_secs: 1_772_368_496,
        };
        let mut centre = Centre::new(CentreConfig::default());
        centre.add_subscriber("491701234567").unwrap();
        let mut e = EsmeSession::new(esme_config("pw"), now).unwrap();
        let mut s = smsc(now);
        // Submitted before the bind completes: held, then sent.
        let a = e.submit(now, sm("491701234567")).unwrap();
        let b = e.submit(now, sm("491700000000")).unwrap();
        let mut ev = pump(now, &mut e, &mut s);
        assert_eq!(
            esme_events(&mut e),
            vec![EsmeEvent::Bound {
                smsc_system_id: "telsec".into()
            }]
        );
        assert!(e.is_bound());
        // Window 1: the SMSC sees one submit at a time.
        for _ in 0..2 {
            let subs: Vec<_> = ev
                .drain(..)
                .filter_map(|x| match x {
                    SmscEvent::Submit {
                        sequence,
                        submission,
                    } => Some((sequence, submission)),
                    _ => None,
                })
                .collect();
            assert_eq!(subs.len(), 1);
            let (seq, sub) = &subs[0];
            let r = centre.submit(clock, EsmeId(1), sub);
            s.answer_submit(*seq, r);
            ev = pump(now, &mut e, &mut s);
        }
        let results = esme_events(&mut e);
        assert_eq!(
            results,
            vec![
                EsmeEvent::SubmitResult {
                    id: a,
                    result: Ok("0000000001".into())
                },
                EsmeEvent::SubmitResult {
                    id: b,
                    result: Err(SubmitFailure::Status(CommandStatus::EsmeRinvdstadr))
                },
            ]
        );
        assert_eq!(centre.queued_for("491701234567"), 1);
    }

    #[test]
    fn refused_bind() {
        let now = Instant::now();
        let mut e = EsmeSession::new(esme_config("bad"), now).unwrap();
        let id = e.submit(now, sm("1")).unwrap();
        let mut s = smsc(now);
        pump(now, &mut e, &mut s);
        assert_eq!(
            esme_events(&mut e),
            vec![
                EsmeEvent::SubmitResult {
                    id,
                    result: Err(SubmitFailure::Closed)
                },
                EsmeEvent::Closed(EsmeCloseReason::BindRefused(CommandStatus::EsmeRinvpaswd)),
            ]
        );
        assert!(
            EsmeSession::new(
                EsmeConfig {
                    password: "longer-than-8".into(),
                    ..esme_config("")
                },
                now
            )
            .is_err()
        );
    }

    #[test]
    fn receives_deliver_sm_and_answers() {
        let now = Instant::now();
        let mut e = EsmeSession::new(esme_config("pw"), now).unwrap();
        let mut s = smsc(now);
        pump(now, &mut e, &mut s);
        esme_events(&mut e);
        let d = crate::convert::mo_deliver_sm(
            "491701234567",
            &telsec_sms::SmsSubmit::new(
                telsec_sms::Address::international("4420000001").unwrap(),
                telsec_sms::Dcs::DATA8,
                telsec_sms::UserData::octets(vec![1, 2]),
            ),
        )
        .unwrap();
        s.deliver(now, DeliveryId(9), d.clone()).unwrap();
        s.deliver(now, DeliveryId(10), d.clone()).unwrap();
        assert!(pump(now, &mut e, &mut s).is_empty());
        let ev = esme_events(&mut e);
        let seqs: Vec<u32> = ev
            .iter()
            .map(|x| match x {
                EsmeEvent::Deliver {
                    sequence,
                    deliver_sm,
                } => {
                    assert_eq!(**deliver_sm, d);
                    *sequence
                }
                other => panic!("{other:?}"),
            })
            .collect();
        e.answer_deliver(seqs[0], CommandStatus::EsmeRok);
        e.answer_deliver(seqs[1], CommandStatus::EsmeRxTAppn);
        e.answer_deliver(seqs[1], CommandStatus::EsmeRok); // twice: ignored
        let ev = pump(now, &mut e, &mut s);
        assert_eq!(
            ev,
            vec![
                SmscEvent::DeliverResult {
                    delivery: DeliveryId(9),
                    status: Some(CommandStatus::EsmeRok)
                },
                SmscEvent::DeliverResult {
                    delivery: DeliveryId(10),
                    status: Some(CommandStatus::EsmeRxTAppn)
                }
            ]
        );
    }

    #[test]
    fn timeouts_enquire_link_and_unbind() {
        let now = Instant::now();
        let mut e = EsmeSession::new(esme_config("pw"), now).unwrap();
        let mut s = smsc(now);
        pump(now, &mut e, &mut s);
        esme_events(&mut e);
        // The SMSC never answers this submit.
        let id = e.submit(now, sm("1")).unwrap();
        while e.poll_transmit().is_some() {}
        let t = now + Duration::from_secs(10);
        assert_eq!(e.poll_timeout(), Some(t));
        e.handle_timeout(t);
        assert_eq!(
            esme_events(&mut e),
            vec![EsmeEvent::SubmitResult {
                id,
                result: Err(SubmitFailure::Timeout)
            }]
        );
        // Idle: enquire_link, answered by the SMSC session.
        let idle = now + Duration::from_secs(30);
        e.handle_timeout(idle);
        let ping = e.poll_transmit().unwrap();
        assert_eq!(&ping[4..8], &0x15u32.to_be_bytes());
        s.handle_input(idle, &ping);
        e.handle_input(idle, &s.poll_transmit().unwrap());
        assert_eq!(e.poll_timeout(), Some(idle + Duration::from_secs(30)));
        // The SMSC's enquire_link is answered.
        s.handle_timeout(idle + Duration::from_secs(30));
        let ev = pump(idle, &mut e, &mut s);
        assert!(ev.is_empty());
        // Unanswered enquire_link closes.
        let t3 = idle + Duration::from_secs(60);
        e.handle_timeout(t3);
        while e.poll_transmit().is_some() {}
        e.handle_timeout(t3 + Duration::from_secs(10));
        assert_eq!(
            esme_events(&mut e),
            vec![EsmeEvent::Closed(EsmeCloseReason::Timeout)]
        );
        assert_eq!(e.submit(t3, sm("1")), Err(SmppError::Closed));

        // Our unbind.
        let mut e = EsmeSession::new(esme_config("pw"), now).unwrap();
        let mut s = smsc(now);
        pump(now, &mut e, &mut s);
        esme_events(&mut e);
        e.unbind(now);
        let ev = pump(now, &mut e, &mut s);
        assert!(ev.contains(&SmscEvent::Closed(
            crate::smsc_session::CloseReason::PeerUnbound
        )));
        assert_eq!(
            esme_events(&mut e),
            vec![EsmeEvent::Closed(EsmeCloseReason::Unbound)]
        );

        // The SMSC's unbind.
        let mut e = EsmeSession::new(esme_config("pw"), now).unwrap();
        let mut s = smsc(now);
        pump(now, &mut e, &mut s);
        esme_events(&mut e);
        s.unbind(now);
        pump(now, &mut e, &mut s);
        assert_eq!(
            esme_events(&mut e),
            vec![EsmeEvent::Closed(EsmeCloseReason::PeerUnbound)]
        );
        assert!(s.is_closed());
    }

    #[test]
    fn answers_bad_pdus() {
        let now = Instant::now();
        let mut e = EsmeSession::new(
            EsmeConfig {
                mode: BindMode::Transmitter,
                ..esme_config("pw")
            },
            now,
        )
        .unwrap();
        let mut s = smsc(now);
        pump(now, &mut e, &mut s);
        // Unknown command id.
        e.handle_input(now, &header_only(0x0000_0112, CommandStatus::EsmeRok, 77));
        assert_eq!(
            e.poll_transmit().unwrap(),
            header_only(0x8000_0000, CommandStatus::EsmeRinvcmdid, 77)
        );
        // deliver_sm to a transmitter.
        let d = pdu::encode(&pdu::command(
            CommandStatus::EsmeRok,
            78,
            Pdu::DeliverSm(DeliverSm::default()),
        ));
        e.handle_input(now, &d);
        assert_eq!(
            e.poll_transmit().unwrap(),
            header_only(0x8000_0005, CommandStatus::EsmeRinvbndsts, 78)
        );
        // A generic_nack for our submit resolves it.
        let id = e.submit(now, sm("1")).unwrap();
        while e.poll_transmit().is_some() {}
        esme_events(&mut e);
        e.handle_input(
            now,
            &header_only(0x8000_0000, CommandStatus::EsmeRinvcmdlen, id.0),
        );
        assert_eq!(
            esme_events(&mut e),
            vec![EsmeEvent::SubmitResult {
                id,
                result: Err(SubmitFailure::Status(CommandStatus::EsmeRinvcmdlen))
            }]
        );
        // Unframeable input.
        e.handle_input(now, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(
            e.poll_transmit().unwrap(),
            header_only(0x8000_0000, CommandStatus::EsmeRinvcmdlen, 3)
        );
        assert!(e.is_closed());
        // A receiver cannot submit.
        let r = EsmeSession::new(
            EsmeConfig {
                mode: BindMode::Receiver,
                ..esme_config("pw")
            },
            now,
        );
        assert_eq!(r.unwrap().submit(now, sm("1")), Err(SmppError::NotBound));
    }
}
