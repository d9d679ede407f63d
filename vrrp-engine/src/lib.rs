//! # vrrp-engine: the VRRP router of keepalived-rs: a sans-I/O engine and its Linux driver
//!
//! The engine ([`Engine`]) is a fully deterministic implementation of the VRRP router logic
//! (RFC 3768 for VRRPv2, RFC 5798 / RFC 9568 for VRRPv3) with keepalived's operational
//! features: trackers with weights, sync groups, preemption control, GARP/NA scheduling,
//! notifications, RFC 6527 counters, rate-limited logging, split-brain recovery,
//! reconciliation of addresses, routes and rules changed behind its back, virtual routes and
//! rules, static entries, and reload as a diff. One [`Engine`] runs all the instances of a
//! router; [`sim`] runs many engines on a simulated LAN.
//!
//! The [`linux`] module (feature `linux`, on by default) is the driver that runs an engine
//! against the kernel on a `scheduler` event loop: raw VRRP sockets, rtnetlink for addresses,
//! routes, rules and links (interfaces by name, VMACs for `use_vmac`), GARP and unsolicited NA,
//! `vrrp_script` and `track_file` trackers, a journal of everything it installed so that
//! nothing is left behind after a crash, and the signals a daemon handles (stop, reload,
//! dumps). The feature `testlab` adds network-namespace helpers for integration tests.
//!
//! ## What this crate does not do
//!
//! The engine has no networking code and never reads a clock: time is an [`Instant`] the
//! caller passes in; it does not open sockets, encode packets (actions are typed; `vrrp-proto`
//! encodes them), touch the kernel, run scripts or read files: the driver does. Neither parses
//! keepalived.conf (the daemon, `keepalived-bin`, maps the parsed configuration onto
//! [`EngineConfig`]), runs notify scripts, writes notify FIFOs, sends mail or writes dumps
//! (the daemon does, from the driver's `Hooks`), nor supervises processes. Receive validation
//! is shared with `vrrp-proto`: the driver decodes with
//! `vrrp_proto::decode_ipv4`/`decode_ipv6`, and the engine validates the result against the
//! instance it belongs to.
//!
//! ## Data flow
//!
//! ```text
//!   driver: raw sockets, netlink, script runner, clock          engine (this crate)
//!  ──────────────────────────────────────────────────────────────────────────────────────────
//!   datagram ─► vrrp_proto::decode_* ─► handle_advert(now, if, &Received) ─┐
//!                          └─ error ──► handle_rx_error(now, if, src, …) ──┤
//!   deadline reached ──────────────────► handle_timeout(now) ─────────────┤  instances,
//!   netlink link up/down ──────────────► handle_link(now, if, up) ────────┤  deadlines,
//!   script / file / process result ────► handle_tracker(now, id, status) ─┤  trackers,
//!   netlink: VIP/route/rule changed ───► handle_address/_route/_rule ─────┤  sync groups,
//!   admin: shutdown, priority ─────────► handle_command(now, Command) ────┤  counters
//!   SIGHUP: new configuration ─────────► reload(now, EngineConfig) ───────┘
//!                                                                          │
//!   vrrp_proto::emit_* + send  ◄── SendAdvert(AdvertTx) ◄── poll_action() ◄┤
//!   netlink add/del            ◄── Add/Remove Address, Route and Rule      │
//!   GARP / unsolicited NA      ◄── Announce                                │
//!   notify scripts, FIFO, log  ◄── Notify, Log                             │
//!   sleep until                ◄── poll_timeout() ◄────────────────────────┘
//! ```
//!
//! After any `handle_*` call (and after [`Engine::start`]) the driver drains
//! [`Engine::poll_action`] until it returns `None` (or takes them all at once with
//! [`Engine::take_actions`], giving the emptied buffer back with [`Engine::recycle_actions`]) and
//! performs the actions in order, then sleeps until [`Engine::poll_timeout`] or the next event. `poll_timeout` is never late; it may be early
//! (a down timer that adverts pushed back), and calling [`Engine::handle_timeout`] early or twice
//! is harmless. Address and route events the driver caused itself must not be reported back as
//! reconciliation events.
//!
//! ## Example
//!
//! ```
//! use core::time::Duration;
//! use vrrp_engine::{Action, Engine, EngineConfig, InstanceConfig, InterfaceId, Instant, State,
//!                   VirtualAddress};
//!
//! let mut vi = InstanceConfig::new("VI_1", InterfaceId(2), 51, 150, "10.0.0.2".parse().unwrap());
//! vi.virtual_addresses = vec![VirtualAddress::host("10.0.0.100".parse().unwrap())].into();
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
mod fast_hash;
#[cfg(feature = "linux")]
pub mod linux;
pub mod sim;
#[cfg(feature = "testlab")]
pub mod testlab;
mod time;
pub mod timer;
pub mod tracker;
mod types;

pub use action::{
    Action, AdvertTx, Destination, LogEvent, LogRecord, Notification, NotifyEvent, NotifyTarget,
};
pub use config::{
    ConfigError, EngineConfig, GarpConfig, GroupId, InitialState, InstanceConfig, InstanceId,
    InterfaceConfig, InterfaceId, Knobs, Shared, SyncGroupConfig, TrackBinding, TrackerConfig,
    TrackerId, TrackerKind, TrackerStatus, UnicastPeer, VirtualAddress, VirtualRoute, VmacConfig,
};
pub use config::{NextHop, RouteKind, RuleAction, RuleParseError, StaticConfig, VirtualRule};
pub use counters::{Counters, GlobalCounters, NewMasterReason, RxError};
pub use engine::{Command, CommandError, Engine, InstanceStatus};
pub use time::Instant;
pub use types::{Priority, State};
pub use vrrp_proto::{
    AdvertInterval, AuthConfig, Centiseconds, Ipv4ChecksumMode, Seconds, Version,
};
