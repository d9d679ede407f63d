//! Scale benchmark: one engine with 10,000 VRRP instances (simulated traffic, no sockets).
//!
//! Measures memory per instance (RSS growth while building and starting the engine) and the
//! rate at which the engine handles adverts, with and without the `vrrp-proto` decode, plus the
//! timer path of 10,000 masters. Run with:
//!
//! ```text
//! cargo bench -p vrrp-engine --bench scale
//! ```

// Figures are printed as floating point; precision loss on counts this small is irrelevant.
#![allow(clippy::cast_precision_loss)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant as WallClock};

use vrrp_engine::sim::ipv4_datagram;
use vrrp_engine::{
    Action, Engine, EngineConfig, InstanceConfig, InstanceId, Instant, InterfaceId, Priority,
    SyncGroupConfig, VirtualAddress,
};
use vrrp_proto::{Addresses, AdvertInterval, Auth, Ipv4ChecksumMode, Ipv4Header, Repr, Seconds};

const N: usize = 10_000;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn slot(k: usize) -> (InterfaceId, u8) {
    (InterfaceId(1 + (k / 250) as u32), 1 + (k % 250) as u8)
}

fn our_addr(k: usize) -> Ipv4Addr {
    Ipv4Addr::from_bits(0x0a00_0000 | (k as u32) << 8 | 0x01)
}

fn peer_addr(k: usize) -> Ipv4Addr {
    Ipv4Addr::from_bits(0x0a00_0000 | (k as u32) << 8 | 0x02)
}

fn vip(k: usize) -> Ipv4Addr {
    Ipv4Addr::from_bits(0x0a00_0000 | (k as u32) << 8 | 0x64)
}

fn config(prio: u8) -> EngineConfig {
    let instances = (0..N)
        .map(|k| {
            let (ifc, vrid) = slot(k);
            let mut c =
                InstanceConfig::new(format!("VI_{k}"), ifc, vrid, prio, IpAddr::V4(our_addr(k)));
            c.virtual_addresses = vec![VirtualAddress::host(IpAddr::V4(vip(k)))].into();
            c
        })
        .collect();
    EngineConfig {
        instances,
        log_interval: Duration::from_secs(60),
        ..Default::default()
    }
}

/// One advert per instance from a higher-priority peer, as IPv4 datagrams.
fn packets() -> Vec<(InterfaceId, Vec<u8>)> {
    (0..N)
        .map(|k| {
            let (ifc, vrid) = slot(k);
            let vips = [vip(k)];
            let repr = Repr {
                vrid,
                priority: 200,
                interval: AdvertInterval::V2(Seconds(1)),
                auth: Auth::None,
                addresses: Addresses::v4(&vips),
            };
            let header = Ipv4Header {
                src: peer_addr(k),
                dst: vrrp_proto::vrrp::MULTICAST_V4,
                ident: 1,
                ttl: 255,
                tos: 0xc0,
            };
            let datagram = ipv4_datagram(&repr, &header, Ipv4ChecksumMode::PseudoHeader, None)
                .expect("encodes");
            (ifc, datagram)
        })
        .collect()
}

fn drain(e: &mut Engine) -> usize {
    let mut n = 0;
    while let Some(a) = e.poll_action() {
        black_box(&a);
        if matches!(a, Action::SendAdvert(_)) {
            n += 1;
        }
    }
    n
}

/// Prints one throughput line.
fn report(what: &str, count: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{what}: {count} in {secs:.3} s = {:.0}/s ({:.0} ns each)",
        count as f64 / secs,
        secs * 1e9 / count as f64
    );
}

fn main() {
    // Memory: build and start 10,000 backups, measure RSS growth. The config is built first
    // so that only the engine's own memory is counted (Engine::new takes it by value and keeps
    // what it needs; the rest is freed).
    let cfg = config(100);
    let before = rss_kib().unwrap_or(0);
    let mut engine = Engine::new(cfg).expect("valid configuration");
    let now = Instant::ZERO;
    engine.start(now);
    drain(&mut engine);
    let after = rss_kib().unwrap_or(0);
    let grown = after.saturating_sub(before);
    let per_instance = (grown * 1024) as f64 / N as f64;
    println!("instances: {N}");
    println!(
        "memory: RSS +{grown} KiB, {per_instance:.0} bytes per instance (1 VIP, IPv4, VRRPv2)"
    );

    // Adverts: each backup hears its master. Timestamps advance 100 µs per round so that every
    // advert restarts a down timer (the common, full path).
    let pkts = packets();
    let rounds = 200u64;
    let mut t = now;
    let start = WallClock::now();
    for _ in 0..rounds {
        t = t + Duration::from_micros(100);
        for (ifc, bytes) in &pkts {
            let rx = vrrp_proto::decode_ipv4(bytes).expect("decodes");
            engine.handle_advert(t, *ifc, &rx);
        }
        drain(&mut engine);
    }
    let total = rounds * N as u64;
    report(
        "adverts decoded + validated + handled",
        total,
        start.elapsed(),
    );
    let decoded: Vec<_> = pkts
        .iter()
        .map(|(ifc, b)| (*ifc, vrrp_proto::decode_ipv4(b).expect("decodes")))
        .collect();
    let start = WallClock::now();
    for _ in 0..rounds {
        t = t + Duration::from_micros(100);
        for (ifc, rx) in &decoded {
            engine.handle_advert(t, *ifc, rx);
        }
        drain(&mut engine);
    }
    report(
        "adverts validated + handled (pre-decoded)",
        total,
        start.elapsed(),
    );
    let c = engine
        .counters(vrrp_engine::InstanceId(0))
        .expect("instance 0");
    assert_eq!(c.rcvd_advertisements, 2 * rounds, "every advert accepted");

    // The same with the instances paired into 5,000 sync groups.
    let mut cfg = config(100);
    cfg.sync_groups = (0..N / 2)
        .map(|g| SyncGroupConfig {
            name: format!("G_{g}"),
            members: vec![InstanceId(2 * g as u32), InstanceId(2 * g as u32 + 1)],
            tracking_weight: false,
            track: vec![],
        })
        .collect();
    let mut grouped = Engine::new(cfg).expect("valid configuration");
    grouped.start(now);
    drain(&mut grouped);
    let start = WallClock::now();
    for _ in 0..rounds {
        t = t + Duration::from_micros(100);
        for (ifc, rx) in &decoded {
            grouped.handle_advert(t, *ifc, rx);
        }
        drain(&mut grouped);
    }
    report(
        "adverts validated + handled, 5,000 sync groups of 2 (pre-decoded)",
        total,
        start.elapsed(),
    );

    // Timers: 10,000 owners (priority 255) are MASTER at once; run 60 s of virtual time.
    let mut cfg = config(255);
    for c in &mut cfg.instances {
        c.priority = Priority(255);
    }
    let mut masters = Engine::new(cfg).expect("valid configuration");
    masters.start(Instant::ZERO);
    drain(&mut masters);
    let start = WallClock::now();
    let end = Instant::ZERO + Duration::from_secs(60);
    let mut sent = 0usize;
    while let Some(d) = masters.poll_timeout() {
        if d > end {
            break;
        }
        masters.handle_timeout(d);
        sent += drain(&mut masters);
    }
    report(
        "timer-driven adverts from 10,000 masters over 60 s virtual",
        sent as u64,
        start.elapsed(),
    );
}
