//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use scheduler::{Loop, Stop};

/// A connected, non-blocking socket pair: write to `.1` to make `.0` readable.
pub fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

pub fn fd(s: &UnixStream) -> RawFd {
    s.as_raw_fd()
}

pub fn poke(s: &mut UnixStream) {
    s.write_all(b"x").unwrap();
}

/// Runs the loop until it stops, failing the test if that takes longer than `limit`.
pub fn run_bounded<S>(lp: &mut Loop<S>, state: &mut S, limit: Duration) -> Stop {
    let end = Instant::now() + limit;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "loop did not stop within {limit:?}");
        if let Some(stop) = lp.run_once(state, Some(left)).unwrap() {
            return stop;
        }
    }
}

/// Runs turns until `done(state)` holds, failing after `limit`.
pub fn run_until<S>(lp: &mut Loop<S>, state: &mut S, limit: Duration, done: impl Fn(&S) -> bool) {
    let end = Instant::now() + limit;
    while !done(state) {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "condition not reached within {limit:?}");
        lp.run_once(state, Some(left.min(Duration::from_millis(100))))
            .unwrap();
    }
}

/// Whether process `pid` still exists (a zombie still has a /proc entry).
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Runs turns until child task `id` has been started by the spawner thread; returns its pid.
pub fn started_pid<S>(lp: &mut Loop<S>, state: &mut S, id: scheduler::TaskId) -> u32 {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = lp.ctx().child_pid(id) {
            return pid;
        }
        assert!(Instant::now() < end, "child not started within 20 s");
        lp.run_once(state, Some(Duration::from_millis(10))).unwrap();
    }
}
