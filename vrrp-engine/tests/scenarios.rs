//! Scenario tests on the simulated LAN, in virtual time. Each checks a timing or outcome that
//! the RFCs or keepalived define, to the nanosecond where the simulation is exact.

#![allow(clippy::unwrap_used)]

mod common;

use core::time::Duration;

use common::{DELAY, IF, add_vi1, entered_at, history, inst, ip, lan_with, mdi, single, skew};
use vrrp_engine::sim::{Lan, LinkProfile};
use vrrp_engine::{
    AdvertInterval, Centiseconds, Command, EngineConfig, InstanceId, Instant, NotifyEvent,
    NotifyTarget, Priority, Seconds, State, SyncGroupConfig, TrackBinding, TrackerConfig,
    TrackerId, TrackerKind, TrackerStatus,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn v3(centis: u16) -> AdvertInterval {
    AdvertInterval::V3(Centiseconds::new(centis).unwrap())
}

#[test]
fn election_highest_priority_wins_and_owns_the_vip() {
    let (mut lan, r) = lan_with(1, &[100, 200, 150]);
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[1]]);
    for k in [0, 2] {
        assert_eq!(lan.state(r[k], "VI_1"), Some(State::Backup));
        assert!(lan.router(r[k]).addresses.is_empty());
    }
    assert!(lan.router(r[1]).addresses.contains(&ip("10.0.0.100")));
    assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[1]));
    // Nobody flapped: each backup entered BACKUP once and never left.
    assert_eq!(
        history(&lan, r[0], "VI_1"),
        vec![(Duration::ZERO, State::Backup)]
    );
    // The winner took over when its own Master_Down_Interval expired (nobody else was faster).
    assert_eq!(
        entered_at(&lan, r[1], "VI_1", State::Master),
        Some(mdi(200))
    );
}

#[test]
fn equal_priority_tie_break_on_primary_address_v4_and_v6() {
    let (mut lan, r) = lan_with(2, &[100, 100, 100]);
    lan.start();
    lan.run_for(secs(10));
    // 10.0.0.3 is the highest address.
    assert_eq!(lan.masters(51), vec![r[2]]);

    let mut lan = Lan::new(3);
    let mut ids = Vec::new();
    for (k, a) in ["fe80::9", "fe80::1:0", "fe80::10"].iter().enumerate() {
        let mut c = inst("VI_6", 7, 100, a, &["fe80::100"]);
        c.advert_interval = v3(50);
        ids.push(lan.add_router(format!("r{k}"), single(c)).unwrap());
    }
    lan.start();
    lan.run_for(secs(10));
    // fe80::1:0 > fe80::10 > fe80::9 as 128-bit integers.
    assert_eq!(lan.masters(7), vec![ids[1]]);
}

#[test]
fn crash_failover_takes_exactly_master_down_interval() {
    let (mut lan, r) = lan_with(4, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[0]]);
    let sent = common::until_advert_from(&mut lan, r[0]);
    lan.run_until(sent + DELAY); // the backup has it now
    lan.crash(r[0]);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[1]]);
    let took_over = entered_at(&lan, r[1], "VI_1", State::Master).unwrap();
    // 3 × advert_int + skew after the last advert arrived (RFC 3768 §6.4.2).
    assert_eq!(took_over, (sent + DELAY + mdi(100)) - Instant::ZERO);
    assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[1]));
}

#[test]
fn graceful_release_hands_over_within_skew() {
    let (mut lan, r) = lan_with(5, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    let t = lan.now();
    lan.command(r[0], Command::Shutdown).unwrap();
    assert!(lan.router(r[0]).addresses.is_empty());
    assert_eq!(lan.state(r[0], "VI_1"), Some(State::Stopped));
    lan.run_for(secs(5));
    assert_eq!(lan.masters(51), vec![r[1]]);
    let took_over = entered_at(&lan, r[1], "VI_1", State::Master).unwrap();
    // RFC 5798 §6.4.2: priority 0 received → Master_Down_Timer = Skew_Time.
    assert_eq!(took_over, (t + DELAY + skew(100)) - Instant::ZERO);
    let c = lan.router(r[0]).engine.counters(InstanceId(0)).unwrap();
    assert_eq!(c.sent_pri_zero, 1);
    let c = lan.router(r[1]).engine.counters(InstanceId(0)).unwrap();
    assert_eq!(c.rcvd_pri_zero, 1);
}

#[test]
fn preemption_by_a_higher_priority_router_joining_later() {
    let mut lan = Lan::new(6);
    let a = add_vi1(&mut lan, "a", 100, "10.0.0.1", &["10.0.0.100"]);
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    let b = add_vi1(&mut lan, "b", 200, "10.0.0.2", &["10.0.0.100"]);
    lan.start(); // starts only the new engine (start is idempotent)
    let joined = lan.now() - Instant::ZERO;
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    assert_eq!(lan.state(a, "VI_1"), Some(State::Backup));
    // RFC 5798: lower-priority adverts are discarded, so b takes over when its down timer
    // (started when it joined) expires.
    assert_eq!(
        entered_at(&lan, b, "VI_1", State::Master),
        Some(joined + mdi(200))
    );
    assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(b));
    assert!(!lan.router(a).addresses.contains(&ip("10.0.0.100")));
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let mut lan = Lan::new(7);
    let a = add_vi1(&mut lan, "a", 100, "10.0.0.1", &["10.0.0.100"]);
    lan.start();
    lan.run_for(secs(10));
    let mut c = inst("VI_1", 51, 200, "10.0.0.2", &["10.0.0.100"]);
    c.preempt = false;
    let b = lan.add_router("b", single(c)).unwrap();
    lan.start();
    lan.run_for(secs(120));
    assert_eq!(lan.masters(51), vec![a]);
    // But b takes over when a dies.
    lan.crash(a);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
}

