//! Tokio drivers for telsec's services: the thin I/O around the sans-IO
//! protocol cores, plus configuration and key loading.
//!
//! - [`config`]: the TOML configuration with documented defaults;
//! - [`kek`]: where the HLR's key-encryption key comes from;
//! - [`hlr_service`]: GSUP over IPA on TCP, serving [`telsec_hlr::HlrCore`];
//! - [`gsup_client`]: a GSUP client for any HLR (telsec's or osmo-hlr).
#![forbid(unsafe_code)]

pub mod config;
pub mod gsup_client;
pub mod hlr_service;
pub mod kek;
