//! IPsec ESP for telsec's VPN gateway and mobile node (RFC 4303 tunnel mode).
//!
//! Sans-IO: callers hand in packets and a clock and get packets back. The
//! kernels telsec runs on have no ESP, so this is the whole data plane.
#![forbid(unsafe_code)]
