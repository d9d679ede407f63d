//! The loop itself: [`Loop`], the task context [`Ctx`], and what handlers receive ([`Event`]).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Read};
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Child;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Poll, Token};

use crate::child::{ChildExit, ChildSpec};
use crate::error::Error;
use crate::signal::{SIGINFO_LEN, Signal, SignalInfo, parse_siginfo};
use crate::spawner::{Done, Job, Spawner};
use crate::sys::{self, SigSet};
use crate::time::{later, next_periodic, to_kernel_time};

/// A task's handler: it gets the caller's state, the loop context, and why it runs.
pub type Handler<S> = Box<dyn FnMut(&mut S, &mut Ctx<S>, Event)>;

/// Names a task, to cancel or re-arm it. Ids are never reused: once a task is gone, every
/// operation on its id is a no-op that returns `false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskId {
    index: u32,
    generation: u32,
}

/// Why a handler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A timer reached its deadline. `deadline` is the scheduled time (not when it ran): feed it
    /// to [`next_periodic`] to re-arm without drift.
    Timer {
        /// The deadline the timer was armed for.
        deadline: Instant,
    },
    /// The descriptor is readable (or has an error or hang-up that a read will report).
    Readable,
    /// The descriptor is writable (or has an error or hang-up that a write will report).
    Writable,
    /// A read or write task saw no readiness within its timeout.
    Timeout,
    /// An event task runs.
    Posted,
    /// A [`Waker`] of this task was woken (from any thread).
    Woken,
    /// A watched signal arrived.
    Signal(SignalInfo),
    /// A child exited and was reaped.
    Exit(ChildExit),
    /// A child could not be started (program missing or not executable, bad directory, uid or
    /// gid refused, ...). `errno` is the OS error (0 if none was given); the task is gone.
    SpawnFailed {
        /// The OS error number, for `std::io::Error::from_raw_os_error`.
        errno: i32,
    },
}

/// Why [`Loop::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// A handler called [`Ctx::terminate`].
    Terminated,
    /// No task is left that could ever run.
    Idle,
}

/// Counters about the loop's work, for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Loop iterations (each one waits once, then dispatches).
    pub turns: u64,
    /// Handler calls.
    pub dispatched: u64,
    /// Live tasks (not counting cancelled children still being reaped).
    pub tasks: usize,
    /// Entries in the timer heap, including cancelled ones not yet purged.
    pub heap_entries: usize,
    /// The largest lateness seen so far: the turn's `now` minus the deadline, over every timer
    /// and timeout that ran (slack included). A growing value means the loop is overloaded.
    pub max_timer_lateness: Duration,
}

/// What kind of task a [`TaskInfo`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskKind {
    /// A timer (one-shot, periodic or slot).
    Timer,
    /// A read task on `fd`.
    Read,
    /// A write task on `fd`.
    Write,
    /// An event task.
    Event,
    /// A signal watcher.
    Signal(Signal),
    /// A running child process.
    Child,
    /// A task triggered by a [`Waker`].
    Waker,
}

/// A live task, as listed by [`Ctx::tasks`] (for status dumps and debugging).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo<'a> {
    /// The task's id.
    pub id: TaskId,
    /// The name it was given.
    pub name: &'a str,
    /// Its kind.
    pub kind: TaskKind,
    /// When it next runs: a timer's deadline, a read or write timeout, or a child's next
    /// timeout signal. `None` if nothing is scheduled.
    pub deadline: Option<Instant>,
    /// The descriptor of a read or write task.
    pub fd: Option<RawFd>,
    /// The process id of a child.
    pub pid: Option<u32>,
}

const KIND_FD: usize = 0;
const KIND_CHILD: usize = 1;
const TOKEN_TIMER: Token = Token(2);
const TOKEN_SIGNAL: Token = Token(3);
const TOKEN_WAKER: Token = Token(6);

/// The default [timer slack](Ctx::set_timer_slack): 50 µs, the same as Linux's default slack for
/// `poll`, `epoll_wait` and `nanosleep` timeouts (timerfds have none). With 1,000 timers spread
/// over a 10 ms period it cuts the loop's wake-ups about threefold for about 30 µs more median
/// lateness (see docs/PERFORMANCE.md).
pub const DEFAULT_TIMER_SLACK: Duration = Duration::from_micros(50);

/// Entries in the heap that belong to cancelled or re-armed tasks are purged when they outnumber
/// the live ones and exceed this.
const COMPACT_MIN_STALE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// What a heap entry does when due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// Run the handler (timer deadline or I/O timeout).
    Fire,
    /// Send the child `SIGTERM` (its timeout).
    Term,
    /// Send the child `SIGKILL` (its grace period is over).
    Kill,
}

/// A timer-heap entry. `seq` is unique per arming, so it both orders equal deadlines FIFO and
/// tells whether the entry still matches its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    deadline: Instant,
    seq: u64,
    index: u32,
    action: Action,
}

/// A readiness, exit or signal waiting to be dispatched to task `index`, valid while the task's
/// `seq` is unchanged.
#[derive(Clone, Copy, Debug)]
struct Ticket {
    index: u32,
    seq: u64,
    event: Event,
}

enum Kind {
    Timer {
        deadline: Option<Instant>,
        period: Option<Duration>,
        persistent: bool,
    },
    Io {
        fd: RawFd,
        dir: Dir,
        armed: bool,
    },
    Event,
    Signal(Signal),
    Waker,
    Child(ChildState),
}

struct ChildState {
    child: Option<Child>,
    /// Set while the spawner thread starts the child (`child` is `None`, `pid` is 0); the value
    /// matches the spawner's answer to this task.
    starting: Option<u64>,
    pid: u32,
    pidfd: Option<OwnedFd>,
    group: bool,
    grace: Duration,
    timed_out: bool,
    detached: bool,
}

impl ChildState {
    fn signal(&self, sig: i32) {
        // pid 0 (not started yet) would signal our own process group: never.
        let Ok(pid) = i32::try_from(self.pid) else {
            return;
        };
        if pid <= 0 || self.child.is_none() {
            return;
        }
        if self.group && sys::kill(-pid, sig).is_ok() {
            return;
        }
        // The group may be gone (or never existed) while the leader is an unreaped zombie.
        let _ = sys::kill(pid, sig);
    }
}

struct Task<S> {
    name: Cow<'static, str>,
    handler: Option<Handler<S>>,
    kind: Kind,
    seq: u64,
    in_heap: bool,
    /// The deadline of the task's heap entry, meaningful while `in_heap`.
    due_at: Instant,
    rearmed: bool,
}

struct Slot<S> {
    generation: u32,
    task: Option<Task<S>>,
}

/// Hashing of descriptor numbers (looked up several times per wake-up): one multiplication
/// (Fibonacci hashing) instead of `SipHash`. Descriptor numbers are ours, not an outsider's.
#[derive(Clone, Copy, Default)]
struct FdHash;

impl std::hash::BuildHasher for FdHash {
    type Hasher = FdHasher;
    fn build_hasher(&self) -> FdHasher {
        FdHasher(0)
    }
}

struct FdHasher(u64);

impl std::hash::Hasher for FdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_i32(&mut self, i: i32) {
        // The sign bit is irrelevant (descriptors are never negative here) but kept.
        self.0 = (self.0 ^ u64::from(i.cast_unsigned())).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Default)]
struct FdReg {
    reader: Option<u32>,
    writer: Option<u32>,
    registered: bool,
    /// The interest the kernel has for the fd, while `registered`.
    interest: Option<Interest>,
}

