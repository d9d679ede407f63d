//! RFC sentences, one test each, driven directly through the engine API (no simulator): adverts
//! are encoded and decoded with `vrrp-proto` exactly as the Linux driver will.

#![allow(clippy::unwrap_used)]

mod common;

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr};

use common::{IF, inst, mdi, single, skew};
use vrrp_engine::sim::ipv4_datagram;
use vrrp_engine::{
    Action, Command, CommandError, Engine, InstanceConfig, InstanceId, Instant, NotifyEvent,
    Priority, RxError, State,
};
use vrrp_proto::{Addresses, AdvertInterval, Auth, Ipv4ChecksumMode, Ipv4Header, Repr, Seconds};

const ID: InstanceId = InstanceId(0);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

/// An advert for VRID 51 from `src` with `prio`, TTL `ttl`, to the multicast group unless
/// `unicast_to`.
fn advert(src: Ipv4Addr, prio: u8, ttl: u8, unicast_to: Option<Ipv4Addr>, secs: u8) -> Vec<u8> {
    advert_for(51, src, prio, ttl, unicast_to, secs)
}

fn advert_for(
    vrid: u8,
    src: Ipv4Addr,
    prio: u8,
    ttl: u8,
    unicast_to: Option<Ipv4Addr>,
    secs: u8,
) -> Vec<u8> {
    let vips = [VIP];
    let repr = Repr {
        vrid,
        priority: prio,
        interval: AdvertInterval::V2(Seconds(secs)),
        auth: Auth::None,
        addresses: Addresses::v4(&vips),
    };
    let header = Ipv4Header {
        src,
        dst: unicast_to.unwrap_or(vrrp_proto::vrrp::MULTICAST_V4),
        ident: 1,
        ttl,
        tos: 0xc0,
    };
    ipv4_datagram(&repr, &header, Ipv4ChecksumMode::PseudoHeader, None).unwrap()
}

fn feed(e: &mut Engine, now: Instant, bytes: &[u8]) {
    let rx = vrrp_proto::decode_ipv4(bytes).unwrap();
    e.handle_advert(now, IF, &rx);
}

