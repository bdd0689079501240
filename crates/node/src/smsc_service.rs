//! telsec's SMS centre on the network: an SMPP 3.4 server for ESMEs (the
//! home agent's key service among them) and one virtual modem endpoint per
//! subscriber, over TCP or a pty, for mobile nodes that speak TS 27.005.
//!
//! One task owns the sans-IO [`Centre`] and its timers; one task per ESME
//! connection runs an [`SmscSession`]; one task per modem endpoint runs a
//! [`VirtualModem`] for the terminal connected to it (one at a time: a
//! second TCP connection to a busy modem is closed at once). A pty endpoint
//! links its slave device to the configured path and keeps the slave open
//! itself, so terminals may open and close it at will.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use telsec_smpp::rusmpp::CommandStatus;
use telsec_smpp::rusmpp::pdus::DeliverSm;
use telsec_smpp::{
    Account, Binding, Centre, CentreConfig, DeliveryId, EsmeId, Now, Outcome, Output, Route,
    SmscEvent, SmscSession, SmscSessionConfig, Submission, VirtualModem, VmodemConfig, VmodemEvent,
};
use telsec_sms::{SmsSubmit, SmscAddress};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

/// The SMS centre's settings; every field has a default, so an empty table
/// is a working (if account-less) centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmscSettings {
    /// SMPP listen address; 2775 is SMPP's registered port. Default
    /// `127.0.0.1:2775`.
    pub listen: SocketAddr,
    /// The system_id the SMSC answers binds with (at most 15 characters).
    /// Default `telsec`.
    pub system_id: String,
    /// The centre's own E.164 number, put in front of every `+CMT` PDU and
    /// shown by `AT+CSCA?`; empty for none. Default empty.
    pub address: String,
    /// ESME accounts. Default: `telsec-ha` / `telsecha`, the home agent's
    /// key service (change the password).
    pub accounts: Vec<AccountSettings>,
    /// Virtual modems, one per subscriber. Default none.
    pub modems: Vec<ModemSettings>,
    /// Routes for messages the modems send. Default: the key service's
    /// number 4917099999 to `telsec-ha`; others go to any bound receiver.
    pub routes: Vec<RouteSettings>,
    /// Messages that may wait for one destination. Default 100.
    pub queue_size: usize,
    /// Validity of a message that names none, seconds. Default 172800 (48 h).
    pub default_validity_secs: u64,
    /// Longest validity granted, seconds. Default 604800 (7 days).
    pub max_validity_secs: u64,
    /// First retry after a failed delivery, seconds; doubles per failure.
    /// Default 30.
    pub retry_interval_secs: u64,
    /// Ceiling of the retry interval, seconds. Default 3600.
    pub max_retry_interval_secs: u64,
    /// How long a `+CMT` waits for `AT+CNMA`, seconds. Default 30.
    pub ack_timeout_secs: u64,
    /// How long a deliver_sm or enquire_link waits for its response,
    /// seconds. Default 10.
    pub response_timeout_secs: u64,
    /// Idle time before the SMSC sends enquire_link, seconds. Default 30.
    pub enquire_link_secs: u64,
    /// Outstanding deliver_sm per ESME connection. Default 10.
    pub window: usize,
    /// submit_sm awaiting the centre per connection before
    /// `ESME_RTHROTTLED`. Default 64.
    pub max_pending_submits: usize,
}

/// An ESME account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// system_id (at most 15 characters).
    pub system_id: String,
    /// password (at most 8 characters).
    pub password: String,
}

/// A virtual modem: its subscriber and where its terminal connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModemSettings {
    /// The subscriber's MSISDN (E.164, `+` optional).
    pub msisdn: String,
    /// A TCP address to listen on for the terminal.
    #[serde(default)]
    pub tcp: Option<SocketAddr>,
    /// A path to link a pty's slave device to.
    #[serde(default)]
    pub pty: Option<PathBuf>,
}

