//! Interfaces by name with real packets between network namespaces (needs root; see
//! `vrrp_engine::testlab`): an instance whose interface is missing starts in FAULT and comes up
//! when it appears, follows it through delete and re-create, VMACs (`use_vmac`,
//! `vmac_xmit_base`) and `mcast_dst_ip`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

#[path = "common/recorder.rs"]
mod recorder;
use recorder::Recorder;
use vrrp_engine::linux::Options;
use vrrp_engine::testlab::{
    Capture, DriverThread, Lab, garp_in_frame, privileged, vrrp_in_frame, wait_for,
};
use vrrp_engine::{
    AdvertInterval, Centiseconds, EngineConfig, InstanceConfig, InterfaceConfig, InterfaceId,
    State, VirtualAddress, VmacConfig,
};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100));
const VMAC51: [u8; 6] = [0, 0, 0x5e, 0, 1, 51];

/// Waits for `rec` to report `want` last; on failure prints what it logged.
fn wait_state(rec: &Recorder, want: State, timeout: Duration) -> bool {
    let ok = wait_for(timeout, || rec.state() == Some(want));
    if !ok {
        rec.dump("driver");
        eprintln!("states: {:?}", rec.states());
    }
    ok
}

/// VRRPv3 at 100 ms on `interface` with one VIP and no second GARP burst.
fn instance(interface: InterfaceId, priority: u8, src: IpAddr) -> InstanceConfig {
    let mut vi = InstanceConfig::new("VI_1", interface, 51, priority, src);
    vi.advert_interval = AdvertInterval::V3(Centiseconds::new(10).unwrap());
    vi.virtual_addresses = vec![VirtualAddress::host(VIP)].into();
    vi.garp.master_delay = None;
    vi
}

fn config(vi: InstanceConfig, interfaces: Vec<InterfaceConfig>) -> EngineConfig {
    EngineConfig {
        instances: vec![vi],
        interfaces,
        log_interval: Duration::from_secs(1),
        ..Default::default()
    }
}

/// The addresses on `dev` in `host` (none if it does not exist).
fn addresses_on(lab: &Lab, host: usize, dev: &str) -> Vec<IpAddr> {
    lab.addresses_on(host, dev).unwrap_or_default()
}

/// `ip -d link show dev` of `dev` in `host`, if it exists.
fn link_details(lab: &Lab, host: usize, dev: &str) -> Option<String> {
    lab.ip(host, &["-d", "link", "show", "dev", dev]).ok()
}

/// A veth pair `name`/`name`p inside `host`, both up, `name` with `addr`/24.
fn add_veth(lab: &Lab, host: usize, name: &str, addr: &str) {
    let peer = format!("{name}p");
    lab.ip(
        host,
        &["link", "add", name, "type", "veth", "peer", "name", &peer],
    )
    .unwrap();
    lab.ip(host, &["addr", "add", &format!("{addr}/24"), "dev", name])
        .unwrap();
    lab.ip(host, &["link", "set", &peer, "up"]).unwrap();
    lab.ip(host, &["link", "set", name, "up"]).unwrap();
}

fn ifindex_of(lab: &Lab, host: usize, dev: &str) -> u32 {
    let out = lab.ip(host, &["-o", "link", "show", "dev", dev]).unwrap();
    out.split(':').next().unwrap().trim().parse().unwrap()
}

/// Adverts of VRID 51 seen in `cap` from `src` (IPv4), as (source MAC, destination IP).
fn adverts_from(cap: &Capture, src: IpAddr) -> Vec<([u8; 6], Ipv4Addr)> {
    cap.frames()
        .iter()
        .filter(|(_, f)| vrrp_in_frame(f).is_some_and(|(s, vrid, _)| s == src && vrid == 51))
        .map(|(_, f)| {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&f[6..12]);
            let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
            (mac, dst)
        })
        .collect()
}