fn actions(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

fn engine(prio: u8, tweak: impl FnOnce(&mut InstanceConfig)) -> Engine {
    let mut c = inst("VI_1", 51, prio, "10.0.0.1", &["10.0.0.100"]);
    tweak(&mut c);
    let mut e = Engine::new(single(c)).unwrap();
    e.start(Instant::ZERO);
    actions(&mut e);
    e
}

/// Brings a fresh engine to MASTER by letting its down timer expire.
fn master(prio: u8, tweak: impl FnOnce(&mut InstanceConfig)) -> Engine {
    let mut e = engine(prio, tweak);
    let t = e.poll_timeout().unwrap();
    e.handle_timeout(t);
    assert_eq!(e.state(ID), Some(State::Master));
    actions(&mut e);
    e
}

fn sent_priorities(a: &[Action]) -> Vec<u8> {
    a.iter()
        .filter_map(|a| match a {
            Action::SendAdvert(tx) => Some(tx.priority.0),
            _ => None,
        })
        .collect()
}

#[test]
fn s6_4_1_non_owner_starts_backup_with_master_down_timer() {
    let e = engine(100, |_| {});
    assert_eq!(e.state(ID), Some(State::Backup));
    assert_eq!(e.poll_timeout(), Some(Instant::ZERO + mdi(100)));
}

#[test]
fn s6_4_1_owner_sends_advert_and_becomes_master_at_once() {
    let mut c = inst("VI_1", 51, 255, "10.0.0.1", &["10.0.0.100"]);
    c.advert_interval = AdvertInterval::V2(Seconds(1));
    let mut e = Engine::new(single(c)).unwrap();
    e.start(Instant::ZERO);
    let a = actions(&mut e);
    assert_eq!(e.state(ID), Some(State::Master));
    assert_eq!(sent_priorities(&a), vec![255]);
    // Advert first, then the address, then the GARP burst, then the MASTER notification.
    let kinds: Vec<&str> = a
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(_) => Some("advert"),
            Action::AddAddress { .. } => Some("add"),
            Action::Announce { .. } => Some("garp"),
            Action::Notify(_) => Some("notify"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec!["advert", "add", "garp", "notify"]);
    assert_eq!(e.poll_timeout(), Some(at(1000)));
}

#[test]
fn s6_4_2_backup_priority_zero_sets_timer_to_skew() {
    let mut e = engine(100, |_| {});
    feed(&mut e, at(500), &advert(PEER, 0, 255, None, 1));
    assert_eq!(e.poll_timeout(), Some(at(500) + skew(100)));
    assert_eq!(e.counters(ID).unwrap().rcvd_pri_zero, 1);
}

#[test]
fn s6_4_2_backup_higher_priority_resets_timer() {
    let mut e = engine(100, |_| {});
    feed(&mut e, at(2000), &advert(PEER, 150, 255, None, 1));
    // The old deadline may remain as an early wake-up; the engine does nothing then.
    e.handle_timeout(Instant::ZERO + mdi(100));
    assert_eq!(e.state(ID), Some(State::Backup));
    assert_eq!(e.poll_timeout(), Some(at(2000) + mdi(100)));
    assert_eq!(e.master_address(ID), Some(IpAddr::V4(PEER)));
}

#[test]
fn s6_4_2_backup_discards_lower_priority_when_preempting() {
    let mut e = engine(100, |_| {});
    feed(&mut e, at(2000), &advert(PEER, 50, 255, None, 1));
    // Not reset: the master-down timer still fires at the original time.
    e.handle_timeout(Instant::ZERO + mdi(100));
    assert_eq!(e.state(ID), Some(State::Master));
    assert_eq!(
        e.counters(ID).unwrap().new_master_reason,
        vrrp_engine::NewMasterReason::Preempted
    );
}

#[test]
fn s6_4_2_nopreempt_accepts_lower_priority() {
    let mut e = engine(100, |c| c.preempt = false);
    feed(&mut e, at(2000), &advert(PEER, 50, 255, None, 1));
    e.handle_timeout(Instant::ZERO + mdi(100));
    assert_eq!(e.state(ID), Some(State::Backup));
}

#[test]
fn s6_4_3_master_steps_down_for_higher_priority_and_tells_it() {
    let mut e = master(100, |_| {});
    feed(&mut e, at(5000), &advert(PEER, 150, 255, None, 1));
    let a = actions(&mut e);
    assert_eq!(e.state(ID), Some(State::Backup));
    // higher_prio_send_advert (default on): one advert at our priority, then the address goes.
    assert_eq!(sent_priorities(&a), vec![100]);
    assert!(a.iter().any(|a| matches!(a, Action::RemoveAddress { .. })));
    // The old advert deadline may remain as an early, empty wake-up.
    e.handle_timeout(at(5000));
    assert_eq!(e.poll_timeout(), Some(at(5000) + mdi(100)));
}

#[test]
fn s6_4_3_equal_priority_higher_address_wins() {
    let mut e = master(100, |_| {});
    // 10.0.0.9 > 10.0.0.1: we yield.
    feed(&mut e, at(5000), &advert(PEER, 100, 255, None, 1));
    assert_eq!(e.state(ID), Some(State::Backup));
    // 10.0.0.0 < 10.0.0.1: we keep it and answer.
    let mut e = master(100, |_| {});
    feed(
        &mut e,
        at(5000),
        &advert(Ipv4Addr::new(10, 0, 0, 0), 100, 255, None, 1),
    );
    assert_eq!(e.state(ID), Some(State::Master));
    assert_eq!(sent_priorities(&actions(&mut e)), vec![100]);
}

#[test]
fn s6_4_3_master_answers_lower_priority_with_advert_and_garp() {
    let mut e = master(200, |_| {});
    feed(&mut e, at(5000), &advert(PEER, 100, 255, None, 1));
    let a = actions(&mut e);
    assert_eq!(e.state(ID), Some(State::Master));
    assert_eq!(sent_priorities(&a), vec![200]);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Announce { repeat: 5, .. }))
    );
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Notify(n) if n.event == NotifyEvent::MasterRxLowerPriority
    )));
    // lower_prio_no_advert: the burst only.
    let mut e = master(200, |c| c.knobs.lower_prio_no_advert = true);
    feed(&mut e, at(5000), &advert(PEER, 100, 255, None, 1));
    let a = actions(&mut e);
    assert!(sent_priorities(&a).is_empty());
    assert!(a.iter().any(|a| matches!(a, Action::Announce { .. })));
}

