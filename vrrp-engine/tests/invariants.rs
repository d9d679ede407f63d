//! Property: whatever arrives (random adverts, link, tracker and admin events at random times),
//! the engine never panics and its outputs stay consistent with its state:
//!
//! * the addresses installed (replaying Add/RemoveAddress) are exactly the VIPs while MASTER and
//!   none otherwise;
//! * a MASTER always has a wake-up scheduled, and so has a BACKUP unless it waits for its group;
//! * every advert it sends encodes with `vrrp-proto` and carries priority 0 only when leaving.

#![allow(clippy::unwrap_used)]

mod common;

use core::time::Duration;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use common::{IF, inst, single};
use proptest::prelude::*;
use vrrp_engine::sim::ipv4_datagram;
use vrrp_engine::{
    Action, Command, Engine, InstanceId, Instant, Priority, State, TrackBinding, TrackerConfig,
    TrackerId, TrackerKind, TrackerStatus,
};
use vrrp_proto::{Addresses, AdvertInterval, Auth, Ipv4ChecksumMode, Ipv4Header, Repr, Seconds};

#[derive(Clone, Debug)]
enum Input {
    Advert {
        src: u8,
        prio: u8,
        ttl: u8,
        secs: u8,
        vip: bool,
    },
    Wait(u16),
    Link(bool),
    Tracker(u32, bool),
    SetPriority(u8),
    Address(bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (any::<u8>(), any::<u8>(), prop_oneof![Just(255u8), any::<u8>()], 1u8..3, any::<bool>())
            .prop_map(|(src, prio, ttl, secs, vip)| Input::Advert { src, prio, ttl, secs, vip }),
        6 => (0u16..5000).prop_map(Input::Wait),
        1 => any::<bool>().prop_map(Input::Link),
        1 => (0u32..2, any::<bool>()).prop_map(|(t, up)| Input::Tracker(t, up)),
        1 => (1u8..=255).prop_map(Input::SetPriority),
        1 => any::<bool>().prop_map(Input::Address),
    ]
}

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

fn datagram(src: u8, prio: u8, ttl: u8, secs: u8, vip: bool) -> Vec<u8> {
    let vips = [if vip { VIP } else { Ipv4Addr::new(10, 9, 9, 9) }];
    let repr = Repr {
        vrid: 51,
        priority: prio,
        interval: AdvertInterval::V2(Seconds(secs)),
        auth: Auth::None,
        addresses: Addresses::v4(&vips),
    };
    let header = Ipv4Header {
        src: Ipv4Addr::new(10, 0, 0, src),
        dst: vrrp_proto::vrrp::MULTICAST_V4,
        ident: 1,
        ttl,
        tos: 0xc0,
    };
    ipv4_datagram(&repr, &header, Ipv4ChecksumMode::PseudoHeader, None).unwrap()
}

fn check(e: &mut Engine, installed: &mut BTreeSet<IpAddr>) -> Result<(), TestCaseError> {
    let id = InstanceId(0);
    let state = e.state(id).unwrap();
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
                    prop_assert!(state != State::Master, "priority 0 from a master");
                }
            }
            _ => {}
        }
    }
    let expected: BTreeSet<IpAddr> = if state == State::Master {
        [IpAddr::V4(VIP)].into()
    } else {
        BTreeSet::new()
    };
    prop_assert_eq!(&*installed, &expected, "state {:?}", state);
    if matches!(state, State::Master | State::Backup) {
        prop_assert!(e.poll_timeout().is_some(), "{:?} without a timer", state);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn outputs_follow_state(inputs in prop::collection::vec(input(), 1..120)) {
        let mut c = inst("VI_1", 51, 100, "10.0.0.1", &["10.0.0.100"]);
        c.track.push(TrackBinding { tracker: TrackerId(0), weight: -50, reverse: false });
        c.track.push(TrackBinding { tracker: TrackerId(1), weight: 0, reverse: false });
        let mut cfg = single(c);
        cfg.trackers = ["w", "f"].iter().map(|n| TrackerConfig {
            name: (*n).into(),
            kind: TrackerKind::Script,
            initial: TrackerStatus::Up,
        }).collect();
        let mut e = Engine::new(cfg).unwrap();
        let mut now = Instant::ZERO;
        let mut installed = BTreeSet::new();
        e.start(now);
        check(&mut e, &mut installed)?;
        for i in &inputs {
            match *i {
                Input::Advert { src, prio, ttl, secs, vip } => {
                    let d = datagram(src, prio, ttl, secs, vip);
                    let rx = vrrp_proto::decode_ipv4(&d).unwrap();
                    e.handle_advert(now, IF, &rx);
                }
                Input::Wait(ms) => {
                    let end = now + Duration::from_millis(u64::from(ms));
                    while let Some(t) = e.poll_timeout().filter(|t| *t <= end) {
                        now = now.max(t);
                        e.handle_timeout(now);
                        check(&mut e, &mut installed)?;
                    }
                    now = end;
                }
                Input::Link(up) => e.handle_link(now, IF, up),
                Input::Tracker(t, up) => {
                    let s = if up { TrackerStatus::Up } else { TrackerStatus::Down };
                    e.handle_tracker(now, TrackerId(t), s);
                }
                Input::SetPriority(p) => {
                    let cmd = Command::SetPriority { instance: InstanceId(0), priority: Priority(p) };
                    e.handle_command(now, cmd).unwrap();
                }
                Input::Address(present) => {
                    e.handle_address(now, IF, IpAddr::V4(VIP), present);
                    if present { installed.insert(IpAddr::V4(VIP)); } else { installed.remove(&IpAddr::V4(VIP)); }
                }
            }
            check(&mut e, &mut installed)?;
        }
        e.handle_command(now, Command::Shutdown).unwrap();
        check(&mut e, &mut installed)?;
        prop_assert!(installed.is_empty());
        prop_assert_eq!(e.poll_timeout(), None);
    }
}
