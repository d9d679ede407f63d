//! Descriptors, events, dispatch order, termination, panics and idleness.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{fd, pair, poke, run_bounded, run_until};
use scheduler::{Error, Event, Loop, Signal, Stop, thread_cpu_time};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn read_fires_on_data_and_times_out_without() {
    let (a, mut b) = pair();
    let (c, _d) = pair();
    let mut lp: Loop<Vec<(&'static str, Event)>> = Loop::new().unwrap();
    lp.ctx()
        .add_read(
            "data",
            fd(&a),
            Some(Duration::from_secs(10)),
            |log: &mut Vec<_>, _, ev| {
                log.push(("data", ev));
            },
        )
        .unwrap();
    lp.ctx()
        .add_read(
            "silent",
            fd(&c),
            Some(Duration::from_millis(20)),
            |log: &mut Vec<_>, _, ev| {
                log.push(("silent", ev));
            },
        )
        .unwrap();
    poke(&mut b);
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    assert_eq!(log, [("data", Event::Readable), ("silent", Event::Timeout)]);
}

#[test]
fn write_fires_when_writable() {
    let (a, _b) = pair();
    let mut lp: Loop<Option<Event>> = Loop::new().unwrap();
    lp.ctx()
        .add_write(
            "w",
            fd(&a),
            Some(Duration::from_secs(10)),
            |s: &mut Option<_>, _, ev| *s = Some(ev),
        )
        .unwrap();
    let mut got = None;
    run_bounded(&mut lp, &mut got, LIMIT);
    assert_eq!(got, Some(Event::Writable));
}

#[test]
fn read_and_write_tasks_share_one_descriptor() {
    let (a, mut b) = pair();
    let mut lp: Loop<Vec<Event>> = Loop::new().unwrap();
    let afd = fd(&a);
    lp.ctx()
        .add_read("r", afd, None, |l: &mut Vec<_>, _, ev| l.push(ev))
        .unwrap();
    lp.ctx()
        .add_write("w", afd, None, |l: &mut Vec<_>, _, ev| l.push(ev))
        .unwrap();
    // A second reader on the same fd is refused.
    let err = lp
        .ctx()
        .add_read("r2", afd, None, |_, _, _| {})
        .unwrap_err();
    assert!(matches!(err, Error::Register { .. }), "{err}");
    poke(&mut b);
    let mut log = Vec::new();
    run_bounded(&mut lp, &mut log, LIMIT);
    log.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(log, [Event::Readable, Event::Writable]);
}

#[test]
fn rearm_is_level_triggered_so_unread_data_is_not_lost() {
    struct St {
        sock: std::os::unix::net::UnixStream,
        reads: Vec<u8>,
    }
    let (a, mut b) = pair();
    let afd = fd(&a);
    let mut lp: Loop<St> = Loop::new().unwrap();
    // Reads ONE byte per wake-up and re-arms: the remaining bytes must wake it again even
    // though no new data (no new edge) arrives.
    lp.ctx()
        .add_read(
            "one-byte",
            afd,
            Some(Duration::from_secs(5)),
            |st: &mut St, ctx, ev| {
                if ev == Event::Timeout {
                    return;
                }
                let mut byte = [0u8; 1];
                if st.sock.read(&mut byte).unwrap() == 1 {
                    st.reads.push(byte[0]);
                }
                if st.reads.len() < 3 {
                    ctx.rearm_io(ctx.current().unwrap(), Some(Duration::from_secs(5)))
                        .unwrap();
                }
            },
        )
        .unwrap();
    std::io::Write::write_all(&mut b, b"abc").unwrap();
    let mut st = St {
        sock: a,
        reads: Vec::new(),
    };
    assert_eq!(run_bounded(&mut lp, &mut st, LIMIT), Stop::Idle);
    assert_eq!(st.reads, b"abc");
}

#[test]
fn drained_rearm_still_wakes_for_data_that_arrives_later() {
    struct St {
        sock: std::os::unix::net::UnixStream,
        peer: std::os::unix::net::UnixStream,
        reads: Vec<u8>,
        wakes: u32,
    }
    let (a, mut b) = pair();
    a.set_nonblocking(true).unwrap();
    let afd = fd(&a);
    let mut lp: Loop<St> = Loop::new().unwrap();
    // Reads until the socket would block, then (first wake-up only) more data arrives while the
    // handler still runs, after its last read: the registration left in place must report it.
    lp.ctx()
        .add_read("drain", afd, None, |st: &mut St, ctx, ev| {
            assert_eq!(ev, Event::Readable);
            st.wakes += 1;
            let mut buf = [0u8; 16];
            loop {
                match st.sock.read(&mut buf) {
                    Ok(n) => st.reads.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            if st.wakes == 1 {
                std::io::Write::write_all(&mut st.peer, b"def").unwrap();
            }
            if st.reads.len() < 6 {
                assert!(ctx.rearm_io_drained(ctx.current().unwrap()).unwrap());
            }
        })
        .unwrap();
    std::io::Write::write_all(&mut b, b"abc").unwrap();
    let mut st = St {
        sock: a,
        peer: b,
        reads: Vec::new(),
        wakes: 0,
    };
    assert_eq!(run_bounded(&mut lp, &mut st, LIMIT), Stop::Idle);
    assert_eq!(st.reads, b"abcdef");
    assert_eq!(st.wakes, 2);
}

#[test]
fn fd_closed_while_registered() {
    let (a, _b) = pair();
    let afd = fd(&a);
    let mut lp: Loop<Vec<Event>> = Loop::new().unwrap();
    lp.ctx()
        .add_read(
            "closed",
            afd,
            Some(Duration::from_millis(30)),
            |l: &mut Vec<_>, _, ev| l.push(ev),
        )
        .unwrap();
    drop(a); // closed behind the loop's back: epoll forgets it
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    assert_eq!(
        log,
        [Event::Timeout],
        "the timeout still fires, nothing else breaks"
    );

    // The number is reused by a new socket while a task on the old one is still registered.
    let (old, _old_peer) = pair();
    let oldfd = fd(&old);
    lp.ctx()
        .add_write(
            "stale",
            oldfd,
            Some(Duration::from_secs(30)),
            |l: &mut Vec<_>, _, ev| l.push(ev),
        )
        .unwrap();
    drop(old);
    let (new, mut new_peer) = pair();
    let newfd = fd(&new);
    if newfd == oldfd {
        // Registering the reused number works (the loop re-adds it to epoll).
        lp.ctx()
            .add_read("reused", newfd, None, |l: &mut Vec<_>, ctx, ev| {
                l.push(ev);
                ctx.terminate();
            })
            .unwrap();
        poke(&mut new_peer);
        log.clear();
        assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Terminated);
        assert!(log.contains(&Event::Readable), "{log:?}");
    }
    // Cancelling tasks whose fd is gone is harmless.
    let mut ids = Vec::new();
    let (x, _y) = pair();
    ids.push(
        lp.ctx()
            .add_read("gone", fd(&x), None, |_, _, _| {})
            .unwrap(),
    );
    drop(x);
    for id in ids {
        assert!(lp.ctx().cancel(id));
    }
}

#[test]
fn bad_descriptors_are_refused() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    assert!(matches!(
        lp.ctx().add_read("neg", -1, None, |(), _, _| {}),
        Err(Error::Register { .. })
    ));
    // A regular file cannot be polled (EPERM).
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let err = lp
        .ctx()
        .add_read(
            "file",
            std::os::fd::AsRawFd::as_raw_fd(&file),
            None,
            |(), _, _| {},
        )
        .unwrap_err();
    assert!(err.to_string().contains("file"), "{err}");
    assert_eq!(lp.stats().tasks, 0, "a refused task leaves nothing behind");
}

#[test]
fn events_run_at_end_of_turn_and_chained_events_on_the_next() {
    struct St {
        log: Vec<(&'static str, u64)>,
        turns_at: Vec<u64>,
    }
    let mut lp: Loop<St> = Loop::new().unwrap();
    lp.ctx().add_event("first", |st: &mut St, ctx, ev| {
        assert_eq!(ev, Event::Posted);
        st.log.push(("first", 0));
        ctx.add_event("second", |st: &mut St, _, _| st.log.push(("second", 0)));
    });
    let mut st = St {
        log: Vec::new(),
        turns_at: Vec::new(),
    };
    lp.run_once(&mut st, Some(Duration::from_secs(5))).unwrap();
    st.turns_at.push(lp.stats().turns);
    assert_eq!(
        st.log,
        [("first", 0)],
        "the chained event waits for the next turn"
    );
    lp.run_once(&mut st, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(st.log, [("first", 0), ("second", 0)]);
}

#[test]
fn repost_keeps_an_event_alive() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    let id = lp.ctx().add_event("again", |n: &mut u32, ctx, _| {
        *n += 1;
        if *n < 5 {
            assert!(ctx.repost(ctx.current().unwrap()));
        }
    });
    let mut n = 0;
    assert_eq!(run_bounded(&mut lp, &mut n, LIMIT), Stop::Idle);
    assert_eq!(n, 5);
    assert!(!lp.ctx().contains(id));
}

/// The documented order within one turn: I/O, child exits, signals, timers, events.
#[test]
fn dispatch_order_within_a_turn() {
    let (a, mut b) = pair();
    let mut lp: Loop<Vec<&'static str>> = Loop::new().unwrap();
    let past = lp
        .ctx()
        .now()
        .checked_sub(Duration::from_millis(1))
        .unwrap();
    // Registered in reverse order on purpose.
    lp.ctx()
        .add_event("event", |l: &mut Vec<_>, _, _| l.push("event"));
    lp.ctx()
        .add_timer("timer", past, |l: &mut Vec<_>, _, _| l.push("timer"));
    let sig = lp
        .ctx()
        .add_signal("usr2", Signal::USR2, |l: &mut Vec<_>, _, _| {
            l.push("signal");
        })
        .unwrap();
    lp.ctx()
        .add_read("io", fd(&a), None, |l: &mut Vec<_>, _, _| l.push("io"))
        .unwrap();
    poke(&mut b);
    Signal::USR2.raise_in_thread().unwrap();
    let mut log = Vec::new();
    lp.run_once(&mut log, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(log, ["io", "signal", "timer", "event"]);
    lp.ctx().cancel(sig);
}

/// A read whose data arrived by the time its timeout expired gets the data, not the timeout:
/// a late loop must not turn a received advert into a false failover.
#[test]
fn readiness_beats_an_expired_timeout_in_the_same_turn() {
    let (a, mut b) = pair();
    let mut lp: Loop<Vec<Event>> = Loop::new().unwrap();
    lp.ctx()
        .add_read(
            "r",
            fd(&a),
            Some(Duration::ZERO),
            |l: &mut Vec<_>, _, ev| l.push(ev),
        )
        .unwrap();
    poke(&mut b);
    let mut log = Vec::new();
    run_bounded(&mut lp, &mut log, LIMIT);
    assert_eq!(log, [Event::Readable]);
}

#[test]
fn terminate_stops_after_the_handler_and_keeps_the_rest() {
    let mut lp: Loop<Vec<&'static str>> = Loop::new().unwrap();
    let past = lp
        .ctx()
        .now()
        .checked_sub(Duration::from_millis(1))
        .unwrap();
    lp.ctx()
        .add_timer("stopper", past, |l: &mut Vec<_>, ctx, _| {
            l.push("stopper");
            ctx.terminate();
        });
    lp.ctx()
        .add_timer("after", past, |l: &mut Vec<_>, _, _| l.push("after"));
    lp.ctx()
        .add_event("event", |l: &mut Vec<_>, _, _| l.push("event"));
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Terminated);
    assert_eq!(log, ["stopper"]);
    // Nothing was lost: running again dispatches the rest, in order.
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    assert_eq!(log, ["stopper", "after", "event"]);
}

#[test]
fn a_panicking_handler_is_reported_by_name_and_stops_the_loop() {
    let mut lp: Loop<Vec<&'static str>> = Loop::new().unwrap();
    let past = lp
        .ctx()
        .now()
        .checked_sub(Duration::from_millis(1))
        .unwrap();
    lp.ctx()
        .add_timer("vrrp_instance VI_1 advert", past, |_, _, _| {
            panic!("boom {}", 42)
        });
    lp.ctx()
        .add_timer("survivor", past, |l: &mut Vec<_>, _, _| l.push("survivor"));
    let mut log = Vec::new();
    let err = lp.run(&mut log).unwrap_err();
    match err {
        Error::Panicked { task, message } => {
            assert_eq!(task, "vrrp_instance VI_1 advert");
            assert_eq!(message, "boom 42");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(log.is_empty());
    // The panicking task is gone; the loop is intact and may be run again.
    assert_eq!(lp.stats().tasks, 1);
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    assert_eq!(log, ["survivor"]);
}

#[test]
fn idle_loop_sleeps() {
    let mut lp: Loop<bool> = Loop::new().unwrap();
    let (a, _b) = pair();
    // A silent socket and one timer 400 ms away.
    lp.ctx()
        .add_read("silent", fd(&a), None, |_, _, _| {})
        .unwrap();
    lp.ctx().add_timer_after(
        "wake",
        Duration::from_millis(400),
        |done: &mut bool, _, _| *done = true,
    );
    let cpu0 = thread_cpu_time();
    let t0 = Instant::now();
    let mut done = false;
    run_until(&mut lp, &mut done, LIMIT, |d| *d);
    let wall = t0.elapsed();
    let cpu = thread_cpu_time().checked_sub(cpu0).unwrap();
    assert!(
        wall >= Duration::from_millis(400),
        "the timer fired early: {wall:?}"
    );
    // run_until wakes at most every 100 ms: ~4-6 turns for 400 ms. A busy loop would do
    // thousands.
    assert!(lp.stats().turns <= 10, "{:?}", lp.stats());
    assert!(
        cpu < Duration::from_millis(100),
        "idle loop used {cpu:?} of CPU"
    );
}

#[test]
fn run_with_no_tasks_returns_idle() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    assert_eq!(lp.run(&mut ()).unwrap(), Stop::Idle);
    assert_eq!(lp.stats().turns, 0);
}

#[test]
fn a_read_handler_may_add_a_new_read_on_its_own_fd() {
    struct St {
        sock: std::os::unix::net::UnixStream,
        reads: u32,
    }
    fn on_read(st: &mut St, ctx: &mut scheduler::Ctx<St>, ev: Event) {
        assert_eq!(ev, Event::Readable);
        let mut byte = [0u8; 1];
        st.sock.read_exact(&mut byte).unwrap();
        st.reads += 1;
        if st.reads < 3 {
            // zebra style: register a fresh task rather than re-arming this one.
            let fd = std::os::fd::AsRawFd::as_raw_fd(&st.sock);
            ctx.add_read("again", fd, None, on_read).unwrap();
        }
    }
    let (a, mut b) = pair();
    let mut lp: Loop<St> = Loop::new().unwrap();
    lp.ctx().add_read("first", fd(&a), None, on_read).unwrap();
    std::io::Write::write_all(&mut b, b"xyz").unwrap();
    let mut st = St { sock: a, reads: 0 };
    assert_eq!(run_bounded(&mut lp, &mut st, LIMIT), Stop::Idle);
    assert_eq!(st.reads, 3);
}

#[test]
fn rearm_after_another_task_took_the_fd_is_refused() {
    let (a, mut b) = pair();
    let afd = fd(&a);
    let mut lp: Loop<Vec<&'static str>> = Loop::new().unwrap();
    lp.ctx()
        .add_read("old", afd, None, move |l: &mut Vec<_>, ctx, _| {
            l.push("old");
            let me = ctx.current().unwrap();
            ctx.add_read("new", afd, None, |l: &mut Vec<_>, _, _| l.push("new"))
                .unwrap();
            assert!(matches!(
                ctx.rearm_io(me, None),
                Err(Error::Register { .. })
            ));
        })
        .unwrap();
    poke(&mut b);
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Idle);
    assert_eq!(log, ["old", "new"]);
}

#[test]
fn wakers_hand_results_from_other_threads_to_the_loop() {
    use std::sync::mpsc;
    struct St {
        rx: mpsc::Receiver<u32>,
        got: Vec<u32>,
        runs: u32,
    }
    let (tx, rx) = mpsc::channel();
    let mut lp: Loop<St> = Loop::new().unwrap();
    let (id, waker) = lp
        .ctx()
        .add_waker("mailer results", |st: &mut St, _, ev| {
            assert_eq!(ev, Event::Woken);
            st.runs += 1;
            st.got.extend(st.rx.try_iter());
        })
        .unwrap();
    assert_eq!(waker.task(), id);
    let kept = waker.clone();
    let worker = std::thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
            waker.wake().unwrap();
        }
    });
    let mut st = St {
        rx,
        got: Vec::new(),
        runs: 0,
    };
    run_until(&mut lp, &mut st, LIMIT, |st| st.got.len() == 100);
    worker.join().unwrap();
    assert_eq!(st.got, (0..100).collect::<Vec<_>>());
    assert!((1..=100).contains(&st.runs), "{} runs", st.runs);
    // After cancellation a wake is harmless, and so is one after the loop is gone.
    assert!(lp.ctx().cancel(id));
    kept.wake().unwrap();
    lp.run_once(&mut st, Some(Duration::from_millis(20)))
        .unwrap();
    let runs = st.runs;
    assert_eq!(lp.stats().tasks, 0);
    drop(lp);
    kept.wake().unwrap();
    assert_eq!(st.runs, runs);
}

