//! The SMS centre core, without I/O: who can receive, what waits for whom,
//! and when to try again.
//!
//! Subscribers are the MSISDNs of configured virtual modems; ESMEs are SMPP
//! connections the driver reports as bound. Every message waits in a
//! bounded store-and-forward queue for its destination (a subscriber, or
//! the system_id of an ESME) until the destination is reachable, with one
//! delivery in flight per queue so messages arrive in order. A failed
//! attempt is retried after a back-off that doubles up to a ceiling; a
//! message whose validity period ends is dropped (TS 23.040 §9.2.3.12,
//! SMPP 3.4 §5.2.16). Delivery receipts go back to the submitting
//! system_id (SMPP 3.4 §5.2.17, Appendix B).
//!
//! Routing of mobile-originated messages to ESMEs, in order: the longest
//! configured route prefix matching TP-DA; the longest `address_range` of
//! a bound receiver that matches (a digit prefix, `^`, `$` and a trailing
//! `.*` or `*` being ignored; other regular expressions are not matched);
//! any bound receiver.
//!
//! The driver reports each attempt's outcome with
//! [`Centre::delivery_outcome`]; an attempt with no outcome after
//! [`CentreConfig::attempt_timeout`] counts as a temporary failure.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rusmpp::CommandStatus;
use rusmpp::pdus::DeliverSm;
use telsec_sms::{SmsDeliver, SmsSubmit};

use crate::SmppError;
use crate::convert::{cms, deliver_parts, mo_deliver_sm};
use crate::receipt::{self, FinalState, ReceiptInfo};
use crate::submission::{ReceiptRequest, Submission, e164};
use crate::time::{Now, scts};

/// A route for mobile-originated messages: TP-DA starting with `prefix`
/// goes to the ESME that binds as `system_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Digits TP-DA starts with (a service number, or a range).
    pub prefix: String,
    /// The system_id of the ESME that takes them.
    pub system_id: String,
}

/// Settings of a [`Centre`].
#[derive(Debug, Clone)]
pub struct CentreConfig {
    /// Messages that may wait for one destination.
    pub queue_limit: usize,
    /// Validity when the submit_sm gives none.
    pub default_validity: Duration,
    /// The longest validity accepted; longer requests are shortened.
    pub max_validity: Duration,
    /// Wait before the first retry.
    pub retry_interval: Duration,
    /// Ceiling of the doubling retry wait.
    pub max_retry_interval: Duration,
    /// How long an attempt may go without an outcome.
    pub attempt_timeout: Duration,
    /// Routes for mobile-originated messages.
    pub routes: Vec<Route>,
}

impl Default for CentreConfig {
    fn default() -> Self {
        CentreConfig {
            queue_limit: 100,
            default_validity: Duration::from_secs(48 * 3600),
            max_validity: Duration::from_secs(7 * 24 * 3600),
            retry_interval: Duration::from_secs(30),
            max_retry_interval: Duration::from_secs(3600),
            attempt_timeout: Duration::from_secs(120),
            routes: Vec::new(),
        }
    }
}

/// Names one ESME connection; assigned by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EsmeId(pub u64);

/// Names one delivery attempt; assigned by the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub u64);

/// What the driver reports about a bound ESME connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Its system_id.
    pub system_id: String,
    /// Bound as receiver or transceiver.
    pub receives: bool,
    /// Its bind address_range.
    pub address_range: String,
    /// Its bind interface_version (0x34 for SMPP 3.4).
    pub interface_version: u8,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (`+CNMA`, or deliver_sm_resp `ESME_ROK`).
    Delivered,
    /// Not now (no answer, connection lost, `ESME_RTHROTTLED`, …): retry.
    TemporaryFailure,
    /// Never (e.g. deliver_sm_resp `ESME_RX_P_APPN`): drop the message.
    PermanentFailure,
}

impl Outcome {
    /// The outcome a deliver_sm_resp status means (SMPP 3.4 §5.1.3):
    /// throttling, a full queue, a temporary application error, a system
    /// error or no answer are worth retrying.
    pub fn from_status(status: Option<CommandStatus>) -> Self {
        match status {
            Some(CommandStatus::EsmeRok) => Outcome::Delivered,
            None
            | Some(
                CommandStatus::EsmeRthrottled
                | CommandStatus::EsmeRmsgqful
                | CommandStatus::EsmeRxTAppn
                | CommandStatus::EsmeRsyserr,
            ) => Outcome::TemporaryFailure,
            Some(_) => Outcome::PermanentFailure,
        }
    }
}