/// The interface is missing at start: FAULT (not an error). It appears: the driver finds its
/// address, opens the socket and the instance becomes MASTER with the VIP on it, advertising
/// from that address. It is deleted: FAULT. It is re-created (a new ifindex): MASTER again,
/// with the VIP re-added on the new interface. Its address is replaced: adverts follow.
#[test]
fn netns_missing_interface_then_recreated() {
    if !privileged("netns_missing_interface_then_recreated").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let rec = Recorder::default();
    let ifc = InterfaceConfig::named("vx0");
    let id = ifc.id;
    let d = lab
        .spawn_driver(
            0,
            move |_, _| {
                let src = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                config(instance(id, 200, src), vec![ifc])
            },
            rec.clone(),
        )
        .unwrap();
    assert!(wait_state(&rec, State::Fault, Duration::from_secs(5)));
    let cap = Capture::start(&lab, 0).unwrap();
    add_veth(&lab, 0, "vx0", "192.168.77.1");
    let first = ifindex_of(&lab, 0, "vx0");
    assert!(wait_state(&rec, State::Master, Duration::from_secs(5)));
    assert!(
        wait_for(Duration::from_secs(2), || addresses_on(&lab, 0, "vx0")
            .contains(&VIP)),
        "no VIP on vx0"
    );
    let src = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 1));
    assert!(
        wait_for(Duration::from_secs(2), || adverts_from(&cap, src).len()
            >= 3),
        "no adverts from the interface's address"
    );

    lab.ip(0, &["link", "del", "vx0"]).unwrap();
    assert!(wait_state(&rec, State::Fault, Duration::from_secs(5)));

    add_veth(&lab, 0, "vx0", "192.168.77.1");
    assert_ne!(
        ifindex_of(&lab, 0, "vx0"),
        first,
        "same ifindex: not a re-creation"
    );
    assert!(wait_state(&rec, State::Master, Duration::from_secs(5)));
    assert!(
        wait_for(Duration::from_secs(2), || addresses_on(&lab, 0, "vx0")
            .contains(&VIP)),
        "no VIP on the re-created vx0"
    );
    let before = adverts_from(&cap, src).len();
    assert!(
        wait_for(Duration::from_secs(2), || adverts_from(&cap, src).len()
            >= before + 3),
        "no adverts on the re-created interface"
    );
    // The source address goes away: the driver moves to the interface's other address
    // (keepalived would keep sending from the deleted one, keepalived-behaviour.md §3.10).
    lab.ip(0, &["addr", "add", "192.168.78.1/24", "dev", "vx0"])
        .unwrap();
    lab.ip(0, &["addr", "del", "192.168.77.1/24", "dev", "vx0"])
        .unwrap();
    let other = IpAddr::V4(Ipv4Addr::new(192, 168, 78, 1));
    assert!(
        wait_for(Duration::from_secs(2), || adverts_from(&cap, other).len()
            >= 3),
        "no adverts from the remaining address"
    );
    assert_eq!(rec.state(), Some(State::Master));
    d.shutdown().unwrap();
    assert!(!addresses_on(&lab, 0, "vx0").contains(&VIP));
}

/// The base interface `base` and the VMAC `vrrp.51` on it.
fn vmac_interfaces(base: &str, ipv6: bool, xmit_base: bool) -> [InterfaceConfig; 2] {
    let base = InterfaceConfig::named(base);
    let mut vmac = InterfaceConfig::named("vrrp.51");
    vmac.vmac = Some(VmacConfig {
        base: base.id,
        mac: VmacConfig::mac_for(51, ipv6),
        xmit_base,
    });
    [base, vmac]
}

/// A VMAC instance on host 0's eth0 with a journal.
fn spawn_vmac(
    lab: &Lab,
    rec: &Recorder,
    journal: std::path::PathBuf,
    xmit_base: bool,
) -> DriverThread {
    let options = Options {
        handle_signals: false,
        journal: Some(journal),
    };
    lab.spawn_driver_with(
        0,
        move |h, _| {
            let ifs = vmac_interfaces(&h.ifname, false, xmit_base);
            let vi = instance(ifs[1].id, 200, IpAddr::V4(h.ipv4));
            config(vi, ifs.into())
        },
        rec.clone(),
        options,
    )
    .unwrap()
}

