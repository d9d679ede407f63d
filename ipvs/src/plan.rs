//! Plan/apply: from the kernel's table and the wanted one, the minimal list of changes.
//!
//! The plan edits in place wherever the kernel allows it: a service whose scheduler, flags,
//! persistence timeout, netmask or persistence engine changed is edited (`SET_SERVICE`),
//! never deleted and re-added, so its connections and destinations survive; likewise a
//! destination whose weight, forwarding method or thresholds changed. Flushing and
//! re-adding is avoided on purpose: the kernel keeps deleted destinations for minutes and
//! scans them on every add, which makes a restore into a just-flushed table many times
//! slower.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::client::{Change, ChangeError, Ipvs};
use crate::error::Result;
use crate::types::{Destination, Service, ServiceId};

/// A service and its destinations: one entry of an IPVS table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<Destination>,
}

impl VirtualService {
    /// A service with no destinations yet.
    pub fn new(service: Service) -> Self {
        Self {
            service,
            destinations: Vec::new(),
        }
    }
}

/// Computes the changes that turn `current` into `desired`, in an order the kernel accepts:
/// services that go away are deleted first (with their destinations); then, service by
/// service in `desired` order, new services are added, changed ones edited, and their
/// destinations deleted, edited and added.
///
/// When `desired` names a service (or a destination within a service) twice, the last
/// entry wins. Counters are ignored.
pub fn plan(current: &[VirtualService], desired: &[VirtualService]) -> Vec<Change> {
    let cur: HashMap<ServiceId, &VirtualService> =
        current.iter().map(|v| (v.service.id, v)).collect();
    let mut want: HashMap<ServiceId, &VirtualService> = HashMap::with_capacity(desired.len());
    let mut order = Vec::with_capacity(desired.len());
    for v in desired {
        if want.insert(v.service.id, v).is_none() {
            order.push(v.service.id);
        }
    }
    let mut changes = Vec::new();
    for v in current {
        if !want.contains_key(&v.service.id) {
            changes.push(Change::DeleteService(v.service.id));
        }
    }
    for id in order {
        let Some(w) = want.get(&id) else { continue };
        match cur.get(&id) {
            None => {
                changes.push(Change::AddService(w.service.clone()));
                for d in last_wins(&w.destinations).into_values() {
                    changes.push(Change::AddDestination(id, d.clone()));
                }
            }
            Some(c) => {
                if !c.service.same_config(&w.service) {
                    changes.push(Change::EditService(w.service.clone()));
                }
                plan_destinations(id, &c.destinations, &w.destinations, &mut changes);
            }
        }
    }
    changes
}

/// Destinations by identity; a later duplicate replaces an earlier one, and the result keeps
/// the order of first appearance.
fn last_wins(dests: &[Destination]) -> indexed::Map<'_> {
    let mut m = indexed::Map::default();
    for d in dests {
        m.insert((d.addr, d.port), d);
    }
    m
}

fn plan_destinations(
    id: ServiceId,
    current: &[Destination],
    desired: &[Destination],
    changes: &mut Vec<Change>,
) {
    let want = last_wins(desired);
    let cur: HashMap<(IpAddr, u16), &Destination> =
        current.iter().map(|d| ((d.addr, d.port), d)).collect();
    for d in current {
        if !want.contains(&(d.addr, d.port)) {
            changes.push(Change::DeleteDestination {
                service: id,
                addr: d.addr,
                port: d.port,
            });
        }
    }
    for d in want.into_values() {
        match cur.get(&(d.addr, d.port)) {
            None => changes.push(Change::AddDestination(id, d.clone())),
            Some(c) if !c.same_config(d) => changes.push(Change::EditDestination(id, d.clone())),
            Some(_) => {}
        }
    }
}

/// A small insertion-ordered map for destinations.
mod indexed {
    use std::collections::HashMap;
    use std::net::IpAddr;

    use crate::types::Destination;

