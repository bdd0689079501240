//! `telsec demo bootstrap`: seed 003 on loopback, unprivileged. A node
//! with nothing but its (soft) USIM and the home agent's address obtains
//! its FQDN, home address and Mobile IP key through EAP-AKA' relayed by the
//! home agent to the HLR, finds itself in DNS, and registers with the key
//! it was given. A second subscriber asking for the first one's name gets
//! a name of its own. Every service is the real driver: telsec's HLR (GSUP,
//! SQLite), the embedded DNS server (RFC 2136 + TSIG), the home agent with
//! its bootstrap service, the node's bootstrap client and mobile node.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use telsec_bootstrap::NodeConfig;
use telsec_dns::{Grant, Name, RecordType, ServerConfig, TsigKey, ZoneConfig};
use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::mn::{Config as MnConfig, Event, MobileNode};
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use tokio::sync::mpsc;

use crate::bootstrap::{HaBootstrapSettings, MnBootstrapSettings, SimSettings};
use crate::ha_service::{self, HaParams};
use crate::mn_service::{self, MnParams};
use crate::packet_link::LinkConfig;

/// Milenage keys of the demo subscribers (TS 35.208 test set 1's K/OPc).
const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
/// Alice, who asks for a name.
pub const ALICE: &str = "001010000000101";
/// Bob, who asks for Alice's name.
pub const BOB: &str = "001010000000102";
const ZONE: &str = "telsec.test.";
const NETWORK_NAME: &str = "telsec.test";

/// Where the demo runs.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// Loopback address every service binds to (port 0).
    pub address: Ipv4Addr,
    /// Working directory (HLR database, zone, keys, node state).
    pub dir: PathBuf,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Milliseconds since the start.
    pub at_ms: f64,
    /// What happened.
    pub what: String,
}

/// What the demo showed.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    /// The timeline.
    pub timeline: Vec<Step>,
    /// Alice's configuration: FQDN, home address, SPI.
    pub alice_fqdn: String,
    /// Alice's home address.
    pub alice_home_address: Ipv4Addr,
    /// The SPI of the SA she was given.
    pub alice_spi: u32,
    /// DNS answers for her name: A and IPSECKEY found.
    pub dns_a: Vec<String>,
    /// Whether the IPSECKEY record holds her node's public key.
    pub dns_key_matches: bool,
    /// The home agent accepted her registration with that key.
    pub registered: bool,
    /// What Bob got when asking for Alice's name.
    pub bob_fqdn: String,
    /// Bootstrap time of Alice (Start to configuration), ms.
    pub bootstrap_ms: f64,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A service did not start.
    #[error("start: {0}")]
    Start(String),
    /// A step failed.
    #[error("{0}")]
    Step(String),
}

fn start_err(e: impl std::fmt::Display) -> DemoError {
    DemoError::Start(e.to_string())
}

