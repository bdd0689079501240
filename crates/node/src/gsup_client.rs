//! A GSUP client over IPA/TCP for any HLR: telsec's own or osmo-hlr.
//!
//! The protocol work is [`ClientConn`]'s; this driver moves its bytes and
//! matches answers to requests. GSUP has no transaction id: osmo-hlr answers
//! a request with a message of the same procedure for the same IMSI, so
//! answers are matched by IMSI and procedure, and requests for one IMSI are
//! issued one at a time.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use telsec_gsup::ie::AuthTuple;
use telsec_gsup::session::{ClientConfig, ClientConn, ClientEvent, SessionError};
use telsec_gsup::{Cause, GsupMessage, Ie, Imsi, MessageType, UnitIdentity};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a GSUP exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// TCP failed.
    #[error("GSUP connection: {0}")]
    Io(#[from] std::io::Error),
    /// The HLR closed the connection.
    #[error("HLR closed the connection")]
    Closed,
    /// No answer in time.
    #[error("no answer from the HLR within {0:?}")]
    Timeout(Duration),
    /// The session broke (framing, identity, keep-alive).
    #[error("GSUP session: {0}")]
    Session(#[from] SessionError),
    /// The HLR answered with an error message and this cause.
    #[error("HLR refused {procedure:?}: {cause}")]
    Refused {
        /// The request type that was refused.
        procedure: MessageType,
        /// The GSUP cause.
        cause: Cause,
    },
    /// The HLR answered with something this client cannot use.
    #[error("unexpected answer from the HLR: {0}")]
    Unexpected(String),
}

/// What an Update Location told us about the subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationUpdate {
    /// The MSISDN from Insert Subscriber Data, as digits, if the HLR sent one.
    pub msisdn: Option<String>,
}

/// A connected, identified GSUP client.
#[derive(Debug)]
pub struct GsupClient {
    stream: TcpStream,
    session: ClientConn,
    buf: Vec<u8>,
    inbox: VecDeque<GsupMessage>,
    timeout: Duration,
}

