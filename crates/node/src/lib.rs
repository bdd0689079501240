//! Tokio drivers for telsec's services: the thin I/O around the sans-IO
//! protocol cores, plus configuration and key loading.
//!
//! - [`config`]: the TOML configuration with documented defaults;
//! - [`kek`]: where the HLR's key-encryption key comes from;
//! - [`hlr_service`]: GSUP over IPA on TCP, serving [`telsec_hlr::HlrCore`];
//! - [`gsup_client`]: a GSUP client for any HLR (telsec's or osmo-hlr);
//! - [`ha_service`]: the Mobile IP home agent (registrations, tunnels,
//!   durable bindings) around [`telsec_mip::ha::HomeAgent`];
//! - [`ha_setup`]: the home agent built from the configuration;
//! - [`packet_link`]: TUN devices and the unprivileged UDP virtual wire;
//! - [`raw_ipip`]: IP in IP through a raw socket.
#![forbid(unsafe_code)]

pub mod config;
pub mod gsup_client;
pub mod ha_service;
pub mod ha_setup;
pub mod hlr_service;
pub mod kek;
pub mod packet_link;
pub mod raw_ipip;