/// `use_vmac`: the macvlan exists (private mode, the virtual MAC) while running, holds the
/// VIP, and adverts and GARPs leave from the virtual MAC; an orderly stop removes it, and so
/// does the next start after a crash (journal). The peer on host 1 sees the master and stays
/// BACKUP.
#[test]
fn netns_use_vmac() {
    if !privileged("netns_use_vmac").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let journal = lab.dir().join("vrrp.journal");
    let cap = Capture::start(&lab, 1).unwrap();
    let rec = Recorder::default();
    let d = spawn_vmac(&lab, &rec, journal.clone(), false);
    assert!(wait_state(&rec, State::Master, Duration::from_secs(5)));
    let details = link_details(&lab, 0, "vrrp.51").expect("no vrrp.51");
    assert!(details.contains("00:00:5e:00:01:33"), "{details}");
    assert!(details.contains("macvlan mode private"), "{details}");
    assert!(
        details.contains("state UP") || details.contains(",UP"),
        "{details}"
    );
    assert!(wait_for(Duration::from_secs(2), || addresses_on(
        &lab, 0, "vrrp.51"
    )
    .contains(&VIP)));
    assert!(!addresses_on(&lab, 0, "eth0").contains(&VIP));
    let src = IpAddr::V4(lab.host(0).ipv4);
    assert!(wait_for(Duration::from_secs(2), || adverts_from(&cap, src)
        .len()
        >= 3));
    assert!(
        adverts_from(&cap, src)
            .iter()
            .all(|(mac, _)| *mac == VMAC51),
        "an advert left from another MAC"
    );
    let garps: Vec<[u8; 6]> = cap
        .frames()
        .iter()
        .filter(|(_, f)| garp_in_frame(f) == Some(Ipv4Addr::new(10, 99, 0, 100)))
        .map(|(_, f)| f[6..12].try_into().unwrap())
        .collect();
    assert!(!garps.is_empty(), "no GARP");
    assert!(garps.iter().all(|m| *m == VMAC51), "GARP from another MAC");
    let sysctl = |path: &str| {
        let out = lab.command(0, "cat").arg(path).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(sysctl("/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore"), "1");
    assert_eq!(sysctl("/proc/sys/net/ipv4/conf/eth0/arp_filter"), "1");
    assert!(
        std::fs::read_to_string(&journal)
            .unwrap()
            .contains("link vrrp.51")
    );
    d.shutdown().unwrap();
    assert!(
        link_details(&lab, 0, "vrrp.51").is_none(),
        "vrrp.51 left after stop"
    );
    assert_eq!(
        sysctl("/proc/sys/net/ipv4/conf/eth0/arp_filter"),
        "0",
        "base not restored"
    );

    // A crash leaves the VMAC; the next start (with no instance) removes it from the journal.
    let rec2 = Recorder::default();
    let d = spawn_vmac(&lab, &rec2, journal.clone(), false);
    assert!(wait_state(&rec2, State::Master, Duration::from_secs(5)));
    d.abort().unwrap();
    assert!(link_details(&lab, 0, "vrrp.51").is_some());
    let options = Options {
        handle_signals: false,
        journal: Some(journal),
    };
    let d = lab
        .spawn_driver_with(
            0,
            |_, _| EngineConfig::default(),
            Recorder::default(),
            options,
        )
        .unwrap();
    assert!(
        link_details(&lab, 0, "vrrp.51").is_none(),
        "vrrp.51 left after a crash"
    );
    d.shutdown().unwrap();
}

/// A journal naming a VMAC whose name now belongs to another interface (not a virtual router
/// MAC: someone reused the name after the crash): the next start leaves it alone.
#[test]
fn netns_a_reused_vmac_name_is_left_alone() {
    if !privileged("netns_a_reused_vmac_name_is_left_alone").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let journal = lab.dir().join("vrrp.journal");
    lab.ip(
        0,
        &[
            "link", "add", "vrrp.51", "type", "veth", "peer", "name", "kx51",
        ],
    )
    .unwrap();
    std::fs::write(&journal, "link vrrp.51\n").unwrap();
    let rec = Recorder::default();
    let options = Options {
        handle_signals: false,
        journal: Some(journal.clone()),
    };
    let d = lab
        .spawn_driver_with(0, |_, _| EngineConfig::default(), rec.clone(), options)
        .unwrap();
    let present = link_details(&lab, 0, "vrrp.51").is_some();
    d.shutdown().unwrap();
    assert!(present, "a veth named like our old VMAC was deleted");
    assert!(
        rec.lines().iter().any(|l| l.contains("left alone")),
        "{:?}",
        rec.lines()
    );
    assert_eq!(std::fs::read_to_string(&journal).unwrap_or_default(), "");
}

/// `vmac_xmit_base`: adverts leave from the base interface's MAC, the VIP and GARPs stay on
/// the VMAC, and the instance hears its peer through the base (it stays BACKUP to a higher
/// priority). A reload that drops `use_vmac` deletes the VMAC.
#[test]
fn netns_vmac_xmit_base() {
    if !privileged("netns_vmac_xmit_base").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let cap = Capture::start(&lab, 1).unwrap();
    let rec = Recorder::default();
    let d = spawn_vmac(&lab, &rec, lab.dir().join("j"), true);
    assert!(wait_state(&rec, State::Master, Duration::from_secs(5)));
    assert!(wait_for(Duration::from_secs(2), || addresses_on(
        &lab, 0, "vrrp.51"
    )
    .contains(&VIP)));
    let src = IpAddr::V4(lab.host(0).ipv4);
    assert!(wait_for(Duration::from_secs(2), || adverts_from(&cap, src)
        .len()
        >= 3));
    assert!(
        adverts_from(&cap, src)
            .iter()
            .all(|(mac, _)| *mac != VMAC51)
    );
    let garp_from_vmac = cap.frames().iter().any(|(_, f)| {
        garp_in_frame(f) == Some(Ipv4Addr::new(10, 99, 0, 100)) && f[6..12] == VMAC51
    });
    assert!(garp_from_vmac, "no GARP from the VMAC");
    // A higher-priority peer on host 1: heard through the base, so host 0 steps down.
    let peer = Recorder::default();
    let p = lab
        .spawn_driver(
            1,
            |h, i| config(instance(i, 250, IpAddr::V4(h.ipv4)), Vec::new()),
            peer.clone(),
        )
        .unwrap();
    assert!(wait_state(&peer, State::Master, Duration::from_secs(5)));
    assert!(wait_state(&rec, State::Backup, Duration::from_secs(5)));
    assert!(wait_for(Duration::from_secs(2), || !addresses_on(
        &lab, 0, "vrrp.51"
    )
    .contains(&VIP)));
    p.shutdown().unwrap();
    assert!(wait_state(&rec, State::Master, Duration::from_secs(5)));
    let h = lab.host(0).clone();
    let base = InterfaceConfig::named(h.ifname.clone());
    let plain = config(instance(base.id, 200, IpAddr::V4(h.ipv4)), vec![base]);
    *rec.next_config.lock().unwrap() = Some(plain);
    d.reload().unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || link_details(&lab, 0, "vrrp.51")
            .is_none()),
        "reload kept the VMAC"
    );
    assert!(wait_for(Duration::from_secs(5), || lab.has_address(0, VIP)));
    d.shutdown().unwrap();
    assert!(!lab.has_address(0, VIP));
}

