//! Effective priority and fault from tracker results (keepalived §4.7 and modern §8.2).
//!
//! Rules for one binding `(status, weight, reverse)`:
//!
//! * `Up`/`Down` results: `reverse` swaps them. Weight 0: a `Down` means FAULT. Weight > 0: added
//!   while `Up`. Weight < 0: added while `Down`.
//! * `Value(v)` results (`track_file`): weight 0: a non-zero value means FAULT (a zero value with
//!   `reverse`). Otherwise `v × weight` (negated by `reverse`) is added, and a contribution below
//!   −253 means FAULT.
//!
//! The effective priority is 255 for an address owner (weights never move it), otherwise the base
//! priority plus the contributions, clamped to 1..=254.

use crate::Priority;
use crate::config::TrackerStatus;

/// What one binding contributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contribution {
    /// Nothing.
    None,
    /// Add this much to the priority.
    Add(i64),
    /// The instance must be in FAULT.
    Fault,
}

/// Lowest contribution of a `track_file` binding before it means FAULT.
pub const FILE_FAULT_BELOW: i64 = -253;

/// Evaluates one binding.
pub fn contribution(status: TrackerStatus, weight: i32, reverse: bool) -> Contribution {
    let weight = i64::from(weight);
    match status {
        TrackerStatus::Up | TrackerStatus::Down => {
            let up = (status == TrackerStatus::Up) != reverse;
            match (weight, up) {
                (0, false) => Contribution::Fault,
                (w, true) if w > 0 => Contribution::Add(w),
                (w, false) if w < 0 => Contribution::Add(w),
                _ => Contribution::None,
            }
        }
        TrackerStatus::Value(v) => {
            if weight == 0 {
                if (v == 0) == reverse {
                    Contribution::Fault
                } else {
                    Contribution::None
                }
            } else {
                let mut c = v.saturating_mul(weight);
                if reverse {
                    c = c.saturating_neg();
                }
                if c < FILE_FAULT_BELOW {
                    Contribution::Fault
                } else {
                    Contribution::Add(c)
                }
            }
        }
    }
}

/// Effective priority from the base priority and the summed contributions.
pub fn effective(base: Priority, offset: i64) -> Priority {
    if base.is_owner() {
        return base;
    }
    let p = i64::from(base.0).saturating_add(offset).clamp(1, 254);
    Priority(u8::try_from(p).unwrap_or(254))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackerStatus::{Down, Up, Value};

    #[test]
    fn boolean_rules() {
        assert_eq!(contribution(Down, 0, false), Contribution::Fault);
        assert_eq!(contribution(Up, 0, false), Contribution::None);
        assert_eq!(contribution(Up, 0, true), Contribution::Fault);
        assert_eq!(contribution(Up, 10, false), Contribution::Add(10));
        assert_eq!(contribution(Down, 10, false), Contribution::None);
        assert_eq!(contribution(Down, -10, false), Contribution::Add(-10));
        assert_eq!(contribution(Up, -10, false), Contribution::None);
        assert_eq!(contribution(Down, 10, true), Contribution::Add(10));
    }

    #[test]
    fn file_rules() {
        assert_eq!(contribution(Value(0), 0, false), Contribution::None);
        assert_eq!(contribution(Value(3), 0, false), Contribution::Fault);
        assert_eq!(contribution(Value(0), 0, true), Contribution::Fault);
        assert_eq!(contribution(Value(3), 5, false), Contribution::Add(15));
        assert_eq!(contribution(Value(3), 5, true), Contribution::Add(-15));
        assert_eq!(contribution(Value(-254), 1, false), Contribution::Fault);
        assert_eq!(contribution(Value(-253), 1, false), Contribution::Add(-253));
        assert_eq!(contribution(Value(i64::MIN), -1, true), Contribution::Fault);
    }

    #[test]
    fn effective_priority_clamps_and_pins_owner() {
        assert_eq!(effective(Priority(100), 50), Priority(150));
        assert_eq!(effective(Priority(100), 500), Priority(254));
        assert_eq!(effective(Priority(100), -500), Priority(1));
        assert_eq!(effective(Priority(255), -100), Priority(255));
    }
}