#[test]
fn preempt_delay_postpones_preemption() {
    let mut lan = Lan::new(8);
    let a = add_vi1(&mut lan, "a", 100, "10.0.0.1", &["10.0.0.100"]);
    lan.start();
    lan.run_for(secs(10));
    let mut c = inst("VI_1", 51, 200, "10.0.0.2", &["10.0.0.100"]);
    c.preempt_delay = secs(30);
    let b = lan.add_router("b", single(c)).unwrap();
    lan.start();
    let joined = lan.now() - Instant::ZERO;
    lan.run_for(secs(29));
    assert_eq!(lan.masters(51), vec![a]);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    let t = entered_at(&lan, b, "VI_1", State::Master).unwrap();
    // After the delay, the first discarded advert leaves the timer running: takeover within one
    // Master_Down_Interval (plus at most one advert interval of phase).
    assert!(t >= joined + secs(30), "{t:?}");
    assert!(t <= joined + secs(30) + mdi(200) + secs(1), "{t:?}");
}

#[test]
fn owner_255_takes_over_at_once_and_on_return() {
    let (mut lan, r) = lan_with(9, &[255, 100]);
    lan.start();
    // RFC 5798 §6.4.1: the owner goes straight to MASTER.
    assert_eq!(lan.masters(51), vec![r[0]]);
    assert_eq!(
        entered_at(&lan, r[0], "VI_1", State::Master),
        Some(Duration::ZERO)
    );
    lan.run_for(secs(5));
    lan.crash(r[0]);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[1]]);
    lan.restart(r[0]);
    let back = lan.now();
    lan.run_for(DELAY * 2);
    // The owner is MASTER immediately; the backup steps down as soon as it hears priority 255.
    assert_eq!(lan.masters(51), vec![r[0]]);
    assert_eq!(
        entered_at(&lan, r[1], "VI_1", State::Backup),
        Some(back + DELAY - Instant::ZERO)
    );
    assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[0]));
}

/// Two routers, each with `VI_1` (VRID 51) and `VI_2` (VRID 52) in sync group G; r0 has the higher
/// priorities. `VI_2` on r0 tracks a weight-0 script (tracker 0).
fn sync_pair(seed: u64) -> (Lan, [vrrp_engine::sim::RouterId; 2]) {
    let mut lan = Lan::new(seed);
    let mut ids = Vec::new();
    for (k, prio) in [(1u8, 200u8), (2, 100)] {
        let mut v2 = inst("VI_2", 52, prio, &format!("10.0.1.{k}"), &["10.0.1.100"]);
        v2.track = vec![TrackBinding {
            tracker: TrackerId(0),
            weight: 0,
            reverse: false,
        }]
        .into();
        let cfg = EngineConfig {
            instances: vec![
                inst("VI_1", 51, prio, &format!("10.0.0.{k}"), &["10.0.0.100"]),
                v2,
            ],
            sync_groups: vec![SyncGroupConfig {
                name: "G".into(),
                members: vec![InstanceId(0), InstanceId(1)],
                tracking_weight: false,
                track: vec![],
            }],
            trackers: vec![TrackerConfig {
                name: "chk".into(),
                kind: TrackerKind::Script(vrrp_engine::config::ScriptTracker::new(Vec::new())),
                initial: TrackerStatus::Up,
            }],
            log_interval: secs(60),
            log_unknown_vrids: false,
            ..Default::default()
        };
        ids.push(lan.add_router(format!("r{k}"), cfg).unwrap());
    }
    (lan, [ids[0], ids[1]])
}

/// No router may hold its group members in different non-FAULT states (one MASTER, one not)
/// between steps.
fn assert_group_whole(lan: &Lan) {
    for r in lan.routers() {
        assert_eq!(
            r.inconsistent_ops, 0,
            "{}: address actions out of step",
            r.name
        );
    }
    for r in lan.routers().iter().filter(|r| r.alive) {
        let s0 = r.engine.state(InstanceId(0));
        let s1 = r.engine.state(InstanceId(1));
        let m0 = s0 == Some(State::Master);
        let m1 = s1 == Some(State::Master);
        assert_eq!(
            m0,
            m1,
            "{}: group split {s0:?} / {s1:?} at {:?}",
            r.name,
            lan.now()
        );
    }
}

#[test]
fn sync_group_member_fault_moves_the_whole_group() {
    let (mut lan, [a, b]) = sync_pair(10);
    lan.start();
    lan.run_until_cond(secs(10), |l| {
        assert_group_whole(l);
        false
    });
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.masters(52), vec![a]);

    let t = lan.now();
    lan.set_tracker(a, TrackerId(0), TrackerStatus::Down);
    // Both members of a went to FAULT at once; the releases (priority 0) make b take over both
    // after its skew.
    assert_eq!(lan.state(a, "VI_1"), Some(State::Fault));
    assert_eq!(lan.state(a, "VI_2"), Some(State::Fault));
    lan.run_until_cond(secs(10), |l| {
        assert_group_whole(l);
        false
    });
    assert_eq!(lan.masters(51), vec![b]);
    assert_eq!(lan.masters(52), vec![b]);
    assert_eq!(
        entered_at(&lan, b, "VI_1", State::Master),
        Some(t + DELAY + skew(100) - Instant::ZERO)
    );
    assert!(lan.router(a).addresses.is_empty());

    // Recovery: a goes BACKUP, then preempts both together.
    lan.set_tracker(a, TrackerId(0), TrackerStatus::Up);
    assert_eq!(lan.state(a, "VI_1"), Some(State::Backup));
    lan.run_until_cond(secs(10), |l| {
        assert_group_whole(l);
        false
    });
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.masters(52), vec![a]);

    // Group notifications follow the member notifications, in order.
    let notes: Vec<_> = lan
        .router(a)
        .notifications
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    let fault_pos = notes
        .iter()
        .position(|n| {
            n.target == NotifyTarget::Group(vrrp_engine::GroupId(0))
                && n.event == NotifyEvent::State(State::Fault)
        })
        .unwrap();
    let member_faults = notes[..fault_pos]
        .iter()
        .filter(|n| {
            matches!(n.target, NotifyTarget::Instance(_))
                && n.event == NotifyEvent::State(State::Fault)
        })
        .count();
    assert_eq!(member_faults, 2);
}

