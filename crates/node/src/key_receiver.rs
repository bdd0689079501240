//! The mobile node's side of key delivery by SMS (seed 000, made secure):
//! talks TS 27.005 to a modem (a serial device or pty, or telsec's SMS
//! centre's virtual modem over TCP) through [`telsec_sms::ModemSession`],
//! asks the home agent's key service for a key with an MO SMS, unwraps the
//! secured packet that comes back with the USIM ([`telsec_keydist`]), and
//! installs the MN-HA key in the mobile node. A packet for another SIM, a
//! bad MAC or an old counter is dropped and logged; a stale challenge is
//! answered with a resynchronisation request carrying AUTS.
//!
//! The counters of accepted packets are saved (atomically) after each
//! accepted key, bound to the SIM's IMSI: a state file written for another
//! IMSI is not used (after a SIM swap the node starts afresh).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use telsec_auth::usim::Card;
use telsec_keydist::packet::PORT;
use telsec_keydist::receiver::{Receiver, Reject};
use telsec_mip::ReplayMode;
use telsec_sms::{
    Address, Alphabet, Dcs, ModemConfig, ModemEvent, ModemSession, Reassembled, Reassembler,
    ReassemblerConfig, SmsSubmit, split_binary,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::mn_service::MnCommand;

/// Where the modem is.
#[derive(Debug, Clone)]
pub enum ModemLink {
    /// A TCP endpoint speaking AT (telsec's virtual modem).
    Tcp(SocketAddr),
    /// A serial device or pty.
    Device(PathBuf),
}

/// How the receiver is set up.
#[derive(Debug, Clone)]
pub struct KeyReceiverParams {
    /// The modem.
    pub modem: ModemLink,
    /// The key service's number (E.164, `+` form), where requests go.
    pub service_number: String,
    /// Ask for a key as soon as the modem is ready.
    pub request_at_start: bool,
    /// The counters' state file.
    pub state_file: PathBuf,
    /// Where to report what happened (for timelines); may be absent.
    pub notify: Option<mpsc::Sender<KeyEvent>>,
}

/// What the receiver did, for an application's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEvent {
    /// A key request (or resynchronisation request) was sent.
    Requested {
        /// Whether it was a resynchronisation request.
        resync: bool,
    },
    /// A key was unwrapped and handed to the node.
    Installed {
        /// Its SPI.
        spi: u32,
    },
    /// A packet was dropped.
    Rejected(String),
}

fn notify(params: &KeyReceiverParams, e: KeyEvent) {
    if let Some(tx) = &params.notify {
        let _ = tx.try_send(e);
    }
}

/// Errors of the receiver task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    /// The modem could not be opened or failed.
    #[error("modem: {0}")]
    Modem(std::io::Error),
    /// The state file could not be written.
    #[error("state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The modem refused its set-up.
    #[error("modem set-up failed: {0}")]
    Setup(String),
}

/// A running receiver.
#[derive(Debug)]
pub struct RunningReceiver {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ReceiverError>>,
}

impl RunningReceiver {
    /// Stops the task.
    pub async fn shutdown(self) -> Result<(), ReceiverError> {
        let _ = self.stop.send(());
        self.task
            .await
            .unwrap_or_else(|e| Err(ReceiverError::Modem(std::io::Error::other(e))))
    }
}

/// Restores the receiver's counters from `path` when they were saved for
/// the same IMSI.
pub fn restore_counters(receiver: &mut Receiver, path: &std::path::Path) {
    match crate::atomic_file::read_if_exists(path) {
        Ok(Some(bytes)) => {
            if let Err(e) = receiver.restore(&bytes) {
                warn!(error = %e, path = %path.display(), "key counters not restored (another SIM?)");
            }
        }
        Ok(None) => {}
        Err(e) => warn!(error = %e, path = %path.display(), "key counters unreadable"),
    }
}

/// Starts the receiver.
pub async fn start<C: Card + Send + 'static>(
    params: KeyReceiverParams,
    card: C,
    receiver: Receiver,
    node: mpsc::Sender<MnCommand>,
) -> Result<RunningReceiver, ReceiverError> {
    let (stop, stop_rx) = oneshot::channel();
    let task = match &params.modem {
        ModemLink::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(ReceiverError::Modem)?;
            let (r, w) = stream.into_split();
            tokio::spawn(run(params, card, receiver, node, r, w, stop_rx))
        }
        ModemLink::Device(path) => {
            let file = tokio::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .await
                .map_err(ReceiverError::Modem)?;
            let writer = file.try_clone().await.map_err(ReceiverError::Modem)?;
            tokio::spawn(run(params, card, receiver, node, file, writer, stop_rx))
        }
    };
    Ok(RunningReceiver { stop, task })
}

