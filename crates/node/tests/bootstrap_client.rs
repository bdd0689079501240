//! The node's bootstrap client (`telsec mn bootstrap`, seed 003) against a
//! home agent built in the test on the real [`Authority`] and a UDP
//! socket on loopback (127.0.0.60-69, unprivileged). Its AuC runs
//! Milenage with the SIM's K/OPc and keeps an SQN counter
//! ([`SqnGenerator`], TS 33.102 Annex C); resynchronisation recovers
//! SQN_MS from AUTS and checks MAC-S (§6.3.5). The decision is a fixed
//! configuration that grants the desired name.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use telsec_auth::aka::{self, AuthVector, generate_vector};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{DEFAULT_DELTA, Sqn, SqnGenerator, SqnState};
use telsec_bootstrap::response::{MipConfig, MipSa};
use telsec_bootstrap::{ConfigResponse, FqdnOutcome, SigningKey};
use telsec_eap::PeerProblem;
use telsec_node::bootstrap::authority::{Authority, AuthorityConfig, Output, Work};
use telsec_node::bootstrap::client::{
    self, BootstrapError, EnrolError, MipAlgorithm, Options, RetransmitPolicy,
};
use telsec_node::bootstrap::{MnBootstrapSettings, SimSettings};
use telsec_node::ha_service::now_ms;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

const IMSI: &str = "001010000000001";
const K: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];
const OTHER_IMSI: &str = "001010000000002";
const OTHER_K: [u8; 16] = [0x33; 16];
const OTHER_OPC: [u8; 16] = [0x44; 16];
/// AMF with the separation bit set (RFC 9048 §3.3).
const AMF: [u8; 2] = [0x80, 0x00];
const HA_NAME: &str = "ha.telsec.test";
const IND_BITS: u8 = 5;

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One subscriber of the in-test AuC.
struct Subscriber {
    milenage: Milenage,
    counter: SqnGenerator,
}

/// What the in-test HA knows and saw.
#[derive(Default)]
struct HaState {
    subscribers: HashMap<String, Subscriber>,
    /// Every vector issued, with its SQN.
    issued: Vec<(Sqn, AuthVector)>,
    /// SQN_MS recovered from each verified AUTS.
    resyncs: Vec<Sqn>,
    /// When set, this old vector is handed out for every request (a
    /// replaying network).
    replay: Option<AuthVector>,
    /// (IMSI, desired FQDN, node public key) of each decision.
    decisions: Vec<(String, Option<String>, [u8; 32])>,
}

impl HaState {
    fn with_subscriber(imsi: &str, k: &[u8; 16], opc: &[u8; 16], last: Sqn) -> HaState {
        let mut s = HaState::default();
        s.add(imsi, k, opc, last);
        s
    }

    fn add(&mut self, imsi: &str, k: &[u8; 16], opc: &[u8; 16], last: Sqn) {
        self.subscribers.insert(
            imsi.to_owned(),
            Subscriber {
                milenage: Milenage::with_opc(k, opc),
                counter: SqnGenerator::new(last, IND_BITS).expect("counter"),
            },
        );
    }

    /// A fresh vector, or the replayed one.
    fn vector(&mut self, imsi: &str) -> Result<AuthVector, String> {
        if let Some(v) = &self.replay {
            return Ok(v.clone());
        }
        let sub = self
            .subscribers
            .get_mut(imsi)
            .ok_or_else(|| format!("unknown IMSI {imsi}"))?;
        let sqn = sub.counter.next(0).map_err(|e| e.to_string())?;
        let v = generate_vector(&sub.milenage, &rand::random(), sqn, &AMF);
        self.issued.push((sqn, v.clone()));
        Ok(v)
    }

    /// TS 33.102 §6.3.5: SQN_MS from AUTS (MAC-S checked), SEQ_HE moved,
    /// then a vector.
    fn resync(
        &mut self,
        imsi: &str,
        rand: &[u8; 16],
        auts: &[u8; 14],
    ) -> Result<AuthVector, String> {
        let sub = self
            .subscribers
            .get_mut(imsi)
            .ok_or_else(|| format!("unknown IMSI {imsi}"))?;
        let sqn_ms = aka::resync(&sub.milenage, rand, auts).map_err(|e| e.to_string())?;
        sub.counter.resync(sqn_ms, DEFAULT_DELTA);
        self.resyncs.push(sqn_ms);
        self.vector(imsi)
    }

