//! HLR/AuC core: the subscriber store, authentication vector generation and
//! GSUP request handling, without sockets or an async runtime.
//!
//! - [`store`]: one SQLite file (WAL) with numbered [`migrations`];
//!   subscriber secrets sealed with AES-256-GCM under a KEK ([`crypto`]);
//!   provisioning ([`model`]) and bulk CSV import ([`csv_import`]).
//! - [`auc`]: authentication vectors (triplets, quintets) per TS 33.102 and
//!   TS 43.020, with SQN generation per TS 33.102 Annex C.3 under a
//!   crash-safe lease ([`sqn_lease`]), from per-subscriber keys prepared
//!   once and kept, bounded and never stale, in memory ([`auc_cache`]).
//! - [`handler`]: the HLR's answers to GSUP requests (SendAuthInfo,
//!   UpdateLocation with InsertSubscriberData, PurgeMS, CheckIMEI), as
//!   osmo-hlr gives them; a driver feeds it decoded messages and sends what
//!   it returns.
#![forbid(unsafe_code)]

pub mod auc;
pub mod auc_cache;
pub mod crypto;
pub mod csv_import;
pub mod handler;
pub mod ids;
pub mod migrations;
pub mod model;
pub mod sqn_lease;
pub mod store;

pub use crate::auc::{Auc, AucConfig, AucError, Resync, UmtsVector, Vector, VectorRequest};
pub use crate::crypto::{CryptoError, KEK_ENV, Kek};
pub use crate::csv_import::{ImportError, ImportReport, RowError};
pub use crate::handler::{ConnId, ConnInfo, HlrConfig, HlrCore, Outgoing};
pub use crate::ids::{IdError, Imsi, Msisdn};
pub use crate::model::{
    Algorithm3g, Auth2g, Auth3g, Comp128Version, ModelError, NewSubscriber, OperatorKey,
    SecretBytes, Subscriber, SubscriberSecrets, SubscriberUpdate, TuakParams,
};
pub use crate::store::{CnDomain, Store, StoreError};
