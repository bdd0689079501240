//! A sans-IO TS 27.005 modem session: octets and instants in, octets and
//! events out (quinn-proto style).
//!
//! The session sets the modem up for PDU mode with SMS-DELIVERs routed to
//! the terminal (`ATE0`, `AT+CMGF=0`, optionally `AT+CSMS=1`,
//! `AT+CNMI=2,2,0,0,0`), decodes each `+CMT` into an [`SmsDeliver`] and,
//! when the message service needs it (§3.4.4), acknowledges with
//! `AT+CNMA`. Sends run `AT+CMGS=<len>`, wait for the `> ` prompt, write
//! the PDU and Ctrl-Z, and report the TP-MR from `+CMGS: <mr>`. One
//! command is in flight at a time; each has a deadline checked against the
//! `now` the driver passes in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::address::SmscAddress;
use crate::at::{self, AtCommand, AtLine, ErrorReport, LineParser, PduSource};
use crate::error::SmsError;
use crate::tpdu::{MtTpdu, SmsDeliver, SmsStatusReport, SmsSubmit};

/// Settings of a [`ModemSession`].
#[derive(Debug, Clone)]
pub struct ModemConfig {
    /// Deadline for an ordinary command's final result.
    pub command_timeout: Duration,
    /// Deadline for the prompt and for the `+CMGS` result (network round trip).
    pub send_timeout: Duration,
    /// Select message service 1 and acknowledge every `+CMT`/`+CDS` with
    /// `AT+CNMA` (§3.2.1, §3.4.4).
    pub ack_deliveries: bool,
    /// SMSC address to put in front of sent PDUs; `None` uses the SIM's.
    pub smsc: Option<SmscAddress>,
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig {
            command_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(60),
            ack_deliveries: true,
            smsc: None,
        }
    }
}

/// Identifies a send request in [`ModemEvent::Sent`] / [`ModemEvent::SendFailed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SendId(pub u64);

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModemError {
    /// `+CMS ERROR` (TS 27.005 §3.2.5), e.g. 500 unknown error, 330 SMSC address unknown.
    #[error("+CMS ERROR: {0:?}")]
    Cms(ErrorReport),
    /// `+CME ERROR` (TS 27.007 §9.2).
    #[error("+CME ERROR: {0:?}")]
    Cme(ErrorReport),
    /// A plain `ERROR`.
    #[error("ERROR")]
    Error,
    /// No final result before the deadline.
    #[error("timed out")]
    Timeout,
    /// `OK` after `AT+CMGS` without a `+CMGS: <mr>` line.
    #[error("send finished without a message reference")]
    NoReference,
    /// The PDU could not be encoded.
    #[error("encoding failed: {0}")]
    Encode(SmsError),
}

/// What the session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModemEvent {
    /// The set-up commands all answered `OK`.
    Ready,
    /// A set-up command failed; the remaining ones were dropped.
    InitFailed {
        /// The command that failed.
        command: AtCommand,
        /// Why.
        error: ModemError,
    },
    /// An SMS-DELIVER arrived (`+CMT`, or `+CMGR` of a stored one).
    Received {
        /// The SMSC that delivered it.
        smsc: Option<SmscAddress>,
        /// The message.
        deliver: SmsDeliver,
    },
    /// A status report arrived (`+CDS`, or `+CMGR`).
    StatusReport(SmsStatusReport),
    /// A PDU arrived that does not decode.
    Undecodable {
        /// The TPDU octets, if the PDU line itself was readable.
        tpdu: Option<Vec<u8>>,
        /// Why it does not decode.
        error: SmsError,
    },
    /// A message was stored in the modem (`+CMTI`); read it with `AT+CMGR`.
    Stored {
        /// Storage name.
        mem: String,
        /// Storage index.
        index: u32,
    },
    /// The SC accepted a submit.
    Sent {
        /// The request.
        id: SendId,
        /// TP-MR the modem used.
        mr: u8,
    },
    /// A submit failed.
    SendFailed {
        /// The request.
        id: SendId,
        /// Why.
        error: ModemError,
    },
    /// A command queued with [`ModemSession::command`] finished.
    CommandDone {
        /// The command.
        command: AtCommand,
        /// `Ok` or why it failed.
        result: Result<(), ModemError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Init,
    Ack,
    User,
}

