//! keepalived's process model (keepalived-behaviour.md §7.1, §7.2, §7.7): the parent starts
//! the VRRP child, watches it, respawns it when it dies and forwards signals to it.
//!
//! ```text
//!   keepalived (parent, "Keepalived", -p pidfile)      scheduler loop: signals, child exit, timers
//!    └─ keepalived --vrrp-child PPID (VRRP, "Keepalived_vrrp", -r pidfile)
//! ```
//!
//! * **Re-exec, not fork.** The child is the parent's own binary started afresh through the
//!   scheduler's spawner (fork + immediate exec), with the options it needs and the hidden
//!   `--vrrp-child PARENT_PID`: no process ever runs on after a `fork` of a process with threads.
//!   It is executed by its path while that file is still the running binary, else through
//!   `/proc/self/exe` (after a package upgrade replaced it), so a respawned child is always the
//!   same version as its parent. The child stays in the parent's
//!   process group, so `kill -9 -PGID` (or systemd's `KillMode=control-group`) takes both.
//! * **Respawn with backoff.** keepalived respawns at once, every time; a child that dies at
//!   start would then spin. Here the first respawn comes after [`Backoff::RESPAWN_INITIAL`],
//!   each further one twice as late up to [`Backoff::RESPAWN_MAX`], and a child that ran
//!   [`Backoff::STABLE`] resets the delay. When the *first* child exits with status 4 (cannot
//!   start) or 5 (configuration unusable), the parent stops with the same status, so that a start
//!   with a broken file fails visibly (modern keepalived also tells configuration failures from
//!   crashes). A *respawned* child that exits so (the file was broken after the start, then the
//!   child crashed) is retried with the same backoff, an error logged each time, until the file is
//!   fixed: stopping would leave the router without VRRP for good over a typo that a reload never
//!   applied. A driver that fails while running exits with 1 and is respawned. With `-R` the parent
//!   stops when the child ends, whatever the reason, with status 0 if the child stopped cleanly and
//!   1 otherwise.
//! * **Signals.** `SIGHUP`, `SIGUSR1`, `SIGUSR2` and `SIGRTMIN+2` are forwarded to the child.
//!   `SIGTERM`/`SIGINT`: `SIGTERM` to the child, then the parent waits for its orderly stop
//!   (priority 0, VIPs removed) for at most [`STOP_WAIT`] (keepalived 2.x's `child_wait_time`
//!   default), kills it if it is still there, removes the pidfiles and exits 0.
//! * **The parent killed with `SIGKILL`.** The child gets `SIGTERM` from the kernel
//!   (`PR_SET_PDEATHSIG`, as in keepalived 2.2.7, checked here) and stops in order; the parent's
//!   pidfile stays behind and the next start treats it as stale.

use std::time::{Duration, Instant};

use scheduler::{ChildSpec, Event, Loop, Signal, StdioMode, TaskId};

use crate::daemon::{DaemonArgs, Logger};

/// How long the parent waits for the child's orderly stop before killing it.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(5);

/// How long after the start (a spawn, a forwarded signal) the parent releases the pages of code
/// that it touched ([`Supervisor::release_soon`]).
const RELEASE_AFTER: Duration = Duration::from_secs(2);

/// A restart delay that grows while what it restarts keeps dying: `first`, then doubling (at
/// least `floor`) up to `max`, and back to `first` after a run of at least `stable`. The VRRP
/// child's respawn ([`Backoff::respawn`]) and the SMTP mailer's restart
/// ([`Backoff::mailer`]) use it with their own numbers.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    first: Duration,
    floor: Duration,
    max: Duration,
    stable: Duration,
    next: Duration,
}

impl Backoff {
    /// The first respawn delay of the VRRP child: short, so that a crash costs little more
    /// than the crash.
    pub(crate) const RESPAWN_INITIAL: Duration = Duration::from_millis(100);
    /// The longest respawn delay, reached after seven quick deaths in a row.
    pub(crate) const RESPAWN_MAX: Duration = Duration::from_secs(10);
    /// A run this long was stable: the next delay is the first one again (both users).
    pub(crate) const STABLE: Duration = Duration::from_secs(60);
    /// The mailer's longest restart delay.
    pub(crate) const MAILER_MAX: Duration = Duration::from_secs(60);