    fn decide(
        &mut self,
        imsi: &str,
        desired: Option<&str>,
        public_key: [u8; 32],
        ha_key: &SigningKey,
    ) -> ConfigResponse {
        self.decisions
            .push((imsi.to_owned(), desired.map(str::to_owned), public_key));
        ConfigResponse {
            fqdn: desired.unwrap_or("node.telsec.test").to_owned(),
            fqdn_outcome: if desired.is_some() {
                FqdnOutcome::Granted
            } else {
                FqdnOutcome::NotRequested
            },
            home_address: Ipv4Addr::new(10, 77, 0, 23),
            ha_address: Ipv4Addr::new(10, 77, 0, 1),
            ha_public_key: ha_key.verifying_key().to_bytes(),
            mip: Some(MipConfig {
                sa: MipSa {
                    spi: 4200,
                    algorithm: MipAlgorithm::HmacSha256,
                    key: Zeroizing::new(vec![0x5a; 32]),
                    lifetime: 3600,
                },
                registration_lifetime: 600,
            }),
            hip: None,
            name_server: Some(Ipv4Addr::new(10, 77, 0, 53)),
            dns_zone: Some("telsec.test".into()),
        }
    }
}

/// The in-test home agent's bootstrap socket.
struct TestHa {
    addr: SocketAddr,
    state: Arc<Mutex<HaState>>,
    public_key: [u8; 32],
    task: JoinHandle<()>,
}

impl Drop for TestHa {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn spawn_ha(ip: Ipv4Addr, name: &str, state: HaState) -> TestHa {
    let socket = UdpSocket::bind((ip, 0)).await.expect("bind HA");
    let addr = socket.local_addr().expect("addr");
    let state = Arc::new(Mutex::new(state));
    let key = SigningKey::from_bytes(&[0x61; 32]);
    let public_key = key.verifying_key().to_bytes();
    let mut authority = Authority::new(AuthorityConfig::new(name));
    let shared = state.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            let mut out = authority.handle(now_ms(), &buf[..n], rand::random());
            loop {
                let Output { reply, work, .. } = out;
                if let Some(reply) = reply {
                    let _ = socket.send_to(&reply, from).await;
                }
                let Some(work) = work else { break };
                let mut s = shared.lock().expect("state");
                out = match work {
                    Work::Vector { session, imsi } => {
                        let v = s.vector(&imsi);
                        authority.on_vector(now_ms(), session, v)
                    }
                    Work::Resync {
                        session,
                        imsi,
                        rand,
                        auts,
                    } => {
                        let v = s.resync(&imsi, &rand, &auts);
                        authority.on_vector(now_ms(), session, v)
                    }
                    Work::Decide {
                        session,
                        imsi,
                        request,
                    } => {
                        let c = s.decide(
                            &imsi,
                            request.desired_fqdn(),
                            request.public_key().to_bytes(),
                            &key,
                        );
                        authority.on_decision(now_ms(), session, Ok(c), &key)
                    }
                };
            }
        }
    });
    TestHa {
        addr,
        state,
        public_key,
        task,
    }
}

/// A fresh data directory for one test.
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "telsec-bootstrap-client-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    dir
}

fn settings(home_agent: SocketAddr, network_name: &str) -> MnBootstrapSettings {
    MnBootstrapSettings {
        home_agent,
        network_name: network_name.to_owned(),
        desired_fqdn: Some("alice.telsec.test".to_owned()),
        ..MnBootstrapSettings::default()
    }
}

fn sim(imsi: &str, k: &[u8; 16], opc: &[u8; 16]) -> SimSettings {
    SimSettings {
        imsi: imsi.to_owned(),
        mnc_len: 2,
        k: to_hex(k),
        opc: to_hex(opc),
        ..SimSettings::default()
    }
}

