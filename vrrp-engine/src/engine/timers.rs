//! Time arithmetic (skew, Master_Down_Interval), the deadline queue and timer expiry.

use super::{
    Duration, Engine, Instant, InterfaceId, Level, LogEvent, NewMasterReason, State, Timer, Version,
};

/// Phase spreading: at most this many phases (wake-ups per advert interval).
const MAX_SLOTS: usize = 64;
/// Phase spreading: at least this many instances per phase, so that wake-ups stay few and each
/// still sends a batch (one `sendmmsg`).
const MIN_SLOT_SIZE: usize = 16;
/// Phase spreading: the offsets stay under `advert_int / BOUND_DIVISOR` (1%), far inside a
/// backup's Master_Down_Interval (3 x interval + skew).
const BOUND_DIVISOR: u32 = 100;
/// Phase spreading: what one advert costs to send on Linux (about 4.2 µs on a veth pair,
/// including the peer's receive, which runs inside our `sendmmsg`). Spreading is only worth it
/// when the whole burst fits in the bound; otherwise the slots overlap and the driver sends them
/// back to back anyway, only with more wake-ups.
const ADVERT_SEND_COST: Duration = Duration::from_micros(5);
/// The engine's phase table entry of an instance whose interval group is not spread (phases are
/// under 1% of at most 255 s: at most 2.55 x 10^9 ns).
const NOT_SPREAD: u32 = u32::MAX;

/// The advert timer's phase offset of each instance, in nanoseconds, from (advert interval,
/// interface) in configuration order.
///
/// Instances that become MASTER in the same instant (start-up, a mass takeover) would otherwise
/// keep identical deadlines forever: every second, one wake-up sends all their adverts, and an
/// instance's advert leaves anywhere in that burst depending on how the kernel and the peers'
/// receivers interleave (1,000 instances: a 4-6 ms burst, so intervals vary by up to that much).
/// Instead, instances sharing an advert interval are cut into `S` slots of consecutive instances
/// (ordered by interface, then configuration order, so that one slot's adverts share a socket
/// and leave in one `sendmmsg`), and slot `k` is offset by `k x bound / S`, `bound` being 1% of
/// the interval. `S` = instances / [`MIN_SLOT_SIZE`], at most [`MAX_SLOTS`]; 1 (no offset) when
/// the whole burst would not fit in the bound (100 instances at 10 ms: 0.5 ms of sending
/// against a 0.1 ms bound) or when there are fewer than 2 x [`MIN_SLOT_SIZE`] instances. The
/// result depends on the configuration only: no randomness, the same phases on every start.
///
/// A backup's master-down timers follow the master's phases, so a crash takeover comes as one
/// expiry per slot instead of one for all: the Linux driver runs each as it falls due, between
/// the earlier slots' netlink and GARP work (scale bench, 1,000 x 1 s at real-time priority:
/// crash failover +0.02 to +0.08 ms at the median, at most +0.17 ms, over
/// `3 x advert_int + skew` on the captured interface).
///
/// `None` for an instance whose interval group is not spread. A phase is kept on a fixed grid
/// ([`phase_aligned`]), so that it does not grow with each takeover.
pub(super) fn advert_phases(instances: &[(Duration, InterfaceId)]) -> Vec<Option<u32>> {
    let mut phases = vec![None; instances.len()];
    let mut order: Vec<usize> = (0..instances.len()).collect();
    // Stable: configuration order inside an (interval, interface).
    order.sort_by_key(|&i| instances[i]);
    for group in order.chunk_by(|&a, &b| instances[a].0 == instances[b].0) {
        let interval = instances[group[0]].0;
        let n = group.len();
        let bound = interval / BOUND_DIVISOR;
        let burst = ADVERT_SEND_COST * u32::try_from(n).unwrap_or(u32::MAX);
        let slots = (n / MIN_SLOT_SIZE).min(MAX_SLOTS);
        if slots < 2 || burst > bound {
            continue;
        }
        let step = bound / u32::try_from(slots).unwrap_or(1);
        for (pos, &i) in group.iter().enumerate() {
            let slot = u32::try_from(pos * slots / n).unwrap_or(0);
            // 1% of at most 255 s (VRRPv2) is 2.55 s of nanoseconds: fits in a u32.
            phases[i] = Some(u32::try_from((step * slot).as_nanos()).unwrap_or(0));
        }
    }
    phases
}

