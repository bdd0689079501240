//! The home agent's link to the VPN gateway (seed 002 Figure 4,
//! `[ha.vpn]`): which registrations came through the gateway, and the SIU
//! that carries their reply there. The decision and the SIU protocol are
//! telsec-vpn's ([`telsec_vpn::HaLink`]); this is its configuration and
//! the clock the driver hands it.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use telsec_esp::AddrRange;
use telsec_mip::ha::BindingChange;
use telsec_mip::replay::NtpTimestamp;
use telsec_vpn::{HaGwKey, HaLink, KeyRing, SecurityInfoUpdate, SenderConfig, SiuSender};

/// `[ha.vpn]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaVpnSettings {
    /// Answer registrations that came through the gateway with an SIU.
    pub enabled: bool,
    /// The gateway's SIU socket.
    pub gateway: SocketAddrV4,
    /// The private networks (`a.b.c.d/len`): a registration from outside
    /// all of them came through the gateway.
    pub private_networks: Vec<String>,
    /// The HA-gateway key: SPI (256 or more) and hex secret (32 octets or
    /// more), the same as one of the gateway's `siu_keys`.
    pub siu_spi: u32,
    /// Its secret, hex.
    pub siu_secret: String,
    /// The UDP port of the nodes' ESP-in-UDP (RFC 3948), which the SIU
    /// names with the new care-of address.
    pub node_esp_port: u16,
}

impl Default for HaVpnSettings {
    fn default() -> Self {
        HaVpnSettings {
            enabled: false,
            gateway: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4436),
            private_networks: vec!["10.77.0.0/24".to_owned()],
            siu_spi: 768,
            siu_secret: String::new(),
            node_esp_port: 4500,
        }
    }
}

impl HaVpnSettings {
    /// The section with every default, commented.
    pub fn documented() -> String {
        let d = HaVpnSettings::default();
        format!(
            r#"[ha.vpn]
# Mobile IP inside an ESP tunnel to a VPN gateway (seed 002): a registration
# from outside the private networks came through the gateway, so its reply
# goes to the gateway inside an authenticated Security Information Update,
# which moves the gateway's SA to the new care-of address first.
enabled = {enabled}
gateway = "{gw}"
private_networks = ["10.77.0.0/24"]
# The HA-gateway key (the gateway's [gw] siu_keys holds the same): SPI >= 256
# and a hex secret of 32 octets or more.
siu_spi = {spi}
siu_secret = ""
node_esp_port = {port}
"#,
            enabled = d.enabled,
            gw = d.gateway,
            spi = d.siu_spi,
            port = d.node_esp_port,
        )
    }

    /// The link, when enabled.
    ///
    /// # Errors
    /// A prefix, the SPI or the secret is unusable; the message names the
    /// field.
    pub fn build(&self) -> Result<Option<HaLink>, String> {
        if !self.enabled {
            return Ok(None);
        }
        let mut networks = Vec::new();
        for p in &self.private_networks {
            networks.push(
                parse_prefix(p)
                    .ok_or_else(|| format!("ha.vpn.private_networks: {p:?} is not a.b.c.d/len"))?,
            );
        }
        let secret = crate::ha_setup::hex_decode(self.siu_secret.trim())
            .ok_or("ha.vpn.siu_secret: not hex")?;
        let key = HaGwKey::new(self.siu_spi, &secret)
            .map_err(|e| format!("ha.vpn.siu_spi/siu_secret: {e}"))?;
        let mut keys = KeyRing::new();
        keys.insert(key);
        let sender =
            SiuSender::new(keys, SenderConfig::default()).map_err(|e| format!("ha.vpn: {e}"))?;
        Ok(Some(HaLink::new(networks, sender, self.siu_spi)))
    }
}

fn parse_prefix(text: &str) -> Option<AddrRange> {
    let (net, len) = text.split_once('/')?;
    let net: Ipv4Addr = net.trim().parse().ok()?;
    AddrRange::prefix(IpAddr::V4(net), len.trim().parse().ok()?).ok()
}

/// Now as an NTP timestamp (RFC 5905 §6), the SIU's clock.
pub fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    NtpTimestamp::from_unix(d.as_secs(), d.subsec_nanos()).0
}

/// The SIU for an accepted registration that moved `change` and whose
/// reply is `reply`, or `None` when the registration came from inside (the
/// ordinary reply) or removed every binding (deregistration: there is no
/// new care-of address to move to).
pub fn siu_for(
    link: &mut HaLink,
    source: Ipv4Addr,
    change: &BindingChange,
    reply: &[u8],
    lifetime: u16,
    node_esp_port: u16,
) -> Result<Option<Vec<u8>>, String> {
    if link.is_inside(source) {
        return Ok(None);
    }
    let Some(new) = change.after.first() else {
        return Ok(None);
    };
    let old = change
        .before
        .first()
        .map_or(new.care_of_address, |b| b.care_of_address);
    let update = SecurityInfoUpdate {
        home: change.home_address,
        old_coa: old,
        new_coa: new.care_of_address,
        new_port: node_esp_port,
        lifetime,
        reply: reply.to_vec(),
    };
    match link
        .route(Instant::now(), ntp_now(), source, update)
        .map_err(|e| e.to_string())?
    {
        telsec_vpn::ReplyRoute::ViaGateway(siu) => Ok(Some(siu)),
        telsec_vpn::ReplyRoute::Direct => Ok(None),
    }
}
