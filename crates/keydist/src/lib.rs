//! Mobile IP keys by SMS, made secure.
//!
//! The home agent (HA) sends a mobile node its MN-HA key (RFC 5944 §3.5)
//! by SMS, as EP 0 944 203 proposes. SMS itself protects nothing (SS7
//! interception, SIM swap), so the key travels in a secured packet modelled
//! on the secured packets of TS 102 225 and TS 31.115, keyed from the
//! subscriber's USIM secrets through one AKA run and GBA key derivation.
//! Everything here is sans-IO: octets, vectors and `now` in, octets and
//! actions out.
//!
//! # The construction
//!
//! **Vector.** The HA obtains a fresh authentication vector (RAND, XRES, CK,
//! IK, AUTN) for the subscriber's IMSI from the HLR over GSUP (the driver
//! does this; [`issuer::Issuer::on_vector`] receives it).
//!
//! **Transport keys** ([`keys`]), for each packet:
//! - `Ks = CK || IK` (TS 33.220 §4.5.2);
//! - `Ks_NAF = KDF(Ks, 0x01, "gba-me", RAND, IMPI, NAF_Id)` (TS 33.220
//!   Annex B.3), with `NAF_Id = FQDN of the HA || FF 00 00 00 01`: the Ua
//!   security protocol identifier is taken from the private range `0xFF`
//!   of TS 33.220 Annex H.2, and
//!   `IMPI = <IMSI>@ims.mnc<MNC>.mcc<MCC>.3gppnetwork.org` (TS 23.003 §13.3,
//!   MNC written with three digits; its length in the IMSI, 2 or 3, is
//!   configured per subscriber);
//! - `KIc = KDF(Ks_NAF, 0xF0, "telsec-keydist KIc")` and
//!   `KID = KDF(Ks_NAF, 0xF0, "telsec-keydist KID")`, each truncated to its
//!   128 least significant bits (TS 33.401 Annex A.7 rule); KIc is an
//!   AES-128 ciphering key, KID an AES-128 CMAC key. KDF is the generic
//!   HMAC-SHA-256 function of TS 33.220 Annex B.2.
//!
//! **Packet** ([`packet`], [`secure`]): the binary payload of an SMS with
//! application port addressing, destination and source port 16434
//! ([`packet::PORT`]; 16000..=16999 is the application range of TS 23.040
//! §9.2.3.24.4):
//!
//! ```text
//! RAND(16) || AUTN(16) ||
//! CPL(2) CHL(1)=21 SPI(2)=16 00 KIc(1)=12 KID(1)=12 TAR(3)=54 4B 44 ||
//! AES-128-CBC_KIc,IV=0( CNTR(5) || PCNTR(1) || CC(8) || record || padding )
//! ```
//!
//! - The command packet follows TS 102 225 §5.1.1 in the SMS dialect of
//!   TS 31.115 §4 without the CPI (port addressing identifies the
//!   application instead of IEI `70`) and without CHI. CPL counts the octets
//!   after CPL; CHL the octets from SPI to the end of CC.
//! - SPI `16 00`: cryptographic checksum (b2b1 = 10), ciphering (b3),
//!   counter "process only if higher than the value in the RE" (b5b4 = 10);
//!   no proof of receipt. KIc `12`: AES in CBC mode (TS 102 225 §5.1.2), key
//!   version 1. KID `12`: AES in CMAC mode (§5.1.3.1), key version 1.
//! - TAR `54 4B 44` ("TKD") is a private value; these packets go to an SMS
//!   application port, never to a card's remote management, so it cannot
//!   collide with a TS 101 220 allocation in practice; it names the counter
//!   space.
//! - CNTR is the per-subscriber packet counter, 1, 2, 3, ...; PCNTR the
//!   number of zero padding octets that make the ciphered part whole AES
//!   blocks.
//! - `CC` = the first 8 octets of AES-CMAC under KID over
//!   `CPL || CHL || SPI || KIc || KID || TAR || CNTR || PCNTR || record ||
//!   padding` (every header element before the checksum, then the secured
//!   data with padding: TS 102 225 §5.1.1). The checksum is computed first,
//!   then `CNTR .. padding` is enciphered with AES-128-CBC under KIc, IV
//!   all zero (TS 102 225 §5.1.2). A zero IV is harmless: KIc is new for
//!   every RAND, and the first block begins with CNTR, never repeated.
//! - RAND and AUTN are outside the checksum yet bound: RAND is an input of
//!   Ks_NAF, AUTN is authenticated by the USIM (MAC-A).
//!
//! **Secured data** ([`record`]): version `01`, then TLVs (tag, length,
//! value): `01` SA = MIP SPI (4, >= 256) || algorithm (1 = HMAC-MD5,
//! 2 = HMAC-SHA-256); `02` key (16 or 32 octets, random from the HA's
//! CSPRNG); `03` lifetime, seconds (4); `04` the node's home address (4);
//! `05` the HA address (4); `06` issue time, Unix seconds (4). With an
//! HMAC-SHA-256 key the record is 66 octets and the packet 122 octets: one
//! SMS (133 octets of 8-bit user data remain beside the 7-octet port UDH).
//!
//! **Node** ([`receiver`]): check framing, SPI, KIc, KID, TAR; run
//! AUTHENTICATE(RAND, AUTN) on the USIM (any [`telsec_auth::usim::Card`]).
//! AUTN MAC failure: dropped as `NotForThisSim`. Synchronisation failure:
//! dropped as `StaleVector`, and the node sends the HA a resync request
//! with RAND and AUTS. Otherwise derive KIc/KID from CK, IK, decipher,
//! verify CC in constant time (`BadMac`), require CNTR strictly above the
//! counter stored for the TAR (`ReplayedCounter`), decode the record
//! (`BadRecord`), and only then store CNTR and return the key. A rejected
//! packet changes no stored state.
//!
//! **Requests** ([`request`]), node to HA, binary SMS to the HA's service
//! number on the same port: `01 01` key request (nothing secret; the HA
//! answers only to the MSISDN provisioned for the subscriber, and rate
//! limits each subscriber), `01 02 RAND(16) AUTS(14)` resync. The HA
//! forwards a resync to the HLR (TS 33.102 §6.3.5) only for a RAND it sent
//! the subscriber recently and only once, then issues a packet under the
//! vector the HLR returns.
//!
//! # Modules
//! - [`packet`]: the wire format, zero-copy view and owned repr;
//! - [`keys`]: IMPI and the KIc/KID derivation;
//! - [`secure`]: checksum and ciphering, both directions;
//! - [`record`]: the TLV key record;
//! - [`request`]: MO messages;
//! - [`issuer`]: the HA core; [`receiver`]: the node core;
//! - [`persist`]: what the two text snapshots share.
//!
//! Decoders never panic and allocate at most
//! [`packet::MAX_PACKET_LEN`] octets per packet.

#![forbid(unsafe_code)]

pub mod issuer;
pub mod keys;
pub mod packet;
pub mod persist;
pub mod receiver;
pub mod record;
pub mod request;
pub mod secure;

pub use issuer::{
    Action, IssueError, Issued, Issuer, IssuerConfig, ProvisionError, RateLimit, Refusal,
    Subscriber,
};
pub use keys::TransportKeys;
pub use packet::{Header, Packet, PacketError, Repr};
pub use persist::SnapshotError;
pub use receiver::{Receiver, ReceiverConfig, Reject};
pub use record::{KeyRecord, RecordError};
pub use request::{Request, RequestError};
pub use secure::{Opened, SecureError};
