//! Our `keepalived` binary, run from real keepalived.conf files in network namespaces: election,
//! VIP on the master only, graceful (SIGTERM) and crash (kill -9) failover, a restart after a
//! crash that removes the VIP the dead process left behind, and interoperation with Debian's
//! keepalived. Needs root and iproute2 (and `/usr/sbin/keepalived` for the interop test);
//! without them each test prints "skipped: ..." unless `KARS_PRIVILEGED_TESTS=require`.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{SHORT, kill9, spawn, stop};
use vrrp_engine::testlab::{Lab, privileged, privileged_with, run, wait_for};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100));

/// A `VRRPv3` instance with 0.1 s adverts on the lab's `eth0`.
fn conf(priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id kars_daemon_test\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {priority}\n  advert_int 0.1\n{extra}  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

fn has_vip(lab: &Lab, host: usize) -> bool {
    lab.has_address(host, VIP)
}

#[test]
fn election_failover_and_restart_after_crash() {
    if !privileged("election_failover_and_restart_after_crash").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    // Election: the higher priority wins, the VIP is on the master only. The backup starts
    // once the master is MASTER: started together, the lower priority can be MASTER for a
    // moment on a loaded machine (its Master_Down_Interval ends only 39 ms after the other's).
    let a = spawn(&lab, 0, 1, &conf(200, ""));
    a.wait_log("(VI_1) Entering MASTER STATE");
    assert!(wait_for(SHORT, || has_vip(&lab, 0)));
    let b = spawn(&lab, 1, 1, &conf(100, ""));
    b.wait_log("(VI_1) Entering BACKUP STATE");
    assert!(!has_vip(&lab, 1), "backup holds the VIP:\n{}", b.log());
    assert!(!b.log().contains("Entering MASTER"), "{}", b.log());

    // SIGTERM: orderly stop (priority 0), the backup takes over, the VIP leaves the old master.
    stop(&lab, &a);
    assert!(!has_vip(&lab, 0), "VIP left behind by an orderly stop");
    b.wait_log("(VI_1) Entering MASTER STATE");
    assert!(wait_for(SHORT, || has_vip(&lab, 1)));

    // Restart: the higher priority preempts, the VIP moves back.
    let a = spawn(&lab, 0, 2, &conf(200, ""));
    a.wait_log("(VI_1) Entering MASTER STATE");
    assert!(wait_for(SHORT, || has_vip(&lab, 0) && !has_vip(&lab, 1)));

    // kill -9 of the whole tree: the VIP stays where it was, the backup takes over after Master_Down_Interval.
    kill9(&lab, &a);
    assert!(has_vip(&lab, 0), "the kernel keeps a crashed daemon's VIP");
    assert!(wait_for(SHORT, || has_vip(&lab, 1)));

    // Restart after the crash, without preemption: the journal makes it remove the stale VIP.
    let a = spawn(&lab, 0, 3, &conf(200, "  nopreempt\n"));
    a.wait_log("(VI_1) Entering BACKUP STATE");
    assert!(!has_vip(&lab, 0), "stale VIP after restart:\n{}", a.log());
    assert!(has_vip(&lab, 1));
    stop(&lab, &a);
    stop(&lab, &b);
    assert!(!has_vip(&lab, 1));
}

#[test]
fn sighup_reload_applies_the_new_file() {
    if !privileged("sighup_reload_applies_the_new_file").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = spawn(&lab, 0, 1, &conf(200, ""));
    a.wait_log("(VI_1) Entering MASTER STATE");
    assert!(wait_for(SHORT, || has_vip(&lab, 0)));
    // Same file name, new VIP list: the old VIP goes, the new one comes.
    let conf_path = lab.dir().join("h0-1.conf");
    std::fs::write(
        &conf_path,
        conf(200, "").replace("10.99.0.100/24", "10.99.0.101/24"),
    )
    .unwrap();
    run("kill", &["-HUP", &a.pid.to_string()]).unwrap();
    let new_vip = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 101));
    a.wait_until(|| lab.has_address(0, new_vip) && !has_vip(&lab, 0));
    // A broken file is refused; the running configuration stays.
    std::fs::write(&conf_path, "vrrp_instance VI_1 {\n  interface nosuch0\n").unwrap();
    run("kill", &["-HUP", &a.pid.to_string()]).unwrap();
    a.wait_log("Reload refused");
    assert!(lab.has_address(0, new_vip));
    stop(&lab, &a);
    assert!(!lab.has_address(0, new_vip));
}

#[test]
fn interop_with_debian_keepalived() {
    if !privileged_with("interop_with_debian_keepalived", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let ours = spawn(&lab, 0, 1, &conf(200, ""));
    ours.wait_log("(VI_1) Entering MASTER STATE");
    let theirs = lab.spawn_keepalived(1, &conf(100, "")).unwrap();
    let their_log = || std::fs::read_to_string(lab.keepalived_log(1)).unwrap_or_default();
    assert!(
        wait_for(SHORT, || their_log().contains("Entering BACKUP STATE")),
        "{}",
        their_log()
    );
    assert!(has_vip(&lab, 0) && !has_vip(&lab, 1));
    // Our orderly stop hands over to keepalived at once.
    stop(&lab, &ours);
    assert!(wait_for(SHORT, || has_vip(&lab, 1)), "{}", their_log());
    // Restarted, we preempt keepalived, which releases the VIP.
    let ours = spawn(&lab, 0, 2, &conf(200, ""));
    ours.wait_log("(VI_1) Entering MASTER STATE");
    assert!(
        wait_for(SHORT, || has_vip(&lab, 0) && !has_vip(&lab, 1)),
        "{}",
        their_log()
    );
    // Our crash: keepalived takes over after its Master_Down_Interval.
    kill9(&lab, &ours);
    assert!(wait_for(SHORT, || has_vip(&lab, 1)), "{}", their_log());
    // Back without preemption: the stale VIP goes, keepalived stays master.
    let ours = spawn(&lab, 0, 3, &conf(200, "  nopreempt\n"));
    ours.wait_log("(VI_1) Entering BACKUP STATE");
    assert!(!has_vip(&lab, 0) && has_vip(&lab, 1), "{}", ours.log());
    stop(&lab, &ours);
    lab.terminate(theirs).unwrap();
    assert!(lab.wait_exit(theirs, SHORT).unwrap());
}
