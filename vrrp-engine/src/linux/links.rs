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
    named: HashMap<InterfaceId, InterfaceConfig>,
    /// Logical id of each configured name.
    id_of: HashMap<String, InterfaceId>,
    /// Logical id of each kernel link that has a configured name (derived from `kernel` and
    /// `id_of`): [`Links::logical`] runs on every wake-up of a socket.
    logical_of: HashMap<u32, InterfaceId, FastHash>,
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

    /// Recomputes `logical_of` for new configured names.
    fn relink(&mut self) {
        self.logical_of = self
            .kernel
            .iter()
            .filter_map(|(&k, l)| self.id_of.get(&l.name).map(|&id| (k, id)))
            .collect();
    }

    /// A link was created or changed (possibly renamed).
    pub(crate) fn update(&mut self, info: LinkInfo) {
        let k = info.interface.0;
        if let Some(old) = self.kernel.get(&k)
            && old.name != info.name
            && self.by_name.get(&old.name) == Some(&k)
        {
            self.by_name.remove(&old.name);
        }
        self.by_name.insert(info.name.clone(), k);
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
            self.by_name.remove(&info.name);
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
        match self.named.get(&id) {
            Some(cfg) => self.by_name.get(&cfg.name).copied().map(InterfaceId),
            None if id.0 == 0 => None,
            None => Some(id),
        }
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

    #[test]
    fn logical_ids_are_stable_and_distinct() {
        assert_eq!(InterfaceId::named("eth0"), InterfaceId::named("eth0"));
        assert_ne!(InterfaceId::named("eth0"), InterfaceId::named("eth1"));
        assert!(!InterfaceId(7).is_logical());
    }
}
