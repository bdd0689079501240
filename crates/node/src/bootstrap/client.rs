//! The mobile node's bootstrap client (seed 003): `telsec mn bootstrap`.
//!
//! With nothing but its SIM, the node runs EAP-AKA' with the home agent
//! through the bootstrap protocol ([`super::enrol`]), then stores what it
//! obtained: FQDN, home address, home agent, the Mobile IP SA. Around the
//! sans-IO [`Enrolment`] this module does the IO:
//!
//! - the soft USIM of `[mn.sim]` (Milenage K/OPc, TS 35.206), with its SQN
//!   array (TS 33.102 Annex C.2) restored from `sqn_file` and written back
//!   *before* any answer computed by the card leaves the node, so a
//!   replayed challenge stays refused across runs and crashes;
//! - the node's Ed25519 key (RFC 8032), 32 octets from the OS random
//!   source, created mode 0600 on first use;
//! - one UDP socket connected to the home agent, with the protocol's
//!   retransmissions ([`RetransmitPolicy`]);
//! - the configuration stored (atomically, 0600: it holds the MN-HA key)
//!   with the IMSI it belongs to. [`stored_config`] hands it out only to
//!   the same SIM (seed step 11: no configuration survives a SIM swap).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::TryRng as _;
use rand::rngs::SysRng;
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::SqnState;
use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimClient, UsimConfig};
use telsec_bootstrap::SigningKey;
use telsec_bootstrap::message::{MAX_MESSAGE_LEN, NONCE_LEN};
pub use telsec_bootstrap::{Cause, MipAlgorithm, NodeConfig, RetransmitPolicy};
pub use telsec_eap::PeerProblem;
use telsec_mip::{Algorithm, ReplayMode, SecurityAssociation};
use tokio::net::UdpSocket;
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

pub use super::enrol::EnrolError;
use super::enrol::{Enrolment, EnrolmentConfig, Step, SuciConcealment};
use super::settings::{MnBootstrapSettings, SimSettings};
use crate::atomic_file;
use telsec_auth::suci::{HomeNetworkPublicKey, Profile};

/// Octets of a node's Ed25519 secret key file.
pub const SIGNING_KEY_LEN: usize = 32;

/// Why a bootstrap failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// `[mn.sim]` does not describe a usable USIM.
    #[error("[mn.sim] {0}")]
    Sim(String),
    /// A `[mn.bootstrap]` setting is unusable.
    #[error("{0}")]
    Setting(String),
    /// A state file (SQN array, key, configuration) cannot be read, parsed
    /// or written.
    #[error("{path}: {what}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The UDP socket towards the home agent cannot be opened.
    #[error("socket to the home agent: {0}")]
    Socket(#[from] io::Error),
    /// The enrolment failed: refused, authentication failed, no answer.
    #[error("bootstrap with {home_agent}: {failure}")]
    Enrolment {
        /// The home agent asked.
        home_agent: SocketAddr,
        /// How it failed.
        failure: EnrolError,
    },
}

