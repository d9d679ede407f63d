//! The typed model: services, destinations, sync daemons, timeouts, and their conversion to
//! and from the wire attributes of [`crate::nl`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::DecodeError;

use crate::nl::{
    AF_INET, AF_INET6, DaemonAttr, DestAttr, Scheduler, ServiceAttr, Stats, WireFlags,
};
use crate::nl::{WireNetmask, for_each_attr, kind};

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Self::Ipv4
        } else {
            Self::Ipv6
        }
    }
    fn number(self) -> u16 {
        match self {
            Self::Ipv4 => AF_INET,
            Self::Ipv6 => AF_INET6,
        }
    }
    fn from_number(n: u16) -> Result<Self, DecodeError> {
        match n {
            AF_INET => Ok(Self::Ipv4),
            AF_INET6 => Ok(Self::Ipv6),
            n => Err(format!("IPVS: unsupported address family {n}").into()),
        }
    }
    /// Reads a kernel address (4 or 16 bytes, IPv4 in the first 4) as this family.
    fn narrow(self, a: IpAddr) -> IpAddr {
        match (self, a) {
            (Self::Ipv4, IpAddr::V6(v6)) => {
                let o = v6.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3]))
            }
            (Self::Ipv6, IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            (_, a) => a,
        }
    }
}

/// A transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Another IP protocol number.
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
            Self::Sctp => 132,
            Self::Other(n) => n,
        }
    }
    /// The protocol for an IP protocol number.
    pub fn from_number(n: u16) -> Self {
        match n {
            6 => Self::Tcp,
            17 => Self::Udp,
            132 => Self::Sctp,
            n => Self::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp => f.write_str("TCP"),
            Self::Udp => f.write_str("UDP"),
            Self::Sctp => f.write_str("SCTP"),
            Self::Other(n) => write!(f, "proto {n}"),
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceId {
    /// A protocol, address and port (`ipvsadm -t/-u/--sctp-service`).
    Inet {
        /// The protocol.
        protocol: Protocol,
        /// The virtual address.
        addr: IpAddr,
        /// The virtual port (0 with persistence = all ports).
        port: u16,
    },
    /// A firewall mark (`ipvsadm -f`); its family is the family of its destinations.
    Fwmark {
        /// Address family.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceId {
    /// A TCP service.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        Self::Inet {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    /// A UDP service.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        Self::Inet {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            Self::Inet { addr, .. } => Family::of(addr),
            Self::Fwmark { family, .. } => *family,
        }
    }

    /// The identifying attributes (enough for delete, get, and as the parent of a
    /// destination), without allocating: the first `n` entries of the array.
    pub(crate) fn id_parts(&self) -> ([ServiceAttr; 4], usize) {
        let af = ServiceAttr::Family(self.family().number());
        match *self {
            Self::Inet {
                protocol,
                addr,
                port,
            } => (
                [
                    af,
                    ServiceAttr::Protocol(protocol.number()),
                    ServiceAttr::Addr(addr),
                    ServiceAttr::Port(port),
                ],
                4,
            ),
            Self::Fwmark { mark, .. } => {
                ([af.clone(), ServiceAttr::Fwmark(mark), af.clone(), af], 2)
            }
        }
    }

    /// The attributes of `IPVS_CMD_ATTR_SERVICE` naming this service.
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let (a, n) = self.id_parts();
        a[..n].to_vec()
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inet {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{protocol} [{a}]:{port}"),
            Self::Inet {
                protocol,
                addr,
                port,
            } => write!(f, "{protocol} {addr}:{port}"),
            Self::Fwmark {
                family: Family::Ipv4,
                mark,
            } => write!(f, "FWM {mark}"),
            Self::Fwmark { mark, .. } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`), without the kernel-internal `HASHED` bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(u32);

impl ServiceFlags {
    /// Persistent service (set by [`Service::persistent`]).
    pub const PERSISTENT: Self = Self(0x1);
    /// Kernel-internal "hashed" state; never sent, stripped on decode.
    const HASHED: u32 = 0x2;
    /// One-packet scheduling (UDP).
    pub const ONE_PACKET: Self = Self(0x4);
    /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`).
    pub const SCHED1: Self = Self(0x8);
    /// Scheduler flag 2 (`sh-port`, `mh-port`).
    pub const SCHED2: Self = Self(0x10);
    /// Scheduler flag 3.
    pub const SCHED3: Self = Self(0x20);
    /// `sh` scheduler: fall back to another server when the chosen one is unavailable.
    pub const SH_FALLBACK: Self = Self::SCHED1;
    /// `sh` scheduler: hash the source port too.
    pub const SH_PORT: Self = Self::SCHED2;
    /// `mh` scheduler: fallback.
    pub const MH_FALLBACK: Self = Self::SCHED1;
    /// `mh` scheduler: hash the source port too.
    pub const MH_PORT: Self = Self::SCHED2;

    /// No flags.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Flags from raw bits (`HASHED` is dropped).
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits & !Self::HASHED)
    }
    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// The persistence granularity: a netmask (IPv4) or prefix length (IPv6) applied to client
/// addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// An IPv4 netmask (`255.255.255.255` = per client).
    V4(Ipv4Addr),
    /// An IPv6 prefix length, 1 to 128.
    V6Prefix(u8),
}

impl Netmask {
    /// The per-client default for a family.
    pub fn host(family: Family) -> Self {
        match family {
            Family::Ipv4 => Self::V4(Ipv4Addr::BROADCAST),
            Family::Ipv6 => Self::V6Prefix(128),
        }
    }
    fn wire(self) -> WireNetmask {
        match self {
            Self::V4(m) => WireNetmask::from_ipv4(m),
            Self::V6Prefix(p) => WireNetmask::from_ipv6_prefix(p),
        }
    }
    fn from_wire(family: Family, w: WireNetmask) -> Result<Self, DecodeError> {
        match family {
            Family::Ipv4 => Ok(Self::V4(w.to_ipv4())),
            Family::Ipv6 => w
                .to_ipv6_prefix()
                .map(Self::V6Prefix)
                .ok_or_else(|| "IPVS: IPv6 netmask prefix above 128".into()),
        }
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Service {
    /// What identifies it.
    pub id: ServiceId,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// Flags.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with [`ServiceFlags::PERSISTENT`]).
    pub timeout: u32,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// Persistence engine (e.g. `sip`), if any.
    pub persistence_engine: Option<String>,
    /// Counters, as read from the kernel (64-bit when the kernel reports them); ignored when
    /// writing.
    pub stats: Option<Stats>,
}

impl Service {
    /// A service with the given scheduler, no persistence and no flags.
    pub fn new(id: ServiceId, scheduler: Scheduler) -> Self {
        Self {
            netmask: Netmask::host(id.family()),
            id,
            scheduler,
            flags: ServiceFlags::empty(),
            timeout: 0,
            persistence_engine: None,
            stats: None,
        }
    }

    /// Makes the service persistent for `timeout` seconds (as `ipvsadm -p`).
    #[must_use]
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }

    /// Whether `other` has the same configuration (everything but the counters).
    pub fn same_config(&self, other: &Self) -> bool {
        self.id == other.id
            && self.scheduler == other.scheduler
            && self.flags == other.flags
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.persistence_engine == other.persistence_engine
    }

    /// The configuration attributes (besides the identifying ones), without allocating
    /// unless a persistence engine or an unknown scheduler name is set.
    pub(crate) fn config_parts(&self) -> ([ServiceAttr; 4], Option<ServiceAttr>) {
        (
            [
                ServiceAttr::Scheduler(self.scheduler.clone()),
                ServiceAttr::Flags(WireFlags {
                    flags: self.flags.bits(),
                    mask: u32::MAX,
                }),
                ServiceAttr::Timeout(self.timeout),
                ServiceAttr::Netmask(self.netmask.wire()),
            ],
            self.persistence_engine.clone().map(ServiceAttr::PeName),
        )
    }

    /// The full attribute set for adding or editing it.
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let (id, n) = self.id.id_parts();
        let (config, pe) = self.config_parts();
        id.into_iter().take(n).chain(config).chain(pe).collect()
    }

