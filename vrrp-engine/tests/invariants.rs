//! Property: whatever arrives (random adverts, link, tracker, admin and reconciliation events at
//! random times), an engine with two instances (VRID 51 and 52, optionally one sync group) never
//! panics and its outputs stay consistent with its state:
//!
//! * replaying Add/RemoveAddress never adds an installed address or removes an absent one, and
//!   the installed set is exactly the VIPs of the MASTER instances;
//! * a MASTER always has a wake-up scheduled, and so has a BACKUP unless it waits for its group;
//! * the members of a sync group are never split (one MASTER, one not) between calls;
//! * every advert it sends encodes with `vrrp-proto`, and priority 0 only comes from an instance
//!   that is no longer MASTER.

#![allow(clippy::unwrap_used)]

mod common;

use core::time::Duration;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use common::{IF, inst};
use proptest::prelude::*;
use vrrp_engine::sim::ipv4_datagram;
use vrrp_engine::{
    Action, Command, Engine, EngineConfig, InstanceId, Instant, Priority, State, SyncGroupConfig,
    TrackBinding, TrackerConfig, TrackerId, TrackerKind, TrackerStatus,
};
use vrrp_proto::{Addresses, AdvertInterval, Auth, Ipv4ChecksumMode, Ipv4Header, Repr, Seconds};

#[derive(Clone, Debug)]
enum Input {
    Advert {
        k: u8,
        src: u8,
        prio: u8,
        ttl: u8,
        secs: u8,
        vip: bool,
    },
    Wait(u16),
    Link(bool),
    Tracker(u32, bool),
    SetPriority(u32, u8),
    Address(u8, bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (0u8..2, any::<u8>(), any::<u8>(), prop_oneof![Just(255u8), any::<u8>()], 1u8..3, any::<bool>())
            .prop_map(|(k, src, prio, ttl, secs, vip)| Input::Advert { k, src, prio, ttl, secs, vip }),
        6 => (0u16..5000).prop_map(Input::Wait),
        1 => any::<bool>().prop_map(Input::Link),
        1 => (0u32..3, any::<bool>()).prop_map(|(t, up)| Input::Tracker(t, up)),
        1 => (0u32..2, 1u8..=255).prop_map(|(k, p)| Input::SetPriority(k, p)),
        1 => (0u8..2, any::<bool>()).prop_map(|(k, present)| Input::Address(k, present)),
    ]
}

fn vip(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, k, 100)
}

fn datagram(k: u8, src: u8, prio: u8, ttl: u8, secs: u8, right_vip: bool) -> Vec<u8> {
    let vips = [if right_vip {
        vip(k)
    } else {
        Ipv4Addr::new(10, 9, 9, 9)
    }];
    let repr = Repr {
        vrid: 51 + k,
        priority: prio,
        interval: AdvertInterval::V2(Seconds(secs)),
        auth: Auth::None,
        addresses: Addresses::v4(&vips),
    };
    let header = Ipv4Header {
        src: Ipv4Addr::new(10, 0, k, src),
        dst: vrrp_proto::vrrp::MULTICAST_V4,
        ident: 1,
        ttl,
        tos: 0xc0,
    };
    ipv4_datagram(&repr, &header, Ipv4ChecksumMode::PseudoHeader, None).unwrap()
}

fn build(grouped: bool) -> Engine {
    let mut instances = Vec::new();
    for k in 0..2u8 {
        let mut c = inst(
            &format!("VI_{k}"),
            51 + k,
            100,
            &format!("10.0.{k}.1"),
            &[&vip(k).to_string()],
        );
        // Tracker 0 weighs -50 on both, tracker 1 is a weight-0 check of VI_0, tracker 2 of VI_1.
        c.track = vec![
            TrackBinding {
                tracker: TrackerId(0),
                weight: -50,
                reverse: false,
            },
            TrackBinding {
                tracker: TrackerId(1 + u32::from(k)),
                weight: 0,
                reverse: false,
            },
        ]
        .into();
        instances.push(c);
    }
    let sync_groups = if grouped {
        vec![SyncGroupConfig {
            name: "G".into(),
            members: vec![InstanceId(0), InstanceId(1)],
            tracking_weight: true,
            track: vec![],
        }]
    } else {
        vec![]
    };
    let trackers = ["w", "f0", "f1"]
        .iter()
        .map(|n| TrackerConfig {
            name: (*n).into(),
            kind: TrackerKind::Script(vrrp_engine::config::ScriptTracker::new(Vec::new())),
            initial: TrackerStatus::Up,
        })
        .collect();
    Engine::new(EngineConfig {
        instances,
        sync_groups,
        trackers,
        log_interval: Duration::from_secs(60),
        log_unknown_vrids: true,
        ..Default::default()
    })
    .unwrap()
}

