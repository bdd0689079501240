//! The Authentication Centre: authentication vectors for one subscriber.
//!
//! - 3G subscribers (Milenage, TUAK) get quintets RAND, XRES, CK, IK, AUTN
//!   (TS 33.102 §6.3.2), each with a GSM triplet: SRES = c2(XRES),
//!   Kc = c3(CK, IK) (§6.8.1.2), or, when the subscriber also has a COMP128
//!   Ki, SRES/Kc computed by COMP128 over the same RAND (as osmo-hlr does for
//!   "3G + separate 2G" subscribers).
//! - 2G-only subscribers (COMP128) get triplets (TS 43.020 §3.3).
//!
//! RAND comes from the caller's CSPRNG. SQNs come from a crash-safe lease
//! ([`crate::sqn_lease`]). A resynchronisation request (RAND + AUTS) is
//! checked (MAC-S) before anything moves; a wrong MAC-S changes no state.

use rand::CryptoRng;
use telsec_auth::aka::{self, AkaError};
use telsec_auth::algorithm::Res;
use telsec_auth::convert;
use telsec_auth::sqn::{DEFAULT_DELTA, Sqn};
use zeroize::Zeroize;

use crate::auc_cache::{AucCache, DEFAULT_CACHE_SIZE, key16};
use crate::ids::Imsi;
use crate::model::Auth2g;
use crate::sqn_lease::{DEFAULT_LEASE_SIZE, DEFAULT_MAX_LEASES, Issue, LeaseError, SqnLeases};
use crate::store::{Store, StoreError};

/// Hard upper bound on vectors per request: keeps one request's work and
/// memory small. GSUP requests are further bounded to 5 by the HLR core
/// (osmo-hlr's `OSMO_GSUP_MAX_NUM_AUTH_INFO`).
pub const MAX_VECTORS: usize = 32;

/// AuC settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AucConfig {
    /// SEQ values reserved per durable lease write (default
    /// [`DEFAULT_LEASE_SIZE`]).
    pub lease_size: u32,
    /// At most this many vectors per request (1..=[`MAX_VECTORS`],
    /// default [`MAX_VECTORS`]).
    pub max_vectors: usize,
    /// Bound on subscribers with an in-memory lease.
    pub max_leases: usize,
    /// Bound on subscribers whose prepared keys are kept in memory
    /// (default [`DEFAULT_CACHE_SIZE`]); 0 reads and decrypts the
    /// subscriber's secrets on every request. See [`crate::auc_cache`].
    pub cache_size: usize,
}

impl Default for AucConfig {
    fn default() -> AucConfig {
        AucConfig {
            lease_size: DEFAULT_LEASE_SIZE,
            max_vectors: MAX_VECTORS,
            max_leases: DEFAULT_MAX_LEASES,
            cache_size: DEFAULT_CACHE_SIZE,
        }
    }
}

/// Why no vectors were produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AucError {
    /// No subscriber with this IMSI.
    #[error("unknown IMSI {0}")]
    UnknownImsi(Imsi),
    /// The subscriber exists but has no authentication data.
    #[error("IMSI {0} has no authentication data")]
    NoAuthData(Imsi),
    /// The subscriber is administratively disabled.
    #[error("IMSI {0} is disabled")]
    Disabled(Imsi),
    /// The number of vectors asked for is 0 or above the configured maximum.
    #[error("{asked} vectors requested, allowed 1..={max}")]
    VectorCount {
        /// The number asked for.
        asked: usize,
        /// The configured maximum.
        max: usize,
    },
    /// AUTS given for a subscriber without 3G data.
    #[error("resynchronisation requested for 2G-only IMSI {0}")]
    ResyncWithout3g(Imsi),
    /// The AUTS's MAC-S is wrong (TS 33.102 §6.3.5): not from this
    /// subscriber's USIM for this RAND. Nothing changed.
    #[error("AUTS of IMSI {0} has a wrong MAC-S")]
    AutsMac(Imsi),
    /// The subscriber's stored 3G data cannot drive the algorithm.
    #[error("IMSI {imsi}: unusable 3G data: {reason}")]
    Algorithm {
        /// The subscriber.
        imsi: Imsi,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is out of range.
    #[error("invalid AuC configuration: {0}")]
    Config(&'static str),
    /// Issuing SQNs failed.
    #[error(transparent)]
    Sqn(#[from] LeaseError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A resynchronisation request: the RAND of the challenge the USIM refused
/// and the AUTS it answered with (TS 33.102 §6.3.3, §6.3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resync {
    /// RAND of the refused challenge.
    pub rand: [u8; 16],
    /// AUTS = SQN_MS ⊕ AK* || MAC-S.
    pub auts: [u8; 14],
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorRequest {
    /// How many vectors (1..=max_vectors).
    pub count: usize,
    /// IND slot for the SQNs (reduced modulo 2^ind_bitlen): one per serving
    /// node, see [`Store::ind_for_peer`].
    pub ind: u32,
    /// Set the AMF separation bit (TS 33.102 Annex H; TS 33.401 §6.1.1),
    /// for vectors used in E-UTRAN. Otherwise it is cleared, as osmo-hlr does.
    pub separation_bit: bool,
    /// A resynchronisation to perform first.
    pub resync: Option<Resync>,
}

impl VectorRequest {
    /// `count` vectors for IND 0, no separation bit, no resync.
    pub fn new(count: usize) -> VectorRequest {
        VectorRequest {
            count,
            ind: 0,
            separation_bit: false,
            resync: None,
        }
    }
}

/// The UMTS part of a vector. CK and IK are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct UmtsVector {
    /// Expected response f2(RAND).
    pub xres: Res,
    /// Cipher key f3(RAND).
    pub ck: [u8; 16],
    /// Integrity key f4(RAND).
    pub ik: [u8; 16],
    /// SQN ⊕ AK || AMF || MAC-A.
    pub autn: [u8; 16],
    /// The SQN in AUTN (for logs and tests; the VLR never sees it).
    pub sqn: Sqn,
}

impl Drop for UmtsVector {
    fn drop(&mut self) {
        self.ck.zeroize();
        self.ik.zeroize();
    }
}

impl core::fmt::Debug for UmtsVector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UmtsVector")
            .field("autn", &hex::encode(self.autn))
            .field("sqn", &self.sqn)
            .finish_non_exhaustive()
    }
}

