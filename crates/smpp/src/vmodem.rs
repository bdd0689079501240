//! The network side of a virtual modem's AT interface, sans-IO: the SMS
//! centre plays a TS 27.005 modem for a mobile node that reads and sends
//! SMS with AT commands (PDU mode) over TCP or a pty.
//!
//! Commands answered (V.250 verbose result codes, `<CR><LF>` framed):
//! `AT`, `ATE0`/`ATE1` (echo, on at start as V.250 §6.2.4 says), `ATZ`,
//! `ATI`, `AT+CMEE=<n>`, `AT+CMGF=0` (text mode, `=1`, is refused with
//! `+CMS ERROR: 303`), `AT+CSMS=<0|1>` (§3.2.1), `AT+CNMI=…` (§3.4.1),
//! `AT+CSCA?` (§3.3.1), `AT+CMGS=<length>` with the `> ` prompt, a PDU in
//! hex and Ctrl-Z, or ESC to cancel (§3.5.1), `AT+CNMA[=<n>]` (§3.4.4),
//! and `AT+CMGR`/`AT+CMGD`/`AT+CMGL` on an empty store (`+CMS ERROR: 321`
//! for an index). Read (`?`) and test (`=?`) forms exist for CMEE, CMGF,
//! CSMS and CNMI. Anything else gets `ERROR`; several commands on one line
//! (`;`) are not parsed.
//!
//! Deliveries become `+CMT: ,<length>` and the PDU line (§3.4.1) once the
//! terminal routes SMS-DELIVERs to itself (`+CNMI` `<mt>` = 2), and never
//! while it is typing a command or waiting for one. Under message service
//! 1 each `+CMT` waits for `AT+CNMA`; if none comes in time the delivery
//! failed and, as §3.4.4 requires, `<mt>` and `<ds>` drop to 0 until the
//! terminal sets `+CNMI` again. Under service 0 a delivery is done once
//! written. Errors use the `+CMS ERROR` codes of §3.2.5 (304 for a PDU
//! that does not decode, 340 for an unexpected `+CNMA`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use telsec_sms::at::{CTRL_Z, ESC, decode_hex, split_pdu};
use telsec_sms::{SmsSubmit, SmscAddress};

use crate::SmppError;
use crate::centre::DeliveryId;
use crate::convert::cms;

/// Longest command line kept (V.250 requires at least 40 characters).
pub const MAX_LINE: usize = 1024;
/// Largest SMS-SUBMIT TPDU: first octet, MR, 12-octet TP-DA, PID, DCS,
/// 7-octet TP-VP, UDL and 140 octets (TS 23.040 §9.2.2.2).
pub const MAX_SUBMIT_TPDU: usize = 164;
/// Hex characters of the longest PDU: a 12-octet SMSC prefix and the TPDU.
const MAX_PDU_HEX: usize = 2 * (12 + MAX_SUBMIT_TPDU);
/// Deliveries a modem holds beyond the one on screen.
const MAX_PENDING: usize = 4;

/// Settings of a [`VirtualModem`].
#[derive(Debug, Clone)]
pub struct VmodemConfig {
    /// The SC address put in front of `+CMT` PDUs and shown by `+CSCA?`.
    pub smsc: Option<SmscAddress>,
    /// How long a `+CMT` waits for `AT+CNMA` under service 1.
    pub ack_timeout: Duration,
}

impl Default for VmodemConfig {
    fn default() -> Self {
        VmodemConfig {
            smsc: None,
            ack_timeout: Duration::from_secs(30),
        }
    }
}

/// What the virtual modem reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmodemEvent {
    /// Whether deliveries are routed to the terminal now.
    Ready(bool),
    /// The terminal sent an SMS-SUBMIT; answer with
    /// [`VirtualModem::submit_result`].
    Submit {
        /// The TP-MR this modem gave it (also in `submit`).
        mr: u8,
        /// The message.
        submit: Box<SmsSubmit>,
    },
    /// A delivery reached the terminal (acknowledged under service 1).
    Delivered(DeliveryId),
    /// A delivery failed: no `+CNMA` in time, `+CNMA=2`, or the terminal left.
    DeliveryFailed(DeliveryId),
}

#[derive(Debug)]
enum Input {
    Command,
    Pdu {
        length: usize,
        hex: Vec<u8>,
        overflow: bool,
    },
    AwaitSubmit {
        mr: u8,
    },
}

