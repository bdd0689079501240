//! Timing relays for the bootstrap benchmark's attributed passes: a UDP
//! relay (node ↔ bootstrap service, bootstrap service ↔ DNS) and a TCP
//! relay for GSUP over IPA (bootstrap service ↔ HLR). Each forwards the
//! octets unchanged and adds to a [`Meter`] the time from a request
//! leaving through it to the peer's answer coming back: the time spent
//! in (and on the way to) the peer, as the caller sees it.
//!
//! The relays add two loopback hops per exchange; the benchmark therefore
//! reports the relayed pass beside an unrelayed one and takes throughput
//! and latency from the latter.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use telsec_bootstrap::message::{MessageType as BootstrapType, Packet as BootstrapPacket};
use telsec_gsup::ipa::{OsmoExt, StreamId};
use telsec_gsup::{FrameDecoder, MessageType as GsupType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// Total time and number of exchanges, per bucket.
#[derive(Debug)]
pub(super) struct Meter {
    buckets: Mutex<Vec<(Duration, u64)>>,
}

impl Meter {
    /// A meter with `n` buckets.
    pub(super) fn new(n: usize) -> Arc<Meter> {
        Arc::new(Meter {
            buckets: Mutex::new(vec![(Duration::ZERO, 0); n]),
        })
    }

    fn add(&self, bucket: usize, elapsed: Duration) {
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((total, count)) = b.get_mut(bucket) {
            *total += elapsed;
            *count += 1;
        }
    }

    /// The totals so far.
    pub(super) fn totals(&self) -> Vec<(Duration, u64)> {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running relay; stopping it (or dropping it) ends every task.
#[derive(Debug)]
pub(super) struct Relay {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Relay {
    /// Where the relay listens.
    pub(super) fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // The task owns the JoinSet of per-client tasks: aborting it drops
        // the set, which aborts them.
        self.task.abort();
    }
}

/// Buckets of the node ↔ bootstrap service relay, by the node's request
/// (ARCHITECTURE.md, telsec-bootstrap: Start; the EAP Identity response,
/// answered after the HLR's vector; the EAP Challenge response, answered
/// with Success; the sealed ConfigRequest).
pub(super) mod node_bucket {
    /// Start → EAP Request/AKA'-Identity.
    pub const START: usize = 0;
    /// Response/AKA'-Identity → Request/AKA'-Challenge (the HLR vector).
    pub const IDENTITY: usize = 1;
    /// Response/AKA'-Challenge (and any further EAP) → the next EAP packet.
    pub const CHALLENGE: usize = 2;
    /// ConfigRequest → ConfigResponse (decision, DNS, files, SA).
    pub const CONFIG: usize = 3;
    /// Number of buckets.
    pub const COUNT: usize = 4;
}

/// Buckets of the bootstrap service ↔ HLR relay, by GSUP procedure.
pub(super) mod hlr_bucket {
    /// SendAuthInfo request → result.
    pub const SEND_AUTH_INFO: usize = 0;
    /// UpdateLocation request → Insert Subscriber Data → result (the
    /// MSISDN), including the service's Insert Data result.
    pub const UPDATE_LOCATION: usize = 1;
    /// Number of buckets.
    pub const COUNT: usize = 2;
}

/// A UDP flow without answers for this long is closed, so a long run does
/// not keep one socket per client it ever saw. Longer than a bootstrap
/// exchange; a node retransmitting after that opens a new flow.
const IDLE: Duration = Duration::from_secs(2);

/// What a UDP relay remembers of one client.
#[derive(Debug, Default)]
struct Flow {
    /// The request waiting for its answer: when it left and its bucket.
    pending: Option<(Instant, usize)>,
    /// EAP packets the client has sent (the first is the Identity response).
    eap_sent: u32,
}

/// How a UDP relay sorts requests into buckets.
#[derive(Debug, Clone, Copy)]
pub(super) enum Classify {
    /// Every request in bucket 0.
    Single,
    /// The bootstrap protocol's requests ([`node_bucket`]); other octets
    /// are forwarded but not timed.
    Bootstrap,
}

fn classify(how: Classify, datagram: &[u8], flow: &mut Flow) -> Option<usize> {
    match how {
        Classify::Single => Some(0),
        Classify::Bootstrap => {
            let packet = BootstrapPacket::new_checked(datagram).ok()?;
            match packet.msg_type() {
                BootstrapType::Start => {
                    // A new session: the client's port may be one an
                    // earlier node used.
                    flow.eap_sent = 0;
                    Some(node_bucket::START)
                }
                BootstrapType::Eap => {
                    flow.eap_sent += 1;
                    Some(if flow.eap_sent == 1 {
                        node_bucket::IDENTITY
                    } else {
                        node_bucket::CHALLENGE
                    })
                }
                BootstrapType::ConfigRequest => Some(node_bucket::CONFIG),
                _ => None,
            }
        }
    }
}

/// Starts a UDP relay on `listen` (port 0) towards `upstream`: one
/// upstream socket per client, so answers find their way back. A repeated
/// request while one is pending (a retransmission) keeps the first time.
pub(super) async fn udp(
    listen: SocketAddr,
    upstream: SocketAddr,
    how: Classify,
    meter: Arc<Meter>,
) -> io::Result<Relay> {
    let front = Arc::new(UdpSocket::bind(listen).await?);
    let addr = front.local_addr()?;
    let task = tokio::spawn(async move {
        let mut flows: HashMap<SocketAddr, (Arc<UdpSocket>, Arc<Mutex<Flow>>)> = HashMap::new();
        let mut readers = JoinSet::new();
        let mut buf = vec![0u8; 65_535];
        loop {
            tokio::select! {
                r = front.recv_from(&mut buf) => {
                    let Ok((n, client)) = r else { continue };
                    let now = Instant::now();
                    let (up, flow) = match flows.get(&client) {
                        Some(f) => f.clone(),
                        None => {
                            let Ok(up) = bind_connected(listen, upstream).await else { continue };
                            let f = (Arc::new(up), Arc::new(Mutex::new(Flow::default())));
                            readers.spawn(answers(f.0.clone(), f.1.clone(), front.clone(), client, meter.clone()));
                            flows.insert(client, f.clone());
                            f
                        }
                    };
                    {
                        let mut flow = flow.lock().unwrap_or_else(PoisonError::into_inner);
                        if flow.pending.is_none()
                            && let Some(bucket) = classify(how, &buf[..n], &mut flow)
                        {
                            flow.pending = Some((now, bucket));
                        }
                    }
                    let _ = up.send(&buf[..n]).await;
                }
                Some(r) = readers.join_next(), if !readers.is_empty() => {
                    if let Ok(client) = r {
                        flows.remove(&client);
                    }
                }
            }
        }
    });
    Ok(Relay { addr, task })
}

async fn bind_connected(listen: SocketAddr, upstream: SocketAddr) -> io::Result<UdpSocket> {
    let local = SocketAddr::new(listen.ip(), 0);
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    Ok(socket)
}

/// Answers from upstream to one client, timed against its pending request,
/// until the flow has been idle (nothing pending) for [`IDLE`]; returns
/// the client, whose flow is then forgotten (its next datagram opens a new
/// one).
async fn answers(
    up: Arc<UdpSocket>,
    flow: Arc<Mutex<Flow>>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    meter: Arc<Meter>,
) -> SocketAddr {
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = match tokio::time::timeout(IDLE, up.recv(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => break,
            // Idle, unless a request still waits for its answer.
            Err(_) => {
                if flow
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pending
                    .is_some()
                {
                    continue;
                }
                break;
            }
        };
        let now = Instant::now();
        let pending = flow
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .take();
        if let Some((sent, bucket)) = pending {
            meter.add(bucket, now.saturating_duration_since(sent));
        }
        let _ = front.send_to(&buf[..n], client).await;
    }
    client
}

/// The GSUP exchange in progress on one connection.
#[derive(Debug, Default)]
struct Exchange {
    /// When the client's latest unanswered GSUP frame left.
    open: Option<Instant>,
    /// The procedure it belongs to ([`hlr_bucket`]).
    procedure: usize,
}

/// Starts a TCP relay for GSUP over IPA on `listen` (port 0) towards
/// `upstream`. Time runs from a GSUP frame of the client to the HLR's
/// next GSUP frame; IPA CCM (identity, keep-alive) is not timed.
pub(super) async fn gsup(
    listen: SocketAddr,
    upstream: SocketAddr,
    meter: Arc<Meter>,
) -> io::Result<Relay> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                r = listener.accept() => {
                    let Ok((client, _)) = r else { continue };
                    let Ok(server) = TcpStream::connect(upstream).await else { continue };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let exchange = Arc::new(Mutex::new(Exchange::default()));
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    conns.spawn(pump(cr, sw, Direction::Request, exchange.clone(), meter.clone()));
                    conns.spawn(pump(sr, cw, Direction::Answer, exchange, meter.clone()));
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok(Relay { addr, task })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Answer,
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    direction: Direction,
    exchange: Arc<Mutex<Exchange>>,
    meter: Arc<Meter>,
) {
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        // The exchange is opened before the request is forwarded: the
        // answer may come back before this task runs again.
        decoder.feed(&buf[..n]);
        // A stream the decoder refuses is still relayed, only not timed.
        while let Ok(Some(frame)) = decoder.next_frame() {
            if frame.stream != StreamId::Osmo {
                continue;
            }
            let Ok((OsmoExt::Gsup, gsup)) = frame.osmo_ext() else {
                continue;
            };
            let Some(&kind) = gsup.first() else { continue };
            let mut ex = exchange.lock().unwrap_or_else(PoisonError::into_inner);
            match direction {
                Direction::Request => {
                    match GsupType::from(kind) {
                        GsupType::SendAuthInfoRequest => {
                            ex.procedure = hlr_bucket::SEND_AUTH_INFO;
                        }
                        GsupType::UpdateLocationRequest => {
                            ex.procedure = hlr_bucket::UPDATE_LOCATION;
                        }
                        _ => {}
                    }
                    ex.open.get_or_insert(now);
                }
                Direction::Answer => {
                    if let Some(sent) = ex.open.take() {
                        meter.add(ex.procedure, now.saturating_duration_since(sent));
                    }
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn loopback() -> SocketAddr {
        (Ipv4Addr::LOCALHOST, 0).into()
    }

    /// A UDP server answering each datagram with its octets reversed.
    async fn reverser() -> SocketAddr {
        let s = UdpSocket::bind(loopback()).await.unwrap();
        let addr = s.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                let mut v = buf[..n].to_vec();
                v.reverse();
                let _ = s.send_to(&v, from).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn udp_relay_forwards_and_times_each_exchange_once() {
        let meter = Meter::new(1);
        let relay = udp(
            loopback(),
            reverser().await,
            Classify::Single,
            meter.clone(),
        )
        .await
        .unwrap();
        let mut clients = Vec::new();
        for _ in 0..2 {
            let c = UdpSocket::bind(loopback()).await.unwrap();
            c.connect(relay.local_addr()).await.unwrap();
            clients.push(c);
        }
        let mut buf = [0u8; 64];
        for (i, c) in clients.iter().enumerate() {
            c.send(&[1, 2, i as u8]).await.unwrap();
            let n = c.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i as u8, 2, 1]);
        }
        let totals = meter.totals();
        assert_eq!(totals[0].1, 2, "{totals:?}");
        assert!(totals[0].0 > Duration::ZERO);
    }

    #[test]
    fn bootstrap_requests_are_classified_by_type_and_session() {
        let header = |t: u8, seq: u8| {
            let mut h = [0u8; 16];
            h[0] = 1;
            h[1] = t;
            h[3] = 16;
            h[15] = seq;
            h
        };
        let mut flow = Flow::default();
        let how = Classify::Bootstrap;
        assert_eq!(
            classify(how, &header(1, 1), &mut flow),
            Some(node_bucket::START)
        );
        assert_eq!(
            classify(how, &header(2, 2), &mut flow),
            Some(node_bucket::IDENTITY)
        );
        assert_eq!(
            classify(how, &header(2, 3), &mut flow),
            Some(node_bucket::CHALLENGE)
        );
        assert_eq!(
            classify(how, &header(3, 4), &mut flow),
            Some(node_bucket::CONFIG)
        );
        // A later node on the same port starts over.
        assert_eq!(
            classify(how, &header(1, 1), &mut flow),
            Some(node_bucket::START)
        );
        assert_eq!(
            classify(how, &header(2, 2), &mut flow),
            Some(node_bucket::IDENTITY)
        );
        // Not a bootstrap message: relayed, not timed.
        assert_eq!(classify(how, &[0xff; 3], &mut flow), None);
    }
}