/// One authentication vector: always a GSM triplet, plus the UMTS quintet
/// fields for 3G subscribers. Kc is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Vector {
    /// The challenge.
    pub rand: [u8; 16],
    /// Signed response (A3, or c2 of XRES).
    pub sres: [u8; 4],
    /// GSM cipher key (A8, or c3 of CK, IK).
    pub kc: [u8; 8],
    /// The quintet, for 3G subscribers.
    pub umts: Option<UmtsVector>,
}

impl Drop for Vector {
    fn drop(&mut self) {
        self.kc.zeroize();
    }
}

impl core::fmt::Debug for Vector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vector")
            .field("rand", &hex::encode(self.rand))
            .field("umts", &self.umts)
            .finish_non_exhaustive()
    }
}

fn gsm_triplet(auth: &Auth2g, rand: &[u8; 16]) -> Result<([u8; 4], [u8; 8]), String> {
    let ki = key16(auth.ki().expose()).ok_or("Ki is not 16 bytes")?;
    Ok(auth.version.run(&ki, rand))
}

/// The AuC: owns the store, the in-memory SQN leases and the cache of
/// prepared subscriber keys.
#[derive(Debug)]
pub struct Auc {
    store: Store,
    leases: SqnLeases,
    cache: AucCache,
    config: AucConfig,
}

