//! Typed configuration of an [`Engine`](crate::Engine): instances, sync groups and trackers.
//!
//! This is the engine's own model. The daemon maps the parsed keepalived.conf onto it; the engine
//! never parses text. [`EngineConfig::validate`] (also run by [`Engine::new`](crate::Engine::new))
//! rejects what the state machine cannot run safely.

use core::time::Duration;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use vrrp_proto::{AdvertInterval, AuthConfig, Centiseconds, Ipv4ChecksumMode, Seconds};

use crate::{Priority, Version};

/// Identifies a network interface.
///
/// In the Linux driver an id is either a kernel ifindex (an id the configuration gives no
/// name in [`EngineConfig::interfaces`]), or a logical id that an [`InterfaceConfig`] names:
/// the driver then follows the interface by name, so it may be missing at start or deleted
/// and re-created under a new ifindex. [`InterfaceId::named`] makes stable logical ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InterfaceId(pub u32);

impl InterfaceId {
    /// The logical id of interface `name`: a hash of the name with the top bit set, so it is
    /// the same in every run and reload and never equals a kernel ifindex (which is a positive
    /// C `int`). Pair it with an [`InterfaceConfig`] naming the interface.
    pub fn named(name: &str) -> InterfaceId {
        // FNV-1a, 32 bits.
        let mut h: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        InterfaceId(h | 0x8000_0000)
    }

    /// Whether this is a logical id (from [`InterfaceId::named`]) rather than an ifindex.
    pub fn is_logical(self) -> bool {
        self.0 & 0x8000_0000 != 0
    }
}

/// A network interface the configuration refers to by name (the engine itself ignores this;
/// it is for the driver, which maps the name to the kernel's current ifindex).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceConfig {
    /// The id instances, trackers, addresses and routes use.
    pub id: InterfaceId,
    /// The kernel name.
    pub name: String,
    /// Set when the driver creates this interface as a VMAC (`use_vmac`).
    pub vmac: Option<VmacConfig>,
}

impl InterfaceConfig {
    /// An existing interface followed by `name`, with id [`InterfaceId::named`].
    pub fn named(name: impl Into<String>) -> InterfaceConfig {
        let name = name.into();
        InterfaceConfig {
            id: InterfaceId::named(&name),
            name,
            vmac: None,
        }
    }
}

/// A VMAC interface (`use_vmac`, keepalived-behaviour.md §3.9): a macvlan in private mode on
/// `base`, with the virtual router MAC, created by the driver while the base exists and removed
/// on stop or when a reload drops it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VmacConfig {
    /// The interface the macvlan sits on.
    pub base: InterfaceId,
    /// Its MAC: `00:00:5e:00:01:VRID` (IPv4) or `00:00:5e:00:02:VRID` (IPv6), see
    /// [`VmacConfig::mac_for`].
    pub mac: [u8; 6],
    /// `vmac_xmit_base`: adverts are sent and received on `base`; addresses and GARP/NA stay on
    /// the VMAC.
    pub xmit_base: bool,
}

impl VmacConfig {
    /// The RFC 5798 §7.3 virtual router MAC of `vrid` for the family.
    pub fn mac_for(vrid: u8, ipv6: bool) -> [u8; 6] {
        [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
    }
}

/// Index of a tracker in [`EngineConfig::trackers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackerId(pub u32);

/// Index of an instance in [`EngineConfig::instances`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(pub u32);

/// Index of a sync group in [`EngineConfig::sync_groups`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub u32);

/// Everything one engine runs.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// The VRRP instances; an instance's [`InstanceId`] is its index here.
    pub instances: Vec<InstanceConfig>,
    /// Sync groups (`vrrp_sync_group`); a [`GroupId`] is an index here.
    pub sync_groups: Vec<SyncGroupConfig>,
    /// Trackers referenced by instances; a [`TrackerId`] is an index here.
    pub trackers: Vec<TrackerConfig>,
    /// Minimum time between two log lines of the same error class on one instance
    /// (the count of suppressed lines is reported with the next one).
    pub log_interval: Duration,
    /// `log_unknown_vrids`: log adverts for VRIDs no instance runs (at most once per
    /// `log_interval`); they are always counted.
    pub log_unknown_vrids: bool,
    /// Interfaces named by logical ids (see [`InterfaceId`]); ids not listed are ifindexes.
    pub interfaces: Vec<InterfaceConfig>,
    /// Static addresses, routes and rules (the driver's business; see [`StaticConfig`]).
    pub statics: StaticConfig,
}

/// Which state an instance asks for at start (`state MASTER|BACKUP`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitialState {
    /// Start in BACKUP and wait a full Master_Down_Interval (the default).
    #[default]
    Backup,
    /// Start in BACKUP but claim mastership after only the skew time unless a master is heard
    /// (only an owner, priority 255, is MASTER at once: RFC 5798 §6.4.1).
    Master,
}

