//! The engine: all instances of one router, their timers, trackers and sync groups.

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BinaryHeap, HashMap, VecDeque};
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
    VirtualRoute,
};
use crate::counters::{Counters, GlobalCounters, LogLimiter, NewMasterReason, RxError};
use crate::timer::{Timer, TimerTable};
use crate::tracker::{self, Contribution};
use crate::{Instant, Priority, State, Version};

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
    /// Counters.
    pub counters: &'a Counters,
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
    name: Arc<str>,
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
    /// A lower-priority advert was discarded since the last accepted one (for
    /// `NewMasterReason::Preempted`).
    saw_lower: bool,
    pending_garp: u32,
    last_sender: Option<IpAddr>,
    master_addr: Option<IpAddr>,
    counters: Counters,
    limiter: LogLimiter,
    advert_addrs: AdvertAddresses,
    /// AH: sequence number of the next advert we send.
    tx_sequence: u32,
    /// AH: (source, last accepted sequence number) of the current master.
    rx_sequence: Option<(IpAddr, u32)>,
    announce_addrs: Arc<[VirtualAddress]>,
    destination: Destination,
    heap_at: Option<Instant>,
}

impl Instance {
    /// Takes over the runtime state of the same instance before a reload.
    fn inherit(&mut self, o: &mut Instance) {
        self.state = o.state;
        self.timers = o.timers;
        self.preempt_until = o.preempt_until;
        self.wants_master = o.wants_master;
        self.saw_lower = o.saw_lower;
        self.pending_garp = o.pending_garp;
        self.last_sender = o.last_sender;
        self.master_addr = o.master_addr;
        self.counters = core::mem::take(&mut o.counters);
        self.limiter = core::mem::take(&mut o.limiter);
        self.tx_sequence = o.tx_sequence;
        self.rx_sequence = o.rx_sequence;
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
    demux: HashMap<(InterfaceId, bool, u8), InstanceId>,
    owned_addrs: HashMap<IpAddr, Vec<InstanceId>>,
    actions: VecDeque<Action>,
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    dirty: Vec<u32>,
    global: GlobalCounters,
    log_interval: Duration,
    log_unknown_vrids: bool,
    unknown_vrid_logged: Option<Instant>,
    started: bool,
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

fn idx(id: InstanceId) -> usize {
    id.0 as usize
}

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
            demux: HashMap::with_capacity(instances.len()),
            owned_addrs: HashMap::new(),
            actions: VecDeque::new(),
            heap: BinaryHeap::with_capacity(instances.len()),
            dirty: Vec::new(),
            global: GlobalCounters::default(),
            log_interval,
            log_unknown_vrids,
            unknown_vrid_logged: None,
            started: false,
        };
        for (i, cfg) in instances.into_iter().enumerate() {
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
            let announce_addrs: Arc<[VirtualAddress]> = cfg.virtual_addresses.clone().into();
            let destination = if cfg.unicast_peers.is_empty() {
                Destination::Multicast
            } else {
                Destination::Unicast(cfg.unicast_peers.iter().map(|p| p.addr).collect())
            };
            engine.instances.push(Instance {
                name: Arc::from(cfg.name.as_str()),
                group: groups_of[i],
                state: State::Init,
                effective: cfg.priority,
                timers: TimerTable::default(),
                master_adver_int: cfg.advert_interval.to_duration(),
                preempt_until: None,
                wants_master: false,
                saw_lower: false,
                pending_garp: 0,
                last_sender: None,
                master_addr: None,
                counters: Counters::default(),
                limiter: LogLimiter::default(),
                advert_addrs,
                tx_sequence: 0,
                rx_sequence: None,
                announce_addrs,
                destination,
                heap_at: None,
                cfg,
            });
        }
        for i in 0..engine.instances.len() {
            let (_, eff) = engine.evaluate(i);
            engine.instances[i].effective = eff;
        }
        Ok(engine)
    }

    fn index_instance(&mut self, id: InstanceId, cfg: &InstanceConfig, group: Option<GroupId>) {
        self.demux
            .insert((cfg.interface, cfg.primary_addr.is_ipv6(), cfg.vrid), id);
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
        for va in &cfg.virtual_addresses {
            self.owned_addrs.entry(va.addr).or_default().push(id);
        }
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

    /// Applies a new configuration as a diff (keepalived §7.3, without its side effects).
    ///
    /// * Instances are matched by name. An instance whose name, interface, family and VRID are
    ///   unchanged keeps its state, timers and counters: no transition, no notification, no
    ///   GARP. If it is MASTER, only the addresses and routes that changed are removed or added
    ///   (new addresses are announced). A new priority or tracker set takes effect like a
    ///   tracker change would.
    /// * A removed instance releases mastership (priority 0 after its addresses are removed) and
    ///   is notified [`NotifyEvent::Deleted`].
    /// * A new instance starts as at [`Engine::start`] (if the engine was started).
    /// * Trackers keep their last result when their name and kind are unchanged; link states are
    ///   kept. A sync group left with members in different states goes to BACKUP (its masters
    ///   release), never to a split.
    ///
    /// On error nothing changes.
    pub fn reload(&mut self, now: Instant, config: EngineConfig) -> Result<(), ConfigError> {
        let mut next = Engine::new(config)?;
        next.links.clone_from(&self.links);
        next.global = self.global.clone();
        next.unknown_vrid_logged = self.unknown_vrid_logged;
        next.started = self.started;
        next.inherit_trackers(&self.trackers);
        let identity = |c: &InstanceConfig| {
            (
                c.name.clone(),
                c.interface,
                c.primary_addr.is_ipv6(),
                c.vrid,
            )
        };
        // Removed instances release first, while their old ids are valid.
        let kept: HashMap<_, usize> = next
            .instances
            .iter()
            .enumerate()
            .map(|(k, n)| (identity(&n.cfg), k))
            .collect();
        let mut carry = Vec::new();
        for i in 0..self.instances.len() {
            if let Some(&k) = kept.get(&identity(&self.instances[i].cfg)) {
                carry.push((i, k));
            } else {
                self.leave_master(i, true);
                self.instances[i].state = State::Stopped;
                self.notify_instance(i, NotifyEvent::Deleted);
            }
        }
        next.actions = core::mem::take(&mut self.actions);
        for g in &mut next.groups {
            if let Some(o) = self.groups.iter().find(|o| o.name == g.name) {
                g.state = o.state; // no group notification unless the state really changes
            }
        }
        let mut old = core::mem::take(&mut self.instances);
        for &(i, k) in &carry {
            next.instances[k].inherit(&mut old[i]);
        }
        *self = next;
        for &(i, k) in &carry {
            if self.instances[k].state == State::Master {
                self.diff_owned(k, &old[i].cfg);
            }
            self.dirty.push(k as u32);
        }
        if self.started {
            for k in 0..self.instances.len() {
                self.start_instance(now, k);
            }
        }
        for k in 0..self.instances.len() {
            self.refresh(now, k);
        }
        self.unsplit_groups(now);
        self.finish();
        Ok(())
    }

    /// Trackers keep their last result across a reload when name and kind match; interface
    /// trackers follow the known link state.
    fn inherit_trackers(&mut self, old: &[(TrackerConfig, TrackerStatus)]) {
        for (cfg, status) in &mut self.trackers {
            if let Some((_, s)) = old
                .iter()
                .find(|(c, _)| c.name == cfg.name && c.kind == cfg.kind)
            {
                *status = *s;
            }
            if let TrackerKind::Interface(ifc) = cfg.kind
                && let Some(&up) = self.links.get(&ifc)
            {
                *status = if up {
                    TrackerStatus::Up
                } else {
                    TrackerStatus::Down
                };
            }
        }
    }

    /// A sync group whose members are not all MASTER or all non-MASTER goes to BACKUP: its
    /// masters release (prefer BACKUP, then elect again).
    fn unsplit_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].cfg.members.clone();
            let masters = members
                .iter()
                .filter(|m| self.instances[idx(**m)].state == State::Master)
                .count();
            if masters > 0 && masters < members.len() {
                for m in members {
                    let m = idx(m);
                    if self.instances[m].state == State::Master {
                        self.release_to_backup(now, m);
                    }
                }
            }
        }
    }

    /// A kept MASTER after reload: removes what `old` had and the new configuration lacks, adds
    /// (and announces) what is new.
    fn diff_owned(&mut self, i: usize, old: &InstanceConfig) {
        let id = InstanceId(i as u32);
        let cfg = &self.instances[i].cfg;
        let ifc = |va: &VirtualAddress, c: &InstanceConfig| va.interface.unwrap_or(c.interface);
        let mut out = Vec::new();
        for r in old.virtual_routes.iter().rev() {
            if !cfg.virtual_routes.contains(r) {
                out.push(Action::RemoveRoute {
                    instance: id,
                    route: r.clone(),
                });
            }
        }
        for va in old.virtual_addresses.iter().rev() {
            if !cfg.virtual_addresses.contains(va) {
                out.push(Action::RemoveAddress {
                    instance: id,
                    interface: ifc(va, old),
                    address: va.clone(),
                });
            }
        }
        let added: Vec<VirtualAddress> = cfg
            .virtual_addresses
            .iter()
            .filter(|va| !old.virtual_addresses.contains(va))
            .cloned()
            .collect();
        for va in &added {
            out.push(Action::AddAddress {
                instance: id,
                interface: ifc(va, cfg),
                address: va.clone(),
            });
        }
        for r in &cfg.virtual_routes {
            if !old.virtual_routes.contains(r) {
                out.push(Action::AddRoute {
                    instance: id,
                    route: r.clone(),
                });
            }
        }
        let repeat = cfg.garp.master_repeat;
        self.actions.extend(out);
        if !added.is_empty() {
            self.announce_some(i, added.into(), repeat);
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
        let key = (interface, source.is_ipv6(), rx.advert.vrid);
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
            inst.counters.rcvd_pri_zero += 1;
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
        let id = vrid.and_then(|v| self.demux.get(&(interface, source.is_ipv6(), v)).copied());
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
        while let Some(&Reverse((at, i))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            let i = i as usize;
            if self.instances[i].heap_at != Some(at) {
                continue; // stale entry
            }
            self.instances[i].heap_at = None;
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
        let owners = self.owned_addrs.get(&addr).cloned().unwrap_or_default();
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
            if master == present {
                continue;
            }
            if master {
                self.push(Action::AddAddress {
                    instance: id,
                    interface,
                    address: va.clone(),
                });
                let repeat = self.instances[i].cfg.garp.master_repeat;
                self.announce_some(i, Arc::from(vec![va]), repeat);
            } else {
                self.push(Action::RemoveAddress {
                    instance: id,
                    interface,
                    address: va,
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
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if !inst.cfg.virtual_routes.contains(route) {
                continue;
            }
            let master = inst.state == State::Master;
            if master == present {
                continue;
            }
            let instance = InstanceId(i as u32);
            self.push(if master {
                Action::AddRoute {
                    instance,
                    route: route.clone(),
                }
            } else {
                Action::RemoveRoute {
                    instance,
                    route: route.clone(),
                }
            });
            self.log(
                Level::Warning,
                i,
                LogEvent::Reconciled {
                    addr: route.dest,
                    added: master,
                },
            );
        }
        self.finish();
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Engine::handle_timeout`] must be called next; `None` when no timer is armed.
    ///
    /// Never later than the earliest armed timer; it may be earlier when a timer was pushed back
    /// (every advert received in BACKUP does that), and then the `handle_timeout` call at that
    /// time finds nothing due and only reschedules. This keeps the per-advert path free of heap
    /// operations.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
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
            .position(|i| i.cfg.name == name)
            .map(|p| InstanceId(p as u32))
    }

    /// The instance running `vrid` for `family_v6` on `interface`.
    pub fn instance_by_vrid(
        &self,
        interface: InterfaceId,
        family_v6: bool,
        vrid: u8,
    ) -> Option<InstanceId> {
        self.demux.get(&(interface, family_v6, vrid)).copied()
    }

    /// An instance's configuration (with the current base priority).
    pub fn config(&self, id: InstanceId) -> Option<&InstanceConfig> {
        self.instances.get(idx(id)).map(|i| &i.cfg)
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
    pub fn counters(&self, id: InstanceId) -> Option<&Counters> {
        self.instances.get(idx(id)).map(|i| &i.counters)
    }

    /// A snapshot of one instance for status reports (a status socket, metrics, a dump).
    pub fn status(&self, id: InstanceId) -> Option<InstanceStatus<'_>> {
        let inst = self.instances.get(idx(id))?;
        Some(InstanceStatus {
            id,
            name: &inst.name,
            vrid: inst.cfg.vrid,
            interface: inst.cfg.interface,
            state: inst.state,
            base_priority: inst.cfg.priority,
            effective_priority: inst.effective,
            master: inst.master_addr,
            master_adver_interval: inst.master_adver_int,
            waiting_for_group: inst.wants_master && inst.state == State::Backup,
            group: inst.group,
            counters: &inst.counters,
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

    // ===== timers and time arithmetic =====

    /// RFC 3768 §6.1 / RFC 5798 §6.1 Skew_Time, from the effective priority (modern keepalived).
    fn skew(&self, i: usize) -> Duration {
        let inst = &self.instances[i];
        let weight = 256 - u32::from(inst.effective.0);
        let base = match inst.cfg.version() {
            // RFC 3768 §6.1: (256 - Priority) / 256 seconds.
            Version::V2 => Duration::from_secs(1),
            // RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256.
            Version::V3 => inst.master_adver_int,
        };
        base * weight / 256
    }

    /// RFC 5798 §6.1 Master_Down_Interval = (`down_timer_adverts` × Master_Adver_Interval) + Skew.
    fn master_down_interval(&self, i: usize) -> Duration {
        let inst = &self.instances[i];
        inst.master_adver_int * u32::from(inst.cfg.down_timer_adverts) + self.skew(i)
    }

    fn set_timer(&mut self, i: usize, timer: Timer, at: Instant) {
        self.instances[i].timers.set(timer, at);
        self.dirty.push(i as u32);
    }

    /// Pushes heap entries for instances whose deadline moved earlier and drops superseded
    /// entries from the top of the heap.
    fn finish(&mut self) {
        for k in 0..self.dirty.len() {
            let i = self.dirty[k] as usize;
            let inst = &mut self.instances[i];
            if let Some(d) = inst.timers.next_timeout()
                && inst.heap_at.is_none_or(|h| d < h)
            {
                inst.heap_at = Some(d);
                self.heap.push(Reverse((d, i as u32)));
            }
        }
        self.dirty.clear();
        // Drop superseded entries, and entries of instances with nothing armed, from the top. A
        // live entry whose instance's deadline has since moved later is left in place (re-heaping on every advert that restarts a down timer
        // would cost a heap pop per advert); it makes one early, harmless wake-up.
        while let Some(&Reverse((at, i))) = self.heap.peek() {
            let inst = &mut self.instances[i as usize];
            if inst.heap_at == Some(at) {
                if inst.timers.next_timeout().is_some() {
                    break;
                }
                // Nothing armed any more (FAULT, stopped): no wake-up at all.
                inst.heap_at = None;
            }
            self.heap.pop();
        }
        self.update_groups();
    }

    /// `due` is the deadline the timer had; periodic timers are re-armed from it, not from
    /// `now`, so a late wake-up does not make adverts drift (keepalived's re-arm from "now"
    /// does). After a stall longer than a period they restart from `now`.
    fn on_timer(&mut self, now: Instant, due: Instant, i: usize, timer: Timer) {
        let state = self.instances[i].state;
        let next = |period: Duration| {
            let at = due + period;
            if at > now { at } else { now + period }
        };
        match (timer, state) {
            // RFC 5798 §6.4.3: Adver_Timer fires: send an ADVERTISEMENT, reset the timer.
            (Timer::Advert, State::Master) => {
                self.send_advert(i, None);
                let at = next(self.instances[i].cfg.advert_interval.to_duration());
                self.set_timer(i, Timer::Advert, at);
            }
            // RFC 5798 §6.4.2: Master_Down_Timer fires: become MASTER.
            (Timer::MasterDown, State::Backup) => {
                self.log(Level::Info, i, LogEvent::MasterDown);
                let reason = if self.instances[i].saw_lower {
                    NewMasterReason::Preempted
                } else {
                    NewMasterReason::MasterNoResponse
                };
                self.request_master(now, i, reason);
            }
            (Timer::GarpDelay, State::Master) => {
                let repeat = self.instances[i].pending_garp;
                self.announce(i, repeat);
            }
            (Timer::GarpRefresh, State::Master) => {
                let inst = &self.instances[i];
                let repeat = inst.cfg.garp.master_refresh_repeat;
                if let Some(period) = inst.cfg.garp.master_refresh {
                    self.set_timer(i, Timer::GarpRefresh, next(period));
                }
                self.announce(i, repeat);
            }
            _ => {} // a timer left over from another state: nothing to do
        }
    }

    // ===== receive path =====

    /// RFC 5798 §7.1 / RFC 3768 §7.1 receiver checks: `vrrp_proto::validate` with the
    /// instance's configuration, then the checks that need the engine's state.
    fn validate(
        &mut self,
        now: Instant,
        i: usize,
        rx: &vrrp_proto::Received<'_>,
    ) -> Result<Rx, RxError> {
        let inst = &self.instances[i];
        let cfg = &inst.cfg;
        let source = rx.endpoints.src();
        let multicast = rx.endpoints.dst().is_multicast();
        let unicast_mode = !cfg.unicast_peers.is_empty();
        let version = cfg.version();
        let ctx = ValidationContext {
            version,
            vrid: cfg.vrid,
            // keepalived checks the TTL only in multicast mode; unicast peers have their own
            // min_ttl/max_ttl below.
            check_ttl: !unicast_mode,
            checksum_mode: cfg.checksum_mode,
            auth: cfg.auth,
            // RFC 3768 §7.1: a VRRPv2 interval MUST match. RFC 5798 §6.4.2: a VRRPv3 backup
            // adopts the master's; a mismatch is only reported below.
            interval: (version == Version::V2).then_some(cfg.advert_interval),
            addresses: inst.advert_addrs.as_proto(),
            address_policy: if cfg.knobs.skip_check_adv_addr {
                AddressPolicy::Skip
            } else {
                AddressPolicy::Report
            },
        };
        let accepted = vrrp_proto::validate(rx, &ctx)?;
        if source == cfg.primary_addr {
            return Err(RxError::OwnAddress);
        }
        if multicast == unicast_mode {
            return Err(RxError::WrongDestination);
        }
        if unicast_mode {
            match cfg.unicast_peers.iter().find(|p| p.addr == source) {
                Some(p) if !(p.min_ttl..=p.max_ttl).contains(&rx.ttl) => {
                    return Err(Reject::Ttl { received: rx.ttl }.into());
                }
                None if cfg.knobs.check_unicast_src => return Err(RxError::UnknownPeer),
                _ => {}
            }
        }
        if let Some(ah) = rx.ah {
            if let Some((from, last)) = inst.rx_sequence
                && from == source
                && ah.sequence <= last
            {
                return Err(Reject::AuthFailure(AuthFailure::AhReplay {
                    received: ah.sequence,
                    last,
                })
                .into());
            }
            self.instances[i].rx_sequence = Some((source, ah.sequence));
        }
        let cfg = &self.instances[i].cfg;
        let interval = rx.advert.interval;
        if interval != cfg.advert_interval {
            let expected = Some(cfg.advert_interval);
            self.reject(
                now,
                i,
                source,
                Reject::AdvertInterval {
                    received: interval,
                    expected,
                }
                .into(),
            );
        }
        if let Some(e) = accepted.address_mismatch {
            // Modern keepalived: counted and logged, the advert is still processed.
            self.reject(now, i, source, Reject::AddressList(e).into());
        }
        Ok(Rx {
            source,
            priority: Priority(rx.advert.priority),
            interval: interval.to_duration(),
        })
    }

    fn reject(&mut self, now: Instant, i: usize, from: IpAddr, error: RxError) {
        let interval = self.log_interval;
        let inst = &mut self.instances[i];
        inst.counters.count(error);
        if let Some(suppressed) = inst.limiter.allow_error(now, error, interval) {
            self.log(
                Level::Warning,
                i,
                LogEvent::BadAdvert {
                    from,
                    error,
                    suppressed,
                },
            );
        }
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received" in Backup.
    fn backup_rx(&mut self, now: Instant, i: usize, rx: Rx) {
        let prio = rx.priority;
        if prio == Priority::RELEASE {
            // The master is leaving: take over after Skew_Time.
            let at = now + self.skew(i);
            self.set_timer(i, Timer::MasterDown, at);
            return;
        }
        let inst = &mut self.instances[i];
        let lower = prio < inst.effective;
        if !lower {
            inst.preempt_until = None;
        }
        // `preempt_delay`: a lower-priority master is tolerated for that long after it is first
        // seen (as if `nopreempt`), then the RFC rule applies.
        let delayed = lower
            && !inst.cfg.preempt_delay.is_zero()
            && now
                < *inst
                    .preempt_until
                    .get_or_insert(now + inst.cfg.preempt_delay);
        if !inst.cfg.preempt || delayed || !lower {
            if inst.cfg.version() == Version::V3 {
                inst.master_adver_int = rx.interval;
            }
            inst.master_addr = Some(rx.source);
            inst.wants_master = false;
            inst.saw_lower = false;
            let at = now + self.master_down_interval(i);
            self.set_timer(i, Timer::MasterDown, at);
        } else {
            // Lower priority and we may preempt: discard; the down timer keeps running.
            inst.saw_lower = true;
        }
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received" in Master.
    fn master_rx(&mut self, now: Instant, i: usize, rx: Rx) {
        let prio = rx.priority;
        let inst = &self.instances[i];
        let ours = inst.effective;
        if prio == Priority::RELEASE {
            // Another router held mastership and released it: assert ourselves at once and
            // re-announce so that ARP/ND caches pointing at it move to us.
            self.send_advert(i, None);
            let at = now + self.instances[i].cfg.advert_interval.to_duration();
            self.set_timer(i, Timer::Advert, at);
            let repeat = self.instances[i].cfg.garp.lower_prio_repeat;
            self.announce(i, repeat);
            return;
        }
        let wins = prio > ours || (prio == ours && addr_gt(rx.source, inst.cfg.primary_addr));
        if wins {
            if inst.cfg.knobs.higher_prio_send_advert {
                self.send_advert(i, None);
            }
            let inst = &mut self.instances[i];
            if inst.cfg.version() == Version::V3 {
                inst.master_adver_int = rx.interval;
            }
            self.log(
                Level::Info,
                i,
                LogEvent::Preempted {
                    by: rx.source,
                    priority: prio,
                },
            );
            let down = self.master_down_interval(i);
            self.enter_backup(now, i, Some(down), false);
            self.instances[i].master_addr = Some(rx.source);
            if let Some(g) = self.instances[i].group {
                self.group_backup(now, g, i);
            }
        } else {
            // Split brain or a peer that cannot hear us: re-announce so the LAN follows the
            // real master (advert unless `lower_prio_no_advert`, then a GARP/NA burst).
            let interval = self.log_interval;
            if self.instances[i]
                .limiter
                .allow(now, LOWER_PRIO_LOG, interval)
                .is_some()
            {
                self.log(
                    Level::Info,
                    i,
                    LogEvent::LowerPriorityMaster {
                        from: rx.source,
                        priority: prio,
                    },
                );
                self.notify_instance(i, NotifyEvent::MasterRxLowerPriority);
            }
            let inst = &self.instances[i];
            if !inst.cfg.knobs.lower_prio_no_advert {
                self.send_advert(i, None);
                let at = now + self.instances[i].cfg.advert_interval.to_duration();
                self.set_timer(i, Timer::Advert, at);
            }
            let garp = self.instances[i].cfg.garp.clone();
            self.announce(i, garp.lower_prio_repeat);
            if let Some(d) = garp.lower_prio_delay {
                self.instances[i].pending_garp = garp.lower_prio_repeat;
                self.set_timer(i, Timer::GarpDelay, now + d);
            }
        }
    }

    // ===== transitions =====

    /// The instance is ready to be MASTER. Alone it transitions at once; in a sync group it waits
    /// until every member is ready (keepalived 1.2.3: prefer BACKUP, so no thrashing).
    fn request_master(&mut self, now: Instant, i: usize, reason: NewMasterReason) {
        let Some(g) = self.instances[i].group else {
            self.become_master(now, i, reason);
            return;
        };
        let was_waiting = self.instances[i].wants_master;
        self.instances[i].wants_master = true;
        let members = self.groups[g.0 as usize].cfg.members.clone();
        let ready = members.iter().all(|m| {
            let inst = &self.instances[idx(*m)];
            inst.state == State::Master
                || (inst.wants_master && matches!(inst.state, State::Backup | State::Init))
        });
        if ready {
            for m in members {
                if self.instances[idx(m)].state != State::Master {
                    self.become_master(now, idx(m), reason);
                }
            }
        } else {
            if self.instances[i].state != State::Backup {
                self.enter_backup(now, i, None, false);
                self.instances[i].wants_master = true;
            }
            self.instances[i].timers.stop(Timer::MasterDown);
            self.dirty.push(i as u32);
            if !was_waiting {
                self.log(Level::Info, i, LogEvent::WaitingForGroup);
            }
        }
    }

    /// RFC 5798 §6.4.1 / §6.4.2: send an ADVERTISEMENT, install and announce the addresses, set
    /// the Adver_Timer, transition to Master.
    fn become_master(&mut self, now: Instant, i: usize, reason: NewMasterReason) {
        let id = InstanceId(i as u32);
        let inst = &mut self.instances[i];
        inst.state = State::Master;
        inst.wants_master = false;
        inst.saw_lower = false;
        inst.preempt_until = None;
        inst.rx_sequence = None;
        inst.master_addr = Some(inst.cfg.primary_addr);
        inst.master_adver_int = inst.cfg.advert_interval.to_duration();
        inst.counters.master_transitions += 1;
        inst.counters.new_master_reason = reason;
        inst.timers.stop_all();
        self.send_advert(i, None);
        let inst = &self.instances[i];
        let interface = inst.cfg.interface;
        let mut adds =
            Vec::with_capacity(inst.cfg.virtual_addresses.len() + inst.cfg.virtual_routes.len());
        for va in &inst.cfg.virtual_addresses {
            adds.push(Action::AddAddress {
                instance: id,
                interface: va.interface.unwrap_or(interface),
                address: va.clone(),
            });
        }
        for r in &inst.cfg.virtual_routes {
            adds.push(Action::AddRoute {
                instance: id,
                route: r.clone(),
            });
        }
        self.actions.extend(adds);
        let garp = self.instances[i].cfg.garp.clone();
        self.announce(i, garp.master_repeat);
        let adv = self.instances[i].cfg.advert_interval.to_duration();
        self.set_timer(i, Timer::Advert, now + adv);
        if let Some(d) = garp.master_delay {
            self.instances[i].pending_garp = garp.master_repeat;
            self.set_timer(i, Timer::GarpDelay, now + d);
        }
        if let Some(r) = garp.master_refresh {
            self.set_timer(i, Timer::GarpRefresh, now + r);
        }
        self.entered(i, State::Master);
    }

    /// Removes routes then addresses (reverse order of installation).
    fn remove_owned(&mut self, i: usize) {
        let id = InstanceId(i as u32);
        let inst = &self.instances[i];
        let interface = inst.cfg.interface;
        let mut dels = Vec::new();
        for r in inst.cfg.virtual_routes.iter().rev() {
            dels.push(Action::RemoveRoute {
                instance: id,
                route: r.clone(),
            });
        }
        for va in inst.cfg.virtual_addresses.iter().rev() {
            dels.push(Action::RemoveAddress {
                instance: id,
                interface: va.interface.unwrap_or(interface),
                address: va.clone(),
            });
        }
        self.actions.extend(dels);
    }

    /// Leaves MASTER (if MASTER): addresses and routes go first, then, if `release`, a
    /// priority-0 advert tells the backups to take over after their skew (RFC 5798 §6.4.3).
    fn leave_master(&mut self, i: usize, release: bool) {
        if self.instances[i].state != State::Master {
            return;
        }
        self.remove_owned(i);
        if release {
            self.send_advert(i, Some(Priority::RELEASE));
        }
        let inst = &mut self.instances[i];
        inst.timers.stop_all();
        inst.master_addr = None;
        self.dirty.push(i as u32);
    }

    /// A MASTER steps down without being outvoted (its group, a reload): it releases with
    /// priority 0 and waits a full Master_Down_Interval.
    fn release_to_backup(&mut self, now: Instant, i: usize) {
        let down = self.master_down_interval(i);
        self.enter_backup(now, i, Some(down), true);
    }

    /// Enters BACKUP with the Master_Down_Timer set `down` from now (disarmed if `None`). A
    /// MASTER first removes its addresses and routes, then releases with priority 0 if `release`.
    fn enter_backup(&mut self, now: Instant, i: usize, down: Option<Duration>, release: bool) {
        self.leave_master(i, release);
        let inst = &mut self.instances[i];
        let changed = inst.state != State::Backup;
        inst.state = State::Backup;
        inst.wants_master = false;
        inst.saw_lower = false;
        inst.preempt_until = None;
        inst.timers.stop_all();
        match down {
            Some(d) => self.set_timer(i, Timer::MasterDown, now + d),
            None => self.dirty.push(i as u32),
        }
        if changed {
            self.entered(i, State::Backup);
        }
    }

    /// Other MASTER members of a group follow a member that went BACKUP; they release with
    /// priority 0 so that the other side's members take over after their skew, not after
    /// Master_Down_Interval.
    fn group_backup(&mut self, now: Instant, g: GroupId, except: usize) {
        let members = self.groups[g.0 as usize].cfg.members.clone();
        for m in members {
            let m = idx(m);
            if m != except && self.instances[m].state == State::Master {
                self.release_to_backup(now, m);
            }
        }
    }

    fn enter_fault(&mut self, now: Instant, i: usize) {
        let _ = now;
        if matches!(self.instances[i].state, State::Fault | State::Stopped) {
            return;
        }
        self.leave_master(i, true);
        let inst = &mut self.instances[i];
        inst.state = State::Fault;
        inst.wants_master = false;
        inst.preempt_until = None;
        inst.rx_sequence = None;
        inst.timers.stop_all();
        self.dirty.push(i as u32);
        self.entered(i, State::Fault);
    }

    fn fault_group(&mut self, now: Instant, g: GroupId) {
        let members = self.groups[g.0 as usize].cfg.members.clone();
        for m in members {
            self.enter_fault(now, idx(m));
        }
    }

    fn group_all_up(&self, g: GroupId) -> bool {
        self.groups[g.0 as usize]
            .cfg
            .members
            .iter()
            .all(|m| self.evaluate(idx(*m)).0)
    }

    /// Leaves FAULT once the instance (and, in a sync group, every member) is up.
    fn try_leave_fault(&mut self, now: Instant, i: usize) {
        let members: Vec<usize> = match self.instances[i].group {
            Some(g) => {
                if !self.group_all_up(g) {
                    return;
                }
                self.groups[g.0 as usize]
                    .cfg
                    .members
                    .iter()
                    .map(|m| idx(*m))
                    .collect()
            }
            None => vec![i],
        };
        for m in members {
            if self.instances[m].state != State::Fault {
                continue;
            }
            if self.instances[m].cfg.is_owner() {
                self.request_master(now, m, NewMasterReason::Priority);
            } else {
                let down = self.master_down_interval(m);
                self.enter_backup(now, m, Some(down), false);
            }
        }
    }

    fn stop_instance(&mut self, now: Instant, i: usize) {
        let _ = now;
        if self.instances[i].state == State::Stopped {
            return;
        }
        self.leave_master(i, true);
        let inst = &mut self.instances[i];
        inst.state = State::Stopped;
        inst.wants_master = false;
        inst.timers.stop_all();
        self.dirty.push(i as u32);
        self.entered(i, State::Stopped);
    }

    // ===== tracking =====

    /// (up, effective priority) from the link and tracker states (keepalived §4.7, §8.2).
    fn evaluate(&self, i: usize) -> (bool, Priority) {
        let inst = &self.instances[i];
        let mut up = inst.cfg.knobs.dont_track_primary
            || self.links.get(&inst.cfg.interface).copied().unwrap_or(true);
        if inst.cfg.knobs.unicast_fault_no_peer && inst.cfg.unicast_peers.is_empty() {
            up = false;
        }
        let weights = match inst.group {
            Some(g) => self.groups[g.0 as usize].cfg.tracking_weight,
            None => true,
        };
        let mut offset = 0i64;
        for b in &inst.cfg.track {
            let status = self.trackers[b.tracker.0 as usize].1;
            let weight = if weights { b.weight } else { 0 };
            match tracker::contribution(status, weight, b.reverse) {
                Contribution::Fault => up = false,
                Contribution::Add(w) => offset = offset.saturating_add(w),
                Contribution::None => {}
            }
        }
        if let Some(g) = inst.group {
            for b in &self.groups[g.0 as usize].cfg.track {
                let status = self.trackers[b.tracker.0 as usize].1;
                if tracker::contribution(status, 0, b.reverse) == Contribution::Fault {
                    up = false;
                }
            }
        }
        (up, tracker::effective(inst.cfg.priority, offset))
    }

    fn refresh_all(&mut self, now: Instant, ids: &[InstanceId]) {
        for id in ids {
            self.refresh(now, idx(*id));
        }
        self.finish();
    }

    fn refresh(&mut self, now: Instant, i: usize) {
        let (up, eff) = self.evaluate(i);
        let old = self.instances[i].effective;
        if eff != old {
            self.instances[i].effective = eff;
            self.log(Level::Info, i, LogEvent::PriorityChanged { old, new: eff });
            if self.instances[i].cfg.knobs.notify_priority_changes {
                self.notify_instance(i, NotifyEvent::Priority);
            }
        }
        match (self.instances[i].state, up) {
            (State::Backup | State::Master, false) => match self.instances[i].group {
                Some(g) => self.fault_group(now, g),
                None => self.enter_fault(now, i),
            },
            (State::Fault, true) => self.try_leave_fault(now, i),
            _ => {}
        }
    }

    // ===== output helpers =====

    fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    fn send_advert(&mut self, i: usize, priority: Option<Priority>) {
        let inst = &mut self.instances[i];
        let priority = priority.unwrap_or(inst.effective);
        inst.counters.sent_advertisements += 1;
        if priority == Priority::RELEASE {
            inst.counters.sent_pri_zero += 1;
        }
        let sequence = inst.tx_sequence;
        inst.tx_sequence = inst.tx_sequence.wrapping_add(1);
        let tx = AdvertTx {
            instance: InstanceId(i as u32),
            interface: inst.cfg.interface,
            vrid: inst.cfg.vrid,
            priority,
            interval: inst.cfg.advert_interval,
            auth: inst.cfg.auth,
            sequence,
            checksum_mode: inst.cfg.checksum_mode,
            source: inst.cfg.primary_addr,
            destination: inst.destination.clone(),
            addresses: inst.advert_addrs.clone(),
        };
        self.actions.push_back(Action::SendAdvert(tx));
    }

    /// A GARP/NA burst for all the instance's addresses.
    fn announce(&mut self, i: usize, repeat: u32) {
        let addresses = self.instances[i].announce_addrs.clone();
        self.announce_some(i, addresses, repeat);
    }

    fn announce_some(&mut self, i: usize, addresses: Arc<[VirtualAddress]>, repeat: u32) {
        let inst = &self.instances[i];
        if repeat == 0 || addresses.is_empty() {
            return;
        }
        let a = Action::Announce {
            instance: InstanceId(i as u32),
            interface: inst.cfg.interface,
            addresses,
            repeat,
            garp_interval: inst.cfg.garp.garp_interval,
            gna_interval: inst.cfg.garp.gna_interval,
        };
        self.actions.push_back(a);
    }

    fn log(&mut self, level: Level, i: usize, event: LogEvent) {
        self.actions.push_back(Action::Log(LogRecord {
            level,
            instance: Some(InstanceId(i as u32)),
            name: Some(self.instances[i].name.clone()),
            event,
        }));
    }

    fn notify_instance(&mut self, i: usize, event: NotifyEvent) {
        let priority = self.instances[i].effective;
        self.actions.push_back(Action::Notify(Notification {
            target: NotifyTarget::Instance(InstanceId(i as u32)),
            name: self.instances[i].name.clone(),
            event,
            priority,
        }));
    }

    fn entered(&mut self, i: usize, state: State) {
        self.log(Level::Info, i, LogEvent::Entered(state));
        self.notify_instance(i, NotifyEvent::State(state));
    }

    /// Derives each group's state from its members and notifies changes, after the member
    /// notifications that caused them.
    fn update_groups(&mut self) {
        for g in 0..self.groups.len() {
            let members = &self.groups[g].cfg.members;
            let states = members.iter().map(|m| self.instances[idx(*m)].state);
            let derived = group_state(states);
            if derived != self.groups[g].state {
                self.groups[g].state = derived;
                if derived != State::Init {
                    self.actions.push_back(Action::Notify(Notification {
                        target: NotifyTarget::Group(GroupId(g as u32)),
                        name: self.groups[g].name.clone(),
                        event: NotifyEvent::State(derived),
                        priority: Priority(0),
                    }));
                }
            }
        }
    }
}

fn group_state(states: impl Iterator<Item = State> + Clone) -> State {
    let mut all_master = true;
    let mut all_stopped = true;
    let mut any_fault = false;
    let mut any_init = false;
    let mut n = 0;
    for s in states {
        n += 1;
        all_master &= s == State::Master;
        all_stopped &= s == State::Stopped;
        any_fault |= s == State::Fault;
        any_init |= s == State::Init;
    }
    if n == 0 || any_init {
        State::Init
    } else if all_stopped {
        State::Stopped
    } else if any_fault {
        State::Fault
    } else if all_master {
        State::Master
    } else {
        State::Backup
    }
}

/// RFC 5798 §6.4.3: on equal priority the higher primary address wins (IPv4 and IPv6 compared
/// as unsigned integers in network byte order).
fn addr_gt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.to_bits() > b.to_bits(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.to_bits() > b.to_bits(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tie_break_compares_addresses_as_integers() {
        let a: IpAddr = "10.0.0.10".parse().unwrap();
        let b: IpAddr = "10.0.0.9".parse().unwrap();
        assert!(addr_gt(a, b));
        assert!(!addr_gt(b, a));
        let a6: IpAddr = "fe80::2".parse().unwrap();
        let b6: IpAddr = "fe80::1".parse().unwrap();
        assert!(addr_gt(a6, b6));
        assert!(!addr_gt(a, b6));
    }

    #[test]
    fn group_state_derivation() {
        use State::*;
        assert_eq!(group_state([Master, Master].into_iter()), Master);
        assert_eq!(group_state([Master, Backup].into_iter()), Backup);
        assert_eq!(group_state([Master, Fault].into_iter()), Fault);
        assert_eq!(group_state([Stopped, Stopped].into_iter()), Stopped);
        assert_eq!(group_state([Init, Backup].into_iter()), Init);
    }
}
