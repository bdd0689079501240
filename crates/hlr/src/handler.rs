//! The HLR's GSUP logic, sans I/O: decoded requests in, answers out.
//!
//! A driver owns the sockets and one [`telsec_gsup::ServerConn`] per client;
//! it tells [`HlrCore`] when a peer has identified itself or gone away, feeds
//! it every decoded [`GsupMessage`] with the connection it came from and the
//! current instant, sends the returned [`Outgoing`] messages, and calls
//! [`HlrCore::handle_timeout`] when [`HlrCore::poll_timeout`] says so.
//!
//! Behaviour follows osmo-hlr (`src/hlr.c`, `src/lu_fsm.c`):
//!
//! | request | answer |
//! |---|---|
//! | Send Auth Info | result with up to 5 tuples (the requested number, 5 when absent or out of range); errors below |
//! | Update Location | Insert Subscriber Data (MSISDN, CN domain, PDP info for PS) first; the Update Location Result after the client's Insert Data Result; an error if that fails or times out (30 s) |
//! | Purge MS | result; IMSI unknown (0x02) for an unknown IMSI |
//! | Check IMEI | ACK result for a valid 14-digit IMEI (stored if configured); invalid mandatory info (0x60) otherwise |
//! | Destination Name of another peer | forwarded to that peer's connection, or a Routing Error |
//! | any other request | error "message type not implemented" (0x61) — osmo-hlr drops these silently, an answer spares the client its timeout |
//!
//! Causes on Send Auth Info errors, as osmo-hlr: unknown IMSI → the configured
//! reject cause (osmo-hlr's `reject-cause not-found`, here 0x02 IMSI unknown
//! by default; osmo-hlr ≥ 1.3 defaults to 0x0b PLMN not allowed); no
//! authentication data, or an AUTS whose MAC-S does not verify → 0x02; RAND
//! without AUTS (or the reverse), AUTS for a 2G-only subscriber, database
//! failure → 0x11 network failure. A disabled subscriber (an addition of
//! this HLR) gets 0x03 illegal MS. Update Location: unknown → reject cause;
//! NAM CS off → 0x0b; NAM PS off → 0x07; no VLR name → 0x11; a request that
//! is not a valid IMSI → 0x60 (libosmocore `osmo_gsup_req_new`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::CryptoRng;
use telsec_gsup::ie::{
    Apn, AuthTuple, Cause, CnDomain as GsupCnDomain, ImeiResult, PdpInfo, RatType,
};
use telsec_gsup::{AddressString, GsupMessage, Ie, MessageType};

use crate::auc::{Auc, AucError, Resync, VectorRequest};
use crate::ids::Imsi;
use crate::store::CnDomain;

/// Most tuples in one Send Auth Info Result (libosmocore
/// `OSMO_GSUP_MAX_NUM_AUTH_INFO`).
pub const MAX_TUPLES_PER_RESULT: usize = telsec_gsup::ie::MAX_AUTH_TUPLES;

/// A connection, as numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The connection a message arrived on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The driver's number for the connection.
    pub id: ConnId,
    /// The peer's IPA name (its ID_RESP serial number, as
    /// `PeerIdentity::ipa_name` gives it, NUL included or not).
    pub peer_name: Vec<u8>,
}

/// A message to send on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where to send it.
    pub conn: ConnId,
    /// What to send.
    pub msg: GsupMessage,
}

/// HLR settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlrConfig {
    /// This HLR's IPA name: messages whose Destination Name is another name
    /// are forwarded (osmo-hlr `ipa-name`, default "unnamed-HLR").
    pub ipa_name: String,
    /// Cause for an unknown IMSI (osmo-hlr `reject-cause not-found`).
    pub unknown_imsi_cause: Cause,
    /// Tuples per Send Auth Info Result when the request names no number
    /// (and the most it may ask for): 1..=5.
    pub max_vectors_per_request: usize,
    /// How long an Update Location waits for the Insert Data Result
    /// (osmo-hlr timer T-4222, 30 s).
    pub lu_timeout: Duration,
    /// Store the IMEI of Check IMEI requests (osmo-hlr `store-imei`).
    pub store_imei: bool,
    /// PDP contexts sent in Insert Subscriber Data for the PS domain
    /// (default: one context, ID 1, APN `*`, as osmo-hlr without a
    /// `ps pdp-profile`).
    pub ps_pdp_infos: Vec<PdpInfo>,
}

