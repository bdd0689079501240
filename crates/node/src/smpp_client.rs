//! An async SMPP client (ESME) over TCP, for the home agent's key service:
//! bind, submit messages and await their message_id, and receive
//! deliver_sm (mobile-originated messages and delivery receipts) on a
//! channel. The protocol is the sans-IO [`EsmeSession`]; this task only
//! moves its octets and timers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use telsec_smpp::rusmpp::CommandStatus;
use telsec_smpp::rusmpp::pdus::{DeliverSm, SubmitSm};
use telsec_smpp::{
    EsmeCloseReason, EsmeConfig, EsmeEvent, EsmeSession, RequestId, SmppError, SubmitFailure,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

/// Received deliver_sm queued before the client answers `ESME_RX_T_APPN`
/// (the SMSC then retries later).
pub const DELIVERY_QUEUE: usize = 64;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The TCP connection failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The SMSC refused the bind (e.g. `ESME_RINVPASWD`).
    #[error("bind refused: {0:?}")]
    BindRefused(CommandStatus),
    /// The SMSC refused the submit_sm.
    #[error("refused: {0:?}")]
    Refused(CommandStatus),
    /// No response in time.
    #[error("timed out")]
    Timeout,
    /// The session ended.
    #[error("session closed")]
    Closed,
    /// The session refused the request (window full, bad field, …).
    #[error(transparent)]
    Session(#[from] SmppError),
}

enum Command {
    Submit(Box<SubmitSm>, oneshot::Sender<Result<String, ClientError>>),
    Unbind(oneshot::Sender<()>),
}

/// A bound SMPP client; cloning shares the connection.
#[derive(Debug, Clone)]
pub struct SmppClient {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Submit(..) => "Submit",
            Command::Unbind(_) => "Unbind",
        })
    }
}

impl SmppClient {
    /// Connects to `addr` and binds with `config`; returns the client and
    /// the channel of received deliver_sm.
    pub async fn connect(
        addr: SocketAddr,
        config: EsmeConfig,
    ) -> Result<(SmppClient, mpsc::Receiver<DeliverSm>), ClientError> {
        let stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        let session = EsmeSession::new(config, Instant::now())?;
        let (commands, rx) = mpsc::channel(64);
        let (deliveries, delivered) = mpsc::channel(DELIVERY_QUEUE);
        let (bound_tx, bound_rx) = oneshot::channel();
        tokio::spawn(drive(stream, session, rx, deliveries, bound_tx));
        match bound_rx.await {
            Ok(Ok(())) => Ok((SmppClient { commands }, delivered)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ClientError::Closed),
        }
    }

    /// Submits a message and waits for its message_id.
    pub async fn submit(&self, sm: SubmitSm) -> Result<String, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Submit(Box::new(sm), tx))
            .await
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Unbinds and waits until the session has ended.
    pub async fn unbind(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Unbind(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

async fn drive(
    mut stream: TcpStream,
    mut session: EsmeSession,
    mut commands: mpsc::Receiver<Command>,
    deliveries: mpsc::Sender<DeliverSm>,
    bound: oneshot::Sender<Result<(), ClientError>>,
) {
    let mut bound = Some(bound);
    let mut waiting: HashMap<RequestId, oneshot::Sender<Result<String, ClientError>>> =
        HashMap::new();
    let mut unbinding: Vec<oneshot::Sender<()>> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(ev) = session.poll_event() {
            match ev {
                EsmeEvent::Bound { smsc_system_id } => {
                    debug!(%smsc_system_id, "bound to SMSC");
                    if let Some(b) = bound.take() {
                        let _ = b.send(Ok(()));
                    }
                }
                EsmeEvent::SubmitResult { id, result } => {
                    if let Some(tx) = waiting.remove(&id) {
                        let _ = tx.send(result.map_err(|f| match f {
                            SubmitFailure::Status(s) => ClientError::Refused(s),
                            SubmitFailure::Timeout => ClientError::Timeout,
                            SubmitFailure::Closed => ClientError::Closed,
                        }));
                    }
                }
                EsmeEvent::Deliver {
                    sequence,
                    deliver_sm,
                } => {
                    let status = match deliveries.try_send(*deliver_sm) {
                        Ok(()) => CommandStatus::EsmeRok,
                        Err(_) => {
                            warn!("deliver_sm queue full; asking the SMSC to retry");
                            CommandStatus::EsmeRxTAppn
                        }
                    };
                    session.answer_deliver(sequence, status);
                }
                EsmeEvent::Closed(reason) => {
                    debug!(?reason, "SMPP session ended");
                    if let Some(b) = bound.take() {
                        let _ = b.send(Err(match reason {
                            EsmeCloseReason::BindRefused(s) => ClientError::BindRefused(s),
                            EsmeCloseReason::Timeout => ClientError::Timeout,
                            _ => ClientError::Closed,
                        }));
                    }
                }
            }
        }
        let mut failed = false;
        while let Some(b) = session.poll_transmit() {
            if stream.write_all(&b).await.is_err() {
                failed = true;
                break;
            }
        }
        if failed || session.is_closed() {
            break;
        }
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => session.handle_input(Instant::now(), &buf[..n]),
            },
            cmd = commands.recv() => match cmd {
                Some(Command::Submit(sm, tx)) => match session.submit(Instant::now(), *sm) {
                    Ok(id) => {
                        waiting.insert(id, tx);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                    }
                },
                Some(Command::Unbind(tx)) => {
                    unbinding.push(tx);
                    session.unbind(Instant::now());
                }
                None => session.unbind(Instant::now()),
            },
            _ = sleep_until(session.poll_timeout()) => session.handle_timeout(Instant::now()),
        }
    }
    for (_, tx) in waiting {
        let _ = tx.send(Err(ClientError::Closed));
    }
    if let Some(b) = bound.take() {
        let _ = b.send(Err(ClientError::Closed));
    }
    drop(unbinding);
}
