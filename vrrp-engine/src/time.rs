//! Virtual, monotonic time.
//!
//! The engine never reads a clock. Every entry point takes `now` as an [`Instant`], a monotonic
//! count of nanoseconds since an origin the caller chooses (process start, or zero in a
//! simulation). Spans are plain [`core::time::Duration`]s.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on the caller's monotonic clock, in nanoseconds since an arbitrary origin.
///
/// Arithmetic saturates: adding a huge duration yields [`Instant::MAX`], and subtracting a later
/// instant yields a zero duration, so no input can make the engine panic.
///
/// ```
/// use core::time::Duration;
/// use vrrp_engine::Instant;
/// let t = Instant::ZERO + Duration::from_secs(3);
/// assert_eq!(t.as_nanos(), 3_000_000_000);
/// assert_eq!(t - Instant::ZERO, Duration::from_secs(3));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant (about 584 years after the origin).
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Maps a [`std::time::Instant`] onto this clock, given the `origin` that stands for
    /// [`Instant::ZERO`]. Instants before the origin map to the origin.
    pub fn from_std(origin: std::time::Instant, now: std::time::Instant) -> Self {
        Instant::ZERO + now.saturating_duration_since(origin)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Instant::from_nanos(5), Duration::ZERO);
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
    }

    #[test]
    fn from_std_is_relative_to_origin() {
        let origin = std::time::Instant::now();
        let later = origin + Duration::from_millis(1500);
        assert_eq!(Instant::from_std(origin, later).as_nanos(), 1_500_000_000);
        assert_eq!(Instant::from_std(later, origin), Instant::ZERO);
    }
}
