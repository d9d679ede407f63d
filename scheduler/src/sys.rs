//! The only module with `unsafe` code: thin, commented wrappers over the Linux calls the loop
//! needs and `std` does not offer (timerfd, signalfd, signal masks, pidfd, kill).
//!
//! Every wrapper validates its inputs, owns the descriptors it creates (`OwnedFd`, close on exec)
//! and turns `-1`/errno into `io::Error`. Reading from the descriptors is done through safe
//! `std::fs::File` methods by the callers.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A set of signal numbers (`sigset_t`).
#[derive(Clone, Copy)]
pub(crate) struct SigSet(libc::sigset_t);

impl SigSet {
    /// The empty set.
    pub(crate) fn empty() -> Self {
        let mut raw = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the whole sigset_t it is given; the pointer is valid
        // for writes and the value is only read after the call.
        let raw = unsafe {
            libc::sigemptyset(raw.as_mut_ptr());
            raw.assume_init()
        };
        SigSet(raw)
    }

    /// Adds `sig` (the caller has checked it is a valid signal number).
    pub(crate) fn add(&mut self, sig: i32) {
        // SAFETY: `self.0` is an initialised sigset_t; sigaddset only fails (EINVAL) for an
        // invalid number, which leaves the set unchanged.
        unsafe {
            libc::sigaddset(&raw mut self.0, sig);
        }
    }

    /// Whether `sig` is in the set.
    pub(crate) fn contains(&self, sig: i32) -> bool {
        // SAFETY: `self.0` is an initialised sigset_t; the call only reads it.
        unsafe { libc::sigismember(&raw const self.0, sig) == 1 }
    }
}