/// The task table and everything handlers may change. Handlers receive `&mut Ctx<S>`; outside
/// the loop, [`Loop::ctx`] gives the same access.
pub struct Ctx<S> {
    now: Instant,
    slots: Vec<Slot<S>>,
    free: Vec<u32>,
    live: usize,
    next_seq: u64,
    heap: BinaryHeap<Reverse<Due>>,
    stale: usize,
    io_q: VecDeque<Ticket>,
    exit_q: VecDeque<Ticket>,
    sig_q: VecDeque<Ticket>,
    due_q: VecDeque<Due>,
    posted: VecDeque<(u32, u64)>,
    fds: HashMap<RawFd, FdReg, FdHash>,
    /// The loop's own descriptors (timerfd, signalfd, pidfds), never touched through `fds`.
    internal_fds: HashSet<RawFd>,
    watchers: Vec<(Signal, u32)>,
    children: Vec<u32>,
    running: Option<TaskId>,
    terminate: bool,
    use_pidfd: bool,
    poll: Poll,
    timerfd: File,
    timer_armed: Option<Instant>,
    slack: Duration,
    signalfd: File,
    wakers: Option<Arc<WakerShared>>,
    spawner: Option<Spawner>,
    next_spawn: u64,
    sigset: SigSet,
    we_blocked: SigSet,
    // The signal mask is per thread: the loop must stay on the thread that made it.
    _not_send: PhantomData<Rc<()>>,
}

/// The event loop: one per process, on the main thread (see the crate documentation).
///
/// `S` is the caller's state, lent to every handler as `&mut S`. The loop is not `Send`: signal
/// masks belong to a thread, so it stays on the thread that created it.
///
/// ```compile_fail
/// fn needs_send<T: Send>(_: T) {}
/// needs_send(scheduler::Loop::<()>::new());
/// ```
///
/// Dropping the loop kills (`SIGKILL`) and reaps the children still running, and unblocks the
/// signals it blocked; a signal still pending then gets its default action. Run one loop per
/// thread at a time.
pub struct Loop<S> {
    ctx: Ctx<S>,
    events: mio::Events,
    turns: u64,
    dispatched: u64,
    max_lateness: Duration,
}

fn setup<T>(r: io::Result<T>) -> Result<T, Error> {
    r.map_err(Error::Setup)
}

impl<S> Loop<S> {
    /// Creates the loop: an epoll instance, a timerfd on the monotonic clock, and a signalfd.
    ///
    /// `SIGCHLD` is blocked in the calling thread from here on, so no child exit can be missed.
    pub fn new() -> Result<Self, Error> {
        let poll = setup(Poll::new())?;
        let timerfd = File::from(setup(sys::timerfd())?);
        setup(poll.registry().register(
            &mut SourceFd(&timerfd.as_raw_fd()),
            TOKEN_TIMER,
            Interest::READABLE,
        ))?;
        let mut sigset = SigSet::empty();
        sigset.add(libc::SIGCHLD);
        let already = setup(sys::thread_mask())?;
        let mut we_blocked = SigSet::empty();
        if !already.contains(libc::SIGCHLD) {
            we_blocked.add(libc::SIGCHLD);
        }
        let signalfd = File::from(setup(sys::signalfd(&sigset))?);
        setup(poll.registry().register(
            &mut SourceFd(&signalfd.as_raw_fd()),
            TOKEN_SIGNAL,
            Interest::READABLE,
        ))?;
        // Last, so that no failure above leaves SIGCHLD blocked behind us.
        setup(sys::change_thread_mask(&sigset, true))?;
        Ok(Loop {
            ctx: Ctx {
                now: Instant::now(),
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
                next_seq: 1,
                heap: BinaryHeap::new(),
                stale: 0,
                io_q: VecDeque::new(),
                exit_q: VecDeque::new(),
                sig_q: VecDeque::new(),
                due_q: VecDeque::new(),
                posted: VecDeque::new(),
                fds: HashMap::default(),
                internal_fds: [timerfd.as_raw_fd(), signalfd.as_raw_fd()].into(),
                watchers: Vec::new(),
                children: Vec::new(),
                running: None,
                terminate: false,
                use_pidfd: true,
                poll,
                timerfd,
                timer_armed: None,
                slack: DEFAULT_TIMER_SLACK,
                signalfd,
                wakers: None,
                spawner: None,
                next_spawn: 1,
                sigset,
                we_blocked,
                _not_send: PhantomData,
            },
            events: mio::Events::with_capacity(1024),
            turns: 0,
            dispatched: 0,
            max_lateness: Duration::ZERO,
        })
    }

