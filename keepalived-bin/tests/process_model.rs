//! keepalived's process model, with our `keepalived` binary in network namespaces: a parent and
//! a VRRP child with their pidfiles, the child respawned after `kill -9` (its journal removes
//! the VIP it left, then it takes the VIP again), `-R`, an orderly stop on `SIGTERM` (priority-0
//! advert on the wire before the VIP goes, both processes and pidfiles gone), `SIGHUP` and the
//! dump signals forwarded, and the start in the background. Needs root and iproute2; without
//! them each test prints "skipped: ..." unless `KARS_PRIVILEGED_TESTS=require`.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use common::{Daemon, Files, SHORT, launch};
use scheduler::Signal;
use vrrp_engine::testlab::{Capture, Lab, privileged, process_alive, run, vrrp_in_frame, wait_for};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100));

/// A `VRRPv3` instance with 0.1 s adverts on the lab's `eth0`.
fn conf(vip: IpAddr) -> String {
    format!(
        "global_defs {{\n  router_id kars_process_test\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  \
         priority 200\n  advert_int 0.1\n  virtual_ipaddress {{\n    {vip}/24 dev eth0\n  }}\n}}\n"
    )
}

/// The pid in a pidfile.
fn pid_in(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, session, ...
fn stat(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|f| f[0] != "Z" && f[0] != "X")
}

/// What these tests ask of a running daemon beyond the shared launcher's.
trait Process {
    /// The running VRRP child, once its pidfile names a live child of the parent.
    fn child(&self) -> u32;
    /// Sends `sig` to the parent.
    fn signal(&self, sig: Signal);
    /// Its `TMPDIR` (where dumps go).
    fn dir(&self) -> PathBuf;
}

impl Process for Daemon {
    fn child(&self) -> u32 {
        let mut child = 0;
        assert!(
            wait_for(SHORT, || {
                pid_in(&self.vrrp_pidfile).is_some_and(|c| {
                    child = c;
                    alive(c) && stat(c).is_some_and(|f| f[1] == self.pid.to_string())
                })
            }),
            "no VRRP child of {}; log:\n{}",
            self.pid,
            self.log()
        );
        child
    }
    fn signal(&self, sig: Signal) {
        sig.send_to(self.pid).unwrap();
    }
    fn dir(&self) -> PathBuf {
        self.conf.with_extension("tmp")
    }
}

/// Starts our `keepalived -n -l -D -P [extra]` in `host`, in a process group of its own, with
/// `TMPDIR` (where dumps go) a directory of its own in the lab's.
fn spawn(lab: &Lab, host: usize, extra: &[&str]) -> Daemon {
    spawn_with(lab, host, &conf(VIP), &[&["-P"], extra].concat())
}