/// A route for mobile-originated messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    /// Digits the destination address starts with.
    pub prefix: String,
    /// The system_id of the ESME that takes them.
    pub system_id: String,
}

impl Default for SmscSettings {
    fn default() -> Self {
        SmscSettings {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 2775)),
            system_id: "telsec".to_owned(),
            address: String::new(),
            // The account and route of the home agent's key service
            // (`[ha.keys]`), so the embedded default works as one system.
            accounts: vec![AccountSettings {
                system_id: "telsec-ha".to_owned(),
                password: "telsecha".to_owned(),
            }],
            modems: Vec::new(),
            routes: vec![RouteSettings {
                prefix: "4917099999".to_owned(),
                system_id: "telsec-ha".to_owned(),
            }],
            queue_size: 100,
            default_validity_secs: 48 * 3600,
            max_validity_secs: 7 * 24 * 3600,
            retry_interval_secs: 30,
            max_retry_interval_secs: 3600,
            ack_timeout_secs: 30,
            response_timeout_secs: 10,
            enquire_link_secs: 30,
            window: 10,
            max_pending_submits: 64,
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmscError {
    /// A value is out of range; the text names it.
    #[error("invalid SMSC setting: {0}")]
    Invalid(String),
    /// A socket or pty could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being set up.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl SmscSettings {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), SmscError> {
        let bad = |s: String| Err(SmscError::Invalid(s));
        if self.system_id.is_empty() || self.system_id.len() > 15 || !self.system_id.is_ascii() {
            return bad(format!(
                "system_id {:?} must be 1 to 15 ASCII characters",
                self.system_id
            ));
        }
        if !self.address.is_empty() && telsec_smpp::submission::e164(&self.address).is_none() {
            return bad(format!("address {:?} is not an E.164 number", self.address));
        }
        for a in &self.accounts {
            if a.system_id.is_empty() || a.system_id.len() > 15 || a.password.len() > 8 {
                return bad(format!(
                    "account {:?}: system_id 1-15 and password 0-8 characters",
                    a.system_id
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.modems {
            let Some(d) = telsec_smpp::submission::e164(&m.msisdn) else {
                return bad(format!(
                    "modem msisdn {:?} is not an E.164 number",
                    m.msisdn
                ));
            };
            if !seen.insert(d) {
                return bad(format!("modem msisdn {:?} listed twice", m.msisdn));
            }
            if m.tcp.is_none() && m.pty.is_none() {
                return bad(format!("modem {:?} needs `tcp` or `pty`", m.msisdn));
            }
        }
        if self.queue_size == 0 || self.window == 0 || self.max_pending_submits == 0 {
            return bad("queue_size, window and max_pending_submits must be positive".into());
        }
        if self.default_validity_secs == 0 || self.retry_interval_secs == 0 {
            return bad("default_validity_secs and retry_interval_secs must be positive".into());
        }
        Ok(())
    }

    fn centre_config(&self) -> CentreConfig {
        CentreConfig {
            queue_limit: self.queue_size,
            default_validity: Duration::from_secs(self.default_validity_secs),
            max_validity: Duration::from_secs(
                self.max_validity_secs.max(self.default_validity_secs),
            ),
            retry_interval: Duration::from_secs(self.retry_interval_secs),
            max_retry_interval: Duration::from_secs(
                self.max_retry_interval_secs.max(self.retry_interval_secs),
            ),
            attempt_timeout: Duration::from_secs(
                self.ack_timeout_secs.max(self.response_timeout_secs) * 2 + 5,
            ),
            routes: self
                .routes
                .iter()
                .map(|r| Route {
                    prefix: r.prefix.trim_start_matches('+').to_owned(),
                    system_id: r.system_id.clone(),
                })
                .collect(),
        }
    }

    fn session_config(&self) -> SmscSessionConfig {
        SmscSessionConfig {
            system_id: self.system_id.clone(),
            accounts: self
                .accounts
                .iter()
                .map(|a| Account {
                    system_id: a.system_id.clone(),
                    password: a.password.clone(),
                })
                .collect(),
            max_pending_submits: self.max_pending_submits,
            window: self.window,
            response_timeout: Duration::from_secs(self.response_timeout_secs),
            enquire_link_interval: Duration::from_secs(self.enquire_link_secs),
            ..SmscSessionConfig::default()
        }
    }

    fn vmodem_config(&self) -> VmodemConfig {
        VmodemConfig {
            smsc: (!self.address.is_empty())
                .then(|| SmscAddress::international(&self.address).ok())
                .flatten(),
            ack_timeout: Duration::from_secs(self.ack_timeout_secs),
        }
    }
}

/// What connection tasks tell the centre task.
enum CoreMsg {
    EsmeConnected(EsmeId, mpsc::UnboundedSender<ToEsme>),
    EsmeBound(EsmeId, Binding),
    EsmeGone(EsmeId),
    Submit(EsmeId, u32, Box<Submission>),
    Outcome(DeliveryId, Outcome),
    ModemConnected(String, mpsc::UnboundedSender<ToModem>),
    ModemReady(String, bool),
    ModemGone(String),
    MoSubmit(String, Box<SmsSubmit>),
}

enum ToEsme {
    SubmitResult(u32, Result<String, CommandStatus>),
    Deliver(DeliveryId, Box<DeliverSm>),
}

enum ToModem {
    Deliver(DeliveryId, Vec<u8>),
    SubmitResult(Result<(), u16>),
}

/// A running SMS centre; [`RunningSmsc::shutdown`] stops it.
#[derive(Debug)]
pub struct RunningSmsc {
    local_addr: SocketAddr,
    modem_addrs: Vec<(String, SocketAddr)>,
    pty_paths: Vec<(String, PathBuf)>,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl RunningSmsc {
    /// The SMPP listen address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The TCP address of the virtual modem of `msisdn`.
    pub fn modem_addr(&self, msisdn: &str) -> Option<SocketAddr> {
        let d = telsec_smpp::submission::e164(msisdn)?;
        self.modem_addrs
            .iter()
            .find(|(m, _)| *m == d)
            .map(|(_, a)| *a)
    }

    /// The pty link of the virtual modem of `msisdn`.
    pub fn modem_pty(&self, msisdn: &str) -> Option<&std::path::Path> {
        let d = telsec_smpp::submission::e164(msisdn)?;
        self.pty_paths
            .iter()
            .find(|(m, _)| *m == d)
            .map(|(_, p)| p.as_path())
    }

    /// Unbinds every ESME, closes every endpoint and waits for the tasks.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        for (_, p) in &self.pty_paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Starts the SMS centre. Must be called inside a tokio runtime.
pub async fn start(settings: SmscSettings) -> Result<RunningSmsc, SmscError> {
    settings.validate()?;
    let io = |what: String| move |source| SmscError::Io { what, source };
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(io(format!("SMPP listen {}", settings.listen)))?;
    let local_addr = listener.local_addr().map_err(io("SMPP listen".into()))?;
    let mut centre = Centre::new(settings.centre_config());
    let clock = Now::system();
    centre.set_first_message_id(clock.unix_secs);
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut modem_addrs = Vec::new();
    let mut pty_paths = Vec::new();
    for m in &settings.modems {
        let msisdn = centre
            .add_subscriber(&m.msisdn)
            .map_err(|e| SmscError::Invalid(e.to_string()))?;
        if let Some(addr) = m.tcp {
            let l = TcpListener::bind(addr)
                .await
                .map_err(io(format!("modem {msisdn} listen {addr}")))?;
            let bound = l.local_addr().map_err(io(format!("modem {msisdn}")))?;
            modem_addrs.push((msisdn.clone(), bound));
            tasks.spawn(modem_tcp_loop(
                l,
                msisdn.clone(),
                settings.vmodem_config(),
                core_tx.clone(),
                stop_rx.clone(),
            ));
        }
        if let Some(path) = &m.pty {
            let pty = pty::Pty::open(path)
                .map_err(io(format!("modem {msisdn} pty {}", path.display())))?;
            pty_paths.push((msisdn.clone(), path.clone()));
            tasks.spawn(modem_pty_loop(
                pty,
                msisdn.clone(),
                settings.vmodem_config(),
                core_tx.clone(),
                stop_rx.clone(),
            ));
        }
    }
    tasks.spawn(run_core(centre, core_rx, stop_rx.clone()));
    tasks.spawn(accept_loop(
        listener,
        settings.session_config(),
        core_tx,
        stop_rx,
    ));
    info!(%local_addr, modems = settings.modems.len(), "SMS centre serving SMPP");
    Ok(RunningSmsc {
        local_addr,
        modem_addrs,
        pty_paths,
        stop,
        tasks,
    })
}

/// Sleep until `at`, or forever when there is no deadline.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// The centre task: connection reports in, deliveries out.
async fn run_core(
    mut centre: Centre,
    mut rx: mpsc::UnboundedReceiver<CoreMsg>,
    mut stop: watch::Receiver<bool>,
) {
    let mut esmes: HashMap<EsmeId, mpsc::UnboundedSender<ToEsme>> = HashMap::new();
    let mut modems: HashMap<String, mpsc::UnboundedSender<ToModem>> = HashMap::new();
    loop {
        while let Some(out) = centre.poll_output() {
            let (delivery, sent) = match out {
                Output::ToModem {
                    msisdn,
                    delivery,
                    tpdu,
                } => (
                    delivery,
                    modems
                        .get(&msisdn)
                        .is_some_and(|tx| tx.send(ToModem::Deliver(delivery, tpdu)).is_ok()),
                ),
                Output::ToEsme {
                    esme,
                    delivery,
                    deliver_sm,
                } => (
                    delivery,
                    esmes
                        .get(&esme)
                        .is_some_and(|tx| tx.send(ToEsme::Deliver(delivery, deliver_sm)).is_ok()),
                ),
            };
            if !sent {
                centre.delivery_outcome(Now::system(), delivery, Outcome::TemporaryFailure);
            }
        }
        let msg = tokio::select! {
            m = rx.recv() => match m {
                Some(m) => m,
                None => return,
            },
            _ = sleep_until(centre.poll_timeout()) => {
                centre.handle_timeout(Now::system());
                continue;
            }
            _ = stop.changed() => return,
        };
        let now = Now::system();
        match msg {
            CoreMsg::EsmeConnected(id, tx) => {
                esmes.insert(id, tx);
            }
            CoreMsg::EsmeBound(id, binding) => centre.esme_bound(now, id, binding),
            CoreMsg::EsmeGone(id) => {
                esmes.remove(&id);
                centre.esme_unbound(now, id);
            }
            CoreMsg::Submit(id, sequence, submission) => {
                let result = centre.submit(now, id, &submission);
                match &result {
                    Ok(mid) => {
                        info!(esme = id.0, message_id = %mid, to = %submission.destination, "submit_sm accepted")
                    }
                    Err(st) => {
                        info!(esme = id.0, status = ?st, to = %submission.destination, "submit_sm refused")
                    }
                }
                if let Some(tx) = esmes.get(&id) {
                    let _ = tx.send(ToEsme::SubmitResult(sequence, result));
                }
            }
            CoreMsg::Outcome(d, o) => centre.delivery_outcome(now, d, o),
            CoreMsg::ModemConnected(msisdn, tx) => {
                modems.insert(msisdn, tx);
            }
            CoreMsg::ModemReady(msisdn, ready) => centre.modem_ready(now, &msisdn, ready),
            CoreMsg::ModemGone(msisdn) => {
                modems.remove(&msisdn);
                centre.modem_ready(now, &msisdn, false);
            }
            CoreMsg::MoSubmit(msisdn, submit) => {
                let result = centre.submit_mo(now, &msisdn, &submit);
                match &result {
                    Ok(mid) => info!(%msisdn, message_id = %mid, "MO message accepted"),
                    Err(code) => info!(%msisdn, cms = code, "MO message refused"),
                }
                if let Some(tx) = modems.get(&msisdn) {
                    let _ = tx.send(ToModem::SubmitResult(result.map(|_| ())));
                }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: SmscSessionConfig,
    core: mpsc::UnboundedSender<CoreMsg>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next = 0u64;
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    next += 1;
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_esme(EsmeId(next), stream, peer, config.clone(), core.clone(), stop.clone()));
                }
                Err(e) => {
                    warn!(error = %e, "SMPP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    while conns.join_next().await.is_some() {}
}

/// One ESME connection.
async fn serve_esme(
    id: EsmeId,
    mut stream: TcpStream,
    peer: SocketAddr,
    config: SmscSessionConfig,
    core: mpsc::UnboundedSender<CoreMsg>,
    mut stop: watch::Receiver<bool>,
) {
    let mut session = SmscSession::new(config, Instant::now());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _ = core.send(CoreMsg::EsmeConnected(id, tx));
    let mut stopping = false;
    let mut buf = vec![0u8; 16 * 1024];
    debug!(esme = id.0, %peer, "SMPP connection accepted");
    let reason = loop {
        while let Some(ev) = session.poll_event() {
            match ev {
                SmscEvent::Bound {
                    system_id,
                    mode,
                    interface_version,
                    address_range,
                } => {
                    info!(esme = id.0, %peer, %system_id, ?mode, "ESME bound");
                    let _ = core.send(CoreMsg::EsmeBound(
                        id,
                        Binding {
                            system_id,
                            receives: mode.receives(),
                            address_range,
                            interface_version,
                        },
                    ));
                }
                SmscEvent::BindRefused { system_id, status } => {
                    warn!(esme = id.0, %peer, %system_id, ?status, "bind refused");
                }
                SmscEvent::Submit {
                    sequence,
                    submission,
                } => {
                    let _ = core.send(CoreMsg::Submit(id, sequence, submission));
                }
                SmscEvent::Refused { command_id, status } => {
                    debug!(esme = id.0, command_id, ?status, "request refused");
                }
                SmscEvent::DeliverResult { delivery, status } => {
                    let _ = core.send(CoreMsg::Outcome(delivery, Outcome::from_status(status)));
                }
                SmscEvent::Closed(r) => debug!(esme = id.0, reason = ?r, "SMPP session closed"),
            }
        }
        let mut failed = None;
        while let Some(b) = session.poll_transmit() {
            if let Err(e) = stream.write_all(&b).await {
                failed = Some(format!("write failed: {e}"));
                break;
            }
        }
        if let Some(r) = failed {
            break r;
        }
        if session.is_closed() {
            break "session closed".to_owned();
        }
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) => break "peer closed".to_owned(),
                Ok(n) => session.handle_input(Instant::now(), &buf[..n]),
                Err(e) => break format!("read failed: {e}"),
            },
            Some(msg) = rx.recv() => match msg {
                ToEsme::SubmitResult(seq, r) => session.answer_submit(seq, r),
                ToEsme::Deliver(d, sm) => {
                    if let Err(e) = session.deliver(Instant::now(), d, *sm) {
                        debug!(esme = id.0, error = %e, "deliver_sm not sent");
                        let _ = core.send(CoreMsg::Outcome(d, Outcome::TemporaryFailure));
                    }
                }
            },
            _ = sleep_until(session.poll_timeout()) => session.handle_timeout(Instant::now()),
            _ = stop.changed(), if !stopping => {
                stopping = true;
                session.unbind(Instant::now());
            }
        }
    };
    debug!(esme = id.0, %peer, reason, "SMPP connection closed");
    // Deliveries still open on this connection failed.
    while let Some(ev) = session.poll_event() {
        if let SmscEvent::DeliverResult { delivery, status } = ev {
            let _ = core.send(CoreMsg::Outcome(delivery, Outcome::from_status(status)));
        }
    }
    let _ = core.send(CoreMsg::EsmeGone(id));
}

async fn modem_tcp_loop(
    listener: TcpListener,
    msisdn: String,
    config: VmodemConfig,
    core: mpsc::UnboundedSender<CoreMsg>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(x) => x,
                Err(e) => {
                    warn!(%msisdn, error = %e, "modem accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        info!(%msisdn, %peer, "terminal connected to virtual modem");
        let (r, w) = stream.into_split();
        // One terminal at a time: others are turned away while it stays.
        let serve = run_modem(r, w, &msisdn, config.clone(), &core, stop.clone());
        tokio::pin!(serve);
        loop {
            tokio::select! {
                _ = &mut serve => break,
                a = listener.accept() => match a {
                    Ok((extra, p)) => {
                        debug!(%msisdn, peer = %p, "virtual modem busy; connection closed");
                        drop(extra);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
            }
        }
        info!(%msisdn, %peer, "terminal left virtual modem");
        if *stop.borrow() {
            return;
        }
    }
}

async fn modem_pty_loop(
    mut pty: pty::Pty,
    msisdn: String,
    config: VmodemConfig,
    core: mpsc::UnboundedSender<CoreMsg>,
    stop: watch::Receiver<bool>,
) {
    info!(%msisdn, path = %pty.link().display(), "virtual modem on pty");
    let pty::Pty { reader, writer, .. } = &mut pty;
    run_modem(reader, writer, &msisdn, config, &core, stop).await;
}

/// One terminal session on a virtual modem.
async fn run_modem<R, W>(
    mut reader: R,
    mut writer: W,
    msisdn: &str,
    config: VmodemConfig,
    core: &mpsc::UnboundedSender<CoreMsg>,
    mut stop: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut vm = VirtualModem::new(config);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _ = core.send(CoreMsg::ModemConnected(msisdn.to_owned(), tx));
    let mut buf = vec![0u8; 4096];
    loop {
        report_modem(&mut vm, msisdn, core);
        let mut failed = false;
        while let Some(b) = vm.poll_transmit() {
            if writer.write_all(&b).await.is_err() {
                failed = true;
                break;
            }
        }
        if failed || writer.flush().await.is_err() {
            break;
        }
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => vm.handle_input(Instant::now(), &buf[..n]),
            },
            Some(msg) = rx.recv() => match msg {
                ToModem::Deliver(d, tpdu) => {
                    if vm.deliver(Instant::now(), d, tpdu).is_err() {
                        let _ = core.send(CoreMsg::Outcome(d, Outcome::TemporaryFailure));
                    }
                }
                ToModem::SubmitResult(r) => vm.submit_result(Instant::now(), r),
            },
            _ = sleep_until(vm.poll_timeout()) => vm.handle_timeout(Instant::now()),
            _ = stop.changed() => break,
        }
    }
    vm.close();
    report_modem(&mut vm, msisdn, core);
    let _ = core.send(CoreMsg::ModemGone(msisdn.to_owned()));
}

fn report_modem(vm: &mut VirtualModem, msisdn: &str, core: &mpsc::UnboundedSender<CoreMsg>) {
    while let Some(ev) = vm.poll_event() {
        let msg = match ev {
            VmodemEvent::Ready(r) => {
                debug!(%msisdn, ready = r, "virtual modem routing changed");
                CoreMsg::ModemReady(msisdn.to_owned(), r)
            }
            VmodemEvent::Submit { submit, .. } => CoreMsg::MoSubmit(msisdn.to_owned(), submit),
            VmodemEvent::Delivered(d) => CoreMsg::Outcome(d, Outcome::Delivered),
            VmodemEvent::DeliveryFailed(d) => CoreMsg::Outcome(d, Outcome::TemporaryFailure),
        };
        let _ = core.send(msg);
    }
}

/// A pty whose slave is linked to a path (POSIX `posix_openpt`,
/// `grantpt`, `unlockpt`, `ptsname`, through rustix's safe wrappers).
mod pty {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::path::{Path, PathBuf};

    use rustix::fs::{Mode, OFlags};
    use rustix::pty::OpenptFlags;
    use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};
    use tokio::net::unix::pipe;

    /// The master side. tokio's pipe halves poll any non-blocking
    /// descriptor, a pty master included, without unsafe code here.
    #[derive(Debug)]
    pub struct Pty {
        /// Reads what the terminal writes.
        pub reader: pipe::Receiver,
        /// Writes to the terminal (a duplicate of the master descriptor).
        pub writer: pipe::Sender,
        /// Held open so the master never reads EIO between terminals.
        _slave: OwnedFd,
        link: PathBuf,
    }

    impl Pty {
        /// Opens a pty in raw mode and links its slave to `link`
        /// (replacing a stale link). Must run inside a tokio runtime.
        pub fn open(link: &Path) -> io::Result<Pty> {
            let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
            rustix::pty::grantpt(&master)?;
            rustix::pty::unlockpt(&master)?;
            let name = rustix::pty::ptsname(&master, Vec::new())?;
            let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
            let slave = rustix::fs::open(
                &slave_path,
                OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            // Raw mode: no echo, no line editing, no CR/LF mapping.
            let mut t = tcgetattr(&slave)?;
            t.make_raw();
            tcsetattr(&slave, OptionalActions::Now, &t)?;
            rustix::io::ioctl_fionbio(&master, true)?;
            let write_fd = rustix::io::fcntl_dupfd_cloexec(&master, 0)?;
            if std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink()) {
                std::fs::remove_file(link)?;
            }
            std::os::unix::fs::symlink(&slave_path, link)?;
            Ok(Pty {
                reader: pipe::Receiver::from_owned_fd_unchecked(master)?,
                writer: pipe::Sender::from_owned_fd_unchecked(write_fd)?,
                _slave: slave,
                link: link.to_path_buf(),
            })
        }

        /// The configured link path.
        pub fn link(&self) -> &Path {
            &self.link
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_and_checks() {
        let s: SmscSettings = toml::from_str("").unwrap();
        assert_eq!(s, SmscSettings::default());
        assert_eq!(s.listen, "127.0.0.1:2775".parse().unwrap());
        s.validate().unwrap();
        let s: SmscSettings = toml::from_str(
            r#"
            listen = "127.0.0.29:2775"
            address = "+4420000099"
            queue_size = 5
            [[accounts]]
            system_id = "homeagent"
            password = "s3cret"
            [[modems]]
            msisdn = "+491701234567"
            tcp = "127.0.0.29:7001"
            [[modems]]
            msisdn = "491701234568"
            pty = "/run/telsec/modem1"
            [[routes]]
            prefix = "+4420"
            system_id = "homeagent"
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.centre_config().routes[0].prefix, "4420");
        assert_eq!(s.centre_config().queue_limit, 5);
        assert!(s.vmodem_config().smsc.is_some());
        assert!(toml::from_str::<SmscSettings>("bogus = 1").is_err());
        let bad = |f: fn(&mut SmscSettings)| {
            let mut s = SmscSettings::default();
            f(&mut s);
            s.validate().is_err()
        };
        assert!(bad(|s| s.system_id = "x".repeat(16)));
        assert!(bad(|s| s.address = "abc".into()));
        assert!(bad(|s| s.accounts.push(AccountSettings {
            system_id: "a".into(),
            password: "123456789".into()
        })));
        assert!(bad(|s| s.modems.push(ModemSettings {
            msisdn: "12ab".into(),
            tcp: None,
            pty: Some("/x".into())
        })));
        assert!(bad(|s| s.modems.push(ModemSettings {
            msisdn: "12".into(),
            tcp: None,
            pty: None
        })));
        assert!(bad(|s| {
            let m = ModemSettings {
                msisdn: "12".into(),
                tcp: None,
                pty: Some("/x".into()),
            };
            s.modems = vec![
                m.clone(),
                ModemSettings {
                    msisdn: "+12".into(),
                    ..m
                },
            ];
        }));
        assert!(bad(|s| s.queue_size = 0));
    }
}
