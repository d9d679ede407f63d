//! Runs on the process's main thread (`harness = false`), as a daemon does: process-directed
//! signals, and child reaping through `SIGCHLD` alone (the path used without pidfds).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use scheduler::{ChildExit, ChildSpec, Event, Loop, Signal};

const LIMIT: Duration = Duration::from_secs(30);

fn run_until<S>(lp: &mut Loop<S>, state: &mut S, done: impl Fn(&S) -> bool) {
    let end = Instant::now() + LIMIT;
    while !done(state) {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "condition not reached within {LIMIT:?}");
        lp.run_once(state, Some(left)).unwrap();
    }
}

fn process_directed_signals_are_events() {
    let mut lp: Loop<Vec<Signal>> = Loop::new().unwrap();
    for sig in [
        Signal::HUP,
        Signal::TERM,
        Signal::INT,
        Signal::USR1,
        Signal::USR2,
        Signal::json(),
    ] {
        lp.ctx()
            .add_signal("sig", sig, |l: &mut Vec<_>, _, ev| {
                let Event::Signal(info) = ev else {
                    unreachable!()
                };
                assert_eq!(info.pid, std::process::id());
                l.push(info.signal);
            })
            .unwrap();
    }
    let me = std::process::id();
    let sent = [
        Signal::HUP,
        Signal::TERM,
        Signal::INT,
        Signal::USR1,
        Signal::USR2,
        Signal::json(),
    ];
    for sig in sent {
        // With the default action, TERM or INT would kill this process: the loop must catch them.
        sig.send_to(me).unwrap();
    }
    let mut got = Vec::new();
    run_until(&mut lp, &mut got, |g| g.len() >= sent.len());
    got.sort();
    let mut want = sent.to_vec();
    want.sort();
    assert_eq!(got, want);
}

fn sigchld_alone_reaps_every_child() {
    let mut lp: Loop<Vec<ChildExit>> = Loop::new().unwrap();
    lp.ctx().set_use_pidfd(false);
    // Several children exit together: their SIGCHLDs coalesce into one or two, and the sweep
    // must still reap all of them.
    for code in 0..8 {
        let spec = ChildSpec::new("/bin/sh").args(["-c", &format!("exit {code}")]);
        lp.ctx()
            .spawn("sweep", spec, |l: &mut Vec<_>, _, ev| {
                let Event::Exit(e) = ev else { unreachable!() };
                l.push(e);
            })
            .unwrap();
    }
    let mut exits = Vec::new();
    run_until(&mut lp, &mut exits, |e| e.len() == 8);
    let mut codes: Vec<_> = exits.iter().filter_map(ChildExit::code).collect();
    codes.sort_unstable();
    assert_eq!(codes, (0..8).collect::<Vec<_>>());
    for e in &exits {
        assert!(
            !std::path::Path::new(&format!("/proc/{}", e.pid)).exists(),
            "zombie {}",
            e.pid
        );
    }
}

/// Processes (zombies included) whose parent is this process.
fn children_of_this_process() -> Vec<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let pid: u32 = name.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid ...": comm may contain spaces, so split after the ')'.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .to_owned();
            (ppid == me).then_some(pid)
        })
        .collect()
}

fn dropping_the_loop_while_children_start_leaves_no_child() {
    {
        let mut lp: Loop<()> = Loop::new().unwrap();
        for _ in 0..5 {
            lp.ctx()
                .spawn("s", ChildSpec::new("sleep").arg("60"), |(), _, _| {})
                .unwrap();
        }
        // Dropped at once: some children are still in the spawner thread's hands.
    }
    // Asserting an absence: give a spawner thread that wrongly outlived the loop the time to
    // start its children, so that the check below would see them.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(children_of_this_process(), Vec::<u32>::new());
}

/// A signal watched only after the spawner thread exists must still reach the loop, never
/// the helper thread (where its default action would kill the process).
fn signals_watched_after_the_first_spawn_reach_the_loop() {
    let mut lp: Loop<Vec<Signal>> = Loop::new().unwrap();
    lp.ctx()
        .spawn(
            "first",
            ChildSpec::new("/bin/true"),
            |_: &mut Vec<Signal>, _, _| {},
        )
        .unwrap();
    let mut got = Vec::new();
    // Let the spawner thread start and finish its job.
    run_until(&mut lp, &mut got, |_| true);
    lp.run_once(&mut got, Some(Duration::from_millis(50)))
        .unwrap();
    lp.ctx()
        .add_signal("late", Signal::USR2, |l: &mut Vec<_>, _, ev| {
            let Event::Signal(info) = ev else {
                unreachable!()
            };
            l.push(info.signal);
        })
        .unwrap();
    for _ in 0..20 {
        Signal::USR2.send_to(std::process::id()).unwrap();
        lp.run_once(&mut got, Some(Duration::from_millis(20)))
            .unwrap();
    }
    run_until(&mut lp, &mut got, |g| !g.is_empty());
    assert!(got.iter().all(|s| *s == Signal::USR2));
}

/// A minimal libtest-compatible front end, so that both `cargo test` and `cargo nextest`
/// (which lists with `--list --format terse` and runs `--exact NAME`) can drive this binary.
fn main() {
    let tests: [(&str, fn()); 4] = [
        (
            "process_directed_signals_are_events",
            process_directed_signals_are_events,
        ),
        (
            "sigchld_alone_reaps_every_child",
            sigchld_alone_reaps_every_child,
        ),
        (
            "dropping_the_loop_while_children_start_leaves_no_child",
            dropping_the_loop_while_children_start_leaves_no_child,
        ),
        (
            "signals_watched_after_the_first_spawn_reach_the_loop",
            signals_watched_after_the_first_spawn_reach_the_loop,
        ),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            !a.starts_with('-')
                && (*i == 0
                    || !matches!(
                        args[i - 1].as_str(),
                        "--format" | "--color" | "--test-threads" | "--logfile"
                    ))
        })
        .map(|(_, a)| a)
        .collect();
    let exact = flag("--exact");
    let selected = tests.iter().filter(|(name, _)| {
        filters.is_empty()
            || filters.iter().any(|f| {
                if exact {
                    *f == name
                } else {
                    name.contains(f.as_str())
                }
            })
    });
    if flag("--list") {
        if !flag("--ignored") {
            for (name, _) in selected {
                println!("{name}: test");
            }
        }
        return;
    }
    if flag("--ignored") {
        return;
    }
    for (name, test) in selected {
        test();
        println!("test {name} ... ok");
    }
}
