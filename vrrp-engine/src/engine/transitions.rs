//! State transitions (RFC 5798 §6.4), sync groups and tracking.

use super::{
    Action, Contribution, Duration, Engine, GroupId, InstanceId, Instant, Level, LogEvent,
    NewMasterReason, NotifyEvent, Priority, State, Timer, idx, tracker,
};

impl Engine {
    // ===== transitions =====

    /// The instance is ready to be MASTER. Alone it transitions at once; in a sync group it waits
    /// until every member is ready (keepalived 1.2.3: prefer BACKUP, so no thrashing).
    pub(super) fn request_master(&mut self, now: Instant, i: usize, reason: NewMasterReason) {
        let Some(g) = self.instances[i].group else {
            self.become_master(now, i, reason);
            return;
        };
        let was_waiting = self.instances[i].wants_master;
        self.instances[i].wants_master = true;
        let members = self.groups[g.0 as usize].cfg.members.clone();
        let ready = members.iter().all(|m| {
            let inst = &self.instances[idx(*m)];
            inst.state == State::Master
                || (inst.wants_master && matches!(inst.state, State::Backup | State::Init))
        });
        if ready {
            for m in members {
                if self.instances[idx(m)].state != State::Master {
                    self.become_master(now, idx(m), reason);
                }
            }
        } else {
            if self.instances[i].state != State::Backup {
                self.enter_backup(now, i, None, false);
                self.instances[i].wants_master = true;
            }
            self.instances[i].timers.stop(Timer::MasterDown);
            self.dirty.push(i as u32);
            if !was_waiting {
                self.log(Level::Info, i, LogEvent::WaitingForGroup);
            }
        }
    }

    /// RFC 5798 §6.4.1 / §6.4.2: send an ADVERTISEMENT, install and announce the addresses, set
    /// the Adver_Timer, transition to Master.
    pub(super) fn become_master(&mut self, now: Instant, i: usize, reason: NewMasterReason) {
        let id = InstanceId(i as u32);
        let inst = &mut self.instances[i];
        inst.state = State::Master;
        inst.wants_master = false;
        inst.preempted = inst.lower_from.take();
        inst.preempt_until = None;
        inst.rx_sequence = None;
        inst.master_addr = Some(inst.cfg.primary_addr);
        inst.master_adver_int = inst.cfg.advert_interval.to_duration();
        inst.counters.master_transitions += 1;
        inst.counters.new_master_reason = reason;
        inst.timers.stop_all();
        self.send_advert(i, None);
        let inst = &self.instances[i];
        let interface = inst.cfg.interface;
        let mut adds =
            Vec::with_capacity(inst.cfg.virtual_addresses.len() + inst.cfg.virtual_routes.len());
        for va in &inst.cfg.virtual_addresses {
            adds.push(Action::AddAddress {
                instance: id,
                interface: va.interface.unwrap_or(interface),
                address: va.clone(),
            });
        }
        for r in &inst.cfg.virtual_routes {
            adds.push(Action::AddRoute {
                instance: id,
                route: r.clone(),
            });
        }
        for r in &inst.cfg.virtual_rules {
            adds.push(Action::AddRule {
                instance: id,
                rule: r.clone(),
            });
        }
        self.actions.extend(adds);
        let garp = self.instances[i].cfg.garp.clone();
        self.announce(i, garp.master_repeat);
        // The first advert left at once (above); the next is one interval later plus this
        // instance's phase offset, so that instances becoming MASTER together do not all fire
        // in the same instant from then on (see `advert_phases`).
        let at = self.advert_restart(now, i);
        self.set_timer(i, Timer::Advert, at);
        if let Some(d) = garp.master_delay {
            self.instances[i].pending_garp = garp.master_repeat;
            self.set_timer(i, Timer::GarpDelay, now + d);
        }
        if let Some(r) = garp.master_refresh {
            self.set_timer(i, Timer::GarpRefresh, now + r);
        }
        self.entered(i, State::Master);
    }