    /// Decodes the value of an `IPVS_CMD_ATTR_SERVICE` nest as the kernel sends it.
    pub fn parse_nest(value: &[u8]) -> Result<Self, DecodeError> {
        #[derive(Default)]
        struct Acc {
            family: Option<u16>,
            protocol: Option<u16>,
            addr: Option<IpAddr>,
            port: Option<u16>,
            fwmark: Option<u32>,
            scheduler: Option<Scheduler>,
            flags: u32,
            timeout: u32,
            netmask: Option<WireNetmask>,
            pe: Option<String>,
            stats: Option<Stats>,
            stats64: Option<Stats>,
        }
        let mut a = Acc::default();
        let stats32 =
            for_each_attr(
                value,
                kind::SVC_STATS,
                ServiceAttr::parse_raw,
                |attr| match attr {
                    ServiceAttr::Family(v) => a.family = Some(v),
                    ServiceAttr::Protocol(v) => a.protocol = Some(v),
                    ServiceAttr::Addr(v) => a.addr = Some(v),
                    ServiceAttr::Port(v) => a.port = Some(v),
                    ServiceAttr::Fwmark(v) => a.fwmark = Some(v),
                    ServiceAttr::Scheduler(v) => a.scheduler = Some(v),
                    ServiceAttr::Flags(v) => a.flags = v.flags,
                    ServiceAttr::Timeout(v) => a.timeout = v,
                    ServiceAttr::Netmask(v) => a.netmask = Some(v),
                    ServiceAttr::PeName(v) => a.pe = Some(v),
                    ServiceAttr::Stats(v) => a.stats = Some(v),
                    ServiceAttr::Stats64(v) => a.stats64 = Some(v),
                    _ => {}
                },
            )?;
        if a.stats64.is_none()
            && let Some(raw) = stats32
        {
            a.stats = Some(Stats::parse_nest(raw, false)?);
        }
        let family = Family::from_number(a.family.ok_or("IPVS service without AF")?)?;
        // The kernel reports fwmark 0 for address-based services.
        let id = match a.fwmark {
            Some(mark) if mark != 0 => ServiceId::Fwmark { family, mark },
            _ => ServiceId::Inet {
                protocol: Protocol::from_number(a.protocol.ok_or("IPVS service without protocol")?),
                addr: family.narrow(a.addr.ok_or("IPVS service without address")?),
                port: a.port.ok_or("IPVS service without port")?,
            },
        };
        Ok(Self {
            id,
            scheduler: a.scheduler.unwrap_or(Scheduler::Other(String::new())),
            flags: ServiceFlags::from_bits(a.flags),
            timeout: a.timeout,
            netmask: match a.netmask {
                Some(w) => Netmask::from_wire(family, w)?,
                None => Netmask::host(family),
            },
            persistence_engine: a.pe.filter(|p| !p.is_empty()),
            stats: a.stats64.or(a.stats),
        })
    }
}

/// A tunnel encapsulation type (Linux 5.2+ for GUE, 5.3+ for GRE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    /// IP-in-IP (the only one before 5.2).
    #[default]
    Ipip,
    /// Generic UDP encapsulation, to a UDP port.
    Gue,
    /// GRE.
    Gre,
    /// Another type number.
    Other(u8),
}

impl TunnelType {
    fn number(self) -> u8 {
        match self {
            Self::Ipip => 0,
            Self::Gue => 1,
            Self::Gre => 2,
            Self::Other(n) => n,
        }
    }
    fn from_number(n: u8) -> Self {
        match n {
            0 => Self::Ipip,
            1 => Self::Gue,
            2 => Self::Gre,
            n => Self::Other(n),
        }
    }
}

/// Tunnel encapsulation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    /// Encapsulation type.
    pub kind: TunnelType,
    /// UDP port for GUE (host order).
    pub port: u16,
    /// Checksum flags: [`Tunnel::CSUM`], [`Tunnel::REMCSUM`], or 0 (`nocsum`).
    pub flags: u16,
}

