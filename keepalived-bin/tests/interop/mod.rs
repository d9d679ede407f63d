//! The shared harness of the interop proof (`netns_interop*.rs`): two routers and a client in a
//! network-namespace lab, each router either our `keepalived` binary or Debian's keepalived
//! 2.2.7, both fed the same keepalived.conf.
//!
//! Every case runs three pairs side by side, each in its own lab, in the same test: keepalived
//! and keepalived (the reference), ours master with keepalived backup, and keepalived master
//! with ours backup. Host 0 is router A (priority 200, the master), host 1 router B (priority
//! 100, the backup), host 2 the client (it pings the VIP and watches GARPs/NAs). Failover times
//! are measured on the wire from B's capture (kernel timestamps): the last advert of A to the
//! first advert of B.

#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::fmt::Write as _;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use vrrp_engine::testlab::{
    Capture, Lab, ethernet_source, find_tool, garp_in_frame, na_in_frame, run, vrrp_in_frame,
    wait_for,
};

/// Which implementation runs on a router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Impl {
    /// Our `keepalived`.
    Ours,
    /// Debian's keepalived 2.2.7.
    Theirs,
}

/// Router A's and router B's implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    pub(crate) a: Impl,
    pub(crate) b: Impl,
}

/// The reference (keepalived to keepalived) and both ways round with ours.
pub(crate) const PAIRS: [Pair; 3] = [
    Pair {
        a: Impl::Theirs,
        b: Impl::Theirs,
    },
    Pair {
        a: Impl::Ours,
        b: Impl::Theirs,
    },
    Pair {
        a: Impl::Theirs,
        b: Impl::Ours,
    },
];

pub(crate) const A: usize = 0;
pub(crate) const B: usize = 1;
pub(crate) const CLIENT: usize = 2;
pub(crate) const PRIO_A: u8 = 200;
pub(crate) const PRIO_B: u8 = 100;
pub(crate) const VRID: u8 = 51;

/// What a test case configures (the same file for both implementations).
#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // independent features of one table-driven case
pub(crate) struct Case {
    /// 2 or 3.
    pub(crate) version: u8,
    /// `advert_int` in milliseconds.
    pub(crate) advert_ms: u64,
    pub(crate) ipv6: bool,
    /// `(auth_type, auth_pass)`.
    pub(crate) auth: Option<(&'static str, &'static str)>,
    pub(crate) unicast: bool,
    /// A second instance (VRID 52) and a sync group of both.
    pub(crate) sync_group: bool,
    /// `track_interface { trk0 }` (an extra interface in both routers).
    pub(crate) track: bool,
    /// How many times the failovers are measured (the medians are compared).
    pub(crate) cycles: usize,
}

impl Case {
    pub(crate) fn v2() -> Case {
        Case {
            version: 2,
            advert_ms: 1000,
            ipv6: false,
            auth: None,
            unicast: false,
            sync_group: false,
            track: false,
            cycles: 1,
        }
    }

    pub(crate) fn v3(advert_ms: u64) -> Case {
        Case {
            version: 3,
            advert_ms,
            // Short intervals on a loaded machine: compare medians of 5.
            cycles: 5,
            ..Case::v2()
        }
    }

