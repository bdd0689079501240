//! The home address pool (seed 003, step 9: "a suitable ... IP address").
//!
//! An IPv4 prefix (RFC 4632 CIDR) of /8 to /30; never handed out: the
//! network and broadcast addresses, the HA's own address when it lies in
//! the prefix, and configured exclusions (routers, servers). Each IMSI
//! holds at most one address and gets the same one back until it is
//! released. Allocation walks the prefix round-robin from where it last
//! stopped, so a released address is reused as late as possible (stale
//! bindings and DNS caches age out first).
//!
//! Text format (the driver persists it atomically):
//!
//! ```text
//! telsec-bootstrap pool v1
//! pool 10.1.0.0/24
//! lease 001010000000001 10.1.0.2
//! ```
//!
//! Restoring checks the `pool` line against the configured prefix and
//! rejects leases out of range or excluded, and repeated IMSIs or
//! addresses.

use std::collections::{BTreeMap, BTreeSet};

use core::net::Ipv4Addr;

use crate::persist::{self, TextError, is_valid_imsi};

/// The first line of the text format.
pub const POOL_MAGIC: &str = "telsec-bootstrap pool v1";

/// Why a pool could not be built, allocate, or be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A prefix length outside 8..=30.
    #[error("prefix length /{0} not supported (8..=30)")]
    BadPrefix(u8),
    /// The network address has host bits set.
    #[error("{0} is not the network address of its prefix")]
    HostBitsSet(Ipv4Addr),
    /// An exclusion outside the prefix (a likely configuration mistake).
    #[error("excluded address {0} is outside the pool")]
    ExclusionOutOfRange(Ipv4Addr),
    /// Every address is held or excluded.
    #[error("address pool exhausted")]
    Exhausted,
    /// Not an IMSI (6-15 digits).
    #[error("{0:?} is not an IMSI")]
    BadImsi(String),
    /// The text does not restore.
    #[error("pool text: {0}")]
    Text(#[from] TextError),
}

/// The configuration of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The network address of the prefix.
    pub network: Ipv4Addr,
    /// The prefix length, 8..=30.
    pub prefix_len: u8,
    /// The HA's address (excluded when inside the prefix).
    pub ha_address: Ipv4Addr,
    /// Further addresses never to hand out (must lie in the prefix).
    pub excluded: Vec<Ipv4Addr>,
}

/// Home addresses leased to IMSIs.
#[derive(Debug, Clone)]
pub struct AddressPool {
    config: PoolConfig,
    first: u32,
    last: u32,
    excluded: BTreeSet<u32>,
    by_imsi: BTreeMap<String, u32>,
    by_addr: BTreeMap<u32, String>,
    cursor: u32,
}

