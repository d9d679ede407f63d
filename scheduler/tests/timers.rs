//! Timers: ordering, cancellation, re-arming, periodic use, large numbers.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::run_bounded;
use scheduler::{Event, Loop, Stop, TaskId, next_periodic};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn timers_fire_in_deadline_order_then_fifo() {
    let mut lp: Loop<Vec<u32>> = Loop::new().unwrap();
    let now = lp.ctx().now();
    let ms = Duration::from_millis;
    for (tag, delay) in [(3, 30), (1, 10), (2, 20), (4, 20), (5, 0)] {
        lp.ctx()
            .add_timer("t", now + ms(delay), move |log: &mut Vec<u32>, ctx, ev| {
                let Event::Timer { deadline } = ev else {
                    panic!("unexpected {ev:?}")
                };
                assert!(ctx.now() >= deadline, "fired early");
                log.push(tag);
            });
    }
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    // 2 and 4 share a deadline: the one added first runs first.
    assert_eq!(log, [5, 1, 2, 4, 3]);
    assert_eq!(lp.stats().tasks, 0);
}

#[test]
fn cancel_before_firing_and_dead_ids() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    let a = lp
        .ctx()
        .add_timer_after("a", Duration::from_millis(5), |n: &mut u32, _, _| *n += 1);
    let b = lp
        .ctx()
        .add_timer_after("b", Duration::from_millis(5), |n: &mut u32, _, _| *n += 10);
    assert!(lp.ctx().cancel(a));
    assert!(!lp.ctx().cancel(a), "second cancel must report a dead id");
    let mut n = 0;
    run_bounded(&mut lp, &mut n, LIMIT);
    assert_eq!(n, 10);
    assert!(!lp.ctx().contains(b), "a fired one-shot timer is gone");
    assert!(!lp.ctx().cancel(b));
    // A new task may reuse the slot, but never the id.
    let c = lp.ctx().add_timer_after("c", Duration::ZERO, |_, _, _| {});
    assert_ne!(c, a);
    assert_ne!(c, b);
    assert!(!lp.ctx().set_deadline(a, Some(Instant::now())));
}

#[test]
fn handler_cancels_a_timer_due_in_the_same_turn() {
    struct St {
        victim: Option<TaskId>,
        log: Vec<&'static str>,
    }
    let mut lp: Loop<St> = Loop::new().unwrap();
    let now = lp.ctx().now();
    // Both are already due when the loop first wakes.
    let past = now.checked_sub(Duration::from_millis(1)).unwrap();
    lp.ctx().add_timer("killer", past, |st: &mut St, ctx, _| {
        st.log.push("killer");
        let victim = st.victim.take().unwrap();
        assert!(ctx.cancel(victim));
    });
    let victim = lp
        .ctx()
        .add_timer("victim", now, |st: &mut St, _, _| st.log.push("victim"));
    let mut st = St {
        victim: Some(victim),
        log: Vec::new(),
    };
    run_bounded(&mut lp, &mut st, LIMIT);
    assert_eq!(st.log, ["killer"]);
}

#[test]
fn handler_cancels_itself_and_rearms_itself() {
    let mut lp: Loop<Vec<u32>> = Loop::new().unwrap();
    // Re-arms itself twice, then cancels itself while running.
    lp.ctx().add_timer_after(
        "self",
        Duration::from_millis(1),
        |log: &mut Vec<u32>, ctx, ev| {
            let Event::Timer { deadline } = ev else {
                unreachable!()
            };
            log.push(1);
            let me = ctx.current().unwrap();
            if log.len() < 3 {
                assert!(ctx.set_deadline(me, Some(deadline + Duration::from_millis(1))));
            } else {
                assert!(ctx.set_deadline(me, Some(deadline + Duration::from_millis(1))));
                assert!(ctx.cancel(me));
                assert!(!ctx.contains(me));
            }
        },
    );
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    assert_eq!(log, [1, 1, 1]);
}

#[test]
fn rearm_moves_a_pending_timer() {
    let mut lp: Loop<Vec<&'static str>> = Loop::new().unwrap();
    let now = lp.ctx().now();
    let late = lp.ctx().add_timer(
        "late",
        now + Duration::from_secs(3600),
        |l: &mut Vec<_>, _, _| {
            l.push("late");
        },
    );
    lp.ctx().add_timer(
        "early",
        now + Duration::from_millis(20),
        |l: &mut Vec<_>, _, _| {
            l.push("early");
        },
    );
    assert!(
        lp.ctx()
            .set_deadline(late, Some(now + Duration::from_millis(5)))
    );
    assert_eq!(
        lp.ctx().deadline(late),
        Some(now + Duration::from_millis(5))
    );
    let mut log = Vec::new();
    run_bounded(&mut lp, &mut log, LIMIT);
    assert_eq!(log, ["late", "early"]);
    // The stale heap entry (one hour out) does not keep the loop busy or alive.
    assert_eq!(lp.stats().tasks, 0);
}