impl GsupClient {
    /// Connect to `addr` and complete the IPA identity exchange as `identity`.
    pub async fn connect(
        addr: SocketAddr,
        identity: UnitIdentity,
        timeout: Duration,
    ) -> Result<GsupClient, ClientError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(timeout))??;
        stream.set_nodelay(true)?;
        let mut client = GsupClient {
            stream,
            session: ClientConn::new(ClientConfig::new(identity), Instant::now()),
            buf: vec![0u8; 16 * 1024],
            inbox: VecDeque::new(),
            timeout,
        };
        let deadline = Instant::now() + timeout;
        while !client.session.is_ready() {
            client.pump(deadline).await?;
        }
        Ok(client)
    }

    /// Queue a message and write it (and anything else pending) to the socket.
    pub async fn send(&mut self, msg: &GsupMessage) -> Result<(), ClientError> {
        self.session.send(msg)?;
        self.flush().await
    }

    /// The next GSUP message from the HLR.
    pub async fn recv(&mut self) -> Result<GsupMessage, ClientError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(msg) = self.inbox.pop_front() {
                return Ok(msg);
            }
            self.pump(deadline).await?;
        }
    }

    /// Send `request` and wait for the answer of the same procedure and IMSI.
    /// An error answer becomes [`ClientError::Refused`] with its cause.
    pub async fn request(&mut self, request: &GsupMessage) -> Result<GsupMessage, ClientError> {
        self.send(request).await?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(at) = self.inbox.iter().position(|m| answers(request, m)) {
                let Some(answer) = self.inbox.remove(at) else {
                    continue;
                };
                return refusal_to_error(request.msg_type, answer);
            }
            self.pump(deadline).await?;
        }
    }

    /// SendAuthInfo for `count` vectors (1..=5), optionally resynchronising
    /// with the USIM's AUTS and the RAND it answered.
    pub async fn send_auth_info(
        &mut self,
        imsi: &Imsi,
        count: u8,
        resync: Option<([u8; 16], [u8; 14])>,
    ) -> Result<Vec<AuthTuple>, ClientError> {
        self.send_auth_info_for(imsi, count, resync, false).await
    }

    /// SendAuthInfo as [`send_auth_info`](Self::send_auth_info); with
    /// `separation_bit` the request names E-UTRAN as the current RAT, so
    /// the HLR sets the AMF separation bit (TS 33.401 §6.1.1) that EAP-AKA'
    /// requires of its vectors (TS 33.402 §6.2, RFC 9048 §3).
    pub async fn send_auth_info_for(
        &mut self,
        imsi: &Imsi,
        count: u8,
        resync: Option<([u8; 16], [u8; 14])>,
        separation_bit: bool,
    ) -> Result<Vec<AuthTuple>, ClientError> {
        let mut request = match resync {
            Some((rand, auts)) => {
                GsupMessage::send_auth_info_resync_request(imsi.clone(), auts, rand)
            }
            None => GsupMessage::send_auth_info_request(imsi.clone()),
        };
        request.push(Ie::NumVectorsRequested(count));
        if separation_bit {
            request.push(Ie::CurrentRatType(telsec_gsup::ie::RatType::Eutran));
        }
        let answer = self.request(&request).await?;
        Ok(answer.auth_tuples().cloned().collect())
    }

    /// UpdateLocation (CS domain): answers the HLR's Insert Subscriber Data
    /// and returns what it carried once the HLR sends the result.
    pub async fn update_location(&mut self, imsi: &Imsi) -> Result<LocationUpdate, ClientError> {
        let request = GsupMessage::update_location_request(imsi.clone(), None);
        self.send(&request).await?;
        let deadline = Instant::now() + self.timeout;
        let mut update = LocationUpdate { msisdn: None };
        loop {
            while let Some(msg) = self.inbox.pop_front() {
                if msg.imsi != *imsi {
                    continue;
                }
                match msg.msg_type {
                    MessageType::InsertDataRequest => {
                        if let Some(msisdn) = msg.msisdn() {
                            update.msisdn = msisdn.digits().ok();
                        }
                        let ack = msg.response(false, true);
                        self.send(&ack).await?;
                    }
                    _ if answers(&request, &msg) => {
                        refusal_to_error(request.msg_type, msg)?;
                        return Ok(update);
                    }
                    _ => {}
                }
            }
            self.pump(deadline).await?;
        }
    }

    /// PurgeMS (CS domain).
    pub async fn purge_ms(&mut self, imsi: &Imsi) -> Result<(), ClientError> {
        self.request(&GsupMessage::purge_ms_request(imsi.clone(), None))
            .await
            .map(|_| ())
    }

    async fn flush(&mut self) -> Result<(), ClientError> {
        while let Some(frame) = self.session.poll_transmit() {
            self.stream.write_all(&frame).await?;
        }
        Ok(())
    }

    /// One round: write what is pending, read once (or time out), sort events.
    async fn pump(&mut self, deadline: Instant) -> Result<(), ClientError> {
        self.flush().await?;
        let now = Instant::now();
        if now >= deadline {
            return Err(ClientError::Timeout(self.timeout));
        }
        let wake = match self.session.poll_timeout() {
            Some(t) if t < deadline => t,
            _ => deadline,
        };
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake));
        tokio::select! {
            read = self.stream.read(&mut self.buf) => match read? {
                0 => return Err(ClientError::Closed),
                n => self.session.handle_bytes(&self.buf[..n]),
            },
            _ = sleep => self.session.handle_timeout(Instant::now()),
        }
        while let Some(event) = self.session.poll_event() {
            match event {
                ClientEvent::Message(msg) => self.inbox.push_back(msg),
                ClientEvent::Error(e) if e.is_fatal() => return Err(ClientError::Session(e)),
                ClientEvent::Error(e) => tracing::debug!(error = %e, "GSUP session notice"),
                ClientEvent::BadMessage(bad) => {
                    tracing::warn!(error = %bad.error, "malformed GSUP message from HLR")
                }
                ClientEvent::Ready | ClientEvent::IdentityAcknowledged => {}
            }
        }
        self.flush().await
    }
}

/// Whether `answer` is the result or error of `request`.
fn answers(request: &GsupMessage, answer: &GsupMessage) -> bool {
    answer.imsi == request.imsi
        && (answer.msg_type == request.msg_type.to_result()
            || answer.msg_type == request.msg_type.to_error())
}