#[test]
fn sync_group_prefers_backup_when_only_one_member_loses_its_master() {
    // Only VRID 51's adverts from a are lost on b; VRID 52 still hears a. b's VI_1 wants MASTER
    // but VI_2 does not, so b's group stays BACKUP (keepalived 1.2.3: no thrashing).
    let (mut lan, [a, b]) = sync_pair(11);
    lan.start();
    lan.run_for(secs(10));
    lan.block_vrid(a, b, 51, true);
    lan.run_until_cond(secs(60), |l| {
        assert_group_whole(l);
        false
    });
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.masters(52), vec![a]);
    assert_eq!(lan.state(b, "VI_1"), Some(State::Backup));
    let waiting = lan.router(b).notifications.len();
    // When a really fails, both of b's members want MASTER and the group moves together.
    lan.crash(a);
    lan.run_until_cond(secs(10), |l| {
        assert_group_whole(l);
        false
    });
    assert_eq!(lan.masters(51), vec![b]);
    assert_eq!(lan.masters(52), vec![b]);
    // b's notifications since: VI_1 MASTER, VI_2 MASTER, then group MASTER.
    let notes: Vec<_> = lan.router(b).notifications[waiting..]
        .iter()
        .map(|(_, n)| n.target.clone())
        .collect();
    assert_eq!(
        notes,
        vec![
            NotifyTarget::Instance(InstanceId(0)),
            NotifyTarget::Instance(InstanceId(1)),
            NotifyTarget::Group(vrrp_engine::GroupId(0)),
        ]
    );
}

#[test]
fn flapping_link_converges_to_the_preferred_master() {
    let (mut lan, r) = lan_with(12, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    for _ in 0..5 {
        lan.set_link_up(r[0], false);
        assert_eq!(lan.state(r[0], "VI_1"), Some(State::Fault));
        assert!(lan.router(r[0]).addresses.is_empty());
        lan.run_for(secs(2));
        lan.set_link_up(r[0], true);
        assert_eq!(lan.state(r[0], "VI_1"), Some(State::Backup));
        lan.run_for(secs(5)); // longer than r0's Master_Down_Interval
    }
    assert_eq!(lan.masters(51), vec![r[0]]);
    assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[0]));
    // Every down/up cycle is exactly FAULT → BACKUP → MASTER on r0; no extra transitions.
    let h: Vec<State> = history(&lan, r[0], "VI_1")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let mut expected = vec![State::Backup, State::Master];
    for _ in 0..5 {
        expected.extend([State::Fault, State::Backup, State::Master]);
    }
    assert_eq!(h, expected);
}

#[test]
fn rapid_flapping_does_not_bounce_the_vip() {
    // The preferred router's link flaps faster than its Master_Down_Interval: after each
    // recovery it waits in BACKUP (lower-priority adverts are discarded, RFC 5798 §6.4.2), so
    // the backup keeps the VIP until the link is stable, instead of the VIP bouncing each time.
    let (mut lan, r) = lan_with(22, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    for _ in 0..10 {
        lan.set_link_up(r[0], false);
        lan.run_for(secs(1));
        lan.set_link_up(r[0], true);
        lan.run_for(Duration::from_millis(1500));
    }
    let h: Vec<State> = history(&lan, r[1], "VI_1")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(h, vec![State::Backup, State::Master]);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[0]]);
    let h: Vec<State> = history(&lan, r[1], "VI_1")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(h, vec![State::Backup, State::Master, State::Backup]);
}

#[test]
fn twenty_percent_loss_does_not_flap_with_six_missed_adverts() {
    // With independent 20 % loss a backup flaps after `down_timer_adverts` consecutive losses:
    // 0.2^3 = 0.8 % per advert with the default 3, so flaps are certain over 10 minutes. With 6
    // it is 6.4e-5 per advert: ~0.15 expected over 10 minutes × 4 seeds (2,400 adverts).
    for seed in 0..4 {
        let mut lan = Lan::new(100 + seed);
        let mut ids = Vec::new();
        for (k, p) in [200u8, 100].iter().enumerate() {
            let mut c = inst(
                "VI_1",
                51,
                *p,
                &format!("10.0.0.{}", k + 1),
                &["10.0.0.100"],
            );
            c.down_timer_adverts = 6;
            ids.push(lan.add_router(format!("r{k}"), single(c)).unwrap());
        }
        lan.set_default_link(LinkProfile {
            loss: 0.2,
            delay: DELAY,
            jitter: Duration::from_millis(5),
            ..LinkProfile::default()
        });
        lan.start();
        // Start-up is a single race (one advert to lose), so count from steady state.
        lan.run_for(secs(30));
        assert_eq!(lan.masters(51), vec![ids[0]]);
        let settled = history(&lan, ids[1], "VI_1").len();
        lan.run_for(secs(600));
        assert_eq!(history(&lan, ids[1], "VI_1").len(), settled, "seed {seed}");
        assert!(lan.frames_lost > 100);
    }
}

#[test]
fn twenty_percent_loss_never_moves_the_master() {
    // Default 3 missed adverts: the backup sometimes claims mastership (0.8 % per advert), but
    // the real master never loses it: it answers the backup's advert at once, and the backup
    // steps down. Most such episodes end within one advert interval.
    let (mut lan, r) = lan_with(13, &[200, 100]);
    lan.set_default_link(LinkProfile {
        loss: 0.2,
        delay: DELAY,
        jitter: Duration::from_millis(5),
        ..LinkProfile::default()
    });
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[0]]);
    let mut dual_since: Option<Instant> = None;
    let mut episodes = Vec::new();
    lan.run_until_cond(secs(1200), |l| {
        let dual = l.masters(51).len() > 1;
        match (dual, dual_since) {
            (true, None) => dual_since = Some(l.now()),
            (false, Some(since)) => {
                episodes.push(l.now() - since);
                dual_since = None;
            }
            _ => {}
        }
        false
    });
    assert!(episodes.len() >= 3, "{episodes:?}");
    // The master never left MASTER.
    let h: Vec<State> = history(&lan, r[0], "VI_1")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(h, vec![State::Backup, State::Master]);
    let quick = episodes
        .iter()
        .filter(|d| **d <= secs(1) + Duration::from_millis(10))
        .count();
    assert!(quick * 10 >= episodes.len() * 8, "{episodes:?}");
    assert!(episodes.iter().all(|d| *d <= secs(4)), "{episodes:?}");
    assert_eq!(lan.masters(51), vec![r[0]]);
}

