//! The bootstrap service's driver inside the home agent: the UDP socket of
//! the bootstrap protocol around the sans-IO [`Authority`], and a worker
//! that does the [`Work`] with real peers, one item at a time: vectors and
//! resynchronisations from the HLR over GSUP, the subscriber's MSISDN
//! (UpdateLocation's Insert Subscriber Data) and name (the telsec HLR
//! database, when configured), the decision ([`super::decide`]), the DNS
//! update (RFC 2136 + TSIG, [`telsec_dns`]), the service record and pool
//! (persisted before the answer), and the MN-HA SA installed in the home
//! agent before the node can register with it. In HIP mode (the service
//! runs in a forwarding agent) the node gets its HIT instead of an SA, and
//! DNS also gets the node's HIP RR naming this agent as rendezvous server,
//! whose own A record is published before the first node's.
//!
//! A failed step refuses the session with the protocol's cause; nothing
//! is published or installed for a node that did not authenticate.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use telsec_bootstrap::{AddressPool, Cause, ConfigResponse, PoolConfig, SessionId, SigningKey};
use telsec_dns::{HipIdentity, Name, TsigKey};
use telsec_dns::{NodeRecords, publish_address, publish_node, withdraw_node};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

use super::authority::{Authority, AuthorityConfig, Note, Output, Work};
use super::decide::{Facts, FreshSa, HaIdentity, mip_algorithm, plan};
use super::services::Services;
use super::settings::{BootstrapMode, HaBootstrapSettings};
use crate::gsup_client::HlrLink;
use crate::ha_service::{HaCommand, now_ms};

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// A setting is unusable.
    #[error("[ha.bootstrap] {0}")]
    Setting(String),
    /// A state file is unreadable or corrupt.
    #[error("{path}: {what}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The socket cannot be opened.
    #[error("bootstrap socket: {0}")]
    Socket(#[from] io::Error),
}

