//! What the engine asks its driver to do ([`Action`]) and the typed notifications and log events
//! it carries.

use core::fmt;
use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use vrrp_proto::{AdvertInterval, AhParams, Auth, AuthConfig, Ipv4ChecksumMode, Repr};

use crate::config::{GroupId, InstanceId, InterfaceId, VirtualAddress, VirtualRoute, VirtualRule};
use crate::{Priority, State};

/// One thing for the driver to do, in order. Fetch them with
/// [`Engine::poll_action`](crate::Engine::poll_action) after every `handle_*` call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Encode and send one advertisement (one copy per unicast peer, or one multicast).
    SendAdvert(AdvertTx),
    /// Install a virtual address.
    AddAddress {
        /// Owning instance.
        instance: InstanceId,
        /// Interface to put it on (the instance's unless the address says otherwise).
        interface: InterfaceId,
        /// The address (boxed, as are routes and rules: a burst queues one action per
        /// instance, and the rare large variants would make every action as large).
        address: Box<VirtualAddress>,
    },
    /// Remove a virtual address.
    RemoveAddress {
        /// Owning instance.
        instance: InstanceId,
        /// Interface it is on.
        interface: InterfaceId,
        /// The address (boxed, as are routes and rules: a burst queues one action per
        /// instance, and the rare large variants would make every action as large).
        address: Box<VirtualAddress>,
    },
    /// Install a virtual route.
    AddRoute {
        /// Owning instance.
        instance: InstanceId,
        /// The route.
        route: Box<VirtualRoute>,
    },
    /// Remove a virtual route.
    RemoveRoute {
        /// Owning instance.
        instance: InstanceId,
        /// The route.
        route: Box<VirtualRoute>,
    },
    /// Install a virtual rule (after the instance's routes).
    AddRule {
        /// Owning instance.
        instance: InstanceId,
        /// The rule.
        rule: Box<VirtualRule>,
    },
    /// Remove a virtual rule (before the instance's routes, as keepalived does).
    RemoveRule {
        /// Owning instance.
        instance: InstanceId,
        /// The rule.
        rule: Box<VirtualRule>,
    },
    /// Send a burst of gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6):
    /// `repeat` frames for each address, paced by the driver's `garp_interval`/`gna_interval`.
    Announce {
        /// Owning instance.
        instance: InstanceId,
        /// Interface of the instance (addresses may name their own).
        interface: InterfaceId,
        /// The addresses to announce.
        addresses: Arc<[VirtualAddress]>,
        /// Frames per address.
        repeat: u32,
        /// Pause between two gratuitous ARPs (`vrrp_garp_interval`).
        garp_interval: Duration,
        /// Pause between two unsolicited NAs (`vrrp_gna_interval`).
        gna_interval: Duration,
    },
    /// A state or priority event for notify scripts, FIFOs, traps and mail.
    Notify(Notification),
    /// A log line.
    Log(LogRecord),
}

/// Where an advertisement goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The VRRP multicast group of the family (`224.0.0.18` or `ff02::12`) with TTL/hop limit 255.
    Multicast,
    /// One copy to each listed peer.
    Unicast(Arc<[IpAddr]>),
}

/// The virtual addresses an advert carries (one family), for the codec to borrow.
///
/// An instance's list is cloned into every advert it sends, and read for every advert it
/// receives. Up to [`AdvertAddresses::INLINE_V4`] IPv4 addresses (the common case) are held in
/// the value itself: cloning copies 24 bytes and reading touches nothing else, where a shared
/// list cost a reference-count update and a read of its own, rarely cached, memory each time.
/// Longer lists and IPv6 lists are shared (`Arc`).
#[derive(Clone, Debug)]
pub struct AdvertAddresses(AddrList);

#[derive(Clone, Debug)]
enum AddrList {
    /// `addrs[..len]`; the rest unspecified.
    V4Inline {
        len: u8,
        addrs: [Ipv4Addr; AdvertAddresses::INLINE_V4],
    },
    V4(Arc<[Ipv4Addr]>),
    V6(Arc<[Ipv6Addr]>),
}

