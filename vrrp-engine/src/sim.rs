//! A simulated LAN: N routers, each running an [`Engine`], on one broadcast segment with a
//! virtual clock, per-link loss and delay, partitions, crashes and link failures, all driven by a
//! seeded RNG so that every run is reproducible.
//!
//! It is the test bed of this crate and a feature for embedders: drive your own configurations
//! through failures in virtual time before deploying them. Every advert is encoded, carried and
//! decoded with `vrrp-proto` as the Linux driver will do it (IPv4 datagrams with their header,
//! IPv6 payloads with the addresses a raw socket reports), optionally corrupted on the way.
//!
//! Router ids are those [`Lan::add_router`] returned; any other value is a bug in the caller and
//! panics (this is a test tool, not a path for outside input).
//!
//! ```
//! use core::time::Duration;
//! use vrrp_engine::sim::Lan;
//! use vrrp_engine::{EngineConfig, InstanceConfig, InterfaceId, State};
//!
//! let mut lan = Lan::new(7);
//! let cfg = |prio, ip: &str| EngineConfig {
//!     instances: vec![InstanceConfig::new("VI_1", InterfaceId(1), 51, prio, ip.parse().unwrap())],
//!     ..Default::default()
//! };
//! let a = lan.add_router("a", cfg(200, "10.0.0.1")).unwrap();
//! let b = lan.add_router("b", cfg(100, "10.0.0.2")).unwrap();
//! lan.start();
//! lan.run_for(Duration::from_secs(10));
//! assert_eq!(lan.masters(51), vec![a]);
//! assert_eq!(lan.state(b, "VI_1"), Some(State::Backup));
//! ```

use core::cmp::{Ordering, Reverse};
use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::action::{Action, AdvertTx, Destination, Notification, NotifyEvent, NotifyTarget};
use crate::config::{ConfigError, EngineConfig, InstanceId, InterfaceId};
use crate::{Command, Engine, Instant, State, TrackerId, TrackerStatus};

/// `SplitMix64`: a tiny, fast, seedable PRNG (Steele, Lea and Flood 2014). Not cryptographic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p` (clamped to 0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        // 53 random bits mapped onto [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }
}

/// Index of a router in a [`Lan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouterId(pub usize);

/// Delivery characteristics of a directed link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkProfile {
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra uniform random delay in `0..=jitter`.
    pub jitter: Duration,
    /// Probability that a frame arrives with one byte flipped (checksum, auth or decode errors).
    pub corrupt: f64,
}

impl Default for LinkProfile {
    fn default() -> Self {
        LinkProfile {
            loss: 0.0,
            delay: Duration::from_micros(100),
            jitter: Duration::ZERO,
            corrupt: 0.0,
        }
    }
}

/// One state change seen in the simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When.
    pub at: Instant,
    /// Which router.
    pub router: RouterId,
    /// Instance or group.
    pub target: NotifyTarget,
    /// New state.
    pub state: State,
}

/// A router attached to the simulated LAN.
#[derive(Debug)]
pub struct Router {
    /// Name, for reports.
    pub name: String,
    /// The engine (replaced on restart).
    pub engine: Engine,
    config: EngineConfig,
    /// The interface attached to the LAN.
    pub interface: InterfaceId,
    /// `false` after a crash.
    pub alive: bool,
    /// Link state of the LAN interface.
    pub link_up: bool,
    /// Virtual addresses currently installed.
    pub addresses: BTreeSet<IpAddr>,
    /// Virtual route destinations currently installed.
    pub routes: BTreeSet<IpAddr>,
    /// Every notification, in order, with its time.
    pub notifications: Vec<(Instant, Notification)>,
    /// Number of log records emitted.
    pub log_lines: u64,
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Announce (GARP/NA) bursts sent.
    pub announces: u64,
    /// Address or route actions that did not match the installed set (an add of something
    /// installed, a removal of something absent): always 0 for a correct engine.
    pub inconsistent_ops: u64,
    /// With [`Lan::record_adverts`]: every advert sent, as (time, instance, advertised
    /// priority), in order.
    pub advert_log: Vec<(Instant, InstanceId, u8)>,
    own_addrs: Vec<IpAddr>,
}

/// An encoded advert on the wire: an IPv4 datagram (header included), or an IPv6 payload with
/// the addresses and hop limit a raw socket reports.
impl Router {
    /// The configuration the router runs (as last given to [`Lan::add_router`] or
    /// [`Lan::reload`]).
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
}