#[test]
fn partition_heal_resolves_to_one_master_within_one_advert_interval() {
    for seed in 0..8 {
        let (mut lan, r) = lan_with(200 + seed, &[200, 150, 100]);
        lan.start();
        lan.run_for(secs(10));
        lan.partition(&[&[r[0]], &[r[1], r[2]]]);
        lan.run_for(secs(10));
        assert_eq!(lan.masters(51), vec![r[0], r[1]]);
        // Hosts on r1's side followed r1.
        assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[1]));
        lan.heal();
        let healed = lan.now();
        let announced = lan.router(r[0]).announces;
        let one = lan
            .run_until_cond(secs(5), |l| l.masters(51).len() == 1)
            .unwrap();
        assert!(
            one - healed <= secs(1) + DELAY,
            "seed {seed}: {:?}",
            one - healed
        );
        // Split-brain recovery: the real master learns of the other master (its last advert)
        // and re-announces within the same interval, whichever advert crossed the heal first.
        let reannounced = lan
            .run_until_cond(secs(5), |l| l.router(r[0]).announces > announced)
            .unwrap();
        assert!(reannounced - healed <= secs(1) + DELAY * 2, "seed {seed}");
        lan.run_for(secs(2));
        assert_eq!(lan.masters(51), vec![r[0]]);
        assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[0]), "seed {seed}");
    }
}

#[test]
fn tracker_priority_changes_move_mastership() {
    let mut lan = Lan::new(14);
    let mut a = inst("VI_1", 51, 150, "10.0.0.1", &["10.0.0.100"]);
    a.track = vec![TrackBinding {
        tracker: TrackerId(0),
        weight: -60,
        reverse: false,
    }]
    .into();
    a.knobs.notify_priority_changes = true;
    let cfg_a = EngineConfig {
        instances: vec![a],
        trackers: vec![TrackerConfig {
            name: "chk".into(),
            kind: TrackerKind::Script(vrrp_engine::config::ScriptTracker::new(Vec::new())),
            initial: TrackerStatus::Up,
        }],
        ..Default::default()
    };
    let ra = lan.add_router("a", cfg_a).unwrap();
    let rb = add_vi1(&mut lan, "b", 120, "10.0.0.2", &["10.0.0.100"]);
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![ra]);

    let t = lan.now();
    lan.set_tracker(ra, TrackerId(0), TrackerStatus::Down);
    let eff = lan.router(ra).engine.effective_priority(InstanceId(0));
    assert_eq!(eff, Some(Priority(90)));
    let moved = lan
        .run_until_cond(secs(10), |l| l.masters(51) == vec![rb])
        .unwrap();
    // b discards a's adverts (90 < 120) and takes over at its down timer: within one
    // Master_Down_Interval plus one advert interval.
    assert!(moved - t <= mdi(120) + secs(1), "{:?}", moved - t);

    lan.set_tracker(ra, TrackerId(0), TrackerStatus::Up);
    let back = lan
        .run_until_cond(secs(10), |l| l.masters(51) == vec![ra])
        .unwrap();
    assert!(back - moved <= mdi(150) + secs(1) + secs(1));
    let prio_notes: Vec<Priority> = lan
        .router(ra)
        .notifications
        .iter()
        .filter(|(_, n)| n.event == NotifyEvent::Priority)
        .map(|(_, n)| n.priority)
        .collect();
    assert_eq!(prio_notes, vec![Priority(90), Priority(150)]);
}

#[test]
fn v3_backup_learns_the_masters_interval() {
    let mut lan = Lan::new(15);
    let mut a = inst("VI_1", 51, 200, "10.0.0.1", &["10.0.0.100"]);
    a.advert_interval = v3(25);
    let mut b = inst("VI_1", 51, 100, "10.0.0.2", &["10.0.0.100"]);
    b.advert_interval = v3(200);
    let ra = lan.add_router("a", single(a)).unwrap();
    let rb = lan.add_router("b", single(b)).unwrap();
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![ra]);
    let e = &lan.router(rb).engine;
    assert_eq!(
        e.master_adver_interval(InstanceId(0)),
        Some(Duration::from_millis(250))
    );
    // Interval mismatch is counted (RFC 6527) but the v3 advert is accepted.
    assert!(e.counters(InstanceId(0)).unwrap().adv_interval_errors > 0);
    let sent = common::until_advert_from(&mut lan, ra);
    lan.run_until(sent + DELAY);
    lan.crash(ra);
    lan.run_for(secs(5));
    // RFC 5798 §6.1: 3 × 250 ms + (256 − 100) × 250 ms / 256.
    let expected = Duration::from_millis(750) + Duration::from_millis(250) * 156 / 256;
    assert_eq!(
        entered_at(&lan, rb, "VI_1", State::Master),
        Some(sent + DELAY + expected - Instant::ZERO)
    );
}

#[test]
fn v2_interval_mismatch_is_dropped_and_counted() {
    let mut lan = Lan::new(16);
    let ra = add_vi1(&mut lan, "a", 200, "10.0.0.1", &["10.0.0.100"]);
    let mut b = inst("VI_1", 51, 100, "10.0.0.2", &["10.0.0.100"]);
    b.advert_interval = AdvertInterval::V2(Seconds(2));
    let rb = lan.add_router("b", single(b)).unwrap();
    lan.start();
    lan.run_for(secs(60));
    // RFC 3768 §7.1: each discards the other's adverts, so both are MASTER (a misconfiguration
    // that the counters and the log make visible).
    assert_eq!(lan.masters(51), vec![ra, rb]);
    let c = lan.router(rb).engine.counters(InstanceId(0)).unwrap();
    assert!(c.adv_interval_errors >= 50);
    // Logged with rate limiting: one line per minute at most for this class.
    let bad_logs = lan.router(rb).log_lines;
    assert!(bad_logs < 10, "{bad_logs}");
    let c = lan.router(ra).engine.counters(InstanceId(0)).unwrap();
    assert!(c.adv_interval_errors >= 25);
}

#[test]
fn address_list_mismatch_is_counted_but_accepted() {
    let mut lan = Lan::new(17);
    let ra = add_vi1(&mut lan, "a", 200, "10.0.0.1", &["10.0.0.100"]);
    let rb = add_vi1(&mut lan, "b", 100, "10.0.0.2", &["10.0.0.101"]);
    lan.start();
    lan.run_for(secs(30));
    assert_eq!(lan.masters(51), vec![ra]);
    let c = lan.router(rb).engine.counters(InstanceId(0)).unwrap();
    assert!(c.address_list_errors >= 20);
    assert_eq!(c.address_list_errors, c.rcvd_advertisements);
}

