//! `vrrp_script` and `track_file` trackers run by the Linux driver, with real packets between
//! network namespaces (needs root; see `vrrp_engine::testlab`): a failing script puts the
//! master in FAULT or lowers its priority and the backup takes over; it comes back after
//! `rise` successes; a hung script is killed at its timeout; a `track_file` value moves the
//! priority.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_engine::config::{FileTracker, ScriptTracker};
use vrrp_engine::testlab::{
    Capture, DriverThread, Lab, privileged, process_alive, vrrp_in_frame, wait_for,
};
use vrrp_engine::{
    AdvertInterval, Centiseconds, EngineConfig, InstanceConfig, InterfaceId, State, TrackBinding,
    TrackerConfig, TrackerId, TrackerKind, TrackerStatus, VirtualAddress,
};

#[path = "common/recorder.rs"]
mod recorder;
use recorder::Recorder;

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100));

/// VRRPv3 at 100 ms, one VIP, tracking `tracker` with `weight`.
fn config(
    priority: u8,
    src: IpAddr,
    ifc: InterfaceId,
    tracker: Option<(TrackerKind, i32)>,
) -> EngineConfig {
    let mut vi = InstanceConfig::new("VI_1", ifc, 51, priority, src);
    vi.advert_interval = AdvertInterval::V3(Centiseconds::new(10).unwrap());
    vi.virtual_addresses = vec![VirtualAddress::host(VIP)].into();
    vi.garp.master_delay = None;
    let mut trackers = Vec::new();
    if let Some((kind, weight)) = tracker {
        let initial = match kind {
            TrackerKind::File(_) => TrackerStatus::Value(0),
            _ => TrackerStatus::Up,
        };
        trackers.push(TrackerConfig {
            name: "chk".into(),
            kind,
            initial,
        });
        vi.track = vec![TrackBinding {
            tracker: TrackerId(0),
            weight,
            reverse: false,
        }]
        .into();
    }
    EngineConfig {
        instances: vec![vi],
        trackers,
        log_interval: Duration::from_secs(1),
        ..Default::default()
    }
}

/// A script that fails while `flag` exists, run every 200 ms.
fn flag_script(flag: &Path, rise: u32, fall: u32) -> TrackerKind {
    let mut s = ScriptTracker::new(vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("test ! -e '{}'", flag.display()),
    ]);
    s.interval = Duration::from_millis(200);
    s.timeout = Duration::from_secs(2);
    s.rise = rise;
    s.fall = fall;
    TrackerKind::Script(s)
}

struct Pair {
    r1: Recorder,
    r2: Recorder,
    _d1: DriverThread,
    _d2: DriverThread,
}

/// Waits until `r`'s last notified state is `state`.
fn wait_state(r: &Recorder, state: State) -> bool {
    wait_for(Duration::from_secs(2), || r.state() == Some(state))
}

/// r1 (priority 200, tracking `tracker`) on host 0 and r2 (100) on host 1; returns once r1
/// holds the VIP and r2 is BACKUP.
fn start(lab: &Lab, tracker: TrackerKind, weight: i32) -> Pair {
    let (r1, r2) = (Recorder::default(), Recorder::default());
    let d1 = lab
        .spawn_driver(
            0,
            move |h, i| config(200, IpAddr::V4(h.ipv4), i, Some((tracker, weight))),
            r1.clone(),
        )
        .unwrap();
    let d2 = lab
        .spawn_driver(
            1,
            move |h, i| config(100, IpAddr::V4(h.ipv4), i, None),
            r2.clone(),
        )
        .unwrap();
    let ok = wait_for(Duration::from_secs(8), || {
        lab.has_address(0, VIP) && r2.state() == Some(State::Backup)
    });
    if !ok {
        r1.dump("r1");
        r2.dump("r2");
    }
    assert!(ok, "r1 never became master with r2 backup");
    Pair {
        r1,
        r2,
        _d1: d1,
        _d2: d2,
    }
}

fn adverts_at(cap: &Capture, from: IpAddr, priority: u8) -> usize {
    cap.frames()
        .iter()
        .filter(|(_, f)| vrrp_in_frame(f).is_some_and(|(s, _, p)| s == from && p == priority))
        .count()
}