/// Runs the scenario; `on_step` sees each timeline line as it happens.
///
/// # Errors
/// A service does not start or a step fails.
pub async fn run(
    opts: &BootstrapOptions,
    mut on_step: impl FnMut(&Step),
) -> Result<BootstrapReport, DemoError> {
    let t0 = Instant::now();
    let mut timeline = Vec::new();
    let mut step = |what: String| {
        let s = Step {
            at_ms: t0.elapsed().as_secs_f64() * 1e3,
            what,
        };
        on_step(&s);
        timeline.push(s);
    };
    std::fs::create_dir_all(&opts.dir).map_err(start_err)?;
    let any = |port| SocketAddr::from((opts.address, port));

    // The HLR with two subscribers, in a database the home agent reads
    // names from (seed 003 step 8).
    let db = opts.dir.join("hlr.db");
    let hlr = start_hlr(&db, any(0)).await?;
    step(format!("HLR (GSUP) on {}", hlr.local_addr()));

    // The operator zone with the home agent's admin key.
    let secret = data_encoding::BASE64.encode(&rand::random::<[u8; 32]>());
    let admin = TsigKey::new("telsec-ha.", "hmac-sha256", &secret).map_err(start_err)?;
    let dns = telsec_dns::DnsServer::bind(ServerConfig {
        zone: ZoneConfig::new(ZONE, opts.address.into()).map_err(start_err)?,
        listen: any(0),
        storage: Some(opts.dir.join("dns")),
        keys: vec![(admin, Grant::Zone)],
    })
    .await
    .map_err(start_err)?;
    let dns_addr = dns.local_addr();
    let zone_view = dns.handle();
    let (dns_stop, dns_stopped) = tokio::sync::oneshot::channel::<()>();
    let dns_task = tokio::spawn(dns.run(async {
        let _ = dns_stopped.await;
    }));
    step(format!("DNS server for {ZONE} on {dns_addr}"));

    // The home agent and its bootstrap service.
    let home_net = HomeNetwork {
        prefix: Ipv4Addr::new(10, 77, 0, 0),
        len: 24,
    };
    let ha_core = HomeAgent::new(Policy::new(
        opts.address,
        home_net,
        &rand::random::<[u8; 32]>(),
    ));
    let ha = ha_service::start(
        ha_core,
        HaParams {
            listen: SocketAddrV4::new(opts.address, 0),
            state_dir: opts.dir.join("ha"),
            home_link: LinkConfig::None,
            ipip: false,
            compact_after_bytes: 1 << 20,
            vpn: crate::ha_vpn::HaVpnSettings::default(),
        },
    )
    .await
    .map_err(start_err)?;
    let settings = HaBootstrapSettings {
        listen: SocketAddrV4::new(opts.address, 0),
        network_name: NETWORK_NAME.into(),
        hlr: hlr.local_addr(),
        zone: ZONE.into(),
        dns_server: dns_addr,
        dns_key_name: "telsec-ha.".into(),
        dns_key_secret: secret,
        subscriber_database: Some(db.clone()),
        ..HaBootstrapSettings::default()
    };
    let bootstrap = crate::bootstrap::service::start(
        settings,
        &opts.dir.join("ha"),
        opts.address,
        ha.commands(),
    )
    .await
    .map_err(start_err)?;
    step(format!(
        "home agent on {}, bootstrap service on {}",
        ha.local_addr(),
        bootstrap.local_addr()
    ));

    // Alice: only her USIM and the home agent's address.
    let t_alice = Instant::now();
    let alice = enrol(
        opts,
        bootstrap.local_addr(),
        ALICE,
        Some("alice.telsec.test"),
    )
    .await?;
    let bootstrap_ms = t_alice.elapsed().as_secs_f64() * 1e3;
    let mip = alice
        .mip
        .as_ref()
        .ok_or_else(|| DemoError::Step("no Mobile IP SA in the configuration".into()))?;
    step(format!(
        "Alice bootstrapped in {bootstrap_ms:.1} ms: {} home {} SPI {:#x}",
        alice.fqdn, alice.home_address, mip.sa.spi
    ));

    // DNS has her name, address and key.
    let name = Name::from_ascii(&alice.fqdn).map_err(|e| DemoError::Step(e.to_string()))?;
    let dns_a: Vec<String> = zone_view
        .lookup(&name, RecordType::A)
        .iter()
        .map(|r| r.data.to_string())
        .collect();
    let key_file = crate::bootstrap::client::signing_key_path(
        &MnBootstrapSettings::default(),
        ALICE,
        &opts.dir.join("alice"),
    );
    let node_key = std::fs::read(&key_file).map_err(|e| DemoError::Step(e.to_string()))?;
    let public = node_key
        .as_slice()
        .try_into()
        .map(|seed: [u8; 32]| {
            telsec_bootstrap::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes()
        })
        .map_err(|_| DemoError::Step("node key file".into()))?;
    let dns_key_matches = zone_view
        .lookup(&name, telsec_dns::rdata::IPSECKEY)
        .iter()
        .any(|r| match &r.data {
            telsec_dns::proto::rr::RData::Unknown { rdata, .. } => {
                telsec_dns::rdata::IpsecKey::parse(&rdata.anything)
                    .ok()
                    .and_then(|k| k.ed25519_public_key())
                    == Some(public)
            }
            _ => false,
        });
    step(format!(
        "DNS: {} A {dns_a:?}, IPSECKEY present: {dns_key_matches}",
        alice.fqdn
    ));

    // She registers with the key she was given.
    let registered = register(opts, &ha, &alice).await?;
    step(format!(
        "Alice registered with the home agent: {registered}"
    ));

    // Bob asks for Alice's name.
    let bob = enrol(opts, bootstrap.local_addr(), BOB, Some("alice.telsec.test")).await?;
    step(format!("Bob asked for alice.telsec.test, got {}", bob.fqdn));

    bootstrap.shutdown().await;
    let _ = ha.shutdown().await;
    let _ = dns_stop.send(());
    let _ = dns_task.await;
    hlr.shutdown().await;
    Ok(BootstrapReport {
        timeline,
        alice_fqdn: alice.fqdn.clone(),
        alice_home_address: alice.home_address,
        alice_spi: mip.sa.spi,
        dns_a,
        dns_key_matches,
        registered,
        bob_fqdn: bob.fqdn,
        bootstrap_ms,
    })
}