impl Tunnel {
    /// `csum`: checksum the outer UDP/GRE header.
    pub const CSUM: u16 = 1;
    /// `remcsum`: remote checksum offload.
    pub const REMCSUM: u16 = 2;
}

/// How packets reach a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (`-m`, keepalived `NAT`).
    Masquerade,
    /// Local node.
    Local,
    /// IP tunnelling (`-i`, keepalived `TUN`).
    Tunnel(Tunnel),
    /// Direct routing (`-g`, keepalived `DR`).
    DirectRoute,
    /// Another method number.
    Other(u32),
}

impl Forward {
    fn number(self) -> u32 {
        match self {
            Self::Masquerade => 0,
            Self::Local => 1,
            Self::Tunnel(_) => 2,
            Self::DirectRoute => 3,
            Self::Other(n) => n,
        }
    }
}

/// A real server (destination) of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destination {
    /// Address; may be of another family than the service's only with tunnelling.
    pub addr: IpAddr,
    /// Port (0 for fwmark services with direct routing means "the client's port").
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight (0 = quiesced, no new connections).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold.
    pub lower_threshold: u32,
    /// Connection counts and counters, as read from the kernel; ignored when writing.
    pub counters: Option<DestCounters>,
}

/// The read-only counters of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DestCounters {
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistence templates.
    pub persist_conns: u32,
    /// Traffic counters (64-bit when the kernel reports them).
    pub stats: Stats,
}

impl Destination {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Self {
        Self {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            counters: None,
        }
    }

    /// Sets the weight.
    #[must_use]
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Whether `other` has the same configuration (everything but the counters).
    pub fn same_config(&self, other: &Self) -> bool {
        self.addr == other.addr
            && self.port == other.port
            && self.forward == other.forward
            && self.weight == other.weight
            && self.upper_threshold == other.upper_threshold
            && self.lower_threshold == other.lower_threshold
    }

    /// The identifying attributes (for delete), without allocating.
    pub(crate) fn id_parts(addr: IpAddr, port: u16) -> [DestAttr; 3] {
        [
            DestAttr::Addr(addr),
            DestAttr::Port(port),
            DestAttr::AddrFamily(Family::of(&addr).number()),
        ]
    }

    /// The identifying attributes (for delete).
    pub fn id_attrs(addr: IpAddr, port: u16) -> Vec<DestAttr> {
        Self::id_parts(addr, port).to_vec()
    }

    /// The full attribute set, without allocating: the base and, for a tunnel other than
    /// plain IPIP, the tunnel attributes (older kernels do not know them, so they are sent
    /// only when they say something).
    pub(crate) fn parts(&self) -> ([DestAttr; 7], Option<[DestAttr; 3]>) {
        let [addr, port, af] = Self::id_parts(self.addr, self.port);
        let tunnel = match self.forward {
            Forward::Tunnel(t) if t != Tunnel::default() => Some([
                DestAttr::TunType(t.kind.number()),
                DestAttr::TunPort(t.port),
                DestAttr::TunFlags(t.flags),
            ]),
            _ => None,
        };
        (
            [
                addr,
                port,
                af,
                DestAttr::FwdMethod(self.forward.number()),
                DestAttr::Weight(self.weight),
                DestAttr::UpperThreshold(self.upper_threshold),
                DestAttr::LowerThreshold(self.lower_threshold),
            ],
            tunnel,
        )
    }

    /// The full attribute set for adding or editing it.
    pub fn to_attrs(&self) -> Vec<DestAttr> {
        let (base, tunnel) = self.parts();
        base.into_iter()
            .chain(tunnel.into_iter().flatten())
            .collect()
    }