/// Starts our `keepalived -n -l -D [args]` with configuration `text`.
fn spawn_with(lab: &Lab, host: usize, text: &str, extra: &[&str]) -> Daemon {
    let tmp = lab.dir().join(format!("h{host}.tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
    let files = Files {
        stem: &format!("h{host}"),
        pid_stem: &format!("h{host}"),
        tmpdir: Some(&tmp),
        env: &[],
    };
    launch(lab, host, &files, text, extra)
}

/// Starts a daemon on host 0 and waits until it is MASTER with the VIP; returns it and its
/// VRRP child's pid.
fn master(lab: &Lab, extra: &[&str]) -> (Daemon, u32) {
    let d = spawn(lab, 0, extra);
    d.wait_log("(VI_1) Entering MASTER STATE");
    d.wait_until(|| lab.has_address(0, VIP));
    let child = d.child();
    (d, child)
}

/// `ip -ts -o monitor address` in `host`, printing UTC times, into a file; returns once it is
/// known to be listening (it has reported an address added for the purpose).
fn monitor(lab: &Lab, host: usize) -> PathBuf {
    let path = lab.dir().join(format!("h{host}-monitor.log"));
    let out = File::create(&path).unwrap();
    let mut cmd = lab.command(host, "ip");
    cmd.args(["-ts", "-o", "monitor", "address"])
        .env("TZ", "UTC")
        .stdout(out)
        .stderr(Stdio::null());
    lab.spawn_process(cmd).unwrap();
    let probe = "10.99.0.250/32";
    assert!(wait_for(SHORT, || {
        let _ = lab.ip(host, &["addr", "add", probe, "dev", "lo"]);
        let _ = lab.ip(host, &["addr", "del", probe, "dev", "lo"]);
        std::fs::read_to_string(&path).is_ok_and(|t| t.contains("10.99.0.250"))
    }));
    path
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// When the monitor saw `addr` deleted (its `[YYYY-MM-DDTHH:MM:SS.ffffff]` stamp, UTC).
fn deleted_at(monitor: &Path, addr: IpAddr) -> Option<SystemTime> {
    let text = std::fs::read_to_string(monitor).ok()?;
    let line = text
        .lines()
        .find(|l| l.contains("Deleted") && l.contains(&format!(" {addr}/")))?;
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    let (date, time) = stamp.split_once('T')?;
    let d: Vec<i64> = date.split('-').filter_map(|x| x.parse().ok()).collect();
    let (hms, micros) = time.split_once('.')?;
    let t: Vec<u64> = hms.split(':').filter_map(|x| x.parse().ok()).collect();
    let days = u64::try_from(days_from_civil(d[0], d[1], d[2])).ok()?;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    let micros: u64 = micros.parse().ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
}

/// The wall-clock time of a capture's `Instant`.
fn wall(t: Instant) -> SystemTime {
    SystemTime::now() - Instant::now().saturating_duration_since(t)
}

#[test]
fn a_killed_child_is_respawned_and_cleans_up_after_itself() {
    if !privileged("a_killed_child_is_respawned_and_cleans_up_after_itself").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let (d, first) = master(&lab, &[]);
    assert_eq!(pid_in(&d.pidfile), Some(d.pid), "parent pidfile");
    assert_ne!(first, d.pid);
    let mon = monitor(&lab, 0);

    Signal::KILL.send_to(first).unwrap();
    // The parent respawns it; the new child removes the VIP its predecessor left (journal),
    // then becomes MASTER again and puts it back.
    let mut second = 0;
    assert!(
        wait_for(SHORT, || {
            second = pid_in(&d.vrrp_pidfile).unwrap_or(first);
            second != first && alive(second)
        }),
        "{}",
        d.log()
    );
    d.wait_log("was killed by SIGKILL: respawning in 100 ms");
    assert!(
        wait_for(SHORT, || deleted_at(&mon, VIP).is_some()),
        "the stale VIP was not removed:\n{}",
        d.log()
    );
    d.wait_until(|| lab.has_address(0, VIP));
    assert!(alive(d.pid), "the parent went away");
    assert_eq!(pid_in(&d.pidfile), Some(d.pid));
}

#[test]
fn with_dont_respawn_the_parent_stops_when_the_child_dies() {
    if !privileged("with_dont_respawn_the_parent_stops_when_the_child_dies").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let (d, child) = master(&lab, &["-R"]);
    Signal::KILL.send_to(child).unwrap();
    assert!(lab.wait_exit(d.pid, SHORT).unwrap(), "{}", d.log());
    d.wait_log("--dont-respawn");
    assert!(!d.pidfile.exists() && !d.vrrp_pidfile.exists());
}

#[test]
fn a_respawned_child_that_cannot_start_is_retried_until_the_file_is_fixed() {
    if !privileged("a_respawned_child_that_cannot_start_is_retried_until_the_file_is_fixed")
        .unwrap()
    {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let (d, child) = master(&lab, &[]);
    // The file is broken by the time the crashed child is respawned: the new child exits 5
    // (configuration unusable). Stopping would leave the router without VRRP for good, so the
    // parent keeps retrying with its backoff, and the first retry after the fix runs again.
    let good = std::fs::read_to_string(&d.conf).unwrap();
    std::fs::write(&d.conf, "vrrp_instance VI_1 {\n  interface eth0\n").unwrap();
    Signal::KILL.send_to(child).unwrap();
    d.wait_log("it cannot start with the configuration as it is now");
    assert!(process_alive(d.pid), "the parent stopped:\n{}", d.log());
    std::fs::write(&d.conf, good).unwrap();
    // The crashed child left its VIP (kill -9): wait for a child that runs and is MASTER again.
    d.wait_until(|| d.log().matches("(VI_1) Entering MASTER STATE").count() >= 2);
    assert!(lab.has_address(0, VIP));
    assert!(
        d.log().matches("Starting VRRP child").count() >= 3,
        "{}",
        d.log()
    );
    assert!(process_alive(d.pid), "{}", d.log());
}

#[test]
fn sigterm_stops_child_and_parent_in_order() {
    if !privileged("sigterm_stops_child_and_parent_in_order").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let capture = Capture::start(&lab, 1).unwrap();
    let (d, child) = master(&lab, &[]);
    let mon = monitor(&lab, 0);

    d.signal(Signal::TERM);
    assert!(lab.wait_exit(d.pid, SHORT).unwrap(), "{}", d.log());
    assert!(
        wait_for(SHORT, || !alive(child)),
        "the child outlived the parent"
    );
    assert!(!lab.has_address(0, VIP));
    assert!(!d.pidfile.exists() && !d.vrrp_pidfile.exists());
    d.wait_log("Stopping on SIGTERM");

    let release = capture
        .frames()
        .into_iter()
        .find(|(_, f)| {
            vrrp_in_frame(f).is_some_and(|(src, vrid, prio)| {
                src == IpAddr::V4(lab.host(0).ipv4) && vrid == 52 && prio == 0
            })
        })
        .map(|(t, _)| wall(t));
    let release = release.unwrap_or_else(|| panic!("no priority-0 advert:\n{}", d.log()));
    let gone = deleted_at(&mon, VIP).expect("VIP deletion not seen");
    assert!(
        release <= gone,
        "the VIP went before the priority-0 advert ({:?} earlier)",
        release.duration_since(gone).unwrap_or_default()
    );
    // Same clock for both: the deletion follows the advert closely.
    assert!(gone.duration_since(release).unwrap() < Duration::from_secs(1));
}

#[test]
fn sighup_and_dump_signals_are_forwarded() {
    if !privileged("sighup_and_dump_signals_are_forwarded").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let (d, child) = master(&lab, &[]);
    let file = |name: &str| d.dir().join(name);
    let read_json = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(file("keepalived.json")).unwrap()).unwrap()
    };

    d.signal(Signal::USR1);
    d.signal(Signal::USR2);
    d.signal(Signal::json());
    assert!(
        wait_for(SHORT, || [
            "keepalived.data",
            "keepalived.stats",
            "keepalived.json"
        ]
        .iter()
        .all(|n| file(n).exists())),
        "{}",
        d.log()
    );
    let data = std::fs::read_to_string(file("keepalived.data")).unwrap();
    assert!(
        data.contains("Instance VI_1") && data.contains("MASTER"),
        "{data}"
    );
    assert!(data.contains("10.99.0.100/24"), "{data}");
    let stats = std::fs::read_to_string(file("keepalived.stats")).unwrap();
    assert!(
        stats.contains("Instance VI_1") && stats.contains("sent"),
        "{stats}"
    );
    let json = read_json();
    let inst = &json.as_array().unwrap()[0];
    assert_eq!(inst["data"]["iname"], "VI_1");
    assert_eq!(inst["data"]["state"], 2, "MASTER is 2 in keepalived's JSON");
    assert_eq!(inst["data"]["vrid"], 52);
    assert_eq!(inst["data"]["ifp_ifname"], "eth0");
    assert_eq!(inst["data"]["vips"][0], "10.99.0.100/24 dev eth0");
    assert!(inst["stats"]["advert_sent"].as_u64().unwrap() > 0);
    assert_eq!(inst["stats"]["become_master"], 1);

    // SIGHUP reaches the child: the new VIP replaces the old one, in the same process.
    let new_vip = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 101));
    std::fs::write(&d.conf, conf(new_vip)).unwrap();
    d.signal(Signal::HUP);
    assert!(
        wait_for(SHORT, || lab.has_address(0, new_vip)
            && !lab.has_address(0, VIP)),
        "{}",
        d.log()
    );
    assert_eq!(d.child(), child, "a reload is not a respawn");
    std::fs::remove_file(file("keepalived.json")).unwrap();
    d.signal(Signal::json());
    assert!(wait_for(SHORT, || file("keepalived.json").exists()));
    assert_eq!(read_json()[0]["data"]["vips"][0], "10.99.0.101/24 dev eth0");
}