/// Work for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Hand an SMS-DELIVER TPDU to the virtual modem of `msisdn`.
    ToModem {
        /// The subscriber.
        msisdn: String,
        /// Report the outcome under this id.
        delivery: DeliveryId,
        /// The TPDU.
        tpdu: Vec<u8>,
    },
    /// Send a deliver_sm on an ESME connection.
    ToEsme {
        /// The connection.
        esme: EsmeId,
        /// Report the outcome under this id.
        delivery: DeliveryId,
        /// The PDU body.
        deliver_sm: Box<DeliverSm>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dest {
    Subscriber(String),
    System(String),
}

#[derive(Debug)]
enum Payload {
    Mt(SmsDeliver),
    Sm(Box<DeliverSm>),
}

#[derive(Debug)]
struct Item {
    message_id: String,
    payload: Payload,
    not_before: Instant,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Item>,
    in_flight: Option<(DeliveryId, Instant)>,
    retry_at: Option<Instant>,
    backoff: Option<Duration>,
}

#[derive(Debug)]
struct Record {
    info: ReceiptInfo,
    request: ReceiptRequest,
    system_id: String,
    validity: Duration,
}

/// The SMS centre; see the module documentation.
#[derive(Debug)]
pub struct Centre {
    config: CentreConfig,
    subscribers: HashMap<String, bool>,
    esmes: BTreeMap<EsmeId, Binding>,
    queues: BTreeMap<Dest, Queue>,
    in_flight: HashMap<DeliveryId, Dest>,
    /// The connection each in-flight deliver_sm went out on.
    outputs_esme: HashMap<DeliveryId, EsmeId>,
    records: HashMap<String, Record>,
    outputs: VecDeque<Output>,
    next_message: u64,
    next_delivery: u64,
}

/// Message ids are ten decimal digits (SMPP 3.4 Appendix B `id:IIIIIIIIII`).
const MESSAGE_ID_MODULUS: u64 = 10_000_000_000;

impl Centre {
    /// A centre with no subscribers.
    pub fn new(config: CentreConfig) -> Self {
        Centre {
            config,
            subscribers: HashMap::new(),
            esmes: BTreeMap::new(),
            queues: BTreeMap::new(),
            in_flight: HashMap::new(),
            outputs_esme: HashMap::new(),
            records: HashMap::new(),
            outputs: VecDeque::new(),
            next_message: 0,
            next_delivery: 0,
        }
    }

    /// Starts message ids at `first` (e.g. from the clock, so ids differ
    /// across restarts).
    pub fn set_first_message_id(&mut self, first: u64) {
        self.next_message = first % MESSAGE_ID_MODULUS;
    }

    /// Registers the MSISDN of a virtual modem.
    pub fn add_subscriber(&mut self, msisdn: &str) -> Result<String, SmppError> {
        let digits = e164(msisdn).ok_or(SmppError::Field {
            field: "msisdn",
            reason: "not an E.164 number",
        })?;
        self.subscribers.entry(digits.clone()).or_insert(false);
        Ok(digits)
    }

    /// Whether `msisdn` is registered.
    pub fn is_subscriber(&self, msisdn: &str) -> bool {
        e164(msisdn).is_some_and(|d| self.subscribers.contains_key(&d))
    }

    /// Messages waiting for `msisdn`, the one in flight included.
    pub fn queued_for(&self, msisdn: &str) -> usize {
        e164(msisdn)
            .and_then(|d| self.queues.get(&Dest::Subscriber(d)))
            .map_or(0, |q| q.items.len())
    }

    /// The virtual modem of `msisdn` can (or can no longer) take deliveries.
    pub fn modem_ready(&mut self, now: Now, msisdn: &str, ready: bool) {
        let Some(digits) = e164(msisdn) else { return };
        let Some(state) = self.subscribers.get_mut(&digits) else {
            return;
        };
        *state = ready;
        let dest = Dest::Subscriber(digits);
        if ready {
            if let Some(q) = self.queues.get_mut(&dest) {
                // A returning subscriber is tried at once.
                q.retry_at = None;
                q.backoff = None;
            }
        } else {
            self.fail_in_flight(now, &dest);
        }
        self.pump(now, &dest);
    }

    /// An ESME connection bound.
    pub fn esme_bound(&mut self, now: Now, id: EsmeId, binding: Binding) {
        let dest = Dest::System(binding.system_id.clone());
        self.esmes.insert(id, binding);
        if let Some(q) = self.queues.get_mut(&dest) {
            q.retry_at = None;
            q.backoff = None;
        }
        self.pump(now, &dest);
    }

    /// An ESME connection unbound or closed.
    pub fn esme_unbound(&mut self, now: Now, id: EsmeId) {
        let Some(b) = self.esmes.remove(&id) else {
            return;
        };
        let dest = Dest::System(b.system_id);
        // Its in-flight deliver_sm is lost with the connection.
        if let Some(q) = self.queues.get(&dest)
            && let Some((d, _)) = q.in_flight
            && self.esme_of_delivery(d) == Some(id)
        {
            self.fail_in_flight(now, &dest);
        }
        self.pump(now, &dest);
    }

    fn esme_of_delivery(&self, d: DeliveryId) -> Option<EsmeId> {
        self.outputs_esme.get(&d).copied()
    }

    /// Accepts a checked submit_sm from ESME `from` and returns its
    /// message_id, or refuses it: `ESME_RINVDSTADR` for an MSISDN that is
    /// no subscriber, `ESME_RMSGQFUL` when its queue is full,
    /// `ESME_RINVEXPIRY` / `ESME_RINVSCHED` for times already past or
    /// scheduled after the validity ends.
    pub fn submit(
        &mut self,
        now: Now,
        from: EsmeId,
        sub: &Submission,
    ) -> Result<String, CommandStatus> {
        if !self.subscribers.contains_key(&sub.destination) {
            return Err(CommandStatus::EsmeRinvdstadr);
        }
        let validity = match sub.validity {
            None => self.config.default_validity,
            Some(v) => {
                let d = v.after(now.unix_secs);
                if d.is_zero() {
                    return Err(CommandStatus::EsmeRinvexpiry);
                }
                d.min(self.config.max_validity)
            }
        };
        let delay = sub
            .schedule
            .map_or(Duration::ZERO, |s| s.after(now.unix_secs));
        if delay >= validity {
            return Err(CommandStatus::EsmeRinvsched);
        }
        let dest = Dest::Subscriber(sub.destination.clone());
        let waiting = self.queues.get(&dest).map_or(0, |q| q.items.len());
        let message_id = self.message_id();
        let reference = (self.next_message & 0xFF) as u8;
        let parts = deliver_parts(sub, scts(now.unix_secs), reference);
        if waiting + parts.len() > self.config.queue_limit {
            return Err(CommandStatus::EsmeRmsgqful);
        }
        if sub.receipt != ReceiptRequest::None {
            let binding = self.esmes.get(&from);
            self.records.insert(
                message_id.clone(),
                Record {
                    info: ReceiptInfo {
                        message_id: message_id.clone(),
                        source: sub.smpp_source.clone(),
                        destination: sub.smpp_destination.clone(),
                        submitted: now.unix_secs,
                        done: now.unix_secs,
                        segments: parts.len(),
                        delivered: 0,
                        state: FinalState::Delivered,
                        preview: sub.preview.clone(),
                        tlvs: binding.is_none_or(|b| b.interface_version >= 0x34),
                    },
                    request: sub.receipt,
                    system_id: binding.map(|b| b.system_id.clone()).unwrap_or_default(),
                    validity: self.config.default_validity,
                },
            );
        }
        let queue = self.queues.entry(dest.clone()).or_default();
        for part in parts {
            queue.items.push_back(Item {
                message_id: message_id.clone(),
                payload: Payload::Mt(part),
                not_before: now.instant + delay,
                expires: now.instant + validity,
            });
        }
        self.pump(now, &dest);
        Ok(message_id)
    }

    /// Accepts an SMS-SUBMIT from the modem of `msisdn`, to be delivered to
    /// an ESME; refuses with a `+CMS ERROR` code (TS 27.005 §3.2.5).
    pub fn submit_mo(&mut self, now: Now, msisdn: &str, submit: &SmsSubmit) -> Result<String, u16> {
        let digits = e164(msisdn)
            .filter(|d| self.subscribers.contains_key(d))
            .ok_or(cms::OPERATION_NOT_ALLOWED)?;
        let deliver_sm = mo_deliver_sm(&digits, submit)?;
        let target = deliver_sm.destination_addr.as_str().to_owned();
        let system_id = self.route(&target).ok_or(cms::DESTINATION_OUT_OF_ORDER)?;
        let dest = Dest::System(system_id);
        if self.queues.get(&dest).map_or(0, |q| q.items.len()) >= self.config.queue_limit {
            return Err(cms::CONGESTION);
        }
        let message_id = self.message_id();
        self.queues
            .entry(dest.clone())
            .or_default()
            .items
            .push_back(Item {
                message_id: message_id.clone(),
                payload: Payload::Sm(Box::new(deliver_sm)),
                not_before: now.instant,
                expires: now.instant + self.config.default_validity,
            });
        self.pump(now, &dest);
        Ok(message_id)
    }

    fn route(&self, target: &str) -> Option<String> {
        let best = |candidates: &mut dyn Iterator<Item = (&str, &str)>| {
            candidates
                .filter(|(prefix, _)| target.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, s)| s.to_owned())
        };
        if let Some(s) = best(
            &mut self
                .config
                .routes
                .iter()
                .map(|r| (r.prefix.as_str(), r.system_id.as_str())),
        ) {
            return Some(s);
        }
        let receivers = || self.esmes.values().filter(|b| b.receives);
        let ranged = receivers()
            .filter_map(|b| range_prefix(&b.address_range).map(|p| (p, b.system_id.as_str())));
        if let Some(s) = best(&mut ranged.into_iter()) {
            return Some(s);
        }
        receivers().next().map(|b| b.system_id.clone())
    }

    /// Reports how delivery attempt `id` ended.
    pub fn delivery_outcome(&mut self, now: Now, id: DeliveryId, outcome: Outcome) {
        let Some(dest) = self.in_flight.remove(&id) else {
            return;
        };
        self.outputs_esme.remove(&id);
        let Some(q) = self.queues.get_mut(&dest) else {
            return;
        };
        if q.in_flight.map(|(d, _)| d) != Some(id) {
            return;
        }
        q.in_flight = None;
        match outcome {
            Outcome::Delivered => {
                q.backoff = None;
                q.retry_at = None;
                if let Some(item) = q.items.pop_front() {
                    self.part_done(now, &item.message_id, true);
                }
            }
            Outcome::TemporaryFailure => self.back_off(now, &dest),
            Outcome::PermanentFailure => {
                if let Some(item) = q.items.pop_front() {
                    // The other segments of the message go too.
                    let id = item.message_id;
                    q.items.retain(|i| i.message_id != id);
                    self.finish(now, &id, FinalState::Undeliverable);
                }
            }
        }
        self.pump(now, &dest);
    }

    /// The next piece of work for the driver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Centre::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queues
            .iter()
            .flat_map(|(dest, q)| {
                let skip = usize::from(q.in_flight.is_some());
                let expiry = q.items.iter().skip(skip).map(|i| i.expires).min();
                let head = match (q.in_flight, q.items.front()) {
                    (None, Some(i)) if self.reachable(dest) => {
                        Some(i.not_before.max(q.retry_at.unwrap_or(i.not_before)))
                    }
                    _ => None,
                };
                [q.in_flight.map(|(_, d)| d), head, expiry]
            })
            .flatten()
            .min()
    }

    fn reachable(&self, dest: &Dest) -> bool {
        match dest {
            Dest::Subscriber(m) => self.subscribers.get(m).copied().unwrap_or(false),
            Dest::System(s) => self.esmes.values().any(|b| b.receives && b.system_id == *s),
        }
    }

    /// Expires messages, times out attempts and starts due retries.
    pub fn handle_timeout(&mut self, now: Now) {
        let dests: Vec<Dest> = self.queues.keys().cloned().collect();
        for dest in dests {
            let mut expired = Vec::new();
            let mut timed_out = false;
            if let Some(q) = self.queues.get_mut(&dest) {
                if let Some((_, deadline)) = q.in_flight
                    && deadline <= now.instant
                {
                    timed_out = true;
                }
                let skip = usize::from(q.in_flight.is_some());
                let mut i = skip;
                while i < q.items.len() {
                    if q.items[i].expires <= now.instant {
                        if let Some(item) = q.items.remove(i) {
                            expired.push(item.message_id);
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            if timed_out {
                self.fail_in_flight(now, &dest);
            }
            for id in expired {
                self.finish(now, &id, FinalState::Expired);
            }
            self.pump(now, &dest);
            if self
                .queues
                .get(&dest)
                .is_some_and(|q| q.items.is_empty() && q.in_flight.is_none())
            {
                self.queues.remove(&dest);
            }
        }
    }

    fn message_id(&mut self) -> String {
        self.next_message = (self.next_message + 1) % MESSAGE_ID_MODULUS;
        format!("{:010}", self.next_message)
    }

    fn fail_in_flight(&mut self, now: Now, dest: &Dest) {
        if let Some(q) = self.queues.get_mut(dest)
            && let Some((d, _)) = q.in_flight.take()
        {
            self.in_flight.remove(&d);
            self.outputs_esme.remove(&d);
            self.back_off(now, dest);
        }
    }

    fn back_off(&mut self, now: Now, dest: &Dest) {
        if let Some(q) = self.queues.get_mut(dest) {
            let wait = q
                .backoff
                .map_or(self.config.retry_interval, |b| b * 2)
                .min(self.config.max_retry_interval);
            q.backoff = Some(wait);
            q.retry_at = Some(now.instant + wait);
        }
    }

    /// One segment of `message_id` reached its end.
    fn part_done(&mut self, now: Now, message_id: &str, delivered: bool) {
        let Some(r) = self.records.get_mut(message_id) else {
            return;
        };
        if delivered {
            r.info.delivered += 1;
        }
        if r.info.delivered >= r.info.segments {
            self.finish(now, message_id, FinalState::Delivered);
        }
    }

    /// `message_id` reached its final state: send the receipt it asked for.
    fn finish(&mut self, now: Now, message_id: &str, state: FinalState) {
        let Some(mut r) = self.records.remove(message_id) else {
            return;
        };
        let wanted = match r.request {
            ReceiptRequest::None => false,
            ReceiptRequest::Always => true,
            ReceiptRequest::OnFailure => state != FinalState::Delivered,
        };
        if !wanted || r.system_id.is_empty() {
            return;
        }
        r.info.state = state;
        r.info.done = now.unix_secs;
        let Ok(deliver_sm) = receipt::deliver_sm(&r.info) else {
            return;
        };
        let dest = Dest::System(r.system_id);
        let q = self.queues.entry(dest.clone()).or_default();
        // A receipt that finds the queue full is dropped, not the messages.
        if q.items.len() < self.config.queue_limit {
            q.items.push_back(Item {
                message_id: r.info.message_id,
                payload: Payload::Sm(Box::new(deliver_sm)),
                not_before: now.instant,
                expires: now.instant + r.validity,
            });
        }
        self.pump(now, &dest);
    }

    /// Starts the next delivery of `dest` if it is due and reachable.
    fn pump(&mut self, now: Now, dest: &Dest) {
        let esme = match dest {
            Dest::Subscriber(m) => {
                if !self.subscribers.get(m).copied().unwrap_or(false) {
                    return;
                }
                None
            }
            Dest::System(s) => match self
                .esmes
                .iter()
                .find(|(_, b)| b.receives && b.system_id == *s)
            {
                Some((id, _)) => Some(*id),
                None => return,
            },
        };
        loop {
            let Some(q) = self.queues.get_mut(dest) else {
                return;
            };
            if q.in_flight.is_some() || q.retry_at.is_some_and(|t| t > now.instant) {
                return;
            }
            let more = q.items.len() > 1;
            let Some(head) = q.items.front_mut() else {
                return;
            };
            if head.expires <= now.instant {
                let id = head.message_id.clone();
                q.items.pop_front();
                self.finish(now, &id, FinalState::Expired);
                continue;
            }
            if head.not_before > now.instant {
                return;
            }
            let body = match &mut head.payload {
                Payload::Mt(d) => {
                    // TP-MMS: more messages wait in the SC (TS 23.040 §9.2.3.2).
                    d.more_messages = more;
                    match d.to_vec() {
                        Ok(tpdu) => Ok(tpdu),
                        Err(_) => Err(head.message_id.clone()),
                    }
                }
                Payload::Sm(_) => Ok(Vec::new()),
            };
            let tpdu = match body {
                Ok(t) => t,
                Err(id) => {
                    // Cannot happen for a checked submission; drop it.
                    q.items.pop_front();
                    self.finish(now, &id, FinalState::Undeliverable);
                    continue;
                }
            };
            self.next_delivery += 1;
            let delivery = DeliveryId(self.next_delivery);
            let output = match (&head.payload, dest, esme) {
                (Payload::Mt(_), Dest::Subscriber(m), _) => Output::ToModem {
                    msisdn: m.clone(),
                    delivery,
                    tpdu,
                },
                (Payload::Sm(sm), Dest::System(_), Some(esme)) => {
                    self.outputs_esme.insert(delivery, esme);
                    Output::ToEsme {
                        esme,
                        delivery,
                        deliver_sm: sm.clone(),
                    }
                }
                _ => return,
            };
            q.in_flight = Some((delivery, now.instant + self.config.attempt_timeout));
            self.in_flight.insert(delivery, dest.clone());
            self.outputs.push_back(output);
            return;
        }
    }
}

/// The digit prefix a bind address_range names, if it is that simple
/// (SMPP 3.4 §5.2.7 allows a regular expression; only `^digits.*` style
/// ranges are understood).
fn range_prefix(range: &str) -> Option<&str> {
    let r = range.strip_prefix('^').unwrap_or(range);
    let r = r.strip_suffix('$').unwrap_or(r);
    let r = r
        .strip_suffix(".*")
        .or_else(|| r.strip_suffix('*'))
        .unwrap_or(r);
    let r = r.strip_prefix('+').unwrap_or(r);
    (!r.is_empty() && r.bytes().all(|b| b.is_ascii_digit())).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submission::check;
    use rusmpp::pdus::SubmitSm;
    use rusmpp::types::{EmptyOrFullCOctetString, OctetString};
    use rusmpp::values::{DataCoding, EsmClass, Npi, RegisteredDelivery, Ton};
    use telsec_sms::{Address, Dcs, MtTpdu, UserData};

    const MN: &str = "491701234567";
    const HA: EsmeId = EsmeId(1);

    fn now0() -> Now {
        Now {
            instant: Instant::now(),
            unix_secs: 1_772_368_496,
        }
    }

    fn later(n: Now, secs: u64) -> Now {
        Now {
            instant: n.instant + Duration::from_secs(secs),
            unix_secs: n.unix_secs + secs,
        }
    }

    fn sub(dest: &str, reg: u8, validity: &str) -> Submission {
        let sm = SubmitSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr("4420000001".parse().unwrap())
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(dest.parse().unwrap())
            .esm_class(EsmClass::from(0))
            .registered_delivery(RegisteredDelivery::from(reg))
            .validity_period(EmptyOrFullCOctetString::from_string(validity.into()).unwrap())
            .data_coding(DataCoding::from(4))
            .short_message(OctetString::from_slice(b"KEY").unwrap())
            .build();
        check(&sm).unwrap()
    }

    fn binding(system_id: &str, range: &str) -> Binding {
        Binding {
            system_id: system_id.into(),
            receives: true,
            address_range: range.into(),
            interface_version: 0x34,
        }
    }

    fn centre() -> Centre {
        let mut c = Centre::new(CentreConfig {
            queue_limit: 3,
            retry_interval: Duration::from_secs(10),
            max_retry_interval: Duration::from_secs(25),
            attempt_timeout: Duration::from_secs(60),
            ..CentreConfig::default()
        });
        c.add_subscriber("+491701234567").unwrap();
        c
    }

    fn to_modem(c: &mut Centre) -> (DeliveryId, Vec<u8>) {
        match c.poll_output() {
            Some(Output::ToModem {
                msisdn,
                delivery,
                tpdu,
            }) => {
                assert_eq!(msisdn, MN);
                (delivery, tpdu)
            }
            other => panic!("expected a delivery to the modem, got {other:?}"),
        }
    }

    fn to_esme(c: &mut Centre) -> (EsmeId, DeliveryId, DeliverSm) {
        match c.poll_output() {
            Some(Output::ToEsme {
                esme,
                delivery,
                deliver_sm,
            }) => (esme, delivery, *deliver_sm),
            other => panic!("expected a deliver_sm, got {other:?}"),
        }
    }

    #[test]
    fn unknown_destination_is_refused() {
        let mut c = centre();
        let n = now0();
        assert_eq!(
            c.submit(n, HA, &sub("491700000000", 0, "")),
            Err(CommandStatus::EsmeRinvdstadr)
        );
        assert!(c.poll_output().is_none());
        assert!(c.add_subscriber("12ab").is_err());
        assert!(c.is_subscriber("+491701234567"));
    }

    #[test]
    fn store_and_forward_with_receipt() {
        let mut c = centre();
        let n = now0();
        c.esme_bound(n, HA, binding("ha", ""));
        let id = c.submit(n, HA, &sub(MN, 1, "")).unwrap();
        assert_eq!(id.len(), 10);
        assert!(c.poll_output().is_none(), "modem not ready: stored");
        assert_eq!(c.queued_for(MN), 1);
        c.modem_ready(later(n, 5), MN, true);
        let (d, tpdu) = to_modem(&mut c);
        let Ok(MtTpdu::Deliver(del)) = MtTpdu::parse(&tpdu) else {
            panic!()
        };
        assert_eq!(del.originator.to_string(), "+4420000001");
        assert_eq!(del.user_data.data, b"KEY");
        assert_eq!(del.dcs, Dcs::DATA8);
        assert_eq!(del.scts, crate::time::scts(n.unix_secs));
        assert!(!del.more_messages);
        c.delivery_outcome(later(n, 6), d, Outcome::Delivered);
        assert_eq!(c.queued_for(MN), 0);
        let (esme, rd, receipt) = to_esme(&mut c);
        assert_eq!(esme, HA);
        assert_eq!(u8::from(receipt.esm_class), 0x04);
        let text = String::from_utf8(receipt.short_message().to_vec()).unwrap();
        assert!(
            text.starts_with(&format!("id:{id} sub:001 dlvrd:001 ")),
            "{text}"
        );
        assert!(text.contains("stat:DELIVRD"), "{text}");
        c.delivery_outcome(later(n, 7), rd, Outcome::Delivered);
        assert!(c.poll_output().is_none());
        // A second outcome for the same attempt is ignored.
        c.delivery_outcome(later(n, 8), d, Outcome::Delivered);
        assert!(c.poll_output().is_none());
    }

    #[test]
    fn queue_limit_and_more_messages() {
        let mut c = centre();
        let n = now0();
        for _ in 0..3 {
            c.submit(n, HA, &sub(MN, 0, "")).unwrap();
        }
        assert_eq!(
            c.submit(n, HA, &sub(MN, 0, "")),
            Err(CommandStatus::EsmeRmsgqful)
        );
        c.modem_ready(n, MN, true);
        let (d, tpdu) = to_modem(&mut c);
        assert!(matches!(MtTpdu::parse(&tpdu), Ok(MtTpdu::Deliver(x)) if x.more_messages));
        assert!(c.poll_output().is_none(), "one in flight per destination");
        c.delivery_outcome(n, d, Outcome::Delivered);
        let (d, _) = to_modem(&mut c);
        c.delivery_outcome(n, d, Outcome::Delivered);
        let (_, tpdu) = to_modem(&mut c);
        assert!(matches!(MtTpdu::parse(&tpdu), Ok(MtTpdu::Deliver(x)) if !x.more_messages));
    }

    #[test]
    fn retries_back_off() {
        let mut c = centre();
        let n = now0();
        c.modem_ready(n, MN, true);
        c.submit(n, HA, &sub(MN, 0, "")).unwrap();
        let (d, _) = to_modem(&mut c);
        c.delivery_outcome(n, d, Outcome::TemporaryFailure);
        assert!(c.poll_output().is_none());
        assert_eq!(c.poll_timeout(), Some(n.instant + Duration::from_secs(10)));
        c.handle_timeout(later(n, 9));
        assert!(c.poll_output().is_none());
        c.handle_timeout(later(n, 10));
        let (d, _) = to_modem(&mut c);
        c.delivery_outcome(later(n, 10), d, Outcome::TemporaryFailure);
        assert_eq!(c.poll_timeout(), Some(n.instant + Duration::from_secs(30)));
        c.handle_timeout(later(n, 30));
        let (d, _) = to_modem(&mut c);
        c.delivery_outcome(later(n, 30), d, Outcome::TemporaryFailure);
        // Doubling stops at the 25 s ceiling.
        assert_eq!(c.poll_timeout(), Some(n.instant + Duration::from_secs(55)));
        // No outcome at all: the attempt times out after 60 s.
        c.handle_timeout(later(n, 55));
        let (_, _) = to_modem(&mut c);
        assert_eq!(c.poll_timeout(), Some(n.instant + Duration::from_secs(115)));
        c.handle_timeout(later(n, 115));
        assert!(c.poll_output().is_none());
        // Detach and re-attach: tried at once.
        c.modem_ready(later(n, 116), MN, false);
        c.modem_ready(later(n, 117), MN, true);
        to_modem(&mut c);
    }

    #[test]
    fn expiry_sends_expired_receipt() {
        let mut c = centre();
        let n = now0();
        c.esme_bound(n, HA, binding("ha", ""));
        // Relative validity of 60 s; a failure-only receipt.
        c.submit(n, HA, &sub(MN, 2, "000000000100000R")).unwrap();
        assert_eq!(c.poll_timeout(), Some(n.instant + Duration::from_secs(60)));
        c.handle_timeout(later(n, 60));
        assert_eq!(c.queued_for(MN), 0);
        let (_, _, r) = to_esme(&mut c);
        let text = String::from_utf8(r.short_message().to_vec()).unwrap();
        assert!(text.contains("dlvrd:000"), "{text}");
        assert!(text.contains("stat:EXPIRED err:001"), "{text}");
        // Past absolute validity, schedule beyond validity.
        assert_eq!(
            c.submit(n, HA, &sub(MN, 0, "200101000000000+")),
            Err(CommandStatus::EsmeRinvexpiry)
        );
        let mut s = sub(MN, 0, "000000000100000R");
        s.schedule = Some(crate::time::SmppTime::Relative(Duration::from_secs(120)));
        assert_eq!(c.submit(n, HA, &s), Err(CommandStatus::EsmeRinvsched));
    }

    #[test]
    fn scheduled_delivery_waits() {
        let mut c = centre();
        let n = now0();
        c.modem_ready(n, MN, true);
        let mut s = sub(MN, 0, "");
        s.schedule = Some(crate::time::SmppTime::Relative(Duration::from_secs(30)));
        c.submit(n, HA, &s).unwrap();
        assert!(c.poll_output().is_none());
        assert_eq!(c.poll_timeout(), Some(n.instant + Duration::from_secs(30)));
        c.handle_timeout(later(n, 30));
        to_modem(&mut c);
    }

    #[test]
    fn permanent_failure_receipt() {
        let mut c = centre();
        let n = now0();
        c.esme_bound(n, HA, binding("ha", ""));
        c.modem_ready(n, MN, true);
        c.submit(n, HA, &sub(MN, 2, "")).unwrap();
        let (d, _) = to_modem(&mut c);
        c.delivery_outcome(n, d, Outcome::PermanentFailure);
        let (_, _, r) = to_esme(&mut c);
        assert!(String::from_utf8_lossy(r.short_message()).contains("stat:UNDELIV"));
        // On success, a failure-only receipt is not sent.
        c.submit(n, HA, &sub(MN, 2, "")).unwrap();
        let (d, _) = to_modem(&mut c);
        c.delivery_outcome(n, d, Outcome::Delivered);
        assert!(c.poll_output().is_none());
    }

    fn mo(dest: &str) -> SmsSubmit {
        SmsSubmit::new(
            Address::international(dest).unwrap(),
            Dcs::GSM7,
            UserData::gsm7("KEY?").unwrap(),
        )
    }

    #[test]
    fn mo_routing() {
        let mut c = Centre::new(CentreConfig {
            queue_limit: 1,
            routes: vec![Route {
                prefix: "4420".into(),
                system_id: "ha".into(),
            }],
            ..CentreConfig::default()
        });
        c.add_subscriber(MN).unwrap();
        let n = now0();
        // Nobody bound, no route: refused.
        assert_eq!(
            c.submit_mo(n, MN, &mo("+15550001")),
            Err(cms::DESTINATION_OUT_OF_ORDER)
        );
        // Routed to "ha", stored until it binds.
        c.submit_mo(n, MN, &mo("+4420000001")).unwrap();
        assert_eq!(c.submit_mo(n, MN, &mo("+4420000001")), Err(cms::CONGESTION));
        assert!(c.poll_output().is_none());
        c.esme_bound(n, EsmeId(7), binding("other", "^1555.*"));
        assert!(c.poll_output().is_none());
        c.esme_bound(n, EsmeId(8), binding("ha", ""));
        let (esme, d, sm) = to_esme(&mut c);
        assert_eq!(esme, EsmeId(8));
        assert_eq!(sm.source_addr.as_str(), MN);
        assert_eq!(sm.destination_addr.as_str(), "4420000001");
        assert_eq!(sm.short_message().as_ref(), &[0x4B, 0x45, 0x59, 0x3F]);
        c.delivery_outcome(n, d, Outcome::Delivered);
        // By bind address_range.
        c.submit_mo(n, MN, &mo("+15550001")).unwrap();
        let (esme, d, _) = to_esme(&mut c);
        assert_eq!(esme, EsmeId(7));
        c.delivery_outcome(n, d, Outcome::Delivered);
        // Any receiver (the first bound): its system_id's queue keeps it.
        c.submit_mo(n, MN, &mo("+9999")).unwrap();
        let (esme, d, _) = to_esme(&mut c);
        assert_eq!(esme, EsmeId(7));
        // The connection drops with the deliver_sm in flight: re-sent on the next bind.
        c.esme_unbound(n, EsmeId(7));
        c.esme_unbound(n, EsmeId(8));
        c.delivery_outcome(n, d, Outcome::Delivered); // stale, ignored
        c.esme_bound(later(n, 1), EsmeId(9), binding("ha", ""));
        assert!(c.poll_output().is_none());
        c.esme_bound(later(n, 1), EsmeId(10), binding("other", ""));
        let (esme, _, sm) = to_esme(&mut c);
        assert_eq!((esme, sm.destination_addr.as_str()), (EsmeId(10), "9999"));
        // Not a subscriber.
        assert_eq!(
            c.submit_mo(n, "1234", &mo("+4420")),
            Err(cms::OPERATION_NOT_ALLOWED)
        );
    }

    #[test]
    fn outcome_from_status() {
        assert_eq!(
            Outcome::from_status(Some(CommandStatus::EsmeRok)),
            Outcome::Delivered
        );
        assert_eq!(Outcome::from_status(None), Outcome::TemporaryFailure);
        assert_eq!(
            Outcome::from_status(Some(CommandStatus::EsmeRthrottled)),
            Outcome::TemporaryFailure
        );
        assert_eq!(
            Outcome::from_status(Some(CommandStatus::EsmeRxPAppn)),
            Outcome::PermanentFailure
        );
        assert_eq!(range_prefix("^+4420.*$"), None.or(Some("4420")));
        assert_eq!(range_prefix("[0-9]+"), None);
    }
}
