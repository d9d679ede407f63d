//! E-mail alerts, the daemon's side (keepalived-behaviour.md §5.9): the mail itself goes out
//! from a separate program, `keepalived-smtp` (src/smtp.rs), so that the daemon's binary
//! carries no SMTP, TLS or async code: that code would be resident in every daemon process
//! (fault-around maps it) although it runs only when a state change is mailed.
//!
//! [`Mailer`] starts the program when mail alerts are configured (and again at an alert if it
//! is not running), writes it the settings and one record per alert on a socket pair (its
//! standard input and output; the framing is [`crate::mail::encode_record`]'s), and a thread
//! of its own reads back one record per outcome, which it logs. The VRRP loop never waits for
//! it: at most [`QUEUE_LIMIT`] alerts are unanswered at a time, later ones are dropped,
//! counted and logged; a mailer that died is started again at the next alert (at once the
//! first time, then after a back-off doubling from 1 s to 60 s while it keeps dying,
//! [`Backoff::mailer`]; alerts in between are dropped and counted). It is stopped (its input closed: it
//! exits at once) when the daemon stops or a reload drops mail; a reload that changes the
//! settings writes them to the running mailer.
//!
//! Where the program is: `$KEEPALIVED_SMTP_HELPER` when set, else `keepalived-smtp` in the
//! directory of the running `keepalived`. Missing, it is a warning: VRRP runs without mail.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::mail::{Mail, SmtpSettings, read_record, tag, write_record};
use crate::process::Backoff;

/// How many alerts may wait for the mailer (sent to it, not yet answered).
pub(crate) const QUEUE_LIMIT: usize = 64;

/// The environment variable naming the mailer program (else `keepalived-smtp` next to
/// `keepalived`).
pub(crate) const HELPER_ENV: &str = "KEEPALIVED_SMTP_HELPER";

/// The mailer program's file name.
pub(crate) const HELPER_NAME: &str = "keepalived-smtp";

/// Where the mailer program is: `$KEEPALIVED_SMTP_HELPER`, else next to this executable.
fn helper_path() -> PathBuf {
    if let Some(p) = std::env::var_os(HELPER_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(HELPER_NAME)))
        .unwrap_or_else(|| PathBuf::from(HELPER_NAME))
}

/// A running mailer process.
struct Helper {
    sock: UnixStream,
    /// Alerts written and not answered yet.
    queued: Arc<AtomicUsize>,
    /// Cleared when the mailer's end of the socket closes (it exited).
    alive: Arc<AtomicBool>,
    /// Set before the daemon closes the socket on purpose (no "exited" warning then).
    stopping: Arc<AtomicBool>,
    started: Instant,
}

