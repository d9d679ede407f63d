//! The rtnetlink wire format, as much of it as [`super::netlink`] and [`super::vmac`] use:
//! the netlink header, attribute walks, and the decoding of the link, address, route and rule
//! reports the kernel sends us; plus the link requests of the VMACs.
//!
//! Reports are decoded straight from the bytes into the driver's own terms instead of through
//! `netlink_packet_route`'s message enum: that parser handles every rtnetlink kind (traffic
//! control, neighbours, every link type's `IFLA_INFO_DATA`, ...) and its code, about 300 KB of
//! the daemon's text, would be resident in every daemon process although we read four kinds
//! and a handful of attributes. Requests for addresses, routes and rules are still built with
//! that crate's typed messages (their emitters are small).
//!
//! Layouts from `linux/netlink.h`, `linux/rtnetlink.h`, `linux/if_addr.h`, `linux/if_link.h`
//! and `linux/fib_rules.h`; every integer is in host byte order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{InterfaceId, NextHop, RouteKind, RuleAction, VirtualRoute, VirtualRule};

use super::netlink::LinkInfo;

/// `sizeof(struct nlmsghdr)`.
pub(crate) const HEADER_LEN: usize = 16;

/// Netlink and rtnetlink message types.
pub(crate) mod kind {
    /// `NLMSG_ERROR`: an error or (code 0) an acknowledgement.
    pub(crate) const ERROR: u16 = 2;
    /// `NLMSG_DONE`: the end of a dump.
    pub(crate) const DONE: u16 = 3;
    /// `RTM_NEWLINK`.
    pub(crate) const NEW_LINK: u16 = 16;
    /// `RTM_DELLINK`.
    pub(crate) const DEL_LINK: u16 = 17;
    /// `RTM_GETLINK`.
    pub(crate) const GET_LINK: u16 = 18;
    /// `RTM_SETLINK`.
    pub(crate) const SET_LINK: u16 = 19;
    /// `RTM_NEWADDR`.
    pub(crate) const NEW_ADDRESS: u16 = 20;
    /// `RTM_DELADDR`.
    pub(crate) const DEL_ADDRESS: u16 = 21;
    /// `RTM_GETADDR`.
    pub(crate) const GET_ADDRESS: u16 = 22;
    /// `RTM_NEWROUTE`.
    pub(crate) const NEW_ROUTE: u16 = 24;
    /// `RTM_DELROUTE`.
    pub(crate) const DEL_ROUTE: u16 = 25;
    /// `RTM_NEWRULE`.
    pub(crate) const NEW_RULE: u16 = 32;
    /// `RTM_DELRULE`.
    pub(crate) const DEL_RULE: u16 = 33;
}

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// One message of a datagram: its header's type, flags and sequence number, and its body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    /// `nlmsg_type`.
    pub(crate) kind: u16,
    /// `nlmsg_seq`.
    pub(crate) seq: u32,
    /// What follows the header.
    pub(crate) body: &'a [u8],
}

impl Message<'_> {
    /// For `NLMSG_ERROR`: `Some(0)` for an acknowledgement, else the (positive) errno.
    pub(crate) fn error_code(&self) -> Option<i32> {
        (self.kind == kind::ERROR)
            .then(|| i32_at(self.body, 0))
            .flatten()
            .map(i32::saturating_neg)
    }
}

/// Splits a datagram into its messages; `Err` (with a description) when a length is wrong.
pub(crate) fn messages(mut buf: &[u8]) -> Result<Vec<Message<'_>>, String> {
    let mut out = Vec::new();
    while buf.len() >= HEADER_LEN {
        let len = u32_at(buf, 0).unwrap_or(0) as usize;
        if len < HEADER_LEN || len > buf.len() {
            return Err(format!(
                "message length {len} in a {}-byte buffer",
                buf.len()
            ));
        }
        out.push(Message {
            kind: u16_at(buf, 4).unwrap_or(0),
            seq: u32_at(buf, 8).unwrap_or(0),
            body: &buf[HEADER_LEN..len],
        });
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
    }
    Ok(out)
}

/// Fills the header at the start of `msg` (a whole message): its length, `kind`, `flags`,
/// `seq`, and port id 0 (the kernel's).
pub(crate) fn fill_header(msg: &mut [u8], kind: u16, flags: u16, seq: u32) {
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    if let Some(h) = msg.get_mut(..HEADER_LEN) {
        h[0..4].copy_from_slice(&len.to_ne_bytes());
        h[4..6].copy_from_slice(&kind.to_ne_bytes());
        h[6..8].copy_from_slice(&flags.to_ne_bytes());
        h[8..12].copy_from_slice(&seq.to_ne_bytes());
        h[12..16].fill(0);
    }
}

