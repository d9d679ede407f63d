//! rtnetlink: virtual addresses and routes ([`Rtnl`]), and the link/address/route monitor
//! ([`Monitor`]) that feeds the engine's link and reconciliation inputs.
//!
//! [`Rtnl`] remembers what it installed: it removes only addresses and routes it added itself
//! (an address that was already there when the engine asked for it is left alone, and so is
//! any address another program put on the interface).

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::{InterfaceId, VirtualAddress, VirtualRoute};

/// A failed rtnetlink operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetlinkError {
    /// The socket failed (open, send, receive, timeout).
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// The kernel refused the request.
    #[error("kernel refused {what}: {source}")]
    Refused {
        /// What was asked.
        what: String,
        /// The kernel's error.
        source: io::Error,
    },
    /// A reply could not be decoded.
    #[error("undecodable netlink reply: {0}")]
    Decode(String),
}

/// An interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface.
    pub interface: InterfaceId,
    /// Name.
    pub name: String,
    /// `IFF_UP && IFF_RUNNING`.
    pub up: bool,
    /// Hardware address, if it is an Ethernet-like one.
    pub mac: Option<[u8; 6]>,
}

/// Something the monitor saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// An interface was created or changed.
    Link(LinkInfo),
    /// An interface was deleted.
    LinkGone(InterfaceId),
    /// An address appeared (`present`) or vanished on an interface.
    Address {
        /// Interface.
        interface: InterfaceId,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// Added or removed.
        present: bool,
    },
    /// A route appeared or vanished (in the driver's [`VirtualRoute`] terms).
    Route {
        /// The route.
        route: VirtualRoute,
        /// Added or removed.
        present: bool,
    },
}

const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
const RECV_BUF: usize = 64 * 1024;

/// Request socket: adds and removes addresses and routes, lists links.
#[derive(Debug)]
pub struct Rtnl {
    socket: Socket,
    seq: u32,
    addresses: HashSet<(InterfaceId, IpAddr, u8)>,
    routes: HashSet<VirtualRoute>,
}

/// What [`Rtnl::add_address`] and [`Rtnl::add_route`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// Installed by us (and so removable by us).
    New,
    /// It was already there; it is not ours and will never be removed by us.
    AlreadyPresent,
}