/// The first periodic advert deadline of a spread instance that sent an advert at `now` outside
/// its periodic timer: the first instant at or after `now + interval` whose time modulo the
/// phase bound (1% of the interval) is the instance's phase. So the first interval is longer by
/// less than 1%, and the instance's phase stays where [`advert_phases`] put it whatever `now`
/// was. (Adding the offset to `now + interval` instead would add it again at every takeover: a
/// backup's master-down timer follows the old master's phase, so after enough handovers the
/// slots would wrap round the interval and meet again.)
pub(super) fn phase_aligned(now: Instant, interval: Duration, phase: u32) -> Instant {
    let base = now + interval;
    let bound = u64::try_from((interval / BOUND_DIVISOR).as_nanos()).unwrap_or(u64::MAX);
    if bound == 0 {
        return base;
    }
    let phase = u64::from(phase) % bound;
    let wait = (phase + bound - base.as_nanos() % bound) % bound;
    base + Duration::from_nanos(wait)
}

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

    /// Sets every instance's phase offset from the configuration ([`advert_phases`]).
    pub(super) fn spread_advert_phases(&mut self) {
        let keys: Vec<(Duration, InterfaceId)> = self
            .instances
            .iter()
            .map(|i| (i.cfg.advert_interval.to_duration(), i.cfg.interface))
            .collect();
        let mut phases = advert_phases(&keys);
        // With `down_timer_adverts 1` a backup waits one interval plus its skew, which can be
        // as short as 2/256 of the interval (priority 254): less than a phase offset may add
        // to the first interval. Such instances keep their plain deadlines.
        for (phase, inst) in phases.iter_mut().zip(&self.instances) {
            if inst.cfg.down_timer_adverts < 2 {
                *phase = None;
            }
        }
        self.advert_phases = if phases.iter().all(Option::is_none) {
            Box::default()
        } else {
            phases
                .into_iter()
                .map(|p| p.unwrap_or(NOT_SPREAD))
                .collect()
        };
    }

    /// When the next periodic advert is due after one sent at `now` outside the periodic timer
    /// (becoming MASTER, reasserting): one interval later, moved onto the instance's phase
    /// ([`phase_aligned`]; less than 1% later, and only the first interval is longer) when its
    /// interval group is spread ([`advert_phases`]).
    pub(super) fn advert_restart(&self, now: Instant, i: usize) -> Instant {
        let interval = self.instances[i].cfg.advert_interval.to_duration();
        match self.advert_phases.get(i).copied() {
            Some(phase) if phase != NOT_SPREAD => phase_aligned(now, interval, phase),
            _ => now + interval,
        }
    }

    pub(super) fn set_timer(&mut self, i: usize, timer: Timer, at: Instant) {
        self.instances[i].timers.set(timer, at);
        self.dirty.push(i as u32);
    }

    /// Queues deadlines for instances whose deadline moved earlier and drops superseded
    /// entries from the front of the queue ([`DeadlineQueue`](crate::timer::DeadlineQueue)).
    pub(super) fn finish(&mut self) {
        for k in 0..self.dirty.len() {
            let i = self.dirty[k] as usize;
            let inst = &mut self.instances[i];
            if let Some(g) = inst.group {
                self.dirty_groups.push(g.0);
            }
            if let Some(d) = inst.timers.next_timeout()
                && inst.queued_at.is_none_or(|h| d < h)
            {
                inst.queued_at = Some(d);
                self.deadlines.push(d, i as u32);
            }
        }
        self.dirty.clear();
        // Drop superseded entries, and entries of instances with nothing armed, from the top. A
        // live entry whose instance's deadline has since moved later is left in place
        // (re-queueing on every advert that restarts a down timer would cost a pop per
        // advert); it makes one early, harmless wake-up.
        while let Some((at, i)) = self.deadlines.peek() {
            let inst = &mut self.instances[i as usize];
            if inst.queued_at == Some(at) {
                if inst.timers.any_armed() {
                    break;
                }
                // Nothing armed any more (FAULT, stopped): no wake-up at all.
                inst.queued_at = None;
            }
            self.deadlines.pop();
        }
        self.update_groups();
    }

    /// `due` is the deadline the timer had; periodic timers are re-armed from it, not from
    /// `now`, so a late wake-up does not make adverts drift (keepalived's re-arm from "now"
    /// does). After a stall longer than a period the missed ticks are skipped and the phase is
    /// kept (the instances' spread phases, [`advert_phases`], survive a stalled process).
    pub(super) fn on_timer(&mut self, now: Instant, due: Instant, i: usize, timer: Timer) {
        let state = self.instances[i].state;
        let next = |period: Duration| {
            let at = due + period;
            if at > now || period.is_zero() {
                return at.max(now);
            }
            let late = now.saturating_duration_since(due).as_nanos();
            let skip = late / period.as_nanos() + 1;
            let skip = u32::try_from(skip).unwrap_or(u32::MAX);
            due + period.saturating_mul(skip)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u32, interval: Duration, interfaces: u32) -> Vec<(Duration, InterfaceId)> {
        // As the scale bench lays them out: instance i on interface i % K.
        (0..n)
            .map(|i| (interval, InterfaceId(i % interfaces + 1)))
            .collect()
    }

    #[test]
    fn phases_spread_1000_instances_in_slots_of_one_interface() {
        let k = keys(1000, Duration::from_secs(1), 8);
        let phases = advert_phases(&k);
        assert!(phases.iter().all(Option::is_some));
        let mut distinct: Vec<Option<u32>> = phases.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 1000 / MIN_SLOT_SIZE, "one phase per slot");
        let distinct: Vec<u32> = distinct.into_iter().flatten().collect();
        assert_eq!(distinct[0], 0);
        // Under 1% of the interval, evenly stepped.
        assert!(distinct.iter().all(|&p| p < 10_000_000), "{distinct:?}");
        let step = distinct[1];
        assert!(
            distinct
                .iter()
                .enumerate()
                .all(|(s, &p)| p == step * s as u32)
        );
        // Each slot: at least MIN_SLOT_SIZE instances, at most two interfaces (one boundary).
        for p in &distinct {
            let members: Vec<usize> = (0..1000).filter(|&i| phases[i] == Some(*p)).collect();
            assert!(members.len() >= MIN_SLOT_SIZE, "{}", members.len());
            let mut ifaces: Vec<InterfaceId> = members.iter().map(|&i| k[i].1).collect();
            ifaces.dedup();
            assert!(ifaces.len() <= 2, "slot {p}: {ifaces:?}");
        }
        // Deterministic.
        assert_eq!(advert_phases(&k), phases);
    }

    #[test]
    fn phases_left_alone_where_spreading_cannot_help() {
        // 100 x 10 ms: 0.5 ms of sending does not fit in a 0.1 ms bound.
        assert!(
            advert_phases(&keys(100, Duration::from_millis(10), 8))
                .iter()
                .all(Option::is_none)
        );
        // Fewer than two slots' worth of instances.
        assert!(
            advert_phases(&keys(31, Duration::from_secs(1), 2))
                .iter()
                .all(Option::is_none)
        );
        assert!(advert_phases(&[]).is_empty());
    }

    #[test]
    fn phases_per_interval_and_capped_at_64_slots() {
        // 2,000 at 1 s (64 slots, capped) and 20 at 3 s (too few: no offset).
        let mut k = keys(2000, Duration::from_secs(1), 8);
        k.extend(keys(20, Duration::from_secs(3), 1));
        let phases = advert_phases(&k);
        let mut one: Vec<u32> = phases[..2000].iter().flatten().copied().collect();
        assert_eq!(one.len(), 2000);
        one.sort_unstable();
        one.dedup();
        assert_eq!(one.len(), MAX_SLOTS);
        assert!(*one.last().unwrap() < 10_000_000);
        assert!(phases[2000..].iter().all(Option::is_none));
    }

    #[test]
    fn aligned_phase_survives_any_number_of_takeovers() {
        let interval = Duration::from_secs(1);
        let bound = 10_000_000u64; // 1% of the interval, in ns
        let phase = 3_437_500u32; // slot 22 of 64
        // An instance passes mastership back and forth: each takeover happens at the previous
        // deadline plus a master-down interval that is not a multiple of the bound (3 s + skew
        // 0.41 s + a few µs of handling), which would carry any offset along with it.
        let mut now = Instant::from_nanos(123_456_789);
        for round in 0..500u64 {
            let at = phase_aligned(now, interval, phase);
            let first = at.saturating_duration_since(now);
            assert!(first >= interval, "round {round}: {first:?}");
            assert!(
                first < interval + Duration::from_nanos(bound),
                "round {round}: {first:?}"
            );
            assert_eq!(at.as_nanos() % bound, u64::from(phase), "round {round}");
            now = at + Duration::from_micros(3_410_000 + 7 * round);
        }
        // Already on the phase: exactly one interval.
        let on = Instant::from_nanos(u64::from(phase));
        assert_eq!(phase_aligned(on, interval, phase), on + interval);
        // A zero-length bound (sub-100 ns intervals cannot happen, but must not divide by 0).
        let tiny = Duration::from_nanos(50);
        assert_eq!(phase_aligned(on, tiny, phase), on + tiny);
    }
}