#[test]
fn unicast_peers_elect_and_check_sources() {
    let mut lan = Lan::new(18);
    let mk = |prio, me: &str, peer: &str| {
        let mut c = inst("VI_1", 51, prio, me, &["10.0.0.100"]);
        c.unicast_peers = vec![vrrp_engine::UnicastPeer::new(ip(peer))].into();
        c.knobs.check_unicast_src = true;
        c
    };
    let ra = lan
        .add_router("a", single(mk(200, "10.0.0.1", "10.0.0.2")))
        .unwrap();
    let rb = lan
        .add_router("b", single(mk(100, "10.0.0.2", "10.0.0.1")))
        .unwrap();
    // A third router that is not b's peer but sends unicast to b.
    let rc = lan
        .add_router("c", single(mk(250, "10.0.0.3", "10.0.0.2")))
        .unwrap();
    lan.start();
    lan.run_for(secs(20));
    // b ignores c (not a listed peer), a cannot hear c; c hears nobody.
    assert_eq!(lan.masters(51), vec![ra, rc]);
    assert_eq!(lan.state(rb, "VI_1"), Some(State::Backup));
    let c = lan.router(rb).engine.counters(InstanceId(0)).unwrap();
    assert!(c.source_errors >= 10);
}

#[test]
fn reconciliation_restores_owned_addresses() {
    let (mut lan, r) = lan_with(19, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    let vip = ip("10.0.0.100");
    // Someone deletes the VIP on the master: it is re-added and re-announced.
    let announces = lan.router(r[0]).announces;
    lan.tamper_address(r[0], vip, false);
    assert!(lan.router(r[0]).addresses.contains(&vip));
    assert_eq!(lan.router(r[0]).announces, announces + 1);
    // Someone adds the VIP on the backup: it is removed.
    lan.tamper_address(r[1], vip, true);
    assert!(!lan.router(r[1]).addresses.contains(&vip));
    // Addresses we do not own are never touched.
    lan.tamper_address(r[1], ip("10.9.9.9"), true);
    assert!(lan.router(r[1]).addresses.contains(&ip("10.9.9.9")));
}

#[test]
fn garp_schedule_follows_the_knobs() {
    let mut lan = Lan::new(20);
    let mut c = inst("VI_1", 51, 200, "10.0.0.1", &["10.0.0.100"]);
    c.garp.master_delay = Some(secs(5));
    c.garp.master_refresh = Some(secs(60));
    let ra = lan.add_router("a", single(c)).unwrap();
    lan.start();
    let became = mdi(200);
    lan.run_until(Instant::ZERO + became);
    assert_eq!(lan.router(ra).announces, 1); // burst on entering MASTER
    lan.run_until(Instant::ZERO + became + secs(5));
    assert_eq!(lan.router(ra).announces, 2); // garp_master_delay
    lan.run_until(Instant::ZERO + became + secs(60));
    assert_eq!(lan.router(ra).announces, 3); // garp_master_refresh
    lan.run_until(Instant::ZERO + became + secs(180));
    assert_eq!(lan.router(ra).announces, 5);
}

#[test]
fn notifications_are_ordered_and_complete() {
    let (mut lan, r) = lan_with(21, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    lan.command(r[0], Command::Shutdown).unwrap();
    lan.run_for(secs(5));
    let states = |k: usize| -> Vec<State> {
        lan.router(r[k])
            .notifications
            .iter()
            .filter_map(|(_, n)| match n.event {
                NotifyEvent::State(s) => Some(s),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        states(0),
        vec![State::Backup, State::Master, State::Stopped]
    );
    assert_eq!(states(1), vec![State::Backup, State::Master]);
    // MASTER is notified after the addresses are installed.
    assert!(lan.router(r[1]).addresses.contains(&ip("10.0.0.100")));
    let _ = IF;
}

#[test]
fn corrupted_frames_are_counted_and_ignored() {
    let (mut lan, r) = lan_with(23, &[200, 100]);
    lan.set_default_link(LinkProfile {
        corrupt: 0.1,
        ..LinkProfile::default()
    });
    lan.start();
    lan.run_for(secs(300));
    assert!(lan.frames_corrupted > 10);
    assert_eq!(lan.encode_errors, 0);
    let e = &lan.router(r[1]).engine;
    let c = e.counters(InstanceId(0)).unwrap();
    let g = e.global_counters();
    // Every corrupted frame was rejected somewhere: by the decoder (global counters) or by
    // validation (instance counters); none was taken for a valid advert.
    let rejected = c.checksum_errors
        + c.address_list_errors
        + c.adv_interval_errors
        + c.auth_failures
        + c.auth_type_mismatch
        + c.version_errors
        + c.source_errors
        + c.ip_ttl_errors
        + g.checksum_errors
        + g.version_errors
        + g.vrid_errors
        + g.other_errors;
    assert!(rejected > 0);
    assert_eq!(lan.masters(51), vec![r[0]]);
}

fn with_auth(auth: vrrp_engine::AuthConfig, prio: u8, k: u8) -> EngineConfig {
    let mut c = inst("VI_1", 51, prio, &format!("10.0.0.{k}"), &["10.0.0.100"]);
    c.auth = auth;
    single(c)
}

#[test]
fn authentication_pass_and_ah_end_to_end() {
    use vrrp_engine::AuthConfig;
    for auth in [
        AuthConfig::Simple(*b"secret\0\0"),
        AuthConfig::Ah(*b"secret\0\0"),
    ] {
        let mut lan = Lan::new(24);
        let a = lan.add_router("a", with_auth(auth, 200, 1)).unwrap();
        let b = lan.add_router("b", with_auth(auth, 100, 2)).unwrap();
        lan.start();
        lan.run_for(secs(30));
        assert_eq!(lan.masters(51), vec![a]);
        let c = lan.router(b).engine.counters(InstanceId(0)).unwrap();
        assert!(c.rcvd_advertisements >= 25);
        assert_eq!(c.auth_failures, 0);
    }
    // A wrong password is an authentication failure: the backup ignores the master.
    let mut lan = Lan::new(25);
    let a = lan
        .add_router("a", with_auth(AuthConfig::Simple(*b"secret\0\0"), 200, 1))
        .unwrap();
    let b = lan
        .add_router("b", with_auth(AuthConfig::Simple(*b"other\0\0\0"), 100, 2))
        .unwrap();
    lan.start();
    lan.run_for(secs(30));
    assert_eq!(lan.masters(51), vec![a, b]);
    let c = lan.router(b).engine.counters(InstanceId(0)).unwrap();
    assert!(c.auth_failures >= 20);
}

#[test]
fn reload_is_a_pure_diff() {
    let (mut lan, r) = lan_with(26, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    let notes = lan.router(r[0]).notifications.len();
    let announces = lan.router(r[0]).announces;

    // Same configuration: nothing happens at all.
    let same = single(inst("VI_1", 51, 200, "10.0.0.1", &["10.0.0.100"]));
    lan.reload(r[0], same).unwrap();
    assert_eq!(lan.router(r[0]).notifications.len(), notes);
    assert_eq!(lan.router(r[0]).announces, announces);
    assert_eq!(lan.masters(51), vec![r[0]]);

    // A VIP added and one removed on the master: only those change, the new one is announced,
    // no state notification, and the counters survive.
    let sent = lan
        .router(r[0])
        .engine
        .counters(InstanceId(0))
        .unwrap()
        .sent_advertisements;
    let mut add = inst("VI_1", 51, 200, "10.0.0.1", &["10.0.0.101"]);
    add.priority = Priority(210);
    let mut cfg = single(add);
    cfg.instances
        .push(inst("VI_2", 52, 100, "10.0.1.1", &["10.0.1.100"]));
    lan.reload(r[0], cfg).unwrap();
    let router = lan.router(r[0]);
    assert!(router.addresses.contains(&ip("10.0.0.101")));
    assert!(!router.addresses.contains(&ip("10.0.0.100")));
    assert_eq!(router.announces, announces + 1);
    assert_eq!(lan.state(r[0], "VI_1"), Some(State::Master));
    assert_eq!(lan.state(r[0], "VI_2"), Some(State::Backup)); // new instance started
    assert_eq!(
        router.engine.effective_priority(InstanceId(0)),
        Some(Priority(210))
    );
    let c = router.engine.counters(InstanceId(0)).unwrap();
    assert!(c.sent_advertisements >= sent);
    let states: Vec<_> = router.notifications[notes..]
        .iter()
        .map(|(_, n)| (n.name.to_string(), n.event))
        .collect();
    assert_eq!(
        states,
        vec![("VI_2".to_string(), NotifyEvent::State(State::Backup))]
    );
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[0]]);

    // Removing the instance releases it (priority 0) and notifies DELETED; the backup takes
    // over within its skew.
    let t = lan.now();
    let cfg = single(inst("VI_2", 52, 100, "10.0.1.1", &["10.0.1.100"]));
    lan.reload(r[0], cfg).unwrap();
    assert!(!lan.router(r[0]).addresses.contains(&ip("10.0.0.101")));
    let last = lan.router(r[0]).notifications.last().unwrap().1.clone();
    assert_eq!(last.event, NotifyEvent::Deleted);
    assert_eq!(&*last.name, "VI_1");
    lan.run_for(secs(2));
    assert_eq!(lan.masters(51), vec![r[1]]);
    assert_eq!(
        entered_at(&lan, r[1], "VI_1", State::Master),
        Some(t + DELAY + skew(100) - Instant::ZERO)
    );
    // A bad configuration changes nothing.
    let mut bad = inst("VI_2", 52, 100, "10.0.1.1", &[]);
    bad.vrid = 0;
    assert!(lan.reload(r[0], single(bad)).is_err());
    assert_eq!(lan.state(r[0], "VI_2"), Some(State::Master));
}

#[test]
fn simulation_is_deterministic_per_seed() {
    let run = |seed: u64| {
        let (mut lan, r) = lan_with(seed, &[200, 150, 100]);
        lan.set_default_link(LinkProfile {
            loss: 0.3,
            jitter: Duration::from_millis(20),
            ..LinkProfile::default()
        });
        lan.start();
        lan.run_for(secs(60));
        lan.crash(r[0]);
        lan.run_for(secs(60));
        (lan.transitions().to_vec(), lan.frames_lost)
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42).1, run(43).1);
}

#[test]
fn reload_leaves_a_sync_group_alone() {
    let (mut lan, [a, b]) = sync_pair(27);
    lan.start();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    let notes = lan.router(a).notifications.len();
    let cfg = lan.router(a).config().clone();
    lan.reload(a, cfg).unwrap();
    lan.run_for(secs(10));
    assert_eq!(lan.router(a).notifications.len(), notes);
    // Taking VI_2 out of the group's membership leaves VI_1 alone in it: still no split and
    // no transition.
    let mut cfg = lan.router(a).config().clone();
    cfg.sync_groups[0].members = vec![InstanceId(0)];
    lan.reload(a, cfg).unwrap();
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.masters(52), vec![a]);
    assert_eq!(lan.state(b, "VI_1"), Some(State::Backup));
}

#[test]
fn status_reports_what_an_operator_needs() {
    let (mut lan, [a, b]) = sync_pair(28);
    lan.start();
    lan.run_for(secs(10));
    lan.block_vrid(a, b, 51, true);
    lan.run_for(secs(10));
    let e = &lan.router(b).engine;
    let s: Vec<_> = e.statuses().collect();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].name, "VI_1");
    assert_eq!(s[0].state, State::Backup);
    assert!(s[0].waiting_for_group);
    assert!(!s[1].waiting_for_group);
    assert_eq!(s[1].master, Some(ip("10.0.1.1")));
    assert_eq!(s[1].effective_priority, Priority(100));
    assert_eq!(s[0].group, Some(vrrp_engine::GroupId(0)));
    assert!(s[1].counters.rcvd_advertisements > 10);
}

