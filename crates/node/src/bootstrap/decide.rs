//! The home agent's decision for an authenticated node (seed 003 steps
//! 8-9), without IO: from the subscriber's facts (MSISDN from the HLR,
//! name from the subscriber profile), the services already set up and the
//! address pool, choose the FQDN (telsec-bootstrap's policy: the desired
//! name if it is valid, in the zone and free or already the subscriber's;
//! never another subscriber's), the home address (the same IMSI keeps its
//! address), and a fresh Mobile IP SA or, in HIP mode, the node's HIT
//! (RFC 9374 HHIT of its key); produce the configuration for the node,
//! the service record and the SA for the home agent. The driver then
//! updates DNS, persists, installs the SA and answers.

use std::net::Ipv4Addr;

use telsec_bootstrap::response::{MipConfig, MipSa};
use telsec_bootstrap::{
    AddressPool, Cause, ConfigResponse, FqdnOutcome, Hid, HipConfig, Hit, MipAlgorithm,
    PolicyError, SubscriberFacts, decide_fqdn,
};
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use zeroize::Zeroizing;

use super::services::{ServiceKind, ServiceRecord, Services};
use super::settings::{BootstrapMode, HaBootstrapSettings};

/// What the driver knows about the subscriber and the request.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The authenticated subscriber.
    pub imsi: &'a str,
    /// From the HLR's Insert Subscriber Data.
    pub msisdn: Option<&'a str>,
    /// From the subscriber profile.
    pub name: Option<&'a str>,
    /// What the node asked for.
    pub desired_fqdn: Option<&'a str>,
    /// The node's verified Ed25519 public key.
    pub public_key: [u8; 32],
    /// Now, Unix seconds.
    pub now_unix: u64,
}

/// The home agent's own identity as the node learns it.
#[derive(Debug, Clone, Copy)]
pub struct HaIdentity {
    /// The address the node registers with.
    pub address: Ipv4Addr,
    /// The key that signs configurations.
    pub public_key: [u8; 32],
    /// The name server the node may use.
    pub name_server: Option<Ipv4Addr>,
}

/// Fresh secrets for the SA, from the driver's CSPRNG.
#[derive(Debug)]
pub struct FreshSa {
    /// SPI (256 or more).
    pub spi: u32,
    /// Key octets (32 for HMAC-SHA-256, 16 for HMAC-MD5).
    pub key: Zeroizing<Vec<u8>>,
}

/// Everything decided.
#[derive(Debug)]
pub struct Plan {
    /// The configuration for the node.
    pub response: ConfigResponse,
    /// The service to record.
    pub record: ServiceRecord,
    /// The MN-HA SA to install in the home agent (Mobile IP mode).
    pub sa: Option<SecurityAssociation>,
    /// What the desired name came to.
    pub fqdn_outcome: FqdnOutcome,
}

/// The MIP algorithm of a setting (`hmac-sha256` or `hmac-md5`).
pub fn mip_algorithm(setting: &str) -> Option<(MipAlgorithm, Algorithm, usize)> {
    match setting {
        "hmac-sha256" => Some((MipAlgorithm::HmacSha256, Algorithm::HmacSha256, 32)),
        "hmac-md5" => Some((MipAlgorithm::HmacMd5, Algorithm::HmacMd5, 16)),
        _ => None,
    }
}

