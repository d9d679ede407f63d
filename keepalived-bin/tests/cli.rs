//! The `keepalived` binary's configuration test: exit codes, the report, `--dump-conf`, and the
//! same verdicts as Debian's keepalived on the same files when it is installed.

#![allow(clippy::unwrap_used, clippy::panic)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keepalived"))
}

/// A fresh directory for one test, removed when the test ends (passed or failed).
fn dir(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("kars-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// A directory removed on drop.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real, non-loopback interface of this host, for configurations both daemons accept: the
/// interface of the default route if there is one (it has an address), else the first by name.
fn interface() -> Option<String> {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let default = routes.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 1 && f[1] == "00000000" && f[0] != "lo").then(|| f[0].to_owned())
    });
    if default.is_some() {
        return default;
    }
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n != "lo")
        .collect();
    names.sort();
    names.into_iter().next()
}

fn config(ifname: &str, priority_kw: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface {ifname}\n  virtual_router_id 51\n  {priority_kw} 100\n  advert_int 1\n  virtual_ipaddress {{\n    192.0.2.1/32\n  }}\n}}\n"
    )
}

fn run(args: &[&str], file: &Path) -> Output {
    bin().args(args).arg("-f").arg(file).output().unwrap()
}

#[test]
fn clean_typo_and_missing() {
    let d = dir("codes");
    let ifname = interface().unwrap_or_else(|| "eth0".into());
    std::fs::write(d.join("clean.conf"), config(&ifname, "priority")).unwrap();
    std::fs::write(d.join("typo.conf"), config(&ifname, "prority")).unwrap();

    let out = run(&["-t"], &d.join("typo.conf"));
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: unknown keyword 'prority' in vrrp_instance"),
        "{err}"
    );
    assert!(err.contains("typo.conf:4:3"), "{err}");
    assert!(err.contains("4 |   prority 100\n  |   ^^^^^^^"), "{err}");
    assert!(err.contains("help: did you mean 'priority'?"), "{err}");

    let out = run(&["--config-test"], &d.join("nope.conf"));
    assert_eq!(
        out.status.code(),
        Some(4),
        "an unreadable file means the daemon could not run"
    );

    if interface().is_some() {
        let out = run(&["-t"], &d.join("clean.conf"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        println!("skipped: the clean-config case needs a non-loopback interface");
    }
}

#[test]
fn report_to_a_file_and_glob() {
    let d = dir("log");
    std::fs::write(d.join("a.conf"), "global_defs {\n  rooter_id x\n}\n").unwrap();
    let log = d.join("report.txt");
    let out = bin()
        .arg(format!("--config-test={}", log.display()))
        .arg("-f")
        .arg(d.join("*.conf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let report = std::fs::read_to_string(&log).unwrap();
    assert!(report.contains("did you mean 'router_id'?"), "{report}");
    let out = run(&["-t"], &d.join("*.nothing"));
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn dump_conf_reads_back() {
    let d = dir("dump");
    let src = "global_defs { router_id r1 }\nvrrp_script chk {\n script \"/bin/check x\"\n weight -5\n}\nvirtual_server 192.0.2.9 80 { lb_kind DR\n real_server 192.0.2.10 80 { TCP_CHECK { connect_timeout 2 } } }\n";
    std::fs::write(d.join("in.conf"), src).unwrap();
    let out = run(&["-t", "-d"], &d.join("in.conf"));
    let dumped = String::from_utf8(out.stdout).unwrap();
    assert!(
        dumped.contains("script \"/bin/check x\"") && dumped.contains("lb_kind DR"),
        "{dumped}"
    );
    std::fs::write(d.join("out.conf"), &dumped).unwrap();
    let again = run(&["-t", "-d"], &d.join("out.conf"));
    assert_eq!(String::from_utf8(again.stdout).unwrap(), dumped);
    assert_eq!(again.status.code(), out.status.code());
}

#[test]
fn version_and_daemon_options_parse() {
    let out = bin().arg("-v").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Keepalived-rs v"));
    // keepalived's option letters are accepted; the daemon itself is not there yet.
    let out = bin()
        .args([
            "-P",
            "-C",
            "-l",
            "-D",
            "-S",
            "1",
            "-n",
            "-R",
            "-p",
            "/tmp/x.pid",
            "-r",
            "/tmp/v.pid",
            "-c",
            "/tmp/c.pid",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let out = bin().arg("--no-such-option").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "unknown options are an error (keepalived 1.2.13 exited 0)"
    );
}

/// The same verdict as Debian's keepalived on files both can judge without host differences.
#[test]
fn same_verdict_as_keepalived() {
    let ka = Path::new("/usr/sbin/keepalived");
    let required = std::env::var("KARS_PRIVILEGED_TESTS").is_ok_and(|v| v == "require");
    let Some(ifname) = interface() else {
        assert!(!required, "needs a non-loopback interface");
        println!("skipped: needs a non-loopback interface");
        return;
    };
    if !ka.exists() {
        assert!(
            !required,
            "needs /usr/sbin/keepalived (apt-get install keepalived)"
        );
        println!("skipped: needs /usr/sbin/keepalived");
        return;
    }
    let d = dir("ka");
    let cases = [
        ("clean", config(&ifname, "priority")),
        ("typo", config(&ifname, "prority")),
        ("nb_get_retry", "virtual_server 192.0.2.9 80 {\n real_server 192.0.2.10 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n   nb_get_retry 2\n  }\n }\n}\n".to_owned()),
        ("auth_pass", config(&ifname, "priority").replace("advert_int 1", "advert_int 1\n  authentication {\n    auth_type PASS\n    auth_pass 0123456789\n  }")),
        ("one_line_block", config(&ifname, "priority").replace("virtual_ipaddress {\n    192.0.2.1/32\n  }", "virtual_ipaddress { 192.0.2.1/32 }")),
        ("missing_brace", config(&ifname, "priority").trim_end().trim_end_matches('}').to_owned()),
    ];
    for (name, text) in cases {
        let f = d.join(format!("{name}.conf"));
        std::fs::write(&f, text).unwrap();
        let theirs = Command::new(ka)
            .arg("-t")
            .arg("-f")
            .arg(&f)
            .output()
            .unwrap();
        let ours = run(&["-t"], &f);
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{name}: ours {}\ntheirs {}",
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr)
        );
    }
}
