//! The authoritative server's protocol core, sans I/O: one request's bytes
//! and the time in, the answer's bytes out (`ZoneServer::handle`).
//!
//! Order of work for every request:
//! 1. drop what cannot be answered (shorter than a header, or a response);
//! 2. parse (FORMERR when only the header is readable, RFC 1035 §4.1.1);
//! 3. EDNS version (BADVERS, RFC 6891 §6.1.3);
//! 4. TSIG (RFC 8945 §5.2: NOTAUTH with BADKEY/BADSIG/BADTIME/BADTRUNC);
//! 5. QUERY: authoritative answer from the zone (AA set; NXDOMAIN and
//!    NODATA with the SOA, RFC 2308 §2); names outside the zone REFUSED;
//!    UPDATE: RFC 2136 §3 (zone, prerequisites, permission, prescan,
//!    apply), journaled and synced before NOERROR is sent;
//! 6. sign the answer with the request's key when the request was signed
//!    (RFC 8945 §5.3), truncate for UDP if needed (RFC 1035 §4.2.1).

use std::{collections::BTreeMap, path::Path};

use hickory_proto::{
    op::{Edns, Message, MessageType, OpCode, ResponseCode},
    rr::{DNSClass, Name, Record, RecordType},
};

use crate::{
    Error, Transport,
    key::{Grant, TsigKey},
    store::Store,
    tsig::{self, Auth},
    update,
    zone::{Zone, ZoneConfig, normalize},
};

/// Largest UDP answer when the request has EDNS (the DNS flag day 2020
/// value, which avoids IP fragmentation).
pub const EDNS_UDP_PAYLOAD: u16 = 1232;
/// Largest DNS message (TCP length prefix, RFC 1035 §4.2.2).
const MAX_MESSAGE: usize = 65535;

#[derive(Debug)]
struct KeyEntry {
    key: TsigKey,
    grant: Grant,
}

/// The zone, its keys and its storage; answers one request at a time.
#[derive(Debug)]
pub struct ZoneServer {
    zone: Zone,
    keys: BTreeMap<Name, KeyEntry>,
    store: Option<Store>,
}

impl ZoneServer {
    /// A server whose zone lives only in memory (tests, fuzzing).
    pub fn in_memory(config: ZoneConfig) -> Self {
        Self {
            zone: Zone::new(config),
            keys: BTreeMap::new(),
            store: None,
        }
    }

    /// A server whose zone is persisted in `dir` (created if missing):
    /// the snapshot and journal there are replayed, so every update
    /// acknowledged before a stop or crash is back.
    pub fn open(config: ZoneConfig, dir: &Path) -> Result<Self, Error> {
        let mut zone = Zone::new(config);
        let (store, loaded) = Store::open(dir, zone.origin())?;
        if let Some((serial, records)) = loaded.snapshot {
            for r in &records {
                zone.apply(r);
            }
            zone.set_serial(serial);
        }
        for entry in &loaded.entries {
            for r in &entry.records {
                zone.apply(r);
            }
            zone.set_serial(entry.serial);
        }
        tracing::info!(
            zone = %zone.origin(),
            serial = zone.serial(),
            names = zone.name_count(),
            replayed = loaded.entries.len(),
            "zone loaded"
        );
        Ok(Self {
            zone,
            keys: BTreeMap::new(),
            store: Some(store),
        })
    }

    /// Journal entries between two snapshots (default 1000; at least 1).
    /// No effect on an in-memory server.
    pub fn set_snapshot_interval(&mut self, entries: u32) {
        if let Some(store) = &mut self.store {
            store.set_snapshot_every(entries);
        }
    }

    /// Adds (or replaces) a key and what it may change.
    pub fn add_key(&mut self, key: TsigKey, grant: Grant) {
        self.keys
            .insert(normalize(key.name()), KeyEntry { key, grant });
    }

