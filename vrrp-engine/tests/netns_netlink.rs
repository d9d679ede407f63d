//! Address, route and rule attributes, and the `static_*` entries, installed by the Linux
//! driver in network namespaces (needs root; see `vrrp_engine::testlab`). Every assertion reads
//! the kernel's own view with `ip`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use vrrp_engine::linux::Options;
use vrrp_engine::testlab::{DriverThread, Lab, privileged, wait_for};
use vrrp_engine::{
    AdvertInterval, Centiseconds, EngineConfig, InstanceConfig, InterfaceId, NextHop, RouteKind,
    RuleAction, State, StaticConfig, VirtualAddress, VirtualRoute, VirtualRule,
};

#[path = "common/recorder.rs"]
mod recorder;
use recorder::Recorder;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// One VRRPv3 instance at 100 ms on the host's eth0, primary address `src`.
fn instance(ifc: InterfaceId, src: IpAddr, priority: u8) -> InstanceConfig {
    let mut vi = InstanceConfig::new("VI_1", ifc, 51, priority, src);
    vi.advert_interval = AdvertInterval::V3(Centiseconds::new(10).unwrap());
    vi.garp.master_delay = None;
    vi
}

/// The show command's output, or "" (an empty table does not exist for `ip route`).
fn show(lab: &Lab, host: usize, args: &[&str]) -> String {
    lab.ip(host, args).unwrap_or_default()
}

/// The line of `text` that contains `needle`, or "".
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines().find(|l| l.contains(needle)).unwrap_or("")
}

/// One master instance with every kind of address, route and rule attribute.
fn attribute_config(ifc: InterfaceId, src: IpAddr) -> EngineConfig {
    let mut vi = instance(ifc, src, 200);
    let mut a = VirtualAddress::host(ip("10.98.0.100"));
    a.prefix_len = 24;
    a.label = Some("eth0:vip".into());
    a.broadcast = Some(Ipv4Addr::new(10, 98, 0, 255));
    let mut b = VirtualAddress::host(ip("10.97.0.5"));
    b.scope = Some(253);
    b.excluded = true;
    let mut c = VirtualAddress::host(ip("fd98::100"));
    c.excluded = true;
    let mut e = VirtualAddress::host(ip("fd97::1"));
    e.prefix_len = 64;
    e.noprefixroute = true;
    e.excluded = true;
    vi.virtual_addresses = vec![a, b, c, e].into();
    vi.virtual_routes = vec![
        VirtualRoute {
            kind: RouteKind::Blackhole,
            table: Some(100),
            ..VirtualRoute::to(ip("203.0.113.0"), 24)
        },
        VirtualRoute {
            gateway: Some(ip("10.99.0.254")),
            source: Some(ip("10.98.0.100")),
            interface: Some(ifc),
            table: Some(100),
            metric: Some(5),
            ..VirtualRoute::to(ip("198.51.100.0"), 24)
        },
        VirtualRoute {
            kind: RouteKind::Unreachable,
            table: Some(100),
            ..VirtualRoute::to(ip("198.51.101.0"), 24)
        },
        VirtualRoute {
            table: Some(100),
            nexthops: vec![
                NextHop {
                    gateway: Some(ip("10.99.0.253")),
                    interface: Some(ifc),
                    weight: 2,
                    onlink: false,
                },
                NextHop {
                    gateway: Some(ip("10.99.0.254")),
                    interface: Some(ifc),
                    weight: 1,
                    onlink: false,
                },
            ],
            ..VirtualRoute::to(ip("198.51.102.0"), 24)
        },
    ]
    .into();
    vi.virtual_rules = vec![
        VirtualRule {
            from: Some((ip("10.98.0.0"), 24)),
            table: Some(100),
            priority: Some(1000),
            ..VirtualRule::new(false)
        },
        VirtualRule {
            fwmark: Some((0x10, Some(0xff))),
            iif: Some("eth0".to_owned()),
            table: Some(100),
            priority: Some(1001),
            ..VirtualRule::new(false)
        },
        VirtualRule {
            to: Some((ip("fd98::"), 64)),
            action: RuleAction::Prohibit,
            priority: Some(1002),
            ..VirtualRule::new(true)
        },
    ]
    .into();
    EngineConfig {
        instances: vec![vi],
        ..Default::default()
    }
}

/// Waits until `rec`'s last notified state is MASTER.
fn wait_master(rec: &Recorder) -> bool {
    wait_for(Duration::from_secs(2), || {
        rec.state() == Some(State::Master)
    })
}