    /// The task context, to add or cancel tasks from outside a handler. Its
    /// [`now`](Ctx::now) is refreshed to the current time.
    pub fn ctx(&mut self) -> &mut Ctx<S> {
        self.ctx.now = Instant::now();
        &mut self.ctx
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            turns: self.turns,
            dispatched: self.dispatched,
            tasks: self.ctx.live,
            heap_entries: self.ctx.heap.len(),
            max_timer_lateness: self.max_lateness,
        }
    }

    /// The signals this loop blocks and reads (always `SIGCHLD`, plus every signal a task
    /// watches). A thread created before the loop should block them with
    /// [`block_signals`](crate::block_signals).
    pub fn signal_set(&self) -> Vec<Signal> {
        (1..=libc::SIGRTMAX())
            .filter(|s| self.ctx.sigset.contains(*s))
            .filter_map(Signal::from_raw)
            .collect()
    }

    /// Runs until a handler calls [`Ctx::terminate`] (returns [`Stop::Terminated`]), no task is
    /// left ([`Stop::Idle`]), or a handler panics ([`Error::Panicked`]).
    ///
    /// After any of these the loop is intact: tasks not yet dispatched stay queued, and `run`
    /// may be called again (for example to drive an orderly shutdown).
    pub fn run(&mut self, state: &mut S) -> Result<Stop, Error> {
        loop {
            if let Some(stop) = self.run_once(state, None)? {
                return Ok(stop);
            }
        }
    }

    /// One iteration: waits for at most `max_wait` (`None`: until something is due), then
    /// dispatches what is ready. Returns `Some` when the loop should stop (see [`Loop::run`]).
    ///
    /// `max_wait` only bounds the wait (epoll rounds it up to whole milliseconds); timers keep
    /// their own precision. Useful to embed the loop in another one, and in tests.
    pub fn run_once(
        &mut self,
        state: &mut S,
        max_wait: Option<Duration>,
    ) -> Result<Option<Stop>, Error> {
        self.ctx.terminate = false;
        if self.ctx.live == 0 && self.ctx.children.is_empty() && !self.ctx.has_queued() {
            return Ok(Some(Stop::Idle));
        }
        let timeout = self.ctx.prepare_wait(max_wait).map_err(Error::Poll)?;
        loop {
            match self.ctx.poll.poll(&mut self.events, timeout) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Poll(e)),
            }
        }
        self.turns += 1;
        self.ctx.now = Instant::now();
        self.collect();
        if self.dispatch_phases(state)? {
            return Ok(Some(Stop::Terminated));
        }
        Ok(None)
    }

    /// Turns the kernel's readiness reports into tickets.
    fn collect(&mut self) {
        let mut sigchld = false;
        for ev in &self.events {
            let token = ev.token();
            if token == TOKEN_TIMER {
                // The expiry count is not read: the next `timerfd_settime` resets it, and every
                // expiry wakes epoll again, so one system call per turn is saved.
                self.ctx.timer_armed = None;
            } else if token == TOKEN_SIGNAL {
                sigchld |= self.ctx.read_signals();
            } else if token == TOKEN_WAKER {
                self.ctx.queue_woken();
                self.ctx.collect_spawned();
            } else if token.0 & 3 == KIND_CHILD {
                if let Ok(index) = u32::try_from(token.0 >> 2) {
                    self.ctx.reap(index);
                }
            } else if token.0 & 3 == KIND_FD {
                let Ok(fd) = RawFd::try_from(token.0 >> 2) else {
                    continue;
                };
                let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
                self.ctx.queue_io(fd, readable, writable);
            }
        }
        if sigchld {
            for index in self.ctx.children.clone() {
                self.ctx.reap(index);
            }
        }
    }

    /// Dispatches the queues in the documented order. Returns `true` when a handler asked to
    /// terminate; what was not dispatched stays queued.
    fn dispatch_phases(&mut self, state: &mut S) -> Result<bool, Error> {
        for phase in [Phase::Io, Phase::Exit, Phase::Signal] {
            while let Some(t) = self.ctx.queue(phase).pop_front() {
                self.fire(state, t.index, t.seq, t.event)?;
                if self.ctx.terminate {
                    return Ok(true);
                }
            }
        }
        // Timers: everything due now, in deadline order then arming order. Timers armed by
        // these handlers, even for a deadline already past, run on the next turn.
        let now = self.ctx.now;
        while let Some(Reverse(due)) = self.ctx.heap.peek().copied() {
            if due.deadline > now {
                break;
            }
            self.ctx.heap.pop();
            self.ctx.due_q.push_back(due);
        }
        while let Some(due) = self.ctx.due_q.pop_front() {
            let result = self.run_due(state, due);
            if result.is_err() || self.ctx.terminate {
                // Put the rest back for the next run.
                for d in self.ctx.due_q.drain(..) {
                    self.ctx.heap.push(Reverse(d));
                }
                result?;
                return Ok(true);
            }
        }
        // Events posted so far; those posted by these handlers run on the next turn.
        let count = self.ctx.posted.len();
        for _ in 0..count {
            let Some((index, seq)) = self.ctx.posted.pop_front() else {
                break;
            };
            self.fire(state, index, seq, Event::Posted)?;
            if self.ctx.terminate {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn run_due(&mut self, state: &mut S, due: Due) -> Result<(), Error> {
        let late = self.ctx.now.saturating_duration_since(due.deadline);
        let ctx = &mut self.ctx;
        let Some(task) = ctx.task_at(due.index).filter(|t| t.seq == due.seq) else {
            ctx.stale = ctx.stale.saturating_sub(1);
            return Ok(());
        };
        task.in_heap = false;
        self.max_lateness = self.max_lateness.max(late);
        let is_timer = matches!(task.kind, Kind::Timer { .. });
        let is_io = matches!(task.kind, Kind::Io { .. });
        match due.action {
            Action::Fire if is_timer => self.fire(
                state,
                due.index,
                due.seq,
                Event::Timer {
                    deadline: due.deadline,
                },
            ),
            Action::Fire if is_io => self.fire(state, due.index, due.seq, Event::Timeout),
            Action::Term => {
                let mut grace = None;
                if let Kind::Child(c) = &mut task.kind {
                    c.timed_out = true;
                    c.signal(libc::SIGTERM);
                    grace = Some(c.grace);
                }
                if let Some(grace) = grace {
                    let seq = ctx.bump(due.index);
                    let at = later(ctx.now, grace);
                    ctx.push_due(due.index, at, seq, Action::Kill);
                }
                Ok(())
            }
            Action::Kill => {
                if let Kind::Child(c) = &task.kind {
                    c.signal(libc::SIGKILL);
                }
                Ok(())
            }
            Action::Fire => Ok(()),
        }
    }

    /// Runs task `index`'s handler for `event`, if the task still exists with sequence `seq`.
    fn fire(&mut self, state: &mut S, index: u32, seq: u64, event: Event) -> Result<(), Error> {
        let ctx = &mut self.ctx;
        let Some(slot) = ctx.slots.get(index as usize) else {
            return Ok(());
        };
        let generation = slot.generation;
        match ctx.task_at(index) {
            Some(task) if task.seq == seq && task.handler.is_some() => {}
            _ => return Ok(()),
        }
        // Disarm: a one-shot task is spent unless its handler re-arms it. A signal watcher keeps
        // its sequence number, so further queued deliveries of the same burst stay valid.
        if !matches!(
            ctx.task_at(index).map(|t| &t.kind),
            Some(Kind::Signal(_) | Kind::Waker)
        ) {
            ctx.bump(index);
        }
        let Some(task) = ctx.task_at(index) else {
            return Ok(());
        };
        task.rearmed = false;
        let mut detach = None;
        match &mut task.kind {
            Kind::Timer { deadline, .. } => *deadline = None,
            Kind::Io { armed, fd, dir } => {
                *armed = false;
                detach = Some((*fd, *dir));
            }
            Kind::Event | Kind::Signal(_) | Kind::Waker | Kind::Child(_) => {}
        }
        let Some(mut handler) = task.handler.take() else {
            return Ok(());
        };
        // A spent I/O task frees its place on the fd (without a system call), so that its
        // handler may also add a new task on the same fd, zebra style, instead of re-arming.
        if let Some((fd, dir)) = detach
            && let Some(reg) = ctx.fds.get_mut(&fd)
        {
            let place = match dir {
                Dir::Read => &mut reg.reader,
                Dir::Write => &mut reg.writer,
            };
            if *place == Some(index) {
                *place = None;
            }
        }
        ctx.running = Some(TaskId { index, generation });
        let result = catch_unwind(AssertUnwindSafe(|| handler(state, ctx, event)));
        ctx.running = None;
        self.dispatched += 1;
        let still_ours = ctx
            .slots
            .get(index as usize)
            .is_some_and(|s| s.generation == generation);
        let mut name = None;
        if still_ours && let Some(task) = ctx.task_at(index) {
            if result.is_err() {
                name = Some(task.name.to_string());
            }
            let after = match task.kind {
                _ if result.is_err() => After::Remove,
                Kind::Timer {
                    persistent: true, ..
                }
                | Kind::Signal(_)
                | Kind::Waker => After::Keep,
                Kind::Timer {
                    period: Some(period),
                    ..
                } if !task.rearmed => After::Periodic(period),
                Kind::Timer { .. } | Kind::Io { .. } | Kind::Event if task.rearmed => After::Keep,
                Kind::Timer { .. } | Kind::Io { .. } | Kind::Event | Kind::Child(_) => {
                    After::Remove
                }
            };
            if let (After::Periodic(period), Event::Timer { deadline }) = (after, event) {
                let next = next_periodic(deadline, period, ctx.now);
                ctx.set_timer(index, next);
            }
            if after == After::Remove {
                ctx.remove(index);
            } else if let Some(task) = ctx.task_at(index) {
                task.handler = Some(handler);
            }
        }
        if let Err(payload) = result {
            let message = payload
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            let task = name.unwrap_or_else(|| format!("task #{index}"));
            return Err(Error::Panicked { task, message });
        }
        Ok(())
    }
}

/// What happens to a task after its handler returned.
#[derive(Clone, Copy, PartialEq)]
enum After {
    Keep,
    Remove,
    Periodic(Duration),
}

#[derive(Clone, Copy)]
enum Phase {
    Io,
    Exit,
    Signal,
}

impl<S> Ctx<S> {
    /// The time of the current turn: taken once after the loop wakes, so every handler of a turn
    /// sees the same `now` (and relative deadlines added in a turn share one origin).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The task whose handler is running, if any.
    pub fn current(&self) -> Option<TaskId> {
        self.running
    }

    /// Asks the loop to stop: no other handler runs after the current one returns, and
    /// [`Loop::run`] returns [`Stop::Terminated`]. Pending tasks are kept. Meant for handlers:
    /// each call of `run` or `run_once` starts with the request cleared.
    pub fn terminate(&mut self) {
        self.terminate = true;
    }

    /// Whether `id` is a live task (pending, or running now).
    pub fn contains(&self, id: TaskId) -> bool {
        self.lookup(id).is_some()
    }

    /// The name given to task `id`.
    pub fn name(&self, id: TaskId) -> Option<&str> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.task.as_ref())
            .map(|t| &*t.name)
    }

    /// Number of live tasks.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no task is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Lists the live tasks, in no particular order: for a status dump (say on `SIGUSR1`) or
    /// debugging.
    pub fn tasks(&self) -> impl Iterator<Item = TaskInfo<'_>> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let task = slot.task.as_ref()?;
            let (kind, fd, pid) = match &task.kind {
                Kind::Timer { .. } => (TaskKind::Timer, None, None),
                Kind::Io {
                    fd, dir: Dir::Read, ..
                } => (TaskKind::Read, Some(*fd), None),
                Kind::Io {
                    fd,
                    dir: Dir::Write,
                    ..
                } => (TaskKind::Write, Some(*fd), None),
                Kind::Event => (TaskKind::Event, None, None),
                Kind::Signal(signal) => (TaskKind::Signal(*signal), None, None),
                Kind::Waker => (TaskKind::Waker, None, None),
                Kind::Child(c) if c.detached => return None,
                Kind::Child(c) => (TaskKind::Child, None, c.child.as_ref().map(|_| c.pid)),
            };
            Some(TaskInfo {
                id: TaskId {
                    index: u32::try_from(index).ok()?,
                    generation: slot.generation,
                },
                name: &task.name,
                kind,
                deadline: task.in_heap.then_some(task.due_at),
                fd,
                pid,
            })
        })
    }

    /// Adds a one-shot timer that runs `handler` with [`Event::Timer`] at `deadline` (at once,
    /// on the next turn, if it is already past). After the handler returns the task is gone,
    /// unless the handler re-armed it with [`Ctx::set_deadline`].
    pub fn add_timer<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        deadline: Instant,
        handler: F,
    ) -> TaskId
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let kind = Kind::Timer {
            deadline: None,
            period: None,
            persistent: false,
        };
        let id = self.insert(name.into(), Box::new(handler), kind);
        self.set_timer(id.index, deadline);
        id
    }

    /// Adds a one-shot timer due `delay` after [`now`](Ctx::now).
    pub fn add_timer_after<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        delay: Duration,
        handler: F,
    ) -> TaskId
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let deadline = later(self.now, delay);
        self.add_timer(name, deadline, handler)
    }

    /// Adds a periodic timer: first due at `first`, then every `period` after the previous
    /// *deadline* (drift-free, missed ticks skipped: see [`next_periodic`]). It runs until
    /// cancelled; a handler that calls [`Ctx::set_deadline`] on it overrides the next tick.
    pub fn add_periodic<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        first: Instant,
        period: Duration,
        handler: F,
    ) -> Result<TaskId, Error>
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let name = name.into();
        if period.is_zero() {
            return Err(Error::ZeroPeriod {
                task: name.into_owned(),
            });
        }
        let kind = Kind::Timer {
            deadline: None,
            period: Some(period),
            persistent: false,
        };
        let id = self.insert(name, Box::new(handler), kind);
        self.set_timer(id.index, first);
        Ok(id)
    }

    /// Adds a *timer slot*: a timer that starts unarmed and lives until cancelled. Arm it with
    /// [`Ctx::set_deadline`]; firing disarms it. This is the natural fit for a sans-IO core:
    /// after every call into the core, `ctx.set_deadline(slot, core.poll_timeout())`.
    pub fn add_timer_slot<F>(&mut self, name: impl Into<Cow<'static, str>>, handler: F) -> TaskId
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let kind = Kind::Timer {
            deadline: None,
            period: None,
            persistent: true,
        };
        self.insert(name.into(), Box::new(handler), kind)
    }

    /// Re-arms timer `id` for `deadline`, replacing any pending deadline, or disarms it with
    /// `None`. Disarming a timer slot keeps it; disarming a one-shot or periodic timer cancels
    /// it. Works on a running timer (to re-arm itself). Returns `false` if `id` is not a live
    /// timer.
    pub fn set_deadline(&mut self, id: TaskId, deadline: Option<Instant>) -> bool {
        let Some(task) = self.lookup(id) else {
            return false;
        };
        let Kind::Timer { persistent, .. } = task.kind else {
            return false;
        };
        match deadline {
            Some(d) => {
                self.set_timer(id.index, d);
                if let Some(task) = self.task_at(id.index) {
                    task.rearmed = true;
                }
            }
            None if persistent => {
                self.bump(id.index);
                if let Some(task) = self.task_at(id.index)
                    && let Kind::Timer { deadline, .. } = &mut task.kind
                {
                    *deadline = None;
                }
            }
            None => {
                self.cancel(id);
            }
        }
        true
    }

    /// The pending deadline of timer `id`, if it is armed.
    pub fn deadline(&self, id: TaskId) -> Option<Instant> {
        match self.lookup(id)?.kind {
            Kind::Timer { deadline, .. } => deadline,
            _ => None,
        }
    }

    /// Adds a one-shot read task: `handler` runs once with [`Event::Readable`] when `fd` is
    /// readable, or with [`Event::Timeout`] if `timeout` passes first. Re-arm it from the handler
    /// with [`Ctx::rearm_io`]; re-arming checks the current state of `fd`, so data left unread
    /// triggers the handler again (no edge is lost).
    ///
    /// Errors and hang-ups count as readiness (the read reports them). Readiness can be
    /// spurious, so use non-blocking descriptors and treat `WouldBlock` as "nothing yet".
    /// The loop does not own `fd`: cancel the task before closing it.
    pub fn add_read<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        fd: RawFd,
        timeout: Option<Duration>,
        handler: F,
    ) -> Result<TaskId, Error>
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        self.add_io(name.into(), fd, Dir::Read, timeout, Box::new(handler))
    }

    /// Adds a one-shot write task (see [`Ctx::add_read`]); `handler` gets [`Event::Writable`] or
    /// [`Event::Timeout`].
    pub fn add_write<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        fd: RawFd,
        timeout: Option<Duration>,
        handler: F,
    ) -> Result<TaskId, Error>
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        self.add_io(name.into(), fd, Dir::Write, timeout, Box::new(handler))
    }

    /// Re-arms read or write task `id` with a new `timeout` (from [`now`](Ctx::now)), replacing
    /// any pending one. Returns `false` if `id` is not a live I/O task.
    pub fn rearm_io(&mut self, id: TaskId, timeout: Option<Duration>) -> Result<bool, Error> {
        self.rearm_io_inner(id, timeout, false)
    }

    /// Re-arms read or write task `id` (without a timeout) after its handler read or wrote until
    /// the descriptor would block (`EAGAIN`): the kernel's registration is left as it is when
    /// it already has the right interest, which saves the `epoll_ctl` system call that
    /// [`Ctx::rearm_io`] makes. Nothing is lost: the descriptor stays registered (edge-triggered)
    /// while its task runs, so readiness that arrives after the handler's last read wakes the
    /// loop and runs the re-armed task. Only for a handler that really drained the descriptor
    /// and did not close it (a closed number reused by a new file needs the registration);
    /// otherwise use [`Ctx::rearm_io`], whose re-registration re-checks readiness.
    pub fn rearm_io_drained(&mut self, id: TaskId) -> Result<bool, Error> {
        self.rearm_io_inner(id, None, true)
    }

    fn rearm_io_inner(
        &mut self,
        id: TaskId,
        timeout: Option<Duration>,
        drained: bool,
    ) -> Result<bool, Error> {
        let Some(task) = self.lookup(id) else {
            return Ok(false);
        };
        let Kind::Io { fd, dir, .. } = task.kind else {
            return Ok(false);
        };
        let fail = |ctx: &Self, source| Error::Register {
            task: ctx.name(id).unwrap_or_default().to_owned(),
            fd,
            source,
        };
        // A task that fired was detached from its fd; take its place back unless a new task
        // took it meanwhile.
        let reg = self.fds.entry(fd).or_default();
        let place = match dir {
            Dir::Read => &mut reg.reader,
            Dir::Write => &mut reg.writer,
        };
        if place.is_some_and(|i| i != id.index) {
            return Err(fail(self, io::Error::from_raw_os_error(libc::EBUSY)));
        }
        *place = Some(id.index);
        let seq = self.bump(id.index);
        if let Some(task) = self.task_at(id.index) {
            task.rearmed = true;
            if let Kind::Io { armed, .. } = &mut task.kind {
                *armed = true;
            }
        }
        if let Some(t) = timeout {
            self.push_due(id.index, later(self.now, t), seq, Action::Fire);
        }
        if drained
            && self
                .fds
                .get(&fd)
                .is_some_and(|r| r.registered && r.interest == interest_of(r))
        {
            return Ok(true);
        }
        self.sync_fd(fd).map_err(|source| fail(self, source))?;
        Ok(true)
    }

    /// Adds an event task: `handler` runs once with [`Event::Posted`] at the end of this turn
    /// (or of the next one, if posted from an event handler), before the loop sleeps again.
    pub fn add_event<F>(&mut self, name: impl Into<Cow<'static, str>>, handler: F) -> TaskId
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let id = self.insert(name.into(), Box::new(handler), Kind::Event);
        self.repost(id);
        id
    }

    /// Posts event task `id` again (from its own handler, this keeps it alive for one more
    /// run). Returns `false` if `id` is not a live event task.
    pub fn repost(&mut self, id: TaskId) -> bool {
        let Some(task) = self.lookup(id) else {
            return false;
        };
        if !matches!(task.kind, Kind::Event) {
            return false;
        }
        let seq = self.bump(id.index);
        if let Some(task) = self.task_at(id.index) {
            task.rearmed = true;
        }
        self.posted.push_back((id.index, seq));
        true
    }

    /// Watches `signal`: `handler` runs with [`Event::Signal`] each time it arrives, until the
    /// task is cancelled. Several tasks may watch one signal; they run in the order added. The
    /// signal stays blocked (and is read and dropped when unwatched) until the loop is dropped.
    pub fn add_signal<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        signal: Signal,
        handler: F,
    ) -> Result<TaskId, Error>
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        if !signal.is_watchable() {
            return Err(Error::Unwatchable(signal));
        }
        let raw = signal.as_raw();
        if !self.sigset.contains(raw) {
            let mut one = SigSet::empty();
            one.add(raw);
            let before = sys::thread_mask().map_err(Error::Signals)?;
            sys::change_thread_mask(&one, true).map_err(Error::Signals)?;
            let mut set = self.sigset;
            set.add(raw);
            if let Err(e) = sys::signalfd_update(&self.signalfd, &set) {
                if !before.contains(raw) {
                    let _ = sys::change_thread_mask(&one, false);
                }
                return Err(Error::Signals(e));
            }
            if !before.contains(raw) {
                self.we_blocked.add(raw);
            }
            self.sigset = set;
        }
        let id = self.insert(name.into(), Box::new(handler), Kind::Signal(signal));
        self.watchers.push((signal, id.index));
        Ok(id)
    }

    /// Spawns a child process and runs `handler` once with [`Event::Exit`] after it exits and
    /// has been reaped, or with [`Event::SpawnFailed`] if it could not be started (missing
    /// program, bad directory, uid refused). With a [timeout](ChildSpec::timeout), counted from
    /// this call, the child gets `SIGTERM` when it expires and `SIGKILL` a grace period later;
    /// `timed_out` is then set in the exit report.
    ///
    /// The fork and exec happen on a helper thread (started on first use), so `spawn` returns
    /// at once: `std`'s spawn waits until the child has called `execve`, 0.6 ms at the median
    /// and milliseconds under load on the development machine, a stall a 10 ms VRRP loop should
    /// not take per script. [`Ctx::child_pid`] is `None` until the child has started.
    ///
    /// Cancelling the task kills the child (`SIGKILL`; if it is still starting, as soon as it
    /// has started) and reaps it silently. Errors: only if the helper thread cannot be started.
    ///
    /// Nothing else in the process may wait for the loop's children (`waitpid(-1)`,
    /// `std::process::Child::wait` on a child it did not spawn): if something does, the exit
    /// status is lost and reported as exit code 255.
    pub fn spawn<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        spec: ChildSpec,
        handler: F,
    ) -> Result<TaskId, Error>
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let name = name.into();
        let (command, limits) = spec.into_command();
        if self.spawner.is_none() {
            let shared = self.waker_shared()?;
            let wake = Arc::new(move || {
                // A failed wake only delays the report to the next wake-up.
                let _ = shared.waker.wake();
            });
            let spawner = Spawner::start(wake).map_err(|source| Error::Spawn {
                task: name.to_string(),
                source,
            })?;
            self.spawner = Some(spawner);
        }
        let tag = self.next_spawn;
        self.next_spawn += 1;
        let state = ChildState {
            child: None,
            starting: Some(tag),
            pid: 0,
            pidfd: None,
            group: limits.group,
            grace: limits.grace,
            timed_out: false,
            detached: false,
        };
        let id = self.insert(name, Box::new(handler), Kind::Child(state));
        let job = Job {
            tag,
            command,
            pidfd: self.use_pidfd,
        };
        if !self.spawner.as_ref().is_some_and(|sp| sp.submit(job)) {
            let task = self.name(id).unwrap_or_default().to_owned();
            if let Some(task) = self.task_at(id.index)
                && let Kind::Child(c) = &mut task.kind
            {
                c.starting = None;
            }
            self.remove(id.index);
            let source = io::Error::other("the spawner thread is gone");
            return Err(Error::Spawn { task, source });
        }
        self.children.push(id.index);
        if let Some(t) = limits.timeout {
            let seq = self.bump(id.index);
            self.push_due(id.index, later(self.now, t), seq, Action::Term);
        }
        Ok(id)
    }

    /// Adds a task that other threads can trigger: each [`Waker::wake`] makes `handler` run
    /// on the loop's thread with [`Event::Woken`] (in the I/O phase). Wakes that arrive before
    /// the handler runs are coalesced into one run. The task lives until cancelled; a waker of a
    /// cancelled task does nothing. This is how a helper thread (a mailer, a blocking resolver)
    /// hands results back: send them through a channel, then wake.
    pub fn add_waker<F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        handler: F,
    ) -> Result<(TaskId, Waker), Error>
    where
        F: FnMut(&mut S, &mut Ctx<S>, Event) + 'static,
    {
        let shared = self.waker_shared()?;
        let id = self.insert(name.into(), Box::new(handler), Kind::Waker);
        Ok((id, Waker { shared, id }))
    }

    /// Lets the loop wake up to `slack` after the earliest deadline, so that timers due close
    /// together run in one turn (fewer wake-ups, at the price of up to `slack` more lateness).
    /// Timers never run early. The default is [`DEFAULT_TIMER_SLACK`]; zero wakes exactly at
    /// each deadline.
    pub fn set_timer_slack(&mut self, slack: Duration) {
        self.slack = slack;
    }

    /// Chooses how children are reaped. With `true` (the default) each child gets a pidfd
    /// (Linux 5.3 and later), and `SIGCHLD` is a second path. With `false`, or when pidfds are
    /// not available, only `SIGCHLD` reaps: that needs the loop on the main thread, or `SIGCHLD`
    /// blocked in every thread, because the kernel discards a `SIGCHLD` aimed at a thread that
    /// neither blocks nor handles it. Applies to children spawned afterwards.
    pub fn set_use_pidfd(&mut self, yes: bool) {
        self.use_pidfd = yes;
    }

    /// The process id of child task `id`, once started and until it is reaped.
    pub fn child_pid(&self, id: TaskId) -> Option<u32> {
        match &self.lookup(id)?.kind {
            Kind::Child(c) if c.child.is_some() => Some(c.pid),
            _ => None,
        }
    }

    /// Cancels task `id`: its handler will not run again (if it is running now, it finishes).
    /// A cancelled child is killed with `SIGKILL` and reaped without a report. Returns `false`
    /// if `id` was not live.
    pub fn cancel(&mut self, id: TaskId) -> bool {
        if self.lookup(id).is_none() {
            return false;
        }
        self.remove(id.index);
        true
    }

    // ===== internals =====

    fn lookup(&self, id: TaskId) -> Option<&Task<S>> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.task
            .as_ref()
            .filter(|t| !matches!(&t.kind, Kind::Child(c) if c.detached))
    }

    fn task_at(&mut self, index: u32) -> Option<&mut Task<S>> {
        self.slots.get_mut(index as usize)?.task.as_mut()
    }

    fn has_queued(&self) -> bool {
        !(self.io_q.is_empty()
            && self.exit_q.is_empty()
            && self.sig_q.is_empty()
            && self.due_q.is_empty()
            && self.posted.is_empty())
    }

    fn queue(&mut self, phase: Phase) -> &mut VecDeque<Ticket> {
        match phase {
            Phase::Io => &mut self.io_q,
            Phase::Exit => &mut self.exit_q,
            Phase::Signal => &mut self.sig_q,
        }
    }

    fn insert(&mut self, name: Cow<'static, str>, handler: Handler<S>, kind: Kind) -> TaskId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let task = Task {
            name,
            handler: Some(handler),
            kind,
            seq,
            in_heap: false,
            due_at: self.now,
            rearmed: false,
        };
        self.live += 1;
        if let Some(index) = self.free.pop()
            && let Some(slot) = self.slots.get_mut(index as usize)
        {
            slot.task = Some(task);
            return TaskId {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(Slot {
            generation: 0,
            task: Some(task),
        });
        TaskId {
            index,
            generation: 0,
        }
    }

    /// Gives task `index` a fresh sequence number, invalidating its queued tickets and heap
    /// entry, and returns the new number.
    fn bump(&mut self, index: u32) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(task) = self
            .slots
            .get_mut(index as usize)
            .and_then(|s| s.task.as_mut())
        {
            if task.in_heap {
                task.in_heap = false;
                self.stale += 1;
            }
            task.seq = seq;
        }
        seq
    }

    fn push_due(&mut self, index: u32, deadline: Instant, seq: u64, action: Action) {
        if let Some(task) = self.task_at(index) {
            task.in_heap = true;
            task.due_at = deadline;
        }
        self.heap.push(Reverse(Due {
            deadline,
            seq,
            index,
            action,
        }));
        if self.stale > COMPACT_MIN_STALE && self.stale > self.heap.len() / 2 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|Reverse(d)| {
            slots
                .get(d.index as usize)
                .and_then(|s| s.task.as_ref())
                .is_some_and(|t| t.seq == d.seq && t.in_heap)
        });
        self.stale = 0;
    }

    fn set_timer(&mut self, index: u32, deadline: Instant) {
        let seq = self.bump(index);
        if let Some(task) = self.task_at(index)
            && let Kind::Timer { deadline: d, .. } = &mut task.kind
        {
            *d = Some(deadline);
        }
        self.push_due(index, deadline, seq, Action::Fire);
    }

    fn add_io(
        &mut self,
        name: Cow<'static, str>,
        fd: RawFd,
        dir: Dir,
        timeout: Option<Duration>,
        handler: Handler<S>,
    ) -> Result<TaskId, Error> {
        let fail = |name: &Cow<'static, str>, source| Error::Register {
            task: name.to_string(),
            fd,
            source,
        };
        if fd < 0 {
            return Err(fail(&name, io::Error::from_raw_os_error(libc::EBADF)));
        }
        let reg = self.fds.entry(fd).or_default();
        let busy = match dir {
            Dir::Read => reg.reader.is_some(),
            Dir::Write => reg.writer.is_some(),
        };
        if busy {
            return Err(fail(&name, io::Error::from_raw_os_error(libc::EBUSY)));
        }
        let id = self.insert(
            name,
            handler,
            Kind::Io {
                fd,
                dir,
                armed: true,
            },
        );
        if let Some(reg) = self.fds.get_mut(&fd) {
            match dir {
                Dir::Read => reg.reader = Some(id.index),
                Dir::Write => reg.writer = Some(id.index),
            }
        }
        if let Err(source) = self.sync_fd(fd) {
            let task = self.name(id).unwrap_or_default().to_owned();
            self.remove(id.index);
            return Err(Error::Register { task, fd, source });
        }
        if let Some(t) = timeout {
            let seq = self.bump(id.index);
            self.push_due(id.index, later(self.now, t), seq, Action::Fire);
        }
        Ok(id)
    }

    /// Brings the epoll registration of `fd` in line with its tasks. A modification also makes
    /// the kernel re-check readiness, which is what makes re-arming level-triggered.
    fn sync_fd(&mut self, fd: RawFd) -> io::Result<()> {
        let Some(reg) = self.fds.get_mut(&fd) else {
            return Ok(());
        };
        let interest = interest_of(reg);
        if self.internal_fds.contains(&fd) {
            // The caller's fd was closed and its number now belongs to one of the loop's own
            // descriptors: never modify or remove that registration.
            reg.registered = false;
            reg.interest = None;
            if interest.is_none() {
                self.fds.remove(&fd);
                return Ok(());
            }
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let registry = self.poll.registry();
        let token = Token(usize::try_from(fd).unwrap_or(0) << 2 | KIND_FD);
        let Some(interest) = interest else {
            if reg.registered {
                // Fails harmlessly if the fd was already closed (epoll dropped it then).
                let _ = registry.deregister(&mut SourceFd(&fd));
            }
            self.fds.remove(&fd);
            return Ok(());
        };
        let errno = |e: &io::Error, n| e.raw_os_error() == Some(n);
        let r = if reg.registered {
            match registry.reregister(&mut SourceFd(&fd), token, interest) {
                // The fd was closed and its number reused: register the new file.
                Err(e) if errno(&e, libc::ENOENT) => {
                    registry.register(&mut SourceFd(&fd), token, interest)
                }
                r => r,
            }
        } else {
            let r = match registry.register(&mut SourceFd(&fd), token, interest) {
                Err(e) if errno(&e, libc::EEXIST) => {
                    registry.reregister(&mut SourceFd(&fd), token, interest)
                }
                r => r,
            };
            if r.is_ok() {
                reg.registered = true;
            }
            r
        };
        // After a failure the kernel's view is unknown: the next re-arm makes the system call.
        reg.interest = r.is_ok().then_some(interest);
        r
    }

    fn queue_io(&mut self, fd: RawFd, readable: bool, writable: bool) {
        let Some(reg) = self.fds.get(&fd) else { return };
        let wanted = [
            (readable, reg.reader, Event::Readable),
            (writable, reg.writer, Event::Writable),
        ];
        for (ready, index, event) in wanted {
            let Some(index) = index.filter(|_| ready) else {
                continue;
            };
            let Some(task) = self.slots.get(index as usize).and_then(|s| s.task.as_ref()) else {
                continue;
            };
            if let Kind::Io { armed: true, .. } = task.kind {
                self.io_q.push_back(Ticket {
                    index,
                    seq: task.seq,
                    event,
                });
            }
        }
    }

    /// The state shared with wakers and the spawner thread, created on first use (mio allows
    /// one waker, an eventfd, per poll; everything shares it).
    fn waker_shared(&mut self) -> Result<Arc<WakerShared>, Error> {
        if let Some(shared) = &self.wakers {
            return Ok(Arc::clone(shared));
        }
        let waker = mio::Waker::new(self.poll.registry(), TOKEN_WAKER).map_err(Error::Setup)?;
        let shared = Arc::new(WakerShared {
            waker,
            pending: Mutex::new(Vec::new()),
        });
        self.wakers = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// Takes the spawner thread's answers: records started children (registering their
    /// pidfds), reports failures, and kills children whose task was cancelled meanwhile.
    fn collect_spawned(&mut self) {
        while let Some(done) = self.spawner.as_ref().and_then(Spawner::try_recv) {
            self.spawned(done);
        }
    }

    fn spawned(&mut self, done: Done) {
        let found = self.children.iter().copied().find(|&i| {
            matches!(
                self.slots.get(i as usize).and_then(|s| s.task.as_ref()).map(|t| &t.kind),
                Some(Kind::Child(c)) if c.starting == Some(done.tag)
            )
        });
        let Some(index) = found else {
            // Cannot happen (a starting child keeps its slot); never leave a child behind.
            if let Ok((mut child, _)) = done.result {
                let _ = child.kill();
                let _ = child.wait();
            }
            return;
        };
        let Some(task) = self
            .slots
            .get_mut(index as usize)
            .and_then(|s| s.task.as_mut())
        else {
            return;
        };
        let Kind::Child(c) = &mut task.kind else {
            return;
        };
        c.starting = None;
        match done.result {
            Ok((child, pidfd)) => {
                c.pid = child.id();
                c.child = Some(child);
                if c.detached || c.timed_out {
                    // Cancelled while starting, or its whole time budget went by: stop it now.
                    c.signal(libc::SIGKILL);
                }
                if let Some(fd) = pidfd {
                    let token = Token(((index as usize) << 2) | KIND_CHILD);
                    let ok = self
                        .poll
                        .registry()
                        .register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)
                        .is_ok();
                    if ok {
                        self.internal_fds.insert(fd.as_raw_fd());
                        c.pidfd = Some(fd);
                    }
                }
                // It may already have exited (its SIGCHLD or pidfd readiness may predate
                // this): look once.
                self.reap(index);
            }
            Err(e) => {
                let detached = c.detached;
                self.children.retain(|i| *i != index);
                let seq = self.bump(index);
                if detached {
                    self.free_slot(index);
                } else {
                    let errno = e.raw_os_error().unwrap_or(0);
                    self.exit_q.push_back(Ticket {
                        index,
                        seq,
                        event: Event::SpawnFailed { errno },
                    });
                }
            }
        }
    }

    /// Turns the wakes recorded by other threads into tickets.
    fn queue_woken(&mut self) {
        let Some(shared) = &self.wakers else { return };
        let ids = std::mem::take(
            &mut *shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for id in ids {
            let Some(slot) = self.slots.get(id.index as usize) else {
                continue;
            };
            if slot.generation != id.generation {
                continue;
            }
            if let Some(task) = slot.task.as_ref().filter(|t| matches!(t.kind, Kind::Waker)) {
                self.io_q.push_back(Ticket {
                    index: id.index,
                    seq: task.seq,
                    event: Event::Woken,
                });
            }
        }
    }

    /// Reads every pending signal; returns whether `SIGCHLD` was among them.
    fn read_signals(&mut self) -> bool {
        let mut sigchld = false;
        let mut buf = [0u8; SIGINFO_LEN * 32];
        loop {
            let n = match (&self.signalfd).read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for rec in buf[..n].chunks_exact(SIGINFO_LEN) {
                let Some(info) = parse_siginfo(rec) else {
                    continue;
                };
                sigchld |= info.signal == Signal::CHLD;
                for &(signal, index) in &self.watchers {
                    if signal != info.signal {
                        continue;
                    }
                    if let Some(task) = self.slots.get(index as usize).and_then(|s| s.task.as_ref())
                    {
                        self.sig_q.push_back(Ticket {
                            index,
                            seq: task.seq,
                            event: Event::Signal(info),
                        });
                    }
                }
            }
        }
        sigchld
    }

    /// Reaps child task `index` if it has exited, queueing its exit report.
    fn reap(&mut self, index: u32) {
        let Some(task) = self
            .slots
            .get_mut(index as usize)
            .and_then(|s| s.task.as_mut())
        else {
            return;
        };
        let Kind::Child(c) = &mut task.kind else {
            return;
        };
        let Some(child) = c.child.as_mut() else {
            return;
        };
        let status = match child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return,
            // ECHILD: something else in the process reaped it; the status is lost.
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(255 << 8),
        };
        c.child = None;
        if let Some(fd) = c.pidfd.take() {
            self.internal_fds.remove(&fd.as_raw_fd());
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&fd.as_raw_fd()));
        }
        let exit = ChildExit {
            pid: c.pid,
            status,
            timed_out: c.timed_out,
        };
        let detached = c.detached;
        self.children.retain(|i| *i != index);
        let seq = self.bump(index);
        if detached {
            self.free_slot(index);
        } else {
            self.exit_q.push_back(Ticket {
                index,
                seq,
                event: Event::Exit(exit),
            });
        }
    }

    /// Removes task `index` and undoes what it registered.
    fn remove(&mut self, index: u32) {
        self.bump(index);
        let Some(task) = self.task_at(index) else {
            return;
        };
        match &mut task.kind {
            Kind::Io { fd, dir, .. } => {
                let (fd, dir) = (*fd, *dir);
                if let Some(reg) = self.fds.get_mut(&fd) {
                    match dir {
                        Dir::Read if reg.reader == Some(index) => reg.reader = None,
                        Dir::Write if reg.writer == Some(index) => reg.writer = None,
                        _ => {}
                    }
                }
                // An error here means the fd is already gone from epoll.
                let _ = self.sync_fd(fd);
            }
            Kind::Signal(_) => self.watchers.retain(|(_, i)| *i != index),
            Kind::Child(c) if c.child.is_some() || c.starting.is_some() => {
                // Still running: kill it and keep the slot until it is reaped, but make the id
                // dead at once.
                c.signal(libc::SIGKILL);
                c.detached = true;
                task.handler = None;
                self.live -= 1;
                if let Some(slot) = self.slots.get_mut(index as usize) {
                    slot.generation = slot.generation.wrapping_add(1);
                }
                // Usually not exited yet: the pidfd or SIGCHLD reaps it later.
                self.reap(index);
                return;
            }
            Kind::Timer { .. } | Kind::Event | Kind::Waker | Kind::Child(_) => {}
        }
        self.live -= 1;
        self.free_slot(index);
    }

    fn free_slot(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize)
            && slot.task.take().is_some()
        {
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(index);
        }
    }

    /// Drops stale heap tops, arms the timerfd for the earliest deadline and returns how long
    /// epoll may block.
    fn prepare_wait(&mut self, max_wait: Option<Duration>) -> io::Result<Option<Duration>> {
        while let Some(Reverse(top)) = self.heap.peek() {
            let valid = self
                .slots
                .get(top.index as usize)
                .and_then(|s| s.task.as_ref())
                .is_some_and(|t| t.seq == top.seq);
            if valid {
                break;
            }
            self.heap.pop();
            self.stale = self.stale.saturating_sub(1);
        }
        if self.has_queued() {
            return Ok(Some(Duration::ZERO));
        }
        let next = self.heap.peek().map(|Reverse(d)| d.deadline);
        if next.is_some_and(|d| d <= Instant::now()) {
            return Ok(Some(Duration::ZERO));
        }
        let next = next.map(|d| later(d, self.slack));
        if next != self.timer_armed {
            sys::timerfd_set(&self.timerfd, next.map(to_kernel_time))?;
            self.timer_armed = next;
        }
        Ok(max_wait)
    }
}

