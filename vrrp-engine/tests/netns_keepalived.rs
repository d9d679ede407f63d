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
    keepalived_conf_with(priority, "advert_int 1", VIP)
}

/// keepalived's instance with `extra` lines and `vip`.
fn keepalived_conf_with(priority: u8, extra: &str, vip: IpAddr) -> String {
    let len = if vip.is_ipv4() { 32 } else { 128 };
    format!(
        "global_defs {{\n  router_id kars_test\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {priority}\n  {extra}\n  virtual_ipaddress {{\n    {vip}/{len} dev eth0\n  }}\n}}\n"
    )
}

/// Our side: the same instance (VRRPv2 is the default for IPv4).
fn our_conf(priority: u8, src: IpAddr, ifc: InterfaceId) -> EngineConfig {
    let mut vi = InstanceConfig::new("VI_1", ifc, 51, priority, src);
    vi.virtual_addresses = vec![VirtualAddress::host(VIP)].into();
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

/// Ours (priority 200) becomes master; keepalived (100, configured by `ka_conf`) stays backup;
/// our graceful stop hands over to keepalived at once (priority 0). `capture_host` is where the
/// adverts are watched (the observer for multicast, keepalived's host for unicast).
fn ours_master_then_handover(
    lab: &Lab,
    capture_host: usize,
    ka_conf: &str,
    tweak: fn(&mut InstanceConfig, IpAddr),
) {
    let cap = Capture::start(lab, capture_host).unwrap();
    let (ours, theirs) = (lab.host(0).ipv4, lab.host(1).ipv4);
    let states = States::default();
    let d = lab
        .spawn_driver(
            0,
            move |h, i| {
                let mut c = our_conf(200, IpAddr::V4(h.ipv4), i);
                tweak(&mut c.instances[0], IpAddr::V4(theirs));
                c
            },
            states.clone(),
        )
        .unwrap();
    // Master_Down_Interval for priority 200 is 3.22 s.
    assert!(
        wait_for(Duration::from_secs(6), || lab.has_address(0, VIP)),
        "we never became master"
    );
    // keepalived starts once we are master: started together, which Master_Down_Interval ends
    // first is a race of start-up times that a loaded machine can lose.
    lab.spawn_keepalived(1, ka_conf).unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || keepalived_log(lab, 1)
            .contains("Entering BACKUP STATE")),
        "keepalived did not start:\n{}",
        keepalived_log(lab, 1)
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
        keepalived_log(lab, 1)
    );
    assert!(!lab.has_address(1, VIP));
    assert_eq!(states.get(), vec![State::Backup, State::Master]);
    // Graceful stop: priority 0, and keepalived takes over after its skew time (0.61 s).
    d.shutdown().unwrap();
    assert!(wait_for(Duration::from_secs(1), || adverts_from(
        &cap, ours, 0
    ) >= 1));
    assert!(!lab.has_address(0, VIP));
    assert!(
        wait_for(Duration::from_secs(2), || lab.has_address(1, VIP)),
        "keepalived did not take over:\n{}",
        keepalived_log(lab, 1)
    );
}