/// Weight 0: `fall` failures put r1 in FAULT and r2 takes the VIP; `rise` successes bring r1
/// back and it preempts.
#[test]
fn netns_script_failure_faults_and_recovers() {
    if !privileged("netns_script_failure_faults_and_recovers").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let flag = lab.dir().join("fail");
    let p = start(&lab, flag_script(&flag, 2, 2), 0);
    std::fs::write(&flag, "").unwrap();
    let ok = wait_for(Duration::from_secs(5), || {
        p.r1.state() == Some(State::Fault) && lab.has_address(1, VIP) && !lab.has_address(0, VIP)
    });
    if !ok {
        p.r1.dump("r1");
        p.r2.dump("r2");
    }
    assert!(ok, "r1 did not go to FAULT with r2 taking over");
    // The notification follows the address change.
    assert!(wait_state(&p.r2, State::Master), "{:?}", p.r2.states());
    assert!(
        p.r1.lines()
            .iter()
            .any(|l| l.contains("VRRP_Script(chk) failed")),
        "{:#?}",
        p.r1.lines()
    );
    std::fs::remove_file(&flag).unwrap();
    let ok = wait_for(Duration::from_secs(5), || {
        p.r1.state() == Some(State::Master) && lab.has_address(0, VIP) && !lab.has_address(1, VIP)
    });
    if !ok {
        p.r1.dump("r1");
        p.r2.dump("r2");
    }
    assert!(ok, "r1 did not come back after rise successes");
    assert!(wait_for(Duration::from_secs(2), || p.r2.state()
        == Some(State::Backup)));
}

/// A negative weight lowers r1's advertised priority below r2's: r2 preempts; the priority
/// comes back when the script succeeds again.
#[test]
fn netns_script_weight_lowers_priority() {
    if !privileged("netns_script_weight_lowers_priority").unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let flag = lab.dir().join("fail");
    let p = start(&lab, flag_script(&flag, 1, 1), -150);
    let a1 = IpAddr::V4(lab.host(0).ipv4);
    std::fs::write(&flag, "").unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || lab.has_address(1, VIP)
            && !lab.has_address(0, VIP)),
        "r2 did not preempt the lowered r1"
    );
    // The notification follows the address change.
    assert!(wait_state(&p.r1, State::Backup), "{:?}", p.r1.states());
    let before = adverts_at(&cap, a1, 200);
    std::fs::remove_file(&flag).unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || lab.has_address(0, VIP)
            && !lab.has_address(1, VIP)),
        "r1 did not take back over"
    );
    assert!(wait_for(Duration::from_secs(2), || adverts_at(
        &cap, a1, 200
    ) > before));
}

/// A script that hangs is killed at its timeout (`SIGTERM` reaches the script's own children
/// too) and counts as a failure.
#[test]
fn netns_script_timeout_kills_hung_script() {
    if !privileged("netns_script_timeout_kills_hung_script").unwrap() {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let pids = lab.dir().join("pids");
    let hang = lab.dir().join("hang");
    let mut s = ScriptTracker::new(vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "if [ -e '{}' ]; then echo $$ >> '{}'; sleep 30; fi",
            hang.display(),
            pids.display()
        ),
    ]);
    s.interval = Duration::from_millis(200);
    s.timeout = Duration::from_millis(500);
    let p = start(&lab, TrackerKind::Script(s), 0);
    std::fs::write(&hang, "").unwrap();
    let ok = wait_for(Duration::from_secs(5), || {
        p.r1.state() == Some(State::Fault) && lab.has_address(1, VIP)
    });
    if !ok {
        p.r1.dump("r1");
    }
    assert!(ok, "a hung script did not count as a failure");
    assert!(
        p.r1.lines().iter().any(|l| l.contains("timed out")),
        "{:#?}",
        p.r1.lines()
    );
    std::fs::remove_file(&hang).unwrap();
    // Every hung run was killed (the shell and its sleep), well before its 30 s.
    let recorded: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(!recorded.is_empty());
    assert!(
        wait_for(Duration::from_secs(5), || recorded
            .iter()
            .all(|pid| !process_alive(*pid))),
        "a timed-out script is still running: {recorded:?}"
    );
    assert!(wait_for(Duration::from_secs(5), || p.r1.state()
        == Some(State::Master)));
}