/// A virtual or static address (`virtual_ipaddress`, `virtual_ipaddress_excluded` or
/// `static_ipaddress` line; keepalived-behaviour.md §1.3.3, `ip addr add` options).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::struct_excessive_bools)] // one per `ip addr` flag keyword
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (32 or 128 for a host address).
    pub prefix_len: u8,
    /// Interface the address goes on; the instance's interface when `None`.
    pub interface: Option<InterfaceId>,
    /// `true` for `virtual_ipaddress_excluded`: installed and announced, never put in adverts.
    pub excluded: bool,
    /// `label`: the IPv4 address label (`eth0:1`); ignored for IPv6, as by the kernel. A boxed
    /// `str` rather than a `String`: every instance holds its addresses for its lifetime, and 88
    /// bytes fit glibc's 96-byte chunks where 96 took 112.
    pub label: Option<Box<str>>,
    /// `scope`: the kernel's numeric scope (0 global, 200 site, 253 link, 254 host, 255
    /// nowhere); `None` is global.
    pub scope: Option<u8>,
    /// `brd`/`broadcast` (IPv4 only).
    pub broadcast: Option<Ipv4Addr>,
    /// `peer ADDR/LEN`: the remote end of a point-to-point address (its prefix length is the
    /// one the kernel records).
    pub peer: Option<(IpAddr, u8)>,
    /// IPv6: install without duplicate address detection (`IFA_F_NODAD`), so the address is
    /// usable and announceable at once. On by default, as in keepalived; `-nodad` clears it.
    pub nodad: bool,
    /// IPv6 preferred lifetime in seconds (`preferred_lft`): `None` is keepalived's default,
    /// 0 (deprecated, never chosen as a source address) for a /128 and forever otherwise;
    /// `Some(u32::MAX)` is `forever`.
    pub preferred_lft: Option<u32>,
    /// `home` (`IFA_F_HOMEADDRESS`, IPv6).
    pub home: bool,
    /// `noprefixroute` (`IFA_F_NOPREFIXROUTE`): no prefix route is added with the address.
    pub noprefixroute: bool,
    /// `autojoin` (`IFA_F_MCAUTOJOIN`): join the multicast group of a multicast address.
    pub autojoin: bool,
    /// `no_track`: when removed behind our back, the address is not put back until the
    /// instance next becomes MASTER.
    pub no_track: bool,
}

impl VirtualAddress {
    /// A host address (/32 or /128) on the instance's own interface, carried in adverts.
    pub fn host(addr: IpAddr) -> Self {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        VirtualAddress {
            addr,
            prefix_len,
            interface: None,
            excluded: false,
            label: None,
            scope: None,
            broadcast: None,
            peer: None,
            nodad: true,
            preferred_lft: None,
            home: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
        }
    }

    /// The preferred lifetime to install (seconds, `u32::MAX` = forever), keepalived's default
    /// applied: IPv6 /128 addresses are deprecated (0), everything else is preferred forever.
    pub fn effective_preferred_lft(&self) -> u32 {
        match self.preferred_lft {
            Some(v) => v,
            None if self.addr.is_ipv6() && self.prefix_len == 128 => 0,
            None => u32::MAX,
        }
    }
}

/// What a route does with matching traffic (`ip route` route types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// A normal route (through a gateway or out of an interface).
    #[default]
    Unicast,
    /// `blackhole`: silently dropped.
    Blackhole,
    /// `unreachable`: dropped with ICMP unreachable.
    Unreachable,
    /// `prohibit`: dropped with ICMP administratively prohibited.
    Prohibit,
    /// `throw`: the lookup continues with the next rule.
    Throw,
}

/// One hop of a multipath route (`nexthop via GW dev IF weight W onlink`, or the deprecated
/// `or GW`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// Gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface, if any.
    pub interface: Option<InterfaceId>,
    /// Weight, 1..=256 (1 when not given).
    pub weight: u16,
    /// `onlink`: the gateway is reachable on the interface without a matching route.
    pub onlink: bool,
}

/// A virtual or static route (`virtual_routes` / `static_routes` line; keepalived-behaviour.md
/// §1.3.4, `ip route add` options).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualRoute {
    /// Destination network.
    pub dest: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Next hop, if any.
    pub gateway: Option<IpAddr>,
    /// Preferred source address, if any.
    pub source: Option<IpAddr>,
    /// Output interface, if any.
    pub interface: Option<InterfaceId>,
    /// Routing table (main when `None`).
    pub table: Option<u32>,
    /// Metric, if any.
    pub metric: Option<u32>,
    /// Route type.
    pub kind: RouteKind,
    /// `scope`: the kernel's numeric scope; `None` lets the driver choose as `ip route` does
    /// (link for an IPv4 route out of an interface with no gateway, global otherwise).
    pub scope: Option<u8>,
    /// Multipath hops (`nexthop …`); when not empty, `gateway` and `interface` are unused.
    pub nexthops: Vec<NextHop>,
    /// `onlink` for the single gateway.
    pub onlink: bool,
    /// `no_track`: when removed behind our back, the route is not put back until the instance
    /// next becomes MASTER.
    pub no_track: bool,
}