#[test]
fn periodic_timer_is_drift_free() {
    struct St {
        deadlines: Vec<Instant>,
        late: Vec<Duration>,
    }
    let mut lp: Loop<St> = Loop::new().unwrap();
    let period = Duration::from_millis(5);
    let first = lp.ctx().now() + period;
    lp.ctx()
        .add_periodic("tick", first, period, |st: &mut St, ctx, ev| {
            let Event::Timer { deadline } = ev else {
                unreachable!()
            };
            st.deadlines.push(deadline);
            st.late
                .push(Instant::now().saturating_duration_since(deadline));
            if st.deadlines.len() == 40 {
                ctx.cancel(ctx.current().unwrap());
            }
        })
        .unwrap();
    let mut st = St {
        deadlines: Vec::new(),
        late: Vec::new(),
    };
    assert_eq!(run_bounded(&mut lp, &mut st, LIMIT), Stop::Idle);
    assert_eq!(st.deadlines.len(), 40);
    assert_eq!(st.deadlines[0], first);
    // Every deadline sits on the grid first + k*period: lateness never accumulates. Under
    // heavy load a tick may be skipped, never shifted.
    for w in st.deadlines.windows(2) {
        let step = w[1] - w[0];
        assert!(
            step >= period && step.as_nanos() % period.as_nanos() == 0,
            "{step:?}"
        );
    }
    assert!(st.late.iter().all(|l| *l < Duration::from_secs(5)));
}

#[test]
fn periodic_rejects_zero_period() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    let now = lp.ctx().now();
    let err = lp
        .ctx()
        .add_periodic("p", now, Duration::ZERO, |(), _, _| {})
        .unwrap_err();
    assert!(err.to_string().contains("non-zero period"), "{err}");
}

#[test]
fn timer_slot_drives_a_sans_io_core() {
    /// A toy sans-IO core: wants to be woken three times, 2 ms apart.
    struct Core {
        next: Option<Instant>,
        woken: u32,
    }
    impl Core {
        fn poll_timeout(&self) -> Option<Instant> {
            self.next
        }
        fn handle_timeout(&mut self, now: Instant) {
            if self.next.is_some_and(|t| now >= t) {
                self.woken += 1;
                self.next = (self.woken < 3).then(|| now + Duration::from_millis(2));
            }
        }
    }
    let mut lp: Loop<Core> = Loop::new().unwrap();
    let slot = lp.ctx().add_timer_slot("core", |core: &mut Core, ctx, _| {
        core.handle_timeout(ctx.now());
        let me = ctx.current().unwrap();
        ctx.set_deadline(me, core.poll_timeout());
    });
    let mut core = Core {
        next: Some(lp.ctx().now() + Duration::from_millis(2)),
        woken: 0,
    };
    assert!(lp.ctx().set_deadline(slot, core.poll_timeout()));
    common::run_until(&mut lp, &mut core, LIMIT, |c| c.woken == 3);
    // Disarmed but alive: the slot persists until cancelled.
    lp.run_once(&mut core, Some(Duration::from_millis(10)))
        .unwrap();
    assert!(lp.ctx().contains(slot));
    assert_eq!(lp.ctx().deadline(slot), None);
    assert_eq!(core.woken, 3);
    assert!(lp.ctx().cancel(slot));
    assert_eq!(run_bounded(&mut lp, &mut core, LIMIT), Stop::Idle);
}

#[test]
fn hundred_thousand_pending_timers() {
    const N: u32 = 100_000;
    struct St {
        fired: u32,
        last: Option<(Instant, u32)>,
        out_of_order: u32,
    }
    let mut lp: Loop<St> = Loop::new().unwrap();
    let now = lp.ctx().now();
    let mut ids = Vec::new();
    for i in 0..N {
        // Pseudo-random spread over 300 ms, many deadlines shared.
        let at = now + Duration::from_micros(u64::from(i.wrapping_mul(2_654_435_761) % 300_000));
        let id = lp.ctx().add_timer("bulk", at, move |st: &mut St, ctx, ev| {
            let Event::Timer { deadline } = ev else {
                unreachable!()
            };
            assert!(ctx.now() >= deadline);
            if let Some((prev, prev_i)) = st.last
                && (deadline < prev || (deadline == prev && i < prev_i))
            {
                st.out_of_order += 1;
            }
            st.last = Some((deadline, i));
            st.fired += 1;
        });
        ids.push(id);
    }
    // Cancel every third one.
    let cancelled = ids
        .iter()
        .step_by(3)
        .filter(|id| lp.ctx().cancel(**id))
        .count();
    let mut st = St {
        fired: 0,
        last: None,
        out_of_order: 0,
    };
    assert_eq!(run_bounded(&mut lp, &mut st, LIMIT), Stop::Idle);
    assert_eq!(st.fired as usize, N as usize - cancelled);
    assert_eq!(st.out_of_order, 0);
    assert_eq!(lp.stats().tasks, 0);
}

