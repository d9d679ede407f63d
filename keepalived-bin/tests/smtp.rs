//! E-mail alerts (keepalived-behaviour.md §5.9) from our `keepalived -n` in a network
//! namespace, received by a real SMTP server (aiosmtpd, Debian package python3-aiosmtpd) on the
//! namespace's loopback: the From, To, Subject and body of each alert; an SMTP server that
//! accepts connections but never answers does not delay the VRRP state machine; the server's
//! name is resolved at each alert; and the STARTTLS and AUTH extension (a certificate made by
//! the `openssl` command, AUTH checked by the server). Needs root, iproute2, ss, openssl and
//! /usr/bin/python3 with aiosmtpd.

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

/// Whether a test that needs root, `tools` and aiosmtpd can run (else it prints "skipped").
fn ready(test: &str, tools: &[&str]) -> bool {
    privileged_with(test, tools).unwrap() && have_aiosmtpd(test)
}

/// Waits (up to `wait`) until the daemon logging to `log` has failed to send two alerts, and
/// checks the log gives `why`.
fn failed_twice(log: &Path, wait: Duration, why: &str) {
    let text = || support::text(log);
    assert!(
        wait_for(wait, || text().contains("(2 failed so far)")),
        "{}",
        text()
    );
    assert!(text().contains(why), "{}", text());
}

fn conf(port: u16, timeout: u32) -> String {
    conf_with("localhost", port, timeout, "", "")
}