/// One virtual modem; see the module documentation.
#[derive(Debug)]
pub struct VirtualModem {
    config: VmodemConfig,
    input: Input,
    line: Vec<u8>,
    overflow: bool,
    held: Vec<u8>,
    echo: bool,
    cmee: u8,
    service: u8,
    cnmi: [u8; 5],
    ready: bool,
    next_mr: u8,
    pending: VecDeque<(DeliveryId, Vec<u8>)>,
    awaiting_ack: Option<(DeliveryId, Instant)>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<VmodemEvent>,
}

impl VirtualModem {
    /// A modem in its power-on state: echo on, service 0, no indications.
    pub fn new(config: VmodemConfig) -> Self {
        VirtualModem {
            config,
            input: Input::Command,
            line: Vec::new(),
            overflow: false,
            held: Vec::new(),
            echo: true,
            cmee: 0,
            service: 0,
            cnmi: [0; 5],
            ready: false,
            next_mr: 0,
            pending: VecDeque::new(),
            awaiting_ack: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Whether deliveries are routed to the terminal.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Feeds octets from the terminal.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        for &b in data {
            self.push(now, b);
        }
        self.flush_urc(now);
    }

    /// Hands an SMS-DELIVER TPDU to the terminal.
    pub fn deliver(
        &mut self,
        now: Instant,
        delivery: DeliveryId,
        tpdu: Vec<u8>,
    ) -> Result<(), SmppError> {
        if !self.ready || self.pending.len() >= MAX_PENDING {
            return Err(SmppError::ModemBusy);
        }
        self.pending.push_back((delivery, tpdu));
        self.flush_urc(now);
        Ok(())
    }

    /// Answers the SMS-SUBMIT in hand: accepted, or a `+CMS ERROR` code.
    pub fn submit_result(&mut self, now: Instant, result: Result<(), u16>) {
        let Input::AwaitSubmit { mr } = self.input else {
            return;
        };
        self.input = Input::Command;
        match result {
            Ok(()) => {
                self.info(&format!("+CMGS: {mr}"));
                self.ok();
            }
            Err(code) => self.cms(code),
        }
        // Replay what the terminal typed meanwhile.
        let held = std::mem::take(&mut self.held);
        self.handle_input(now, &held);
    }

    /// The terminal went away: what was in hand failed.
    pub fn close(&mut self) {
        if let Some((d, _)) = self.awaiting_ack.take() {
            self.events.push_back(VmodemEvent::DeliveryFailed(d));
        }
        for (d, _) in self.pending.drain(..) {
            self.events.push_back(VmodemEvent::DeliveryFailed(d));
        }
        self.set_ready(false);
    }

    /// Octets to write to the terminal.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<VmodemEvent> {
        self.events.pop_front()
    }

