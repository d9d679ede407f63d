//! What the daemon refuses before touching the network (no privileges needed).

use std::process::Command;

fn keepalived(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(args)
        .output()
        .expect("run keepalived");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn forking_is_refused_with_a_clear_message() {
    let (code, err) = keepalived(&["-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 4);
    assert!(err.contains("-n/--dont-fork"), "{err}");
}

#[test]
fn checker_only_is_refused() {
    let (code, err) = keepalived(&["-n", "-C", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 4);
    assert!(err.contains("health checker"), "{err}");
}

#[test]
fn unknown_facility_is_refused() {
    let (code, err) = keepalived(&["-n", "-S", "9", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 4);
    assert!(err.contains("facility"), "{err}");
}
