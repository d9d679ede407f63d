//! rtnetlink: virtual and static addresses, routes and rules ([`Rtnl`]), and the
//! link/address/route monitor ([`Monitor`]) that feeds the engine's link and reconciliation
//! inputs.
//!
//! [`Rtnl`] remembers what it installed: it removes only addresses, routes and rules it added
//! itself (one that was already there when the engine asked for it is left alone, and so is
//! anything another program installed).

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{
    Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop, RouteNextHopFlags,
    RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleMessage,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::rtmsg::{self, kind};
use crate::{InterfaceId, RouteKind, RuleAction, VirtualAddress, VirtualRoute, VirtualRule};

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
    /// A policy routing rule appeared or vanished (in [`VirtualRule`] terms).
    Rule {
        /// The rule.
        rule: VirtualRule,
        /// Added or removed.
        present: bool,
    },
}

/// `RTPROT_KEEPALIVED` (18): the routing protocol keepalived marks its routes and rules with,
/// so that `ip route`/`ip rule` show `proto keepalived` for ours too, and a deletion (which
/// matches the protocol) never takes someone else's route of the same destination.
const PROTO_KEEPALIVED: u8 = 18;

const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
const RECV_BUF: usize = 64 * 1024;

/// Request socket: adds and removes addresses and routes, lists links.
#[derive(Debug)]
pub struct Rtnl {
    socket: Socket,
    seq: u32,
    /// Sorted: lookups are binary searches, and 1,000 instances' addresses take 24 kB where
    /// a hash set took 51 kB (inserts move at most that much, once per address added).
    addresses: Vec<(InterfaceId, IpAddr, u8)>,
    routes: HashSet<VirtualRoute>,
    rules: HashSet<VirtualRule>,
}

/// A request of rtnetlink message type `kind`: room for the netlink header, then the body
/// (see [`Request::typed`]).
#[derive(Clone, Debug)]
pub(crate) struct Request {
    kind: u16,
    buf: Vec<u8>,
}

impl Request {
    /// `body` (from [`rtmsg`]) as a `kind` message.
    pub(crate) fn raw(kind: u16, body: &[u8]) -> Request {
        let mut buf = vec![0u8; rtmsg::HEADER_LEN];
        buf.extend_from_slice(body);
        Request { kind, buf }
    }

    /// One of `netlink_packet_route`'s typed messages as a `kind` message (its own emitter:
    /// not through the crate's enum of every rtnetlink kind).
    fn typed(kind: u16, msg: &impl Emitable) -> Request {
        let mut buf = vec![0u8; rtmsg::HEADER_LEN + msg.buffer_len()];
        msg.emit(&mut buf[rtmsg::HEADER_LEN..]);
        Request { kind, buf }
    }