/// The interest the tasks of a descriptor need (`None`: no task, so no registration).
fn interest_of(reg: &FdReg) -> Option<Interest> {
    match (reg.reader.is_some(), reg.writer.is_some()) {
        (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
        (true, false) => Some(Interest::READABLE),
        (false, true) => Some(Interest::WRITABLE),
        (false, false) => None,
    }
}

impl<S> Drop for Ctx<S> {
    fn drop(&mut self) {
        // No zombies: first the children the spawner thread started but we never saw, then
        // every child still running.
        if let Some(mut spawner) = self.spawner.take() {
            for done in spawner.shutdown() {
                if let Ok((mut child, _)) = done.result {
                    let group = self.children.iter().any(|&i| {
                        matches!(
                            self.slots.get(i as usize).and_then(|s| s.task.as_ref()).map(|t| &t.kind),
                            Some(Kind::Child(c)) if c.starting == Some(done.tag) && c.group
                        )
                    });
                    if group && let Ok(pid) = i32::try_from(child.id()) {
                        let _ = sys::kill(-pid, libc::SIGKILL);
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        for index in std::mem::take(&mut self.children) {
            if let Some(task) = self
                .slots
                .get_mut(index as usize)
                .and_then(|s| s.task.as_mut())
                && let Kind::Child(c) = &mut task.kind
            {
                // Signal first: `signal` refuses once the child has been taken out.
                c.signal(libc::SIGKILL);
                if let Some(mut child) = c.child.take() {
                    let _ = child.wait();
                }
            }
        }
        let _ = sys::change_thread_mask(&self.we_blocked, false);
    }
}

/// Blocks `signals` in the calling thread. Call it in threads created before the [`Loop`], so
/// that the loop's signals are not delivered to them.
pub fn block_signals(signals: &[Signal]) -> io::Result<()> {
    let mut set = SigSet::empty();
    for s in signals {
        set.add(s.as_raw());
    }
    sys::change_thread_mask(&set, true)
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;

    use super::*;

    /// Whether the epoll instance `epfd` has a registration for descriptor `fd`
    /// (`/proc/self/fdinfo` lists one `tfd: N events: ... data: ...` line per registration).
    fn epoll_watches(epfd: RawFd, fd: RawFd) -> bool {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{epfd}")).unwrap();
        info.lines()
            .any(|l| l.starts_with("tfd:") && l.split_whitespace().nth(1) == Some(&fd.to_string()))
    }

    /// Deadlines live on `CLOCK_MONOTONIC` (clock id 1) with absolute arming, so a wall-clock
    /// step cannot move them. Read back from the kernel's view of the timerfd.
    #[test]
    fn the_timerfd_is_monotonic_and_absolute() {
        let mut lp: Loop<()> = Loop::new().unwrap();
        lp.ctx()
            .add_timer_after("t", Duration::from_secs(60), |(), _, _| {});
        lp.run_once(&mut (), Some(Duration::ZERO)).unwrap();
        let fd = lp.ctx.timerfd.as_raw_fd();
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        assert_eq!(field("clockid:").as_deref(), Some("1"), "{info}");
        assert_eq!(field("settime flags:").as_deref(), Some("01"), "{info}");
        // The kernel shows the time left: about 60 s.
        let armed = field("it_value:").unwrap();
        let secs: u64 = armed
            .trim_start_matches('(')
            .split(',')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!((58..=60).contains(&secs), "{armed}");
    }

    /// No code path may read the wall clock.
    #[test]
    fn no_wall_clock_in_the_sources() {
        let banned = [
            ["System", "Time"].concat(),
            ["CLOCK_", "REALTIME"].concat(),
            ["gettime", "ofday"].concat(),
        ];
        let sources = [
            ("event_loop.rs", include_str!("event_loop.rs")),
            ("time.rs", include_str!("time.rs")),
            ("sys.rs", include_str!("sys.rs")),
            ("child.rs", include_str!("child.rs")),
            ("signal.rs", include_str!("signal.rs")),
        ];
        for (file, text) in sources {
            for word in &banned {
                assert!(!text.contains(word.as_str()), "{file} mentions {word}");
            }
        }
    }

    #[test]
    fn stale_task_on_a_reused_fd_number_never_touches_the_loops_own_descriptors() {
        let mut lp: Loop<u32> = Loop::new().unwrap();
        let epfd = lp.ctx.poll.as_raw_fd();
        let (a, _b) = UnixStream::pair().unwrap();
        let afd = a.as_raw_fd();
        // Long enough for the spawner thread to start the child first.
        let timeout = Some(Duration::from_millis(500));
        lp.ctx()
            .add_read("stale", afd, timeout, |n: &mut u32, _, _| *n += 1)
            .unwrap();
        drop(a); // a caller bug: closed while its task is pending
        let spec = ChildSpec::new("sleep").arg("30");
        let child = lp
            .ctx()
            .spawn("child", spec, |_: &mut u32, _, _| {})
            .unwrap();
        let mut n = 0;
        while lp.ctx().child_pid(child).is_none() {
            lp.run_once(&mut n, Some(Duration::from_millis(5))).unwrap();
        }
        let Some(Kind::Child(c)) = lp.ctx.slots[child.index as usize]
            .task
            .as_ref()
            .map(|t| &t.kind)
        else {
            panic!("not a child");
        };
        let pidfd = c.pidfd.as_ref().unwrap().as_raw_fd();
        if pidfd != afd || n != 0 {
            // Another thread took the number first, or the stale task already timed out:
            // nothing to check in this run.
            lp.ctx().cancel(child);
            return;
        }
        assert!(epoll_watches(epfd, pidfd));
        // Adding a task on that number is refused rather than stealing the registration.
        assert!(
            lp.ctx()
                .add_write("bogus", afd, None, |_: &mut u32, _, _| {})
                .is_err()
        );
        while n == 0 {
            lp.run_once(&mut n, Some(Duration::from_secs(5))).unwrap();
        }
        // The stale task timed out and was removed: the pidfd registration must be intact.
        assert!(
            epoll_watches(epfd, pidfd),
            "the stale task deregistered the pidfd"
        );
        lp.ctx().cancel(child);
    }
}

/// State shared between the loop and its [`Waker`]s.
struct WakerShared {
    waker: mio::Waker,
    /// Tasks woken since the loop last looked, without duplicates.
    pending: Mutex<Vec<TaskId>>,
}

/// Triggers a waker task (see [`Ctx::add_waker`]) from any thread. Cheap to clone.
#[derive(Clone)]
pub struct Waker {
    shared: Arc<WakerShared>,
    id: TaskId,
}

impl Waker {
    /// Makes the task's handler run on the loop's thread. Only the first wake since the last run
    /// costs a system call; the others are coalesced.
    pub fn wake(&self) -> io::Result<()> {
        let first = {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let was_empty = pending.is_empty();
            if !pending.contains(&self.id) {
                pending.push(self.id);
            }
            was_empty
        };
        if first {
            self.shared.waker.wake()
        } else {
            Ok(())
        }
    }

    /// The task this waker triggers.
    pub fn task(&self) -> TaskId {
        self.id
    }
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waker")
            .field("task", &self.id)
            .finish_non_exhaustive()
    }
}
