//! The VPN gateway of seed 002 and the home agent's half of it: ESP
//! security associations that follow a Mobile IP node through handovers,
//! moved only by the home agent's authenticated Security Information
//! Update (SIU). Sans-IO.
#![forbid(unsafe_code)]
