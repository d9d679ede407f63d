//! Per-instance timers: a small table keyed by [`Timer`].

use crate::Instant;

/// The timers of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// MASTER: send the next advert (RFC 5798 §6.4.3 Adver_Timer).
    Advert = 0,
    /// BACKUP: the master is presumed down at expiry (RFC 5798 §6.4.2 Master_Down_Timer).
    MasterDown = 1,
    /// MASTER: the delayed GARP/NA burst (`garp_master_delay` / `garp_lower_prio_delay`).
    GarpDelay = 2,
    /// MASTER: periodic GARP/NA refresh (`garp_master_refresh`).
    GarpRefresh = 3,
}

impl Timer {
    const COUNT: usize = 4;
    const ALL: [Timer; Self::COUNT] = [
        Timer::Advert,
        Timer::MasterDown,
        Timer::GarpDelay,
        Timer::GarpRefresh,
    ];
}

/// Deadlines of one instance's timers: 8 bytes each, as the table is held by every instance. [`Instant::MAX`] marks a disarmed timer; a deadline of
/// [`Instant::MAX`] (a saturated sum, 584 years away) is kept as one nanosecond earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerTable {
    data: [Instant; Timer::COUNT],
}

impl Default for TimerTable {
    fn default() -> Self {
        TimerTable {
            data: [Self::OFF; Timer::COUNT],
        }
    }
}

impl TimerTable {
    const OFF: Instant = Instant::MAX;

    /// Arms `timer` for `at`, replacing any earlier deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer as usize] = at.min(Instant::from_nanos(Self::OFF.as_nanos() - 1));
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        Some(self.data[timer as usize]).filter(|&at| at != Self::OFF)
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = Self::OFF;
    }

    /// Disarms everything.
    pub fn stop_all(&mut self) {
        *self = Self::default();
    }

    /// Whether any timer is armed (cheaper than [`TimerTable::next_timeout`]`.is_some()`).
    pub fn any_armed(&self) -> bool {
        self.data.iter().any(|&at| at != Self::OFF)
    }

    /// The earliest deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.data
            .iter()
            .copied()
            .min()
            .filter(|&at| at != Self::OFF)
    }

    /// The first timer (in [`Timer`] order) due at `now`, disarmed, with the deadline it had.
    pub fn take_expired(&mut self, now: Instant) -> Option<(Timer, Instant)> {
        for t in Timer::ALL {
            let at = self.data[t as usize];
            if at <= now && at != Self::OFF {
                self.data[t as usize] = Self::OFF;
                return Some((t, at));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_orders_and_expires() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::GarpDelay, Instant::from_nanos(5));
        t.set(Timer::Advert, Instant::from_nanos(9));
        assert_eq!(t.next_timeout(), Some(Instant::from_nanos(5)));
        assert_eq!(t.take_expired(Instant::from_nanos(4)), None);
        assert_eq!(
            t.take_expired(Instant::from_nanos(9)),
            Some((Timer::Advert, Instant::from_nanos(9)))
        );
        assert_eq!(
            t.take_expired(Instant::from_nanos(9)),
            Some((Timer::GarpDelay, Instant::from_nanos(5)))
        );
        assert_eq!(t.take_expired(Instant::from_nanos(9)), None);
        t.set(Timer::MasterDown, Instant::from_nanos(1));
        t.stop(Timer::MasterDown);
        assert_eq!(t.get(Timer::MasterDown), None);
        // A saturated deadline stays armed (one nanosecond earlier), never "disarmed".
        t.set(Timer::GarpRefresh, Instant::MAX);
        assert_eq!(
            t.get(Timer::GarpRefresh),
            Some(Instant::from_nanos(Instant::MAX.as_nanos() - 1))
        );
        assert!(t.any_armed());
        t.stop_all();
        assert!(!t.any_armed());
        assert_eq!(t.next_timeout(), None);
        assert_eq!(core::mem::size_of::<TimerTable>(), 32);
    }
}
