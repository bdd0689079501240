//! Follows one interface's IPv4 addresses through rtnetlink: the kernel's
//! own address notifications (group RTMGRP_IPV4_IFADDR, rtnetlink(7)) and
//! a dump (RTM_GETADDR) at start, after a lost notification (ENOBUFS) and
//! every so often as a safety net.
//!
//! This is the mobile node's movement signal when no agent advertises
//! (RFC 5944 §2.4.2, "the node's address changed"), so it sits on the
//! handover's critical path: a notification is read from a socket the
//! runtime already polls, where the `ip monitor` child and the `ip addr
//! show` reads this replaced cost a process start (milliseconds on a busy
//! machine) per move.
//!
//! Addresses are matched to the interface by their IFA_LABEL, which
//! Linux sets on every IPv4 address to the interface's name (or
//! `name:alias`), so an interface that does not exist yet, or is
//! recreated with another index, is followed by name.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket, protocols::NETLINK_ROUTE};

/// rtnetlink multicast group of IPv4 address changes (linux/rtnetlink.h).
const RTMGRP_IPV4_IFADDR: u32 = 0x10;

/// Linux's errno for a netlink socket whose receive queue overflowed.
const ENOBUFS: i32 = 105;

/// The addresses of one interface, kept up to date from rtnetlink.
pub struct AddressWatch {
    socket: TokioSocket,
    tracker: Tracker,
    sequence: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for AddressWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressWatch")
            .field("tracker", &self.tracker)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl AddressWatch {
    /// Subscribes to address changes and asks for the current addresses
    /// (their answer arrives through [`AddressWatch::next`]).
    ///
    /// # Errors
    /// The netlink socket cannot be opened, bound or written.
    pub fn open(interface: &str) -> io::Result<AddressWatch> {
        let mut socket = TokioSocket::new(NETLINK_ROUTE)?;
        socket
            .socket_mut()
            .bind(&SocketAddr::new(0, RTMGRP_IPV4_IFADDR))?;
        let mut watch = AddressWatch {
            socket,
            tracker: Tracker::new(interface),
            sequence: 0,
            buf: Vec::with_capacity(64 * 1024),
        };
        watch.request_dump()?;
        Ok(watch)
    }

    /// The interface's first IPv4 address (None: it has none, or the
    /// first dump has not been answered yet).
    pub fn first(&self) -> Option<Ipv4Addr> {
        self.tracker.first()
    }

    /// Whether the first dump has been answered (before that,
    /// [`first`](Self::first) knows nothing).
    pub fn known(&self) -> bool {
        self.tracker.known
    }

    /// Asks the kernel for every IPv4 address again; the answer replaces
    /// what is known when it completes.
    ///
    /// # Errors
    /// The request cannot be written.
    pub fn request_dump(&mut self) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.sequence;
        let mut request = AddressMessage::default();
        request.header.family = AddressFamily::Inet;
        let mut message = NetlinkMessage::new(
            header,
            NetlinkPayload::from(RouteNetlinkMessage::GetAddress(request)),
        );
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        self.tracker.dump_started(self.sequence);
        self.socket
            .socket_ref()
            .send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
        Ok(())
    }

    /// Waits for the next datagram from the kernel and applies it. A
    /// lost notification (ENOBUFS) starts a fresh dump instead.
    ///
    /// # Errors
    /// The socket failed for another reason.
    pub async fn next(&mut self) -> io::Result<()> {
        self.buf.clear();
        match self.socket.recv(&mut self.buf).await {
            Ok(()) => {
                self.tracker.apply(&self.buf);
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => self.request_dump(),
            Err(e) => Err(e),
        }
    }
}

/// The sans-IO half: which addresses the interface has, from rtnetlink
/// messages.
#[derive(Debug)]
struct Tracker {
    interface: String,
    addresses: Vec<Ipv4Addr>,
    /// The dump in progress: its sequence number and what it has listed.
    dump: Option<(u32, Vec<Ipv4Addr>)>,
    known: bool,
}

impl Tracker {
    fn new(interface: &str) -> Tracker {
        Tracker {
            interface: interface.to_owned(),
            addresses: Vec::new(),
            dump: None,
            known: false,
        }
    }

    fn first(&self) -> Option<Ipv4Addr> {
        self.addresses.first().copied()
    }

    fn dump_started(&mut self, sequence: u32) {
        self.dump = Some((sequence, Vec::new()));
    }

