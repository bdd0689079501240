//! The operator zone in memory: lookups (RFC 1034 §4.3.2) and the update
//! primitives of RFC 2136 §3.4.2.
//!
//! Names are stored lower-cased and fully qualified; hickory orders `Name`
//! canonically (RFC 4034 §6.1), so a name's descendants follow it directly
//! in the map, which is how empty non-terminals are found.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    ops::Bound::{Excluded, Unbounded},
};

use hickory_proto::{
    op::ResponseCode,
    rr::{
        DNSClass, Name, RData, Record, RecordType,
        rdata::{A, AAAA, NS, SOA},
    },
};

use crate::Error;

/// Longest CNAME chain followed inside the zone when answering.
const MAX_CNAME_CHAIN: usize = 8;

/// How the zone's SOA and NS records are generated (they are not
/// updatable: the server owns them).
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    /// Zone apex, e.g. `telsec.test.`.
    pub origin: Name,
    /// The name server's host name, put in SOA MNAME and the apex NS.
    pub ns_name: Name,
    /// Addresses of `ns_name`; published as A/AAAA when `ns_name` is inside
    /// the zone (glue the server owns).
    pub ns_addresses: Vec<IpAddr>,
    /// SOA RNAME, the hostmaster mailbox as a name (RFC 1035 §3.3.13).
    pub hostmaster: Name,
    /// SOA refresh, retry, expire (seconds).
    pub refresh: i32,
    /// SOA retry.
    pub retry: i32,
    /// SOA expire.
    pub expire: i32,
    /// SOA MINIMUM: the negative-caching TTL (RFC 2308 §4).
    pub negative_ttl: u32,
    /// TTL of the SOA, NS and glue records.
    pub ttl: u32,
}

impl ZoneConfig {
    /// Defaults for a zone: `ns1.<zone>` as name server at `ns_address`,
    /// `hostmaster.<zone>`, one-hour TTLs, 60 s negative TTL (mobile nodes
    /// come and go).
    pub fn new(origin: &str, ns_address: IpAddr) -> Result<Self, Error> {
        let origin = crate::parse_name(origin)?;
        let child = |label: &str| {
            origin.prepend_label(label).map_err(|e| Error::InvalidName {
                name: format!("{label}.{origin}"),
                reason: e.to_string(),
            })
        };
        Ok(Self {
            ns_name: child("ns1")?,
            hostmaster: child("hostmaster")?,
            origin,
            ns_addresses: vec![ns_address],
            refresh: 3600,
            retry: 600,
            expire: 86400,
            negative_ttl: 60,
            ttl: 3600,
        })
    }

    /// The default operator zone, `telsec.test.`.
    pub fn telsec_test(ns_address: IpAddr) -> Self {
        // The literal is a valid name, so this cannot fail.
        match Self::new("telsec.test.", ns_address) {
            Ok(c) => c,
            Err(_) => unreachable!("telsec.test. is a valid name"),
        }
    }
}

/// One RRset: RFC 2181 §5.2 gives all its RRs one TTL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RrSet {
    pub(crate) ttl: u32,
    pub(crate) rdatas: Vec<RData>,
}

/// The RRsets at one name, by type code.
pub(crate) type Node = BTreeMap<u16, RrSet>;

/// Result of a query against the zone.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) rcode: ResponseCode,
    pub(crate) answers: Vec<Record>,
    pub(crate) authorities: Vec<Record>,
}

/// The zone's data.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    config: ZoneConfig,
    serial: u32,
    /// Updatable data; never holds the SOA, the apex NS or the NS glue.
    nodes: BTreeMap<Name, Node>,
}

impl Zone {
    pub(crate) fn new(mut config: ZoneConfig) -> Self {
        config.origin = normalize(&config.origin);
        config.ns_name = normalize(&config.ns_name);
        Self {
            config,
            serial: 1,
            nodes: BTreeMap::new(),
        }
    }

    pub(crate) fn origin(&self) -> &Name {
        &self.config.origin
    }