/// `mcast_dst_ip`: adverts go to the configured group, and the backup (which joined it) hears
/// them and stays BACKUP.
#[test]
fn netns_mcast_dst_ip() {
    if !privileged("netns_mcast_dst_ip").unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let group: IpAddr = "224.0.0.88".parse().unwrap();
    let with_group = move |prio: u8| {
        move |h: &vrrp_engine::testlab::Host, i: InterfaceId| {
            let mut vi = instance(i, prio, IpAddr::V4(h.ipv4));
            vi.mcast_group = Some(group);
            config(vi, Vec::new())
        }
    };
    let (r1, r2) = (Recorder::default(), Recorder::default());
    let d1 = lab.spawn_driver(0, with_group(200), r1.clone()).unwrap();
    assert!(wait_state(&r1, State::Master, Duration::from_secs(5)));
    let d2 = lab.spawn_driver(1, with_group(100), r2.clone()).unwrap();
    let src = IpAddr::V4(lab.host(0).ipv4);
    assert!(wait_for(Duration::from_secs(2), || adverts_from(&cap, src)
        .len()
        >= 5));
    assert!(
        adverts_from(&cap, src)
            .iter()
            .all(|(_, dst)| IpAddr::V4(*dst) == group),
        "an advert went elsewhere"
    );
    assert!(wait_state(&r2, State::Backup, Duration::from_secs(2)));
    // Ten more adverts (1 s) is over twice the backup's master-down interval (3 x 0.1 s +
    // skew): had it not heard the group, it would have become MASTER by then.
    let seen = adverts_from(&cap, src).len();
    assert!(wait_for(Duration::from_secs(3), || adverts_from(&cap, src)
        .len()
        >= seen + 10));
    assert_eq!(
        r2.state(),
        Some(State::Backup),
        "the backup did not hear the group"
    );
    assert!(!lab.has_address(1, VIP));
    d2.shutdown().unwrap();
    d1.shutdown().unwrap();
}