impl Auc {
    /// An AuC over `store`.
    pub fn new(store: Store, config: AucConfig) -> Result<Auc, AucError> {
        if !(1..=MAX_VECTORS).contains(&config.max_vectors) {
            return Err(AucError::Config("max_vectors must be 1..=32"));
        }
        if config.lease_size == 0 {
            return Err(AucError::Config("lease_size must be at least 1"));
        }
        Ok(Auc {
            store,
            leases: SqnLeases::new(config.lease_size, config.max_leases),
            cache: AucCache::new(config.cache_size),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AucConfig {
        &self.config
    }

    /// The store (provisioning, lookups).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, mutably. Provisioning changes to keys or SQN are noticed
    /// by the AuC at the next request (the 3G data revision changes), as
    /// are changes by other connections to the same file.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Subscribers whose prepared keys are held in memory now.
    pub fn cached_subscribers(&self) -> usize {
        self.cache.len()
    }

    /// Drop every prepared key held in memory (they are read again when
    /// needed).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Give the store back.
    pub fn into_store(self) -> Store {
        self.store
    }

    /// `n` vectors for `imsi`, IND 0, without the separation bit; with
    /// `resync`, after resynchronising. See [`Auc::vectors_with`].
    pub fn vectors<R: CryptoRng + ?Sized>(
        &mut self,
        imsi: &Imsi,
        n: usize,
        resync: Option<Resync>,
        rng: &mut R,
    ) -> Result<Vec<Vector>, AucError> {
        let mut req = VectorRequest::new(n);
        req.resync = resync;
        self.vectors_with(imsi, &req, rng)
    }

    /// Generate vectors as `req` asks. Every failure is logged with its
    /// reason (never with key material).
    pub fn vectors_with<R: CryptoRng + ?Sized>(
        &mut self,
        imsi: &Imsi,
        req: &VectorRequest,
        rng: &mut R,
    ) -> Result<Vec<Vector>, AucError> {
        let result = self.generate(imsi, req, rng);
        match &result {
            Ok(v) => {
                tracing::debug!(imsi = %imsi, count = v.len(), resync = req.resync.is_some(), "vectors generated")
            }
            Err(e) => tracing::warn!(imsi = %imsi, error = %e, "no vectors"),
        }
        result
    }

    fn generate<R: CryptoRng + ?Sized>(
        &mut self,
        imsi: &Imsi,
        req: &VectorRequest,
        rng: &mut R,
    ) -> Result<Vec<Vector>, AucError> {
        if req.count == 0 || req.count > self.config.max_vectors {
            return Err(AucError::VectorCount {
                asked: req.count,
                max: self.config.max_vectors,
            });
        }
        let prepared = self
            .cache
            .get(&self.store, imsi)?
            .ok_or_else(|| AucError::UnknownImsi(imsi.clone()))?;
        if !prepared.stamp.enabled {
            return Err(AucError::Disabled(imsi.clone()));
        }
        let id = prepared.stamp.id;
        let auth_2g = &prepared.auth_2g;
        let mut rands = vec![[0u8; 16]; req.count];
        for r in &mut rands {
            rng.fill_bytes(r);
        }
        let Some(state) = &prepared.auth_3g else {
            let auth_2g = auth_2g
                .as_ref()
                .ok_or_else(|| AucError::NoAuthData(imsi.clone()))?;
            if req.resync.is_some() {
                return Err(AucError::ResyncWithout3g(imsi.clone()));
            }
            return rands
                .into_iter()
                .map(|rand| {
                    let (sres, kc) =
                        gsm_triplet(auth_2g, &rand).map_err(|reason| AucError::Algorithm {
                            imsi: imsi.clone(),
                            reason,
                        })?;
                    Ok(Vector {
                        rand,
                        sres,
                        kc,
                        umts: None,
                    })
                })
                .collect();
        };
        let alg = match &state.kernel {
            Ok(kernel) => kernel.alg(),
            Err(reason) => {
                return Err(AucError::Algorithm {
                    imsi: imsi.clone(),
                    reason: reason.clone(),
                });
            }
        };
        let ind_bits = state.ind_bitlen;
        // Resync first (TS 33.102 §6.3.5): MAC-S must verify before SEQ_HE
        // moves.
        let floor = match &req.resync {
            None => None,
            Some(r) => {
                let sqn_ms = aka::resync(alg, &r.rand, &r.auts).map_err(|e| match e {
                    AkaError::MacS => {
                        tracing::warn!(imsi = %imsi, "resynchronisation refused: AUTS MAC-S does not verify");
                        AucError::AutsMac(imsi.clone())
                    }
                    other => AucError::Algorithm {
                        imsi: imsi.clone(),
                        reason: other.to_string(),
                    },
                })?;
                let seq_ms = sqn_ms.seq(ind_bits);
                let seq_reserved = self.store.seq_reserved(id)?.unwrap_or(0);
                if seq_reserved > seq_ms.saturating_add(DEFAULT_DELTA) {
                    // The USIM refuses anything more than Δ above its
                    // counter (Annex C.2.1), so SEQ_HE goes back to SEQ_MS
                    // (§6.3.5 step 5: "resets the value of the counter
                    // SQN_HE to SQN_MS"), MAC-S having verified. The values
                    // in between may be issued again, each with a fresh
                    // RAND; a replayed old AUTS only costs the card one more
                    // resynchronisation, since it still refuses anything at
                    // or below its own counter.
                    tracing::warn!(imsi = %imsi, seq_ms, seq_reserved, "SEQ_HE is more than Δ ahead of the USIM; moving it back to SEQ_MS");
                    self.store.rewind_seq(id, seq_ms)?;
                }
                tracing::info!(imsi = %imsi, seq_ms, "resynchronising SQN");
                Some(seq_ms)
            }
        };
        let mut amf = state.amf;
        amf[0] &= 0x7f;
        if req.separation_bit {
            amf[0] |= 0x80;
        }
        let sqns = self.leases.issue(
            &mut self.store,
            Issue {
                id,
                imsi,
                rev: state.rev,
                ind_bits,
            },
            req.ind,
            // count ≤ MAX_VECTORS
            req.count as u32,
            floor,
        )?;
        let inputs: Vec<([u8; 16], Sqn)> = rands.into_iter().zip(sqns).collect();
        let vectors = aka::generate_vectors(alg, &inputs, &amf);
        let mut out = Vec::with_capacity(req.count);
        for ((rand, sqn), av) in inputs.into_iter().zip(vectors) {
            let (sres, kc) = match auth_2g {
                Some(a2) => gsm_triplet(a2, &rand).map_err(|reason| AucError::Algorithm {
                    imsi: imsi.clone(),
                    reason,
                })?,
                None => (convert::c2(av.xres.as_bytes()), convert::c3(&av.ck, &av.ik)),
            };
            out.push(Vector {
                rand,
                sres,
                kc,
                umts: Some(UmtsVector {
                    xres: av.xres,
                    ck: av.ck,
                    ik: av.ik,
                    autn: av.autn,
                    sqn,
                }),
            });
        }
        Ok(out)
    }
}