impl AddressPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Result<Self, PoolError> {
        if !(8..=30).contains(&config.prefix_len) {
            return Err(PoolError::BadPrefix(config.prefix_len));
        }
        let net = u32::from(config.network);
        let host_mask = u32::MAX >> config.prefix_len;
        if net & host_mask != 0 {
            return Err(PoolError::HostBitsSet(config.network));
        }
        let first = net + 1;
        let last = (net | host_mask) - 1;
        let mut excluded = BTreeSet::new();
        for &a in &config.excluded {
            let a32 = u32::from(a);
            if !(net..=net | host_mask).contains(&a32) {
                return Err(PoolError::ExclusionOutOfRange(a));
            }
            if (first..=last).contains(&a32) {
                excluded.insert(a32);
            }
        }
        let ha = u32::from(config.ha_address);
        if (first..=last).contains(&ha) {
            excluded.insert(ha);
        }
        Ok(AddressPool {
            config,
            first,
            last,
            excluded,
            by_imsi: BTreeMap::new(),
            by_addr: BTreeMap::new(),
            cursor: first,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// How many addresses can ever be leased.
    pub fn capacity(&self) -> usize {
        (self.last - self.first + 1) as usize - self.excluded.len()
    }

    /// How many addresses are leased.
    pub fn leased(&self) -> usize {
        self.by_imsi.len()
    }

    /// The address leased to `imsi`, if any.
    pub fn lookup(&self, imsi: &str) -> Option<Ipv4Addr> {
        self.by_imsi.get(imsi).map(|&a| Ipv4Addr::from(a))
    }

    /// The IMSI holding `address`, if any.
    pub fn holder(&self, address: Ipv4Addr) -> Option<&str> {
        self.by_addr.get(&u32::from(address)).map(String::as_str)
    }

    /// The address of `imsi`: the one it holds, or a free one.
    pub fn allocate(&mut self, imsi: &str) -> Result<Ipv4Addr, PoolError> {
        if !is_valid_imsi(imsi) {
            return Err(PoolError::BadImsi(imsi.to_owned()));
        }
        if let Some(a) = self.lookup(imsi) {
            return Ok(a);
        }
        if self.leased() >= self.capacity() {
            return Err(PoolError::Exhausted);
        }
        let span = u64::from(self.last - self.first) + 1;
        let mut a = self.cursor.clamp(self.first, self.last);
        for _ in 0..span {
            if !self.excluded.contains(&a) && !self.by_addr.contains_key(&a) {
                self.by_imsi.insert(imsi.to_owned(), a);
                self.by_addr.insert(a, imsi.to_owned());
                self.cursor = if a == self.last { self.first } else { a + 1 };
                return Ok(Ipv4Addr::from(a));
            }
            a = if a == self.last { self.first } else { a + 1 };
        }
        Err(PoolError::Exhausted)
    }

    /// Frees the address of `imsi`; returns it.
    pub fn release(&mut self, imsi: &str) -> Option<Ipv4Addr> {
        let a = self.by_imsi.remove(imsi)?;
        self.by_addr.remove(&a);
        Some(Ipv4Addr::from(a))
    }

    /// The leases as text (module doc), sorted by address.
    pub fn serialize(&self) -> String {
        let mut out = format!(
            "{POOL_MAGIC}\npool {}/{}\n",
            self.config.network, self.config.prefix_len
        );
        for (a, imsi) in &self.by_addr {
            out.push_str(&format!("lease {imsi} {}\n", Ipv4Addr::from(*a)));
        }
        out
    }

    /// A pool of `config` holding the leases of `text`.
    pub fn restore(config: PoolConfig, text: &str) -> Result<Self, PoolError> {
        let mut pool = AddressPool::new(config)?;
        let want_pool = format!("{}/{}", pool.config.network, pool.config.prefix_len);
        let mut seen_pool = false;
        for (line, fields) in persist::records(text, POOL_MAGIC)? {
            let bad = |why| PoolError::Text(TextError::BadLine(line, why));
            match fields.as_slice() {
                ["pool", p] if !seen_pool => {
                    if *p != want_pool {
                        return Err(bad("pool differs from the configured prefix"));
                    }
                    seen_pool = true;
                }
                ["lease", imsi, addr] if seen_pool => {
                    if !is_valid_imsi(imsi) {
                        return Err(bad("not an IMSI"));
                    }
                    let a: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
                    let a32 = u32::from(a);
                    if !(pool.first..=pool.last).contains(&a32) {
                        return Err(bad("address outside the pool"));
                    }
                    if pool.excluded.contains(&a32) {
                        return Err(bad("address is excluded"));
                    }
                    if pool.by_imsi.contains_key(*imsi) {
                        return Err(bad("IMSI leased twice"));
                    }
                    if pool.by_addr.contains_key(&a32) {
                        return Err(bad("address leased twice"));
                    }
                    pool.by_imsi.insert((*imsi).to_owned(), a32);
                    pool.by_addr.insert(a32, (*imsi).to_owned());
                }
                _ => return Err(bad("unknown or misplaced record")),
            }
        }
        if !seen_pool {
            return Err(PoolError::Text(TextError::BadLine(1, "no pool line")));
        }
        Ok(pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imsi(n: u32) -> String {
        format!("0010100000{n:05}")
    }

    fn config(prefix_len: u8) -> PoolConfig {
        PoolConfig {
            network: Ipv4Addr::new(10, 1, 0, 0),
            prefix_len,
            ha_address: Ipv4Addr::new(10, 1, 0, 1),
            excluded: vec![Ipv4Addr::new(10, 1, 0, 2)],
        }
    }

    #[test]
    fn allocation_skips_reserved_and_is_sticky() {
        let mut p = AddressPool::new(config(24)).unwrap();
        assert_eq!(p.capacity(), 254 - 2);
        let a = p.allocate(&imsi(1)).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 1, 0, 3));
        assert_eq!(p.allocate(&imsi(1)).unwrap(), a);
        assert_eq!(p.allocate(&imsi(2)).unwrap(), Ipv4Addr::new(10, 1, 0, 4));
        assert_eq!(p.holder(a), Some(imsi(1).as_str()));
        assert_eq!(p.release(&imsi(1)), Some(a));
        assert_eq!(p.release(&imsi(1)), None);
        // Round robin: the released address is not reused at once.
        assert_eq!(p.allocate(&imsi(3)).unwrap(), Ipv4Addr::new(10, 1, 0, 5));
        assert!(p.allocate("12").is_err());
    }

    #[test]
    fn exhaustion_and_reuse() {
        // /29: .1 HA, .2 excluded, .3-.6 free, .0/.7 network/broadcast.
        let mut p = AddressPool::new(config(29)).unwrap();
        assert_eq!(p.capacity(), 4);
        let got: Vec<_> = (1..=4).map(|n| p.allocate(&imsi(n)).unwrap()).collect();
        assert_eq!(got.last(), Some(&Ipv4Addr::new(10, 1, 0, 6)));
        assert_eq!(p.allocate(&imsi(5)).unwrap_err(), PoolError::Exhausted);
        // The holder still gets its address.
        assert_eq!(p.allocate(&imsi(2)).unwrap(), got[1]);
        p.release(&imsi(2));
        assert_eq!(p.allocate(&imsi(5)).unwrap(), got[1]);
    }

    #[test]
    fn bad_configurations() {
        let mut c = config(31);
        assert_eq!(
            AddressPool::new(c.clone()).unwrap_err(),
            PoolError::BadPrefix(31)
        );
        c.prefix_len = 16;
        c.network = Ipv4Addr::new(10, 1, 0, 1);
        assert!(matches!(
            AddressPool::new(c).unwrap_err(),
            PoolError::HostBitsSet(_)
        ));
        let mut c = config(24);
        c.excluded.push(Ipv4Addr::new(10, 2, 0, 1));
        assert!(matches!(
            AddressPool::new(c).unwrap_err(),
            PoolError::ExclusionOutOfRange(_)
        ));
        // An HA outside the pool excludes nothing.
        let mut c = config(24);
        c.ha_address = Ipv4Addr::new(192, 0, 2, 1);
        assert_eq!(AddressPool::new(c).unwrap().capacity(), 253);
    }

    #[test]
    fn persistence_round_trip() {
        let mut p = AddressPool::new(config(24)).unwrap();
        for n in 1..=5 {
            p.allocate(&imsi(n)).unwrap();
        }
        p.release(&imsi(3));
        let text = p.serialize();
        assert!(text.starts_with("telsec-bootstrap pool v1\npool 10.1.0.0/24\nlease "));
        let q = AddressPool::restore(config(24), &text).unwrap();
        assert_eq!(q.serialize(), text);
        assert_eq!(q.leased(), 4);
        for n in [1, 2, 4, 5] {
            assert_eq!(q.lookup(&imsi(n)), p.lookup(&imsi(n)));
        }
        assert_eq!(q.lookup(&imsi(3)), None);
    }

    #[test]
    fn restore_rejects_bad_lines() {
        let head = "telsec-bootstrap pool v1\npool 10.1.0.0/24\n";
        let l1 = format!("lease {} 10.1.0.9\n", imsi(1));
        for (extra, why) in [
            (
                format!("{l1}lease {} 10.1.0.9\n", imsi(2)),
                "address leased twice",
            ),
            (
                format!("{l1}lease {} 10.1.0.10\n", imsi(1)),
                "IMSI leased twice",
            ),
            (
                format!("lease {} 10.2.0.9\n", imsi(1)),
                "address outside the pool",
            ),
            (
                format!("lease {} 10.1.0.255\n", imsi(1)),
                "address outside the pool",
            ),
            (
                format!("lease {} 10.1.0.1\n", imsi(1)),
                "address is excluded",
            ),
            ("lease 12 10.1.0.9\n".to_owned(), "not an IMSI"),
            (format!("lease {} ten\n", imsi(1)), "not an IPv4 address"),
            (
                "pool 10.1.0.0/24\n".to_owned(),
                "unknown or misplaced record",
            ),
            ("junk\n".to_owned(), "unknown or misplaced record"),
        ] {
            let err = AddressPool::restore(config(24), &format!("{head}{extra}")).unwrap_err();
            assert!(
                matches!(err, PoolError::Text(TextError::BadLine(_, w)) if w == why),
                "{extra}: {err:?}"
            );
        }
        assert!(AddressPool::restore(config(25), head).is_err());
        assert!(AddressPool::restore(config(24), "telsec-bootstrap pool v1\n").is_err());
        assert!(AddressPool::restore(config(24), "other\n").is_err());
    }
}
