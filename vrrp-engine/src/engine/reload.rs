//! Reload as a diff (keepalived §7.3, without its side effects).

use super::{
    Action, ConfigError, Engine, EngineConfig, HashMap, InstanceConfig, InstanceId, Instant,
    NotifyEvent, State, TrackerConfig, TrackerKind, TrackerStatus, VirtualAddress, idx,
};

impl Engine {
    /// Applies a new configuration as a diff (keepalived §7.3, without its side effects).
    ///
    /// * Instances are matched by name. An instance whose name, interface, family and VRID are
    ///   unchanged keeps its state, timers and counters: no transition, no notification, no
    ///   GARP. If it is MASTER, only the addresses and routes that changed are removed or added
    ///   (new addresses are announced). A new priority or tracker set takes effect like a
    ///   tracker change would.
    /// * A removed instance releases mastership (priority 0 after its addresses are removed) and
    ///   is notified [`NotifyEvent::Deleted`].
    /// * A new instance starts as at [`Engine::start`] (if the engine was started).
    /// * Trackers keep their last result when their name and kind are unchanged; link states are
    ///   kept. A sync group left with members in different states goes to BACKUP (its masters
    ///   release), never to a split.
    ///
    /// On error nothing changes.
    pub fn reload(&mut self, now: Instant, config: EngineConfig) -> Result<(), ConfigError> {
        let mut next = Engine::new(config)?;
        next.links.clone_from(&self.links);
        next.global = self.global.clone();
        next.unknown_vrid_logged = self.unknown_vrid_logged;
        next.started = self.started;
        next.inherit_trackers(&self.trackers);
        let identity = |c: &InstanceConfig| {
            (
                c.name.clone(),
                c.interface,
                c.primary_addr.is_ipv6(),
                c.vrid,
            )
        };
        // Removed instances release first, while their old ids are valid.
        let kept: HashMap<_, usize> = next
            .instances
            .iter()
            .enumerate()
            .map(|(k, n)| (identity(&n.cfg), k))
            .collect();
        let mut carry = Vec::new();
        for i in 0..self.instances.len() {
            if let Some(&k) = kept.get(&identity(&self.instances[i].cfg)) {
                carry.push((i, k));
            } else {
                self.leave_master(i, true);
                self.instances[i].state = State::Stopped;
                self.notify_instance(i, NotifyEvent::Deleted);
            }
        }
        next.actions = core::mem::take(&mut self.actions);
        for g in &mut next.groups {
            if let Some(o) = self.groups.iter().find(|o| o.name == g.name) {
                g.state = o.state; // no group notification unless the state really changes
            }
        }
        let mut old = core::mem::take(&mut self.instances);
        for &(i, k) in &carry {
            next.instances[k].inherit(&mut old[i]);
        }
        *self = next;
        for &(i, k) in &carry {
            if self.instances[k].state == State::Master {
                self.diff_owned(k, &old[i].cfg);
            }
            self.dirty.push(k as u32);
        }
        if self.started {
            for k in 0..self.instances.len() {
                self.start_instance(now, k);
            }
        }
        for k in 0..self.instances.len() {
            self.refresh(now, k);
        }
        self.unsplit_groups(now);
        self.finish();
        Ok(())
    }

    /// Trackers keep their last result across a reload when name and kind match; interface
    /// trackers follow the known link state.
    pub(super) fn inherit_trackers(&mut self, old: &[(TrackerConfig, TrackerStatus)]) {
        for (cfg, status) in &mut self.trackers {
            if let Some((_, s)) = old
                .iter()
                .find(|(c, _)| c.name == cfg.name && c.kind == cfg.kind)
            {
                *status = *s;
            }
            if let TrackerKind::Interface(ifc) = cfg.kind
                && let Some(&up) = self.links.get(&ifc)
            {
                *status = if up {
                    TrackerStatus::Up
                } else {
                    TrackerStatus::Down
                };
            }
        }
    }

    /// A sync group whose members are not all MASTER or all non-MASTER goes to BACKUP: its
    /// masters release (prefer BACKUP, then elect again).
    pub(super) fn unsplit_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].cfg.members.clone();
            let masters = members
                .iter()
                .filter(|m| self.instances[idx(**m)].state == State::Master)
                .count();
            if masters > 0 && masters < members.len() {
                for m in members {
                    let m = idx(m);
                    if self.instances[m].state == State::Master {
                        self.release_to_backup(now, m);
                    }
                }
            }
        }
    }

    /// A kept MASTER after reload: removes what `old` had and the new configuration lacks, adds
    /// (and announces) what is new.
    pub(super) fn diff_owned(&mut self, i: usize, old: &InstanceConfig) {
        let id = InstanceId(i as u32);
        let cfg = &self.instances[i].cfg;
        let ifc = |va: &VirtualAddress, c: &InstanceConfig| va.interface.unwrap_or(c.interface);
        let mut out = Vec::new();
        for r in old.virtual_rules.iter().rev() {
            if !cfg.virtual_rules.contains(r) {
                out.push(Action::RemoveRule {
                    instance: id,
                    rule: Box::new(r.clone()),
                });
            }
        }
        for r in old.virtual_routes.iter().rev() {
            if !cfg.virtual_routes.contains(r) {
                out.push(Action::RemoveRoute {
                    instance: id,
                    route: Box::new(r.clone()),
                });
            }
        }
        for va in old.virtual_addresses.iter().rev() {
            if !cfg.virtual_addresses.contains(va) {
                out.push(Action::RemoveAddress {
                    instance: id,
                    interface: ifc(va, old),
                    address: Box::new(va.clone()),
                });
            }
        }
        let added: Vec<VirtualAddress> = cfg
            .virtual_addresses
            .iter()
            .filter(|va| !old.virtual_addresses.contains(va))
            .cloned()
            .collect();
        for va in &added {
            out.push(Action::AddAddress {
                instance: id,
                interface: ifc(va, cfg),
                address: Box::new(va.clone()),
            });
        }
        for r in &cfg.virtual_routes {
            if !old.virtual_routes.contains(r) {
                out.push(Action::AddRoute {
                    instance: id,
                    route: Box::new(r.clone()),
                });
            }
        }
        for r in &cfg.virtual_rules {
            if !old.virtual_rules.contains(r) {
                out.push(Action::AddRule {
                    instance: id,
                    rule: Box::new(r.clone()),
                });
            }
        }
        let repeat = cfg.garp.master_repeat;
        self.actions.extend(out);
        if !added.is_empty() {
            self.announce_some(i, added.into(), repeat);
        }
    }
}
