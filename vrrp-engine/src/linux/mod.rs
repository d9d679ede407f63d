//! The Linux driver (feature `linux`, on by default): runs an [`Engine`](crate::Engine) against
//! the kernel.
//!
//! * [`socket`]: raw VRRP sockets, one per interface and family, shared by instances.
//! * [`netlink`]: virtual addresses and routes over rtnetlink, and the link/address/route
//!   monitor.
//! * [`announce`]: gratuitous ARP and unsolicited NA over `AF_PACKET`, paced.
//! * [`journal`]: what the driver installed, so that a restart cleans up after a crash.
//! * [`driver`]: the [`Runner`] that glues them to the engine on the `scheduler` event loop.
//!
//! Interface ids are kernel ifindexes ([`if_index`] maps a name). The driver needs
//! `CAP_NET_RAW` and `CAP_NET_ADMIN`.

pub mod announce;
pub mod driver;
pub mod journal;
pub mod netlink;
pub mod socket;
pub(crate) mod sys;

pub use driver::{
    DriverError, DumpKind, DumpView, Exit, Hooks, NoHooks, Options, Runner, StopHandle,
};
pub use sys::{enter_netns, if_index};
