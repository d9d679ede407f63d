//! Property tests over random topologies and event sequences, on the simulated LAN.
//!
//! 1. After the LAN is whole again and has had time to converge, exactly one router is MASTER
//!    for each VRID, and with preemption everywhere it has the highest priority.
//! 2. No router keeps the members of a sync group split (one MASTER, another not) for longer
//!    than one advert interval, whatever happens.

#![allow(clippy::unwrap_used)]

mod common;

use core::time::Duration;

use common::{IF, ip};
use proptest::prelude::*;
use vrrp_engine::sim::{Lan, LinkProfile, RouterId};
use vrrp_engine::{
    AdvertInterval, Centiseconds, Command, EngineConfig, InstanceConfig, InstanceId, Priority,
    Seconds, State, SyncGroupConfig, TrackBinding, TrackerConfig, TrackerId, TrackerKind,
    TrackerStatus, UnicastPeer, VirtualAddress,
};

#[derive(Clone, Debug)]
enum Ev {
    Crash(usize),
    Restart(usize),
    Link(usize, bool),
    Partition(u8),
    Heal,
    Loss(u8),
    SetPriority(usize, usize, u8),
    Tracker(usize, usize, bool),
    Shutdown(usize),
    /// Reload the router's configuration with a new base priority for one VRID.
    Reload(usize, usize, u8),
}

fn ev(routers: usize, vrids: usize) -> impl Strategy<Value = Ev> {
    prop_oneof![
        (0..routers).prop_map(Ev::Crash),
        (0..routers).prop_map(Ev::Restart),
        (0..routers, any::<bool>()).prop_map(|(r, up)| Ev::Link(r, up)),
        any::<u8>().prop_map(Ev::Partition),
        Just(Ev::Heal),
        (0u8..60).prop_map(Ev::Loss),
        (0..routers, 0..vrids, 1u8..=255).prop_map(|(r, v, p)| Ev::SetPriority(r, v, p)),
        (0..routers, 0..vrids, any::<bool>()).prop_map(|(r, v, up)| Ev::Tracker(r, v, up)),
        (0..routers).prop_map(Ev::Shutdown),
        (0..routers, 0..vrids, 1u8..=255).prop_map(|(r, v, p)| Ev::Reload(r, v, p)),
    ]
}

#[derive(Clone, Debug)]
struct Topology {
    /// `prios[router][vrid]`.
    prios: Vec<Vec<u8>>,
    /// `preempt[router][vrid]`.
    preempt: Vec<Vec<bool>>,
    /// `preempt_delay` in seconds per router and VRID (0 or 3).
    delays: Vec<Vec<u8>>,
    /// Interval choice per VRID: 0 = v2 1 s, 1 = v3 0.5 s, 2 = v2 2 s, 3 = v3 0.3 s (v2
    /// choices become the same interval in VRRPv3 for IPv6).
    intervals: Vec<u8>,
    /// Mode per VRID: 0 = IPv4 multicast, 1 = IPv4 unicast (every other router a peer),
    /// 2 = IPv6 multicast.
    modes: Vec<u8>,
    grouped: bool,
    /// (time in 100 ms steps after start, event).
    events: Vec<(u16, Ev)>,
    seed: u64,
}

fn topology(grouped: bool) -> impl Strategy<Value = Topology> {
    (2usize..=5, 1usize..=3)
        .prop_flat_map(move |(n, v)| {
            let v = if grouped { 2 } else { v };
            (
                prop::collection::vec(prop::collection::vec(1u8..=255, v), n),
                prop::collection::vec(prop::collection::vec(prop::bool::weighted(0.8), v), n),
                prop::collection::vec(
                    prop::collection::vec(prop_oneof![Just(0u8), Just(3u8)], v),
                    n,
                ),
                prop::collection::vec(0u8..4, v),
                prop::collection::vec(0u8..3, v),
                prop::collection::vec((0u16..600, ev(n, v)), 0..25),
                any::<u64>(),
            )
        })
        .prop_map(
            move |(prios, preempt, delays, intervals, modes, mut events, seed)| {
                events.sort_by_key(|(t, _)| *t);
                Topology {
                    prios,
                    preempt,
                    delays,
                    intervals,
                    modes,
                    grouped,
                    events,
                    seed,
                }
            },
        )
}

fn interval(choice: u8, v6: bool) -> AdvertInterval {
    let cs = |n| AdvertInterval::V3(Centiseconds::new(n).unwrap());
    match (choice, v6) {
        (0, false) => AdvertInterval::V2(Seconds(1)),
        (0, true) => cs(100),
        (1, _) => cs(50),
        (2, false) => AdvertInterval::V2(Seconds(2)),
        (2, true) => cs(200),
        _ => cs(30),
    }
}