    /// The VIP of instance `n` (0 or 1).
    pub(crate) fn vip(&self, n: u8) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(format!("fd99::1{n}0").parse().unwrap())
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100 + n))
        }
    }

    /// The advert interval.
    pub(crate) fn advert(&self) -> Duration {
        Duration::from_millis(self.advert_ms)
    }

    /// A patient deadline for an event that takes a few advert intervals. Generous: with other
    /// tests creating and deleting namespaces, netlink requests (adding a VIP) can wait seconds
    /// for the kernel's rtnl lock; a deadline only costs time when a test fails.
    pub(crate) fn deadline(&self) -> Duration {
        Duration::from_secs(10) + self.advert() * 6
    }

    /// B's skew time (RFC 3768 6.1 / RFC 5798 6.1, keepalived-behaviour.md 4.1).
    pub(crate) fn skew(&self) -> Duration {
        let base = if self.version == 2 {
            Duration::from_secs(1)
        } else {
            self.advert()
        };
        base * u32::from(255 - PRIO_B + 1) / 256
    }

    /// The crash failover time B should show: `Master_Down_Interval`.
    pub(crate) fn expected_crash(&self) -> Duration {
        self.advert() * 3 + self.skew()
    }

    /// `advert_int` as written in the file: whole seconds, or seconds with milliseconds.
    pub(crate) fn advert_text(&self) -> String {
        let (secs, ms) = (self.advert_ms / 1000, self.advert_ms % 1000);
        if ms == 0 {
            secs.to_string()
        } else {
            format!("{secs}.{ms:03}")
        }
    }

    /// The keepalived.conf of router `host` (A or B); `backup_nopreempt` starts A as a
    /// non-preempting backup (a restart after a crash).
    pub(crate) fn conf(
        &self,
        lab: &Lab,
        host: usize,
        backup_nopreempt: bool,
        extra: &str,
    ) -> String {
        let (prio, state) = match (host, backup_nopreempt) {
            (A, false) => (PRIO_A, "MASTER"),
            (A, true) => (PRIO_A, "BACKUP\n  nopreempt"),
            _ => (PRIO_B, "BACKUP"),
        };
        let adv = self.advert_text();
        let mut s = format!(
            "global_defs {{\n  router_id kars_interop_h{host}\n  vrrp_garp_master_delay 0\n}}\n"
        );
        if self.sync_group {
            s.push_str("vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}\n");
        }
        let instances = if self.sync_group { 2 } else { 1 };
        for n in 0..instances {
            let _ = write!(
                s,
                "vrrp_instance VI_{} {{\n  state {state}\n  interface eth0\n  \
                 virtual_router_id {}\n  priority {prio}\n  advert_int {adv}\n  version {}\n",
                n + 1,
                VRID + n,
                self.version
            );
            if let Some((kind, pass)) = self.auth {
                let _ = write!(
                    s,
                    "  authentication {{\n    auth_type {kind}\n    auth_pass {pass}\n  }}\n"
                );
            }
            if self.unicast {
                let other = if host == A { B } else { A };
                let _ = write!(
                    s,
                    "  unicast_src_ip {}\n  unicast_peer {{\n    {}\n  }}\n",
                    lab.host(host).ipv4,
                    lab.host(other).ipv4
                );
            }
            if self.track {
                s.push_str("  track_interface {\n    trk0\n  }\n");
            }
            let len = if self.ipv6 { 64 } else { 24 };
            let _ = write!(
                s,
                "  virtual_ipaddress {{\n    {}/{len} dev eth0\n  }}\n",
                self.vip(n)
            );
            s.push_str(extra);
            s.push_str("}\n");
        }
        s
    }

    /// The source address of router `host`'s adverts.
    pub(crate) fn source(&self, lab: &Lab, host: usize) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(lab.link_local(host).unwrap())
        } else {
            IpAddr::V4(lab.host(host).ipv4)
        }
    }
}

/// One router: successive runs of one implementation in one host.
pub(crate) struct Router<'l> {
    lab: &'l Lab,
    pub(crate) host: usize,
    pub(crate) kind: Impl,
    runs: u32,
    pub(crate) pid: Option<u32>,
    conf: PathBuf,
    log: PathBuf,
}

