//! Per-instance timers (a small table keyed by [`Timer`]) and the engine's queue of the
//! instances' deadlines ([`DeadlineQueue`]).

use core::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

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

/// Instances' deadlines, earliest first: a priority queue of `(deadline, instance)` ordered as
/// a binary heap of them would be, made of a run kept in order plus a heap for the rest.
///
/// Nearly every push is a periodic timer re-armed one interval after it fired, and instances
/// sharing an interval fire together: such a deadline is at or after every one queued, so it
/// goes to the back of the run, and popping takes the run's front, both O(1) with no
/// comparisons beyond one. Only a deadline that would land inside the run (a master-down timer
/// set by an advert while later deadlines wait, mixed intervals) goes to the heap. Popping takes
/// the smaller of the two fronts, so the order is exactly the heap's. (A 100-instance master
/// at 10 ms spent 12% of its user time popping a plain heap.)
#[derive(Debug, Default)]
pub(crate) struct DeadlineQueue {
    /// Non-decreasing.
    run: VecDeque<(Instant, u32)>,
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
}

impl DeadlineQueue {
    /// An empty queue with room for `n` entries without reallocating.
    pub(crate) fn with_capacity(n: usize) -> Self {
        DeadlineQueue {
            run: VecDeque::with_capacity(n),
            heap: BinaryHeap::new(),
        }
    }

    /// Queues instance `i`'s deadline `at`.
    pub(crate) fn push(&mut self, at: Instant, i: u32) {
        let entry = (at, i);
        if self.run.back().is_none_or(|&last| last <= entry) {
            self.run.push_back(entry);
        } else {
            self.heap.push(Reverse(entry));
        }
    }

    /// The earliest entry.
    pub(crate) fn peek(&self) -> Option<(Instant, u32)> {
        match (self.run.front(), self.heap.peek()) {
            (Some(&r), Some(&Reverse(h))) => Some(r.min(h)),
            (Some(&r), None) => Some(r),
            (None, Some(&Reverse(h))) => Some(h),
            (None, None) => None,
        }
    }

    /// Removes the earliest entry.
    pub(crate) fn pop(&mut self) -> Option<(Instant, u32)> {
        let from_run = match (self.run.front(), self.heap.peek()) {
            (Some(r), Some(Reverse(h))) => r <= h,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if from_run {
            self.run.pop_front()
        } else {
            self.heap.pop().map(|Reverse(h)| h)
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.run.len() + self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_queue_pops_in_heap_order() {
        // Deterministic: pushes in order (periodic re-arms), out of order
        // (down timers, mixed intervals) and duplicates, interleaved with pops.
        let mut rng = crate::sim::Rng::new(0x2545_f491_4f6c_dd1d);
        let mut rand = move |n: u64| rng.below(n);
        let mut q = DeadlineQueue::with_capacity(4);
        let mut model: BinaryHeap<Reverse<(Instant, u32)>> = BinaryHeap::new();
        let mut clock = 0u64;
        for _ in 0..20_000 {
            match rand(4) {
                0 | 1 => {
                    // Mostly at or after everything queued, sometimes anywhere.
                    let at = if rand(3) == 0 {
                        clock + rand(1_000)
                    } else {
                        clock + 1_000 + rand(50)
                    };
                    clock += rand(3);
                    let i = rand(8) as u32;
                    q.push(Instant::from_nanos(at), i);
                    model.push(Reverse((Instant::from_nanos(at), i)));
                }
                _ => {
                    assert_eq!(q.peek(), model.peek().map(|r| r.0));
                    assert_eq!(q.pop(), model.pop().map(|r| r.0));
                }
            }
            assert_eq!(q.len(), model.len());
        }
        while let Some(Reverse(m)) = model.pop() {
            assert_eq!(q.pop(), Some(m));
        }
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek(), None);
    }

    #[test]
    fn deadline_queue_keeps_periodic_re_arms_out_of_the_heap() {
        let mut q = DeadlineQueue::with_capacity(100);
        for i in 0..100 {
            q.push(Instant::from_nanos(10), i);
        }
        for round in 1..50u64 {
            for i in 0..100 {
                assert_eq!(q.pop(), Some((Instant::from_nanos(round * 10), i)));
                q.push(Instant::from_nanos((round + 1) * 10), i);
            }
        }
        assert!(q.heap.is_empty());
    }

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