/// Decides; a refusal carries the protocol's cause and a text for the
/// node. The pool is changed only on success.
pub fn plan(
    settings: &HaBootstrapSettings,
    ha: &HaIdentity,
    facts: &Facts<'_>,
    services: &Services,
    pool: &mut AddressPool,
    fresh: FreshSa,
) -> Result<Plan, (Cause, String)> {
    let subscriber = SubscriberFacts {
        imsi: facts.imsi,
        msisdn: facts.msisdn,
        name: facts.name,
    };
    let decision = decide_fqdn(
        facts.desired_fqdn,
        &settings.zone,
        &subscriber,
        |n: &str| services.owner_of(n).map(str::to_owned),
    )
    .map_err(|e| match e {
        PolicyError::NoBasis(_) => (
            Cause::FqdnRefused,
            "no usable name: ask for one in the zone".to_owned(),
        ),
        other => (Cause::FqdnRefused, other.to_string()),
    })?;
    let (service, sa, mip, hip) = match settings.mode {
        BootstrapMode::MobileIp => {
            let (wire_algorithm, algorithm, key_len) = mip_algorithm(&settings.mip_algorithm)
                .ok_or_else(|| (Cause::Internal, "bad mip_algorithm setting".to_owned()))?;
            if fresh.key.len() != key_len {
                return Err((Cause::Internal, "SA key of the wrong length".to_owned()));
            }
            let sa =
                SecurityAssociation::new(fresh.spi, algorithm, &fresh.key, ReplayMode::default())
                    .map_err(|e| (Cause::Internal, format!("SA: {e}")))?;
            let mip = MipConfig {
                sa: MipSa {
                    spi: fresh.spi,
                    algorithm: wire_algorithm,
                    key: fresh.key,
                    lifetime: settings.mip_key_lifetime_secs,
                },
                registration_lifetime: settings.registration_lifetime,
            };
            let service = ServiceKind::MobileIp { spi: fresh.spi };
            (service, Some(sa), Some(mip), None)
        }
        BootstrapMode::Hip => {
            let hid = Hid::new(settings.hit_raa, settings.hit_hda)
                .map_err(|e| (Cause::Internal, format!("hit_raa/hit_hda: {e}")))?;
            let hit = Hit::for_ed25519(hid, &facts.public_key);
            let hip = HipConfig {
                forwarding_agent: ha.address,
                hit,
            };
            (ServiceKind::Hip { hit }, None, None, Some(hip))
        }
    };
    let home_address = pool
        .allocate(facts.imsi)
        .map_err(|e| (Cause::NoAddressFree, e.to_string()))?;
    let record = ServiceRecord {
        imsi: facts.imsi.to_owned(),
        fqdn: decision.fqdn.clone(),
        home_address,
        service,
        public_key: facts.public_key,
        issued_at: facts.now_unix,
    };
    let response = ConfigResponse {
        fqdn: decision.fqdn,
        fqdn_outcome: decision.outcome,
        home_address,
        ha_address: ha.address,
        ha_public_key: ha.public_key,
        mip,
        hip,
        name_server: ha.name_server,
        dns_zone: Some(settings.zone.clone()),
    };
    Ok(Plan {
        fqdn_outcome: decision.outcome,
        response,
        record,
        sa,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use telsec_bootstrap::PoolConfig;

    const ALICE: &str = "001010000000001";
    const BOB: &str = "001010000000002";

    fn pool() -> AddressPool {
        AddressPool::new(PoolConfig {
            network: Ipv4Addr::new(10, 77, 0, 0),
            prefix_len: 24,
            ha_address: Ipv4Addr::new(10, 77, 0, 2),
            excluded: vec![Ipv4Addr::new(10, 77, 0, 1)],
        })
        .expect("valid pool")
    }

    fn ha() -> HaIdentity {
        HaIdentity {
            address: Ipv4Addr::new(10, 77, 0, 2),
            public_key: [9; 32],
            name_server: None,
        }
    }

    fn fresh(spi: u32) -> FreshSa {
        FreshSa {
            spi,
            key: Zeroizing::new(vec![7; 32]),
        }
    }

    fn facts<'a>(imsi: &'a str, desired: Option<&'a str>, name: Option<&'a str>) -> Facts<'a> {
        Facts {
            imsi,
            msisdn: Some("4917000001"),
            name,
            desired_fqdn: desired,
            public_key: [1; 32],
            now_unix: 1_795_000_000,
        }
    }

    #[test]
    fn desired_name_granted_then_protected() {
        let settings = HaBootstrapSettings::default();
        let mut services = Services::default();
        let mut pool = pool();
        let p = plan(
            &settings,
            &ha(),
            &facts(ALICE, Some("alice.telsec.test"), None),
            &services,
            &mut pool,
            fresh(0x1000),
        )
        .expect("granted");
        assert_eq!(p.response.fqdn, "alice.telsec.test");
        assert_eq!(p.fqdn_outcome, FqdnOutcome::Granted);
        assert_eq!(p.sa.as_ref().map(|sa| sa.spi()), Some(0x1000));
        let alice_home = p.response.home_address;
        services.put(p.record);
        // Bob asks for Alice's name: he gets one of his own.
        let b = plan(
            &settings,
            &ha(),
            &facts(BOB, Some("alice.telsec.test"), Some("Bob Builder")),
            &services,
            &mut pool,
            fresh(0x1001),
        )
        .expect("another name");
        assert_eq!(b.fqdn_outcome, FqdnOutcome::HeldByAnother);
        assert_eq!(b.response.fqdn, "bob-builder.telsec.test");
        assert_ne!(b.response.home_address, alice_home);
        // Alice again: her name and address stay hers.
        let again = plan(
            &settings,
            &ha(),
            &facts(ALICE, Some("alice.telsec.test"), None),
            &services,
            &mut pool,
            fresh(0x1002),
        )
        .expect("granted again");
        assert_eq!(
            (again.response.fqdn.as_str(), again.response.home_address),
            ("alice.telsec.test", alice_home)
        );
    }

    #[test]
    fn hip_mode_hands_out_the_hit_of_the_nodes_key_and_no_sa() {
        let settings = HaBootstrapSettings {
            mode: BootstrapMode::Hip,
            hit_raa: 100,
            hit_hda: 7,
            ..HaBootstrapSettings::default()
        };
        let mut pool = pool();
        let f = facts(ALICE, Some("alice.telsec.test"), None);
        let p = plan(
            &settings,
            &ha(),
            &f,
            &Services::default(),
            &mut pool,
            fresh(0x1000),
        )
        .expect("HIP plan");
        assert!(p.sa.is_none() && p.response.mip.is_none());
        let hip = p.response.hip.expect("HIP config");
        assert_eq!(hip.forwarding_agent, ha().address);
        assert_eq!(
            hip.hit.check_ed25519(&f.public_key),
            Ok(Hid::new(100, 7).unwrap())
        );
        assert_eq!(p.record.service, ServiceKind::Hip { hit: hip.hit });
        let bad = HaBootstrapSettings {
            hit_raa: 0x4000,
            ..settings
        };
        let refused = plan(
            &bad,
            &ha(),
            &facts(BOB, None, Some("Bob")),
            &Services::default(),
            &mut pool,
            fresh(0x1001),
        );
        assert_eq!(refused.map(|_| ()).map_err(|e| e.0), Err(Cause::Internal));
    }

    #[test]
    fn outside_the_zone_is_not_granted_and_bad_settings_refuse() {
        let settings = HaBootstrapSettings::default();
        let services = Services::default();
        let mut pool = pool();
        let p = plan(
            &settings,
            &ha(),
            &facts(ALICE, Some("www.example.com"), Some("Zoë Smith")),
            &services,
            &mut pool,
            fresh(0x1000),
        )
        .expect("derived name");
        assert_eq!(p.fqdn_outcome, FqdnOutcome::OutsideZone);
        assert_eq!(p.response.fqdn, "zoe-smith.telsec.test");
        let short = FreshSa {
            spi: 0x1000,
            key: Zeroizing::new(vec![1; 16]),
        };
        let refused = plan(
            &settings,
            &ha(),
            &facts(BOB, None, None),
            &services,
            &mut pool,
            short,
        );
        assert_eq!(refused.map(|_| ()).map_err(|e| e.0), Err(Cause::Internal));
        assert!(pool.lookup(BOB).is_none(), "a refusal allocates nothing");
    }
}
