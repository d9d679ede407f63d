//! Syslog over the local socket (`/dev/log`), without the C library and without ever blocking.
//!
//! The C library's `syslog(3)` sends on a blocking socket: when the syslog daemon stalls
//! (journald hung or restarting) and its queue is full, the sender waits, and a VRRP loop that
//! logs a state change would stop sending adverts, so the backups take over. Here the socket is
//! non-blocking: a line that does not fit is dropped, and the next line that gets through says
//! how many were lost.
//!
//! Lines are `<PRIORITY>IDENT[PID]: MESSAGE` (RFC 3164 without the timestamp, which journald
//! and rsyslog fill in on reception).

use std::ffi::CStr;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The identity of the parent's syslog lines (`Keepalived[PID]`, like keepalived's parent).
pub(crate) const PARENT: &CStr = c"Keepalived";
/// The identity of the VRRP child's lines (`Keepalived_vrrp[PID]`, like keepalived's).
pub(crate) const VRRP: &CStr = c"Keepalived_vrrp";

/// The local syslog socket.
const DEV_LOG: &str = "/dev/log";

/// How long after a failed connection attempt lines are dropped without another attempt: with
/// no syslog daemon at all (containers, test namespaces) each line would otherwise cost a
/// socket, a failed connect and a close (a 1,000-instance takeover logs 2,000 lines at once).
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// A connection to a syslog socket.
#[derive(Debug)]
struct Syslog {
    path: PathBuf,
    ident: String,
    facility: libc::c_int,
    socket: Option<UnixDatagram>,
    /// Lines dropped since the last one that got through.
    dropped: u64,
    /// When the last connection attempt failed.
    failed_at: Option<Instant>,
    /// [`RECONNECT_EVERY`] (tests shorten it).
    reconnect_every: Duration,
}

impl Syslog {
    fn new(path: &Path, ident: &CStr, facility: libc::c_int) -> Syslog {
        let mut s = Syslog {
            path: path.to_path_buf(),
            ident: ident.to_string_lossy().into_owned(),
            facility,
            socket: None,
            dropped: 0,
            failed_at: None,
            reconnect_every: RECONNECT_EVERY,
        };
        let _ = s.connect();
        s
    }

    /// Connects, unless the last attempt failed less than `reconnect_every` ago.
    fn connect(&mut self) -> io::Result<()> {
        let now = Instant::now();
        if let Some(t) = self.failed_at
            && now.saturating_duration_since(t) < self.reconnect_every
        {
            return Err(io::ErrorKind::NotConnected.into());
        }
        let connected = UnixDatagram::unbound().and_then(|socket| {
            socket.set_nonblocking(true)?;
            socket.connect(&self.path)?;
            Ok(socket)
        });
        match connected {
            Ok(socket) => {
                self.socket = Some(socket);
                self.failed_at = None;
                Ok(())
            }
            Err(e) => {
                self.failed_at = Some(now);
                Err(e)
            }
        }
    }

    fn line(&self, priority: libc::c_int, message: &str) -> String {
        format!(
            "<{}>{}[{}]: {}",
            (self.facility & !7) | (priority & 7),
            self.ident,
            std::process::id(),
            message.replace('\0', "")
        )
    }

    /// Sends one line; never waits. A full queue drops it; a syslog daemon that went away and
    /// came back is reconnected to once.
    fn send(&mut self, priority: libc::c_int, message: &str) {
        if self.dropped > 0 {
            let note = format!(
                "{} log line(s) dropped: syslog was not reachable or not keeping up",
                self.dropped
            );
            if self.try_send(&self.line(libc::LOG_WARNING, &note)).is_err() {
                self.dropped += 1;
                return;
            }
            self.dropped = 0;
        }
        let line = self.line(priority, message);
        if self.try_send(&line).is_err() {
            self.dropped += 1;
        }
    }

    fn try_send(&mut self, line: &str) -> io::Result<()> {
        let first = match &self.socket {
            Some(s) => s.send(line.as_bytes()).map(drop),
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        match first {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                // The daemon restarted (ECONNREFUSED) or was not there at start: once more.
                self.socket = None;
                self.connect()?;
                match &self.socket {
                    Some(s) => s.send(line.as_bytes()).map(drop),
                    None => Err(io::ErrorKind::NotConnected.into()),
                }
            }
            other => other,
        }
    }
}

