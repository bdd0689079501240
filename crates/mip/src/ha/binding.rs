//! The home agent's mobility binding list (RFC 5944 §3.8.1).
//!
//! One entry per (home address, care-of address). Without the S flag a new
//! registration replaces every binding of the home address; with it the
//! binding is added beside the others up to a configured maximum
//! (RFC 5944 §3.6.1.3, code 135 beyond it). Times are Unix milliseconds
//! from the caller's wall clock, so that entries can be persisted and
//! restored across a restart (see [`super::persist`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::ext::Encapsulation;
use crate::registration::RequestFlags;

/// How the home agent tunnels datagrams for the home address to the
/// care-of address (RFC 5944 §3.8.3; RFC 3519 for UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    /// IP in IP (RFC 2003), the default every agent supports.
    IpInIp,
    /// GRE (RFC 2784), G flag.
    Gre,
    /// Minimal encapsulation (RFC 2004), M flag.
    Minimal,
    /// UDP tunnelling through a NAT (RFC 3519 §3): datagrams go to the
    /// request's source address and port, not to the care-of address.
    Udp {
        /// Encapsulation inside UDP the mobile node asked for.
        encapsulation: Encapsulation,
        /// Keep-alive interval sent in the UDP Tunnel Reply, seconds.
        keepalive_secs: u16,
    },
}

/// One mobility binding (RFC 5944 §3.8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The mobile node's home address.
    pub home_address: Ipv4Addr,
    /// Where datagrams for the home address are tunnelled.
    pub care_of_address: Ipv4Addr,
    /// Lifetime granted in the reply, seconds.
    pub granted_lifetime: u16,
    /// Unix time in milliseconds at which the binding lapses; `None` for
    /// an infinite lifetime (0xffff, RFC 5944 §3.3).
    pub expires_ms: Option<u64>,
    /// Identification of the request that created or refreshed it.
    pub identification: u64,
    /// The request's flags (S, B, D, M, G, T are all kept).
    pub flags: RequestFlags,
    /// Encapsulation towards the care-of address.
    pub tunnel: Tunnel,
    /// Source address and port of the request; the UDP tunnel endpoint
    /// behind a NAT (RFC 3519 §3).
    pub source: SocketAddrV4,
}

impl Binding {
    /// Whether the binding has lapsed at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_ms.is_some_and(|t| t <= now_ms)
    }

    /// Seconds of lifetime left at `now_ms` (`None`: infinite).
    pub fn remaining_secs(&self, now_ms: u64) -> Option<u64> {
        self.expires_ms.map(|t| t.saturating_sub(now_ms) / 1000)
    }
}

/// The binding list would exceed its maximum (RFC 5944 §3.4 code 135).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyBindings {
    /// The configured maximum per home address.
    pub max: usize,
}

/// Every binding the home agent holds, by home address, with an index of
/// expiry instants so that the next expiry is found without scanning (the
/// driver asks for it after every datagram).
#[derive(Debug, Clone, Default)]
pub struct BindingCache {
    entries: BTreeMap<Ipv4Addr, Vec<Binding>>,
    /// (expiry ms, home, care-of) of every binding with a finite lifetime.
    expiries: BTreeSet<(u64, Ipv4Addr, Ipv4Addr)>,
}

impl PartialEq for BindingCache {
    fn eq(&self, other: &Self) -> bool {
        // The index is derived from the entries.
        self.entries == other.entries
    }
}

impl Eq for BindingCache {}

fn expiry_key(b: &Binding) -> Option<(u64, Ipv4Addr, Ipv4Addr)> {
    b.expires_ms.map(|t| (t, b.home_address, b.care_of_address))
}