impl Rtnl {
    /// Opens a request socket (blocking, replies awaited at most 2 s).
    pub fn new() -> Result<Rtnl, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.set_ext_ack(true).ok();
        socket2::SockRef::from(&socket).set_read_timeout(Some(REPLY_TIMEOUT))?;
        Ok(Rtnl {
            socket,
            seq: 0,
            addresses: HashSet::new(),
            routes: HashSet::new(),
        })
    }

    /// Installs `address` on `interface` (IPv6 with `nodad`, so it is usable and announceable
    /// at once).
    pub fn add_address(
        &mut self,
        interface: InterfaceId,
        address: &VirtualAddress,
    ) -> Result<Added, NetlinkError> {
        let msg = address_message(interface, address);
        let key = (interface, address.addr, address.prefix_len);
        let what = format!("adding {}/{}", address.addr, address.prefix_len);
        match self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        ) {
            Ok(()) => {
                self.addresses.insert(key);
                Ok(Added::New)
            }
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(if self.addresses.contains(&key) {
                    Added::New
                } else {
                    Added::AlreadyPresent
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Removes `address` from `interface` if we installed it; returns whether it was ours.
    /// An address already gone counts as removed.
    pub fn remove_address(
        &mut self,
        interface: InterfaceId,
        address: &VirtualAddress,
    ) -> Result<bool, NetlinkError> {
        let key = (interface, address.addr, address.prefix_len);
        if !self.addresses.remove(&key) {
            return Ok(false);
        }
        let msg = address_message(interface, address);
        let what = format!("removing {}/{}", address.addr, address.prefix_len);
        match self.request(RouteNetlinkMessage::DelAddress(msg), 0, &what) {
            Ok(()) => Ok(true),
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error() == Some(libc::EADDRNOTAVAIL) =>
            {
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether we installed `addr` (any prefix) on `interface`.
    pub fn owns_address(&self, interface: InterfaceId, addr: IpAddr) -> bool {
        self.addresses
            .iter()
            .any(|&(i, a, _)| i == interface && a == addr)
    }

    /// Forgets an address of ours that someone else removed.
    pub fn forget_address(&mut self, interface: InterfaceId, addr: IpAddr) {
        self.addresses
            .retain(|&(i, a, _)| !(i == interface && a == addr));
    }

    /// Installs `route`.
    pub fn add_route(&mut self, route: &VirtualRoute) -> Result<Added, NetlinkError> {
        let what = format!("adding route {}/{}", route.dest, route.prefix_len);
        match self.request(
            RouteNetlinkMessage::NewRoute(route_message(route)),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        ) {
            Ok(()) => {
                self.routes.insert(route.clone());
                Ok(Added::New)
            }
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(if self.routes.contains(route) {
                    Added::New
                } else {
                    Added::AlreadyPresent
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Removes `route` if we installed it; returns whether it was ours.
    pub fn remove_route(&mut self, route: &VirtualRoute) -> Result<bool, NetlinkError> {
        if !self.routes.remove(route) {
            return Ok(false);
        }
        let what = format!("removing route {}/{}", route.dest, route.prefix_len);
        match self.request(
            RouteNetlinkMessage::DelRoute(route_message(route)),
            0,
            &what,
        ) {
            Ok(()) => Ok(true),
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error() == Some(libc::ESRCH) =>
            {
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether we installed `route`.
    pub fn owns_route(&self, route: &VirtualRoute) -> bool {
        self.routes.contains(route)
    }

    /// Forgets a route of ours that someone else removed.
    pub fn forget_route(&mut self, route: &VirtualRoute) {
        self.routes.remove(route);
    }

    /// Every address on every interface.
    pub fn addresses(&mut self) -> Result<Vec<(InterfaceId, IpAddr)>, NetlinkError> {
        let seq = self.send(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        self.replies(seq, "listing addresses", |payload| match payload {
            NetlinkPayload::Done(_) => true,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => {
                if let Some(NetEvent::Address {
                    interface, addr, ..
                }) = address_event(&a, true)
                {
                    out.push((interface, addr));
                }
                false
            }
            _ => false,
        })?;
        Ok(out)
    }

    /// What we installed, for the journal.
    pub fn installed(&self) -> Vec<super::journal::Entry> {
        use super::journal::Entry;
        let mut out: Vec<Entry> = self
            .addresses
            .iter()
            .map(|&(interface, addr, prefix_len)| Entry::Address {
                interface,
                addr,
                prefix_len,
            })
            .collect();
        out.extend(self.routes.iter().cloned().map(Entry::Route));
        out
    }

    /// Removes what a previous run recorded in its journal and did not remove (it crashed or
    /// was killed). Entries already gone are fine. Returns the failures.
    pub fn remove_stale(&mut self, entries: &[super::journal::Entry]) -> Vec<NetlinkError> {
        use super::journal::Entry;
        let mut failures = Vec::new();
        for e in entries {
            let (msg, what, gone) = match e {
                Entry::Address {
                    interface,
                    addr,
                    prefix_len,
                } => {
                    let va = VirtualAddress {
                        addr: *addr,
                        prefix_len: *prefix_len,
                        interface: None,
                        excluded: false,
                    };
                    (
                        RouteNetlinkMessage::DelAddress(address_message(*interface, &va)),
                        format!("removing stale {addr}/{prefix_len}"),
                        [libc::EADDRNOTAVAIL, libc::ENODEV],
                    )
                }
                Entry::Route(r) => (
                    RouteNetlinkMessage::DelRoute(route_message(r)),
                    format!("removing stale route {}/{}", r.dest, r.prefix_len),
                    [libc::ESRCH, libc::ENODEV],
                ),
                Entry::Link(_) => continue, // the driver removes links (`super::vmac`)
            };
            match self.request(msg, 0, &what) {
                Ok(()) => {}
                Err(NetlinkError::Refused { source, .. })
                    if source.raw_os_error().is_some_and(|c| gone.contains(&c)) => {}
                Err(e) => failures.push(e),
            }
        }
        failures
    }

    /// Lists the interfaces.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let seq = self.send(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        self.replies(seq, "listing links", |payload| match payload {
            NetlinkPayload::Done(_) => true,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                out.push(link_info(&l));
                false
            }
            _ => false,
        })?;
        Ok(out)
    }

    fn send(&mut self, inner: RouteNetlinkMessage, flags: u16) -> Result<u32, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        Ok(self.seq)
    }

    /// Sends a request with `NLM_F_ACK` and waits for its acknowledgement.
    pub(crate) fn request(
        &mut self,
        inner: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<(), NetlinkError> {
        let seq = self.send(inner, NLM_F_ACK | flags)?;
        // An acknowledgement is an error message with no error code.
        self.replies(seq, what, |payload| {
            matches!(payload, NetlinkPayload::Error(_))
        })
    }

    /// Reads the replies to request `seq` and hands each to `done` until it returns `true`; a
    /// negative acknowledgement ends with [`NetlinkError::Refused`]. Bounded by the socket's
    /// receive timeout.
    fn replies(
        &mut self,
        seq: u32,
        what: &str,
        mut done: impl FnMut(NetlinkPayload<RouteNetlinkMessage>) -> bool,
    ) -> Result<(), NetlinkError> {
        let mut buf = Vec::with_capacity(RECV_BUF);
        loop {
            buf.clear();
            match self.socket.recv(&mut buf, 0) {
                Ok(_) => {}
                // A blocking read with a receive timeout is not restarted after a signal
                // handler, even with SA_RESTART: a signal must not fail an address change.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            for msg in parse_all(&buf)? {
                if msg.header.sequence_number != seq {
                    continue;
                }
                if let NetlinkPayload::Error(e) = &msg.payload
                    && e.code.is_some()
                {
                    return Err(NetlinkError::Refused {
                        what: what.to_owned(),
                        source: e.to_io(),
                    });
                }
                if done(msg.payload) {
                    return Ok(());
                }
            }
        }
    }
}

/// Non-blocking socket subscribed to link, address and route changes.
#[derive(Debug)]
pub struct Monitor {
    socket: Socket,
    buf: Vec<u8>,
}

const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;

impl Monitor {
    /// Subscribes to the groups.
    pub fn new() -> Result<Monitor, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let groups = RTMGRP_LINK
            | RTMGRP_IPV4_IFADDR
            | RTMGRP_IPV4_ROUTE
            | RTMGRP_IPV6_IFADDR
            | RTMGRP_IPV6_ROUTE;
        socket.bind(&SocketAddr::new(0, groups))?;
        socket.set_non_blocking(true)?;
        socket2::SockRef::from(&socket).set_recv_buffer_size(1 << 20)?;
        Ok(Monitor {
            socket,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// Reads the pending notifications (at most 1024 datagrams; readiness brings the rest).
    /// [`MonitorBatch::lost`] says that the kernel dropped some (`ENOBUFS`) or one could not be
    /// decoded: the caller should re-read the state it depends on.
    pub fn read(&mut self) -> Result<MonitorBatch, NetlinkError> {
        let mut batch = MonitorBatch::default();
        for _ in 0..1024 {
            self.buf.clear();
            match self.socket.recv(&mut self.buf, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    batch.lost = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            let Ok(msgs) = parse_all(&self.buf) else {
                batch.lost = true;
                continue;
            };
            for msg in msgs {
                let NetlinkPayload::InnerMessage(inner) = msg.payload else {
                    continue;
                };
                if let Some(ev) = event_of(inner) {
                    batch.events.push(ev);
                }
            }
        }
        Ok(batch)
    }
}

/// What one [`Monitor::read`] got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonitorBatch {
    /// The events, in order.
    pub events: Vec<NetEvent>,
    /// Some notifications were lost.
    pub lost: bool,
}

impl AsRawFd for Monitor {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

fn event_of(inner: RouteNetlinkMessage) -> Option<NetEvent> {
    match inner {
        RouteNetlinkMessage::NewLink(l) => Some(NetEvent::Link(link_info(&l))),
        RouteNetlinkMessage::DelLink(l) => Some(NetEvent::LinkGone(InterfaceId(l.header.index))),
        RouteNetlinkMessage::NewAddress(a) => address_event(&a, true),
        RouteNetlinkMessage::DelAddress(a) => address_event(&a, false),
        RouteNetlinkMessage::NewRoute(r) => route_of(&r).map(|route| NetEvent::Route {
            route,
            present: true,
        }),
        RouteNetlinkMessage::DelRoute(r) => route_of(&r).map(|route| NetEvent::Route {
            route,
            present: false,
        }),
        _ => None,
    }
}

fn address_event(a: &AddressMessage, present: bool) -> Option<NetEvent> {
    // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS otherwise.
    let local = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let addr = local.or_else(|| {
        a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    Some(NetEvent::Address {
        interface: InterfaceId(a.header.index),
        addr,
        prefix_len: a.header.prefix_len,
        present,
    })
}

fn route_of(r: &RouteMessage) -> Option<VirtualRoute> {
    if r.header.kind != RouteType::Unicast {
        return None;
    }
    let ip = |a: &RouteAddress| match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    };
    let mut route = VirtualRoute {
        dest: if r.header.address_family == AddressFamily::Inet6 {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        },
        prefix_len: r.header.destination_prefix_length,
        gateway: None,
        source: None,
        interface: None,
        table: None,
        metric: None,
    };
    let mut table = u32::from(r.header.table);
    for attr in &r.attributes {
        match attr {
            RouteAttribute::Destination(a) => route.dest = ip(a)?,
            RouteAttribute::Gateway(a) => route.gateway = ip(a),
            RouteAttribute::PrefSource(a) => route.source = ip(a),
            RouteAttribute::Oif(i) => route.interface = Some(InterfaceId(*i)),
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Priority(m) => route.metric = Some(*m),
            _ => {}
        }
    }
    route.table = (table != u32::from(RouteHeader::RT_TABLE_MAIN)).then_some(table);
    Some(route)
}

fn link_info(l: &LinkMessage) -> LinkInfo {
    let mut name = String::new();
    let mut mac = None;
    for attr in &l.attributes {
        match attr {
            LinkAttribute::IfName(n) => name.clone_from(n),
            LinkAttribute::Address(a) => {
                if let Ok(m) = <[u8; 6]>::try_from(a.as_slice()) {
                    mac = Some(m);
                }
            }
            _ => {}
        }
    }
    LinkInfo {
        interface: InterfaceId(l.header.index),
        name,
        up: l.header.flags.contains(LinkFlags::Up) && l.header.flags.contains(LinkFlags::Running),
        mac,
    }
}

fn parse_all(mut buf: &[u8]) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>, NetlinkError> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            return Err(NetlinkError::Decode(format!(
                "message length {len} in a {}-byte buffer",
                buf.len()
            )));
        }
        // Kinds this crate version cannot parse are skipped, not fatal.
        if let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
            out.push(m);
        }
        let step = len.next_multiple_of(4).min(buf.len());
        buf = &buf[step..];
    }
    Ok(out)
}

fn address_message(interface: InterfaceId, address: &VirtualAddress) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = interface.0;
    msg.header.prefix_len = address.prefix_len;
    msg.header.scope = AddressScope::Universe;
    match address.addr {
        IpAddr::V4(_) => {
            msg.header.family = AddressFamily::Inet;
            msg.attributes.push(AddressAttribute::Local(address.addr));
            msg.attributes.push(AddressAttribute::Address(address.addr));
        }
        IpAddr::V6(_) => {
            msg.header.family = AddressFamily::Inet6;
            msg.attributes.push(AddressAttribute::Address(address.addr));
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
    }
    msg
}

fn route_message(route: &VirtualRoute) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let v6 = route.dest.is_ipv6();
    msg.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.destination_prefix_length = route.prefix_len;
    msg.header.protocol = RouteProtocol::Static;
    msg.header.kind = RouteType::Unicast;
    // A route through a gateway is global; a route out of an interface alone is on-link.
    msg.header.scope = if route.gateway.is_none() && route.interface.is_some() && !v6 {
        RouteScope::Link
    } else {
        RouteScope::Universe
    };
    let table = route.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
    msg.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    msg.attributes.push(RouteAttribute::Table(table));
    msg.attributes
        .push(RouteAttribute::Destination(route.dest.into()));
    if let Some(gw) = route.gateway {
        msg.attributes.push(RouteAttribute::Gateway(gw.into()));
    }
    if let Some(src) = route.source {
        msg.attributes.push(RouteAttribute::PrefSource(src.into()));
    }
    if let Some(dev) = route.interface {
        msg.attributes.push(RouteAttribute::Oif(dev.0));
    }
    if let Some(metric) = route.metric {
        msg.attributes.push(RouteAttribute::Priority(metric));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_message_round_trips_through_route_of() {
        let route = VirtualRoute {
            dest: "198.51.100.0".parse().unwrap(),
            prefix_len: 24,
            gateway: Some("10.0.0.254".parse().unwrap()),
            source: Some("10.0.0.100".parse().unwrap()),
            interface: Some(InterfaceId(3)),
            table: Some(100),
            metric: Some(7),
        };
        assert_eq!(route_of(&route_message(&route)), Some(route.clone()));
        let main = VirtualRoute {
            table: None,
            ..route
        };
        assert_eq!(route_of(&route_message(&main)), Some(main));
    }

    #[test]
    fn garbage_never_panics() {
        for n in 0..64u8 {
            let buf: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let _ = parse_all(&buf);
        }
    }
}
