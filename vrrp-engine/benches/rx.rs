//! Receive-path benchmark: the per-advert work of a BACKUP router in the daemon scale bench's
//! 10 ms mode (`keepalived-bin/benches/vrrp_scale.rs`, `SCALE_MODES=v3`), without sockets.
//!
//! 100 `VRRPv3` instances on 8 interfaces (instance `i` on interface `i % 8`, VRID `i / 8 + 1`,
//! one VIP, `advert_int 0.01`), all BACKUP at priority 100; their master (priority 150) sends
//! one advert each per 10 ms of virtual time. Each advert goes through what the Linux driver does
//! with one received datagram when the daemon wakes for every packet (`vrrp_rt_priority`):
//! `vrrp_proto::decode_ipv4`, `Engine::handle_advert`, draining `Engine::poll_action` if
//! `Engine::has_pending_actions`, then `Engine::poll_timeout` for the loop's timer. Prints
//! nanoseconds per advert (wall clock, best of `RX_BENCH_RUNS` runs of `RX_BENCH_ROUNDS` rounds
//! of 100 adverts). `RX_BENCH_EVICT_KB` (0) sets a buffer written through before each round, so
//! that each round starts with the engine's data out of the caches, as in the real daemon (where
//! 10 ms of kernel work and other processes pass between two rounds); 8192 covers this
//! machine's L2 and most of its L3 share.
//!
//! ```text
//! cargo bench -p vrrp-engine --bench rx
//! ```
//!
//! For repeatable instruction counts on a busy machine, run the built binary under callgrind
//! with a few rounds and divide the `Engine`-side total by the advert count it prints:
//!
//! ```text
//! RX_BENCH_ROUNDS=100 RX_BENCH_RUNS=1 valgrind --tool=callgrind target/release/deps/rx-HASH
//! ```

// Figures are printed as floating point; precision loss on counts this small is irrelevant.
#![allow(clippy::cast_precision_loss)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant as WallClock};

use vrrp_engine::sim::ipv4_datagram;
use vrrp_engine::{Engine, EngineConfig, InstanceConfig, Instant, InterfaceId, VirtualAddress};
use vrrp_proto::{
    Addresses, AdvertInterval, Auth, Centiseconds, Ipv4ChecksumMode, Ipv4Header, Repr,
};

/// Instances, as in the scale bench's `SCALE_N_V3`.
const N: usize = 100;
/// Interfaces (veth pairs), as in the scale bench's `SCALE_K`.
const K: usize = 8;
/// `advert_int 0.01`.
const INTERVAL_CS: u16 = 1;

fn slot(i: usize) -> (InterfaceId, u8) {
    (InterfaceId(10 + (i % K) as u32), (i / K + 1) as u8)
}

/// Router `host` (1 = master A, 2 = backup B) on interface `k`: `10.200.<k>.<host>`.
fn router(k: usize, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 200, k as u8, host)
}

fn vip(i: usize) -> Ipv4Addr {
    let (_, vrid) = slot(i);
    Ipv4Addr::new(10, 100 + (i % K) as u8, 0, vrid)
}

fn interval() -> AdvertInterval {
    AdvertInterval::V3(Centiseconds::new(INTERVAL_CS).unwrap_or(Centiseconds::MAX))
}

fn config() -> EngineConfig {
    let instances = (0..N)
        .map(|i| {
            let (ifc, vrid) = slot(i);
            let ours = IpAddr::V4(router(i % K, 2));
            let mut c = InstanceConfig::new(format!("VI_{i}"), ifc, vrid, 100, ours);
            c.advert_interval = interval();
            c.virtual_addresses = vec![VirtualAddress::host(IpAddr::V4(vip(i)))].into();
            c
        })
        .collect();
    EngineConfig {
        instances,
        ..Default::default()
    }
}