/// A master with every kind of attribute: assert them in the kernel, restore a typed route
/// deleted behind its back, then remove everything on stop.
#[test]
fn netns_vip_route_rule_attributes() {
    if !privileged("netns_vip_route_rule_attributes").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let src = IpAddr::V4(lab.host(0).ipv4);
    let rec = Recorder::default();
    let driver = lab
        .spawn_driver(0, move |_, ifc| attribute_config(ifc, src), rec.clone())
        .unwrap();
    let rules4 = || show(&lab, 0, &["rule", "show"]);
    let ok = wait_for(Duration::from_secs(5), || rules4().contains("1001:"));
    assert!(ok, "rules never appeared: {:#?}", rec.lines());
    // The MASTER notification follows the installation of the rules.
    assert!(wait_master(&rec), "{:?}", rec.states());
    let addrs = show(&lab, 0, &["-d", "addr", "show", "dev", "eth0"]);
    let vip = line_with(&addrs, "10.98.0.100/24");
    assert!(
        vip.contains("brd 10.98.0.255") && vip.ends_with("eth0:vip"),
        "{addrs}"
    );
    assert!(
        line_with(&addrs, "10.97.0.5/32").contains("scope link"),
        "{addrs}"
    );
    let host6 = line_with(&addrs, "fd98::100/128");
    assert!(
        host6.contains("deprecated") && host6.contains("nodad"),
        "{addrs}"
    );
    let net6 = line_with(&addrs, "fd97::1/64");
    assert!(
        net6.contains("noprefixroute") && !net6.contains("deprecated"),
        "{addrs}"
    );
    let table = || show(&lab, 0, &["route", "show", "table", "100"]);
    let t = table();
    assert!(
        line_with(&t, "203.0.113.0/24").starts_with("blackhole"),
        "{t}"
    );
    assert!(
        line_with(&t, "198.51.101.0/24").starts_with("unreachable"),
        "{t}"
    );
    let via = line_with(&t, "198.51.100.0/24");
    assert!(
        via.contains("via 10.99.0.254")
            && via.contains("proto keepalived")
            && via.contains("src 10.98.0.100")
            && via.contains("metric 5"),
        "{t}"
    );
    assert!(
        t.contains("nexthop via 10.99.0.253 dev eth0 weight 2")
            && t.contains("nexthop via 10.99.0.254 dev eth0 weight 1"),
        "{t}"
    );
    let r4 = rules4();
    assert!(
        line_with(&r4, "1000:").contains("from 10.98.0.0/24 lookup 100 proto keepalived"),
        "{r4}"
    );
    let mark = line_with(&r4, "1001:");
    assert!(
        mark.contains("fwmark 0x10/0xff")
            && mark.contains("iif eth0")
            && mark.contains("lookup 100"),
        "{r4}"
    );
    let r6 = show(&lab, 0, &["-6", "rule", "show"]);
    assert!(
        line_with(&r6, "1002:").contains("to fd98::/64 prohibit"),
        "{r6}"
    );
    // A typed route removed behind the master's back comes back.
    lab.ip(
        0,
        &[
            "route",
            "del",
            "blackhole",
            "203.0.113.0/24",
            "table",
            "100",
        ],
    )
    .unwrap();
    let ok = wait_for(Duration::from_secs(3), || {
        line_with(&table(), "203.0.113.0/24").starts_with("blackhole")
    });
    assert!(ok, "blackhole route not restored: {:#?}", rec.lines());
    // So does a rule.
    lab.ip(0, &["rule", "del", "priority", "1001"]).unwrap();
    let ok = wait_for(Duration::from_secs(3), || rules4().contains("1001:"));
    assert!(ok, "rule not restored: {:#?}", rec.lines());
    let refused: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.contains("refused") || l.contains("not ours"))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    driver.shutdown().unwrap();
    assert_attributes_removed(&lab);
}

/// After [`netns_vip_route_rule_attributes`]'s stop: nothing it installed remains.
fn assert_attributes_removed(lab: &Lab) {
    let addrs = show(lab, 0, &["addr", "show", "dev", "eth0"]);
    for gone in ["10.98.0.100", "10.97.0.5", "fd98::100", "fd97::1"] {
        assert!(!addrs.contains(gone), "{gone} left behind: {addrs}");
    }
    assert_eq!(
        show(lab, 0, &["route", "show", "table", "100"]).trim(),
        "",
        "routes left behind"
    );
    let r4 = show(lab, 0, &["rule", "show"]);
    assert!(!r4.contains("1000:") && !r4.contains("1001:"), "{r4}");
    assert!(!show(lab, 0, &["-6", "rule", "show"]).contains("1002:"));
}