    /// Decodes the value of an `IPVS_CMD_ATTR_DEST` nest; `service_family` applies when the
    /// kernel sends no `ADDR_FAMILY`.
    pub fn parse_nest(value: &[u8], service_family: Family) -> Result<Self, DecodeError> {
        let mut addr = None;
        let mut port = None;
        let mut family = None;
        let mut fwd = 0;
        let mut d = Self::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, Forward::Masquerade);
        let mut c = DestCounters::default();
        let (mut stats, mut stats64) = (None, None);
        let mut tunnel = Tunnel::default();
        let stats32 = for_each_attr(
            value,
            kind::DEST_STATS,
            DestAttr::parse_raw,
            |attr| match attr {
                DestAttr::Addr(v) => addr = Some(v),
                DestAttr::Port(v) => port = Some(v),
                DestAttr::FwdMethod(v) => fwd = v,
                DestAttr::Weight(v) => d.weight = v,
                DestAttr::UpperThreshold(v) => d.upper_threshold = v,
                DestAttr::LowerThreshold(v) => d.lower_threshold = v,
                DestAttr::ActiveConns(v) => c.active_conns = v,
                DestAttr::InactiveConns(v) => c.inactive_conns = v,
                DestAttr::PersistConns(v) => c.persist_conns = v,
                DestAttr::Stats(v) => stats = Some(v),
                DestAttr::Stats64(v) => stats64 = Some(v),
                DestAttr::AddrFamily(v) => family = Some(v).filter(|f| *f != 0),
                DestAttr::TunType(v) => tunnel.kind = TunnelType::from_number(v),
                DestAttr::TunPort(v) => tunnel.port = v,
                DestAttr::TunFlags(v) => tunnel.flags = v,
                _ => {}
            },
        )?;
        if stats64.is_none()
            && let Some(raw) = stats32
        {
            stats = Some(Stats::parse_nest(raw, false)?);
        }
        let family = match family {
            Some(f) => Family::from_number(f)?,
            None => service_family,
        };
        d.addr = family.narrow(addr.ok_or("IPVS destination without address")?);
        d.port = port.ok_or("IPVS destination without port")?;
        d.forward = match fwd & 7 {
            0 => Forward::Masquerade,
            1 => Forward::Local,
            2 => Forward::Tunnel(tunnel),
            3 => Forward::DirectRoute,
            n => Forward::Other(n),
        };
        if let Some(s) = stats64.or(stats) {
            c.stats = s;
        }
        d.counters = Some(c);
        Ok(d)
    }
}

/// The role of a connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Sends connection updates.
    Master,
    /// Receives them.
    Backup,
}

impl SyncState {
    pub(crate) fn number(self) -> u32 {
        match self {
            Self::Master => 1,
            Self::Backup => 2,
        }
    }
}