    /// When [`VirtualModem::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.awaiting_ack.map(|(_, d)| d)
    }

    /// Runs the `+CNMA` timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((d, deadline)) = self.awaiting_ack
            && deadline <= now
        {
            self.awaiting_ack = None;
            self.events.push_back(VmodemEvent::DeliveryFailed(d));
            // TS 27.005 §3.4.4: no acknowledgement in time disables routing.
            self.cnmi[1] = 0;
            self.cnmi[3] = 0;
            self.update_ready();
        }
    }

    fn set_ready(&mut self, ready: bool) {
        if self.ready != ready {
            self.ready = ready;
            self.events.push_back(VmodemEvent::Ready(ready));
        }
        if !ready {
            for (d, _) in self.pending.drain(..) {
                self.events.push_back(VmodemEvent::DeliveryFailed(d));
            }
        }
    }

    fn update_ready(&mut self) {
        self.set_ready(self.cnmi[1] == 2);
    }

    fn flush_urc(&mut self, now: Instant) {
        while self.ready
            && matches!(self.input, Input::Command)
            && self.line.is_empty()
            && self.awaiting_ack.is_none()
        {
            let Some((d, tpdu)) = self.pending.pop_front() else {
                return;
            };
            let mut octets = Vec::with_capacity(12 + tpdu.len());
            if SmscAddress::emit_prefix(self.config.smsc.as_ref(), &mut octets).is_err() {
                octets.clear();
                octets.push(0);
            }
            octets.extend_from_slice(&tpdu);
            let hex: String = octets.iter().map(|b| format!("{b:02X}")).collect();
            self.transmit
                .push_back(format!("\r\n+CMT: ,{}\r\n{hex}\r\n", tpdu.len()).into_bytes());
            if self.service == 1 {
                self.awaiting_ack = Some((d, now + self.config.ack_timeout));
            } else {
                self.events.push_back(VmodemEvent::Delivered(d));
            }
        }
    }

    fn push(&mut self, now: Instant, b: u8) {
        match &mut self.input {
            Input::AwaitSubmit { .. } => {
                if self.held.len() < MAX_LINE {
                    self.held.push(b);
                }
            }
            Input::Pdu {
                length,
                hex,
                overflow,
            } => match b {
                CTRL_Z => {
                    let (length, hex, overflow) = (*length, std::mem::take(hex), *overflow);
                    self.input = Input::Command;
                    self.end_pdu(length, &hex, overflow);
                }
                ESC => {
                    self.input = Input::Command;
                    self.ok();
                }
                b'\r' | b'\n' => {}
                _ if hex.len() >= MAX_PDU_HEX => *overflow = true,
                _ => hex.push(b),
            },
            Input::Command => {
                if self.echo {
                    self.transmit.push_back(vec![b]);
                }
                match b {
                    b'\r' => {
                        let line = std::mem::take(&mut self.line);
                        if std::mem::take(&mut self.overflow) {
                            self.error();
                        } else {
                            self.command(now, &line);
                        }
                    }
                    b'\n' => {}
                    _ if self.line.len() >= MAX_LINE => self.overflow = true,
                    _ => self.line.push(b),
                }
            }
        }
    }

    fn end_pdu(&mut self, length: usize, hex: &[u8], overflow: bool) {
        if overflow {
            return self.cms(cms::INVALID_PDU_PARAMETER);
        }
        let text = String::from_utf8_lossy(hex);
        let parsed = decode_hex(text.trim())
            .and_then(|octets| split_pdu(&octets, length))
            .and_then(|(_, tpdu)| SmsSubmit::parse(&tpdu));
        match parsed {
            Ok(mut submit) => {
                let mr = self.next_mr;
                self.next_mr = self.next_mr.wrapping_add(1);
                // The ME sets TP-MR (TS 23.040 §9.2.3.6).
                submit.message_reference = mr;
                self.input = Input::AwaitSubmit { mr };
                self.events.push_back(VmodemEvent::Submit {
                    mr,
                    submit: Box::new(submit),
                });
            }
            Err(_) => self.cms(cms::INVALID_PDU_PARAMETER),
        }
    }

    fn send(&mut self, text: &str) {
        self.transmit.push_back(text.as_bytes().to_vec());
    }

    fn info(&mut self, text: &str) {
        self.send(&format!("\r\n{text}\r\n"));
    }

    fn ok(&mut self) {
        self.send("\r\nOK\r\n");
    }

    fn error(&mut self) {
        self.send("\r\nERROR\r\n");
    }

    fn cms(&mut self, code: u16) {
        self.info(&format!("+CMS ERROR: {code}"));
    }

    /// Parses a numeric parameter list; `None` if a field is not a number.
    fn numbers(args: &str) -> Option<Vec<Option<u32>>> {
        args.split(',')
            .map(|f| {
                let f = f.trim();
                if f.is_empty() {
                    Some(None)
                } else {
                    f.parse().ok().map(Some)
                }
            })
            .collect()
    }

    fn command(&mut self, now: Instant, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let Some(body) = text
            .get(..2)
            .filter(|p| p.eq_ignore_ascii_case("AT"))
            .map(|_| &text[2..])
        else {
            return self.error();
        };
        let upper = body.to_ascii_uppercase();
        let (name, rest) = match upper.find(['=', '?']) {
            Some(i) => (&upper[..i], &upper[i..]),
            None => (upper.as_str(), ""),
        };
        match (name, rest) {
            ("", "") => self.ok(),
            ("E0" | "E", "") => {
                self.echo = false;
                self.ok();
            }
            ("E1", "") => {
                self.echo = true;
                self.ok();
            }
            ("Z", "") => {
                self.echo = true;
                self.cmee = 0;
                self.service = 0;
                self.cnmi = [0; 5];
                self.update_ready();
                self.ok();
            }
            ("I", "") => {
                self.info("telsec virtual modem");
                self.ok();
            }
            ("+CMEE", _) => self.setting(rest, "+CMEE", 2, |m| &mut m.cmee),
            ("+CMGF", "?") => {
                self.info("+CMGF: 0");
                self.ok();
            }
            ("+CMGF", "=?") => {
                self.info("+CMGF: (0)");
                self.ok();
            }
            ("+CMGF", "=0") => self.ok(),
            ("+CMGF", _) => self.cms(cms::OPERATION_NOT_SUPPORTED),
            ("+CSMS", "?") => {
                let s = self.service;
                self.info(&format!("+CSMS: {s},1,1,1"));
                self.ok();
            }
            ("+CSMS", "=?") => {
                self.info("+CSMS: (0,1)");
                self.ok();
            }
            ("+CSMS", r) => match r
                .strip_prefix('=')
                .and_then(|v| v.trim().parse::<u8>().ok())
            {
                Some(s @ (0 | 1)) => {
                    self.service = s;
                    self.info("+CSMS: 1,1,1");
                    self.ok();
                }
                _ => self.cms(cms::OPERATION_NOT_SUPPORTED),
            },
            ("+CNMI", "?") => {
                let [a, b, c, d, e] = self.cnmi;
                self.info(&format!("+CNMI: {a},{b},{c},{d},{e}"));
                self.ok();
            }
            ("+CNMI", "=?") => {
                self.info("+CNMI: (0-3),(0,2),(0),(0-2),(0,1)");
                self.ok();
            }
            ("+CNMI", r) => self.cnmi_set(r),
            ("+CSCA", "?") => {
                let (digits, toa) = match &self.config.smsc {
                    Some(s) => (
                        s.digits.clone(),
                        0x80 | ((u8::from(s.ton) & 7) << 4) | (u8::from(s.npi) & 0x0F),
                    ),
                    None => (String::new(), 129),
                };
                let plus = if toa == 145 { "+" } else { "" };
                self.info(&format!("+CSCA: \"{plus}{digits}\",{toa}"));
                self.ok();
            }
            ("+CMGS", r) => {
                match r
                    .strip_prefix('=')
                    .and_then(|v| v.trim().parse::<usize>().ok())
                {
                    Some(length @ 1..=MAX_SUBMIT_TPDU) => {
                        self.input = Input::Pdu {
                            length,
                            hex: Vec::new(),
                            overflow: false,
                        };
                        self.send("\r\n> ");
                    }
                    _ => self.cms(cms::INVALID_PDU_PARAMETER),
                }
            }
            ("+CNMA", r) => self.cnma(now, r),
            ("+CMGR" | "+CMGD", r) if r.starts_with('=') && r != "=?" => {
                self.cms(cms::INVALID_MEMORY_INDEX)
            }
            ("+CMGL", _) => self.ok(),
            _ => self.error(),
        }
    }

    fn setting(&mut self, rest: &str, name: &str, max: u8, field: fn(&mut Self) -> &mut u8) {
        match rest {
            "?" => {
                let v = *field(self);
                self.info(&format!("{name}: {v}"));
                self.ok();
            }
            "=?" => {
                self.info(&format!("{name}: (0-{max})"));
                self.ok();
            }
            r => match r
                .strip_prefix('=')
                .and_then(|v| v.trim().parse::<u8>().ok())
            {
                Some(v) if v <= max => {
                    *field(self) = v;
                    self.ok();
                }
                _ => self.error(),
            },
        }
    }

    fn cnmi_set(&mut self, rest: &str) {
        let Some(values) = rest.strip_prefix('=').and_then(Self::numbers) else {
            return self.error();
        };
        // <mode> 0-3, <mt> 0 or 2 (no storage to route +CMTI from), <bm> 0,
        // <ds> 0-2, <bfr> 0-1.
        const ALLOWED: [&[u32]; 5] = [&[0, 1, 2, 3], &[0, 2], &[0], &[0, 1, 2], &[0, 1]];
        if values.len() > 5 {
            return self.cms(cms::OPERATION_NOT_SUPPORTED);
        }
        let mut next = self.cnmi;
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                if !ALLOWED[i].contains(v) {
                    return self.cms(cms::OPERATION_NOT_SUPPORTED);
                }
                next[i] = *v as u8;
            }
        }
        self.cnmi = next;
        self.update_ready();
        self.ok();
    }

    fn cnma(&mut self, now: Instant, rest: &str) {
        let n = match rest {
            "" => Some(0),
            r => r.strip_prefix('=').and_then(Self::numbers).and_then(|v| {
                // A PDU after the command (<length> > 0) is not taken.
                match v.as_slice() {
                    [n] | [n, None | Some(0)] => Some(n.unwrap_or(0)),
                    _ => None,
                }
            }),
        };
        let Some(n @ 0..=2) = n else {
            return self.cms(cms::OPERATION_NOT_SUPPORTED);
        };
        let Some((d, _)) = self.awaiting_ack.take() else {
            return self.cms(cms::NO_CNMA_EXPECTED);
        };
        self.events.push_back(if n == 2 {
            VmodemEvent::DeliveryFailed(d)
        } else {
            VmodemEvent::Delivered(d)
        });
        self.ok();
        self.flush_urc(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telsec_sms::{Address, Dcs, ModemConfig, ModemEvent, ModemSession, SmsDeliver, UserData};

    fn smsc() -> SmscAddress {
        SmscAddress::international("+4420000099").unwrap()
    }

    fn vm() -> VirtualModem {
        VirtualModem::new(VmodemConfig {
            smsc: Some(smsc()),
            ack_timeout: Duration::from_secs(5),
        })
    }

    /// Runs a real `ModemSession` against the virtual modem until quiet.
    fn run(
        now: Instant,
        m: &mut ModemSession,
        v: &mut VirtualModem,
    ) -> (Vec<ModemEvent>, Vec<VmodemEvent>) {
        let (mut me, mut ve) = (Vec::new(), Vec::new());
        loop {
            let mut moved = false;
            while let Some(b) = m.poll_transmit() {
                v.handle_input(now, &b);
                moved = true;
            }
            while let Some(b) = v.poll_transmit() {
                m.handle_input(now, &b);
                moved = true;
            }
            me.extend(std::iter::from_fn(|| m.poll_event()));
            ve.extend(std::iter::from_fn(|| v.poll_event()));
            if !moved {
                return (me, ve);
            }
        }
    }

    fn raw(now: Instant, v: &mut VirtualModem, input: &[u8]) -> String {
        v.handle_input(now, input);
        let mut out = Vec::new();
        while let Some(b) = v.poll_transmit() {
            out.extend(b);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn deliver_tpdu(text: &str) -> (SmsDeliver, Vec<u8>) {
        let d = SmsDeliver {
            more_messages: false,
            loop_prevention: false,
            status_report_indication: false,
            reply_path: false,
            originator: Address::international("+4420000001").unwrap(),
            pid: 0,
            dcs: Dcs::GSM7,
            scts: crate::time::scts(1_772_368_496),
            user_data: UserData::gsm7(text).unwrap(),
        };
        let t = d.to_vec().unwrap();
        (d, t)
    }

    #[test]
    fn modem_session_sets_up_receives_and_sends() {
        let now = Instant::now();
        let mut v = vm();
        let mut m = ModemSession::new(ModemConfig::default(), now);
        let (me, ve) = run(now, &mut m, &mut v);
        assert_eq!(me, vec![ModemEvent::Ready]);
        assert_eq!(ve, vec![VmodemEvent::Ready(true)]);
        // MT: +CMT with the SMSC prefix, then AT+CNMA from the session.
        let (d, tpdu) = deliver_tpdu("hello");
        v.deliver(now, DeliveryId(1), tpdu).unwrap();
        let (me, ve) = run(now, &mut m, &mut v);
        assert_eq!(
            me,
            vec![ModemEvent::Received {
                smsc: Some(smsc()),
                deliver: d
            }]
        );
        assert_eq!(ve, vec![VmodemEvent::Delivered(DeliveryId(1))]);
        // MO: AT+CMGS, prompt, PDU, +CMGS: <mr>.
        let s = SmsSubmit::new(
            Address::international("+4420000001").unwrap(),
            Dcs::DATA8,
            UserData::octets(vec![0xCA, 0xFE]),
        );
        let id = m.send(now, &s).unwrap();
        let (me, ve) = run(now, &mut m, &mut v);
        assert!(me.is_empty());
        let [VmodemEvent::Submit { mr: 0, submit }] = &ve[..] else {
            panic!("{ve:?}")
        };
        assert_eq!(submit.user_data.data, vec![0xCA, 0xFE]);
        v.submit_result(now, Ok(()));
        let (me, _) = run(now, &mut m, &mut v);
        assert_eq!(me, vec![ModemEvent::Sent { id, mr: 0 }]);
        // A refused submit.
        let id = m.send(now, &s).unwrap();
        run(now, &mut m, &mut v);
        v.submit_result(now, Err(cms::CONGESTION));
        let (me, _) = run(now, &mut m, &mut v);
        assert!(matches!(&me[..], [ModemEvent::SendFailed { id: i, .. }] if *i == id));
    }

    #[test]
    fn service_zero_needs_no_ack() {
        let now = Instant::now();
        let mut v = vm();
        let mut m = ModemSession::new(
            ModemConfig {
                ack_deliveries: false,
                ..ModemConfig::default()
            },
            now,
        );
        run(now, &mut m, &mut v);
        for i in 0..2 {
            v.deliver(now, DeliveryId(i), deliver_tpdu("x").1).unwrap();
        }
        let (me, ve) = run(now, &mut m, &mut v);
        assert_eq!(me.len(), 2);
        assert_eq!(
            ve,
            vec![
                VmodemEvent::Delivered(DeliveryId(0)),
                VmodemEvent::Delivered(DeliveryId(1))
            ]
        );
    }

    #[test]
    fn ack_timeout_disables_routing() {
        let now = Instant::now();
        let mut v = vm();
        assert!(v.deliver(now, DeliveryId(1), vec![0]).is_err(), "not ready");
        let out = raw(now, &mut v, b"ATE0\rAT+CSMS=1\rAT+CNMI=2,2,0,0,0\r");
        assert_eq!(
            out,
            "ATE0\r\r\nOK\r\n\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n\r\nOK\r\n"
        );
        let (_, tpdu) = deliver_tpdu("a");
        v.deliver(now, DeliveryId(7), tpdu.clone()).unwrap();
        v.deliver(now, DeliveryId(8), tpdu.clone()).unwrap();
        let out = raw(now, &mut v, b"");
        assert!(
            out.starts_with(&format!("\r\n+CMT: ,{}\r\n06914402000099", tpdu.len())),
            "{out}"
        );
        assert_eq!(
            out.matches("+CMT").count(),
            1,
            "one unacknowledged +CMT at a time"
        );
        assert_eq!(v.poll_timeout(), Some(now + Duration::from_secs(5)));
        v.handle_timeout(now + Duration::from_secs(5));
        let ev: Vec<_> = std::iter::from_fn(|| v.poll_event()).collect();
        assert_eq!(
            ev,
            vec![
                VmodemEvent::Ready(true),
                VmodemEvent::DeliveryFailed(DeliveryId(7)),
                VmodemEvent::Ready(false),
                VmodemEvent::DeliveryFailed(DeliveryId(8)),
            ]
        );
        assert_eq!(
            raw(now, &mut v, b"AT+CNMI?\r"),
            "\r\n+CNMI: 2,0,0,0,0\r\n\r\nOK\r\n"
        );
        assert_eq!(raw(now, &mut v, b"AT+CNMA\r"), "\r\n+CMS ERROR: 340\r\n");
    }

    #[test]
    fn negative_ack_and_errors() {
        let now = Instant::now();
        let mut v = vm();
        raw(now, &mut v, b"ATE0\rAT+CSMS=1\rAT+CNMI=1,2\r");
        v.deliver(now, DeliveryId(3), deliver_tpdu("a").1).unwrap();
        raw(now, &mut v, b"");
        assert_eq!(raw(now, &mut v, b"AT+CNMA=2\r"), "\r\nOK\r\n");
        assert!(
            std::iter::from_fn(|| v.poll_event())
                .any(|e| e == VmodemEvent::DeliveryFailed(DeliveryId(3)))
        );
        assert_eq!(raw(now, &mut v, b"AT+CMGF=1\r"), "\r\n+CMS ERROR: 303\r\n");
        assert_eq!(
            raw(now, &mut v, b"AT+CMGF?\r"),
            "\r\n+CMGF: 0\r\n\r\nOK\r\n"
        );
        assert_eq!(
            raw(now, &mut v, b"AT+CNMI=2,1\r"),
            "\r\n+CMS ERROR: 303\r\n"
        );
        assert_eq!(raw(now, &mut v, b"AT+CNMI=x\r"), "\r\nERROR\r\n");
        assert_eq!(raw(now, &mut v, b"AT+CSMS=5\r"), "\r\n+CMS ERROR: 303\r\n");
        assert_eq!(raw(now, &mut v, b"AT+CMEE=1\r"), "\r\nOK\r\n");
        assert_eq!(
            raw(now, &mut v, b"AT+CMEE?\r"),
            "\r\n+CMEE: 1\r\n\r\nOK\r\n"
        );
        assert_eq!(raw(now, &mut v, b"AT+CMEE=9\r"), "\r\nERROR\r\n");
        assert_eq!(
            raw(now, &mut v, b"AT+CSCA?\r"),
            "\r\n+CSCA: \"+4420000099\",145\r\n\r\nOK\r\n"
        );
        assert_eq!(raw(now, &mut v, b"AT+CMGR=1\r"), "\r\n+CMS ERROR: 321\r\n");
        assert_eq!(raw(now, &mut v, b"AT+FOO\r"), "\r\nERROR\r\n");
        assert_eq!(raw(now, &mut v, b"hello\r"), "\r\nERROR\r\n");
        assert_eq!(raw(now, &mut v, b"at\r\n"), "\r\nOK\r\n");
        assert_eq!(raw(now, &mut v, &[b'A'; 2000]), "");
        assert_eq!(raw(now, &mut v, b"\r"), "\r\nERROR\r\n");
        // Bad PDUs: wrong length, bad hex, not a SUBMIT, oversize; cancel.
        assert_eq!(raw(now, &mut v, b"AT+CMGS=0\r"), "\r\n+CMS ERROR: 304\r\n");
        assert_eq!(
            raw(now, &mut v, b"AT+CMGS=200\r"),
            "\r\n+CMS ERROR: 304\r\n"
        );
        for pdu in [
            &b"00110000\x1a"[..],
            b"0011zz\x1a",
            b"000000\x1a",
            &[b'0'; 500],
        ] {
            assert_eq!(raw(now, &mut v, b"AT+CMGS=3\r"), "\r\n> ");
            let mut p = pdu.to_vec();
            if !p.ends_with(&[CTRL_Z]) {
                p.push(CTRL_Z);
            }
            assert_eq!(raw(now, &mut v, &p), "\r\n+CMS ERROR: 304\r\n", "{pdu:?}");
        }
        assert_eq!(raw(now, &mut v, b"AT+CMGS=3\r"), "\r\n> ");
        assert_eq!(raw(now, &mut v, b"0011\x1b"), "\r\nOK\r\n");
        assert!(
            std::iter::from_fn(|| v.poll_event()).all(|e| !matches!(e, VmodemEvent::Submit { .. }))
        );
    }

    #[test]
    fn input_waits_for_the_submit_result() {
        let now = Instant::now();
        let mut v = vm();
        raw(now, &mut v, b"ATE0\r");
        let s = SmsSubmit::new(
            Address::international("1").unwrap(),
            Dcs::GSM7,
            UserData::gsm7("hi").unwrap(),
        );
        let tpdu = s.to_vec().unwrap();
        let body = telsec_sms::at::pdu_body(None, &tpdu).unwrap();
        raw(now, &mut v, format!("AT+CMGS={}\r", tpdu.len()).as_bytes());
        assert_eq!(raw(now, &mut v, &body), "");
        assert_eq!(raw(now, &mut v, b"AT\r"), "", "held until the SC answers");
        v.submit_result(now, Ok(()));
        let mut out = Vec::new();
        while let Some(b) = v.poll_transmit() {
            out.extend(b);
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\r\n+CMGS: 0\r\n\r\nOK\r\n\r\nOK\r\n"
        );
        // The terminal leaves with a delivery on screen.
        raw(now, &mut v, b"AT+CSMS=1\rAT+CNMI=2,2\r");
        v.deliver(now, DeliveryId(4), deliver_tpdu("z").1).unwrap();
        raw(now, &mut v, b"");
        while v.poll_event().is_some() {}
        v.close();
        let ev: Vec<_> = std::iter::from_fn(|| v.poll_event()).collect();
        assert_eq!(
            ev,
            vec![
                VmodemEvent::DeliveryFailed(DeliveryId(4)),
                VmodemEvent::Ready(false)
            ]
        );
    }
}