/// A configuration sending alerts to `server`, with `extra` in `global_defs` and `instance`
/// in the instance.
fn conf_with(server: &str, port: u16, timeout: u32, extra: &str, instance: &str) -> String {
    format!(
        "global_defs {{\n  router_id kars_r1\n  notification_email {{\n    ops@example.com\n    noc@example.org\n  }}\n\
         \x20 notification_email_from vrrp@r1.example.com\n  smtp_server {server} {port}\n  smtp_helo_name r1.example.com\n\
         \x20 smtp_connect_timeout {timeout}\n  vrrp_version 3\n{extra}}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 0.1\n\
         \x20 smtp_alert\n{instance}  virtual_ipaddress {{\n    10.99.0.100/24\n  }}\n}}\n"
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

/// Starts aiosmtpd on 127.0.0.1:`port` in host 0, plain SMTP, storing mail in a maildir;
/// returns the maildir.
fn start_mailbox(lab: &Lab, port: u16) -> PathBuf {
    start_mailbox_named(lab, port, "maildir")
}

/// [`start_mailbox`] with the maildir (and the server's log) named `name`.
fn start_mailbox_named(lab: &Lab, port: u16, name: &str) -> PathBuf {
    let maildir = lab.dir().join(name);
    let server_log = File::create(lab.dir().join(format!("{name}.log"))).unwrap();
    let mut smtpd = lab.command(0, PYTHON);
    smtpd
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(server_log.try_clone().unwrap())
        .stderr(server_log);
    lab.spawn_process(smtpd).unwrap();
    assert!(
        wait_for(SHORT, || listening(lab, port)),
        "aiosmtpd did not start"
    );
    maildir
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
    if !ready("alerts_reach_a_real_smtp_server", &["ss"]) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    // The namespace's loopback is the test's own: any port is free there.
    let port = 2525;
    let maildir = start_mailbox(&lab, port);

    // `localhost`: a name, resolved when the alert is sent (to ::1, refused, then 127.0.0.1).
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
    // The listener lives until the test says it is done (or 20 s at most if the test dies).
    let (release, released) = std::sync::mpsc::channel::<()>();
    let hold = lab.spawn_in(0, move |_| {
        let l = std::net::TcpListener::bind(("127.0.0.1", port))?;
        tx.send(()).unwrap();
        let _ = released.recv_timeout(Duration::from_secs(20));
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
    release.send(()).unwrap();
    hold.join().unwrap().unwrap();
}

/// `keepalived -t` accepts a host name that does not resolve (a warning: keepalived would
/// resolve it once at start-up) and the STARTTLS/AUTH extension keywords without a word.
#[test]
fn config_test_accepts_a_late_name_and_the_tls_auth_extension() {
    let dir = std::env::temp_dir().join(format!("kars-smtp-t-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = |server: &str| {
        format!(
            "global_defs {{\n  notification_email {{\n    ops@example.com\n  }}\n  smtp_server {server} 587\n\
             \x20 smtp_starttls\n  smtp_tls_ca /etc/ssl/certs/ca-certificates.crt\n  smtp_auth_user ka\n\
             \x20 smtp_auth_password_file /etc/keepalived/smtp.secret\n}}\n"
        )
    };
    let run = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_keepalived"))
            .arg("-t")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap()
    };
    // RFC 6761: `.invalid` never resolves.
    let out = run("name.conf", &conf("smtp.invalid"));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("0 error(s), 1 warning(s)"), "{err}");
    assert!(
        err.contains("smtp_server 'smtp.invalid' is not an IP address"),
        "{err}"
    );
    assert!(
        err.contains("keepalived-rs resolves it for every alert"),
        "{err}"
    );
    let out = run("addr.conf", &conf("192.0.2.25"));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    // AUTH that would go in clear text is refused.
    let out = run(
        "clear.conf",
        &conf("192.0.2.25").replace("  smtp_starttls\n", ""),
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("password in clear text"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/etc/netns/NS/hosts`, which `ip netns exec NS` (every lab command) mounts over
/// `/etc/hosts`: the test decides what names resolve to. Removed on drop.
struct NetnsHosts {
    dir: PathBuf,
    file: PathBuf,
}

impl NetnsHosts {
    fn new(lab: &Lab, text: &str) -> NetnsHosts {
        let dir = Path::new("/etc/netns").join(&lab.host(0).ns);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hosts");
        std::fs::write(&file, text).unwrap();
        NetnsHosts { dir, file }
    }

    /// Rewrites the file in place (the bind mount shows the same inode).
    fn set(&self, text: &str) {
        std::fs::write(&self.file, text).unwrap();
    }
}

impl Drop for NetnsHosts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `track_file` the test writes to put `VI_1` in FAULT (and so send one more alert).
fn fault_trigger(lab: &Lab) -> (PathBuf, String, String) {
    let path = lab.dir().join("fault.track");
    std::fs::write(&path, "0\n").unwrap();
    let global = format!(
        "}}\ntrack_file fault {{\n  file {}\n  weight 0\n",
        path.display()
    );
    let instance = "  track_file {\n    fault\n  }\n".to_owned();
    (path, global, instance)
}

/// The server's name does not resolve when the daemon starts: the first alerts fail with the
/// reason in the log and are counted, VRRP goes on regardless; once the name resolves, the next
/// alert is delivered, with no reload.
#[test]
fn a_server_name_is_resolved_at_each_alert() {
    if !ready("a_server_name_is_resolved_at_each_alert", &["ss"]) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let hosts = NetnsHosts::new(&lab, "127.0.0.1 localhost\n");
    let port = 2527;
    let maildir = start_mailbox(&lab, port);
    let (track, global, instance) = fault_trigger(&lab);
    let (_, log) = spawn_ours(
        &lab,
        0,
        "k",
        &conf_with("smtp.kars.test", port, 2, &global, &instance),
    );
    let text = || support::text(&log);
    // The resolver answers at once in a namespace without a route to the name server; should
    // it wait instead, each session ends after twice smtp_connect_timeout.
    failed_twice(
        &log,
        Duration::from_secs(20),
        "failed (1 failed so far): cannot resolve 'smtp.kars.test'",
    );
    // VRRP went on meanwhile.
    assert!(
        text().contains("(VI_1) Entering MASTER STATE"),
        "{}",
        text()
    );
    assert!(messages(&maildir).is_empty());

    hosts.set("127.0.0.1 localhost smtp.kars.test\n");
    std::fs::write(&track, "1\n").unwrap();
    assert!(
        wait_for(SHORT, || !messages(&maildir).is_empty()),
        "{}",
        text()
    );
    let msgs = messages(&maildir);
    assert_eq!(
        header(&msgs[0], "Subject"),
        Some("[kars_r1] VRRP Instance VI_1 - Entering FAULT state"),
        "{}",
        text()
    );
    // The server stores the message before it answers: the log line may come a little later.
    assert!(
        wait_for(SHORT, || text().contains(
            "SMTP alert sent: [kars_r1] VRRP Instance VI_1 - Entering FAULT"
        )),
        "{}",
        text()
    );
}

/// A server that offers no STARTTLS: with `smtp_starttls opportunistic` and AUTH configured,
/// the password is not sent in clear text and nothing is delivered; with `smtp_starttls
/// required`, nothing is sent at all.
#[test]
fn no_auth_or_mail_without_tls_when_tls_is_wanted() {
    if !ready("no_auth_or_mail_without_tls_when_tls_is_wanted", &["ss"]) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let port = 2528;
    let maildir = start_mailbox(&lab, port);
    let pw = lab.dir().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let extra = format!(
        "  smtp_starttls opportunistic\n  smtp_auth_user ka\n  smtp_auth_password_file {}\n",
        pw.display()
    );
    let (pid, log) = spawn_ours(&lab, 0, "k", &conf_with("127.0.0.1", port, 5, &extra, ""));
    failed_twice(&log, SHORT, "the password is not sent in clear text");
    lab.terminate(pid).unwrap();
    assert!(lab.wait_exit(pid, SHORT).unwrap());

    let (_, log) = spawn_ours(
        &lab,
        0,
        "k2",
        &conf_with("127.0.0.1", port, 5, "  smtp_starttls\n", ""),
    );
    failed_twice(
        &log,
        SHORT,
        "the server does not offer STARTTLS (smtp_starttls required)",
    );
    assert!(messages(&maildir).is_empty());
}

/// An aiosmtpd that requires STARTTLS before AUTH and AUTH before mail, with user `ka` and
/// password `right`; each message it takes is stored with headers saying whether the session
/// was in TLS and who logged in.
const TLS_AUTH_SERVER: &str = r#"
import os, signal, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

cert, key, port, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"ka" and auth_data.password == b"right"
    print("AUTH", mechanism, ok, flush=True)
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        user = session.auth_data.login.decode() if session.auth_data else "-"
        head = "X-TLS: %s\nX-Auth-User: %s\n" % ("yes" if session.ssl else "no", user)
        name = os.path.join(out, "%d-%d" % (time.time_ns(), os.getpid()))
        with open(name + ".tmp", "w") as f:
            f.write(head + envelope.content.decode("utf8", "replace"))
        os.rename(name + ".tmp", name)
        return "250 OK"

c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
               auth_required=True, auth_require_tls=True, authenticator=authenticator)
c.start()
print("listening", flush=True)
signal.pause()
"#;

/// Makes a throwaway self-signed certificate for localhost and starts [`TLS_AUTH_SERVER`] with
/// it on 127.0.0.1:`port` in host 0; returns the certificate and the server's inbox.
fn start_tls_auth_server(lab: &Lab, port: u16) -> (PathBuf, PathBuf) {
    let dir = lab.dir().to_path_buf();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    // A throwaway self-signed certificate for localhost; not a CA (rustls refuses a CA
    // certificate as the server's own).
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let script = dir.join("server.py");
    std::fs::write(&script, TLS_AUTH_SERVER).unwrap();
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let server_log = File::create(dir.join("smtpd.log")).unwrap();
    let mut smtpd = lab.command(0, PYTHON);
    smtpd
        .arg(&script)
        .arg(&cert)
        .arg(&key)
        .arg(port.to_string())
        .arg(&inbox)
        .stdout(server_log.try_clone().unwrap())
        .stderr(server_log);
    lab.spawn_process(smtpd).unwrap();
    assert!(
        wait_for(SHORT, || listening(lab, port)),
        "the server did not start: {}",
        support::text(&dir.join("smtpd.log"))
    );
    (cert, inbox)
}

/// The messages the TLS/AUTH server stored, oldest first.
fn inbox_files(inbox: &Path) -> Vec<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(inbox)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_none())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// STARTTLS and AUTH (keepalived-rs extension) against a server that requires both, the
/// certificate checked against `smtp_tls_ca` for the name `localhost`: a wrong password gives
/// logged failures and no mail; the right one (the password file is read at each alert, no
/// reload) delivers the next alert inside TLS as user `ka`.
#[test]
fn starttls_and_auth_deliver_with_the_right_password_only() {
    if !ready(
        "starttls_and_auth_deliver_with_the_right_password_only",
        &["ss", "openssl"],
    ) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let dir = lab.dir().to_path_buf();
    let port = 2529;
    let (cert, inbox) = start_tls_auth_server(&lab, port);
    let inbox_files = || inbox_files(&inbox);

    let pw = dir.join("pw");
    std::fs::write(&pw, "wrong\n").unwrap();
    let (track, global, instance) = fault_trigger(&lab);
    let extra = format!(
        "  smtp_starttls\n  smtp_tls_ca {}\n  smtp_auth_user ka\n  smtp_auth_password_file {}\n{global}",
        cert.display(),
        pw.display()
    );
    let (_, log) = spawn_ours(
        &lab,
        0,
        "k",
        &conf_with("localhost", port, 5, &extra, &instance),
    );
    let text = || support::text(&log);
    let show = || {
        format!(
            "daemon:\n{}\nserver:\n{}",
            text(),
            support::text(&dir.join("smtpd.log"))
        )
    };
    failed_twice(&log, SHORT, "Authentication failed");
    assert!(
        support::text(&dir.join("smtpd.log")).contains("AUTH"),
        "{}",
        show()
    );
    assert!(inbox_files().is_empty(), "{}", show());

    std::fs::write(&pw, "right\n").unwrap();
    std::fs::write(&track, "1\n").unwrap();
    assert!(wait_for(SHORT, || !inbox_files().is_empty()), "{}", show());
    let msgs = inbox_files();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    let m = &msgs[0];
    assert_eq!(header(m, "X-TLS"), Some("yes"), "{m}");
    assert_eq!(header(m, "X-Auth-User"), Some("ka"), "{m}");
    assert_eq!(
        header(m, "Subject"),
        Some("[kars_r1] VRRP Instance VI_1 - Entering FAULT state"),
        "{m}"
    );
    assert!(
        wait_for(SHORT, || text().contains(
            "SMTP alert sent (STARTTLS, AUTH): [kars_r1] VRRP Instance VI_1 - Entering FAULT"
        )),
        "{}",
        show()
    );
}

/// The mailer program cannot be found (`KEEPALIVED_SMTP_HELPER` names nothing): a warning that
/// says what is missing and how to fix it; VRRP runs on and goes to MASTER regardless.
#[test]
fn a_missing_mailer_is_reported_and_vrrp_runs_on() {
    if !privileged_with("a_missing_mailer_is_reported_and_vrrp_runs_on", &[]).unwrap() {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let missing = lab.dir().join("no-such-keepalived-smtp");
    let (pid, log) = support::spawn_ours_with(
        &lab,
        0,
        "k",
        &conf(2528, 2),
        &[("KEEPALIVED_SMTP_HELPER", missing.to_str().unwrap())],
    );
    let text = || support::text(&log);
    assert!(
        wait_for(SHORT, || text().contains("(VI_1) Entering MASTER STATE")),
        "{}",
        text()
    );
    let warned = format!("cannot start the mailer {}", missing.display());
    assert!(wait_for(SHORT, || text().contains(&warned)), "{}", text());
    assert!(text().contains("KEEPALIVED_SMTP_HELPER"), "{}", text());
    // The alerts of BACKUP and MASTER are dropped and counted.
    assert!(wait_for(SHORT, || text().contains("dropped")), "{}", text());
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the daemon exited\n{}",
        text()
    );
}

/// Our daemon (named `k`) mailing its alerts to 127.0.0.1:`port`, with a [`fault_trigger`],
/// once its first two alerts (BACKUP, MASTER) are in `maildir`: its pid, log and trigger.
fn mailing_daemon(lab: &Lab, port: u16, maildir: &Path) -> (u32, PathBuf, PathBuf) {
    let (track, global, instance) = fault_trigger(lab);
    let (daemon, log) = spawn_ours(
        lab,
        0,
        "k",
        &conf_with("127.0.0.1", port, 2, &global, &instance),
    );
    assert!(
        wait_for(SHORT, || messages(maildir).len() >= 2),
        "{}",
        support::text(&log)
    );
    (daemon, log, track)
}

/// `kill -SIG pid`.
fn signal(sig: &str, pid: impl std::fmt::Display) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid}");
}

/// The pid in the last "mailer started (pid N)" line of `log`.
fn mailer_pid(log: &str) -> Option<i32> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("mailer started (pid "))?;
    line.split("(pid ").nth(1)?.split(')').next()?.parse().ok()
}

