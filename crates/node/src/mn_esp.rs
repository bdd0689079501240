//! The mobile node's ESP tunnel to the VPN gateway (seed 002, `[mn.esp]`):
//! with it on, everything the node sends to its home agent (registration
//! requests, RFC 3519 tunnel data, keep-alives) leaves as an inner IPv4/UDP
//! packet inside ESP-in-UDP (RFC 3948) to the gateway, from the care-of
//! address's port 4500, and what the gateway sends back is opened and
//! handed to the node as if the home agent had sent it directly. The SAs
//! come from one secret shared with the gateway ([`telsec_vpn::keys`]).
//! On a new care-of address the node moves its own SA ends before it
//! sends anything (seed 002 claims 5-6); the gateway follows on the home
//! agent's SIU.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use telsec_esp::{Algorithm, Direction, SaConfig, SecurityAssociation};
use telsec_vpn::{NodeTunnelEnd, inner};
use zeroize::Zeroizing;

/// `[mn.esp]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MnEspSettings {
    /// Reach the home agent through the VPN gateway.
    pub enabled: bool,
    /// The gateway's ESP-in-UDP address (its `[gw] outside`).
    pub gateway: SocketAddrV4,
    /// The secret shared with the gateway (hex, 16 octets or more; the
    /// gateway's `[[gw.nodes]] secret` for this home address).
    pub secret: String,
    /// `aes-128-gcm` or `aes-256-gcm` (as the gateway's `algorithm`).
    pub algorithm: String,
    /// The node's ESP-in-UDP port (RFC 3948: 4500).
    pub port: u16,
    /// Anti-replay window of the inbound SA, packets (32..=4096).
    pub replay_window: u32,
}

impl core::fmt::Debug for MnEspSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MnEspSettings")
            .field("enabled", &self.enabled)
            .field("gateway", &self.gateway)
            .field("algorithm", &self.algorithm)
            .field("port", &self.port)
            .field("replay_window", &self.replay_window)
            .finish_non_exhaustive()
    }
}

impl Default for MnEspSettings {
    fn default() -> Self {
        MnEspSettings {
            enabled: false,
            gateway: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4500),
            secret: String::new(),
            algorithm: "aes-128-gcm".to_owned(),
            port: 4500,
            replay_window: 1024,
        }
    }
}

impl MnEspSettings {
    /// The section with every default, commented.
    pub fn documented() -> String {
        let d = MnEspSettings::default();
        format!(
            r#"[mn.esp]
# Mobile IP inside an ESP tunnel to the VPN gateway of the private network
# (seed 002): registrations and tunnelled data go through the gateway, whose
# SA follows the node when the home agent confirms the move.
enabled = {enabled}
gateway = "{gw}"
# Hex, 16 octets or more: the gateway's [[gw.nodes]] secret for this node.
secret = ""
algorithm = "{alg}"
port = {port}
replay_window = {win}
"#,
            enabled = d.enabled,
            gw = d.gateway,
            alg = d.algorithm,
            port = d.port,
            win = d.replay_window,
        )
    }
}

/// The node's side of the tunnel, built once and kept across moves.
#[derive(Debug)]
pub struct EspPath {
    tunnel: NodeTunnelEnd,
    gateway: SocketAddrV4,
    /// The node's ESP-in-UDP port.
    pub port: u16,
    /// The inner UDP source port of the node's Mobile IP traffic.
    inner_port: u16,
    ident: u16,
    inner: Vec<u8>,
    sealed: Vec<u8>,
}

/// The algorithm of a setting.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "aes-128-gcm" => Some(Algorithm::AesGcm128),
        "aes-256-gcm" => Some(Algorithm::AesGcm256),
        _ => None,
    }
}

