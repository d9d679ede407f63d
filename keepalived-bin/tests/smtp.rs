//! E-mail alerts (keepalived-behaviour.md §5.9) from our `keepalived -n` in a network
//! namespace, received by a real SMTP server (aiosmtpd, Debian package python3-aiosmtpd) on the
//! namespace's loopback: the From, To, Subject and body of each alert; and an SMTP server that
//! accepts connections but never answers does not delay the VRRP state machine. Needs root,
//! iproute2, ss and /usr/bin/python3 with aiosmtpd.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vrrp_engine::testlab::{Lab, privileged_with, wait_for};

mod support;
use support::spawn_ours;

const PYTHON: &str = "/usr/bin/python3";
const SHORT: Duration = Duration::from_secs(5);

/// Whether aiosmtpd is there; when it is not, the test is skipped unless
/// `KARS_PRIVILEGED_TESTS=require`.
fn have_aiosmtpd(test: &str) -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("KARS_PRIVILEGED_TESTS").as_deref() != Ok("require"),
            "{test}: python3-aiosmtpd is required"
        );
        eprintln!("skipped: {test}: python3-aiosmtpd is not installed");
    }
    ok
}

fn conf(port: u16, timeout: u32) -> String {
    format!(
        "global_defs {{\n  router_id kars_r1\n  notification_email {{\n    ops@example.com\n    noc@example.org\n  }}\n\
         \x20 notification_email_from vrrp@r1.example.com\n  smtp_server 127.0.0.1 {port}\n  smtp_helo_name r1.example.com\n\
         \x20 smtp_connect_timeout {timeout}\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 0.1\n\
         \x20 smtp_alert\n  virtual_ipaddress {{\n    10.99.0.100/24\n  }}\n}}\n"
    )
}

/// Whether something listens on TCP `port` in host 0.
fn listening(lab: &Lab, port: u16) -> bool {
    lab.command(0, "ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

/// The messages in `maildir/new`, oldest first.
fn messages(maildir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(_, p)| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The value of header `name` (unfolded) in `msg`.
fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

fn body(msg: &str) -> &str {
    msg.split_once("\n\n")
        .or_else(|| msg.split_once("\r\n\r\n"))
        .map_or("", |(_, b)| b)
}

/// The time of day of a console log line (`HH:MM:SS.mmm: ...`).
fn log_time(line: &str) -> Option<Duration> {
    let stamp = line.split(": ").next()?;
    let (hms, ms) = stamp.split_once('.')?;
    let mut secs = 0u64;
    for part in hms.split(':') {
        secs = secs * 60 + part.parse::<u64>().ok()?;
    }
    Some(Duration::from_secs(secs) + Duration::from_millis(ms.parse().ok()?))
}

#[test]
fn alerts_reach_a_real_smtp_server() {
    if !privileged_with("alerts_reach_a_real_smtp_server", &["ss"]).unwrap()
        || !have_aiosmtpd("alerts_reach_a_real_smtp_server")
    {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let maildir = lab.dir().join("maildir");
    // The namespace's loopback is the test's own: any port is free there.
    let port = 2525;
    let server_log = File::create(lab.dir().join("smtpd.log")).unwrap();
    let mut smtpd = lab.command(0, PYTHON);
    smtpd
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(server_log.try_clone().unwrap())
        .stderr(server_log);
    lab.spawn_process(smtpd).unwrap();
    assert!(
        wait_for(SHORT, || listening(&lab, port)),
        "aiosmtpd did not start"
    );

    let (_, log) = spawn_ours(&lab, 0, "k", &conf(port, 5));
    let show = |msgs: &[String]| {
        format!(
            "messages: {msgs:#?}\ndaemon:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    };
    assert!(
        wait_for(SHORT, || messages(&maildir).len() >= 2),
        "{}",
        show(&messages(&maildir))
    );
    let msgs = messages(&maildir);
    let subjects: Vec<&str> = msgs.iter().filter_map(|m| header(m, "Subject")).collect();
    assert_eq!(
        subjects,
        [
            "[kars_r1] VRRP Instance VI_1 - Entering BACKUP state",
            "[kars_r1] VRRP Instance VI_1 - Entering MASTER state"
        ],
        "{}",
        show(&msgs)
    );
    for m in &msgs {
        assert_eq!(header(m, "From"), Some("<vrrp@r1.example.com>"), "{m}");
        let to = header(m, "To").unwrap();
        assert!(
            to.contains("ops@example.com") && to.contains("noc@example.org"),
            "{m}"
        );
        assert_eq!(header(m, "X-Mailer"), Some("Keepalived"), "{m}");
        // aiosmtpd records the envelope sender and the HELO name.
        assert_eq!(header(m, "X-MailFrom"), Some("vrrp@r1.example.com"), "{m}");
        // One RCPT TO per recipient (mail-send does not keep their order).
        let mut rcpt: Vec<&str> = header(m, "X-RcptTo").unwrap().split(", ").collect();
        rcpt.sort_unstable();
        assert_eq!(rcpt, ["noc@example.org", "ops@example.com"], "{m}");
    }
    assert!(body(&msgs[1]).contains("=> VRRP Instance is now owning VRRP VIPs <="));
    assert!(body(&msgs[0]).contains("=> VRRP Instance is no longer owning VRRP VIPs <="));
}

/// A server that accepts the connection and never says a word: the alerts wait on their own
/// thread until `smtp_connect_timeout`; VRRP goes to MASTER on time regardless.
#[test]
fn a_silent_smtp_server_does_not_delay_vrrp() {
    if !privileged_with("a_silent_smtp_server_does_not_delay_vrrp", &[]).unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let port = 2526;
    // A listener in the namespace that never accepts: the kernel completes the handshake.
    let (tx, rx) = std::sync::mpsc::channel();
    let hold = lab.spawn_in(0, move |_| {
        let l = std::net::TcpListener::bind(("127.0.0.1", port))?;
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(20));
        drop(l);
        Ok(())
    });
    rx.recv_timeout(SHORT).unwrap();
    let (_, log) = spawn_ours(&lab, 0, "k", &conf(port, 3));
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_for(SHORT, || text().contains("(VI_1) Entering MASTER STATE")),
        "{}",
        text()
    );
    // BACKUP, then master-down after 3 x 0.1 s + skew, while the BACKUP alert still waits for
    // its greeting (3 s): measured between the two log lines, so process start-up on a loaded
    // machine does not count.
    let at = |needle: &str| {
        text()
            .lines()
            .find(|l| l.contains(needle))
            .and_then(log_time)
            .unwrap()
    };
    // (Saturating: a run across midnight UTC measures nothing rather than failing.)
    let took =
        at("(VI_1) Entering MASTER STATE").saturating_sub(at("(VI_1) Entering BACKUP STATE"));
    assert!(
        took < Duration::from_millis(1500),
        "MASTER {took:?} after BACKUP\n{}",
        text()
    );
    assert!(!text().contains("SMTP alert sent"), "{}", text());
    assert!(
        wait_for(Duration::from_secs(10), || text().contains("timed out")),
        "{}",
        text()
    );
    drop(hold);
}
