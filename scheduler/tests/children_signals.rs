//! Child processes and signals (thread-directed here; process-directed signals and the
//! SIGCHLD-only reaper are tested on the main thread in `main_thread_signals.rs`).

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{process_exists, run_bounded, run_until};
use scheduler::{ChildExit, ChildSpec, Error, Event, Loop, Signal, SignalInfo, Stop};

const LIMIT: Duration = Duration::from_secs(30);

fn exit_of(ev: Event) -> ChildExit {
    match ev {
        Event::Exit(e) => e,
        other => panic!("unexpected {other:?}"),
    }
}

/// Spawns `spec` on a fresh loop and runs it until the child's exit is reported.
fn run_child(spec: ChildSpec) -> ChildExit {
    let mut lp: Loop<Option<ChildExit>> = Loop::new().unwrap();
    lp.ctx()
        .spawn("child", spec, |s: &mut Option<_>, _, ev| {
            *s = Some(exit_of(ev));
        })
        .unwrap();
    let mut got = None;
    run_bounded(&mut lp, &mut got, LIMIT);
    got.unwrap()
}

#[test]
fn exit_status_is_delivered_and_the_child_is_reaped() {
    let mut lp: Loop<Vec<ChildExit>> = Loop::new().unwrap();
    for code in [0, 3] {
        let spec = ChildSpec::new("/bin/sh").args(["-c", &format!("exit {code}")]);
        lp.ctx()
            .spawn("exit", spec, |l: &mut Vec<_>, _, ev| l.push(exit_of(ev)))
            .unwrap();
    }
    let mut exits = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut exits, LIMIT), Stop::Idle);
    exits.sort_by_key(ChildExit::code);
    assert_eq!(
        exits.iter().map(ChildExit::code).collect::<Vec<_>>(),
        [Some(0), Some(3)]
    );
    for e in &exits {
        assert!(!e.timed_out);
        assert!(!process_exists(e.pid), "pid {} left as a zombie", e.pid);
    }
}

#[test]
fn child_gets_argv_env_cwd_without_a_shell() {
    // argv is passed verbatim: no word splitting, no globbing, no $ expansion.
    let spec = ChildSpec::new("/bin/sh")
        .args([
            "-c",
            r#"test "$1" = 'a b *$X' && test "$FOO" = bar && test -z "$HOME_GONE" && test "$(pwd)" = /tmp"#,
            "sh",
            "a b *$X",
        ])
        .env("FOO", "bar")
        .env("HOME_GONE", "x")
        .env_remove("HOME_GONE")
        .current_dir("/tmp");
    assert_eq!(run_child(spec).code(), Some(0));
}