/// Address `host` (a small number, or 100 for the VIP) for VRID index `v` in `t`'s family.
fn addr(t: &Topology, v: usize, host: usize) -> std::net::IpAddr {
    if t.modes[v] == 2 {
        ip(&format!("fe80::{v}:{host}"))
    } else {
        ip(&format!("10.0.{v}.{host}"))
    }
}

fn build(t: &Topology) -> Lan {
    let mut lan = Lan::new(t.seed);
    for (r, prios) in t.prios.iter().enumerate() {
        let mut instances = Vec::new();
        for (v, &p) in prios.iter().enumerate() {
            let vrid = 10 + v as u8;
            let mut c = InstanceConfig::new(format!("VI_{v}"), IF, vrid, p, addr(t, v, r + 1));
            c.advert_interval = interval(t.intervals[v], t.modes[v] == 2);
            if t.modes[v] == 1 {
                c.unicast_peers = (0..t.prios.len())
                    .filter(|&k| k != r)
                    .map(|k| UnicastPeer::new(addr(t, v, k + 1)))
                    .collect();
            }
            c.preempt = t.preempt[r][v];
            c.preempt_delay = Duration::from_secs(u64::from(t.delays[r][v]));
            c.virtual_addresses = vec![VirtualAddress::host(addr(t, v, 100))].into();
            c.track = vec![TrackBinding {
                tracker: TrackerId(v as u32),
                weight: 0,
                reverse: false,
            }]
            .into();
            instances.push(c);
        }
        let trackers = (0..prios.len())
            .map(|v| TrackerConfig {
                name: format!("chk{v}"),
                kind: TrackerKind::Script(vrrp_engine::config::ScriptTracker::new(Vec::new())),
                initial: TrackerStatus::Up,
            })
            .collect();
        let sync_groups = if t.grouped {
            vec![SyncGroupConfig {
                name: "G".into(),
                members: (0..prios.len() as u32).map(InstanceId).collect(),
                tracking_weight: false,
                track: vec![],
            }]
        } else {
            vec![]
        };
        let cfg = EngineConfig {
            instances,
            sync_groups,
            trackers,
            log_interval: Duration::from_secs(60),
            log_unknown_vrids: false,
            ..Default::default()
        };
        lan.add_router(format!("r{r}"), cfg).unwrap();
    }
    lan
}

fn apply(lan: &mut Lan, event: &Ev) {
    let count = lan.routers().len();
    match *event {
        Ev::Crash(r) => lan.crash(RouterId(r)),
        Ev::Restart(r) => {
            if !lan.router(RouterId(r)).alive {
                lan.restart(RouterId(r));
            }
        }
        Ev::Link(r, up) => lan.set_link_up(RouterId(r), up),
        Ev::Partition(bits) => {
            let a: Vec<RouterId> = (0..count)
                .filter(|k| bits & (1 << k) != 0)
                .map(RouterId)
                .collect();
            lan.partition(&[&a]);
        }
        Ev::Heal => lan.heal(),
        Ev::Loss(pct) => lan.set_default_link(LinkProfile {
            loss: f64::from(pct) / 100.0,
            ..LinkProfile::default()
        }),
        Ev::SetPriority(r, v, p) => {
            if lan.router(RouterId(r)).alive {
                let cmd = Command::SetPriority {
                    instance: InstanceId(v as u32),
                    priority: Priority(p),
                };
                lan.command(RouterId(r), cmd).unwrap();
            }
        }
        Ev::Tracker(r, v, up) => {
            let s = if up {
                TrackerStatus::Up
            } else {
                TrackerStatus::Down
            };
            lan.set_tracker(RouterId(r), TrackerId(v as u32), s);
        }
        Ev::Reload(r, v, p) => {
            if lan.router(RouterId(r)).alive {
                let mut cfg = lan.router(RouterId(r)).config().clone();
                cfg.instances[v].priority = Priority(p);
                lan.reload(RouterId(r), cfg).unwrap();
            }
        }
        Ev::Shutdown(r) => {
            if lan.router(RouterId(r)).alive {
                lan.command(RouterId(r), Command::Shutdown).unwrap();
            }
        }
    }
}