    /// `first`, then doubling, at least `floor`, at most `max`; reset by a run of `stable`.
    pub(crate) const fn new(
        first: Duration,
        floor: Duration,
        max: Duration,
        stable: Duration,
    ) -> Backoff {
        Backoff {
            first,
            floor,
            max,
            stable,
            next: first,
        }
    }

    /// The VRRP child's respawn: 100 ms, doubling to 10 s.
    pub(crate) const fn respawn() -> Backoff {
        Backoff::new(
            Self::RESPAWN_INITIAL,
            Self::RESPAWN_INITIAL,
            Self::RESPAWN_MAX,
            Self::STABLE,
        )
    }

    /// The SMTP mailer's restart: at once, then 1 s doubling to 60 s.
    pub(crate) const fn mailer() -> Backoff {
        Backoff::new(
            Duration::ZERO,
            Duration::from_secs(1),
            Self::MAILER_MAX,
            Self::STABLE,
        )
    }

    /// The delay before restarting what ran for `ran`.
    pub(crate) fn delay(&mut self, ran: Duration) -> Duration {
        if ran >= self.stable {
            self.next = self.first;
        }
        let d = self.next;
        self.next = (self.next * 2).clamp(self.floor, self.max);
        d
    }
}

/// The parent's state on its event loop.
struct Supervisor {
    args: DaemonArgs,
    log: Logger,
    /// The child task (starting or running).
    child: Option<TaskId>,
    started: Instant,
    /// How many children were started (the first one's start failure stops the parent).
    spawned: u32,
    backoff: Backoff,
    respawn: Option<TaskId>,
    /// Signals to forward once the child's pid is known (it is starting).
    pending: Vec<Signal>,
    retry: Option<TaskId>,
    /// The pending release of the code and heap that rare work used ([`Supervisor::release_soon`]).
    release: Option<TaskId>,
    stopping: bool,
    status: u8,
}

/// The child's command line: everything it needs, with absolute paths.
pub(crate) fn child_args(args: &DaemonArgs, parent: u32) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = vec![
        "--vrrp-child".into(),
        parent.to_string().into(),
        "-f".into(),
        args.config.clone().into(),
        "-r".into(),
        args.vrrp_pidfile.clone().into(),
    ];
    for (on, flag) in [
        (args.log_console, "-l"),
        (args.log_detail, "-D"),
        (args.no_syslog, "-G"),
        (args.dump_conf, "-d"),
        (args.vrrp_only, "-P"),
    ] {
        if on {
            v.push(flag.into());
        }
    }
    if let Some(s) = &args.facility_arg {
        v.push("-S".into());
        v.push(s.into());
    }
    if let Some(id) = &args.config_id {
        v.push("-i".into());
        v.push(id.into());
    }
    if let Some(f) = &args.log_file {
        let mut o = std::ffi::OsString::from("--log-file=");
        o.push(f);
        v.push(o);
    }
    v
}

/// The program to re-execute: our own file by its path while it is still the binary we run
/// (so `ps` and `pidof` show `keepalived`), else `/proc/self/exe`, which is always the running
/// binary, even after a package upgrade replaced or removed the file.
fn own_executable() -> std::path::PathBuf {
    use std::os::unix::fs::MetadataExt as _;
    let running = std::fs::metadata("/proc/self/exe").ok();
    let by_path = std::env::current_exe().ok();
    if let (Some(r), Some(p)) = (&running, &by_path)
        && let Ok(m) = std::fs::metadata(p)
        && (m.dev(), m.ino()) == (r.dev(), r.ino())
    {
        return p.clone();
    }
    std::path::PathBuf::from("/proc/self/exe")
}

impl Supervisor {
    fn spawn(&mut self, ctx: &mut scheduler::Ctx<Supervisor>) {
        self.respawn = None;
        let spec = ChildSpec::new(own_executable())
            .args(child_args(&self.args, std::process::id()))
            .own_process_group(false)
            .stdout(StdioMode::Inherit)
            .stderr(StdioMode::Inherit);
        self.started = Instant::now();
        self.spawned = self.spawned.saturating_add(1);
        match ctx.spawn("vrrp child", spec, |s: &mut Supervisor, ctx, ev| {
            s.child_event(ctx, ev);
        }) {
            Ok(id) => {
                self.child = Some(id);
                self.release_soon(ctx);
            }
            Err(e) => {
                self.log.error(&format!("cannot start the VRRP child: {e}"));
                self.status = crate::EXIT_FATAL;
                ctx.terminate();
            }
        }
    }