#[derive(Debug)]
enum Job {
    Command(AtCommand, Purpose),
    Send { id: SendId, tpdu: Vec<u8> },
}

#[derive(Debug)]
enum InFlight {
    Idle,
    Command {
        cmd: AtCommand,
        purpose: Purpose,
        deadline: Instant,
    },
    AwaitPrompt {
        id: SendId,
        body: Vec<u8>,
        deadline: Instant,
    },
    AwaitResult {
        id: SendId,
        mr: Option<u8>,
        deadline: Instant,
    },
}

/// The modem session; see the module documentation.
#[derive(Debug)]
pub struct ModemSession {
    config: ModemConfig,
    parser: LineParser,
    queue: VecDeque<Job>,
    in_flight: InFlight,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<ModemEvent>,
    next_id: u64,
    init_left: usize,
}

impl ModemSession {
    /// A session that starts by sending the set-up commands.
    pub fn new(config: ModemConfig, now: Instant) -> Self {
        let mut init = vec![AtCommand::EchoOff, AtCommand::PduMode];
        if config.ack_deliveries {
            init.push(AtCommand::SelectService(1));
        }
        init.push(AtCommand::ROUTE_DELIVERS);
        let mut s = ModemSession {
            config,
            parser: LineParser::new(),
            init_left: init.len(),
            queue: init
                .into_iter()
                .map(|c| Job::Command(c, Purpose::Init))
                .collect(),
            in_flight: InFlight::Idle,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
        };
        s.pump(now);
        s
    }

    /// Queues an SMS-SUBMIT; its outcome comes as `Sent` or `SendFailed`.
    pub fn send(&mut self, now: Instant, submit: &SmsSubmit) -> Result<SendId, SmsError> {
        let tpdu = submit.to_vec()?;
        let id = SendId(self.next_id);
        self.next_id += 1;
        self.queue.push_back(Job::Send { id, tpdu });
        self.pump(now);
        Ok(id)
    }

    /// Queues another command (e.g. `AT+CMGR`); reported as `CommandDone`.
    pub fn command(&mut self, now: Instant, command: AtCommand) {
        self.queue.push_back(Job::Command(command, Purpose::User));
        self.pump(now);
    }

