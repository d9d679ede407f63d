//! Interfaces by name: the configuration's interface ids mapped to the kernel's current
//! ifindexes.
//!
//! An [`InterfaceId`] that [`EngineConfig::interfaces`](crate::EngineConfig::interfaces) names
//! is logical: [`Links`] follows the kernel's link reports and maps it to whatever ifindex the
//! interface with that name has now, or to nothing while it does not exist. Any other id is a
//! kernel ifindex and maps to itself. The engine sees logical ids only; the kernel sees
//! ifindexes only; the driver translates at the boundary.

use std::collections::HashMap;

use super::netlink::LinkInfo;
use crate::fast_hash::FastHash;
use crate::{InterfaceConfig, InterfaceId};

/// The kernel's links and the configuration's named interfaces.
#[derive(Debug, Default)]
pub(crate) struct Links {
    /// Every kernel link, by ifindex.
    kernel: HashMap<u32, LinkInfo>,
    /// Kernel ifindex of each link name.
    by_name: HashMap<String, u32>,
    /// Named interfaces of the configuration, by logical id.
    named: HashMap<InterfaceId, InterfaceConfig, FastHash>,
    /// Logical id of each configured name.
    id_of: HashMap<String, InterfaceId>,
    /// Logical id of each kernel link that has a configured name (derived from `kernel` and
    /// `id_of`): [`Links::logical`] runs on every wake-up of a socket.
    logical_of: HashMap<u32, InterfaceId, FastHash>,
    /// Current kernel ifindex of each named interface that exists (derived from `named` and
    /// `by_name`): [`Links::kernel`] runs for every advert sent.
    index_of: HashMap<InterfaceId, u32, FastHash>,
}

impl Links {
    /// The kernel's links as listed now.
    pub(crate) fn new(links: Vec<LinkInfo>) -> Links {
        let mut out = Links::default();
        for l in links {
            out.update(l);
        }
        out
    }

    /// Replaces the configured named interfaces.
    pub(crate) fn configure(&mut self, interfaces: &[InterfaceConfig]) {
        self.named = interfaces.iter().map(|i| (i.id, i.clone())).collect();
        self.id_of = interfaces.iter().map(|i| (i.name.clone(), i.id)).collect();
        self.relink();
    }

    /// Recomputes `logical_of` and `index_of` for new configured names.
    fn relink(&mut self) {
        self.logical_of = self
            .kernel
            .iter()
            .filter_map(|(&k, l)| self.id_of.get(&l.name).map(|&id| (k, id)))
            .collect();
        self.index_of = self
            .named
            .iter()
            .filter_map(|(&id, cfg)| self.by_name.get(&cfg.name).map(|&k| (id, k)))
            .collect();
    }

    /// Records that link name `name` now belongs to ifindex `k` (`None`: to no link).
    fn set_name(&mut self, name: &str, k: Option<u32>) {
        match k {
            Some(k) => self.by_name.insert(name.to_owned(), k),
            None => self.by_name.remove(name),
        };
        if let Some(&id) = self.id_of.get(name) {
            match k {
                Some(k) => self.index_of.insert(id, k),
                None => self.index_of.remove(&id),
            };
        }
    }

    /// A link was created or changed (possibly renamed).
    pub(crate) fn update(&mut self, info: LinkInfo) {
        let k = info.interface.0;
        if let Some(old) = self.kernel.get(&k)
            && old.name != info.name
            && self.by_name.get(&old.name) == Some(&k)
        {
            let old = old.name.clone();
            self.set_name(&old, None);
        }
        self.set_name(&info.name, Some(k));
        match self.id_of.get(&info.name) {
            Some(&id) => self.logical_of.insert(k, id),
            None => self.logical_of.remove(&k),
        };
        self.kernel.insert(k, info);
    }

    /// A link was deleted; returns what it was.
    pub(crate) fn remove(&mut self, k: u32) -> Option<LinkInfo> {
        let info = self.kernel.remove(&k)?;
        if self.by_name.get(&info.name) == Some(&k) {
            self.set_name(&info.name, None);
        }
        self.logical_of.remove(&k);
        Some(info)
    }

    /// The kernel link `k` (an ifindex as an [`InterfaceId`]).
    #[allow(clippy::trivially_copy_pass_by_ref)] // `HashMap::get`'s shape, which callers use
    pub(crate) fn get(&self, k: &InterfaceId) -> Option<&LinkInfo> {
        self.kernel.get(&k.0)
    }

    /// The kernel link called `name`.
    pub(crate) fn by_name(&self, name: &str) -> Option<&LinkInfo> {
        self.by_name.get(name).and_then(|k| self.kernel.get(k))
    }