/// The master's adverts, one per instance, as IPv4 datagrams, in the order it sends them.
fn packets() -> Vec<(InterfaceId, Vec<u8>)> {
    (0..N)
        .map(|i| {
            let (ifc, vrid) = slot(i);
            let vips = [vip(i)];
            let repr = Repr {
                vrid,
                priority: 150,
                interval: interval(),
                auth: Auth::None,
                addresses: Addresses::v4(&vips),
            };
            let header = Ipv4Header {
                src: router(i % K, 1),
                dst: vrrp_proto::vrrp::MULTICAST_V4,
                ident: i as u16 + 1,
                ttl: 255,
                tos: 0xc0,
            };
            let datagram = ipv4_datagram(&repr, &header, Ipv4ChecksumMode::PseudoHeader, None)
                .unwrap_or_default();
            (ifc, datagram)
        })
        .collect()
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One run: `rounds` rounds of every instance's advert, 10 ms of virtual time apart. Returns
/// the wall time taken by the adverts. With an `evict` buffer, it is written through before
/// each round (not timed), as the kernel's and other processes' work between two 10 ms rounds
/// of the real daemon push its data out of the CPU's caches.
fn run(
    engine: &mut Engine,
    pkts: &[(InterfaceId, Vec<u8>)],
    t: &mut Instant,
    rounds: u64,
    evict: &mut [u8],
) -> Duration {
    let step = Duration::from_micros(10_000 / N as u64);
    let mut taken = Duration::ZERO;
    for round in 0..rounds {
        if !evict.is_empty() {
            for line in evict.chunks_mut(64) {
                line[0] = line[0].wrapping_add(round as u8);
            }
            black_box(&mut *evict);
        }
        let start = WallClock::now();
        one_round(engine, pkts, t, step);
        taken += start.elapsed();
    }
    taken
}

fn one_round(
    engine: &mut Engine,
    pkts: &[(InterfaceId, Vec<u8>)],
    t: &mut Instant,
    step: Duration,
) {
    {
        for (ifc, bytes) in pkts {
            *t = *t + step;
            match vrrp_proto::decode_ipv4(bytes) {
                Ok(rx) => engine.handle_advert(*t, *ifc, &rx),
                Err(e) => {
                    engine.handle_rx_error(*t, *ifc, IpAddr::V4(Ipv4Addr::UNSPECIFIED), None, e);
                }
            }
            if engine.has_pending_actions() {
                while let Some(a) = engine.poll_action() {
                    black_box(&a);
                }
            }
            black_box(engine.poll_timeout());
        }
    }
}

fn main() {
    let rounds = env("RX_BENCH_ROUNDS", 2_000);
    let runs = env("RX_BENCH_RUNS", 5);
    let mut evict = vec![0u8; usize::try_from(env("RX_BENCH_EVICT_KB", 0) * 1024).unwrap_or(0)];
    let Ok(mut engine) = Engine::new(config()) else {
        eprintln!("invalid configuration");
        std::process::exit(1);
    };
    let mut t = Instant::ZERO;
    engine.start(t);
    while engine.poll_action().is_some() {}
    let pkts = packets();
    // Warm-up: one round, so that every instance has heard its master once.
    run(&mut engine, &pkts, &mut t, 1, &mut []);
    let mut best = Duration::MAX;
    for _ in 0..runs {
        best = best.min(run(&mut engine, &pkts, &mut t, rounds, &mut evict));
    }
    let adverts = rounds * N as u64;
    println!(
        "adverts: {adverts} per run, {runs} runs; best {:.1} ns per advert \
         (decode + handle_advert + poll_action + poll_timeout)",
        best.as_secs_f64() * 1e9 / adverts as f64
    );
    let c = engine.counters(vrrp_engine::InstanceId(0));
    let rcvd = c.map_or(0, |c| c.rcvd_advertisements);
    let expected = 1 + runs * rounds;
    if rcvd != expected {
        eprintln!("instance 0 accepted {rcvd} adverts, expected {expected}");
        std::process::exit(1);
    }
    if engine
        .statuses()
        .any(|s| s.state != vrrp_engine::State::Backup)
    {
        eprintln!("an instance left BACKUP");
        std::process::exit(1);
    }
}
