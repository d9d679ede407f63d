//! The event loop of keepalived-rs: one single-threaded loop per process, in the spirit of the
//! zebra "thread master" that keepalived uses, built on `mio` (epoll) with Linux timerfd,
//! signalfd and pidfd.
//!
//! # What it does
//!
//! * **Descriptors**: a read or write task on a raw fd, each with an optional timeout. Tasks are
//!   one-shot (the zebra model); re-arming from the handler re-checks the fd's current state,
//!   so readiness is never lost even if the handler did not drain the fd.
//! * **Timers** on the monotonic clock ([`std::time::Instant`], `CLOCK_MONOTONIC`), armed in a
//!   timerfd with nanosecond resolution (epoll's own timeout has only millisecond resolution):
//!   one-shot timers, drift-free periodic timers ([`Ctx::add_periodic`], [`next_periodic`]), and
//!   timer slots for sans-IO cores ([`Ctx::add_timer_slot`]). Cancelling is O(1), adding and
//!   re-arming O(log n). Timers never run before their deadline; they may run up to a small,
//!   configurable slack after it ([`Ctx::set_timer_slack`], default 50 µs) so that nearby
//!   deadlines share one wake-up.
//! * **Events**, run at the end of the current turn, and **termination** ([`Ctx::terminate`]).
//! * **Wakers**: a [`Waker`] (`Send + Sync`) lets another thread, such as a mailer, make a
//!   task run on the loop's thread ([`Ctx::add_waker`]).
//! * **Children**: argv (a shell only when asked), environment, uid/gid, working directory;
//!   a timeout that sends `SIGTERM` then `SIGKILL` to the child's process group; the exit status
//!   to its handler; reaping through a pidfd, with `SIGCHLD` as the fallback. No zombies. The
//!   fork and exec run on a helper thread, so starting a script never stalls the loop.
//! * **Signals** (`SIGHUP`, `SIGINT`, `SIGTERM`, `SIGUSR1`, `SIGUSR2`, `SIGCHLD`, `SIGRTMIN+2`, or
//!   any other catchable one) delivered as ordinary events through a signalfd: no handler ever
//!   runs in signal context. See [below](#signals-threads-and-children) for threads and
//!   children.
//! * **Panics** in a handler are caught and reported with the task's name
//!   ([`Error::Panicked`]).
//! * **Real-time priority** for the loop's thread, with a CPU cap against runaway handlers
//!   ([`set_realtime_priority`], keepalived's `vrrp_rt_priority` and `vrrp_rlimit_rtime`).
//!
//! # What it does not do
//!
//! * No protocol logic, no sockets of its own, no logging: handlers do that.
//! * No async/await, no `Send` requirement: the state `S` is owned by the caller and lent to
//!   each handler as `&mut S`; every handler runs on the loop's thread. (The only other thread
//!   is the one that forks children.)
//! * It does not own the descriptors it watches: cancel a task before closing its fd.
//! * Linux only (epoll, timerfd, signalfd; pidfd from 5.3, with a fallback).
//!
//! # Data flow
//!
//! ```text
//!   kernel objects            one wait per turn          handlers, in this order
//!   your fds ---------.                                .-> 1. I/O readiness, wakers
//!   pidfds (children) -|                               |-> 2. child exits
//!   signalfd ----------+--> epoll_wait --> queues -----+-> 3. signals
//!   timerfd -----------|    (then `now`   (tickets)    |-> 4. timers due at `now`
//!   eventfd (wakers) --'     is read)                  '-> 5. posted events
//!       ^                                                        |
//!       '---- timerfd re-armed for the earliest deadline <-------'
//! ```
//!
//! # Dispatch order
//!
//! Each turn waits once (not at all if something is already due), reads the clock once
//! ([`Ctx::now`]), then runs, in this order:
//!
//! 1. **I/O** readiness, in the order the kernel reported it, and wakers;
//! 2. **child exits**, in reaping order;
//! 3. **signals**, in arrival order;
//! 4. **timers** whose deadline is at or before `now`, by deadline, then in arming order;
//!    timers armed during this phase wait for the next turn, even if already due;
//! 5. **events** posted before this phase, first in first out; events posted by event
//!    handlers run on the next turn.
//!
//! I/O comes before timers on purpose (keepalived's select loop does the same): when the loop
//! wakes late and both an advert and the master-down timeout are pending, the advert is
//! processed first, so a late wake-up never turns a received advert into a false failover.
//! A task cancelled by an earlier handler of the same turn never runs, even if it was due.
//!
//! # Signals, threads and children
//!
//! Every watched signal is *blocked* in the loop's thread and read from a signalfd, so nothing
//! runs in signal context and a handler may touch any state, allocate, log or fork. (A self-pipe
//! written from a `sigaction` handler would work too, but needs async-signal-safe code and still
//! has to block signals around critical sections; the signalfd needs neither.)
//!
//! * A process-directed signal goes to *any* thread that does not block it. Create the loop on
//!   the main thread **before** starting other threads: threads inherit the mask. A thread
//!   created earlier must block the loop's signals itself ([`block_signals`] with
//!   [`Loop::signal_set`]); otherwise it may receive, say, `SIGTERM` and die of it.
//! * The loop's own helper thread (it forks children) blocks every signal, so it never takes
//!   one meant for the loop, even one first watched after the thread was started.
//! * Children spawned by the loop start with an **empty mask and every disposition at its
//!   default**, whatever the daemon blocked or ignored, and with no descriptor of the daemon but
//!   0, 1 and 2. Spawn through the loop, not `std::process::Command`, to get this.
//! * Standard signals coalesce in the kernel: ten `SIGHUP`s sent before the loop reads them
//!   arrive as one. Real-time signals (`SIGRTMIN+n`) queue, and each is delivered.
//! * `SIGCHLD` is always blocked and read: each one triggers a sweep of the loop's children, a
//!   second path next to the per-child pidfd.
//! * Signals stay blocked until the loop is dropped, even after their tasks are cancelled (they
//!   are then read and dropped), so a repeated `SIGTERM` cannot kill the daemon halfway through
//!   an orderly shutdown.
//!
//! # Panics in handlers
//!
//! A panicking handler's task is removed and [`Loop::run`] returns [`Error::Panicked`] with the
//! task's name and message. The loop does not carry on by itself: the state may be half updated,
//! and on a router a clean restart by the supervisor is safer than running on with, say, a VRRP
//! instance that believes it is MASTER but no longer sends adverts. The loop itself is intact,
//! so a caller that knows better may call `run` again. (The process's panic hook still runs
//! first, so the message is also printed to standard error as usual.)
//!
//! # Example
//!
//! A periodic advert timer that stops the loop after three ticks, and a `SIGTERM` handler:
//!
//! ```
//! use std::time::Duration;
//! use scheduler::{Event, Loop, Signal, Stop};
//!
//! struct Router {
//!     adverts_sent: u32,
//! }
//!
//! let mut lp: Loop<Router> = Loop::new()?;
//! let ctx = lp.ctx();
//! let first = ctx.now() + Duration::from_millis(10);
//! ctx.add_periodic("advert VI_1", first, Duration::from_millis(10), |r: &mut Router, ctx, ev| {
//!     let Event::Timer { deadline } = ev else { return };
//!     assert!(ctx.now() >= deadline);
//!     r.adverts_sent += 1;
//!     if r.adverts_sent == 3 {
//!         ctx.terminate();
//!     }
//! })?;
//! ctx.add_signal("shutdown", Signal::TERM, |_r: &mut Router, ctx, _| ctx.terminate())?;
//!
//! let mut router = Router { adverts_sent: 0 };
//! assert_eq!(lp.run(&mut router)?, Stop::Terminated);
//! assert_eq!(router.adverts_sent, 3);
//! # Ok::<(), scheduler::Error>(())
//! ```
//!
//! # Driving a sans-IO core
//!
//! A quinn-style core exposes `poll_timeout()`; give it a [timer slot](Ctx::add_timer_slot)
//! and re-arm the slot after every call into the core:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use scheduler::{Loop, TaskId};
//!
//! # struct Core { next: Option<Instant>, fired: u32 }
//! # impl Core {
//! #     fn handle_timeout(&mut self, _now: Instant) { self.fired += 1; self.next = None; }
//! #     fn poll_timeout(&self) -> Option<Instant> { self.next }
//! # }
//! let mut lp: Loop<Core> = Loop::new()?;
//! let slot: TaskId = lp.ctx().add_timer_slot("engine", |core: &mut Core, ctx, _| {
//!     core.handle_timeout(ctx.now());
//!     let me = ctx.current().expect("set while a handler runs");
//!     ctx.set_deadline(me, core.poll_timeout());
//! });
//! let mut core = Core { next: Some(Instant::now() + Duration::from_millis(1)), fired: 0 };
//! lp.ctx().set_deadline(slot, core.poll_timeout());
//! lp.run_once(&mut core, Some(Duration::from_secs(5)))?;
//! # while core.fired == 0 { lp.run_once(&mut core, Some(Duration::from_secs(5)))?; }
//! assert_eq!(core.fired, 1);
//! # Ok::<(), scheduler::Error>(())
//! ```
//!
//! # Time
//!
//! Handlers read the time of the turn from [`Ctx::now`]: one clock reading per turn, shared by
//! every handler, so a sans-IO core driven from it sees consistent time, and relative deadlines
//! added in a turn share one origin. A core with a clock type of its own maps `ctx.now()` onto
//! it from a fixed origin (vrrp-engine: `Instant::from_std(origin, ctx.now())`) and maps its
//! `poll_timeout()` back by adding the offset to that origin. The clock is monotonic: wall-clock steps (NTP, `date -s`)
//! move no deadline. Periodic timers advance from their previous *deadline*, never from "now",
//! so they do not drift. `CLOCK_MONOTONIC` stands still while the machine is suspended; routers
//! do not suspend, and after a resume the timers simply run late once.

mod child;
mod error;
mod event_loop;
mod priority;
mod signal;
mod spawner;
// The only module allowed to use `unsafe`: small FFI wrappers, each block with a SAFETY note.
#[allow(unsafe_code)]
mod sys;
mod time;

pub use child::{ChildExit, ChildSpec, DEFAULT_KILL_GRACE, StdioMode};
pub use error::Error;
pub use event_loop::{
    Ctx, DEFAULT_TIMER_SLACK, Event, Handler, Loop, Stats, Stop, TaskId, TaskInfo, TaskKind, Waker,
    block_signals,
};
pub use priority::{
    DEFAULT_REALTIME_CPU_LIMIT, clear_realtime_priority, has_realtime_priority,
    set_realtime_priority,
};
pub use signal::{Signal, SignalInfo};
pub use time::{next_periodic, thread_cpu_time};