    /// Every kernel link.
    pub(crate) fn all(&self) -> impl Iterator<Item = &LinkInfo> + '_ {
        self.kernel.values()
    }

    /// The configured named interfaces.
    pub(crate) fn named(&self) -> impl Iterator<Item = &InterfaceConfig> + '_ {
        self.named.values()
    }

    /// The configuration of named interface `id`.
    pub(crate) fn config(&self, id: InterfaceId) -> Option<&InterfaceConfig> {
        self.named.get(&id)
    }

    /// The kernel ifindex `id` stands for now: a named interface's current index (none while
    /// it does not exist), or `id` itself.
    pub(crate) fn kernel(&self, id: InterfaceId) -> Option<InterfaceId> {
        if let Some(&k) = self.index_of.get(&id) {
            return Some(InterfaceId(k));
        }
        if id.0 == 0 || self.named.contains_key(&id) {
            return None; // a named interface that does not exist now
        }
        Some(id)
    }

    /// The id the engine knows kernel link `k` by: the named interface with its name, else the
    /// ifindex itself.
    pub(crate) fn logical(&self, k: InterfaceId) -> InterfaceId {
        self.logical_of.get(&k.0).copied().unwrap_or(k)
    }

    /// For messages: the interface's name (configured or current), else `#ifindex`.
    pub(crate) fn describe(&self, id: InterfaceId) -> String {
        if let Some(cfg) = self.named.get(&id) {
            return cfg.name.clone();
        }
        self.kernel
            .get(&id.0)
            .map_or_else(|| format!("#{}", id.0), |l| l.name.clone())
    }

    /// Whether interface `id` (named or an ifindex) exists and is up.
    pub(crate) fn is_up(&self, id: InterfaceId) -> bool {
        self.kernel(id)
            .and_then(|k| self.kernel.get(&k.0))
            .is_some_and(|l| l.up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(k: u32, name: &str, up: bool) -> LinkInfo {
        LinkInfo {
            interface: InterfaceId(k),
            name: name.to_owned(),
            up,
            mac: None,
        }
    }

    #[test]
    fn named_ids_follow_the_name() {
        let mut l = Links::new(vec![link(1, "lo", true), link(7, "eth0", true)]);
        let eth0 = InterfaceConfig::named("eth0");
        let eth1 = InterfaceConfig::named("eth1");
        l.configure(&[eth0.clone(), eth1.clone()]);
        assert!(eth0.id.is_logical());
        assert_eq!(l.kernel(eth0.id), Some(InterfaceId(7)));
        assert_eq!(l.kernel(eth1.id), None);
        assert_eq!(l.kernel(InterfaceId(1)), Some(InterfaceId(1)));
        assert_eq!(l.logical(InterfaceId(7)), eth0.id);
        assert_eq!(l.logical(InterfaceId(1)), InterfaceId(1));
        // eth1 appears, is deleted, and comes back under a new index.
        l.update(link(9, "eth1", true));
        assert_eq!(l.kernel(eth1.id), Some(InterfaceId(9)));
        assert!(l.is_up(eth1.id));
        l.remove(9);
        assert_eq!(l.kernel(eth1.id), None);
        assert!(!l.is_up(eth1.id));
        l.update(link(12, "eth1", false));
        assert_eq!(l.kernel(eth1.id), Some(InterfaceId(12)));
        assert!(!l.is_up(eth1.id));
        // A rename moves the name.
        l.update(link(12, "other", true));
        assert_eq!(l.kernel(eth1.id), None);
        assert_eq!(l.describe(eth1.id), "eth1");
        assert_eq!(l.describe(InterfaceId(12)), "other");
    }

    /// The derived maps (`logical_of`, `index_of`) answer as the lookups through names did,
    /// whatever the order of link events and configurations.
    #[test]
    fn derived_maps_match_the_lookups_by_name() {
        fn by_names_kernel(l: &Links, id: InterfaceId) -> Option<InterfaceId> {
            match l.named.get(&id) {
                Some(cfg) => l.by_name.get(&cfg.name).copied().map(InterfaceId),
                None if id.0 == 0 => None,
                None => Some(id),
            }
        }
        fn by_names_logical(l: &Links, k: InterfaceId) -> InterfaceId {
            l.kernel
                .get(&k.0)
                .and_then(|x| l.id_of.get(&x.name))
                .copied()
                .unwrap_or(k)
        }
        let names = ["a", "b", "c", "d"];
        let mut l = Links::default();
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for _ in 0..2_000 {
            match next(10) {
                0 => {
                    let mask = next(16);
                    let cfg: Vec<_> = (0..4)
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| InterfaceConfig::named(names[i]))
                        .collect();
                    l.configure(&cfg);
                }
                1..=2 => {
                    l.remove(1 + next(6) as u32);
                }
                _ => l.update(link(1 + next(6) as u32, names[next(4) as usize], true)),
            }
            for name in names {
                let id = InterfaceId::named(name);
                assert_eq!(l.kernel(id), by_names_kernel(&l, id), "{name}");
            }
            for k in 0..8 {
                let k = InterfaceId(k);
                assert_eq!(l.kernel(k), by_names_kernel(&l, k));
                assert_eq!(l.logical(k), by_names_logical(&l, k));
            }
        }
    }

    #[test]
    fn logical_ids_are_stable_and_distinct() {
        assert_eq!(InterfaceId::named("eth0"), InterfaceId::named("eth0"));
        assert_ne!(InterfaceId::named("eth0"), InterfaceId::named("eth1"));
        assert!(!InterfaceId(7).is_logical());
    }
}
