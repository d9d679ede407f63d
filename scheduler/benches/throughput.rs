//! Timer and event operations per second, measured against the thread's CPU time as well as the
//! wall clock, so that the figure survives a shared, loaded machine (the criterion benchmark in
//! `ops.rs` measures wall time only).
//!
//! ```text
//! cargo bench -p scheduler --bench throughput
//! ```

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use std::time::{Duration, Instant};

use scheduler::{Loop, thread_cpu_time};

const N: u64 = 10_000;
const ROUNDS: u32 = 200;

/// Runs `round` `ROUNDS` times; each round performs `N` operations. Prints the best round.
fn measure(name: &str, mut round: impl FnMut()) {
    let mut best_wall = Duration::MAX;
    let mut best_cpu = Duration::MAX;
    for _ in 0..ROUNDS {
        let (w0, c0) = (Instant::now(), thread_cpu_time());
        round();
        best_wall = best_wall.min(w0.elapsed());
        best_cpu = best_cpu.min(thread_cpu_time().saturating_sub(c0));
    }
    let per_s = |d: Duration| N as f64 / d.as_secs_f64().max(1e-9) / 1e6;
    println!(
        "{name:34} {:6.2} M ops/s wall, {:6.2} M ops/s CPU ({:.0} ns/op CPU)",
        per_s(best_wall),
        per_s(best_cpu),
        best_cpu.as_nanos() as f64 / N as f64
    );
}

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg before: {}", load.trim());
    let mut lp: Loop<u64> = Loop::new().unwrap();
    let mut ids = Vec::with_capacity(10_000);
    measure("add + cancel (per pair)", || {
        common::add_cancel(&mut lp, &mut ids, N);
    });
    let mut fired = 0;
    measure("add due timer + fire it", || {
        common::add_fire(&mut lp, &mut fired, N);
    });
    let pending = common::pending_timers(&mut lp);
    let mut k = 0;
    measure("re-arm a pending timer", || {
        common::rearm(&mut lp, &pending, &mut k, N);
    });
    for id in &pending.0 {
        lp.ctx().cancel(*id);
    }
    measure("fire, re-arm + cancel in handler", || {
        common::fire_rearm_cancel(&mut lp, &mut fired, N);
    });
    let mut ran = 0;
    measure("post event + run it", || {
        common::post_run(&mut lp, &mut ran, N);
    });
    assert!(fired > 0 && ran > 0);
    spawn_cost();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg after: {}", load.trim());
}

/// How long `Ctx::spawn` keeps the loop busy (wall and thread CPU time of the call), and the
/// full round trip to the exit report, for `/bin/true`.
fn spawn_cost() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    let mut in_spawn = Vec::new();
    let mut in_spawn_cpu = Vec::new();
    let mut round_trip = Vec::new();
    for _ in 0..200 {
        let (t0, c0) = (Instant::now(), thread_cpu_time());
        lp.ctx()
            .spawn(
                "true",
                scheduler::ChildSpec::new("/bin/true"),
                |n: &mut u32, _, _| *n += 1,
            )
            .unwrap();
        in_spawn.push(t0.elapsed());
        in_spawn_cpu.push(thread_cpu_time().saturating_sub(c0));
        let mut exits = 0;
        while exits == 0 {
            lp.run_once(&mut exits, Some(Duration::from_secs(5)))
                .unwrap();
        }
        round_trip.push(t0.elapsed());
    }
    for v in [&mut in_spawn, &mut in_spawn_cpu, &mut round_trip] {
        v.sort_unstable();
    }
    println!(
        "spawn /bin/true: spawn() call wall p50 {:?} p99 {:?}, CPU p50 {:?} p99 {:?}; \
         spawn to exit report p50 {:?}",
        in_spawn[100], in_spawn[197], in_spawn_cpu[100], in_spawn_cpu[197], round_trip[100]
    );
}