    /// Removes rules, then routes, then addresses (reverse order of installation, and
    /// keepalived's order when leaving MASTER).
    pub(super) fn remove_owned(&mut self, i: usize) {
        let id = InstanceId(i as u32);
        let inst = &self.instances[i];
        let interface = inst.cfg.interface;
        let mut dels = Vec::new();
        for r in inst.cfg.virtual_rules.iter().rev() {
            dels.push(Action::RemoveRule {
                instance: id,
                rule: r.clone(),
            });
        }
        for r in inst.cfg.virtual_routes.iter().rev() {
            dels.push(Action::RemoveRoute {
                instance: id,
                route: r.clone(),
            });
        }
        for va in inst.cfg.virtual_addresses.iter().rev() {
            dels.push(Action::RemoveAddress {
                instance: id,
                interface: va.interface.unwrap_or(interface),
                address: va.clone(),
            });
        }
        self.actions.extend(dels);
    }

    /// Leaves MASTER (if MASTER). If `release`, a priority-0 advert first tells the backups to
    /// take over after their skew (RFC 5798 §6.4.3); then routes and addresses are removed.
    /// Telling the peers before touching traffic is keepalived's order since 1.2.6: the backup's
    /// skew runs while we remove, so the gap with no VIP owner is not lengthened by slow netlink
    /// work, and a stop interrupted mid-removal has already handed over.
    pub(super) fn leave_master(&mut self, i: usize, release: bool) {
        if self.instances[i].state != State::Master {
            return;
        }
        if release {
            self.send_advert(i, Some(Priority::RELEASE));
        }
        self.remove_owned(i);
        let inst = &mut self.instances[i];
        inst.timers.stop_all();
        inst.master_addr = None;
        self.dirty.push(i as u32);
    }

    /// A MASTER steps down without being outvoted (its group, a reload): it releases with
    /// priority 0 and waits a full Master_Down_Interval.
    pub(super) fn release_to_backup(&mut self, now: Instant, i: usize) {
        let down = self.master_down_interval(i);
        self.enter_backup(now, i, Some(down), true);
    }

    /// Enters BACKUP with the Master_Down_Timer set `down` from now (disarmed if `None`). A
    /// MASTER first releases with priority 0 if `release`, then removes its routes and addresses.
    pub(super) fn enter_backup(
        &mut self,
        now: Instant,
        i: usize,
        down: Option<Duration>,
        release: bool,
    ) {
        self.leave_master(i, release);
        let inst = &mut self.instances[i];
        let changed = inst.state != State::Backup;
        inst.state = State::Backup;
        inst.wants_master = false;
        inst.lower_from = None;
        inst.preempted = None;
        inst.preempt_until = None;
        inst.timers.stop_all();
        match down {
            Some(d) => self.set_timer(i, Timer::MasterDown, now + d),
            None => self.dirty.push(i as u32),
        }
        if changed {
            self.entered(i, State::Backup);
        }
    }

    /// Other MASTER members of a group follow a member that went BACKUP; they release with
    /// priority 0 so that the other side's members take over after their skew, not after
    /// Master_Down_Interval.
    pub(super) fn group_backup(&mut self, now: Instant, g: GroupId, except: usize) {
        let members = self.groups[g.0 as usize].cfg.members.clone();
        for m in members {
            let m = idx(m);
            if m != except && self.instances[m].state == State::Master {
                self.release_to_backup(now, m);
            }
        }
    }

    pub(super) fn enter_fault(&mut self, now: Instant, i: usize) {
        let _ = now;
        if matches!(self.instances[i].state, State::Fault | State::Stopped) {
            return;
        }
        self.leave_master(i, true);
        let inst = &mut self.instances[i];
        inst.state = State::Fault;
        inst.wants_master = false;
        inst.preempt_until = None;
        inst.rx_sequence = None;
        inst.timers.stop_all();
        self.dirty.push(i as u32);
        self.entered(i, State::Fault);
    }

    pub(super) fn fault_group(&mut self, now: Instant, g: GroupId) {
        let members = self.groups[g.0 as usize].cfg.members.clone();
        for m in members {
            self.enter_fault(now, idx(m));
        }
    }