impl PartialEq for AdvertAddresses {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (AddrList::V6(a), AddrList::V6(b)) => a == b,
            (AddrList::V6(_), _) | (_, AddrList::V6(_)) => false,
            _ => self.v4_slice() == other.v4_slice(),
        }
    }
}

impl Eq for AdvertAddresses {}

impl AdvertAddresses {
    /// How many IPv4 addresses are held without a shared list.
    pub const INLINE_V4: usize = 4;

    /// An IPv4 list.
    pub fn v4(addrs: &[Ipv4Addr]) -> Self {
        let Ok(len) = u8::try_from(addrs.len()) else {
            return AdvertAddresses(AddrList::V4(addrs.into()));
        };
        if addrs.len() > Self::INLINE_V4 {
            return AdvertAddresses(AddrList::V4(addrs.into()));
        }
        let mut inline = [Ipv4Addr::UNSPECIFIED; Self::INLINE_V4];
        inline[..addrs.len()].copy_from_slice(addrs);
        AdvertAddresses(AddrList::V4Inline { len, addrs: inline })
    }

    /// An IPv6 list.
    pub fn v6(addrs: &[Ipv6Addr]) -> Self {
        AdvertAddresses(AddrList::V6(addrs.into()))
    }

    /// The IPv4 addresses (empty for an IPv6 list).
    fn v4_slice(&self) -> &[Ipv4Addr] {
        match &self.0 {
            AddrList::V4Inline { len, addrs } => addrs.get(..usize::from(*len)).unwrap_or(addrs),
            AddrList::V4(a) => a,
            AddrList::V6(_) => &[],
        }
    }

    /// The list as the codec's borrowed view.
    pub fn as_proto(&self) -> vrrp_proto::Addresses<'_> {
        match &self.0 {
            AddrList::V6(a) => vrrp_proto::Addresses::v6(a),
            _ => vrrp_proto::Addresses::v4(self.v4_slice()),
        }
    }

    /// Whether the list is of IPv6 addresses.
    pub fn is_v6(&self) -> bool {
        matches!(self.0, AddrList::V6(_))
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        match &self.0 {
            AddrList::V6(a) => a.len(),
            _ => self.v4_slice().len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds the list of the addresses of family `v6` (others are skipped).
    pub fn collect(v6: bool, addrs: impl Iterator<Item = IpAddr>) -> Self {
        if v6 {
            let list: Vec<Ipv6Addr> = addrs
                .filter_map(|a| match a {
                    IpAddr::V6(a) => Some(a),
                    IpAddr::V4(_) => None,
                })
                .collect();
            AdvertAddresses::v6(&list)
        } else {
            let list: Vec<Ipv4Addr> = addrs
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                })
                .collect();
            AdvertAddresses::v4(&list)
        }
    }
}

/// A typed advertisement for the driver to encode with `vrrp-proto` (RFC 3768 §5.1 / RFC 5798
/// §5.1): [`AdvertTx::repr`] gives the message, [`AdvertTx::ah_params`] the AH parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvertTx {
    /// Sending instance.
    pub instance: InstanceId,
    /// Interface to send on.
    pub interface: InterfaceId,
    /// Virtual router id.
    pub vrid: u8,
    /// Advertised priority (0 when releasing mastership).
    pub priority: Priority,
    /// Advertisement interval; its variant is the version.
    pub interval: AdvertInterval,
    /// VRRPv2 authentication.
    pub auth: AuthConfig,
    /// AH sequence number (incremented per advert; used only with AH).
    pub sequence: u32,
    /// VRRPv3 over IPv4 checksum mode.
    pub checksum_mode: Ipv4ChecksumMode,
    /// Source address (the instance's primary address).
    pub source: IpAddr,
    /// Destination.
    pub destination: Destination,
    /// The non-excluded virtual addresses of the instance's family.
    pub addresses: AdvertAddresses,
}

