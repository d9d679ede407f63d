//! Actions, notifications and logs, and derived sync-group states.

use super::{
    Action, AdvertTx, Arc, Engine, GroupId, InstanceId, IpAddr, Level, LogEvent, LogRecord,
    Notification, NotifyEvent, NotifyTarget, Priority, State, VirtualAddress, idx,
};

impl Engine {
    // ===== output helpers =====

    pub(super) fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    pub(super) fn send_advert(&mut self, i: usize, priority: Option<Priority>) {
        let inst = &mut self.instances[i];
        let priority = priority.unwrap_or(inst.effective);
        inst.counters.sent_advertisements += 1;
        if priority == Priority::RELEASE {
            inst.counters.sent_pri_zero = inst.counters.sent_pri_zero.wrapping_add(1);
        }
        // keepalived increments its AH counter before each send, so the first advert carries 1;
        // its receiver increments its own copy before requiring `received >= local`, so a
        // sequence of 0 from a fresh sender would be dropped as a replay.
        inst.tx_sequence = inst.tx_sequence.wrapping_add(1);
        let sequence = inst.tx_sequence;
        let tx = AdvertTx {
            instance: InstanceId(i as u32),
            interface: inst.cfg.interface,
            vrid: inst.cfg.vrid,
            priority,
            interval: inst.cfg.advert_interval,
            auth: inst.cfg.auth,
            sequence,
            checksum_mode: inst.cfg.checksum_mode,
            source: inst.cfg.primary_addr,
            destination: inst.destination.clone(),
            addresses: inst.advert_addrs.clone(),
        };
        self.actions.push_back(Action::SendAdvert(tx));
    }

    /// A GARP/NA burst for all the instance's addresses.
    pub(super) fn announce(&mut self, i: usize, repeat: u32) {
        // Built when announced (a transition to MASTER), not kept per instance.
        let addresses: Arc<[VirtualAddress]> = self.instances[i].cfg.virtual_addresses[..].into();
        self.announce_some(i, addresses, repeat);
    }

    pub(super) fn announce_some(
        &mut self,
        i: usize,
        addresses: Arc<[VirtualAddress]>,
        repeat: u32,
    ) {
        let inst = &self.instances[i];
        if repeat == 0 || addresses.is_empty() {
            return;
        }
        let a = Action::Announce {
            instance: InstanceId(i as u32),
            interface: inst.cfg.interface,
            addresses,
            repeat,
            garp_interval: inst.cfg.garp.garp_interval,
            gna_interval: inst.cfg.garp.gna_interval,
        };
        self.actions.push_back(a);
    }

    pub(super) fn log(&mut self, level: Level, i: usize, event: LogEvent) {
        self.actions.push_back(Action::Log(LogRecord {
            level,
            instance: Some(InstanceId(i as u32)),
            name: Some(self.instances[i].cfg.name.clone()),
            event,
        }));
    }

    pub(super) fn notify_instance(&mut self, i: usize, event: NotifyEvent) {
        let priority = self.instances[i].effective;
        self.actions.push_back(Action::Notify(Notification {
            target: NotifyTarget::Instance(InstanceId(i as u32)),
            name: self.instances[i].cfg.name.clone(),
            event,
            priority,
        }));
    }

    pub(super) fn entered(&mut self, i: usize, state: State) {
        self.log(Level::Info, i, LogEvent::Entered(state));
        self.notify_instance(i, NotifyEvent::State(state));
    }

    /// Derives each group's state from its members and notifies changes, after the member
    /// notifications that caused them.
    /// Only groups with a member touched since the last call are looked at, so the cost does not
    /// grow with the number of groups.
    pub(super) fn update_groups(&mut self) {
        if self.dirty_groups.is_empty() {
            return;
        }
        let mut touched = core::mem::take(&mut self.dirty_groups);
        touched.sort_unstable();
        touched.dedup();
        for &g in &touched {
            let g = g as usize;
            let members = &self.groups[g].cfg.members;
            let states = members.iter().map(|m| self.instances[idx(*m)].state);
            let derived = group_state(states);
            if derived != self.groups[g].state {
                self.groups[g].state = derived;
                if derived != State::Init {
                    self.actions.push_back(Action::Notify(Notification {
                        target: NotifyTarget::Group(GroupId(g as u32)),
                        name: self.groups[g].name.clone(),
                        event: NotifyEvent::State(derived),
                        priority: Priority(0),
                    }));
                }
            }
        }
        touched.clear();
        self.dirty_groups = touched;
    }
}

pub(super) fn group_state(states: impl Iterator<Item = State> + Clone) -> State {
    let mut all_master = true;
    let mut all_stopped = true;
    let mut any_fault = false;
    let mut any_init = false;
    let mut n = 0;
    for s in states {
        n += 1;
        all_master &= s == State::Master;
        all_stopped &= s == State::Stopped;
        any_fault |= s == State::Fault;
        any_init |= s == State::Init;
    }
    if n == 0 || any_init {
        State::Init
    } else if all_stopped {
        State::Stopped
    } else if any_fault {
        State::Fault
    } else if all_master {
        State::Master
    } else {
        State::Backup
    }
}

/// RFC 5798 §6.4.3: on equal priority the higher primary address wins (IPv4 and IPv6 compared
/// as unsigned integers in network byte order).
pub(super) fn addr_gt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.to_bits() > b.to_bits(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.to_bits() > b.to_bits(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn tie_break_compares_addresses_as_integers() {
        let a: IpAddr = "10.0.0.10".parse().unwrap();
        let b: IpAddr = "10.0.0.9".parse().unwrap();
        assert!(addr_gt(a, b));
        assert!(!addr_gt(b, a));
        let a6: IpAddr = "fe80::2".parse().unwrap();
        let b6: IpAddr = "fe80::1".parse().unwrap();
        assert!(addr_gt(a6, b6));
        assert!(!addr_gt(a, b6));
    }

    #[test]
    pub(super) fn group_state_derivation() {
        use State::*;
        assert_eq!(group_state([Master, Master].into_iter()), Master);
        assert_eq!(group_state([Master, Backup].into_iter()), Backup);
        assert_eq!(group_state([Master, Fault].into_iter()), Fault);
        assert_eq!(group_state([Stopped, Stopped].into_iter()), Stopped);
        assert_eq!(group_state([Init, Backup].into_iter()), Init);
    }
}
