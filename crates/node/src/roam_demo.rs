//! The roaming scenario of `telsec demo roam` and of the loopback
//! end-to-end test, on loopback addresses and unprivileged: a home agent,
//! a mobile node with two successive co-located care-of addresses, and a
//! correspondent on the home link streaming UDP to the node's home
//! address. It reports a timeline, each handover's time (address change
//! to the first datagram delivered at the new address) and the datagrams
//! lost.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use telsec_mip::ha::{Config as Policy, HomeAgent, HomeNetwork};
use telsec_mip::mn::{Config as MnConfig, Event, MobileNode, UdpTunnelling};
use telsec_mip::tunnel;
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::ha_service::{self, HaParams};
use crate::mn_service::{self, MnCommand, MnParams};
use crate::packet_link::LinkConfig;

/// Where the scenario runs.
#[derive(Debug, Clone)]
pub struct RoamOptions {
    /// The home agent's loopback address.
    pub home_agent: Ipv4Addr,
    /// The correspondent's (home link) loopback address.
    pub correspondent: Ipv4Addr,
    /// The node's care-of addresses, visited in order.
    pub care_of: Vec<Ipv4Addr>,
    /// The node's home address.
    pub home_address: Ipv4Addr,
    /// Interval between the correspondent's datagrams.
    pub interval: Duration,
    /// How long the node stays at each care-of address.
    pub dwell: Duration,
    /// Directory for the home agent's bindings.
    pub state_dir: PathBuf,
    /// The MN-HA key the node starts with; `None` runs the key path of
    /// seed 000: an HLR, an SMS centre and the home agent's key service
    /// start too, and the node gets its key by secured SMS through its
    /// (virtual) modem before it registers.
    pub key: Option<Vec<u8>>,
    /// Loopback address of the HLR and SMS centre (SMS key path).
    pub network: Ipv4Addr,
}

impl RoamOptions {
    /// Defaults on 127.0.0.50-53 with a 2 ms stream.
    pub fn loopback(state_dir: PathBuf) -> RoamOptions {
        RoamOptions {
            home_agent: Ipv4Addr::new(127, 0, 0, 50),
            correspondent: Ipv4Addr::new(127, 0, 0, 51),
            care_of: vec![Ipv4Addr::new(127, 0, 0, 52), Ipv4Addr::new(127, 0, 0, 53)],
            home_address: Ipv4Addr::new(10, 77, 0, 5),
            interval: Duration::from_millis(2),
            dwell: Duration::from_millis(1500),
            state_dir,
            key: Some(b"demo key: 32 octets for SHA-256".to_vec()),
            network: Ipv4Addr::new(127, 0, 0, 54),
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Milliseconds since the scenario started.
    pub at_ms: f64,
    /// What happened.
    pub what: String,
}

/// One move.
#[derive(Debug, Clone, Serialize)]
pub struct Handover {
    /// Care-of address left (None: first registration).
    pub from: Option<Ipv4Addr>,
    /// Care-of address reached.
    pub to: Ipv4Addr,
    /// Address change to the registration reply, ms.
    pub registration_ms: f64,
    /// Address change to the first datagram delivered at the new
    /// address, ms.
    pub first_packet_ms: f64,
}

/// What the scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct RoamReport {
    /// The timeline.
    pub timeline: Vec<TimelineEntry>,
    /// Each care-of address reached.
    pub handovers: Vec<Handover>,
    /// Datagrams the correspondent sent.
    pub sent: u64,
    /// Datagrams the node received.
    pub received: u64,
    /// Datagrams the node answered that reached the correspondent through
    /// the reverse tunnel.
    pub answers_received: u64,
    /// A registration forged by an attacker (care-of address of its own,
    /// authenticator under a wrong key) was refused with code 131 and the
    /// binding did not move.
    pub forged_refused: bool,
}

/// Errors of the scenario.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoamError {
    /// A service did not start.
    #[error("{0}")]
    Start(String),
    /// A socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The node did not register in time.
    #[error("no registration at {0} within 10 s")]
    NotRegistered(Ipv4Addr),
}

const MN_SPI: u32 = 4096;

