//! The co-located node's reverse tunnel (RFC 3024 §5.1: with a co-located
//! care-of address the node encapsulates itself): one policy rule,
//! `from <home>/32 lookup <table>`, and one route, `default dev <tun>
//! table <table>`, send what applications send from the home address into
//! the node's TUN device, where the driver tunnels it to the home agent.
//! Without them such datagrams leave directly from the foreign network,
//! where ingress filtering drops them.
//!
//! The rule exists only while the node is registered with a co-located
//! address: at home the home link delivers directly, and through a
//! foreign agent the agent reverse-tunnels (the node's request to the
//! agent, sent from its home address, must not go into the TUN). So it
//! comes and goes on the handover's critical path and is written with
//! rtnetlink requests (tens of microseconds) rather than `ip rule`
//! processes. Sockets bound to another device (the agent-discovery ICMP
//! socket) are not caught: their route lookup is restricted to that
//! device.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Linux's errno for "no such rule/route" (a removal that found nothing).
const ENOENT: i32 = 2;
/// Linux's errno for "already there" (a rule left by an earlier run).
const EEXIST: i32 = 17;

/// The rule and route of one home address.
#[derive(Debug)]
pub struct HomeRule {
    socket: Socket,
    sequence: u32,
    home: Ipv4Addr,
    table: u32,
    priority: u32,
    device_index: u32,
    installed: bool,
}

impl HomeRule {
    /// Opens the rtnetlink socket and points `table` at the TUN device
    /// `device_index`; installs no rule yet. Needs CAP_NET_ADMIN.
    ///
    /// # Errors
    /// The socket cannot be opened or the kernel refuses the route.
    pub fn new(
        home: Ipv4Addr,
        table: u32,
        priority: u32,
        device_index: u32,
    ) -> io::Result<HomeRule> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        let mut rule = HomeRule {
            socket,
            sequence: 0,
            home,
            table,
            priority,
            device_index,
            installed: false,
        };
        rule.request(
            RouteNetlinkMessage::NewRoute(rule.route()),
            NLM_F_CREATE | NLM_F_REPLACE,
        )?;
        // A rule left by a run that did not stop cleanly is removed, so
        // `installed` tells the truth.
        match rule.request(RouteNetlinkMessage::DelRule(rule.rule()), 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(ENOENT) => {}
            Err(e) => return Err(e),
        }
        Ok(rule)
    }

    /// Whether the rule is in place.
    pub fn installed(&self) -> bool {
        self.installed
    }

    /// Puts the rule in place or takes it away.
    ///
    /// # Errors
    /// The kernel refused the change.
    pub fn set(&mut self, on: bool) -> io::Result<()> {
        if on == self.installed {
            return Ok(());
        }
        let result = if on {
            match self.request(
                RouteNetlinkMessage::NewRule(self.rule()),
                NLM_F_CREATE | NLM_F_EXCL,
            ) {
                Err(e) if e.raw_os_error() == Some(EEXIST) => Ok(()),
                r => r,
            }
        } else {
            match self.request(RouteNetlinkMessage::DelRule(self.rule()), 0) {
                Err(e) if e.raw_os_error() == Some(ENOENT) => Ok(()),
                r => r,
            }
        };
        if result.is_ok() {
            self.installed = on;
        }
        result
    }

    /// `from <home>/32 priority <p> lookup <table>`.
    fn rule(&self) -> RuleMessage {
        let mut m = RuleMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.src_len = 32;
        m.header.action = RuleAction::ToTable;
        m.header.table = header_table(self.table);
        m.attributes = vec![
            RuleAttribute::Source(IpAddr::V4(self.home)),
            RuleAttribute::Priority(self.priority),
            RuleAttribute::Table(self.table),
        ];
        m
    }

    /// `default dev <tun> table <table>`.
    fn route(&self) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header = RouteHeader {
            address_family: AddressFamily::Inet,
            table: header_table(self.table),
            protocol: RouteProtocol::Static,
            scope: RouteScope::Link,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        m.attributes = vec![
            RouteAttribute::Table(self.table),
            RouteAttribute::Oif(self.device_index),
        ];
        m
    }

    /// Sends one request and waits for the kernel's acknowledgement.
    fn request(&mut self, inner: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::from(inner));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        self.socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
        // The acknowledgement is the only message this socket receives
        // (it joined no group); bounded in case of strays.
        for _ in 0..16 {
            let (reply, _) = self.socket.recv_from_full()?;
            let answer = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply)
                .map_err(|e| io::Error::other(format!("rtnetlink answer: {e}")))?;
            if answer.header.sequence_number != self.sequence {
                continue;
            }
            return match answer.payload {
                NetlinkPayload::Error(e) if e.code.is_none() => Ok(()),
                NetlinkPayload::Error(e) => Err(e.to_io()),
                _ => Err(io::Error::other("rtnetlink: no acknowledgement")),
            };
        }
        Err(io::Error::other("rtnetlink: no acknowledgement"))
    }
}

/// The 8-bit table field of a rule or route header: the table itself when
/// it fits, else RT_TABLE_COMPAT (252) with the real one in the Table
/// attribute (rtnetlink(7)).
fn header_table(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(252)
}

impl Drop for HomeRule {
    fn drop(&mut self) {
        let _ = self.set(false);
        let _ = self.request(RouteNetlinkMessage::DelRoute(self.route()), 0);
    }
}
