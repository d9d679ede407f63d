//! Interoperability of the Linux driver with Debian's keepalived 2.2.7 (VRRPv2, no
//! authentication, 1 s adverts) between network namespaces: ours master / theirs backup, and
//! the reverse. Needs root and `/usr/sbin/keepalived`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vrrp_engine::linux::Hooks;
use vrrp_engine::testlab::{Capture, Lab, privileged_with, vrrp_in_frame, wait_for};
use vrrp_engine::{
    EngineConfig, InstanceConfig, InterfaceId, Notification, NotifyEvent, State, VirtualAddress,
};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100));

#[derive(Clone, Default)]
struct States(Arc<Mutex<Vec<State>>>);

impl States {
    fn get(&self) -> Vec<State> {
        self.0.lock().unwrap().clone()
    }
}

impl Hooks for States {
    fn notify(&mut self, n: &Notification) {
        if let NotifyEvent::State(s) = n.event {
            self.0.lock().unwrap().push(s);
        }
    }
}

/// keepalived's side: VRRPv2, 1 s, no authentication, the same VIP.
fn keepalived_conf(priority: u8) -> String {
    format!(
        "global_defs {{\n  router_id kars_test\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/32 dev eth0\n  }}\n}}\n"
    )
}

/// Our side: the same instance (VRRPv2 is the default for IPv4).
fn our_conf(priority: u8, src: IpAddr, ifc: InterfaceId) -> EngineConfig {
    let mut vi = InstanceConfig::new("VI_1", ifc, 51, priority, src);
    vi.virtual_addresses.push(VirtualAddress::host(VIP));
    EngineConfig {
        instances: vec![vi],
        ..Default::default()
    }
}

fn adverts_from(cap: &Capture, src: Ipv4Addr, priority: u8) -> usize {
    cap.frames()
        .iter()
        .filter(|(_, f)| vrrp_in_frame(f) == Some((IpAddr::V4(src), 51, priority)))
        .count()
}

fn keepalived_log(lab: &Lab, host: usize) -> String {
    std::fs::read_to_string(lab.keepalived_log(host)).unwrap_or_default()
}

/// Ours (priority 200) becomes master; keepalived (100) stays backup; our graceful stop hands
/// over to keepalived at once (priority 0).
#[test]
fn netns_keepalived_ours_master() {
    if !privileged_with("netns_keepalived_ours_master", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let (ours, theirs) = (lab.host(0).ipv4, lab.host(1).ipv4);
    lab.spawn_keepalived(1, &keepalived_conf(100)).unwrap();
    let states = States::default();
    let d = lab
        .spawn_driver(
            0,
            |h, i| our_conf(200, IpAddr::V4(h.ipv4), i),
            states.clone(),
        )
        .unwrap();
    // Master_Down_Interval for priority 200 is 3.22 s.
    assert!(
        wait_for(Duration::from_secs(6), || lab.has_address(0, VIP)),
        "we never became master"
    );
    // keepalived hears us: 5 more adverts (> its own 3.6 s down interval) and it stays quiet.
    let seen = adverts_from(&cap, ours, 200);
    assert!(wait_for(Duration::from_secs(8), || adverts_from(
        &cap, ours, 200
    ) >= seen + 5));
    assert_eq!(
        adverts_from(&cap, theirs, 100),
        0,
        "keepalived also went master:\n{}",
        keepalived_log(&lab, 1)
    );
    assert!(!lab.has_address(1, VIP));
    assert_eq!(states.get(), vec![State::Backup, State::Master]);
    // Graceful stop: priority 0, and keepalived takes over after its skew time (0.61 s).
    d.shutdown().unwrap();
    assert!(
        adverts_from(&cap, ours, 0) >= 1
            || wait_for(Duration::from_secs(1), || adverts_from(&cap, ours, 0) >= 1)
    );
    assert!(!lab.has_address(0, VIP));
    assert!(
        wait_for(Duration::from_secs(2), || lab.has_address(1, VIP)),
        "keepalived did not take over:\n{}",
        keepalived_log(&lab, 1)
    );
}

/// keepalived (200) is master; ours (100) stays backup; keepalived's graceful stop (SIGTERM,
/// priority 0) hands over to us.
#[test]
fn netns_keepalived_theirs_master() {
    if !privileged_with("netns_keepalived_theirs_master", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let theirs = lab.host(0).ipv4;
    let pid = lab.spawn_keepalived(0, &keepalived_conf(200)).unwrap();
    let states = States::default();
    let d = lab
        .spawn_driver(
            1,
            |h, i| our_conf(100, IpAddr::V4(h.ipv4), i),
            states.clone(),
        )
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(6), || lab.has_address(0, VIP)),
        "keepalived never became master:\n{}",
        keepalived_log(&lab, 0)
    );
    // We hear keepalived: 5 more adverts (> our 3.6 s down interval) and we stay backup.
    let seen = adverts_from(&cap, theirs, 200);
    assert!(wait_for(Duration::from_secs(8), || adverts_from(
        &cap, theirs, 200
    ) >= seen + 5));
    assert_eq!(states.get(), vec![State::Backup]);
    assert!(!lab.has_address(1, VIP));
    // keepalived stops gracefully: it sends priority 0 and we take over after our skew time.
    lab.terminate(pid).unwrap();
    assert!(
        wait_for(Duration::from_secs(2), || lab.has_address(1, VIP)),
        "we did not take over; states {:?}",
        states.get()
    );
    assert!(adverts_from(&cap, theirs, 0) >= 1);
    assert!(lab.wait_exit(pid, Duration::from_secs(5)).unwrap());
    assert!(!lab.has_address(0, VIP));
    assert_eq!(states.get(), vec![State::Backup, State::Master]);
    d.shutdown().unwrap();
}