#[test]
fn interop_mismatches_are_visible_in_the_counters() {
    // VRRPv3 over IPv4 with and without the pseudo-header checksum (keepalived's default versus
    // `v3_checksum_as_v2` / RFC 9568): the routers cannot hear each other; every advert shows up
    // as a checksum error, which is how an operator finds the cause.
    let mut lan = Lan::new(29);
    let mk = |prio, k: u8, mode| {
        let mut c = inst("VI_1", 51, prio, &format!("10.0.0.{k}"), &["10.0.0.100"]);
        c.advert_interval = v3(100);
        c.checksum_mode = mode;
        single(c)
    };
    let a = lan
        .add_router("a", mk(200, 1, vrrp_engine::Ipv4ChecksumMode::PseudoHeader))
        .unwrap();
    let b = lan
        .add_router(
            "b",
            mk(100, 2, vrrp_engine::Ipv4ChecksumMode::NoPseudoHeader),
        )
        .unwrap();
    lan.start();
    lan.run_for(secs(20));
    assert_eq!(lan.masters(51), vec![a, b]);
    let c = lan.router(b).engine.counters(InstanceId(0)).unwrap();
    assert!(c.checksum_errors >= 10, "{c:?}");
    assert_eq!(c.rcvd_advertisements, 0);

    // VRRPv2 against VRRPv3 on the same VRID: version errors.
    let mut lan = Lan::new(30);
    let a = add_vi1(&mut lan, "a", 200, "10.0.0.1", &["10.0.0.100"]);
    let mut c = inst("VI_1", 51, 100, "10.0.0.2", &["10.0.0.100"]);
    c.advert_interval = v3(100);
    let b = lan.add_router("b", single(c)).unwrap();
    lan.start();
    lan.run_for(secs(20));
    assert_eq!(lan.masters(51), vec![a, b]);
    let c = lan.router(b).engine.counters(InstanceId(0)).unwrap();
    assert!(c.version_errors >= 10, "{c:?}");
}