#[derive(Debug)]
struct Frame {
    from: RouterId,
    to: RouterId,
    bytes: Vec<u8>,
    v6: V6Endpoints,
}

/// Encodes an advertisement as the IPv4 datagram a raw socket sends and receives (header
/// included): a convenience over `vrrp_proto::emit_ipv4` for tests, benchmarks and drivers.
pub fn ipv4_datagram(
    repr: &vrrp_proto::Repr<'_>,
    header: &vrrp_proto::Ipv4Header,
    checksum_mode: vrrp_proto::Ipv4ChecksumMode,
    ah: Option<&vrrp_proto::AhParams>,
) -> Result<Vec<u8>, vrrp_proto::EmitError> {
    let mut buf = vec![0u8; vrrp_proto::ipv4_len(repr)];
    let n = vrrp_proto::emit_ipv4(&mut buf, header, repr, checksum_mode, ah)?;
    buf.truncate(n);
    Ok(buf)
}

/// IPv6 source and destination, which a raw socket reports beside the payload.
type V6Endpoints = Option<(Ipv6Addr, Ipv6Addr)>;

/// Encodes `tx` for destination `dst` with `vrrp-proto`, as the Linux driver will.
fn encode(
    tx: &AdvertTx,
    dst: IpAddr,
    ident: u16,
) -> Result<(Vec<u8>, V6Endpoints), vrrp_proto::EmitError> {
    let repr = tx.repr();
    let mut buf = vec![0u8; 1500];
    match (tx.source, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let header = vrrp_proto::Ipv4Header {
                src,
                dst,
                ident,
                ttl: 255,
                tos: 0xc0,
            };
            let ah = tx.ah_params();
            let datagram = ipv4_datagram(&repr, &header, tx.checksum_mode, ah.as_ref())?;
            Ok((datagram, None))
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let n = vrrp_proto::emit_ipv6(&mut buf, src, dst, &repr)?;
            buf.truncate(n);
            Ok((buf, Some((src, dst))))
        }
        _ => Err(vrrp_proto::EmitError::Inconsistent(
            "mixed address families",
        )),
    }
}