#[test]
fn a_cancelled_waker_task_never_runs() {
    let mut lp: Loop<u32> = Loop::new().unwrap();
    let (id, waker) = lp
        .ctx()
        .add_waker("w", |n: &mut u32, _, _| *n += 1)
        .unwrap();
    waker.wake().unwrap();
    assert!(lp.ctx().cancel(id));
    // The slot is reused by a new waker task: the old waker must not trigger it.
    let (_, fresh) = lp
        .ctx()
        .add_waker("fresh", |n: &mut u32, _, _| *n += 100)
        .unwrap();
    let mut n = 0;
    lp.run_once(&mut n, Some(Duration::from_millis(50)))
        .unwrap();
    assert_eq!(n, 0);
    fresh.wake().unwrap();
    run_until(&mut lp, &mut n, LIMIT, |n| *n == 100);
}

#[test]
fn write_times_out_while_the_peer_does_not_read() {
    let (mut a, _b) = pair();
    // Fill the socket buffer so that `a` is no longer writable.
    let chunk = [0u8; 4096];
    while std::io::Write::write(&mut a, &chunk).is_ok() {}
    let mut lp: Loop<Vec<Event>> = Loop::new().unwrap();
    lp.ctx()
        .add_write(
            "blocked",
            fd(&a),
            Some(Duration::from_millis(30)),
            |l: &mut Vec<_>, _, ev| {
                l.push(ev);
            },
        )
        .unwrap();
    let mut log = Vec::new();
    run_bounded(&mut lp, &mut log, LIMIT);
    assert_eq!(log, [Event::Timeout]);
    assert_eq!(lp.stats().dispatched, 1);
}