impl VirtualRoute {
    /// A unicast route to `dest/prefix_len` in the main table with nothing else set.
    pub fn to(dest: IpAddr, prefix_len: u8) -> Self {
        VirtualRoute {
            dest,
            prefix_len,
            gateway: None,
            source: None,
            interface: None,
            table: None,
            metric: None,
            kind: RouteKind::Unicast,
            scope: None,
            nexthops: Vec::new(),
            onlink: false,
            no_track: false,
        }
    }
}

/// What a policy routing rule does (`ip rule` actions; see [`VirtualRule`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `table N` (also the default: the main table).
    #[default]
    ToTable,
    /// `goto PRIORITY`: continue with the rule of that priority.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// A policy routing rule (`virtual_rules` / `static_rules` line, `ip rule add` syntax;
/// keepalived-behaviour.md §8.1 "Addressing", since keepalived 1.2.20). Installed with
/// protocol `keepalived` (18), as keepalived 2.2.7's are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualRule {
    /// IPv6 rule (given by the addresses, or `inet6`).
    pub ipv6: bool,
    /// `from PREFIX`.
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX`.
    pub to: Option<(IpAddr, u8)>,
    /// `iif NAME` (rules name interfaces; they may not exist yet).
    pub iif: Option<String>,
    /// `oif NAME`.
    pub oif: Option<String>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `tos`.
    pub tos: u8,
    /// `not`: the selector is inverted.
    pub invert: bool,
    /// `priority`/`preference`/`order`; the kernel picks one when `None`.
    pub priority: Option<u32>,
    /// `table` (for [`RuleAction::ToTable`]; main when `None`).
    pub table: Option<u32>,
    /// The action.
    pub action: RuleAction,
    /// `no_track` (accepted; rules are not watched for removal).
    pub no_track: bool,
}

impl VirtualRule {
    /// A rule of the given family matching everything and looking up the main table.
    pub fn new(ipv6: bool) -> Self {
        VirtualRule {
            ipv6,
            from: None,
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            tos: 0,
            invert: false,
            priority: None,
            table: None,
            action: RuleAction::ToTable,
            no_track: false,
        }
    }
}

/// Why an `ip rule` line could not be read ([`VirtualRule::parse`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleParseError(pub String);

impl VirtualRule {
    /// Reads the words of an `ip rule` line as keepalived.conf's `virtual_rules` and
    /// `static_rules` write them: `from`/`to PREFIX|all`, `iif`/`dev NAME`, `oif NAME`,
    /// `fwmark MARK[/MASK]`, `tos`/`dsfield N`, `priority`/`preference`/`order`/`pref N`,
    /// `table`/`lookup N|main|local|default`, `goto N`, `nop`, `blackhole`, `unreachable`,
    /// `prohibit`, `not`, `inet`/`inet6`, `no_track`. Numbers may be written `0x…`. The family is
    /// the addresses' (IPv4 when none, unless `inet6`). Any other word is refused: a rule
    /// installed without one of its selectors would match more traffic than configured.
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Self, RuleParseError> {
        let err = |m: String| RuleParseError(m);
        let mut out = VirtualRule::new(false);
        let mut family: Option<bool> = None;
        let mut it = words.into_iter();
        while let Some(w) = it.next() {
            let takes_value = matches!(
                w,
                "from"
                    | "to"
                    | "iif"
                    | "dev"
                    | "oif"
                    | "fwmark"
                    | "tos"
                    | "dsfield"
                    | "priority"
                    | "preference"
                    | "order"
                    | "pref"
                    | "table"
                    | "lookup"
                    | "goto"
            );
            let v = if takes_value {
                it.next()
                    .ok_or_else(|| err(format!("'{w}' needs a value")))?
            } else {
                ""
            };
            let bad = |what: &str| err(format!("'{v}' is not {what}"));
            match w {
                "from" | "to" => {
                    let p = if v == "all" || v == "default" {
                        None
                    } else {
                        let p = parse_prefix(v).ok_or_else(|| bad("an address prefix"))?;
                        if family.is_some_and(|f| f != p.0.is_ipv6()) {
                            return Err(err("mixed address families".to_owned()));
                        }
                        family = Some(p.0.is_ipv6());
                        Some(p)
                    };
                    if w == "from" {
                        out.from = p;
                    } else {
                        out.to = p;
                    }
                }
                "iif" | "dev" => out.iif = Some(v.to_owned()),
                "oif" => out.oif = Some(v.to_owned()),
                "fwmark" => {
                    let (m, mask) = match v.split_once('/') {
                        Some((m, k)) => {
                            (m, Some(parse_u32(k).ok_or_else(|| bad("a mark[/mask]"))?))
                        }
                        None => (v, None),
                    };
                    out.fwmark = Some((parse_u32(m).ok_or_else(|| bad("a mark[/mask]"))?, mask));
                }
                "tos" | "dsfield" => {
                    out.tos = parse_u32(v)
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| bad("a TOS value"))?;
                }
                "priority" | "preference" | "order" | "pref" => {
                    out.priority = Some(parse_u32(v).ok_or_else(|| bad("a priority"))?);
                }
                "table" | "lookup" => {
                    out.table =
                        Some(table_number(v).ok_or_else(|| {
                            err(format!("table '{v}' by name is not supported yet"))
                        })?);
                }
                "goto" => {
                    let target = parse_u32(v).ok_or_else(|| bad("a rule priority"))?;
                    out.action = RuleAction::Goto(target);
                }
                "nop" => out.action = RuleAction::Nop,
                "blackhole" => out.action = RuleAction::Blackhole,
                "unreachable" => out.action = RuleAction::Unreachable,
                "prohibit" => out.action = RuleAction::Prohibit,
                "not" => out.invert = true,
                "inet" => family = Some(false),
                "inet6" => family = Some(true),
                "no_track" => out.no_track = true,
                other => return Err(err(format!("'{other}' is not supported yet"))),
            }
        }
        out.ipv6 = family.unwrap_or(false);
        Ok(out)
    }
}

/// `ip rule` words that [`VirtualRule::parse`] reads back to the same rule.
impl core::fmt::Display for VirtualRule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.ipv6 { "inet6" } else { "inet" })?;
        if self.invert {
            f.write_str(" not")?;
        }
        match self.from {
            Some((a, l)) => write!(f, " from {a}/{l}")?,
            None => f.write_str(" from all")?,
        }
        if let Some((a, l)) = self.to {
            write!(f, " to {a}/{l}")?;
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        if let Some((m, mask)) = self.fwmark {
            write!(f, " fwmark {m:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
        }
        if self.tos != 0 {
            write!(f, " tos {}", self.tos)?;
        }
        if let Some(p) = self.priority {
            write!(f, " priority {p}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        match self.action {
            RuleAction::ToTable => {}
            RuleAction::Goto(t) => write!(f, " goto {t}")?,
            RuleAction::Nop => f.write_str(" nop")?,
            RuleAction::Blackhole => f.write_str(" blackhole")?,
            RuleAction::Unreachable => f.write_str(" unreachable")?,
            RuleAction::Prohibit => f.write_str(" prohibit")?,
        }
        if self.no_track {
            f.write_str(" no_track")?;
        }
        Ok(())
    }
}

/// A routing table by number, or by one of the names every system has (`main`, `local`,
/// `default`).
pub fn table_number(t: &str) -> Option<u32> {
    match t {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

/// A decimal or `0x` hexadecimal number.
fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `ADDR[/LEN]` (a host prefix without `/LEN`).
fn parse_prefix(s: &str) -> Option<(IpAddr, u8)> {
    let (a, l) = s.split_once('/').map_or((s, None), |(a, l)| (a, Some(l)));
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        Some(l) => l.parse().ok()?,
        None => max,
    };
    (len <= max).then_some((addr, len))
}

/// `static_ipaddress`, `static_routes` and `static_rules`: installed by the driver when it
/// starts whatever the VRRP state, restored while running (addresses and routes), removed at
/// an orderly stop (rules, then routes, then addresses, keepalived-behaviour.md §7.5) and, after
/// a crash, by the next start's journal. The engine itself never acts on them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticConfig {
    /// Addresses; each names its interface.
    pub addresses: Vec<VirtualAddress>,
    /// Routes.
    pub routes: Vec<VirtualRoute>,
    /// Rules.
    pub rules: Vec<VirtualRule>,
}

/// A unicast peer (`unicast_peer { IP [min_ttl N] [max_ttl N] }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// Lowest TTL/hop limit accepted from this peer.
    pub min_ttl: u8,
    /// Highest TTL/hop limit accepted from this peer.
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer accepted at any TTL.
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        }
    }
}