#[test]
fn one_way_failure_keeps_the_lan_on_the_real_master() {
    // b stops hearing a (a still hears b): b claims mastership, a answers every one of b's
    // adverts with its own and a GARP burst, so the hosts keep following a.
    let (mut lan, r) = lan_with(31, &[200, 100]);
    lan.start();
    lan.run_for(secs(10));
    lan.set_link(
        r[0],
        r[1],
        LinkProfile {
            loss: 1.0,
            ..LinkProfile::default()
        },
    );
    lan.run_for(secs(10));
    assert_eq!(lan.masters(51), vec![r[0], r[1]]);
    assert_eq!(lan.arp_owner(ip("10.0.0.100")), Some(r[0]));
    let h: Vec<State> = history(&lan, r[0], "VI_1")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(h, vec![State::Backup, State::Master]);
    lan.set_link(r[0], r[1], LinkProfile::default());
    lan.run_for(secs(2));
    assert_eq!(lan.masters(51), vec![r[0]]);
}

#[test]
fn without_the_final_advert_a_heal_can_leave_hosts_on_the_loser() {
    // keepalived's default (`higher_prio_send_advert` off): when the loser hears the winner
    // first it steps down silently, the winner never learns there was a split, and hosts that
    // followed the loser keep its MAC. This is why our default is on.
    let mut stale = 0;
    for seed in 0..8 {
        let mut lan = Lan::new(300 + seed);
        let mut ids = Vec::new();
        for (k, p) in [200u8, 150].iter().enumerate() {
            let mut c = inst(
                "VI_1",
                51,
                *p,
                &format!("10.0.0.{}", k + 1),
                &["10.0.0.100"],
            );
            c.knobs.higher_prio_send_advert = false;
            c.garp.master_delay = None;
            c.garp.lower_prio_delay = None;
            ids.push(lan.add_router(format!("r{k}"), single(c)).unwrap());
        }
        lan.start();
        lan.run_for(secs(10));
        lan.partition(&[&[ids[0]], &[ids[1]]]);
        lan.run_for(secs(10));
        lan.heal();
        lan.run_for(secs(5));
        assert_eq!(lan.masters(51), vec![ids[0]]);
        // The loser dropped the VIP, so the sim's hosts re-resolve to the real master; what is
        // stale is the last GARP they saw: count the heals after which the winner never
        // re-announced.
        let winner_announced_after_heal = lan.router(ids[0]).announces > 1;
        if !winner_announced_after_heal {
            stale += 1;
        }
    }
    assert!(stale > 0, "expected some heals without a re-announcement");
}

#[test]
fn many_vrids_on_three_routers_converge_and_fail_over() {
    use vrrp_engine::sim::Rng;
    let mut rng = Rng::new(32);
    let mut lan = Lan::new(32);
    let mut prios = vec![vec![0u8; 100]; 3];
    let mut ids = Vec::new();
    for (r, row) in prios.iter_mut().enumerate() {
        let mut cfg = EngineConfig::default();
        for (v, p) in row.iter_mut().enumerate() {
            // Distinct priorities per VRID so the winner is unique.
            *p = 10 + (rng.below(80) as u8) * 3 + r as u8;
            let vrid = 1 + v as u8;
            let c = inst(
                &format!("VI_{v}"),
                vrid,
                *p,
                &format!("10.{v}.0.{}", r + 1),
                &[&format!("10.{v}.0.100")],
            );
            cfg.instances.push(c);
        }
        ids.push(lan.add_router(format!("r{r}"), cfg).unwrap());
    }
    lan.start();
    lan.run_for(secs(10));
    let winner = |alive: &[usize], v: usize| *alive.iter().max_by_key(|&&r| prios[r][v]).unwrap();
    for v in 0..100 {
        assert_eq!(
            lan.masters(1 + v as u8),
            vec![ids[winner(&[0, 1, 2], v)]],
            "VRID {}",
            v + 1
        );
    }
    lan.crash(ids[1]);
    lan.run_for(secs(10));
    for v in 0..100 {
        assert_eq!(
            lan.masters(1 + v as u8),
            vec![ids[winner(&[0, 2], v)]],
            "VRID {}",
            v + 1
        );
    }
    for r in lan.routers() {
        assert_eq!(r.inconsistent_ops, 0);
    }
}

