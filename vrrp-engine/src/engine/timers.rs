//! Time arithmetic (skew, Master_Down_Interval), the timer heap and timer expiry.

use super::{
    Duration, Engine, Instant, Level, LogEvent, NewMasterReason, Reverse, State, Timer, Version,
};

impl Engine {
    // ===== timers and time arithmetic =====

    /// RFC 3768 §6.1 / RFC 5798 §6.1 Skew_Time, from the effective priority (modern keepalived).
    pub(super) fn skew(&self, i: usize) -> Duration {
        let inst = &self.instances[i];
        let weight = 256 - u32::from(inst.effective.0);
        let base = match inst.cfg.version() {
            // RFC 3768 §6.1: (256 - Priority) / 256 seconds.
            Version::V2 => Duration::from_secs(1),
            // RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256.
            Version::V3 => inst.master_adver_int,
        };
        base * weight / 256
    }

    /// RFC 5798 §6.1 Master_Down_Interval = (`down_timer_adverts` × Master_Adver_Interval) + Skew.
    pub(super) fn master_down_interval(&self, i: usize) -> Duration {
        let inst = &self.instances[i];
        inst.master_adver_int * u32::from(inst.cfg.down_timer_adverts) + self.skew(i)
    }

    /// [`Engine::master_down_interval`], remembered per instance (the receive path's version:
    /// the same value, without the `Duration` arithmetic on every advert).
    pub(super) fn master_down_interval_memo(&mut self, i: usize) -> Duration {
        let inst = &self.instances[i];
        let key = super::DownMemo::key(inst.master_adver_int, inst.effective);
        if let (Some(m), Some(k)) = (inst.down_memo, key)
            && (m.interval_ms, m.priority) == k
        {
            return Duration::from_nanos(m.down_nanos);
        }
        let d = self.master_down_interval(i);
        if let (Some((interval_ms, priority)), Ok(down_nanos)) = (key, u64::try_from(d.as_nanos()))
        {
            self.instances[i].down_memo = Some(super::DownMemo {
                interval_ms,
                priority,
                down_nanos,
            });
        }
        d
    }

    pub(super) fn set_timer(&mut self, i: usize, timer: Timer, at: Instant) {
        self.instances[i].timers.set(timer, at);
        self.dirty.push(i as u32);
    }

    /// Pushes heap entries for instances whose deadline moved earlier and drops superseded
    /// entries from the top of the heap.
    pub(super) fn finish(&mut self) {
        for k in 0..self.dirty.len() {
            let i = self.dirty[k] as usize;
            let inst = &mut self.instances[i];
            if let Some(g) = inst.group {
                self.dirty_groups.push(g.0);
            }
            if let Some(d) = inst.timers.next_timeout()
                && inst.heap_at.is_none_or(|h| d < h)
            {
                inst.heap_at = Some(d);
                self.heap.push(Reverse((d, i as u32)));
            }
        }
        self.dirty.clear();
        // Drop superseded entries, and entries of instances with nothing armed, from the top. A
        // live entry whose instance's deadline has since moved later is left in place
        // (re-heaping on every advert that restarts a down timer would cost a heap pop per
        // advert); it makes one early, harmless wake-up.
        while let Some(&Reverse((at, i))) = self.heap.peek() {
            let inst = &mut self.instances[i as usize];
            if inst.heap_at == Some(at) {
                if inst.timers.any_armed() {
                    break;
                }
                // Nothing armed any more (FAULT, stopped): no wake-up at all.
                inst.heap_at = None;
            }
            self.heap.pop();
        }
        self.update_groups();
    }

    /// `due` is the deadline the timer had; periodic timers are re-armed from it, not from
    /// `now`, so a late wake-up does not make adverts drift (keepalived's re-arm from "now"
    /// does). After a stall longer than a period they restart from `now`.
    pub(super) fn on_timer(&mut self, now: Instant, due: Instant, i: usize, timer: Timer) {
        let state = self.instances[i].state;
        let next = |period: Duration| {
            let at = due + period;
            if at > now { at } else { now + period }
        };
        match (timer, state) {
            // RFC 5798 §6.4.3: Adver_Timer fires: send an ADVERTISEMENT, reset the timer.
            (Timer::Advert, State::Master) => {
                self.send_advert(i, None);
                let at = next(self.instances[i].cfg.advert_interval.to_duration());
                self.set_timer(i, Timer::Advert, at);
            }
            // RFC 5798 §6.4.2: Master_Down_Timer fires: become MASTER.
            (Timer::MasterDown, State::Backup) => {
                self.log(Level::Info, i, LogEvent::MasterDown);
                let reason = if self.instances[i].lower_from.is_some() {
                    NewMasterReason::Preempted
                } else {
                    NewMasterReason::MasterNoResponse
                };
                self.request_master(now, i, reason);
            }
            (Timer::GarpDelay, State::Master) => {
                let repeat = self.instances[i].pending_garp;
                self.announce(i, repeat);
            }
            (Timer::GarpRefresh, State::Master) => {
                let inst = &self.instances[i];
                let repeat = inst.cfg.garp.master_refresh_repeat;
                if let Some(period) = inst.cfg.garp.master_refresh {
                    self.set_timer(i, Timer::GarpRefresh, next(period));
                }
                self.announce(i, repeat);
            }
            _ => {} // a timer left over from another state: nothing to do
        }
    }
}