impl BootstrapError {
    /// The enrolment's failure, when that is what this is.
    pub fn enrolment(&self) -> Option<&EnrolError> {
        match self {
            BootstrapError::Enrolment { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

/// What a caller may set beyond `[mn.bootstrap]`.
#[derive(Clone, Default)]
pub struct Options {
    /// Retransmission timers (the default gives up after about 31 s).
    pub retransmit: RetransmitPolicy,
    /// Refuse a configuration not signed by this HA key.
    pub pinned_ha_key: Option<[u8; 32]>,
    /// A secret to share with the HA in the ConfigRequest.
    pub secret: Option<Zeroizing<Vec<u8>>>,
    /// Do not pin the key of the stored configuration this time (the
    /// operator replaced the home agent's key).
    pub accept_new_ha_key: bool,
}

impl core::fmt::Debug for Options {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Options")
            .field("retransmit", &self.retransmit)
            .field("pinned_ha_key", &self.pinned_ha_key.is_some())
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("accept_new_ha_key", &self.accept_new_ha_key)
            .finish()
    }
}

fn file_error(path: &Path) -> impl Fn(String) -> BootstrapError + '_ {
    move |what| BootstrapError::File {
        path: path.to_owned(),
        what,
    }
}

/// The HA key to insist on: the caller's, the configured one, or (trust on
/// first use) the one this SIM's stored configuration was signed with.
fn pinned_ha_key(
    settings: &MnBootstrapSettings,
    options: &Options,
    stored: Option<&NodeConfig>,
) -> Result<Option<[u8; 32]>, BootstrapError> {
    if let Some(k) = options.pinned_ha_key {
        return Ok(Some(k));
    }
    if let Some(hex) = &settings.ha_public_key {
        let key = crate::ha_setup::hex_decode(hex.trim())
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .ok_or_else(|| {
                BootstrapError::Setting("mn.bootstrap.ha_public_key: 64 hex digits".into())
            })?;
        info!("home agent key pinned by mn.bootstrap.ha_public_key");
        return Ok(Some(key));
    }
    match stored {
        Some(c) if settings.pin_ha_key && !options.accept_new_ha_key => {
            info!(
                obtained_at = c.obtained_at,
                "home agent key pinned from the first bootstrap"
            );
            Ok(Some(c.ha_public_key))
        }
        _ => Ok(None),
    }
}

/// A 16-octet Milenage key (K or OPc) from hex.
fn key16(hex: &str, name: &str) -> Result<Zeroizing<[u8; 16]>, BootstrapError> {
    let bytes = Zeroizing::new(crate::ha_setup::hex_decode(hex.trim()).unwrap_or_default());
    let mut key = Zeroizing::new([0u8; 16]);
    if bytes.len() != 16 {
        return Err(BootstrapError::Sim(format!(
            "{name} must be 32 hex digits (16 octets, TS 35.206)"
        )));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// `file` in `data_dir` with the IMSI before its extension
/// (`mn.key` → `mn.<IMSI>.key`): what belongs to one SIM is never read
/// for another. After a SIM swap the new subscriber gets its own device
/// key (the old one stays published under the old subscriber's name, and
/// must not speak for the new one) and its card its own SQN array.
pub fn per_imsi(data_dir: &Path, file: &Path, imsi: &str) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match file.extension() {
        Some(ext) => format!("{stem}.{imsi}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{imsi}"),
    };
    data_dir.join(file.with_file_name(name))
}

/// Where the card of `sim` keeps its SQN array.
pub fn sqn_path(sim: &SimSettings, data_dir: &Path) -> PathBuf {
    per_imsi(data_dir, &sim.sqn_file, &sim.imsi)
}

/// Where the node keeps its Ed25519 key for the SIM `imsi`.
pub fn signing_key_path(settings: &MnBootstrapSettings, imsi: &str, data_dir: &Path) -> PathBuf {
    per_imsi(data_dir, &settings.signing_key_file, imsi)
}

/// The soft USIM of `sim`, its SQN array restored from its SQN file
/// (relative to `data_dir`) when that exists. A corrupt SQN file is an
/// error, never a fresh array: that would accept old challenges again.
///
/// # Errors
/// Bad K, OPc, IMSI or MNC length; an unreadable or corrupt SQN file.
pub fn soft_usim(sim: &SimSettings, data_dir: &Path) -> Result<SoftUsim, BootstrapError> {
    let k = key16(&sim.k, "k")?;
    let opc = key16(&sim.opc, "opc")?;
    let path = sqn_path(sim, data_dir);
    let fail = file_error(&path);
    let sqn = match atomic_file::read_if_exists(&path).map_err(|e| fail(e.to_string()))? {
        Some(bytes) => SqnState::from_bytes(&bytes).map_err(|e| fail(e.to_string()))?,
        None => SqnState::default(),
    };
    let mut config = UsimConfig::new(
        &sim.imsi,
        CardAlgorithm::Aka(Box::new(Milenage::with_opc(&k, &opc))),
    );
    config.mnc_len = sim.mnc_len;
    config.sqn = sqn;
    SoftUsim::new(config).map_err(|e| BootstrapError::Sim(e.to_string()))
}

/// Loads the node's Ed25519 key, creating it (32 octets from the OS
/// random source, mode 0600, atomically) when absent.
///
/// # Errors
/// The file is unreadable or not 32 octets, the random source fails, or
/// the file cannot be written.
pub fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, BootstrapError> {
    let fail = file_error(path);
    if let Some(bytes) = atomic_file::read_if_exists(path).map_err(|e| fail(e.to_string()))? {
        let bytes = Zeroizing::new(bytes);
        let seed: &[u8; SIGNING_KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| fail(format!("not a {SIGNING_KEY_LEN}-octet Ed25519 key")))?;
        return Ok(SigningKey::from_bytes(seed));
    }
    let mut seed = Zeroizing::new([0u8; SIGNING_KEY_LEN]);
    SysRng
        .try_fill_bytes(seed.as_mut())
        .map_err(|e| BootstrapError::Random(e.to_string()))?;
    atomic_file::replace(path, seed.as_ref()).map_err(|e| fail(e.to_string()))?;
    info!(path = %path.display(), "node key created");
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads the stored configuration, whoever it belongs to.
fn read_stored(path: &Path) -> Result<Option<NodeConfig>, BootstrapError> {
    let fail = file_error(path);
    let Some(bytes) = atomic_file::read_if_exists(path).map_err(|e| fail(e.to_string()))? else {
        return Ok(None);
    };
    let text = Zeroizing::new(String::from_utf8(bytes).map_err(|_| fail("not UTF-8".into()))?);
    NodeConfig::parse(&text)
        .map(Some)
        .map_err(|e| fail(e.to_string()))
}

/// The configuration stored by an earlier bootstrap, if it belongs to the
/// SIM `imsi` ([`NodeConfig::usable_with`]); a configuration obtained with
/// another SIM is never handed out.
///
/// # Errors
/// The file exists but cannot be read or parsed.
pub fn stored_config(
    settings: &MnBootstrapSettings,
    imsi: &str,
    data_dir: &Path,
) -> Result<Option<NodeConfig>, BootstrapError> {
    let path = data_dir.join(&settings.config_file);
    Ok(read_stored(&path)?.filter(|c| {
        let usable = c.usable_with(imsi);
        if !usable {
            debug!(path = %path.display(), "stored bootstrap configuration belongs to another SIM");
        }
        usable
    }))
}

/// The Mobile IP SA (RFC 5944 §1.6) of a stored configuration; `None` in
/// HIP-only mode. Replay protection by timestamps, as the home agent
/// installs it.
///
/// # Errors
/// An SA the Mobile IP layer refuses (reserved SPI, empty key).
pub fn mip_security_association(
    config: &NodeConfig,
) -> Result<Option<SecurityAssociation>, telsec_mip::Error> {
    let Some(mip) = &config.mip else {
        return Ok(None);
    };
    let algorithm = match mip.sa.algorithm {
        MipAlgorithm::HmacMd5 => Algorithm::HmacMd5,
        MipAlgorithm::HmacSha256 => Algorithm::HmacSha256,
    };
    SecurityAssociation::new(mip.sa.spi, algorithm, &mip.sa.key, ReplayMode::default()).map(Some)
}

/// The name of an SA algorithm, as in the configuration files.
pub fn algorithm_name(algorithm: MipAlgorithm) -> &'static str {
    match algorithm {
        MipAlgorithm::HmacMd5 => "hmac-md5",
        MipAlgorithm::HmacSha256 => "hmac-sha256",
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes the card's SQN array when it changed since `persisted`.
fn persist_sqn(
    path: &Path,
    card: &SoftUsim,
    persisted: &mut Vec<u8>,
) -> Result<(), BootstrapError> {
    let now = card.sqn_state().to_bytes();
    if now != *persisted {
        atomic_file::replace(path, &now).map_err(|e| file_error(path)(e.to_string()))?;
        debug!(path = %path.display(), sqn_ms = card.sqn_state().sqn_ms().value(), "USIM SQN array stored");
        *persisted = now;
    }
    Ok(())
}

async fn connect(home_agent: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = match home_agent {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(home_agent).await?;
    Ok(socket)
}

/// Bootstraps with `[mn.bootstrap]` and `[mn.sim]` (paths relative to
/// `data_dir`) and the default timers; see [`bootstrap_with`].
///
/// # Errors
/// See [`BootstrapError`].
pub async fn bootstrap(
    settings: &MnBootstrapSettings,
    sim: &SimSettings,
    data_dir: &Path,
) -> Result<NodeConfig, BootstrapError> {
    bootstrap_with(settings, sim, data_dir, &Options::default()).await
}

/// Runs one bootstrap with the home agent and stores the configuration
/// obtained (`settings.config_file`, bound to the SIM's IMSI), replacing
/// any earlier one. Nothing is stored when it fails.
///
/// # Errors
/// See [`BootstrapError`]; [`BootstrapError::Enrolment`] says whether the
/// HA refused, authentication failed, or no answer came.
pub async fn bootstrap_with(
    settings: &MnBootstrapSettings,
    sim: &SimSettings,
    data_dir: &Path,
    options: &Options,
) -> Result<NodeConfig, BootstrapError> {
    bootstrap_reporting(settings, sim, data_dir, options)
        .await
        .map(|o| o.config)
}

/// A bootstrap's result: the stored configuration, and what the home
/// agent made of the desired FQDN (which the stored form does not keep).
#[derive(Debug)]
pub struct Obtained {
    /// The configuration as stored.
    pub config: NodeConfig,
    /// Granted, or why not (seed 003 step 9).
    pub fqdn_outcome: telsec_bootstrap::FqdnOutcome,
}

/// [`bootstrap_with`], also reporting the FQDN outcome.
///
/// # Errors
/// As [`bootstrap_with`].
pub async fn bootstrap_reporting(
    settings: &MnBootstrapSettings,
    sim: &SimSettings,
    data_dir: &Path,
    options: &Options,
) -> Result<Obtained, BootstrapError> {
    let home_agent = settings.home_agent;
    let sqn_path = sqn_path(sim, data_dir);
    let config_path = data_dir.join(&settings.config_file);
    let card = soft_usim(sim, data_dir)?;
    let mut persisted = card.sqn_state().to_bytes();
    let signing_key = load_or_create_signing_key(&signing_key_path(settings, &sim.imsi, data_dir))?;
    let stored = match read_stored(&config_path) {
        Ok(Some(c)) if !c.usable_with(&sim.imsi) => {
            info!(path = %config_path.display(), "stored configuration belongs to another SIM; a new one replaces it");
            None
        }
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "stored configuration unreadable; a new one replaces it");
            None
        }
    };
    let pinned_ha_key = pinned_ha_key(settings, options, stored.as_ref())?;
    let mut nonce = [0u8; NONCE_LEN];
    SysRng
        .try_fill_bytes(&mut nonce)
        .map_err(|e| BootstrapError::Random(e.to_string()))?;
    let socket = connect(home_agent).await?;
    let failed = |failure| BootstrapError::Enrolment {
        home_agent,
        failure,
    };
    let config = EnrolmentConfig {
        network_name: settings.network_name.clone(),
        desired_fqdn: settings.desired_fqdn.clone(),
        secret: options.secret.clone(),
        retransmit: options.retransmit,
        pinned_ha_key,
        suci: suci_concealment(sim)?,
    };
    let (mut enrolment, start) = Enrolment::start(
        config,
        UsimClient::new(card),
        signing_key,
        nonce,
        Instant::now(),
    )
    .map_err(failed)?;
    info!(
        identity = enrolment.identity(),
        home_agent = %home_agent,
        network = settings.network_name,
        "bootstrap: starting EAP-AKA' with the home agent"
    );
    send(&socket, &start).await;
    let mut buf = vec![0u8; MAX_MESSAGE_LEN + 1];
    let mut sync_failures = 0;
    let enrolled = loop {
        let Some(deadline) = enrolment.poll_timeout() else {
            return Err(failed(EnrolError::Protocol(
                "nothing outstanding and not finished".into(),
            )));
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        let step = tokio::select! {
            r = socket.recv(&mut buf) => match r {
                Ok(n) => enrolment.handle(&buf[..n], Instant::now()),
                Err(e) => {
                    // An ICMP error (port unreachable) or the like: the HA
                    // may come up; the timer decides when to give up.
                    debug!(error = %e, "bootstrap socket");
                    tokio::time::sleep_until(deadline).await;
                    enrolment.handle_timeout(Instant::now())
                }
            },
            () = tokio::time::sleep_until(deadline) => enrolment.handle_timeout(Instant::now()),
        };
        // The card may have accepted a SQN: store it before its answer
        // (RES or AUTS) leaves the node.
        persist_sqn(&sqn_path, enrolment.card(), &mut persisted)?;
        match step {
            Step::Send(bytes) => {
                if enrolment.sync_failures() > sync_failures {
                    sync_failures = enrolment.sync_failures();
                    info!(
                        sync_failures,
                        "bootstrap: the USIM refused the challenge's sequence number; \
                         asking the network to resynchronise (AUTS, TS 33.102 §6.3.5)"
                    );
                }
                send(&socket, &bytes).await;
            }
            Step::Wait => {}
            Step::Dropped(why) => debug!(reason = %why, "bootstrap: datagram dropped"),
            Step::Done(enrolled) => break enrolled,
            Step::Failed(e) => {
                warn!(error = %e, "bootstrap failed");
                return Err(failed(e));
            }
        }
    };
    let config = NodeConfig::from_response(&enrolled.imsi, &enrolled.response, unix_now())
        .map_err(|e| file_error(&config_path)(e.to_string()))?;
    atomic_file::replace(&config_path, config.serialize().as_bytes())
        .map_err(|e| file_error(&config_path)(e.to_string()))?;
    info!(
        fqdn = config.fqdn,
        fqdn_outcome = ?enrolled.response.fqdn_outcome,
        home_address = %config.home_address,
        ha_address = %config.ha_address,
        spi = config.mip.as_ref().map(|m| m.sa.spi),
        path = %config_path.display(),
        "bootstrap: configuration obtained and stored"
    );
    Ok(Obtained {
        config,
        fqdn_outcome: enrolled.response.fqdn_outcome,
    })
}

async fn send(socket: &UdpSocket, bytes: &[u8]) {
    if let Err(e) = socket.send(bytes).await {
        // Retransmission covers a lost send as it covers a lost datagram.
        debug!(error = %e, "bootstrap: send failed");
    }
}

/// The SUCI concealment of `[mn.sim]`, when it names the home network's
/// public key (hex; 32 octets: profile A, 33: profile B), with a fresh
/// ephemeral key for this bootstrap.
fn suci_concealment(sim: &SimSettings) -> Result<Option<SuciConcealment>, BootstrapError> {
    let Some(hex) = sim.suci_public_key.as_deref() else {
        return Ok(None);
    };
    let profile = match hex.len() {
        64 => Profile::A,
        66 => Profile::B,
        n => {
            return Err(BootstrapError::Sim(format!(
                "suci_public_key: {n} hex digits, not 64 (profile A) or 66 (profile B)"
            )));
        }
    };
    let public_key = HomeNetworkPublicKey::from_hex(profile, hex)
        .map_err(|e| BootstrapError::Sim(format!("suci_public_key: {e}")))?;
    Ok(Some(SuciConcealment {
        key_id: sim.suci_key_id,
        public_key,
        routing_indicator: sim.suci_routing_indicator.clone(),
        ephemeral: Zeroizing::new(rand::random()),
    }))
}
