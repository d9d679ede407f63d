//! Monotonic time helpers: drift-free periodic deadlines and the mapping onto the kernel clock.
//!
//! The loop's clock is [`std::time::Instant`], which on Linux is `CLOCK_MONOTONIC`: setting the
//! wall clock (by hand, NTP step, or a VM resume that fixes the date) moves no deadline.

use std::time::{Duration, Instant};

use crate::sys;

/// The next deadline of a periodic task whose previous deadline was `previous`.
///
/// The result is `previous + k × period` for the smallest `k ≥ 1` that lies after `now`. Two
/// properties follow:
/// * **no drift**: the phase is fixed by the first deadline, however late each handler ran (a
///   10 ms period stays 10 ms on average, not 10 ms plus the dispatch latency);
/// * **no burst**: if the loop was stalled for several periods, the missed ticks are skipped
///   rather than fired back to back.
///
/// A zero `period` returns `now` plus one nanosecond (the loop rejects zero periods; this keeps
/// the function total).
///
/// ```
/// use std::time::{Duration, Instant};
/// use scheduler::next_periodic;
/// let t0 = Instant::now();
/// let p = Duration::from_millis(10);
/// // Handler ran 300 µs late: the next tick is still t0 + 20 ms.
/// assert_eq!(next_periodic(t0 + p, p, t0 + p + Duration::from_micros(300)), t0 + 2 * p);
/// // Loop stalled 35 ms: ticks at 20 and 30 ms are skipped, the phase is kept.
/// assert_eq!(next_periodic(t0 + p, p, t0 + Duration::from_millis(45)), t0 + 5 * p);
/// ```
pub fn next_periodic(previous: Instant, period: Duration, now: Instant) -> Instant {
    if period.is_zero() {
        return later(now, Duration::from_nanos(1));
    }
    let next = later(previous, period);
    if next > now {
        return next;
    }
    let behind = now.duration_since(previous).as_nanos();
    let k = behind / period.as_nanos() + 1;
    let step = period.as_nanos().saturating_mul(k);
    let step = Duration::from_nanos(u64::try_from(step).unwrap_or(u64::MAX));
    previous
        .checked_add(step)
        .unwrap_or_else(|| later(now, period))
}

/// `at + delay`, saturating: a delay too large for `Instant` (say `Duration::MAX` from a
/// configuration) gives a deadline about 136 years away instead of a panic.
pub(crate) fn later(at: Instant, delay: Duration) -> Instant {
    at.checked_add(delay)
        .or_else(|| at.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(at)
}

/// Converts `deadline` to an absolute `CLOCK_MONOTONIC` time for the timerfd, by anchoring
/// `Instant::now()` to a clock reading taken right after it. Reading `Instant` first makes the
/// error (tens of nanoseconds) err on the late side, so the timer never fires before the
/// deadline. Deadlines already past map to the current kernel time: the timer fires at once.
pub(crate) fn to_kernel_time(deadline: Instant) -> (i64, i64) {
    let now = Instant::now();
    let (sec, nsec) = sys::monotonic_now();
    let ahead = deadline.saturating_duration_since(now);
    let mut sec = sec.saturating_add(i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX / 2));
    let mut nsec = nsec + i64::from(ahead.subsec_nanos());
    if nsec >= 1_000_000_000 {
        sec = sec.saturating_add(1);
        nsec -= 1_000_000_000;
    }
    if sec == 0 && nsec == 0 {
        // (0, 0) would disarm the timerfd.
        nsec = 1;
    }
    (sec, nsec)
}

/// CPU time (user + system) the calling thread has used so far
/// (`CLOCK_THREAD_CPUTIME_ID`). Tests use it to check that an idle loop sleeps, and the
/// benchmarks to measure work on a machine shared with other jobs.
pub fn thread_cpu_time() -> Duration {
    Duration::from_nanos(sys::thread_cpu_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_time_and_slightly_late_keep_phase() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        assert_eq!(next_periodic(t0, p, t0), t0 + p);
        assert_eq!(next_periodic(t0, p, t0 + Duration::from_millis(9)), t0 + p);
        assert_eq!(
            next_periodic(t0, p, t0 + Duration::from_micros(10_001)),
            t0 + 2 * p
        );
    }

    #[test]
    fn exactly_on_a_tick_goes_to_the_following_one() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        assert_eq!(next_periodic(t0, p, t0 + p), t0 + 2 * p);
    }

    #[test]
    fn no_cumulative_drift_over_many_late_ticks() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        let mut deadline = t0;
        for _ in 0..10_000 {
            // Each handler runs 3 ms late.
            deadline = next_periodic(deadline, p, deadline + Duration::from_millis(3));
        }
        assert_eq!(deadline, t0 + p * 10_000);
    }

    #[test]
    fn huge_delays_saturate_instead_of_panicking() {
        let t0 = Instant::now();
        assert!(later(t0, Duration::MAX) > t0 + Duration::from_secs(100 * 365 * 86_400));
        assert!(next_periodic(t0, Duration::MAX, t0) > t0);
        let (sec, _) = to_kernel_time(later(t0, Duration::MAX));
        assert!(sec > 0);
    }

    #[test]
    fn zero_period_is_total() {
        let t0 = Instant::now();
        assert!(next_periodic(t0, Duration::ZERO, t0) > t0);
    }

    #[test]
    fn kernel_time_is_monotonic_now_plus_offset() {
        let (s0, n0) = sys::monotonic_now();
        let (s1, n1) = to_kernel_time(Instant::now() + Duration::from_secs(2));
        let delta = (s1 - s0) * 1_000_000_000 + (n1 - n0);
        assert!((1_900_000_000..2_500_000_000).contains(&delta), "{delta}");
        let (s2, n2) = to_kernel_time(Instant::now().checked_sub(Duration::from_secs(1)).unwrap());
        let (s3, n3) = sys::monotonic_now();
        assert!((s2, n2) <= (s3, n3));
    }
}