/// An IPv6 VMAC: `00:00:5e:00:02:VRID`, the VIP on it, adverts from a link-local address of the
/// VMAC (found by the driver: none was configured; random, without DAD) and from the virtual
/// MAC.
#[test]
fn netns_use_vmac_ipv6() {
    if !privileged("netns_use_vmac_ipv6").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    // DAD on for new interfaces (the lab turns it off): the VMAC must skip it anyway.
    let dad = lab
        .command(0, "sh")
        .args(["-c", "echo 1 > /proc/sys/net/ipv6/conf/default/accept_dad"])
        .status()
        .unwrap();
    assert!(dad.success());
    let cap = Capture::start(&lab, 1).unwrap();
    let rec = Recorder::default();
    let vip6: IpAddr = "fd99::100".parse().unwrap();
    let d = lab
        .spawn_driver(
            0,
            move |h, _| {
                let ifs = vmac_interfaces(&h.ifname, true, false);
                let mut vi = instance(ifs[1].id, 200, IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
                vi.virtual_addresses = vec![VirtualAddress::host(vip6)].into();
                config(vi, ifs.into())
            },
            rec.clone(),
        )
        .unwrap();
    assert!(wait_state(&rec, State::Master, Duration::from_secs(5)));
    let details = link_details(&lab, 0, "vrrp.51").expect("no vrrp.51");
    assert!(details.contains("00:00:5e:00:02:33"), "{details}");
    // A random link-local without DAD (the kernel may still show it tentative for a moment
    // while its address work waits for the RTNL lock on a busy machine).
    let sysctl = |key: &str| {
        let path = format!("/proc/sys/net/ipv6/conf/vrrp.51/{key}");
        let out = lab.command(0, "cat").arg(path).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(sysctl("addr_gen_mode"), "3");
    assert_eq!(sysctl("accept_dad"), "0");
    assert!(wait_for(Duration::from_secs(2), || addresses_on(
        &lab, 0, "vrrp.51"
    )
    .contains(&vip6)));
    let from_vmac = |cap: &Capture| {
        cap.frames()
            .iter()
            .filter(|(_, f)| {
                vrrp_in_frame(f).is_some_and(|(s, v, _)| {
                    v == 51 && matches!(s, IpAddr::V6(a) if a.segments()[0] == 0xfe80)
                }) && f[6..12] == [0, 0, 0x5e, 0, 2, 51]
            })
            .count()
    };
    assert!(wait_for(Duration::from_secs(5), || from_vmac(&cap) >= 3));
    d.shutdown().unwrap();
    assert!(link_details(&lab, 0, "vrrp.51").is_none());
}

/// A VMAC on a base interface that does not exist yet: FAULT; the base appears: the VMAC is
/// created and the instance becomes MASTER on it; the base is deleted (the kernel deletes the
/// VMAC with it): FAULT; the base comes back: a new VMAC, MASTER again, and a stop removes it.
#[test]
fn netns_vmac_follows_its_base() {
    if !privileged("netns_vmac_follows_its_base").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let rec = Recorder::default();
    let d = lab
        .spawn_driver(
            0,
            |_, _| {
                let ifs = vmac_interfaces("vx0", false, false);
                let src = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                config(instance(ifs[1].id, 200, src), ifs.into())
            },
            rec.clone(),
        )
        .unwrap();
    assert!(wait_state(&rec, State::Fault, Duration::from_secs(5)));
    assert!(link_details(&lab, 0, "vrrp.51").is_none());
    for round in 0..2 {
        add_veth(&lab, 0, "vx0", "192.168.77.1");
        assert!(
            wait_state(&rec, State::Master, Duration::from_secs(5)),
            "round {round}"
        );
        let details = link_details(&lab, 0, "vrrp.51").expect("no VMAC");
        assert!(details.contains("00:00:5e:00:01:33"), "{details}");
        assert!(wait_for(Duration::from_secs(2), || addresses_on(
            &lab, 0, "vrrp.51"
        )
        .contains(&VIP)));
        if round == 0 {
            lab.ip(0, &["link", "del", "vx0"]).unwrap();
            assert!(wait_state(&rec, State::Fault, Duration::from_secs(5)));
            assert!(link_details(&lab, 0, "vrrp.51").is_none());
        }
    }
    d.shutdown().unwrap();
    assert!(link_details(&lab, 0, "vrrp.51").is_none());
}