impl Default for HlrConfig {
    fn default() -> HlrConfig {
        HlrConfig {
            ipa_name: "unnamed-HLR".to_owned(),
            unknown_imsi_cause: Cause::ImsiUnknown,
            max_vectors_per_request: MAX_TUPLES_PER_RESULT,
            lu_timeout: Duration::from_secs(30),
            store_imei: false,
            ps_pdp_infos: vec![wildcard_pdp_info()],
        }
    }
}

/// The PDP info osmo-hlr sends without a configured profile: context 1,
/// APN `*` (libosmocore `osmo_gsup_configure_wildcard_apn`).
pub fn wildcard_pdp_info() -> PdpInfo {
    PdpInfo {
        context_id: Some(1),
        apn: Some(Apn::from_bytes(vec![1, b'*'])),
        ..PdpInfo::default()
    }
}

/// An Update Location waiting for the client's Insert Data Result.
#[derive(Debug)]
struct LuTransaction {
    conn: ConnId,
    request: GsupMessage,
    deadline: Instant,
}

/// The HLR: GSUP request handling over an [`Auc`] and its store.
#[derive(Debug)]
pub struct HlrCore<R> {
    auc: Auc,
    config: HlrConfig,
    rng: R,
    /// Pending Update Locations, by IMSI digits (osmo-hlr matches Insert
    /// Data answers by IMSI).
    lus: HashMap<String, LuTransaction>,
    /// Identified peers, for forwarding by Destination Name.
    peers: HashMap<ConnId, Vec<u8>>,
    /// IND per peer name, cached from the store.
    inds: HashMap<String, u32>,
}