    fn child_event(&mut self, ctx: &mut scheduler::Ctx<Supervisor>, ev: Event) {
        self.child = None;
        self.pending.clear();
        let ran = self.started.elapsed();
        let (what, clean, code) = match ev {
            Event::Exit(e) => match (e.code(), e.signal()) {
                (Some(c), _) => (
                    format!("VRRP child (pid {}) exited with status {c}", e.pid),
                    c == 0,
                    Some(c),
                ),
                (None, Some(s)) => (
                    format!(
                        "VRRP child (pid {}) was killed by {}",
                        e.pid,
                        Signal::from_raw(s)
                            .map_or_else(|| format!("signal {s}"), |s| s.to_string())
                    ),
                    false,
                    None,
                ),
                _ => (format!("VRRP child (pid {}) ended", e.pid), false, None),
            },
            Event::SpawnFailed { errno } => (
                format!(
                    "cannot start the VRRP child: {}",
                    std::io::Error::from_raw_os_error(errno)
                ),
                false,
                None,
            ),
            _ => return,
        };
        if self.stopping {
            self.log.info(&what);
            ctx.terminate();
            return;
        }
        if let Some(c @ (4 | 5)) = code
            && self.spawned <= 1
        {
            self.log.error(&format!(
                "{what} (it cannot start with this configuration): not respawning, stopping"
            ));
            self.status = u8::try_from(c).unwrap_or(crate::EXIT_FATAL);
            ctx.terminate();
            return;
        }
        if self.args.dont_respawn {
            self.log
                .error(&format!("{what}: stopping (-R, --dont-respawn)"));
            self.status = u8::from(!clean);
            ctx.terminate();
            return;
        }
        let delay = self.backoff.delay(ran);
        if matches!(code, Some(4 | 5)) {
            self.log.error(&format!(
                "{what} (it cannot start with the configuration as it is now; no VRRP until the file is fixed): retrying in {} ms",
                delay.as_millis()
            ));
        } else {
            self.log
                .warn(&format!("{what}: respawning in {} ms", delay.as_millis()));
        }
        self.respawn =
            Some(ctx.add_timer_after("respawn", delay, |s: &mut Supervisor, ctx, _| s.spawn(ctx)));
    }

    /// Releases, [`RELEASE_AFTER`] from now, the pages of code that start-up or rare work (a
    /// spawn, a forwarded signal) touched, and the heap's free memory: the parent otherwise
    /// keeps them resident for its lifetime (1,000 instances: its resident code 1.5 MB -> 0.4-0.7
    /// MB after the start).
    fn release_soon(&mut self, ctx: &mut scheduler::Ctx<Supervisor>) {
        if self.release.is_some_and(|t| ctx.contains(t)) {
            return;
        }
        self.release =
            Some(
                ctx.add_timer_after("release", RELEASE_AFTER, |s: &mut Supervisor, _, _| {
                    s.release = None;
                    vrrp_engine::linux::release_code();
                    vrrp_engine::linux::trim_heap();
                }),
            );
    }

    /// Sends `sig` to the child, or keeps it until the child has a pid.
    fn forward(&mut self, ctx: &mut scheduler::Ctx<Supervisor>, sig: Signal) {
        let Some(task) = self.child else {
            return; // no child (waiting to respawn): the next one reads the file afresh
        };
        if let Some(pid) = ctx.child_pid(task) {
            if let Err(e) = sig.send_to(pid) {
                self.log
                    .warn(&format!("cannot send {sig} to the VRRP child {pid}: {e}"));
            }
            return;
        }
        self.pending.push(sig);
        if self.retry.is_none_or(|t| !ctx.contains(t)) {
            self.retry = Some(ctx.add_timer_after(
                "forward",
                Duration::from_millis(10),
                |s: &mut Supervisor, ctx, _| {
                    s.retry = None;
                    for sig in std::mem::take(&mut s.pending) {
                        s.forward(ctx, sig);
                    }
                },
            ));
        }
    }