/// The subscriber of the SMS key path: TS 35.208 test set 1's K and OPc.
const IMSI: &str = "001010000000077";
const MSISDN: &str = "4917000077";
const SERVICE_NUMBER: &str = "4917099999";
const K: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];
const FQDN: &str = "ha.home.telsec.test";

/// The HLR, SMS centre and key service of the SMS key path.
struct KeyPath {
    hlr: crate::hlr_service::RunningHlr,
    smsc: crate::smsc_service::RunningSmsc,
    keys: Option<crate::key_service::RunningKeyService>,
    receiver: Option<crate::key_receiver::RunningReceiver>,
    events: mpsc::Receiver<crate::key_receiver::KeyEvent>,
    notify: mpsc::Sender<crate::key_receiver::KeyEvent>,
}

async fn start_network(opts: &RoamOptions) -> Result<KeyPath, RoamError> {
    use telsec_hlr::{
        Algorithm3g, Auc, AucConfig, Auth3g, HlrConfig, HlrCore, Imsi, Kek, Msisdn, NewSubscriber,
        OperatorKey, SecretBytes, Store,
    };
    let err = |e: &dyn std::fmt::Display| RoamError::Start(e.to_string());
    let kek = Kek::generate().map_err(|e| err(&e))?;
    let mut store = Store::open_in_memory(kek).map_err(|e| err(&e))?;
    let mut sub = NewSubscriber::new(Imsi::new(IMSI).map_err(|e| err(&e))?);
    sub.msisdn = Some(Msisdn::new(MSISDN).map_err(|e| err(&e))?);
    sub.auth_3g = Some(Auth3g::new(
        Algorithm3g::milenage(
            SecretBytes::new(K.to_vec()),
            OperatorKey::Opc(SecretBytes::new(OPC.to_vec())),
        )
        .map_err(|e| err(&e))?,
    ));
    store.add_subscriber(&sub).map_err(|e| err(&e))?;
    let auc = Auc::new(store, AucConfig::default()).map_err(|e| err(&e))?;
    let core = HlrCore::new(
        auc,
        HlrConfig::default(),
        rand::make_rng::<rand::rngs::StdRng>(),
    );
    let hlr = crate::hlr_service::start(SocketAddr::from((opts.network, 0)), core).await?;
    let settings = crate::smsc_service::SmscSettings {
        listen: SocketAddr::from((opts.network, 0)),
        accounts: vec![crate::smsc_service::AccountSettings {
            system_id: "telsec-ha".into(),
            password: "keys".into(),
        }],
        modems: vec![crate::smsc_service::ModemSettings {
            msisdn: MSISDN.into(),
            tcp: Some(SocketAddr::from((opts.network, 0))),
            pty: None,
        }],
        routes: vec![crate::smsc_service::RouteSettings {
            prefix: SERVICE_NUMBER.into(),
            system_id: "telsec-ha".into(),
        }],
        ..crate::smsc_service::SmscSettings::default()
    };
    let smsc = crate::smsc_service::start(settings)
        .await
        .map_err(|e| err(&e))?;
    let (notify, events) = mpsc::channel(16);
    Ok(KeyPath {
        hlr,
        smsc,
        keys: None,
        receiver: None,
        events,
        notify,
    })
}