    /// Feeds octets read from the modem.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        for b in data {
            if let Some(line) = self.parser.push(*b) {
                self.on_line(now, line);
            }
        }
        self.pump(now);
    }

    /// Checks the deadline of the command in flight.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired = match &self.in_flight {
            InFlight::Idle => false,
            InFlight::Command { deadline, .. }
            | InFlight::AwaitPrompt { deadline, .. }
            | InFlight::AwaitResult { deadline, .. } => *deadline <= now,
        };
        if expired {
            if matches!(self.in_flight, InFlight::AwaitPrompt { .. }) {
                // Leave the prompt if it comes late (§3.5.1: ESC cancels).
                self.transmit.push_back(vec![at::ESC]);
            }
            self.fail(ModemError::Timeout);
        }
        self.pump(now);
    }

    /// When [`ModemSession::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.in_flight {
            InFlight::Idle => None,
            InFlight::Command { deadline, .. }
            | InFlight::AwaitPrompt { deadline, .. }
            | InFlight::AwaitResult { deadline, .. } => Some(*deadline),
        }
    }

    /// Octets to write to the modem.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ModemEvent> {
        self.events.pop_front()
    }

    /// Whether nothing is in flight or queued.
    pub fn is_idle(&self) -> bool {
        matches!(self.in_flight, InFlight::Idle) && self.queue.is_empty()
    }

    fn pump(&mut self, now: Instant) {
        if !matches!(self.in_flight, InFlight::Idle) {
            return;
        }
        let Some(job) = self.queue.pop_front() else {
            return;
        };
        match job {
            Job::Command(cmd, purpose) => {
                self.transmit.push_back(cmd.to_bytes());
                self.in_flight = InFlight::Command {
                    cmd,
                    purpose,
                    deadline: now + self.config.command_timeout,
                };
            }
            Job::Send { id, tpdu } => match at::pdu_body(self.config.smsc.as_ref(), &tpdu) {
                Ok(body) => {
                    self.transmit
                        .push_back(AtCommand::SendPdu(tpdu.len()).to_bytes());
                    self.in_flight = InFlight::AwaitPrompt {
                        id,
                        body,
                        deadline: now + self.config.send_timeout,
                    };
                }
                Err(e) => {
                    self.events.push_back(ModemEvent::SendFailed {
                        id,
                        error: ModemError::Encode(e),
                    });
                    self.pump(now);
                }
            },
        }
    }

    fn on_line(&mut self, now: Instant, line: AtLine) {
        match line {
            AtLine::Prompt => {
                if let InFlight::AwaitPrompt { id, body, .. } =
                    std::mem::replace(&mut self.in_flight, InFlight::Idle)
                {
                    self.transmit.push_back(body);
                    self.in_flight = InFlight::AwaitResult {
                        id,
                        mr: None,
                        deadline: now + self.config.send_timeout,
                    };
                } else {
                    // A stray prompt: cancel it so the modem returns to commands.
                    self.transmit.push_back(vec![at::ESC]);
                }
            }
            AtLine::Cmgs(m) => {
                if let InFlight::AwaitResult { mr, .. } = &mut self.in_flight {
                    *mr = Some(m);
                }
            }
            AtLine::Ok => self.succeed(),
            AtLine::Error => self.fail(ModemError::Error),
            AtLine::CmsError(e) => self.fail(ModemError::Cms(e)),
            AtLine::CmeError(e) => self.fail(ModemError::Cme(e)),
            AtLine::Pdu { source, smsc, tpdu } => self.on_pdu(source, smsc, tpdu),
            AtLine::BadPdu { source, error } => {
                self.events
                    .push_back(ModemEvent::Undecodable { tpdu: None, error });
                self.ack_if_routed(&source);
            }
            AtLine::Cmti { mem, index } => self.events.push_back(ModemEvent::Stored { mem, index }),
            AtLine::Echo(_) | AtLine::Other(_) | AtLine::Overflow => {}
        }
    }

    fn on_pdu(&mut self, source: PduSource, smsc: Option<SmscAddress>, tpdu: Vec<u8>) {
        let event = match MtTpdu::parse(&tpdu) {
            Ok(MtTpdu::Deliver(deliver)) => ModemEvent::Received { smsc, deliver },
            Ok(MtTpdu::StatusReport(r)) => ModemEvent::StatusReport(r),
            Err(error) => ModemEvent::Undecodable {
                tpdu: Some(tpdu),
                error,
            },
        };
        self.events.push_back(event);
        self.ack_if_routed(&source);
    }

    fn ack_if_routed(&mut self, source: &PduSource) {
        if self.config.ack_deliveries && matches!(source, PduSource::Cmt { .. } | PduSource::Cds) {
            self.queue
                .push_front(Job::Command(AtCommand::Ack, Purpose::Ack));
        }
    }

    fn succeed(&mut self) {
        match std::mem::replace(&mut self.in_flight, InFlight::Idle) {
            InFlight::Idle => {}
            InFlight::Command { cmd, purpose, .. } => match purpose {
                Purpose::Init => {
                    self.init_left = self.init_left.saturating_sub(1);
                    if self.init_left == 0 {
                        self.events.push_back(ModemEvent::Ready);
                    }
                }
                Purpose::Ack => {}
                Purpose::User => self.events.push_back(ModemEvent::CommandDone {
                    command: cmd,
                    result: Ok(()),
                }),
            },
            // An OK before the prompt is not a send result; keep waiting.
            prompt @ InFlight::AwaitPrompt { .. } => self.in_flight = prompt,
            InFlight::AwaitResult { id, mr, .. } => self.events.push_back(match mr {
                Some(mr) => ModemEvent::Sent { id, mr },
                None => ModemEvent::SendFailed {
                    id,
                    error: ModemError::NoReference,
                },
            }),
        }
    }

    fn fail(&mut self, error: ModemError) {
        match std::mem::replace(&mut self.in_flight, InFlight::Idle) {
            InFlight::Idle => {}
            InFlight::Command { cmd, purpose, .. } => match purpose {
                Purpose::Init => {
                    self.queue
                        .retain(|j| !matches!(j, Job::Command(_, Purpose::Init)));
                    self.init_left = 0;
                    self.events.push_back(ModemEvent::InitFailed {
                        command: cmd,
                        error,
                    });
                }
                Purpose::Ack => {}
                Purpose::User => self.events.push_back(ModemEvent::CommandDone {
                    command: cmd,
                    result: Err(error),
                }),
            },
            InFlight::AwaitPrompt { id, .. } | InFlight::AwaitResult { id, .. } => {
                self.events.push_back(ModemEvent::SendFailed { id, error })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Dcs, UserData};

    fn drain_tx(s: &mut ModemSession) -> Vec<u8> {
        let mut v = Vec::new();
        while let Some(t) = s.poll_transmit() {
            v.extend(t);
        }
        v
    }

    fn events(s: &mut ModemSession) -> Vec<ModemEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn ready(now: Instant) -> ModemSession {
        let mut s = ModemSession::new(ModemConfig::default(), now);
        let mut sent = Vec::new();
        for _ in 0..4 {
            sent.extend(drain_tx(&mut s));
            s.handle_input(now, b"\r\nOK\r\n");
        }
        assert_eq!(sent, b"ATE0\rAT+CMGF=0\rAT+CSMS=1\rAT+CNMI=2,2,0,0,0\r");
        assert_eq!(events(&mut s), vec![ModemEvent::Ready]);
        s
    }

    #[test]
    fn send_flow() {
        let t = Instant::now();
        let mut s = ready(t);
        let submit = SmsSubmit::new(
            Address::international("+46708251358").unwrap(),
            Dcs::GSM7,
            UserData::gsm7("hellohello").unwrap(),
        );
        let id = s.send(t, &submit).unwrap();
        assert_eq!(drain_tx(&mut s), b"AT+CMGS=22\r");
        s.handle_input(t, b"\r\n> ");
        assert_eq!(
            drain_tx(&mut s),
            b"0001000B916407281553F800000AE8329BFD4697D9EC37\x1a"
        );
        s.handle_input(t, b"\r\n+CMGS: 7\r\n\r\nOK\r\n");
        assert_eq!(events(&mut s), vec![ModemEvent::Sent { id, mr: 7 }]);
        // A second send fails with a +CMS code.
        let id2 = s.send(t, &submit).unwrap();
        drain_tx(&mut s);
        s.handle_input(t, b"\r\n+CMS ERROR: 330\r\n");
        assert_eq!(
            events(&mut s),
            vec![ModemEvent::SendFailed {
                id: id2,
                error: ModemError::Cms(ErrorReport::Code(330))
            }]
        );
        assert!(s.is_idle());
    }

    #[test]
    fn receive_and_ack() {
        let t = Instant::now();
        let mut s = ready(t);
        s.handle_input(
            t,
            b"\r\n+CMT: ,28\r\n07917283010010F5040B917238880900F10000993020811553800AE8329BFD4697D9EC37\r\n",
        );
        let ev = events(&mut s);
        let [ModemEvent::Received { smsc, deliver }] = ev.as_slice() else {
            panic!("{ev:?}")
        };
        assert_eq!(
            smsc.as_ref().map(|s| s.digits.as_str()),
            Some("27381000015")
        );
        assert_eq!(
            deliver.user_data.text(deliver.dcs).as_deref(),
            Some("hellohello")
        );
        assert_eq!(drain_tx(&mut s), b"AT+CNMA\r");
        s.handle_input(t, b"\r\nOK\r\n");
        assert!(s.is_idle());
        assert!(events(&mut s).is_empty());
    }

    #[test]
    fn timeouts() {
        let t = Instant::now();
        let mut s = ModemSession::new(ModemConfig::default(), t);
        assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(5)));
        s.handle_timeout(t + Duration::from_secs(4));
        assert!(events(&mut s).is_empty());
        s.handle_timeout(t + Duration::from_secs(5));
        assert_eq!(
            events(&mut s),
            vec![ModemEvent::InitFailed {
                command: AtCommand::EchoOff,
                error: ModemError::Timeout
            }]
        );
        assert!(s.is_idle());
        // A send whose prompt never comes is cancelled with ESC.
        let submit = SmsSubmit::new(
            Address::international("1").unwrap(),
            Dcs::DATA8,
            UserData::octets(vec![1]),
        );
        let id = s.send(t, &submit).unwrap();
        drain_tx(&mut s);
        s.handle_timeout(t + Duration::from_secs(60));
        assert_eq!(drain_tx(&mut s), vec![at::ESC]);
        assert_eq!(
            events(&mut s),
            vec![ModemEvent::SendFailed {
                id,
                error: ModemError::Timeout
            }]
        );
    }
}