    fn stop(&mut self, ctx: &mut scheduler::Ctx<Supervisor>, why: Signal) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.log.info(&format!("Stopping on {why}"));
        if let Some(t) = self.respawn.take() {
            ctx.cancel(t);
        }
        if self.child.is_none() {
            ctx.terminate();
            return;
        }
        self.forward(ctx, Signal::TERM);
        ctx.add_timer_after("stop wait", STOP_WAIT, |s: &mut Supervisor, ctx, _| {
            if let Some(t) = s.child.take() {
                s.log.error(&format!(
                    "the VRRP child did not stop within {} s: killing it",
                    STOP_WAIT.as_secs()
                ));
                ctx.cancel(t); // SIGKILL; its journal tells the next start what to remove
            }
            ctx.terminate();
        });
    }
}

/// Runs the parent until it stops; returns its exit status. Pidfiles are the caller's.
pub(crate) fn supervise(args: &DaemonArgs, log: &Logger) -> u8 {
    let mut lp: Loop<Supervisor> = match Loop::new() {
        Ok(l) => l,
        Err(e) => {
            log.fatal(&format!("cannot create the event loop: {e}"));
            return crate::EXIT_FATAL;
        }
    };
    let ctx = lp.ctx();
    for sig in [Signal::TERM, Signal::INT] {
        if let Err(e) = ctx.add_signal("stop", sig, move |s: &mut Supervisor, ctx, _| {
            s.stop(ctx, sig);
        }) {
            log.fatal(&format!("cannot watch {sig}: {e}"));
            return crate::EXIT_FATAL;
        }
    }
    for sig in [Signal::HUP, Signal::USR1, Signal::USR2, Signal::json()] {
        if let Err(e) = ctx.add_signal("forward", sig, move |s: &mut Supervisor, ctx, _| {
            if !s.stopping {
                s.forward(ctx, sig);
                s.release_soon(ctx);
            }
        }) {
            log.fatal(&format!("cannot watch {sig}: {e}"));
            return crate::EXIT_FATAL;
        }
    }
    let mut sup = Supervisor {
        args: args.clone(),
        log: log.clone(),
        child: None,
        started: Instant::now(),
        spawned: 0,
        backoff: Backoff::respawn(),
        respawn: None,
        pending: Vec::new(),
        retry: None,
        release: None,
        stopping: false,
        status: 0,
    };
    // The configuration check before us parsed the whole file; give that memory back, the
    // parent lives as long as the daemon (1,000 instances: about 1 MB).
    vrrp_engine::linux::trim_heap();
    sup.spawn(lp.ctx());
    if let Err(e) = lp.run(&mut sup) {
        log.error(&format!("the parent's event loop failed: {e}"));
        if let Some(pid) = sup.child.and_then(|t| lp.ctx().child_pid(t)) {
            let _ = Signal::TERM.send_to(pid);
        }
        return crate::EXIT_FATAL;
    }
    sup.status
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::respawn();
        let quick = Duration::from_millis(50);
        let delays: Vec<Duration> = (0..9).map(|_| b.delay(quick)).collect();
        assert_eq!(delays[0], Backoff::RESPAWN_INITIAL);
        assert_eq!(delays[1], Backoff::RESPAWN_INITIAL * 2);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(delays[7], Backoff::RESPAWN_MAX);
        assert_eq!(*delays.last().unwrap(), Backoff::RESPAWN_MAX);
        assert_eq!(b.delay(Backoff::STABLE), Backoff::RESPAWN_INITIAL);
        assert_eq!(b.delay(quick), Backoff::RESPAWN_INITIAL * 2);
    }

    #[test]
    fn mailer_backoff_starts_at_once_then_one_second_doubling() {
        let mut b = Backoff::mailer();
        let quick = Duration::from_secs(2);
        let secs: Vec<u64> = (0..9).map(|_| b.delay(quick).as_secs()).collect();
        assert_eq!(secs, [0, 1, 2, 4, 8, 16, 32, 60, 60]);
        // A mailer that ran a minute was not dying at start: at once again, then 1 s.
        assert_eq!(b.delay(Backoff::STABLE), Duration::ZERO);
        assert_eq!(b.delay(quick), Duration::from_secs(1));
        assert_eq!(b.delay(Duration::from_millis(59_999)).as_secs(), 2);
    }
}
