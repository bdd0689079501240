//! Tokio drivers for telsec's services: the thin I/O around the sans-IO
//! protocol cores, plus configuration and key loading.
//!
//! - [`atomic_file`]: crash-safe replacement of small state files;
//! - [`config`]: the TOML configuration with documented defaults;
//! - [`kek`]: where the HLR's key-encryption key comes from;
//! - [`hlr_service`]: GSUP over IPA on TCP, serving [`telsec_hlr::HlrCore`];
//! - [`gsup_client`]: a GSUP client for any HLR (telsec's or osmo-hlr);
//! - [`gw_service`]: the VPN gateway of seed 002 (ESP towards mobile nodes,
//!   outbound SAs moved by the home agent's SIU) around [`telsec_vpn::Gateway`];
//! - [`ha_service`]: the Mobile IP home agent (registrations, tunnels,
//!   durable bindings) around [`telsec_mip::ha::HomeAgent`];
//! - [`ha_setup`]: the home agent built from the configuration;
//! - [`fa_service`]: the Mobile IP foreign agent (advertisements, relaying,
//!   delivery and reverse tunnels) around [`telsec_mip::fa::ForeignAgent`];
//! - [`key_service`]: the home agent's key service (keys by secured SMS);
//! - [`key_receiver`]: the node's side of key delivery by secured SMS;
//! - [`mn_service`]: the Mobile IP mobile node around
//!   [`telsec_mip::mn::MobileNode`];
//! - [`packet_link`]: TUN devices and the unprivileged UDP virtual wire;
//! - [`raw_ipip`]: IP in IP through a raw socket;
//! - [`roam_demo`]: the loopback roaming scenario of `telsec demo roam`;
//! - [`smsc_service`]: the SMS centre (SMPP server, virtual modems);
//! - [`smpp_client`]: an SMPP client (ESME) for the key service.
#![forbid(unsafe_code)]

pub mod addr_watch;
pub mod atomic_file;
pub mod bootstrap;
pub mod bootstrap_bench;
pub mod bootstrap_demo;
pub mod config;
pub mod dns_setup;
pub mod esp_sequences;
pub mod fa_service;
pub mod gsup_client;
pub mod gw_service;
pub mod ha_service;
pub mod ha_setup;
pub mod ha_vpn;
pub mod hlr_service;
pub mod home_rule;
pub mod kek;
pub mod key_receiver;
pub mod key_service;
pub mod mn_esp;
pub mod mn_service;
pub mod packet_link;
pub mod raw_ipip;
pub mod roam_demo;
pub mod smpp_client;
pub mod smsc_service;