/// Runs the scenario. `on_start` gets the node's command sender before
/// the first move (the SMS key path installs the key through it).
pub async fn run(
    opts: RoamOptions,
    on_start: impl FnOnce(mpsc::Sender<MnCommand>),
) -> Result<RoamReport, RoamError> {
    let t0 = Instant::now();
    let ms = |t: Instant| t.duration_since(t0).as_secs_f64() * 1000.0;
    let mut timeline = Vec::new();
    let net = HomeNetwork {
        prefix: Ipv4Addr::new(
            opts.home_address.octets()[0],
            opts.home_address.octets()[1],
            opts.home_address.octets()[2],
            0,
        ),
        len: 24,
    };
    let key = opts.key.clone().unwrap_or_default();
    let sa = |k: &[u8]| {
        SecurityAssociation::new(MN_SPI, Algorithm::HmacSha256, k, ReplayMode::default())
    };
    let mut policy = Policy::new(opts.home_agent, net, &rand::random::<[u8; 32]>());
    policy.udp_tunnelling = true;
    let mut ha_core = HomeAgent::new(policy);
    if !key.is_empty() {
        ha_core.add_sa_for_home(
            opts.home_address,
            sa(&key).map_err(|e| RoamError::Start(e.to_string()))?,
        );
    }
    let correspondent = UdpSocket::bind((opts.correspondent, 0)).await?;
    let ha = ha_service::start(
        ha_core,
        HaParams {
            listen: SocketAddrV4::new(opts.home_agent, 0),
            state_dir: opts.state_dir.clone(),
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((opts.home_agent, 0)),
                peer: correspondent.local_addr()?,
            },
            ipip: false,
            compact_after_bytes: 1 << 20,
            vpn: crate::ha_vpn::HaVpnSettings::default(),
        },
    )
    .await
    .map_err(|e| RoamError::Start(e.to_string()))?;
    let ha_link = ha
        .link_addr()
        .ok_or_else(|| RoamError::Start("home link has no address".into()))?;
    let mut network = if key.is_empty() {
        let mut n = start_network(&opts).await?;
        let params = crate::key_service::KeyServiceParams {
            hlr: n.hlr.local_addr(),
            smsc: n.smsc.local_addr(),
            system_id: "telsec-ha".into(),
            password: "keys".into(),
            service_number: SERVICE_NUMBER.into(),
            fqdn: FQDN.into(),
            home_agent: opts.home_agent,
            state_file: opts.state_dir.join("key-issuer.state"),
            subscribers: vec![telsec_keydist::issuer::Subscriber {
                imsi: IMSI.into(),
                mnc_len: 2,
                msisdn: MSISDN.into(),
                home_address: opts.home_address,
            }],
            push_at_start: false,
        };
        let config = telsec_keydist::issuer::IssuerConfig::new(FQDN, opts.home_agent);
        n.keys = Some(
            crate::key_service::start(params, config, ha.commands())
                .await
                .map_err(|e| RoamError::Start(e.to_string()))?,
        );
        timeline.push(TimelineEntry {
            at_ms: ms(Instant::now()),
            what: format!(
                "HLR on {}, SMS centre on {}, key service bound",
                n.hlr.local_addr(),
                n.smsc.local_addr()
            ),
        });
        Some(n)
    } else {
        None
    };
    timeline.push(TimelineEntry {
        at_ms: ms(Instant::now()),
        what: format!("home agent up on {}", ha.local_addr()),
    });

    let app = UdpSocket::bind((opts.correspondent, 0)).await?;
    let mut mn_config = MnConfig::new(opts.home_address, opts.home_agent, net, rand::random());
    if !key.is_empty() {
        mn_config.sa = Some(sa(&key).map_err(|e| RoamError::Start(e.to_string()))?);
    }
    mn_config.udp_tunnelling = UdpTunnelling::Forced;
    mn_config.reverse_tunnelling = true;
    mn_config.lifetime = 600;
    let core = MobileNode::new(mn_config).map_err(|e| RoamError::Start(e.to_string()))?;
    let (ev_tx, mut events) = mpsc::channel(256);
    let mn = mn_service::start(
        core,
        MnParams {
            agent_port: ha.local_addr().port(),
            home_link: LinkConfig::Udp {
                bind: SocketAddr::from((opts.correspondent, 0)),
                peer: app.local_addr()?,
            },
            initial_address: None,
            interface: None,
            address_poll: Duration::from_secs(1),
            reverse_rule: None,
            esp: None,
        },
        ev_tx,
    )
    .await
    .map_err(|e| RoamError::Start(e.to_string()))?;
    let mn_link = mn
        .link_addr()
        .ok_or_else(|| RoamError::Start("node link has no address".into()))?;
    on_start(mn.commands());
    if let Some(n) = network.as_mut() {
        use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimConfig};
        let modem = n
            .smsc
            .modem_addr(MSISDN)
            .ok_or_else(|| RoamError::Start("virtual modem has no address".into()))?;
        let card = SoftUsim::new(UsimConfig::new(
            IMSI,
            CardAlgorithm::Aka(Box::new(telsec_auth::milenage::Milenage::with_opc(
                &K, &OPC,
            ))),
        ))
        .map_err(|e| RoamError::Start(e.to_string()))?;
        let receiver = telsec_keydist::receiver::Receiver::new(
            telsec_keydist::receiver::ReceiverConfig::new(IMSI, 2, FQDN),
        )
        .map_err(|e| RoamError::Start(e.to_string()))?;
        let params = crate::key_receiver::KeyReceiverParams {
            modem: crate::key_receiver::ModemLink::Tcp(modem),
            service_number: format!("+{SERVICE_NUMBER}"),
            request_at_start: true,
            state_file: opts.state_dir.join("key-receiver.state"),
            notify: Some(n.notify.clone()),
        };
        n.receiver = Some(
            crate::key_receiver::start(params, card, receiver, mn.commands())
                .await
                .map_err(|e| RoamError::Start(e.to_string()))?,
        );
    }

    let corr = SocketAddrV4::new(opts.correspondent, 7000);
    let home_port = SocketAddrV4::new(opts.home_address, 9000);
    let mut sent = 0u64;
    let mut received = 0u64;
    let mut answers = 0u64;
    let mut handovers = Vec::new();
    let mut previous = None;
    let mut tick = tokio::time::interval(opts.interval);
    let mut buf = vec![0u8; 2048];
    let mut cbuf = vec![0u8; 2048];
    for &coa in &opts.care_of {
        let moved_at = Instant::now();
        mn.commands()
            .send(MnCommand::AddressChanged(Some(coa)))
            .await
            .map_err(|_| RoamError::Start("node stopped".into()))?;
        timeline.push(TimelineEntry {
            at_ms: ms(moved_at),
            what: format!("node's address is now {coa}"),
        });
        let mut registered_at = None;
        let mut first_at = None;
        let deadline = moved_at + Duration::from_secs(10);
        let dwell_end = moved_at + opts.dwell;
        loop {
            let now = Instant::now();
            if registered_at.is_none() && now > deadline {
                return Err(RoamError::NotRegistered(coa));
            }
            if first_at.is_some() && now > dwell_end {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {
                    let payload = sent.to_be_bytes();
                    if let Some(pkt) = tunnel::udp_packet(corr, home_port, &payload) {
                        correspondent.send_to(&pkt, ha_link).await?;
                        sent += 1;
                    }
                }
                Some(k) = next_key_event(network.as_mut()) => {
                    timeline.push(TimelineEntry { at_ms: ms(Instant::now()), what: format!("key by SMS: {k:?}") });
                }
                Some((_, e)) = events.recv() => {
                    let at = Instant::now();
                    if let Event::Registered { coa: c, .. } = &e
                        && *c == coa && registered_at.is_none() {
                        registered_at = Some(at);
                    }
                    timeline.push(TimelineEntry { at_ms: ms(at), what: format!("node: {e:?}") });
                }
                r = app.recv_from(&mut buf) => {
                    let (n, _) = r?;
                    let Ok(p) = tunnel::Ipv4Packet::new_checked(&buf[..n]) else { continue };
                    if let Some((_, _, payload)) = tunnel::udp_payload(&p) {
                        received += 1;
                        if registered_at.is_some() && first_at.is_none() {
                            let at = Instant::now();
                            first_at = Some(at);
                            timeline.push(TimelineEntry { at_ms: ms(at), what: format!("first datagram delivered via {coa}") });
                        }
                        // Answer through the reverse tunnel.
                        if let Some(ans) = tunnel::udp_packet(home_port, corr, payload) {
                            app.send_to(&ans, mn_link).await?;
                        }
                    }
                }
                r = correspondent.recv_from(&mut cbuf) => {
                    let (n, _) = r?;
                    if tunnel::Ipv4Packet::new_checked(&cbuf[..n]).is_ok_and(|p| p.src() == opts.home_address) {
                        answers += 1;
                    }
                }
            }
        }
        let (Some(reg), Some(first)) = (registered_at, first_at) else {
            return Err(RoamError::NotRegistered(coa));
        };
        handovers.push(Handover {
            from: previous,
            to: coa,
            registration_ms: reg.duration_since(moved_at).as_secs_f64() * 1000.0,
            first_packet_ms: first.duration_since(moved_at).as_secs_f64() * 1000.0,
        });
        previous = Some(coa);
    }
    let forged_refused = forged_registration_refused(&opts, &ha, previous).await?;
    timeline.push(TimelineEntry {
        at_ms: ms(Instant::now()),
        what: format!(
            "forged registration for {} from an attacker: {}",
            opts.home_address,
            if forged_refused {
                "refused (131), binding unchanged"
            } else {
                "NOT refused"
            }
        ),
    });
    // Let the last datagrams in flight arrive.
    let drain_end = Instant::now() + Duration::from_millis(200);
    while let Ok(Ok((n, _))) =
        tokio::time::timeout_at(drain_end.into(), app.recv_from(&mut buf)).await
    {
        if tunnel::Ipv4Packet::new_checked(&buf[..n]).is_ok() {
            received += 1;
        }
    }
    mn.shutdown().await;
    if let Some(n) = network {
        if let Some(r) = n.receiver {
            let _ = r.shutdown().await;
        }
        if let Some(k) = n.keys {
            k.shutdown().await;
        }
        n.smsc.shutdown().await;
        n.hlr.shutdown().await;
    }
    ha.shutdown()
        .await
        .map_err(|e| RoamError::Start(e.to_string()))?;
    Ok(RoamReport {
        timeline,
        handovers,
        sent,
        received,
        answers_received: answers,
        forged_refused,
    })
}