async fn start_hlr(
    db: &std::path::Path,
    listen: SocketAddr,
) -> Result<crate::hlr_service::RunningHlr, DemoError> {
    use telsec_hlr::{
        Algorithm3g, Auc, AucConfig, Auth3g, HlrConfig, HlrCore, Imsi, Kek, Msisdn, NewSubscriber,
        OperatorKey, SecretBytes, Store,
    };
    let _ = std::fs::remove_file(db);
    let kek = Kek::generate().map_err(start_err)?;
    let mut store = Store::open(db, kek).map_err(start_err)?;
    let k = crate::ha_setup::hex_decode(K).ok_or_else(|| start_err("K"))?;
    let opc = crate::ha_setup::hex_decode(OPC).ok_or_else(|| start_err("OPc"))?;
    for (imsi, msisdn, name) in [
        (ALICE, "4917000101", "Alice Example"),
        (BOB, "4917000102", "Bob Example"),
    ] {
        let mut sub = NewSubscriber::new(Imsi::new(imsi).map_err(start_err)?);
        sub.msisdn = Some(Msisdn::new(msisdn).map_err(start_err)?);
        sub.name = name.into();
        sub.auth_3g = Some(Auth3g::new(
            Algorithm3g::milenage(
                SecretBytes::new(k.clone()),
                OperatorKey::Opc(SecretBytes::new(opc.clone())),
            )
            .map_err(start_err)?,
        ));
        store.add_subscriber(&sub).map_err(start_err)?;
    }
    let auc = Auc::new(store, AucConfig::default()).map_err(start_err)?;
    let core = HlrCore::new(
        auc,
        HlrConfig::default(),
        rand::make_rng::<rand::rngs::StdRng>(),
    );
    crate::hlr_service::start(listen, core)
        .await
        .map_err(start_err)
}

/// One node's bootstrap with its own state directory.
async fn enrol(
    opts: &BootstrapOptions,
    ha: SocketAddr,
    imsi: &str,
    desired: Option<&str>,
) -> Result<NodeConfig, DemoError> {
    let dir = opts.dir.join(if imsi == ALICE { "alice" } else { "bob" });
    std::fs::create_dir_all(&dir).map_err(start_err)?;
    let settings = MnBootstrapSettings {
        home_agent: ha,
        network_name: NETWORK_NAME.into(),
        desired_fqdn: desired.map(str::to_owned),
        ..MnBootstrapSettings::default()
    };
    let sim = SimSettings {
        imsi: imsi.into(),
        k: K.into(),
        opc: OPC.into(),
        ..SimSettings::default()
    };
    crate::bootstrap::client::bootstrap(&settings, &sim, &dir)
        .await
        .map_err(|e| DemoError::Step(format!("bootstrap of {imsi}: {e}")))
}

/// Registers Alice's node (co-located on loopback) with the SA from her
/// configuration; true when the home agent accepted.
async fn register(
    opts: &BootstrapOptions,
    ha: &ha_service::RunningHa,
    config: &NodeConfig,
) -> Result<bool, DemoError> {
    let mip = config
        .mip
        .as_ref()
        .ok_or_else(|| DemoError::Step("no SA".into()))?;
    let algorithm = match mip.sa.algorithm {
        telsec_bootstrap::MipAlgorithm::HmacMd5 => Algorithm::HmacMd5,
        telsec_bootstrap::MipAlgorithm::HmacSha256 => Algorithm::HmacSha256,
    };
    let sa = SecurityAssociation::new(mip.sa.spi, algorithm, &mip.sa.key, ReplayMode::default())
        .map_err(|e| DemoError::Step(e.to_string()))?;
    let mut mn_config = MnConfig::new(
        config.home_address,
        config.ha_address,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 77, 0, 0),
            len: 24,
        },
        rand::random(),
    );
    mn_config.sa = Some(sa);
    mn_config.lifetime = mip.registration_lifetime;
    let core = MobileNode::new(mn_config).map_err(|e| DemoError::Step(e.to_string()))?;
    let (tx, mut events) = mpsc::channel(64);
    let mn = mn_service::start(
        core,
        MnParams {
            agent_port: ha.local_addr().port(),
            home_link: LinkConfig::None,
            initial_address: Some(opts.address),
            interface: None,
            address_poll: Duration::from_secs(1),
            reverse_rule: None,
            esp: None,
        },
        tx,
    )
    .await
    .map_err(|e| DemoError::Step(e.to_string()))?;
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some((_, e)) = events.recv().await {
            match e {
                Event::Registered { .. } => return true,
                Event::Refused { .. } | Event::RegistrationTimedOut { .. } => return false,
                _ => {}
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    mn.shutdown().await;
    Ok(outcome)
}