fn check(
    e: &mut Engine,
    installed: &mut BTreeSet<IpAddr>,
    grouped: bool,
) -> Result<(), TestCaseError> {
    let states: Vec<State> = (0..2).map(|k| e.state(InstanceId(k)).unwrap()).collect();
    while let Some(a) = e.poll_action() {
        match a {
            Action::AddAddress { address, .. } => {
                prop_assert!(installed.insert(address.addr), "added twice");
            }
            Action::RemoveAddress { address, .. } => {
                prop_assert!(installed.remove(&address.addr), "removed while absent");
            }
            Action::SendAdvert(tx) => {
                let header = Ipv4Header {
                    src: Ipv4Addr::new(10, 0, 0, 1),
                    dst: vrrp_proto::vrrp::MULTICAST_V4,
                    ident: 1,
                    ttl: 255,
                    tos: 0xc0,
                };
                prop_assert!(ipv4_datagram(&tx.repr(), &header, tx.checksum_mode, None).is_ok());
                if tx.priority == Priority(0) {
                    let k = tx.instance.0 as usize;
                    prop_assert!(states[k] != State::Master, "priority 0 from a master");
                }
            }
            _ => {}
        }
    }
    let expected: BTreeSet<IpAddr> = (0..2u8)
        .filter(|&k| states[usize::from(k)] == State::Master)
        .map(|k| IpAddr::V4(vip(k)))
        .collect();
    prop_assert_eq!(&*installed, &expected, "states {:?}", states);
    for k in 0..2u32 {
        let st = e.status(InstanceId(k)).unwrap();
        if st.state == State::Master || (st.state == State::Backup && !st.waiting_for_group) {
            prop_assert!(e.poll_timeout().is_some(), "{:?} without a timer", st.state);
        }
    }
    if grouped {
        prop_assert_eq!(
            states[0] == State::Master,
            states[1] == State::Master,
            "group split {:?}",
            states
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(256), ..ProptestConfig::default() })]

    #[test]
    fn outputs_follow_state(
        grouped in any::<bool>(),
        inputs in prop::collection::vec(input(), 1..150),
    ) {
        let mut e = build(grouped);
        let mut now = Instant::ZERO;
        let mut installed = BTreeSet::new();
        e.start(now);
        check(&mut e, &mut installed, grouped)?;
        for i in &inputs {
            match *i {
                Input::Advert { k, src, prio, ttl, secs, vip } => {
                    let d = datagram(k, src, prio, ttl, secs, vip);
                    let rx = vrrp_proto::decode_ipv4(&d).unwrap();
                    e.handle_advert(now, IF, &rx);
                }
                Input::Wait(ms) => {
                    let end = now + Duration::from_millis(u64::from(ms));
                    while let Some(t) = e.poll_timeout().filter(|t| *t <= end) {
                        now = now.max(t);
                        e.handle_timeout(now);
                        check(&mut e, &mut installed, grouped)?;
                    }
                    now = end;
                }
                Input::Link(up) => e.handle_link(now, IF, up),
                Input::Tracker(t, up) => {
                    let s = if up { TrackerStatus::Up } else { TrackerStatus::Down };
                    e.handle_tracker(now, TrackerId(t), s);
                }
                Input::SetPriority(k, p) => {
                    let cmd = Command::SetPriority { instance: InstanceId(k), priority: Priority(p) };
                    e.handle_command(now, cmd).unwrap();
                }
                Input::Address(k, present) => {
                    let a = IpAddr::V4(vip(k));
                    if present { installed.insert(a); } else { installed.remove(&a); }
                    e.handle_address(now, IF, a, present);
                }
            }
            check(&mut e, &mut installed, grouped)?;
        }
        e.handle_command(now, Command::Shutdown).unwrap();
        check(&mut e, &mut installed, grouped)?;
        prop_assert!(installed.is_empty());
        prop_assert_eq!(e.poll_timeout(), None);
    }
}