async fn next_key_event(network: Option<&mut KeyPath>) -> Option<crate::key_receiver::KeyEvent> {
    match network {
        Some(n) => n.events.recv().await,
        None => std::future::pending().await,
    }
}

/// An attacker claims the node's home address from a care-of address of
/// its own, with an authenticator under a key it guessed.
async fn forged_registration_refused(
    opts: &RoamOptions,
    ha: &crate::ha_service::RunningHa,
    bound_coa: Option<Ipv4Addr>,
) -> Result<bool, RoamError> {
    use telsec_mip::ext::ExtensionType;
    use telsec_mip::{NtpTimestamp, Reply, ReplyCode, Request, RequestFlags, append_signature};
    let attacker = UdpSocket::bind((opts.correspondent, 0)).await?;
    let now = crate::ha_service::now_ms();
    let mut rrq = Request {
        flags: RequestFlags::default(),
        lifetime: 600,
        home_address: opts.home_address,
        home_agent: opts.home_agent,
        care_of_address: opts.correspondent,
        identification: NtpTimestamp::from_unix(now / 1000, 0).0 + 0x1000,
        extensions: Vec::new(),
    }
    .to_vec()
    .map_err(|e| RoamError::Start(e.to_string()))?;
    let guess = SecurityAssociation::new(
        MN_SPI,
        Algorithm::HmacSha256,
        b"a guessed key, 32 octets long...",
        ReplayMode::default(),
    )
    .map_err(|e| RoamError::Start(e.to_string()))?;
    append_signature(&mut rrq, ExtensionType::MnHaAuth, &guess)
        .map_err(|e| RoamError::Start(e.to_string()))?;
    attacker.send_to(&rrq, ha.local_addr()).await?;
    let mut buf = [0u8; 1024];
    let refused = match tokio::time::timeout(Duration::from_secs(2), attacker.recv(&mut buf)).await
    {
        Ok(Ok(n)) => Reply::from_bytes(&buf[..n])
            .is_ok_and(|r| r.code == ReplyCode::HaMobileNodeFailedAuthentication),
        _ => false,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    ha.commands()
        .send(crate::ha_service::HaCommand::Bindings(tx))
        .await
        .map_err(|_| RoamError::Start("home agent stopped".into()))?;
    let bindings = rx
        .await
        .map_err(|_| RoamError::Start("home agent stopped".into()))?;
    let unchanged = bindings
        .iter()
        .filter(|b| b.home_address == opts.home_address)
        .all(|b| Some(b.care_of_address) == bound_coa);
    Ok(refused && unchanged)
}