    /// Removes a key; true if it was known.
    pub fn remove_key(&mut self, name: &Name) -> bool {
        self.keys.remove(&normalize(name)).is_some()
    }

    /// The zone apex.
    pub fn origin(&self) -> &Name {
        self.zone.origin()
    }

    /// The SOA serial (bumped by each update that changed the zone).
    pub fn serial(&self) -> u32 {
        self.zone.serial()
    }

    /// The records answering `name`/`rtype`, as a query would see them
    /// (empty when NXDOMAIN or NODATA, or outside the zone).
    pub fn lookup(&self, name: &Name, rtype: RecordType) -> Vec<Record> {
        let name = normalize(name);
        if !self.zone.contains(&name) {
            return Vec::new();
        }
        self.zone.lookup(&name, rtype).answers
    }

    /// Handles one request; `now` is Unix time in seconds (for TSIG).
    /// Returns the answer to send, or `None` when nothing must be sent
    /// (not a request, or not even a header).
    pub fn handle(&mut self, request: &[u8], transport: Transport, now: u64) -> Option<Vec<u8>> {
        // Header: ID (2), flags (2), four counts (8). QR=1 is a response.
        if request.len() < 12 || request.len() > MAX_MESSAGE || request[2] & 0x80 != 0 {
            return None;
        }
        let id = u16::from_be_bytes([request[0], request[1]]);
        let opcode = OpCode::from_u8((request[2] >> 3) & 0x0f);
        let msg = match Message::from_vec(request) {
            Ok(m) => m,
            Err(_) => {
                let mut resp = Message::response(id, opcode);
                resp.metadata.response_code = ResponseCode::FormErr;
                return encode(resp, transport, 512);
            }
        };
        let udp_limit = match &msg.edns {
            Some(e) => e.max_payload().clamp(512, EDNS_UDP_PAYLOAD),
            None => 512,
        };
        let mut resp = Message::response(id, msg.metadata.op_code);
        resp.metadata.recursion_desired = msg.metadata.recursion_desired;
        resp.queries = msg.queries.clone();
        if let Some(e) = &msg.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_UDP_PAYLOAD);
            resp.set_edns(edns);
            if e.version() > 0 {
                resp.metadata.response_code = ResponseCode::BADVERS;
                return encode(resp, transport, udp_limit);
            }
        }

        let auth = tsig::verify(request, &msg, |n| self.keys.get(n).map(|e| &e.key), now);
        let key_name = match auth {
            Auth::Unsigned => None,
            Auth::FormErr => {
                resp.metadata.response_code = ResponseCode::FormErr;
                return encode(resp, transport, udp_limit);
            }
            Auth::Failed(f) => {
                resp.metadata.response_code = ResponseCode::NotAuth;
                let key = f
                    .signed
                    .as_ref()
                    .and_then(|s| self.keys.get(&normalize(&f.key_name)).map(|e| (&e.key, s)));
                tsig::sign(
                    &mut resp,
                    key,
                    &f.key_name,
                    &f.algorithm,
                    Some(f.error),
                    now,
                )
                .ok()?;
                return encode(resp, transport, udp_limit);
            }
            Auth::Verified {
                key_name,
                request_mac,
            } => Some((key_name, request_mac)),
        };

        match msg.metadata.op_code {
            OpCode::Query => self.answer_query(&msg, &mut resp),
            OpCode::Update => {
                resp.metadata.response_code =
                    self.handle_update(&msg, key_name.as_ref().map(|(n, _)| n));
            }
            _ => resp.metadata.response_code = ResponseCode::NotImp,
        }

        let Some((key_name, request_mac)) = key_name else {
            return encode(resp, transport, udp_limit);
        };
        let entry = self.keys.get(&key_name)?;
        let signed = tsig::Signed {
            request_mac,
            request_time: now,
        };
        let sign = |m: &mut Message| {
            tsig::sign(
                m,
                Some((&entry.key, &signed)),
                entry.key.name(),
                entry.key.algorithm(),
                None,
                now,
            )
        };
        let mut unsigned = resp.clone();
        sign(&mut resp).ok()?;
        let bytes = resp.to_vec().ok()?;
        if transport == Transport::Tcp || bytes.len() <= usize::from(udp_limit) {
            return Some(bytes);
        }
        truncate(&mut unsigned);
        sign(&mut unsigned).ok()?;
        unsigned.to_vec().ok()
    }

    /// RFC 1034 §4.3.2 for a zone we are authoritative for.
    fn answer_query(&self, msg: &Message, resp: &mut Message) {
        let [q] = msg.queries.as_slice() else {
            resp.metadata.response_code = ResponseCode::FormErr;
            return;
        };
        let qtype = q.query_type();
        let qname = normalize(q.name());
        if !matches!(q.query_class(), DNSClass::IN | DNSClass::ANY) || !self.zone.contains(&qname) {
            // Not our zone, and no recursion: refuse (as BIND does).
            resp.metadata.response_code = ResponseCode::Refused;
            return;
        }
        if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            resp.metadata.response_code = ResponseCode::Refused;
            return;
        }
        let answer = self.zone.lookup(&qname, qtype);
        resp.metadata.authoritative = true;
        resp.metadata.response_code = answer.rcode;
        resp.answers = answer.answers;
        resp.authorities = answer.authorities;
    }

    /// RFC 2136 §3.
    fn handle_update(&mut self, msg: &Message, key_name: Option<&Name>) -> ResponseCode {
        // Unsigned updates are refused outright: the policy (§3.3) grants
        // nothing without a key.
        let Some(key_name) = key_name else {
            return ResponseCode::Refused;
        };
        if let Err(r) = update::check_zone_section(msg, &self.zone) {
            return r;
        }
        let Some(grant) = self.keys.get(key_name).map(|e| e.grant.clone()) else {
            return ResponseCode::Refused;
        };
        let prereqs = &msg.answers;
        let updates = &msg.authorities;
        if let Err(r) = update::check_prerequisites(prereqs, &self.zone)
            .and_then(|()| update::check_permission(updates, &self.zone, key_name, &grant))
            .and_then(|()| update::prescan(updates, &self.zone))
        {
            return r;
        }

        // Apply, keeping the touched names' prior state to undo if the
        // journal cannot be written (then nothing was acknowledged).
        let mut saved: BTreeMap<Name, _> = BTreeMap::new();
        for rr in updates {
            let n = normalize(&rr.name);
            if let std::collections::btree_map::Entry::Vacant(slot) = saved.entry(n) {
                let before = self.zone.node(slot.key());
                slot.insert(before);
            }
        }
        let mut changed = false;
        for rr in updates {
            changed |= self.zone.apply(rr);
        }
        if !changed {
            return ResponseCode::NoError;
        }
        let old_serial = self.zone.serial();
        self.zone.bump_serial();
        if let Some(store) = &mut self.store {
            if let Err(e) = store.append(self.zone.serial(), updates) {
                tracing::error!(error = %e, "journal write failed; update undone");
                for (n, node) in saved {
                    self.zone.restore_node(n, node);
                }
                self.zone.set_serial(old_serial);
                return ResponseCode::ServFail;
            }
            if store.wants_snapshot() {
                let records = self.zone.stored_records();
                if let Err(e) = store.snapshot(self.zone.origin(), self.zone.serial(), &records) {
                    // The journal still holds everything: keep serving.
                    tracing::warn!(error = %e, "zone snapshot failed");
                }
            }
        }
        tracing::debug!(key = %key_name, serial = self.zone.serial(), "update applied");
        ResponseCode::NoError
    }
}

