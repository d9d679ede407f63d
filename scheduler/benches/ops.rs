//! Throughput of timer operations (add, cancel, re-arm, fire) and event dispatch, by wall
//! time (criterion).
//!
//! ```text
//! cargo bench -p scheduler --bench ops
//! ```
//!
//! Each benchmark performs `N` operations per iteration; criterion reports elements per
//! second, i.e. operations per second.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scheduler::Loop;

const N: u64 = 10_000;

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers");
    group.throughput(Throughput::Elements(N));
    group.bench_function("add+cancel pair", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut ids = Vec::with_capacity(10_000);
        b.iter(|| common::add_cancel(&mut lp, &mut ids, N));
    });
    group.bench_function("add+fire", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut fired = 0;
        b.iter(|| common::add_fire(&mut lp, &mut fired, N));
    });
    group.bench_function("rearm", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let pending = common::pending_timers(&mut lp);
        let mut k = 0;
        b.iter(|| common::rearm(&mut lp, &pending, &mut k, N));
    });
    group.bench_function("fire+rearm+cancel in handler", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut fired = 0;
        b.iter(|| common::fire_rearm_cancel(&mut lp, &mut fired, N));
    });
    group.finish();
}

fn events(c: &mut Criterion) {
    let mut group = c.benchmark_group("events");
    group.throughput(Throughput::Elements(N));
    group.bench_function("post+run", |b| {
        let mut lp: Loop<u64> = Loop::new().unwrap();
        let mut ran = 0;
        b.iter(|| common::post_run(&mut lp, &mut ran, N));
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