#[test]
fn tasks_lists_what_is_pending() {
    use scheduler::TaskKind;
    let (a, _b) = pair();
    let mut lp: Loop<()> = Loop::new().unwrap();
    let now = lp.ctx().now();
    let timer_id = lp
        .ctx()
        .add_timer("advert VI_1", now + Duration::from_secs(1), |(), _, _| {});
    let read_id = lp
        .ctx()
        .add_read(
            "socket",
            fd(&a),
            Some(Duration::from_secs(2)),
            |(), _, _| {},
        )
        .unwrap();
    let sig_id = lp
        .ctx()
        .add_signal("reload", Signal::HUP, |(), _, _| {})
        .unwrap();
    let child_id = lp
        .ctx()
        .spawn(
            "notify",
            scheduler::ChildSpec::new("sleep").arg("30"),
            |(), _, _| {},
        )
        .unwrap();
    let pid = lp.ctx().child_pid(child_id);
    let mut seen: Vec<_> = lp
        .ctx()
        .tasks()
        .map(|i| (i.id, i.name, i.kind, i.deadline.is_some(), i.fd, i.pid))
        .collect();
    seen.sort_by_key(|(_, name, ..)| *name);
    assert_eq!(
        seen,
        [
            (timer_id, "advert VI_1", TaskKind::Timer, true, None, None),
            (child_id, "notify", TaskKind::Child, false, None, pid),
            (
                sig_id,
                "reload",
                TaskKind::Signal(Signal::HUP),
                false,
                None,
                None
            ),
            (read_id, "socket", TaskKind::Read, true, Some(fd(&a)), None),
        ]
    );
    let timer = lp.ctx().tasks().find(|i| i.id == timer_id).unwrap();
    assert_eq!(timer.deadline, Some(now + Duration::from_secs(1)));
    // A cancelled child is no longer listed, even while it is being reaped.
    lp.ctx().cancel(child_id);
    assert!(lp.ctx().tasks().all(|i| i.id != child_id));
}

