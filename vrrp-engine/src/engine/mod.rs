//! The engine: all instances of one router, their timers, trackers and sync groups.

use core::time::Duration;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use vrrp_proto::{AddressPolicy, AuthFailure, Reject, ValidationContext};

use crate::action::{
    Action, AdvertAddresses, AdvertTx, Destination, Level, LogEvent, LogRecord, Notification,
    NotifyEvent, NotifyTarget,
};
use crate::config::{
    ConfigError, EngineConfig, GroupId, InstanceConfig, InstanceId, InterfaceId, SyncGroupConfig,
    TrackBinding, TrackerConfig, TrackerId, TrackerKind, TrackerStatus, VirtualAddress,
    VirtualRoute, VirtualRule,
};
use crate::counters::{
    Counters, GlobalCounters, InstanceCounters, LogLimiter, NewMasterReason, RxError,
};
use crate::fast_hash::FastHash;
use crate::timer::{DeadlineQueue, Timer, TimerTable};
use crate::tracker::{self, Contribution};
use crate::{Instant, Priority, State, Version};

mod output;
mod reload;
mod rx;
mod timers;
mod transitions;

/// What the state machine needs from an advert that passed validation.
#[derive(Clone, Copy, Debug)]
struct Rx {
    source: IpAddr,
    priority: Priority,
    interval: Duration,
}

/// An administrative command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Orderly shutdown of every instance: masters remove their addresses and release with
    /// priority 0 (RFC 5798 §6.4.3 "Shutdown"), then all instances stop.
    Shutdown,
    /// Change an instance's base priority (1..=255).
    SetPriority {
        /// The instance.
        instance: InstanceId,
        /// New base priority.
        priority: Priority,
    },
}

/// What an operator wants to know about one instance ([`Engine::status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceStatus<'a> {
    /// Id.
    pub id: InstanceId,
    /// Name.
    pub name: &'a str,
    /// Virtual router id.
    pub vrid: u8,
    /// Interface.
    pub interface: InterfaceId,
    /// State.
    pub state: State,
    /// Configured priority.
    pub base_priority: Priority,
    /// Priority after trackers.
    pub effective_priority: Priority,
    /// The master as last heard (our own address while MASTER).
    pub master: Option<IpAddr>,
    /// Master_Adver_Interval in use.
    pub master_adver_interval: Duration,
    /// Ready for MASTER but held in BACKUP by its sync group.
    pub waiting_for_group: bool,
    /// Sync group, if any.
    pub group: Option<GroupId>,
    /// Counters (a snapshot).
    pub counters: Counters,
}

/// Why a command was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No such instance.
    #[error("no instance #{0}")]
    NoSuchInstance(u32),
    /// Priority 0 cannot be configured.
    #[error("priority 0 is reserved")]
    InvalidPriority,
}

const LOWER_PRIO_LOG: usize = crate::counters::LOG_SLOTS - 1;

struct Instance {
    cfg: InstanceConfig,
    group: Option<GroupId>,
    state: State,
    effective: Priority,
    timers: TimerTable,
    /// RFC 5798 §6.1 Master_Adver_Interval (VRRPv3 learns it from the master).
    master_adver_int: Duration,
    /// `preempt_delay`: until when lower-priority masters are tolerated, counted from the first
    /// one seen (modern keepalived); cleared when a master of our priority or higher is heard
    /// and on every state change.
    preempt_until: Option<Instant>,
    wants_master: bool,
    /// Source of the last lower-priority advert discarded since the last accepted one (for
    /// `NewMasterReason::Preempted`).
    lower_from: Option<IpAddr>,
    /// MASTER: the master we preempted, until its farewell advert (`higher_prio_send_advert`)
    /// arrives; that advert is expected and does not count as a split brain.
    preempted: Option<IpAddr>,
    pending_garp: u32,
    last_sender: Option<IpAddr>,
    master_addr: Option<IpAddr>,
    counters: InstanceCounters,
    limiter: LogLimiter,
    advert_addrs: AdvertAddresses,
    /// AH: sequence number of the last advert we sent (0 before the first).
    tx_sequence: u32,
    /// AH: (source, last accepted sequence number) of the current master; boxed, as only AH
    /// instances (a deprecated, rare setting) have one.
    rx_sequence: Option<Box<(IpAddr, u32)>>,
    destination: Destination,
    /// The deadline of the instance's live entry in the engine's deadline queue, if any (older
    /// entries of it there are stale and skipped).
    queued_at: Option<Instant>,
    /// [`Engine::master_down_interval`] with the (Master_Adver_Interval, effective priority) it
    /// was computed from: a BACKUP needs it for every advert it accepts, and both seldom change
    /// (the other inputs are configuration, fixed for the instance's lifetime).
    down_memo: Option<DownMemo>,
}