#[test]
fn s6_4_3_shutdown_sends_priority_zero_before_removing_addresses() {
    let mut e = master(100, |_| {});
    e.handle_command(at(5000), Command::Shutdown).unwrap();
    let a = actions(&mut e);
    let remove = a
        .iter()
        .position(|a| matches!(a, Action::RemoveAddress { .. }))
        .unwrap();
    let release = a
        .iter()
        .position(|a| matches!(a, Action::SendAdvert(tx) if tx.priority == Priority(0)))
        .unwrap();
    // keepalived's order since 1.2.6: tell the peers, then touch traffic.
    assert!(release < remove);
    assert_eq!(e.state(ID), Some(State::Stopped));
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn s7_1_ttl_must_be_255_in_multicast_mode() {
    let mut e = engine(100, |_| {});
    feed(&mut e, at(2000), &advert(PEER, 150, 64, None, 1));
    let c = e.counters(ID).unwrap();
    assert_eq!(c.ip_ttl_errors, 1);
    assert_eq!(c.rcvd_advertisements, 0);
    // Not accepted: the timer was not reset.
    assert_eq!(e.poll_timeout(), Some(Instant::ZERO + mdi(100)));
}

#[test]
fn unicast_mode_checks_peer_and_ttl_range_and_rejects_multicast() {
    let me = Ipv4Addr::new(10, 0, 0, 1);
    let mut e = engine(100, |c| {
        c.unicast_peers = vec![vrrp_engine::UnicastPeer {
            addr: IpAddr::V4(PEER),
            min_ttl: 250,
            max_ttl: 255,
        }];
        c.knobs.check_unicast_src = true;
    });
    feed(&mut e, at(100), &advert(PEER, 150, 64, Some(me), 1));
    assert_eq!(e.counters(ID).unwrap().ip_ttl_errors, 1);
    feed(
        &mut e,
        at(200),
        &advert(Ipv4Addr::new(10, 0, 0, 7), 150, 255, Some(me), 1),
    );
    feed(&mut e, at(300), &advert(PEER, 150, 255, None, 1));
    assert_eq!(e.counters(ID).unwrap().source_errors, 2);
    feed(&mut e, at(400), &advert(PEER, 150, 252, Some(me), 1));
    assert_eq!(e.counters(ID).unwrap().rcvd_advertisements, 1);
}

#[test]
fn rejected_adverts_are_logged_with_rate_limit_and_reset_on_new_master() {
    let mut e = engine(100, |_| {});
    let bad = advert(PEER, 150, 1, None, 1);
    let mut logs = 0;
    for k in 0..100 {
        feed(&mut e, at(k * 100), &bad);
        logs += actions(&mut e)
            .iter()
            .filter(|a| matches!(a, Action::Log(r) if matches!(r.event, vrrp_engine::LogEvent::BadAdvert { .. })))
            .count();
    }
    assert_eq!(logs, 1);
    assert_eq!(e.counters(ID).unwrap().ip_ttl_errors, 100);
    // A valid advert from a new master resets the limiter: the next problem is reported at once.
    feed(&mut e, at(10_000), &advert(PEER, 150, 255, None, 1));
    feed(&mut e, at(10_100), &bad);
    let again = actions(&mut e)
        .iter()
        .filter(|a| matches!(a, Action::Log(r) if matches!(r.event, vrrp_engine::LogEvent::BadAdvert { .. })))
        .count();
    assert_eq!(again, 1);
}

#[test]
fn codec_errors_are_attributed_when_the_vrid_is_known() {
    let mut e = engine(100, |_| {});
    let err = vrrp_proto::Reject::Checksum {
        received: 1,
        expected: 2,
    };
    e.handle_rx_error(at(1), IF, IpAddr::V4(PEER), Some(51), err);
    e.handle_rx_error(at(2), IF, IpAddr::V4(PEER), None, err);
    assert_eq!(e.counters(ID).unwrap().checksum_errors, 1);
    assert_eq!(e.global_counters().checksum_errors, 1);
    let l = actions(&mut e);
    assert!(l.iter().any(|a| matches!(
        a,
        Action::Log(r) if matches!(r.event, vrrp_engine::LogEvent::BadAdvert { error: RxError::Rejected(_), .. })
    )));
}

#[test]
fn adverts_for_unknown_vrids_are_counted_router_wide() {
    let mut e = engine(100, |_| {});
    feed(&mut e, at(1), &advert_for(52, PEER, 150, 255, None, 1));
    assert_eq!(e.global_counters().vrid_errors, 1);
    assert!(actions(&mut e).is_empty());
    // With log_unknown_vrids, logged at most once per log_interval.
    let mut cfg = single(inst("VI_1", 51, 100, "10.0.0.1", &["10.0.0.100"]));
    cfg.log_unknown_vrids = true;
    let mut e = Engine::new(cfg).unwrap();
    e.start(Instant::ZERO);
    actions(&mut e);
    for k in 0..10 {
        feed(
            &mut e,
            at(k * 1000),
            &advert_for(52, PEER, 150, 255, None, 1),
        );
    }
    let logs = actions(&mut e);
    assert_eq!(logs.len(), 1);
    assert!(matches!(
        &logs[0],
        Action::Log(r) if matches!(r.event, vrrp_engine::LogEvent::UnknownVrid { vrid: 52, .. })
    ));
    assert_eq!(e.global_counters().vrid_errors, 10);
}

#[test]
fn owner_ignore_adverts_keeps_the_owner_deaf() {
    let mut e = master(255, |c| c.knobs.owner_ignore_adverts = true);
    feed(&mut e, at(100), &advert(PEER, 255, 255, None, 1));
    assert_eq!(e.state(ID), Some(State::Master));
    assert!(actions(&mut e).is_empty());
}

#[test]
fn set_priority_command_validates_and_notifies() {
    let mut e = engine(100, |c| c.knobs.notify_priority_changes = true);
    assert_eq!(
        e.handle_command(
            at(1),
            Command::SetPriority {
                instance: ID,
                priority: Priority(0)
            }
        ),
        Err(CommandError::InvalidPriority)
    );
    assert_eq!(
        e.handle_command(
            at(1),
            Command::SetPriority {
                instance: InstanceId(7),
                priority: Priority(5)
            }
        ),
        Err(CommandError::NoSuchInstance(7))
    );
    e.handle_command(
        at(1),
        Command::SetPriority {
            instance: ID,
            priority: Priority(120),
        },
    )
    .unwrap();
    assert_eq!(e.effective_priority(ID), Some(Priority(120)));
    assert!(actions(&mut e).iter().any(|a| matches!(
        a,
        Action::Notify(n) if n.event == NotifyEvent::Priority && n.priority == Priority(120)
    )));
}

#[test]
fn link_down_goes_fault_at_once_and_releases_mastership() {
    let mut e = master(100, |_| {});
    e.handle_link(at(5000), IF, false);
    let a = actions(&mut e);
    assert_eq!(e.state(ID), Some(State::Fault));
    assert_eq!(sent_priorities(&a), vec![0]);
    assert_eq!(e.poll_timeout(), None);
    // Adverts are ignored in FAULT.
    feed(&mut e, at(5100), &advert(PEER, 150, 255, None, 1));
    assert_eq!(e.counters(ID).unwrap().rcvd_advertisements, 0);
    e.handle_link(at(6000), IF, true);
    assert_eq!(e.state(ID), Some(State::Backup));
    assert_eq!(e.poll_timeout(), Some(at(6000) + mdi(100)));
}

#[test]
fn invalid_configurations_are_refused() {
    use vrrp_engine::{ConfigError, EngineConfig};
    let mk = |f: &dyn Fn(&mut InstanceConfig)| {
        let mut c = inst("VI_1", 51, 100, "10.0.0.1", &["10.0.0.100"]);
        f(&mut c);
        Engine::new(single(c)).err()
    };
    assert!(matches!(
        mk(&|c| c.vrid = 0),
        Some(ConfigError::InvalidVrid { .. })
    ));
    assert!(matches!(
        mk(&|c| c.priority = Priority(0)),
        Some(ConfigError::InvalidPriority { .. })
    ));
    assert!(matches!(
        mk(&|c| c.advert_interval = AdvertInterval::V2(Seconds(0))),
        Some(ConfigError::InvalidInterval { .. })
    ));
    assert!(matches!(
        mk(&|c| c.virtual_addresses[0].addr = "fe80::1".parse().unwrap()),
        Some(ConfigError::MixedFamily { .. })
    ));
    assert!(matches!(
        mk(&|c| c.unicast_peers = vec![vrrp_engine::UnicastPeer::new("fe80::2".parse().unwrap())]),
        Some(ConfigError::MixedFamily { .. })
    ));
    let two = EngineConfig {
        instances: vec![
            inst("A", 51, 100, "10.0.0.1", &[]),
            inst("B", 51, 100, "10.0.0.2", &[]),
        ],
        ..Default::default()
    };
    assert!(matches!(
        Engine::new(two),
        Err(ConfigError::DuplicateVrid { .. })
    ));
}

#[test]
fn late_wake_ups_do_not_make_adverts_drift() {
    let mut e = master(100, |_| {});
    let first = e.poll_timeout().unwrap();
    // The driver wakes 30 ms late each time; the adverts stay on the 1 s grid.
    let mut due = first;
    for _ in 0..10 {
        e.handle_timeout(due + Duration::from_millis(30));
        assert_eq!(sent_priorities(&actions(&mut e)), vec![100]);
        let next = e.poll_timeout().unwrap();
        assert_eq!(next, due + Duration::from_secs(1));
        due = next;
    }
    // After a stall of several periods, one advert, then the missed ticks are skipped and the
    // phase is kept (spread phases survive a stalled process).
    let late = due + Duration::from_millis(3500);
    e.handle_timeout(late);
    assert_eq!(sent_priorities(&actions(&mut e)), vec![100]);
    assert_eq!(e.poll_timeout(), Some(due + Duration::from_secs(4)));
}

#[test]
fn unicast_fault_no_peer_keeps_an_instance_without_peers_in_fault() {
    let e = engine(100, |c| c.knobs.unicast_fault_no_peer = true);
    assert_eq!(e.state(ID), Some(State::Fault));
    let e = engine(100, |c| {
        c.knobs.unicast_fault_no_peer = true;
        c.unicast_peers = vec![vrrp_engine::UnicastPeer::new(IpAddr::V4(PEER))];
    });
    assert_eq!(e.state(ID), Some(State::Backup));
}

#[test]
fn engine_and_simulator_can_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Engine>();
    sync::<Engine>();
    send::<vrrp_engine::sim::Lan>();
    send::<Action>();
}