#[test]
fn stats_report_timer_lateness() {
    let mut lp: Loop<()> = Loop::new().unwrap();
    let past = lp
        .ctx()
        .now()
        .checked_sub(Duration::from_millis(300))
        .unwrap();
    lp.ctx().add_timer("late", past, |(), _, _| {});
    assert_eq!(lp.stats().max_timer_lateness, Duration::ZERO);
    run_bounded(&mut lp, &mut (), LIMIT);
    assert!(lp.stats().max_timer_lateness >= Duration::from_millis(300));
}

#[test]
fn readiness_and_signals_left_by_terminate_are_dispatched_on_the_next_run() {
    let (a, mut b) = pair();
    let (c, mut d) = pair();
    let mut lp: Loop<Vec<&'static str>> = Loop::new().unwrap();
    // Whichever read runs first stops the loop; the other must not lose its readiness, although
    // the kernel reported it (edge-triggered) in the turn that was cut short, and the signal
    // read in that turn must not be lost either.
    for (name, sock) in [("a", &a), ("c", &c)] {
        lp.ctx()
            .add_read(name, fd(sock), None, move |l: &mut Vec<_>, ctx, _| {
                l.push(name);
                if l.len() == 1 {
                    ctx.terminate();
                }
            })
            .unwrap();
    }
    let sig = lp
        .ctx()
        .add_signal("usr1", Signal::USR1, |l: &mut Vec<_>, _, _| l.push("usr1"))
        .unwrap();
    poke(&mut b);
    poke(&mut d);
    Signal::USR1.raise_in_thread().unwrap();
    let mut log = Vec::new();
    assert_eq!(run_bounded(&mut lp, &mut log, LIMIT), Stop::Terminated);
    assert_eq!(log.len(), 1);
    let other = if log[0] == "a" { "c" } else { "a" };
    // Next turn: the other read, then the signal (I/O before signals).
    lp.run_once(&mut log, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(log[1..], [other, "usr1"]);
    lp.ctx().cancel(sig);
}
