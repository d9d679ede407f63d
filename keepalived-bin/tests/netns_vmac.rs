//! `use_vmac` against Debian's keepalived 2.2.7, both ways round: our `keepalived -n` and
//! theirs each create a VMAC (`vrrp.51`, `00:00:5e:00:01:33`) on their `eth0`; the master holds
//! the VIP on its VMAC, its adverts and gratuitous ARPs leave from the virtual MAC, and the
//! other side stays BACKUP. Needs root, iproute2 and keepalived (see `vrrp_engine::testlab`).

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{SHORT, addresses_on, spawn, stop};
use vrrp_engine::testlab::{Capture, Lab, garp_in_frame, privileged_with, vrrp_in_frame, wait_for};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 100);
const VMAC: [u8; 6] = [0, 0, 0x5e, 0, 1, 51];

/// A `VRRPv3` instance with 0.1 s adverts on `eth0` with `use_vmac` (VIP without `dev`, so it
/// goes on the VMAC), and `vmac_xmit_base` if asked.
fn conf(priority: u8, xmit_base: bool) -> String {
    let xmit = if xmit_base { "  vmac_xmit_base\n" } else { "" };
    format!(
        "global_defs {{\n  router_id kars_vmac_test\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  use_vmac\n{xmit}  virtual_router_id 51\n  \
         priority {priority}\n  advert_int 0.1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

fn vip_on_vmac(lab: &Lab, host: usize) -> bool {
    addresses_on(lab, host, "vrrp.51").contains(&IpAddr::V4(VIP))
}

fn vip_anywhere(lab: &Lab, host: usize) -> bool {
    vip_on_vmac(lab, host) || lab.has_address(host, IpAddr::V4(VIP))
}

/// Source MACs of the adverts of VRID 51 from `src` in `cap`, from frame `from` on.
fn advert_macs(cap: &Capture, src: Ipv4Addr, from: usize) -> Vec<[u8; 6]> {
    cap.frames()
        .iter()
        .skip(from)
        .filter(|(_, f)| vrrp_in_frame(f).is_some_and(|(s, v, _)| s == IpAddr::V4(src) && v == 51))
        .map(|(_, f)| f[6..12].try_into().unwrap())
        .collect()
}

/// Source MACs of the gratuitous ARPs for the VIP in `cap`, from frame `from` on.
fn garp_macs(cap: &Capture, from: usize) -> Vec<[u8; 6]> {
    cap.frames()
        .iter()
        .skip(from)
        .filter(|(_, f)| garp_in_frame(f) == Some(VIP))
        .map(|(_, f)| f[6..12].try_into().unwrap())
        .collect()
}

#[test]
fn use_vmac_interop_with_debian_keepalived() {
    if privileged_with(
        "use_vmac_interop_with_debian_keepalived",
        &["ip", "keepalived"],
    )
    .unwrap()
    {
        interop(false);
    }
}

/// The same with `vmac_xmit_base` on both sides: adverts from each router's own MAC through
/// the base interface, VIP and GARPs on the VMAC.
#[test]
fn vmac_xmit_base_interop_with_debian_keepalived() {
    if privileged_with(
        "vmac_xmit_base_interop_with_debian_keepalived",
        &["ip", "keepalived"],
    )
    .unwrap()
    {
        interop(true);
    }
}

/// Whether the adverts' source MACs are right: the VMAC's, or (`vmac_xmit_base`) never it.
fn advert_macs_ok(macs: &[[u8; 6]], xmit_base: bool) -> bool {
    macs.iter().all(|m| (*m == VMAC) != xmit_base)
}

fn interop(xmit_base: bool) {
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let (a0, a1) = (lab.host(0).ipv4, lab.host(1).ipv4);

    // Ours master, theirs backup.
    let ours = spawn(&lab, 0, 1, &conf(200, xmit_base));
    ours.wait_log("(VI_1) Entering MASTER STATE");
    let theirs = lab.spawn_keepalived(1, &conf(100, xmit_base)).unwrap();
    let their_log = || std::fs::read_to_string(lab.keepalived_log(1)).unwrap_or_default();
    assert!(
        wait_for(SHORT, || their_log()
            .contains("(VI_1) Entering BACKUP STATE")),
        "{}",
        their_log()
    );
    let their_vmac = lab.ip(1, &["link", "show", "dev", "vrrp.51"]).unwrap();
    assert!(their_vmac.contains("00:00:5e:00:01:33"), "{their_vmac}");
    ours.wait_until(|| vip_on_vmac(&lab, 0));
    assert!(
        !lab.has_address(0, IpAddr::V4(VIP)),
        "VIP on the base interface"
    );
    assert!(
        !vip_anywhere(&lab, 1),
        "the backup holds the VIP:\n{}",
        their_log()
    );
    assert!(wait_for(SHORT, || advert_macs(&cap, a0, 0).len() >= 5));
    assert!(advert_macs_ok(&advert_macs(&cap, a0, 0), xmit_base));
    let garps = garp_macs(&cap, 0);
    assert!(
        !garps.is_empty() && garps.iter().all(|m| *m == VMAC),
        "{garps:x?}"
    );
    // Ten more adverts: keepalived keeps hearing us through its VMAC and stays BACKUP.
    let seen = advert_macs(&cap, a0, 0).len();
    assert!(wait_for(SHORT, || advert_macs(&cap, a0, 0).len() >= seen + 10));
    assert!(!their_log().contains("Entering MASTER"), "{}", their_log());

    // Our orderly stop: our VMAC goes, keepalived takes over on its VMAC.
    let mark = cap.frames().len();
    stop(&lab, &ours);
    assert!(
        lab.ip(0, &["link", "show", "dev", "vrrp.51"]).is_err(),
        "our VMAC outlived the stop"
    );
    assert!(
        wait_for(SHORT, || their_log()
            .contains("(VI_1) Entering MASTER STATE")),
        "{}",
        their_log()
    );
    assert!(wait_for(SHORT, || vip_on_vmac(&lab, 1)), "{}", their_log());
    assert!(!vip_anywhere(&lab, 0));
    assert!(wait_for(SHORT, || advert_macs(&cap, a1, mark).len() >= 5));
    assert!(advert_macs_ok(&advert_macs(&cap, a1, mark), xmit_base));
    assert!(wait_for(SHORT, || !garp_macs(&cap, mark).is_empty()));
    assert!(garp_macs(&cap, mark).iter().all(|m| *m == VMAC));

    // Theirs master, ours backup: we hear keepalived through our VMAC.
    let ours = spawn(&lab, 0, 2, &conf(50, xmit_base));
    ours.wait_log("(VI_1) Entering BACKUP STATE");
    let seen = advert_macs(&cap, a1, 0).len();
    assert!(wait_for(SHORT, || advert_macs(&cap, a1, 0).len() >= seen + 10));
    assert!(!ours.log().contains("Entering MASTER"), "{}", ours.log());
    assert!(!vip_anywhere(&lab, 0), "{}", ours.log());
    assert!(vip_on_vmac(&lab, 1));
    assert!(lab.ip(0, &["link", "show", "dev", "vrrp.51"]).is_ok());
    stop(&lab, &ours);
    lab.terminate(theirs).unwrap();
    assert!(lab.wait_exit(theirs, SHORT).unwrap());
}

/// Adverts of VRID 51 at `priority` from the IPv6 VMAC MAC in `cap`.
fn v6_vmac_adverts(cap: &Capture, priority: u8) -> usize {
    cap.frames()
        .iter()
        .filter(|(_, f)| {
            f[6..12] == [0, 0, 0x5e, 0, 2, 51]
                && vrrp_in_frame(f).is_some_and(|(s, v, p)| s.is_ipv6() && v == 51 && p == priority)
        })
        .count()
}

/// An IPv6 instance with `use_vmac` (`00:00:5e:00:02:33`) on both sides: ours master, then
/// keepalived's after our stop; each side's VIP on its VMAC only while MASTER, adverts from
/// the virtual MAC.
#[test]
fn use_vmac_ipv6_interop_with_debian_keepalived() {
    if !privileged_with(
        "use_vmac_ipv6_interop_with_debian_keepalived",
        &["ip", "keepalived"],
    )
    .unwrap()
    {
        return;
    }
    let vip6: IpAddr = "fd99::100".parse().unwrap();
    let conf6 = |priority: u8| {
        format!(
            "global_defs {{\n  router_id kars_vmac6_test\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance VI_6 {{\n  state BACKUP\n  interface eth0\n  use_vmac\n  virtual_router_id 51\n  \
             priority {priority}\n  advert_int 0.1\n  virtual_ipaddress {{\n    {vip6}/64\n  }}\n}}\n"
        )
    };
    let on_vmac = |lab: &Lab, host: usize| addresses_on(lab, host, "vrrp.51").contains(&vip6);
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let ours = spawn(&lab, 0, 1, &conf6(200));
    ours.wait_log("(VI_6) Entering MASTER STATE");
    let theirs = lab.spawn_keepalived(1, &conf6(100)).unwrap();
    let their_log = || std::fs::read_to_string(lab.keepalived_log(1)).unwrap_or_default();
    assert!(
        wait_for(SHORT, || their_log()
            .contains("(VI_6) Entering BACKUP STATE")),
        "{}",
        their_log()
    );
    ours.wait_until(|| on_vmac(&lab, 0));
    let their_vmac = lab.ip(1, &["link", "show", "dev", "vrrp.51"]).unwrap();
    assert!(their_vmac.contains("00:00:5e:00:02:33"), "{their_vmac}");
    // Ten more of our adverts: keepalived keeps hearing us and stays BACKUP.
    let seen = v6_vmac_adverts(&cap, 200);
    assert!(wait_for(SHORT, || v6_vmac_adverts(&cap, 200) >= seen + 10));
    assert!(!their_log().contains("Entering MASTER"), "{}", their_log());
    assert!(!on_vmac(&lab, 1));
    stop(&lab, &ours);
    assert!(
        wait_for(SHORT, || their_log()
            .contains("(VI_6) Entering MASTER STATE")),
        "{}",
        their_log()
    );
    assert!(wait_for(SHORT, || on_vmac(&lab, 1)), "{}", their_log());
    // Ours back at a lower priority: we hear keepalived through our VMAC.
    let ours = spawn(&lab, 0, 2, &conf6(50));
    ours.wait_log("(VI_6) Entering BACKUP STATE");
    let seen = v6_vmac_adverts(&cap, 100);
    assert!(wait_for(SHORT, || v6_vmac_adverts(&cap, 100) >= seen + 10));
    assert!(!ours.log().contains("Entering MASTER"), "{}", ours.log());
    assert!(!on_vmac(&lab, 0));
    stop(&lab, &ours);
    lab.terminate(theirs).unwrap();
    assert!(lab.wait_exit(theirs, SHORT).unwrap());
}
