//! Our `keepalived -n` with an instance on an interface that does not exist yet (needs root and
//! iproute2): it starts (no error), the instance is in FAULT, comes up when the interface
//! appears and follows it through a delete and re-create; likewise a `track_interface` that
//! does not exist yet.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{addresses_on, spawn, stop};
use vrrp_engine::testlab::{Lab, privileged};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 100));

const CONF: &str = "global_defs {\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}\n\
vrrp_instance VI_1 {\n  interface vx0\n  virtual_router_id 51\n  priority 200\n  advert_int 0.1\n  \
virtual_ipaddress {\n    192.168.77.100/24\n  }\n}\n";

/// A veth pair `vx0`/`vx0p` in `host` with 192.168.77.1/24 on `vx0`, both up.
fn add_vx0(lab: &Lab, host: usize) {
    for args in [
        "link add vx0 type veth peer name vx0p",
        "addr add 192.168.77.1/24 dev vx0",
        "link set vx0p up",
        "link set vx0 up",
    ] {
        let args: Vec<&str> = args.split(' ').collect();
        lab.ip(host, &args).unwrap();
    }
}

#[test]
fn missing_interface_starts_in_fault_and_follows_the_interface() {
    if !privileged("missing_interface_starts_in_fault_and_follows_the_interface").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let d = spawn(&lab, 0, 1, CONF);
    d.wait_log("(VI_1) Entering FAULT STATE");
    assert!(
        d.log().contains("vx0"),
        "no word about the missing interface:\n{}",
        d.log()
    );
    add_vx0(&lab, 0);
    d.wait_log("(VI_1) Entering MASTER STATE");
    d.wait_until(|| addresses_on(&lab, 0, "vx0").contains(&VIP));
    lab.ip(0, &["link", "del", "vx0"]).unwrap();
    let count = |s: &str| d.log().matches(s).count();
    d.wait_until(|| count("Entering FAULT STATE") == 2);
    add_vx0(&lab, 0);
    d.wait_until(|| count("Entering MASTER STATE") == 2);
    d.wait_until(|| addresses_on(&lab, 0, "vx0").contains(&VIP));
    stop(&lab, &d);
    assert!(!addresses_on(&lab, 0, "vx0").contains(&VIP));
    // The deletion was followed, not fought: no attempt to restore the VIP on a dying link.
    assert!(!d.log().contains("restored"), "{}", d.log());
}

/// `track_interface` naming an interface that does not exist yet: the instance (on an
/// existing interface) is in FAULT until it appears, and again when it is deleted.
#[test]
fn tracked_interface_that_appears_later() {
    if !privileged("tracked_interface_that_appears_later").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let conf = "global_defs {\n  vrrp_version 3\n}\nvrrp_instance VI_1 {\n  interface eth0\n  \
                virtual_router_id 51\n  priority 200\n  advert_int 0.1\n  track_interface {\n    \
                vx0\n  }\n  virtual_ipaddress {\n    10.99.0.100/24\n  }\n}\n";
    let d = spawn(&lab, 0, 1, conf);
    d.wait_log("(VI_1) Entering FAULT STATE");
    assert!(!d.log().contains("Entering MASTER"), "{}", d.log());
    add_vx0(&lab, 0);
    d.wait_log("(VI_1) Entering MASTER STATE");
    lab.ip(0, &["link", "del", "vx0"]).unwrap();
    let count = |s: &str| d.log().matches(s).count();
    d.wait_until(|| count("Entering FAULT STATE") == 2);
    stop(&lab, &d);
}