impl AdvertTx {
    /// The advertisement as the codec's representation.
    pub fn repr(&self) -> Repr<'_> {
        Repr {
            vrid: self.vrid,
            priority: self.priority.0,
            interval: self.interval,
            auth: match self.auth {
                AuthConfig::None => Auth::None,
                AuthConfig::Simple(key) => Auth::Simple(key),
                AuthConfig::Ah(_) => Auth::Ah,
            },
            addresses: self.addresses.as_proto(),
        }
    }

    /// The AH parameters for `vrrp_proto::emit_ipv4`, when the instance uses AH.
    pub fn ah_params(&self) -> Option<AhParams> {
        match self.auth {
            AuthConfig::Ah(key) => Some(AhParams {
                key,
                sequence: self.sequence,
            }),
            _ => None,
        }
    }
}

/// Who a notification is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyTarget {
    /// An instance (`INSTANCE "<name>"`).
    Instance(InstanceId),
    /// A sync group (`GROUP "<name>"`).
    Group(GroupId),
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyEvent {
    /// Entered a state (MASTER notifies come after the addresses are added and the first burst).
    State(State),
    /// The effective priority changed (`notify_priority_changes`).
    Priority,
    /// A MASTER heard a lower-priority master (`notify_master_rx_lower_pri`).
    MasterRxLowerPriority,
    /// The instance was removed by a reload (`notify_deleted`); it released mastership first.
    Deleted,
}

/// A notification, emitted in the order events happen: an instance's state notification comes
/// before the group notification it causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Subject.
    pub target: NotifyTarget,
    /// The instance's or group's name (ids are reassigned by a reload; names are not).
    pub name: Arc<str>,
    /// Event.
    pub event: NotifyEvent,
    /// Effective priority at that moment (0 for groups, as keepalived reports).
    pub priority: Priority,
}

/// Log severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something is wrong (misconfiguration on the LAN, bad packets).
    Warning,
    /// State changes and other notable events.
    Info,
    /// Detail.
    Debug,
}

/// One log line, typed; its `Display` gives the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Severity.
    pub level: Level,
    /// Instance concerned, if any.
    pub instance: Option<InstanceId>,
    /// Its name.
    pub name: Option<Arc<str>>,
    /// What happened.
    pub event: LogEvent,
}

/// Why an instance changed state or did something notable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogEvent {
    /// Entered a state.
    Entered(State),
    /// BACKUP: no advert within Master_Down_Interval.
    MasterDown,
    /// MASTER stepped down for a higher priority (or equal priority, higher address).
    Preempted {
        /// The winner.
        by: IpAddr,
        /// Its priority.
        priority: Priority,
    },
    /// MASTER heard a lower-priority master and re-announced.
    LowerPriorityMaster {
        /// The other master.
        from: IpAddr,
        /// Its priority.
        priority: Priority,
    },
    /// A sync-group member is ready for MASTER but waits for the others.
    WaitingForGroup,
    /// An advert was rejected or flagged.
    BadAdvert {
        /// Source address (unspecified if unknown).
        from: IpAddr,
        /// Class.
        error: crate::counters::RxError,
        /// Earlier occurrences not logged because of rate limiting.
        suppressed: u32,
    },
    /// An owned address or route changed behind our back and was restored.
    Reconciled {
        /// The address or route destination.
        addr: IpAddr,
        /// `true` if it was re-added, `false` if removed.
        added: bool,
    },
    /// An advert for a VRID no instance runs on that interface (`log_unknown_vrids`).
    UnknownVrid {
        /// Interface.
        interface: InterfaceId,
        /// The VRID.
        vrid: u8,
        /// Sender.
        from: IpAddr,
    },
    /// The effective priority changed.
    PriorityChanged {
        /// Old value.
        old: Priority,
        /// New value.
        new: Priority,
    },
}