    pub(crate) fn serial(&self) -> u32 {
        self.serial
    }

    pub(crate) fn set_serial(&mut self, serial: u32) {
        self.serial = serial;
    }

    /// RFC 2136 §3.6 / RFC 1982: the serial moves forward by one.
    pub(crate) fn bump_serial(&mut self) {
        self.serial = self.serial.wrapping_add(1);
    }

    pub(crate) fn contains(&self, name: &Name) -> bool {
        self.config.origin.zone_of(name)
    }

    /// Records the server generates and no update may touch: the SOA, the
    /// apex NS and the name server's own addresses.
    pub(crate) fn is_protected(&self, owner: &Name, rtype: RecordType) -> bool {
        let apex = *owner == self.config.origin;
        (apex && matches!(rtype, RecordType::SOA | RecordType::NS))
            || (*owner == self.config.ns_name && matches!(rtype, RecordType::A | RecordType::AAAA))
    }

    pub(crate) fn soa_record(&self) -> Record {
        let c = &self.config;
        let soa = SOA::new(
            c.ns_name.clone(),
            c.hostmaster.clone(),
            self.serial,
            c.refresh,
            c.retry,
            c.expire,
            c.negative_ttl,
        );
        Record::from_rdata(c.origin.clone(), c.ttl, RData::SOA(soa))
    }