#[test]
fn the_wait_for_a_stuck_child_is_bounded() {
    if !privileged("the_wait_for_a_stuck_child_is_bounded").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let (d, child) = master(&lab, &[]);
    // A child that cannot act on SIGTERM: the parent kills it after 5 s and exits.
    run("kill", &["-STOP", &child.to_string()]).unwrap();
    let asked = Instant::now();
    d.signal(Signal::TERM);
    assert!(lab.wait_exit(d.pid, SHORT + SHORT).unwrap(), "{}", d.log());
    assert!(asked.elapsed() >= Duration::from_secs(5), "did not wait");
    d.wait_log("did not stop within 5 s: killing it");
    assert!(wait_for(SHORT, || !alive(child)));
    assert!(!d.pidfile.exists() && !d.vrrp_pidfile.exists());
    // Killed, it could not remove the VIP; the next start does (journal).
    assert!(lab.has_address(0, VIP));
    let mon = monitor(&lab, 0);
    let again = spawn(&lab, 0, &[]);
    again.wait_until(|| deleted_at(&mon, VIP).is_some());
    again.wait_log("(VI_1) Entering MASTER STATE");
}

#[test]
fn killing_the_parent_alone_stops_the_child_in_order() {
    if !privileged("killing_the_parent_alone_stops_the_child_in_order").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    // Without -P, a virtual_server block gets a clear warning: nothing acts on it yet.
    let text = format!("{}virtual_server 10.99.0.100 80 {{\n}}\n", conf(VIP));
    let d = spawn_with(&lab, 0, &text, &[]);
    d.wait_log("virtual_server block(s) are NOT acted on");
    d.wait_log("(VI_1) Entering MASTER STATE");
    assert!(wait_for(SHORT, || lab.has_address(0, VIP)));
    let child = d.child();
    // kill -9 of the parent only: the kernel sends the child SIGTERM (PR_SET_PDEATHSIG), which
    // releases the VIP as an orderly stop does, instead of running on unsupervised.
    Signal::KILL.send_to(d.pid).unwrap();
    assert!(lab.wait_exit(d.pid, SHORT).unwrap());
    d.wait_until(|| !alive(child));
    assert!(!lab.has_address(0, VIP), "{}", d.log());
    assert!(!d.vrrp_pidfile.exists());
    d.wait_log("Stopped");
    // The parent's pidfile is stale now; the next start ignores and replaces it.
    assert!(d.pidfile.exists());
    let again = spawn(&lab, 0, &[]);
    again.wait_log("(VI_1) Entering MASTER STATE");
    assert_eq!(pid_in(&again.pidfile), Some(again.pid));
}

