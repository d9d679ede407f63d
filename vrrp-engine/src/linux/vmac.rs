//! VMAC interfaces (`use_vmac`, keepalived-behaviour.md §3.9): a macvlan in private mode on
//! the instance's interface, with the virtual router MAC (`00:00:5e:00:01:VRID`, or
//! `00:00:5e:00:02:VRID` for IPv6, RFC 5798 §7.3), brought up once its sysctls are set.
//!
//! As keepalived does, the VMAC gets `arp_ignore=1`, `accept_local=1`, `rp_filter=0` and
//! `promote_secondaries=1`, and its base interface `arp_ignore=1` and `arp_filter=1` (so only
//! the VMAC answers ARP for the virtual addresses); the base's old values are restored when
//! the last VMAC on it is deleted. An IPv4 VMAC also gets `disable_ipv6=1`, so a backup never
//! sends IPv6 router solicitations or MLD reports from the shared virtual MAC; an IPv6 VMAC
//! gets `addr_gen_mode=3` (a random link-local, since both routers' VMACs share the MAC) and
//! `accept_dad=0` (no DAD wait for it).
//!
//! [`Vmacs`] remembers the VMACs it created (the journal records them): only those are deleted
//! (at stop, on reload when removed, and after a crash by the next start). A macvlan that
//! already had the name is used as it is and left in place.

use std::collections::HashMap;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};

use super::netlink::{NetlinkError, Request, Rtnl};
use super::rtmsg::{self, kind};

/// What [`Vmacs::create`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// Created by us.
    New,
    /// An interface with that name existed; it is used and never deleted by us.
    Adopted,
}

/// Saved base-interface sysctls.
#[derive(Clone, Debug)]
struct BaseSaved {
    users: usize,
    arp_ignore: Option<String>,
    arp_filter: Option<String>,
}

/// The VMACs the driver created, by name, with their base interface's name.
#[derive(Debug, Default)]
pub struct Vmacs {
    ours: HashMap<String, String>,
    bases: HashMap<String, BaseSaved>,
}

impl Vmacs {
    /// No VMAC yet.
    pub fn new() -> Vmacs {
        Vmacs::default()
    }

    /// Creates VMAC `name` on kernel interface `base` (named `base_name`) with `mac`, up, in
    /// private mode, and sets the sysctls (see the module documentation).
    pub fn create(
        &mut self,
        rtnl: &mut Rtnl,
        name: &str,
        base: u32,
        base_name: &str,
        mac: [u8; 6],
        ipv6: bool,
    ) -> Result<Created, NetlinkError> {
        let what = format!("creating VMAC {name} on {base_name}");
        match rtnl.request(
            Request::raw(kind::NEW_LINK, &rtmsg::new_macvlan(name, base, mac)),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        ) {
            Ok(()) => {}
            Err(NetlinkError::Refused { source, .. })
                if source.raw_os_error() == Some(libc::EEXIST) =>
            {
                return Ok(Created::Adopted);
            }
            Err(e) => return Err(e),
        }
        self.ours.insert(name.to_owned(), base_name.to_owned());
        // Sysctls while it is still down, so that IPv6 does not start on it first.
        for (key, value) in [
            ("arp_ignore", "1"),
            ("accept_local", "1"),
            ("rp_filter", "0"),
            ("promote_secondaries", "1"),
        ] {
            set_sysctl("ipv4", name, key, value);
        }
        if ipv6 {
            // Both routers' VMACs share the MAC: an EUI-64 link-local would collide. A random
            // one will not, so it skips DAD (no wait before it can be the advert source).
            set_sysctl("ipv6", name, "addr_gen_mode", "3");
            set_sysctl("ipv6", name, "accept_dad", "0");
        } else {
            set_sysctl("ipv6", name, "disable_ipv6", "1");
        }
        let saved = self
            .bases
            .entry(base_name.to_owned())
            .or_insert_with(|| BaseSaved {
                users: 0,
                arp_ignore: get_sysctl("ipv4", base_name, "arp_ignore"),
                arp_filter: get_sysctl("ipv4", base_name, "arp_filter"),
            });
        saved.users += 1;
        if saved.users == 1 {
            set_sysctl("ipv4", base_name, "arp_ignore", "1");
            set_sysctl("ipv4", base_name, "arp_filter", "1");
        }
        rtnl.request(
            Request::raw(kind::SET_LINK, &rtmsg::set_link_up(name)),
            0,
            &format!("bringing VMAC {name} up"),
        )?;
        Ok(Created::New)
    }

