//! Server side of TSIG (RFC 8945 §5.2, §5.3): verifying a request and
//! signing the answer.
//!
//! The MAC computations are hickory's (`signed_bitmessage_to_buf`,
//! `TsigAlgorithm::{mac_data, verify_mac}`, `TSIG::emit_tsig_for_mac`); the
//! checks around them are done here, in RFC order (key, MAC, time), with
//! overflow-free time arithmetic: hickory's `TSigner::verify_message_byte`
//! computes `time - fudge` unchecked, which hostile input can underflow.

use hickory_proto::{
    op::Message,
    rr::{
        Name,
        rdata::tsig::{TSIG, TsigAlgorithm, TsigError, make_tsig_record, signed_bitmessage_to_buf},
    },
    serialize::binary::BinEncoder,
};
use subtle::ConstantTimeEq;

use crate::{
    key::{FUDGE, TsigKey},
    zone::normalize,
};

/// Outcome of checking a request's TSIG.
#[derive(Debug)]
pub(crate) enum Auth {
    /// The request carries no TSIG.
    Unsigned,
    /// Valid MAC within the time window.
    Verified {
        /// Key name (normalized), to find the grant.
        key_name: Name,
        /// The request's MAC, which the answer's MAC covers (§5.3.1).
        request_mac: Vec<u8>,
    },
    /// Verification failed: answer NOTAUTH with this TSIG error (§5.2).
    Failed(Failure),
    /// The TSIG RR cannot be interpreted: answer FORMERR (§5.2).
    FormErr,
}

/// A failed verification and what the answer's TSIG must say.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The TSIG error code.
    pub(crate) error: TsigError,
    /// Key name as the request gave it.
    pub(crate) key_name: Name,
    /// Algorithm as the request gave it.
    pub(crate) algorithm: TsigAlgorithm,
    /// For BADTIME and BADTRUNC, the MAC verified, so the answer is signed
    /// with the key (§5.2.3, §5.2.4); BADSIG and BADKEY answers are
    /// unsigned (§5.3.2).
    pub(crate) signed: Option<Signed>,
}

/// What is needed to sign an answer.
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) request_mac: Vec<u8>,
    /// Time Signed of the request, echoed in a BADTIME answer (§5.2.3).
    pub(crate) request_time: u64,
}

/// MAC length of an algorithm telsec accepts.
fn mac_len(alg: &TsigAlgorithm) -> Option<usize> {
    match alg {
        TsigAlgorithm::HmacSha256 => Some(32),
        TsigAlgorithm::HmacSha384 => Some(48),
        TsigAlgorithm::HmacSha512 => Some(64),
        _ => None,
    }
}

/// Checks the TSIG of `raw` (already parsed into `msg`) against the known
/// keys (RFC 8945 §5.2): key name and algorithm (BADKEY), MAC (BADSIG,
/// BADTRUNC), then time (BADTIME).
pub(crate) fn verify<'k>(
    raw: &[u8],
    msg: &Message,
    find_key: impl Fn(&Name) -> Option<&'k TsigKey>,
    now: u64,
) -> Auth {
    let Some(tsig_rr) = msg.signature() else {
        return Auth::Unsigned;
    };
    let tsig = &tsig_rr.data;
    let key_name = normalize(&tsig_rr.name);
    let fail = |error, signed| {
        Auth::Failed(Failure {
            error,
            key_name: tsig_rr.name.clone(),
            algorithm: tsig.algorithm.clone(),
            signed,
        })
    };
    // §5.2.1: unknown key or algorithm, or a key known under another
    // algorithm, is BADKEY.
    let Some(key) = find_key(&key_name).filter(|k| *k.algorithm() == tsig.algorithm) else {
        return fail(TsigError::BadKey, None);
    };
    let Some(full) = mac_len(key.algorithm()) else {
        return fail(TsigError::BadKey, None);
    };
    // §5.2.2.1: a MAC longer than the hash, or shorter than both 10 octets
    // and half the hash, is FORMERR.
    let got = tsig.mac.len();
    if got > full || got < (full / 2).max(10) {
        return Auth::FormErr;
    }
    let Ok((tbv, _)) = signed_bitmessage_to_buf(raw, None, true) else {
        return Auth::FormErr;
    };
    let Ok(expected) = key.algorithm().mac_data(key.secret(), &tbv) else {
        return fail(TsigError::BadKey, None);
    };
    // Constant-time comparison of the (possibly truncated) MAC.
    let mac_ok: bool = expected[..got].ct_eq(&tsig.mac).into();
    if !mac_ok {
        return fail(TsigError::BadSig, None);
    }
    let signed = Signed {
        request_mac: tsig.mac.clone(),
        request_time: tsig.time,
    };
    // §5.2.2.1: telsec's local policy accepts no truncation: BADTRUNC.
    if got < full {
        return fail(TsigError::BadTrunc, Some(signed));
    }
    // §5.2.3: the server's time must lie within Time Signed ± Fudge.
    if now.abs_diff(tsig.time) > u64::from(tsig.fudge) {
        return fail(TsigError::BadTime, Some(signed));
    }
    Auth::Verified {
        key_name,
        request_mac: signed.request_mac,
    }
}

/// Appends a TSIG RR to `response` (RFC 8945 §5.3): signed with `key` when
/// given (the MAC covers the request MAC, the response and the TSIG
/// variables, §4.3.1), otherwise an unsigned error TSIG with an empty MAC.
pub(crate) fn sign(
    response: &mut Message,
    key: Option<(&TsigKey, &Signed)>,
    key_name: &Name,
    algorithm: &TsigAlgorithm,
    error: Option<TsigError>,
    now: u64,
) -> Result<(), String> {
    let Some((key, signed)) = key else {
        let stub = TSIG::new(
            algorithm.clone(),
            now,
            FUDGE,
            Vec::new(),
            response.metadata.id,
            error,
            Vec::new(),
        );
        response.set_signature(Box::new(make_tsig_record(key_name.clone(), stub)));
        return Ok(());
    };
    // §5.2.3: a BADTIME answer echoes the request's Time Signed and carries
    // the server's time in Other Data (48 bits).
    let (time, other) = if error == Some(TsigError::BadTime) {
        (signed.request_time, now.to_be_bytes()[2..].to_vec())
    } else {
        (now, Vec::new())
    };
    let stub = TSIG::new(
        key.algorithm().clone(),
        time,
        FUDGE,
        Vec::new(),
        response.metadata.id,
        error,
        other,
    );
    let encoded = response.to_vec().map_err(|e| e.to_string())?;
    let mut tbs = Vec::with_capacity(2 + signed.request_mac.len() + encoded.len() + 96);
    {
        let mut enc = BinEncoder::new(&mut tbs);
        let mac_len = u16::try_from(signed.request_mac.len()).map_err(|e| e.to_string())?;
        enc.emit_u16(mac_len).map_err(|e| e.to_string())?;
        enc.emit_vec(&signed.request_mac)
            .map_err(|e| e.to_string())?;
        enc.emit_vec(&encoded).map_err(|e| e.to_string())?;
        stub.emit_tsig_for_mac(&mut enc, key.name())
            .map_err(|e| e.to_string())?;
    }
    let mac = key
        .algorithm()
        .mac_data(key.secret(), &tbs)
        .map_err(|e| e.to_string())?;
    response.set_signature(Box::new(make_tsig_record(
        key.name().clone(),
        stub.set_mac(mac),
    )));
    Ok(())
}
