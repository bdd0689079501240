//! The home agent's key service (seed 000, made secure): a mobile node
//! asks for a key with an MO SMS (or the operator pushes one); the service
//! takes a fresh authentication vector for the subscriber from the HLR
//! over GSUP, seals a new MN-HA key into a secured packet
//! ([`telsec_keydist::issuer`]), saves the packet counters, installs the
//! new SA in the home agent, and sends the packet by SMPP through the SMS
//! centre to the subscriber's provisioned MSISDN. A resynchronisation
//! request (AUTS) goes back to the HLR the same way. Refusals (unknown
//! number, rate limit, malformed) are logged with their reason.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use telsec_auth::aka::AuthVector;
use telsec_keydist::issuer::{Action, Issuer, IssuerConfig, Subscriber};
use telsec_keydist::packet::PORT;
use telsec_smpp::EsmeConfig;
use telsec_smpp::rusmpp::pdus::{DeliverSm, SubmitSm};
use telsec_smpp::rusmpp::types::OctetString;
use telsec_smpp::rusmpp::values::{DataCoding, EsmClass, Npi, Ton};
use telsec_sms::UserDataHeader;
use telsec_sms::udh::InformationElement;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::gsup_client::HlrLink;
use crate::ha_service::{HaCommand, now_ms};
use crate::smpp_client::SmppClient;

/// How the key service is set up.
#[derive(Debug, Clone)]
pub struct KeyServiceParams {
    /// The HLR's GSUP address (telsec's or osmo-hlr).
    pub hlr: SocketAddr,
    /// The SMS centre's SMPP address.
    pub smsc: SocketAddr,
    /// SMPP system_id.
    pub system_id: String,
    /// SMPP password.
    pub password: String,
    /// The service's own number: requests are sent to it, keys come from it.
    pub service_number: String,
    /// The home agent's FQDN (the NAF name in the key derivation).
    pub fqdn: String,
    /// The home agent's address, written into each key record.
    pub home_agent: Ipv4Addr,
    /// The issuer's counters.
    pub state_file: PathBuf,
    /// Subscribers who may receive keys.
    pub subscribers: Vec<Subscriber>,
    /// Send every subscriber a key at start ("at provisioning").
    pub push_at_start: bool,
}

