//! GSUP over IPA on TCP, serving an [`HlrCore`].
//!
//! One thread owns the core (its SQLite store is blocking and single-writer);
//! one tokio task per TCP connection runs a [`ServerConn`] and forwards
//! decoded requests to the core thread, which answers through a per-connection
//! channel. The core thread also drives the core's timers (Update Location
//! waiting for Insert Data Result).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use rand::CryptoRng;
use telsec_gsup::GsupMessage;
use telsec_gsup::session::{ServerConfig, ServerConn, ServerEvent};
use telsec_hlr::{ConnId, ConnInfo, HlrCore, Outgoing};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

/// What connection tasks tell the core thread.
enum CoreCommand {
    Connected(ConnInfo, mpsc::UnboundedSender<GsupMessage>),
    Request(ConnId, GsupMessage),
    Disconnected(ConnId),
    Shutdown,
}

/// A running HLR service; dropping it does not stop it, [`RunningHlr::shutdown`] does.
#[derive(Debug)]
pub struct RunningHlr {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    accept_task: tokio::task::JoinHandle<()>,
    core_thread: std::thread::JoinHandle<()>,
}

impl RunningHlr {
    /// The address GSUP clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting, close every connection and wait for the core thread.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept_task.await;
        let core = self.core_thread;
        let _ = tokio::task::spawn_blocking(move || core.join()).await;
    }
}

/// Bind `addr` and serve `core` until shut down. Must be called inside a tokio runtime.
pub async fn start<R>(addr: SocketAddr, core: HlrCore<R>) -> std::io::Result<RunningHlr>
where
    R: CryptoRng + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let (core_tx, core_rx) = std_mpsc::channel();
    let (stop, stop_rx) = watch::channel(false);
    let core_thread = std::thread::Builder::new()
        .name("hlr-core".into())
        .spawn(move || run_core(core, core_rx))?;
    let accept_task = tokio::spawn(accept_loop(listener, core_tx, stop_rx));
    info!(%local_addr, "HLR serving GSUP over IPA");
    Ok(RunningHlr {
        local_addr,
        stop,
        accept_task,
        core_thread,
    })
}

async fn accept_loop(
    listener: TcpListener,
    core_tx: std_mpsc::Sender<CoreCommand>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next_id = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    next_id += 1;
                    let _ = stream.set_nodelay(true);
                    tasks.spawn(serve_connection(
                        ConnId(next_id),
                        stream,
                        peer,
                        core_tx.clone(),
                        stop.clone(),
                    ));
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    let _ = core_tx.send(CoreCommand::Shutdown);
}

/// The core thread: requests in, answers routed to their connections.
fn run_core<R: CryptoRng>(mut core: HlrCore<R>, commands: std_mpsc::Receiver<CoreCommand>) {
    let mut conns: HashMap<ConnId, (ConnInfo, mpsc::UnboundedSender<GsupMessage>)> = HashMap::new();
    let route = |conns: &HashMap<ConnId, (ConnInfo, mpsc::UnboundedSender<GsupMessage>)>,
                 out: Vec<Outgoing>| {
        for Outgoing { conn, msg } in out {
            match conns.get(&conn) {
                Some((_, tx)) => {
                    let _ = tx.send(msg);
                }
                None => debug!(conn = conn.0, "answer for a closed connection dropped"),
            }
        }
    };
    loop {
        let command = match core.poll_timeout() {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                match commands.recv_timeout(wait) {
                    Ok(c) => Some(c),
                    Err(std_mpsc::RecvTimeoutError::Timeout) => None,
                    Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match commands.recv() {
                Ok(c) => Some(c),
                Err(_) => return,
            },
        };
        match command {
            None => {
                let out = core.handle_timeout(Instant::now());
                route(&conns, out);
            }
            Some(CoreCommand::Connected(info, tx)) => {
                core.peer_connected(&info);
                conns.insert(info.id, (info, tx));
            }
            Some(CoreCommand::Request(id, msg)) => {
                let Some((info, _)) = conns.get(&id) else {
                    continue;
                };
                let out = core.handle(Instant::now(), info, msg);
                route(&conns, out);
            }
            Some(CoreCommand::Disconnected(id)) => {
                conns.remove(&id);
                core.peer_disconnected(id);
            }
            Some(CoreCommand::Shutdown) => return,
        }
    }
}

/// One TCP connection: bytes to the [`ServerConn`], requests to the core,
/// answers back out.
async fn serve_connection(
    id: ConnId,
    mut stream: TcpStream,
    peer: SocketAddr,
    core_tx: std_mpsc::Sender<CoreCommand>,
    mut stop: watch::Receiver<bool>,
) {
    let mut session = ServerConn::new(ServerConfig::default(), Instant::now());
    let (answer_tx, mut answers) = mpsc::unbounded_channel();
    let mut answer_tx = Some(answer_tx);
    let mut identified = false;
    let mut buf = vec![0u8; 16 * 1024];
    debug!(conn = id.0, %peer, "GSUP connection accepted");
    let reason = loop {
        // Events first: they may queue frames to transmit.
        while let Some(event) = session.poll_event() {
            match event {
                ServerEvent::Identified(identity) => {
                    let peer_name = identity.ipa_name().unwrap_or_default().to_vec();
                    if let Some(tx) = answer_tx.take() {
                        identified = true;
                        let info = ConnInfo { id, peer_name };
                        let _ = core_tx.send(CoreCommand::Connected(info, tx));
                    }
                }
                ServerEvent::Message(msg) => {
                    let _ = core_tx.send(CoreCommand::Request(id, msg));
                }
                ServerEvent::BadMessage(bad) => {
                    warn!(conn = id.0, %peer, error = %bad.error, "malformed GSUP message");
                    if let Some(reply) = bad.reply
                        && let Err(e) = session.send(&reply)
                    {
                        warn!(conn = id.0, error = %e, "cannot answer malformed message");
                    }
                }
                ServerEvent::Error(e) => {
                    warn!(conn = id.0, %peer, error = %e, "GSUP session problem");
                }
            }
        }
        let mut failed = None;
        while let Some(frame) = session.poll_transmit() {
            if let Err(e) = stream.write_all(&frame).await {
                failed = Some(format!("write failed: {e}"));
                break;
            }
        }
        if let Some(reason) = failed {
            break reason;
        }
        if session.is_closed() {
            break "session closed".to_owned();
        }
        let timeout = session.poll_timeout();
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) => break "peer closed".to_owned(),
                Ok(n) => session.handle_bytes(&buf[..n]),
                Err(e) => break format!("read failed: {e}"),
            },
            Some(msg) = answers.recv() => {
                if let Err(e) = session.send(&msg) {
                    warn!(conn = id.0, error = %e, "cannot send answer");
                }
                // Send everything already answered in one write burst.
                while let Ok(msg) = answers.try_recv() {
                    if let Err(e) = session.send(&msg) {
                        warn!(conn = id.0, error = %e, "cannot send answer");
                    }
                }
            }
            _ = sleep_until(timeout) => session.handle_timeout(Instant::now()),
            _ = stop.changed() => break "shutting down".to_owned(),
        }
    };
    debug!(conn = id.0, %peer, reason, "GSUP connection closed");
    if identified {
        let _ = core_tx.send(CoreCommand::Disconnected(id));
    }
}

/// Sleep until `at`, or forever when there is no deadline.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