/// A configuration part that many instances usually hold with the same value (such as
/// [`GarpConfig`]): reference-counted, so that an [`Engine`](crate::Engine) keeps one copy for
/// all the instances that have it (1,000 instances: 8 bytes each instead of 96). It reads like
/// the value (`Deref`) and writes copy on write (`DerefMut`), so a configuration is built and
/// edited as if it held the value itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }

    /// Whether both share one copy.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T> core::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> core::ops::DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T: PartialEq> Shared<T> {
    /// Makes `self` share the copy of the first of `pool` with an equal value, or adds it to
    /// the pool if none has one and the pool holds fewer than `cap` entries (a linear scan: the
    /// cap bounds its cost when every instance has its own value).
    ///
    /// [`Engine::new`](crate::Engine::new) does this for every instance; a program building a
    /// large configuration does better to do it as it goes: the copies it would drop then are
    /// freed at once and their memory reused, instead of leaving a hole between every two
    /// instances' allocations for the program's lifetime.
    pub fn intern(&mut self, pool: &mut Vec<Shared<T>>, cap: usize) {
        if let Some(p) = pool.iter().find(|p| p.0 == self.0) {
            self.0 = Arc::clone(&p.0);
        } else if pool.len() < cap {
            pool.push(Shared(Arc::clone(&self.0)));
        }
    }
}