/// Errors starting the key service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyServiceError {
    /// The SMS centre could not be reached or refused the bind.
    #[error("SMS centre: {0}")]
    Smsc(#[from] crate::smpp_client::ClientError),
    /// The issuer's configuration or state is unusable.
    #[error("issuer: {0}")]
    Issuer(String),
    /// The counters file could not be read or written.
    #[error("state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Requests to the running service.
#[derive(Debug)]
pub enum KeyCommand {
    /// Send a fresh key to this IMSI's node now; answers with the SPI.
    Push(String, oneshot::Sender<Result<u32, String>>),
}

/// A running key service.
#[derive(Debug)]
pub struct RunningKeyService {
    commands: mpsc::Sender<KeyCommand>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningKeyService {
    /// A sender for [`KeyCommand`]s.
    pub fn commands(&self) -> mpsc::Sender<KeyCommand> {
        self.commands.clone()
    }

    /// Stops the service.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Starts the service: restores counters, binds to the SMS centre.
pub async fn start(
    params: KeyServiceParams,
    issuer_config: IssuerConfig,
    ha: mpsc::Sender<HaCommand>,
) -> Result<RunningKeyService, KeyServiceError> {
    let mut issuer =
        Issuer::with_os_rng(issuer_config).map_err(|e| KeyServiceError::Issuer(e.to_string()))?;
    let mut pushes = Vec::new();
    for sub in &params.subscribers {
        let action = issuer
            .provision(sub.clone())
            .map_err(|e| KeyServiceError::Issuer(e.to_string()))?;
        if params.push_at_start {
            pushes.push(action);
        }
    }
    match crate::atomic_file::read_if_exists(&params.state_file) {
        Ok(Some(bytes)) => issuer
            .restore(&bytes)
            .map_err(|e| KeyServiceError::Issuer(e.to_string()))?,
        Ok(None) => {}
        Err(source) => {
            return Err(KeyServiceError::State {
                path: params.state_file.clone(),
                source,
            });
        }
    }
    let (smpp, deliveries) = SmppClient::connect(
        params.smsc,
        EsmeConfig {
            system_id: params.system_id.clone(),
            password: params.password.clone(),
            ..EsmeConfig::default()
        },
    )
    .await?;
    info!(smsc = %params.smsc, service = %params.service_number, "key service bound to the SMS centre");
    let (commands, rx) = mpsc::channel(16);
    let (stop, stop_rx) = oneshot::channel();
    let hlr = HlrLink::new(params.hlr, "telsec-ha-keys");
    let service = Service {
        params,
        issuer,
        smpp,
        ha,
        hlr,
        reference: rand::random(),
    };
    let task = tokio::spawn(service.run(deliveries, rx, stop_rx, pushes));
    Ok(RunningKeyService {
        commands,
        stop,
        task,
    })
}

struct Service {
    params: KeyServiceParams,
    issuer: Issuer<telsec_keydist::issuer::OsRng>,
    smpp: SmppClient,
    ha: mpsc::Sender<HaCommand>,
    hlr: HlrLink,
    reference: u16,
}

impl Service {
    async fn run(
        mut self,
        mut deliveries: mpsc::Receiver<DeliverSm>,
        mut commands: mpsc::Receiver<KeyCommand>,
        mut stop: oneshot::Receiver<()>,
        pushes: Vec<Action>,
    ) {
        for action in pushes {
            let _ = self.act(action).await;
        }
        loop {
            tokio::select! {
                _ = &mut stop => break,
                Some(d) = deliveries.recv() => self.delivered(&d).await,
                Some(cmd) = commands.recv() => match cmd {
                    KeyCommand::Push(imsi, tx) => {
                        let r = self.act(Action::NeedVector { imsi }).await;
                        let _ = tx.send(r);
                    }
                },
                else => break,
            }
        }
        self.smpp.unbind().await;
        info!("key service stopped");
    }

    /// An MO message (or a receipt) from the SMS centre.
    async fn delivered(&mut self, d: &DeliverSm) {
        let from = d.source_addr.as_str().to_owned();
        let esm = u8::from(d.esm_class);
        if esm & 0x3C != 0 {
            // A delivery receipt (SMPP 3.4 §5.2.12 message type bits).
            info!(from, "delivery receipt");
            return;
        }
        let sm = d.short_message().as_ref();
        let (ports, data) = if esm & 0x40 != 0 {
            match UserDataHeader::parse(sm) {
                Ok((h, len)) => (h.ports(), &sm[len..]),
                Err(e) => {
                    warn!(target: "telsec::keys", from, error = %e, "request with a bad header dropped");
                    return;
                }
            }
        } else {
            (None, sm)
        };
        if ports.map(|(dst, _)| dst) != Some(PORT) {
            info!(from, "message not for the key port ignored");
            return;
        }
        let action = self.issuer.on_request(now_ms(), &from, data);
        let _ = self.act(action).await;
    }

    /// Carries out what the issuer asked for; the SPI of a sent key.
    async fn act(&mut self, action: Action) -> Result<u32, String> {
        let (imsi, resync) = match action {
            Action::NeedVector { imsi } => (imsi, None),
            Action::NeedResync { imsi, rand, auts } => (imsi, Some((rand, auts))),
            Action::Refused { from, reason } => {
                warn!(target: "telsec::keys", from, %reason, "key request refused");
                return Err(reason.to_string());
            }
        };
        let vector = self.vector(&imsi, resync).await.map_err(|e| {
            warn!(target: "telsec::keys", imsi, error = %e, "no vector from the HLR");
            e
        })?;
        let issued = self
            .issuer
            .on_vector(now_ms(), &imsi, &vector)
            .map_err(|e| e.to_string())?;
        // The counter is durable before the packet exists anywhere else.
        crate::atomic_file::replace(&self.params.state_file, &self.issuer.snapshot())
            .map_err(|e| format!("state file: {e}"))?;
        let spi = issued.sa.spi();
        self.ha
            .send(HaCommand::InstallSa {
                home: issued.home_address,
                sa: issued.sa.clone(),
            })
            .await
            .map_err(|_| "home agent stopped".to_string())?;
        let sm = self.submit_sm(&issued.msisdn, &issued.sms_payload)?;
        match self.smpp.submit(sm).await {
            Ok(message_id) => {
                info!(target: "telsec::keys", imsi, msisdn = %issued.msisdn, spi, counter = issued.counter, message_id, "key sent by SMS");
                Ok(spi)
            }
            Err(e) => {
                warn!(target: "telsec::keys", imsi, error = %e, "SMS centre refused the key");
                Err(e.to_string())
            }
        }
    }

    /// One vector from the HLR (reconnecting when needed).
    async fn vector(
        &mut self,
        imsi: &str,
        resync: Option<([u8; 16], [u8; 14])>,
    ) -> Result<AuthVector, String> {
        self.hlr.vector(imsi, resync).await
    }

    /// A binary, port-addressed submit_sm to `msisdn`.
    fn submit_sm(&mut self, msisdn: &str, payload: &[u8]) -> Result<SubmitSm, String> {
        self.reference = self.reference.wrapping_add(1);
        let mut ud = Vec::new();
        UserDataHeader {
            elements: vec![InformationElement::Port16 {
                dst: PORT,
                src: PORT,
            }],
        }
        .emit(&mut ud)
        .map_err(|e| e.to_string())?;
        ud.extend_from_slice(payload);
        let digits = |s: &str| s.trim_start_matches('+').to_owned();
        Ok(SubmitSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr(
                digits(&self.params.service_number)
                    .parse()
                    .map_err(|_| "bad service number")?,
            )
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(digits(msisdn).parse().map_err(|_| "bad MSISDN")?)
            .esm_class(EsmClass::from(0x40))
            .data_coding(DataCoding::from(0x04))
            .short_message(OctetString::from_slice(&ud).map_err(|_| "key packet too long")?)
            .build())
    }
}