    /// The generated RRsets at `name` (SOA and NS at the apex, glue at the
    /// name server's name).
    fn generated(&self, name: &Name) -> Vec<(RecordType, u32, Vec<RData>)> {
        let c = &self.config;
        let mut out = Vec::new();
        if *name == c.origin {
            if let RData::SOA(soa) = self.soa_record().data {
                out.push((RecordType::SOA, c.ttl, vec![RData::SOA(soa)]));
            }
            out.push((
                RecordType::NS,
                c.ttl,
                vec![RData::NS(NS(c.ns_name.clone()))],
            ));
        }
        if *name == c.ns_name && c.origin.zone_of(name) {
            let v4: Vec<RData> = c
                .ns_addresses
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(RData::A(A(*a))),
                    IpAddr::V6(_) => None,
                })
                .collect();
            let v6: Vec<RData> = c
                .ns_addresses
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(a) => Some(RData::AAAA(AAAA(*a))),
                    IpAddr::V4(_) => None,
                })
                .collect();
            if !v4.is_empty() {
                out.push((RecordType::A, c.ttl, v4));
            }
            if !v6.is_empty() {
                out.push((RecordType::AAAA, c.ttl, v6));
            }
        }
        out
    }

    /// All RRsets at `name`, generated and stored, in type order.
    fn rrsets_at(&self, name: &Name) -> Vec<(RecordType, u32, Vec<RData>)> {
        let mut out = self.generated(name);
        if let Some(node) = self.nodes.get(name) {
            for (t, set) in node {
                out.push((RecordType::from(*t), set.ttl, set.rdatas.clone()));
            }
        }
        out
    }

    /// The RRset of `rtype` at `name`, generated or stored (RFC 2136 §3.2
    /// prerequisites look at both).
    pub(crate) fn rrset(&self, name: &Name, rtype: RecordType) -> Option<Vec<RData>> {
        self.rrsets_at(name)
            .into_iter()
            .find(|(t, _, _)| *t == rtype)
            .map(|(_, _, r)| r)
    }

    /// "Name is in use": at least one RR owns it (RFC 2136 §2.4.4).
    pub(crate) fn name_in_use(&self, name: &Name) -> bool {
        *name == self.config.origin
            || (*name == self.config.ns_name && !self.config.ns_addresses.is_empty())
            || self.nodes.contains_key(name)
    }

    /// Whether `name` exists in the DNS sense: it owns data or has
    /// descendants (an empty non-terminal, RFC 8020 §2).
    fn name_exists(&self, name: &Name) -> bool {
        if self.name_in_use(name) || name.zone_of(&self.config.ns_name) {
            return true;
        }
        self.nodes
            .range::<Name, _>((Excluded(name), Unbounded))
            .next()
            .is_some_and(|(next, _)| name.zone_of(next))
    }

    /// Answers `qname`/`qtype` authoritatively (RFC 1034 §4.3.2 step 3;
    /// negative answers carry the SOA, RFC 2308 §3). `qname` must already
    /// be normalized and inside the zone.
    pub(crate) fn lookup(&self, qname: &Name, qtype: RecordType) -> Answer {
        let mut answers = Vec::new();
        let mut name = qname.clone();
        for _ in 0..MAX_CNAME_CHAIN {
            let sets = self.rrsets_at(&name);
            let cname = sets.iter().find(|(t, _, _)| *t == RecordType::CNAME);
            let mut matched = false;
            for (t, ttl, rdatas) in &sets {
                if qtype == RecordType::ANY || *t == qtype {
                    matched = true;
                    push_rrset(&mut answers, &name, *ttl, rdatas);
                }
            }
            if matched {
                return self.positive(answers);
            }
            match cname {
                Some((_, ttl, rdatas)) => {
                    push_rrset(&mut answers, &name, *ttl, rdatas);
                    let Some(RData::CNAME(target)) = rdatas.first() else {
                        return self.positive(answers);
                    };
                    let target = normalize(&target.0);
                    if !self.contains(&target) {
                        // Out of zone: the resolver follows it (RFC 1034 §4.3.2).
                        return self.positive(answers);
                    }
                    name = target;
                }
                None if sets.is_empty() && !self.name_exists(&name) => {
                    return self.negative(ResponseCode::NXDomain, answers);
                }
                None => return self.negative(ResponseCode::NoError, answers),
            }
        }
        self.positive(answers)
    }

    fn positive(&self, answers: Vec<Record>) -> Answer {
        Answer {
            rcode: ResponseCode::NoError,
            answers,
            authorities: Vec::new(),
        }
    }

    fn negative(&self, rcode: ResponseCode, answers: Vec<Record>) -> Answer {
        let mut soa = self.soa_record();
        // RFC 2308 §3: the SOA's TTL in a negative answer is the lesser of
        // its TTL and its MINIMUM field.
        soa.ttl = soa.ttl.min(self.config.negative_ttl);
        Answer {
            rcode,
            answers,
            authorities: vec![soa],
        }
    }

    /// Applies one update RR (RFC 2136 §3.4.2) that passed the prescan.
    /// Returns whether the zone changed.
    pub(crate) fn apply(&mut self, rr: &Record) -> bool {
        let name = normalize(&rr.name);
        let rtype = rr.record_type();
        if self.is_protected(&name, rtype) {
            return false;
        }
        match rr.dns_class {
            DNSClass::IN => self.add(name, rtype, rr.ttl, rr.data.clone()),
            DNSClass::ANY if rtype == RecordType::ANY => self.nodes.remove(&name).is_some(),
            DNSClass::ANY => self.remove_rrset(&name, rtype),
            DNSClass::NONE => self.remove_rr(&name, rtype, &rr.data),
            _ => false,
        }
    }

    /// RFC 2136 §3.4.2.2: add, replacing a duplicate; CNAME and other data
    /// never share a name.
    fn add(&mut self, name: Name, rtype: RecordType, ttl: u32, rdata: RData) -> bool {
        let code = u16::from(rtype);
        let cname = u16::from(RecordType::CNAME);
        let node = self.nodes.entry(name).or_default();
        let has_cname = node.contains_key(&cname);
        let has_other = node.keys().any(|t| *t != cname);
        if (rtype == RecordType::CNAME && has_other) || (rtype != RecordType::CNAME && has_cname) {
            return false;
        }
        if rtype == RecordType::CNAME {
            let new = RrSet {
                ttl,
                rdatas: vec![rdata],
            };
            return node.insert(code, new.clone()) != Some(new);
        }
        let set = node.entry(code).or_insert_with(|| RrSet {
            ttl,
            rdatas: Vec::new(),
        });
        let mut changed = false;
        if set.ttl != ttl {
            set.ttl = ttl;
            changed = true;
        }
        if !set.rdatas.contains(&rdata) {
            set.rdatas.push(rdata);
            changed = true;
        }
        changed
    }

    /// RFC 2136 §3.4.2.3: delete an RRset.
    fn remove_rrset(&mut self, name: &Name, rtype: RecordType) -> bool {
        let Some(node) = self.nodes.get_mut(name) else {
            return false;
        };
        let changed = node.remove(&u16::from(rtype)).is_some();
        if node.is_empty() {
            self.nodes.remove(name);
        }
        changed
    }

    /// RFC 2136 §3.4.2.4: delete one RR.
    fn remove_rr(&mut self, name: &Name, rtype: RecordType, rdata: &RData) -> bool {
        let Some(node) = self.nodes.get_mut(name) else {
            return false;
        };
        let code = u16::from(rtype);
        let Some(set) = node.get_mut(&code) else {
            return false;
        };
        let before = set.rdatas.len();
        set.rdatas.retain(|r| r != rdata);
        let changed = set.rdatas.len() != before;
        if set.rdatas.is_empty() {
            node.remove(&code);
        }
        if node.is_empty() {
            self.nodes.remove(name);
        }
        changed
    }

    /// The stored state of `name`, to undo an update whose journal write
    /// failed.
    pub(crate) fn node(&self, name: &Name) -> Option<Node> {
        self.nodes.get(name).cloned()
    }

    pub(crate) fn restore_node(&mut self, name: Name, node: Option<Node>) {
        match node {
            Some(n) => self.nodes.insert(name, n),
            None => self.nodes.remove(&name),
        };
    }

    /// Every stored (updatable) record, for a snapshot.
    pub(crate) fn stored_records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        for (name, node) in &self.nodes {
            for set in node.values() {
                push_rrset(&mut out, name, set.ttl, &set.rdatas);
            }
        }
        out
    }

    /// Number of names holding stored data.
    pub(crate) fn name_count(&self) -> usize {
        self.nodes.len()
    }
}