/// Multicast VRRPv2: ours master, keepalived backup, handover on our priority 0.
#[test]
fn netns_keepalived_ours_master() {
    if !privileged_with("netns_keepalived_ours_master", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    ours_master_then_handover(&lab, 2, &keepalived_conf(100), |_, _| {});
}

/// Unicast VRRPv2 (`unicast_src_ip` / `unicast_peer` on keepalived's side, a unicast peer on
/// ours): the same handover, with no multicast at all.
#[test]
fn netns_keepalived_unicast() {
    if !privileged_with("netns_keepalived_unicast", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let extra = format!(
        "advert_int 1\n  unicast_src_ip {}\n  unicast_peer {{\n    {}\n  }}",
        lab.host(1).ipv4,
        lab.host(0).ipv4
    );
    ours_master_then_handover(
        &lab,
        1,
        &keepalived_conf_with(100, &extra, VIP),
        |vi, peer| {
            vi.unicast_peers = vec![vrrp_engine::UnicastPeer::new(peer)].into();
        },
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
    assert!(
        wait_for(Duration::from_secs(6), || lab.has_address(0, VIP)),
        "keepalived never became master:\n{}",
        keepalived_log(&lab, 0)
    );
    // Started after keepalived is master: a simultaneous start is a race of start-up times.
    let states = States::default();
    let d = lab
        .spawn_driver(
            1,
            |h, i| our_conf(100, IpAddr::V4(h.ipv4), i),
            states.clone(),
        )
        .unwrap();
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
    assert!(wait_for(Duration::from_secs(1), || adverts_from(
        &cap, theirs, 0
    ) >= 1));
    assert!(lab.wait_exit(pid, Duration::from_secs(5)).unwrap());
    assert!(!lab.has_address(0, VIP));
    // We notify MASTER after installing the VIP.
    let notified = || states.get() == [State::Backup, State::Master];
    assert!(
        wait_for(Duration::from_secs(2), notified),
        "{:?}",
        states.get()
    );
    d.shutdown().unwrap();
}

fn adverts_from_ip(cap: &Capture, src: IpAddr, priority: u8) -> usize {
    cap.frames()
        .iter()
        .filter(|(_, f)| vrrp_in_frame(f) == Some((src, 51, priority)))
        .count()
}

const AH_KEEPALIVED: &str =
    "advert_int 1\n  authentication {\n    auth_type AH\n    auth_pass k3y\n  }";

/// Our side with `auth_type AH`, key "k3y".
fn our_ah_conf(priority: u8, src: IpAddr, ifc: InterfaceId) -> EngineConfig {
    let mut c = our_conf(priority, src, ifc);
    c.instances[0].auth = vrrp_engine::AuthConfig::Ah(*b"k3y\0\0\0\0\0");
    c
}

/// keepalived's IPSEC-AH (VRRPv2), keepalived master: we accept its AH adverts and stay
/// backup, and take over on its `SIGTERM`.
#[test]
fn netns_keepalived_ah_theirs_master() {
    if !privileged_with("netns_keepalived_ah_theirs_master", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let theirs = lab.host(1).ipv4;
    let pid = lab
        .spawn_keepalived(1, &keepalived_conf_with(150, AH_KEEPALIVED, VIP))
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(6), || lab.has_address(1, VIP)),
        "keepalived never became master:\n{}",
        keepalived_log(&lab, 1)
    );
    // Started after keepalived is master: a simultaneous start is a race of start-up times.
    let states = States::default();
    let d = lab
        .spawn_driver(
            0,
            |h, i| our_ah_conf(100, IpAddr::V4(h.ipv4), i),
            states.clone(),
        )
        .unwrap();
    let seen = adverts_from(&cap, theirs, 150);
    assert!(wait_for(Duration::from_secs(8), || adverts_from(
        &cap, theirs, 150
    ) >= seen + 5));
    assert_eq!(states.get(), vec![State::Backup]);
    assert!(!lab.has_address(0, VIP));
    lab.terminate(pid).unwrap();
    assert!(
        wait_for(Duration::from_secs(2), || lab.has_address(0, VIP)),
        "we did not take over; states {:?}",
        states.get()
    );
    d.shutdown().unwrap();
}

/// keepalived's IPSEC-AH (VRRPv2), ours master: keepalived must accept our AH adverts.
///
/// keepalived numbers its AH adverts from 1 and drops a sequence number below its own counter
/// plus one; an engine that started at 0 made keepalived a second master here.
#[test]
fn netns_keepalived_ah_ours_master() {
    if !privileged_with("netns_keepalived_ah_ours_master", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let (ours, theirs) = (lab.host(0).ipv4, lab.host(1).ipv4);
    lab.spawn_keepalived(1, &keepalived_conf_with(150, AH_KEEPALIVED, VIP))
        .unwrap();
    let d = lab
        .spawn_driver(
            0,
            |h, i| our_ah_conf(200, IpAddr::V4(h.ipv4), i),
            States::default(),
        )
        .unwrap();
    assert!(wait_for(Duration::from_secs(6), || lab.has_address(0, VIP)));
    let seen = adverts_from(&cap, ours, 200);
    assert!(wait_for(Duration::from_secs(8), || adverts_from(
        &cap, ours, 200
    ) >= seen + 5));
    assert_eq!(
        adverts_from(&cap, theirs, 150),
        0,
        "keepalived rejected our AH adverts:\n{}",
        keepalived_log(&lab, 1)
    );
    d.shutdown().unwrap();
    assert!(
        wait_for(Duration::from_secs(2), || lab.has_address(1, VIP)),
        "keepalived did not take over:\n{}",
        keepalived_log(&lab, 1)
    );
}

/// VRRPv3 over IPv6 at 100 ms with keepalived: link-local sources, hop limit 255, our checksum
/// and source accepted by keepalived, and the handover on our priority 0.
#[test]
fn netns_keepalived_v3_ipv6() {
    if !privileged_with("netns_keepalived_v3_ipv6", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let vip6: IpAddr = "fd99::100".parse().unwrap();
    let ll = |i: usize| IpAddr::V6(lab.link_local(i).unwrap());
    let (ours, theirs) = (ll(0), ll(1));
    let states = States::default();
    let d = lab
        .spawn_driver(
            0,
            move |_, i| {
                let mut vi = InstanceConfig::new("VI_1", i, 51, 200, ours);
                vi.advert_interval =
                    vrrp_engine::AdvertInterval::V3(vrrp_engine::Centiseconds::new(10).unwrap());
                vi.virtual_addresses = vec![VirtualAddress::host(vip6)].into();
                EngineConfig {
                    instances: vec![vi],
                    ..Default::default()
                }
            },
            states.clone(),
        )
        .unwrap();
    assert!(wait_for(Duration::from_secs(3), || lab.has_address(0, vip6)));
    // keepalived starts once we are master: at 100 ms adverts its Master_Down_Interval ends
    // only 39 ms after ours, less than its start-up time can vary on a loaded machine.
    lab.spawn_keepalived(
        1,
        &keepalived_conf_with(100, "version 3\n  advert_int 0.1", vip6),
    )
    .unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || keepalived_log(&lab, 1)
            .contains("Entering BACKUP STATE")),
        "keepalived did not start:\n{}",
        keepalived_log(&lab, 1)
    );
    let seen = adverts_from_ip(&cap, ours, 200);
    assert!(wait_for(Duration::from_secs(3), || adverts_from_ip(
        &cap, ours, 200
    ) >= seen + 10));
    assert_eq!(
        adverts_from_ip(&cap, theirs, 100),
        0,
        "keepalived did not accept our IPv6 adverts:\n{}",
        keepalived_log(&lab, 1)
    );
    d.shutdown().unwrap();
    assert!(
        wait_for(Duration::from_secs(2), || lab.has_address(1, vip6)),
        "keepalived did not take over:\n{}",
        keepalived_log(&lab, 1)
    );
    assert!(!lab.has_address(0, vip6));
}
