//! The tokio driver: UDP and TCP sockets around `ZoneServer`.
//!
//! Thin on purpose: it reads a datagram or a length-prefixed TCP message
//! (RFC 1035 §4.2.2; RFC 7766 allows several per connection), hands the
//! bytes and the wall-clock time to the core on the blocking pool (an
//! update waits for `fdatasync`), and writes back what the core returns.

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, UdpSocket},
    sync::Semaphore,
    task::JoinSet,
};

use crate::{
    Error, Transport,
    key::{Grant, TsigKey},
    server::ZoneServer,
    zone::ZoneConfig,
};

/// Requests handled at once (UDP datagrams plus TCP connections).
const MAX_IN_FLIGHT: usize = 256;
/// A TCP connection idle this long is closed (RFC 7766 §6.2.3 suggests
/// seconds, not minutes).
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The zone's SOA/NS data.
    pub zone: ZoneConfig,
    /// UDP and TCP address to listen on.
    pub listen: SocketAddr,
    /// Directory for the journal and snapshot; `None` keeps the zone in
    /// memory only.
    pub storage: Option<PathBuf>,
    /// Keys and their grants.
    pub keys: Vec<(TsigKey, Grant)>,
}

/// Shared access to a running server's core (add node keys, inspect).
#[derive(Debug, Clone)]
pub struct ServerHandle {
    core: Arc<Mutex<ZoneServer>>,
}

impl ServerHandle {
    fn lock(&self) -> MutexGuard<'_, ZoneServer> {
        // A panic while holding the lock cannot leave the zone half
        // updated in a way the next request could observe worse than the
        // panic itself; keep serving.
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or replaces a key (e.g. a node's key, issued at bootstrap).
    pub fn add_key(&self, key: TsigKey, grant: Grant) {
        self.lock().add_key(key, grant);
    }

    /// Removes a key; true if it was known.
    pub fn remove_key(&self, name: &crate::Name) -> bool {
        self.lock().remove_key(name)
    }

    /// Current SOA serial.
    pub fn serial(&self) -> u32 {
        self.lock().serial()
    }

    /// What a query for `name`/`rtype` would answer.
    pub fn lookup(
        &self,
        name: &crate::Name,
        rtype: crate::RecordType,
    ) -> Vec<hickory_proto::rr::Record> {
        self.lock().lookup(name, rtype)
    }
}

/// A bound, not yet running, server.
#[derive(Debug)]
pub struct DnsServer {
    core: Arc<Mutex<ZoneServer>>,
    udp: Arc<UdpSocket>,
    tcp: TcpListener,
    addr: SocketAddr,
}

impl DnsServer {
    /// Opens the zone (replaying its storage) and binds UDP and TCP on
    /// `config.listen` (port 0 picks one port for both).
    pub async fn bind(config: ServerConfig) -> Result<Self, Error> {
        let mut core = match &config.storage {
            Some(dir) => ZoneServer::open(config.zone.clone(), dir)?,
            None => ZoneServer::in_memory(config.zone.clone()),
        };
        for (key, grant) in config.keys {
            core.add_key(key, grant);
        }
        Self::bind_core(core, config.listen).await
    }

    /// Binds an already built core.
    pub async fn bind_core(core: ZoneServer, listen: SocketAddr) -> Result<Self, Error> {
        let sock_err = |addr| move |source| Error::Socket { addr, source };
        let udp = UdpSocket::bind(listen).await.map_err(sock_err(listen))?;
        let addr = udp.local_addr().map_err(sock_err(listen))?;
        let tcp = TcpListener::bind(addr).await.map_err(sock_err(addr))?;
        Ok(Self {
            core: Arc::new(Mutex::new(core)),
            udp: Arc::new(udp),
            tcp,
            addr,
        })
    }

    /// The address bound (UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle on the core, usable while the server runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            core: self.core.clone(),
        }
    }

    /// Serves until `shutdown` completes; then stops accepting, aborts
    /// connections and returns. Every acknowledged update is already on
    /// disk, so nothing needs flushing.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut tasks = JoinSet::new();
        let mut buf = vec![0u8; 65535];
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                r = self.udp.recv_from(&mut buf) => {
                    let Ok((len, peer)) = r else { continue };
                    let Ok(permit) = limit.clone().acquire_owned().await else { break };
                    let request = buf[..len].to_vec();
                    let core = self.core.clone();
                    let udp = self.udp.clone();
                    tasks.spawn(async move {
                        if let Some(answer) = answer(core, request, Transport::Udp).await {
                            let _ = udp.send_to(&answer, peer).await;
                        }
                        drop(permit);
                    });
                }
                r = self.tcp.accept() => {
                    let Ok((stream, _)) = r else { continue };
                    let Ok(permit) = limit.clone().acquire_owned().await else { break };
                    let core = self.core.clone();
                    tasks.spawn(async move {
                        serve_tcp(core, stream).await;
                        drop(permit);
                    });
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tasks.shutdown().await;
        Ok(())
    }
}

/// Binds and serves `config` until `shutdown` completes.
pub async fn serve(config: ServerConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    DnsServer::bind(config).await?.run(shutdown).await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn answer(
    core: Arc<Mutex<ZoneServer>>,
    request: Vec<u8>,
    transport: Transport,
) -> Option<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let mut core = core.lock().unwrap_or_else(|p| p.into_inner());
        core.handle(&request, transport, unix_now())
    })
    .await
    .ok()
    .flatten()
}

async fn serve_tcp(core: Arc<Mutex<ZoneServer>>, mut stream: TcpStream) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut request)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let Some(answer) = answer(core.clone(), request, Transport::Tcp).await else {
            continue;
        };
        let Ok(alen) = u16::try_from(answer.len()) else {
            return;
        };
        let mut out = Vec::with_capacity(2 + answer.len());
        out.extend_from_slice(&alen.to_be_bytes());
        out.extend_from_slice(&answer);
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