fn statics(ifc: InterfaceId) -> StaticConfig {
    let mut a = VirtualAddress::host(ip("10.96.0.1"));
    a.prefix_len = 24;
    a.interface = Some(ifc);
    a.label = Some("eth0:st".into());
    StaticConfig {
        addresses: vec![a],
        routes: vec![VirtualRoute {
            gateway: Some(ip("10.99.0.254")),
            table: Some(200),
            ..VirtualRoute::to(ip("192.0.2.0"), 24)
        }],
        rules: vec![VirtualRule {
            from: Some((ip("10.96.0.0"), 24)),
            table: Some(200),
            priority: Some(2000),
            ..VirtualRule::new(false)
        }],
    }
}

/// Our driver at priority 100 with the static entries (or none), and a journal.
fn spawn_backup(lab: &Lab, journal: &Path, with_statics: bool, rec: &Recorder) -> DriverThread {
    let src = IpAddr::V4(lab.host(0).ipv4);
    let options = Options {
        handle_signals: false,
        journal: Some(journal.to_path_buf()),
    };
    lab.spawn_driver_with(
        0,
        move |_, ifc| {
            let mut vi = instance(ifc, src, 100);
            vi.virtual_addresses = vec![VirtualAddress::host(ip("10.99.0.100"))].into();
            EngineConfig {
                instances: vec![vi],
                statics: if with_statics {
                    statics(ifc)
                } else {
                    StaticConfig::default()
                },
                ..Default::default()
            }
        },
        rec.clone(),
        options,
    )
    .unwrap()
}

/// Static entries: installed at start whatever the VRRP state (here BACKUP), restored when
/// removed behind our back, removed at an orderly stop, and after a crash removed by the next
/// start's journal.
#[test]
fn netns_static_entries() {
    if !privileged("netns_static_entries").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let journal = lab.dir().join("statics.journal");
    // A higher-priority master on host 1 keeps ours in BACKUP.
    let peer_src = IpAddr::V4(lab.host(1).ipv4);
    let master = lab
        .spawn_driver(
            1,
            move |_, ifc| {
                let mut vi = instance(ifc, peer_src, 200);
                vi.virtual_addresses = vec![VirtualAddress::host(ip("10.99.0.100"))].into();
                EngineConfig {
                    instances: vec![vi],
                    ..Default::default()
                }
            },
            Recorder::default(),
        )
        .unwrap();
    assert!(wait_for(Duration::from_secs(5), || lab
        .has_address(1, ip("10.99.0.100"))));
    let st_addr = ip("10.96.0.1");
    let has_route = || show(&lab, 0, &["route", "show", "table", "200"]).contains("192.0.2.0/24");
    let has_rule = || {
        line_with(&show(&lab, 0, &["rule", "show"]), "2000:")
            .contains("from 10.96.0.0/24 lookup 200")
    };
    let present = || lab.has_address(0, st_addr) && has_route() && has_rule();
    let absent = || !lab.has_address(0, st_addr) && !has_route() && !has_rule();

    let rec = Recorder::default();
    let d = spawn_backup(&lab, &journal, true, &rec);
    // Installed when the runner starts its loop, just after `spawn_driver_with` returns.
    assert!(
        wait_for(Duration::from_secs(3), present),
        "statics not installed at start"
    );
    let addrs = show(&lab, 0, &["addr", "show", "dev", "eth0"]);
    assert!(
        line_with(&addrs, "10.96.0.1/24").ends_with("eth0:st"),
        "{addrs}"
    );
    assert!(wait_for(Duration::from_secs(3), || rec.state()
        == Some(State::Backup)));
    assert!(!lab.has_address(0, ip("10.99.0.100")));
    assert!(present(), "statics must not depend on the VRRP state");
    lab.ip(0, &["addr", "del", "10.96.0.1/24", "dev", "eth0"])
        .unwrap();
    let ok = wait_for(Duration::from_secs(3), || lab.has_address(0, st_addr));
    assert!(ok, "static address not restored: {:#?}", rec.lines());
    lab.ip(0, &["route", "del", "192.0.2.0/24", "table", "200"])
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(3), has_route),
        "static route not restored: {:#?}",
        rec.lines()
    );
    lab.ip(0, &["rule", "del", "priority", "2000"]).unwrap();
    assert!(
        wait_for(Duration::from_secs(3), has_rule),
        "static rule not restored: {:#?}",
        rec.lines()
    );
    d.shutdown().unwrap();
    assert!(absent(), "statics left behind after an orderly stop");

    // A crash leaves them; the next start (configured without them) removes them.
    let d = spawn_backup(&lab, &journal, true, &Recorder::default());
    assert!(wait_for(Duration::from_secs(3), present));
    d.abort().unwrap();
    assert!(present(), "the crash should have left the statics");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        text.contains("10.96.0.1/24")
            && text.contains("192.0.2.0/24")
            && text.contains("priority 2000"),
        "{text}"
    );
    let rec = Recorder::default();
    let d = spawn_backup(&lab, &journal, false, &rec);
    assert!(absent(), "the journal did not clean up: {:#?}", rec.lines());
    d.shutdown().unwrap();
    master.shutdown().unwrap();
}

