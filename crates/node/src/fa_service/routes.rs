//! Policy routing that brings reverse-tunnelled visitors' datagrams
//! (RFC 3024) to the driver. A visitor sends with its home address as
//! source to any destination through the agent, its default router; the
//! kernel would route that by destination. One rule per visitor with T,
//! `ip rule add from <home>/32 [iif <visited link>] lookup <table>`, and
//! one route, `default dev <tun> table <table>`, hand those datagrams to
//! the agent's TUN device instead, where the driver reads and tunnels
//! them. Needs CAP_NET_ADMIN and `net.ipv4.ip_forward=1` (the kernel
//! forwards into the TUN device); reverse-path filtering must not be
//! strict on the visited link, since a home address is not routed there.
//!
//! The commands run through `ip` (iproute2) with [`std::process::Command`]:
//! visitor changes are rare next to datagrams, and a netlink client would
//! be more code than this module.

use std::collections::BTreeSet;
use std::io;
use std::net::Ipv4Addr;
use std::process::Command;

use tracing::warn;

/// Most stale rules removed at start (a bound on the loop, far above any
/// visitor list).
const MAX_STALE_RULES: usize = 100_000;

/// The rules and the route this driver installed.
#[derive(Debug)]
pub struct ReverseRoutes {
    table: u32,
    device: String,
    iif: Option<String>,
    homes: BTreeSet<Ipv4Addr>,
}

fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl ReverseRoutes {
    /// Points `table` at the TUN `device`; rules match only datagrams that
    /// arrive on `iif` when it is given. Rules still pointing at `table`
    /// (left by a run that did not stop cleanly) are removed first: the
    /// table is the driver's alone.
    pub fn install(table: u32, device: &str, iif: Option<&str>) -> io::Result<ReverseRoutes> {
        let t = table.to_string();
        for _ in 0..MAX_STALE_RULES {
            if ip(&["rule", "del", "lookup", &t]).is_err() {
                break;
            }
        }
        ip(&["route", "replace", "default", "dev", device, "table", &t])?;
        Ok(ReverseRoutes {
            table,
            device: device.to_owned(),
            iif: iif.map(str::to_owned),
            homes: BTreeSet::new(),
        })
    }

    /// The arguments that select the rule of `home`.
    fn rule(&self, verb: &'static str, home: Ipv4Addr) -> Vec<String> {
        let mut a = vec![
            "rule".to_owned(),
            verb.to_owned(),
            "from".to_owned(),
            format!("{home}/32"),
        ];
        if let Some(i) = &self.iif {
            a.extend(["iif".to_owned(), i.clone()]);
        }
        a.extend(["lookup".to_owned(), self.table.to_string()]);
        a
    }

    fn run(args: &[String]) -> io::Result<()> {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ip(&refs)
    }

    /// Sends the datagrams of `home` into the TUN device.
    pub fn add(&mut self, home: Ipv4Addr) -> io::Result<()> {
        if self.homes.contains(&home) {
            return Ok(());
        }
        // A rule left by an earlier run would be doubled.
        let _ = Self::run(&self.rule("del", home));
        Self::run(&self.rule("add", home))?;
        self.homes.insert(home);
        Ok(())
    }

    /// Lets the kernel route the datagrams of `home` again.
    pub fn remove(&mut self, home: Ipv4Addr) -> io::Result<()> {
        if self.homes.remove(&home) {
            Self::run(&self.rule("del", home))?;
        }
        Ok(())
    }

    /// Whether `home` has a rule.
    pub fn contains(&self, home: Ipv4Addr) -> bool {
        self.homes.contains(&home)
    }

    /// Removes every rule and the route.
    pub fn clear(&mut self) {
        for home in std::mem::take(&mut self.homes) {
            if let Err(e) = Self::run(&self.rule("del", home)) {
                warn!(error = %e, "reverse tunnel rule not removed");
            }
        }
        let t = self.table.to_string();
        if let Err(e) = ip(&["route", "del", "default", "dev", &self.device, "table", &t]) {
            warn!(error = %e, "reverse tunnel route not removed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_arguments() {
        let mut r = ReverseRoutes {
            table: 100,
            device: "tsfa0".into(),
            iif: Some("eth1".into()),
            homes: BTreeSet::new(),
        };
        assert_eq!(
            r.rule("add", Ipv4Addr::new(10, 77, 0, 5)).join(" "),
            "rule add from 10.77.0.5/32 iif eth1 lookup 100"
        );
        r.iif = None;
        assert_eq!(
            r.rule("del", Ipv4Addr::new(10, 77, 0, 5)).join(" "),
            "rule del from 10.77.0.5/32 lookup 100"
        );
        // Nothing installed: removing is a no-op that runs no command.
        r.remove(Ipv4Addr::new(10, 77, 0, 5)).expect("no-op");
        assert!(!r.contains(Ipv4Addr::new(10, 77, 0, 5)));
    }
}