/// The attributes (`struct rtattr`: length, type, payload, padded to 4 bytes) in `buf`, as
/// (type without the nested/byte-order flags, payload); a malformed one ends the walk.
pub(crate) fn attributes(buf: &[u8]) -> Attributes<'_> {
    Attributes(buf)
}

/// See [`attributes`].
pub(crate) struct Attributes<'a>(&'a [u8]);

impl<'a> Iterator for Attributes<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let b = self.0;
        let len = usize::from(u16_at(b, 0)?);
        let kind = u16_at(b, 2)? & 0x3fff;
        if len < 4 || len > b.len() {
            self.0 = &[];
            return None;
        }
        self.0 = &b[len.next_multiple_of(4).min(b.len())..];
        Some((kind, &b[4..len]))
    }
}

/// Appends attribute `kind` with `payload` (padded).
pub(crate) fn put_attribute(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// Appends a nested attribute `kind` holding what `fill` appends.
pub(crate) fn put_nested(buf: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    put_attribute(buf, kind, &[]);
    fill(buf);
    let len = u16::try_from(buf.len() - start).unwrap_or(u16::MAX);
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A 4- or 16-byte address.
fn ip(p: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(p) {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    } else {
        <[u8; 16]>::try_from(p)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
    }
}

/// A NUL-terminated (or not) UTF-8 string.
fn string(p: &[u8]) -> Option<String> {
    let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
    std::str::from_utf8(&p[..end]).ok().map(str::to_owned)
}

/// `IFF_UP`, `IFF_RUNNING`.
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: usize = 16;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
const MACVLAN_MODE_PRIVATE: u32 = 1;

/// The interface index of a link report (`RTM_NEWLINK`/`RTM_DELLINK`).
pub(crate) fn link_index(body: &[u8]) -> Option<InterfaceId> {
    u32_at(body, 4).map(InterfaceId)
}

/// A link report (`RTM_NEWLINK`): index, name, `IFF_UP && IFF_RUNNING`, Ethernet address.
pub(crate) fn link_of(body: &[u8]) -> Option<LinkInfo> {
    let interface = link_index(body)?;
    let flags = u32_at(body, 8)?;
    let mut name = String::new();
    let mut mac = None;
    for (kind, p) in attributes(body.get(IFINFOMSG_LEN..)?) {
        match kind {
            IFLA_IFNAME => name = string(p)?,
            IFLA_ADDRESS => mac = <[u8; 6]>::try_from(p).ok(),
            _ => {}
        }
    }
    Some(LinkInfo {
        interface,
        name,
        up: flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING,
        mac,
    })
}

/// `struct ifinfomsg` for interface `name` (index 0: the kernel finds it by name) with `flags`
/// in `change`, followed by its name attribute.
fn link_request(name: &str, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; IFINFOMSG_LEN];
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    put_attribute(&mut b, IFLA_IFNAME, &n);
    b
}

/// The body of the `RTM_NEWLINK` that creates macvlan `name` on interface `base` with `mac`,
/// in private mode, down.
pub(crate) fn new_macvlan(name: &str, base: u32, mac: [u8; 6]) -> Vec<u8> {
    let mut b = link_request(name, 0, 0);
    put_attribute(&mut b, IFLA_LINK, &base.to_ne_bytes());
    put_attribute(&mut b, IFLA_ADDRESS, &mac);
    put_nested(&mut b, IFLA_LINKINFO, |b| {
        put_attribute(b, IFLA_INFO_KIND, b"macvlan\0");
        put_nested(b, IFLA_INFO_DATA, |b| {
            put_attribute(b, IFLA_MACVLAN_MODE, &MACVLAN_MODE_PRIVATE.to_ne_bytes());
        });
    });
    b
}

/// The body of the `RTM_SETLINK` that brings interface `name` up.
pub(crate) fn set_link_up(name: &str) -> Vec<u8> {
    link_request(name, IFF_UP, IFF_UP)
}

/// The body of the `RTM_DELLINK` that deletes interface `name`.
pub(crate) fn del_link(name: &str) -> Vec<u8> {
    link_request(name, 0, 0)
}

/// The body of a dump request (`RTM_GETLINK`: `struct ifinfomsg`; `RTM_GETADDR`: `struct
/// ifaddrmsg`) for everything.
pub(crate) fn dump_all(kind: u16) -> Vec<u8> {
    vec![
        0u8;
        if kind == kind::GET_LINK {
            IFINFOMSG_LEN
        } else {
            8
        }
    ]
}

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

/// An address report (`RTM_NEWADDR`/`RTM_DELADDR`): interface, address (`IFA_LOCAL`, the
/// interface's own on point-to-point links, else `IFA_ADDRESS`), prefix length.
pub(crate) fn address_of(body: &[u8]) -> Option<(InterfaceId, IpAddr, u8)> {
    let prefix_len = *body.get(1)?;
    let index = u32_at(body, 4)?;
    let mut local = None;
    let mut address = None;
    for (kind, p) in attributes(body.get(8..)?) {
        match kind {
            IFA_LOCAL => local = ip(p),
            IFA_ADDRESS => address = ip(p),
            _ => {}
        }
    }
    Some((InterfaceId(index), local.or(address)?, prefix_len))
}

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
/// `RTNH_F_ONLINK`, in `rtm_flags` and `rtnh_flags`.
const RTNH_F_ONLINK: u32 = 4;
/// `RT_TABLE_MAIN`.
pub(crate) const RT_TABLE_MAIN: u32 = 254;

/// A route report (`RTM_NEWROUTE`/`RTM_DELROUTE`) of IPv4 or IPv6 in [`VirtualRoute`] terms
/// (`None` for another family or a route type we do not model).
pub(crate) fn route_of(body: &[u8]) -> Option<VirtualRoute> {
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type; flags.
    let h = body.get(..12)?;
    let unspecified = match h[0] {
        AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AF_INET6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut route = VirtualRoute::to(unspecified, h[1]);
    route.kind = match h[7] {
        1 => RouteKind::Unicast,
        6 => RouteKind::Blackhole,
        7 => RouteKind::Unreachable,
        8 => RouteKind::Prohibit,
        9 => RouteKind::Throw,
        _ => return None,
    };
    route.scope = Some(h[6]);
    route.onlink = u32_at(h, 8)? & RTNH_F_ONLINK != 0;
    let mut table = u32::from(h[4]);
    for (kind, p) in attributes(&body[12..]) {
        match kind {
            RTA_DST => route.dest = ip(p)?,
            RTA_GATEWAY => route.gateway = ip(p),
            RTA_PREFSRC => route.source = ip(p),
            RTA_OIF => route.interface = u32_at(p, 0).map(InterfaceId),
            RTA_TABLE => table = u32_at(p, 0)?,
            RTA_PRIORITY => route.metric = u32_at(p, 0),
            RTA_MULTIPATH => route.nexthops = nexthops(p),
            _ => {}
        }
    }
    route.table = (table != RT_TABLE_MAIN).then_some(table);
    Some(route)
}

/// `RTA_MULTIPATH`: `struct rtnexthop` (length, flags, hops, ifindex) each followed by its
/// attributes.
fn nexthops(mut p: &[u8]) -> Vec<NextHop> {
    let mut hops = Vec::new();
    while let Some(len) = u16_at(p, 0).map(usize::from) {
        if len < 8 || len > p.len() {
            break;
        }
        let index = u32_at(p, 4).unwrap_or(0);
        hops.push(NextHop {
            gateway: attributes(&p[8..len])
                .find(|&(k, _)| k == RTA_GATEWAY)
                .and_then(|(_, g)| ip(g)),
            interface: (index != 0).then_some(InterfaceId(index)),
            weight: u16::from(p[3]) + 1,
            onlink: u32::from(p[2]) & RTNH_F_ONLINK != 0,
        });
        p = &p[len.next_multiple_of(4).min(p.len())..];
    }
    hops
}

const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
/// `FIB_RULE_INVERT`.
const FIB_RULE_INVERT: u32 = 0x2;

/// A rule report (`RTM_NEWRULE`/`RTM_DELRULE`) in [`VirtualRule`] terms (`None` for an action
/// we do not model).
pub(crate) fn rule_of(body: &[u8]) -> Option<VirtualRule> {
    // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action; flags.
    let h = body.get(..12)?;
    let mut rule = VirtualRule::new(h[0] == AF_INET6);
    rule.tos = h[3];
    rule.invert = u32_at(h, 8)? & FIB_RULE_INVERT != 0;
    let mut table = u32::from(h[4]);
    let (mut mark, mut mask, mut goto) = (None, None, None);
    for (kind, p) in attributes(&body[12..]) {
        match kind {
            FRA_SRC => rule.from = Some((ip(p)?, h[2])),
            FRA_DST => rule.to = Some((ip(p)?, h[1])),
            FRA_IIFNAME => rule.iif = Some(string(p)?),
            FRA_OIFNAME => rule.oif = Some(string(p)?),
            FRA_FWMARK => mark = u32_at(p, 0),
            FRA_FWMASK => mask = u32_at(p, 0),
            FRA_PRIORITY => rule.priority = u32_at(p, 0),
            FRA_TABLE => table = u32_at(p, 0)?,
            FRA_GOTO => goto = u32_at(p, 0),
            _ => {}
        }
    }
    rule.fwmark = mark.map(|m| (m, mask));
    rule.action = match h[7] {
        1 => {
            rule.table = Some(table);
            RuleAction::ToTable
        }
        2 => RuleAction::Goto(goto?),
        3 => RuleAction::Nop,
        6 => RuleAction::Blackhole,
        7 => RuleAction::Unreachable,
        8 => RuleAction::Prohibit,
        _ => return None,
    };
    Some(rule)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use netlink_packet_core::Parseable;
    use netlink_packet_route::link::{
        InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo,
        LinkMessage, MacVlanMode,
    };

    use super::*;

    fn request(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m.extend_from_slice(body);
        fill_header(&mut m, kind, flags, seq);
        m
    }

    /// What `netlink_packet_route` reads from our bytes: an independent check of the layout.
    fn parsed(body: &[u8]) -> LinkMessage {
        LinkMessage::parse(body).unwrap()
    }

    #[test]
    fn macvlan_request_reads_back_as_the_typed_message() {
        let m = parsed(&new_macvlan("vrrp.51", 7, [0, 0, 0x5e, 0, 1, 51]));
        assert_eq!(
            m.attributes,
            vec![
                LinkAttribute::IfName("vrrp.51".to_owned()),
                LinkAttribute::Link(7),
                LinkAttribute::Address(vec![0, 0, 0x5e, 0, 1, 51]),
                LinkAttribute::LinkInfo(vec![
                    NlLinkInfo::Kind(InfoKind::MacVlan),
                    NlLinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                        MacVlanMode::Private
                    )])),
                ]),
            ]
        );
        let up = parsed(&set_link_up("vrrp.51"));
        assert_eq!(up.header.flags, LinkFlags::Up);
        assert_eq!(up.header.change_mask, LinkFlags::Up);
        assert_eq!(
            parsed(&del_link("x")).attributes,
            vec![LinkAttribute::IfName("x".to_owned())]
        );
    }

    #[test]
    fn link_reports_decode() {
        let mut body = set_link_up("eth0");
        body[4..8].copy_from_slice(&9u32.to_ne_bytes());
        put_attribute(&mut body, IFLA_ADDRESS, &[2, 0, 0, 0, 0, 1]);
        let l = link_of(&body).unwrap();
        assert_eq!(l.interface, InterfaceId(9));
        assert_eq!(l.name, "eth0");
        assert_eq!(l.mac, Some([2, 0, 0, 0, 0, 1]));
        assert!(!l.up, "up but not running");
        body[8..12].copy_from_slice(&(IFF_UP | IFF_RUNNING).to_ne_bytes());
        assert!(link_of(&body).unwrap().up);
        assert_eq!(link_of(&body[..10]), None);
    }

    #[test]
    fn messages_split_and_refuse_bad_lengths() {
        let mut buf = request(kind::NEW_LINK, 0, 5, &set_link_up("a"));
        buf.extend(request(kind::DONE, 0, 6, &[0; 4]));
        let m = messages(&buf).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].kind, m[0].seq), (kind::NEW_LINK, 5));
        assert_eq!((m[1].kind, m[1].seq, m[1].body.len()), (kind::DONE, 6, 4));
        buf[0] = 200;
        assert!(messages(&buf).is_err());
        let ack = request(kind::ERROR, 0, 1, &0i32.to_ne_bytes());
        assert_eq!(messages(&ack).unwrap()[0].error_code(), Some(0));
        let nak = request(kind::ERROR, 0, 1, &(-libc::EEXIST).to_ne_bytes());
        assert_eq!(messages(&nak).unwrap()[0].error_code(), Some(libc::EEXIST));
    }
}
