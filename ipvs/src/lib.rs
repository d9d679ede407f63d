#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]
//! Linux IPVS (IP Virtual Server) over generic netlink: the kernel side of a layer-4 load
//! balancer, as `ipvsadm` and keepalived's health checker drive it.
//!
//! What it does:
//!
//! * the whole `IPVS` generic-netlink family ([`nl`]): services, destinations and sync
//!   daemons (add, edit, delete, list), timeouts, info, zero and flush, with every attribute
//!   of Linux 6.x: IPv4 and IPv6, TCP/UDP/SCTP and firewall-mark services, schedulers and
//!   their flags, persistence (timeout, netmask or IPv6 prefix, persistence engine),
//!   one-packet scheduling, every forwarding method with the IPIP/GUE/GRE tunnel options,
//!   thresholds, and 32- and 64-bit counters;
//! * a typed model ([`Service`], [`Destination`], [`SyncDaemon`], [`Timeouts`]) in which
//!   the family's byte-order traps (network-order ports, a netmask that is a network-order
//!   mask for IPv4 but a native prefix length for IPv6, ...) never show;
//! * errors that say what happened ([`ErrorKind`]: exists, not found, scheduler module
//!   missing, permission, IPVS missing, ...);
//! * one socket per [`Ipvs`], the family resolved once, and batched changes
//!   ([`Ipvs::apply_changes`]): hundreds of commands per `sendmsg`, acknowledged only on
//!   failure and at the end of each batch;
//! * [`plan`]/[`Ipvs::apply`]: from the kernel's table and the wanted one, the minimal
//!   changes, editing services and destinations in place rather than deleting and re-adding
//!   them (see keepalived's reload semantics in `docs/COMPATIBILITY.md`).
//!
//! What it does not do: load kernel modules (the kernel autoloads `ip_vs` on the first
//! request where it can), fall back to the old `setsockopt` interface, list connections
//! (`/proc/net/ip_vs_conn`), or decide anything about health: it is the mechanism a checker
//! drives. It needs `CAP_NET_ADMIN` in the caller's network namespace, and works per
//! namespace.
//!
//! Testing: the unit tests and `tests/captured.rs` (kernel replies captured as hex) run
//! anywhere. `tests/kernel.rs` needs a real IPVS: `ipvs/vm/test.sh` boots Debian's kernel in
//! qemu (`ipvs/vm/run.sh`, no KVM needed), runs every test in a fresh network namespace and
//! cross-checks with ipvsadm; `ipvs/vm/bench.sh` compares this crate with ipvsadm on a
//! 110,000-rule table (figures in `docs/PERFORMANCE.md`).
//!
//! ```no_run
//! use ipvs::{Destination, Forward, Ipvs, Scheduler, Service, ServiceId, VirtualService};
//!
//! # fn main() -> Result<(), ipvs::Error> {
//! let mut ipvs = Ipvs::new()?;
//! let web = ServiceId::tcp("192.0.2.10".parse().unwrap(), 80);
//! let table = vec![VirtualService {
//!     service: Service::new(web, Scheduler::WeightedLeastConnection).persistent(300),
//!     destinations: vec![
//!         Destination::new("10.0.0.11".parse().unwrap(), 8080, Forward::Masquerade),
//!         Destination::new("10.0.0.12".parse().unwrap(), 8080, Forward::Masquerade).weight(2),
//!     ],
//! }];
//! // Adds what is missing, edits what differs, deletes what is not wanted.
//! let report = ipvs.apply(&table)?;
//! for failure in &report.failures {
//!     eprintln!("{}", failure.error);
//! }
//! // A health checker takes a server out without dropping its connections:
//! let quiesced = Destination::new("10.0.0.12".parse().unwrap(), 8080, Forward::Masquerade)
//!     .weight(0);
//! ipvs.edit_destination(&web, &quiesced)?;
//! for s in ipvs.services()? {
//!     println!("{} {}", s.id, s.scheduler);
//! }
//! # Ok(())
//! # }
//! ```
mod client;
mod error;
pub mod nl;
mod plan;
mod types;

pub use client::{Change, ChangeError, Ipvs};
pub use error::{Error, ErrorKind, KernelError, Result};
pub use nl::{Scheduler, Stats};
pub use plan::{ApplyReport, VirtualService, plan};
pub use types::*;
/// The netlink crates whose types appear in this crate's API ([`nl`]).
pub use {netlink_packet_core, netlink_packet_generic};
