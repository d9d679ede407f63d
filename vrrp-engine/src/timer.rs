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

/// Deadlines of one instance's timers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    data: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing any earlier deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer as usize] = Some(at);
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer as usize]
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = None;
    }

    /// Disarms everything.
    pub fn stop_all(&mut self) {
        self.data = Default::default();
    }

    /// Whether any timer is armed (cheaper than [`TimerTable::next_timeout`]`.is_some()`).
    pub fn any_armed(&self) -> bool {
        self.data.iter().any(Option::is_some)
    }

    /// The earliest deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }

    /// The first timer (in [`Timer`] order) due at `now`, disarmed, with the deadline it had.
    pub fn take_expired(&mut self, now: Instant) -> Option<(Timer, Instant)> {
        for t in Timer::ALL {
            if let Some(at) = self.data[t as usize]
                && at <= now
            {
                self.data[t as usize] = None;
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
    }
}
