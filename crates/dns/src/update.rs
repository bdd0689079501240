//! RFC 2136 checks on an UPDATE message: zone section (§3.1),
//! prerequisites (§3.2), permission (§3.3) and the update prescan
//! (§3.4.1). Applying the update is `Zone::apply` (§3.4.2).

use std::collections::BTreeMap;

use hickory_proto::{
    op::{Message, ResponseCode},
    rr::{DNSClass, Name, RData, Record, RecordType},
};

use crate::{
    key::Grant,
    rdata::{HIP, HipRecord, IPSECKEY, IpsecKey},
    zone::{Zone, normalize},
};

/// §3.1.1: exactly one zone RR of type SOA, naming our zone in class IN.
pub(crate) fn check_zone_section(msg: &Message, zone: &Zone) -> Result<(), ResponseCode> {
    let [q] = msg.queries.as_slice() else {
        return Err(ResponseCode::FormErr);
    };
    if q.query_type() != RecordType::SOA {
        return Err(ResponseCode::FormErr);
    }
    if q.query_class() != DNSClass::IN || normalize(q.name()) != *zone.origin() {
        return Err(ResponseCode::NotAuth);
    }
    Ok(())
}

/// RDLENGTH 0, which RFC 2136 §2.4/§2.5 uses for "any RDATA".
fn is_empty(data: &RData) -> bool {
    matches!(data, RData::Update0(_))
}

/// Q-types and meta-types (RFC 6895 §3.1: 128–255, plus OPT and type 0),
/// which never name data in a zone.
fn is_meta(t: RecordType) -> bool {
    matches!(u16::from(t), 0 | 41 | 128..=255)
}

/// §3.2: prerequisites, in the order of §3.2.5's pseudocode.
pub(crate) fn check_prerequisites(prereqs: &[Record], zone: &Zone) -> Result<(), ResponseCode> {
    // Value-dependent prerequisites (§3.2.3) are gathered and compared as
    // whole RRsets once all others passed.
    let mut expected: BTreeMap<(Name, u16), Vec<&RData>> = BTreeMap::new();
    for rr in prereqs {
        let name = normalize(&rr.name);
        let rtype = rr.record_type();
        if rr.ttl != 0 {
            return Err(ResponseCode::FormErr);
        }
        if !zone.contains(&name) {
            return Err(ResponseCode::NotZone);
        }
        match rr.dns_class {
            DNSClass::ANY => {
                if !is_empty(&rr.data) {
                    return Err(ResponseCode::FormErr);
                }
                if rtype == RecordType::ANY {
                    if !zone.name_in_use(&name) {
                        return Err(ResponseCode::NXDomain);
                    }
                } else if zone.rrset(&name, rtype).is_none() {
                    return Err(ResponseCode::NXRRSet);
                }
            }
            DNSClass::NONE => {
                if !is_empty(&rr.data) {
                    return Err(ResponseCode::FormErr);
                }
                if rtype == RecordType::ANY {
                    if zone.name_in_use(&name) {
                        return Err(ResponseCode::YXDomain);
                    }
                } else if zone.rrset(&name, rtype).is_some() {
                    return Err(ResponseCode::YXRRSet);
                }
            }
            DNSClass::IN => {
                if is_meta(rtype) || is_empty(&rr.data) {
                    return Err(ResponseCode::FormErr);
                }
                expected
                    .entry((name, u16::from(rtype)))
                    .or_default()
                    .push(&rr.data);
            }
            _ => return Err(ResponseCode::FormErr),
        }
    }
    for ((name, code), want) in expected {
        let have = zone
            .rrset(&name, RecordType::from(code))
            .ok_or(ResponseCode::NXRRSet)?;
        let same = want.iter().all(|w| have.contains(w)) && have.iter().all(|h| want.contains(&h));
        if !same {
            return Err(ResponseCode::NXRRSet);
        }
    }
    Ok(())
}

/// §3.3: every update RR must lie within what the key may change, and
/// must not touch the records the server generates.
pub(crate) fn check_permission(
    updates: &[Record],
    zone: &Zone,
    key_name: &Name,
    grant: &Grant,
) -> Result<(), ResponseCode> {
    for rr in updates {
        let name = normalize(&rr.name);
        let rtype = rr.record_type();
        if zone.is_protected(&name, rtype) || !grant.permits(key_name, &name, rtype) {
            return Err(ResponseCode::Refused);
        }
    }
    Ok(())
}

/// §3.4.1.3: the prescan; nothing is applied unless every update RR is
/// well formed.
pub(crate) fn prescan(updates: &[Record], zone: &Zone) -> Result<(), ResponseCode> {
    for rr in updates {
        if !zone.contains(&normalize(&rr.name)) {
            return Err(ResponseCode::NotZone);
        }
        let rtype = rr.record_type();
        let ok = match rr.dns_class {
            DNSClass::IN => !is_meta(rtype) && !is_empty(&rr.data) && rdata_ok(rtype, &rr.data),
            DNSClass::ANY => {
                rr.ttl == 0 && is_empty(&rr.data) && (rtype == RecordType::ANY || !is_meta(rtype))
            }
            DNSClass::NONE => rr.ttl == 0 && !is_meta(rtype) && !is_empty(&rr.data),
            _ => false,
        };
        if !ok {
            return Err(ResponseCode::FormErr);
        }
    }
    Ok(())
}

/// The two key records hickory carries opaquely are checked against their
/// RFC layouts, so the zone never serves a malformed one.
fn rdata_ok(rtype: RecordType, data: &RData) -> bool {
    let RData::Unknown { rdata, .. } = data else {
        return true;
    };
    let bytes = &rdata.anything;
    if rtype == IPSECKEY {
        IpsecKey::parse(bytes).is_ok()
    } else if rtype == HIP {
        HipRecord::parse(bytes).is_ok()
    } else {
        true
    }
}