/// Gratuitous ARP / unsolicited NA scheduling (modern keepalived knobs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpConfig {
    /// Frames per address in the burst sent on becoming MASTER (`garp_master_repeat`, 5).
    pub master_repeat: u32,
    /// Delay of the second burst after becoming MASTER (`garp_master_delay`, 5 s; `None` = none).
    pub master_delay: Option<Duration>,
    /// Period of refresh bursts while MASTER (`garp_master_refresh`, off by default).
    pub master_refresh: Option<Duration>,
    /// Frames per address in a refresh burst (`garp_master_refresh_repeat`, 1).
    pub master_refresh_repeat: u32,
    /// Frames per address sent when a MASTER hears a lower-priority advert
    /// (`garp_lower_prio_repeat`, defaults to `master_repeat`).
    pub lower_prio_repeat: u32,
    /// Delay of the second burst after a lower-priority advert (`garp_lower_prio_delay`,
    /// defaults to `master_delay`).
    pub lower_prio_delay: Option<Duration>,
    /// Pause between gratuitous ARP frames (`vrrp_garp_interval`, 0); the driver paces.
    pub garp_interval: Duration,
    /// Pause between unsolicited NA frames (`vrrp_gna_interval`, 0); the driver paces.
    pub gna_interval: Duration,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_repeat: 5,
            master_delay: Some(Duration::from_secs(5)),
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Some(Duration::from_secs(5)),
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
        }
    }
}

/// One tracker reference of an instance (`track_interface`, `track_script`, `track_file`,
/// `track_process` line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackBinding {
    /// The tracker.
    pub tracker: TrackerId,
    /// Weight: 0 means "fault while down"; otherwise added to the priority (see
    /// [`crate::tracker`]).
    pub weight: i32,
    /// `reverse`: the tracker's sense is inverted.
    pub reverse: bool,
}

/// What a tracker watches; the driver reports its results with
/// [`Engine::handle_tracker`](crate::Engine::handle_tracker), except for interfaces, whose state
/// comes from [`Engine::handle_link`](crate::Engine::handle_link).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrackerKind {
    /// `track_interface`: follows the link state of the interface.
    Interface(InterfaceId),
    /// `vrrp_script`: up/down from the script's rise/fall logic (run by the driver).
    Script(ScriptTracker),
    /// `track_file`: an integer read from a file (watched by the driver).
    File(FileTracker),
    /// `vrrp_track_process`: up while the process quorum is met.
    Process,
    /// `track_bfd`: up while the BFD session is up.
    Bfd,
}

/// What the driver needs to run a `vrrp_script` (keepalived-behaviour.md §1.3.5, §4.8, §8.2).
/// The engine only stores it: it never runs anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptTracker {
    /// Program and arguments (`argv[0]` first), already split as keepalived.conf quotes them.
    pub argv: Vec<String>,
    /// Run `argv` joined by spaces through `/bin/sh -c` (the command needs a shell's operators).
    pub shell: bool,
    /// `interval`: time between the starts of two runs (default 1 s).
    pub interval: Duration,
    /// `timeout`: a run still going after this long is killed (`SIGTERM`, then `SIGKILL`) and
    /// counts as a failure (default: `interval`).
    pub timeout: Duration,
    /// `rise`: consecutive successes to go up (at least 1).
    pub rise: u32,
    /// `fall`: consecutive failures to go down (at least 1).
    pub fall: u32,
    /// User to run as (`user`, else `script_user`); `None` keeps the daemon's.
    pub uid: Option<u32>,
    /// Group to run as.
    pub gid: Option<u32>,
}

impl ScriptTracker {
    /// A script run without a shell, with keepalived's defaults: every second, timeout 1 s,
    /// rise 1, fall 1, as the daemon's user.
    pub fn new(argv: Vec<String>) -> Self {
        ScriptTracker {
            argv,
            shell: false,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            uid: None,
            gid: None,
        }
    }
}

/// What the driver needs to watch a `track_file` (keepalived-behaviour.md §8.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTracker {
    /// The file holding an integer; re-read whenever it changes.
    pub path: std::path::PathBuf,
    /// `init_file VALUE`: write this value when the driver starts watching the file, if the
    /// file does not exist (or always, with [`FileTracker::init_overwrite`]).
    pub init_value: Option<i64>,
    /// `init_file … overwrite`.
    pub init_overwrite: bool,
}

impl FileTracker {
    /// Watches `path`, with no `init_file`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        FileTracker {
            path: path.into(),
            init_value: None,
            init_overwrite: false,
        }
    }
}