    #[derive(Default)]
    pub(super) struct Map<'a> {
        index: HashMap<(IpAddr, u16), usize>,
        items: Vec<&'a Destination>,
    }

    impl<'a> Map<'a> {
        pub(super) fn insert(&mut self, key: (IpAddr, u16), d: &'a Destination) {
            if let Some(&i) = self.index.get(&key) {
                self.items[i] = d;
            } else {
                self.index.insert(key, self.items.len());
                self.items.push(d);
            }
        }
        pub(super) fn contains(&self, key: &(IpAddr, u16)) -> bool {
            self.index.contains_key(key)
        }
        pub(super) fn into_values(self) -> Vec<&'a Destination> {
            self.items
        }
    }
}

/// What [`Ipvs::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// The changes it sent, in order.
    pub changes: Vec<Change>,
    /// Those the kernel refused (indexes into `changes`).
    pub failures: Vec<ChangeError>,
}

impl Ipvs {
    /// Reads the whole table: every service with its destinations.
    pub fn snapshot(&mut self) -> Result<Vec<VirtualService>> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for service in services {
            let destinations = self.destinations(&service.id)?;
            out.push(VirtualService {
                service,
                destinations,
            });
        }
        Ok(out)
    }

    /// Makes the kernel's table equal to `desired` with the fewest changes: reads the
    /// table, [`plan`]s, and applies the plan in batches. Changes the kernel refuses are
    /// reported and do not stop the others.
    pub fn apply(&mut self, desired: &[VirtualService]) -> Result<ApplyReport> {
        let current = self.snapshot()?;
        let changes = plan(&current, desired);
        let failures = self.apply_changes(&changes)?;
        Ok(ApplyReport { changes, failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Forward, Scheduler};

    fn svc(port: u16, sched: Scheduler, dests: &[(u8, u32)]) -> VirtualService {
        VirtualService {
            service: Service::new(ServiceId::tcp("10.0.0.1".parse().unwrap(), port), sched),
            destinations: dests
                .iter()
                .map(|(last, w)| {
                    Destination::new(IpAddr::from([192, 168, 0, *last]), 80, Forward::Masquerade)
                        .weight(*w)
                })
                .collect(),
        }
    }

    #[test]
    fn identical_tables_need_nothing() {
        let t = vec![svc(80, Scheduler::RoundRobin, &[(1, 1), (2, 1)])];
        assert!(plan(&t, &t).is_empty());
    }

    #[test]
    fn edits_in_place_instead_of_re_adding() {
        let cur = vec![svc(80, Scheduler::RoundRobin, &[(1, 1), (2, 1), (3, 1)])];
        let want = vec![svc(
            80,
            Scheduler::WeightedLeastConnection,
            &[(1, 5), (2, 1), (4, 1)],
        )];
        let p = plan(&cur, &want);
        let id = want[0].service.id;
        assert_eq!(
            p,
            vec![
                Change::EditService(want[0].service.clone()),
                Change::DeleteDestination {
                    service: id,
                    addr: IpAddr::from([192, 168, 0, 3]),
                    port: 80
                },
                Change::EditDestination(id, want[0].destinations[0].clone()),
                Change::AddDestination(id, want[0].destinations[2].clone()),
            ]
        );
    }

    #[test]
    fn removed_services_go_first_and_new_ones_bring_their_dests() {
        let cur = vec![svc(80, Scheduler::RoundRobin, &[(1, 1)])];
        let want = vec![svc(81, Scheduler::RoundRobin, &[(1, 1), (1, 2)])];
        let p = plan(&cur, &want);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Change::DeleteService(cur[0].service.id));
        assert_eq!(p[1], Change::AddService(want[0].service.clone()));
        // The duplicate destination: the last entry (weight 2) wins.
        assert_eq!(
            p[2],
            Change::AddDestination(want[0].service.id, want[0].destinations[1].clone())
        );
    }

    #[test]
    fn counters_do_not_cause_changes() {
        let cur = {
            let mut v = svc(80, Scheduler::RoundRobin, &[(1, 1)]);
            v.service.stats = Some(crate::Stats {
                conns: 5,
                ..Default::default()
            });
            v.destinations[0].counters = Some(crate::DestCounters::default());
            v
        };
        assert!(plan(&[cur], &[svc(80, Scheduler::RoundRobin, &[(1, 1)])]).is_empty());
    }
}