/// RFC 1035 §4.2.1 / RFC 2181 §9: drop the records and set TC so the
/// client retries over TCP.
fn truncate(m: &mut Message) {
    m.answers.clear();
    m.authorities.clear();
    m.additionals.clear();
    m.metadata.truncation = true;
}

fn encode(mut resp: Message, transport: Transport, udp_limit: u16) -> Option<Vec<u8>> {
    resp.metadata.message_type = MessageType::Response;
    let bytes = resp.to_vec().ok()?;
    if transport == Transport::Tcp || bytes.len() <= usize::from(udp_limit) {
        return Some(bytes);
    }
    truncate(&mut resp);
    resp.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use hickory_proto::{
        op::Query,
        rr::{RData, rdata::A},
    };

    use hickory_proto::rr::rdata::tsig::TsigError;

    use super::*;
    use crate::TsigKey;

    const NOW: u64 = 1_700_000_000;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn server() -> ZoneServer {
        let mut s = ZoneServer::in_memory(ZoneConfig::telsec_test(IpAddr::V4(Ipv4Addr::new(
            127, 0, 0, 40,
        ))));
        s.add_key(admin(), Grant::Zone);
        s.add_key(node_key("mn1"), Grant::node());
        s
    }

    fn admin() -> TsigKey {
        TsigKey::hmac_sha256("ha.telsec.test.", &[1u8; 32]).unwrap()
    }

    fn node_key(n: &str) -> TsigKey {
        TsigKey::hmac_sha256(&format!("{n}.telsec.test."), &[2u8; 32]).unwrap()
    }

    fn update_a(owner: &str, ip: [u8; 4]) -> Message {
        let mut m = Message::query();
        m.metadata.id = 0x1234;
        m.metadata.op_code = OpCode::Update;
        let mut zq = Query::query(name("telsec.test."), RecordType::SOA);
        zq.set_query_class(DNSClass::IN);
        m.add_query(zq);
        m.add_authority(Record::from_rdata(
            name(owner),
            60,
            RData::A(A(Ipv4Addr::from(ip))),
        ));
        m
    }

    fn signed(mut m: Message, key: &TsigKey, time: u64) -> Vec<u8> {
        m.finalize(&key.signer().unwrap(), time).unwrap();
        m.to_vec().unwrap()
    }

    fn parse(bytes: &[u8]) -> Message {
        Message::from_vec(bytes).unwrap()
    }

    #[test]
    fn unsigned_update_refused() {
        let mut s = server();
        let req = update_a("mn1.telsec.test.", [10, 0, 0, 1])
            .to_vec()
            .unwrap();
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::Refused);
        assert_eq!(resp.queries.len(), 1);
        assert!(
            s.lookup(&name("mn1.telsec.test."), RecordType::A)
                .is_empty()
        );
    }

    #[test]
    fn signed_update_applies_and_answer_verifies() {
        let mut s = server();
        let key = admin();
        let mut m = update_a("mn1.telsec.test.", [10, 0, 0, 1]);
        let mut verifier = m.finalize(&key.signer().unwrap(), NOW).unwrap().unwrap();
        let req = m.to_vec().unwrap();
        let out = s.handle(&req, Transport::Udp, NOW).unwrap();
        let resp = verifier.verify(&out).unwrap();
        assert_eq!(resp.metadata.response_code, ResponseCode::NoError);
        assert_eq!(s.lookup(&name("mn1.telsec.test."), RecordType::A).len(), 1);
        assert_eq!(s.serial(), 2);
    }

    #[test]
    fn wrong_secret_is_badsig_and_zone_unchanged() {
        let mut s = server();
        let forged = TsigKey::hmac_sha256("ha.telsec.test.", &[9u8; 32]).unwrap();
        let req = signed(update_a("mn1.telsec.test.", [10, 0, 0, 1]), &forged, NOW);
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::NotAuth);
        let t = resp.signature().unwrap();
        assert_eq!(t.data.error, Some(TsigError::BadSig));
        assert!(t.data.mac.is_empty());
        assert!(
            s.lookup(&name("mn1.telsec.test."), RecordType::A)
                .is_empty()
        );
        assert_eq!(s.serial(), 1);
    }

    #[test]
    fn unknown_key_is_badkey() {
        let mut s = server();
        let stranger = TsigKey::hmac_sha256("who.telsec.test.", &[1u8; 32]).unwrap();
        let req = signed(update_a("mn1.telsec.test.", [10, 0, 0, 1]), &stranger, NOW);
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::NotAuth);
        assert_eq!(
            resp.signature().unwrap().data.error,
            Some(TsigError::BadKey)
        );
    }

    #[test]
    fn stale_signature_is_signed_badtime() {
        let mut s = server();
        let key = admin();
        let mut m = update_a("mn1.telsec.test.", [10, 0, 0, 1]);
        let mut verifier = m
            .finalize(&key.signer().unwrap(), NOW - 301)
            .unwrap()
            .unwrap();
        let out = s.handle(&m.to_vec().unwrap(), Transport::Udp, NOW).unwrap();
        let resp = parse(&out);
        assert_eq!(resp.metadata.response_code, ResponseCode::NotAuth);
        let t = &resp.signature().unwrap().data;
        assert_eq!(t.error, Some(TsigError::BadTime));
        assert_eq!(t.time, NOW - 301);
        assert_eq!(t.other, NOW.to_be_bytes()[2..].to_vec());
        // Signed with the key: the client can verify it.
        assert!(verifier.verify(&out).is_ok());
        assert!(
            s.lookup(&name("mn1.telsec.test."), RecordType::A)
                .is_empty()
        );
    }

    #[test]
    fn node_key_cannot_touch_another_name() {
        let mut s = server();
        let req = signed(
            update_a("mn2.telsec.test.", [10, 0, 0, 2]),
            &node_key("mn1"),
            NOW,
        );
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::Refused);
        assert!(resp.signature().is_some());
        assert!(
            s.lookup(&name("mn2.telsec.test."), RecordType::A)
                .is_empty()
        );
        let req = signed(
            update_a("mn1.telsec.test.", [10, 0, 0, 1]),
            &node_key("mn1"),
            NOW,
        );
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::NoError);
    }

    #[test]
    fn glue_and_apex_are_protected() {
        let mut s = server();
        let req = signed(update_a("ns1.telsec.test.", [10, 0, 0, 9]), &admin(), NOW);
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::Refused);
    }

    #[test]
    fn wrong_zone_is_notauth() {
        let mut s = server();
        let mut m = update_a("mn1.telsec.test.", [10, 0, 0, 1]);
        m.queries[0].set_name(name("other.test."));
        let req = signed(m, &admin(), NOW);
        let resp = parse(&s.handle(&req, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::NotAuth);
    }

    #[test]
    fn query_answers_are_authoritative() {
        let mut s = server();
        let mut q = Message::query();
        q.metadata.id = 7;
        q.add_query(Query::query(name("nope.telsec.test."), RecordType::A));
        let resp = parse(&s.handle(&q.to_vec().unwrap(), Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::NXDomain);
        assert!(resp.metadata.authoritative);
        assert_eq!(resp.authorities[0].record_type(), RecordType::SOA);
        let mut q = Message::query();
        q.add_query(Query::query(name("example.com."), RecordType::A));
        let resp = parse(&s.handle(&q.to_vec().unwrap(), Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.response_code, ResponseCode::Refused);
        assert!(!resp.metadata.authoritative);
    }

    #[test]
    fn edns_version_1_is_badvers() {
        let mut s = server();
        let mut q = Message::query();
        q.add_query(Query::query(name("telsec.test."), RecordType::SOA));
        let mut edns = Edns::new();
        edns.set_version(1);
        q.set_edns(edns);
        let resp = parse(&s.handle(&q.to_vec().unwrap(), Transport::Udp, NOW).unwrap());
        // Extended RCODE 16; hickory decodes 16 as BADSIG, its other name
        // (RFC 6891 §9 and RFC 8945 share the code).
        assert_eq!(u16::from(resp.metadata.response_code), 16);
        assert!(resp.answers.is_empty());
        assert!(resp.edns.is_some());
    }

    #[test]
    fn garbage_gets_formerr_or_nothing() {
        let mut s = server();
        assert!(s.handle(&[1, 2, 3], Transport::Udp, NOW).is_none());
        let mut bad = vec![0xab, 0xcd, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        bad.extend_from_slice(&[0xff; 5]);
        let resp = parse(&s.handle(&bad, Transport::Udp, NOW).unwrap());
        assert_eq!(resp.metadata.id, 0xabcd);
        assert_eq!(resp.metadata.response_code, ResponseCode::FormErr);
        // A response is never answered.
        bad[2] = 0x80;
        assert!(s.handle(&bad, Transport::Udp, NOW).is_none());
    }

    #[test]
    fn zone_survives_reopen_across_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let config = ZoneConfig::telsec_test(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 40)));
        {
            let mut s = ZoneServer::open(config.clone(), dir.path()).unwrap();
            s.set_snapshot_interval(2);
            s.add_key(admin(), Grant::Zone);
            for i in 1..=5u8 {
                let req = signed(
                    update_a(&format!("mn{i}.telsec.test."), [10, 0, 0, i]),
                    &admin(),
                    NOW,
                );
                let resp = parse(&s.handle(&req, Transport::Tcp, NOW).unwrap());
                assert_eq!(resp.metadata.response_code, ResponseCode::NoError);
            }
            // Replacing mn1's address: delete RRset + add, one update.
            let mut m = update_a("mn1.telsec.test.", [10, 0, 1, 1]);
            let mut del = Record::update0(name("mn1.telsec.test."), 0, RecordType::A);
            del.dns_class = DNSClass::ANY;
            m.authorities.insert(0, del);
            let resp = parse(
                &s.handle(&signed(m, &admin(), NOW), Transport::Tcp, NOW)
                    .unwrap(),
            );
            assert_eq!(resp.metadata.response_code, ResponseCode::NoError);
            assert_eq!(s.serial(), 7);
        }
        assert!(dir.path().join("zone.snap").exists());
        let s = ZoneServer::open(config, dir.path()).unwrap();
        assert_eq!(s.serial(), 7);
        for i in 2..=5u8 {
            let got = s.lookup(&name(&format!("mn{i}.telsec.test.")), RecordType::A);
            assert_eq!(got.len(), 1, "mn{i}");
        }
        let mn1 = s.lookup(&name("mn1.telsec.test."), RecordType::A);
        assert_eq!(mn1.len(), 1);
        assert_eq!(mn1[0].data, RData::A(A(Ipv4Addr::new(10, 0, 1, 1))));
    }

    #[test]
    fn prerequisite_name_not_in_use() {
        let mut s = server();
        let key = admin();
        let mut first = update_a("mn1.telsec.test.", [10, 0, 0, 1]);
        let mut p = Record::update0(name("mn1.telsec.test."), 0, RecordType::ANY);
        p.dns_class = DNSClass::NONE;
        first.add_answer(p.clone());
        let resp = parse(
            &s.handle(&signed(first, &key, NOW), Transport::Udp, NOW)
                .unwrap(),
        );
        assert_eq!(resp.metadata.response_code, ResponseCode::NoError);
        let mut second = update_a("mn1.telsec.test.", [10, 0, 0, 2]);
        second.add_answer(p);
        let resp = parse(
            &s.handle(&signed(second, &key, NOW), Transport::Udp, NOW)
                .unwrap(),
        );
        assert_eq!(resp.metadata.response_code, ResponseCode::YXDomain);
        assert_eq!(s.lookup(&name("mn1.telsec.test."), RecordType::A).len(), 1);
    }
}