/// A tracker (`vrrp_script`, `track_file`, …) shared by the instances that reference it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Name, for logs.
    pub name: String,
    /// What it watches.
    pub kind: TrackerKind,
    /// Status before the driver reports anything (`init_fail` gives [`TrackerStatus::Down`]).
    pub initial: TrackerStatus,
}

/// A tracker's current result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackerStatus {
    /// Healthy.
    Up,
    /// Failed.
    Down,
    /// A numeric result (`track_file`): multiplied by the binding's weight.
    Value(i64),
}

/// A sync group: members move between MASTER, BACKUP and FAULT together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupConfig {
    /// Name, for notifications.
    pub name: String,
    /// The member instances (at least two are sensible; one is allowed).
    pub members: Vec<InstanceId>,
    /// `sync_group_tracking_weight`: honour tracker weights of members. Without it, weighted
    /// trackers of members act as weight 0 (a failure means FAULT), as in modern keepalived.
    pub tracking_weight: bool,
    /// Trackers of the group itself (`track_*` inside `vrrp_sync_group`): weight is ignored, a
    /// failure puts the whole group in FAULT.
    pub track: Vec<TrackBinding>,
}

/// Modern keepalived behaviour switches for one instance. All default to off except
/// `higher_prio_send_advert` (see its documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Knobs {
    /// `higher_prio_send_advert`: a MASTER that hears a higher priority sends one advert (with
    /// its own priority) before stepping down. **On by default** (keepalived: off): that advert
    /// tells the winner that another master existed, and the winner answers with a GARP/NA
    /// burst, so hosts whose caches followed the loser during a split brain move back.
    pub higher_prio_send_advert: bool,
    /// `lower_prio_no_advert`: a MASTER that hears a lower priority does not answer with an
    /// advert (it still sends its GARP/NA burst).
    pub lower_prio_no_advert: bool,
    /// `owner_ignore_adverts`: an address owner (priority 255) ignores all adverts.
    pub owner_ignore_adverts: bool,
    /// `skip_check_adv_addr`: do not compare the advertised address list with ours.
    pub skip_check_adv_addr: bool,
    /// `check_unicast_src`: drop unicast adverts whose source is not a listed peer.
    pub check_unicast_src: bool,
    /// `notify_priority_changes`: emit a notification whenever the effective priority changes.
    pub notify_priority_changes: bool,
    /// `dont_track_primary`: the instance's own interface going down does not cause FAULT.
    pub dont_track_primary: bool,
    /// `unicast_fault_no_peer`: the configuration asked for unicast; with no peer listed the
    /// instance stays in FAULT instead of falling back to multicast.
    pub unicast_fault_no_peer: bool,
}

/// One VRRP instance (`vrrp_instance`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Name, for notifications and logs (shared with them: one copy per instance).
    pub name: Arc<str>,
    /// Interface the instance runs on.
    pub interface: InterfaceId,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Configured (base) priority, 1..=255; 255 makes the instance the address owner.
    pub priority: Priority,
    /// Advertisement interval; its variant is the protocol version (VRRPv2 seconds or VRRPv3
    /// centiseconds). IPv6 instances must use VRRPv3.
    pub advert_interval: AdvertInterval,
    /// VRRPv2 authentication (`auth_type`/`auth_pass`); must be `None` for VRRPv3.
    pub auth: AuthConfig,
    /// VRRPv3 over IPv4: checksum with or without the pseudo-header (`v3_checksum_as_v2`).
    pub checksum_mode: Ipv4ChecksumMode,
    /// Requested start state.
    pub initial_state: InitialState,
    /// `false` for `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay`: a lower-priority master is tolerated for this long after it is first seen
    /// (the count restarts after a master of our priority or higher has been heard, and after any
    /// state change).
    pub preempt_delay: Duration,
    /// Our primary address on the interface: the advert source and the tie-break key. Its family
    /// is the instance's family. The unspecified address (`0.0.0.0`, `::`) means "not known
    /// yet": the instance stays in FAULT until the driver finds one on the interface (it
    /// does when the interface appears, see [`crate::linux`]).
    pub primary_addr: IpAddr,
    /// Virtual addresses, in order.
    ///
    /// This and the other lists are boxed slices, not `Vec`s: an engine holds every instance's
    /// configuration for its lifetime, and most lists are empty (1,000 instances: 40 kB
    /// less). Build one with `vec![...].into()` or by collecting an iterator.
    pub virtual_addresses: Box<[VirtualAddress]>,
    /// Virtual routes, in order.
    pub virtual_routes: Box<[VirtualRoute]>,
    /// Virtual rules (`virtual_rules`), in order: installed after the routes, removed before
    /// them.
    pub virtual_rules: Box<[VirtualRule]>,
    /// Unicast peers; empty means multicast.
    pub unicast_peers: Box<[UnicastPeer]>,
    /// Trackers affecting this instance.
    pub track: Box<[TrackBinding]>,
    /// GARP/NA scheduling (usually the same for every instance, hence shared).
    pub garp: Shared<GarpConfig>,
    /// `down_timer_adverts`: adverts missed before the master is declared down (3).
    pub down_timer_adverts: u8,
    /// Behaviour switches.
    pub knobs: Knobs,
    /// `mcast_dst_ip`: the multicast group adverts go to and are received on, instead of
    /// 224.0.0.18 / `ff02::12` (the driver acts on it).
    pub mcast_group: Option<IpAddr>,
    /// `accept`: RFC 5798 `Accept_Mode`. Without it a non-owner master does not accept packets to
    /// its virtual addresses; the driver enforces that only with an optional firewall (see
    /// docs/COMPATIBILITY.md), so this is informational unless one is set up.
    pub accept: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            higher_prio_send_advert: true,
            lower_prio_no_advert: false,
            owner_ignore_adverts: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            notify_priority_changes: false,
            dont_track_primary: false,
            unicast_fault_no_peer: false,
        }
    }
}