impl Drop for Helper {
    fn drop(&mut self) {
        // The mailer exits when it reads the end of its input; its reader thread reaps it.
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

/// The mailer process, seen from the daemon (started, fed, restarted, stopped).
pub(crate) struct Mailer {
    settings: SmtpSettings,
    log: crate::notify::SharedLog,
    helper: Option<Helper>,
    /// Alerts never handed to a mailer (queue full, no mailer).
    dropped: u64,
    /// No new start before this (back-off), and the back-off.
    not_before: Option<Instant>,
    backoff: Backoff,
}

impl Mailer {
    /// Starts the mailer (a failure is logged: [`Mailer::send`] tries again).
    pub(crate) fn start(settings: SmtpSettings, log: crate::notify::SharedLog) -> Mailer {
        let mut m = Mailer {
            settings,
            log,
            helper: None,
            dropped: 0,
            not_before: None,
            backoff: Backoff::mailer(),
        };
        m.spawn();
        m
    }

    /// New settings (a reload): written to the running mailer, used by later alerts.
    pub(crate) fn update(&mut self, settings: SmtpSettings) {
        if settings == self.settings {
            return;
        }
        self.settings = settings;
        if let Some(h) = &mut self.helper {
            if write_record(&mut h.sock, tag::SETTINGS, &self.settings.to_fields()).is_ok() {
                self.log
                    .info("SMTP alerts: new settings handed to the running mailer");
            } else {
                // It is started again, with these settings, at the next alert.
                self.helper = None;
            }
        }
    }

    fn spawn(&mut self) {
        let now = Instant::now();
        // A mailer that lived long was not "dying at start": no back-off for its successor.
        let ran = self
            .helper
            .as_ref()
            .map_or(Duration::ZERO, |h| now.duration_since(h.started));
        self.helper = None;
        self.not_before = Some(now + self.backoff.delay(ran));
        match self.try_spawn(helper_path()) {
            Ok(h) => self.helper = Some(h),
            Err(e) => self
                .log
                .warn(&format!("SMTP alerts: cannot start the mailer: {e}")),
        }
    }

    /// The socket pair and the thread that starts the mailer, reads its answers and reaps it:
    /// `fork`/`exec` take the VRRP loop's thread no time, and the mailer does not inherit its
    /// real-time policy.
    fn try_spawn(&self, path: PathBuf) -> std::io::Result<Helper> {
        let (mut ours, theirs) = UnixStream::pair()?;
        // Bounded writes: the queue limit keeps the socket buffer from filling, and should it
        // fill all the same, the VRRP loop waits at most this long.
        ours.set_write_timeout(Some(Duration::from_millis(10)))?;
        write_record(&mut ours, tag::SETTINGS, &self.settings.to_fields())?;
        let helper = Helper {
            sock: ours.try_clone()?,
            queued: Arc::new(AtomicUsize::new(0)),
            alive: Arc::new(AtomicBool::new(true)),
            stopping: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
        };
        let (q, a, s, log) = (
            Arc::clone(&helper.queued),
            Arc::clone(&helper.alive),
            Arc::clone(&helper.stopping),
            self.log.clone(),
        );
        let mut reader = ours;
        std::thread::Builder::new()
            .name("smtp".into())
            .spawn(move || {
                crate::notify::block_daemon_signals();
                let _ = scheduler::clear_realtime_priority();
                let started = theirs.try_clone().and_then(|input| {
                    Command::new(&path)
                        .stdin(Stdio::from(std::os::fd::OwnedFd::from(input)))
                        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
                        .stderr(Stdio::inherit())
                        .spawn()
                });
                let status = match started {
                    Ok(mut child) => {
                        let pid = child.id();
                        log.info(&format!("SMTP alerts: mailer started (pid {pid})"));
                        answers(&mut reader, &q, log.as_ref());
                        a.store(false, Ordering::SeqCst);
                        let _ = reader.shutdown(std::net::Shutdown::Both);
                        let status = child.wait();
                        if !s.load(Ordering::SeqCst) {
                            let how = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                            log.warn(&format!(
                                "SMTP mailer (pid {pid}) exited ({how}): started again at the \
                                 next alert"
                            ));
                        }
                        Ok(())
                    }
                    Err(e) => {
                        a.store(false, Ordering::SeqCst);
                        log.warn(&format!(
                            "SMTP alerts: cannot start the mailer {}: {e} (install {HELPER_NAME} \
                             next to keepalived or set {HELPER_ENV}); VRRP runs on without \
                             e-mail alerts",
                            path.display()
                        ));
                        Err(())
                    }
                };
                let lost = q.swap(0, Ordering::SeqCst);
                if lost > 0 && (status.is_err() || !s.load(Ordering::SeqCst)) {
                    log.warn(&format!(
                        "SMTP alerts dropped: {lost} never answered by the mailer"
                    ));
                }
            })?;
        Ok(helper)
    }

    fn drop_mail(&mut self, why: &str, mail: &Mail) {
        self.dropped += 1;
        self.log.warn(&format!(
            "SMTP alert dropped ({why}, {} dropped so far): {}",
            self.dropped, mail.subject
        ));
    }

    /// Hands `mail` to the mailer (never waits for it; starts it again if it died).
    pub(crate) fn send(&mut self, mail: &Mail) {
        let dead = self
            .helper
            .as_ref()
            .is_none_or(|h| !h.alive.load(Ordering::SeqCst));
        if dead {
            if self.not_before.is_some_and(|t| Instant::now() < t) {
                self.drop_mail("the mailer is not running", mail);
                return;
            }
            self.spawn();
        }
        let Some(h) = &mut self.helper else {
            self.drop_mail("the mailer is not running", mail);
            return;
        };
        if h.queued.load(Ordering::SeqCst) >= QUEUE_LIMIT {
            self.drop_mail("queue full", mail);
            return;
        }
        h.queued.fetch_add(1, Ordering::SeqCst);
        let fields = [mail.subject.clone(), mail.body.clone()];
        if let Err(e) = write_record(&mut h.sock, tag::MAIL, &fields) {
            // A partial record would garble the stream: this mailer is done with.
            self.helper = None;
            self.drop_mail(&format!("cannot write to the mailer: {e}"), mail);
        }
    }
}

/// Logs the mailer's answers until its end of the socket closes; each sent or failed alert
/// leaves the queue.
fn answers(reader: &mut UnixStream, queued: &AtomicUsize, log: &dyn crate::notify::Log) {
    while let Ok(Some((tag, fields))) = read_record(reader) {
        let text = fields.first().map_or("", String::as_str);
        match tag {
            tag::SENT => log.info(text),
            tag::FAILED | tag::WARN => log.warn(text),
            _ => log.warn(&format!("SMTP mailer: unknown record {tag}")),
        }
        if matches!(tag, tag::SENT | tag::FAILED) {
            let _ = queued.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
    }
}
