//! The update client: publishes a node's records by RFC 2136 UPDATE,
//! signed with TSIG, over hickory's client (`hickory_net::client`) with the
//! key's `TSigner` attached to the transport. hickory verifies the answer's
//! TSIG (MAC over our request MAC, time within the fudge) before this
//! module looks at its RCODE.

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use hickory_net::{
    DnsMultiplexer, NetError,
    client::Client,
    runtime::TokioRuntimeProvider,
    tcp::TcpClientStream,
    udp::UdpClientStream,
    xfer::{DnsHandle, FirstAnswer},
};
use hickory_proto::{
    op::{DnsRequest, DnsRequestOptions, Message, OpCode, Query, ResponseCode},
    rr::{
        DNSClass, Name, RData, Record, RecordType,
        rdata::{A, AAAA, NULL},
    },
};

use crate::{
    Error, Transport,
    key::TsigKey,
    rdata::{ED25519_KEY_LEN, HIP, HIT_LEN, HipRecord, IPSECKEY, IpsecKey},
    zone::normalize,
};

/// How long to wait for an answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The HIP half of a node's records (RFC 8005): its HIT and rendezvous
/// servers; the Host Identity is the node's Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HipIdentity {
    /// The node's Host Identity Tag, computed by the caller from the Host
    /// Identity (RFC 7401 §3, RFC 9374 for EdDSA HITs).
    pub hit: [u8; HIT_LEN],
    /// Rendezvous servers, in order of preference (RFC 8005 §5.6).
    pub rendezvous_servers: Vec<Name>,
}

/// What the home agent publishes for a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecords {
    /// The node's name, chosen by the home agent.
    pub fqdn: Name,
    /// Home address (A).
    pub ipv4: Ipv4Addr,
    /// Optional IPv6 home address (AAAA).
    pub ipv6: Option<Ipv6Addr>,
    /// Ed25519 public key, published as IPSECKEY algorithm 4 (RFC 9373).
    pub ed25519_public_key: [u8; ED25519_KEY_LEN],
    /// In HIP mode, the HIP RR's data.
    pub hip: Option<HipIdentity>,
    /// TTL of every record (short: mobile nodes move).
    pub ttl: u32,
}

impl NodeRecords {
    /// A node's records with a 60 s TTL, no IPv6, no HIP.
    pub fn new(
        fqdn: &str,
        ipv4: Ipv4Addr,
        ed25519_public_key: [u8; ED25519_KEY_LEN],
    ) -> Result<Self, Error> {
        Ok(Self {
            fqdn: crate::parse_name(fqdn)?,
            ipv4,
            ipv6: None,
            ed25519_public_key,
            hip: None,
            ttl: 60,
        })
    }
}

/// Whether a publish may overwrite records already at the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishMode {
    /// Replace whatever the node had (a node re-registering).
    Replace,
    /// Only if the name is not in use (RFC 2136 §2.4.5 prerequisite): a
    /// first registration never takes over another node's name. The
    /// server answers YXDOMAIN otherwise.
    CreateOnly,
}

/// The types a node's publication owns; a publish replaces all of them,
/// a withdraw deletes all of them.
const NODE_TYPES: [RecordType; 4] = [RecordType::A, RecordType::AAAA, IPSECKEY, HIP];

fn zone_query(zone: &Name) -> Query {
    let mut q = Query::query(normalize(zone), RecordType::SOA);
    q.set_query_class(DNSClass::IN);
    q
}

fn update_message(zone: &Name) -> Message {
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Update;
    m.metadata.recursion_desired = false;
    m.add_query(zone_query(zone));
    m
}

/// RFC 2136 §2.5.2: delete an RRset (class ANY, TTL 0, no RDATA).
fn delete_rrset(name: &Name, rtype: RecordType) -> Record {
    let mut r = Record::update0(name.clone(), 0, rtype);
    r.dns_class = DNSClass::ANY;
    r
}

fn check_in_zone(zone: &Name, name: &Name) -> Result<(), Error> {
    if normalize(zone).zone_of(&normalize(name)) {
        Ok(())
    } else {
        Err(Error::NotInZone {
            name: name.to_ascii(),
            zone: zone.to_ascii(),
        })
    }
}

