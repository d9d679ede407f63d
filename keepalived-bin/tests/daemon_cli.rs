//! What the daemon refuses or answers before touching the network (no privileges needed).

#![allow(clippy::unwrap_used, clippy::panic)] // tests may unwrap

use std::process::Command;
use std::time::{Duration, Instant};

fn keepalived(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(args)
        .output()
        .expect("run keepalived");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_file_fails_before_going_to_the_background() {
    let started = Instant::now();
    let (code, _, err) = keepalived(&["-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("/nonexistent/keepalived.conf"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn checker_only_is_refused() {
    let (code, _, err) = keepalived(&["-n", "-C", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 4);
    assert!(err.contains("health checker"), "{err}");
}

#[test]
fn unknown_facility_is_refused() {
    let (code, _, err) = keepalived(&["-n", "-S", "9", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 4);
    assert!(err.contains("facility"), "{err}");
}

#[test]
fn signum_prints_keepalived_signal_numbers() {
    for (name, number) in [("STOP", 15), ("RELOAD", 1), ("DATA", 10), ("STATS", 12)] {
        let (code, out, _) = keepalived(&[&format!("--signum={name}")]);
        assert_eq!(
            (code, out.trim()),
            (0, number.to_string().as_str()),
            "{name}"
        );
    }
    let (code, out, _) = keepalived(&["--signum=JSON"]);
    assert_eq!(code, 0);
    let json: i32 = out.trim().parse().unwrap();
    assert!(json > 31, "SIGRTMIN+2 is a real-time signal: {json}");
    // keepalived's STATS_CLEAR is not acted on: refused rather than naming a signal that would
    // kill the daemon.
    let (code, _, err) = keepalived(&["--signum=STATS_CLEAR"]);
    assert_eq!(code, 1);
    assert!(err.contains("STATS_CLEAR"), "{err}");
}