#[test]
fn the_preempted_masters_farewell_is_not_a_split_brain() {
    let notified = |a: &[Action]| {
        a.iter().any(
            |a| matches!(a, Action::Notify(n) if n.event == NotifyEvent::MasterRxLowerPriority),
        )
    };
    let mut e = engine(200, |_| {});
    // PEER (100) is master; we discard its adverts and preempt at our down timer.
    feed(&mut e, at(100), &advert(PEER, 100, 255, None, 1));
    e.handle_timeout(Instant::ZERO + mdi(200));
    assert_eq!(e.state(ID), Some(State::Master));
    actions(&mut e);
    // Its farewell advert (higher_prio_send_advert) is expected: re-announced, not notified.
    feed(&mut e, at(4000), &advert(PEER, 100, 255, None, 1));
    let a = actions(&mut e);
    assert!(!notified(&a));
    assert!(a.iter().any(|a| matches!(a, Action::Announce { .. })));
    // If it keeps advertising, it is a second master: notified.
    feed(&mut e, at(5000), &advert(PEER, 100, 255, None, 1));
    assert!(notified(&actions(&mut e)));
}

#[test]
fn reconciliation_restores_owned_routes() {
    let route = vrrp_engine::VirtualRoute {
        gateway: Some("10.0.0.254".parse().unwrap()),
        ..vrrp_engine::VirtualRoute::to("192.0.2.0".parse().unwrap(), 24)
    };
    let r = route.clone();
    let mut e = master(100, move |c| c.virtual_routes.push(r));
    // Deleted behind our back while MASTER: re-added.
    e.handle_route(at(5000), &route, false);
    let a = actions(&mut e);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::AddRoute { route: x, .. } if *x == route))
    );
    // A route we do not own is ignored.
    let mut other = route.clone();
    other.prefix_len = 25;
    e.handle_route(at(5000), &other, false);
    assert!(actions(&mut e).is_empty());
    // Added behind our back while BACKUP: removed.
    let r = route.clone();
    let mut e = engine(100, move |c| c.virtual_routes.push(r));
    e.handle_route(at(5000), &route, true);
    let a = actions(&mut e);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::RemoveRoute { route: x, .. } if *x == route))
    );
}