/// `track_file`: value × weight is added to the priority; a value that brings r1 below r2
/// lets r2 preempt, and r1's adverts carry the new priority while it is master.
#[test]
fn netns_track_file_value_moves_priority() {
    if !privileged("netns_track_file_value_moves_priority").unwrap() {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let cap = Capture::start(&lab, 2).unwrap();
    let file: PathBuf = lab.dir().join("weight");
    let mut tracker = FileTracker::new(&file);
    tracker.init_value = Some(0);
    let p = start(&lab, TrackerKind::File(tracker), 1);
    let a1 = IpAddr::V4(lab.host(0).ipv4);
    // Still above r2: r1 stays master, advertising 200 - 20.
    std::fs::write(&file, "-20\n").unwrap();
    assert!(
        wait_for(Duration::from_secs(3), || adverts_at(&cap, a1, 180) > 0),
        "no advert at priority 180"
    );
    assert!(lab.has_address(0, VIP));
    // Replaced by rename (as editors and config tools do): below r2 now.
    let tmp = lab.dir().join("weight.tmp");
    std::fs::write(&tmp, "-150\n").unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let ok = wait_for(Duration::from_secs(5), || {
        lab.has_address(1, VIP) && !lab.has_address(0, VIP)
    });
    if !ok {
        p.r1.dump("r1");
    }
    assert!(ok, "r2 did not preempt r1 at priority 50");
    // The notification follows the address change.
    assert!(wait_state(&p.r1, State::Backup), "{:?}", p.r1.states());
    let before = adverts_at(&cap, a1, 200);
    std::fs::write(&file, "0").unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || lab.has_address(0, VIP)
            && !lab.has_address(1, VIP)),
        "r1 did not take back over at priority 200"
    );
    assert!(wait_for(Duration::from_secs(2), || adverts_at(
        &cap, a1, 200
    ) > before));
    // The notification follows the address change.
    assert!(wait_state(&p.r2, State::Backup), "{:?}", p.r2.states());
}

/// Lines in `path` (0 if it does not exist yet).
fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// A script that records each run in `runs`, then fails while `flag` exists.
fn counting_script(runs: &Path, flag: &Path) -> TrackerKind {
    let mut s = ScriptTracker::new(vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "echo run >> '{}'; test ! -e '{}'",
            runs.display(),
            flag.display()
        ),
    ]);
    s.interval = Duration::from_millis(100);
    TrackerKind::Script(s)
}

/// Reload: a removed script stops running and its FAULT goes; a script that comes back with
/// other settings under the same name starts afresh.
#[test]
fn netns_script_reload_removes_and_restarts() {
    if !privileged("netns_script_reload_removes_and_restarts").unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let flag = lab.dir().join("fail");
    std::fs::write(&flag, "").unwrap();
    let runs1 = lab.dir().join("runs1");
    let runs2 = lab.dir().join("runs2");
    let r = Recorder::default();
    let src = IpAddr::V4(lab.host(0).ipv4);
    let kind1 = counting_script(&runs1, &flag);
    let d = lab
        .spawn_driver(
            0,
            move |_, i| config(200, src, i, Some((kind1, 0))),
            r.clone(),
        )
        .unwrap();
    let ifc = InterfaceId(lab.ifindex(0).unwrap());
    let ok = wait_for(Duration::from_secs(5), || r.state() == Some(State::Fault));
    if !ok {
        r.dump("r");
    }
    assert!(ok, "the failing script did not put the instance in FAULT");

    // Without the tracker: out of FAULT, alone on the link: MASTER; the script stops.
    *r.next_config.lock().unwrap() = Some(config(200, src, ifc, None));
    d.reload().unwrap();
    let ok = wait_for(Duration::from_secs(5), || {
        r.state() == Some(State::Master) && lab.has_address(0, VIP)
    });
    if !ok {
        r.dump("r");
    }
    assert!(ok, "no MASTER after the tracker was removed");
    let after = count_lines(&runs1);
    // At most a run already under way finishes; then no more for ten intervals.
    assert!(
        !wait_for(Duration::from_secs(1), || count_lines(&runs1) > after + 1),
        "a removed script still runs"
    );

    // Back under the same name with other settings (its own counter file): it runs again,
    // and as the flag is still there, the instance goes back to FAULT.
    let kind2 = counting_script(&runs2, &flag);
    *r.next_config.lock().unwrap() = Some(config(200, src, ifc, Some((kind2, 0))));
    d.reload().unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || count_lines(&runs2) >= 2
            && r.state() == Some(State::Fault)
            && !lab.has_address(0, VIP)),
        "the changed script did not start"
    );
    std::fs::remove_file(&flag).unwrap();
    assert!(wait_for(Duration::from_secs(5), || r.state() == Some(State::Master)));
    drop(d);
}
