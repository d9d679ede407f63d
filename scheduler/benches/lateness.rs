//! Timer lateness of the loop: N periodic timers (default 1,000 at 10 ms, for 10 s), lateness
//! measured in each handler as `Instant::now() - deadline`. Prints p50/p99/p99.9/max and the
//! loop thread's CPU use.
//!
//! ```text
//! nice -n 0 cargo bench -p scheduler --bench lateness
//! LATENESS_SECS=3 LATENESS_TIMERS=100 cargo bench -p scheduler --bench lateness
//! LATENESS_RT_PRIORITY=1 cargo bench -p scheduler --bench lateness   # as root: SCHED_RR
//! ```
//!
//! Two phase layouts are measured: `spread` (the timers' phases evenly spread over the period,
//! like independent VRRP instances; once with no timer slack and once with `LATENESS_SLACK_US`,
//! default 50, the loop's default) and `aligned` (all due at the same instant, the worst case:
//! the last handler of a burst waits for all the others).

#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::time::{Duration, Instant};

use scheduler::{Event, Loop, thread_cpu_time};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    samples: Vec<u32>,
    end: Instant,
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(layout: &str, timers: u64, period: Duration, secs: u64, slack: Duration) {
    let mut lp: Loop<Run> = Loop::new().unwrap();
    lp.ctx().set_timer_slack(slack);
    let start = lp.ctx().now() + Duration::from_millis(50);
    let step = period / u32::try_from(timers).unwrap();
    for i in 0..timers {
        let offset = if layout == "spread" {
            step * u32::try_from(i).unwrap()
        } else {
            Duration::ZERO
        };
        lp.ctx()
            .add_periodic("tick", start + offset, period, |run: &mut Run, ctx, ev| {
                let now = Instant::now();
                let Event::Timer { deadline } = ev else {
                    return;
                };
                let late = now.saturating_duration_since(deadline).as_nanos();
                run.samples.push(u32::try_from(late).unwrap_or(u32::MAX));
                if now >= run.end {
                    let me = ctx.current().unwrap();
                    ctx.cancel(me);
                }
            })
            .unwrap();
    }
    let expected =
        usize::try_from(timers * secs * 1_000_000_000 / period.as_nanos() as u64).unwrap();
    let mut run = Run {
        samples: Vec::with_capacity(expected + expected / 10),
        end: start + Duration::from_secs(secs),
    };
    let cpu0 = thread_cpu_time();
    let t0 = Instant::now();
    lp.run(&mut run).unwrap();
    let wall = t0.elapsed();
    let cpu = thread_cpu_time().saturating_sub(cpu0);
    let stats = lp.stats();
    let mut s = run.samples;
    s.sort_unstable();
    let us = |n: u32| f64::from(n) / 1000.0;
    println!(
        "{layout:7} timers={timers} period={period:?} slack={slack:?} secs={secs}: fires={} turns={} \
         lateness p50={:.1}us p99={:.1}us p99.9={:.1}us max={:.1}us cpu={:.1}% of one core",
        s.len(),
        stats.turns,
        us(percentile(&s, 0.50)),
        us(percentile(&s, 0.99)),
        us(percentile(&s, 0.999)),
        us(*s.last().unwrap()),
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64(),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let timers = env_u64("LATENESS_TIMERS", 1000);
    let period = Duration::from_micros(env_u64("LATENESS_PERIOD_US", 10_000));
    let secs = env_u64("LATENESS_SECS", 10);
    let rt = env_u64("LATENESS_RT_PRIORITY", 0);
    if rt > 0 {
        // What a daemon does with `scheduler::set_realtime_priority` (needs root). No CPU cap:
        // the zero-slack case saturates the loop on purpose.
        let prio = u8::try_from(rt).unwrap();
        scheduler::set_realtime_priority(prio, None).unwrap();
        println!("running under SCHED_RR priority {prio}");
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg before: {}", load.trim());
    let slack = Duration::from_micros(env_u64("LATENESS_SLACK_US", 50));
    measure("spread", timers, period, secs, Duration::ZERO);
    measure("spread", timers, period, secs, slack);
    measure("aligned", timers, period, secs, slack);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg after: {}", load.trim());
}