/// An instance whose source address is not known yet (unspecified, as the daemon passes it for
/// an interface that does not exist) stays in FAULT, sends nothing and installs nothing; a
/// reload with the address the driver found brings it up like any other instance.
#[test]
fn unspecified_source_is_fault_until_the_address_is_known() {
    use vrrp_engine::{Action, Engine};
    let mut vi = inst("VI_1", 51, 200, "0.0.0.0", &["10.0.0.100"]);
    vi.advert_interval = AdvertInterval::V2(Seconds(1));
    let mut engine = Engine::new(single(vi.clone())).unwrap();
    let id = engine.instance_by_name("VI_1").unwrap();
    engine.start(Instant::ZERO);
    assert_eq!(engine.state(id), Some(State::Fault));
    let mut now = Instant::ZERO;
    for _ in 0..10 {
        now = now + secs(1);
        engine.handle_timeout(now);
    }
    let actions: Vec<Action> = std::iter::from_fn(|| engine.poll_action()).collect();
    assert!(
        !actions.iter().any(|a| matches!(
            a,
            Action::SendAdvert(_) | Action::AddAddress { .. } | Action::Announce { .. }
        )),
        "{actions:?}"
    );
    vi.primary_addr = ip("10.0.0.1");
    engine.reload(now, single(vi)).unwrap();
    assert_eq!(engine.state(id), Some(State::Backup));
    let deadline = engine.poll_timeout().unwrap();
    engine.handle_timeout(deadline);
    assert_eq!(engine.state(id), Some(State::Master));
}

/// 1,000 VRRPv2 instances at 1 s on 4 interfaces, alone on the LAN: all of them become MASTER
/// in the same instant (their down timers are equal).
fn thousand_masters() -> (Lan, vrrp_engine::sim::RouterId) {
    thousand_masters_with(|_| {})
}

/// [`thousand_masters`], each instance's configuration changed by `tweak`.
fn thousand_masters_with(
    tweak: impl Fn(&mut vrrp_engine::InstanceConfig),
) -> (Lan, vrrp_engine::sim::RouterId) {
    let mut instances = Vec::new();
    for i in 0..1000u32 {
        let ifc = vrrp_engine::InterfaceId(i % 4 + 1);
        let vrid = u8::try_from(i / 4 + 1).unwrap();
        let primary = format!("10.{}.0.1", i % 4 + 1);
        let mut c =
            vrrp_engine::InstanceConfig::new(format!("VI_{i}"), ifc, vrid, 150, ip(&primary));
        c.virtual_addresses = vec![vrrp_engine::VirtualAddress::host(ip(&format!(
            "10.{}.1.{}",
            100 + i % 4,
            vrid
        )))]
        .into();
        tweak(&mut c);
        instances.push(c);
    }
    recording_router(instances)
}

/// A lone router running `instances`, recording its adverts; not started.
fn recording_router(
    instances: Vec<vrrp_engine::InstanceConfig>,
) -> (Lan, vrrp_engine::sim::RouterId) {
    let mut lan = Lan::new(61);
    let a = lan
        .add_router(
            "a",
            EngineConfig {
                instances,
                log_interval: secs(60),
                ..Default::default()
            },
        )
        .unwrap();
    lan.record_adverts(true);
    (lan, a)
}

/// The times of each instance's adverts, by instance id.
fn sends_by_instance(lan: &Lan, r: vrrp_engine::sim::RouterId, n: usize) -> Vec<Vec<Instant>> {
    let mut sends = vec![Vec::new(); n];
    for &(at, id, _) in &lan.router(r).advert_log {
        sends[id.0 as usize].push(at);
    }
    sends
}

#[test]
fn phase_spreading_first_advert_at_once_then_spread_phases_without_drift() {
    let (mut lan, a) = thousand_masters();
    lan.start();
    lan.run_for(secs(15));
    let took_over = Instant::ZERO + mdi(150);
    let interval = secs(1);
    let bound = interval / 100;
    assert!(lan.router(a).advert_log.iter().all(|e| e.2 == 150));
    let sends = sends_by_instance(&lan, a, 1000);
    let mut phases = Vec::new();
    for (i, s) in sends.iter().enumerate() {
        // RFC 5798 §6.4.1/§6.4.2: the first advert leaves the moment the instance takes over.
        assert_eq!(s[0], took_over, "VI_{i}");
        assert!(s.len() >= 10, "VI_{i}: {} adverts", s.len());
        // The first interval is longer by the phase offset, bounded by 1%.
        let first = s[1] - s[0];
        assert!(
            first >= interval && first < interval + bound,
            "VI_{i}: {first:?}"
        );
        phases.push(first.checked_sub(interval).unwrap());
        // Afterwards exactly one interval apart: the phase is kept, nothing drifts.
        for w in s[1..].windows(2) {
            assert_eq!(w[1] - w[0], interval, "VI_{i}");
        }
    }
    let mut distinct = phases.clone();
    distinct.sort_unstable();
    distinct.dedup();
    // 1,000 / 16 slots, each its own instant; no instant has more than a slot's worth.
    assert_eq!(distinct.len(), 62, "{distinct:?}");
    for p in &distinct {
        let n = phases.iter().filter(|q| *q == p).count();
        assert!((16..=17).contains(&n), "{n} instances at +{p:?}");
    }
}

#[test]
fn phase_spreading_leaves_one_advert_down_timers_alone() {
    // `down_timer_adverts 1`: a priority-254 backup waits 1 interval + 2/256 of one, less than
    // a phase offset may add to the first interval: no offset, every interval exactly 1 s.
    let (mut lan, a) = thousand_masters_with(|c| c.down_timer_adverts = 1);
    lan.start();
    lan.run_for(secs(5));
    for (i, s) in sends_by_instance(&lan, a, 1000).iter().enumerate() {
        assert!(s.len() >= 4, "VI_{i}: {} adverts", s.len());
        for w in s.windows(2) {
            assert_eq!(w[1] - w[0], secs(1), "VI_{i}");
        }
    }
}

#[test]
fn phase_spreading_leaves_fast_configurations_alone() {
    // 100 VRRPv3 instances at 10 ms (the bench's v3 mode): sending them all takes longer than
    // 1% of the interval, so no offset: every interval is exactly 10 ms, the first included.
    let mut instances = Vec::new();
    for i in 0..100u32 {
        let vrid = u8::try_from(i + 1).unwrap();
        let mut c = inst(&format!("VI_{i}"), vrid, 150, "10.0.0.1", &[]);
        c.advert_interval = v3(1);
        instances.push(c);
    }
    let (mut lan, a) = recording_router(instances);
    lan.start();
    lan.run_for(Duration::from_millis(200));
    let sends = sends_by_instance(&lan, a, 100);
    let first = sends[0][0];
    for s in &sends {
        assert_eq!(s[0], first, "all took over together");
        assert!(s.len() >= 10);
        for w in s.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(10));
        }
    }
}