/// [`Instance::down_memo`]: Master_Down_Interval with the Master_Adver_Interval (in
/// milliseconds: every interval VRRP can express is a whole number of them) and the effective
/// priority it was computed from; 16 bytes where the `Duration`s took 40.
#[derive(Clone, Copy, Debug)]
struct DownMemo {
    interval_ms: core::num::NonZeroU32,
    priority: Priority,
    down_nanos: u64,
}

impl DownMemo {
    /// The memo's key for these inputs; `None` (nothing is remembered) for an interval that is
    /// zero, not a whole number of milliseconds, or beyond 49 days.
    fn key(interval: Duration, priority: Priority) -> Option<(core::num::NonZeroU32, Priority)> {
        let nanos = interval.subsec_nanos();
        if !nanos.is_multiple_of(1_000_000) {
            return None;
        }
        let ms = interval
            .as_secs()
            .checked_mul(1000)?
            .checked_add(u64::from(nanos / 1_000_000))?;
        Some((
            core::num::NonZeroU32::new(u32::try_from(ms).ok()?)?,
            priority,
        ))
    }
}

impl Instance {
    /// Takes over the runtime state of the same instance before a reload.
    fn inherit(&mut self, o: &mut Instance) {
        self.state = o.state;
        self.timers = o.timers;
        self.preempt_until = o.preempt_until;
        self.wants_master = o.wants_master;
        self.lower_from = o.lower_from;
        self.preempted = o.preempted;
        self.pending_garp = o.pending_garp;
        self.last_sender = o.last_sender;
        self.master_addr = o.master_addr;
        self.counters = core::mem::take(&mut o.counters);
        self.limiter = core::mem::take(&mut o.limiter);
        self.tx_sequence = o.tx_sequence;
        self.rx_sequence = o.rx_sequence.take();
        self.effective = o.effective;
        if o.cfg.version() == self.cfg.version() {
            self.master_adver_int = o.master_adver_int;
        }
    }
}

struct Group {
    cfg: SyncGroupConfig,
    name: Arc<str>,
    state: State,
}

/// The VRRP engine of one router: a deterministic, sans-IO state machine for any number of
/// instances. See the [crate documentation](crate) for the calling protocol.
pub struct Engine {
    instances: Vec<Instance>,
    groups: Vec<Group>,
    trackers: Vec<(TrackerConfig, TrackerStatus)>,
    tracker_users: Vec<Vec<InstanceId>>,
    links: HashMap<InterfaceId, bool>,
    iface_users: HashMap<InterfaceId, Vec<InstanceId>>,
    /// (interface, IPv6, VRID) to instance, keyed by [`demux_key`].
    demux: HashMap<u64, InstanceId, FastHash>,
    /// Every instance's virtual addresses, sorted by address (instances in id order): one
    /// entry each instead of a map of lists (1,000 instances: 24 KB instead of 116 KB).
    owned_addrs: Vec<(IpAddr, InstanceId)>,
    actions: VecDeque<Action>,
    deadlines: DeadlineQueue,
    dirty: Vec<u32>,
    /// Groups with a member in `dirty`, for [`Engine::update_groups`].
    dirty_groups: Vec<u32>,
    global: GlobalCounters,
    log_interval: Duration,
    log_unknown_vrids: bool,
    unknown_vrid_logged: Option<Instant>,
    started: bool,
    /// Per instance, its advert phase in nanoseconds (`timers::NOT_SPREAD` when its interval
    /// group is not spread), from [`timers::advert_phases`]: the first periodic advert after it
    /// becomes MASTER (or reasserts) is put on that phase ([`timers::phase_aligned`]), which
    /// spreads the adverts of instances that take over together. Empty when no instance is
    /// spread. Configuration-derived, so a reload computes it afresh. Kept out of `Instance`,
    /// whose size matters more.
    advert_phases: Box<[u32]>,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("instances", &self.instances.len())
            .field("groups", &self.groups.len())
            .field("pending_actions", &self.actions.len())
            .finish_non_exhaustive()
    }
}

