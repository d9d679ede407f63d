//! The driver as a daemon runs it: in its own process, on the main thread, stopped by real
//! signals. `SIGTERM` must give an orderly stop (VIP removed, priority-0 advert, exit status 0);
//! `SIGKILL` leaves the VIP behind and the peer takes over after Master_Down_Interval.
//!
//! `harness = false`: the same binary is the test (no `KARS_DRIVER_HELPER` in the environment)
//! and the router process it starts inside a namespace (with it). It answers `--list` like
//! libtest, for cargo-nextest.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_engine::linux::{Exit, NoHooks, Options, Runner, if_index};
use vrrp_engine::testlab::{Capture, Lab, privileged, vrrp_in_frame, wait_for};
use vrrp_engine::{
    AdvertInterval, Centiseconds, EngineConfig, InstanceConfig, InterfaceId, VirtualAddress,
};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100));
const HELPER: &str = "KARS_DRIVER_HELPER";

fn config(priority: u8, src: IpAddr, ifc: InterfaceId) -> EngineConfig {
    let mut vi = InstanceConfig::new("VI_1", ifc, 51, priority, src);
    vi.advert_interval = AdvertInterval::V3(Centiseconds::new(10).unwrap());
    vi.virtual_addresses = vec![VirtualAddress::host(VIP)].into();
    vi.garp.master_delay = None;
    EngineConfig {
        instances: vec![vi],
        ..Default::default()
    }
}

/// The router process: `KARS_DRIVER_HELPER="PRIORITY SOURCE"`, interface `eth0`.
fn helper(spec: &str) -> ! {
    let mut words = spec.split_whitespace();
    let priority: u8 = words.next().unwrap().parse().unwrap();
    let src: IpAddr = words.next().unwrap().parse().unwrap();
    let ifc = InterfaceId(if_index("eth0").unwrap());
    let runner = Runner::new(
        config(priority, src, ifc),
        Box::new(NoHooks),
        Options::default(),
    )
    .unwrap();
    match runner.run() {
        Ok(Exit::Shutdown) => std::process::exit(0),
        other => {
            eprintln!("helper: {other:?}");
            std::process::exit(1)
        }
    }
}

/// Host 0 runs a router process (priority 200), host 1 a driver thread (100), host 2 captures.
struct Setup {
    lab: Lab,
    cap: Capture,
    pid: u32,
    peer: vrrp_engine::testlab::DriverThread,
}

fn setup() -> Option<Setup> {
    if !privileged("netns_daemon").unwrap() {
        return None;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let mut cmd = lab.command(0, std::env::current_exe().unwrap());
    cmd.env(HELPER, format!("200 {}", lab.host(0).ipv4));
    let pid = lab.spawn_process(cmd).unwrap();
    let peer = lab
        .spawn_driver(
            1,
            |h, i| config(100, IpAddr::V4(h.ipv4), i),
            vrrp_engine::linux::NoHooks,
        )
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || lab.has_address(0, VIP)),
        "the router process never became master"
    );
    Some(Setup {
        lab,
        cap,
        pid,
        peer,
    })
}

fn adverts(cap: &Capture, src: Ipv4Addr, priority: u8) -> Vec<Instant> {
    cap.frames()
        .iter()
        .filter(|(_, f)| vrrp_in_frame(f) == Some((IpAddr::V4(src), 51, priority)))
        .map(|(t, _)| *t)
        .collect()
}

fn sigterm_is_an_orderly_stop() {
    let Some(s) = setup() else { return };
    let a1 = s.lab.host(0).ipv4;
    s.lab.terminate(s.pid).unwrap();
    assert!(s.lab.wait_exit(s.pid, Duration::from_secs(5)).unwrap());
    assert!(!s.lab.has_address(0, VIP), "VIP left behind after SIGTERM");
    assert!(wait_for(Duration::from_secs(1), || !adverts(&s.cap, a1, 0)
        .is_empty()));
    assert!(wait_for(Duration::from_secs(2), || s
        .lab
        .has_address(1, VIP)));
    s.peer.shutdown().unwrap();
}

fn sigkill_leaves_the_vip_and_the_peer_takes_over() {
    let Some(s) = setup() else { return };
    let a1 = s.lab.host(0).ipv4;
    vrrp_engine::testlab::run("kill", &["-KILL", &s.pid.to_string()]).unwrap();
    assert!(s.lab.wait_exit(s.pid, Duration::from_secs(5)).unwrap());
    assert!(wait_for(Duration::from_secs(3), || s
        .lab
        .has_address(1, VIP)));
    assert!(
        adverts(&s.cap, a1, 0).is_empty(),
        "a killed router sent priority 0"
    );
    assert!(
        s.lab.has_address(0, VIP),
        "a killed router cannot remove its VIP"
    );
    let last = *adverts(&s.cap, a1, 200).last().unwrap();
    // Timed on the wire (the peer's first advert as MASTER), not by when this test looked.
    let a2 = s.lab.host(1).ipv4;
    let first = || adverts(&s.cap, a2, 100).into_iter().find(|t| *t > last);
    assert!(wait_for(Duration::from_secs(1), || first().is_some()));
    let took_over = first().unwrap();
    // 3 x 100 ms + (256 - 100) / 256 x 100 ms = 361 ms, plus a margin.
    assert!(
        took_over - last < Duration::from_millis(561),
        "took over {:?} after the last advert",
        took_over - last
    );
    s.peer.shutdown().unwrap();
}

fn main() {
    if let Ok(spec) = std::env::var(HELPER) {
        helper(&spec);
    }
    let tests: [(&str, fn()); 2] = [
        ("sigterm_is_an_orderly_stop", sigterm_is_an_orderly_stop),
        (
            "sigkill_leaves_the_vip_and_the_peer_takes_over",
            sigkill_leaves_the_vip_and_the_peer_takes_over,
        ),
    ];
    vrrp_engine::testlab::run_harnessless(&tests);
}