async fn run<C: Card, R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    params: KeyReceiverParams,
    mut card: C,
    mut receiver: Receiver,
    node: mpsc::Sender<MnCommand>,
    mut reader: R,
    mut writer: W,
    mut stop: oneshot::Receiver<()>,
) -> Result<(), ReceiverError> {
    let mut modem = ModemSession::new(ModemConfig::default(), Instant::now());
    let mut reassembler = Reassembler::new(ReassemblerConfig::default());
    let mut buf = vec![0u8; 4096];
    let mut reference: u16 = rand::random();
    loop {
        // Events may queue commands, and commands may finish at once: go
        // round until both queues are empty.
        loop {
            let mut idle = true;
            while let Some(out) = modem.poll_transmit() {
                idle = false;
                writer.write_all(&out).await.map_err(ReceiverError::Modem)?;
            }
            let Some(event) = modem.poll_event() else {
                if idle {
                    break;
                }
                continue;
            };
            match event {
                ModemEvent::Ready => {
                    info!("modem ready");
                    if params.request_at_start {
                        reference = reference.wrapping_add(1);
                        send(
                            &mut modem,
                            &params.service_number,
                            &Receiver::key_request(),
                            reference,
                        );
                        notify(&params, KeyEvent::Requested { resync: false });
                    }
                }
                ModemEvent::InitFailed { command, error } => {
                    return Err(ReceiverError::Setup(format!("{command:?}: {error}")));
                }
                ModemEvent::Received { deliver, .. } => {
                    let from = deliver.originator.as_str().to_owned();
                    match reassembler.push(Instant::now(), &from, &deliver.user_data) {
                        Reassembled::Complete {
                            data,
                            ports: Some((PORT, _)),
                        } => {
                            let resync =
                                accept(&mut card, &mut receiver, &data, &from, &node, &params)
                                    .await?;
                            if let Some(req) = resync {
                                reference = reference.wrapping_add(1);
                                send(&mut modem, &params.service_number, &req, reference);
                                notify(&params, KeyEvent::Requested { resync: true });
                            }
                        }
                        Reassembled::Complete { .. } => {
                            debug!(from = %from, "SMS not for the key port");
                        }
                        Reassembled::Pending => {}
                        Reassembled::Rejected => warn!(from = %from, "SMS segment rejected"),
                    }
                }
                ModemEvent::Sent { mr, .. } => debug!(mr, "request sent"),
                ModemEvent::SendFailed { error, .. } => warn!(%error, "request not sent"),
                other => debug!(event = ?other, "modem"),
            }
        }
        let sleep = modem
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = &mut stop => return Ok(()),
            r = reader.read(&mut buf) => match r {
                Ok(0) => return Err(ReceiverError::Modem(std::io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => modem.handle_input(Instant::now(), &buf[..n]),
                Err(e) => return Err(ReceiverError::Modem(e)),
            },
            () = tokio::time::sleep(sleep) => {
                let now = Instant::now();
                modem.handle_timeout(now);
                reassembler.expire(now);
            }
        }
    }
}

/// Sends `payload` as a port-addressed binary MO SMS.
fn send(modem: &mut ModemSession, to: &str, payload: &[u8], reference: u16) {
    let (Ok(dest), Ok(parts)) = (
        Address::international(to),
        split_binary(payload, PORT, PORT, reference),
    ) else {
        warn!(to, "cannot address the key service");
        return;
    };
    for ud in parts {
        let submit = SmsSubmit::new(dest.clone(), Dcs::general(Alphabet::Data8, None), ud);
        if let Err(e) = modem.send(Instant::now(), &submit) {
            warn!(error = %e, "cannot queue request");
        }
    }
}

/// Unwraps one packet; installs the key, or logs why not. Returns a
/// resynchronisation request to send when the challenge was stale.
async fn accept<C: Card>(
    card: &mut C,
    receiver: &mut Receiver,
    data: &[u8],
    from: &str,
    node: &mpsc::Sender<MnCommand>,
    params: &KeyReceiverParams,
) -> Result<Option<Vec<u8>>, ReceiverError> {
    match receiver.unwrap(card, data) {
        Ok(record) => {
            crate::atomic_file::replace(&params.state_file, &receiver.snapshot()).map_err(
                |source| ReceiverError::State {
                    path: params.state_file.clone(),
                    source,
                },
            )?;
            match record.security_association(ReplayMode::default()) {
                Ok(sa) => {
                    info!(from, spi = sa.spi(), "MN-HA key received by SMS");
                    notify(params, KeyEvent::Installed { spi: sa.spi() });
                    let _ = node.send(MnCommand::InstallSa(sa)).await;
                }
                Err(e) => warn!(from, error = %e, "key record unusable"),
            }
            Ok(None)
        }
        Err(reject @ Reject::StaleVector { .. }) => {
            notify(params, KeyEvent::Rejected(reject.to_string()));
            warn!(target: "telsec::keys", from, reason = %reject, "key packet dropped; asking to resynchronise");
            Ok(reject.resync_request())
        }
        Err(reject) => {
            notify(params, KeyEvent::Rejected(reject.to_string()));
            warn!(target: "telsec::keys", from, reason = %reject, "key packet dropped");
            Ok(None)
        }
    }
}