fn push_rrset(out: &mut Vec<Record>, name: &Name, ttl: u32, rdatas: &[RData]) {
    for r in rdatas {
        out.push(Record::from_rdata(name.clone(), ttl, r.clone()));
    }
}

/// Lower-case, fully-qualified form used as map key.
pub(crate) fn normalize(name: &Name) -> Name {
    let mut n = name.to_lowercase();
    n.set_fqdn(true);
    n
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn zone() -> Zone {
        Zone::new(ZoneConfig::telsec_test(IpAddr::V4(Ipv4Addr::new(
            127, 0, 0, 40,
        ))))
    }

    fn a(owner: &str, ip: [u8; 4]) -> Record {
        Record::from_rdata(name(owner), 60, RData::A(A(Ipv4Addr::from(ip))))
    }

    #[test]
    fn apex_and_glue_are_generated() {
        let z = zone();
        let soa = z.lookup(&name("telsec.test."), RecordType::SOA);
        assert_eq!(soa.rcode, ResponseCode::NoError);
        assert_eq!(soa.answers.len(), 1);
        let ns = z.lookup(&name("telsec.test."), RecordType::NS);
        assert_eq!(ns.answers.len(), 1);
        let glue = z.lookup(&name("ns1.telsec.test."), RecordType::A);
        assert_eq!(glue.answers.len(), 1);
    }

    #[test]
    fn nxdomain_nodata_and_empty_non_terminal() {
        let mut z = zone();
        assert!(z.apply(&a("mn1.nodes.telsec.test.", [10, 0, 0, 1])));
        let nx = z.lookup(&name("mn2.nodes.telsec.test."), RecordType::A);
        assert_eq!(nx.rcode, ResponseCode::NXDomain);
        assert_eq!(nx.authorities.len(), 1);
        assert_eq!(nx.authorities[0].ttl, 60);
        let nodata = z.lookup(&name("mn1.nodes.telsec.test."), RecordType::AAAA);
        assert_eq!(nodata.rcode, ResponseCode::NoError);
        assert!(nodata.answers.is_empty());
        assert_eq!(nodata.authorities.len(), 1);
        let ent = z.lookup(&name("nodes.telsec.test."), RecordType::A);
        assert_eq!(ent.rcode, ResponseCode::NoError);
        assert!(ent.answers.is_empty());
        // A sibling that sorts right after the ENT is not its descendant.
        let sib = z.lookup(&name("nodesx.telsec.test."), RecordType::A);
        assert_eq!(sib.rcode, ResponseCode::NXDomain);
    }

    #[test]
    fn add_is_idempotent_and_deletes_work() {
        let mut z = zone();
        let r = a("mn1.telsec.test.", [10, 0, 0, 1]);
        assert!(z.apply(&r));
        assert!(!z.apply(&r));
        assert!(z.apply(&a("mn1.telsec.test.", [10, 0, 0, 2])));
        assert_eq!(
            z.rrset(&name("mn1.telsec.test."), RecordType::A)
                .unwrap()
                .len(),
            2
        );
        let mut del_rr = a("mn1.telsec.test.", [10, 0, 0, 1]);
        del_rr.dns_class = DNSClass::NONE;
        del_rr.ttl = 0;
        assert!(z.apply(&del_rr));
        let mut del_set = Record::update0(name("mn1.telsec.test."), 0, RecordType::A);
        del_set.dns_class = DNSClass::ANY;
        assert!(z.apply(&del_set));
        assert!(!z.name_in_use(&name("mn1.telsec.test.")));
    }

    #[test]
    fn delete_all_at_apex_keeps_soa_and_ns() {
        let mut z = zone();
        assert!(z.apply(&Record::from_rdata(
            name("telsec.test."),
            60,
            RData::A(A(Ipv4Addr::new(10, 9, 9, 9)))
        )));
        let mut del_all = Record::update0(name("telsec.test."), 0, RecordType::ANY);
        del_all.dns_class = DNSClass::ANY;
        assert!(z.apply(&del_all));
        assert!(z.rrset(&name("telsec.test."), RecordType::SOA).is_some());
        assert!(z.rrset(&name("telsec.test."), RecordType::NS).is_some());
        assert!(z.rrset(&name("telsec.test."), RecordType::A).is_none());
    }

    #[test]
    fn cname_excludes_other_data() {
        let mut z = zone();
        let cname = Record::from_rdata(
            name("alias.telsec.test."),
            60,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(name("mn1.telsec.test."))),
        );
        assert!(z.apply(&cname));
        assert!(!z.apply(&a("alias.telsec.test.", [10, 0, 0, 3])));
        assert!(z.apply(&a("mn1.telsec.test.", [10, 0, 0, 1])));
        let ans = z.lookup(&name("alias.telsec.test."), RecordType::A);
        assert_eq!(ans.answers.len(), 2);
        assert_eq!(ans.answers[0].record_type(), RecordType::CNAME);
        assert_eq!(ans.answers[1].record_type(), RecordType::A);
        // And a CNAME is refused where other data lives.
        let cname2 = Record::from_rdata(
            name("mn1.telsec.test."),
            60,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(name("x.telsec.test."))),
        );
        assert!(!z.apply(&cname2));
    }

    #[test]
    fn cname_loop_terminates() {
        let mut z = zone();
        for (from, to) in [
            ("a.telsec.test.", "b.telsec.test."),
            ("b.telsec.test.", "a.telsec.test."),
        ] {
            assert!(z.apply(&Record::from_rdata(
                name(from),
                60,
                RData::CNAME(hickory_proto::rr::rdata::CNAME(name(to))),
            )));
        }
        let ans = z.lookup(&name("a.telsec.test."), RecordType::A);
        assert_eq!(ans.answers.len(), MAX_CNAME_CHAIN);
    }
}