fn refusal_to_error(
    procedure: MessageType,
    answer: GsupMessage,
) -> Result<GsupMessage, ClientError> {
    if answer.msg_type.is_error() {
        return Err(ClientError::Refused {
            procedure,
            cause: answer.cause().unwrap_or(Cause::ProtocolErrorUnspecified),
        });
    }
    Ok(answer)
}

/// A connection to the HLR that is opened on first use and once more when
/// it breaks: what the home agent's services (keys by SMS, bootstrap)
/// ask the HLR for.
#[derive(Debug)]
pub struct HlrLink {
    addr: SocketAddr,
    unit_name: String,
    client: Option<GsupClient>,
}

impl HlrLink {
    /// A link to the HLR at `addr`, announcing itself as `unit_name`.
    pub fn new(addr: SocketAddr, unit_name: &str) -> HlrLink {
        HlrLink {
            addr,
            unit_name: unit_name.to_owned(),
            client: None,
        }
    }

    /// One UMTS vector for `imsi` (resynchronising first with the USIM's
    /// RAND and AUTS when given). Errors are text for the log; the HLR's
    /// own refusal (e.g. unknown IMSI) is not retried.
    pub async fn vector(
        &mut self,
        imsi: &str,
        resync: Option<([u8; 16], [u8; 14])>,
    ) -> Result<telsec_auth::aka::AuthVector, String> {
        self.vector_for(imsi, resync, false).await
    }

    /// One vector as [`vector`](Self::vector); with `separation_bit` one for
    /// EAP-AKA' (AMF separation bit set, see
    /// [`GsupClient::send_auth_info_for`]).
    pub async fn vector_for(
        &mut self,
        imsi: &str,
        resync: Option<([u8; 16], [u8; 14])>,
        separation_bit: bool,
    ) -> Result<telsec_auth::aka::AuthVector, String> {
        let wire_imsi = Imsi::new(imsi).map_err(|e| e.to_string())?;
        for attempt in 0..2 {
            let client = self.client().await?;
            match client
                .send_auth_info_for(&wire_imsi, 1, resync, separation_bit)
                .await
            {
                Ok(tuples) => {
                    let t = tuples.first().ok_or("HLR returned no vector")?;
                    return umts_vector(t).ok_or_else(|| {
                        "HLR returned a GSM-only vector (no UMTS subscription)".into()
                    });
                }
                Err(e) if attempt == 0 && e.is_connection() => {
                    tracing::warn!(error = %e, "GSUP connection lost; reconnecting");
                    self.client = None;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("HLR connection lost".into())
    }

    /// The subscriber's MSISDN, from the Insert Subscriber Data of an
    /// UpdateLocation (None when the HLR has none).
    pub async fn msisdn(&mut self, imsi: &str) -> Result<Option<String>, String> {
        let wire_imsi = Imsi::new(imsi).map_err(|e| e.to_string())?;
        for attempt in 0..2 {
            let client = self.client().await?;
            match client.update_location(&wire_imsi).await {
                Ok(update) => return Ok(update.msisdn),
                Err(e) if attempt == 0 && e.is_connection() => {
                    tracing::warn!(error = %e, "GSUP connection lost; reconnecting");
                    self.client = None;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("HLR connection lost".into())
    }

    async fn client(&mut self) -> Result<&mut GsupClient, String> {
        if self.client.is_none() {
            let id = UnitIdentity::new("telsec", &self.unit_name);
            let c = GsupClient::connect(self.addr, id, Duration::from_secs(5))
                .await
                .map_err(|e| format!("HLR unreachable: {e}"))?;
            self.client = Some(c);
        }
        self.client
            .as_mut()
            .ok_or_else(|| "HLR unreachable".to_owned())
    }
}

impl ClientError {
    /// Whether the connection broke (worth one reconnect), as opposed to
    /// an answer from the HLR.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            ClientError::Io(_) | ClientError::Closed | ClientError::Session(_)
        )
    }
}

/// The UMTS vector of a GSUP auth tuple (None for a GSM-only triplet).
pub fn umts_vector(t: &AuthTuple) -> Option<telsec_auth::aka::AuthVector> {
    Some(telsec_auth::aka::AuthVector {
        rand: t.rand,
        xres: t.res.as_deref().and_then(telsec_auth::Res::new)?,
        ck: t.ck?,
        ik: t.ik?,
        autn: t.autn?,
    })
}