/// The demultiplexing key of (interface, IPv6, VRID), packed into one integer: one multiply
/// to hash and one comparison per probe, for every advert received.
fn demux_key(interface: InterfaceId, v6: bool, vrid: u8) -> u64 {
    (u64::from(interface.0) << 9) | (u64::from(v6) << 8) | u64::from(vrid)
}

fn idx(id: InstanceId) -> usize {
    id.0 as usize
}

/// Capacity of the action queue kept once drained (steady state needs a few per instance due).
const RETAINED_ACTIONS: usize = 256;

impl Engine {
    /// Builds an engine. Every instance starts in [`State::Init`]; call [`Engine::start`] after
    /// reporting the initial link states with [`Engine::handle_link`] (links not reported are
    /// assumed up) and tracker results.
    pub fn new(config: EngineConfig) -> Result<Engine, ConfigError> {
        config.validate()?;
        let EngineConfig {
            instances,
            sync_groups,
            trackers,
            log_interval,
            log_unknown_vrids,
            interfaces: _, // the driver's concern
            statics: _,
        } = config;
        let mut groups_of = vec![None; instances.len()];
        for (g, group) in sync_groups.iter().enumerate() {
            for m in &group.members {
                groups_of[idx(*m)] = Some(GroupId(g as u32));
            }
        }
        let mut engine = Engine {
            instances: Vec::with_capacity(instances.len()),
            groups: sync_groups
                .into_iter()
                .map(|cfg| Group {
                    name: Arc::from(cfg.name.as_str()),
                    cfg,
                    state: State::Init,
                })
                .collect(),
            tracker_users: vec![Vec::new(); trackers.len()],
            trackers: trackers
                .into_iter()
                .map(|t| {
                    let s = t.initial;
                    (t, s)
                })
                .collect(),
            links: HashMap::new(),
            iface_users: HashMap::new(),
            demux: HashMap::with_capacity_and_hasher(instances.len(), FastHash),
            owned_addrs: Vec::new(),
            actions: VecDeque::new(),
            deadlines: DeadlineQueue::with_capacity(instances.len()),
            dirty: Vec::new(),
            dirty_groups: Vec::new(),
            global: GlobalCounters::default(),
            log_interval,
            log_unknown_vrids,
            unknown_vrid_logged: None,
            started: false,
            advert_phases: Box::default(),
        };
        // Identical GARP settings (the usual case) share one copy.
        let mut garps = Vec::new();
        for (i, mut cfg) in instances.into_iter().enumerate() {
            cfg.garp.intern(&mut garps, 16);
            let id = InstanceId(i as u32);
            engine.index_instance(id, &cfg, groups_of[i]);
            let v6 = cfg.primary_addr.is_ipv6();
            let advert_addrs = AdvertAddresses::collect(
                v6,
                cfg.virtual_addresses
                    .iter()
                    .filter(|v| !v.excluded)
                    .map(|v| v.addr),
            );
            let destination = if cfg.unicast_peers.is_empty() {
                Destination::Multicast
            } else {
                Destination::Unicast(cfg.unicast_peers.iter().map(|p| p.addr).collect())
            };
            engine.instances.push(Instance {
                group: groups_of[i],
                state: State::Init,
                effective: cfg.priority,
                timers: TimerTable::default(),
                master_adver_int: cfg.advert_interval.to_duration(),
                preempt_until: None,
                wants_master: false,
                lower_from: None,
                preempted: None,
                pending_garp: 0,
                last_sender: None,
                master_addr: None,
                counters: InstanceCounters::default(),
                limiter: LogLimiter::default(),
                advert_addrs,
                tx_sequence: 0,
                rx_sequence: None,
                destination,
                queued_at: None,
                down_memo: None,
                cfg,
            });
        }
        engine.spread_advert_phases();
        // Stable: an address's owners stay in id order.
        engine.owned_addrs.sort_by_key(|&(addr, _)| addr);
        for i in 0..engine.instances.len() {
            let (_, eff) = engine.evaluate(i);
            engine.instances[i].effective = eff;
        }
        Ok(engine)
    }