    /// Applies every message in one datagram; malformed messages end the
    /// datagram (the periodic dump repairs anything missed).
    fn apply(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Ok(frame) = NetlinkBuffer::new_checked(bytes) else {
                return;
            };
            let len = (frame.length() as usize).min(bytes.len());
            let Ok(message) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..len])
            else {
                return;
            };
            self.message(&message);
            // Messages are 4-aligned (NLMSG_ALIGN).
            let advance = len.next_multiple_of(4).min(bytes.len());
            if advance == 0 {
                return;
            }
            bytes = &bytes[advance..];
        }
    }

    fn message(&mut self, message: &NetlinkMessage<RouteNetlinkMessage>) {
        let sequence = message.header.sequence_number;
        let in_dump = self.dump.as_ref().is_some_and(|(s, _)| *s == sequence);
        match &message.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => {
                let Some(address) = self.ours(a) else { return };
                if in_dump {
                    if let Some((_, listed)) = &mut self.dump {
                        add(listed, address);
                    }
                } else {
                    add(&mut self.addresses, address);
                    if let Some((_, listed)) = &mut self.dump {
                        add(listed, address);
                    }
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) => {
                let Some(address) = self.ours(a) else { return };
                self.addresses.retain(|x| *x != address);
                if let Some((_, listed)) = &mut self.dump {
                    listed.retain(|x| *x != address);
                }
            }
            NetlinkPayload::Done(_) if in_dump => {
                if let Some((_, listed)) = self.dump.take() {
                    self.addresses = listed;
                    self.known = true;
                }
            }
            NetlinkPayload::Error(_) if in_dump => {
                self.dump = None;
            }
            _ => {}
        }
    }

    /// The IPv4 address of `a` when it belongs to the watched interface.
    fn ours(&self, a: &AddressMessage) -> Option<Ipv4Addr> {
        if a.header.family != AddressFamily::Inet {
            return None;
        }
        let mut label = None;
        let mut local = None;
        let mut address = None;
        for attribute in &a.attributes {
            match attribute {
                AddressAttribute::Label(l) => label = Some(l.as_str()),
                AddressAttribute::Local(IpAddr::V4(v)) => local = Some(*v),
                AddressAttribute::Address(IpAddr::V4(v)) => address = Some(*v),
                _ => {}
            }
        }
        let label = label?;
        let base = label.split(':').next().unwrap_or(label);
        (base == self.interface).then_some(())?;
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
        // peer's on point-to-point links (rtnetlink(7)).
        local.or(address)
    }
}

fn add(list: &mut Vec<Ipv4Addr>, address: Ipv4Addr) {
    if !list.contains(&address) {
        list.push(address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(new: bool, sequence: u32, label: &str, address: Ipv4Addr) -> Vec<u8> {
        let mut a = AddressMessage::default();
        a.header.family = AddressFamily::Inet;
        a.header.prefix_len = 24;
        a.attributes = vec![
            AddressAttribute::Address(IpAddr::V4(address)),
            AddressAttribute::Local(IpAddr::V4(address)),
            AddressAttribute::Label(label.to_owned()),
        ];
        let inner = if new {
            RouteNetlinkMessage::NewAddress(a)
        } else {
            RouteNetlinkMessage::DelAddress(a)
        };
        let mut header = NetlinkHeader::default();
        header.sequence_number = sequence;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::from(inner));
        m.finalize();
        let mut bytes = vec![0; m.buffer_len()];
        m.serialize(&mut bytes);
        bytes
    }

    fn done(sequence: u32) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.sequence_number = sequence;
        let mut m = NetlinkMessage::<RouteNetlinkMessage>::new(
            header,
            NetlinkPayload::Done(netlink_packet_core::DoneMessage::default()),
        );
        m.finalize();
        let mut bytes = vec![0; m.buffer_len()];
        m.serialize(&mut bytes);
        bytes
    }

    const A: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 10);
    const B: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 10);

    #[test]
    fn dump_then_notifications() {
        let mut t = Tracker::new("mn0");
        t.dump_started(7);
        assert!(!t.known);
        let mut datagram = message(true, 7, "mn0", A);
        datagram.extend(message(true, 7, "eth9", B));
        datagram.extend(done(7));
        t.apply(&datagram);
        assert!(t.known);
        assert_eq!(t.first(), Some(A));
        t.apply(&message(false, 0, "mn0", A));
        assert_eq!(t.first(), None);
        t.apply(&message(true, 0, "mn0:1", B));
        assert_eq!(
            t.first(),
            Some(B),
            "an alias label belongs to the interface"
        );
        t.apply(&message(true, 0, "mn0", B));
        assert_eq!(t.addresses, [B], "no duplicates");
    }

    #[test]
    fn a_dump_replaces_and_a_deletion_during_it_holds() {
        let mut t = Tracker::new("mn0");
        t.addresses = vec![A, B];
        t.dump_started(3);
        t.apply(&message(true, 3, "mn0", A));
        t.apply(&message(false, 0, "mn0", A));
        t.apply(&done(3));
        assert!(
            t.addresses.is_empty(),
            "A went during the dump, B was not listed"
        );
    }

    #[test]
    fn other_interfaces_and_garbage_are_ignored() {
        let mut t = Tracker::new("mn0");
        t.apply(&message(true, 0, "mn01", A));
        assert_eq!(t.first(), None);
        t.apply(&[0xff; 3]);
        let mut cut = message(true, 0, "mn0", A);
        cut.truncate(cut.len() - 2);
        t.apply(&cut);
        assert_eq!(t.first(), None);
    }
}