impl InstanceConfig {
    /// A BACKUP-start instance with keepalived's defaults: VRRPv3 for IPv6 and VRRPv2 for IPv4,
    /// 1 s interval, preempt, 3 missed adverts, default GARP scheduling.
    pub fn new(
        name: impl Into<Arc<str>>,
        interface: InterfaceId,
        vrid: u8,
        priority: u8,
        primary_addr: IpAddr,
    ) -> Self {
        InstanceConfig {
            name: name.into(),
            interface,
            vrid,
            priority: Priority(priority),
            advert_interval: if primary_addr.is_ipv6() {
                AdvertInterval::V3(Centiseconds::new(100).unwrap_or(Centiseconds::MAX))
            } else {
                AdvertInterval::V2(Seconds(1))
            },
            auth: AuthConfig::None,
            checksum_mode: Ipv4ChecksumMode::PseudoHeader,
            initial_state: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary_addr,
            virtual_addresses: Box::default(),
            virtual_routes: Box::default(),
            virtual_rules: Box::default(),
            unicast_peers: Box::default(),
            track: Box::default(),
            garp: Shared::default(),
            down_timer_adverts: 3,
            knobs: Knobs::default(),
            mcast_group: None,
            accept: true,
        }
    }

    /// The protocol version (given by the interval's variant).
    pub fn version(&self) -> Version {
        self.advert_interval.version()
    }

    /// Whether this instance owns its addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority.is_owner()
    }
}

/// Why a configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID outside 1..=255.
    #[error("instance {instance}: VRID 0 is invalid (1..=255)")]
    InvalidVrid {
        /// Instance name.
        instance: String,
    },
    /// Priority 0 is reserved for release.
    #[error("instance {instance}: priority 0 is reserved (1..=255)")]
    InvalidPriority {
        /// Instance name.
        instance: String,
    },
    /// A zero advert interval.
    #[error("instance {instance}: advert interval must not be zero")]
    InvalidInterval {
        /// Instance name.
        instance: String,
    },
    /// Authentication configured on a VRRPv3 instance (RFC 5798 removed it).
    #[error("instance {instance}: authentication needs VRRPv2")]
    AuthNeedsV2 {
        /// Instance name.
        instance: String,
    },
    /// IPv6 requires VRRPv3.
    #[error("instance {instance}: IPv6 requires VRRPv3")]
    Ipv6NeedsV3 {
        /// Instance name.
        instance: String,
    },
    /// A virtual address carried in adverts, or a unicast peer, has a different family from the
    /// instance.
    #[error("instance {instance}: {addr} is not of the instance's address family")]
    MixedFamily {
        /// Instance name.
        instance: String,
        /// The offending address.
        addr: IpAddr,
    },
    /// Two instances share interface, family and VRID.
    #[error("instances {first} and {second} share interface, family and VRID {vrid}")]
    DuplicateVrid {
        /// First instance name.
        first: String,
        /// Second instance name.
        second: String,
        /// The VRID.
        vrid: u8,
    },
    /// A reference to a tracker, instance or group that does not exist.
    #[error("{what} refers to a missing {target} #{index}")]
    DanglingReference {
        /// Who refers.
        what: String,
        /// What kind of object is missing.
        target: &'static str,
        /// The missing index.
        index: u32,
    },
    /// An instance is a member of two sync groups.
    #[error("instance {instance} is in more than one sync group")]
    InTwoGroups {
        /// Instance name.
        instance: String,
    },
    /// Zero `down_timer_adverts`.
    #[error("instance {instance}: down_timer_adverts must be at least 1")]
    InvalidDownTimerAdverts {
        /// Instance name.
        instance: String,
    },
    /// More instances than the engine supports (`u32::MAX`).
    #[error("too many instances, trackers or groups")]
    TooMany,
}