/// Undoes every failure: heal, no loss, links up, trackers up, crashed or stopped routers
/// restarted.
fn repair(lan: &mut Lan, vrids: usize) {
    lan.heal();
    lan.set_default_link(LinkProfile::default());
    for r in 0..lan.routers().len() {
        let id = RouterId(r);
        let stopped = lan.router(id).engine.state(InstanceId(0)) == Some(State::Stopped);
        if !lan.router(id).alive || stopped {
            lan.crash(id);
            lan.restart(id);
        }
        lan.set_link_up(id, true);
        for v in 0..vrids {
            lan.set_tracker(id, TrackerId(v as u32), TrackerStatus::Up);
        }
    }
}

/// Runs the events; `check` sees the LAN after every step.
fn run_events(lan: &mut Lan, t: &Topology, mut check: impl FnMut(&Lan)) {
    lan.start();
    for (at, e) in &t.events {
        let when = vrrp_engine::Instant::ZERO + Duration::from_millis(u64::from(*at) * 100);
        while lan.next_event().is_some_and(|n| n <= when) {
            lan.step();
            check(lan);
        }
        lan.run_until(when.max(lan.now()));
        apply(lan, e);
        check(lan);
    }
}

/// The highest effective priority for VRID index `v`. RFC 5798 §6.4.2: a backup with the same
/// priority as the master does not preempt it, whatever its address; the address tie-break only
/// settles two masters (§6.4.3).
fn best_priority(lan: &Lan, v: usize) -> Priority {
    (0..lan.routers().len())
        .filter_map(|r| {
            lan.router(RouterId(r))
                .engine
                .effective_priority(InstanceId(v as u32))
        })
        .max()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(96), ..ProptestConfig::default() })]

    #[test]
    fn one_master_per_vrid_after_convergence(t in topology(false)) {
        let mut lan = build(&t);
        run_events(&mut lan, &t, |_| {});
        let vrids = t.intervals.len();
        repair(&mut lan, vrids);
        // Longest Master_Down_Interval here is 3 × 2 s + skew < 7 s, plus a 3 s preempt_delay
        // and its Master_Down_Interval again for a preempting router, plus one interval.
        lan.run_for(Duration::from_secs(30));
        for v in 0..vrids {
            let masters = lan.masters(10 + v as u8);
            prop_assert_eq!(masters.len(), 1, "VRID {}: masters {:?}", 10 + v, masters);
            if t.preempt.iter().all(|p| p[v]) {
                let id = InstanceId(v as u32);
                let p = lan.router(masters[0]).engine.effective_priority(id).unwrap();
                prop_assert_eq!(p, best_priority(&lan, v));
            }
            // The LAN's caches point at the master for its VIP.
            for r in lan.routers() {
                prop_assert_eq!(r.inconsistent_ops, 0, "{}", r.name);
            }
            let vip = addr(&t, v, 100);
            prop_assert_eq!(lan.arp_owner(vip), Some(masters[0]));
            for r in lan.routers() {
                let holds = r.addresses.contains(&vip);
                prop_assert_eq!(holds, r.name == lan.router(masters[0]).name);
            }
        }
    }

    #[test]
    fn sync_groups_never_split_longer_than_one_interval(t in topology(true)) {
        let mut lan = build(&t);
        let limit = t
            .intervals
            .iter()
            .zip(&t.modes)
            .map(|(&c, &m)| interval(c, m == 2).to_duration())
            .min()
            .unwrap();
        let mut split_since: Vec<Option<vrrp_engine::Instant>> = vec![None; t.prios.len()];
        let mut worst = Duration::ZERO;
        let mut check = |lan: &Lan| {
            for (k, r) in lan.routers().iter().enumerate() {
                let m0 = r.engine.state(InstanceId(0)) == Some(State::Master);
                let m1 = r.engine.state(InstanceId(1)) == Some(State::Master);
                if r.alive && m0 != m1 {
                    let since = *split_since[k].get_or_insert(lan.now());
                    worst = worst.max(lan.now() - since);
                } else {
                    split_since[k] = None;
                }
            }
        };
        run_events(&mut lan, &t, &mut check);
        repair(&mut lan, 2);
        lan.run_until_cond(Duration::from_secs(30), |l| {
            check(l);
            false
        });
        prop_assert!(worst <= limit, "group split for {:?}", worst);
        for vrid in [10u8, 11] {
            let masters = lan.masters(vrid);
            prop_assert_eq!(masters.len(), 1, "VRID {}: masters {:?}", vrid, masters);
        }
        // And one router holds both.
        prop_assert_eq!(lan.masters(10), lan.masters(11));
        for r in lan.routers() {
            prop_assert_eq!(r.inconsistent_ops, 0, "{}", r.name);
        }
    }
}