/// A reload applies the static entries by difference: what the new configuration drops is
/// removed, what it adds is installed, what it keeps stays.
#[test]
fn netns_static_entries_reload() {
    if !privileged("netns_static_entries_reload").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let journal = lab.dir().join("reload.journal");
    let rec = Recorder::default();
    let d = spawn_backup(&lab, &journal, true, &rec);
    let has_route = || show(&lab, 0, &["route", "show", "table", "200"]).contains("192.0.2.0/24");
    let has_rule = || show(&lab, 0, &["rule", "show"]).contains("2000:");
    assert!(wait_for(Duration::from_secs(3), || {
        lab.has_address(0, ip("10.96.0.1")) && has_route() && has_rule()
    }));
    let ifc = InterfaceId(lab.ifindex(0).unwrap());
    let mut next = EngineConfig {
        instances: vec![{
            let mut vi = instance(ifc, IpAddr::V4(lab.host(0).ipv4), 100);
            vi.virtual_addresses = vec![VirtualAddress::host(ip("10.99.0.100"))].into();
            vi
        }],
        statics: statics(ifc),
        ..Default::default()
    };
    next.statics.addresses[0].addr = ip("10.96.0.2");
    next.statics.rules.clear();
    *rec.next_config.lock().unwrap() = Some(next);
    d.reload().unwrap();
    let ok = wait_for(Duration::from_secs(3), || {
        lab.has_address(0, ip("10.96.0.2")) && !has_rule()
    });
    assert!(ok, "reload not applied: {:#?}", rec.lines());
    assert!(!lab.has_address(0, ip("10.96.0.1")), "dropped static left");
    assert!(has_route(), "kept static route removed");
    d.shutdown().unwrap();
    assert!(!lab.has_address(0, ip("10.96.0.2")) && !has_route());
    assert_eq!(std::fs::read_to_string(&journal).unwrap().trim(), "");
}

/// `Rtnl::remove_remaining`, the last step of an orderly stop: whatever is still recorded as
/// ours (an address, a route, a rule) is removed, and only that: an address that was there
/// before us stays.
#[test]
fn netns_remove_remaining_takes_only_ours() {
    use vrrp_engine::linux::netlink::{Added, Rtnl};
    if !privileged("netns_remove_remaining_takes_only_ours").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    lab.ip(0, &["addr", "add", "10.99.0.78/32", "dev", "eth0"])
        .unwrap();
    let left = lab
        .spawn_in(0, |h| {
            let ifc = InterfaceId(vrrp_engine::linux::if_index(&h.ifname)?);
            let mut rtnl = Rtnl::new().map_err(std::io::Error::other)?;
            let mut ours = VirtualAddress::host(ip("10.99.0.77"));
            ours.interface = Some(ifc);
            let mut foreign = VirtualAddress::host(ip("10.99.0.78"));
            foreign.interface = Some(ifc);
            assert_eq!(rtnl.add_address(ifc, &ours).unwrap(), Added::New);
            assert_eq!(
                rtnl.add_address(ifc, &foreign).unwrap(),
                Added::AlreadyPresent
            );
            let route = VirtualRoute {
                interface: Some(ifc),
                ..VirtualRoute::to(ip("198.51.100.0"), 24)
            };
            assert_eq!(rtnl.add_route(&route).unwrap(), Added::New);
            let rule = VirtualRule {
                from: Some((ip("10.98.0.0"), 16)),
                table: Some(100),
                ..VirtualRule::new(false)
            };
            assert_eq!(rtnl.add_rule(&rule).unwrap(), Added::New);
            assert_eq!(rtnl.installed().len(), 3);
            let failures = rtnl.remove_remaining();
            assert!(failures.is_empty(), "{failures:?}");
            Ok(rtnl.installed().len())
        })
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(left, 0, "removed entries still recorded as ours");
    let addrs = show(&lab, 0, &["-4", "addr", "show", "dev", "eth0"]);
    assert!(!addrs.contains("10.99.0.77/32"), "{addrs}");
    assert!(
        addrs.contains("10.99.0.78/32"),
        "a foreign address was removed: {addrs}"
    );
    let routes = show(&lab, 0, &["route", "show"]);
    assert!(!routes.contains("198.51.100.0/24"), "{routes}");
    let rules = show(&lab, 0, &["rule", "show"]);
    assert!(!rules.contains("10.98.0.0/16"), "{rules}");
}