/// The mailer is killed: the daemon notices, and the next alert starts a new one, which
/// delivers it.
#[test]
fn a_killed_mailer_is_started_again() {
    if !ready("a_killed_mailer_is_started_again", &["ss"]) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let port = 2529;
    let maildir = start_mailbox(&lab, port);
    let (daemon, log, track) = mailing_daemon(&lab, port, &maildir);
    let text = || support::text(&log);
    let first = mailer_pid(&text()).unwrap();
    signal("KILL", first);
    assert!(
        wait_for(SHORT, || text()
            .contains(&format!("SMTP mailer (pid {first}) exited"))),
        "{}",
        text()
    );
    std::fs::write(&track, "1\n").unwrap();
    assert!(
        wait_for(SHORT, || messages(&maildir).len() >= 3),
        "{}",
        text()
    );
    let msgs = messages(&maildir);
    assert_eq!(
        header(&msgs[2], "Subject"),
        Some("[kars_r1] VRRP Instance VI_1 - Entering FAULT state"),
        "{}",
        text()
    );
    let second = mailer_pid(&text()).unwrap();
    assert_ne!(first, second, "{}", text());
    // It stops with the daemon.
    assert!(running(second), "{}", text());
    signal("TERM", daemon);
    assert!(
        wait_for(SHORT, || !running(second)),
        "mailer {second} still runs\n{}",
        text()
    );
}