/// The calling thread's signal mask.
pub(crate) fn thread_mask() -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    // SAFETY: a null `set` only queries the mask, which is written to `old`, a valid sigset_t.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &raw mut old.0) };
    if rc == 0 {
        Ok(old)
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Blocks every signal in the calling thread (for helper threads that must never take a
/// process-directed signal meant for the loop). The kernel ignores the request for `SIGKILL`
/// and `SIGSTOP`, and still delivers faults the thread itself causes.
pub(crate) fn block_all_signals_in_thread() -> io::Result<()> {
    let mut all = SigSet::empty();
    // SAFETY: `all.0` is an initialised sigset_t; sigfillset only writes to it.
    unsafe {
        libc::sigfillset(&raw mut all.0);
    }
    change_thread_mask(&all, true)
}

/// Blocks (`block == true`) or unblocks the signals of `set` in the calling thread.
pub(crate) fn change_thread_mask(set: &SigSet, block: bool) -> io::Result<()> {
    let how = if block {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: `set` points to an initialised sigset_t; the old mask is not requested.
    let rc = unsafe { libc::pthread_sigmask(how, &raw const set.0, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Turns a `-1` return into the thread's errno.
fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Wraps a freshly created descriptor.
fn own(fd: libc::c_int) -> io::Result<OwnedFd> {
    let fd = check(fd)?;
    // SAFETY: `fd` was just returned by the kernel for a descriptor we created and nobody else
    // knows about, so ownership can be taken exactly once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A non-blocking, close-on-exec signalfd for `set`.
pub(crate) fn signalfd(set: &SigSet) -> io::Result<OwnedFd> {
    // SAFETY: -1 asks for a new descriptor; `set` is an initialised sigset_t.
    own(unsafe { libc::signalfd(-1, &raw const set.0, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })
}

/// Replaces the signal set of an existing signalfd.
pub(crate) fn signalfd_update(fd: &impl AsRawFd, set: &SigSet) -> io::Result<()> {
    // SAFETY: `fd` is a live signalfd we own; `set` is an initialised sigset_t.
    check(unsafe { libc::signalfd(fd.as_raw_fd(), &raw const set.0, 0) }).map(drop)
}

/// A non-blocking, close-on-exec timerfd on `CLOCK_MONOTONIC`.
pub(crate) fn timerfd() -> io::Result<OwnedFd> {
    // SAFETY: plain constants as arguments; the result is checked by `own`.
    own(unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    })
}

/// Arms the timerfd at the absolute `CLOCK_MONOTONIC` time `at` (seconds, nanoseconds), or
/// disarms it for `None`. `(0, 0)` is never passed for an armed timer (the kernel would read it as
/// "disarm"); the caller maps it to one nanosecond.
pub(crate) fn timerfd_set(fd: &impl AsRawFd, at: Option<(i64, i64)>) -> io::Result<()> {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let value = match at {
        Some((sec, nsec)) => libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        },
        None => zero,
    };
    let spec = libc::itimerspec {
        it_interval: zero,
        it_value: value,
    };
    // SAFETY: `fd` is a live timerfd we own, `spec` is a valid itimerspec on the stack, and the
    // old value is not requested.
    check(unsafe {
        libc::timerfd_settime(
            fd.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME,
            &raw const spec,
            std::ptr::null_mut(),
        )
    })
    .map(drop)
}

/// `CLOCK_MONOTONIC` now, as (seconds, nanoseconds).
pub(crate) fn monotonic_now() -> (i64, i64) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux, so the
    // call cannot fail and `ts` is left at zero otherwise.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts);
    }
    (ts.tv_sec, ts.tv_nsec)
}

/// A pidfd (Linux 5.3+) for our own, not yet reaped, child `pid`: it becomes readable when the
/// child exits.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags (0) and returns a new descriptor or -1.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    own(libc::c_int::try_from(rc).unwrap_or(-1))
}

/// Sends `sig` to `pid` (a process, or with a negative value a process group).
pub(crate) fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill only takes integers; an invalid target is reported through errno.
    check(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// Sends `sig` to the calling thread only.
pub(crate) fn raise_in_thread(sig: i32) -> io::Result<()> {
    // SAFETY: pthread_self is always valid for the calling thread; pthread_kill returns an
    // error number rather than setting errno.
    let rc = unsafe { libc::pthread_kill(libc::pthread_self(), sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Makes the child that `cmd` spawns start clean: an empty signal mask, every signal at its
/// default disposition (whatever the parent blocked or ignored), and no descriptor of the
/// daemon except 0, 1 and 2 (all others are marked close-on-exec; Linux 5.11+, silently
/// skipped on older kernels). With `death_signal`, the child also gets that signal when the
/// thread that forked it ends (`PR_SET_PDEATHSIG`).
pub(crate) fn clean_child_on_exec(cmd: &mut Command, death_signal: Option<i32>) {
    let max = libc::SIGRTMAX();
    let death: Option<libc::c_ulong> = death_signal.and_then(|s| libc::c_ulong::try_from(s).ok());
    // SAFETY: the closure runs in the forked child before exec. It only calls sigemptyset,
    // sigprocmask, sigaction, prctl and the close_range system call, which are async-signal-safe,
    // touches only its own stack, and allocates nothing. close_range with CLOSE_RANGE_CLOEXEC
    // does not close anything before exec, so std's own error-reporting pipe keeps working.
    unsafe {
        cmd.pre_exec(move || {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(empty.as_mut_ptr());
            let empty = empty.assume_init();
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            action.sa_mask = empty;
            for sig in 1..=max {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    // Fails harmlessly (EINVAL) for numbers glibc reserves.
                    libc::sigaction(sig, &raw const action, std::ptr::null_mut());
                }
            }
            if libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut()) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(sig) = death
                && libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// CPU time (user + system) consumed so far by the calling thread, in nanoseconds
/// (`CLOCK_THREAD_CPUTIME_ID`, which unlike `getrusage` is not rounded to scheduler ticks).
pub(crate) fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock always exists for the calling
    // thread, and on failure `ts` stays zero.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts);
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// A duplicate of `fd` *without* close-on-exec, as a C library might open one (tests only).
#[cfg(test)]
pub(crate) fn dup_inheritable(fd: &impl AsRawFd) -> io::Result<OwnedFd> {
    // SAFETY: dup only takes an integer; the new descriptor is owned by the returned OwnedFd.
    own(unsafe { libc::dup(fd.as_raw_fd()) })
}

/// Puts the calling thread under `SCHED_RR` with `priority` (1-99), or back under `SCHED_OTHER`
/// with `None`.
pub(crate) fn set_thread_scheduler(priority: Option<i32>) -> io::Result<()> {
    let (policy, prio) = match priority {
        Some(p) => (libc::SCHED_RR, p),
        None => (libc::SCHED_OTHER, 0),
    };
    let param = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param on the stack.
    check(unsafe { libc::sched_setscheduler(0, policy, &raw const param) }).map(drop)
}

/// The calling thread's scheduling policy (`SCHED_OTHER`, `SCHED_RR`, ...).
pub(crate) fn thread_scheduler() -> io::Result<i32> {
    // SAFETY: pid 0 is the calling thread; the call only returns an integer.
    check(unsafe { libc::sched_getscheduler(0) })
}

/// Caps the CPU time a real-time thread may use without blocking (`RLIMIT_RTTIME`): past it
/// the kernel sends `SIGXCPU`, then `SIGKILL`, instead of letting a runaway loop freeze the
/// machine.
pub(crate) fn limit_realtime_cpu(micros: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: micros,
        rlim_max: micros,
    };
    // SAFETY: `lim` is a valid rlimit on the stack.
    check(unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &raw const lim) }).map(drop)
}