impl BindingCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bindings of `home` (empty when the mobile node is at home or
    /// unknown).
    pub fn get(&self, home: Ipv4Addr) -> &[Binding] {
        self.entries.get(&home).map_or(&[], Vec::as_slice)
    }

    /// Every binding, ordered by home address.
    pub fn iter(&self) -> impl Iterator<Item = &Binding> {
        self.entries.values().flatten()
    }

    /// Number of bindings in all.
    pub fn len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    /// Whether there is no binding.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Installs `binding`. With `simultaneous` it replaces only a binding
    /// of the same care-of address and otherwise joins the others, failing
    /// when that would make more than `max` (RFC 5944 §3.6.1.3); without
    /// it, it replaces every binding of the home address.
    pub fn register(
        &mut self,
        binding: Binding,
        simultaneous: bool,
        max: usize,
    ) -> Result<(), TooManyBindings> {
        let list = self.entries.entry(binding.home_address).or_default();
        if simultaneous {
            if let Some(slot) = list
                .iter_mut()
                .find(|b| b.care_of_address == binding.care_of_address)
            {
                if let Some(k) = expiry_key(slot) {
                    self.expiries.remove(&k);
                }
                if let Some(k) = expiry_key(&binding) {
                    self.expiries.insert(k);
                }
                *slot = binding;
                return Ok(());
            }
            if list.len() >= max.max(1) {
                if list.is_empty() {
                    self.entries.remove(&binding.home_address);
                }
                return Err(TooManyBindings { max });
            }
            if let Some(k) = expiry_key(&binding) {
                self.expiries.insert(k);
            }
            list.push(binding);
        } else {
            for old in list.drain(..) {
                if let Some(k) = expiry_key(&old) {
                    self.expiries.remove(&k);
                }
            }
            if let Some(k) = expiry_key(&binding) {
                self.expiries.insert(k);
            }
            list.push(binding);
        }
        Ok(())
    }

    /// Would [`register`](Self::register) fail? Checked before any state
    /// changes so a refused request leaves the cache untouched.
    pub fn would_exceed(
        &self,
        home: Ipv4Addr,
        coa: Ipv4Addr,
        simultaneous: bool,
        max: usize,
    ) -> bool {
        let list = self.get(home);
        simultaneous && !list.iter().any(|b| b.care_of_address == coa) && list.len() >= max.max(1)
    }

    /// Removes the binding of `home` to `coa`; returns it if there was one.
    pub fn remove(&mut self, home: Ipv4Addr, coa: Ipv4Addr) -> Option<Binding> {
        let list = self.entries.get_mut(&home)?;
        let pos = list.iter().position(|b| b.care_of_address == coa)?;
        let gone = list.remove(pos);
        if list.is_empty() {
            self.entries.remove(&home);
        }
        if let Some(k) = expiry_key(&gone) {
            self.expiries.remove(&k);
        }
        Some(gone)
    }

    /// Removes every binding of `home` (the mobile node is at home,
    /// RFC 5944 §3.6.1.2).
    pub fn remove_all(&mut self, home: Ipv4Addr) -> Vec<Binding> {
        let gone = self.entries.remove(&home).unwrap_or_default();
        for b in &gone {
            if let Some(k) = expiry_key(b) {
                self.expiries.remove(&k);
            }
        }
        gone
    }

    /// Removes and returns every binding lapsed at `now_ms`.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Binding> {
        let mut gone = Vec::new();
        while let Some(&(t, home, coa)) = self.expiries.first() {
            if t > now_ms {
                break;
            }
            match self.remove(home, coa) {
                Some(b) => gone.push(b),
                // Not indexed consistently: drop the stale key.
                None => {
                    self.expiries.pop_first();
                }
            }
        }
        gone
    }

    /// The earliest expiry instant, Unix milliseconds.
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiries.first().map(|&(t, _, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

    fn b(coa: u8, expires: Option<u64>) -> Binding {
        Binding {
            home_address: HOME,
            care_of_address: Ipv4Addr::new(192, 0, 2, coa),
            granted_lifetime: 60,
            expires_ms: expires,
            identification: u64::from(coa),
            flags: RequestFlags::default(),
            tunnel: Tunnel::IpInIp,
            source: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, coa), 434),
        }
    }

    #[test]
    fn replace_simultaneous_and_limit() {
        let mut c = BindingCache::new();
        c.register(b(1, Some(10)), false, 2).expect("ok");
        c.register(b(2, Some(20)), false, 2).expect("ok");
        assert_eq!(c.get(HOME), [b(2, Some(20))]);
        c.register(b(3, Some(30)), true, 2).expect("ok");
        assert_eq!(c.len(), 2);
        assert!(c.would_exceed(HOME, Ipv4Addr::new(192, 0, 2, 4), true, 2));
        assert!(!c.would_exceed(HOME, Ipv4Addr::new(192, 0, 2, 3), true, 2));
        assert_eq!(
            c.register(b(4, None), true, 2),
            Err(TooManyBindings { max: 2 })
        );
        // Refreshing an existing care-of address is not a new binding.
        c.register(b(3, Some(40)), true, 2).expect("ok");
        assert_eq!(c.len(), 2);
        assert_eq!(c.next_expiry(), Some(20));
        assert_eq!(c.expire(25), [b(2, Some(20))]);
        assert_eq!(
            c.remove(HOME, Ipv4Addr::new(192, 0, 2, 3)),
            Some(b(3, Some(40)))
        );
        assert!(c.is_empty());
        assert_eq!(c.next_expiry(), None);
    }

    #[test]
    fn expiry_index_follows_every_change() {
        let mut c = BindingCache::new();
        c.register(b(1, Some(10)), true, 4).expect("ok");
        c.register(b(1, Some(50)), true, 4).expect("refresh");
        assert_eq!(c.next_expiry(), Some(50));
        c.register(b(2, Some(30)), true, 4).expect("ok");
        assert_eq!(c.next_expiry(), Some(30));
        c.register(b(3, Some(70)), false, 4).expect("replaces all");
        assert_eq!(c.next_expiry(), Some(70));
        assert!(c.expire(69).is_empty());
        c.register(b(4, None), true, 4).expect("ok");
        assert_eq!(c.expire(70), [b(3, Some(70))]);
        assert_eq!(c.next_expiry(), None);
        assert_eq!(c.remove_all(HOME), [b(4, None)]);
    }

    #[test]
    fn infinite_never_expires() {
        let mut c = BindingCache::new();
        c.register(b(1, None), false, 1).expect("ok");
        assert!(c.expire(u64::MAX).is_empty());
        assert_eq!(c.remove_all(HOME).len(), 1);
        assert_eq!(b(1, Some(5_500)).remaining_secs(1_000), Some(4));
    }
}
