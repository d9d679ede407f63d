//! Workloads shared by the `ops` (criterion, wall time) and `throughput` (CPU time) benches.
//! Each function performs `n` operations of one kind on a loop whose state counts handler runs.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use scheduler::{Loop, TaskId};

/// Adds `n` pending timers, then cancels them (`n` add + cancel pairs).
pub fn add_cancel(lp: &mut Loop<u64>, ids: &mut Vec<TaskId>, n: u64) {
    let ctx = lp.ctx();
    let base = ctx.now() + Duration::from_secs(1);
    for i in 0..n {
        let at = base + Duration::from_nanos(i * 7919 % 1000);
        ids.push(ctx.add_timer("t", at, |count: &mut u64, _, _| *count += 1));
    }
    for id in ids.drain(..) {
        black_box(ctx.cancel(id));
    }
}

/// Adds `n` timers that are already due and fires them all in one turn (add, handler call and
/// removal per timer).
pub fn add_fire(lp: &mut Loop<u64>, fired: &mut u64, n: u64) {
    let ctx = lp.ctx();
    let past = ctx.now().checked_sub(Duration::from_millis(1)).unwrap();
    for i in 0..n {
        let at = past + Duration::from_nanos(i % 97);
        ctx.add_timer("t", at, |count: &mut u64, _, _| *count += 1);
    }
    lp.run_once(fired, Some(Duration::ZERO)).unwrap();
}

/// 1,000 pending timers, one hour out, to be re-armed by [`rearm`].
pub fn pending_timers(lp: &mut Loop<u64>) -> (Vec<TaskId>, Instant) {
    let base = Instant::now() + Duration::from_secs(3600);
    let ids = (0..1000)
        .map(|_| lp.ctx().add_timer("t", base, |_: &mut u64, _, _| {}))
        .collect();
    (ids, base)
}

/// Re-arms the timers of [`pending_timers`] `n` times in turn (a BACKUP's master-down timer
/// pushed back by every advert). `k` keeps the deadlines moving between calls.
pub fn rearm(lp: &mut Loop<u64>, pending: &(Vec<TaskId>, Instant), k: &mut u64, n: u64) {
    let ctx = lp.ctx();
    let (ids, base) = pending;
    for i in 0..n {
        *k += 1;
        let id = ids[usize::try_from(i).unwrap() % ids.len()];
        black_box(ctx.set_deadline(id, Some(*base + Duration::from_nanos(*k))));
    }
}

/// `n` due timers, each re-armed and then cancelled by its own handler (3 operations each).
pub fn fire_rearm_cancel(lp: &mut Loop<u64>, fired: &mut u64, n: u64) {
    let ctx = lp.ctx();
    let past = ctx.now().checked_sub(Duration::from_secs(1)).unwrap();
    for _ in 0..n {
        ctx.add_timer("once", past, |count: &mut u64, ctx, _| {
            *count += 1;
            let me = ctx.current().unwrap();
            ctx.set_deadline(me, Some(ctx.now() + Duration::from_secs(60)));
            ctx.cancel(me);
        });
    }
    lp.run_once(fired, Some(Duration::ZERO)).unwrap();
}

/// Posts `n` events and runs them in one turn.
pub fn post_run(lp: &mut Loop<u64>, ran: &mut u64, n: u64) {
    let ctx = lp.ctx();
    for _ in 0..n {
        ctx.add_event("e", |count: &mut u64, _, _| *count += 1);
    }
    lp.run_once(ran, Some(Duration::ZERO)).unwrap();
}
