//! Real-time priority for the loop's thread, as keepalived's `vrrp_rt_priority` gives its VRRP
//! process.
//!
//! On a busy machine an ordinary thread can wait milliseconds for a CPU after its timer fires;
//! with a real-time policy it runs at once (see docs/PERFORMANCE.md: p99 lateness 80 µs instead
//! of several milliseconds on the loaded development machine). Real-time threads can starve the
//! rest of the system if they spin, so [`set_realtime_priority`] can also cap the CPU time the
//! process may use without blocking.

use std::io;
use std::time::Duration;

use crate::sys;

/// A suggested cap for [`set_realtime_priority`]: 200 ms of CPU without blocking.
///
/// keepalived's default (`vrrp_rlimit_rtime`) is 10 ms. That is tight for this loop: while work
/// is due it runs turn after turn without sleeping (a wait whose timer has already fired does
/// not block), so a saturated loop, such as 1,000 timers 10 µs apart with zero slack on a loaded
/// machine, was killed with `SIGKILL` by the 10 ms cap in our benchmark, and once by a 200 ms cap
/// too. A cap trades "late" for "dead": it suits a daemon with light, bounded work per turn, and
/// protects the machine from a handler stuck in an endless loop.
pub const DEFAULT_REALTIME_CPU_LIMIT: Duration = Duration::from_millis(200);

/// Runs the calling thread (call it from the loop's thread) under `SCHED_RR` at `priority`
/// (1-99). With `Some(cpu_limit)`, also caps the real-time CPU time the process may use without
/// blocking (`RLIMIT_RTTIME`, process-wide): a thread that runs that long without sleeping gets
/// `SIGKILL`, and the supervisor restarts the daemon instead of a core being lost to a spinning
/// handler. See [`DEFAULT_REALTIME_CPU_LIMIT`] for the trade-off. Needs `CAP_SYS_NICE` (root).
///
/// ```no_run
/// scheduler::set_realtime_priority(10, Some(scheduler::DEFAULT_REALTIME_CPU_LIMIT))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_realtime_priority(priority: u8, cpu_limit: Option<Duration>) -> io::Result<()> {
    if !(1..=99).contains(&priority) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if let Some(limit) = cpu_limit {
        let micros = u64::try_from(limit.as_micros()).unwrap_or(u64::MAX).max(1);
        sys::limit_realtime_cpu(micros)?;
    }
    sys::set_thread_scheduler(Some(i32::from(priority)))
}

/// Puts the calling thread back under the ordinary time-sharing policy.
pub fn clear_realtime_priority() -> io::Result<()> {
    sys::set_thread_scheduler(None)
}

/// Whether the calling thread runs under a real-time policy.
pub fn has_realtime_priority() -> io::Result<bool> {
    let policy = sys::thread_scheduler()?;
    Ok(policy == libc::SCHED_RR || policy == libc::SCHED_FIFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_priorities_are_refused() {
        assert!(set_realtime_priority(0, None).is_err());
        assert!(set_realtime_priority(100, None).is_err());
    }

    #[test]
    fn realtime_priority_on_a_thread_of_its_own() {
        // Its own thread, so the test runner's threads keep their policy.
        std::thread::spawn(|| {
            assert!(!has_realtime_priority().unwrap());
            // A generous cap: this process also runs other tests.
            match set_realtime_priority(1, Some(Duration::from_secs(60))) {
                Ok(()) => {
                    assert!(has_realtime_priority().unwrap());
                    clear_realtime_priority().unwrap();
                    assert!(!has_realtime_priority().unwrap());
                }
                // Without CAP_SYS_NICE the kernel refuses, and says so.
                Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}"),
            }
        })
        .join()
        .unwrap();
    }
}
