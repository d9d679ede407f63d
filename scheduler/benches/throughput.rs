//! Timer and event operations per second, measured against the thread's CPU time as well as the
//! wall clock, so that the figure survives a shared, loaded machine (the criterion benchmark in
//! `ops.rs` measures wall time only).
//!
//! ```text
//! cargo bench -p scheduler --bench throughput
//! ```

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use scheduler::{Loop, TaskId, thread_cpu_time};

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
    let mut ids: Vec<TaskId> = Vec::with_capacity(N as usize);
    measure("add + cancel (per pair)", || {
        let ctx = lp.ctx();
        let base = ctx.now() + Duration::from_secs(1);
        for i in 0..N {
            ids.push(ctx.add_timer(
                "t",
                base + Duration::from_nanos(i % 1000),
                |n: &mut u64, _, _| *n += 1,
            ));
        }
        for id in ids.drain(..) {
            black_box(ctx.cancel(id));
        }
    });
    let mut fired = 0u64;
    measure("add due timer + fire it", || {
        let ctx = lp.ctx();
        let past = ctx.now().checked_sub(Duration::from_millis(1)).unwrap();
        for i in 0..N {
            ctx.add_timer(
                "t",
                past + Duration::from_nanos(i % 97),
                |n: &mut u64, _, _| *n += 1,
            );
        }
        lp.run_once(&mut fired, Some(Duration::ZERO)).unwrap();
    });
    let base = Instant::now() + Duration::from_secs(3600);
    let pending: Vec<TaskId> = (0..1000)
        .map(|_| lp.ctx().add_timer("t", base, |_: &mut u64, _, _| {}))
        .collect();
    let mut k = 0u64;
    measure("re-arm a pending timer", || {
        let ctx = lp.ctx();
        for i in 0..N {
            k += 1;
            black_box(ctx.set_deadline(
                pending[(i % 1000) as usize],
                Some(base + Duration::from_nanos(k)),
            ));
        }
    });
    for id in pending {
        lp.ctx().cancel(id);
    }
    let mut ran = 0u64;
    measure("post event + run it", || {
        let ctx = lp.ctx();
        for _ in 0..N {
            ctx.add_event("e", |n: &mut u64, _, _| *n += 1);
        }
        lp.run_once(&mut ran, Some(Duration::ZERO)).unwrap();
    });
    assert!(fired > 0 && ran > 0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg after: {}", load.trim());
}