/// A started bootstrap service.
#[derive(Debug)]
pub struct RunningBootstrap {
    local_addr: SocketAddr,
    public_key: [u8; 32],
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningBootstrap {
    /// The socket's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The HA's Ed25519 public key (nodes may pin it).
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Stops the service.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Loads the HA's Ed25519 key, creating it (0600) on first start.
///
/// # Errors
/// The file is unreadable, not 32 octets, or cannot be written.
pub fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, ServiceError> {
    let state = |what: String| ServiceError::State {
        path: path.to_owned(),
        what,
    };
    match crate::atomic_file::read_if_exists(path).map_err(|e| state(e.to_string()))? {
        Some(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let seed: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| state("not a 32-octet Ed25519 key".into()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        None => {
            // rand's thread generator: a CSPRNG seeded from the OS.
            let seed = Zeroizing::new(rand::random::<[u8; 32]>());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| state(e.to_string()))?;
            }
            crate::atomic_file::replace(path, seed.as_ref()).map_err(|e| state(e.to_string()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
    }
}

/// Everything the worker needs besides its inbox.
struct Worker {
    settings: HaBootstrapSettings,
    ha: HaIdentity,
    hlr: HlrLink,
    dns_key: TsigKey,
    zone: Name,
    /// HIP mode: the forwarding agent's name, and whether its A record is
    /// published yet.
    forwarding_agent: Option<(Name, bool)>,
    services: Services,
    services_file: PathBuf,
    pool: AddressPool,
    pool_file: PathBuf,
    subscriber_database: Option<PathBuf>,
    /// The read-only connection to it, opened on first use and kept.
    subscribers: Option<rusqlite::Connection>,
    ha_commands: mpsc::Sender<HaCommand>,
}

enum Done {
    Vector(SessionId, Result<telsec_auth::aka::AuthVector, String>),
    Decision(SessionId, Result<ConfigResponse, (Cause, String)>),
}

/// Starts the service: `data_dir` holds its key and state, `ha_address`
/// is the address nodes register with, `ha_commands` installs SAs.
///
/// # Errors
/// Settings, state files or the socket.
pub async fn start(
    settings: HaBootstrapSettings,
    data_dir: &Path,
    ha_address: Ipv4Addr,
    ha_commands: mpsc::Sender<HaCommand>,
) -> Result<RunningBootstrap, ServiceError> {
    let setting = |s: String| ServiceError::Setting(s);
    if mip_algorithm(&settings.mip_algorithm).is_none() {
        return Err(setting(format!(
            "mip_algorithm {:?}: hmac-sha256 or hmac-md5",
            settings.mip_algorithm
        )));
    }
    let dns_key = TsigKey::new(
        &settings.dns_key_name,
        "hmac-sha256",
        &settings.dns_key_secret,
    )
    .map_err(|e| setting(format!("dns key: {e}")))?;
    let zone = Name::from_ascii(&settings.zone).map_err(|e| setting(format!("zone: {e}")))?;
    let forwarding_agent = match settings.mode {
        BootstrapMode::MobileIp => None,
        BootstrapMode::Hip => {
            telsec_bootstrap::Hid::new(settings.hit_raa, settings.hit_hda)
                .map_err(|e| setting(format!("hit_raa/hit_hda: {e}")))?;
            let name = Name::from_ascii(&settings.forwarding_agent_name)
                .map_err(|e| setting(format!("forwarding_agent_name: {e}")))?;
            if !zone.zone_of(&name) {
                return Err(setting(format!(
                    "forwarding_agent_name {} is outside zone {}",
                    settings.forwarding_agent_name, settings.zone
                )));
            }
            Some((name, false))
        }
    };
    let pool_config = pool_config(&settings, ha_address)?;
    let signing_key = load_or_create_signing_key(&data_dir.join(&settings.signing_key_file))?;
    let state_dir = data_dir.join(&settings.state_dir);
    std::fs::create_dir_all(&state_dir).map_err(|e| ServiceError::State {
        path: state_dir.clone(),
        what: e.to_string(),
    })?;
    let pool_file = state_dir.join("pool.txt");
    let services_file = state_dir.join("services.txt");
    let pool = match read_text(&pool_file)? {
        Some(t) => AddressPool::restore(pool_config, &t).map_err(|e| ServiceError::State {
            path: pool_file.clone(),
            what: e.to_string(),
        })?,
        None => AddressPool::new(pool_config).map_err(|e| setting(format!("pool: {e}")))?,
    };
    let services = match read_text(&services_file)? {
        Some(t) => Services::parse(&t).map_err(|e| ServiceError::State {
            path: services_file.clone(),
            what: e.to_string(),
        })?,
        None => Services::default(),
    };
    let socket = UdpSocket::bind(SocketAddr::V4(settings.listen)).await?;
    let local_addr = socket.local_addr()?;
    let public_key = signing_key.verifying_key().to_bytes();
    let name_server = match settings.dns_server.ip() {
        IpAddr::V4(a) if !a.is_loopback() && !a.is_unspecified() => Some(a),
        _ => None,
    };
    let mut authority_config = AuthorityConfig::new(&settings.network_name);
    authority_config.max_sessions = settings.max_sessions;
    for k in &settings.suci_keys {
        let profile = match k.profile.as_str() {
            "a" | "A" => telsec_auth::suci::Profile::A,
            "b" | "B" => telsec_auth::suci::Profile::B,
            other => return Err(setting(format!("suci_keys: profile {other:?}: a or b"))),
        };
        authority_config
            .eap
            .identities
            .suci_keys
            .insert_hex(k.id, profile, &k.private_key)
            .map_err(|e| setting(format!("suci_keys id {}: {e}", k.id)))?;
    }
    let worker = Worker {
        hlr: HlrLink::new(settings.hlr, "telsec-ha-bootstrap"),
        ha: HaIdentity {
            address: ha_address,
            public_key,
            name_server,
        },
        dns_key,
        zone,
        forwarding_agent,
        services,
        services_file,
        pool,
        pool_file,
        subscriber_database: settings
            .subscriber_database
            .as_ref()
            .map(|p| data_dir.join(p)),
        subscribers: None,
        ha_commands,
        settings,
    };
    let (work_tx, work_rx) = mpsc::channel(256);
    let (done_tx, done_rx) = mpsc::channel(256);
    tokio::spawn(worker.run(work_rx, done_tx));
    let (stop, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(
        socket,
        Authority::new(authority_config),
        signing_key,
        work_tx,
        done_rx,
        stop_rx,
    ));
    info!(listen = %local_addr, "bootstrap service up");
    Ok(RunningBootstrap {
        local_addr,
        public_key,
        stop,
        task,
    })
}

fn pool_config(
    settings: &HaBootstrapSettings,
    ha_address: Ipv4Addr,
) -> Result<PoolConfig, ServiceError> {
    let bad = || ServiceError::Setting(format!("pool {:?}: a.b.c.d/len", settings.pool));
    let (net, len) = settings.pool.split_once('/').ok_or_else(bad)?;
    Ok(PoolConfig {
        network: net.parse().map_err(|_| bad())?,
        prefix_len: len.parse().map_err(|_| bad())?,
        ha_address,
        excluded: settings.pool_excluded.clone(),
    })
}

fn read_text(path: &Path) -> Result<Option<String>, ServiceError> {
    let bytes = crate::atomic_file::read_if_exists(path).map_err(|e| ServiceError::State {
        path: path.to_owned(),
        what: e.to_string(),
    })?;
    bytes
        .map(|b| {
            String::from_utf8(b).map_err(|_| ServiceError::State {
                path: path.to_owned(),
                what: "not UTF-8".into(),
            })
        })
        .transpose()
}

/// The socket loop: datagrams through the authority, work to the worker,
/// its results back through the authority to the session's node.
async fn run(
    socket: UdpSocket,
    mut authority: Authority,
    signing_key: SigningKey,
    work: mpsc::Sender<Work>,
    mut done: mpsc::Receiver<Done>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut peers: HashMap<SessionId, SocketAddr> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let (out, to) = tokio::select! {
            _ = &mut stop => break,
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    let random: [u8; 9] = rand::random();
                    (authority.handle(now_ms(), &buf[..n], random), Some(from))
                }
                Err(e) => {
                    warn!(error = %e, "bootstrap socket");
                    continue;
                }
            },
            Some(d) = done.recv() => match d {
                Done::Vector(session, v) => {
                    (authority.on_vector(now_ms(), session, v), peers.get(&session).copied())
                }
                Done::Decision(session, d) => (
                    authority.on_decision(now_ms(), session, d, &signing_key),
                    peers.get(&session).copied(),
                ),
            },
        };
        let Output {
            reply,
            work: item,
            note,
        } = out;
        log(&note);
        match &note {
            Note::Started(id) | Note::Progress(id) | Note::Repeat(id) => {
                if let Some(from) = to {
                    peers.insert(*id, from);
                }
            }
            Note::Authenticated { session, .. } => {
                if let Some(from) = to {
                    peers.insert(*session, from);
                }
            }
            _ => {}
        }
        if let (Some(reply), Some(to)) = (reply, to)
            && let Err(e) = socket.send_to(&reply, to).await
        {
            debug!(error = %e, to = %to, "bootstrap answer not sent");
        }
        if let Some(item) = item
            && work.try_send(item).is_err()
        {
            warn!("bootstrap worker overloaded: work dropped (the node retransmits)");
        }
        if authority.len() < peers.len() {
            peers.retain(|id, _| authority.contains(*id));
        }
    }
    info!("bootstrap service stopped");
}

fn log(note: &Note) {
    match note {
        Note::Authenticated { session, imsi } => {
            info!(target: "telsec::bootstrap", %session, imsi, "EAP-AKA' succeeded")
        }
        Note::AuthenticationFailed { session, reason } => {
            warn!(target: "telsec::bootstrap", %session, reason, "EAP-AKA' failed")
        }
        Note::Configured(session) => {
            info!(target: "telsec::bootstrap", %session, "configuration sent")
        }
        Note::Refused { session, cause } => {
            warn!(target: "telsec::bootstrap", %session, %cause, "refused")
        }
        Note::Busy => warn!(target: "telsec::bootstrap", "Start refused: too many sessions"),
        Note::Dropped(why) => debug!(target: "telsec::bootstrap", why, "datagram dropped"),
        Note::Started(_) | Note::Progress(_) | Note::Repeat(_) => {}
    }
}

impl Worker {
    async fn run(mut self, mut work: mpsc::Receiver<Work>, done: mpsc::Sender<Done>) {
        while let Some(item) = work.recv().await {
            let result = match item {
                Work::Vector { session, imsi } => {
                    Done::Vector(session, self.hlr.vector_for(&imsi, None, true).await)
                }
                Work::Resync {
                    session,
                    imsi,
                    rand,
                    auts,
                } => {
                    info!(target: "telsec::bootstrap", imsi, "resynchronising the HLR from AUTS");
                    Done::Vector(
                        session,
                        self.hlr.vector_for(&imsi, Some((rand, auts)), true).await,
                    )
                }
                Work::Decide {
                    session,
                    imsi,
                    request,
                } => {
                    let key = request.public_key().to_bytes();
                    let desired = request.desired_fqdn().map(str::to_owned);
                    Done::Decision(session, self.decide(&imsi, key, desired.as_deref()).await)
                }
            };
            if let Done::Vector(_, Err(e)) = &result {
                warn!(target: "telsec::bootstrap", error = %e, "no vector from the HLR");
            }
            if done.send(result).await.is_err() {
                break;
            }
        }
    }

    /// Seed 003 steps 8-9 for one authenticated subscriber.
    async fn decide(
        &mut self,
        imsi: &str,
        public_key: [u8; 32],
        desired: Option<&str>,
    ) -> Result<ConfigResponse, (Cause, String)> {
        let internal = |what: String| {
            warn!(target: "telsec::bootstrap", imsi, what, "bootstrap failed");
            (Cause::Internal, what)
        };
        let msisdn = self
            .hlr
            .msisdn(imsi)
            .await
            .map_err(|e| internal(format!("HLR: {e}")))?;
        let name = self.subscriber_name(imsi);
        let (_, _, key_len) = mip_algorithm(&self.settings.mip_algorithm)
            .ok_or_else(|| internal("algorithm".into()))?;
        let material = Zeroizing::new(rand::random::<[u8; 32]>());
        let key = Zeroizing::new(material[..key_len].to_vec());
        // SPIs 0-255 are reserved (RFC 5944 §1.6).
        let spi = rand::random::<u32>() | 0x100;
        let facts = Facts {
            imsi,
            msisdn: msisdn.as_deref(),
            name: name.as_deref(),
            desired_fqdn: desired,
            public_key,
            now_unix: now_ms() / 1000,
        };
        let mut pool = self.pool.clone();
        let plan = plan(
            &self.settings,
            &self.ha,
            &facts,
            &self.services,
            &mut pool,
            FreshSa { spi, key },
        )?;
        // DNS first: a name that cannot be published is not handed out.
        let mut records = NodeRecords::new(
            &plan.record.fqdn,
            plan.record.home_address,
            plan.record.public_key,
        )
        .map_err(|e| internal(format!("records: {e}")))?;
        if let (Some(hip), Some((fa, _))) = (&plan.response.hip, &self.forwarding_agent) {
            records.hip = Some(HipIdentity {
                hit: hip.hit.to_bytes(),
                rendezvous_servers: vec![fa.clone()],
            });
            self.publish_forwarding_agent().await.map_err(internal)?;
        }
        self.publish(&records).await.map_err(internal)?;
        let mut services = self.services.clone();
        if let Some(old) = services.put(plan.record.clone())
            && !old.fqdn.eq_ignore_ascii_case(&plan.record.fqdn)
            && let Ok(old_name) = Name::from_ascii(&old.fqdn)
            && let Err(e) = self.withdraw(&old_name).await
        {
            warn!(target: "telsec::bootstrap", imsi, error = %e, "old name not withdrawn");
        }
        crate::atomic_file::replace(&self.pool_file, pool.serialize().as_bytes())
            .map_err(|e| internal(format!("pool file: {e}")))?;
        crate::atomic_file::replace(&self.services_file, services.serialize().as_bytes())
            .map_err(|e| internal(format!("services file: {e}")))?;
        self.pool = pool;
        self.services = services;
        if let Some(sa) = plan.sa {
            self.ha_commands
                .send(HaCommand::InstallSa {
                    home: plan.record.home_address,
                    sa,
                })
                .await
                .map_err(|_| internal("home agent stopped".into()))?;
        }
        info!(
            target: "telsec::bootstrap",
            imsi,
            fqdn = plan.record.fqdn,
            home = %plan.record.home_address,
            service = %plan.record.service,
            outcome = ?plan.fqdn_outcome,
            "service set up"
        );
        Ok(plan.response)
    }

    /// The subscriber's name from the telsec HLR database (read-only).
    fn subscriber_name(&mut self, imsi: &str) -> Option<String> {
        if self.subscribers.is_none() {
            let path = self.subscriber_database.as_ref()?;
            self.subscribers = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .inspect_err(|e| warn!(error = %e, "subscriber database"))
            .ok();
        }
        let db = self.subscribers.as_ref()?;
        db.prepare_cached("SELECT name FROM subscriber WHERE imsi = ?1")
            .ok()?
            .query_row([imsi], |row| row.get::<_, String>(0))
            .ok()
            .filter(|n| !n.trim().is_empty())
    }

    async fn publish(&mut self, records: &NodeRecords) -> Result<(), String> {
        publish_node(self.settings.dns_server, &self.dns_key, &self.zone, records)
            .await
            .map_err(|e| format!("DNS update: {e}"))
    }

    /// HIP mode: the rendezvous server's name must resolve to this agent
    /// before any node names it; published once per start.
    async fn publish_forwarding_agent(&mut self) -> Result<(), String> {
        let Some((name, published)) = &mut self.forwarding_agent else {
            return Ok(());
        };
        if *published {
            return Ok(());
        }
        publish_address(
            self.settings.dns_server,
            &self.dns_key,
            &self.zone,
            name,
            self.ha.address,
        )
        .await
        .map_err(|e| format!("DNS update of the forwarding agent: {e}"))?;
        info!(target: "telsec::bootstrap", name = %name, address = %self.ha.address, "forwarding agent published");
        *published = true;
        Ok(())
    }

    async fn withdraw(&mut self, name: &Name) -> Result<(), String> {
        withdraw_node(self.settings.dns_server, &self.dns_key, &self.zone, name)
            .await
            .map_err(|e| format!("DNS withdraw: {e}"))
    }
}