/// Kills what a background daemon left if the test fails half-way.
struct Reaper(Vec<PathBuf>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for p in &self.0 {
            if let Some(pid) = pid_in(p).filter(|p| alive(*p)) {
                let _ = Signal::KILL.send_to(pid);
            }
        }
    }
}

#[test]
fn without_dont_fork_it_goes_to_the_background() {
    if !privileged("without_dont_fork_it_goes_to_the_background").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let dir = lab.dir().to_path_buf();
    let (pidfile, vrrp_pidfile) = (dir.join("bg.pid"), dir.join("bg.vrrp.pid"));
    let _reaper = Reaper(vec![vrrp_pidfile.clone(), pidfile.clone()]);
    std::fs::write(dir.join("bg.conf"), conf(VIP)).unwrap();
    let mut launcher = lab
        .command(0, env!("CARGO_BIN_EXE_keepalived"))
        .args(["-P", "-D", "-G", "-f"])
        .arg(dir.join("bg.conf"))
        .arg("-p")
        .arg(&pidfile)
        .arg("-r")
        .arg(&vrrp_pidfile)
        .arg(format!("--log-file={}", dir.join("bg.log").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = None;
    assert!(wait_for(SHORT, || {
        status = launcher.try_wait().unwrap();
        status.is_some()
    }));
    assert!(status.unwrap().success());
    // The pidfile exists as soon as the command returns, and names the daemon.
    let daemon = pid_in(&pidfile).expect("no pidfile when the launcher returned");
    assert_ne!(daemon, launcher.id());
    let fields = stat(daemon).unwrap();
    assert_eq!(fields[3], daemon.to_string(), "not a session leader");
    assert_eq!(
        std::fs::read_link(format!("/proc/{daemon}/cwd")).unwrap(),
        Path::new("/")
    );
    let log = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert!(
        wait_for(SHORT, || lab.has_address(0, VIP)),
        "{}",
        log("bg_vrrp.log")
    );
    assert!(log("bg.log").contains("Starting keepalived-rs"));
    // The VIP may be seen a moment before the state change is logged.
    assert!(wait_for(SHORT, || log("bg_vrrp.log")
        .contains("(VI_1) Entering MASTER STATE")));
    let child = pid_in(&vrrp_pidfile).unwrap();
    assert_eq!(stat(child).unwrap()[1], daemon.to_string());

    Signal::TERM.send_to(daemon).unwrap();
    assert!(wait_for(SHORT, || !alive(daemon) && !alive(child)));
    assert!(!lab.has_address(0, VIP));
    assert!(!pidfile.exists() && !vrrp_pidfile.exists());
}

/// `VmLck` of `/proc/PID/status`, in kB.
fn locked_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn vrrp_no_swap_locks_the_vrrp_child_memory_only() {
    if !privileged("vrrp_no_swap_locks_the_vrrp_child_memory_only").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    // Host 0 without the keyword, host 1 with it.
    let plain = spawn(&lab, 0, &[]);
    let text = conf(VIP).replacen("global_defs {\n", "global_defs {\n  vrrp_no_swap\n", 1);
    let locked = spawn_with(&lab, 1, &text, &["-P"]);
    for d in [&plain, &locked] {
        d.wait_log("(VI_1) Entering");
    }
    let (plain_child, locked_child) = (plain.child(), locked.child());
    // mlockall(MCL_CURRENT) locks every mapped page: the program, libc, heap and stacks.
    assert!(
        wait_for(SHORT, || locked_kb(locked_child) >= 1024),
        "VmLck {} kB; log:\n{}",
        locked_kb(locked_child),
        locked.log()
    );
    assert!(!locked.log().contains("vrrp_no_swap:"), "{}", locked.log());
    assert_eq!(locked_kb(locked.pid), 0, "the parent is not locked");
    assert_eq!(locked_kb(plain_child), 0, "locked without vrrp_no_swap");
}