/// The UPDATE that publishes `node` (RFC 2136 §2.5): for each of the
/// node's types, delete the RRset and add the new records, in one message
/// so the server applies it atomically (§3.4.2). Types the node no longer
/// has (AAAA, HIP) are deleted too.
pub fn publish_message(
    zone: &Name,
    node: &NodeRecords,
    mode: PublishMode,
) -> Result<Message, Error> {
    let fqdn = normalize(&node.fqdn);
    check_in_zone(zone, &fqdn)?;
    let mut m = update_message(zone);
    if mode == PublishMode::CreateOnly {
        // §2.4.5 "Name is not in use": class NONE, type ANY.
        let mut p = Record::update0(fqdn.clone(), 0, RecordType::ANY);
        p.dns_class = DNSClass::NONE;
        m.add_answer(p);
    }
    for t in NODE_TYPES {
        m.add_authority(delete_rrset(&fqdn, t));
    }
    let add = |data: RData| Record::from_rdata(fqdn.clone(), node.ttl, data);
    m.add_authority(add(RData::A(A(node.ipv4))));
    if let Some(v6) = node.ipv6 {
        m.add_authority(add(RData::AAAA(AAAA(v6))));
    }
    let ipseckey = IpsecKey::ed25519(node.ed25519_public_key).to_rdata()?;
    m.add_authority(add(RData::Unknown {
        code: IPSECKEY,
        rdata: NULL::with(ipseckey),
    }));
    if let Some(hip) = &node.hip {
        let rdata = HipRecord::ed25519(
            hip.hit,
            node.ed25519_public_key,
            hip.rendezvous_servers.clone(),
        )
        .to_rdata()?;
        m.add_authority(add(RData::Unknown {
            code: HIP,
            rdata: NULL::with(rdata),
        }));
    }
    Ok(m)
}

/// The UPDATE that withdraws a node: its address and key RRsets are
/// deleted (RFC 2136 §2.5.2), type by type, so a node key whose grant
/// covers only those types may send it.
pub fn withdraw_message(zone: &Name, fqdn: &Name) -> Result<Message, Error> {
    let fqdn = normalize(fqdn);
    check_in_zone(zone, &fqdn)?;
    let mut m = update_message(zone);
    for t in NODE_TYPES {
        m.add_authority(delete_rrset(&fqdn, t));
    }
    Ok(m)
}

/// The UPDATE that points `fqdn`'s A RRset at `ipv4` alone (delete the
/// RRset, add one record: RFC 2136 §2.5.2, §2.5.1). For the operator's
/// own hosts, such as a HIP forwarding agent named as rendezvous server.
pub fn address_message(
    zone: &Name,
    fqdn: &Name,
    ipv4: Ipv4Addr,
    ttl: u32,
) -> Result<Message, Error> {
    let fqdn = normalize(fqdn);
    check_in_zone(zone, &fqdn)?;
    let mut m = update_message(zone);
    m.add_authority(delete_rrset(&fqdn, RecordType::A));
    m.add_authority(Record::from_rdata(fqdn, ttl, RData::A(A(ipv4))));
    Ok(m)
}

/// A connection to one primary server, signing every UPDATE with one key.
#[derive(Clone)]
pub struct UpdateClient {
    client: Client<TokioRuntimeProvider>,
    zone: Name,
}

impl std::fmt::Debug for UpdateClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateClient")
            .field("zone", &self.zone.to_ascii())
            .finish_non_exhaustive()
    }
}

impl UpdateClient {
    /// Connects to `server` over `transport`; updates for `zone` will be
    /// signed with `key`. Must run inside a tokio runtime (the transport's
    /// background task is spawned on it).
    pub async fn connect(
        server: SocketAddr,
        transport: Transport,
        key: &TsigKey,
        zone: &Name,
    ) -> Result<Self, Error> {
        let signer = key.signer()?;
        let provider = TokioRuntimeProvider::default();
        let client = match transport {
            Transport::Udp => {
                let stream = UdpClientStream::builder(server, provider)
                    .with_timeout(Some(TIMEOUT))
                    .with_signer(Some(signer))
                    .build();
                let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
                tokio::spawn(bg);
                client
            }
            Transport::Tcp => {
                let (connect, handle) = TcpClientStream::new(server, None, Some(TIMEOUT), provider);
                let stream = connect.await.map_err(|e| Error::Transport(e.to_string()))?;
                let mux = DnsMultiplexer::new(stream, handle)
                    .with_timeout(TIMEOUT)
                    .with_signer(signer);
                let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(mux);
                tokio::spawn(bg);
                client
            }
        };
        Ok(Self {
            client,
            zone: normalize(zone),
        })
    }

    /// Publishes (or replaces) a node's records.
    pub async fn publish(&self, node: &NodeRecords, mode: PublishMode) -> Result<(), Error> {
        let m = publish_message(&self.zone, node, mode)?;
        self.expect_noerror(m).await
    }

    /// Withdraws a node's records.
    pub async fn withdraw(&self, fqdn: &Name) -> Result<(), Error> {
        let m = withdraw_message(&self.zone, fqdn)?;
        self.expect_noerror(m).await
    }