    fn index_instance(&mut self, id: InstanceId, cfg: &InstanceConfig, group: Option<GroupId>) {
        self.demux.insert(
            demux_key(cfg.interface, cfg.primary_addr.is_ipv6(), cfg.vrid),
            id,
        );
        self.iface_users.entry(cfg.interface).or_default().push(id);
        let group_track: &[TrackBinding] = match group {
            Some(g) => &self.groups[g.0 as usize].cfg.track,
            None => &[],
        };
        let bindings: Vec<TrackerId> = cfg
            .track
            .iter()
            .chain(group_track)
            .map(|b| b.tracker)
            .collect();
        for t in bindings {
            let users = &mut self.tracker_users[t.0 as usize];
            if users.last() != Some(&id) {
                users.push(id);
            }
        }
        self.owned_addrs
            .extend(cfg.virtual_addresses.iter().map(|va| (va.addr, id)));
    }

    // ===== public driving API =====

    /// Starts every instance (RFC 5798 §6.4.1): an address owner becomes MASTER at once, others
    /// enter BACKUP (an instance configured `state MASTER` waits only its skew time), and an
    /// instance whose interface or weight-0 tracker is down enters FAULT. Calling it twice does
    /// nothing.
    pub fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.instances.len() {
            self.start_instance(now, i);
        }
        self.finish();
    }

    /// RFC 5798 §6.4.1 for one instance still in INIT.
    fn start_instance(&mut self, now: Instant, i: usize) {
        if self.instances[i].state != State::Init {
            return; // already moved by a group member
        }
        let (up, _) = self.evaluate(i);
        let group_up = self.instances[i].group.is_none_or(|g| self.group_all_up(g));
        if !up || !group_up {
            match self.instances[i].group {
                Some(g) => self.fault_group(now, g),
                None => self.enter_fault(now, i),
            }
        } else if self.instances[i].cfg.is_owner() {
            self.request_master(now, i, NewMasterReason::Priority);
        } else {
            let down = match self.instances[i].cfg.initial_state {
                crate::InitialState::Master => self.skew(i),
                crate::InitialState::Backup => self.master_down_interval(i),
            };
            self.enter_backup(now, i, Some(down), false);
        }
    }

    /// Handles an advertisement decoded by `vrrp_proto::decode_ipv4` / `decode_ipv6` that
    /// arrived on `interface`: finds the instance by (interface, family, VRID), validates it with
    /// `vrrp_proto::validate` against the instance's configuration plus the engine's own checks
    /// (unicast peers, destination mode, AH replay), counts and logs rejections, and runs the
    /// state machine (RFC 5798 §6.4.2, §6.4.3, §7.1).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        interface: InterfaceId,
        rx: &vrrp_proto::Received<'_>,
    ) {
        let source = rx.endpoints.src();
        let key = demux_key(interface, source.is_ipv6(), rx.advert.vrid);
        let Some(&id) = self.demux.get(&key) else {
            self.global.vrid_errors += 1;
            let quiet = self
                .unknown_vrid_logged
                .is_some_and(|t| now.saturating_duration_since(t) < self.log_interval);
            if self.log_unknown_vrids && !quiet {
                self.unknown_vrid_logged = Some(now);
                self.actions.push_back(Action::Log(LogRecord {
                    level: Level::Info,
                    instance: None,
                    name: None,
                    event: LogEvent::UnknownVrid {
                        interface,
                        vrid: rx.advert.vrid,
                        from: source,
                    },
                }));
            }
            return;
        };
        let i = idx(id);
        if !matches!(self.instances[i].state, State::Backup | State::Master) {
            // Modern keepalived: adverts are ignored in INIT and FAULT (and after stop).
            return;
        }
        let rx = match self.validate(now, i, rx) {
            Ok(rx) => rx,
            Err(e) => {
                self.reject(now, i, source, e);
                self.finish();
                return;
            }
        };
        let inst = &mut self.instances[i];
        inst.counters.rcvd_advertisements += 1;
        if rx.priority == Priority::RELEASE {
            inst.counters.rcvd_pri_zero = inst.counters.rcvd_pri_zero.wrapping_add(1);
        }
        if inst.last_sender != Some(rx.source) {
            inst.last_sender = Some(rx.source);
            inst.limiter.reset();
        }
        if inst.cfg.is_owner() && inst.cfg.knobs.owner_ignore_adverts {
            return;
        }
        match inst.state {
            State::Backup => self.backup_rx(now, i, rx),
            State::Master => self.master_rx(now, i, rx),
            _ => {}
        }
        self.finish();
    }

    /// Counts and logs an advert the driver could not decode (`vrrp_proto::decode_*` failed):
    /// `vrid` is the packet's VRID if it could be read, so the error can be attributed.
    pub fn handle_rx_error(
        &mut self,
        now: Instant,
        interface: InterfaceId,
        source: IpAddr,
        vrid: Option<u8>,
        error: Reject,
    ) {
        let id = vrid.and_then(|v| {
            self.demux
                .get(&demux_key(interface, source.is_ipv6(), v))
                .copied()
        });
        match (id, error.kind().scope()) {
            (Some(id), _) => self.reject(now, idx(id), source, RxError::Rejected(error)),
            (None, _) => match error.kind() {
                vrrp_proto::RejectKind::Checksum => self.global.checksum_errors += 1,
                vrrp_proto::RejectKind::Version => self.global.version_errors += 1,
                vrrp_proto::RejectKind::Vrid => self.global.vrid_errors += 1,
                _ => self.global.other_errors += 1,
            },
        }
        self.finish();
    }

    /// Runs every timer due at `now`. Spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, i)) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let i = i as usize;
            if self.instances[i].queued_at != Some(at) {
                continue; // stale entry
            }
            self.instances[i].queued_at = None;
            while let Some((timer, due)) = self.instances[i].timers.take_expired(now) {
                self.on_timer(now, due, i, timer);
            }
            self.dirty.push(i as u32);
            self.finish();
        }
        self.finish();
    }

    /// Reports an interface's link state (up = `IFF_UP && IFF_RUNNING`). Instances on it and
    /// `track_interface` users react at once (modern keepalived is event-driven for FAULT).
    pub fn handle_link(&mut self, now: Instant, interface: InterfaceId, up: bool) {
        if self.links.insert(interface, up) == Some(up) {
            return;
        }
        let status = if up {
            TrackerStatus::Up
        } else {
            TrackerStatus::Down
        };
        let mut affected: Vec<InstanceId> = self
            .iface_users
            .get(&interface)
            .cloned()
            .unwrap_or_default();
        for t in 0..self.trackers.len() {
            if self.trackers[t].0.kind == TrackerKind::Interface(interface) {
                self.trackers[t].1 = status;
                affected.extend_from_slice(&self.tracker_users[t]);
            }
        }
        self.refresh_all(now, &affected);
    }

    /// Reports a tracker's result (script, file, process, BFD).
    pub fn handle_tracker(&mut self, now: Instant, tracker: TrackerId, status: TrackerStatus) {
        let Some(slot) = self.trackers.get_mut(tracker.0 as usize) else {
            return;
        };
        if slot.1 == status {
            return;
        }
        slot.1 = status;
        let affected = self.tracker_users[tracker.0 as usize].clone();
        self.refresh_all(now, &affected);
    }

    /// Runs an administrative command.
    pub fn handle_command(&mut self, now: Instant, command: Command) -> Result<(), CommandError> {
        match command {
            Command::Shutdown => {
                for i in 0..self.instances.len() {
                    self.stop_instance(now, i);
                }
            }
            Command::SetPriority { instance, priority } => {
                if priority == Priority::RELEASE {
                    return Err(CommandError::InvalidPriority);
                }
                let inst = self
                    .instances
                    .get_mut(idx(instance))
                    .ok_or(CommandError::NoSuchInstance(instance.0))?;
                inst.cfg.priority = priority;
                self.refresh(now, idx(instance));
            }
        }
        self.finish();
        Ok(())
    }

    /// Reconciliation: the driver saw one of our virtual addresses appear (`present`) or vanish
    /// on `interface` without having asked for it. A MASTER re-adds (and re-announces) a vanished
    /// address; a non-MASTER removes an address that appeared. Addresses we do not own are never
    /// touched.
    pub fn handle_address(
        &mut self,
        now: Instant,
        interface: InterfaceId,
        addr: IpAddr,
        present: bool,
    ) {
        let from = self.owned_addrs.partition_point(|(a, _)| *a < addr);
        let owners: Vec<InstanceId> = self.owned_addrs[from..]
            .iter()
            .take_while(|(a, _)| *a == addr)
            .map(|&(_, id)| id)
            .collect();
        for id in owners {
            let i = idx(id);
            let inst = &self.instances[i];
            let Some(va) = inst
                .cfg
                .virtual_addresses
                .iter()
                .find(|v| v.addr == addr && v.interface.unwrap_or(inst.cfg.interface) == interface)
                .cloned()
            else {
                continue;
            };
            let master = inst.state == State::Master;
            // `no_track`: a vanished address waits for the next transition to MASTER.
            if master == present || (master && va.no_track) {
                continue;
            }
            if master {
                self.push(Action::AddAddress {
                    instance: id,
                    interface,
                    address: Box::new(va.clone()),
                });
                let repeat = self.instances[i].cfg.garp.master_repeat;
                self.announce_some(i, Arc::from(vec![va]), repeat);
            } else {
                self.push(Action::RemoveAddress {
                    instance: id,
                    interface,
                    address: Box::new(va),
                });
            }
            let _ = now;
            self.log(
                Level::Warning,
                i,
                LogEvent::Reconciled {
                    addr,
                    added: master,
                },
            );
        }
        self.finish();
    }

    /// Reconciliation for virtual routes, as [`Engine::handle_address`] for addresses.
    pub fn handle_route(&mut self, now: Instant, route: &VirtualRoute, present: bool) {
        let _ = now;
        let acted = self.reconcile(
            present,
            route.no_track,
            |c| c.virtual_routes.contains(route),
            |instance, add| {
                let route = Box::new(route.clone());
                if add {
                    Action::AddRoute { instance, route }
                } else {
                    Action::RemoveRoute { instance, route }
                }
            },
        );
        for (i, added) in acted {
            self.log(
                Level::Warning,
                i,
                LogEvent::Reconciled {
                    addr: route.dest,
                    added,
                },
            );
        }
        self.finish();
    }

    /// Reconciliation for virtual rules, as [`Engine::handle_route`] for routes.
    pub fn handle_rule(&mut self, now: Instant, rule: &VirtualRule, present: bool) {
        let _ = now;
        self.reconcile(
            present,
            rule.no_track,
            |c| c.virtual_rules.contains(rule),
            |instance, add| {
                let rule = Box::new(rule.clone());
                if add {
                    Action::AddRule { instance, rule }
                } else {
                    Action::RemoveRule { instance, rule }
                }
            },
        );
        self.finish();
    }

    /// For every instance whose configuration `has` an entry that appeared (`present`) or
    /// vanished behind our back: a MASTER puts a vanished one back (unless `no_track`), a
    /// non-MASTER removes one that appeared. Returns the instances acted on, with whether the
    /// entry was added.
    fn reconcile(
        &mut self,
        present: bool,
        no_track: bool,
        has: impl Fn(&InstanceConfig) -> bool,
        action: impl Fn(InstanceId, bool) -> Action,
    ) -> Vec<(usize, bool)> {
        let mut acted = Vec::new();
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            let master = inst.state == State::Master;
            if !has(&inst.cfg) || master == present || (master && no_track) {
                continue;
            }
            self.push(action(InstanceId(i as u32), master));
            acted.push((i, master));
        }
        acted
    }

    /// Whether [`Engine::poll_action`] has something (lets a driver skip its action handling
    /// on the common wake-up that produced none, such as an advert received in BACKUP).
    pub fn has_pending_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        let next = self.actions.pop_front();
        if next.is_none() && self.actions.capacity() > RETAINED_ACTIONS {
            // A burst (1,000 instances taking over at once queue ~8,000 actions, 0.8 MB) must
            // not stay resident for the daemon's lifetime.
            self.actions.shrink_to(RETAINED_ACTIONS);
        }
        next
    }

    /// Every pending action at once, in order (what calling [`Engine::poll_action`] until it
    /// gives `None` would return). The queue's buffer is handed over rather than copied, so a
    /// driver performing a burst (1,000 instances advertising together) holds one buffer of it,
    /// not two; the engine starts an empty queue.
    pub fn take_actions(&mut self) -> VecDeque<Action> {
        core::mem::take(&mut self.actions)
    }

    /// Gives back a buffer from [`Engine::take_actions`] once the driver has emptied it, so that
    /// the next burst fills it instead of growing a new queue from nothing (1,000 instances
    /// advertising every second otherwise allocate and free a chain of 4, 8, ... 1,024-action
    /// buffers each time, about 280 kB of heap kept touched). The engine keeps it only while
    /// its own queue is empty and if it holds no more than one action per instance plus a
    /// small margin: the buffer of a mass takeover (8 actions per instance) is freed.
    pub fn recycle_actions(&mut self, mut buffer: VecDeque<Action>) {
        buffer.clear();
        if self.actions.is_empty()
            && buffer.capacity() > self.actions.capacity()
            && buffer.capacity() <= self.instances.len() + RETAINED_ACTIONS
        {
            self.actions = buffer;
        }
    }

    /// When [`Engine::handle_timeout`] must be called next; `None` when no timer is armed.
    ///
    /// Never later than the earliest armed timer; it may be earlier when a timer was pushed back
    /// (every advert received in BACKUP does that), and then the `handle_timeout` call at that
    /// time finds nothing due and only reschedules. This keeps the per-advert path free of heap
    /// operations.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|(at, _)| at)
    }

    // ===== queries =====

    /// Number of instances.
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// The id of the instance called `name`.
    pub fn instance_by_name(&self, name: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .position(|i| *i.cfg.name == *name)
            .map(|p| InstanceId(p as u32))
    }

    /// The instance running `vrid` for `family_v6` on `interface`.
    pub fn instance_by_vrid(
        &self,
        interface: InterfaceId,
        family_v6: bool,
        vrid: u8,
    ) -> Option<InstanceId> {
        self.demux
            .get(&demux_key(interface, family_v6, vrid))
            .copied()
    }

    /// An instance's configuration (with the current base priority).
    pub fn config(&self, id: InstanceId) -> Option<&InstanceConfig> {
        self.instances.get(idx(id)).map(|i| &i.cfg)
    }

    /// The configuration the engine runs: its instances as running (with the primary addresses
    /// and priorities in use), sync groups and trackers. `interfaces` and `statics` are left
    /// empty: the engine does not keep them (they are the driver's).
    pub fn running_config(&self) -> EngineConfig {
        EngineConfig {
            instances: self.instances.iter().map(|i| i.cfg.clone()).collect(),
            sync_groups: self.groups.iter().map(|g| g.cfg.clone()).collect(),
            trackers: self.trackers.iter().map(|(t, _)| t.clone()).collect(),
            log_interval: self.log_interval,
            log_unknown_vrids: self.log_unknown_vrids,
            interfaces: Vec::new(),
            statics: crate::config::StaticConfig::default(),
        }
    }

    /// An instance's state.
    pub fn state(&self, id: InstanceId) -> Option<State> {
        self.instances.get(idx(id)).map(|i| i.state)
    }

    /// An instance's effective priority.
    pub fn effective_priority(&self, id: InstanceId) -> Option<Priority> {
        self.instances.get(idx(id)).map(|i| i.effective)
    }

    /// The Master_Adver_Interval in use (learned from the master for VRRPv3).
    pub fn master_adver_interval(&self, id: InstanceId) -> Option<Duration> {
        self.instances.get(idx(id)).map(|i| i.master_adver_int)
    }

    /// The address of the master as last heard (ours while MASTER).
    pub fn master_address(&self, id: InstanceId) -> Option<IpAddr> {
        self.instances.get(idx(id)).and_then(|i| i.master_addr)
    }

    /// An instance's counters.
    pub fn counters(&self, id: InstanceId) -> Option<Counters> {
        self.instances.get(idx(id)).map(|i| i.counters.snapshot())
    }

    /// A snapshot of one instance for status reports (a status socket, metrics, a dump).
    pub fn status(&self, id: InstanceId) -> Option<InstanceStatus<'_>> {
        let inst = self.instances.get(idx(id))?;
        Some(InstanceStatus {
            id,
            name: &inst.cfg.name,
            vrid: inst.cfg.vrid,
            interface: inst.cfg.interface,
            state: inst.state,
            base_priority: inst.cfg.priority,
            effective_priority: inst.effective,
            master: inst.master_addr,
            master_adver_interval: inst.master_adver_int,
            waiting_for_group: inst.wants_master && inst.state == State::Backup,
            group: inst.group,
            counters: inst.counters.snapshot(),
        })
    }

    /// Snapshots of every instance, in id order.
    pub fn statuses(&self) -> impl Iterator<Item = InstanceStatus<'_>> + '_ {
        (0..self.instances.len()).filter_map(|i| self.status(InstanceId(i as u32)))
    }

    /// Router-wide counters.
    pub fn global_counters(&self) -> &GlobalCounters {
        &self.global
    }

    /// A sync group's state (the group is MASTER when all members are, FAULT when any is).
    pub fn group_state(&self, id: GroupId) -> Option<State> {
        self.groups.get(id.0 as usize).map(|g| g.state)
    }

    /// A sync group's name.
    pub fn group_name(&self, id: GroupId) -> Option<&str> {
        self.groups.get(id.0 as usize).map(|g| g.cfg.name.as_str())
    }

    /// The sync group an instance belongs to.
    pub fn group_of(&self, id: InstanceId) -> Option<GroupId> {
        self.instances.get(idx(id)).and_then(|i| i.group)
    }

    /// A tracker's configuration and current status (for dumps and status reports).
    pub fn tracker(&self, id: TrackerId) -> Option<(&TrackerConfig, TrackerStatus)> {
        self.trackers.get(id.0 as usize).map(|(c, s)| (c, *s))
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn down_memo_keys_whole_milliseconds_only() {
        let p = Priority(100);
        let key = |d| DownMemo::key(d, p).map(|(ms, _)| ms.get());
        assert_eq!(key(Duration::from_secs(1)), Some(1000));
        assert_eq!(key(Duration::from_millis(30)), Some(30));
        assert_eq!(key(Duration::from_secs(255)), Some(255_000));
        assert_eq!(key(Duration::ZERO), None);
        assert_eq!(key(Duration::from_nanos(1_000_000_001)), None);
        assert_eq!(
            key(Duration::from_secs(50 * 86_400)),
            None,
            "beyond u32 milliseconds"
        );
    }

    #[test]
    fn demux_keys_tell_every_interface_family_and_vrid_apart() {
        let mut seen = std::collections::HashSet::new();
        for interface in [0, 1, 2, 255, 256, 511, 512, 65_535, u32::MAX - 1, u32::MAX] {
            for v6 in [false, true] {
                for vrid in 0..=255u8 {
                    assert!(seen.insert(demux_key(InterfaceId(interface), v6, vrid)));
                }
            }
        }
    }

    /// Pins the per-instance footprint (1,000 instances hold 1,000 of these in one block, and
    /// the advert path walks them): a regression shows here first.
    #[test]
    fn instance_footprint() {
        eprintln!(
            "Instance {} cfg {} garp {} counters {} timers {} limiter {} addrs {} dest {} knobs {}",
            size_of::<Instance>(),
            size_of::<InstanceConfig>(),
            size_of::<crate::Shared<crate::GarpConfig>>(),
            size_of::<InstanceCounters>(),
            size_of::<TimerTable>(),
            size_of::<LogLimiter>(),
            size_of::<AdvertAddresses>(),
            size_of::<Destination>(),
            size_of::<crate::Knobs>(),
        );
        // 760 before GARP settings were shared and the timer table packed; 680 before the
        // error counters moved out, the name was kept once, the configuration's lists became
        // boxed slices, Option<Instant> 8 bytes and the AH receive state boxed.
        assert!(size_of::<Instance>() <= 456, "{}", size_of::<Instance>());
        assert_eq!(size_of::<TimerTable>(), 32);
        assert_eq!(size_of::<Option<DownMemo>>(), 16);
        // Every instance's addresses live as long as the engine: 88 bytes fit glibc's 96-byte
        // chunks (96 took 112).
        assert!(
            size_of::<VirtualAddress>() <= 88,
            "{}",
            size_of::<VirtualAddress>()
        );
        // A burst queues an action per instance: routes, rules and addresses are boxed so that
        // an advert (the common action) sets the size. 136 before.
        eprintln!("Action {}", size_of::<Action>());
        assert!(size_of::<Action>() <= 96, "{}", size_of::<Action>());
        assert_eq!(size_of::<crate::Shared<crate::GarpConfig>>(), 8);
    }
}
