//! Throughput of timer operations (add, cancel, re-arm, fire) and event dispatch.
//!
//! ```text
//! cargo bench -p scheduler --bench ops
//! ```
//!
//! Each benchmark performs `N` operations per iteration; criterion reports elements per
//! second, i.e. operations per second.

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scheduler::{Loop, TaskId};

const N: u64 = 10_000;

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers");
    group.throughput(Throughput::Elements(N));

    // add N timers, then cancel them (2N operations, reported as N pairs).
    group.bench_function("add+cancel pair", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut ids: Vec<TaskId> = Vec::with_capacity(N as usize);
        b.iter(|| {
            let ctx = lp.ctx();
            let base = ctx.now() + Duration::from_secs(1);
            for i in 0..N {
                ids.push(ctx.add_timer(
                    "t",
                    base + Duration::from_nanos(i * 7919 % 1000),
                    |n: &mut u64, _, _| *n += 1,
                ));
            }
            for id in ids.drain(..) {
                black_box(ctx.cancel(id));
            }
        });
    });

    // add N due timers and fire them all in one turn (add + fire + removal per element).
    group.bench_function("add+fire", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut fired = 0u64;
        b.iter(|| {
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
        assert!(fired > 0);
    });

    // re-arm one of 1,000 pending timers N times (a BACKUP's master-down timer per advert).
    group.bench_function("rearm", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let base = Instant::now() + Duration::from_secs(3600);
        let ids: Vec<TaskId> = (0..1000)
            .map(|_| lp.ctx().add_timer("t", base, |_: &mut u64, _, _| {}))
            .collect();
        let mut k = 0u64;
        b.iter(|| {
            let ctx = lp.ctx();
            for i in 0..N {
                k += 1;
                let id = ids[(i % 1000) as usize];
                black_box(ctx.set_deadline(id, Some(base + Duration::from_nanos(k))));
            }
        });
    });

    // N due timers, each re-armed and then cancelled by its own handler (3 operations each).
    group.bench_function("fire+rearm+cancel in handler", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut fired = 0u64;
        b.iter(|| {
            let ctx = lp.ctx();
            let past = ctx.now().checked_sub(Duration::from_secs(1)).unwrap();
            for _ in 0..N {
                ctx.add_timer("once", past, |n: &mut u64, ctx, _| {
                    *n += 1;
                    // Re-arm far away, then cancel: two more operations inside dispatch.
                    let me = ctx.current().unwrap();
                    ctx.set_deadline(me, Some(ctx.now() + Duration::from_secs(60)));
                    ctx.cancel(me);
                });
            }
            lp.run_once(&mut fired, Some(Duration::ZERO)).unwrap();
        });
    });
    group.finish();
}

fn events(c: &mut Criterion) {
    let mut group = c.benchmark_group("events");
    group.throughput(Throughput::Elements(N));
    group.bench_function("post+run", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut ran = 0u64;
        b.iter(|| {
            let ctx = lp.ctx();
            for _ in 0..N {
                ctx.add_event("e", |n: &mut u64, _, _| *n += 1);
            }
            lp.run_once(&mut ran, Some(Duration::ZERO)).unwrap();
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = timers, events }
criterion_main!(benches);