static SYSLOG: Mutex<Option<Syslog>> = Mutex::new(None);

/// Opens the connection to syslog as `ident` with `facility` (a `LOG_*` facility value).
pub(crate) fn open(ident: &'static CStr, facility: libc::c_int) {
    let s = Syslog::new(Path::new(DEV_LOG), ident, facility);
    *SYSLOG.lock().unwrap_or_else(PoisonError::into_inner) = Some(s);
}

/// Sends one line at `priority` (a `LOG_*` level), never waiting. Interior NUL bytes are
/// dropped.
pub(crate) fn send(priority: libc::c_int, message: &str) {
    if let Some(s) = SYSLOG
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        s.send(priority, message);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn receiver(name: &str) -> (PathBuf, UnixDatagram) {
        let dir = std::env::temp_dir().join(format!("kars-syslog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let rx = UnixDatagram::bind(&path).unwrap();
        (path, rx)
    }

    #[test]
    fn lines_carry_priority_ident_and_pid() {
        let (path, rx) = receiver("format");
        let mut s = Syslog::new(&path, VRRP, libc::LOG_DAEMON);
        s.send(libc::LOG_INFO, "(VI_1) Entering MASTER STATE\0");
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).unwrap();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            format!(
                "<30>Keepalived_vrrp[{}]: (VI_1) Entering MASTER STATE",
                std::process::id()
            )
        );
    }

    #[test]
    fn a_syslog_that_does_not_read_never_blocks_the_sender() {
        let (path, rx) = receiver("stalled");
        let mut s = Syslog::new(&path, VRRP, libc::LOG_DAEMON);
        // Nobody reads `rx`: its queue fills up. A blocking sender would hang here.
        let (tx, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for i in 0..5000 {
                s.send(libc::LOG_INFO, &format!("line {i}"));
            }
            let _ = tx.send(s);
        });
        let mut s = done
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("sending to a stalled syslog blocked");
        assert!(s.dropped > 0, "the queue never filled");
        // The reader catches up: the next line that gets through reports the loss first.
        rx.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 256];
        while rx.recv(&mut buf).is_ok() {}
        s.send(libc::LOG_INFO, "after");
        let n = rx.recv(&mut buf).unwrap();
        let note = String::from_utf8_lossy(&buf[..n]).into_owned();
        let n = rx.recv(&mut buf).unwrap();
        let after = String::from_utf8_lossy(&buf[..n]).into_owned();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
        assert!(
            note.starts_with("<28>") && note.contains("log line(s) dropped"),
            "{note}"
        );
        assert!(after.ends_with("]: after"), "{after}");
        assert_eq!(s.dropped, 0);
    }

    #[test]
    fn a_missing_syslog_is_retried_now_and_then_not_on_every_line() {
        let dir = std::env::temp_dir().join(format!("kars-syslog-late-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        // No daemon at start: the attempt fails and the line is dropped.
        let mut s = Syslog::new(&path, VRRP, libc::LOG_DAEMON);
        s.send(libc::LOG_INFO, "lost 1");
        // The daemon comes up; right after a failed attempt there is no new one.
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        s.send(libc::LOG_INFO, "lost 2");
        let mut buf = [0u8; 256];
        let early = rx.recv(&mut buf).is_ok();
        // Once the retry interval has passed, the next line connects and reports the loss.
        s.reconnect_every = Duration::ZERO;
        s.send(libc::LOG_INFO, "after");
        let n = rx.recv(&mut buf).unwrap();
        let note = String::from_utf8_lossy(&buf[..n]).into_owned();
        let n = rx.recv(&mut buf).unwrap();
        let after = String::from_utf8_lossy(&buf[..n]).into_owned();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            !early,
            "a line right after a failed attempt connected again"
        );
        assert!(note.contains("2 log line(s) dropped"), "{note}");
        assert!(after.ends_with("]: after"), "{after}");
    }
}