impl EngineConfig {
    /// Checks the configuration; [`Engine::new`](crate::Engine::new) calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if u32::try_from(self.instances.len()).is_err()
            || u32::try_from(self.trackers.len()).is_err()
            || u32::try_from(self.sync_groups.len()).is_err()
        {
            return Err(ConfigError::TooMany);
        }
        let mut seen: std::collections::HashMap<(InterfaceId, bool, u8), &str> =
            std::collections::HashMap::new();
        for inst in &self.instances {
            validate_instance(inst, self.trackers.len())?;
            let key = (inst.interface, inst.primary_addr.is_ipv6(), inst.vrid);
            if let Some(first) = seen.insert(key, &inst.name) {
                return Err(ConfigError::DuplicateVrid {
                    first: first.to_owned(),
                    second: inst.name.to_string(),
                    vrid: inst.vrid,
                });
            }
        }
        let mut grouped = HashSet::new();
        for group in &self.sync_groups {
            for &InstanceId(m) in &group.members {
                let Some(inst) = self.instances.get(m as usize) else {
                    return Err(ConfigError::DanglingReference {
                        what: format!("sync group {}", group.name),
                        target: "instance",
                        index: m,
                    });
                };
                if !grouped.insert(m) {
                    return Err(ConfigError::InTwoGroups {
                        instance: inst.name.to_string(),
                    });
                }
            }
            check_bindings(&group.track, self.trackers.len(), || {
                format!("sync group {}", group.name)
            })?;
        }
        Ok(())
    }
}

fn check_bindings(
    track: &[TrackBinding],
    trackers: usize,
    what: impl Fn() -> String,
) -> Result<(), ConfigError> {
    for b in track {
        if b.tracker.0 as usize >= trackers {
            return Err(ConfigError::DanglingReference {
                what: what(),
                target: "tracker",
                index: b.tracker.0,
            });
        }
    }
    Ok(())
}

fn validate_instance(inst: &InstanceConfig, trackers: usize) -> Result<(), ConfigError> {
    let instance = || inst.name.to_string();
    if inst.vrid == 0 {
        return Err(ConfigError::InvalidVrid {
            instance: instance(),
        });
    }
    if inst.priority.0 == 0 {
        return Err(ConfigError::InvalidPriority {
            instance: instance(),
        });
    }
    if inst.down_timer_adverts == 0 {
        return Err(ConfigError::InvalidDownTimerAdverts {
            instance: instance(),
        });
    }
    let v6 = inst.primary_addr.is_ipv6();
    if v6 && inst.version() == Version::V2 {
        return Err(ConfigError::Ipv6NeedsV3 {
            instance: instance(),
        });
    }
    if inst.advert_interval.is_zero() {
        return Err(ConfigError::InvalidInterval {
            instance: instance(),
        });
    }
    if inst.version() == Version::V3 && inst.auth != AuthConfig::None {
        return Err(ConfigError::AuthNeedsV2 {
            instance: instance(),
        });
    }
    let carried = inst
        .virtual_addresses
        .iter()
        .filter(|va| !va.excluded)
        .map(|va| va.addr);
    let peers = inst.unicast_peers.iter().map(|p| p.addr);
    if let Some(addr) = carried.chain(peers).find(|a| a.is_ipv6() != v6) {
        return Err(ConfigError::MixedFamily {
            instance: instance(),
            addr,
        });
    }
    check_bindings(&inst.track, trackers, || format!("instance {}", inst.name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(s: &str) -> Result<VirtualRule, RuleParseError> {
        VirtualRule::parse(s.split_whitespace())
    }

    #[test]
    fn rule_words_parse_and_print_back() {
        let r = parse(
            "not from 10.1.0.0/16 to 10.2.0.0/24 iif eth1 oif eth2 fwmark 0x10/0xff tos 4 \
             priority 100 lookup 1000 no_track",
        )
        .unwrap();
        assert!(r.invert && r.no_track && !r.ipv6);
        assert_eq!(r.from, Some(("10.1.0.0".parse().unwrap(), 16)));
        assert_eq!(r.fwmark, Some((0x10, Some(0xff))));
        assert_eq!((r.tos, r.priority, r.table), (4, Some(100), Some(1000)));
        assert_eq!(
            r.to_string(),
            "inet not from 10.1.0.0/16 to 10.2.0.0/24 iif eth1 oif eth2 fwmark 0x10/0xff tos 4 \
             priority 100 table 1000 no_track"
        );
        for text in [
            "inet6 from all goto 7",
            "inet from all fwmark 0x7 prohibit",
            "inet6 from 2001:db8::/32 table 254",
            "inet from 192.0.2.1/32 to 192.0.2.0/24 unreachable",
        ] {
            let r = parse(text).unwrap();
            assert_eq!(r.to_string(), text);
            assert_eq!(parse(&r.to_string()).unwrap(), r);
        }
        assert!(parse("to fd00::/8").unwrap().ipv6);
        assert_eq!(parse("table main").unwrap().table, Some(254));
        for bad in [
            "from 10.0.0.0/8 to fd00::/8",
            "from nowhere",
            "table custom",
            "uidrange 1-2",
            "priority",
            "fwmark 1/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