    /// Whether we created `name` (and have not deleted it).
    pub fn is_ours(&self, name: &str) -> bool {
        self.ours.contains_key(name)
    }

    /// The VMACs we created, for the journal.
    pub fn installed(&self) -> impl Iterator<Item = super::journal::Entry> + '_ {
        self.ours
            .keys()
            .map(|n| super::journal::Entry::Link(n.clone()))
    }

    /// Deletes VMAC `name` if we created it (already gone is fine); restores its base's
    /// sysctls when it was the last one there. One that cannot be deleted stays ours (and in
    /// the journal, for the next start).
    pub fn delete(&mut self, rtnl: &mut Rtnl, name: &str) -> Result<(), NetlinkError> {
        if !self.ours.contains_key(name) {
            return Ok(());
        }
        delete_link(rtnl, name)?;
        if let Some(base) = self.ours.remove(name) {
            self.release_base(&base);
        }
        Ok(())
    }

    /// The kernel deleted VMAC `name` (its base went away): forget it.
    pub fn gone(&mut self, name: &str) {
        if let Some(base) = self.ours.remove(name) {
            self.release_base(&base);
        }
    }

    /// Names of every VMAC we created.
    pub fn names(&self) -> Vec<String> {
        self.ours.keys().cloned().collect()
    }

    fn release_base(&mut self, base: &str) {
        let Some(saved) = self.bases.get_mut(base) else {
            return;
        };
        saved.users = saved.users.saturating_sub(1);
        if saved.users == 0 {
            if let Some(v) = &saved.arp_ignore {
                set_sysctl("ipv4", base, "arp_ignore", v);
            }
            if let Some(v) = &saved.arp_filter {
                set_sysctl("ipv4", base, "arp_filter", v);
            }
            self.bases.remove(base);
        }
    }
}

/// Deletes interface `name` (a VMAC a previous run recorded in its journal, or ours); one that
/// no longer exists is fine.
pub fn delete_link(rtnl: &mut Rtnl, name: &str) -> Result<(), NetlinkError> {
    match rtnl.request(
        Request::raw(kind::DEL_LINK, &rtmsg::del_link(name)),
        0,
        &format!("deleting VMAC {name}"),
    ) {
        Err(NetlinkError::Refused { source, .. })
            if source.raw_os_error() == Some(libc::ENODEV) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Whether `mac` is a virtual router MAC (`00:00:5e:00:01:VRID` or `00:00:5e:00:02:VRID`, RFC
/// 5798 §7.3), as every VMAC we create has.
pub fn is_virtual_router_mac(mac: [u8; 6]) -> bool {
    matches!(mac, [0, 0, 0x5e, 0, 1 | 2, _])
}

fn sysctl_path(family: &str, ifname: &str, key: &str) -> Option<String> {
    (!ifname.is_empty() && !ifname.contains('/') && ifname != "." && ifname != "..")
        .then(|| format!("/proc/sys/net/{family}/conf/{ifname}/{key}"))
}

fn get_sysctl(family: &str, ifname: &str, key: &str) -> Option<String> {
    let path = sysctl_path(family, ifname, key)?;
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Best effort: a missing sysctl (no IPv6, an old kernel) is not a reason to fail.
fn set_sysctl(family: &str, ifname: &str, key: &str, value: &str) {
    if let Some(path) = sysctl_path(family, ifname, key) {
        let _ = std::fs::write(path, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_router_macs() {
        assert!(is_virtual_router_mac([0, 0, 0x5e, 0, 1, 51]));
        assert!(is_virtual_router_mac([0, 0, 0x5e, 0, 2, 1]));
        assert!(!is_virtual_router_mac([0, 0, 0x5e, 0, 3, 1]));
        assert!(!is_virtual_router_mac([2, 0, 0x5e, 0, 1, 51]));
    }

    #[test]
    fn sysctl_paths_refuse_odd_names() {
        assert_eq!(
            sysctl_path("ipv4", "vrrp.51", "arp_ignore").as_deref(),
            Some("/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore")
        );
        assert_eq!(sysctl_path("ipv4", "../x", "arp_ignore"), None);
        assert_eq!(sysctl_path("ipv4", "..", "arp_ignore"), None);
        assert_eq!(sysctl_path("ipv4", "", "arp_ignore"), None);
    }
}