/// Whether `pid` runs (a zombie does not).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| !r.starts_with('Z')))
}

/// A reload that changes the server hands the new settings to the running mailer: the next
/// alert goes to the new server, and no second mailer is started.
#[test]
fn a_reload_gives_the_mailer_new_settings() {
    if !ready("a_reload_gives_the_mailer_new_settings", &["ss"]) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let (old_port, new_port) = (2530, 2531);
    let old_box = start_mailbox_named(&lab, old_port, "old");
    let new_box = start_mailbox_named(&lab, new_port, "new");
    let (daemon, log, track) = mailing_daemon(&lab, old_port, &old_box);
    let text = || support::text(&log);
    let conf = lab.dir().join("k.conf");
    let old_text = std::fs::read_to_string(&conf).unwrap();
    let new_text = old_text.replace(&format!(" {old_port}\n"), &format!(" {new_port}\n"));
    assert_ne!(old_text, new_text);
    std::fs::write(&conf, new_text).unwrap();
    signal("HUP", daemon);
    assert!(
        wait_for(SHORT, || text()
            .contains("new settings handed to the running mailer")),
        "{}",
        text()
    );
    std::fs::write(&track, "1\n").unwrap();
    assert!(
        wait_for(SHORT, || !messages(&new_box).is_empty()),
        "{}",
        text()
    );
    assert_eq!(
        header(&messages(&new_box)[0], "Subject"),
        Some("[kars_r1] VRRP Instance VI_1 - Entering FAULT state"),
        "{}",
        text()
    );
    assert_eq!(messages(&old_box).len(), 2, "{}", text());
    assert_eq!(text().matches("mailer started").count(), 1, "{}", text());
}