/// Quick timers: the tests never wait for the 31 s default.
fn fast() -> Options {
    Options {
        retransmit: RetransmitPolicy {
            initial: Duration::from_millis(100),
            max_interval: Duration::from_millis(400),
            max_transmissions: 6,
        },
        ..Options::default()
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn card_sqn(dir: &Path, sim: &SimSettings) -> SqnState {
    SqnState::from_bytes(&std::fs::read(client::sqn_path(sim, dir)).expect("sqn file"))
        .expect("sqn state")
}

fn enrol_error(r: Result<client::NodeConfig, BootstrapError>) -> EnrolError {
    match r {
        Err(e) => e
            .enrolment()
            .cloned()
            .unwrap_or_else(|| panic!("not an enrolment failure: {e}")),
        Ok(c) => panic!("unexpected success: {c:?}"),
    }
}

#[tokio::test]
async fn success_stores_the_configuration_bound_to_the_imsi() {
    let dir = data_dir("success");
    let mut state = HaState::with_subscriber(IMSI, &K, &OPC, Sqn::ZERO);
    state.add(OTHER_IMSI, &OTHER_K, &OTHER_OPC, Sqn::ZERO);
    let ha = spawn_ha(Ipv4Addr::new(127, 0, 0, 60), HA_NAME, state).await;
    let settings = settings(ha.addr, HA_NAME);
    let sim = sim(IMSI, &K, &OPC);

    let config = client::bootstrap_with(&settings, &sim, &dir, &fast())
        .await
        .expect("bootstrap");
    assert_eq!(config.imsi, IMSI);
    assert_eq!(config.fqdn, "alice.telsec.test");
    assert_eq!(config.home_address, Ipv4Addr::new(10, 77, 0, 23));
    assert_eq!(config.ha_address, Ipv4Addr::new(10, 77, 0, 1));
    assert_eq!(config.ha_public_key, ha.public_key);
    let mip = config.mip.as_ref().expect("Mobile IP mode");
    assert_eq!(
        (
            mip.sa.spi,
            mip.sa.algorithm,
            mip.sa.lifetime,
            mip.registration_lifetime
        ),
        (4200, MipAlgorithm::HmacSha256, 3600, 600)
    );
    assert_eq!(mip.sa.key.as_slice(), &[0x5a; 32]);
    let sa = client::mip_security_association(&config)
        .expect("valid SA")
        .expect("an SA");
    assert_eq!(sa.spi(), 4200);

    // Stored, 0600, and only for this SIM.
    let config_path = dir.join(&settings.config_file);
    assert_eq!(
        client::stored_config(&settings, IMSI, &dir).expect("readable"),
        Some(config.clone())
    );
    assert_eq!(
        client::stored_config(&settings, OTHER_IMSI, &dir).expect("readable"),
        None
    );
    // The node's key: 32 octets, 0600; the HA saw its public half with
    // the IMSI the AuC authenticated and the desired name.
    let key_path = client::signing_key_path(&settings, IMSI, &dir);
    let seed: [u8; 32] = std::fs::read(&key_path)
        .expect("key")
        .try_into()
        .expect("32 octets");
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    {
        let s = ha.state.lock().expect("state");
        assert_eq!(
            s.decisions,
            vec![(
                IMSI.to_owned(),
                Some("alice.telsec.test".to_owned()),
                public
            )]
        );
        // The card's SQN array went to disk with the accepted SQN.
        assert_eq!(s.issued.len(), 1);
        assert_eq!(card_sqn(&dir, &sim).sqn_ms(), s.issued[0].0);
        assert!(s.resyncs.is_empty());
    }
    #[cfg(unix)]
    for p in [&config_path, &key_path, &client::sqn_path(&sim, &dir)] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }

    // A second run with the same SIM keeps the key and the card's state.
    client::bootstrap_with(&settings, &sim, &dir, &fast())
        .await
        .expect("second bootstrap");
    {
        let s = ha.state.lock().expect("state");
        assert_eq!(s.decisions.len(), 2);
        assert_eq!(s.decisions[1].2, public);
        assert_eq!(card_sqn(&dir, &sim).sqn_ms(), s.issued[1].0);
        assert!(s.resyncs.is_empty(), "the card accepted the next SQN");
    }

    // SIM swap: the other card obtains its own configuration, which
    // replaces the first; the first SIM gets none. The device key and the
    // SQN array are the other SIM's own: the first SIM's key, published
    // under the first subscriber's name, does not speak for the second.
    let other = self::sim(OTHER_IMSI, &OTHER_K, &OTHER_OPC);
    let swapped = client::bootstrap_with(&settings, &other, &dir, &fast())
        .await
        .expect("other SIM");
    assert_eq!(swapped.imsi, OTHER_IMSI);
    assert_eq!(
        client::stored_config(&settings, IMSI, &dir).expect("readable"),
        None
    );
    assert_eq!(
        client::stored_config(&settings, OTHER_IMSI, &dir).expect("readable"),
        Some(swapped)
    );
    let other_key = std::fs::read(client::signing_key_path(&settings, OTHER_IMSI, &dir))
        .expect("the other SIM's key");
    assert_ne!(other_key, seed, "a new device key for the new subscriber");
    assert!(client::sqn_path(&other, &dir).exists());
    {
        let s = ha.state.lock().expect("state");
        assert_ne!(s.decisions[2].2, public, "the HA saw the new key");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn wrong_network_name_fails_and_stores_nothing() {
    let dir = data_dir("network-name");
    let ha = spawn_ha(
        Ipv4Addr::new(127, 0, 0, 61),
        HA_NAME,
        HaState::with_subscriber(IMSI, &K, &OPC, Sqn::ZERO),
    )
    .await;
    let settings = settings(ha.addr, "other.telsec.test");
    let sim = sim(IMSI, &K, &OPC);
    let err = enrol_error(client::bootstrap_with(&settings, &sim, &dir, &fast()).await);
    assert_eq!(
        err,
        EnrolError::Authentication {
            problem: PeerProblem::NetworkName,
            sync_failures: 0
        }
    );
    assert!(!dir.join(&settings.config_file).exists());
    // The peer refused before the USIM ran: its SQN array is unchanged.
    assert!(!client::sqn_path(&sim, &dir).exists());
    let s = ha.state.lock().expect("state");
    assert_eq!(s.issued.len(), 1);
    assert!(s.decisions.is_empty());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn resynchronises_when_the_card_refuses_the_sqn() {
    let dir = data_dir("resync");
    // The AuC runs more than Δ = 2^28 ahead of a fresh card (Annex C.2.1).
    let ahead = Sqn::from_parts(DEFAULT_DELTA + 10, 0, IND_BITS).expect("sqn");
    let ha = spawn_ha(
        Ipv4Addr::new(127, 0, 0, 62),
        HA_NAME,
        HaState::with_subscriber(IMSI, &K, &OPC, ahead),
    )
    .await;
    let settings = settings(ha.addr, HA_NAME);
    let sim = sim(IMSI, &K, &OPC);
    client::bootstrap_with(&settings, &sim, &dir, &fast())
        .await
        .expect("bootstrap after resynchronisation");
    let card_after_first = {
        let s = ha.state.lock().expect("state");
        // AUTS carried the fresh card's SQN_MS = 0; the AuC reset SEQ_HE
        // and the second vector (SEQ 1) was accepted.
        assert_eq!(s.resyncs, vec![Sqn::ZERO]);
        assert_eq!(s.issued.len(), 2);
        assert!(s.issued[0].0 > ahead);
        assert_eq!(s.issued[1].0.seq(IND_BITS), 1);
        let card = card_sqn(&dir, &sim).sqn_ms();
        assert_eq!(card, s.issued[1].0);
        card
    };

    // Now the AuC falls behind the card (restored from an old backup): its
    // next SQN is not fresh for the card, which resynchronises it again.
    ha.state
        .lock()
        .expect("state")
        .add(IMSI, &K, &OPC, Sqn::ZERO);
    client::bootstrap_with(&settings, &sim, &dir, &fast())
        .await
        .expect("bootstrap after the AuC fell behind");
    let s = ha.state.lock().expect("state");
    assert_eq!(s.resyncs, vec![Sqn::ZERO, card_after_first]);
    assert_eq!(s.issued.len(), 4);
    assert_eq!(s.issued[2].0, card_after_first, "the stale SQN");
    assert_eq!(s.issued[3].0.seq(IND_BITS), 2);
    assert_eq!(card_sqn(&dir, &sim).sqn_ms(), s.issued[3].0);
    assert_eq!(s.decisions.len(), 2);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn replayed_challenge_is_refused_across_runs() {
    let dir = data_dir("replay");
    let ha = spawn_ha(
        Ipv4Addr::new(127, 0, 0, 63),
        HA_NAME,
        HaState::with_subscriber(IMSI, &K, &OPC, Sqn::ZERO),
    )
    .await;
    let settings = settings(ha.addr, HA_NAME);
    let sim = sim(IMSI, &K, &OPC);
    client::bootstrap_with(&settings, &sim, &dir, &fast())
        .await
        .expect("first bootstrap");
    let config_path = dir.join(&settings.config_file);
    let stored = std::fs::read(&config_path).expect("stored");

    // A new process (a new card object from the files) meets a network
    // replaying the first run's challenge: the USIM refuses its SQN.
    let (old_sqn, old) = {
        let mut s = ha.state.lock().expect("state");
        let (sqn, v) = s.issued[0].clone();
        s.replay = Some(v.clone());
        (sqn, v)
    };
    let err = enrol_error(client::bootstrap_with(&settings, &sim, &dir, &fast()).await);
    let EnrolError::Authentication { sync_failures, .. } = err else {
        panic!("expected an authentication failure, got {err:?}");
    };
    assert!(sync_failures >= 1, "{err:?}");
    {
        let s = ha.state.lock().expect("state");
        // Every AUTS said: I have already seen this SQN.
        assert!(!s.resyncs.is_empty());
        assert!(s.resyncs.iter().all(|&q| q == old_sqn));
        assert_eq!(s.decisions.len(), 1, "no configuration for the replay");
    }
    assert_eq!(std::fs::read(&config_path).expect("stored"), stored);
    assert_eq!(card_sqn(&dir, &sim).sqn_ms(), old_sqn);

    // Control: without the stored SQN array the same replay would pass,
    // so it was the persisted state that refused it.
    std::fs::remove_file(client::sqn_path(&sim, &dir)).expect("remove");
    client::bootstrap_with(&settings, &sim, &dir, &fast())
        .await
        .expect("a fresh card accepts the old challenge");
    assert_eq!(ha.state.lock().expect("state").decisions.len(), 2);
    assert_eq!(card_sqn(&dir, &sim).sqn_ms(), old_sqn);
    drop(old);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn no_answer_gives_up_after_the_last_retransmission() {
    let dir = data_dir("silence");
    // A home agent that swallows everything.
    let hole = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 64), 0))
        .await
        .expect("bind");
    let settings = settings(hole.local_addr().expect("addr"), HA_NAME);
    let sim = sim(IMSI, &K, &OPC);
    let options = Options {
        retransmit: RetransmitPolicy {
            initial: Duration::from_millis(40),
            max_interval: Duration::from_millis(80),
            max_transmissions: 4,
        },
        ..Options::default()
    };
    let t0 = Instant::now();
    let client = tokio::spawn({
        let (settings, sim, dir, options) =
            (settings.clone(), sim.clone(), dir.clone(), options.clone());
        async move { client::bootstrap_with(&settings, &sim, &dir, &options).await }
    });
    let mut seen = Vec::new();
    let mut buf = [0u8; 2048];
    while seen.len() < 4 {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), hole.recv_from(&mut buf))
            .await
            .expect("a transmission")
            .expect("recv");
        seen.push(buf[..n].to_vec());
    }
    let err = enrol_error(client.await.expect("task"));
    assert_eq!(
        err,
        EnrolError::NoAnswer {
            transmissions: 4,
            last_drop: None
        }
    );
    assert!(t0.elapsed() < Duration::from_secs(3));
    // The same Start each time, and no fifth.
    assert!(seen.iter().all(|d| *d == seen[0]));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), hole.recv_from(&mut buf))
            .await
            .is_err()
    );
    assert!(!dir.join(&settings.config_file).exists());

    // Nobody at all on the port (ICMP port unreachable): the same end.
    drop(hole);
    let err = enrol_error(client::bootstrap_with(&settings, &sim, &dir, &options).await);
    assert!(matches!(err, EnrolError::NoAnswer { .. }), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