struct InFlight {
    at: Instant,
    seq: u64,
    frame: Frame,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The simulated LAN. See the [module documentation](self).
pub struct Lan {
    now: Instant,
    rng: Rng,
    routers: Vec<Router>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    default_link: LinkProfile,
    links: HashMap<(usize, usize), LinkProfile>,
    vrid_filter: BTreeSet<(usize, usize, u8)>,
    segment: Vec<u32>,
    arp: BTreeMap<IpAddr, RouterId>,
    transitions: Vec<Transition>,
    /// Frames handed to the LAN (one per receiver).
    pub frames_sent: u64,
    /// Frames lost to loss, partitions, crashes or link failures.
    pub frames_lost: u64,
    /// Frames delivered with a flipped byte.
    pub frames_corrupted: u64,
    /// Adverts the codec refused to encode (a bug if ever non-zero).
    pub encode_errors: u64,
    record_adverts: bool,
}

impl core::fmt::Debug for Lan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lan")
            .field("now", &self.now)
            .field("routers", &self.routers.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Lan {
    /// An empty LAN at time zero, with a 100 µs loss-free default link.
    pub fn new(seed: u64) -> Self {
        Lan {
            now: Instant::ZERO,
            rng: Rng::new(seed),
            routers: Vec::new(),
            in_flight: BinaryHeap::new(),
            seq: 0,
            default_link: LinkProfile::default(),
            links: HashMap::new(),
            vrid_filter: BTreeSet::new(),
            segment: Vec::new(),
            arp: BTreeMap::new(),
            transitions: Vec::new(),
            frames_sent: 0,
            frames_lost: 0,
            frames_corrupted: 0,
            encode_errors: 0,
            record_adverts: false,
        }
    }

    /// Adds a router whose LAN interface is the interface of its first instance
    /// ([`InterfaceId`]`(1)` if it has none).
    pub fn add_router(
        &mut self,
        name: impl Into<String>,
        config: EngineConfig,
    ) -> Result<RouterId, ConfigError> {
        let engine = Engine::new(config.clone())?;
        let interface = config
            .instances
            .first()
            .map_or(InterfaceId(1), |i| i.interface);
        let own_addrs = config.instances.iter().map(|i| i.primary_addr).collect();
        self.routers.push(Router {
            name: name.into(),
            engine,
            config,
            interface,
            alive: true,
            link_up: true,
            addresses: BTreeSet::new(),
            routes: BTreeSet::new(),
            notifications: Vec::new(),
            log_lines: 0,
            adverts_sent: 0,
            announces: 0,
            inconsistent_ops: 0,
            advert_log: Vec::new(),
            own_addrs,
        });
        self.segment.push(0);
        Ok(RouterId(self.routers.len() - 1))
    }

    /// Starts every router's engine at the current time. Engines already started are left
    /// alone ([`Engine::start`] is idempotent), so this also starts routers added later.
    pub fn start(&mut self) {
        for r in 0..self.routers.len() {
            let now = self.now;
            self.routers[r].engine.start(now);
            self.drain(r);
        }
    }

    /// Records every advert sent from now on in [`Router::advert_log`] (off by default: long
    /// runs would keep millions of entries).
    pub fn record_adverts(&mut self, on: bool) {
        self.record_adverts = on;
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The routers.
    pub fn routers(&self) -> &[Router] {
        &self.routers
    }

    /// One router.
    pub fn router(&self, id: RouterId) -> &Router {
        &self.routers[id.0]
    }

    /// Every state change so far (instances and groups), in order.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The default profile of every link.
    pub fn set_default_link(&mut self, profile: LinkProfile) {
        self.default_link = profile;
    }

    /// The profile of the directed link `from → to`.
    pub fn set_link(&mut self, from: RouterId, to: RouterId, profile: LinkProfile) {
        self.links.insert((from.0, to.0), profile);
    }

    /// Drops (or, with `blocked == false`, lets through again) the adverts for `vrid` on the
    /// directed link `from → to`, as a filtering switch or a one-way multicast problem would.
    pub fn block_vrid(&mut self, from: RouterId, to: RouterId, vrid: u8, blocked: bool) {
        if blocked {
            self.vrid_filter.insert((from.0, to.0, vrid));
        } else {
            self.vrid_filter.remove(&(from.0, to.0, vrid));
        }
    }

    /// Splits the LAN: routers in different sets cannot hear each other. Routers not listed form
    /// one more set.
    pub fn partition(&mut self, sets: &[&[RouterId]]) {
        for s in &mut self.segment {
            *s = u32::MAX;
        }
        for (k, set) in sets.iter().enumerate() {
            for r in *set {
                self.segment[r.0] = k as u32;
            }
        }
    }

    /// Joins every partition again.
    pub fn heal(&mut self) {
        for s in &mut self.segment {
            *s = 0;
        }
    }

    /// Crashes a router: it stops sending, receiving and running timers. Its addresses stay
    /// configured on the dead box but nobody answers for them.
    pub fn crash(&mut self, r: RouterId) {
        self.routers[r.0].alive = false;
    }

    /// Restarts a crashed router with a fresh engine from its configuration.
    pub fn restart(&mut self, r: RouterId) {
        let router = &mut self.routers[r.0];
        let Ok(engine) = Engine::new(router.config.clone()) else {
            return;
        };
        router.engine = engine;
        router.alive = true;
        router.addresses.clear();
        router.routes.clear();
        let now = self.now;
        if !router.link_up {
            let iface = router.interface;
            router.engine.handle_link(now, iface, false);
        }
        router.engine.start(now);
        self.drain(r.0);
    }

    /// Reloads a router's configuration (see [`Engine::reload`]); a later
    /// [`Lan::restart`] uses the new configuration.
    pub fn reload(&mut self, r: RouterId, config: EngineConfig) -> Result<(), ConfigError> {
        let now = self.now;
        let router = &mut self.routers[r.0];
        router.engine.reload(now, config.clone())?;
        router.own_addrs = config.instances.iter().map(|i| i.primary_addr).collect();
        router.config = config;
        self.drain(r.0);
        Ok(())
    }

    /// Sets the LAN link of a router up or down (the engine is told at once, as netlink would).
    pub fn set_link_up(&mut self, r: RouterId, up: bool) {
        let now = self.now;
        let router = &mut self.routers[r.0];
        router.link_up = up;
        if router.alive {
            let iface = router.interface;
            router.engine.handle_link(now, iface, up);
            self.drain(r.0);
        }
    }

    /// Reports a tracker result to a router.
    pub fn set_tracker(&mut self, r: RouterId, tracker: TrackerId, status: TrackerStatus) {
        let now = self.now;
        if self.routers[r.0].alive {
            self.routers[r.0]
                .engine
                .handle_tracker(now, tracker, status);
            self.drain(r.0);
        }
    }

    /// Runs an admin command on a router.
    pub fn command(&mut self, r: RouterId, command: Command) -> Result<(), crate::CommandError> {
        let now = self.now;
        let res = self.routers[r.0].engine.handle_command(now, command);
        self.drain(r.0);
        res
    }

    /// Simulates an address vanishing (or appearing) behind the engine's back, then reports it to
    /// the engine as the driver's netlink monitor would.
    pub fn tamper_address(&mut self, r: RouterId, addr: IpAddr, present: bool) {
        let now = self.now;
        let router = &mut self.routers[r.0];
        if present {
            router.addresses.insert(addr);
        } else {
            router.addresses.remove(&addr);
        }
        let iface = router.interface;
        router.engine.handle_address(now, iface, addr, present);
        self.drain(r.0);
    }

    /// Which router the LAN's hosts send traffic for `addr` to. A host keeps the router of the
    /// last gratuitous ARP/NA as long as that router still holds the address (the split-brain
    /// hazard: two holders, and caches follow whoever announced last). If that router dropped the
    /// address or died, the stale entry is eventually re-resolved and the (first) live holder
    /// answers; `None` if nobody holds it.
    pub fn arp_owner(&self, addr: IpAddr) -> Option<RouterId> {
        let holds = |r: &Router| r.alive && r.link_up && r.addresses.contains(&addr);
        match self.arp.get(&addr) {
            Some(&r) if holds(&self.routers[r.0]) => Some(r),
            _ => self.routers.iter().position(holds).map(RouterId),
        }
    }

    /// The state of the instance called `name` on router `r`.
    pub fn state(&self, r: RouterId, name: &str) -> Option<State> {
        let e = &self.routers[r.0].engine;
        e.instance_by_name(name).and_then(|id| e.state(id))
    }

    /// Live routers holding MASTER for `vrid` (any family), in router order.
    pub fn masters(&self, vrid: u8) -> Vec<RouterId> {
        let mut out = Vec::new();
        for (k, r) in self.routers.iter().enumerate() {
            if !r.alive {
                continue;
            }
            let e = &r.engine;
            let master = (0..e.instance_count()).any(|i| {
                let id = InstanceId(i as u32);
                e.config(id).is_some_and(|c| c.vrid == vrid) && e.state(id) == Some(State::Master)
            });
            if master {
                out.push(RouterId(k));
            }
        }
        out
    }

    /// The time of the next event, if any.
    pub fn next_event(&self) -> Option<Instant> {
        let frames = self.in_flight.peek().map(|Reverse(f)| f.at);
        let timers = self
            .routers
            .iter()
            .filter(|r| r.alive)
            .filter_map(|r| r.engine.poll_timeout())
            .min();
        match (frames, timers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances to the next event and processes everything due then. Returns `false` if nothing
    /// is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(t);
        let now = self.now;
        while self.in_flight.peek().is_some_and(|Reverse(f)| f.at <= now) {
            let Some(Reverse(f)) = self.in_flight.pop() else {
                break;
            };
            self.deliver(&f.frame);
        }
        for r in 0..self.routers.len() {
            let router = &mut self.routers[r];
            if router.alive && router.engine.poll_timeout().is_some_and(|d| d <= now) {
                router.engine.handle_timeout(now);
                self.drain(r);
            }
        }
        true
    }

    /// Processes every event up to and including `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while self.next_event().is_some_and(|n| n <= t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Runs until `cond` holds (checked after every step) or `limit` of virtual time passes;
    /// returns the time it first held.
    pub fn run_until_cond(
        &mut self,
        limit: Duration,
        mut cond: impl FnMut(&Lan) -> bool,
    ) -> Option<Instant> {
        let end = self.now + limit;
        if cond(self) {
            return Some(self.now);
        }
        while self.next_event().is_some_and(|n| n <= end) {
            self.step();
            if cond(self) {
                return Some(self.now);
            }
        }
        self.now = self.now.max(end);
        None
    }

    fn can_talk(&self, a: usize, b: usize) -> bool {
        let (ra, rb) = (&self.routers[a], &self.routers[b]);
        ra.alive && rb.alive && ra.link_up && rb.link_up && self.segment[a] == self.segment[b]
    }

    fn drain(&mut self, r: usize) {
        while let Some(action) = self.routers[r].engine.poll_action() {
            let now = self.now;
            let router = &mut self.routers[r];
            match action {
                Action::SendAdvert(tx) => {
                    router.adverts_sent += 1;
                    if self.record_adverts {
                        router.advert_log.push((now, tx.instance, tx.priority.0));
                    }
                    self.transmit(r, &tx);
                }
                Action::AddAddress { address, .. } => {
                    if !router.addresses.insert(address.addr) {
                        router.inconsistent_ops += 1;
                    }
                }
                Action::RemoveAddress { address, .. } => {
                    if !router.addresses.remove(&address.addr) {
                        router.inconsistent_ops += 1;
                    }
                }
                Action::AddRoute { route, .. } => {
                    if !router.routes.insert(route.dest) {
                        router.inconsistent_ops += 1;
                    }
                }
                Action::RemoveRoute { route, .. } => {
                    if !router.routes.remove(&route.dest) {
                        router.inconsistent_ops += 1;
                    }
                }
                Action::AddRule { .. } | Action::RemoveRule { .. } => {}
                Action::Announce { addresses, .. } => {
                    router.announces += 1;
                    if router.alive && router.link_up {
                        for a in addresses.iter() {
                            self.arp.insert(a.addr, RouterId(r));
                        }
                    }
                }
                Action::Notify(n) => {
                    if let NotifyEvent::State(state) = n.event {
                        self.transitions.push(Transition {
                            at: now,
                            router: RouterId(r),
                            target: n.target.clone(),
                            state,
                        });
                    }
                    router.notifications.push((now, n));
                }
                Action::Log(_) => router.log_lines += 1,
            }
        }
    }

    fn transmit(&mut self, from: usize, tx: &AdvertTx) {
        let multicast: IpAddr = if tx.source.is_ipv6() {
            IpAddr::V6(vrrp_proto::vrrp::MULTICAST_V6)
        } else {
            IpAddr::V4(vrrp_proto::vrrp::MULTICAST_V4)
        };
        let receivers: Vec<(usize, IpAddr)> = match &tx.destination {
            Destination::Multicast => (0..self.routers.len())
                .filter(|&k| k != from)
                .map(|k| (k, multicast))
                .collect(),
            Destination::Unicast(peers) => peers
                .iter()
                .filter_map(|p| {
                    self.routers
                        .iter()
                        .position(|r| r.own_addrs.contains(p))
                        .map(|k| (k, *p))
                })
                .filter(|&(k, _)| k != from)
                .collect(),
        };
        for (to, dst) in receivers {
            self.frames_sent += 1;
            let profile = self
                .links
                .get(&(from, to))
                .copied()
                .unwrap_or(self.default_link);
            if !self.can_talk(from, to)
                || self.vrid_filter.contains(&(from, to, tx.vrid))
                || self.rng.chance(profile.loss)
            {
                self.frames_lost += 1;
                continue;
            }
            self.seq += 1;
            let Ok((mut bytes, v6)) = encode(tx, dst, (self.seq as u16).max(1)) else {
                self.encode_errors += 1;
                continue;
            };
            if self.rng.chance(profile.corrupt) && !bytes.is_empty() {
                let k = self.rng.below(bytes.len() as u64) as usize;
                bytes[k] ^= 1 << self.rng.below(8);
                self.frames_corrupted += 1;
            }
            let jitter = if profile.jitter.is_zero() {
                Duration::ZERO
            } else {
                let j = u64::try_from(profile.jitter.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(self.rng.below(j.saturating_add(1)))
            };
            let at = self.now + profile.delay + jitter;
            self.in_flight.push(Reverse(InFlight {
                at,
                seq: self.seq,
                frame: Frame {
                    from: RouterId(from),
                    to: RouterId(to),
                    bytes,
                    v6,
                },
            }));
        }
    }

    fn deliver(&mut self, frame: &Frame) {
        let to = frame.to.0;
        // Partitions and failures that happened while the frame was in flight also drop it.
        if !self.can_talk(frame.from.0, to) {
            self.frames_lost += 1;
            return;
        }
        let now = self.now;
        let router = &mut self.routers[to];
        let iface = router.interface;
        let decoded = match frame.v6 {
            None => vrrp_proto::decode_ipv4(&frame.bytes),
            Some((src, dst)) => vrrp_proto::decode_ipv6(&frame.bytes, src, dst, 255),
        };
        match decoded {
            Ok(rx) => router.engine.handle_advert(now, iface, &rx),
            Err(e) => {
                let source = match frame.v6 {
                    Some((src, _)) => IpAddr::V6(src),
                    None => frame
                        .bytes
                        .get(12..16)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |b| IpAddr::V4(b.into())),
                };
                router.engine.handle_rx_error(now, iface, source, None, e);
            }
        }
        self.drain(to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            assert!(a.below(10) < 10);
            b.below(10);
        }
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
        let hits = (0..10_000).filter(|_| a.chance(0.2)).count();
        assert!((1_700..2_300).contains(&hits), "{hits}");
    }
}