impl<'l> Router<'l> {
    pub(crate) fn new(lab: &'l Lab, host: usize, kind: Impl) -> Router<'l> {
        Router {
            lab,
            host,
            kind,
            runs: 0,
            pid: None,
            conf: PathBuf::new(),
            log: PathBuf::new(),
        }
    }

    fn file(&self, ext: &str) -> PathBuf {
        self.lab.dir().join(format!("h{}.{ext}", self.host))
    }

    /// Starts a new run with `text` as its configuration (`-n -l -D -P`, VRRP only). The
    /// pidfiles (and so our journal) stay the same across runs.
    pub(crate) fn start(&mut self, text: &str) {
        assert!(self.pid.is_none(), "{:?} already running", self.kind);
        self.runs += 1;
        self.conf = self.file(&format!("{}.conf", self.runs));
        self.log = self.file(&format!("{}.log", self.runs));
        std::fs::write(&self.conf, text).unwrap();
        let out = File::create(&self.log).unwrap();
        let bin = match self.kind {
            Impl::Ours => PathBuf::from(env!("CARGO_BIN_EXE_keepalived")),
            Impl::Theirs => find_tool("keepalived").expect("keepalived installed"),
        };
        let mut cmd = self.lab.command(self.host, bin);
        cmd.args(["-n", "-l", "-D", "-P", "-f"])
            .arg(&self.conf)
            .arg("-p")
            .arg(self.file("pid"))
            .arg("-r")
            .arg(self.file("vrrp.pid"))
            .arg("-c")
            .arg(self.file("check.pid"))
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        self.pid = Some(self.lab.spawn_process(cmd).unwrap());
    }

    /// The configuration file of the current run (rewritten before a reload).
    pub(crate) fn conf_path(&self) -> PathBuf {
        self.conf.clone()
    }

    pub(crate) fn name(&self) -> String {
        let who = match self.kind {
            Impl::Ours => "ours",
            Impl::Theirs => "keepalived",
        };
        format!("{who} in h{} (run {})", self.host, self.runs)
    }

    /// The log of the current run.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The states instance `name` entered in the current run, in order ("MASTER", ...). Both
    /// implementations log `(NAME) Entering <STATE> STATE`.
    pub(crate) fn states(&self, name: &str) -> Vec<String> {
        let needle = format!("({name}) Entering ");
        self.log()
            .lines()
            .filter_map(|l| {
                let rest = &l[l.find(&needle)? + needle.len()..];
                Some(rest.split_whitespace().next()?.to_owned())
            })
            .collect()
    }

    /// The last state instance `name` entered.
    pub(crate) fn state(&self, name: &str) -> Option<String> {
        self.states(name).pop()
    }

    /// Waits until instance `name` is in `state` (by the log).
    pub(crate) fn wait_state(&self, name: &str, state: &str, timeout: Duration) {
        assert!(
            wait_for(timeout, || self.state(name).as_deref() == Some(state)),
            "{}: ({name}) not {state} in time; log:\n{}",
            self.name(),
            self.log()
        );
    }

    /// Orderly stop: `SIGTERM` to the main process, wait for the exit.
    pub(crate) fn stop(&mut self) {
        let pid = self.pid.take().expect("running");
        self.lab.terminate(pid).unwrap();
        assert!(
            self.lab.wait_exit(pid, Duration::from_secs(15)).unwrap(),
            "{}: no exit after SIGTERM; log:\n{}",
            self.name(),
            self.log()
        );
    }

    /// kill -9 of the whole daemon (every process in the router's namespace).
    pub(crate) fn crash(&mut self) {
        self.pid.take().expect("running");
        let killed = self.lab.kill_all_in(self.host).unwrap();
        assert!(!killed.is_empty());
    }

    /// `SIGHUP` to the main process.
    pub(crate) fn hup(&self) {
        let pid = self.pid.expect("running");
        run("kill", &["-HUP", &pid.to_string()]).unwrap();
    }
}

/// A continuous ping of `addr` from the client (traffic for the VIP, and what keeps the
/// client's neighbour entry for it); the lab stops it.
pub(crate) fn start_client_ping(lab: &Lab, addr: IpAddr) {
    let mut cmd = lab.command(CLIENT, "ping");
    cmd.args(["-n", "-q", "-i", "0.02", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    lab.spawn_process(cmd).unwrap();
}

/// The adverts (time, source, priority) of `vrid` in a capture.
pub(crate) fn adverts(cap: &Capture, vrid: u8) -> Vec<(Instant, IpAddr, u8)> {
    cap.frames()
        .iter()
        .filter_map(|(t, f)| {
            let (src, v, prio) = vrrp_in_frame(f)?;
            (v == vrid).then_some((*t, src, prio))
        })
        .collect()
}

/// How many adverts from `src` with `prio` (any when `None`) `cap` holds after `since`.
pub(crate) fn count_adverts(cap: &Capture, src: IpAddr, prio: Option<u8>, since: Instant) -> usize {
    adverts(cap, VRID)
        .iter()
        .filter(|(t, s, p)| *t >= since && *s == src && prio.is_none_or(|x| x == *p))
        .count()
}

/// The failover time on the wire: from the last advert of `old` to the first advert of `new`
/// (with a non-zero priority) sent after `since`, over the adverts of `vrids` (all members of
/// a sync group: the group fails over as one, when its last member's timer expires).
pub(crate) fn failover_time(
    cap: &Capture,
    vrids: &[u8],
    old: IpAddr,
    new: IpAddr,
    since: Instant,
) -> Option<Duration> {
    let ads: Vec<_> = vrids.iter().flat_map(|v| adverts(cap, *v)).collect();
    let first_new = ads
        .iter()
        .filter(|(t, s, p)| *t >= since && *s == new && *p > 0)
        .map(|(t, _, _)| *t)
        .min()?;
    let last_old = ads
        .iter()
        .filter(|(t, s, _)| *t <= first_new && *s == old)
        .map(|(t, _, _)| *t)
        .max()?;
    Some(first_new.duration_since(last_old))
}

/// Waits for `new` to have sent its first advert after `since`, then measures the failover.
pub(crate) fn measure(
    cap: &Capture,
    vrids: &[u8],
    old: IpAddr,
    new: IpAddr,
    since: Instant,
    timeout: Duration,
) -> Duration {
    let mut got = None;
    assert!(
        wait_for(timeout, || {
            got = failover_time(cap, vrids, old, new, since);
            got.is_some()
        }),
        "no advert from {new} after the failover"
    );
    got.unwrap()
}

/// Whether the client saw a gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `vip` from
/// `mac` after `since`.
pub(crate) fn announced(cap: &Capture, vip: IpAddr, mac: [u8; 6], since: Instant) -> bool {
    cap.frames().iter().any(|(t, f)| {
        *t >= since
            && ethernet_source(f) == Some(mac)
            && match vip {
                IpAddr::V4(v4) => garp_in_frame(f) == Some(v4),
                IpAddr::V6(v6) => na_in_frame(f) == Some(v6),
            }
    })
}

/// Waits for [`announced`].
pub(crate) fn wait_announced(cap: &Capture, vip: IpAddr, mac: [u8; 6], since: Instant, who: &str) {
    assert!(
        wait_for(Duration::from_secs(10), || announced(cap, vip, mac, since)),
        "{who}: no GARP/NA for {vip} on the wire"
    );
}

/// The median of some durations.
pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    assert!(!v.is_empty());
    v.sort();
    v[v.len() / 2]
}

/// Asserts the issue's bound: `ours` within 10% + 5 ms of keepalived's `reference`. Being
/// faster than keepalived's own timer slack is no fault, so below the reference the bound is
/// taken from the protocol's `expected` time when that is lower.
pub(crate) fn assert_close(what: &str, ours: Duration, reference: Duration, expected: Duration) {
    let slack = reference / 10 + Duration::from_millis(5);
    let low = reference.min(expected).saturating_sub(slack);
    assert!(
        ours <= reference + slack && ours >= low,
        "{what}: {ours:?} vs keepalived-to-keepalived {reference:?} (allowed {low:?}..={:?})",
        reference + slack
    );
}

/// Runs `scenario` for the three pairs at once, each in its own lab and thread, and returns
/// its results in [`PAIRS`] order. A failing pair fails the test (with its panic message).
pub(crate) fn run_pairs<T: Send>(scenario: impl Fn(Pair) -> T + Sync) -> Vec<T> {
    let scenario = &scenario;
    std::thread::scope(|s| {
        let handles: Vec<_> = PAIRS
            .iter()
            .map(|&pair| s.spawn(move || scenario(pair)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Failover times of one pair: graceful (SIGTERM of A) and crash (kill -9 of A).
#[derive(Clone, Debug, Default)]
pub(crate) struct Timings {
    pub(crate) graceful: Vec<Duration>,
    pub(crate) crash: Vec<Duration>,
}

/// Compares the pairs' medians with the reference (index 0) and prints them.
pub(crate) fn compare(case: &Case, label: &str, results: &[Timings]) {
    for (pair, t) in PAIRS.iter().zip(results) {
        eprintln!(
            "{label} {pair:?}: graceful {:?} crash {:?} (expected crash {:?}, skew {:?})",
            t.graceful,
            t.crash,
            case.expected_crash(),
            case.skew()
        );
    }
    let reference = &results[0];
    for (pair, t) in PAIRS.iter().zip(results).skip(1) {
        if !t.graceful.is_empty() {
            assert_close(
                &format!("{label} {pair:?} graceful failover"),
                median(t.graceful.clone()),
                median(reference.graceful.clone()),
                case.skew(),
            );
        }
        if !t.crash.is_empty() {
            assert_close(
                &format!("{label} {pair:?} crash failover"),
                median(t.crash.clone()),
                median(reference.crash.clone()),
                case.expected_crash(),
            );
        }
    }
}

/// A lab with the routers' tracked dummy interface when the case needs one.
pub(crate) fn lab_for(case: &Case) -> Lab {
    let lab = Lab::new(3).unwrap();
    if case.track {
        for h in [A, B] {
            // A veth pair (the dummy driver may be missing); trk0 is the tracked end.
            lab.ip(
                h,
                &[
                    "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
                ],
            )
            .unwrap();
            lab.ip(h, &["link", "set", "trk1", "up"]).unwrap();
            lab.ip(h, &["link", "set", "trk0", "up"]).unwrap();
        }
    }
    lab
}

/// The wiring of one pair's lab: routers, captures (B for advert timing, the client for
/// GARP/NA), MACs and advert sources.
pub(crate) struct Bench<'l> {
    pub(crate) lab: &'l Lab,
    pub(crate) case: Case,
    pub(crate) a: Router<'l>,
    pub(crate) b: Router<'l>,
    pub(crate) cap_b: Capture,
    pub(crate) cap_client: Capture,
    pub(crate) src_a: IpAddr,
    pub(crate) src_b: IpAddr,
    pub(crate) mac_a: [u8; 6],
    pub(crate) mac_b: [u8; 6],
}

impl<'l> Bench<'l> {
    pub(crate) fn new(lab: &'l Lab, case: &Case, pair: Pair) -> Bench<'l> {
        Bench {
            lab,
            case: case.clone(),
            a: Router::new(lab, A, pair.a),
            b: Router::new(lab, B, pair.b),
            cap_b: Capture::start(lab, B).unwrap(),
            cap_client: Capture::start(lab, CLIENT).unwrap(),
            src_a: case.source(lab, A),
            src_b: case.source(lab, B),
            mac_a: lab.mac(A).unwrap(),
            mac_b: lab.mac(B).unwrap(),
        }
    }

    pub(crate) fn vip(&self) -> IpAddr {
        self.case.vip(0)
    }

    /// The instances of the case.
    pub(crate) fn instances(&self) -> Vec<(&'static str, IpAddr)> {
        let mut v = vec![("VI_1", self.case.vip(0))];
        if self.case.sync_group {
            v.push(("VI_2", self.case.vip(1)));
        }
        v
    }

    /// The starting point of every scenario: the client pings the VIP, A is master, B backup,
    /// stably (4 adverts: longer than B's `Master_Down_Interval`, so B must be hearing A).
    pub(crate) fn establish(&mut self) {
        start_client_ping(self.lab, self.case.vip(0));
        self.start_a();
        self.start_b();
        self.assert_a_master(4);
    }

    /// Starts A as master (`state MASTER`); waits for it to own the VIP(s).
    pub(crate) fn start_a(&mut self) {
        let since = Instant::now();
        let conf = self.case.conf(self.lab, A, false, "");
        self.a.start(&conf);
        for (name, vip) in self.instances() {
            self.a.wait_state(name, "MASTER", self.case.deadline());
            assert!(
                wait_for(self.case.deadline(), || self.lab.has_address(A, vip)),
                "{}: {vip} not on A",
                self.a.name()
            );
            wait_announced(&self.cap_client, vip, self.mac_a, since, &self.a.name());
        }
    }

    /// Starts B as backup and waits for it to say so.
    pub(crate) fn start_b(&mut self) {
        let conf = self.case.conf(self.lab, B, false, "");
        self.b.start(&conf);
        for (name, _) in self.instances() {
            self.b.wait_state(name, "BACKUP", self.case.deadline());
        }
    }

    /// A is master and B backup, stably: A keeps advertising (`count` more adverts), B stays silent
    /// and VIP-less, both logs agree.
    pub(crate) fn assert_a_master(&self, count: usize) {
        let since = Instant::now();
        assert!(
            wait_for(self.case.deadline(), || count_adverts(
                &self.cap_b,
                self.src_a,
                Some(PRIO_A),
                since
            ) >= count),
            "A stopped advertising; A:\n{}\nB:\n{}",
            self.a.log(),
            self.b.log()
        );
        assert_eq!(
            count_adverts(&self.cap_b, self.src_b, None, since),
            0,
            "B advertised while A is master; adverts B saw (ms ago, source, priority): {:?}\n\
             A:\n{}\nB:\n{}",
            adverts(&self.cap_b, VRID)
                .iter()
                .rev()
                .take(60)
                .map(|(t, s, p)| (t.elapsed().as_millis(), *s, *p))
                .collect::<Vec<_>>(),
            self.a.log(),
            self.b.log()
        );
        for (name, vip) in self.instances() {
            assert_eq!(
                self.a.state(name).as_deref(),
                Some("MASTER"),
                "{}",
                self.a.log()
            );
            assert_eq!(
                self.b.state(name).as_deref(),
                Some("BACKUP"),
                "{}",
                self.b.log()
            );
            assert!(self.lab.has_address(A, vip), "{vip} not on A");
            assert!(!self.lab.has_address(B, vip), "{vip} on backup B");
        }
    }

    /// B took over after `since`: its log, the VIP(s), the announcements on the wire.
    pub(crate) fn assert_b_took_over(&self, since: Instant) {
        for (name, vip) in self.instances() {
            self.b.wait_state(name, "MASTER", self.case.deadline());
            assert!(
                wait_for(self.case.deadline(), || self.lab.has_address(B, vip)),
                "{vip} not on B"
            );
            wait_announced(&self.cap_client, vip, self.mac_b, since, &self.b.name());
        }
    }

    /// Measures B's takeover after `since` (A's last advert to B's first).
    pub(crate) fn measure(&self, since: Instant) -> Duration {
        let vrids: Vec<u8> = (0..self.instances().len())
            .map(|n| VRID + u8::try_from(n).unwrap())
            .collect();
        measure(
            &self.cap_b,
            &vrids,
            self.src_a,
            self.src_b,
            since,
            self.case.deadline(),
        )
    }

    /// Restarts A as master: it preempts B, which goes back to backup and drops the VIP(s).
    pub(crate) fn restart_a_preempting(&mut self) {
        self.start_a();
        for (name, vip) in self.instances() {
            self.b.wait_state(name, "BACKUP", self.case.deadline());
            assert!(
                wait_for(self.case.deadline(), || !self.lab.has_address(B, vip)),
                "{vip} left on B after A preempted; B:\n{}",
                self.b.log()
            );
        }
    }

    /// Graceful failover: SIGTERM to A (priority 0 advert, VIPs removed), B takes over.
    pub(crate) fn graceful_failover(&mut self) -> Duration {
        let since = Instant::now();
        self.a.stop();
        for (_, vip) in self.instances() {
            assert!(
                !self.lab.has_address(A, vip),
                "{vip} left by an orderly stop"
            );
        }
        assert!(
            wait_for(Duration::from_secs(5), || count_adverts(
                &self.cap_b,
                self.src_a,
                Some(0),
                since
            ) >= 1),
            "no priority-0 advert from A on SIGTERM"
        );
        self.assert_b_took_over(since);
        self.measure(since)
    }

    /// Crash failover: kill -9 of A's whole daemon; B takes over after `Master_Down_Interval`.
    pub(crate) fn crash_failover(&mut self) -> Duration {
        let since = Instant::now();
        self.a.crash();
        self.assert_b_took_over(since);
        self.measure(since)
    }

    /// After a crash of A, A restarts as a non-preempting backup: it must not keep the stale
    /// VIP(s) the dead run left, and B stays master.
    pub(crate) fn restart_a_after_crash(&mut self) {
        let conf = self.case.conf(self.lab, A, true, "");
        self.a.start(&conf);
        for (name, vip) in self.instances() {
            self.a.wait_state(name, "BACKUP", self.case.deadline());
            assert!(
                wait_for(self.case.deadline(), || !self.lab.has_address(A, vip)),
                "{}: stale {vip} after the restart; log:\n{}",
                self.a.name(),
                self.a.log()
            );
        }
        // Some adverts later: still backup, still no VIP, B still master.
        let since = Instant::now();
        assert!(wait_for(self.case.deadline(), || count_adverts(
            &self.cap_b,
            self.src_b,
            Some(PRIO_B),
            since
        ) >= 2));
        for (name, vip) in self.instances() {
            assert_eq!(self.a.states(name), ["BACKUP"], "{}", self.a.log());
            assert_eq!(self.b.state(name).as_deref(), Some("MASTER"));
            assert!(!self.lab.has_address(A, vip) && self.lab.has_address(B, vip));
        }
    }

    /// Orderly stop of both; nothing left behind.
    pub(crate) fn finish(&mut self) {
        for r in [&mut self.a, &mut self.b] {
            if r.pid.is_some() {
                r.stop();
            }
        }
        for (_, vip) in self.instances() {
            assert!(!self.lab.has_address(A, vip) && !self.lab.has_address(B, vip));
        }
    }
}

/// The standard scenario: A master, B backup; then `case.cycles` times a graceful failover
/// (SIGTERM) and a crash failover (kill -9 of the whole daemon), A preempting back in between;
/// finally A restarts after the crash without preemption and must not keep a stale VIP.
pub(crate) fn failovers(case: &Case, pair: Pair) -> Timings {
    let lab = lab_for(case);
    let mut bench = Bench::new(&lab, case, pair);
    bench.establish();
    let mut t = Timings::default();
    for cycle in 0..case.cycles {
        if cycle > 0 {
            bench.restart_a_preempting();
        }
        t.graceful.push(bench.graceful_failover());
        bench.restart_a_preempting();
        bench.assert_a_master(1);
        t.crash.push(bench.crash_failover());
    }
    bench.restart_a_after_crash();
    bench.finish();
    t
}

/// Skips the test (printing why) unless root, iproute2, keepalived and ping are there.
pub(crate) fn privileged(test: &str) -> bool {
    vrrp_engine::testlab::privileged_with(test, &["ip", "bridge", "keepalived", "ping"]).unwrap()
}
