//! The Linux driver (feature `linux`, on by default): runs an [`Engine`](crate::Engine) against
//! the kernel.
//!
//! * [`socket`]: raw VRRP sockets, one per interface and family, shared by instances.
//! * [`netlink`]: addresses, routes and policy rules over rtnetlink (only what it added is
//!   ever removed), and the link/address/route/rule monitor; `rtmsg` reads and writes the
//!   rtnetlink messages they use.
//! * [`announce`]: gratuitous ARP and unsolicited NA over `AF_PACKET`, paced.
//! * [`journal`]: what the driver installed (addresses, routes, rules, VMACs), rewritten after
//!   every change, so that a restart cleans up after a crash; what an orderly stop could not
//!   remove stays in it.
//! * [`vmac`]: VMAC (macvlan) interfaces for `use_vmac`.
//! * [`track`]: `vrrp_script` and `track_file` trackers, run on the driver's loop.
//! * [`driver`]: the [`Runner`] that glues them to the engine on the `scheduler` event loop,
//!   and follows interfaces by name (below).
//!
//! ## Interfaces by name
//!
//! An interface id is either a kernel ifindex ([`if_index`] maps a name), or a logical id
//! ([`InterfaceId::named`](crate::InterfaceId::named)) that an entry of
//! [`EngineConfig::interfaces`](crate::EngineConfig::interfaces) names. The engine only ever
//! sees the configuration's ids; the driver maps them to the kernel's current ifindexes from
//! the rtnetlink link reports, in both directions (actions out, events in). So a named
//! interface may be missing at start, or be deleted and re-created under a new ifindex:
//!
//! * while it does not exist, the driver reports it down, so its instances are in FAULT (as
//!   keepalived does), and drops actions aimed at it (an address added to a missing interface
//!   is reported as a warning);
//! * when it appears, the driver opens the raw sockets the instances need on it (and closes
//!   those of an interface that went away), reports it up, and the instances leave FAULT; a
//!   MASTER re-adds its addresses on the new interface;
//! * an instance whose primary address is unspecified (`0.0.0.0` or `::`, which the daemon
//!   gives when it could not find one) is in FAULT until the driver finds an address of its
//!   family (IPv6: link-local) on the interface; the driver then reloads the engine with that
//!   address (a reload keeps the instance's state).
//!
//! A named interface may also be a VMAC ([`vmac`], `use_vmac`): the driver creates it on its
//! base interface whenever the base exists (and the kernel deletes it with the base), and the
//! instances on it send, receive, hold their addresses and announce them there; with
//! `vmac_xmit_base` adverts go through the base interface and the driver hands adverts of
//! those VRIDs received on the base to the VMAC's instances.
//!
//! The driver needs `CAP_NET_RAW` and `CAP_NET_ADMIN`.
//!
//! It does not parse keepalived.conf, run notify scripts, write notify FIFOs, send mail or
//! write dump files: it hands notifications, warnings, reload requests and dump views to its
//! embedder through [`Hooks`] (the daemon in `keepalived-bin`).

pub mod announce;
pub mod driver;
pub mod journal;
pub(crate) mod links;
pub mod netlink;
mod outbox;
pub(crate) mod rtmsg;
pub mod socket;
pub(crate) mod sys;
pub mod track;
pub mod vmac;

pub use driver::{
    DriverError, DumpKind, DumpView, Exit, Hooks, NoHooks, Options, Runner, StopHandle,
};
pub use sys::{enter_netns, if_index, lock_memory, release_code, trim_heap};
