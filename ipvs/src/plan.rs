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
                for d in dedup(&w.destinations).0 {
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

/// A destination's identity within its service.
type DestKey = (IpAddr, u16);

fn key(d: &Destination) -> DestKey {
    (d.addr, d.port)
}

/// The destinations of `dests` with duplicates resolved (the last entry wins), in the order
/// of first appearance, plus a sorted index of their keys. Sorting instead of hashing: a
/// service usually has a handful of destinations, and a plan covers tens of thousands of
/// services.
fn dedup(dests: &[Destination]) -> (Vec<&Destination>, Vec<DestKey>) {
    let mut idx: Vec<(DestKey, usize)> =
        dests.iter().enumerate().map(|(i, d)| (key(d), i)).collect();
    idx.sort_unstable();
    // For each key: its first position (where it goes in the order) and its last (the
    // entry that wins).
    let mut winners: Vec<(usize, usize)> = Vec::with_capacity(idx.len());
    let mut keys = Vec::with_capacity(idx.len());
    for group in idx.chunk_by(|a, b| a.0 == b.0) {
        if let (Some(first), Some(last)) = (group.first(), group.last()) {
            winners.push((first.1, last.1));
            keys.push(first.0);
        }
    }
    winners.sort_unstable();
    (
        winners.into_iter().map(|(_, last)| &dests[last]).collect(),
        keys,
    )
}

fn plan_destinations(
    id: ServiceId,
    current: &[Destination],
    desired: &[Destination],
    changes: &mut Vec<Change>,
) {
    let (want, want_keys) = dedup(desired);
    let mut cur: Vec<(DestKey, &Destination)> = current.iter().map(|d| (key(d), d)).collect();
    cur.sort_unstable_by_key(|(k, _)| *k);
    for d in current {
        if want_keys.binary_search(&key(d)).is_err() {
            changes.push(Change::DeleteDestination {
                service: id,
                addr: d.addr,
                port: d.port,
            });
        }
    }
    for d in want {
        match cur.binary_search_by_key(&key(d), |(k, _)| *k) {
            Err(_) => changes.push(Change::AddDestination(id, d.clone())),
            Ok(i) if !cur[i].1.same_config(d) => {
                changes.push(Change::EditDestination(id, d.clone()));
            }
            Ok(_) => {}
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

    mod model {
        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::*;

        type Model = BTreeMap<ServiceId, (Service, BTreeMap<DestKey, Destination>)>;

        fn model(t: &[VirtualService]) -> Model {
            let mut m = Model::new();
            for v in t {
                let dests = v.destinations.iter().map(|d| (key(d), d.clone())).collect();
                m.insert(v.service.id, (v.service.clone(), dests));
            }
            m
        }

        /// Applies changes the way the kernel does, failing on what the kernel refuses.
        fn apply(m: &mut Model, changes: &[Change]) -> Result<(), String> {
            for c in changes {
                let ok = match c {
                    Change::AddService(s) => m.insert(s.id, (s.clone(), BTreeMap::new())).is_none(),
                    Change::EditService(s) => m.get_mut(&s.id).map(|e| e.0 = s.clone()).is_some(),
                    Change::DeleteService(id) => m.remove(id).is_some(),
                    Change::AddDestination(id, d) => m
                        .get_mut(id)
                        .is_some_and(|e| e.1.insert(key(d), d.clone()).is_none()),
                    Change::EditDestination(id, d) => m
                        .get_mut(id)
                        .and_then(|e| e.1.get_mut(&key(d)))
                        .map(|x| *x = d.clone())
                        .is_some(),
                    Change::DeleteDestination {
                        service,
                        addr,
                        port,
                    } => m
                        .get_mut(service)
                        .is_some_and(|e| e.1.remove(&(*addr, *port)).is_some()),
                };
                if !ok {
                    return Err(format!("kernel would refuse {c:?}"));
                }
            }
            Ok(())
        }

        fn table() -> impl Strategy<Value = Vec<VirtualService>> {
            let dest = (0u8..5, 0u32..3, any::<bool>()).prop_map(|(last, w, dr)| {
                let fwd = if dr {
                    Forward::DirectRoute
                } else {
                    Forward::Masquerade
                };
                Destination::new(IpAddr::from([192, 168, 0, last]), 80, fwd).weight(w)
            });
            let svc = (
                0u16..4,
                any::<bool>(),
                proptest::collection::vec(dest, 0..6),
            )
                .prop_map(|(port, wlc, destinations)| {
                    let sched = if wlc {
                        Scheduler::WeightedLeastConnection
                    } else {
                        Scheduler::RoundRobin
                    };
                    VirtualService {
                        service: Service::new(
                            ServiceId::tcp(IpAddr::from([10, 0, 0, 1]), port),
                            sched,
                        ),
                        destinations,
                    }
                });
            proptest::collection::vec(svc, 0..5)
        }

        /// What a table with duplicates means: the last entry wins.
        fn resolved(t: &[VirtualService]) -> Model {
            let mut m = Model::new();
            for v in t {
                let e = m
                    .entry(v.service.id)
                    .or_insert_with(|| (v.service.clone(), BTreeMap::new()));
                e.0 = v.service.clone();
                e.1 = v.destinations.iter().map(|d| (key(d), d.clone())).collect();
            }
            m
        }

        proptest! {
            #[test]
            fn plan_reaches_the_desired_table_and_is_then_empty(
                cur in table(), want in table()
            ) {
                // The kernel's table has no duplicates.
                let cur: Vec<VirtualService> = resolved(&cur)
                    .into_values()
                    .map(|(service, d)| VirtualService { service, destinations: d.into_values().collect() })
                    .collect();
                let mut m = model(&cur);
                let changes = plan(&cur, &want);
                apply(&mut m, &changes).map_err(TestCaseError::fail)?;
                prop_assert_eq!(&m, &resolved(&want));
                let now: Vec<VirtualService> = m
                    .into_values()
                    .map(|(service, d)| VirtualService { service, destinations: d.into_values().collect() })
                    .collect();
                prop_assert!(plan(&now, &want).is_empty());
                // Nothing is deleted and re-added.
                for c in &changes {
                    if let Change::AddService(s) = c {
                        prop_assert!(!cur.iter().any(|v| v.service.id == s.id));
                    }
                }
            }
        }
    }
}
