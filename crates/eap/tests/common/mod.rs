//! Shared test harness: an HLR stand-in built on telsec-auth's MILENAGE,
//! SQN generator and resynchronisation; a soft USIM keyed the same way; and
//! a loop that carries packets between a [`Server`] and a [`Peer`] in
//! memory, recording every packet (for the pcap test) and letting a test
//! tamper with them on the way.
#![allow(clippy::unwrap_used, dead_code)]

use serde::Deserialize;
use telsec_auth::aka::{self, AuthVector, generate_vector};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{DEFAULT_DELTA, Sqn, SqnGenerator, SqnState};
use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimClient, UsimConfig};
use telsec_eap::{Action, Outcome, Peer, PeerAction, PeerConfig, Server, ServerConfig};

pub const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/auth.toml"
));

pub const IMSI: &str = "001010123456789";
pub const IDENTITY: &str = "6001010123456789@wlan.mnc001.mcc001.3gppnetwork.org";
pub const REALM: &str = "wlan.mnc001.mcc001.3gppnetwork.org";
pub const NETWORK: &str = "ha.home.example.net";
/// AMF with the separation bit set (RFC 9048 §3.3).
pub const AMF: [u8; 2] = [0x80, 0x00];

#[derive(Deserialize)]
struct File {
    milenage: Sections,
}

#[derive(Deserialize)]
struct Sections {
    ts35207: Vec<TestSet>,
}

#[derive(Deserialize)]
struct TestSet {
    set: u32,
    k: String,
    opc: String,
}

pub fn arr<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// K and OPc of TS 35.207 test set `set`.
pub fn keys(set: u32) -> ([u8; 16], [u8; 16]) {
    let file: File = toml::from_str(VECTORS).unwrap();
    let t = file
        .milenage
        .ts35207
        .into_iter()
        .find(|t| t.set == set)
        .unwrap();
    (arr(&t.k), arr(&t.opc))
}

/// The AuC side: vectors with increasing SQN, resynchronisation from AUTS.
pub struct Hlr {
    pub alg: Milenage,
    pub sqn: SqnGenerator,
    pub rand: u128,
    pub amf: [u8; 2],
    /// Ignore AUTS (a broken HLR), to exhaust the resync limit.
    pub ignore_auts: bool,
    /// Hand out a wrong XRES (a vector for another subscriber's RES).
    pub corrupt_xres: bool,
}

impl Hlr {
    pub fn new(set: u32, last: Sqn) -> Hlr {
        let (k, opc) = keys(set);
        Hlr {
            alg: Milenage::with_opc(&k, &opc),
            sqn: SqnGenerator::new(last, 5).unwrap(),
            rand: 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
            amf: AMF,
            ignore_auts: false,
            corrupt_xres: false,
        }
    }

    pub fn vector(&mut self) -> AuthVector {
        self.rand = self
            .rand
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(1);
        let sqn = self.sqn.next(0).unwrap();
        let mut v = generate_vector(&self.alg, &self.rand.to_be_bytes(), sqn, &self.amf);
        if self.corrupt_xres {
            let mut xres = v.xres.as_bytes().to_vec();
            xres[0] ^= 1;
            v.xres = telsec_auth::Res::new(&xres).unwrap();
        }
        v
    }

    pub fn resync(&mut self, rand: &[u8; 16], auts: &[u8; 14]) -> AuthVector {
        if !self.ignore_auts {
            let sqn_ms = aka::resync(&self.alg, rand, auts).unwrap();
            self.sqn.resync(sqn_ms, DEFAULT_DELTA);
        }
        self.vector()
    }
}

/// A soft USIM of test set `set` with the SQN state `sqn`.
pub fn card(set: u32, sqn: SqnState) -> SoftUsim {
    let (k, opc) = keys(set);
    let mut config = UsimConfig::new(
        IMSI,
        CardAlgorithm::Aka(Box::new(Milenage::with_opc(&k, &opc))),
    );
    config.sqn = sqn;
    SoftUsim::new(config).unwrap()
}

pub fn server(name: &str) -> Server {
    let mut config = ServerConfig::new(name);
    config.identities.realm = Some(REALM.into());
    Server::new(config, 0x42).unwrap()
}

pub fn peer(card: SoftUsim, expected: &str) -> Peer<SoftUsim> {
    Peer::new(PeerConfig::new(IDENTITY, expected), UsimClient::new(card))
}

/// Which way a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToPeer,
    ToServer,
}

/// Everything one run produced.
pub struct Run {
    pub server: Outcome,
    pub peer: PeerAction,
    /// Every packet in order, as delivered.
    pub trace: Vec<(Dir, Vec<u8>)>,
    pub resyncs: usize,
}

/// Carry packets until the server finishes and the peer saw the final
/// packet. `tamper` may change any packet in flight.
pub fn run_with(
    server: &mut Server,
    peer: &mut Peer<SoftUsim>,
    hlr: &mut Hlr,
    first: Action,
    tamper: &mut dyn FnMut(Dir, &mut Vec<u8>),
) -> Run {
    let mut trace = Vec::new();
    let mut resyncs = 0;
    let mut action = first;
    for _ in 0..64 {
        action = match action {
            Action::Send(mut packet) => {
                tamper(Dir::ToPeer, &mut packet);
                trace.push((Dir::ToPeer, packet.clone()));
                let PeerAction::Send(mut answer) = peer.handle(&packet).unwrap() else {
                    panic!("peer did not answer a request");
                };
                tamper(Dir::ToServer, &mut answer);
                trace.push((Dir::ToServer, answer.clone()));
                server.handle(&answer).unwrap()
            }
            Action::NeedVector { imsi } => {
                assert_eq!(imsi, IMSI);
                let v = hlr.vector();
                server.on_vector(&v).unwrap()
            }
            Action::NeedResync { imsi, rand, auts } => {
                assert_eq!(imsi, IMSI);
                resyncs += 1;
                let v = hlr.resync(&rand, &auts);
                server.on_vector(&v).unwrap()
            }
            Action::Finish {
                mut packet,
                outcome,
            } => {
                tamper(Dir::ToPeer, &mut packet);
                trace.push((Dir::ToPeer, packet.clone()));
                let peer_action = peer.handle(&packet).unwrap();
                return Run {
                    server: outcome,
                    peer: peer_action,
                    trace,
                    resyncs,
                };
            }
            other => panic!("unexpected server action {other:?}"),
        };
    }
    panic!("run did not end");
}

pub fn run(server: &mut Server, peer: &mut Peer<SoftUsim>, hlr: &mut Hlr) -> Run {
    let first = server.start().unwrap();
    run_with(server, peer, hlr, first, &mut |_, _| {})
}
