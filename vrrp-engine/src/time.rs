//! Virtual, monotonic time.
//!
//! The engine never reads a clock. Every entry point takes `now` as an [`Instant`], a monotonic
//! count of nanoseconds since an origin the caller chooses (process start, or zero in a
//! simulation). Spans are plain [`core::time::Duration`]s.

use core::fmt;
use core::num::NonZeroU64;
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
///
/// It holds nanoseconds + 1 in a `NonZeroU64`, so that an `Option<Instant>` (the engine keeps
/// several per instance) takes 8 bytes, not 16; the cost is the last nanosecond of the range.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant(NonZeroU64::MIN);
    /// The latest representable instant (`u64::MAX - 1` nanoseconds, about 584 years after the
    /// origin).
    pub const MAX: Instant = Instant(NonZeroU64::MAX);

    /// An instant `nanos` nanoseconds after the origin (saturating at [`Instant::MAX`]).
    pub const fn from_nanos(nanos: u64) -> Self {
        match NonZeroU64::new(nanos.saturating_add(1)) {
            Some(n) => Instant(n),
            None => Instant::MAX, // unreachable: the sum is at least 1
        }
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0.get() - 1
    }

    /// Maps a [`std::time::Instant`] onto this clock, given the `origin` that stands for
    /// [`Instant::ZERO`]. Instants before the origin map to the origin.
    pub fn from_std(origin: std::time::Instant, now: std::time::Instant) -> Self {
        Instant::ZERO + now.saturating_duration_since(origin)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.get().saturating_sub(earlier.0.get()))
    }
}

impl Default for Instant {
    fn default() -> Self {
        Instant::ZERO
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Instant").field(&self.as_nanos()).finish()
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
        assert_eq!(Instant::from_nanos(u64::MAX), Instant::MAX);
        assert_eq!(Instant::MAX.as_nanos(), u64::MAX - 1);
        assert_eq!(Instant::default(), Instant::ZERO);
        assert_eq!(format!("{:?}", Instant::from_nanos(7)), "Instant(7)");
        assert_eq!(core::mem::size_of::<Option<Instant>>(), 8);
    }

    #[test]
    fn from_std_is_relative_to_origin() {
        let origin = std::time::Instant::now();
        let later = origin + Duration::from_millis(1500);
        assert_eq!(Instant::from_std(origin, later).as_nanos(), 1_500_000_000);
        assert_eq!(Instant::from_std(later, origin), Instant::ZERO);
    }
}