/// An IPA name as text: up to the first NUL, lossy UTF-8.
fn name_text(name: &[u8]) -> String {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

fn same_name(a: &[u8], b: &[u8]) -> bool {
    let trim = |n: &[u8]| -> usize { n.iter().position(|&b| b == 0).unwrap_or(n.len()) };
    a[..trim(a)] == b[..trim(b)]
}

impl<R: CryptoRng> HlrCore<R> {
    /// An HLR over `auc`, drawing RANDs from `rng` (a CSPRNG).
    pub fn new(auc: Auc, config: HlrConfig, rng: R) -> HlrCore<R> {
        HlrCore {
            auc,
            config,
            rng,
            lus: HashMap::new(),
            peers: HashMap::new(),
            inds: HashMap::new(),
        }
    }

    /// The AuC (and through it the store).
    pub fn auc(&self) -> &Auc {
        &self.auc
    }

    /// The AuC, mutably (provisioning while running).
    pub fn auc_mut(&mut self) -> &mut Auc {
        &mut self.auc
    }

    /// The configuration.
    pub fn config(&self) -> &HlrConfig {
        &self.config
    }

    /// A peer finished the IPA identity exchange on `conn`.
    pub fn peer_connected(&mut self, conn: &ConnInfo) {
        tracing::info!(conn = conn.id.0, peer = %name_text(&conn.peer_name), "GSUP peer connected");
        self.peers.insert(conn.id, conn.peer_name.clone());
    }

    /// A connection closed: forget it and abandon its pending Update
    /// Locations (nothing can be answered on it any more).
    pub fn peer_disconnected(&mut self, conn: ConnId) {
        self.peers.remove(&conn);
        self.lus.retain(|imsi, lu| {
            if lu.conn == conn {
                tracing::info!(imsi, "Update Location abandoned: connection closed");
            }
            lu.conn != conn
        });
    }

    /// When [`HlrCore::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.lus.values().map(|l| l.deadline).min()
    }

    /// Fail the Update Locations whose Insert Data Result did not come in
    /// time (osmo-hlr `lu_fsm_timer_cb`: network failure).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Outgoing> {
        let expired: Vec<String> = self
            .lus
            .iter()
            .filter(|(_, l)| l.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for imsi in expired {
            if let Some(lu) = self.lus.remove(&imsi) {
                tracing::warn!(
                    imsi,
                    "Update Location timed out waiting for Insert Data Result"
                );
                push_error(&mut out, lu.conn, &lu.request, Cause::NetworkFailure);
            }
        }
        out
    }

    /// Handle one message from `conn` at `now`; returns what to send.
    pub fn handle(&mut self, now: Instant, conn: &ConnInfo, msg: GsupMessage) -> Vec<Outgoing> {
        let mut out = Vec::new();
        // Routing: a message for another peer is forwarded (osmo-hlr
        // `read_cb_forward`).
        if let Some(dest) = msg.destination_name()
            && !same_name(dest, self.config.ipa_name.as_bytes())
        {
            self.forward(conn, msg, &mut out);
            return out;
        }
        let is_request = msg.msg_type.is_request();
        // osmo-hlr refuses IMSIs of fewer than 6 digits (`osmo_imsi_str_valid`).
        let imsi = match Imsi::new(msg.imsi.as_str()) {
            Ok(i) if msg.imsi.is_valid() => i,
            _ => {
                tracing::warn!(imsi = %msg.imsi.as_str(), msg_type = %msg.msg_type, "invalid IMSI");
                push_error(&mut out, conn.id, &msg, Cause::InvalidMandatoryInfo);
                return out;
            }
        };
        match msg.msg_type {
            MessageType::SendAuthInfoRequest => self.send_auth_info(conn, &imsi, &msg, &mut out),
            MessageType::UpdateLocationRequest => {
                self.update_location(now, conn, &imsi, msg, &mut out)
            }
            MessageType::InsertDataResult | MessageType::InsertDataError => {
                self.insert_data_answer(&imsi, &msg, &mut out)
            }
            MessageType::PurgeMsRequest => self.purge_ms(conn, &imsi, &msg, &mut out),
            MessageType::CheckImeiRequest => self.check_imei(conn, &imsi, &msg, &mut out),
            MessageType::DeleteDataResult | MessageType::DeleteDataError => {
                tracing::info!(imsi = %imsi, msg_type = %msg.msg_type, "Delete Subscriber Data answered");
            }
            other if is_request => {
                tracing::warn!(imsi = %imsi, msg_type = %other, "request type not implemented");
                push_error(&mut out, conn.id, &msg, Cause::MessageTypeNotImplemented);
            }
            other => {
                tracing::info!(imsi = %imsi, msg_type = %other, "unexpected GSUP message dropped");
            }
        }
        out
    }

    /// The originating peer: the Source Name IE when relayed by a proxy,
    /// else the connection's peer (osmo-hlr `req->source_name`).
    fn source_name<'a>(conn: &'a ConnInfo, msg: &'a GsupMessage) -> &'a [u8] {
        msg.source_name().unwrap_or(&conn.peer_name)
    }

    fn forward(&mut self, conn: &ConnInfo, msg: GsupMessage, out: &mut Vec<Outgoing>) {
        let dest = msg.destination_name().unwrap_or_default().to_vec();
        let target = self
            .peers
            .iter()
            .find(|(_, name)| same_name(name, &dest))
            .map(|(id, _)| *id);
        match (msg.source_name().is_some(), target) {
            (true, Some(target)) => {
                tracing::debug!(imsi = %msg.imsi.as_str(), to = %name_text(&dest), "forwarding GSUP message");
                out.push(Outgoing { conn: target, msg });
            }
            (has_source, _) => {
                tracing::warn!(
                    imsi = %msg.imsi.as_str(),
                    to = %name_text(&dest),
                    reason = if has_source { "destination not connected" } else { "missing Source Name" },
                    "routing error"
                );
                let mut err = GsupMessage::new(MessageType::RoutingError, msg.imsi.clone());
                err.push(Ie::SourceName(dest));
                if let Some(src) = msg.source_name() {
                    err.push(Ie::DestinationName(src.to_vec()));
                }
                out.push(Outgoing {
                    conn: conn.id,
                    msg: err,
                });
            }
        }
    }

    fn ind_for(&mut self, name: &[u8]) -> u32 {
        let key = name_text(name);
        if let Some(&ind) = self.inds.get(&key) {
            return ind;
        }
        match self.auc.store_mut().ind_for_peer(&key) {
            Ok(ind) => {
                self.inds.insert(key, ind);
                ind
            }
            Err(e) => {
                // osmo-hlr: "generating tuples with IND = 0".
                tracing::error!(peer = %key, error = %e, "cannot allocate IND, using 0");
                0
            }
        }
    }

    fn send_auth_info(
        &mut self,
        conn: &ConnInfo,
        imsi: &Imsi,
        msg: &GsupMessage,
        out: &mut Vec<Outgoing>,
    ) {
        let max = self
            .config
            .max_vectors_per_request
            .clamp(1, MAX_TUPLES_PER_RESULT);
        let count = match msg.num_vectors_requested() {
            Some(n) if (1..=max).contains(&usize::from(n)) => usize::from(n),
            _ => max,
        };
        let resync = match (msg.rand(), msg.auts()) {
            (Some(rand), Some(auts)) => Some(Resync {
                rand: *rand,
                auts: *auts,
            }),
            (None, None) => None,
            _ => {
                tracing::warn!(imsi = %imsi, "Send Auth Info with only one of RAND and AUTS");
                push_error(out, conn.id, msg, Cause::NetworkFailure);
                return;
            }
        };
        let ind = self.ind_for(Self::source_name(conn, msg));
        let req = VectorRequest {
            count,
            ind,
            separation_bit: msg.current_rat_type() == Some(RatType::Eutran),
            resync,
        };
        let vectors = match self.auc.vectors_with(imsi, &req, &mut self.rng) {
            Ok(v) => v,
            Err(e) => {
                let cause = match &e {
                    AucError::UnknownImsi(_) => self.config.unknown_imsi_cause,
                    AucError::NoAuthData(_) | AucError::AutsMac(_) => Cause::ImsiUnknown,
                    AucError::Disabled(_) => Cause::IllegalMs,
                    _ => Cause::NetworkFailure,
                };
                tracing::warn!(imsi = %imsi, error = %e, cause = %cause, "Send Auth Info refused");
                push_error(out, conn.id, msg, cause);
                return;
            }
        };
        let mut result = msg.response(false, true);
        for v in &vectors {
            let tuple = match &v.umts {
                Some(u) => match AuthTuple::umts(v.rand, u.autn, u.ck, u.ik, u.xres.as_bytes()) {
                    Ok(t) => t.with_gsm(v.sres, v.kc),
                    Err(e) => {
                        tracing::error!(imsi = %imsi, error = %e, "cannot encode auth tuple");
                        push_error(out, conn.id, msg, Cause::NetworkFailure);
                        return;
                    }
                },
                None => AuthTuple::gsm(v.rand, v.sres, v.kc),
            };
            result.push(Ie::AuthTuple(tuple));
        }
        tracing::info!(imsi = %imsi, tuples = vectors.len(), ind, resync = req.resync.is_some(), "Send Auth Info answered");
        out.push(Outgoing {
            conn: conn.id,
            msg: result,
        });
    }

    fn update_location(
        &mut self,
        now: Instant,
        conn: &ConnInfo,
        imsi: &Imsi,
        msg: GsupMessage,
        out: &mut Vec<Outgoing>,
    ) {
        // No CN Domain IE means PS (osmo-hlr manual, "CN Domain").
        let domain = match msg.cn_domain() {
            Some(GsupCnDomain::Cs) => CnDomain::Cs,
            _ => CnDomain::Ps,
        };
        if let Some(old) = self.lus.remove(imsi.as_str()) {
            tracing::warn!(imsi = %imsi, "new Update Location replaces one in progress");
            push_error(out, old.conn, &old.request, Cause::NetworkFailure);
        }
        let vlr = name_text(Self::source_name(conn, &msg));
        let fail = |out: &mut Vec<Outgoing>, cause: Cause, reason: &str| {
            tracing::warn!(imsi = %imsi, vlr = %vlr, cause = %cause, reason, "Update Location refused");
            push_error(out, conn.id, &msg, cause);
        };
        if vlr.is_empty() {
            return fail(out, Cause::NetworkFailure, "LU without a VLR");
        }
        let profile = match self.auc.store().profile(imsi) {
            Ok(Some(p)) => p,
            Ok(None) => {
                return fail(
                    out,
                    self.config.unknown_imsi_cause,
                    "subscriber does not exist",
                );
            }
            Err(e) => return fail(out, Cause::NetworkFailure, &e.to_string()),
        };
        if !profile.enabled {
            return fail(out, Cause::IllegalMs, "subscriber disabled");
        }
        match domain {
            CnDomain::Cs if !profile.nam_cs => {
                return fail(out, Cause::PlmnNotAllowed, "nam_cs == false");
            }
            CnDomain::Ps if !profile.nam_ps => {
                return fail(out, Cause::GprsNotAllowed, "nam_ps == false");
            }
            _ => {}
        }
        match self
            .auc
            .store_mut()
            .record_location_update(imsi, domain, &vlr)
        {
            Ok(true) => {}
            Ok(false) => {
                return fail(out, self.config.unknown_imsi_cause, "subscriber vanished");
            }
            Err(e) => return fail(out, Cause::NetworkFailure, &e.to_string()),
        }
        // Insert Subscriber Data, routed like a response to the request
        // (osmo-hlr `lu_fsm_wait_insert_data_result_onenter`).
        let msisdn = profile.msisdn.as_ref().map_or("", |m| m.as_str());
        let msisdn = match AddressString::length_prefixed(msisdn) {
            Ok(m) => m,
            Err(e) => return fail(out, Cause::NetworkFailure, &e.to_string()),
        };
        let mut isd = msg.response(false, false);
        isd.msg_type = MessageType::InsertDataRequest;
        isd.push(Ie::Msisdn(msisdn));
        isd.push(Ie::CnDomain(match domain {
            CnDomain::Cs => GsupCnDomain::Cs,
            CnDomain::Ps => GsupCnDomain::Ps,
        }));
        if domain == CnDomain::Ps {
            for p in &self.config.ps_pdp_infos {
                isd.push(Ie::PdpInfo(p.clone()));
            }
        }
        tracing::info!(imsi = %imsi, vlr = %vlr, ?domain, "Update Location: sending Insert Subscriber Data");
        out.push(Outgoing {
            conn: conn.id,
            msg: isd,
        });
        self.lus.insert(
            imsi.as_str().to_owned(),
            LuTransaction {
                conn: conn.id,
                request: msg,
                deadline: now + self.config.lu_timeout,
            },
        );
    }

    fn insert_data_answer(&mut self, imsi: &Imsi, msg: &GsupMessage, out: &mut Vec<Outgoing>) {
        let Some(lu) = self.lus.remove(imsi.as_str()) else {
            // osmo-hlr: "No Location Updating in progress for this IMSI";
            // answers to answers are never sent.
            tracing::warn!(imsi = %imsi, msg_type = %msg.msg_type, "no Update Location in progress");
            return;
        };
        if msg.msg_type == MessageType::InsertDataResult {
            tracing::info!(imsi = %imsi, "Update Location accepted");
            out.push(Outgoing {
                conn: lu.conn,
                msg: lu.request.response(false, true),
            });
        } else {
            tracing::warn!(imsi = %imsi, cause = ?msg.cause(), "Insert Data refused by peer; Update Location fails");
            push_error(out, lu.conn, &lu.request, Cause::NetworkFailure);
        }
    }

    fn purge_ms(
        &mut self,
        conn: &ConnInfo,
        imsi: &Imsi,
        msg: &GsupMessage,
        out: &mut Vec<Outgoing>,
    ) {
        let domain = match msg.cn_domain() {
            Some(GsupCnDomain::Cs) => CnDomain::Cs,
            _ => CnDomain::Ps,
        };
        match self.auc.store_mut().purge(imsi, domain) {
            Ok(true) => {
                tracing::info!(imsi = %imsi, ?domain, "MS purged");
                out.push(Outgoing {
                    conn: conn.id,
                    msg: msg.response(false, true),
                });
            }
            Ok(false) => {
                tracing::warn!(imsi = %imsi, "Purge MS for unknown IMSI");
                push_error(out, conn.id, msg, Cause::ImsiUnknown);
            }
            Err(e) => {
                tracing::error!(imsi = %imsi, error = %e, "Purge MS failed");
                push_error(out, conn.id, msg, Cause::NetworkFailure);
            }
        }
    }

    /// Check IMEI (osmo-hlr `rx_check_imei_req`): every valid IMEI is
    /// accepted; it must be 14 digits (without check digit).
    fn check_imei(
        &mut self,
        conn: &ConnInfo,
        imsi: &Imsi,
        msg: &GsupMessage,
        out: &mut Vec<Outgoing>,
    ) {
        let fail = |out: &mut Vec<Outgoing>, reason: &str| {
            tracing::warn!(imsi = %imsi, reason, "Check IMEI refused");
            push_error(out, conn.id, msg, Cause::InvalidMandatoryInfo);
        };
        let Some(imei) = msg.imei() else {
            return fail(out, "missing IMEI");
        };
        let imei = match imei.digits() {
            Ok(d) if d.len() == 14 && d.bytes().all(|b| b.is_ascii_digit()) => d,
            _ => return fail(out, "invalid IMEI"),
        };
        let known = if self.config.store_imei {
            self.auc.store_mut().set_imei(imsi, &imei)
        } else {
            self.auc.store().profile(imsi).map(|p| p.is_some())
        };
        match known {
            Ok(true) => {}
            Ok(false) => return fail(out, "IMSI unknown"),
            Err(e) => return fail(out, &format!("database: {e}")),
        }
        tracing::info!(imsi = %imsi, imei = %imei, "Check IMEI accepted");
        let mut result = msg.response(false, true);
        result.push(Ie::ImeiResult(ImeiResult::Ack));
        out.push(Outgoing {
            conn: conn.id,
            msg: result,
        });
    }
}

/// Queue the error answer to `request` (nothing for a non-request).
fn push_error(out: &mut Vec<Outgoing>, conn: ConnId, request: &GsupMessage, cause: Cause) {
    if let Some(msg) = request.error_response(cause) {
        out.push(Outgoing { conn, msg });
    }
}
