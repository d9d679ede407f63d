//! Notify scripts and the notify FIFO of our `keepalived -n` in a network namespace
//! (keepalived-behaviour.md §4.11): the FIFO gets keepalived's lines in the order the states
//! change, the scripts (`notify_*` then the generic `notify` with `INSTANCE|GROUP NAME STATE
//! PRIORITY`) run as the configured `script_user`, a `track_file` puts the instance in FAULT
//! and back, and `notify_stop` runs at shutdown. Needs root and iproute2.

#![allow(clippy::unwrap_used, clippy::panic, clippy::too_many_lines)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vrrp_engine::testlab::{Lab, privileged_with, process_alive, run, wait_for};

mod support;
use support::spawn_ours;

const SHORT: Duration = Duration::from_secs(5);

/// `nobody`'s uid, as `/etc/passwd` has it.
fn nobody_uid() -> String {
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("nobody:"))
        .and_then(|rest| rest.split(':').nth(1))
        .unwrap()
        .to_owned()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lines read from a FIFO by a thread of the test.
fn read_fifo(path: &Path) -> Arc<Mutex<Vec<String>>> {
    // Read-write, so that opening never waits for the daemon.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&lines);
    std::thread::spawn(move || {
        for l in BufReader::new(f).lines() {
            let Ok(l) = l else { break };
            out.lock().unwrap().push(l);
        }
    });
    lines
}

fn read(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn notify_scripts_and_fifo_follow_state_changes() {
    if !privileged_with("notify_scripts_and_fifo_follow_state_changes", &["mkfifo"]).unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let dir = lab.dir().to_path_buf();
    chmod(&dir, 0o755); // the scripts run as nobody
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    chmod(&out, 0o777);
    let log: PathBuf = out.join("log");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$(id -u) $*\" >> {}\n", log.display()),
    )
    .unwrap();
    chmod(&script, 0o755);
    let fifo = dir.join("fifo");
    run("mkfifo", &[fifo.to_str().unwrap()]).unwrap();
    // A second FIFO, read by a notify_fifo_script the daemon starts (as nobody).
    let fifo2 = dir.join("fifo2");
    run("mkfifo", &["-m", "666", fifo2.to_str().unwrap()]).unwrap();
    let reader = dir.join("reader.sh");
    let reader_log = out.join("reader.log");
    let reader_pid = out.join("reader.pid");
    std::fs::write(
        &reader,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec cat \"$1\" >> {}\n",
            reader_pid.display(),
            reader_log.display()
        ),
    )
    .unwrap();
    chmod(&reader, 0o755);
    let fifo_lines = read_fifo(&fifo);
    let track = dir.join("fault");
    let s = script.display();
    let conf = format!(
        "global_defs {{\n  script_user nobody\n  enable_script_security\n  vrrp_notify_fifo {fifo}\n  notify_fifo {fifo2}\n  notify_fifo_script {reader}\n  vrrp_version 3\n}}\n\
         track_file fault {{\n  file {track}\n  weight 0\n  init_file 0 overwrite\n}}\n\
         vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n  notify_master \"{s} group-master\"\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 0.1\n\
         \x20 notify_master \"{s} master\"\n  notify_backup \"{s} backup\"\n  notify_fault \"{s} fault\"\n  notify_stop \"{s} stop\"\n  notify {s}\n\
         \x20 track_file {{\n    fault\n  }}\n  virtual_ipaddress {{\n    10.99.0.100/24\n  }}\n}}\n",
        fifo = fifo.display(),
        fifo2 = fifo2.display(),
        reader = reader.display(),
        track = track.display(),
    );
    let (pid, daemon_log) = spawn_ours(&lab, 0, "k", &conf);
    let show = || {
        format!(
            "fifo: {:#?}\nscripts: {:#?}\ndaemon:\n{}",
            fifo_lines.lock().unwrap(),
            read(&log),
            std::fs::read_to_string(&daemon_log).unwrap_or_default()
        )
    };
    let lines = || fifo_lines.lock().unwrap().clone();
    let count = |l: &str| lines().iter().filter(|x| *x == l).count();
    let wait_line = |l: &str, n: usize| {
        assert!(
            wait_for(SHORT, || count(l) >= n),
            "no {n}th '{l}' line; {}",
            show()
        );
    };

    // Alone on the link: BACKUP, then MASTER after the master-down timer.
    wait_line("GROUP \"G\" MASTER 0", 1);
    // FAULT when the tracked file holds a non-zero value (weight 0), then back.
    std::fs::write(&track, "1\n").unwrap();
    wait_line("GROUP \"G\" FAULT 0", 1);
    std::fs::write(&track, "0\n").unwrap();
    wait_line("GROUP \"G\" MASTER 0", 2);
    lab.terminate(pid).unwrap();
    assert!(lab.wait_exit(pid, SHORT).unwrap(), "{}", show());
    wait_line("INSTANCE \"VI_1\" STOP 150", 1);
    let expected_fifo = [
        "INSTANCE \"VI_1\" BACKUP 150",
        "GROUP \"G\" BACKUP 0",
        "INSTANCE \"VI_1\" MASTER 150",
        "GROUP \"G\" MASTER 0",
        "INSTANCE \"VI_1\" FAULT 150",
        "GROUP \"G\" FAULT 0",
        "INSTANCE \"VI_1\" BACKUP 150",
        "GROUP \"G\" BACKUP 0",
        "INSTANCE \"VI_1\" MASTER 150",
        "GROUP \"G\" MASTER 0",
        "INSTANCE \"VI_1\" STOP 150",
    ];
    assert_eq!(lines(), expected_fifo, "{}", show());
    // The FIFO reader got the same lines, and ended with the daemon.
    assert!(
        wait_for(SHORT, || read(&reader_log) == expected_fifo),
        "reader: {:#?}\n{}",
        read(&reader_log),
        show()
    );
    let rpid: u32 = std::fs::read_to_string(&reader_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_for(SHORT, || !process_alive(rpid)),
        "the FIFO reader outlived the daemon"
    );

    // Scripts: each notify_* before the generic one of the same change, all as nobody.
    let uid = nobody_uid();
    let expected_scripts = [
        "backup",
        "INSTANCE VI_1 BACKUP 150",
        "master",
        "INSTANCE VI_1 MASTER 150",
        "group-master",
        "fault",
        "INSTANCE VI_1 FAULT 150",
        "backup",
        "INSTANCE VI_1 BACKUP 150",
        "master",
        "INSTANCE VI_1 MASTER 150",
        "group-master",
        "stop",
        "INSTANCE VI_1 STOP 150",
    ];
    assert!(
        wait_for(SHORT, || read(&log).len() >= expected_scripts.len()),
        "{}",
        show()
    );
    let got = read(&log);
    for l in &got {
        assert!(l.starts_with(&format!("{uid} ")), "not run as nobody: {l}");
    }
    let words: Vec<&str> = got.iter().map(|l| l.split_once(' ').unwrap().1).collect();
    // Scripts start in order but run concurrently: compare as multisets, and check the order
    // of each specific script against its generic one.
    let mut sorted_got = words.clone();
    sorted_got.sort_unstable();
    let mut sorted_want = expected_scripts.to_vec();
    sorted_want.sort_unstable();
    assert_eq!(sorted_got, sorted_want, "{}", show());
}