    /// The message, its header filled in.
    fn finish(mut self, flags: u16, seq: u32) -> Vec<u8> {
        rtmsg::fill_header(&mut self.buf, self.kind, flags, seq);
        self.buf
    }
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
            addresses: Vec::new(),
            routes: HashSet::new(),
            rules: HashSet::new(),
        })
    }

    /// Installs `address` on `interface` with its attributes (label, scope, broadcast, peer;
    /// for IPv6 `nodad` and the preferred lifetime, see [`VirtualAddress`]).
    pub fn add_address(
        &mut self,
        interface: InterfaceId,
        address: &VirtualAddress,
    ) -> Result<Added, NetlinkError> {
        let msg = address_message(interface, address);
        let key = (interface, address.addr, kernel_prefix(address));
        let what = format!("adding {}/{}", address.addr, address.prefix_len);
        let new = self.install(Request::typed(kind::NEW_ADDRESS, &msg), &what)?;
        // As `owned_if`: ours when the kernel created it or when it already was.
        Ok(match self.addresses.binary_search(&key) {
            Ok(_) => Added::New,
            Err(at) if new => {
                self.addresses.insert(at, key);
                Added::New
            }
            Err(_) => Added::AlreadyPresent,
        })
    }

    /// Removes `address` from `interface` if we installed it; returns whether it was ours.
    /// An address already gone counts as removed.
    pub fn remove_address(
        &mut self,
        interface: InterfaceId,
        address: &VirtualAddress,
    ) -> Result<bool, NetlinkError> {
        let key = (interface, address.addr, kernel_prefix(address));
        if self.addresses.binary_search(&key).is_err() {
            return Ok(false);
        }
        let msg = address_message(interface, address);
        let what = format!("removing {}/{}", address.addr, address.prefix_len);
        // Forgotten only once it is gone: after a failed removal it stays ours (and in the
        // journal), so that the stop or the next start removes it.
        self.uninstall(
            Request::typed(kind::DEL_ADDRESS, &msg),
            &what,
            &[libc::EADDRNOTAVAIL, libc::ENODEV],
        )?;
        if let Ok(at) = self.addresses.binary_search(&key) {
            self.addresses.remove(at);
        }
        Ok(true)
    }

    /// Whether we installed `addr` (any prefix) on `interface`.
    pub fn owns_address(&self, interface: InterfaceId, addr: IpAddr) -> bool {
        let from = self
            .addresses
            .partition_point(|&(i, a, _)| (i, a) < (interface, addr));
        self.addresses
            .get(from)
            .is_some_and(|&(i, a, _)| i == interface && a == addr)
    }

    /// Forgets an address of ours that someone else removed.
    pub fn forget_address(&mut self, interface: InterfaceId, addr: IpAddr) {
        self.addresses
            .retain(|&(i, a, _)| !(i == interface && a == addr));
    }

    /// Installs `route`.
    pub fn add_route(&mut self, route: &VirtualRoute) -> Result<Added, NetlinkError> {
        let what = format!("adding route {}/{}", route.dest, route.prefix_len);
        let new = self.install(
            Request::typed(kind::NEW_ROUTE, &route_message(route, false)),
            &what,
        )?;
        Ok(owned_if(new, &mut self.routes, route.clone()))
    }

    /// Removes `route` if we installed it; returns whether it was ours.
    pub fn remove_route(&mut self, route: &VirtualRoute) -> Result<bool, NetlinkError> {
        if !self.routes.contains(route) {
            return Ok(false);
        }
        let what = format!("removing route {}/{}", route.dest, route.prefix_len);
        self.uninstall(
            Request::typed(kind::DEL_ROUTE, &route_message(route, true)),
            &what,
            &[libc::ESRCH, libc::ENODEV],
        )?;
        self.routes.remove(route);
        Ok(true)
    }

    /// Whether we installed `route`.
    pub fn owns_route(&self, route: &VirtualRoute) -> bool {
        self.routes.contains(route)
    }

    /// Forgets a route of ours that someone else removed.
    pub fn forget_route(&mut self, route: &VirtualRoute) {
        self.routes.remove(route);
    }

    /// Whether we installed `rule`.
    pub fn owns_rule(&self, rule: &VirtualRule) -> bool {
        self.rules.contains(rule)
    }

    /// Forgets a rule of ours that someone else removed.
    pub fn forget_rule(&mut self, rule: &VirtualRule) {
        self.rules.remove(rule);
    }

    /// Installs the policy routing rule `rule`.
    pub fn add_rule(&mut self, rule: &VirtualRule) -> Result<Added, NetlinkError> {
        let what = format!("adding rule {rule}");
        let new = self.install(Request::typed(kind::NEW_RULE, &rule_message(rule)), &what)?;
        Ok(owned_if(new, &mut self.rules, rule.clone()))
    }

    /// Removes `rule` if we installed it; returns whether it was ours.
    pub fn remove_rule(&mut self, rule: &VirtualRule) -> Result<bool, NetlinkError> {
        if !self.rules.contains(rule) {
            return Ok(false);
        }
        let what = format!("removing rule {rule}");
        self.uninstall(
            Request::typed(kind::DEL_RULE, &rule_message(rule)),
            &what,
            &[libc::ENOENT],
        )?;
        self.rules.remove(rule);
        Ok(true)
    }

    /// Sends a creation request: `Ok(true)` when it was created, `Ok(false)` when it existed.
    fn install(&mut self, msg: Request, what: &str) -> Result<bool, NetlinkError> {
        match self.request(msg, NLM_F_CREATE | NLM_F_EXCL, what) {
            Ok(()) => Ok(true),
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends a deletion request; the `gone` error codes mean "already removed" and are fine.
    fn uninstall(&mut self, msg: Request, what: &str, gone: &[i32]) -> Result<(), NetlinkError> {
        match self.request(msg, 0, what) {
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error().is_some_and(|c| gone.contains(&c)) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Every address on every interface.
    pub fn addresses(&mut self) -> Result<Vec<(InterfaceId, IpAddr)>, NetlinkError> {
        let seq = self.send(
            Request::raw(kind::GET_ADDRESS, &rtmsg::dump_all(kind::GET_ADDRESS)),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        self.replies(seq, "listing addresses", |m| match m.kind {
            kind::DONE => true,
            kind::NEW_ADDRESS => {
                if let Some((interface, addr, _)) = rtmsg::address_of(m.body) {
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
        out.extend(self.rules.iter().cloned().map(Entry::Rule));
        out
    }

    /// Removes what a previous run recorded in its journal and did not remove (it crashed or
    /// was killed). Entries already gone are fine. Returns the failures.
    pub fn remove_stale(&mut self, entries: &[super::journal::Entry]) -> Vec<NetlinkError> {
        entries
            .iter()
            .filter_map(|e| self.remove_entry(e, "stale").err())
            .collect()
    }

    /// Removes everything still recorded as ours (the last step of an orderly stop: what a
    /// failed removal or a path that forgot to remove left). What cannot be removed stays
    /// recorded, for the journal and the next start. Returns the failures.
    pub fn remove_remaining(&mut self) -> Vec<NetlinkError> {
        use super::journal::Entry;
        let mut failures = Vec::new();
        // Rules first, then routes, then addresses, as an orderly stop removes them.
        let mut left = self.installed();
        left.sort_by_key(|e| match e {
            Entry::Rule(_) => 0,
            Entry::Route(_) => 1,
            _ => 2,
        });
        for e in left {
            match self.remove_entry(&e, "remaining") {
                Ok(()) => match e {
                    Entry::Address {
                        interface,
                        addr,
                        prefix_len,
                    } => {
                        if let Ok(at) = self.addresses.binary_search(&(interface, addr, prefix_len))
                        {
                            self.addresses.remove(at);
                        }
                    }
                    Entry::Route(r) => {
                        self.routes.remove(&r);
                    }
                    Entry::Rule(r) => {
                        self.rules.remove(&r);
                    }
                    Entry::Link(_) => {}
                },
                Err(err) => failures.push(err),
            }
        }
        failures
    }

    /// Deletes the kernel object journal entry `e` stands for (already gone is fine; links are
    /// left to [`super::vmac`]).
    fn remove_entry(&mut self, e: &super::journal::Entry, which: &str) -> Result<(), NetlinkError> {
        use super::journal::Entry;
        let (msg, what, gone) = match e {
            Entry::Address {
                interface,
                addr,
                prefix_len,
            } => (
                Request::typed(
                    kind::DEL_ADDRESS,
                    &stale_address_message(*interface, *addr, *prefix_len),
                ),
                format!("removing {which} {addr}/{prefix_len}"),
                [libc::EADDRNOTAVAIL, libc::ENODEV],
            ),
            Entry::Route(r) => (
                Request::typed(kind::DEL_ROUTE, &route_message(r, true)),
                format!("removing {which} route {}/{}", r.dest, r.prefix_len),
                [libc::ESRCH, libc::ENODEV],
            ),
            Entry::Rule(r) => (
                Request::typed(kind::DEL_RULE, &rule_message(r)),
                format!("removing {which} rule {r}"),
                [libc::ENOENT, libc::ENODEV],
            ),
            Entry::Link(_) => return Ok(()), // the driver removes links (`super::vmac`)
        };
        self.uninstall(msg, &what, &gone)
    }

    /// Lists the interfaces.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let seq = self.send(
            Request::raw(kind::GET_LINK, &rtmsg::dump_all(kind::GET_LINK)),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        self.replies(seq, "listing links", |m| match m.kind {
            kind::DONE => true,
            kind::NEW_LINK => {
                out.extend(rtmsg::link_of(m.body));
                false
            }
            _ => false,
        })?;
        Ok(out)
    }

    fn send(&mut self, req: Request, flags: u16) -> Result<u32, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let buf = req.finish(NLM_F_REQUEST | flags, self.seq);
        self.socket.send(&buf, 0)?;
        Ok(self.seq)
    }

    /// Sends a request with `NLM_F_ACK` and waits for its acknowledgement.
    pub(crate) fn request(
        &mut self,
        req: Request,
        flags: u16,
        what: &str,
    ) -> Result<(), NetlinkError> {
        let seq = self.send(req, NLM_F_ACK | flags)?;
        // An acknowledgement is an error message with no error code.
        self.replies(seq, what, |m| m.kind == kind::ERROR)
    }

    /// Reads the replies to request `seq` and hands each to `done` until it returns `true`; a
    /// negative acknowledgement ends with [`NetlinkError::Refused`]. Bounded by the socket's
    /// receive timeout.
    fn replies(
        &mut self,
        seq: u32,
        what: &str,
        mut done: impl FnMut(rtmsg::Message<'_>) -> bool,
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
            for msg in rtmsg::messages(&buf).map_err(NetlinkError::Decode)? {
                if msg.seq != seq {
                    continue;
                }
                if let Some(code) = msg.error_code()
                    && code != 0
                {
                    return Err(NetlinkError::Refused {
                        what: what.to_owned(),
                        source: io::Error::from_raw_os_error(code),
                    });
                }
                if done(msg) {
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
const RTMGRP_IPV4_RULE: u32 = 0x80;
/// `1 << (RTNLGRP_IPV6_RULE - 1)`, `RTNLGRP_IPV6_RULE` being 19.
const RTMGRP_IPV6_RULE: u32 = 1 << 18;

impl Monitor {
    /// Subscribes to the groups.
    pub fn new() -> Result<Monitor, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let groups = RTMGRP_LINK
            | RTMGRP_IPV4_IFADDR
            | RTMGRP_IPV4_ROUTE
            | RTMGRP_IPV6_IFADDR
            | RTMGRP_IPV6_ROUTE
            | RTMGRP_IPV4_RULE
            | RTMGRP_IPV6_RULE;
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
            let Ok(msgs) = rtmsg::messages(&self.buf) else {
                batch.lost = true;
                continue;
            };
            batch.events.extend(msgs.into_iter().filter_map(event_of));
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

/// A notification in [`NetEvent`] terms (`None` for what we do not follow or cannot read).
fn event_of(m: rtmsg::Message<'_>) -> Option<NetEvent> {
    let present = matches!(
        m.kind,
        kind::NEW_LINK | kind::NEW_ADDRESS | kind::NEW_ROUTE | kind::NEW_RULE
    );
    match m.kind {
        kind::NEW_LINK => rtmsg::link_of(m.body).map(NetEvent::Link),
        kind::DEL_LINK => rtmsg::link_index(m.body).map(NetEvent::LinkGone),
        kind::NEW_ADDRESS | kind::DEL_ADDRESS => {
            rtmsg::address_of(m.body).map(|(interface, addr, prefix_len)| NetEvent::Address {
                interface,
                addr,
                prefix_len,
                present,
            })
        }
        kind::NEW_ROUTE | kind::DEL_ROUTE => {
            rtmsg::route_of(m.body).map(|route| NetEvent::Route { route, present })
        }
        kind::NEW_RULE | kind::DEL_RULE => {
            rtmsg::rule_of(m.body).map(|rule| NetEvent::Rule { rule, present })
        }
        _ => None,
    }
}

/// Whether the kernel's report `seen` is the configured rule `cfg`: the kernel picks a
/// priority when none is configured, reports the main table for a table rule without one, and
/// a full mask for a mark without one.
pub(crate) fn rule_matches(cfg: &VirtualRule, seen: &VirtualRule) -> bool {
    let table = |r: &VirtualRule| match r.action {
        RuleAction::ToTable => Some(r.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN))),
        _ => None,
    };
    let mark = |r: &VirtualRule| r.fwmark.map(|(m, k)| (m, k.unwrap_or(u32::MAX)));
    cfg.ipv6 == seen.ipv6
        && cfg.from == seen.from
        && cfg.to == seen.to
        && cfg.iif == seen.iif
        && cfg.oif == seen.oif
        && mark(cfg) == mark(seen)
        && cfg.tos == seen.tos
        && cfg.invert == seen.invert
        && cfg.action == seen.action
        && table(cfg) == table(seen)
        && cfg.priority.is_none_or(|p| seen.priority == Some(p))
}

/// Records `key` as ours when the kernel created it (`new`), or when it was already ours (a
/// re-add of something we installed); anything else was there before us.
fn owned_if<K: Eq + std::hash::Hash>(new: bool, set: &mut HashSet<K>, key: K) -> Added {
    if new {
        set.insert(key);
        Added::New
    } else if set.contains(&key) {
        Added::New
    } else {
        Added::AlreadyPresent
    }
}

/// The prefix length the kernel records for `address` (a peer's own length when it has one).
fn kernel_prefix(address: &VirtualAddress) -> u8 {
    address.peer.map_or(address.prefix_len, |(_, len)| len)
}

/// `RTM_NEWADDR`/`RTM_DELADDR` for `address` (keepalived-behaviour.md §1.3.3: IPv6 gets
/// `IFA_F_NODAD` and, for a /128, preferred lifetime 0; IPv4 gets its broadcast and label).
fn address_message(interface: InterfaceId, address: &VirtualAddress) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = interface.0;
    msg.header.prefix_len = kernel_prefix(address);
    msg.header.scope = AddressScope::from(address.scope.unwrap_or(0));
    let remote = address.peer.map_or(address.addr, |(p, _)| p);
    msg.header.family = if address.addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.attributes.push(AddressAttribute::Local(address.addr));
    msg.attributes.push(AddressAttribute::Address(remote));
    let mut flags = AddressFlags::empty();
    if address.addr.is_ipv6() && address.nodad {
        flags |= AddressFlags::Nodad;
    }
    for (set, flag) in [
        (address.home, AddressFlags::Homeaddress),
        (address.noprefixroute, AddressFlags::Noprefixroute),
        (address.autojoin, AddressFlags::Mcautojoin),
    ] {
        if set {
            flags |= flag;
        }
    }
    if !flags.is_empty() {
        msg.attributes.push(AddressAttribute::Flags(flags));
    }
    if address.addr.is_ipv4() {
        if let Some(brd) = address.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(label) = &address.label {
            msg.attributes
                .push(AddressAttribute::Label(label.to_string()));
        }
    }
    let preferred = address.effective_preferred_lft();
    if preferred != u32::MAX {
        let mut info = CacheInfo::default();
        info.ifa_preferred = preferred;
        info.ifa_valid = u32::MAX;
        msg.attributes.push(AddressAttribute::CacheInfo(info));
    }
    msg
}

/// `RTM_DELADDR` for a journal entry: only what identifies the address (local address, prefix
/// length, interface), whatever else it was installed with.
fn stale_address_message(interface: InterfaceId, addr: IpAddr, prefix_len: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = interface.0;
    msg.header.prefix_len = prefix_len;
    msg.header.family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.attributes.push(AddressAttribute::Local(addr));
    msg
}

/// `RTM_NEWROUTE` (or, with `delete`, `RTM_DELROUTE`) for `route` (keepalived-behaviour.md
/// §1.3.4). Without an explicit scope, an IPv4 unicast route out of an interface with no
/// gateway is on-link and everything else global, as `ip route add` chooses; a deletion then
/// matches any scope.
fn route_message(route: &VirtualRoute, delete: bool) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let v6 = route.dest.is_ipv6();
    msg.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.destination_prefix_length = route.prefix_len;
    msg.header.protocol = RouteProtocol::from(PROTO_KEEPALIVED);
    msg.header.kind = match route.kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Throw => RouteType::Throw,
    };
    let has_gateway = route.gateway.is_some() || route.nexthops.iter().any(|h| h.gateway.is_some());
    msg.header.scope = match route.scope {
        Some(s) => RouteScope::from(s),
        None if delete => RouteScope::NoWhere,
        None if route.kind == RouteKind::Unicast
            && !has_gateway
            && (route.interface.is_some() || !route.nexthops.is_empty())
            && !v6 =>
        {
            RouteScope::Link
        }
        None => RouteScope::Universe,
    };
    if route.onlink {
        msg.header.flags |= RouteFlags::Onlink;
    }
    let table = route.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
    msg.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    msg.attributes.push(RouteAttribute::Table(table));
    msg.attributes
        .push(RouteAttribute::Destination(route.dest.into()));
    if let Some(src) = route.source {
        msg.attributes.push(RouteAttribute::PrefSource(src.into()));
    }
    if let Some(metric) = route.metric {
        msg.attributes.push(RouteAttribute::Priority(metric));
    }
    if route.nexthops.is_empty() {
        if let Some(gw) = route.gateway {
            msg.attributes.push(RouteAttribute::Gateway(gw.into()));
        }
        if let Some(dev) = route.interface {
            msg.attributes.push(RouteAttribute::Oif(dev.0));
        }
    } else {
        let hops = route
            .nexthops
            .iter()
            .map(|h| {
                let mut hop = RouteNextHop::default();
                hop.hops = u8::try_from(h.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
                hop.interface_index = h.interface.map_or(0, |i| i.0);
                if h.onlink {
                    hop.flags |= RouteNextHopFlags::Onlink;
                }
                if let Some(gw) = h.gateway {
                    hop.attributes.push(RouteAttribute::Gateway(gw.into()));
                }
                hop
            })
            .collect();
        msg.attributes.push(RouteAttribute::MultiPath(hops));
    }
    msg
}

/// `RTM_NEWRULE`/`RTM_DELRULE` for `rule` (`ip rule` semantics: a table rule with no table
/// looks up the main table).
fn rule_message(rule: &VirtualRule) -> RuleMessage {
    let mut msg = RuleMessage::default();
    msg.header.family = if rule.ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.tos = rule.tos;
    msg.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::from(
            PROTO_KEEPALIVED,
        )));
    if rule.invert {
        msg.header.flags |= RuleFlags::Invert;
    }
    if let Some((addr, len)) = rule.from {
        msg.header.src_len = len;
        msg.attributes.push(RuleAttribute::Source(addr));
    }
    if let Some((addr, len)) = rule.to {
        msg.header.dst_len = len;
        msg.attributes.push(RuleAttribute::Destination(addr));
    }
    if let Some(i) = &rule.iif {
        msg.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &rule.oif {
        msg.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some((mark, mask)) = rule.fwmark {
        msg.attributes.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            msg.attributes.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(p) = rule.priority {
        msg.attributes.push(RuleAttribute::Priority(p));
    }
    msg.header.action = match rule.action {
        RuleAction::ToTable => {
            let table = rule.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
            msg.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
            msg.attributes.push(RuleAttribute::Table(table));
            NlRuleAction::ToTable
        }
        RuleAction::Goto(target) => {
            msg.attributes.push(RuleAttribute::Goto(target));
            NlRuleAction::Goto
        }
        RuleAction::Nop => NlRuleAction::Nop,
        RuleAction::Blackhole => NlRuleAction::Blackhole,
        RuleAction::Unreachable => NlRuleAction::Unreachable,
        RuleAction::Prohibit => NlRuleAction::Prohibit,
    };
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NextHop;

    /// The sorted address list answers "do we own this address on that interface" for any
    /// prefix length, whatever the order addresses were recorded in.
    #[test]
    fn owned_addresses_are_found_by_interface_and_address() {
        let Ok(mut rtnl) = Rtnl::new() else {
            eprintln!("skipped: no netlink socket");
            return;
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for key in [
            (InterfaceId(7), ip("10.0.0.9"), 32),
            (InterfaceId(2), ip("fd00::1"), 128),
            (InterfaceId(2), ip("10.0.0.9"), 24),
            (InterfaceId(7), ip("10.0.0.1"), 32),
        ] {
            let at = rtnl.addresses.binary_search(&key).unwrap_err();
            rtnl.addresses.insert(at, key);
        }
        assert!(rtnl.addresses.windows(2).all(|w| w[0] < w[1]));
        assert!(rtnl.owns_address(InterfaceId(2), ip("10.0.0.9")));
        assert!(rtnl.owns_address(InterfaceId(7), ip("10.0.0.1")));
        assert!(rtnl.owns_address(InterfaceId(2), ip("fd00::1")));
        assert!(!rtnl.owns_address(InterfaceId(2), ip("10.0.0.1")));
        assert!(!rtnl.owns_address(InterfaceId(9), ip("10.0.0.9")));
        rtnl.forget_address(InterfaceId(7), ip("10.0.0.9"));
        assert!(!rtnl.owns_address(InterfaceId(7), ip("10.0.0.9")));
        assert_eq!(rtnl.installed().len(), 3);
    }

    fn route() -> VirtualRoute {
        VirtualRoute {
            gateway: Some("10.0.0.254".parse().unwrap()),
            source: Some("10.0.0.100".parse().unwrap()),
            interface: Some(InterfaceId(3)),
            table: Some(100),
            metric: Some(7),
            scope: Some(0),
            ..VirtualRoute::to("198.51.100.0".parse().unwrap(), 24)
        }
    }

    /// Encodes a request as we send it and decodes it as the monitor reads the kernel's echo.
    fn echo(kind: u16, msg: &impl Emitable) -> Option<NetEvent> {
        let buf = Request::typed(kind, msg).finish(0, 1);
        let msgs = rtmsg::messages(&buf).unwrap();
        assert_eq!(msgs.len(), 1);
        event_of(msgs[0])
    }

    fn route_of(m: &RouteMessage) -> Option<VirtualRoute> {
        match echo(kind::NEW_ROUTE, m)? {
            NetEvent::Route {
                route,
                present: true,
            } => Some(route),
            other => panic!("{other:?}"),
        }
    }

    fn rule_of(m: &RuleMessage) -> Option<VirtualRule> {
        match echo(kind::DEL_RULE, m)? {
            NetEvent::Rule {
                rule,
                present: false,
            } => Some(rule),
            other => panic!("{other:?}"),
        }
    }

    fn route_echo(r: &VirtualRoute) -> Option<VirtualRoute> {
        route_of(&route_message(r, false))
    }

    #[test]
    fn route_message_round_trips_through_route_of() {
        let route = route();
        assert_eq!(route_echo(&route), Some(route.clone()));
        let main = VirtualRoute {
            table: None,
            ..route
        };
        assert_eq!(route_echo(&main), Some(main));
    }

    #[test]
    fn route_types_scope_and_multipath_round_trip() {
        let hole = VirtualRoute {
            kind: RouteKind::Blackhole,
            table: Some(200),
            scope: Some(0),
            ..VirtualRoute::to("203.0.113.0".parse().unwrap(), 24)
        };
        assert_eq!(route_echo(&hole), Some(hole.clone()));
        for kind in [
            RouteKind::Unreachable,
            RouteKind::Prohibit,
            RouteKind::Throw,
        ] {
            let r = VirtualRoute {
                kind,
                ..hole.clone()
            };
            assert_eq!(route_echo(&r), Some(r.clone()));
        }
        let multi = VirtualRoute {
            nexthops: vec![
                NextHop {
                    gateway: Some("10.0.0.1".parse().unwrap()),
                    interface: Some(InterfaceId(3)),
                    weight: 1,
                    onlink: false,
                },
                NextHop {
                    gateway: Some("10.0.0.2".parse().unwrap()),
                    interface: Some(InterfaceId(3)),
                    weight: 256,
                    onlink: true,
                },
            ],
            ..VirtualRoute::to("192.0.2.0".parse().unwrap(), 24)
        };
        let back = route_echo(&multi).unwrap();
        assert_eq!(back.nexthops, multi.nexthops);
        assert_eq!(back.gateway, None);
        // An interface-only IPv4 route is on-link, a gateway route global, a deletion any.
        let link = VirtualRoute {
            interface: Some(InterfaceId(2)),
            ..VirtualRoute::to("192.0.2.0".parse().unwrap(), 24)
        };
        assert_eq!(route_message(&link, false).header.scope, RouteScope::Link);
        assert_eq!(
            route_message(&route(), false).header.scope,
            RouteScope::Universe
        );
        assert_eq!(route_message(&link, true).header.scope, RouteScope::NoWhere);
        assert!(route_of(&route_message(&link, false)).unwrap().scope == Some(253));
    }

    #[test]
    fn address_message_carries_every_attribute() {
        let mut v4 = VirtualAddress::host("192.0.2.10".parse().unwrap());
        v4.prefix_len = 24;
        v4.label = Some("eth0:vip".into());
        v4.scope = Some(253);
        v4.broadcast = Some("192.0.2.255".parse().unwrap());
        v4.noprefixroute = true;
        let m = address_message(InterfaceId(4), &v4);
        assert_eq!(m.header.prefix_len, 24);
        assert_eq!(m.header.scope, AddressScope::Link);
        let has = |m: &AddressMessage, a: &AddressAttribute| m.attributes.contains(a);
        assert!(has(&m, &AddressAttribute::Label("eth0:vip".to_owned())));
        assert!(has(
            &m,
            &AddressAttribute::Broadcast("192.0.2.255".parse().unwrap())
        ));
        assert!(has(
            &m,
            &AddressAttribute::Flags(AddressFlags::Noprefixroute)
        ));
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::CacheInfo(_)))
        );
        // IPv6 /128: nodad and deprecated (preferred lifetime 0), no label or broadcast.
        let mut v6 = VirtualAddress::host("2001:db8::10".parse().unwrap());
        v6.label = Some("ignored".into());
        let m = address_message(InterfaceId(4), &v6);
        assert!(has(&m, &AddressAttribute::Flags(AddressFlags::Nodad)));
        assert!(m.attributes.iter().any(|a| matches!(a,
            AddressAttribute::CacheInfo(c) if c.ifa_preferred == 0 && c.ifa_valid == u32::MAX)));
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Label(_)))
        );
        // A /64, or `preferred_lft forever`, stays preferred; `-nodad` clears the flag.
        v6.prefix_len = 64;
        v6.nodad = false;
        let m = address_message(InterfaceId(4), &v6);
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::CacheInfo(_)))
        );
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Flags(_)))
        );
        // A peer address: the kernel's prefix is the peer's.
        let mut p = VirtualAddress::host("10.9.0.1".parse().unwrap());
        p.peer = Some(("10.9.0.2".parse().unwrap(), 32));
        p.prefix_len = 24;
        let m = address_message(InterfaceId(4), &p);
        assert_eq!(m.header.prefix_len, 32);
        assert!(has(
            &m,
            &AddressAttribute::Address("10.9.0.2".parse().unwrap())
        ));
        assert!(has(
            &m,
            &AddressAttribute::Local("10.9.0.1".parse().unwrap())
        ));
    }

    #[test]
    fn rule_message_encodes_selectors_and_action() {
        let rule = VirtualRule {
            from: Some(("10.1.0.0".parse().unwrap(), 16)),
            to: Some(("10.2.0.0".parse().unwrap(), 24)),
            iif: Some("eth1".to_owned()),
            fwmark: Some((0x10, Some(0xff))),
            priority: Some(100),
            table: Some(1000),
            invert: true,
            ..VirtualRule::new(false)
        };
        let m = rule_message(&rule);
        assert_eq!((m.header.src_len, m.header.dst_len), (16, 24));
        assert_eq!(m.header.action, NlRuleAction::ToTable);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(m.header.flags.contains(RuleFlags::Invert));
        for a in [
            RuleAttribute::Table(1000),
            RuleAttribute::Priority(100),
            RuleAttribute::FwMark(0x10),
            RuleAttribute::FwMask(0xff),
            RuleAttribute::Iifname("eth1".to_owned()),
            RuleAttribute::Source("10.1.0.0".parse().unwrap()),
        ] {
            assert!(m.attributes.contains(&a), "{a:?} in {m:?}");
        }
        assert!(rule_matches(&rule, &rule_of(&m).unwrap()));
        // The kernel's view of a rule with no priority, table or mask configured.
        let plain = VirtualRule {
            fwmark: Some((7, None)),
            ..VirtualRule::new(false)
        };
        let mut seen = rule_of(&rule_message(&plain)).unwrap();
        seen.priority = Some(32765);
        seen.fwmark = Some((7, Some(u32::MAX)));
        assert!(rule_matches(&plain, &seen));
        assert!(!rule_matches(&rule, &seen));
        let goto = VirtualRule {
            action: RuleAction::Goto(500),
            ..VirtualRule::new(true)
        };
        let m = rule_message(&goto);
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert!(m.attributes.contains(&RuleAttribute::Goto(500)));
    }

    #[test]
    fn garbage_never_panics() {
        for n in 0..64u8 {
            let buf: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let _ = rtmsg::messages(&buf);
            // Every kind we read, with a body of any length and content.
            for k in [2, 3, 16, 17, 20, 21, 24, 25, 32, 33] {
                for body in [&buf[..], &[0xff; 64][..usize::from(n)]] {
                    let m = rtmsg::Message {
                        kind: k,
                        seq: 0,
                        body,
                    };
                    let _ = event_of(m);
                    let _ = m.error_code();
                }
            }
        }
    }
}