#[test]
fn heap_is_compacted_when_a_timer_is_rearmed_many_times() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    let now = lp.ctx().now();
    let id = lp
        .ctx()
        .add_timer("down-timer", now + Duration::from_secs(3600), |(), _, _| {});
    // A BACKUP's master-down timer, pushed back by every advert.
    for i in 0..100_000u64 {
        lp.ctx().set_deadline(
            id,
            Some(now + Duration::from_secs(3600) + Duration::from_nanos(i)),
        );
    }
    assert!(lp.stats().heap_entries < 20_000, "{:?}", lp.stats());
}

#[test]
fn next_periodic_is_exported_and_skips_missed_ticks() {
    let t0 = Instant::now();
    let p = Duration::from_millis(10);
    assert_eq!(
        next_periodic(t0, p, t0 + Duration::from_millis(95)),
        t0 + 10 * p
    );
}

#[test]
fn timer_slack_batches_wakeups_but_never_fires_early() {
    struct St {
        fired: u32,
        early: u32,
    }
    let run = |slack: Duration| {
        let mut lp: Loop<St> = Loop::new().unwrap();
        lp.ctx().set_timer_slack(slack);
        let start = lp.ctx().now() + Duration::from_millis(5);
        // 50 timers 20 µs apart: 1 ms in all.
        for i in 0..50u32 {
            lp.ctx().add_timer(
                "t",
                start + Duration::from_micros(20) * i,
                |st: &mut St, _, ev| {
                    let Event::Timer { deadline } = ev else {
                        unreachable!()
                    };
                    if Instant::now() < deadline {
                        st.early += 1;
                    }
                    st.fired += 1;
                },
            );
        }
        let mut st = St { fired: 0, early: 0 };
        run_bounded(&mut lp, &mut st, LIMIT);
        assert_eq!((st.fired, st.early), (50, 0));
        lp.stats().turns
    };
    let batched = run(Duration::from_millis(2));
    // With 2 ms of slack the whole 1 ms burst fits in a turn or two; without it, the loop may
    // take up to one turn per timer (fewer if it runs late).
    assert!(batched <= 3, "{batched} turns with slack");
    assert!(run(Duration::ZERO) >= batched);
}

#[test]
fn huge_delays_from_configuration_do_not_panic() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    let id = lp
        .ctx()
        .add_timer_after("forever", Duration::MAX, |n: &mut u32, _, _| *n += 1);
    let now = lp.ctx().now();
    lp.ctx()
        .add_periodic("p", now, Duration::MAX, |n: &mut u32, _, _| *n += 1)
        .unwrap();
    let mut n = 0;
    lp.run_once(&mut n, Some(Duration::from_millis(20)))
        .unwrap();
    assert_eq!(
        n, 1,
        "the periodic timer's first tick ran, its next one is far away"
    );
    assert!(lp.ctx().contains(id));
}

/// Random adds, cancels and re-arms against a model: the loop must fire exactly the live
/// timers, in (deadline, last arming) order. Enough operations to trigger heap compaction.
#[test]
fn random_operations_match_a_model() {
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }
    for seed in 1..=3u64 {
        let mut rng = Lcg(seed);
        let mut lp: Loop<Vec<u32>> = Loop::new().unwrap();
        // Everything is due by the first turn.
        let base = lp.ctx().now().checked_sub(Duration::from_secs(1)).unwrap();
        // model: tag -> (id, deadline offset, arming order)
        let mut live: Vec<(u32, TaskId, u64, u64)> = Vec::new();
        let mut order = 0u64;
        for tag in 0..30_000u32 {
            match rng.next(10) {
                0..=4 => {
                    let off = rng.next(500);
                    let id = lp.ctx().add_timer(
                        "m",
                        base + Duration::from_micros(off),
                        move |log: &mut Vec<u32>, _, _| {
                            log.push(tag);
                        },
                    );
                    order += 1;
                    live.push((tag, id, off, order));
                }
                5..=6 if !live.is_empty() => {
                    let i = usize::try_from(rng.next(live.len() as u64)).unwrap();
                    let (_, id, _, _) = live.swap_remove(i);
                    assert!(lp.ctx().cancel(id));
                }
                7..=9 if !live.is_empty() => {
                    let i = usize::try_from(rng.next(live.len() as u64)).unwrap();
                    let off = rng.next(500);
                    order += 1;
                    live[i].2 = off;
                    live[i].3 = order;
                    assert!(
                        lp.ctx()
                            .set_deadline(live[i].1, Some(base + Duration::from_micros(off)))
                    );
                }
                _ => {}
            }
        }
        // Cancelled and re-armed entries were purged along the way, not only when popped.
        let arms = usize::try_from(order).unwrap();
        assert!(
            lp.stats().heap_entries < arms,
            "{} of {arms}",
            lp.stats().heap_entries
        );
        live.sort_by_key(|&(_, _, off, ord)| (off, ord));
        let want: Vec<u32> = live.iter().map(|&(tag, ..)| tag).collect();
        let mut log = Vec::new();
        lp.run_once(&mut log, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(log, want, "seed {seed}");
        assert_eq!(lp.stats().tasks, 0);
    }
}