/// A connection-synchronisation daemon (`ipvsadm --start-daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// The multicast interface.
    pub interface: String,
    /// The sync ID (keepalived uses the VRID).
    pub sync_id: u32,
    /// Maximum UDP payload of sync messages (kernel default when `None`).
    pub max_len: Option<u16>,
    /// Multicast group (kernel default 224.0.0.81 when `None`).
    pub group: Option<IpAddr>,
    /// Multicast port (kernel default 8848 when `None`).
    pub port: Option<u16>,
    /// Multicast TTL (kernel default 1 when `None`).
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with the kernel's defaults for the optional settings.
    pub fn new(state: SyncState, interface: impl Into<String>, sync_id: u32) -> Self {
        Self {
            state,
            interface: interface.into(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// The attribute set for starting it.
    pub fn to_attrs(&self) -> Vec<DaemonAttr> {
        let mut v = vec![
            DaemonAttr::State(self.state.number()),
            DaemonAttr::Interface(self.interface.clone()),
            DaemonAttr::SyncId(self.sync_id),
        ];
        v.extend(self.max_len.map(DaemonAttr::SyncMaxLen));
        match self.group {
            Some(IpAddr::V4(g)) => v.push(DaemonAttr::Group(g)),
            Some(IpAddr::V6(g)) => v.push(DaemonAttr::Group6(g)),
            None => {}
        }
        v.extend(self.port.map(DaemonAttr::Port));
        v.extend(self.ttl.map(DaemonAttr::Ttl));
        v
    }

    /// Decodes the value of an `IPVS_CMD_ATTR_DAEMON` nest.
    pub fn parse_nest(value: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Self::new(SyncState::Master, String::new(), 0);
        let mut state = None;
        for_each_attr(value, 0, DaemonAttr::parse_raw, |attr| match attr {
            DaemonAttr::State(1) => state = Some(SyncState::Master),
            DaemonAttr::State(2) => state = Some(SyncState::Backup),
            DaemonAttr::Interface(v) => d.interface = v,
            DaemonAttr::SyncId(v) => d.sync_id = v,
            DaemonAttr::SyncMaxLen(v) => d.max_len = Some(v),
            DaemonAttr::Group(g) if !g.is_unspecified() => d.group = Some(IpAddr::V4(g)),
            DaemonAttr::Group6(g) if !g.is_unspecified() => d.group = Some(IpAddr::V6(g)),
            DaemonAttr::Port(v) => d.port = Some(v),
            DaemonAttr::Ttl(v) => d.ttl = Some(v),
            _ => {}
        })?;
        d.state = state.ok_or("IPVS daemon without a known state")?;
        Ok(d)
    }
}

/// Connection timeouts, in seconds (`ipvsadm --set`). When setting, 0 leaves a value
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timeouts {
    /// TCP established.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// What `IPVS_CMD_GET_INFO` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Info {
    /// IPVS version as (major, minor, patch), e.g. (1, 2, 1).
    pub version: (u8, u8, u8),
    /// Size of the connection hash table.
    pub conn_table_size: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn emit<A: netlink_packet_core::Nla>(v: &[A]) -> Vec<u8> {
        let mut b = vec![0; v.buffer_len()];
        v.emit(&mut b);
        b
    }

    #[test]
    fn service_roundtrip_v4_v6_fwmark() {
        let v4 = Service::new(
            ServiceId::tcp("10.0.0.1".parse().unwrap(), 80),
            Scheduler::WeightedLeastConnection,
        )
        .persistent(300);
        let mut v6 = Service::new(
            ServiceId::Inet {
                protocol: Protocol::Sctp,
                addr: "2001:db8::1".parse().unwrap(),
                port: 443,
            },
            Scheduler::SourceHash,
        );
        v6.flags = ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK;
        v6.netmask = Netmask::V6Prefix(64);
        let mut fw = Service::new(
            ServiceId::Fwmark {
                family: Family::Ipv6,
                mark: 7,
            },
            Scheduler::Other("xyz".into()),
        );
        fw.persistence_engine = Some("sip".into());
        for s in [v4, v6, fw] {
            let back = Service::parse_nest(&emit(&s.to_attrs())).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn dest_roundtrip_tunnel_and_mixed_family() {
        let d = Destination {
            upper_threshold: 100,
            lower_threshold: 10,
            ..Destination::new(
                "2001:db8::2".parse().unwrap(),
                8080,
                Forward::Tunnel(Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    flags: Tunnel::CSUM,
                }),
            )
            .weight(5)
        };
        let back = Destination::parse_nest(&emit(&d.to_attrs()), Family::Ipv4).unwrap();
        assert!(back.same_config(&d));
        assert_eq!(back.counters, Some(DestCounters::default()));
    }

    #[test]
    fn daemon_roundtrip() {
        let mut d = SyncDaemon::new(SyncState::Backup, "eth0", 51);
        d.group = Some("ff02::1:2".parse().unwrap());
        d.port = Some(8848);
        d.ttl = Some(2);
        d.max_len = Some(1400);
        assert_eq!(SyncDaemon::parse_nest(&emit(&d.to_attrs())).unwrap(), d);
    }

    #[test]
    fn missing_identity_is_an_error() {
        let attrs = vec![ServiceAttr::Family(2), ServiceAttr::Protocol(6)];
        assert!(Service::parse_nest(&emit(&attrs)).is_err());
        assert!(Service::parse_nest(&emit(&[ServiceAttr::Family(3)])).is_err());
    }
}
