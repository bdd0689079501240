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
    /// Reservations of outbound sequence numbers, relative to data_dir:
    /// the keys are the same after a restart, so a sequence number (the
    /// AES-GCM IV) must never be sent twice ([`crate::esp_sequences`]).
    pub state_file: std::path::PathBuf,
}

impl core::fmt::Debug for MnEspSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MnEspSettings")
            .field("enabled", &self.enabled)
            .field("gateway", &self.gateway)
            .field("algorithm", &self.algorithm)
            .field("port", &self.port)
            .field("replay_window", &self.replay_window)
            .field("state_file", &self.state_file)
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
            state_file: std::path::PathBuf::from("mn-esp-sequences"),
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
# Outbound sequence reservations (relative to data_dir): no AES-GCM IV is
# ever sent twice under the derived key, across restarts too.
state_file = "{sf}"
"#,
            enabled = d.enabled,
            gw = d.gateway,
            alg = d.algorithm,
            port = d.port,
            win = d.replay_window,
            sf = d.state_file.display(),
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
    book: crate::esp_sequences::SequenceBook,
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
    /// Mobile IP traffic uses inside; `state` the sequence reservations.
    ///
    /// # Errors
    /// A setting or the state file is unusable; the message names it.
    pub fn new(
        settings: &MnEspSettings,
        home: Ipv4Addr,
        coa: Option<Ipv4Addr>,
        inner_port: u16,
        state: &std::path::Path,
    ) -> Result<EspPath, String> {
        let algorithm =
            algorithm(&settings.algorithm).ok_or("mn.esp.algorithm: aes-128-gcm or aes-256-gcm")?;
        let secret = Zeroizing::new(
            crate::ha_setup::hex_decode(settings.secret.trim()).ok_or("mn.esp.secret: not hex")?,
        );
        let keys = telsec_vpn::derive_esp_keys(&secret, home, *settings.gateway.ip(), algorithm)
            .map_err(|e| format!("mn.esp.secret: {e}"))?;
        let local = IpAddr::V4(coa.unwrap_or(Ipv4Addr::UNSPECIFIED));
        let up = keys.node_to_gateway.spi;
        let (book, resume) = crate::esp_sequences::SequenceBook::open(state.to_owned(), &[up])
            .map_err(|e| format!("mn.esp.state_file: {e}"))?;
        let sa = |spi, direction, material: &[u8]| {
            let mut c = SaConfig::new(spi, direction, algorithm, material, local);
            if direction == Direction::Outbound {
                c.initial_sequence = resume.get(&spi).copied().unwrap_or(0);
            }
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
            book,
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
        let now = Instant::now();
        let o = self
            .tunnel
            .seal(now, &self.inner, &mut self.sealed)
            .map_err(|e| e.to_string())?;
        if self.book.check(now, o.spi, o.seq) != crate::esp_sequences::Verdict::Send {
            return Err(format!(
                "sequence number {} is not reserved on disk: not sent",
                o.seq
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MnEspSettings {
        MnEspSettings {
            enabled: true,
            secret: "07".repeat(32),
            ..MnEspSettings::default()
        }
    }

    #[test]
    fn a_restart_never_reuses_a_sequence_number() {
        let dir = std::env::temp_dir().join(format!("telsec-mn-esp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = dir.join("seq");
        let home = Ipv4Addr::new(10, 77, 0, 5);
        let coa = Ipv4Addr::new(192, 0, 2, 7);
        let ha = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 434);
        let seq_of =
            |sealed: &[u8]| u32::from_be_bytes([sealed[4], sealed[5], sealed[6], sealed[7]]);
        let mut first = EspPath::new(&settings(), home, Some(coa), 434, &state).unwrap();
        let (sealed, to) = first.seal(coa, ha, b"one").unwrap();
        assert_eq!(to, settings().gateway);
        assert_eq!(seq_of(sealed), 1);
        drop(first);
        // Same secret, same keys: the restarted node starts after the
        // reservation the first one wrote.
        let mut second = EspPath::new(&settings(), home, Some(coa), 434, &state).unwrap();
        let (sealed, _) = second.seal(coa, ha, b"two").unwrap();
        assert_eq!(u64::from(seq_of(sealed)), crate::esp_sequences::LEASE + 1);
        let bad = MnEspSettings {
            secret: "zz".into(),
            ..settings()
        };
        assert!(
            EspPath::new(&bad, home, Some(coa), 434, &state)
                .unwrap_err()
                .contains("mn.esp.secret")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