impl EspPath {
    /// The SA pair of `home` from the settings, the node at `coa` (or
    /// 0.0.0.0 until it has an address); `inner_port` is the UDP port its
    /// Mobile IP traffic uses inside.
    ///
    /// # Errors
    /// A setting is unusable; the message names it.
    pub fn new(
        settings: &MnEspSettings,
        home: Ipv4Addr,
        coa: Option<Ipv4Addr>,
        inner_port: u16,
    ) -> Result<EspPath, String> {
        let algorithm =
            algorithm(&settings.algorithm).ok_or("mn.esp.algorithm: aes-128-gcm or aes-256-gcm")?;
        let secret = Zeroizing::new(
            crate::ha_setup::hex_decode(settings.secret.trim()).ok_or("mn.esp.secret: not hex")?,
        );
        let keys = telsec_vpn::derive_esp_keys(&secret, home, *settings.gateway.ip(), algorithm)
            .map_err(|e| format!("mn.esp.secret: {e}"))?;
        let local = IpAddr::V4(coa.unwrap_or(Ipv4Addr::UNSPECIFIED));
        let sa = |spi, direction, material: &[u8]| {
            let mut c = SaConfig::new(spi, direction, algorithm, material, local);
            c.local = SocketAddr::new(local, settings.port);
            c.peer = Some(SocketAddr::V4(settings.gateway));
            c.replay_window = settings.replay_window;
            SecurityAssociation::new(c, Instant::now()).map_err(|e| format!("mn.esp: {e}"))
        };
        let inbound = sa(
            keys.gateway_to_node.spi,
            Direction::Inbound,
            &keys.gateway_to_node.key_material,
        )?;
        let outbound = sa(
            keys.node_to_gateway.spi,
            Direction::Outbound,
            &keys.node_to_gateway.key_material,
        )?;
        Ok(EspPath {
            tunnel: NodeTunnelEnd::new(inbound, outbound).map_err(|e| format!("mn.esp: {e}"))?,
            gateway: settings.gateway,
            port: settings.port,
            inner_port,
            ident: 0,
            inner: Vec::with_capacity(1500),
            sealed: vec![0u8; 2048],
        })
    }

    /// A new care-of address: the SAs' local ends move first.
    pub fn moved(&mut self, coa: Ipv4Addr) {
        self.tunnel.change_care_of(coa);
    }

    /// `payload` from `src` (the care-of address) to `dst` as a sealed
    /// datagram for the gateway.
    ///
    /// # Errors
    /// Too long, or ESP refused to seal (sequence exhausted, expired).
    pub fn seal(
        &mut self,
        src: Ipv4Addr,
        dst: SocketAddrV4,
        payload: &[u8],
    ) -> Result<(&[u8], SocketAddrV4), String> {
        self.ident = self.ident.wrapping_add(1);
        inner::emit_udp(
            SocketAddrV4::new(src, self.inner_port),
            dst,
            self.ident,
            payload,
            &mut self.inner,
        )
        .map_err(|e| e.to_string())?;
        let o = self
            .tunnel
            .seal(Instant::now(), &self.inner, &mut self.sealed)
            .map_err(|e| e.to_string())?;
        Ok((&self.sealed[..o.len], self.gateway))
    }

    /// Opens a datagram from the gateway in place: the inner UDP payload's
    /// range and its inner source.
    ///
    /// # Errors
    /// Not from the gateway, not authentic, replayed, or not IPv4/UDP.
    pub fn open(
        &mut self,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Result<(core::ops::Range<usize>, SocketAddrV4), String> {
        if from != SocketAddr::V4(self.gateway) {
            return Err(format!("ESP from {from}, not the gateway"));
        }
        let range = self
            .tunnel
            .open(Instant::now(), from, datagram)
            .map_err(|e| e.to_string())?;
        let packet = datagram.get(range.clone()).ok_or("inner range")?;
        let udp = inner::parse_udp(packet).map_err(|e| e.to_string())?;
        Ok((
            range.start + udp.payload.start..range.start + udp.payload.end,
            udp.src,
        ))
    }
}
