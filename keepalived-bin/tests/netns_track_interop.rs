//! "A `vrrp_script` failing", both ways round against Debian's keepalived 2.2.7 (issue #6's
//! proof list): the master's script fails (weight 0: FAULT), the other side takes over; the
//! test checks both sides' states, where the VIP is, and the new master's gratuitous ARPs on
//! the wire (captured on a third host). Needs root, iproute2 and `/usr/sbin/keepalived`.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vrrp_engine::testlab::{Capture, Lab, garp_in_frame, privileged_with, wait_for};

mod support;
use support::{spawn_ours, text};

const VIP4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 100);
const VIP: IpAddr = IpAddr::V4(VIP4);
const SHORT: Duration = Duration::from_secs(8);

/// `VRRPv2` at 1 s (keepalived's script interval is whole seconds anyway), tracking a script
/// that fails while `flag` exists, when `flag` is given.
fn conf(priority: u8, flag: Option<&Path>) -> String {
    let (script, track) = match flag {
        Some(f) => (
            format!(
                "vrrp_script chk {{\n  script \"/usr/bin/test ! -e {}\"\n  interval 1\n  fall 1\n  rise 1\n}}\n",
                f.display()
            ),
            "  track_script {\n    chk\n  }\n",
        ),
        None => (String::new(), ""),
    };
    format!(
        "global_defs {{\n  router_id kars_track_interop\n  script_user root\n  vrrp_garp_master_delay 0\n}}\n{script}\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority {priority}\n  \
         advert_int 1\n{track}  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

/// The MAC address of `host`'s eth0.
fn mac(lab: &Lab, host: usize) -> [u8; 6] {
    let out = lab.ip(host, &["-o", "link", "show", "eth0"]).unwrap();
    let hex = out
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap();
    let mut m = [0u8; 6];
    for (b, h) in m.iter_mut().zip(hex.split(':')) {
        *b = u8::from_str_radix(h, 16).unwrap();
    }
    m
}

/// Gratuitous ARPs for the VIP sent by `from` (Ethernet source) after `since`.
fn garps_from(cap: &Capture, from: [u8; 6], since: Instant) -> usize {
    cap.frames()
        .iter()
        .filter(|(t, f)| {
            *t >= since && f.get(6..12) == Some(&from[..]) && garp_in_frame(f) == Some(VIP4)
        })
        .count()
}

/// Both sides up, `master` (the one whose script will fail) holding the VIP.
struct Setup {
    lab: Lab,
    cap: Capture,
    flag: PathBuf,
    ours: PathBuf,
    theirs: PathBuf,
}

fn setup(test: &str, ours_tracks: bool) -> Option<Setup> {
    if !privileged_with(test, &["ip", "keepalived"]).unwrap() {
        return None;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let flag = lab.dir().join("fail");
    let (ours_conf, their_conf) = if ours_tracks {
        (conf(200, Some(&flag)), conf(100, None))
    } else {
        (conf(100, None), conf(200, Some(&flag)))
    };
    // The master starts first and the other side once it holds the VIP: started together,
    // the lower priority can be MASTER for a moment on a loaded machine, and the real master
    // answers its adverts with a GARP burst that a test would count as a late one.
    let master = usize::from(!ours_tracks);
    let start_ours = || spawn_ours(&lab, 0, "ours", &ours_conf).1;
    let start_theirs = || {
        lab.spawn_keepalived(1, &their_conf).unwrap();
        lab.keepalived_log(1)
    };
    let (ours, theirs) = if ours_tracks {
        let ours = start_ours();
        let up = wait_for(Duration::from_secs(10), || lab.has_address(0, VIP));
        assert!(up, "we never became master\n{}", text(&ours));
        (ours, start_theirs())
    } else {
        let theirs = start_theirs();
        let up = wait_for(Duration::from_secs(10), || lab.has_address(1, VIP));
        assert!(up, "keepalived never became master\n{}", text(&theirs));
        (start_ours(), theirs)
    };
    let ok = wait_for(Duration::from_secs(10), || {
        lab.has_address(master, VIP) && !lab.has_address(1 - master, VIP)
    });
    assert!(
        ok,
        "no initial master on host {master}\nours:\n{}\ntheirs:\n{}",
        text(&ours),
        text(&theirs)
    );
    Some(Setup {
        lab,
        cap,
        flag,
        ours,
        theirs,
    })
}

impl Setup {
    fn show(&self) -> String {
        format!(
            "ours:\n{}\ntheirs:\n{}",
            text(&self.ours),
            text(&self.theirs)
        )
    }
}

/// Our script fails: we go to FAULT, keepalived takes over (VIP and GARPs from its host);
/// the script recovers and we take the VIP back.
#[test]
fn interop_our_script_fails_keepalived_takes_over() {
    let Some(s) = setup("interop_our_script_fails_keepalived_takes_over", true) else {
        return;
    };
    let lab = &s.lab;
    assert!(
        wait_for(SHORT, || text(&s.theirs).contains("Entering BACKUP STATE")),
        "{}",
        s.show()
    );
    let t0 = Instant::now();
    std::fs::write(&s.flag, "").unwrap();
    let ok = wait_for(SHORT, || {
        text(&s.ours).contains("(VI_1) Entering FAULT STATE")
            && text(&s.theirs).contains("Entering MASTER STATE")
            && lab.has_address(1, VIP)
            && !lab.has_address(0, VIP)
    });
    assert!(ok, "keepalived did not take over\n{}", s.show());
    assert!(
        wait_for(SHORT, || garps_from(&s.cap, mac(lab, 1), t0) >= 1),
        "no GARP from keepalived's host\n{}",
        s.show()
    );
    assert_eq!(
        garps_from(&s.cap, mac(lab, 0), t0),
        0,
        "a GARP from the FAULT side\n{}",
        s.show()
    );
    // Recovery: we preempt keepalived again.
    let t1 = Instant::now();
    std::fs::remove_file(&s.flag).unwrap();
    let ok = wait_for(SHORT, || {
        lab.has_address(0, VIP)
            && !lab.has_address(1, VIP)
            && text(&s.ours)
                .matches("(VI_1) Entering MASTER STATE")
                .count()
                >= 2
    });
    assert!(ok, "we did not take the VIP back\n{}", s.show());
    assert!(
        wait_for(SHORT, || garps_from(&s.cap, mac(lab, 0), t1) >= 1),
        "no GARP from our host\n{}",
        s.show()
    );
}

/// keepalived's script fails: it goes to FAULT, we take over (VIP and GARPs from our host).
#[test]
fn interop_keepalived_script_fails_we_take_over() {
    let Some(s) = setup("interop_keepalived_script_fails_we_take_over", false) else {
        return;
    };
    let lab = &s.lab;
    assert!(
        wait_for(SHORT, || text(&s.ours)
            .contains("(VI_1) Entering BACKUP STATE")),
        "{}",
        s.show()
    );
    let t0 = Instant::now();
    std::fs::write(&s.flag, "").unwrap();
    let ok = wait_for(SHORT, || {
        text(&s.theirs).contains("Entering FAULT STATE")
            && text(&s.ours).contains("(VI_1) Entering MASTER STATE")
            && lab.has_address(0, VIP)
            && !lab.has_address(1, VIP)
    });
    assert!(ok, "we did not take over\n{}", s.show());
    assert!(
        wait_for(SHORT, || garps_from(&s.cap, mac(lab, 0), t0) >= 1),
        "no GARP from our host\n{}",
        s.show()
    );
    assert_eq!(
        garps_from(&s.cap, mac(lab, 1), t0),
        0,
        "a GARP from the FAULT side\n{}",
        s.show()
    );
    // keepalived's script recovers: it preempts us and we release the VIP.
    std::fs::remove_file(&s.flag).unwrap();
    let ok = wait_for(SHORT, || {
        lab.has_address(1, VIP)
            && !lab.has_address(0, VIP)
            && text(&s.ours)
                .matches("(VI_1) Entering BACKUP STATE")
                .count()
                >= 2
    });
    assert!(ok, "keepalived did not take the VIP back\n{}", s.show());
}