#[test]
fn env_clear_starts_from_nothing() {
    // cargo and nextest set this in the test's environment.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let spec = ChildSpec::new("/bin/sh")
        .args(["-c", r#"test -z "$CARGO_MANIFEST_DIR" && test "$ONLY" = 1"#])
        .env_clear()
        .env("ONLY", "1");
    assert_eq!(run_child(spec).code(), Some(0));
}

#[test]
fn shell_is_only_used_when_asked() {
    let mut lp: Loop<Vec<Option<i32>>> = Loop::new().unwrap();
    lp.ctx()
        .spawn(
            "sh",
            ChildSpec::shell("exit $((2 + 3))"),
            |l: &mut Vec<_>, _, ev| l.push(exit_of(ev).code()),
        )
        .unwrap();
    let mut got = Vec::new();
    run_bounded(&mut lp, &mut got, LIMIT);
    assert_eq!(got, [Some(5)]);
    // Without a shell, a command line is a (missing) program name: reported to the handler.
    let mut failed = Vec::new();
    let mut lp: Loop<Vec<Event>> = Loop::new().unwrap();
    lp.ctx()
        .spawn(
            "no-sh",
            ChildSpec::new("exit 0"),
            |l: &mut Vec<_>, _, ev| {
                l.push(ev);
            },
        )
        .unwrap();
    assert_eq!(run_bounded(&mut lp, &mut failed, LIMIT), Stop::Idle);
    assert_eq!(
        failed,
        [Event::SpawnFailed {
            errno: libc::ENOENT
        }]
    );
    assert_eq!(lp.stats().tasks, 0);
}

/// Parses a `SigBlk:`/`SigIgn:` line of /proc/PID/status into a bit mask (bit n-1 = signal n).
fn sig_mask(status: &str, field: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    u64::from_str_radix(line[field.len()..].trim(), 16).unwrap()
}

#[test]
fn child_starts_with_a_clean_signal_mask_and_default_dispositions() {
    let mut lp: Loop<Option<ChildExit>> = Loop::new().unwrap();
    // The loop blocks SIGCHLD and USR1 here, and the Rust runtime ignores SIGPIPE.
    lp.ctx()
        .add_signal("usr1", Signal::USR1, |_, _, _| {})
        .unwrap();
    let out = std::env::temp_dir().join(format!("scheduler-sigmask-{}", std::process::id()));
    let spec = ChildSpec::new("/bin/sh")
        .args(["-c", r#"exec grep ^Sig /proc/self/status > "$1""#, "sh"])
        .arg(&out);
    lp.ctx()
        .spawn("status", spec, |s: &mut Option<_>, _, ev| {
            *s = Some(exit_of(ev));
        })
        .unwrap();
    let mut got = None;
    run_until(&mut lp, &mut got, LIMIT, Option::is_some);
    assert_eq!(got.unwrap().code(), Some(0));
    let status = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(sig_mask(&status, "SigBlk:"), 0, "{status}");
    // Signals 32 and 33 belong to glibc (thread cancellation, setxid), which refuses to change
    // them; every other signal must be at its default.
    let reserved = 0b11 << 31;
    assert_eq!(sig_mask(&status, "SigIgn:") & !reserved, 0, "{status}");
}

#[test]
fn timeout_sends_sigterm() {
    let spec = ChildSpec::new("sleep")
        .arg("30")
        .timeout(Duration::from_millis(50));
    let exit = run_child(spec);
    assert!(exit.timed_out);
    assert_eq!(exit.signal(), Some(libc::SIGTERM));
    assert!(!process_exists(exit.pid));
}

#[test]
fn child_ignoring_sigterm_is_sigkilled() {
    // `trap '' TERM` makes the shell, and the sleep it execs, ignore SIGTERM.
    let spec = ChildSpec::shell("trap '' TERM; exec sleep 30")
        .timeout(Duration::from_millis(50))
        .kill_grace(Duration::from_millis(100));
    let exit = run_child(spec);
    assert!(exit.timed_out);
    assert_eq!(exit.signal(), Some(libc::SIGKILL));
    assert!(!process_exists(exit.pid));
}

#[test]
fn timeout_reaches_the_scripts_own_children() {
    // The shell forks a sleep and waits; SIGTERM to the group stops both.
    let spec = ChildSpec::shell("sleep 30; exit 0").timeout(Duration::from_millis(50));
    let t0 = std::time::Instant::now();
    let exit = run_child(spec);
    assert!(
        t0.elapsed() < Duration::from_secs(25),
        "the grandchild kept the shell alive"
    );
    assert!(exit.timed_out);
}

#[test]
fn cancelling_a_child_kills_and_reaps_it_silently() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    let id = lp
        .ctx()
        .spawn(
            "cancelled",
            ChildSpec::new("sleep").arg("30"),
            |n: &mut u32, _, _| *n += 1,
        )
        .unwrap();
    let mut calls = 0;
    let pid = common::started_pid(&mut lp, &mut calls, id);
    assert!(lp.ctx().cancel(id));
    assert!(!lp.ctx().contains(id));
    assert_eq!(lp.ctx().child_pid(id), None);
    // The loop stays alive until the killed child is reaped, then goes idle.
    assert_eq!(run_bounded(&mut lp, &mut calls, LIMIT), Stop::Idle);
    assert_eq!(calls, 0, "a cancelled child's handler never runs");
    assert!(!process_exists(pid));
}

#[test]
fn dropping_the_loop_reaps_running_children() {
    let pid;
    {
        let mut lp: Loop<()> = Loop::new().unwrap();
        let id = lp
            .ctx()
            .spawn("orphan", ChildSpec::new("sleep").arg("30"), |(), _, _| {})
            .unwrap();
        pid = common::started_pid(&mut lp, &mut (), id);
        assert!(process_exists(pid));
        let t0 = std::time::Instant::now();
        drop(lp);
        // Killed, not waited out.
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }
    assert!(
        !process_exists(pid),
        "dropping the loop left a zombie or a live child"
    );
}

#[test]
fn burst_of_realtime_signals_none_lost() {
    let rt = Signal::json();
    let mut lp: Loop<Vec<SignalInfo>> = Loop::new().unwrap();
    lp.ctx()
        .add_signal("json", rt, |l: &mut Vec<_>, _, ev| {
            let Event::Signal(info) = ev else {
                unreachable!()
            };
            l.push(info);
        })
        .unwrap();
    // Real-time signals queue: every one sent is delivered.
    for _ in 0..200 {
        rt.raise_in_thread().unwrap();
    }
    let mut got = Vec::new();
    run_until(&mut lp, &mut got, LIMIT, |g| g.len() >= 200);
    lp.run_once(&mut got, Some(Duration::from_millis(20)))
        .unwrap();
    assert_eq!(got.len(), 200);
    assert!(
        got.iter()
            .all(|i| i.signal == rt && i.pid == std::process::id())
    );
}

#[test]
fn burst_of_standard_signals_coalesces_per_kind() {
    let mut lp: Loop<Vec<Signal>> = Loop::new().unwrap();
    for sig in [
        Signal::HUP,
        Signal::USR1,
        Signal::USR2,
        Signal::INT,
        Signal::TERM,
    ] {
        lp.ctx()
            .add_signal("std", sig, |l: &mut Vec<_>, _, ev| {
                let Event::Signal(info) = ev else {
                    unreachable!()
                };
                l.push(info.signal);
            })
            .unwrap();
    }
    for _ in 0..10 {
        for sig in [
            Signal::HUP,
            Signal::USR1,
            Signal::USR2,
            Signal::INT,
            Signal::TERM,
        ] {
            sig.raise_in_thread().unwrap();
        }
    }
    let mut got = Vec::new();
    run_until(&mut lp, &mut got, LIMIT, |g| g.len() >= 5);
    lp.run_once(&mut got, Some(Duration::from_millis(20)))
        .unwrap();
    // Each kind arrives at least once (none lost) and at most as often as sent.
    for sig in [
        Signal::HUP,
        Signal::USR1,
        Signal::USR2,
        Signal::INT,
        Signal::TERM,
    ] {
        let n = got.iter().filter(|s| **s == sig).count();
        assert!((1..=10).contains(&n), "{sig}: {n}");
    }
}

#[test]
fn several_watchers_and_cancel() {
    let mut lp: Loop<Vec<u8>> = Loop::new().unwrap();
    let a = lp
        .ctx()
        .add_signal("a", Signal::USR1, |l: &mut Vec<_>, _, _| l.push(b'a'))
        .unwrap();
    lp.ctx()
        .add_signal("b", Signal::USR1, |l: &mut Vec<_>, _, _| l.push(b'b'))
        .unwrap();
    Signal::USR1.raise_in_thread().unwrap();
    let mut got = Vec::new();
    run_until(&mut lp, &mut got, LIMIT, |g| g.len() == 2);
    assert_eq!(got, b"ab");
    assert!(lp.ctx().cancel(a));
    Signal::USR1.raise_in_thread().unwrap();
    run_until(&mut lp, &mut got, LIMIT, |g| g.len() == 3);
    assert_eq!(got, b"abb");
}

#[test]
fn unwatchable_signals_are_refused() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    assert!(matches!(
        lp.ctx().add_signal("kill", Signal::KILL, |(), _, _| {}),
        Err(Error::Unwatchable(_))
    ));
    let segv = Signal::from_raw(libc::SIGSEGV).unwrap();
    assert!(matches!(
        lp.ctx().add_signal("segv", segv, |(), _, _| {}),
        Err(Error::Unwatchable(_))
    ));
}

#[test]
fn child_runs_as_another_user_and_group() {
    // Our real uid, from /proc (the "Uid:" line's first field).
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let root = uid_line.split_whitespace().nth(1) == Some("0");
    let spec = ChildSpec::shell(
        r#"test "$(id -u)" = 65534 && test "$(id -g)" = 65534 && test "$(id -G)" = 65534"#,
    )
    .uid(65534)
    .gid(65534);
    if root {
        // Supplementary groups are dropped too (`id -G` shows only the new group).
        assert_eq!(run_child(spec).code(), Some(0));
    } else {
        let mut lp: Loop<Vec<Event>> = Loop::new().unwrap();
        lp.ctx()
            .spawn("setuid", spec, |l: &mut Vec<_>, _, ev| l.push(ev))
            .unwrap();
        let mut got = Vec::new();
        run_bounded(&mut lp, &mut got, LIMIT);
        assert_eq!(got, [Event::SpawnFailed { errno: libc::EPERM }]);
    }
}

#[test]
fn signal_set_lists_what_the_loop_blocks() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    assert_eq!(lp.signal_set(), [Signal::CHLD]);
    lp.ctx()
        .add_signal("hup", Signal::HUP, |(), _, _| {})
        .unwrap();
    lp.ctx()
        .add_signal("json", Signal::json(), |(), _, _| {})
        .unwrap();
    assert_eq!(lp.signal_set(), [Signal::HUP, Signal::CHLD, Signal::json()]);
    // Another thread can block the same set, then a signal aimed at it stays pending for
    // the loop instead of killing the process.
    let set = lp.signal_set();
    let blocked = std::thread::spawn(move || {
        scheduler::block_signals(&set).unwrap();
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        sig_mask(&status, "SigBlk:")
    })
    .join()
    .unwrap();
    for sig in [Signal::HUP, Signal::CHLD, Signal::json()] {
        assert_ne!(blocked & (1 << (sig.as_raw() - 1)), 0, "{sig} not blocked");
    }
}

#[test]
fn cancelling_a_child_while_it_starts_kills_it_once_started() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    // Cancelled before the spawner thread has even started it.
    let id = lp
        .ctx()
        .spawn(
            "early",
            ChildSpec::new("sleep").arg("60"),
            |n: &mut u32, _, _| *n += 1,
        )
        .unwrap();
    assert!(lp.ctx().cancel(id));
    let mut calls = 0;
    // Idle comes only once the child was started, killed and reaped: long before 60 s.
    let t0 = std::time::Instant::now();
    assert_eq!(run_bounded(&mut lp, &mut calls, LIMIT), Stop::Idle);
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert_eq!(calls, 0);
}