impl fmt::Display for LogEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogEvent::Entered(s) => write!(f, "entering {s} state"),
            LogEvent::MasterDown => f.write_str("no advert within Master_Down_Interval"),
            LogEvent::Preempted { by, priority } => {
                write!(
                    f,
                    "{by} has priority {} or wins the tie; leaving MASTER",
                    priority.0
                )
            }
            LogEvent::LowerPriorityMaster { from, priority } => write!(
                f,
                "master {from} with lower priority {} heard; re-announcing",
                priority.0
            ),
            LogEvent::WaitingForGroup => {
                f.write_str("ready for MASTER; waiting for the rest of the sync group")
            }
            LogEvent::BadAdvert {
                from,
                error,
                suppressed,
            } => {
                write!(f, "advert from {from} rejected or flagged: {error}")?;
                if *suppressed > 0 {
                    write!(f, " ({suppressed} similar suppressed)")?;
                }
                Ok(())
            }
            LogEvent::Reconciled { addr, added } => {
                let verb = if *added { "restored" } else { "removed" };
                write!(f, "{addr} changed outside our control; {verb}")
            }
            LogEvent::UnknownVrid {
                interface,
                vrid,
                from,
            } => write!(
                f,
                "advert from {from} for VRID {vrid} on interface #{}, which we do not run",
                interface.0
            ),
            LogEvent::PriorityChanged { old, new } => {
                write!(f, "effective priority {} -> {}", old.0, new.0)
            }
        }
    }
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, self.instance) {
            (Some(name), _) => write!(f, "({name}) ")?,
            (None, Some(InstanceId(i))) => write!(f, "(instance #{i}) ")?,
            (None, None) => {}
        }
        self.event.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4s(n: u8) -> Vec<Ipv4Addr> {
        (1..=n).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect()
    }

    #[test]
    fn advert_addresses_inline_and_shared_hold_the_same_lists() {
        for n in 0..=8u8 {
            let list = v4s(n);
            let a = AdvertAddresses::v4(&list);
            assert_eq!(a.len(), usize::from(n));
            assert_eq!(a.is_empty(), n == 0);
            assert!(!a.is_v6());
            let view = a.as_proto();
            assert_eq!(view.len(), usize::from(n));
            assert_eq!(
                view.iter().collect::<Vec<_>>(),
                list.iter().map(|&x| IpAddr::V4(x)).collect::<Vec<_>>()
            );
            // Held inline up to INLINE_V4, shared beyond: equal all the same.
            assert_eq!(
                matches!(a.0, AddrList::V4Inline { .. }),
                usize::from(n) <= AdvertAddresses::INLINE_V4
            );
            let shared = AdvertAddresses(AddrList::V4(list.clone().into()));
            assert_eq!(a, shared);
            assert_eq!(a.clone(), a);
        }
        // Order matters, as on the wire.
        let mut rev = v4s(3);
        rev.reverse();
        assert_ne!(AdvertAddresses::v4(&v4s(3)), AdvertAddresses::v4(&rev));
        assert_ne!(AdvertAddresses::v4(&v4s(2)), AdvertAddresses::v4(&v4s(3)));
        // An empty IPv6 list is not an empty IPv4 list.
        let v6 = AdvertAddresses::v6(&[]);
        assert!(v6.is_v6());
        assert_ne!(v6, AdvertAddresses::v4(&[]));
        let one6 = AdvertAddresses::v6(&["fe80::1".parse().unwrap()]);
        assert_eq!(one6, one6.clone());
        assert_eq!(one6.len(), 1);
        // `collect` keeps the family asked for.
        let mixed: Vec<IpAddr> = vec![
            "10.0.0.1".parse().unwrap(),
            "fe80::1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
        ];
        assert_eq!(
            AdvertAddresses::collect(false, mixed.iter().copied()),
            AdvertAddresses::v4(&v4s(2))
        );
        assert_eq!(AdvertAddresses::collect(true, mixed.into_iter()), one6);
        // Inline costs no size: an advert action stays as small.
        assert!(core::mem::size_of::<AdvertAddresses>() <= 24);
    }
}
