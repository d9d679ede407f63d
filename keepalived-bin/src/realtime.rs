//! Scheduling of the VRRP side from `global_defs`: `vrrp_rt_priority <1..99>` runs the VRRP
//! loop's thread under `SCHED_RR` at that priority, and `vrrp_rlimit_rttime <µs>` caps the CPU
//! time it may use without blocking (`RLIMIT_RTTIME`; keepalived.conf(5)). Without
//! `vrrp_rlimit_rttime` the cap is the scheduler's default, 200 ms (keepalived's 10 ms is too
//! tight for a loop that runs due work turn after turn: see `scheduler::DEFAULT_REALTIME_CPU_LIMIT`).
//! Without `vrrp_rt_priority` nothing changes, as in keepalived. `vrrp_no_swap` locks the VRRP
//! process's memory (`mlockall`), so that no page of it, code included, can be paged out or
//! dropped: without it, under memory pressure, the code of a takeover that has not run for a
//! long time may have to be read back from disk first.
//!
//! Real-time priority is what keeps adverts on time on a busy machine: an ordinary process can
//! wait milliseconds for a CPU after its timer fires (docs/PERFORMANCE.md, VRRP daemon).

use std::time::Duration;

use confparse::model::RawStatement;

/// The `global_defs` keywords acted on here (not "unsupported" any more).
pub(crate) const KEYWORDS: &[&str] = &["vrrp_rt_priority", "vrrp_rlimit_rttime", "vrrp_no_swap"];

/// What the configuration asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Realtime {
    /// `vrrp_rt_priority`, 1-99.
    pub priority: Option<u8>,
    /// `vrrp_rlimit_rttime`.
    pub cpu_limit: Option<Duration>,
    /// `vrrp_no_swap`: lock the process's memory.
    pub no_swap: bool,
}

impl Realtime {
    /// Reads the keywords from `global_defs`' kept statements; returns the settings and the
    /// complaints about values out of range (which are ignored, as keepalived does).
    pub(crate) fn from_globals(extra: &[RawStatement]) -> (Realtime, Vec<String>) {
        let mut rt = Realtime::default();
        let mut errors = Vec::new();
        for st in extra {
            let (Some(word), arg) = (st.words.first(), st.words.get(1)) else {
                continue;
            };
            match word.as_str() {
                "vrrp_rt_priority" => match arg.and_then(|a| a.parse::<u8>().ok()) {
                    Some(p @ 1..=99) => rt.priority = Some(p),
                    _ => errors.push(format!(
                        "vrrp_rt_priority {}: must be 1-99; ignored",
                        arg.map_or("", String::as_str)
                    )),
                },
                "vrrp_rlimit_rttime" => match arg.and_then(|a| a.parse::<u64>().ok()) {
                    Some(us) if us >= 2 => rt.cpu_limit = Some(Duration::from_micros(us)),
                    _ => errors.push(format!(
                        "vrrp_rlimit_rttime {}: must be at least 2 (µs); ignored",
                        arg.map_or("", String::as_str)
                    )),
                },
                "vrrp_no_swap" => rt.no_swap = true,
                _ => {}
            }
        }
        (rt, errors)
    }

    /// Applies the settings to the calling thread (the VRRP loop's) and process; returns what
    /// went wrong. Memory is locked, or unlocked (a reload that dropped `vrrp_no_swap`), as
    /// configured.
    pub(crate) fn apply(self) -> Result<(), String> {
        let locked =
            vrrp_engine::linux::lock_memory(self.no_swap).map_err(|e| format!("vrrp_no_swap: {e}"));
        let Some(priority) = self.priority else {
            return locked;
        };
        let limit = self
            .cpu_limit
            .unwrap_or(scheduler::DEFAULT_REALTIME_CPU_LIMIT);
        scheduler::set_realtime_priority(priority, Some(limit))
            .map_err(|e| format!("vrrp_rt_priority {priority}: {e}"))
            .and(locked)
    }
}

/// Reads and applies the settings of `globals`, logging problems.
pub(crate) fn apply(globals: &[RawStatement], log: &crate::daemon::Logger) {
    let (rt, errors) = Realtime::from_globals(globals);
    for e in errors {
        log.warn(&e);
    }
    if let Err(e) = rt.apply() {
        log.warn(&e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(words: &[&str]) -> RawStatement {
        RawStatement {
            words: words.iter().map(|w| (*w).to_owned()).collect(),
            block: None,
            span: confparse::Span::default(),
        }
    }

    #[test]
    fn reads_priority_and_limit() {
        let (rt, errors) = Realtime::from_globals(&[
            st(&["vrrp_rt_priority", "10"]),
            st(&["vrrp_rlimit_rttime", "50000"]),
            st(&["vrrp_no_swap"]),
        ]);
        assert!(errors.is_empty());
        assert_eq!(rt.priority, Some(10));
        assert_eq!(rt.cpu_limit, Some(Duration::from_millis(50)));
        assert!(rt.no_swap);
        let (rt, _) = Realtime::from_globals(&[st(&["vrrp_rt_priority", "10"])]);
        assert!(!rt.no_swap);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let (rt, errors) = Realtime::from_globals(&[
            st(&["vrrp_rt_priority", "0"]),
            st(&["vrrp_rt_priority", "100"]),
            st(&["vrrp_rlimit_rttime", "1"]),
            st(&["vrrp_rt_priority"]),
        ]);
        assert_eq!(rt, Realtime::default());
        assert_eq!(errors.len(), 4);
    }

    #[test]
    fn nothing_configured_changes_nothing() {
        assert_eq!(Realtime::default().apply(), Ok(()));
    }
}