/// keepalived's order: addresses, routes, rules on becoming MASTER; rules, routes, addresses
/// when leaving it.
#[test]
fn virtual_rules_come_after_routes_and_go_before_them() {
    let route = vrrp_engine::VirtualRoute::to("192.0.2.0".parse().unwrap(), 24);
    let rule = vrrp_engine::VirtualRule {
        from: Some(("10.0.0.0".parse().unwrap(), 8)),
        table: Some(100),
        ..vrrp_engine::VirtualRule::new(false)
    };
    let (ro, ru) = (route.clone(), rule.clone());
    let mut e = engine(100, move |c| {
        c.virtual_routes.push(ro);
        c.virtual_rules.push(ru);
    });
    let t = e.poll_timeout().unwrap();
    e.handle_timeout(t);
    let kinds = |a: &[Action]| -> Vec<&'static str> {
        a.iter()
            .filter_map(|a| match a {
                Action::AddAddress { .. } => Some("+addr"),
                Action::AddRoute { .. } => Some("+route"),
                Action::AddRule { .. } => Some("+rule"),
                Action::RemoveAddress { .. } => Some("-addr"),
                Action::RemoveRoute { .. } => Some("-route"),
                Action::RemoveRule { .. } => Some("-rule"),
                _ => None,
            })
            .collect()
    };
    let a = actions(&mut e);
    assert_eq!(kinds(&a), ["+addr", "+route", "+rule"]);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::AddRule { rule: x, .. } if *x == rule))
    );
    e.handle_command(at(9000), Command::Shutdown).unwrap();
    assert_eq!(kinds(&actions(&mut e)), ["-rule", "-route", "-addr"]);
}

