//! # vrrp-engine: the VRRP state machine of keepalived-rs, sans I/O
//!
//! This crate is a fully deterministic implementation of the VRRP router logic (RFC 3768 for
//! VRRPv2, RFC 5798 / RFC 9568 for VRRPv3) with keepalived's operational features: trackers with
//! weights, sync groups, preemption control, GARP/NA scheduling, notifications, counters and
//! split-brain recovery. One [`Engine`] runs all the instances of a router.
//!
//! ## What this crate does not do
//!
//! It has no networking code and never reads a clock. It does not encode or decode packets (the
//! driver uses `vrrp-proto`), does not open sockets, does not touch addresses, routes or ARP
//! tables, does not run scripts or read files, and does not parse keepalived.conf. It tells its
//! driver what to do and when to call back.
//!
//! ## Data flow
//!
//! ```text
//!             driver (sockets, netlink, scripts, clock)
//!   ─────────────────────────────────────────────────────────────────────────
//!    decoded advert ──► handle_advert(now, &Received)      poll_action() ──► SendAdvert
//!    codec error    ──► handle_rx_error(now, …)                         ──► Add/RemoveAddress
//!    timer fired    ──► handle_timeout(now)                             ──► Add/RemoveRoute
//!    link up/down   ──► handle_link(now, if, up)                        ──► Announce (GARP/NA)
//!    tracker result ──► handle_tracker(now, id, status)                 ──► Notify, Log
//!    admin command  ──► handle_command(now, Command)
//!    VIP vanished   ──► handle_address(now, if, addr, present)  poll_timeout() ──► next wake-up
//! ```
//!
//! After any `handle_*` call (and after [`Engine::start`]) the driver drains
//! [`Engine::poll_action`] until it returns `None`, performs the actions in order, and sleeps until
//! [`Engine::poll_timeout`] or the next event. Calling [`Engine::handle_timeout`] early or twice is
//! harmless. Time is an [`Instant`] the caller supplies, so the same engine runs on a real clock
//! or in the [`sim`] module's virtual LAN.
//!
//! ## Example
//!
//! ```
//! use core::time::Duration;
//! use vrrp_engine::{Action, Engine, EngineConfig, InstanceConfig, InterfaceId, Instant, State,
//!                   VirtualAddress};
//!
//! let mut vi = InstanceConfig::new("VI_1", InterfaceId(2), 51, 150, "10.0.0.2".parse().unwrap());
//! vi.virtual_addresses.push(VirtualAddress::host("10.0.0.100".parse().unwrap()));
//! let mut engine = Engine::new(EngineConfig { instances: vec![vi], ..Default::default() })?;
//! let id = engine.instance_by_name("VI_1").unwrap();
//!
//! engine.start(Instant::ZERO);
//! assert_eq!(engine.state(id), Some(State::Backup));
//! // Nobody advertises: after 3 × 1 s + skew ((256 − 150) / 256 s) the instance takes over.
//! let deadline = engine.poll_timeout().unwrap();
//! assert_eq!(deadline - Instant::ZERO, Duration::from_secs(3) + Duration::from_secs(1) * 106 / 256);
//! engine.handle_timeout(deadline);
//! assert_eq!(engine.state(id), Some(State::Master));
//! let actions: Vec<Action> = std::iter::from_fn(|| engine.poll_action()).collect();
//! assert!(matches!(actions[0], Action::Log(_)));
//! assert!(actions.iter().any(|a| matches!(a, Action::SendAdvert(_))));
//! assert!(actions.iter().any(|a| matches!(a, Action::AddAddress { .. })));
//! # Ok::<(), vrrp_engine::ConfigError>(())
//! ```

pub mod action;
pub mod config;
pub mod counters;
mod engine;
pub mod sim;
mod time;
pub mod timer;
pub mod tracker;
mod types;

pub use action::{
    Action, AdvertTx, Destination, LogEvent, LogRecord, Notification, NotifyEvent, NotifyTarget,
};
pub use config::{
    ConfigError, EngineConfig, GarpConfig, GroupId, InitialState, InstanceConfig, InstanceId,
    InterfaceId, Knobs, SyncGroupConfig, TrackBinding, TrackerConfig, TrackerId, TrackerKind,
    TrackerStatus, UnicastPeer, VirtualAddress, VirtualRoute,
};
pub use counters::{Counters, GlobalCounters, NewMasterReason, RxError};
pub use engine::{Command, CommandError, Engine};
pub use time::Instant;
pub use types::{Priority, State};
pub use vrrp_proto::{
    AdvertInterval, AuthConfig, Centiseconds, Ipv4ChecksumMode, Seconds, Version,
};
