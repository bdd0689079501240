//! Bootstrapping the mobility service from the SIM (seed 003, issue 4):
//! the home agent's side ([`authority`], sans-IO, and its driver) and the
//! node's side, glued from telsec-bootstrap (the protocol), telsec-eap
//! (EAP-AKA'), the HLR over GSUP and telsec-dns (RFC 2136 updates).

pub mod authority;
pub mod client;
pub mod decide;
pub mod enrol;
pub mod service;
pub mod services;
pub mod settings;

pub use settings::{
    BootstrapMode, HaBootstrapSettings, MnBootstrapSettings, SimSettings, SuciKeySetting,
};