    pub(super) fn group_all_up(&self, g: GroupId) -> bool {
        self.groups[g.0 as usize]
            .cfg
            .members
            .iter()
            .all(|m| self.evaluate(idx(*m)).0)
    }

    /// Leaves FAULT once the instance (and, in a sync group, every member) is up.
    pub(super) fn try_leave_fault(&mut self, now: Instant, i: usize) {
        let members: Vec<usize> = match self.instances[i].group {
            Some(g) => {
                if !self.group_all_up(g) {
                    return;
                }
                self.groups[g.0 as usize]
                    .cfg
                    .members
                    .iter()
                    .map(|m| idx(*m))
                    .collect()
            }
            None => vec![i],
        };
        for m in members {
            if self.instances[m].state != State::Fault {
                continue;
            }
            if self.instances[m].cfg.is_owner() {
                self.request_master(now, m, NewMasterReason::Priority);
            } else {
                let down = self.master_down_interval(m);
                self.enter_backup(now, m, Some(down), false);
            }
        }
    }

    pub(super) fn stop_instance(&mut self, now: Instant, i: usize) {
        let _ = now;
        if self.instances[i].state == State::Stopped {
            return;
        }
        self.leave_master(i, true);
        let inst = &mut self.instances[i];
        inst.state = State::Stopped;
        inst.wants_master = false;
        inst.timers.stop_all();
        self.dirty.push(i as u32);
        self.entered(i, State::Stopped);
    }

    // ===== tracking =====

    /// (up, effective priority) from the link and tracker states (keepalived §4.7, §8.2).
    pub(super) fn evaluate(&self, i: usize) -> (bool, Priority) {
        let inst = &self.instances[i];
        let mut up = inst.cfg.knobs.dont_track_primary
            || self.links.get(&inst.cfg.interface).copied().unwrap_or(true);
        if inst.cfg.knobs.unicast_fault_no_peer && inst.cfg.unicast_peers.is_empty() {
            up = false;
        }
        // No source address yet (its interface is missing): nothing to send adverts from.
        if inst.cfg.primary_addr.is_unspecified() {
            up = false;
        }
        let weights = match inst.group {
            Some(g) => self.groups[g.0 as usize].cfg.tracking_weight,
            None => true,
        };
        let mut offset = 0i64;
        for b in &inst.cfg.track {
            let status = self.trackers[b.tracker.0 as usize].1;
            let weight = if weights { b.weight } else { 0 };
            match tracker::contribution(status, weight, b.reverse) {
                Contribution::Fault => up = false,
                Contribution::Add(w) => offset = offset.saturating_add(w),
                Contribution::None => {}
            }
        }
        if let Some(g) = inst.group {
            for b in &self.groups[g.0 as usize].cfg.track {
                let status = self.trackers[b.tracker.0 as usize].1;
                if tracker::contribution(status, 0, b.reverse) == Contribution::Fault {
                    up = false;
                }
            }
        }
        (up, tracker::effective(inst.cfg.priority, offset))
    }

    pub(super) fn refresh_all(&mut self, now: Instant, ids: &[InstanceId]) {
        for id in ids {
            self.refresh(now, idx(*id));
        }
        self.finish();
    }

    pub(super) fn refresh(&mut self, now: Instant, i: usize) {
        let (up, eff) = self.evaluate(i);
        let old = self.instances[i].effective;
        if eff != old {
            self.instances[i].effective = eff;
            self.log(Level::Info, i, LogEvent::PriorityChanged { old, new: eff });
            if self.instances[i].cfg.knobs.notify_priority_changes {
                self.notify_instance(i, NotifyEvent::Priority);
            }
        }
        match (self.instances[i].state, up) {
            (State::Backup | State::Master, false) => match self.instances[i].group {
                Some(g) => self.fault_group(now, g),
                None => self.enter_fault(now, i),
            },
            (State::Fault, true) => self.try_leave_fault(now, i),
            _ => {}
        }
    }
}
