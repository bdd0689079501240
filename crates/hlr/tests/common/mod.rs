//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use rand::{TryCryptoRng, TryRng};
use telsec_hlr::model::{Auth3g, TuakParams};
use telsec_hlr::{
    Algorithm3g, Auth2g, Comp128Version, Imsi, Kek, Msisdn, NewSubscriber, OperatorKey,
    SecretBytes, Store,
};

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telsec-hlr-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn kek() -> Kek {
    Kek::from_bytes([0x42; 32])
}

pub fn other_kek() -> Kek {
    Kek::from_bytes([0x24; 32])
}

pub fn memory_store() -> Store {
    Store::open_in_memory(kek()).unwrap()
}

pub fn hex16(s: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

pub fn secret(s: &str) -> SecretBytes {
    SecretBytes::from_hex(s, "test").unwrap()
}

pub fn imsi(s: &str) -> Imsi {
    Imsi::new(s).unwrap()
}

/// A Milenage subscriber with OPc, IND length 5.
pub fn milenage_sub(imsi_digits: &str, k: &str, opc: &str) -> NewSubscriber {
    let mut n = NewSubscriber::new(imsi(imsi_digits));
    n.auth_3g = Some(Auth3g::new(
        Algorithm3g::milenage(secret(k), OperatorKey::Opc(secret(opc))).unwrap(),
    ));
    n
}

pub fn milenage_op_sub(imsi_digits: &str, k: &str, op: &str) -> NewSubscriber {
    let mut n = NewSubscriber::new(imsi(imsi_digits));
    n.auth_3g = Some(Auth3g::new(
        Algorithm3g::milenage(secret(k), OperatorKey::Op(secret(op))).unwrap(),
    ));
    n
}

pub fn comp128_sub(imsi_digits: &str, v: Comp128Version, ki: &str) -> NewSubscriber {
    let mut n = NewSubscriber::new(imsi(imsi_digits));
    n.auth_2g = Some(Auth2g::new(v, secret(ki)).unwrap());
    n
}

pub fn tuak_sub(imsi_digits: &str, k: &str, top: &str, params: TuakParams) -> NewSubscriber {
    let mut n = NewSubscriber::new(imsi(imsi_digits));
    n.auth_3g = Some(Auth3g::new(
        Algorithm3g::tuak(secret(k), OperatorKey::Op(secret(top)), params).unwrap(),
    ));
    n
}

pub fn with_msisdn(mut n: NewSubscriber, m: &str) -> NewSubscriber {
    n.msisdn = Some(Msisdn::new(m).unwrap());
    n
}

/// A test-only "RNG" that returns the given 16-byte RANDs in turn, so
/// vectors can be checked against published values. Not random at all.
pub struct FixedRands {
    rands: Vec<[u8; 16]>,
    next: usize,
}

impl FixedRands {
    pub fn new(rands: Vec<[u8; 16]>) -> FixedRands {
        FixedRands { rands, next: 0 }
    }
}

impl TryRng for FixedRands {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(16) {
            let r = self.rands[self.next % self.rands.len()];
            self.next += 1;
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for FixedRands {}

/// The official vectors file.
pub fn vectors() -> toml::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/vectors/auth.toml"
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn field<'a>(t: &'a toml::Value, key: &str) -> &'a str {
    t.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("missing {key}"))
}