    /// Sends any UPDATE message (signed by the transport) and returns the
    /// authenticated answer, whatever its RCODE.
    pub async fn send(&self, message: Message) -> Result<Message, Error> {
        let mut options = DnsRequestOptions::default();
        options.use_edns = false;
        let request = DnsRequest::new(message, options);
        match self.client.send(request).first_answer().await {
            Ok(resp) => Ok(resp.into_message()),
            // hickory reports a failed TSIG check of the answer (and an
            // answer it cannot decode) as a protocol error.
            Err(NetError::Proto(e)) => Err(Error::Unauthenticated(e.to_string())),
            Err(e) => Err(Error::Transport(e.to_string())),
        }
    }

    async fn expect_noerror(&self, m: Message) -> Result<(), Error> {
        let resp = self.send(m).await?;
        match resp.metadata.response_code {
            ResponseCode::NoError => Ok(()),
            rcode => Err(Error::Rejected { rcode }),
        }
    }
}

/// Publishes a node's records at `server` in one signed UPDATE over UDP,
/// replacing what the name had.
pub async fn publish_node(
    server: SocketAddr,
    key: &TsigKey,
    zone: &Name,
    node: &NodeRecords,
) -> Result<(), Error> {
    UpdateClient::connect(server, Transport::Udp, key, zone)
        .await?
        .publish(node, PublishMode::Replace)
        .await
}

/// Points `fqdn` at `ipv4` (one A record, 300 s) at `server` in one signed
/// UPDATE over UDP.
pub async fn publish_address(
    server: SocketAddr,
    key: &TsigKey,
    zone: &Name,
    fqdn: &Name,
    ipv4: Ipv4Addr,
) -> Result<(), Error> {
    let client = UpdateClient::connect(server, Transport::Udp, key, zone).await?;
    let m = address_message(&client.zone, fqdn, ipv4, 300)?;
    client.expect_noerror(m).await
}

/// Withdraws a node's records at `server` in one signed UPDATE over UDP.
pub async fn withdraw_node(
    server: SocketAddr,
    key: &TsigKey,
    zone: &Name,
    fqdn: &Name,
) -> Result<(), Error> {
    UpdateClient::connect(server, Transport::Udp, key, zone)
        .await?
        .withdraw(fqdn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_message_shape() {
        let zone = Name::from_ascii("telsec.test.").unwrap();
        let mut node =
            NodeRecords::new("mn1.telsec.test", Ipv4Addr::new(10, 1, 0, 1), [3; 32]).unwrap();
        node.hip = Some(HipIdentity {
            hit: [0x20; 16],
            rendezvous_servers: vec![],
        });
        let m = publish_message(&zone, &node, PublishMode::CreateOnly).unwrap();
        assert_eq!(m.metadata.op_code, OpCode::Update);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].dns_class, DNSClass::NONE);
        // 4 deletes, then A, IPSECKEY, HIP.
        assert_eq!(m.authorities.len(), 7);
        assert!(
            m.authorities[..4]
                .iter()
                .all(|r| r.dns_class == DNSClass::ANY)
        );
        assert_eq!(m.authorities[5].record_type(), IPSECKEY);
        assert_eq!(m.authorities[6].record_type(), HIP);
        // It survives a wire round trip with the opaque RDATA intact.
        let back = Message::from_vec(&m.to_vec().unwrap()).unwrap();
        assert_eq!(back.authorities, m.authorities);
    }

    #[test]
    fn address_message_replaces_one_a_rrset() {
        let zone = Name::from_ascii("telsec.test.").unwrap();
        let fa = Name::from_ascii("fa.telsec.test").unwrap();
        let m = address_message(&zone, &fa, Ipv4Addr::new(192, 0, 2, 7), 300).unwrap();
        assert_eq!(m.metadata.op_code, OpCode::Update);
        assert_eq!(m.authorities.len(), 2);
        assert_eq!(m.authorities[0].dns_class, DNSClass::ANY);
        assert_eq!(m.authorities[1].record_type(), RecordType::A);
        let outside = Name::from_ascii("fa.example.com").unwrap();
        assert!(matches!(
            address_message(&zone, &outside, Ipv4Addr::new(192, 0, 2, 7), 300),
            Err(Error::NotInZone { .. })
        ));
    }

    #[test]
    fn names_outside_the_zone_are_refused() {
        let zone = Name::from_ascii("telsec.test.").unwrap();
        let node =
            NodeRecords::new("mn1.example.com", Ipv4Addr::new(10, 1, 0, 1), [3; 32]).unwrap();
        assert!(matches!(
            publish_message(&zone, &node, PublishMode::Replace),
            Err(Error::NotInZone { .. })
        ));
    }
}