/// `no_track`: an address or route removed behind a MASTER's back waits for the next
/// transition to MASTER.
#[test]
fn no_track_entries_are_not_restored() {
    let route = vrrp_engine::VirtualRoute {
        no_track: true,
        ..vrrp_engine::VirtualRoute::to("192.0.2.0".parse().unwrap(), 24)
    };
    let r = route.clone();
    let mut e = master(100, move |c| {
        c.virtual_addresses[0].no_track = true;
        c.virtual_routes.push(r);
    });
    e.handle_address(at(5000), IF, IpAddr::V4(VIP), false);
    e.handle_route(at(5000), &route, false);
    let a = actions(&mut e);
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::AddAddress { .. } | Action::AddRoute { .. })),
        "{a:?}"
    );
}

#[test]
fn reconciliation_restores_owned_rules() {
    let rule = vrrp_engine::VirtualRule {
        from: Some(("10.0.0.0".parse().unwrap(), 8)),
        table: Some(100),
        ..vrrp_engine::VirtualRule::new(false)
    };
    let r = rule.clone();
    let mut e = master(100, move |c| c.virtual_rules.push(r));
    e.handle_rule(at(5000), &rule, false);
    let a = actions(&mut e);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::AddRule { rule: x, .. } if *x == rule))
    );
    let r = rule.clone();
    let mut e = engine(100, move |c| c.virtual_rules.push(r));
    e.handle_rule(at(5000), &rule, true);
    let a = actions(&mut e);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::RemoveRule { rule: x, .. } if *x == rule))
    );
    // A rule no instance has is ignored.
    e.handle_rule(at(5000), &vrrp_engine::VirtualRule::new(true), true);
    assert!(actions(&mut e).is_empty());
}
